"""A Transformer text classifier: encoder, pooling ([CLS] or mean), one dense head."""

from __future__ import annotations

import keras
import tensorflow as tf

from classify.pooling import SequencePooling, check_pooling
from common.dropout import Dropout
from common.xla import traced_for_xla
from transformer.encoder import Encoder

__all__ = ["TextClassifier"]


@keras.saving.register_keras_serializable(package="classify")
class TextClassifier(keras.Model):
    """Token ids (``[CLS] w1 ... wn`` then padding) to class logits.

    The lecture's recipe: run the Transformer encoder, summarize its outputs as one vector,
    put one classifier layer on top. ``pooling="mean"`` averages the outputs of every real
    token ([CLS] included); ``pooling="cls"`` reads only the [CLS] token's output.

    With ``positional_encoding=False`` the encoder gets no position information: self-
    attention is then blind to order (permute the words and the pooled vector is the same),
    so the model is a bag-of-words model. The ``compare`` command shows what that costs on a
    task where order decides the label.

    Masking: id 0 is padding; it is never attended to and never averaged, so adding padding
    changes no logit.

    Args:
        vocabulary_size: number of token ids.
        num_classes: number of labels.
        sequence_length: longest input in tokens, [CLS] included.
        num_layers, hidden_dim, num_heads, intermediate_dim, dropout: the encoder's.
        pooling: ``"cls" | "mean"``.
        positional_encoding: add position information (True) or not (False).
        position_embedding: ``"sinusoidal"`` (fixed) or ``"learned"`` (BERT) when
            ``positional_encoding`` is True.
        separator_id: the [SEP] id: segment embeddings say which text of a pair a token is
            in (BERT's; ``transformer.encoder.segment_ids``); None: no segments.

    Call arguments:
        token_ids: (batch, length) int.

    Returns:
        (batch, num_classes) logits.

    Example:
        >>> model = TextClassifier(vocabulary_size=50, num_classes=2, sequence_length=8,
        ...                        num_layers=1, hidden_dim=8, num_heads=2,
        ...                        intermediate_dim=16, pooling="mean")
        >>> model(tf.constant([[2, 7, 9, 0]])).shape
        TensorShape([1, 2])

    Reference: Devlin et al. 2018 (BERT), 3; the Keras example "Text classification with
    Transformer" (mean pooling).
    """

    def __init__(self, vocabulary_size: int, num_classes: int, sequence_length: int,
                 num_layers: int = 2, hidden_dim: int = 64, num_heads: int = 4,
                 intermediate_dim: int = 128, dropout: float = 0.1, pooling: str = "cls",
                 positional_encoding: bool = True, position_embedding: str = "sinusoidal",
                 separator_id: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if position_embedding not in ("sinusoidal", "learned"):
            raise ValueError("position_embedding must be 'sinusoidal' or 'learned', received "
                             f"{position_embedding!r}")
        self.vocabulary_size = vocabulary_size
        self.num_classes = num_classes
        self.sequence_length = sequence_length
        self.num_layers = num_layers
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.intermediate_dim = intermediate_dim
        self.dropout = dropout
        self.pooling = check_pooling(pooling)
        self.positional_encoding = bool(positional_encoding)
        self.position_embedding = position_embedding
        self.separator_id = separator_id
        self.encoder = Encoder(
            num_layers, vocabulary_size, hidden_dim, num_heads, intermediate_dim, dropout,
            max_length=sequence_length,
            position_embedding=position_embedding if positional_encoding else "none",
            separator_id=separator_id, name="encoder")
        self.pool = SequencePooling(pooling, name="pooling")
        self.head_dropout = Dropout(dropout)
        self.head = keras.layers.Dense(num_classes, dtype="float32", name="head")  # float32 logits

    def build(self, token_ids_shape):
        if not self.encoder.built:  # it may have been called on its own first
            self.encoder.build(token_ids_shape)
        self.head.build((token_ids_shape[0], self.hidden_dim))
        self.built = True

    @traced_for_xla
    def call(self, token_ids, training=None, return_attention_scores=False):
        x, scores = self.encoder(token_ids, training=training, return_attention_scores=True)
        pooled = self.pool(x, padding_mask=tf.not_equal(token_ids, 0))  # (batch, hidden)
        logits = self.head(self.head_dropout(pooled, training=training))
        return (logits, scores) if return_attention_scores else logits

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, num_classes=self.num_classes,
                      sequence_length=self.sequence_length, num_layers=self.num_layers,
                      hidden_dim=self.hidden_dim, num_heads=self.num_heads,
                      intermediate_dim=self.intermediate_dim, dropout=self.dropout,
                      pooling=self.pooling, positional_encoding=self.positional_encoding,
                      position_embedding=self.position_embedding,
                      separator_id=self.separator_id)
        return config
