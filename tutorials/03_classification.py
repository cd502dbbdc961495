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
# # 3. Classification with a Transformer encoder
#
# A translator needs an encoder and a decoder; a classifier needs only the encoder, and one
# vector per input for its last layer to read. This tutorial asks how to get that vector
# (a mean over the positions, or a **[CLS] token**), shows that without positions the encoder
# cannot tell word order, then looks at BERT's pretraining and at the Vision Transformer,
# which classifies images with the same encoder.
#
# `TUTORIAL_SCALE`: `tiny` (seconds), `demo` (the demo's presets, minutes), `real` (the
# base presets; the text models on SST-2's `train.tsv` from `TUTORIAL_DATA`). Terms in
# **bold** are explained in the [glossary](../glossary.md).

# %%
import keras
import lesson
import numpy as np
import tensorflow as tf

from classify.bert import mask_tokens, masked_guesses, segment_ids
from classify.cli import classifier_explorer
from classify.compare import compare
from classify.config import BertConfig, TextConfig, VitConfig
from classify.demo import scratch_config
from classify.evaluate import evaluate
from classify.plots import pretraining_figure, rollout_figure, text_attention_figure
from classify.pooling import SequencePooling
from classify.runs import load_predictor, load_pretrainer, load_run, unigram_baseline_of
from classify.text_classifier import TextClassifier
from classify.train import train
from classify.vit import PatchEmbedding, attention_rollout, shuffled_patches
from classify.vocabulary import (
    SEP,
    build_text_vocabulary,
    build_word_vocabulary,
    masking_options,
    text_vocabulary,
    word_vocabulary,
)
from common.data.classification import generate_order_task, generate_pair_task
from common.plotting import mask_figure
from common.run_folder import RunFolder
from transformer.attention import CausalSelfAttention, GlobalSelfAttention

keras.utils.set_random_seed(0)
np.set_printoptions(precision=3, suppress=True)
print("scale:", lesson.SCALE)


def preset(config_class):
    """The config of this scale: tiny, the demo's (quick) or base."""
    return {"tiny": config_class.tiny, "demo": config_class.quick,
            "real": config_class.base}[lesson.SCALE]()


# %% [markdown]
# ## One vector per input: mean or [CLS]
#
# The encoder gives one vector per position. **Mean pooling** averages the real positions
# (padding excluded): simple, but a single decisive word is diluted by all the others.
# **[CLS] pooling** puts a dummy token at position 0 of every input and reads only its
# output; attention lets that one position collect whatever the task needs from the rest
# (BERT and ViT both do this). Both, by hand, on a batch of two sequences of 4 positions
# whose second has one padding position:

# %%
x = tf.random.normal([2, 4, 3])
real = tf.constant([[True, True, True, True], [True, True, True, False]])
mean = SequencePooling("mean")(x, padding_mask=real)
cls = SequencePooling("cls")(x, padding_mask=real)
by_hand = np.stack([x[0].numpy().mean(0), x[1, :3].numpy().mean(0)])  # skip the padding
lesson.check("mean pooling == average of the real positions", mean, by_hand)
lesson.check("[CLS] pooling == the output at position 0", cls, x[:, 0])

# %% [markdown]
# ## Without positions, a Transformer is a bag of words
#
# Self-attention treats its input as a set: permute the positions and every output is
# permuted the same way. A classifier reading the [CLS] output (or a mean) then gives the
# same answer for any order of the words. The check: one untrained classifier without
# positional encoding, a sentence and its words shuffled ([CLS] kept first).

# %%
words = tf.constant([[1, 17, 42, 8, 99, 5, 23]])  # [CLS]=1, then six word ids
shuffled = tf.constant([[1, 99, 8, 23, 17, 5, 42]])
for positions in (False, True):
    model = TextClassifier(vocabulary_size=120, num_classes=2, sequence_length=7,
                           num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32,
                           dropout=0.0, positional_encoding=positions)
    a, b = model(words), model(shuffled)
    if positions:
        print(f"with positions, the logits move by {float(tf.reduce_max(tf.abs(a - b))):.3f}")
    else:
        lesson.check("no positions: shuffled words give the same logits", a, b, atol=1e-5)

