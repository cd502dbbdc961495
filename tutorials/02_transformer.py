# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. The Transformer
#
# The GRU translator of the first tutorial reads its input one token after another, and
# attention is an extra it consults. The Transformer drops the recurrence: every layer is
# attention plus a small feed-forward network, and all positions are computed at once.
# This tutorial trains a Transformer translator first, then opens it up: each part is
# computed by hand from the trained model's own weights on a real sentence, compared with
# the layer, and then looked at for what it does to the words.
#
# `TUTORIAL_SCALE` sets how much the training cells do (`tiny`, `demo`, `real` with
# `TUTORIAL_DATA`; `TUTORIAL_MINUTES` bounds the real run's training time). Terms in
# **bold** are explained in the [glossary](../glossary.md).

# %%
import os

import keras
import lesson
import numpy as np
import tensorflow as tf

from common.cli import translation_explorer
from common.decoding import teacher_forced_input
from common.masks import causal_mask
from common.plotting import (
    attention_heads_figure,
    history_figure,
    positional_encoding_figure,
    scatter_panels_figure,
    token_matrix_figure,
)
from common.positional_encoding import positional_encoding
from common.run_folder import RunFolder
from transformer.architecture import describe
from transformer.attention import CausalSelfAttention, CrossAttention, MultiHeadAttention
from transformer.config import Config
from transformer.context import (
    encoder_states,
    own_input_similarity,
    own_is_closest,
    principal_plane,
    sense_accuracy,
    sense_examples,
    word_vectors,
)
from transformer.demo import library
from transformer.plots import architecture_figure, cross_attention_figure
from transformer.reference import generate_by_recompute
from transformer.runs import load_translator
from transformer.train import train
from transformer.translator import attention_maps

keras.utils.set_random_seed(0)
np.set_printoptions(precision=3, suppress=True)
print("scale:", lesson.SCALE)

# %% [markdown]
# ## Positions
#
# Attention compares every query with every key regardless of where they sit: shuffle the
# input tokens and the outputs come out shuffled the same way, nothing else changes. Word
# order has to be put into the vectors themselves. The Transformer adds to each token's
# embedding a **positional encoding**, a fixed pattern of sines and cosines: for position
# $p$ and frequency $\omega_k = 10000^{-k/(d/2)}$, the first half of the $d$ columns holds
# $\sin(\omega_k p)$ and the second half $\cos(\omega_k p)$ (the TensorFlow tutorial's
# layout; the paper interleaves them, which carries the same information).
#
# At the published tutorial's size, 2,048 positions x 512 dimensions. The left panel is
# the encoding of the first 50 positions, the middle one their similarity to each other
# (the picture the lecture borrows from CS224n), the right one the similarity by distance
# over all 2,048 positions:

# %%
encoding = positional_encoding(2048, 512)
print("encoding:", encoding.shape, "(positions, depth)")
lesson.show(positional_encoding_figure(encoding, near=50), "02_positional_encoding")

# %% [markdown]
# Nearby positions are alike: a bright band along the diagonal. What is exactly true is
# more specific. For one frequency, $\sin(\omega a)\sin(\omega b) +
# \cos(\omega a)\cos(\omega b) = \cos(\omega(a-b))$, so the dot product of two positions'
# encodings is $\sum_k \cos(\omega_k (a-b))$: it depends **only on the distance** $a-b$,
# not on where the pair sits (which is why one curve, the right panel, holds the whole
# 2,048 x 2,048 matrix). The check compares the two for every pair at a few distances.

# %%
omegas = 1.0 / 10000 ** (np.arange(256) / 256)
for distance in (1, 10, 100):
    dots = np.sum(encoding[:-distance] * encoding[distance:], axis=-1)  # every pair
    lesson.check(f"dot(PE[p], PE[p+{distance}]) == sum_k cos(w_k * {distance})", dots,
                 np.full_like(dots, np.cos(omegas * distance).sum()), atol=1e-4)
similarity = np.cos(np.outer(np.arange(2048), omegas)).sum(-1) / 256
for d in (1, 5, 20, 100, 1000):
    print(f"distance {d:>4}: cosine similarity {similarity[d]:.3f}")
print(f"beyond distance 100 it stays between {similarity[100:].min():.3f} and "
      f"{similarity[100:].max():.3f}")
narrow = positional_encoding(2048, 128)  # the width of this tutorial's model
narrow_similarity = narrow @ narrow[0] / (narrow[0] @ narrow[0])
print("at depth 128:", ", ".join(f"distance {d}: {narrow_similarity[d]:.3f}"
                                 for d in (1, 5, 20, 100, 1000)))

