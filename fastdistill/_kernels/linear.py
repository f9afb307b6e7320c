"""Compiled kernels for the linear students.

All kernels take validated, C-contiguous float32/float64 arrays (read-only is
fine) and never write into ``X`` or ``Y``. Sample weights are passed as a
length-``n`` array, or a length-0 array for "no weights" (one compiled variant
serves both).

Determinism: reductions are split into a number of *slots* fixed by the data
shape (never by the thread count); each slot sums its own contiguous range of
row blocks and the slots are merged serially in order, so results are
bit-identical for any number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import jit
from ._random import shuffle_inplace

__all__ = [
    "gram_blocks",
    "qr_blocks",
    "qr_merge",
    "sgd_epoch",
    "block_layout",
]


def block_layout(n_samples: int, n_cols: int, itemsize: int) -> tuple[int, int]:
    """Choose the row-block size and slot count for a blocked reduction.

    Parameters
    ----------
    n_samples : int
        Rows in the data.
    n_cols : int
        Columns of the per-block buffer (features plus outputs).
    itemsize : int
        Bytes per element.

    Returns
    -------
    block_rows : int
        Rows per block (the buffer is about 1 MiB, at least 64 rows).
    n_slots : int
        Independent partial sums: at most 32, fewer when the (n_cols, n_cols)
        accumulators would exceed 64 MiB together. Depends only on the shape.
    """
    block_rows = int(max(64, min(4096, (1 << 20) // max(1, n_cols * itemsize))))
    n_blocks = -(-n_samples // block_rows)
    by_memory = max(1, (64 << 20) // max(1, n_cols * n_cols * 8))
    n_slots = int(max(1, min(n_blocks, 32, by_memory)))
    return block_rows, n_slots


@jit(parallel=True)
def gram_blocks(X, Y, sw, shift, block_rows, n_slots):
    """Shifted, weighted cross products of the augmented matrix ``Z = [X, Y]``.

    With ``z_i = sqrt(w_i) * ([x_i, y_i] - shift)`` it returns, summed over
    rows, ``G = sum z_i z_i^T`` (float64, shape (p, p) with p = d + k),
    ``s = sum sqrt(w_i) z_i`` and ``W = sum w_i``. Each block's product is one
    BLAS GEMM in the input dtype, accumulated in float64.

    Parameters
    ----------
    X : (n, d) float array
    Y : (n, k) array of X's dtype
    sw : (n,) or (0,) array of X's dtype - sample weights (empty: all ones)
    shift : (p,) array of X's dtype - subtracted from every row of Z
    block_rows, n_slots : int - from :func:`block_layout`

    Returns
    -------
    G : (p, p) float64, s : (p,) float64, W : float
    """
    n, d = X.shape
    k = Y.shape[1]
    p = d + k
    has_w = sw.shape[0] > 0
    n_blocks = (n + block_rows - 1) // block_rows
    G = np.zeros((n_slots, p, p), dtype=np.float64)
    S = np.zeros((n_slots, p), dtype=np.float64)
    Wsum = np.zeros(n_slots, dtype=np.float64)
    for slot in prange(n_slots):
        b0 = slot * n_blocks // n_slots
        b1 = (slot + 1) * n_blocks // n_slots
        buf = np.empty((block_rows, p), dtype=X.dtype)
        for b in range(b0, b1):
            r0 = b * block_rows
            r1 = min(n, r0 + block_rows)
            m = r1 - r0
            for i in range(m):
                row = r0 + i
                wi = sw[row] if has_w else 1.0
                swi = np.sqrt(wi)
                for j in range(d):
                    buf[i, j] = (X[row, j] - shift[j]) * swi
                for j in range(k):
                    buf[i, d + j] = (Y[row, j] - shift[d + j]) * swi
                for j in range(p):
                    S[slot, j] += buf[i, j] * swi
                Wsum[slot] += wi
            Z = buf[:m]
            G[slot] += np.dot(Z.T, Z)
    Gt = np.zeros((p, p), dtype=np.float64)
    St = np.zeros(p, dtype=np.float64)
    Wt = 0.0
    for slot in range(n_slots):
        Gt += G[slot]
        St += S[slot]
        Wt += Wsum[slot]
    return Gt, St, Wt


@jit
def _householder_update(R, Zt, m):
    """Update the upper-triangular ``R`` (p, p) with the rows stored in ``Zt``.

    ``Zt`` (p, >= m) holds the new rows transposed (column j of the rows is
    ``Zt[j, :m]``) and is overwritten. Afterwards ``R^T R`` equals the old
    ``R^T R`` plus ``Z^T Z``: a Householder QR of the stacked ``[R; Z]`` that
    skips the structural zeros of ``R``.
    """
    p = R.shape[0]
    for j in range(p):
        sigma = 0.0
        for i in range(m):
            sigma += Zt[j, i] * Zt[j, i]
        if sigma == 0.0:
            continue
        alpha = R[j, j]
        norm = np.sqrt(alpha * alpha + sigma)
        beta = -norm if alpha >= 0 else norm
        v0 = alpha - beta
        tau = (beta - alpha) / beta
        inv_v0 = 1.0 / v0
        for i in range(m):
            Zt[j, i] *= inv_v0
        R[j, j] = beta
        for c in range(j + 1, p):
            s = R[j, c]
            for i in range(m):
                s += Zt[j, i] * Zt[c, i]
            s *= tau
            R[j, c] -= s
            for i in range(m):
                Zt[c, i] -= s * Zt[j, i]


@jit(parallel=True)
def qr_blocks(X, Y, sw, shift, block_rows, n_slots):
    """Triangular factors of the shifted, weighted ``Z = [X, Y]`` by slot.

    Same ``z_i`` as :func:`gram_blocks`; each slot runs a streaming
    Householder QR over its row blocks, without forming ``Z^T Z`` (so the
    condition number is not squared). Merge the slots with :func:`qr_merge`.

    Returns
    -------
    R : (n_slots, p, p) float64 upper-triangular factors.
    """
    n, d = X.shape
    k = Y.shape[1]
    p = d + k
    has_w = sw.shape[0] > 0
    n_blocks = (n + block_rows - 1) // block_rows
    R = np.zeros((n_slots, p, p), dtype=np.float64)
    for slot in prange(n_slots):
        b0 = slot * n_blocks // n_slots
        b1 = (slot + 1) * n_blocks // n_slots
        Zt = np.empty((p, block_rows), dtype=np.float64)
        for b in range(b0, b1):
            r0 = b * block_rows
            r1 = min(n, r0 + block_rows)
            m = r1 - r0
            for i in range(m):
                row = r0 + i
                swi = np.sqrt(sw[row]) if has_w else 1.0
                for j in range(d):
                    Zt[j, i] = (X[row, j] - shift[j]) * swi
                for j in range(k):
                    Zt[d + j, i] = (Y[row, j] - shift[d + j]) * swi
            _householder_update(R[slot], Zt, m)
    return R


@jit
def qr_merge(Rs):
    """Merge per-slot triangular factors (n_slots, p, p) into one (p, p)."""
    n_slots, p, _ = Rs.shape
    R = Rs[0].copy()
    Zt = np.empty((p, p), dtype=np.float64)
    for s in range(1, n_slots):
        for i in range(p):
            for j in range(p):
                Zt[j, i] = Rs[s, i, j]
        _householder_update(R, Zt, p)
    return R


@jit
def sgd_epoch(
    X,
    Y,
    sw,
    order,
    rng_state,
    shuffle,
    W,
    b,
    q,
    u,
    eta_adaptive,
    active,
    t,
    lr_code,
    eta0,
    power_t,
    alpha,
    l1_ratio,
    penalty_code,
    fit_intercept,
    optimal_init,
):
    """One epoch of plain SGD on the squared loss, all outputs in one pass.

    Mirrors scikit-learn's ``_plain_sgd`` update, sample by sample, for ``k``
    independent outputs that share the data pass: for each sample the ``k``
    predictions are computed from one read of the row, then every active
    output takes its step (L2 shrinkage by scaling, L1 by Tsuruoka's
    cumulative truncated gradient).

    Parameters
    ----------
    X : (n, d) float array; Y : (n, k) array of X's dtype
    sw : (n,) or (0,) sample weights
    order : (n,) int64 visiting order (shuffled in place when ``shuffle``)
    rng_state : uint64[1] generator state (advanced in place)
    W : (d, k) weights, b : (k,) intercepts - updated in place
    q : (d, k) float64 L1 bookkeeping; u : (k,) float64 cumulative L1 penalty
    eta_adaptive : (k,) float64 current rate for ``lr_code == 3``
    active : (k,) uint8 - outputs still training
    t : float - sample counter (1-based, as scikit-learn's ``t_``)
    lr_code : 0 constant, 1 optimal, 2 invscaling, 3 adaptive
    penalty_code : 0 none, 1 l1, 2 l2, 3 elasticnet

    Returns
    -------
    t : float - updated counter
    sumloss : (k,) float64 - sum over the epoch of 0.5 * (p - y)^2 before update
    """
    n, d = X.shape
    k = Y.shape[1]
    has_w = sw.shape[0] > 0
    if shuffle:
        shuffle_inplace(order, rng_state)
    if penalty_code == 2:
        l1r = 0.0
    elif penalty_code == 1:
        l1r = 1.0
    else:
        l1r = l1_ratio
    use_l2 = penalty_code >= 2
    use_l1 = penalty_code == 1 or penalty_code == 3
    pred = np.empty(k, dtype=W.dtype)
    upd = np.empty(k, dtype=W.dtype)
    scale = np.empty(k, dtype=W.dtype)
    eta = np.empty(k, dtype=np.float64)
    sumloss = np.zeros(k, dtype=np.float64)
    max_dloss = 1e12
    for ii in range(n):
        i = order[ii]
        for c in range(k):
            pred[c] = b[c]
        for j in range(d):
            xj = X[i, j]
            for c in range(k):
                pred[c] += xj * W[j, c]
        if lr_code == 1:
            eta_t = 1.0 / (alpha * (optimal_init + t - 1.0))
        elif lr_code == 2:
            eta_t = eta0 / t**power_t
        else:
            eta_t = eta0
        wi = sw[i] if has_w else 1.0
        for c in range(k):
            e = eta_adaptive[c] if lr_code == 3 else eta_t
            eta[c] = e
            r = np.float64(pred[c]) - np.float64(Y[i, c])
            sumloss[c] += 0.5 * r * r
            if r > max_dloss:
                r = max_dloss
            elif r < -max_dloss:
                r = -max_dloss
            if active[c]:
                upd[c] = -e * r * wi
                if use_l2:
                    scale[c] = max(0.0, 1.0 - (1.0 - l1r) * e * alpha)
                else:
                    scale[c] = 1.0
            else:
                upd[c] = 0.0
                scale[c] = 1.0
        for j in range(d):
            xj = X[i, j]
            for c in range(k):
                W[j, c] = W[j, c] * scale[c] + upd[c] * xj
        if fit_intercept:
            for c in range(k):
                b[c] += upd[c]
        if use_l1:
            for c in range(k):
                if not active[c]:
                    continue
                u[c] += l1r * eta[c] * alpha
                for j in range(d):
                    z = W[j, c]
                    if z > 0.0:
                        W[j, c] = max(0.0, z - (u[c] + q[j, c]))
                    elif z < 0.0:
                        W[j, c] = min(0.0, z + (u[c] - q[j, c]))
                    q[j, c] += W[j, c] - z
        t += 1.0
    return t, sumloss
