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
# attention plus a small feed-forward network, and all positions are computed at once. This
# tutorial builds its parts from the package's layers, checks each against a hand
# computation, then trains a translator and looks inside it.
#
# `TUTORIAL_SCALE` sets how much the training cells do (`tiny`, `demo`, `real` with
# `TUTORIAL_DATA`; `TUTORIAL_MINUTES` bounds the real run's training time).

# %%
import os

import keras
import lesson
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure

from common.masks import causal_mask
from common.plotting import attention_heads_figure, history_figure, positional_encoding_figure
from common.positional_encoding import positional_encoding
from common.run_folder import RunFolder
from transformer.attention import CausalSelfAttention, CrossAttention, MultiHeadAttention
from transformer.config import Config
from transformer.plots import cross_attention_figure
from transformer.reference import generate_by_recompute
from transformer.train import load_translator, train
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
# At the published tutorial's size, 2,048 positions x 512 dimensions:

# %%
encoding = positional_encoding(2048, 512)
print("encoding:", encoding.shape, "(positions, depth)")
lesson.show(positional_encoding_figure(encoding), "02_positional_encoding")

# %% [markdown]
# The right panel is bright along the diagonal: nearby positions are alike. What is exactly
# true is more specific. For one frequency, $\sin(\omega a)\sin(\omega b) +
# \cos(\omega a)\cos(\omega b) = \cos(\omega(a-b))$, so the dot product of two positions'
# encodings is $\sum_k \cos(\omega_k (a-b))$: it depends **only on the distance** $a-b$,
# not on where the pair sits. The check below compares the two for every pair of positions
# at a few distances.

# %%
omegas = 1.0 / 10000 ** (np.arange(256) / 256)
for distance in (1, 10, 100):
    dots = np.sum(encoding[:-distance] * encoding[distance:], axis=-1)  # every pair
    lesson.check(f"dot(PE[p], PE[p+{distance}]) == sum_k cos(w_k * {distance})", dots,
                 np.full_like(dots, np.cos(omegas * distance).sum()), atol=1e-4)

# %% [markdown]
# How the similarity falls with distance, as the cosine (the dot product over $d/2 = 256$,
# the squared length of every encoding):

# %%
distances = np.arange(2048)
similarity = np.cos(np.outer(distances, omegas)).sum(-1) / 256
figure = Figure(figsize=(7.5, 3.4), layout="constrained")
axes = figure.add_subplot()
axes.plot(distances, similarity)
axes.set_xscale("symlog", linthresh=10)
axes.set_xlabel("distance between positions (tokens)")
axes.set_ylabel("cosine similarity")
axes.set_title("positional encoding at depth 512: similarity by distance")
axes.grid(alpha=0.3)
lesson.show(figure, "02_similarity_by_distance")
for d in (1, 5, 20, 100, 1000):
    print(f"distance {d:>4}: similarity {similarity[d]:.3f}")
print(f"beyond distance 100 it stays between {similarity[100:].min():.3f} and "
      f"{similarity[100:].max():.3f}")

# %% [markdown]
# The similarity drops fast over the first few positions (0.97 at distance 1, 0.74 at 5),
# then slowly and about evenly for every tenfold increase in distance (0.62 at 20, 0.44 at
# 100, 0.18 at 1,000), with ripples that grow with distance. It never comes back towards
# 1 and does not reach 0 within 2,048 positions: similarity tells near from far, and the
# fast frequencies, which turn many times over a sentence, tell exact positions apart.
# The lecture notes say distant positions are "nearly unrelated": at this width that is an
# overstatement, since positions 1,000 apart still have a similarity near 0.18.
#
# Measured (`bench/experiments/positions.py` on the real pairs; the page
# `docs/experiments/positions.md` has the table, command and seed): Transformers with
# sinusoidal or learned positions, trained on sentences of up to 15 words, are level on those
# lengths, and the sines help only a little on longer sentences: neither extrapolates well.
# Without any positions the encoder reads a bag of words, and still the model is only 4-7
# BLEU behind (the causal decoder can count its own steps, and these short pairs mostly keep
# the same word order in both languages).

# %%
lesson.show_png(lesson.ROOT / "docs" / "experiments" / "positions.png")