# %% [markdown]
# The similarity drops fast over the first few positions, then slowly and about evenly for
# every tenfold increase in distance, with ripples that grow with distance. It never comes
# back towards 1 and does not reach 0 within 2,048 positions. The lecture notes say
# distant positions are "nearly unrelated": at this width that is an overstatement, since
# positions 1,000 apart still have a similarity near 0.18. What tells far positions apart
# is the fast frequencies (the top rows of the left panel), which turn many times over a
# sentence.
#
# Measured (`bench/experiments/positions.py` on the real pairs; the page
# `docs/experiments/positions.md` has the table, command and seed): Transformers with
# sinusoidal or learned positions, trained on sentences of up to 15 words, are level on those
# lengths, and the sines help only a little on longer sentences: neither extrapolates well.
# Without any positions the encoder reads a bag of words, and still the model is only 4-7
# **BLEU** behind (the causal decoder can count its own steps, and these short pairs mostly
# keep the same word order in both languages).

# %%
lesson.show_png(lesson.ROOT / "docs" / "experiments" / "positions.png")

# %% [markdown]
# ## A trained translator to look inside
#
# The rest of the tutorial opens up one trained model. It is the published tutorial's
# Transformer at the `real` scale: N = 4 layers in the encoder and 4 in the decoder, width
# $d$ = 128 (`hidden_dim`, the tutorial's `d_model`), 8 heads, a feed-forward inner width
# of 512 (`intermediate_dim`, the tutorial's `dff`), **WordPiece** vocabularies of at most
# 8,000 pieces a language (the builder keeps fewer where the text needs fewer). It learns
# from the Spanish-English pairs by **teacher forcing**, its learning rate grows during a
# **warm-up** and then decays; at the `real` scale a 15-minute limit stops it, and the
# weights it keeps are the average of its last epochs' (checkpoint averaging), which
# scored better on the validation pairs than any single epoch.

# %%
if lesson.SCALE == "tiny":
    config = Config.tiny().replace(epochs=2)
elif lesson.SCALE == "demo":
    config = Config.quick().replace(average_last=4)
elif not lesson.minutes():
    config = Config.tutorial().replace(data=lesson.data("spa-eng"))
else:  # a time budget: the warm-up shortened to fit it, the last epochs averaged
    config = Config.tutorial().replace(data=lesson.data("spa-eng"), warmup_steps=1000,
                                       epochs=40, average_last=8,
                                       time_limit_minutes=lesson.minutes())
shown = ("num_layers", "hidden_dim", "num_heads", "intermediate_dim", "vocabulary_size",
         "warmup_steps", "time_limit_minutes")
settings = {name: value for name, value in config.to_dict().items() if name in shown}
print({**settings, "data": os.path.basename(config.data)})
result = lesson.train_or_resume(train, config, lesson.run_dir("transformer"))
translator = load_translator(result.run_dir)
model = translator.model
spanish_held_out, english_held_out = result.data.part("test")
state = RunFolder(result.run_dir).read_state()
kept = (f"the average of its last {state.averaged_epochs} epochs' weights"
        if getattr(state, "averaged_epochs", 0) else f"the weights of epoch {result.best_epoch}")
print(f"trained for {result.epochs_done} epochs on {len(result.data.splits.train):,} "
      f"sentence pairs; the model uses {kept}")
print(f"WordPiece pieces: {translator.source_tokenizer.size:,} Spanish, "
      f"{translator.target_tokenizer.size:,} English")
history = RunFolder(result.run_dir).history()
lesson.show(history_figure({k: history[k] for k in ("loss", "val_loss", "masked_accuracy",
                                                    "val_masked_accuracy")},
                           title="Transformer translator"), "02_history")

# %% [markdown]
# The validation curves lie above the training ones (a lower loss, a higher accuracy of
# the next piece, padding not counted) because training runs with dropout, which switches
# off a tenth of the activations at random, and validation runs without it.
#
# The whole model as the paper draws it, read off the trained model: each box names the
# class that computes it and its file (N counted from the trained model's own lists of
# layers). The paper's figure writes "Nx" beside each stack:
# **N is the height of each stack**, the number of layers in the encoder and, separately,
# in the decoder, not a number of repetitions of the whole model. The encoder's last layer
# feeds every decoder layer: each one's cross-attention reads the same encoder output.

# %%
print("N =", len(model.encoder.encoder_layers), "encoder layers and",
      len(model.decoder.decoder_layers), "decoder layers")
lesson.show(architecture_figure(describe(model)), "02_architecture")

# %% [markdown]
# The sentence we follow through the model, the lecture's own (the generated corpus of the
# `demo` scale holds it too), cut into WordPiece pieces between `[START]` and `[END]`:

# %%
sentence = "¿Todavía está en casa?"
source_ids = translator.source_tokenizer.encode(tf.constant([sentence])).to_tensor()
pieces = [p.decode() for p in translator.source_tokenizer.pieces(source_ids)[0].numpy()]
print(sentence, "->", pieces)
states = encoder_states(model.encoder, source_ids)  # the encoder's input, then each layer's
x = states[0][0]  # (pieces, d): embedding x sqrt(d) + positional encoding
print("the encoder's input:", x.shape, "(pieces, d)")

# %% [markdown]
# ## Self-attention by hand, on this sentence
#
# In **self-attention** the queries, the keys and the values all come from the same
# sequence $X$, through three learned matrices: $Q = XW_Q$, $K = XW_K$, $V = XW_V$ (plus
# biases), then the formula of tutorial 1, $\mathrm{softmax}(QK^\top/\sqrt{d_k})V$. Each
# head has its own three matrices. Head 1 of the first encoder layer, by hand from the
# layer's weights:

# %%
def softmax(scores):
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def heads_by_hand(mha, queries_from, keys_values_from, allowed=None):
    """Every head of a MultiHeadAttention layer by hand from its weights: the weights
    (heads, queries, keys) and each head's output (heads, queries, key_dim)."""
    W_Q, b_Q, W_K, b_K, W_V, b_V, _, _ = mha.get_weights()
    weights, outputs = [], []
    for h in range(mha.num_heads):
        Q = queries_from @ W_Q[:, h] + b_Q[h]
        K = keys_values_from @ W_K[:, h] + b_K[h]
        V = keys_values_from @ W_V[:, h] + b_V[h]
        scores = Q @ K.T / np.sqrt(mha.key_dim)
        if allowed is not None:
            scores = np.where(allowed, scores, -1e9)
        A = softmax(scores)
        weights.append(A)
        outputs.append(A @ V)
    return np.array(weights), np.array(outputs)


encoder_layer = model.encoder.encoder_layers[0]
attention = encoder_layer.self_attention.attention  # the layer's MultiHeadAttention
W_Q = attention.get_weights()[0]
print("W_Q of all heads:", W_Q.shape, "(d, heads, key_dim)")
weights, head_outputs = heads_by_hand(attention, x, x)
_, layer_scores = encoder_layer(states[0], return_attention_scores=True)
lesson.check("encoder layer 1, head 1: weights by hand == layer", weights[0],
             layer_scores[0, 0], atol=1e-4)
lesson.show(attention_heads_figure(weights, pieces, pieces,
                                   title=f"encoder layer 1, every head, by hand: {sentence}"),
            "02_self_attention_layer_1")
_, second_scores = model.encoder.encoder_layers[1](states[1], return_attention_scores=True)
lesson.show(attention_heads_figure(second_scores[0].numpy(), pieces, pieces,
                                   title=f"encoder layer 2, every head: {sentence}"),
            "02_self_attention_layer_2")

# %% [markdown]
# Each row is one piece's query, and sums to 1 over the pieces it reads. In the model
# trained at the `real` scale every head of layer 1 puts nearly all of each piece's weight
# on `[START]`: each piece reads almost the same vector, so layer 1 adds almost no context
# (it still transforms each piece on its own, through the feed-forward network). Layer 2's
# heads spread their weight over the sentence (head 2 reads the piece before each one):
# the mixing starts there. That is one trained
# model's choice, not a law (`docs/experiments/heads.md` measures every head's spread).
#
# ## Heads and the output projection
#
# **Multi-head attention** runs $h$ heads side by side, each with its own projections to
# a width `key_dim`; their outputs are concatenated, $h \times$ `key_dim` wide, and one more
# matrix $W_O$ brings that back to the model's width $d$. In this model each head has
# $128 / 8 = 16$ dimensions, so the concatenation is exactly $d$ wide and $W_O$ is
# $128 \times 128$:

# %%
concatenated = np.concatenate(list(head_outputs), axis=-1)   # (pieces, heads x key_dim)
W_O, b_O = attention.get_weights()[6:]
print("concatenation:", concatenated.shape, " W_O as a matrix:",
      W_O.reshape(-1, W_O.shape[-1]).shape)
by_hand = concatenated @ W_O.reshape(-1, W_O.shape[-1]) + b_O
lesson.check("concatenate the heads, then W_O == the layer's attention", by_hand,
             attention(states[0], states[0])[0], atol=1e-4)

# %% [markdown]
# From here on the two steps, every head and then $W_O$, are one function:

# %%
def attention_by_hand(mha, queries_from, keys_values_from, allowed=None):
    """A MultiHeadAttention layer by hand: its heads' weights (heads, queries, keys), and
    their outputs concatenated and brought back to the model's width by W_O."""
    weights, outputs = heads_by_hand(mha, queries_from, keys_values_from, allowed)
    concatenated = np.concatenate(list(outputs), axis=-1)   # (queries, heads x key_dim)
    W_O, b_O = mha.get_weights()[6:]
    return weights, concatenated @ W_O.reshape(concatenated.shape[-1], -1) + b_O