# %% [markdown]
# That matters when order carries the meaning. The package's generated task "who acts?"
# names a person and an animal, and the label is which of the two did the deed; the same
# words in another order swap the label:

# %%
sample = generate_order_task(6, seed=3)
for text, label in zip(sample.texts, sample.labels, strict=True):
    print(f"{sample.label_names[label]:>7}: {text}")

# %% [markdown]
# Four variants trained the same way, [CLS] or mean, with or without positions, over
# several seeds (`classify.compare`):

# %%
text_config = TextConfig.tiny() if lesson.SCALE == "tiny" else TextConfig.quick()
seeds = range(1) if lesson.SCALE == "tiny" else range(3)
comparison = lesson.run_dir("compare")
runs = compare(text_config, comparison, seeds=seeds, log=lambda _: None)
print((comparison / "table.md").read_text())
lesson.show_png(comparison / "comparison.png")

# %% [markdown]
# Without positions both poolings stay near chance (0.5): the task cannot be solved from
# the words alone. With positions both learn it. At these lengths (about ten words) the
# mean is not worse than [CLS]; the lecture's point that a mean gets muddy concerns long
# inputs, where one word is a small share of the average.
#
# Measured at longer inputs (`bench/experiments/pooling_length.py`; the page
# `docs/experiments/pooling_length.md` has the table, command and seeds): a key phrase (a
# person or an animal) hidden among neutral English sentences, 16, 64, 128 and 256 tokens,
# three seeds each. Both poolings reach 0.995-1.000 test accuracy at every length; longer
# inputs only take more epochs to learn, alike for both. Up to 256 tokens the mean is not
# muddy on this task.

# %%
lesson.show_png(lesson.ROOT / "docs" / "experiments" / "pooling_length.png")

# %% [markdown]
# ## BERT: the encoder alone, reading both ways
#
# Tutorial 2's decoder writes left to right, so its self-attention is **causal**: a token
# sees itself and the tokens before it, never the ones after (they are not written yet).
# BERT keeps only the encoder. Nothing is generated, the whole input is there from the
# start, and every token attends to every other one, before and after it
# (**bidirectional**). The two masks on one sentence:

# %%
words = ["[CLS]", *"the dog was chased by the old teacher".split()]
n = len(words)
lesson.show(mask_figure(words, {"encoder (BERT): bidirectional": np.ones([n, n], bool),
                                "decoder (tutorial 2): causal": np.tril(np.ones([n, n], bool))}),
            "03_bert_masks")

# %% [markdown]
# The masks, checked on the layers themselves: change the last word's vector and see which
# positions of the output move. The encoder's self-attention moves every position; the
# decoder's leaves every position before the changed one exactly as it was.

# %%
x = tf.random.normal([1, n, 16], seed=1)
changed = tf.concat([x[:, :-1], tf.random.normal([1, 1, 16], seed=2)], axis=1)
for name, layer in (("encoder", GlobalSelfAttention(16, 2)),
                    ("decoder", CausalSelfAttention(16, 2))):
    moved = np.abs((layer(changed) - layer(x)).numpy()).max(-1)[0]
    print(f"{name}: largest change at each position", moved.round(3))
    if name == "decoder":
        lesson.check("causal: the positions before the changed word stay", moved[:-1],
                     np.zeros(n - 1), atol=1e-6)
    else:
        lesson.check("bidirectional: every position moves", moved.min() > 1e-3, True)

# %% [markdown]
# ## [CLS], [SEP] and segments: two texts in one input
#
# Many tasks read two texts: does the second follow from the first, is it a paraphrase,
# does it answer it? BERT puts both in one input, `[CLS] first [SEP] second`, and adds to
# each token's vector a learned **segment embedding**, A for the first text and B for the
# second, beside the position's: attention can then relate a word to the words of the
# other text and know which text each is in. The package writes a pair as one string with
# a tab between the texts; its vocabulary puts `[SEP]` there, and the segment of a token is
# the number of `[SEP]`s before it (`classify.bert.segment_ids`):

