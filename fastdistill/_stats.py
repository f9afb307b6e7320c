"""Column means and variances from one compiled pass, without copying X."""

from __future__ import annotations

import numpy as np

from ._kernels._layout import block_layout
from ._kernels.stats import column_moments
from ._threads import parallel_region

__all__ = ["mean_var"]


def mean_var(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and (population) variances of a validated ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated float array.

    Returns
    -------
    mean : ndarray of shape (n_features,), float64
    var : ndarray of shape (n_features,), float64
        ``ddof=0`` variances, as ``numpy.var``.

    Examples
    --------
    >>> import numpy as np
    >>> mean, var = mean_var(np.array([[1.0, 2.0], [3.0, 2.0]]))
    >>> mean.tolist(), var.tolist()
    ([2.0, 2.0], [1.0, 0.0])
    """
    n = X.shape[0]
    shift = X[: min(n, 64)].mean(axis=0, dtype=np.float64)
    block_rows, n_slots = block_layout(n, X.shape[1], X.itemsize)
    with parallel_region(n_slots):
        s, ss = column_moments(X, shift, block_rows, n_slots)
    mean_shifted = s / n
    var = np.maximum(ss / n - mean_shifted**2, 0.0)
    return shift + mean_shifted, var
