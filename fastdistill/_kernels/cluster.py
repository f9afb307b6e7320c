"""Compiled kernels for k-means: Lloyd passes, k-means++ seeding, distances.

Inputs are validated, C-contiguous float32/float64 arrays (read-only is
fine); ``X`` is never written. Reductions use a fixed, shape-dependent split
(slots of row chunks, or per-block outputs) merged in order, so results are
bit-identical for any thread count.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import jit

__all__ = ["lloyd_pass", "sq_distances", "kpp_pass", "kpp_pick", "far_points"]


@jit(parallel=True)
def lloyd_pass(X, sw, shift, centers, c_norms, labels, chunk_rows, n_slots, update):
    """One Lloyd pass: assign every row to its nearest center, sum the clusters.

    Works on ``x - shift`` (copied chunk by chunk into a small buffer) and on
    centers already shifted the same way, so that distances keep their
    precision for data far from the origin. Nearest center by
    ``||c||^2 - 2 x.c``, the products by one BLAS GEMM per chunk (measured
    faster than a compiled loop for every k from 4 to 256 at d = 32); the
    reported inertia uses the exact ``||x - c||^2`` of the chosen center.

    Parameters
    ----------
    X : (n, d) float array; sw : (n,) or (0,) weights (empty: ones)
    shift : (d,) array of X's dtype
    centers : (k, d) shifted centers, X's dtype; c_norms : (k,) their squared norms
    labels : (n,) int32 - previous labels in, new labels out
    chunk_rows, n_slots : int - rows per chunk, independent partial sums
    update : bool - also return per-cluster sums and weights

    Returns
    -------
    sums : (k, d) float64 weighted sums of shifted rows (zeros if not update)
    weights : (k,) float64 cluster weights
    inertia : float - sum of w * ||x - c||^2
    changed : int - labels that differ from the input labels
    """
    n, d = X.shape
    k = centers.shape[0]
    has_w = sw.shape[0] > 0
    n_chunks = (n + chunk_rows - 1) // chunk_rows
    kk = k if update else 1
    sums = np.zeros((n_slots, kk, d))
    wts = np.zeros((n_slots, k))
    inert = np.zeros(n_slots)
    changed = np.zeros(n_slots, dtype=np.int64)
    for slot in prange(n_slots):
        ch0 = slot * n_chunks // n_slots
        ch1 = (slot + 1) * n_chunks // n_slots
        buf = np.empty((chunk_rows, d), dtype=X.dtype)
        dots = np.empty((chunk_rows, k), dtype=X.dtype)
        s_sums = sums[slot]
        for ch in range(ch0, ch1):
            r0 = ch * chunk_rows
            m = min(n, r0 + chunk_rows) - r0
            for i in range(m):
                for j in range(d):
                    buf[i, j] = X[r0 + i, j] - shift[j]
            np.dot(buf[:m], centers.T, dots[:m])
            for i in range(m):
                row = dots[i]
                best = 0
                bv = c_norms[0] - 2.0 * row[0]
                for c in range(1, k):
                    v = c_norms[c] - 2.0 * row[c]
                    if v < bv:
                        bv = v
                        best = c
                dist = 0.0
                for j in range(d):
                    t = buf[i, j] - centers[best, j]
                    dist += t * t
                w = sw[r0 + i] if has_w else 1.0
                inert[slot] += w * dist
                if labels[r0 + i] != best:
                    changed[slot] += 1
                    labels[r0 + i] = best
                wts[slot, best] += w
                if update:
                    for j in range(d):
                        s_sums[best, j] += w * buf[i, j]
    sums_t = np.zeros((kk, d))
    wts_t = np.zeros(k)
    inertia = 0.0
    n_changed = 0
    for slot in range(n_slots):
        sums_t += sums[slot]
        wts_t += wts[slot]
        inertia += inert[slot]
        n_changed += changed[slot]
    return sums_t, wts_t, inertia, n_changed


@jit(parallel=True)
def sq_distances(X, shift, centers, c_norms, chunk_rows, out):
    """Squared distances from every row to every center, into ``out`` (n, k).

    Same shifted ``||x||^2 + ||c||^2 - 2 x.c`` form as :func:`lloyd_pass`
    (one GEMM per chunk), clipped at zero.
    """
    n, d = X.shape
    k = centers.shape[0]
    n_chunks = (n + chunk_rows - 1) // chunk_rows
    for ch in prange(n_chunks):
        r0 = ch * chunk_rows
        m = min(n, r0 + chunk_rows) - r0
        buf = np.empty((m, d), dtype=X.dtype)
        for i in range(m):
            for j in range(d):
                buf[i, j] = X[r0 + i, j] - shift[j]
        dots = np.dot(buf, centers.T)
        for i in range(m):
            xn = 0.0
            for j in range(d):
                xn += buf[i, j] * buf[i, j]
            for c in range(k):
                v = xn + c_norms[c] - 2.0 * dots[i, c]
                out[r0 + i, c] = v if v > 0.0 else 0.0


@jit
def _block_sqdist(X, r0, m, shift, centers, c_norms, buf, out):
    """Squared distances of rows r0..r0+m of X to the (shifted) centers.

    ``||x - s||^2 + ||c||^2 - 2 (x - s).c`` with the products by one GEMM,
    clipped at zero; ``out[:m]`` receives the (m, n_centers) result.
    """
    d = X.shape[1]
    for i in range(m):
        for j in range(d):
            buf[i, j] = X[r0 + i, j] - shift[j]
    np.dot(buf[:m], centers.T, out[:m])
    for i in range(m):
        xn = 0.0
        for j in range(d):
            xn += buf[i, j] * buf[i, j]
        for c in range(centers.shape[0]):
            v = xn + c_norms[c] - 2.0 * out[i, c]
            out[i, c] = v if v > 0.0 else 0.0


@jit(parallel=True)
def kpp_pass(X, sw, shift, centers, c_norms, use_first, closest, block_rows):
    """One pass of greedy k-means++ seeding, all work per block in parallel.

    ``centers`` (shifted by ``shift``) holds the last chosen center in row 0
    and the candidates after it. When ``use_first``, row 0 is folded into
    ``closest`` (squared distance of every row to its nearest chosen center,
    updated in place). Then, per block of rows, the weighted potential
    ``w * min(closest, d(x, c))`` is summed for every candidate ``c``;
    column 0 of the result is the potential of ``closest`` itself.

    Returns
    -------
    pots : (n_blocks, n_centers) float64 per-block potentials
    """
    n, d = X.shape
    nc = centers.shape[0]
    has_w = sw.shape[0] > 0
    n_blocks = (n + block_rows - 1) // block_rows
    pots = np.zeros((n_blocks, nc))
    for b in prange(n_blocks):
        buf = np.empty((block_rows, d), dtype=X.dtype)
        dist = np.empty((block_rows, nc), dtype=X.dtype)
        acc = np.zeros(nc)
        r0 = b * block_rows
        m = min(n, r0 + block_rows) - r0
        _block_sqdist(X, r0, m, shift, centers, c_norms, buf, dist)
        for i in range(m):
            cl = closest[r0 + i]
            if use_first and dist[i, 0] < cl:
                cl = dist[i, 0]
                closest[r0 + i] = cl
            w = sw[r0 + i] if has_w else 1.0
            acc[0] += w * cl
            for c in range(1, nc):
                dc = dist[i, c]
                acc[c] += w * (dc if dc < cl else cl)
        pots[b] = acc
    return pots


@jit
def kpp_pick(X, sw, shift, last, last_norm, closest, block_pot, block_rows, targets):
    """Rows drawn with probability proportional to ``w * min(closest, d(x, last))``.

    ``block_pot`` holds that potential summed per block (from
    :func:`kpp_pass`); each target (a uniform draw times the total) is located
    in its block by the running block sums, then in the block by a scan that
    recomputes each row's potential with the same formula. Equivalent to
    ``searchsorted(cumsum(w * min(closest, d)), target)``. ``last`` is (1, d),
    shifted.
    """
    n, d = X.shape
    has_w = sw.shape[0] > 0
    n_blocks = block_pot.shape[0]
    cum = np.cumsum(block_pot)
    out = np.empty(targets.shape[0], dtype=np.int64)
    buf = np.empty((block_rows, d), dtype=X.dtype)
    dist = np.empty((block_rows, 1), dtype=X.dtype)
    for t in range(targets.shape[0]):
        r = targets[t]
        b = np.searchsorted(cum, r, side="right")
        if b >= n_blocks:
            b = n_blocks - 1
        rem = r - (cum[b - 1] if b > 0 else 0.0)
        r0 = b * block_rows
        m = min(n, r0 + block_rows) - r0
        _block_sqdist(X, r0, m, shift, last, last_norm, buf, dist)
        chosen = -1
        acc = 0.0
        for i in range(m):
            cl = closest[r0 + i]
            if dist[i, 0] < cl:
                cl = dist[i, 0]
            w = sw[r0 + i] if has_w else 1.0
            if w * cl > 0.0:
                chosen = r0 + i
            acc += w * cl
            if acc > rem and chosen == r0 + i:
                break
        if chosen < 0:
            chosen = min(n - 1, r0)
        out[t] = chosen
    return out


@jit(parallel=True)
def far_points(X, shift, centers, labels, chunk_rows):
    """Squared distance of every row to its own (shifted) center."""
    n, d = X.shape
    out = np.empty(n)
    n_chunks = (n + chunk_rows - 1) // chunk_rows
    for ch in prange(n_chunks):
        for i in range(ch * chunk_rows, min(n, (ch + 1) * chunk_rows)):
            c = labels[i]
            s = 0.0
            for j in range(d):
                t = X[i, j] - shift[j] - centers[c, j]
                s += t * t
            out[i] = s
    return out
