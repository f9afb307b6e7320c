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
from ._blas import syrk_lower
from ._intrinsics import atomic_fetch_add, prefetch_row
from ._layout import block_layout  # noqa: F401  (re-exported)
from ._random import shuffle_inplace

__all__ = [
    "gram_blocks",
    "qr_blocks",
    "qr_merge",
    "sgd_epoch",
    "block_layout",
]


@jit(parallel=True)
def gram_blocks(X, Y, sw, shift, block_rows, n_slots, syrk_addr):
    """Shifted, weighted cross products of the augmented matrix ``Z = [X, Y]``.

    With ``z_i = sqrt(w_i) * ([x_i, y_i] - shift)`` it returns, summed over
    rows, ``G = sum z_i z_i^T`` (float64, shape (p, p) with p = d + k),
    ``s = sum sqrt(w_i) z_i`` and ``W = sum w_i``. Each block's product is one
    BLAS ``?syrk`` in the input dtype (half a GEMM's work), accumulated in
    float64. NaN/inf in the input propagate into ``G`` (callers check ``G``
    instead of scanning ``X`` beforehand).

    Parameters
    ----------
    X : (n, d) float array
    Y : (n, k) array of X's dtype
    sw : (n,) or (0,) array of X's dtype - sample weights (empty: all ones)
    shift : (p,) array of X's dtype - subtracted from every row of Z
    block_rows, n_slots : int - from :func:`block_layout`
    syrk_addr : int - from :func:`fastdistill._kernels._blas.syrk_address`

    Returns
    -------
    G : (p, p) float64, s : (p,) float64, W : float
    """
    n, d = X.shape
    p = d + Y.shape[1]
    has_w = sw.shape[0] > 0
    n_blocks = (n + block_rows - 1) // block_rows
    G, S, Wsum = gram_slots(n_slots, p)
    for slot in prange(n_slots):
        buf = np.empty((block_rows, p), dtype=X.dtype)
        C = np.empty((p, p), dtype=X.dtype)
        for b in range(slot * n_blocks // n_slots, (slot + 1) * n_blocks // n_slots):
            r0 = b * block_rows
            m = min(n, r0 + block_rows) - r0
            for i in range(m):
                wi = sw[r0 + i] if has_w else 1.0
                gram_fill_row(buf, i, X[r0 + i], Y[r0 + i], shift, wi, S[slot])
                Wsum[slot] += wi
            gram_add_block(syrk_addr, buf[:m], C, G[slot])
    return gram_merge(G, S, Wsum)


@jit(inline="always")
def gram_fill_row(buf, i, head, tail, shift, wi, s):
    """Row ``i`` of a Gram block: ``sqrt(wi) * ([head, tail] - shift)``, summed into ``s``.

    ``s`` (p,) float64 receives ``sqrt(wi)`` times the row, i.e. the weighted
    shifted values.
    """
    d = head.shape[0]
    swi = np.sqrt(wi)
    for j in range(d):
        buf[i, j] = (head[j] - shift[j]) * swi
    for j in range(tail.shape[0]):
        buf[i, d + j] = (tail[j] - shift[d + j]) * swi
    for j in range(buf.shape[1]):
        s[j] += buf[i, j] * swi


@jit(inline="always")
def gram_add_block(syrk_addr, block, C, Gs):
    """Add ``block^T block`` (one BLAS ``?syrk``, lower triangle) to ``Gs`` in float64."""
    syrk_lower(syrk_addr, block, C)
    for a in range(C.shape[0]):
        for c in range(a + 1):
            Gs[a, c] += C[a, c]


@jit(inline="always")
def gram_slots(n_slots, p):
    """Zeroed per-slot Gram accumulators: lower triangles, sums and weights (float64)."""
    return (np.zeros((n_slots, p, p), dtype=np.float64), np.zeros((n_slots, p), dtype=np.float64),
            np.zeros(n_slots, dtype=np.float64))


@jit(inline="always")
def gram_merge(G, S, Wsum):
    """Merge the per-slot lower triangles, sums and weights in slot order; symmetrise."""
    p = G.shape[1]
    Gt = np.zeros((p, p), dtype=np.float64)
    St = np.zeros(p, dtype=np.float64)
    Wt = 0.0
    for slot in range(G.shape[0]):
        Gt += G[slot]
        St += S[slot]
        Wt += Wsum[slot]
    for a in range(p):
        for c in range(a):
            Gt[c, a] = Gt[a, c]
    return Gt, St, Wt


@jit(internal=True)
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


_PREFETCH_DISTANCE = 8


@jit(internal=True)
def _prefetch_sample(X, Y, order, ii):
    """Start loading the row (and target) visited at position ``ii``."""
    if ii < order.shape[0]:
        ahead = order[ii]
        prefetch_row(X, ahead)
        prefetch_row(Y, ahead)


@jit(internal=True)
def _sgd_rate(lr_code, t, eta0, power_t, alpha, optimal_init):
    if lr_code == 1:
        return 1.0 / (alpha * (optimal_init + t - 1.0))
    if lr_code == 2:
        # sqrt is one instruction where pow is a libm call (same value to an ulp)
        if power_t == 0.25:
            return eta0 / np.sqrt(np.sqrt(t))
        if power_t == 0.5:
            return eta0 / np.sqrt(t)
        return eta0 / t**power_t
    return eta0


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
    pipeline,
):
    """One epoch of plain SGD on the squared loss, all outputs in one pass.

    Mirrors scikit-learn's ``_plain_sgd`` update, sample by sample, for ``k``
    independent outputs that share the data pass: each row is fetched once
    (prefetched a few samples ahead, since a shuffled epoch visits rows in
    random order), then every active output computes its prediction and takes
    its step. Without an L1 term, the step ``w <- scale * w + update * x`` of
    one sample is fused into the next sample's dot product (one sweep over
    ``w`` per sample instead of two; same arithmetic). L1 uses Tsuruoka's
    cumulative truncated gradient, as scikit-learn does. The two variants are
    separate loops so that each is vectorised on its own.

    Non-finite values in ``X`` need no separate check: any NaN/inf in a row
    makes that row's prediction (``0 * inf`` is NaN) and so ``sumloss`` NaN.

    Parameters
    ----------
    X : (n, d) float array; Y : (n, k) array of X's dtype
    sw : (n,) or (0,) sample weights
    order : (n,) int64 visiting order (shuffled in place when ``shuffle``)
    rng_state : uint64[1] generator state (advanced in place)
    W : (k, d) weights, b : (k,) intercepts - updated in place
    q : (k, d) float64 L1 bookkeeping; u : (k,) float64 cumulative L1 penalty
    eta_adaptive : (k,) float64 current rate for ``lr_code == 3``
    active : (k,) uint8 - outputs still training
    t : float - sample counter (1-based, as scikit-learn's ``t_``)
    lr_code : 0 constant, 1 optimal, 2 invscaling, 3 adaptive
    penalty_code : 0 none, 1 l1, 2 l2, 3 elasticnet
    pipeline : bool - allow the two-thread pipelined pass for shuffled epochs
        on large data (:func:`_sgd_pass_pipelined`; same weights)

    Returns
    -------
    t : float - updated counter
    sumloss : (k,) float64 - sum over the epoch of 0.5 * (p - y)^2 before update
    objective : (k,) float64 - the same plus, per sample, the penalty
        ``alpha * ((1 - l1_ratio) / 2 * ||w||^2 + l1_ratio * ||w||_1)`` of the
        weights it was predicted with (scikit-learn >= 1.8's stopping quantity)
    """
    if shuffle:
        shuffle_inplace(order, rng_state)
    l1r = 1.0 if penalty_code == 1 else l1_ratio
    n, d = X.shape
    m, blk = _pipeline_layout(n, d, X.itemsize)
    if shuffle and pipeline and m > 0:
        return _sgd_pass_pipelined(X, Y, sw, order, W, b, q, u, eta_adaptive, active,
                                   t, lr_code, eta0, power_t, alpha, l1r,
                                   penalty_code, fit_intercept, optimal_init, m, blk)
    return _sgd_pass(X, Y, sw, order, W, b, q, u, eta_adaptive, active, t, lr_code,
                     eta0, power_t, alpha, l1r, penalty_code, fit_intercept,
                     optimal_init)


