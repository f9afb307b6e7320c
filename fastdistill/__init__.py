"""fastdistill: fast model distillation with unsupervised learning.

Compiled (Numba) kernels behind scikit-learn-compatible estimators. Importing
the package is cheap: submodules (and Numba) load on first use, and kernels
compile on their first call, with the result cached on disk.

Examples
--------
>>> import fastdistill
>>> from fastdistill import LinearRegression
>>> LinearRegression()
LinearRegression()
"""

from __future__ import annotations

import importlib
from typing import Any

from ._threads import get_num_threads, num_threads, set_num_threads

__version__ = "0.1.0"

_LAZY = {
    "LinearRegression": "fastdistill.linear_model",
    "Ridge": "fastdistill.linear_model",
    "SGDRegressor": "fastdistill.linear_model",
    "KMeans": "fastdistill.cluster",
    "PCA": "fastdistill.decomposition",
    "MLPRegressor": "fastdistill.neural_network",
    "MLPClassifier": "fastdistill.neural_network",
    "Distiller": "fastdistill.distill",
    "SOM": "fastdistill.som",
    "KMeansFeatures": "fastdistill.distill",
    "SOMFeatures": "fastdistill.distill",
    "PCAFeatures": "fastdistill.distill",
    "TeacherMetric": "fastdistill.distill",
    "LocalLinearRegressor": "fastdistill.distill",
    "LocalLinearClassifier": "fastdistill.distill",
    "DistillReport": "fastdistill.distill",
    "MUNGE": "fastdistill.distill",
    "GaussianClusters": "fastdistill.distill",
    "KMeansSelection": "fastdistill.distill",
    "RandomSelection": "fastdistill.distill",
    "NotFittedError": "fastdistill.exceptions",
    "ConvergenceWarning": "fastdistill.exceptions",
    "load": "fastdistill._persist",
    "patch_sklearn": "fastdistill.patch",
    "unpatch_sklearn": "fastdistill.patch",
}
_SUBMODULES = {
    "linear_model", "cluster", "decomposition", "neural_network", "distill", "som", "exceptions",
    "datasets",
    "cli",
    "patch",
}

__all__ = [
    "set_num_threads",
    "get_num_threads",
    "num_threads",
    "__version__",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"fastdistill.{name}")
    raise AttributeError(f"module 'fastdistill' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