# %%
pairs = generate_pair_task(400, seed=0)
pair_vocabulary = word_vocabulary(build_word_vocabulary(pairs.texts, 200), 24)
pair = "the nurse was bitten by the fox\tthe fox"
ids = pair_vocabulary.encode(tf.constant([pair]))
segments = segment_ids(ids, pair_vocabulary.id_of(SEP)).numpy()[0]
length = int(np.count_nonzero(ids))
for token, segment in zip(pair_vocabulary.words(ids[0, :length]).numpy(), segments[:length],
                          strict=True):
    print(f"{token.decode():>8}  segment {'AB'[segment]}")
first = pair.split("\t")[0].split()
by_hand = [0] * (len(first) + 2) + [1] * (length - len(first) - 2)  # [CLS] A... [SEP]
lesson.check("segment ids by hand", segments[:length], by_hand)

# %% [markdown]
# ## WordPiece: words the training text never had
#
# A vocabulary of whole words keeps the most frequent words of the training text and reads
# every other word as `[UNK]`: the model learns nothing about it, and a masked LM is never
# asked to guess it. BERT's vocabulary is **WordPiece** (tutorial 2's tokenizer is one):
# about 30,000 entries, the frequent words whole, and pieces that spell the rest, a piece
# inside a word marked `##`. Both kinds learned from the demo's labeled texts
# (`--tokenizer words`, the default, or `--tokenizer wordpiece`), then given words those
# texts never had:

# %%
texts = generate_order_task(3000, seed=0).texts
word_list = text_vocabulary(build_text_vocabulary(texts, 2000), 16)
piece_list = text_vocabulary(build_text_vocabulary(texts, 2000, tokenizer="wordpiece"), 16,
                             tokenizer="wordpiece")
print(f"{word_list.size - 5} words; {piece_list.size - 5} pieces:",
      " ".join(piece_list.tokens[5:12]), "...", " ".join(piece_list.tokens[-4:]))
new_words = ["the teachers chased the dogs", "the wolf was unscared"]
for sentence in new_words:
    for name, vocab in (("words", word_list), ("pieces", piece_list)):
        ids = vocab.lookup(vocab.tokenize(tf.constant([sentence])))[0]  # what the model reads
        print(f"{name:>7}:", " ".join(t.decode() for t in vocab.words(ids).numpy()))

# %% [markdown]
# The demo's texts have 79 distinct words, so the list keeps them all whole, and every letter
# twice, alone and as `##x`: any word of Latin letters can be spelled. The cut is greedy,
# left to right: the longest entry that starts the word, then the longest `##` entry that
# goes on from where it stopped; a word with a part no entry spells is `[UNK]`. By hand:

# %%
def wordpiece_by_hand(word, entries):
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in entries:
                pieces.append(piece)
                start = end
                break
        else:
            return ["[UNK]"]
    return pieces


entries = set(piece_list.tokens)
for sentence in new_words:
    by_hand = [p for word in sentence.split() for p in wordpiece_by_hand(word, entries)]
    pieces = piece_list.tokenize(tf.constant([sentence]))[0]
    print(" ".join(by_hand))
    lesson.check(f"WordPiece by hand == the tokenizer: {sentence!r}",  # compared as ids
                 piece_list.lookup(pieces).numpy(), [piece_list.tokens.index(p) for p in by_hand])

