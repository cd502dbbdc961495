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
# # 1. Attention in a sequence-to-sequence translator
#
# A translator reads a Spanish sentence and writes an English one. This tutorial builds up
# the piece that makes that work for sentences of any length, **attention**, first by hand
# on numbers small enough to read, then with the package's own layer
# (`nmt_attention.cross_attention.CrossAttention`), and finally in a trained GRU translator
# whose attention we can look at.
#
# How much work the training cells do is set by `TUTORIAL_SCALE` (`tiny`: seconds, `demo`:
# a few minutes on the generated corpus, `real`: the tutorial's settings on the real
# Spanish-English pairs named by `TUTORIAL_DATA`, within `TUTORIAL_MINUTES` if set). Terms
# in **bold** are explained in the [glossary](../glossary.md).

# %%
import os

import keras
import lesson
import numpy as np
import tensorflow as tf

from common.cli import translation_explorer
from nmt_attention.config import Config
from nmt_attention.cross_attention import CrossAttention
from nmt_attention.decoder import Decoder
from nmt_attention.demo import library
from nmt_attention.plots import sentence_figure
from nmt_attention.runs import load_translator
from nmt_attention.train import train

keras.utils.set_random_seed(0)
np.set_printoptions(precision=3, suppress=True)
print("scale:", lesson.SCALE)

# %% [markdown]
# ## Why a seq2seq model without attention forgets
#
# The first neural translators had two recurrent networks. The **encoder** reads the source
# one token at a time and updates a state vector; the **decoder** starts from the encoder's
# *last* state and writes the translation. Everything the decoder knows about the source has
# to fit into that one vector, whatever the sentence's length: a five-word sentence and a
# fifty-word sentence are squeezed into the same number of floats, so long inputs must
# lose detail. (Which words fade first is less clear than it sounds: this package's encoder,
# like the tutorial's, is bidirectional, reading the sentence both ways, so no word is
# simply "read longest ago".)
#
# The encoder computes a state for *every* source position anyway. Attention keeps them all
# and lets each decoding step choose which ones to read. Below, an encoder of width 8 reads
# a batch of one 6-token sentence: the last state is one vector, the full output is one
# vector per token.

# %%
encoder_gru = keras.layers.GRU(8, return_sequences=True, return_state=True)
tokens = tf.random.normal([1, 6, 4])  # (batch, source tokens, embedding width)
all_states, last_state = encoder_gru(tokens)
print("every state:", all_states.shape, " last state only:", last_state.shape)

# %% [markdown]
# Measured (`bench/experiments/why_attention.py`, on the tutorial's real pairs; the page
# `docs/experiments/why_attention.md` has the table, command and seed): GRU translators,
# the same but for attention, trained on sentences of up to 15 words. For the same number
# of steps (24 epochs), the model without attention is far behind even on 1-5 words
# (**BLEU** 17.7 against 47.7): it learns more slowly. Trained on to its own convergence
# (92 epochs, early stopping on the validation loss) it catches up on short sentences
# (46.6 at 1-5 words) and still loses the long ones: 37.2 at 6-10 words against 44.1 with
# attention, 15.6 at 11-15 against 33.8. It keeps a third of its short-sentence BLEU by
# 11-15 words, the attention model 71%. So the lecture's claim holds once slower learning is
# taken out: one vector loses long inputs. Beyond the training lengths (shaded) both fall
# apart.

# %%
lesson.show_png(lesson.ROOT / "docs" / "experiments" / "why_attention.png")

# %% [markdown]
# Which words does one vector lose? The same three models, each Spanish word followed to its
# English word (`bench/experiments/forgetting.py`, through a dictionary read off the
# training pairs; `docs/experiments/forgetting.md`). On test sentences of 11-15 words it is
# not the first ones: the converged model without attention gets a sentence's first word
# into its translation as often as the attention model (89%), then falls, to 64% of the
# words in the sentence's first third and 43% of those in its last third (with attention:
# 89% and 74%). Its translations are as long as the attention model's, so the later words
# are not cut off: they come out wrong.

# %%
lesson.show_png(lesson.ROOT / "docs" / "experiments" / "forgetting.png")

# %% [markdown]
# ## Queries, keys and values, by hand
#
# Attention is a soft lookup in a table. Each row of the table has a **key** (what it is
# about) and a **value** (what it holds). A **query** is compared with every key; the
# comparison scores go through a softmax, which turns them into weights that are positive
# and sum to 1; the answer is the weighted sum of the values:
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V$$
#
# Dividing by $\sqrt{d_k}$ keeps the scores from growing with the width $d_k$: dot
# products of $d_k$ random components have a spread of about $\sqrt{d_k}$, and a softmax
# of large scores puts all its weight on one row.
#
# Two queries, three keys and values, width 4: small enough to follow each number.