# %% [markdown]
# ## Self-attention by hand
#
# In **self-attention** the queries, the keys and the values all come from the same
# sequence $X$, through three learned matrices: $Q = XW_Q$, $K = XW_K$, $V = XW_V$; then
# $\mathrm{softmax}(QK^\top/\sqrt{d_k})V$, and an output matrix $W_O$. With one head of
# width 8, on 5 tokens of width 8:

# %%
X = tf.random.normal([1, 5, 8])
one_head = MultiHeadAttention(num_heads=1, key_dim=8)
out, scores = one_head(X, X, return_attention_scores=True)

x = X[0].numpy()
W_Q, b_Q, W_K, b_K, W_V, b_V, W_O, b_O = (w for w in one_head.get_weights())
Q, K, V = x @ W_Q[:, 0] + b_Q[0], x @ W_K[:, 0] + b_K[0], x @ W_V[:, 0] + b_V[0]
A = np.exp(Q @ K.T / np.sqrt(8))
A /= A.sum(-1, keepdims=True)
print("Q, K, V:", Q.shape, K.shape, V.shape, " weights:", A.shape)
lesson.check("self-attention weights by hand == layer", scores[0, 0], A)
lesson.check("self-attention output by hand == layer", out[0], (A @ V) @ W_O[0] + b_O)

# %% [markdown]
# ## Multi-head attention by hand
#
# One head computes one weighting. **Multi-head attention** runs $h$ of them side by side,
# each with its own, narrower projections (width $d/h$), so different heads can follow
# different relations (the next word, the verb's subject, the matching source word). The
# heads' outputs are concatenated and $W_O$ mixes them back to width $d$. Two heads of
# width 4 on the same $X$:

# %%
mha = MultiHeadAttention(num_heads=2, key_dim=4)
out, scores = mha(X, X, return_attention_scores=True)
W_Q, b_Q, W_K, b_K, W_V, b_V, W_O, b_O = mha.get_weights()
print("W_Q:", W_Q.shape, "(input width, heads, head width);  W_O:", W_O.shape)

heads = []
for h in range(2):  # split: each head its own slice of the projections
    Q, K, V = x @ W_Q[:, h] + b_Q[h], x @ W_K[:, h] + b_K[h], x @ W_V[:, h] + b_V[h]
    A = np.exp(Q @ K.T / np.sqrt(4))
    A /= A.sum(-1, keepdims=True)
    lesson.check(f"head {h}: weights by hand == MultiHeadAttention", scores[0, h], A)
    heads.append(A @ V)                                  # (5 tokens, 4)
concatenated = np.concatenate(heads, axis=-1)            # (5 tokens, 8)
by_hand = concatenated @ W_O.reshape(8, 8) + b_O         # W_O as one (8, 8) matrix
lesson.check("concatenate the heads, then W_O == MultiHeadAttention", out[0], by_hand)

# %% [markdown]
# The package's layer keeps its weights in the shapes and order of
# `keras.layers.MultiHeadAttention`, so Keras's own layer given the same weights must give
# the same answer:

# %%
theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
theirs(X, X)  # builds it
theirs.set_weights(mha.get_weights())
lesson.check("package MultiHeadAttention == keras.layers.MultiHeadAttention", out,
             theirs(X, X))

# %% [markdown]
# ## The causal mask
#
# The decoder predicts every next token of the target at once during training. A position
# must not see the tokens it is about to predict, so its queries may only look at keys at
# or before its own position: a lower-triangular mask. Masked scores are set to a large
# negative number before the softmax, so their weight is exactly 0.

# %%
mask = causal_mask(6).numpy()
print(mask.astype(int))
causal = CausalSelfAttention(hidden_dim=8, num_heads=2)
sequence = tf.random.normal([1, 6, 8])
before, weights = causal(sequence, return_attention_scores=True)
positions = [f"t{i}" for i in range(6)]
lesson.show(attention_heads_figure(weights[0].numpy(), positions, positions,
                                   title="causal self-attention: nothing above the diagonal"),
            "02_causal")

# %% [markdown]
# Its effect: change the last token, and no earlier position's output moves.

# %%
changed = tf.concat([sequence[:, :5], tf.random.normal([1, 1, 8])], axis=1)
after = causal(changed)
lesson.check("positions 0-4 unchanged when token 5 changes", after[0, :5], before[0, :5],
             atol=0.0)