# %% [markdown]
# "teachers" becomes the known `teacher` and `##s`; "unscared" has no entry longer than a
# letter at its start, so it is spelled letter by letter: longer rows, and a model has to
# learn what such a spelling means. On real text the learned list holds frequent endings
# and stems too (`##ing`, `##ly`, `un`), so a rare word takes two or three pieces.
#
# What that buys on real text (`bench/experiments/wordpiece.py`, [the
# page](../experiments/wordpiece.md)): on SST-2's grouped split, a list of every word of the
# training texts (11,507) leaves 7.1% of the test texts' tokens `[UNK]`; WordPiece's 5,702
# pieces leave 0.01%, at 12.4 tokens a text instead of 9.5. The text classifier trained
# from scratch is no better for it: 81.3% of the test texts with either (3 seeds; the paired
# difference -0.1 ± 0.3 points). The words it could not read before are now spelled out,
# and the accuracy says the classifier did not need them.
#
# The package's pair task (`--data generated-pairs`) asks a question about a "who acts?"
# sentence: the second text names one of its two characters, and the label says whether
# that one did the deed. Both characters are in the first text either way, so the words
# alone cannot tell: the answer needs the first text's order and which text a word is in.

# %%
for text, label in list(zip(pairs.texts, pairs.labels, strict=True))[:4]:
    first, second = text.split("\t")
    print(f"{pairs.label_names[label]:>3}: {first}  |  {second}")

# %% [markdown]
# ## Masked words: learning from text without labels
#
# Labels are expensive, unlabeled text is not. BERT pretrains its encoder to fill in
# hidden words (a **masked language model**), then fine-tunes it with a classifier head
# on the few labels there are. Each pretraining batch chooses 15% of the words; of the
# chosen, 80% become `[MASK]`, 10% a random word and 10% stay unchanged, and the model must
# predict the original at every chosen position. The 10% left unchanged matter: fine-tuning
# never shows `[MASK]`, and a model that only ever had to predict at `[MASK]` would learn
# nothing about the vectors of ordinary words. On real sentences of the demo's unlabeled
# text, at 15% (`·`: not chosen, no loss there):

# %%
bert_config = preset(BertConfig)
if lesson.SCALE == "real":
    bert_config = bert_config.replace(data=lesson.data("sst2"), split="grouped")
bert = lesson.train_or_resume(train, bert_config, lesson.run_dir("bert"), log=lambda _: None)
bert_run = load_run(bert.run_dir)
vocabulary = bert_run.vocabulary
sentences = bert.data.test_texts[:4]
rows = vocabulary.encode(tf.constant(sentences)).numpy()
masking = masking_options(vocabulary)  # [MASK], random words, never [CLS], [SEP], [UNK]
inputs, labels = mask_tokens(rows, np.random.default_rng(3), **masking)


def words_of(ids):
    return " ".join(vocabulary.tokens[i] if i else "·" for i in ids[1:])


for row in range(len(sentences)):
    width = int(np.count_nonzero(rows[row]))
    print("original:", words_of(rows[row, :width]))
    print("input:   ", words_of(inputs[row, :width]))
    print("targets: ", words_of(labels[row, :width]), "\n")

# %% [markdown]
# Over many tokens the shares come out as stated:

# %%
many = np.random.default_rng(0).integers(5, 5000, size=(2000, 64))
inputs, labels = mask_tokens(many, np.random.default_rng(1), mask_id=3, first_word_id=5,
                             vocabulary_size=5000)
chosen = labels != 0
as_mask = (inputs == 3) & chosen
unchanged = (inputs == many) & chosen
shares = [chosen.mean(), as_mask.sum() / chosen.sum(),
          (chosen & ~as_mask & ~unchanged).sum() / chosen.sum(), unchanged.sum() / chosen.sum()]
print("chosen {:.3f}; of them [MASK] {:.3f}, random {:.3f}, unchanged {:.3f}".format(*shares))
lesson.check("15% chosen, then 80/10/10", shares, [0.15, 0.8, 0.1, 0.1], atol=0.01)

# %% [markdown]
# (A random replacement can draw the original word, so "unchanged" is a little over 10%
# and "random" a little under.)
#
# ### Did the pretraining learn?
#
# The run above pretrained before it fine-tuned, its sentences packed into full rows
# (`[CLS] s1 [SEP] s2 [SEP] ...`). A masked-word accuracy means little alone: the floor is
# always guessing the most frequent word (the **unigram baseline**), which a model that
# learned nothing about context reaches by learning word counts. Its curves against that
# floor:

