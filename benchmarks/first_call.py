"""First-call latency in a fresh process, with a cold and a warm Numba cache.

Usage::

    python benchmarks/first_call.py

Each measurement is a new Python process with ``NUMBA_CACHE_DIR`` pointing at
a temporary folder: empty for "cold", filled by the previous run for "warm".
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

SNIPPET = r"""
import time
t0 = time.perf_counter()
import fastdistill
t_import = time.perf_counter() - t0
import numpy as np
from fastdistill.linear_model import {cls}
X = np.random.default_rng(0).normal(size=(200, 5)); y = X.sum(1)
t1 = time.perf_counter()
{cls}({kw}).fit(X, y).predict(X)
t_first = time.perf_counter() - t1
t2 = time.perf_counter()
{cls}({kw}).fit(X, y).predict(X)
t_second = time.perf_counter() - t2
print(t_import, t_first, t_second)
"""

CASES = [("LinearRegression", ""), ("Ridge", ""), ("SGDRegressor", "max_iter=5, tol=None")]


def measure(cls: str, kw: str, cache_dir: str) -> tuple[float, float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONWARNINGS="ignore")
    t0 = __import__("time").perf_counter()
    out = subprocess.run([sys.executable, "-c", SNIPPET.format(cls=cls, kw=kw)],
                         capture_output=True, text=True, env=env, check=True)
    wall = __import__("time").perf_counter() - t0
    t_import, t_first, t_second = map(float, out.stdout.split())
    return t_import, t_first, wall


def main() -> int:
    from fastdistill._table import format_table

    rows = []
    for cls, kw in CASES:
        with tempfile.TemporaryDirectory() as cache:
            cold = measure(cls, kw, cache)
            warm = measure(cls, kw, cache)
        rows.append([cls, f"{cold[0] * 1e3:.0f} ms", f"{cold[1]:.2f} s", f"{warm[1] * 1e3:.0f} ms",
                     f"{cold[2]:.2f} s", f"{warm[2]:.2f} s"])
    print(format_table(["estimator", "import", "first fit, cold cache",
                        "first fit, warm cache", "process, cold", "process, warm"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
