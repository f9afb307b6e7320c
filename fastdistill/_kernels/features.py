"""Feature-map kernels for students: radial-basis responses, gated and quadratic expansions.

All kernels take validated, C-contiguous float32/float64 arrays, write into
a caller-provided output, and run rows in parallel (each row is independent,
so results do not depend on the thread count).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import jit

__all__ = ["responses", "gated_expand", "quadratic_expand"]


@jit(parallel=True)
def responses(D, gamma, normalize, top):
    """Turn squared distances into radial-basis responses, in place.

    ``D[i, k] <- exp(-gamma * D[i, k])``; with ``normalize`` each row is
    divided by its sum (soft assignments; computed relative to the row's
    smallest distance so that no row underflows to all zeros). With
    ``0 < top < k`` only the ``top`` largest responses of each row are kept
    (the others set to 0) before normalising.

    Parameters
    ----------
    D : (n, k) float array - squared distances in, responses out
    gamma : float - 1 / (2 * bandwidth**2)
    normalize : bool
    top : int - responses kept per row (0: all)
    """
    n, k = D.shape
    g = D.dtype.type(gamma)
    for i in prange(n):
        row = D[i]
        base = row[0] * 0
        if normalize:
            base = row[0]
            for j in range(1, k):
                if row[j] < base:
                    base = row[j]
        for j in range(k):
            row[j] = np.exp(-g * (row[j] - base))
        if 0 < top < k:
            # Threshold = the top-th largest response (partial selection on a copy).
            tmp = row.copy()
            thr = np.partition(-tmp, top - 1)[top - 1]
            kept = 0
            for j in range(k):
                if -row[j] <= thr and kept < top:
                    kept += 1
                else:
                    row[j] = 0
        if normalize:
            s = 0.0
            for j in range(k):
                s += row[j]
            inv = 1.0 / s
            for j in range(k):
                row[j] = row[j] * inv


@jit(parallel=True)
def gated_expand(G, X, mean, scale, out):
    """Gate-weighted copies of the standardised rows: a local-linear design matrix.

    ``out[i, k*(d+1) + j] = G[i, k] * (X[i, j] - mean[j]) / scale[j]`` and
    ``out[i, k*(d+1) + d] = G[i, k]``: a linear model on ``out`` is a sum of
    per-region affine models weighted by the gates.

    Parameters
    ----------
    G : (n, k) float array - gates
    X : (n, d) float array (read only)
    mean, scale : (d,) float arrays
    out : (n, k * (d + 1)) float array - written
    """
    n, k = G.shape
    d = X.shape[1]
    w = d + 1
    for i in prange(n):
        z = np.empty(d, dtype=out.dtype)
        for j in range(d):
            z[j] = (X[i, j] - mean[j]) / scale[j]
        for c in range(k):
            g = G[i, c]
            base = c * w
            if g == 0:
                for j in range(w):
                    out[i, base + j] = 0
            else:
                for j in range(d):
                    out[i, base + j] = g * z[j]
                out[i, base + d] = g


@jit(parallel=True)
def quadratic_expand(Z, out):
    """Linear and pairwise-product terms of every row.

    ``out[i] = [z_1 .. z_p, z_1 z_1, z_1 z_2, ..., z_p z_p]`` (products with
    ``a <= b``, row-major).

    Parameters
    ----------
    Z : (n, p) float array (read only)
    out : (n, p + p (p + 1) / 2) float array - written
    """
    n, p = Z.shape
    for i in prange(n):
        for a in range(p):
            out[i, a] = Z[i, a]
        pos = p
        for a in range(p):
            za = Z[i, a]
            for b in range(a, p):
                out[i, pos] = za * Z[i, b]
                pos += 1
