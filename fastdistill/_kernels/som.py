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


@jit
def _gaussian_separable(coords, n_cols, winner, sigma, period_r, period_c, ey, ex, out):
    """Gaussian neighbourhood as exp(-dr^2 / 2s^2) * exp(-dc^2 / 2s^2).

    The grid's rows share a row coordinate and (hexagonal offsets aside) its
    columns a column coordinate, so m + 2n exponentials replace m * n.
    """
    n_nodes = coords.shape[0]
    m = n_nodes // n_cols
    inv = 1.0 / (2.0 * sigma * sigma)
    for r in range(m):
        dr = abs(coords[winner, 0] - coords[r * n_cols, 0])
        if period_r > 0.0 and dr > period_r / 2.0:
            dr = period_r - dr
        ey[r] = np.exp(-dr * dr * inv)
    for parity in range(min(2, m)):
        for c in range(n_cols):
            dc = abs(coords[winner, 1] - coords[parity * n_cols + c, 1])
            if period_c > 0.0 and dc > period_c / 2.0:
                dc = period_c - dc
            ex[parity, c] = np.exp(-dc * dc * inv)
    for r in range(m):
        p = r % 2
        for c in range(n_cols):
            out[r * n_cols + c] = ey[r] * ex[p, c]


@jit
def _bmu(x, W, w_norms):
    best = 0
    bv = np.inf
    for node in range(W.shape[0]):
        dot = 0.0
        w = W[node]
        for j in range(x.shape[0]):
            dot += w[j] * x[j]
        v = w_norms[node] - 2.0 * dot
        if v < bv:
            bv = v
            best = node
    return best


@jit
def online_epoch(X, W, coords, n_cols, n_steps, t0, T, lr0, sigma0, lr_code, sigma_code,
                 nb_code, period_r, period_c, random_order, rng_state):
    """``n_steps`` online SOM updates (MiniSom's ``update``), in place on W.

    Step ``t`` (global index ``t0 + t`` out of ``T``) picks a sample (at
    random when ``random_order``, else cyclically), finds its best-matching
    unit and moves every node towards the sample by
    ``lr(t) * h(node, bmu, sigma(t))``.
    """
    n, d = X.shape
    n_nodes = W.shape[0]
    h = np.empty(n_nodes)
    ey = np.empty(n_nodes // n_cols)
    ex = np.empty((2, n_cols))
    w_norms = np.empty(n_nodes)
    for node in range(n_nodes):
        s = 0.0
        for j in range(d):
            s += W[node, j] * W[node, j]
        w_norms[node] = s
    for step in range(n_steps):
        t = t0 + step
        i = bounded(rng_state, n) if random_order else t % n
        x = X[i]
        win = _bmu(x, W, w_norms)
        eta = decay(lr0, t, T, lr_code)
        sig = decay(sigma0, t, T, sigma_code)
        if nb_code == 0:
            _gaussian_separable(coords, n_cols, win, sig, period_r, period_c, ey, ex, h)
        else:
            neighbourhood(coords, win, sig, nb_code, period_r, period_c, h)
        for node in range(n_nodes):
            g = eta * h[node]
            if g == 0.0:
                continue
            w = W[node]
            s = 0.0
            for j in range(d):
                v = w[j] + g * (x[j] - w[j])
                w[j] = v
                s += v * v
            w_norms[node] = s
