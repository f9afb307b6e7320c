"""Print the benchmark table: task, fastdistill time, baseline time, ratio, memory, GFLOP/s.

Usage::

    python benchmarks/report.py                 # every task, full size
    python benchmarks/report.py --family linear --repeat 5
    python benchmarks/report.py --size smoke    # quick check of the script

Times are medians over ``--repeat`` runs after one untimed full-size warm-up
call (the JIT is warmed before on small data; the garbage collector is off
during each timed call, as in :mod:`timeit`). Peak extra
memory is measured in a fresh process per (task, implementation): resident
memory sampled every millisecond while the call runs, minus the memory held
before it (the data). GFLOP/s (fastdistill's time) is printed for the tasks
whose registry entry counts their floating-point operations (``Task.flops``).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from registry import REGISTRY, tasks  # noqa: E402

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE


def _median_time(fn, data, repeat: int) -> float:
    """Median wall time of ``fn(data)``, timed as :mod:`timeit` does.

    One full collection first, then the garbage collector is off during each
    timed call (on between calls). The previous scheme, a full collection
    before *every* call, walks every Python object of the process (far more
    once scikit-learn and pandas are imported) right before the timer
    starts, and slowed the following call (most likely by evicting the data
    from the caches): 10 k-means iterations at k = 16 took 44 ms after
    ``import sklearn`` without those collections, 56 ms with them, and 44
    ms with them when scikit-learn was not imported. Both sides of every
    task are timed the same way.
    """
    times = []
    gc.collect()
    for _ in range(repeat + 1):
        enabled = gc.isenabled()
        gc.disable()
        try:
            t0 = time.perf_counter()
            fn(data)
            times.append(time.perf_counter() - t0)
        finally:
            if enabled:
                gc.enable()
        if times[0] > 20.0:  # very slow baselines: one run is enough
            return times[0]
    # The first full-size call is a warm-up (buffers, page mappings, thread
    # pools at this size): not counted.
    return float(np.median(times[1:]))


def memory_probe(task_name: str, impl: str, size: str) -> float:
    """Peak extra resident memory (bytes) of one call, in this process."""
    task = REGISTRY[task_name]
    data = task.make_data(task.shapes[size])
    fn = task.ours if impl == "fastdistill" else task.baseline
    fn(task.make_data(task.shapes["smoke"]))  # warm up (JIT, imports)
    gc.collect()
    base = _rss()
    max_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.001)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    fn(data)
    stop.set()
    th.join()
    peak[0] = max(peak[0], _rss())
    max_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return float(max(peak[0] - base, max_after - max_before, 0))


def _probe_subprocess(task_name: str, impl: str, size: str) -> float | None:
    cmd = [sys.executable, __file__, "--memory-probe", task_name, impl, size]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return None
    return float(proc.stdout.strip().splitlines()[-1])


def _nbytes(data: dict) -> int:
    return int(sum(v.nbytes for v in data.values() if isinstance(v, np.ndarray)))


def run(family: str | None, size: str, repeat: int, memory: bool,
        task_filter: str | None = None) -> list[dict]:
    rows = []
    for task in tasks(family):
        if task_filter is not None and task_filter.lower() not in task.name.lower():
            continue
        print(f"... {task.label(size)}", file=sys.stderr, flush=True)
        smoke = task.make_data(task.shapes["smoke"])
        task.ours(smoke)  # warm up: JIT compile or cache load
        task.baseline(smoke)  # warm up: imports
        data = task.make_data(task.shapes[size])
        t_ours = _median_time(task.ours, data, repeat)
        t_base = _median_time(task.baseline, data, repeat)
        row = {
            "task": task.label(size),
            "fastdistill_s": t_ours,
            "baseline_s": t_base,
            "baseline": task.baseline_name,
            "speedup": t_base / t_ours,
            "goal": task.goal,
            "X_MB": data["X"].nbytes / 1e6 if "X" in data else _nbytes(data) / 1e6,
        }
        if task.flops is not None:
            row["fastdistill_gflops"] = task.flops(task.shapes[size]) / t_ours / 1e9
        if task.quality is not None:
            row["quality_fastdistill"] = task.quality(data, task.ours(data))
            row["quality_baseline"] = task.quality(data, task.baseline(data))
        del data
        gc.collect()
        if memory:
            row["fastdistill_extra_MB"] = (_probe_subprocess(task.name, "fastdistill", size) or 0) / 1e6
            row["baseline_extra_MB"] = (_probe_subprocess(task.name, "baseline", size) or 0) / 1e6
        rows.append(row)
    return rows


def format_rows(rows: list[dict]) -> str:
    from fastdistill._table import format_table

    headers = ["task", "fastdistill", "baseline", "speed-up", "GFLOP/s (fd)",
               "extra MB (fd / base)", "goal"]
    body = []
    for r in rows:
        mem = ""
        if "fastdistill_extra_MB" in r:
            mem = f"{r['fastdistill_extra_MB']:.1f} / {r['baseline_extra_MB']:.1f}"
        body.append([
            r["task"], f"{r['fastdistill_s'] * 1e3:.1f} ms",
            f"{r['baseline_s'] * 1e3:.1f} ms", f"{r['speedup']:.1f}x",
            f"{r['fastdistill_gflops']:.1f}" if "fastdistill_gflops" in r else "", mem, r["goal"],
        ])
    return format_table(headers, body)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", default=None)
    parser.add_argument("--task", default=None, help="only tasks whose name contains this")
    parser.add_argument("--size", default="full", choices=["full", "smoke"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument("--memory-probe", nargs=3, metavar=("TASK", "IMPL", "SIZE"))
    args = parser.parse_args(argv)
    if args.memory_probe:
        print(memory_probe(*args.memory_probe))
        return 0
    rows = run(args.family, args.size, args.repeat, not args.no_memory, args.task)
    print(format_rows(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
