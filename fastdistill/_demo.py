"""The ``fastdistill demo`` job: what the library does, on built-in data."""

from __future__ import annotations

import time
from typing import Callable, TextIO

import numpy as np

from ._table import format_table
from .datasets import make_linear_regression, make_seed_regression

__all__ = ["run_demo"]


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _sklearn_linear():
    try:
        from sklearn import linear_model
    except ImportError:
        return None
    return linear_model


def run_demo(out: TextIO, *, n_large: int = 200_000) -> int:
    """Run the demo and print what it did.

    Parameters
    ----------
    out : file-like
        Where to write.
    n_large : int, default=200_000
        Rows of the larger timing problem.

    Returns
    -------
    status : int
        0 on success.
    """
    from . import linear_model as fd

    sk = _sklearn_linear()
    say = lambda *a: print(*a, file=out, flush=True)  # noqa: E731

    say("fastdistill demo - linear students")
    say("")
    say("[1/2] Seed example: y = 1.5*x0 - 0.5*x1 + noise, 100 training points")
    X, y = make_seed_regression(200, noise=0.1, random_state=0)
    Xtr, ytr, Xte, yte = X[:100], y[:100], X[100:], y[100:]
    rows = []
    models = [
        ("LinearRegression", fd.LinearRegression, {}),
        ("Ridge(alpha=1)", fd.Ridge, {"alpha": 1.0}),
        ("SGDRegressor", fd.SGDRegressor, {"random_state": 0}),
    ]
    for name, cls, kw in models:
        say(f"  fitting {name} (first call compiles its kernel, then it is cached) ...")
        cls(**kw).fit(Xtr, ytr)  # warm-up: compile or load from the cache
        model, t = _timed(lambda: cls(**kw).fit(Xtr, ytr))
        mse = float(np.mean((model.predict(Xte) - yte) ** 2))
        row = [name, np.array2string(np.ravel(model.coef_), precision=3), mse, t * 1e3]
        if sk is not None:
            skm, tsk = _timed(lambda: getattr(sk, cls.__name__)(**kw).fit(Xtr, ytr))
            row += [float(np.mean((skm.predict(Xte) - yte) ** 2)), tsk * 1e3]
        rows.append(row)
    headers = ["model", "coef", "test MSE", "fit ms"]
    if sk is not None:
        headers += ["sklearn MSE", "sklearn fit ms"]
    say(format_table(headers, rows))
    say("")
    say(f"[2/2] Closed-form fit on {n_large:,} x 32 with 4 outputs (one compiled pass, no copy of X)")
    Xl, yl, _ = make_linear_regression(n_large, 32, 4, random_state=1)
    fd.LinearRegression().fit(Xl[:1000], yl[:1000])
    model, t = _timed(lambda: fd.LinearRegression().fit(Xl, yl))
    rows = [["fastdistill", t * 1e3, model.score(Xl, yl)]]
    if sk is not None:
        skm, tsk = _timed(lambda: sk.LinearRegression().fit(Xl, yl))
        rows.append(["scikit-learn", tsk * 1e3, skm.score(Xl, yl)])
        rows[0].append(f"{tsk / t:.1f}x faster")
        rows[1].append("")
    headers = ["LinearRegression", "fit ms", "R2"] + (["speed-up"] if sk is not None else [])
    say(format_table(headers, rows))
    if sk is None:
        say("(install scikit-learn to see it side by side)")
    say("")
    say("Done.")
    return 0
