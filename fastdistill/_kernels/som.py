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
def _gaussian_separable(coords, n_cols, winner, sigma, period_r, period_c, e0, e1, out):
    """Gaussian neighbourhood as exp(-d0^2 / 2s^2) * exp(-d1^2 / 2s^2).

    The second grid coordinate depends on the column only, the first on the
    row and (hexagonal grids) the column's parity, so 2m + n exponentials
    replace m * n.
    """
    n_nodes = coords.shape[0]
    m = n_nodes // n_cols
    inv = 1.0 / (2.0 * sigma * sigma)
    for parity in range(min(2, n_cols)):
        for r in range(m):
            d0 = abs(coords[winner, 0] - coords[r * n_cols + parity, 0])
            if period_r > 0.0 and d0 > period_r / 2.0:
                d0 = period_r - d0
            e0[parity, r] = np.exp(-d0 * d0 * inv)
    for c in range(n_cols):
        d1 = abs(coords[winner, 1] - coords[c, 1])
        if period_c > 0.0 and d1 > period_c / 2.0:
            d1 = period_c - d1
        e1[c] = np.exp(-d1 * d1 * inv)
    for r in range(m):
        for c in range(n_cols):
            out[r * n_cols + c] = e0[c % 2, r] * e1[c]


@jit
def _bmu(x, W):
    """Index of the node nearest to x (exact squared differences)."""
    best = 0
    bv = np.inf
    for node in range(W.shape[0]):
        w = W[node]
        s = 0.0
        for j in range(x.shape[0]):
            t = np.float64(x[j]) - np.float64(w[j])
            s += t * t
        if s < bv:
            bv = s
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
    e0 = np.empty((2, n_nodes // n_cols))
    e1 = np.empty(n_cols)
    for step in range(n_steps):
        t = t0 + step
        i = bounded(rng_state, n) if random_order else t % n
        x = X[i]
        win = _bmu(x, W)
        eta = decay(lr0, t, T, lr_code)
        sig = decay(sigma0, t, T, sigma_code)
        if nb_code == 0:
            _gaussian_separable(coords, n_cols, win, sig, period_r, period_c, e0, e1, h)
        else:
            neighbourhood(coords, win, sig, nb_code, period_r, period_c, h)
        for node in range(n_nodes):
            g = eta * h[node]
            if g == 0.0:
                continue
            w = W[node]
            for j in range(d):
                w[j] += g * (x[j] - w[j])