print("position 5 moved by", float(tf.reduce_max(tf.abs(after[0, 5] - before[0, 5]))))

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
result, weights = cross(decoder_states, encoder_output, return_attention_scores=True)
print("output:", result.shape, "(one row per target position)")
print("weights:", weights.shape, "(batch, heads, target queries, source keys)")

# %% [markdown]
# ## The whole model
#
# An encoder layer is self-attention then a feed-forward network, each wrapped in a
# residual connection and LayerNorm. A decoder layer has causal self-attention, then
# cross-attention to the encoder's output, then the feed-forward network. The paper's
# figure writes "Nx" beside each stack: **N is the height of each stack**, the number of
# layers in the encoder and, separately, in the decoder (N = 6 in the paper, 4 in the
# TensorFlow tutorial), not a number of repetitions of the whole model.

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
         "warmup_steps", "epochs", "time_limit_minutes", "average_last")
settings = {name: value for name, value in config.to_dict().items() if name in shown}
print({**settings, "data": os.path.basename(config.data)})
result = lesson.train_or_resume(train, config, lesson.run_dir("transformer"))
print(f"{result.epochs_done} epochs; best after epoch {result.best_epoch}")

# %%
translator = load_translator(result.run_dir)
model = translator.model
print("N =", config.num_layers, "| encoder layers:", len(model.encoder.encoder_layers),
      "| decoder layers:", len(model.decoder.decoder_layers))
history = RunFolder(result.run_dir).history()
lesson.show(history_figure({k: history[k] for k in ("loss", "val_loss", "masked_accuracy",
                                                    "val_masked_accuracy")},
                           title="Transformer translator"), "02_history")

# %% [markdown]
# ## Translating, and every head of a layer

# %%
examples, references = lesson.held_out(result.data)
lesson.show_translations(translator, examples, references)

# %%
sentence = "¿Todavía está en casa?" if lesson.SCALE == "real" else examples[0]
maps = attention_maps(translator, sentence)
print("source pieces:", maps["source_tokens"])
print("output pieces:", maps["output_tokens"])
lesson.show(cross_attention_figure(maps, sentence, layer=-1), "02_cross_attention")
lesson.show(attention_heads_figure(maps["encoder_self"][-1], maps["source_tokens"],
                                   maps["source_tokens"],
                                   title=f"last encoder layer self-attention: {sentence}"),
            "02_encoder_self_attention")

# %% [markdown]
# Each panel is one head; in the cross-attention rows are output pieces and columns source
# pieces. Heads of one layer differ: some put each output piece on its source counterpart
# ("still" on *todavía*, "home" on *casa*), others on a neighbour or the sentence's end.
# In the encoder's last layer many heads send most of their weight to `[START]` and
# `[END]`: a head with nothing to add can park its attention there, and the residual
# connection carries each token's own vector past it.
#
# Measured on the real pairs (`bench/experiments/heads.py`; the page
# `docs/experiments/heads.md` has the tables, command and seed): the mean entropy of every
# head of the tutorial-size model, and the BLEU it keeps when one head is removed. Heads
# differ in how they look (decoder self-attention focused, the upper encoder layers spread
# wide), but the model loses no more than 1.6 BLEU without any one of its 96 heads: no
# single head is needed.

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
source_ids = translator.source_tokenizer.encode(tf.constant(examples), 30).to_tensor()
cached_tokens, cached_logits, _ = model.generate(source_ids, 20)
full_tokens, full_logits, _ = generate_by_recompute(model, source_ids, 20)
lesson.check("cached tokens == recomputed tokens", cached_tokens, full_tokens, atol=0)
lesson.check("cached logits == recomputed logits", cached_logits, full_logits, atol=1e-3)

# %% [markdown]
# **What to remember.** Positions are added to the embeddings, and their similarity
# depends only on distance. Self-attention is three projections of one sequence and the
# formula of tutorial 1; multi-head attention splits the width into heads that attend
# separately and are mixed back by $W_O$. The causal mask keeps the decoder from reading
# ahead; cross-attention's queries are the decoder's, its keys and values the encoder's.
#
# To look at every layer and head of a trained model interactively, serve its run and open
# the page it prints: `python -m transformer serve --run RUN` (the attention explorer: pick
# the encoder's self-attention, the decoder's or the cross-attention, a layer and a head, and
# hover a token to see where it looks; `docs/serving.md` has the rest).
