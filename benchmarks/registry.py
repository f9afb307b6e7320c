"""The benchmark registry: each task with its fastdistill and baseline callables.

One table shared by the pytest-benchmark suite (``test_bench_*.py``) and by
``report.py``. A task knows how to make its data at two sizes: ``"full"`` (the
size the goals in the issues are stated for) and ``"smoke"`` (tiny, used when
the normal test run executes every benchmark once).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class Task:
    """One benchmark task: data, our callable, the baseline's, a quality figure."""

    name: str
    family: str
    shapes: dict[str, tuple]
    make_data: Callable[[tuple], dict]
    ours: Callable[[dict], Any]
    baseline: Callable[[dict], Any]
    baseline_name: str = "scikit-learn"
    quality: Callable[[dict, Any], dict] | None = None
    goal: str = ""
    warmup: Callable[[], Any] | None = None
    extra: dict = field(default_factory=dict)

    def label(self, size: str) -> str:
        return f"{self.name} {'x'.join(str(s) for s in self.shapes[size])}"


REGISTRY: dict[str, Task] = {}


def register(task: Task) -> Task:
    REGISTRY[task.name] = task
    return task


def tasks(family: str | None = None) -> list[Task]:
    return [t for t in REGISTRY.values() if family is None or t.family == family]


# ---------------------------------------------------------------- linear

def _regression_data(shape):
    n, d, k = shape
    rng = np.random.default_rng(0)
    X = np.empty((n, d))
    coef = rng.normal(size=(d, k))
    for start in range(0, n, 1 << 16):  # in chunks: no temporary larger than X
        X[start:start + (1 << 16)] = rng.standard_normal((min(1 << 16, n - start), d))
    Y = X @ coef + rng.standard_normal((n, k))
    return {"X": X, "y": Y[:, 0] if k == 1 else Y}


def _r2(data, model):
    return {"r2": float(model.score(data["X"], data["y"]))}


def _fd_linear():
    from fastdistill.linear_model import LinearRegression

    return LinearRegression


def _sk_linear():
    from sklearn.linear_model import LinearRegression

    return LinearRegression


register(Task(
    name="LinearRegression fit, 4 outputs",
    family="linear",
    shapes={"full": (1_000_000, 64, 4), "smoke": (2_000, 8, 4)},
    make_data=_regression_data,
    ours=lambda d: _fd_linear()().fit(d["X"], d["y"]),
    baseline=lambda d: _sk_linear()().fit(d["X"], d["y"]),
    quality=_r2,
    goal=">= 15x faster, peak extra memory < 10% of X",
))


def _sgd_one_epoch(cls, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch never "converges"
        return cls(max_iter=1, tol=None, random_state=0).fit(data["X"], data["y"])


def _fd_sgd():
    from fastdistill.linear_model import SGDRegressor

    return SGDRegressor


def _sk_sgd():
    from sklearn.linear_model import SGDRegressor

    return SGDRegressor


register(Task(
    name="SGDRegressor one epoch",
    family="linear",
    shapes={"full": (1_000_000, 64, 1), "smoke": (2_000, 8, 1)},
    make_data=_regression_data,
    ours=lambda d: _sgd_one_epoch(_fd_sgd(), d),
    baseline=lambda d: _sgd_one_epoch(_sk_sgd(), d),
    quality=_r2,
    goal=">= 5x faster",
))


def _sk_sgd_per_output(data):
    return [_sgd_one_epoch(_sk_sgd(), {"X": data["X"], "y": data["y"][:, c]})
            for c in range(data["y"].shape[1])]


register(Task(
    name="SGDRegressor one epoch, 4 outputs",
    family="linear",
    shapes={"full": (1_000_000, 64, 4), "smoke": (2_000, 8, 4)},
    make_data=_regression_data,
    ours=lambda d: _sgd_one_epoch(_fd_sgd(), d),
    baseline=_sk_sgd_per_output,
    baseline_name="scikit-learn, one model per output",
    goal="< 2x fastdistill's single-output time",
))
