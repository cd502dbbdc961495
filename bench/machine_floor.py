"""Is the machine itself pausing? A probe that is not TensorFlow.

One process a core runs the same small piece of work (a 96x96 float64 matmul in numpy, one
thread) over and over for ``--seconds``, timing each. On a machine that gives each core all
its time, every piece takes about the same; a host that takes the cores away now and then
(a CPU quota, a noisy neighbour) shows as pieces that take many times longer. Prints one
JSON line a process (median and 99th percentile of a piece, the share of time lost to
pieces over 5x the median, the longest stall) and one for the whole machine from
/proc/stat over the same window (user, system, idle, steal shares).

    python bench/machine_floor.py [--seconds 20] [--processes 2]
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")

import multiprocessing  # noqa: E402
import time  # noqa: E402


def _cpu_times() -> list[int]:
    with open("/proc/stat") as stat:
        return [int(v) for v in stat.readline().split()[1:9]]


def probe(seconds: float, queue) -> None:
    import numpy as np

    a = np.random.default_rng(0).random((96, 96))
    durations = []
    end = time.perf_counter() + seconds
    while (now := time.perf_counter()) < end:
        a @ a
        durations.append(time.perf_counter() - now)
    durations.sort()
    median = durations[len(durations) // 2]
    slow = [d for d in durations if d > 5 * median]
    queue.put({"pieces": len(durations), "median_us": round(1e6 * median, 1),
               "p99_us": round(1e6 * durations[int(0.99 * len(durations))], 1),
               "share_lost_in_stalls": round((sum(slow) - len(slow) * median) / seconds, 4),
               "stalls_over_5x": len(slow), "longest_stall_ms": round(1e3 * durations[-1], 2)})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)
    queue = multiprocessing.Queue()
    before = _cpu_times()
    workers = [multiprocessing.Process(target=probe, args=(args.seconds, queue))
               for _ in range(args.processes)]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    delta = [b - a for a, b in zip(before, _cpu_times(), strict=True)]
    total = sum(delta) or 1
    for index, result in enumerate(results):
        print(json.dumps({"bench": "machine_floor", "process": index, **result}))
    user, nice, system, idle, iowait, irq, softirq, steal = delta
    print(json.dumps({"bench": "machine_floor_cpu", "seconds": args.seconds,
                      "user": round((user + nice) / total, 3),
                      "system": round((system + irq + softirq) / total, 3),
                      "idle": round((idle + iowait) / total, 3),
                      "steal": round(steal / total, 3)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
