"""Column statistics in one compiled pass (shared by several estimators)."""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import jit

__all__ = ["column_moments"]


@jit(parallel=True)
def column_moments(X, shift, block_rows, n_slots):
    """Per-column sums of ``X - shift`` and of its squares, in float64.

    Rows are split into ``n_slots`` contiguous ranges (fixed by the shape, not
    the thread count) summed separately and merged in order, so the result
    is bit-identical for any number of threads. With ``shift`` close to the
    column means, ``var = sumsq / n - (sum / n)**2`` loses no precision.

    Parameters
    ----------
    X : (n, d) float array (read only)
    shift : (d,) float64
    block_rows, n_slots : int

    Returns
    -------
    s : (d,) float64 - sum of (x - shift)
    ss : (d,) float64 - sum of (x - shift)**2
    """
    n, d = X.shape
    n_blocks = (n + block_rows - 1) // block_rows
    S = np.zeros((n_slots, d))
    SS = np.zeros((n_slots, d))
    for slot in prange(n_slots):
        b0 = slot * n_blocks // n_slots
        b1 = (slot + 1) * n_blocks // n_slots
        s = S[slot]
        ss = SS[slot]
        for i in range(b0 * block_rows, min(n, b1 * block_rows)):
            for j in range(d):
                v = X[i, j] - shift[j]
                s[j] += v
                ss[j] += v * v
    s_tot = np.zeros(d)
    ss_tot = np.zeros(d)
    for slot in range(n_slots):
        s_tot += S[slot]
        ss_tot += SS[slot]
    return s_tot, ss_tot
