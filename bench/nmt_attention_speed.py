"""Speed of the NMT-with-attention tutorial: the tutorial-faithful way vs this project's.

Prints one JSON line per result:

* training: real (non-padding) target tokens per second and ms per step at the tutorial
  preset (units 256, vocabulary 5000, batch 64), for
  - ``faithful``: the tutorial's pipeline: raw strings tokenized batch by batch inside
    tf.data, random batches padded to their longest sentence, Keras's Adam, graph step
    without XLA, one step per call,
  - ``fast``: text tokenized once, batches grouped by (source, target) length, the fused
    Adam kernel, 20 steps per compiled call (the project's defaults),
  - ``fast_xla``: length buckets padded to their boundary, XLA-compiled step;
* translation: sentences per second at batch 64, eager decoding loop (the tutorial's
  ``translate``) vs the project's compiled loop that stops when every row has ended;
* SavedModel latency (batch 1 and 64): an export that always runs the maximum number of
  steps (what the tutorial's exported graph does) vs the project's.

Usage: python bench/nmt_attention_speed.py [--data spa.txt] [--run RUN_DIR] [--steps 200]
Without --data it uses the generated corpus (shorter sentences than the real file).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from common.data.batching import (  # noqa: E402
    Batching,
    encode_texts,
    make_dataset,
    make_text_dataset,
)
from common.data.corpus import corpus_of  # noqa: E402
from common.text import Vocabulary, build_vocabulary  # noqa: E402
from nmt_attention.config import Config  # noqa: E402
from nmt_attention.export import export  # noqa: E402
from nmt_attention.model import build_model  # noqa: E402
from nmt_attention.runs import load_translator  # noqa: E402
from nmt_attention.train import compile_model
from nmt_attention.translator import Translator  # noqa: E402


def emit(**record):
    print(json.dumps(record), flush=True)


def train_speed(config, data, vocabularies, variant, warmup, steps):
    """Times ``model.fit`` over a live pipeline, as training runs it."""
    spanish, english = data
    source_vocab, target_vocab = vocabularies
    pipeline = "faithful" if variant == "faithful" else "fast"
    jit = variant == "fast_xla"
    if variant == "faithful":
        config = config.replace(optimizer="adam", steps_per_execution=1)
    source = encode_texts(source_vocab, spanish, config.max_source_words)
    target = encode_texts(target_vocab, english, config.max_source_words)

    def dataset():  # a new object iterates in the same seeded order
        if pipeline == "faithful":
            return make_text_dataset(spanish, english, source_vocab, target_vocab,
                                     Batching(config.batch_size, seed=1),
                                     config.max_source_words)
        return make_dataset(source, target,
                            Batching(config.batch_size, pipeline, seed=1, fixed_shapes=jit))

    keras.utils.set_random_seed(0)
    model = build_model(config, source_vocab.size, target_vocab.size)
    compile_model(model, config.replace(jit_compile=jit, steps_per_epoch=steps))
    started = time.perf_counter()
    model.fit(dataset(), steps_per_epoch=warmup, epochs=1, verbose=0)
    warmup_s = time.perf_counter() - started
    marks = {}

    class Clock(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            marks["begin"] = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            marks["end"] = time.perf_counter()
            marks["loss"] = logs["loss"]

    model.fit(dataset(), steps_per_epoch=steps, epochs=1, verbose=0, callbacks=[Clock()])
    elapsed = marks["end"] - marks["begin"]
    real = padded = 0
    for _, y in dataset().take(steps):
        real += int(np.count_nonzero(y))
        padded += int(np.prod(y.shape))
    return {
        "real_target_tokens_per_s": round(real / elapsed, 1),
        "ms_per_step": round(1000 * elapsed / steps, 2),
        "padding_fraction": round(1 - real / padded, 3),
        "steps_per_execution": 1 if variant == "faithful" else config.steps_per_execution,
        "optimizer": config.optimizer,
        "warmup_s": round(warmup_s, 1),
        "final_loss": round(float(marks["loss"]), 3),
    }


def translate_speed(translator, model, sentences, vocab, eager):
    batches = [sentences[i : i + 64] for i in range(0, len(sentences), 64)]
    if eager:
        def run(batch):
            ids = vocab.encode(tf.constant(batch), translator.max_source_words).to_tensor()
            model.generate(ids, translator.max_output_tokens, stop_early=True)
    else:
        def run(batch):
            translator.translate(batch)
    run(batches[0])
    started = time.perf_counter()
    for batch in batches:
        run(batch)
    return round(len(sentences) / (time.perf_counter() - started), 1)


def saved_model_latency(translator, sentences, repeats):
    with tempfile.TemporaryDirectory() as folder:
        loaded = tf.saved_model.load(str(export(translator, folder)))
        serve = loaded.signatures["serving_default"]
        result = {}
        for batch in (1, 64):
            texts = tf.constant(sentences[:batch])
            serve(texts=texts)
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                serve(texts=texts)
                times.append(1000 * (time.perf_counter() - started))
            result[f"batch_{batch}_ms"] = round(statistics.median(times), 2)
        return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="English<TAB>Spanish file (default: generated)")
    parser.add_argument("--steps", type=int, default=200, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first")
    parser.add_argument("--sentences", type=int, default=512, help="sentences to translate")
    parser.add_argument("--run", help="a trained run folder for the translation figures "
                        "(default: untrained weights, which rarely stop early)")
    args = parser.parse_args()

    config = Config.tutorial()
    if args.data:
        config = config.replace(data=args.data)
    corpus = corpus_of(config)
    spanish, english = corpus.part("train")
    source_vocab = Vocabulary(build_vocabulary(spanish, config.vocabulary_size, "faithful"))
    target_vocab = Vocabulary(build_vocabulary(english, config.vocabulary_size, "faithful"))
    sizes = (source_vocab.size, target_vocab.size)
    common = {"data": corpus.report, "cpus": os.cpu_count(), "machine": platform.machine(),
              "tensorflow": tf.__version__, "keras": keras.__version__}

    results = {}
    for name in ["faithful", "fast", "fast_xla"]:
        results[name] = train_speed(config, (spanish, english), (source_vocab, target_vocab),
                                    name, args.warmup, args.steps)
        emit(bench="nmt_attention_train", variant=name, batch_size=config.batch_size,
             units=config.units, **results[name], **common)
    best = max(results, key=lambda k: results[k]["real_target_tokens_per_s"])
    emit(bench="nmt_attention_train_speedup", best=best,
         fast_over_faithful=round(results["fast"]["real_target_tokens_per_s"]
                                  / results["faithful"]["real_target_tokens_per_s"], 2),
         best_over_faithful=round(results[best]["real_target_tokens_per_s"]
                                  / results["faithful"]["real_target_tokens_per_s"], 2))

    test_es, _ = corpus.part("test")
    rng = np.random.default_rng(0)
    sentences = [test_es[i] for i in rng.choice(len(test_es), args.sentences, replace=False)]
    if args.run:
        fast = load_translator(args.run)
        source_vocab = fast.source_vocabulary
        fast.max_output_tokens = 50
    else:
        fast = Translator(build_model(config, *sizes), source_vocab, target_vocab,
                          config.max_source_words, 50)
    model = fast.model
    tutorial = Translator(model, fast.source_vocabulary, fast.target_vocabulary,
                          fast.max_source_words, 50, stop_early=False)
    trained = {"weights": args.run or "untrained"}
    emit(bench="nmt_attention_translate", batch_size=64, **trained,
         faithful_eager_sentences_per_s=translate_speed(fast, model, sentences[:128],
                                                        source_vocab, eager=True),
         fast_sentences_per_s=translate_speed(fast, model, sentences, source_vocab,
                                              eager=False))
    emit(bench="nmt_attention_saved_model", **trained,
         faithful=saved_model_latency(tutorial, sentences, 20),
         fast=saved_model_latency(fast, sentences, 20))


if __name__ == "__main__":
    main()