# %%
Q = np.array([[1.0, 0.0, 1.0, 0.0],
              [0.0, 2.0, 0.0, 0.0]])           # 2 queries
K = np.array([[1.0, 0.0, 1.0, 0.0],
              [0.0, 1.0, 0.0, 0.0],
              [1.0, 1.0, 1.0, 1.0]])           # 3 keys
V = np.array([[10.0, 0.0], [0.0, 10.0], [5.0, 5.0]])  # 3 values of width 2
d_k = Q.shape[-1]

scores = Q @ K.T / np.sqrt(d_k)                # (2 queries, 3 keys)
weights = np.exp(scores) / np.exp(scores).sum(axis=-1, keepdims=True)
answer = weights @ V                           # (2 queries, width 2)
print("scores\n", scores, "\nweights (rows sum to 1)\n", weights, "\nanswer\n", answer)

# %% [markdown]
# The first query matches the first and third keys equally well (both dot products are 2),
# so it gets an even mix of their values plus a little of the second. The second query
# points along the second axis and favours the second and third keys.
#
# ## The same computation in the package's layer
#
# `CrossAttention(units, score="dot")` is the attention of the GRU translator. It first
# projects the queries and the keys with learned matrices, $q = hW_q + b_q$ and
# $k = sW_k + b_k$, then applies the formula above with $\sqrt{\text{units}}$. Its values
# are the unprojected inputs: in this translator **the keys and the values are the same
# vectors, the encoder's states**, and the queries are the decoder's states. With the
# projections set to the identity the layer must give exactly our hand computation (the
# layer takes batches, so a batch axis of 1 is added).

# %%
layer = CrossAttention(units=4, score="dot")
layer.build((1, 2, 4), (1, 3, 4))
layer.query_dense.set_weights([np.eye(4), np.zeros(4)])  # W_q = I, b_q = 0
layer.key_dense.set_weights([np.eye(4), np.zeros(4)])    # W_k = I, b_k = 0
context, layer_weights = layer(Q[None].astype("float32"), K[None].astype("float32"))
# Our hand weights came from the same Q and K; the layer's values are K itself.
lesson.check("softmax(QK^T/sqrt(d)) by hand == CrossAttention weights", layer_weights[0],
             weights)
lesson.check("weights @ K by hand == CrossAttention output", context[0], weights @ K)

# %% [markdown]
# With learned projections (the layer's own random initial weights this time) the check is
# the same computation with $W_q$ and $W_k$ in front:

# %%
layer = CrossAttention(units=8, score="dot")
queries = tf.random.normal([1, 2, 8])   # 2 decoder states
states = tf.random.normal([1, 5, 8])    # 5 encoder states: the keys and the values
context, layer_weights = layer(queries, states)

W_q, b_q = layer.query_dense.get_weights()
W_k, b_k = layer.key_dense.get_weights()
q, k, s = queries[0].numpy() @ W_q + b_q, states[0].numpy() @ W_k + b_k, states[0].numpy()
by_hand = np.exp(q @ k.T / np.sqrt(8))
by_hand /= by_hand.sum(-1, keepdims=True)
lesson.check("projected dot-product attention by hand == CrossAttention", layer_weights[0],
             by_hand)
lesson.check("values are the encoder states themselves", context[0], by_hand @ s)
print("weights:", layer_weights.shape, "(batch, decoder steps, source tokens)")

# %% [markdown]
# ## Other ways to score a query against a key
#
# The scaled dot product is one choice of score among several the literature compares:
#
# | `score=` | score$(h_t, h_s)$ | from |
# |---|---|---|
# | `"dot"` | $(W_q h_t)\cdot(W_k h_s)/\sqrt{d}$ | the TensorFlow tutorial, the Transformer |
# | `"general"` | $h_t^\top W_a h_s$ | Luong et al. 2015 |
# | `"additive"` | $v^\top \tanh(W_1 h_t + W_2 h_s)$ | Bahdanau et al. 2015 |
#
# The additive score runs a small network on every (query, key) pair, so it costs a
# (target x source x units) tensor where the other two cost one matrix product. Each is
# checked here against its formula with the layer's weights.

# %%
def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


h_t, h_s = queries[0].numpy(), states[0].numpy()
general = CrossAttention(units=8, score="general")
_, w_general = general(queries, states)
(W_a,) = general.key_dense.get_weights()
lesson.check("general: softmax(h_t^T W_a h_s)", w_general[0], softmax(h_t @ (h_s @ W_a).T))

