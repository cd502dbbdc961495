import keras
import numpy as np
import pytest
import tensorflow as tf

from classify.bert import BertPretrainer, MaskedLanguageModelHead, copy_encoder
from classify.pooling import SequencePooling
from classify.text_classifier import TextClassifier
from classify.vit import ClassToken, PatchEmbedding, VisionTransformer, shuffled_patches
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
    (lambda: BertPretrainer(30, 8, separator_id=4, **SIZES),
     lambda: tf.constant([[2, 5, 4, 7, 4, 0]], tf.int32)),
    (lambda: TextClassifier(30, 2, 8, position_embedding="learned", separator_id=4, **SIZES),
     lambda: tf.constant([[2, 5, 4, 7, 4, 0]], tf.int32)),
    (lambda: VisionTransformer((8, 8), 1, 4, 10, **SIZES),
     lambda: tf.random.uniform([2, 8, 8, 1])),
    (lambda: VisionTransformer((8, 8), 1, 2, 10, pooling="mean", position_embedding="none",
                               **SIZES), lambda: tf.random.uniform([2, 8, 8, 1])),
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


def test_segments_are_counted_from_sep_and_embedded():
    from transformer.encoder import segment_ids

    #              [CLS] the dog [SEP] a  dog [SEP] pad
    ids = tf.constant([[2, 7, 8, 4, 9, 8, 4, 0]], tf.int32)
    by_hand = [0, 0, 0, 0, 1, 1, 1, 0]  # A to the first [SEP], then B
    np.testing.assert_array_equal(segment_ids(ids, 4).numpy(), [by_hand])
    model = TextClassifier(30, 2, 8, position_embedding="learned", separator_id=4, **SIZES)
    model(ids)
    encoder = model.encoder
    table = encoder.segment_embedding.embeddings.numpy()
    x = encoder.embedding(ids).numpy() + table[by_hand]  # token and position, + A or B
    for layer in encoder.encoder_layers:
        x = layer(x, padding_mask=tf.not_equal(ids, 0))
    np.testing.assert_allclose(encoder(ids).numpy(), x.numpy(), atol=1e-5)
    # the same words with the segments swapped are another input
    swapped = TextClassifier.from_config(model.get_config())
    swapped(ids)
    swapped.set_weights(model.get_weights())
    swapped.encoder.segment_embedding.embeddings.assign(table[::-1].copy())
    assert not np.allclose(model(ids).numpy(), swapped(ids).numpy(), atol=1e-4)


def test_vit_patches_by_hand_equal_the_layer():
    rng = np.random.default_rng(0)
    images = rng.random([2, 8, 8, 1]).astype(np.float32)
    layer = PatchEmbedding(2, 6)
    layer.build(images.shape)
    kernel, bias = [w.numpy() for w in layer.projection.weights]
    expected = np.stack([[images[n, r:r + 2, c:c + 2, :].reshape(-1) @ kernel + bias
                          for r in range(0, 8, 2) for c in range(0, 8, 2)] for n in range(2)])
    np.testing.assert_allclose(layer(images).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_vit_without_positions_sees_a_set_of_patches(pooling):
    images = np.random.default_rng(1).random([2, 8, 8, 1]).astype(np.float32)
    shuffled = shuffled_patches(images, 2, seed=2)
    assert not np.allclose(images, shuffled)
    # the same patches: each of the shuffled image's 2x2 squares is one of the image's
    squares = [{images[n, r:r + 2, c:c + 2].tobytes() for r in range(0, 8, 2)
                for c in range(0, 8, 2)} for n in range(2)]
    assert all(shuffled[n, r:r + 2, c:c + 2].tobytes() in squares[n]
               for n in range(2) for r in range(0, 8, 2) for c in range(0, 8, 2))
    sizes = dict(num_layers=1, hidden_dim=16, num_heads=2, intermediate_dim=32, dropout=0.0)
    a_set = VisionTransformer((8, 8), 1, 2, 10, pooling=pooling, position_embedding="none",
                              **sizes)
    np.testing.assert_allclose(a_set(images).numpy(), a_set(shuffled).numpy(), atol=1e-5)
    placed = VisionTransformer((8, 8), 1, 2, 10, pooling=pooling, **sizes)
    placed(images)
    placed.positions.weights[0].assign(np.random.default_rng(3).normal(
        size=placed.positions.weights[0].shape))  # learned rows, as after training
    assert not np.allclose(placed(images).numpy(), placed(shuffled).numpy(), atol=1e-4)
