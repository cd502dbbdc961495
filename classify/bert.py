"""A small BERT: masked-language-model pretraining of the text encoder, then fine-tuning.

Pretraining hides some tokens of unlabeled text and trains the encoder to guess them from
both sides of context. The encoder then starts the classifier with weights that already
know which words go together and in what order, and the classifier reads the [CLS] output.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from common.xla import traced_for_xla
from transformer.encoder import Encoder, segment_ids

__all__ = ["BertPretrainer", "MaskedLanguageModelHead", "chosen_positions", "copy_encoder",
           "mask_tokens", "masked_guesses", "pack_sentences", "segment_ids"]


def pack_sentences(rows: np.ndarray, sequence_length: int, *, cls_id: int, separator_id: int,
                   seed: int = 0) -> np.ndarray:
    """Encoded sentences packed into full rows for pretraining:
    ``[CLS] s1 [SEP] s2 [SEP] ...``, each row as many whole sentences as fit.

    Short sentences (the English of the translation pairs averages 8 words) would otherwise
    fill a row of 64 positions to one eighth: packing trains on every position a step pays
    for, and the learned position embeddings of positions past the short sentences' ends
    get trained too (unpacked, a model pretrained on 8-word sentences meets 20-word reviews
    with position rows it never learned). RoBERTa packs full sentences the same way.

    Args:
        rows: (n, length) ids as the vocabulary encodes them, ``[CLS]`` first, 0-padded.
        sequence_length: the packed rows' length; a sentence longer than a row is cut.
        cls_id, separator_id: the [CLS] and [SEP] ids.
        seed: the sentences are packed in a seeded random order.

    Returns:
        (m, sequence_length) ids, 0-padded.
    """
    rng = np.random.default_rng(seed)
    lengths = np.count_nonzero(rows, axis=1)
    packed, row = [], [cls_id]
    for i in rng.permutation(len(rows)):
        sentence = [*rows[i, 1 : lengths[i]][: sequence_length - 2], separator_id]
        if len(sentence) == 1:
            continue  # an empty text
        if len(row) + len(sentence) > sequence_length:
            packed.append(row)
            row = [cls_id]
        row += sentence
    if len(row) > 1:
        packed.append(row)
    out = np.zeros([len(packed), sequence_length], rows.dtype)
    for i, row in enumerate(packed):
        out[i, : len(row)] = row
    return out


def mask_tokens(
    token_ids: np.ndarray,
    rng: np.random.Generator,
    *,
    mask_id: int,
    first_word_id: int,
    vocabulary_size: int,
    rate: float = 0.15,
    protected_ids: tuple[int, ...] = (0,),
) -> tuple[np.ndarray, np.ndarray]:
    """BERT's masking: choose ``rate`` of the tokens; of those, 80% become [MASK], 10% a
    random word, 10% stay as they are. The model must predict the original at every chosen
    position, so it cannot learn that only [MASK] positions matter.

    Padding (id 0) and every id in ``protected_ids`` (e.g. [CLS]) are never chosen.

    Args:
        token_ids: (batch, length) int ids.
        rng: the NumPy generator to draw from (a fresh draw each epoch: dynamic masking).
        mask_id: the [MASK] token's id.
        first_word_id: random replacements are drawn from [first_word_id, vocabulary_size).
        vocabulary_size: number of ids.
        rate: fraction of eligible tokens chosen.
        protected_ids: ids never chosen; padding always is.

    Returns:
        ``(inputs, labels)``, both (batch, length): the corrupted ids, and the original id
        at chosen positions with 0 elsewhere (0 is ignored by the masked loss).
    """
    token_ids = np.asarray(token_ids)
    eligible = ~np.isin(token_ids, (0, *protected_ids))
    chosen = eligible & (rng.random(token_ids.shape) < rate)
    action = rng.random(token_ids.shape)
    to_mask = chosen & (action < 0.8)
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs = token_ids.copy()
    inputs[to_mask] = mask_id
    inputs[to_random] = rng.integers(first_word_id, vocabulary_size, size=int(to_random.sum()))
    labels = np.where(chosen, token_ids, 0)
    return inputs, labels


def chosen_positions(inputs: tf.Tensor, labels: tf.Tensor):
    """A masked-LM batch as pretraining reads it: ``((inputs, positions), targets)``.

    ``labels`` (``mask_tokens``'s, 0 where nothing was chosen) become ``positions``, (batch,
    k) with k the most tokens chosen in one row: each row's chosen positions first, in order,
    then unchosen ones whose ``targets`` are 0, which the masked loss ignores. Only those k
    positions go through the pretrainer's vocabulary-wide head (it would otherwise compute
    logits over the whole vocabulary at every position, six in seven of them for nothing).
    """
    chosen = tf.not_equal(labels, 0)
    count = tf.reduce_max(tf.reduce_sum(tf.cast(chosen, tf.int32), axis=1))
    order = tf.argsort(tf.cast(tf.logical_not(chosen), tf.int32), axis=1, stable=True)
    positions = order[:, :count]
    return (inputs, positions), tf.gather(labels, positions, batch_dims=1)


@keras.saving.register_keras_serializable(package="classify")
class MaskedLanguageModelHead(keras.layers.Layer):
    """Encoder outputs to a distribution over the vocabulary at every position.

    Dense + GELU, LayerNorm, then a projection to ``vocabulary_size`` logits, as BERT's
    pretraining head (BERT ties the last projection to the token embedding; this one is its
    own layer, which is simpler to save and changes little at this size).

    Args:
        vocabulary_size: number of token ids.
        hidden_dim: the encoder's width.

    Call arguments:
        x: (batch, length, hidden_dim).

    Returns:
        (batch, length, vocabulary_size) logits.
    """

    def __init__(self, vocabulary_size: int, hidden_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.hidden_dim = hidden_dim
        self.transform = keras.layers.Dense(hidden_dim, activation="gelu", name="transform")
        self.norm = keras.layers.LayerNormalization(epsilon=1e-12, name="layer_norm")
        self.logits = keras.layers.Dense(vocabulary_size, dtype="float32",  # float32 logits
                                         name="logits")

    def build(self, x_shape):
        self.transform.build(x_shape)
        self.norm.build(tuple(x_shape[:-1]) + (self.hidden_dim,))
        self.logits.build(tuple(x_shape[:-1]) + (self.hidden_dim,))
        self.built = True

    def call(self, x):
        return self.logits(self.norm(self.transform(x)))  # (batch, length, vocabulary)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, hidden_dim=self.hidden_dim)
        return config


@keras.saving.register_keras_serializable(package="classify")
class BertPretrainer(keras.Model):
    """The text encoder (learned positions, post-norm) with a masked-language-model head.

    Train it on ``mask_tokens`` output with ``common.masks.MaskedSparseCrossEntropy``: the
    labels are 0 except at chosen positions, so the loss averages over chosen tokens only;
    or, the same loss at a fraction of the work, on ``chosen_positions`` of that output: the
    head then runs at the chosen positions only. After pretraining, ``encoder`` is what a
    classifier starts from.

    Masking: id 0 is padding (see transformer.encoder.Encoder).

    Args:
        vocabulary_size, sequence_length, num_layers, hidden_dim, num_heads,
        intermediate_dim, dropout: the encoder's (see transformer.encoder.Encoder).
        separator_id: the [SEP] id: segment embeddings are added, segments counted from
            the [SEP]s (:func:`segment_ids`); None: no segments.

    Call arguments:
        inputs: token_ids, (batch, length) int, [CLS] first, some tokens replaced by [MASK];
            or ``(token_ids, positions)`` with positions (batch, k) int.

    Returns:
        (batch, length, vocabulary_size) logits; with positions, (batch, k,
        vocabulary_size): the logits at those positions only.

    Reference: Devlin et al. 2018, "BERT: Pre-training of Deep Bidirectional Transformers",
    3.1 (Task #1: Masked LM).
    """

    def __init__(self, vocabulary_size: int, sequence_length: int, num_layers: int = 2,
                 hidden_dim: int = 64, num_heads: int = 4, intermediate_dim: int = 128,
                 dropout: float = 0.1, separator_id: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.separator_id = separator_id
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.encoder = Encoder(num_layers, vocabulary_size, hidden_dim, num_heads,
                               intermediate_dim, dropout, max_length=sequence_length,
                               position_embedding="learned", separator_id=separator_id,
                               name="encoder")
        self.mlm_head = MaskedLanguageModelHead(vocabulary_size, hidden_dim, name="mlm_head")

    def build(self, token_ids_shape):
        if not self.encoder.built:  # it may have been called on its own first
            self.encoder.build(token_ids_shape)
        self.mlm_head.build(tuple(token_ids_shape) + (self.hidden_dim,))
        self.built = True

    @traced_for_xla
    def call(self, inputs, training=None):
        token_ids, positions = inputs if isinstance(inputs, (tuple, list)) else (inputs, None)
        hidden = self.encoder(token_ids, training=training)
        if positions is not None:
            hidden = tf.gather(hidden, positions, batch_dims=1)
        return self.mlm_head(hidden)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size,
                      sequence_length=self.sequence_length, num_layers=self.num_layers,
                      hidden_dim=self.hidden_dim, num_heads=self.num_heads,
                      intermediate_dim=self.intermediate_dim, dropout=self.dropout,
                      separator_id=self.separator_id)
        return config


def masked_guesses(pretrainer: BertPretrainer, inputs: np.ndarray, labels: np.ndarray,
                   top: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a pretrainer guesses at the chosen positions of one masked row.

    Args:
        pretrainer: a (pretrained) :class:`BertPretrainer`.
        inputs, labels: one row each, (1, length), as :func:`mask_tokens` makes them.
        top: guesses kept a position.

    Returns:
        ``(positions, ids, probabilities)``: the chosen positions (k,), and at each the
        ``top`` most probable ids (k, top) with their probabilities, most probable first.
    """
    positions = np.flatnonzero(np.asarray(labels)[0])
    logits = pretrainer(
        (tf.constant(inputs, tf.int32), tf.constant(positions[None], tf.int32)),
        training=False)
    probabilities = tf.nn.softmax(tf.cast(logits[0], tf.float32)).numpy()
    ids = np.argsort(-probabilities, axis=-1)[:, :top]
    return positions, ids, np.take_along_axis(probabilities, ids, axis=-1)


def copy_encoder(pretrainer: BertPretrainer, classifier: keras.Model) -> None:
    """Loads the pretrained encoder's weights into ``classifier.encoder`` (same sizes)."""
    ids = tf.zeros([1, pretrainer.sequence_length], tf.int32)
    classifier(ids)
    source, target = pretrainer.encoder.weights, classifier.encoder.weights
    if [tuple(w.shape) for w in source] != [tuple(w.shape) for w in target]:
        raise ValueError("the pretrained encoder and the classifier's encoder differ in size; "
                         "fine-tune with the pretraining run's settings")
    for s, t in zip(source, target, strict=True):
        t.assign(s)
