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
import warnings
warnings.simplefilter("ignore")  # e.g. the MLPs' ConvergenceWarning at max_iter
t0 = time.perf_counter()
import fastdistill
t_import = time.perf_counter() - t0
import numpy as np
from fastdistill.{module} import {cls}
X = np.random.default_rng(0).normal(size=(200, 5)); y = {target}
t1 = time.perf_counter()
{cls}({kw}).fit(X, y).predict(X)
t_first = time.perf_counter() - t1
t2 = time.perf_counter()
{cls}({kw}).fit(X, y).predict(X)
t_second = time.perf_counter() - t2
print(t_import, t_first, t_second)
"""

_MLP = "hidden_layer_sizes=(10,), max_iter=50, random_state=0"
# (module, estimator, constructor arguments, target expression over X)
CASES = [
    ("linear_model", "LinearRegression", "", "X.sum(1)"),
    ("linear_model", "Ridge", "", "X.sum(1)"),
    ("linear_model", "SGDRegressor", "max_iter=5, tol=None", "X.sum(1)"),
    ("neural_network", "MLPRegressor", _MLP, "X.sum(1)"),
    ("neural_network", "MLPClassifier", _MLP, "X.sum(1) > 0"),
]


def measure(module: str, cls: str, kw: str, target: str,
            cache_dir: str) -> tuple[float, float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONWARNINGS="ignore")
    code = SNIPPET.format(module=module, cls=cls, kw=kw, target=target)
    t0 = __import__("time").perf_counter()
    out = subprocess.run([sys.executable, "-c", code],
                         capture_output=True, text=True, env=env, check=True)
    wall = __import__("time").perf_counter() - t0
    t_import, t_first, t_second = map(float, out.stdout.split())
    return t_import, t_first, wall


def main() -> int:
    from fastdistill._table import format_table

    rows = []
    for module, cls, kw, target in CASES:
        with tempfile.TemporaryDirectory() as cache:
            cold = measure(module, cls, kw, target, cache)
            warm = measure(module, cls, kw, target, cache)
        rows.append([cls, f"{cold[0] * 1e3:.0f} ms", f"{cold[1]:.2f} s", f"{warm[1] * 1e3:.0f} ms",
                     f"{cold[2]:.2f} s", f"{warm[2]:.2f} s"])
    print(format_table(["estimator", "import", "first fit, cold cache",
                        "first fit, warm cache", "process, cold", "process, warm"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