# %% [markdown]
# The concatenation need not be $d$ wide. The published TensorFlow tutorial gives every
# head the full width (`key_dim` = $d$ = 128, so 8 heads concatenate to 1,024 numbers),
# this package splits $d$ between the heads as the paper does, and a narrower choice
# saves work. Whatever the width, $W_O$ maps it back to $d$, so the layer fits the residual
# connection around it. Three layers with untrained weights on the same sentence:

# %%
heads, d = model.num_heads, model.hidden_dim
for key_dim, name in ((d, "full width, as the TF tutorial"), (d // heads, "d / heads, as here"),
                      (max(d // (4 * heads), 1), "narrower")):
    layer = MultiHeadAttention(num_heads=heads, key_dim=key_dim)
    out = layer(states[0], states[0])[0]                      # (pieces, d)
    _, by_hand = attention_by_hand(layer, x, x)
    print(f"key_dim {key_dim:>3} ({name}): concatenation {heads * key_dim:>4} wide, "
          f"W_O {heads * key_dim} x {d}, output {by_hand.shape[-1]} wide")
    lesson.check(f"heads of width {key_dim}: concatenation then W_O == MultiHeadAttention",
                 by_hand, out, atol=1e-4)

# %% [markdown]
# The package's layer keeps its weights in the shapes and order of
# `keras.layers.MultiHeadAttention`, so Keras's own layer given the trained weights must
# give the same answer:

# %%
theirs = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=attention.key_dim)
theirs(states[0], states[0])  # builds it
theirs.set_weights(attention.get_weights())
lesson.check("package MultiHeadAttention == keras.layers.MultiHeadAttention",
             attention(states[0], states[0]), theirs(states[0], states[0]), atol=1e-4)

# %% [markdown]
# ## What self-attention does to words
#
# The lecture says each output of self-attention is "its own embedding, shaded by its
# context". Two measurements on the trained encoder test that sentence.
#
# **Its own embedding.** Compare each piece's output at the top of the encoder (after all
# its layers) with every piece's input to the encoder (embedding and position), by cosine
# similarity. If each output stays mostly its own, the diagonal is the brightest cell of
# each row. It is, for every piece but `[START]`, whose output has moved away from its
# input altogether (the heads use it as a place to park, see the figures above):

# %%
similarity = own_input_similarity(states[0][0], states[-1][0])
lesson.show(token_matrix_figure(similarity, pieces, pieces, "the encoder's input",
                                f"output of encoder layer {len(states) - 1}",
                                "cosine similarity",
                                title=f"each output against every input: {sentence}"),
            "02_own_input")

# %% [markdown]
# The same over held-out sentences, for every layer (its output against its own input)
# and for the whole stack (the top layer's output against the embeddings), leaving out
# `[START]` and `[END]`:

# %%
sample = spanish_held_out[:1000]
ids = translator.source_tokenizer.encode(tf.constant(sample), 60).to_tensor()
lengths = (ids.numpy() != 0).sum(1)
held_states = encoder_states(model.encoder, ids)
for n in range(1, len(held_states)):
    own = own_is_closest(held_states[n - 1], held_states[n], lengths, skip=1)
    print(f"encoder layer {n}: the output is closest to its own input for "
          f"{own.sum():,} of {own.size:,} pieces ({own.mean():.1%})")
own = own_is_closest(held_states[0], held_states[-1], lengths, skip=1)
print(f"top of the stack against the encoder's input (embedding and position): "
      f"{own.sum():,} of {own.size:,} ({own.mean():.1%})")

# %% [markdown]
# At the `real` scale, every layer's output is closest to its own input for nearly every
# piece: all but 2 of 4,861 in layer 1 (whose heads look at `[START]`), 99.8-99.9% in
# layers 2, 3 and 4. So the first half of the lecture's sentence holds: an output stays
# recognizably its own piece, layer after layer. One reason is built in: the **residual
# connection** adds each layer's input back to what attention computed. The shading by
# context adds up over the stack: against the stack's own input (embedding and position),
# the top's output is closest to its own piece for 83% of the pieces, and about one piece
# in six ends up closer to another piece's input than to its own.

# %% [markdown]
# **Shaded by its context.** The same word in two sentences gets two outputs: its
# embedding is one vector, but its output mixes in the pieces around it. If that mixing
# carries meaning, a word with two senses should get outputs that tell the senses apart.
# Spanish has such words: *vino* is "wine" or "(he) came", *tiempo* "time" or "weather",
# *fue* "was" or "went". The held-out pairs label each occurrence by the English word the
# reference uses. For each word the same number of occurrences of each sense is taken, so
# a vector that knows nothing scores 0.5, and each occurrence is assigned to the sense whose
# other occurrences' mean it is nearest to. The last column is the same reader on the top
# layer with the senses shuffled: how far from 0.5 chance alone goes with this few
# occurrences. The word's embedding, the same vector every
# time, can only score 0.5; with positions added the input knows where the word sits.

# %%
if lesson.SCALE == "real":
    homographs = {"vino": {"wine": ["wine", "wines"], "came": ["came", "come", "comes"]},
                  "tiempo": {"time": ["time"], "weather": ["weather"]},
                  "fue": {"was": ["was"], "went": ["went", "go"]},
                  "cerca": {"near": ["near", "close"], "fence": ["fence"]},
                  "sobre": {"about": ["about"], "on": ["on"]}}
else:  # the generated corpus: an article or a pronoun ("la casa" / "la veo")
    homographs = {"la": {"the": ["the"], "it": ["it", "her"]},
                  "los": {"the": ["the"], "them": ["them"]}}
spanish_all, english_all = result.data.part("validation")
spanish_all, english_all = spanish_all + spanish_held_out, english_all + english_held_out
panels = []
print(f"{'word':>8} {'senses':>26} {'embedding':>9} {'input':>6} "
      + " ".join(f"layer {n}" for n in range(1, len(held_states))) + "  shuffled")
for word, senses in homographs.items():
    found, names = sense_examples(spanish_all, english_all, word, senses)
    piece = translator.source_tokenizer.encode(tf.constant([word]))[0].numpy()
    counts = {name: names.count(name) for name in senses}
    if len(piece) != 3 or min(counts.values()) < 5:  # one piece, 5 occurrences a sense
        print(f"{word:>8} left out: {counts}, pieces {len(piece) - 2}")
        continue
    ids = translator.source_tokenizer.encode(tf.constant(found), 60).to_tensor()
    embedding, vectors, rows = word_vectors(model.encoder, ids, int(piece[1]))
    labels = [names[r] for r in rows]
    scores = [sense_accuracy(v, labels) for v in [embedding, *vectors]]
    # The noise floor: the top layer with the senses shuffled among the occurrences (the
    # mean over 20 shufflings, and their spread): what the reader finds where there is
    # nothing to find.
    rng = np.random.default_rng(0)
    floor = [sense_accuracy(vectors[-1], list(rng.permutation(labels))) for _ in range(20)]
    shown = ", ".join(f"{name} {count}" for name, count in counts.items())
    print(f"{word:>8} {shown:>26} {scores[0]:>9.2f} {scores[1]:>6.2f} "
          + " ".join(f"{s:>7.2f}" for s in scores[2:])
          + f"  {np.mean(floor):.2f} ± {np.std(floor):.2f}")
    panels.append((f"{word}: top encoder layer", principal_plane(vectors[-1]), labels))
if panels:
    lesson.show(scatter_panels_figure(panels, "first principal axis", "second principal axis",
                                      title="one word, its outputs in held-out sentences, "
                                            "coloured by the sense the translation uses"),
                "02_senses")

# %% [markdown]
# Read the table by rows. The embedding column is 0.5 by construction. The input column
# adds the position, which already tells some senses apart: *vino* meaning "came" mostly
# comes second ("Tom vino ayer"), meaning "wine" later ("una copa de vino"). Against the
# shuffled floor, at the `real` scale: *fue* (0.70 at the top against 0.47 ± 0.08 shuffled,
# 0.53 at the input) and *cerca* (0.82 against 0.50 ± 0.14, 0.59 at the input) are told
# apart by context, from layer 2 on; *vino* is told apart (0.75 against 0.51 ± 0.09), but
# its position alone already gives 0.74; *tiempo* (0.62 against 0.49 ± 0.16) and *sobre*
# (0.55 against 0.56 ± 0.05) stay within what chance gives with this few occurrences. In
# the scatter plots each point is one occurrence of the word (the embedding would be one
# single point); the senses pull apart without separating cleanly. The verdict: for two of
# five words the context measurably moves the output towards the word's sense in that
# sentence, and for none does a nearest-mean reader sort every occurrence. Part of the misses
# are the labels' (the reference may use "on" or "time" for another word), part the model's:
# it was trained to translate for 15 minutes, not to sort senses.
#
# ## A whole encoder layer by hand
#
# An encoder layer is self-attention, then a position-wise **feed-forward** network
# ($\mathrm{ReLU}(zW_1 + b_1)W_2 + b_2$, applied to each piece alone), each wrapped in a
# residual connection and LayerNorm: $z = \mathrm{LayerNorm}(x + \mathrm{Attention}(x))$,
# then $\mathrm{LayerNorm}(z + \mathrm{FFN}(z))$ ("post-norm", as the paper and the
# tutorial). **LayerNorm** rescales each vector to mean 0 and variance 1, then applies a
# learned scale $\gamma$ and offset $\beta$. Layer 1 by hand, from its weights:

# %%
def layer_norm(v, norm):
    gamma, beta = norm.get_weights()
    mean, variance = v.mean(-1, keepdims=True), v.var(-1, keepdims=True)
    return (v - mean) / np.sqrt(variance + norm.epsilon) * gamma + beta


def feed_forward(v, block):
    (W_1, b_1), (W_2, b_2) = block.inner.get_weights(), block.outer.get_weights()
    return np.maximum(v @ W_1 + b_1, 0) @ W_2 + b_2         # ReLU in between


_, attended = attention_by_hand(attention, x, x)                   # encoder layer 1's
z = layer_norm(x + attended, encoder_layer.self_attention.norm)   # attention, residual, norm
out = layer_norm(z + feed_forward(z, encoder_layer.feed_forward), encoder_layer.feed_forward.norm)
print("W_1:", encoder_layer.feed_forward.inner.get_weights()[0].shape, " W_2:",
      encoder_layer.feed_forward.outer.get_weights()[0].shape)
lesson.check("encoder layer 1 by hand (attention, residual, LayerNorm, FFN) == layer", out,
             states[1][0], atol=1e-4)

# %% [markdown]
# ## The causal mask
#
# The decoder predicts every next token of the target at once during training. A position
# must not see the tokens it is about to predict, so its queries may only look at keys at
# or before its own position: a lower-triangular mask. Masked scores are set to a large
# negative number before the softmax, so their weight is exactly 0. On a small layer with
# random weights and random inputs (the mask does not depend on either):

# %%
mask = causal_mask(6).numpy()
print(mask.astype(int))
causal = CausalSelfAttention(hidden_dim=8, num_heads=2)
sequence = tf.random.normal([1, 6, 8])
before, weights = causal(sequence, return_attention_scores=True)
positions = [f"t{i}" for i in range(1, 7)]
lesson.show(attention_heads_figure(weights[0].numpy(), positions, positions,
                                   title="causal self-attention: nothing above the diagonal"),
            "02_causal")

# %% [markdown]
# Its effect: change the last token, and no earlier position's output moves.

# %%
changed = tf.concat([sequence[:, :5], tf.random.normal([1, 1, 8])], axis=1)
after = causal(changed)
lesson.check("positions 1-5 unchanged when token 6 changes", after[0, :5], before[0, :5],
             atol=0.0)
moved = float(tf.reduce_max(tf.abs(after[0, 5] - before[0, 5])))
print(f"position 6 moved by up to {moved:.2f}")

# %% [markdown]
# ## Cross-attention: who asks and who answers
#
# In the decoder's **cross-attention** the **queries come from the decoder** (the target
# written so far) and the **keys and values come from the encoder** (the source sentence):
# each target position asks which source positions matter for it. The lecture notes say
# the encoder supplies Q and K and the decoder V; that is a slip. The attention's output
# has one row per *query*, and cross-attention's output has one row per *target*
# position, as the shapes show:

# %%
cross = CrossAttention(hidden_dim=8, num_heads=2)
decoder_states = tf.random.normal([1, 3, 8])   # 3 target positions: the queries
encoder_output = tf.random.normal([1, 7, 8])   # 7 source positions: keys and values
output, weights = cross(decoder_states, encoder_output, return_attention_scores=True)
print("output:", output.shape, "(one row per target position)")
print("weights:", weights.shape, "(batch, heads, target queries, source keys)")

# %% [markdown]
# ## A whole decoder layer by hand
#
# The trained model's **greedy** translation of our sentence (the likeliest piece at each
# step), fed back as the decoder's input
# with `[START]` in front (teacher forcing: position $t$ reads the pieces before it and
# must predict piece $t$):

# %%
run = translator.run([sentence])
output_ids = run["output_ids"][:1]
written = [p.decode() for p in run["output_tokens"][0] if p and p != b"[PAD]"]
target_in = teacher_forced_input(tf.constant(output_ids), translator.target_tokenizer.start_id)
target_pieces = [p.decode() for p in translator.target_tokenizer.pieces(target_in)[0].numpy()]
print("translation:", run["translation"][0].decode())
print("decoder input:", target_pieces)

# %% [markdown]
# A decoder layer has three parts, each with its residual connection and LayerNorm:
# causal self-attention over the target (each position may read itself and the earlier
# ones), cross-attention whose queries come from the decoder and whose keys and values
# come from the top encoder layer's output, then the feed-forward network. Layer 1 by hand:

# %%
decoder_layer = model.decoder.decoder_layers[0]
context = model.encoder(source_ids)                              # (1, source pieces, d)
y = model.decoder.embedding(target_in)[0].numpy()                # (target pieces, d)
allowed = causal_mask(len(y)).numpy()                            # lower triangle
_, attended = attention_by_hand(decoder_layer.self_attention.attention, y, y, allowed)
z1 = layer_norm(y + attended, decoder_layer.self_attention.norm)
cross_weights, read = attention_by_hand(decoder_layer.cross_attention.attention,
                                        z1, context[0].numpy())  # queries: the decoder's z1;
z2 = layer_norm(z1 + read, decoder_layer.cross_attention.norm)    # keys, values: encoder
out = layer_norm(z2 + feed_forward(z2, decoder_layer.feed_forward),
                 decoder_layer.feed_forward.norm)
layer_out, layer_cross = decoder_layer(model.decoder.embedding(target_in), context)
print("cross-attention weights:", cross_weights.shape, "(heads, target pieces, source pieces)")
lesson.check("decoder layer 1: cross-attention weights by hand == layer", cross_weights,
             layer_cross[0], atol=1e-4)
lesson.check("decoder layer 1 by hand (causal self-attention, cross-attention, FFN) == layer",
             out, layer_out[0], atol=1e-4)
lesson.show(attention_heads_figure(cross_weights, pieces, target_pieces,
                                   title=f"decoder layer 1 cross-attention, by hand: {sentence}",
                                   query_label="decoder input (query)",
                                   key_label="source piece (key, value)"),
            "02_cross_attention_layer_1")

# %% [markdown]
# Each row is one decoder position: the piece it reads (`[START]`, then what was written so
# far), asking which source pieces matter for the piece it must write next.

# %% [markdown]
# ## Linear + softmax: the next word
#
# After the top decoder layer, one **Linear** layer turns each position's vector ($d$ wide)
# into one score a target piece (the logits, as many as the vocabulary has pieces), and a
# softmax turns the scores into probabilities. The greedy translator writes the likeliest
# piece, feeds it back, and repeats.

# %%
top, _ = model.decoder(target_in, context, tf.not_equal(source_ids, 0))  # (1, target, d)
W, b = model.output_dense.get_weights()
print("Linear:", W.shape, "(d, target vocabulary)")
logits = top[0].numpy() @ W + b                                   # (target pieces, vocab)
lesson.check("Linear by hand == the model's logits", logits,
             model((source_ids, target_in))[0], atol=1e-3)
probabilities = softmax(logits)
lesson.check("each position's probabilities sum to 1", probabilities.sum(-1),
             np.ones(len(probabilities)), atol=1e-5)
vocabulary = translator.target_tokenizer.vocabulary.tokens
for t in range(min(2, len(written))):
    best = np.argsort(probabilities[t])[::-1][:5]
    after = " ".join(target_pieces[: t + 1])
    print(f"after {after!r}, the five likeliest next pieces:")
    for rank, i in enumerate(best, 1):
        print(f"  {rank}. {vocabulary[i]!r:<12} {probabilities[t, i]:.3f}")
steps = len(written)
lesson.check("the argmax at every step == the piece the translator wrote",
             probabilities[:steps].argmax(-1), output_ids[0, :steps], atol=0)

# %% [markdown]
# At the `real` scale the model writes "Is he still at home?", the TensorFlow tutorial's
# translation. The second step shows how near a choice that was: Spanish drops the
# subject, and *está* is "he is", "she is", "it is" or "you are" (formal); the model gives
# "he" 0.55, "she" 0.32 and "it" 0.10, and greedy decoding takes the first. Nothing in the
# sentence decides; a person would ask, or read the conversation around it.

# %% [markdown]
# ## Translating, and every head of a layer
#
# Four held-out sentences, with their reference, the greedy translation and the
# **beam search** one (4 hypotheses kept at each step):

# %%
examples, references = lesson.held_out(result.data)
lesson.show_translations(translator, examples, references)

# %% [markdown]
# Odd outputs at the `real` scale, and where they come from: names come out lowercase
# ("I miss tom."), because the vocabularies are built from lowercased text. A rare word can
# come out as an invented one ("Money is marcealing the world." for *mueve*, "I'm not a
# rebell." for *rebelde*): the decoder writes English WordPiece pieces one at a time, so
# where it is unsure of a rare word it can chain pieces that make no English word. Beam
# search keeps several hypotheses, but scores them with the same model: here it finds
# "Money can move the world." and still writes "rebell".

# %%
maps = attention_maps(translator, sentence)
lesson.show(cross_attention_figure(maps, sentence, layer=-1), "02_cross_attention")
lesson.show(attention_heads_figure(maps["encoder_self"][-1], maps["source_tokens"],
                                   maps["source_tokens"],
                                   title=f"encoder layer {len(maps['encoder_self'])} "
                                         f"self-attention: {sentence}"),
            "02_encoder_self_attention")

# %% [markdown]
# Each panel is one head; in the cross-attention rows are output pieces and columns source
# pieces. Heads of one layer differ: some put each output piece on its source counterpart
# ("still" on *todavía*, "home" on *casa*), others on a neighbour or the sentence's end.
# In the encoder's last layer many heads send most of their weight to `[START]` and
# `[END]`: a head with nothing to add can park its attention there, and the residual
# connection carries each token's own vector past it.
#
# The same maps to explore by hand: every layer, every head and all three kinds of
# attention of the trained model, for the lecture's sentence, the four above and sentences
# of the test split. Hover a token (or tab to it): its row shows where it looks, its
# column what looks at it; a piece the vocabulary never saw as a whole word is underlined.

# %%
lesson.explorer(translation_explorer(result.run_dir, [sentence, *examples], library()),
                "02_explorer")

# %% [markdown]
# Measured on the real pairs (`bench/experiments/heads.py`; the page
# `docs/experiments/heads.md` has the tables, command and seed): the mean **entropy** of
# every head of the tutorial-size model, and the BLEU it keeps when one head is removed.
# Heads differ in how they look (decoder self-attention focused, the upper encoder layers
# spread wider than the first). Removing any one of the 96 heads moves BLEU by -3.1 to +1.2
# on 200 sentences: gains up to +1.2 are the measurement's noise, and only a few
# cross-attention heads of the upper layers cost clearly more than that. No single head is
# needed; the ones that matter most are those that read the source.

# %%
lesson.show_png(lesson.ROOT / "docs" / "experiments" / "heads_entropy.png")
lesson.show_png(lesson.ROOT / "docs" / "experiments" / "heads_ablation.png")

# %% [markdown]
# ## Cached decoding gives what recomputing gives
#
# Decoding writes one token a step. Recomputing the decoder on the whole prefix at each
# step repeats work: the earlier positions' keys and values never change (the causal mask
# guarantees it). `model.generate` keeps them in a **key/value cache** and feeds only the
# newest token; `transformer.reference.generate_by_recompute` runs the whole prefix every
# step. Same tokens, same logits:

# %%
batch_ids = translator.source_tokenizer.encode(tf.constant(examples), 30).to_tensor()
cached_tokens, cached_logits, _ = model.generate(batch_ids, 20)
full_tokens, full_logits, _ = generate_by_recompute(model, batch_ids, 20)
lesson.check("cached tokens == recomputed tokens", cached_tokens, full_tokens, atol=0)
lesson.check("cached logits == recomputed logits", cached_logits, full_logits, atol=1e-3)

# %% [markdown]
# ## Exercise: the temperature
#
# Sampling (`translate --temperature T`) divides the logits by a temperature $T$ before
# the softmax and draws the next piece from the result, instead of taking the argmax.
# For the first output position of our sentence, compute the distribution at $T$ = 0.5,
# 1 and 2, its entropy in bits ($-\sum p \log_2 p$), and the probability of the likeliest
# piece. Which temperature makes sampling closest to greedy decoding? Try it before
# reading the solution.

# %% [markdown]
# **Solution.**

# %%
entropies = {}
for temperature in (0.5, 1.0, 2.0):
    p = softmax(logits[0] / temperature)
    entropies[temperature] = float(-(p * np.log2(np.maximum(p, 1e-30))).sum())
    print(f"T = {temperature}: entropy {entropies[temperature]:.2f} bits, likeliest piece "
          f"{vocabulary[p.argmax()]!r} at {p.max():.3f}")
lesson.check("a lower temperature, a lower entropy (closer to greedy)",
             [entropies[0.5] < entropies[1.0] < entropies[2.0]], [True], atol=0)

# %% [markdown]
# Dividing by $T < 1$ stretches the gaps between the logits, so the softmax puts more of
# its mass on the likeliest piece; $T > 1$ flattens it. As $T \to 0$ sampling becomes
# greedy decoding; the argmax itself never changes with $T$.
#
# **What to remember.** Positions are added to the embeddings, and their similarity
# depends only on distance. Self-attention is three projections of one sequence and the
# formula of tutorial 1; multi-head attention runs several heads side by side and $W_O$
# brings their concatenation back to the model's width. Each output stays closest to its
# own input, and its context moves it towards the word's sense in that sentence, partly. A layer is
# attention and a feed-forward network, each with a residual connection and LayerNorm; the
# causal mask keeps the decoder from reading ahead; cross-attention's queries are the
# decoder's, its keys and values the encoder's; Linear + softmax turn the top decoder
# vector into next-piece probabilities.
#
# To look at every layer and head of a trained model interactively, serve its run and open
# the page it prints: `python -m transformer serve --run RUN` (the attention explorer: pick
# the encoder's self-attention, the decoder's or the cross-attention, a layer and a head, and
# hover a token to see where it looks; `docs/serving.md` has the rest).