@jit
def _sgd_pass(X, Y, sw, order, W, b, q, u, eta_adaptive, active, t, lr_code, eta0,
              power_t, alpha, l1r, penalty_code, fit_intercept, optimal_init):
    """One pass over ``order``: the L1 variant or the fused (no-L1) one."""
    if penalty_code == 1 or penalty_code == 3:
        return _sgd_pass_l1(X, Y, sw, order, W, b, q, u, eta_adaptive, active, t,
                            lr_code, eta0, power_t, alpha, l1r, fit_intercept,
                            optimal_init)
    l2 = 1.0 if penalty_code == 2 else 0.0
    return _sgd_pass_fused(X, Y, sw, order, W, b, eta_adaptive, active, t, lr_code,
                           eta0, power_t, alpha * l2, alpha, fit_intercept, optimal_init,
                           0.5 * alpha * l2)


# Shuffled epochs on large data are bound by fetching rows in random order
# (measured on 1,000,000 x 64 float64: 160 ms for the pass against 45 ms for
# the same pass in memory order). The pipelined pass copies the rows of the
# next chunk of the visiting order into a contiguous buffer while the SGD
# steps run over the current chunk; the copying is shared by both threads
# (work claimed in blocks from an atomic counter), so the thread doing SGD
# also helps once its chunk is done. Same steps in the same order, so the
# weights are bit-identical to the plain pass's (the epoch's loss sums are
# added per chunk, so they may differ in the last bits); 75-90 ms on the data
# above.
_PIPE_BYTES = 1 << 21  # bytes of rows per chunk buffer (two buffers)
_PIPE_BLOCK_BYTES = 1 << 15  # bytes of rows per claimed copy block
_PIPE_MAX_ROWS = 16384


