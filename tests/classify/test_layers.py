import keras
import numpy as np
import pytest
import tensorflow as tf

from classify.bert import BertPretrainer, MaskedLanguageModelHead, copy_encoder
from classify.pooling import SequencePooling
from classify.text_classifier import TextClassifier
from classify.vit import ClassToken, PatchEmbedding, VisionTransformer
from common.positional_encoding import PositionEmbedding
from tests.layer_contract import check_layer_contract
from transformer.encoder import Encoder, EncoderBlocks

SIZES = dict(num_layers=2, hidden_dim=16, num_heads=2, intermediate_dim=32, dropout=0.0)


def _ids():
    return tf.constant([[2, 5, 6, 7, 0, 0], [2, 9, 8, 0, 0, 0]], tf.int32)


def test_blocks_encoder_and_heads_contracts(tmp_path):
    check_layer_contract(lambda: EncoderBlocks(**SIZES, norm_first=True),
                         [tf.random.normal([2, 5, 16])], [(2, 5, 16)], tmp_path)
    check_layer_contract(lambda: Encoder(vocabulary_size=30, max_length=8, **SIZES), [_ids()],
                         [(2, 6, 16)], tmp_path)
    check_layer_contract(lambda: MaskedLanguageModelHead(30, 16),
                         [tf.random.normal([2, 5, 16])], [(2, 5, 30)], tmp_path)
    check_layer_contract(lambda: PatchEmbedding(2, 16), [tf.random.uniform([2, 8, 8, 1])],
                         [(2, 16, 16)], tmp_path)
    check_layer_contract(lambda: ClassToken(), [tf.random.normal([2, 4, 16])], [(2, 5, 16)],
                         tmp_path)
    pooling = SequencePooling("mean")  # no weights: config round trip only
    assert SequencePooling.from_config(pooling.get_config()).pooling == "mean"


@pytest.mark.parametrize("make,inputs", [
    (lambda: TextClassifier(30, 3, 8, pooling="mean", **SIZES), _ids),
    (lambda: TextClassifier(30, 3, 8, pooling="cls", positional_encoding=False, **SIZES),
     _ids),
    (lambda: BertPretrainer(30, 8, **SIZES), _ids),
    (lambda: VisionTransformer((8, 8), 1, 4, 10, **SIZES),
     lambda: tf.random.uniform([2, 8, 8, 1])),
])
def test_models_survive_config_and_keras_round_trips(make, inputs, tmp_path):
    model, x = make(), inputs()
    expected = model(x).numpy()
    clone = type(model).from_config(model.get_config())
    clone(x)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), expected, atol=1e-5)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(loaded(x).numpy(), expected, atol=1e-5)


def test_options_are_validated_with_the_value_named():
    with pytest.raises(ValueError, match="'max'"):
        SequencePooling("max")
    with pytest.raises(ValueError, match="'max'"):
        TextClassifier(30, 2, 8, pooling="max")
    with pytest.raises(ValueError, match="'rotary'"):
        PositionEmbedding(8, "rotary")
    with pytest.raises(ValueError, match="patch_size=3"):
        VisionTransformer((8, 8), 1, 3, 10)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_padding_changes_no_logit(pooling):
    model = TextClassifier(30, 3, 12, pooling=pooling, **SIZES)
    short = tf.constant([[2, 5, 6, 7]], tf.int32)
    padded = tf.constant([[2, 5, 6, 7, 0, 0, 0, 0, 0, 0]], tf.int32)
    np.testing.assert_allclose(model(short).numpy(), model(padded).numpy(), atol=1e-5)


def test_mean_pooling_skips_padding():
    x = tf.constant([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = tf.constant([[True, True, False]])
    np.testing.assert_allclose(SequencePooling("mean")(x, padding_mask=mask).numpy(),
                               [[2.0, 3.0]])


def test_cls_is_position_zero_and_what_the_head_reads():
    model = TextClassifier(30, 3, 8, pooling="cls", **SIZES)
    ids = _ids()
    hidden = model.encoder(ids)
    np.testing.assert_allclose(model(ids).numpy(), model.head(hidden[:, 0]).numpy(),
                               atol=1e-5)
    np.testing.assert_array_equal(SequencePooling("cls")(hidden).numpy(), hidden[:, 0])


def test_without_positions_the_model_is_a_bag_of_words():
    ids = tf.constant([[2, 5, 6, 7, 8]], tf.int32)
    shuffled = tf.constant([[2, 8, 6, 5, 7]], tf.int32)
    bag = TextClassifier(30, 2, 8, pooling="cls", positional_encoding=False, **SIZES)
    np.testing.assert_allclose(bag(ids).numpy(), bag(shuffled).numpy(), atol=1e-5)
    ordered = TextClassifier(30, 2, 8, pooling="cls", **SIZES)
    assert not np.allclose(ordered(ids).numpy(), ordered(shuffled).numpy(), atol=1e-4)


def test_pretrained_encoder_is_copied_into_the_classifier():
    pretrainer = BertPretrainer(30, 8, **SIZES)
    pretrainer(_ids())
    classifier = TextClassifier(30, 2, 8, position_embedding="learned", **SIZES)
    copy_encoder(pretrainer, classifier)
    np.testing.assert_allclose(classifier.encoder(_ids()).numpy(),
                               pretrainer.encoder(_ids()).numpy(), atol=1e-6)
    other = TextClassifier(30, 2, 8, position_embedding="learned", **{**SIZES,
                                                                        "hidden_dim": 8})
    with pytest.raises(ValueError, match="differ in size"):
        copy_encoder(pretrainer, other)
