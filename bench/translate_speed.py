"""Where the time of ``python -m TUTORIAL translate`` goes, on real lines.

Takes ``--lines`` Spanish sentences of a tab-separated pairs file (shuffled with
``--seed``), then for each run folder prints JSON lines:

* ``part`` ``command``: the whole ``translate`` command, the lines on standard input, one
  process (import, load, tracing, decoding, printing), as a user runs it;
* ``part`` ``breakdown``: the same lines in one process, timed in parts: importing the
  tutorial, loading the translator, the first batch (tracing the graph), the other batches
  (the decoding, side by side on the cores, with ``translate``'s thread settings), in
  ``translate``'s own order (sorted by length, batches of 64); and the
  decoder's work: row-steps computed against those used (the tokens written). Both
  translators' greedy loop drops a batch's finished rows once half of the rows it computes
  are done (``common.decoding.worth_dropping``): the count follows that rule from each
  row's length.

The tutorial is read from the run folder (a Transformer run has a tokenizer/). A Transformer
run written ``RUN:ctranslate2`` (or ``RUN:ctranslate2-int8``) is translated by its
CTranslate2 export (``translate --engine ctranslate2 [--compute-type int8]``; export it
first): its whole command is timed, and its parts are those of the CTranslate2 engine
(import, load, decoding). Runs alternate when ``--rounds`` is above 1; best and median per
run and part. Besides:

* ``--bleu N``: ``part`` ``bleu``, each run's greedy BLEU (sacrebleu) on N test pairs of its
  own split, spread over it (``common.data.corpus.Corpus.indices``), and for a CTranslate2
  run how many of those translations equal the TensorFlow model's, the real pairs' test
  split read by the TensorFlow-free text path (``common.wordpiece``) included;
* ``--latency``: ``part`` ``latency``, batch 1, 40 greedy tokens forced (no [END]) on a real
  source sentence: TensorFlow's cached decoding (``Transformer.generate``, one thread an op
  as ``translate`` runs) against CTranslate2's, milliseconds, median of 20 after a warm-up.

Usage: python bench/translate_speed.py --runs RUN [RUN:ctranslate2 ...] [--data PAIRS]
       [--lines 2000] [--rounds 3] [--bleu 2000] [--latency]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
BATCH = 64


def tutorial_of(run: Path) -> str:
    return "transformer" if (run / "tokenizer").is_dir() else "nmt_attention"


def engine_of(spec: str) -> tuple[Path, list[str]]:
    """``RUN`` or ``RUN:ctranslate2[-int8]`` -> the run and its ``translate`` options."""
    run, _, engine = spec.partition(":")
    if not engine:
        return Path(run), []
    if engine not in ("ctranslate2", "ctranslate2-int8"):
        raise SystemExit(f"unknown engine {engine!r}: ctranslate2 or ctranslate2-int8")
    options = ["--engine", "ctranslate2"]
    return Path(run), options + (["--compute-type", "int8"] if engine.endswith("int8") else [])


def sample_lines(data: Path, count: int, seed: int) -> list[str]:
    with open(data, encoding="utf-8") as f:
        lines = [line.split("\t")[1].strip() for line in f if "\t" in line]
    random.Random(seed).shuffle(lines)
    return lines[:count]


def whole_command(spec: str, lines: list[str]) -> dict:
    run, options = engine_of(spec)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", tutorial_of(run), "translate", "--run",
                           str(run), *options], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, cwd=ROOT, check=True)
    seconds = time.perf_counter() - start
    assert len(done.stdout.splitlines()) == len(lines), "one line out for each line in"
    return {"seconds": round(seconds, 2)}


def breakdown(spec: str, lines: list[str]) -> dict:
    """The parts, in a fresh process (imports are part of what is timed)."""
    run, options = engine_of(spec)
    if options:
        return _engine_breakdown(run, options, lines)
    code = f"""
import json, sys, time
start = time.perf_counter()
from {tutorial_of(run)}.runs import load_translator
from common.inputs import batches_side_by_side
from common.machine import settings_for_decoding
import numpy as np
imported = time.perf_counter()
settings_for_decoding()
translator = load_translator({str(run)!r})
loaded = time.perf_counter()
lines = json.load(sys.stdin)
lengths = translator.source_lengths(lines)

def computed(ids):  # rows x steps of the loop
    from common.decoding import worth_dropping  # the loop's rule
    steps = (ids > 0).sum(axis=1)  # each row's tokens, [END] included
    total = 0
    rows = len(steps)
    for step in range(ids.shape[1]):
        total += rows
        live = int((steps > step + 1).sum())
        if worth_dropping(live, rows):
            rows = live
    return total
order = sorted(range(len(lines)), key=lambda i: lengths[i])
first_rows, rest = order[:{BATCH}], order[{BATCH}:]
tick = time.perf_counter()
outputs = [translator.run([lines[i] for i in first_rows])["output_ids"]]
first = time.perf_counter() - tick
tick = time.perf_counter()
outputs += [ids for _, ids in batches_side_by_side(  # as translate decodes them
    [lines[i] for i in rest], [lengths[i] for i in rest], {BATCH},
    lambda batch: translator.run(batch)["output_ids"])]
others = time.perf_counter() - tick
print(json.dumps({{"import_s": round(imported - start, 2), "load_s": round(loaded - imported, 2),
                  "first_batch_s": round(first, 2), "other_batches_s": round(others, 2),
                  "batches": len(outputs),
                  "row_steps_computed": sum(computed(ids) for ids in outputs),
                  "row_steps_used": sum(int((ids > 0).sum()) for ids in outputs)}}))
