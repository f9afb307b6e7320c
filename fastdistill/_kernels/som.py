"""Compiled kernels for self-organizing maps.

Nodes are stored as a (n_nodes, d) matrix (node index = row * n_cols + col);
their grid coordinates as a (n_nodes, 2) array (hexagonal grids already
offset and scaled). Neighbourhood codes: 0 gaussian, 1 bubble,
2 mexican hat, 3 triangle. Decay codes: 0 asymptotic ``x / (1 + t / (T/2))``,
1 linear ``x * (1 - t / T)``, 2 exponential ``x * exp(-t / T)``.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit
from ._random import bounded

__all__ = ["decay", "neighbourhood", "neighbourhood_matrix", "grid_sqdist", "online_epoch"]


@jit
def decay(x0, t, T, code):
    """Value of a parameter with initial value x0 at step t of T."""
    if code == 0:
        return x0 / (1.0 + t / (T / 2.0))
    if code == 1:
        return x0 * (1.0 - t / T)
    return x0 * np.exp(-t / T)


@jit
def grid_sqdist(coords, a, b, period_r, period_c):
    """Squared grid distance between nodes a and b (toroidal when periods > 0)."""
    dr = abs(coords[a, 0] - coords[b, 0])
    dc = abs(coords[a, 1] - coords[b, 1])
    if period_r > 0.0 and dr > period_r / 2.0:
        dr = period_r - dr
    if period_c > 0.0 and dc > period_c / 2.0:
        dc = period_c - dc
    return dr * dr + dc * dc


@jit
def neighbourhood(coords, winner, sigma, code, period_r, period_c, out):
    """Neighbourhood weight of every node around ``winner`` into ``out``."""
    n = coords.shape[0]
    for node in range(n):
        dr = abs(coords[winner, 0] - coords[node, 0])
        dc = abs(coords[winner, 1] - coords[node, 1])
        if period_r > 0.0 and dr > period_r / 2.0:
            dr = period_r - dr
        if period_c > 0.0 and dc > period_c / 2.0:
            dc = period_c - dc
        p = dr * dr + dc * dc
        if code == 0:
            out[node] = np.exp(-p / (2.0 * sigma * sigma))
        elif code == 1:
            out[node] = 1.0 if (dr < sigma and dc < sigma) else 0.0
        elif code == 2:
            d = 2.0 * sigma * sigma
            out[node] = np.exp(-p / d) * (1.0 - 2.0 / d * p)
        else:
            tr = sigma - dr
            tc = sigma - dc
            out[node] = (tr if tr > 0 else 0.0) * (tc if tc > 0 else 0.0)


@jit
def neighbourhood_matrix(coords, sigma, code, period_r, period_c):
    """H[c, node]: neighbourhood weight of every node around every winner c."""
    n_nodes = coords.shape[0]
    H = np.empty((n_nodes, n_nodes))
    for c in range(n_nodes):
        neighbourhood(coords, c, sigma, code, period_r, period_c, H[c])
    return H


@jit(internal=True)
def _axis_distance(a, b, period):
    """Return |a - b| along one grid axis (the shorter way round when period > 0)."""
    d = abs(a - b)
    if period > 0.0 and d > period / 2.0:
        d = period - d
    return d


@jit(internal=True)
def _gauss_axis(coords, axis, first, stride, count, w, xw, period, inv, out):
    """out[k] = exp(-d^2 * inv), d the distance along ``axis`` from xw to node first + k * stride.

    Walks outwards from position ``w`` (the winner's) on both sides at once:
    when the two distances are equal bit for bit (the mirror images across
    the winner) one exponential serves both, so a centred winner needs half
    of them. The value is always the exponential of that exact distance.
    """
    wrap = period > 0.0
    lo = w
    hi = w + 1
    todo = count
    while todo > 0:
        if wrap:
            kl = lo % count
            kh = hi % count
            use_lo = True
            use_hi = todo > 1
        else:
            kl = lo
            kh = hi
            use_lo = lo >= 0
            use_hi = hi < count
        if use_lo and use_hi:
            dl = _axis_distance(xw, coords[first + kl * stride, axis], period)
            dh = _axis_distance(xw, coords[first + kh * stride, axis], period)
            if dl == dh:
                v = np.exp(-dl * dl * inv)
                out[kl] = v
                out[kh] = v
                lo -= 1
                hi += 1
                todo -= 2
            elif dl < dh:
                out[kl] = np.exp(-dl * dl * inv)
                lo -= 1
                todo -= 1
            else:
                out[kh] = np.exp(-dh * dh * inv)
                hi += 1
                todo -= 1
        elif use_lo:
            d = _axis_distance(xw, coords[first + kl * stride, axis], period)
            out[kl] = np.exp(-d * d * inv)
            lo -= 1
            todo -= 1
        else:
            d = _axis_distance(xw, coords[first + kh * stride, axis], period)
            out[kh] = np.exp(-d * d * inv)
            hi += 1
            todo -= 1


@jit
def _gaussian_separable(coords, n_cols, winner, sigma, period_r, period_c, e0, e1, out):
    """Gaussian neighbourhood as exp(-d0^2 / 2s^2) * exp(-d1^2 / 2s^2).

    The second grid coordinate depends on the column only, the first on the
    row and (hexagonal grids) the column's parity, so at most 2m + n
    exponentials replace m * n; equal distances share one (mirror images
    across the winner, both parities on rectangular grids): about half.
    """
    n_nodes = coords.shape[0]
    m = n_nodes // n_cols
    inv = 1.0 / (2.0 * sigma * sigma)
    wr = winner // n_cols
    wc = winner - wr * n_cols
    x0 = coords[winner, 0]
    _gauss_axis(coords, 0, 0, n_cols, m, wr, x0, period_r, inv, e0[0])
    same = True  # rows of both parities at the same first coordinate (rectangular)
    for r in range(m if n_cols > 1 else 0):
        same &= coords[r * n_cols + 1, 0] == coords[r * n_cols, 0]
    if same:
        e0[min(1, n_cols - 1), :] = e0[0, :]
    else:
        _gauss_axis(coords, 0, 1, n_cols, m, wr, x0, period_r, inv, e0[1])
    _gauss_axis(coords, 1, 0, 1, n_cols, wc, coords[winner, 1], period_c, inv, e1)
    for r in range(m):
        base = r * n_cols
        a0 = e0[0, r]
        if same:
            for c in range(n_cols):
                out[base + c] = a0 * e1[c]
        else:
            a1 = e0[1, r]
            for c in range(n_cols):
                out[base + c] = (a1 if c & 1 else a0) * e1[c]


@jit(internal=True)
def _sqdist_t(x, Wt, dist):
    """dist[node] = sum_j (x[j] - Wt[j, node])^2 in float64, along node rows."""
    dist[:] = 0.0
    for j in range(Wt.shape[0]):
        xj = np.float64(x[j])
        row = Wt[j]
        for node in range(Wt.shape[1]):
            t = xj - np.float64(row[node])
            dist[node] += t * t


@jit(internal=True)
def _update_t(x, Wt, g):
    """Wt[:, node] += g[node] * (x - Wt[:, node]), nodes with g == 0 untouched."""
    for j in range(Wt.shape[0]):
        xj = x[j]
        row = Wt[j]
        for node in range(Wt.shape[1]):
            v = row[node]
            gn = g[node]
            row[node] = v + gn * (xj - v) if gn != 0.0 else v


@jit(internal=True)
def _update_sqdist_t(x, Wt, g, xn, dist, masked):
    """:func:`_update_t` for x fused with :func:`_sqdist_t` of the next sample xn.

    One pass over Wt instead of two. Without ``masked`` (no g is zero) the
    features go four at a time, so each node's distance stays in a register
    across them (summed in the same order). With ``masked``, one feature at
    a time: a select per node vectorises, a conditional store would not.
    """
    d, n_nodes = Wt.shape
    dist[:] = 0.0
    j = 0
    if not masked:
        while j + 4 <= d:
            r0 = Wt[j]
            r1 = Wt[j + 1]
            r2 = Wt[j + 2]
            r3 = Wt[j + 3]
            a0 = x[j]
            a1 = x[j + 1]
            a2 = x[j + 2]
            a3 = x[j + 3]
            b0 = np.float64(xn[j])
            b1 = np.float64(xn[j + 1])
            b2 = np.float64(xn[j + 2])
            b3 = np.float64(xn[j + 3])
            for node in range(n_nodes):
                gn = g[node]
                s = dist[node]
                v = r0[node]
                r0[node] = v + gn * (a0 - v)
                t = b0 - np.float64(r0[node])
                s += t * t
                v = r1[node]
                r1[node] = v + gn * (a1 - v)
                t = b1 - np.float64(r1[node])
                s += t * t
                v = r2[node]
                r2[node] = v + gn * (a2 - v)
                t = b2 - np.float64(r2[node])
                s += t * t
                v = r3[node]
                r3[node] = v + gn * (a3 - v)
                t = b3 - np.float64(r3[node])
                s += t * t
                dist[node] = s
            j += 4
    while j < d:
        xj = x[j]
        xnj = np.float64(xn[j])
        row = Wt[j]
        for node in range(n_nodes):
            v = row[node]
            gn = g[node]
            row[node] = v + gn * (xj - v) if gn != 0.0 else v
            t = xnj - np.float64(row[node])
            dist[node] += t * t
        j += 1


@jit
def _first_argmin(dist):
    """First index of the smallest of the non-negative ``dist``; 0 when none is finite.

    Same choice as a scalar ``if dist[k] < best`` scan from ``best = inf``
    (NaN never wins), but vectorised: non-negative doubles order like their
    bit patterns as unsigned integers (every NaN above inf), so the minimum
    is an integer reduction, then blocks of 16 locate its first occurrence.
    """
    b = dist.view(np.uint64)
    n = b.shape[0]
    m = b[0]
    for k in range(1, n):
        v = b[k]
        m = v if v < m else m
    if m >= np.uint64(0x7FF0000000000000):
        return 0
    k0 = 0
    while k0 + 16 <= n:
        hit = False
        for k in range(k0, k0 + 16):
            hit |= b[k] == m
        if hit:
            break
        k0 += 16
    for k in range(k0, n):
        if b[k] == m:
            return k
    return 0


@jit
def online_epoch(X, W, coords, n_cols, n_steps, t0, T, lr0, sigma0, lr_code, sigma_code,
                 nb_code, period_r, period_c, random_order, rng_state):
    """``n_steps`` online SOM updates (MiniSom's ``update``), in place on W.

    Step ``t`` (global index ``t0 + t`` out of ``T``) picks a sample (at
    random when ``random_order``, else cyclically), finds its best-matching
    unit and moves every node towards the sample by
    ``lr(t) * h(node, bmu, sigma(t))``.

    The steps run on a transposed copy ``Wt`` (d, n_nodes) so that both the
    distance accumulation and the update stream along contiguous node rows;
    the update of one step is fused with the distances of the next sample.
    Arithmetic per element is the one of a node-major loop: distances summed
    over features in order in float64, updates ``w + g * (x - w)`` rounded to
    W's dtype, nodes with ``g == 0`` left untouched.
    """
    n, d = X.shape
    n_nodes = W.shape[0]
    if n_steps <= 0:
        return
    Wt = np.ascontiguousarray(W.T)
    h = np.empty(n_nodes)
    g = np.empty(n_nodes)
    dist = np.empty(n_nodes)
    e0 = np.empty((2, n_nodes // n_cols))
    e1 = np.empty(n_cols)
    i = bounded(rng_state, n) if random_order else t0 % n
    _sqdist_t(X[i], Wt, dist)
    for step in range(n_steps):
        t = t0 + step
        x = X[i]
        win = _first_argmin(dist)
        eta = decay(lr0, t, T, lr_code)
        sig = decay(sigma0, t, T, sigma_code)
        if nb_code == 0:
            _gaussian_separable(coords, n_cols, win, sig, period_r, period_c, e0, e1, h)
        else:
            neighbourhood(coords, win, sig, nb_code, period_r, period_c, h)
        zeros = 0
        for node in range(n_nodes):
            g[node] = eta * h[node]
            zeros += g[node] == 0.0
        if step + 1 < n_steps:
            i = bounded(rng_state, n) if random_order else (t + 1) % n
            _update_sqdist_t(x, Wt, g, X[i], dist, zeros > 0)
        else:
            _update_t(x, Wt, g)
    W[:, :] = Wt.T
