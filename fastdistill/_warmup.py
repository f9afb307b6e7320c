"""Compile the kernels of a job ahead of time, on every core, into the disk cache.

Numba compiles one function at a time on one thread. On a cold cache (a
fresh install), the first ``fastdistill demo`` would spend most of its time
compiling. :func:`prewarm` runs groups of small warm-up fits in separate
processes, one per core: each compiles its group's kernels and writes them to
the on-disk cache, which the calling process then loads in a fraction of a
second. On a warm cache it does nothing.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Sequence

import numpy as np

__all__ = ["prewarm", "warm_mlp_and_linear", "warm_clustering", "is_cached", "demo_groups"]


def is_cached(dispatcher) -> bool:
    """Whether a Numba dispatcher has an entry in the on-disk cache.

    Parameters
    ----------
    dispatcher : numba dispatcher
        A kernel declared with ``cache=True``.

    Returns
    -------
    cached : bool
        True when its index file exists (False when that cannot be told).
    """
    try:
        return os.path.exists(dispatcher._cache._cache_file._index_path)
    except AttributeError:
        return False


def _data(n: int = 64, d: int = 3, dtype=np.float64):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d)).astype(dtype)
    return X, (X[:, 0] - X[:, 1]).astype(dtype)


def warm_mlp_and_linear() -> None:
    """Compile the Gram pass and the MLP training/prediction kernels (float64).

    The Gram pass comes first: :func:`warm_clustering` needs it only at its
    end (the local students), and then finds it in the cache instead of
    compiling it a second time.
    """
    import warnings

    from .linear_model import LinearRegression
    from .neural_network import MLPRegressor

    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        LinearRegression().fit(X, y)
        MLPRegressor(hidden_layer_sizes=(4, 4), max_iter=2, random_state=0).fit(X, y).predict(X)


def warm_clustering() -> None:
    """Compile k-means, the feature maps and the local students (float64)."""
    import warnings

    from .distill import KMeansFeatures, LocalLinearRegressor

    # 64 prototypes: the paths of 32 clusters and more (bounded search,
    # float32 search of float64 data), which the demo's 64 and 128 take.
    X, y = _data(n=512)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        KMeansFeatures(64, random_state=0).fit(X).transform(X)
        LocalLinearRegressor(64, random_state=0).fit(X, y).predict(X)


def demo_groups() -> tuple[list, list]:
    """Warm-up groups of the demo and the kernels that tell whether they are cached.

    Returns
    -------
    groups : list of callables
        Warm-up functions, one per process.
    probes : list of dispatchers
        Kernels checked by :func:`prewarm`.
    """
    from ._kernels import cluster, features, linear, mlp

    return ([warm_mlp_and_linear, warm_clustering],
            [mlp.train_epoch, linear.gram_blocks, cluster.lloyd_pass, features.local_predict])


def _run(fn: Callable[[], None]) -> None:
    fn()


def prewarm(groups: Sequence[Callable[[], None]], probes: Sequence = ()) -> bool:
    """Run warm-up functions in parallel processes when the kernel cache is cold.

    Parameters
    ----------
    groups : sequence of callables
        Module-level warm-up functions (each compiles a set of kernels).
    probes : sequence of numba dispatchers
        Kernels whose cache entries tell whether the cache is warm; when all
        are cached (or caching is off), nothing is run.

    Returns
    -------
    ran : bool
        Whether the warm-up processes ran.
    """
    if os.environ.get("NUMBA_DISABLE_JIT") == "1" or not groups:
        return False
    if probes and all(is_cached(p) for p in probes):
        return False
    workers = max(1, min(len(groups), os.cpu_count() or 1))
    if workers == 1:
        return False
    import multiprocessing

    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as ex:
            list(ex.map(_run, groups))
    except (OSError, RuntimeError):  # no processes here: compile in this one instead
        return False
    return True