"""
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(lines),
                          capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _engine_breakdown(run: Path, options: list[str], lines: list[str]) -> dict:
    compute_type = "int8" if "int8" in options else None
    code = f"""
import json, sys, time
start = time.perf_counter()
from transformer.ctranslate2_engine import CTranslate2Translator
from common.inputs import batches_side_by_side
imported = time.perf_counter()
translator = CTranslate2Translator({str(run)!r}, {compute_type!r})
loaded = time.perf_counter()
lines = json.load(sys.stdin)
lengths = translator.source_lengths(lines)
tick = time.perf_counter()
batches = list(batches_side_by_side(lines, lengths, {BATCH}, translator.run))
decoded = time.perf_counter() - tick
print(json.dumps({{"import_s": round(imported - start, 2), "load_s": round(loaded - imported, 2),
                  "other_batches_s": round(decoded, 2), "batches": len(batches),
                  "tensorflow_imported": "tensorflow" in sys.modules}}))
"""
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(lines),
                          capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bleu(spec: str, count: int) -> dict:
    """Greedy BLEU on ``count`` test pairs of the run's split; for CTranslate2, also how
    many translations equal the TensorFlow model's."""
    run, options = engine_of(spec)
    engine = "ctranslate2" if options else "tensorflow"
    compute_type = "int8" if "int8" in options else None
    code = f"""
import json
from common.data.corpus import corpus_of
from common.evaluation import bleu_scores, translate_all
from common.run_folder import RunFolder
from {tutorial_of(run)}.runs import load_run, load_translator
run = {str(run)!r}
config = load_run(run)[0]
spanish, english = corpus_of(config).part("test", {count})
tensorflow = translate_all(load_translator(run), spanish)
result = {{"sentences": len(spanish)}}
if {engine!r} == "ctranslate2":
    from transformer.ctranslate2_engine import CTranslate2Translator
    mine = translate_all(CTranslate2Translator(run, {compute_type!r}), spanish)
    result["same_as_tensorflow"] = sum(a == b for a, b in zip(mine, tensorflow))
else:
    mine = tensorflow
result.update(bleu_scores(mine, english))
print(json.dumps(result))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def latency(spec: str, lines: list[str], tokens: int = 40, repeats: int = 20) -> dict:
    """Batch 1, ``tokens`` greedy tokens forced: milliseconds, median of ``repeats``."""
    run, options = engine_of(spec)
    sentence = max(lines[:200], key=len)
    if options:
        compute_type = "int8" if "int8" in options else None
        code = f"""
import json, statistics, time
from transformer.ctranslate2_engine import CTranslate2Translator
t = CTranslate2Translator({str(run)!r}, {compute_type!r})
source = [t.source.encode({sentence!r}, t.source_limit)]
def once():
    start = time.perf_counter()
    out = t.model.translate_batch(source, beam_size=1, min_decoding_length={tokens},
                                  max_decoding_length={tokens})
    assert len(out[0].hypotheses[0]) == {tokens}
    return 1000 * (time.perf_counter() - start)
once()
print(json.dumps({{"ms": round(statistics.median(once() for _ in range({repeats})), 2)}}))
"""
    else:
        code = f"""
import json, statistics, time
from common.machine import settings_for_decoding
settings_for_decoding()
import tensorflow as tf
from transformer.runs import load_translator
t = load_translator({str(run)!r})
source = t.source_tokenizer.encode(tf.constant([{sentence!r}]), t.source_limit).to_tensor()
generate = tf.function(lambda s: t.model.generate(s, {tokens}, end_id=-1)[0])
def once():
    start = time.perf_counter()
    out = generate(source).numpy()
    assert out.shape == (1, {tokens}), out.shape
    return 1000 * (time.perf_counter() - start)
once()
print(json.dumps({{"ms": round(statistics.median(once() for _ in range({repeats})), 2)}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    return {"tokens": tokens, "batch": 1, **json.loads(done.stdout.strip().splitlines()[-1])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", required=True, metavar="RUN[:ENGINE]")
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared" / "data" / "spa-eng" / "spa_train.txt")
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--bleu", type=int, metavar="N", help="greedy BLEU on N test pairs")
    parser.add_argument("--latency", action="store_true",
                        help="batch-1 latency of 40 tokens (Transformer runs)")
    args = parser.parse_args(argv)
    lines = sample_lines(args.data, args.lines, args.seed)
    results: dict[tuple[str, str], list[dict]] = {}
    for round_ in range(args.rounds):
        runs = args.runs if round_ % 2 == 0 else list(reversed(args.runs))
        for run in runs:
            parts = [("command", whole_command), ("breakdown", breakdown)]
            if args.latency and tutorial_of(engine_of(run)[0]) == "transformer":
                parts.append(("latency", latency))
            for part, measure in parts:
                record = {"part": part, "run": run, "tutorial": tutorial_of(engine_of(run)[0]),
                          "round": round_, "lines": len(lines), **measure(run, lines)}
                print(json.dumps(record), flush=True)
                results.setdefault((run, part), []).append(record)
    for run in args.runs if args.bleu else ():
        print(json.dumps({"part": "bleu", "run": run, **bleu(run, args.bleu)}), flush=True)
    for (run, part), records in results.items():
        key = {"command": "seconds", "breakdown": "other_batches_s", "latency": "ms"}[part]
        values = [r[key] for r in records]
        print(json.dumps({"part": "summary", "run": run, "of": f"{part}.{key}",
                          "best": min(values), "median": statistics.median(values)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
