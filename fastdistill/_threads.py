"""Thread control: one setting for Numba's parallel loops and for BLAS.

fastdistill runs two kinds of parallel code: Numba ``prange`` loops and BLAS
calls (NumPy's and SciPy's OpenBLAS, which Numba's ``np.dot`` also uses). If
both used every core at once, a machine with ``c`` cores would run ``c * c``
threads. The rule applied here:

* inside a Numba-parallel kernel, BLAS is limited to one thread (the kernel's
  own threads already fill the cores);
* outside, BLAS may use the configured number of threads.

:func:`set_num_threads` (or the :func:`num_threads` context manager) sets the
number for both.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator

__all__ = ["set_num_threads", "get_num_threads", "num_threads"]

# Numba's OpenMP layer (libgomp) keeps idle threads spinning for about 300,000
# iterations between parallel regions; when another process competes for the
# cores, spinning threads steal the time slices the working ones need. A
# short spin (then sleep) keeps back-to-back regions fast on an idle machine
# and yields quickly on a busy one. Measured here, 10 k-means iterations on
# 200,000 x 32: idle 96 ms (passive waiting: 144 ms); with a busy-looping
# process on the other core 216 ms (passive: 190 ms). Only set when the user
# has chosen neither knob, before any OpenMP runtime reads them.
if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
    os.environ["GOMP_SPINCOUNT"] = "1000"

_lock = threading.Lock()
_requested: int | None = None
_controller = None


def max_threads() -> int:
    """Return the largest thread count Numba was started with.

    Returns
    -------
    n : int
        ``numba.config.NUMBA_NUM_THREADS`` (by default the number of cores).
    """
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


def get_num_threads() -> int:
    """Return the number of threads fastdistill's kernels use.

    Returns
    -------
    n : int
        The value set by :func:`set_num_threads`, or the number of threads
        Numba was started with (by default the number of cores).

    Examples
    --------
    >>> import fastdistill
    >>> fastdistill.get_num_threads() >= 1
    True
    """
    if _requested is not None:
        return _requested
    return max_threads()


def set_num_threads(n: int | None) -> None:
    """Set the number of threads used by every fastdistill kernel and BLAS call.

    Parameters
    ----------
    n : int or None
        Number of threads, between 1 and the number Numba was started with
        (environment variable ``NUMBA_NUM_THREADS``, by default the number of
        cores). ``None`` restores the default.

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer or exceeds the available threads.

    Examples
    --------
    >>> import fastdistill
    >>> fastdistill.set_num_threads(1)
    >>> fastdistill.get_num_threads()
    1
    >>> fastdistill.set_num_threads(None)
    """
    global _requested
    if n is None:
        _requested = None
        return
    if isinstance(n, bool) or not hasattr(n, "__index__"):
        raise TypeError(f"n must be a positive integer or None, got {n!r}.")
    n = int(n.__index__())
    limit = max_threads()
    if n < 1 or n > limit:
        raise ValueError(
            f"n must be between 1 and {limit} (the threads Numba was started "
            f"with; set the environment variable NUMBA_NUM_THREADS before "
            f"starting Python to allow more), got {n}."
        )
    _requested = n


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """Context manager that sets the thread count and restores it on exit.

    Parameters
    ----------
    n : int or None
        Number of threads inside the block (see :func:`set_num_threads`);
        None leaves the current setting unchanged.

    Examples
    --------
    >>> import fastdistill
    >>> with fastdistill.num_threads(1):
    ...     fastdistill.get_num_threads()
    1
    """
    global _requested
    previous = _requested
    if n is not None:
        set_num_threads(n)
    try:
        yield
    finally:
        _requested = previous


def _effective_threads() -> int:
    return max(1, min(get_num_threads(), max_threads()))


def _get_controller():
    global _controller
    with _lock:
        if _controller is None:
            # Load SciPy's BLAS first: Numba's np.dot and our BLAS intrinsics
            # call it, and threadpoolctl only controls libraries loaded when
            # the controller is created.
            import scipy.linalg.cython_blas  # noqa: F401
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller


@contextlib.contextmanager
def parallel_region(n_tasks: int | None = None) -> Iterator[int]:
    """Run Numba-parallel kernels: Numba gets the threads, BLAS gets one.

    Parameters
    ----------
    n_tasks : int, optional
        Number of independent pieces of work in the kernel; no more threads
        than that are woken (a one-slot kernel then runs on this thread).

    Yields
    ------
    n_threads : int
        The number of Numba threads in use inside the block.
    """
    import numba

    n = _effective_threads()
    if n_tasks is not None:
        n = max(1, min(n, int(n_tasks)))
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with _get_controller().limit(limits=1, user_api="blas"):
            yield n
    finally:
        numba.set_num_threads(previous)


@contextlib.contextmanager
def blas_region() -> Iterator[int]:
    """Run BLAS/LAPACK calls with the configured number of threads.

    Yields
    ------
    n_threads : int
        The BLAS thread limit inside the block.
    """
    n = _effective_threads()
    with _get_controller().limit(limits=n, user_api="blas"):
        yield n


@contextlib.contextmanager
def serial_blas() -> Iterator[None]:
    """Run small dense LAPACK/BLAS work (d x d solves) on one thread.

    Multithreaded LAPACK splits its blocked updates by thread count, which
    changes the rounding; on the small systems fastdistill solves (the size of
    the feature count) one thread is hardly slower and keeps results
    bit-identical for any :func:`set_num_threads` value.
    """
    with _get_controller().limit(limits=1, user_api="blas"):
        yield


def mapped_full(shape, fill, dtype=None):
    """Return ``np.full(shape, fill, dtype)``, its memory mapped before any kernel writes it.

    Use it instead of ``np.empty``/``np.zeros`` for large arrays that a
    parallel kernel writes first. Their pages are then mapped by this
    serial fill, not faulted in by several threads at once, which costs
    about twice as much on the development VM. The first k-means++ pass over
    1,000,000 rows, with its two 8 MB arrays, took 32 ms (allocation
    included) after ``np.empty`` and 16.5 ms after this.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the array.
    fill : scalar
        Initial value.
    dtype : dtype, optional
        Element type (default: float64).

    Returns
    -------
    out : ndarray
        The filled array.
    """
    import numpy as np

    return np.full(shape, fill, dtype=np.float64 if dtype is None else dtype)

