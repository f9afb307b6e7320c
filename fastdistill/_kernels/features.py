"""Feature-map kernels for students: radial-basis responses, gated and quadratic expansions.

All kernels take validated, C-contiguous float32/float64 arrays, write into
a caller-provided output, and run rows in parallel (each row is independent,
so results do not depend on the thread count).
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import jit
from ._math import exp_neg
from .cluster import _block_sqdist
from .linear import gram_add_block, gram_fill_row, gram_merge, gram_slots

__all__ = ["responses", "center_responses", "center_responses_gram", "gated_expand",
           "quadratic_expand"]


@jit(inline="always")
def _respond_row(row, g, normalize, top, best):
    """Radial-basis responses of one row of squared distances, in place.

    ``best`` is scratch space of at least ``top`` floats (used when
    ``0 < top < k``). See :func:`responses`.
    """
    k = row.shape[0]
    base = row[0] * 0
    if normalize:
        base = row[0]
        for j in range(1, k):
            if row[j] < base:
                base = row[j]
    for j in range(k):
        row[j] = exp_neg(-g * (row[j] - base))
    if 0 < top < k:
        # Threshold = the top-th largest response: keep the top largest
        # values in a small sorted buffer (O(k * top), no sort of the row).
        best[:top] = -1.0
        for j in range(k):
            v = row[j]
            if v > best[top - 1]:
                pos = top - 1
                while pos > 0 and best[pos - 1] < v:
                    best[pos] = best[pos - 1]
                    pos -= 1
                best[pos] = v
        thr = best[top - 1]
        kept = 0
        for j in range(k):
            if row[j] >= thr and kept < top:
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
    n = D.shape[0]
    g = D.dtype.type(gamma)
    rows = 256
    for ch in prange((n + rows - 1) // rows):
        best = np.empty(max(top, 1))
        for i in range(ch * rows, min(n, (ch + 1) * rows)):
            _respond_row(D[i], g, normalize, top, best)


@jit(parallel=True)
def center_responses(X, shift, centers, c_norms, gamma, normalize, top, chunk_rows, out):
    """Radial-basis responses of every row to every center, into ``out`` (n, k).

    :func:`responses` of the squared distances, fused with their computation
    (per chunk of rows, as
    :func:`fastdistill._kernels.cluster.sq_distances`): each chunk is turned
    into responses while it is still in cache.

    Parameters
    ----------
    X : (n, d) float array; shift : (d,) - the rows' shift
    centers : (k, d) - shifted centers; c_norms : (k,) - their squared norms
    gamma, normalize, top : as :func:`responses`
    chunk_rows : int - rows per chunk
    out : (n, k) - responses out (X's dtype)
    """
    n, d = X.shape
    g = out.dtype.type(gamma)
    centers_t = np.ascontiguousarray(centers.T)
    for ch in prange((n + chunk_rows - 1) // chunk_rows):
        r0 = ch * chunk_rows
        m = min(n, r0 + chunk_rows) - r0
        buf = np.empty((m, d), dtype=X.dtype)
        best = np.empty(max(top, 1))
        block = out[r0:r0 + m]
        _block_sqdist(X, r0, m, shift, centers_t, c_norms, buf, block)
        for i in range(m):
            _respond_row(block[i], g, normalize, top, best)


@jit(parallel=True)
def center_responses_gram(X, Y, sw, shift, centers, c_norms, gamma, normalize, top,
                          g_shift, block_rows, n_slots, syrk_addr):
    """Gram statistics of ``Z = [responses(X), Y]`` without forming ``Z``.

    Per block of rows, the responses of :func:`center_responses` are
    computed into a buffer that already holds the Gram block's layout and
    added to the cross products by one BLAS ``?syrk``, as
    :func:`~fastdistill._kernels.linear.gram_blocks` does with ``Z`` given:
    the same ``G``, ``s``, ``W`` (same blocks, same order; bit-identical).
    The (n, k) responses never reach memory: 16,384 x 32 rows, 128 centers,
    7.2-7.9 ms against 8.0-8.6 ms computing them first.

    Parameters
    ----------
    X : (n, d); Y : (n, t) - rows and targets (X's dtype); sw : (n,) or (0,)
    shift, centers, c_norms, gamma, normalize, top : as :func:`center_responses`
    g_shift : (k + t,) - the Gram shift of ``Z``
    block_rows, n_slots, syrk_addr : as ``gram_blocks``

    Returns
    -------
    G : (k + t, k + t) float64, s : (k + t,) float64, W : float
    """
    n, d = X.shape
    k = centers.shape[0]
    p = k + Y.shape[1]
    has_w = sw.shape[0] > 0
    n_blocks = (n + block_rows - 1) // block_rows
    G, S, Wsum = gram_slots(n_slots, p)
    g = X.dtype.type(gamma)
    centers_t = np.ascontiguousarray(centers.T)
    for slot in prange(n_slots):
        xb = np.empty((block_rows, d), dtype=X.dtype)
        dist = np.empty((block_rows, k), dtype=X.dtype)
        buf = np.empty((block_rows, p), dtype=X.dtype)
        C = np.empty((p, p), dtype=X.dtype)
        best = np.empty(max(top, 1))
        for b in range(slot * n_blocks // n_slots, (slot + 1) * n_blocks // n_slots):
            r0 = b * block_rows
            m = min(n, r0 + block_rows) - r0
            _block_sqdist(X, r0, m, shift, centers_t, c_norms, xb, dist)
            for i in range(m):
                _respond_row(dist[i], g, normalize, top, best)
                wi = sw[r0 + i] if has_w else 1.0
                gram_fill_row(buf, i, dist[i], Y[r0 + i], g_shift, wi, S[slot])
                Wsum[slot] += wi
            gram_add_block(syrk_addr, buf[:m], C, G[slot])
    return gram_merge(G, S, Wsum)


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


@jit(parallel=True)
def local_predict(X, shift, centers, c_norms, mean, scale, Wt, B, gamma, hard, chunk_rows,
                  out):
    """Predictions of a gated local-linear model, fused (no design matrix).

    ``out[i] = sum_c g_c(x_i) (z_i . W_c + b_c) / sum_c g_c(x_i)`` with
    ``z = (x - mean) / scale`` and gates ``g_c = exp(-gamma (d_c - d_min))``
    from the squared distances ``d_c`` to the centers (``hard``: only the
    nearest center). Gates below ``exp(-37)`` (1e-16 of the nearest one's)
    are set to 0: they change no sum at double precision. Per chunk of rows,
    two GEMMs (distances and the local linear parts) and one loop for the
    gates and the blend.

    Parameters
    ----------
    X : (n, d) float array (read only)
    shift : (d,) - row shift; ``centers`` are already shifted by it
    centers : (k, d) shifted centers;  c_norms : (k,) their squared norms
    mean, scale : (d,) standardisation
    Wt : (d, k * o) local coefficients, column ``c * o + t`` for center c, output t
    B : (k, o) local intercepts
    gamma : float;  hard : bool;  chunk_rows : int
    out : (n, o) - written
    """
    n, d = X.shape
    k = centers.shape[0]
    o = out.shape[1]
    g0 = X.dtype.type(gamma)
    n_chunks = (n + chunk_rows - 1) // chunk_rows
    for ch in prange(n_chunks):
        r0 = ch * chunk_rows
        m = min(n, r0 + chunk_rows) - r0
        buf = np.empty((m, d), dtype=X.dtype)
        zb = np.empty((m, d), dtype=X.dtype)
        for i in range(m):
            for j in range(d):
                buf[i, j] = X[r0 + i, j] - shift[j]
                zb[i, j] = (X[r0 + i, j] - mean[j]) / scale[j]
        dots = np.dot(buf, centers.T)
        A = np.dot(zb, Wt)
        g = np.empty(k, dtype=X.dtype)
        for i in range(m):
            xn = 0.0
            for j in range(d):
                xn += buf[i, j] * buf[i, j]
            dmin = np.inf
            best = 0
            for c in range(k):
                v = xn + c_norms[c] - 2.0 * dots[i, c]
                v = v if v > 0.0 else 0.0
                g[c] = v
                if v < dmin:
                    dmin = v
                    best = c
            if hard:
                for t in range(o):
                    out[r0 + i, t] = A[i, best * o + t] + B[best, t]
                continue
            # Gates below exp(-37) ~ 1e-16 of the largest change no sum at
            # double precision: set to 0. Both loops vectorise (exp_neg is
            # inlined, the blend is a plain dot product).
            s = 0.0
            for c in range(k):
                e = g0 * (g[c] - dmin)
                v = exp_neg(-e)
                g[c] = v if e < 37.0 else 0.0
                s += g[c]
            inv = 1.0 / s
            for t in range(o):
                acc = 0.0
                for c in range(k):
                    acc += g[c] * (A[i, c * o + t] + B[c, t])
                out[r0 + i, t] = acc * inv
