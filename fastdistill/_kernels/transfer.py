"""Compiled kernels for transfer sets: nearest neighbours, MUNGE, nearest rows.

Inputs are validated, C-contiguous float32/float64 arrays (read-only is
fine); ``X`` is never written. Every output element is written by exactly one
task, and random draws come from per-pass xorshift streams seeded by the
caller, so results are bit-identical for any thread count.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import jit
from ._random import bounded, next_double, normal_pair
from .cluster import _block_sqdist

__all__ = ["nearest_neighbors", "nearest_centers", "munge_passes", "nearest_rows"]


@jit(parallel=True)
def nearest_neighbors(X, shift, q_idx, q_off, c_idx, c_off, tasks, chunk_rows, block_cols,
                      nn, nn_sq):
    """Nearest other row of every query row, within groups of candidates.

    Group ``g`` asks for the rows ``q_idx[q_off[g]:q_off[g + 1]]`` and searches
    the rows ``c_idx[c_off[g]:c_off[g + 1]]`` (a query never matches itself,
    by index). ``tasks`` (n_tasks, 2) lists ``(group, first query position)``
    pairs, each covering at most ``chunk_rows`` queries of its group; the
    tasks run in parallel. Per task the queries are gathered once (shifted by
    ``shift``) and the candidates are gathered ``block_cols`` at a time; the
    squared distances of a (queries, candidates) block come from the shared
    ``||x||^2 + ||c||^2 - 2 x.c`` block helper, so memory stays
    O(chunk_rows * block_cols) whatever the number of rows.

    Ties go to the candidate listed first. Outputs (written at the query's row
    index): ``nn`` (n,) int64 neighbour index, -1 when the group offers no
    candidate but the row itself; ``nn_sq`` (n,) float64 squared distance.
    """
    d = X.shape[1]
    n_tasks = tasks.shape[0]
    zero = np.zeros(d, dtype=X.dtype)
    for t in prange(n_tasks):
        g = tasks[t, 0]
        qs = tasks[t, 1]
        m = min(chunk_rows, q_off[g + 1] - qs)
        qbuf = np.empty((chunk_rows, d), dtype=X.dtype)
        for i in range(m):
            r = q_idx[qs + i]
            for j in range(d):
                qbuf[i, j] = X[r, j] - shift[j]
        cbuf = np.empty((block_cols, d), dtype=X.dtype)
        cn = np.empty(block_cols, dtype=X.dtype)
        tmp = np.empty((chunk_rows, d), dtype=X.dtype)
        dist = np.empty((chunk_rows, block_cols), dtype=X.dtype)
        best = np.full(chunk_rows, np.inf)
        arg = np.full(chunk_rows, -1, dtype=np.int64)
        c0 = c_off[g]
        c1 = c_off[g + 1]
        for cs in range(c0, c1, block_cols):
            mc = min(block_cols, c1 - cs)
            for c in range(mc):
                r = c_idx[cs + c]
                s = 0.0
                for j in range(d):
                    v = X[r, j] - shift[j]
                    cbuf[c, j] = v
                    s += v * v
                cn[c] = s
            if mc == block_cols:
                out = dist
            else:
                out = np.empty((chunk_rows, mc), dtype=X.dtype)
            _block_sqdist(qbuf, 0, m, zero, np.ascontiguousarray(cbuf[:mc].T), cn[:mc], tmp,
                          out)
            for i in range(m):
                qi = q_idx[qs + i]
                bi = best[i]
                ai = arg[i]
                for c in range(mc):
                    v = out[i, c]
                    if v < bi:
                        cj = c_idx[cs + c]
                        if cj != qi:
                            bi = v
                            ai = cj
                best[i] = bi
                arg[i] = ai
        for i in range(m):
            qi = q_idx[qs + i]
            nn[qi] = arg[i]
            nn_sq[qi] = best[i]


@jit(parallel=True)
def nearest_centers(X, shift, centers, c_norms, chunk_rows, out):
    """Find the ``out.shape[1]`` nearest (shifted) centers of every row, nearest first.

    Distances by the shared block helper, one chunk of rows per task;
    a per-row insertion into the sorted short list (ties to the lower
    center index). ``out`` (n, p) int64 receives the center indices.
    """
    n, d = X.shape
    k = centers.shape[0]
    p = out.shape[1]
    n_chunks = (n + chunk_rows - 1) // chunk_rows
    centers_t = np.ascontiguousarray(centers.T)
    for ch in prange(n_chunks):
        r0 = ch * chunk_rows
        m = min(n, r0 + chunk_rows) - r0
        buf = np.empty((chunk_rows, d), dtype=X.dtype)
        dist = np.empty((chunk_rows, k), dtype=X.dtype)
        top_d = np.empty(p)
        top_i = np.empty(p, dtype=np.int64)
        _block_sqdist(X, r0, m, shift, centers_t, c_norms, buf, dist)
        for i in range(m):
            filled = 0
            for c in range(k):
                v = dist[i, c]
                if filled == p and v >= top_d[p - 1]:
                    continue
                j = filled if filled < p else p - 1
                while j > 0 and top_d[j - 1] > v:
                    top_d[j] = top_d[j - 1]
                    top_i[j] = top_i[j - 1]
                    j -= 1
                top_d[j] = v
                top_i[j] = c
                if filled < p:
                    filled += 1
            for j in range(p):
                out[r0 + i, j] = top_i[j]


@jit(internal=True)
def _munge_pass(buf, nn, p, inv_s, state):
    """One MUNGE pass over ``buf`` (a copy of the rows), in place, in row order.

    For each row ``e`` (in order) and its neighbour ``e' = buf[nn[e]]``, each
    attribute is swapped with probability ``p``: with ``sd = |e_a - e'_a| / s``
    (values before the swap), ``e_a <- N(e'_a, sd)`` and ``e'_a <- N(e_a, sd)``.
    Draws per attribute: one uniform, then two normals if it swaps.
    """
    n, d = buf.shape
    for i in range(n):
        k = nn[i]
        for a in range(d):
            if next_double(state) < p:
                ei = np.float64(buf[i, a])
                ek = np.float64(buf[k, a])
                sd = abs(ei - ek) * inv_s
                z1, z2 = normal_pair(state)
                buf[i, a] = ek + sd * z1
                buf[k, a] = ei + sd * z2


@jit(parallel=True)
def munge_passes(X, nn, p, inv_s, seeds, out):
    """MUNGE (Bucila et al. 2006): ``out`` (n_out, d) filled pass by pass.

    Pass ``t`` starts from a fresh copy of ``X``, runs :func:`_munge_pass`
    with its own generator (state ``seeds[t]``, uint64) and fills rows
    ``t * n ...`` of ``out``. A last, partial pass keeps a uniform random
    subset of its rows (in row order), drawn from the same generator after
    the pass. Passes run in parallel; ``len(seeds) == ceil(n_out / n)``.
    """
    n, d = X.shape
    n_out = out.shape[0]
    n_pass = seeds.shape[0]
    for t in prange(n_pass):
        state = np.empty(1, dtype=np.uint64)
        state[0] = seeds[t]
        r0 = t * n
        m = min(n, n_out - r0)
        if m == n:
            buf = out[r0 : r0 + n]
        else:
            buf = np.empty((n, d), dtype=X.dtype)
        for i in range(n):
            for j in range(d):
                buf[i, j] = X[i, j]
        _munge_pass(buf, nn, p, inv_s, state)
        if m < n:
            order = np.arange(n)
            for i in range(m):
                k = i + bounded(state, n - i)
                tmp = order[i]
                order[i] = order[k]
                order[k] = tmp
            keep = np.sort(order[:m])
            for i in range(m):
                for j in range(d):
                    out[r0 + i, j] = buf[keep[i], j]


@jit(parallel=True)
def nearest_rows(X, shift, centers, c_norms, chunk_rows, n_slots):
    """For every (shifted) center, the row of ``X`` nearest to it.

    Rows are split into ``n_slots`` fixed ranges of chunks (a function of the
    shape only); each slot keeps the per-center minimum over its rows
    (distances by the shared block helper), and the slots are merged in
    order, ties to the lower row index.

    Returns
    -------
    rows : (k,) int64 nearest row index per center
    sq : (k,) float64 its squared distance
    """
    n, d = X.shape
    k = centers.shape[0]
    n_chunks = (n + chunk_rows - 1) // chunk_rows
    best = np.full((n_slots, k), np.inf)
    arg = np.zeros((n_slots, k), dtype=np.int64)
    centers_t = np.ascontiguousarray(centers.T)
    for slot in prange(n_slots):
        ch0 = slot * n_chunks // n_slots
        ch1 = (slot + 1) * n_chunks // n_slots
        buf = np.empty((chunk_rows, d), dtype=X.dtype)
        dist = np.empty((chunk_rows, k), dtype=X.dtype)
        sb = best[slot]
        sa = arg[slot]
        for ch in range(ch0, ch1):
            r0 = ch * chunk_rows
            m = min(n, r0 + chunk_rows) - r0
            _block_sqdist(X, r0, m, shift, centers_t, c_norms, buf, dist)
            for i in range(m):
                for c in range(k):
                    v = dist[i, c]
                    if v < sb[c]:
                        sb[c] = v
                        sa[c] = r0 + i
    rows = arg[0].copy()
    sq = best[0].copy()
    for slot in range(1, n_slots):
        for c in range(k):
            if best[slot, c] < sq[c]:
                sq[c] = best[slot, c]
                rows[c] = arg[slot, c]
    return rows, sq
