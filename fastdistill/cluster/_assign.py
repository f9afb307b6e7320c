"""Nearest-center passes shared by KMeans, the SOM and the feature maps."""

from __future__ import annotations

import numpy as np

from .._kernels import cluster as K
from .._threads import parallel_region

__all__ = ["chunk_rows", "assign", "sq_distances"]


def chunk_rows(n_centers: int) -> int:
    """Rows per chunk: the (rows, n_centers) product block stays near 128 KB.

    Small enough to stay in L2 and under the allocator's mmap threshold (a
    fresh mmap per chunk buffer costs page faults), large enough for an
    efficient GEMM; measured best for k = 16 ... 400.

    Parameters
    ----------
    n_centers : int
        Number of centers (columns of the product block).

    Returns
    -------
    rows : int
        Between 32 and 512.
    """
    return int(np.clip(16384 // max(1, n_centers), 32, 512))


def assign(X, sw, shift, centers, labels, update):
    """One Lloyd pass (see :func:`fastdistill._kernels.cluster.lloyd_pass`).

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Validated rows.
    sw : ndarray of shape (n,) or (0,)
        Weights (empty: all ones).
    shift : ndarray of shape (d,)
        Shift applied to the rows (the centers are already shifted).
    centers : ndarray of shape (k, d)
        Shifted centers.
    labels : ndarray of shape (n,), int32
        Previous labels in, new labels out.
    update : bool
        Also return the per-cluster sums.

    Returns
    -------
    sums, weights, inertia, changed
        See the kernel.
    """
    n, d = X.shape
    k = centers.shape[0]
    rows = chunk_rows(k)
    n_chunks = -(-n // rows)
    n_slots = int(max(1, min(n_chunks, 32, (64 << 20) // max(1, k * d * 8))))
    c_norms = np.einsum("ij,ij->i", centers, centers).astype(X.dtype)
    with parallel_region(n_slots):
        return K.lloyd_pass(X, sw, shift, centers, c_norms, labels, rows, n_slots, update)


def sq_distances(X, shift, centers) -> np.ndarray:
    """Squared distances of every row of X to every (shifted) center.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Validated rows.
    shift : ndarray of shape (d,)
        Shift of the rows (the centers are already shifted).
    centers : ndarray of shape (k, d)
        Shifted centers.

    Returns
    -------
    distances : ndarray of shape (n, k)
        Squared distances, in the dtype of X.
    """
    rows = chunk_rows(centers.shape[0])
    out = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
    c_norms = np.einsum("ij,ij->i", centers, centers).astype(X.dtype)
    with parallel_region(-(-X.shape[0] // rows)):
        K.sq_distances(X, shift, centers, c_norms, rows, out)
    return out