@jit(internal=True)
def _pipeline_layout(n, d, itemsize):
    """Rows per chunk and per copy block; ``(0, 0)`` when not worth it."""
    row = max(1, d * itemsize)
    m = min(_PIPE_MAX_ROWS, max(256, _PIPE_BYTES // row))
    if n < 4 * m:
        return 0, 0
    blk = max(1, min(m, _PIPE_BLOCK_BYTES // row))
    return m, blk


@jit(internal=True)
def _gather_rows(X, Y, sw, order, start, stop, Xb, Yb, swb):
    """Copy rows ``order[start:stop]`` of ``X``, ``Y`` (and ``sw``) in order."""
    d = X.shape[1]
    k = Y.shape[1]
    has_w = sw.shape[0] > 0
    for r in range(stop - start):
        _prefetch_sample(X, Y, order[:stop], start + r + 2 * _PREFETCH_DISTANCE)
        i = order[start + r]
        for j in range(d):
            Xb[r, j] = X[i, j]
        for j in range(k):
            Yb[r, j] = Y[i, j]
        if has_w:
            swb[r] = sw[i]


@jit(parallel=True)
def _sgd_pass_pipelined(X, Y, sw, order, W, b, q, u, eta_adaptive, active, t,
                        lr_code, eta0, power_t, alpha, l1r, penalty_code,
                        fit_intercept, optimal_init, m, blk):
    """:func:`_sgd_pass` over ``order``, rows gathered ahead into buffers."""
    n, d = X.shape
    k = Y.shape[1]
    has_w = sw.shape[0] > 0
    n_chunks = (n + m - 1) // m
    Xb = np.empty((2, m, d), dtype=X.dtype)
    Yb = np.empty((2, m, k), dtype=Y.dtype)
    swb = np.empty((2, m if has_w else 0), dtype=sw.dtype)
    ident = np.arange(m)
    state = np.empty(1, dtype=np.float64)
    state[0] = t
    counter = np.zeros(1, dtype=np.int64)
    sumloss = np.zeros(k, dtype=np.float64)
    objective = np.zeros(k, dtype=np.float64)
    _gather_rows(X, Y, sw, order, 0, m, Xb[0], Yb[0], swb[0])
    for c in range(n_chunks):
        counter[0] = 0
        lo = (c + 1) * m
        hi = min(lo + m, n)
        n_blocks = (hi - lo + blk - 1) // blk if c + 1 < n_chunks else 0
        nxt = (c + 1) % 2
        for task in prange(2):
            if task == 0:
                cur = c % 2
                rows = min(m, n - c * m)
                tt, sl, ob = _sgd_pass(
                    Xb[cur, :rows], Yb[cur, :rows], swb[cur, :rows], ident[:rows],
                    W, b, q, u, eta_adaptive, active, state[0], lr_code, eta0,
                    power_t, alpha, l1r, penalty_code, fit_intercept, optimal_init)
                state[0] = tt
                for j in range(k):
                    sumloss[j] += sl[j]
                    objective[j] += ob[j]
            while True:
                g = atomic_fetch_add(counter, 0, 1)
                if g >= n_blocks:
                    break
                a = lo + g * blk
                _gather_rows(X, Y, sw, order, a, min(a + blk, hi), Xb[nxt, g * blk:],
                             Yb[nxt, g * blk:], swb[nxt, g * blk:])
    return state[0], sumloss, objective


@jit(internal=True)
def _clip(r):
    if r > 1e12:
        return 1e12
    if r < -1e12:
        return -1e12
    return r


@jit(internal=True)
def _sgd_pass_fused(X, Y, sw, order, W, b, eta_adaptive, active, t, lr_code, eta0,
                    power_t, shrink, alpha, fit_intercept, optimal_init, obj_l2):
    """SGD pass without L1: each step is applied inside the next dot product."""
    n, d = X.shape
    k = Y.shape[1]
    has_w = sw.shape[0] > 0
    sumloss = np.zeros(k, dtype=np.float64)
    objective = np.zeros(k, dtype=np.float64)
    # Pending (not yet applied) step per output: w <- scale * w + upd * x_prev.
    scale = np.ones(k, dtype=W.dtype)
    upd = np.zeros(k, dtype=W.dtype)
    prev = order[0] if n > 0 else 0
    for ii in range(n):
        _prefetch_sample(X, Y, order, ii + _PREFETCH_DISTANCE)
        i = order[ii]
        x = X[i]
        xp = X[prev]
        eta_t = _sgd_rate(lr_code, t, eta0, power_t, alpha, optimal_init)
        wi = sw[i] if has_w else 1.0
        for c in range(k):
            w = W[c]
            sc = scale[c]
            up = upd[c]
            p = 0.0
            sq = 0.0
            for j in range(d):
                wj = w[j] * sc + up * xp[j]
                w[j] = wj
                p += wj * x[j]
                sq += wj * wj
            r = p + b[c] - Y[i, c]
            sumloss[c] += 0.5 * r * r
            objective[c] += 0.5 * r * r + obj_l2 * sq
            if not active[c]:
                scale[c] = 1.0
                upd[c] = 0.0
                continue
            eta = eta_adaptive[c] if lr_code == 3 else eta_t
            step = -eta * _clip(r) * wi
            if fit_intercept:
                b[c] += step
            scale[c] = max(0.0, 1.0 - eta * shrink)
            upd[c] = step
        prev = i
        t += 1.0
    if n > 0:
        xp = X[prev]
        for c in range(k):
            w = W[c]
            sc = scale[c]
            up = upd[c]
            for j in range(d):
                w[j] = w[j] * sc + up * xp[j]
    return t, sumloss, objective


@jit(internal=True)
def _sgd_pass_l1(X, Y, sw, order, W, b, q, u, eta_adaptive, active, t, lr_code, eta0,
                 power_t, alpha, l1r, fit_intercept, optimal_init):
    """SGD pass with an L1 term (cumulative truncated gradient)."""
    n, d = X.shape
    k = Y.shape[1]
    has_w = sw.shape[0] > 0
    sumloss = np.zeros(k, dtype=np.float64)
    objective = np.zeros(k, dtype=np.float64)
    obj_l2 = 0.5 * alpha * (1.0 - l1r)
    obj_l1 = alpha * l1r
    for ii in range(n):
        _prefetch_sample(X, Y, order, ii + _PREFETCH_DISTANCE)
        i = order[ii]
        x = X[i]
        eta_t = _sgd_rate(lr_code, t, eta0, power_t, alpha, optimal_init)
        wi = sw[i] if has_w else 1.0
        for c in range(k):
            w = W[c]
            p = 0.0
            sq = 0.0
            ab = 0.0
            for j in range(d):
                p += w[j] * x[j]
                sq += w[j] * w[j]
                ab += abs(w[j])
            r = p + b[c] - Y[i, c]
            sumloss[c] += 0.5 * r * r
            objective[c] += 0.5 * r * r + obj_l2 * sq + obj_l1 * ab
            if not active[c]:
                continue
            eta = eta_adaptive[c] if lr_code == 3 else eta_t
            step = -eta * _clip(r) * wi
            sc = max(0.0, 1.0 - (1.0 - l1r) * eta * alpha)
            if fit_intercept:
                b[c] += step
            uc = u[c] + l1r * eta * alpha
            u[c] = uc
            qc = q[c]
            for j in range(d):
                z = w[j] * sc + step * x[j]
                if z > 0.0:
                    wj = max(0.0, z - (uc + qc[j]))
                elif z < 0.0:
                    wj = min(0.0, z + (uc - qc[j]))
                else:
                    wj = z
                qc[j] += wj - z
                w[j] = wj
        t += 1.0
    return t, sumloss, objective