additive = CrossAttention(units=8, score="additive")
_, w_additive = additive(queries, states)
(W_1,), (W_2, b_2), (v,) = (additive.query_dense.get_weights(),
                            additive.key_dense.get_weights(),
                            additive.score_dense.get_weights())
hidden = np.tanh((h_t @ W_1)[:, None, :] + (h_s @ W_2 + b_2)[None, :, :])  # (t, s, units)
lesson.check("additive: softmax(v^T tanh(W_1 h_t + W_2 h_s))", w_additive[0],
             softmax((hidden @ v)[..., 0]))

# %% [markdown]
# ## Combining the context with the decoder's state
#
# At step $t$ the decoder has its own state $h_t$ and now a context vector $c_t$, the
# attention's weighted sum of encoder states. The next word is predicted from both. The
# lecture describes concatenating them and computing the output from the result; that is
# Luong's attentional state, `combine="concat"`:
# $\tilde h_t = \tanh(W_c[c_t; h_t])$. The TensorFlow tutorial instead **adds** them and
# normalizes, `combine="add"`: $\mathrm{LayerNorm}(h_t + c_t)$, a residual connection with
# no extra weights. Both go into the same final dense layer over the vocabulary.
#
# Both, by hand, from the pieces of the package's `Decoder`: its GRU gives the states
# $h_t$, its attention the contexts $c_t$, and the join and the output layer must give
# the decoder's logits.

# %%
target_ids = tf.constant([[2, 7, 9, 4]])  # [START] and three target tokens
for combine in ("add", "concat"):
    decoder = Decoder(vocabulary_size=20, units=8, combine=combine)
    logits, _, _ = decoder(target_ids, states)
    h, _ = decoder.rnn(decoder.embedding(target_ids))        # (1, 4 steps, 8)
    c, _ = decoder.attention(h, states)                      # (1, 4 steps, 8)
    h, c = h[0].numpy(), c[0].numpy()
    if combine == "add":  # LayerNorm(h + c), with the layer's scale and offset
        gamma, beta = decoder.join.get_weights()
        z = h + c
        joined = (z - z.mean(-1, keepdims=True)) / np.sqrt(
            z.var(-1, keepdims=True) + decoder.join.epsilon) * gamma + beta
    else:  # tanh(W_c [c; h] + b_c)
        W_c, b_c = decoder.join.get_weights()
        joined = np.tanh(np.concatenate([c, h], axis=-1) @ W_c + b_c)
    W_out, b_out = decoder.output_dense.get_weights()
    lesson.check(f"combine={combine} by hand == Decoder logits", logits[0],
                 joined @ W_out + b_out, atol=1e-4)

# %% [markdown]
# ## Training a translator
#
# The model is `nmt_attention.model.Seq2SeqModel`: a bidirectional GRU encoder, a GRU
# decoder whose states are the queries, `CrossAttention` over the encoder states, and a
# dense layer to the target vocabulary. Training feeds the reference translation shifted
# by one (**teacher forcing**); the loss and the accuracy ignore padding.

# %%
if lesson.SCALE == "tiny":
    config = Config.tiny().replace(epochs=2)
elif lesson.SCALE == "demo":
    config = Config.quick()
else:
    config = Config.tutorial().replace(data=lesson.data("spa-eng"),
                                       time_limit_minutes=lesson.minutes())
shown = ("units", "vocabulary_size", "score", "combine", "batch_size", "epochs",
         "time_limit_minutes")
settings = {name: value for name, value in config.to_dict().items() if name in shown}
print({**settings, "data": os.path.basename(config.data)})
result = lesson.train_or_resume(train, config, lesson.run_dir("nmt_attention"))
print(f"{result.epochs_done} epochs; best after epoch {result.best_epoch}")

# %%
from common.plotting import history_figure  # noqa: E402
from common.run_folder import RunFolder  # noqa: E402

history = RunFolder(result.run_dir).history()
lesson.show(history_figure({k: history[k] for k in ("loss", "val_loss", "masked_accuracy",
                                                    "val_masked_accuracy")},
                           title="GRU translator with attention"), "01_history")

# %% [markdown]
# ## Translating, and where the model looked
#
# `load_translator` gives text in, text out, with greedy, **beam search** and sampled
# decoding. Four held-out sentences with their reference translation:

# %%
translator = load_translator(result.run_dir)
examples, references = lesson.held_out(result.data)
lesson.show_translations(translator, examples, references)

