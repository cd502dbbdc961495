"""Every lecture-claim experiment in turn, with the same options (one TensorFlow start).

    python bench/experiments/all.py --quick                 # seconds each, generated data
    python bench/experiments/all.py --data PAIRS --sst2 TSV # the full settings

``--sst2`` is the labeled TSV of ``pooling_length.py`` (its ``--data``); its filler is
``--data``'s English side. The other options go to every experiment.
"""

from __future__ import annotations

import argparse
import sys

import heads
import pooling_length
import positions
import why_attention


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], add_help=False)
    parser.add_argument("--sst2", metavar="TSV")
    parser.add_argument("--data", metavar="PATH")
    known, rest = parser.parse_known_args(argv)
    shared = [*rest, *(["--data", known.data] if known.data else [])]
    for experiment in (why_attention, positions, heads):
        if experiment.main(shared):
            return 1
    pooling = [*rest]
    if known.sst2:
        pooling += ["--data", known.sst2, "--filler", known.data]
    return pooling_length.main(pooling)


if __name__ == "__main__":
    raise SystemExit(main())