# %%
lesson.show(pretraining_figure(bert.run_dir), "03_bert_pretraining")
baseline = unigram_baseline_of(bert.run_dir)
history = RunFolder(bert.run_dir).child("pretrain").history()
print(f"validation masked-word accuracy {history['val_masked_accuracy'][-1]:.1%}; always "
      f"guessing \"{baseline['word']}\": {baseline['accuracy']:.1%}")

# %% [markdown]
# What the pretrained model guesses on a test sentence, at each chosen position its three
# most probable words:

# %%
pretrainer = load_pretrainer(bert_run)
sentence = vocabulary.encode(tf.constant([bert.data.test_texts[1]])).numpy()
inputs, labels = mask_tokens(sentence, np.random.default_rng(7), **{**masking, "rate": 0.3})
positions, guesses, probabilities = masked_guesses(pretrainer, inputs, labels)
print("input:", words_of(inputs[0, :np.count_nonzero(sentence)]))
for position, ids, p in zip(positions, guesses, probabilities, strict=True):
    shown, was = vocabulary.tokens[inputs[0, position]], vocabulary.tokens[labels[0, position]]
    print(f"  position {position} (shows {shown!r}, was {was!r}):",
          ", ".join(f"{vocabulary.tokens[i]} {q:.2f}" for i, q in zip(ids, p, strict=True)))

# %% [markdown]
# ### Fine-tuning, against the same model from random weights
#
# The classifier starts from the pretrained encoder and reads [CLS]. The fair comparison is
# the same classifier from random weights on the same labels, trained to *its own* best:
# from random weights it needs many more steps, and given the pretrained model's budget it
# stays at chance, which would measure the budget, not the pretraining
# (`classify.demo.scratch_config`: 150 epochs, the weights of the best validation loss kept).

# %%
baseline_config = scratch_config(bert_config)
if lesson.SCALE == "tiny":  # the notebook's test run: seconds, not a measurement
    baseline_config = baseline_config.replace(epochs=8, patience=8)
scratch = lesson.train_or_resume(train, baseline_config, lesson.run_dir("bert-from-scratch"),
                                 log=lambda _: None)
for name, result in (("pretrained, then fine-tuned", bert), ("from random weights", scratch)):
    metrics = evaluate(load_run(result.run_dir), result.data)
    print(f"{name:>28}: test accuracy {metrics['test_accuracy']:.3f} "
          f"({metrics['test_examples']} test examples), best epoch {metrics['best_epoch']} of "
          f"{metrics['epochs_trained']}")

# %% [markdown]
# Below, the pretrained classifier's attention on a test sentence.

# %%
_, predictor = load_predictor(bert.run_dir)
example = bert.data.test_texts[0]
lesson.show(text_attention_figure(predictor, example), "03_bert_attention")

# %% [markdown]
# In the top row, [CLS]'s attention: where the classifier's vector gathers from. Every
# layer and head of it to explore, for this sentence and others of the test split (hover a
# token: its row is where it looks):

# %%
lesson.explorer(classifier_explorer(bert.run_dir, sentences=[example]), "03_bert_explorer")

# %% [markdown]
# ### The same on the pair task
#
# Pretrained on the same unlabeled sentences (single sentences: the pairs' texts are never
# seen whole), then fine-tuned on pairs:

# %%
pair_config = (bert_config.replace(data="generated-pairs", labeled_examples=0,
                                   sequence_length=24,  # a sentence and a character
                                   epochs=2 * bert_config.epochs,
                                   patience=2 * bert_config.epochs)
               if lesson.SCALE != "real" else None)
