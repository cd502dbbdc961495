import keras
import numpy as np
import tensorflow as tf

from common.data.batching import (
    Batching,
    encode_texts,
    length_grouped_batches,
    make_dataset,
    make_text_dataset,
)
from common.text import Vocabulary, build_vocabulary
from nmt_attention.optimizer import FusedAdam


def test_length_grouped_batches_use_every_sentence_once_and_barely_pad():
    rng = np.random.default_rng(0)
    source = rng.integers(3, 20, size=5000)  # translations have similar lengths
    target = source + rng.integers(-1, 2, size=5000)
    batches = length_grouped_batches(source, target, 32, np.random.default_rng(1))
    together = np.concatenate(batches)
    assert sorted(together.tolist()) == list(range(5000))
    assert all(len(b) <= 32 for b in batches)
    padded = sum(len(b) * target[b].max() for b in batches)
    assert 1 - target.sum() / padded < 0.02
    again = length_grouped_batches(source, target, 32, np.random.default_rng(1))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))


def _pairs():
    spanish = ["el gato duerme .", "el perro come pan en la casa .", "hola .", "sí ."] * 8
    english = ["the cat sleeps .", "the dog eats bread in the house .", "hi .", "yes ."] * 8
    vocab_es = Vocabulary(build_vocabulary(spanish, 50))
    vocab_en = Vocabulary(build_vocabulary(english, 50))
    return spanish, english, vocab_es, vocab_en


def test_every_pipeline_gives_shifted_targets_and_the_same_tokens():
    spanish, english, vocab_es, vocab_en = _pairs()
    source = encode_texts(vocab_es, spanish)
    target = encode_texts(vocab_en, english)
    expected = sorted(row for row in target.to_list())
    datasets = {
        "fast": make_dataset(source, target, Batching(8, "fast", repeat=False)),
        "faithful": make_dataset(source, target, Batching(8, "faithful", repeat=False)),
        "text": make_text_dataset(spanish, english, vocab_es, vocab_en,
                                  Batching(8, repeat=False)),
    }
    for name, ds in datasets.items():
        rows = []
        for (src, target_in), target_out in ds:
            assert src.dtype == tf.int64 and target_in.shape == target_out.shape, name
            for t_in, t_out in zip(target_in.numpy(), target_out.numpy(), strict=True):
                read = [x for x in t_in if x]
                predict = [x for x in t_out if x]
                # The decoder reads [START] w1..wn and predicts w1..wn [END]; a padded row
                # may also read its [END], whose prediction is padding and not scored.
                assert read[0] == 2 and read[1:] in (predict[:-1], predict), name
                rows.append([read[0]] + predict)
        assert sorted(rows) == expected, name


def test_fused_adam_matches_keras_adam():
    rng = np.random.default_rng(0)
    start = rng.normal(size=(20, 7)).astype("float32")
    gradients = [rng.normal(size=(20, 7)).astype("float32") * s for s in (1.0, 1e-3, 10.0)]
    results = []
    for optimizer in (keras.optimizers.Adam(1e-2), FusedAdam(1e-2)):
        variable = keras.Variable(start)
        for gradient in gradients:
            optimizer.apply_gradients([(tf.constant(gradient), variable)])
        results.append(variable.numpy())
    np.testing.assert_allclose(results[0], results[1], atol=1e-6)
    assert FusedAdam.from_config(FusedAdam(3e-3).get_config()).learning_rate == 3e-3