# %% [markdown]
# The outputs are in the published tutorial's text form: lowercase, accents and
# apostrophes removed, punctuation split off ("im not a ..." for "I'm not a ..."); the
# Transformer of tutorial 2 keeps them. At the `real` scale the GRU also shows two classic
# failures of a small seq2seq model: it repeats itself ("i said i said tom": nothing in the
# model tracks which source words it has already translated), and it writes a wrong word
# that fits the context ("racist" for *rebelde*, "created" for *mueve*). Beam search (4
# hypotheses) writes the same as greedy here: on these short sentences the greedy choice was
# already the likeliest whole translation the model could find.

# %% [markdown]
# The attention weights of each output token form one row of a heatmap: the columns are
# the source tokens, and each row sums to 1. The lecture's example is "¿Todavía está en
# casa?" ("Is he still at home?"), read off the published tutorial's plot as *todavía*
# lining up with "you"; *todavía* means "still". The cell below prints what this model's
# attention says: for each output word, the source word it looks at most. (The generated
# corpus of the `demo` scale holds the sentence too: it has *todavía* and "still".)

# %%
sentence = "¿Todavía está en casa?"
run = translator.run([sentence])
source = [w.decode() for w in run["source_tokens"][0] if w]
output = [w.decode() for w in run["output_tokens"][0] if w]
weights = np.asarray(run["attention"][0])[: len(output), : len(source)]
for word, row in zip(output, weights, strict=True):
    print(f"{word:>10} looks most at {source[int(row.argmax())]!r} ({row.max():.2f})")
for column, token in enumerate(source):
    if token.startswith("todav"):
        readers = [word for word, row in zip(output, weights, strict=True)
                   if row.argmax() == column]
        print(f"the output words that look most at {token!r}: {readers}")
lesson.show(sentence_figure(translator, sentence), "01_attention")

# %% [markdown]
# At the `real` scale, read the printout row by row. "still" looks at *todavía* (0.52)
# and "home" at *casa* (0.64): words with a counterpart read it. "at" spreads its weight
# over *en* (0.38) and its neighbours. "is" reads the opening "¿" (0.66), not *está*: it is
# the question's inversion ("is he ...?") that the "¿" announces, and no output word looks
# most at *está*. "he" looks mostly at *todavía* (0.60): "he" has no counterpart in the
# Spanish, whose subject is left out and carried only by the verb's ending (*está*: he, she,
# it or formal you); with no source word to read, this decoder's query lands on the word
# after the "¿", much as the published tutorial's plot, read in the lecture, pairs
# *todavía* with "you". Attention weights show what the model read when it wrote each word,
# which often matches a human alignment but need not: the decoder's own state also carries
# what it has already read, and where the source has nothing to align with, the heatmap is
# not an alignment.
#
# The same to explore by hand, for the lecture's sentence, the four above and sentences of
# the test split: hover an output word (or tab to it) to see the source words it reads.

# %%
lesson.explorer(translation_explorer(result.run_dir, [sentence, *examples], library()),
                "01_explorer")

# %% [markdown]
# ## Exercise: why divide by $\sqrt{d_k}$?
#
# Draw 5 keys and one query with 64 random components each (`np.random.default_rng(0)`),
# compute the softmax weights with and without the division by $\sqrt{64}$, and compare
# the largest weight. What happens to the weights without it, and what would that do to
# learning? Try it before reading the solution.

# %% [markdown]
# **Solution.**

# %%
rng = np.random.default_rng(0)
query, keys = rng.normal(size=64), rng.normal(size=(5, 64))
unscaled, scaled = softmax(keys @ query), softmax(keys @ query / np.sqrt(64))
print("without the division:", unscaled.round(3), " largest", f"{unscaled.max():.3f}")
print("with it:             ", scaled.round(3), " largest", f"{scaled.max():.3f}")
lesson.check("without sqrt(d_k) the largest weight is larger (the softmax saturates)",
             [unscaled.max() > scaled.max()], [True], atol=0)

# %% [markdown]
# The dot products of 64 random components spread over about $\pm 8$, and the softmax of
# such scores puts nearly all the weight on one key: the other keys get gradients near
# zero and barely learn. Dividing by $\sqrt{d_k}$ brings the spread back to about 1,
# whatever the width.
#
# **What to remember.** Attention replaces one summary vector with a weighted read of every
# encoder state, recomputed at every output step; the weights are a softmax of scores
# between a query (the decoder's state) and keys (the encoder's states), and the values
# read are the encoder states themselves. The next tutorial builds a whole model out of
# this operation.