if pair_config is not None:
    pair_run = lesson.train_or_resume(train, pair_config, lesson.run_dir("bert-pairs"),
                                      log=lambda _: None)
    metrics = evaluate(load_run(pair_run.run_dir), pair_run.data)
    print(f"pairs: test accuracy {metrics['test_accuracy']:.3f} on "
          f"{metrics['test_examples']} test pairs (chance 0.5)")
    _, pair_predictor = load_predictor(pair_run.run_dir)
    lesson.show(text_attention_figure(pair_predictor, pair_run.data.test_texts[0]),
                "03_bert_pair_attention")

# %% [markdown]
# ### At the real scale: does pretraining pay on SST-2?
#
# The same comparison on real English (`bench/experiments/pretraining.py`, [the
# page](../experiments/pretraining.md)): the base preset pretrained on SST-2's training
# sentences and the English of the translation pairs, about a million words, then fine-tuned
# on SST-2's grouped split with 100 to 42,428 labelled texts, against the same model from
# random weights with its own learning rate and stopping point, 3 seeds each. The
# pretraining learns: 21.3% of held-out masked words, against 6.9% for always guessing "."
# (its size, warm-up and epochs chosen on validation: two layers, a wider model and a
# shorter warm-up did no better, [the search](../experiments/pretraining_search.md)). The
# fine-tuning does not gain from it at any size tried (55.2% against 54.2% with 100 labels,
# 62.6% against 65.7% with 1,000, 71.1% against 71.1% with all, every difference inside the
# seeds' intervals). BERT's own pretraining read 3.3 billion words; this one about a
# million, most of them short everyday sentences.

# %%
lesson.show_png(lesson.ROOT / "docs" / "experiments" / "pretraining_curves.png")
lesson.show_png(lesson.ROOT / "docs" / "experiments" / "few_labels.png")

# %% [markdown]
# ## The Vision Transformer: an image as a sequence of patches
#
# ViT cuts an image into square patches, flattens each, and projects it to the model's
# width: those are its tokens. A [CLS] vector is put in front and learned position
# embeddings are added (the patches' order is row by row); from there it is the same
# encoder. On an 8 x 8 digit with 2 x 2 patches (16 of them), the cut by hand matches
# `PatchEmbedding`:

# %%
image = np.arange(64, dtype="float32").reshape(1, 8, 8, 1) / 64
patches = PatchEmbedding(patch_size=2, hidden_dim=6)
embedded = patches(image)
by_hand = np.stack([image[0, r:r + 2, c:c + 2, 0].reshape(-1)   # row by row, then columns
                    for r in range(0, 8, 2) for c in range(0, 8, 2)])  # (16 patches, 4 pixels)
kernel, bias = patches.projection.get_weights()
print("patches:", by_hand.shape, "-> tokens:", embedded.shape)
lesson.check("cut into 2x2 patches, flatten, project == PatchEmbedding", embedded[0],
             by_hand @ kernel + bias)

# %%
vit_config = preset(VitConfig)
vit = lesson.train_or_resume(train, vit_config, lesson.run_dir("vit"), log=lambda _: None)
vit_run, vit_predictor = load_predictor(vit.run_dir)
metrics = evaluate(vit_run, vit.data)
patch = vit_run.config.patch_size
print(f"ViT ({patch}x{patch} patches) test accuracy "
      f"{metrics['test_accuracy']:.3f} on {metrics['test_examples']} digits")

# %% [markdown]
# Does it use *where* a patch is? Its position embeddings are the only place that
# information enters. Shuffle each test digit's patches (the same patches, another order)
# and score again:

# %%
x_test, y_test = vit.data.x["test"], vit.data.y["test"]
shuffled = shuffled_patches(x_test, vit_run.config.patch_size, seed=0)
for name, images in (("as they are", x_test), ("patches shuffled", shuffled)):
    probabilities = vit_predictor.outputs(vit_predictor.inputs_of(images))["probabilities"]
    print(f"{name:>17}: test accuracy {(probabilities.numpy().argmax(-1) == y_test).mean():.3f}")

