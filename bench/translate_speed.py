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

The tutorial is read from the run folder (a Transformer run has a tokenizer/). Runs
alternate when ``--rounds`` is above 1; best and median per run and part.

Usage: python bench/translate_speed.py --runs RUN [RUN ...] [--data PAIRS] [--lines 2000]
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


def sample_lines(data: Path, count: int, seed: int) -> list[str]:
    with open(data, encoding="utf-8") as f:
        lines = [line.split("\t")[1].strip() for line in f if "\t" in line]
    random.Random(seed).shuffle(lines)
    return lines[:count]


def whole_command(run: Path, lines: list[str]) -> dict:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", tutorial_of(run), "translate", "--run",
                           str(run)], input="\n".join(lines) + "\n", capture_output=True,
                          text=True, cwd=ROOT, check=True)
    seconds = time.perf_counter() - start
    assert len(done.stdout.splitlines()) == len(lines), "one line out for each line in"
    return {"seconds": round(seconds, 2)}


def breakdown(run: Path, lines: list[str]) -> dict:
    """The parts, in a fresh process (imports are part of what is timed)."""
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", required=True, type=Path, metavar="RUN")
    parser.add_argument("--data", type=Path,
                        default=ROOT.parent / "shared" / "data" / "spa-eng" / "spa_train.txt")
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    lines = sample_lines(args.data, args.lines, args.seed)
    results: dict[tuple[str, str], list[dict]] = {}
    for round_ in range(args.rounds):
        runs = args.runs if round_ % 2 == 0 else list(reversed(args.runs))
        for run in runs:
            for part, measure in (("command", whole_command), ("breakdown", breakdown)):
                record = {"part": part, "run": str(run), "tutorial": tutorial_of(run),
                          "round": round_, "lines": len(lines), **measure(run, lines)}
                print(json.dumps(record), flush=True)
                results.setdefault((str(run), part), []).append(record)
    for (run, part), records in results.items():
        key = "seconds" if part == "command" else "other_batches_s"
        values = [r[key] for r in records]
        print(json.dumps({"part": "summary", "run": run, "of": f"{part}.{key}",
                          "best": min(values), "median": statistics.median(values)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
