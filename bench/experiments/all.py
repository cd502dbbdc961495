"""Every lecture-claim experiment in turn, with the same options (one TensorFlow start).

    python bench/experiments/all.py --quick          # seconds each, generated data
    python bench/experiments/all.py --data PAIRS     # the full settings

``--data`` is also ``pooling_length.py``'s ``--filler``; the other options go to every
experiment.
"""

from __future__ import annotations

import argparse
import sys

import forgetting
import heads
import pooling_length
import positions
import why_attention


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], add_help=False)
    parser.add_argument("--data", metavar="PATH")
    known, rest = parser.parse_known_args(argv)
    shared = [*rest, *(["--data", known.data] if known.data else [])]
    for experiment in (why_attention, forgetting, positions, heads):
        if experiment.main(shared):
            return 1
    return pooling_length.main([*rest, *(["--filler", known.data] if known.data else [])])


if __name__ == "__main__":
    raise SystemExit(main())