# %% [markdown]
# Near chance (0.1): the model reads where each patch is, and that comes only from its
# position embeddings. How the choices compare, three seeds each on the same digits
# (`bench/experiments/vit.py`, [the page](../experiments/vit.md)): 4x4 patches (4 a digit)
# score 0.975 on average, 2x2 (16) 0.962, 1x1 (64, a token a pixel) 0.961; without position
# embeddings 0.787; mean pooling 0.970 against [CLS]'s 0.962, within the seeds' spread.
# Logistic regression on the 64 pixels scores 0.956, a small CNN 0.989. At this size the
# ViT is a little better than a linear model and worse than a CNN, which builds in what a
# digit needs (neighbouring pixels, the same stroke detector everywhere) where the ViT must
# learn both from 1,258 images. Finer patches do not raise its accuracy here; this tutorial
# uses 2x2 for its rollout, a 4x4 map that can point at strokes rather than four squares.

# %%
lesson.show_png(lesson.ROOT / "docs" / "experiments" / "vit.png")

# %% [markdown]
# **Attention rollout** asks which patches the [CLS] output draws on through all the
# blocks: average each block's heads, add the identity for the residual connection,
# renormalize, and multiply the blocks' matrices (Abnar and Zuidema 2020). By hand,
# against `classify.vit.attention_rollout`:

# %%
digit = vit.data.x["test"][0]
_, scores = vit_predictor.attention(digit[None])
blocks = [s[0].numpy() for s in scores]
tokens = blocks[0].shape[-1]
rollout = np.eye(tokens)
for block in blocks:
    mixed = block.mean(0) + np.eye(tokens)
    rollout = (mixed / mixed.sum(-1, keepdims=True)) @ rollout
lesson.check("rollout by hand == attention_rollout", rollout[0, 1:] / rollout[0, 1:].sum(),
             attention_rollout(blocks))
lesson.show(rollout_figure(vit_predictor, digit, vit_run.config.patch_size,
                           truth=vit_run.label_names[int(vit.data.y["test"][0])]),
            "03_vit_rollout")

# %% [markdown]
# The ViT's heads and rollout to explore, on digits of the test split (click one):

# %%
lesson.explorer(classifier_explorer(vit.run_dir), "03_vit_explorer")

# %% [markdown]
# ## Exercise: how much of one word survives a mean?
#
# Take inputs of 4, 16 and 64 positions where one position holds a "decisive" vector $s$
# (say 8 random components) and every other position holds zeros. Mean-pool each input
# with `SequencePooling("mean")` and measure how much of $s$ is left: the pooled vector's
# projection on $s$, divided by $|s|^2$. Predict the answer as a formula in the length
# first. Then: what does real text put in the other positions instead of zeros, and why
# does that make it worse?

# %% [markdown]
# **Solution.**

# %%
rng = np.random.default_rng(0)
decisive = rng.normal(size=8).astype("float32")
left = {}
for length in (4, 16, 64):
    inputs = np.zeros([1, length, 8], "float32")
    inputs[0, length // 2] = decisive
    pooled = SequencePooling("mean")(tf.constant(inputs)).numpy()[0]
    left[length] = float(pooled @ decisive / (decisive @ decisive))
    print(f"{length:>2} positions: {left[length]:.4f} of the decisive vector is left")
lesson.check("mean pooling keeps 1/length of one position", list(left.values()),
             [1 / n for n in left], atol=1e-6)

# %% [markdown]
# A mean keeps $1/n$ of one position. With zeros elsewhere that is only a smaller vector, and
# the classifier above can scale it back up; in real text the other positions are other
# words, whose vectors add up to something of their own and can outweigh $1/n$ of the
# decisive one. A [CLS] token is not diluted by length: attention can put most of its
# weight on the one position that matters.

# %% [markdown]
# **What to remember.** A classifier reads one vector: a mean of the positions or a [CLS]
# token that attention fills. Without positional information the encoder sees a bag of
# words. Pretraining on masked words uses unlabeled text to make few labels go further.
# ViT is the same encoder with patches for tokens.
