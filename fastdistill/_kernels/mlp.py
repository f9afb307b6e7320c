"""Compiled kernels for multi-layer perceptrons.

A network with layer sizes ``sizes = [d, h1, ..., out]`` keeps all its
parameters in one flat array ``params`` (per layer: the (fan_in, fan_out)
weight matrix, row-major, then the fan_out biases; offsets from
:func:`param_offsets`). Optimiser state (Adam moments, SGD velocities) and
gradients use the same layout.

A whole epoch - shuffle, every minibatch's forward and backward pass and the
optimiser step - runs inside :func:`train_epoch`: no Python per minibatch.
Each minibatch is split into ``n_chunks`` row chunks (a number fixed by the
network's shape and the batch size, see :func:`train_chunks`, never by the
thread count). A chunk gathers its rows (prefetched ahead: the epoch visits
them in random order), runs the forward pass, the output delta fused with
the loss and the bias gradient, and the backward pass into its own buffer of
*raw* gradient sums. One fused pass then merges the chunk buffers in chunk
order, scales them (``(sum + alpha W) / m``, scikit-learn's gradient),
applies Adam or SGD in place and sums ``||W||^2`` of the new weights for the
next batch's L2 loss term. With several chunks, the chunks (and, from
``_PARALLEL_STEP`` parameters, parts of the step) run in parallel with
single-threaded BLAS inside each, on a team of threads that stays in one
parallel region for the whole epoch (:mod:`._team`: two barriers per
minibatch, where starting Numba's threads for every minibatch cost more than
a small network's whole minibatch); results are bit-identical for any
thread count.

Activations and deltas of hidden and output layers are stored
feature-major: a layer's block for a chunk of m rows is an (n_features, m)
array, so every elementwise loop (bias and activation, derivative, output
delta and loss, softmax) runs along the rows, contiguous and vectorised
whatever the layer's width; narrow layers pay no per-row loop overhead.
The input rows are gathered row-major (contiguous copies; prediction reads
X's rows in place) and both input-layer GEMMs take them transposed. Layer
products use BLAS GEMM (``np.dot`` in nopython mode) or compiled loops
(four outputs times four inputs per pass over the rows; weight gradients
four by two dot products), chosen by measurement. Microseconds per product,
200 rows, float64, one core (loops / BLAS)::

    fan_in x fan_out   forward        weight gradient   input delta
       20 x   1        0.28 /  0.38     0.42 /  0.31      0.92 /  0.53
       64 x   1        0.94 /  0.96     1.21 /  0.98      2.12 /  1.34
      256 x   1        5.06 /  5.33     6.18 /  4.22      8.48 /  5.42
       20 x  10        1.83 /  1.53     1.74 /  1.53      2.71 /  1.67
       64 x  10        5.72 /  4.54     5.55 /  4.73      6.77 /  4.96
       32 x  32        8.75 /  7.49     8.59 /  7.41      8.49 /  7.41
       20 x  64       10.58 /  9.57    11.70 / 14.82      9.38 /  8.95
       50 x  64       26.16 / 22.61    34.01 / 30.87     25.00 / 22.24
       64 x  64       30.19 / 28.62    33.75 / 38.89     33.66 / 28.64
      128 x 128      118.36 /130.24   136.53 /138.02    121.67 /130.00

GEMM's call overhead is small enough that it wins down to 20 -> 10; the
loops win the forward product of one-output layers (a GEMM degenerates into
matrix-vector products there) and the weight gradient of wide layers with
few inputs (BLAS's form with the rows contiguous in both operands is its
slow one); they match BLAS from about 128 x 128 up, where the choice is
left to BLAS. For the input layer, BLAS on the row-major rows beats both
for the weight gradient (20 -> 64: 10.8 us, 50 -> 64: 25.0 us; 20 -> 256
at 100 rows: 21.7 us against 27.7 us with loops) at a small cost in the
forward product (20 -> 10: 2.6 against 1.7 us).

Codes: activation 0 identity, 1 logistic, 2 tanh, 3 relu; output 0
identity, 1 logistic, 2 softmax (-1: none, the raw logits); loss 0 squared
error, 1 binary log-loss, 2 multiclass log-loss, 3 distillation (soft
targets at a temperature mixed with hard labels, see :func:`_output_delta`);
solver 0 sgd, 1 adam.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import jit
from ._intrinsics import prefetch_row
from ._math import exp_neg as _exp_neg
from ._random import shuffle_inplace
from ._team import SYNC_SIZE, barrier, join

__all__ = ["param_offsets", "train_chunks", "forward", "train_epoch", "loss_and_grad"]

#: Rows prefetched ahead of the one being gathered.
_AHEAD = 16
#: Multiply-adds per chunk (rows x weights) below which a minibatch is not
#: split into more than two chunks. Two chunks pay for any network (the team
#: of :mod:`._team` hands a minibatch over in two barriers; microseconds per
#: 200-row minibatch, one chunk / two: 5 -> 5 -> 1 5.9 / 5.5, 20 -> 10 -> 1
#: 11.2 / 8.1, 50 -> 64 -> 10 88 / 54); four need work for four threads.
_CHUNK_WORK = 1 << 17
#: Fewest rows per chunk.
_CHUNK_ROWS = 64
#: Parameters from which the optimiser step runs in ``n_chunks`` parallel
#: parts (fewer: one part). Splitting the step pays well below the cost of its
#: arithmetic alone: a serial step also pulls the other chunk's gradient
#: buffer across cores and pushes the new weights back. Microseconds per
#: minibatch (50 -> 64 -> 10 classifier, 3,914 parameters, two chunks):
#: 66-78 with a serial step, 58-65 split; 20 -> 64 -> 1 (1,409): about even.
_PARALLEL_STEP = 1 << 10


def param_offsets(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Offsets of each layer's weights and biases in the flat parameter array.

    Parameters
    ----------
    sizes : ndarray of int64, shape (n_layers + 1,)
        Layer widths, input first.

    Returns
    -------
    w_off, b_off : ndarray of int64, shape (n_layers,)
        Start of each weight matrix and bias vector.
    total : int
        Number of parameters.
    """
    n_layers = len(sizes) - 1
    w_off = np.empty(n_layers, dtype=np.int64)
    b_off = np.empty(n_layers, dtype=np.int64)
    pos = 0
    for i in range(n_layers):
        w_off[i] = pos
        pos += int(sizes[i] * sizes[i + 1])
        b_off[i] = pos
        pos += int(sizes[i + 1])
    return w_off, b_off, pos


def train_chunks(sizes: np.ndarray, batch_rows: int) -> int:
    """Return the number of row chunks each minibatch is split into.

    A function of the network's shape and the batch size only (so results
    never depend on the thread count): 1, 2 or 4 chunks of at least
    ``_CHUNK_ROWS`` rows; four only when each is worth at least
    ``_CHUNK_WORK`` multiply-adds.

    Parameters
    ----------
    sizes : ndarray of int64
        Layer widths, input first.
    batch_rows : int
        Minibatch size.

    Returns
    -------
    n_chunks : int
    """
    weights = int(np.sum(sizes[:-1] * sizes[1:]))
    chunks = 1
    while (chunks < 4 and batch_rows // (2 * chunks) >= _CHUNK_ROWS
           and (chunks == 1 or batch_rows * weights // (2 * chunks) >= _CHUNK_WORK)):
        chunks *= 2
    return chunks


# ------------------------------------------------------------------ pieces
#
# Activations and deltas are stored feature-major: a layer's block for a
# chunk of m rows is an (n_features, m) array, so every loop below runs
# along the rows of the chunk (contiguous, vectorised whatever the layer
# widths) and no loop is as short as a narrow layer.

@jit(internal=True)
def _gather(X, Y, order, start, m, A0, YT):
    """A0[i] = X[order[start + i]] (row-major), YT[:, i] = Y[order[start + i]], i < m.

    Rows ``_AHEAD`` positions further on are prefetched, also past the chunk:
    the next chunk or batch starts with them in cache. Returns the sum of
    ``x * 0`` over the copied values: 0, or NaN if any of them is NaN or
    infinite (the caller adds it to the loss, so training on unchecked input
    stops at the first non-finite value; NaN/inf are never assumed away).
    """
    n = order.shape[0]
    d = X.shape[1]
    k = Y.shape[1]
    zero = A0.dtype.type(0.0)
    check = zero
    for i in range(m):
        ahead = start + i + _AHEAD
        if ahead < n:
            r2 = order[ahead]
            prefetch_row(X, r2)
            prefetch_row(Y, r2)
        r = order[start + i]
        for j in range(d):
            v = X[r, j]
            A0[i, j] = v
            check += v * zero
        for j in range(k):
            YT[j, i] = Y[r, j]
    return check


@jit(internal=True)
def _loops_forward(fi, fo):
    """Forward product by compiled loops (else BLAS): one-output layers."""
    return fo == 1


@jit(internal=True)
def _loops_grad(fi, fo):
    """Weight gradient by compiled loops (else BLAS): wide layers with few inputs."""
    return fo >= 64 and fi <= 32


@jit(internal=True)
def _coef(C, trans, r, o):
    return C[o, r] if trans else C[r, o]


@jit(internal=True)
def _combine(C, trans, In, Out):
    """Out[o, :] = sum_r c(r, o) In[r, :] with c(r, o) = C[r, o] (or C[o, r] if trans).

    Compiled loops over the m columns; four outputs times four inputs per
    pass, so each loaded input vector feeds four multiply-adds.
    """
    n_in, m = In.shape
    n_out = Out.shape[0]
    zero = Out.dtype.type(0.0)
    o = 0
    while o + 4 <= n_out:
        z0 = Out[o]
        z1 = Out[o + 1]
        z2 = Out[o + 2]
        z3 = Out[o + 3]
        for i in range(m):
            z0[i] = zero
            z1[i] = zero
            z2[i] = zero
            z3[i] = zero
        r = 0
        while r + 4 <= n_in:
            a0 = In[r]
            a1 = In[r + 1]
            a2 = In[r + 2]
            a3 = In[r + 3]
            c00 = _coef(C, trans, r, o)
            c01 = _coef(C, trans, r, o + 1)
            c02 = _coef(C, trans, r, o + 2)
            c03 = _coef(C, trans, r, o + 3)
            c10 = _coef(C, trans, r + 1, o)
            c11 = _coef(C, trans, r + 1, o + 1)
            c12 = _coef(C, trans, r + 1, o + 2)
            c13 = _coef(C, trans, r + 1, o + 3)
            c20 = _coef(C, trans, r + 2, o)
            c21 = _coef(C, trans, r + 2, o + 1)
            c22 = _coef(C, trans, r + 2, o + 2)
            c23 = _coef(C, trans, r + 2, o + 3)
            c30 = _coef(C, trans, r + 3, o)
            c31 = _coef(C, trans, r + 3, o + 1)
            c32 = _coef(C, trans, r + 3, o + 2)
            c33 = _coef(C, trans, r + 3, o + 3)
            for i in range(m):
                x0 = a0[i]
                x1 = a1[i]
                x2 = a2[i]
                x3 = a3[i]
                z0[i] += c00 * x0 + c10 * x1 + c20 * x2 + c30 * x3
                z1[i] += c01 * x0 + c11 * x1 + c21 * x2 + c31 * x3
                z2[i] += c02 * x0 + c12 * x1 + c22 * x2 + c32 * x3
                z3[i] += c03 * x0 + c13 * x1 + c23 * x2 + c33 * x3
            r += 4
        while r < n_in:
            a0 = In[r]
            c00 = _coef(C, trans, r, o)
            c01 = _coef(C, trans, r, o + 1)
            c02 = _coef(C, trans, r, o + 2)
            c03 = _coef(C, trans, r, o + 3)
            for i in range(m):
                x0 = a0[i]
                z0[i] += c00 * x0
                z1[i] += c01 * x0
                z2[i] += c02 * x0
                z3[i] += c03 * x0
            r += 1
        o += 4
    while o < n_out:
        z0 = Out[o]
        for i in range(m):
            z0[i] = zero
        r = 0
        while r + 4 <= n_in:
            a0 = In[r]
            a1 = In[r + 1]
            a2 = In[r + 2]
            a3 = In[r + 3]
            c0 = _coef(C, trans, r, o)
            c1 = _coef(C, trans, r + 1, o)
            c2 = _coef(C, trans, r + 2, o)
            c3 = _coef(C, trans, r + 3, o)
            for i in range(m):
                z0[i] += c0 * a0[i] + c1 * a1[i] + c2 * a2[i] + c3 * a3[i]
            r += 4
        while r < n_in:
            a0 = In[r]
            c0 = _coef(C, trans, r, o)
            for i in range(m):
                z0[i] += c0 * a0[i]
            r += 1
        o += 1


@jit(internal=True)
def _cross(AT, DT, G):
    """G[k, j] = sum_i AT[k, i] DT[j, i] (compiled loops, 4 x 2 blocks)."""
    fi, m = AT.shape
    fo = DT.shape[0]
    zero = G.dtype.type(0.0)
    k = 0
    while k + 4 <= fi:
        a0 = AT[k]
        a1 = AT[k + 1]
        a2 = AT[k + 2]
        a3 = AT[k + 3]
        j = 0
        while j + 2 <= fo:
            d0 = DT[j]
            d1 = DT[j + 1]
            s00 = zero
            s01 = zero
            s10 = zero
            s11 = zero
            s20 = zero
            s21 = zero
            s30 = zero
            s31 = zero
            for i in range(m):
                e0 = d0[i]
                e1 = d1[i]
                s00 += a0[i] * e0
                s01 += a0[i] * e1
                s10 += a1[i] * e0
                s11 += a1[i] * e1
                s20 += a2[i] * e0
                s21 += a2[i] * e1
                s30 += a3[i] * e0
                s31 += a3[i] * e1
            G[k, j] = s00
            G[k, j + 1] = s01
            G[k + 1, j] = s10
            G[k + 1, j + 1] = s11
            G[k + 2, j] = s20
            G[k + 2, j + 1] = s21
            G[k + 3, j] = s30
            G[k + 3, j + 1] = s31
            j += 2
        if j < fo:
            d0 = DT[j]
            s00 = zero
            s10 = zero
            s20 = zero
            s30 = zero
            for i in range(m):
                e0 = d0[i]
                s00 += a0[i] * e0
                s10 += a1[i] * e0
                s20 += a2[i] * e0
                s30 += a3[i] * e0
            G[k, j] = s00
            G[k + 1, j] = s10
            G[k + 2, j] = s20
            G[k + 3, j] = s30
        k += 4
    while k < fi:
        a0 = AT[k]
        for j in range(fo):
            d0 = DT[j]
            s = zero
            for i in range(m):
                s += a0[i] * d0[i]
            G[k, j] = s
        k += 1


@jit(internal=True)
def _linear(W, AT, ZT):
    """ZT = W^T AT (no bias): compiled loops for small layers, else BLAS."""
    if _loops_forward(W.shape[0], W.shape[1]):
        _combine(W, False, AT, ZT)
    else:
        np.dot(W.T, AT, ZT)


@jit(internal=True)
def _input_linear(W, A0, ZT):
    """ZT = W^T A0^T for the row-major input rows A0 (no bias)."""
    m, fi = A0.shape
    if _loops_forward(fi, W.shape[1]):
        w = W[:, 0]
        z = ZT[0]
        zero = ZT.dtype.type(0.0)
        for i in range(m):
            s = zero
            for k in range(fi):
                s += A0[i, k] * w[k]
            z[i] = s
    else:
        np.dot(W.T, A0.T, ZT)


@jit(internal=True)
def _bias_act(ZT, b, code):
    """ZT = act(ZT + b) (code -1 or 0: no activation)."""
    n, m = ZT.shape
    one = ZT.dtype.type(1.0)
    zero = ZT.dtype.type(0.0)
    for j in range(n):
        z = ZT[j]
        bj = b[j]
        if code == 3:
            for i in range(m):
                z[i] = max(z[i] + bj, zero)
        elif code == 2:
            for i in range(m):
                z[i] = np.tanh(z[i] + bj)
        elif code == 1:
            for i in range(m):
                v = z[i] + bj
                # logistic, without overflow for large |v|
                e = ZT.dtype.type(_exp_neg(-abs(v)))
                z[i] = one / (one + e) if v >= 0 else e / (one + e)
        else:
            for i in range(m):
                z[i] += bj


@jit(internal=True)
def _softmax_t(ZT, b, tmp):
    """Column-wise softmax of ZT + b in place (tmp: two scratch rows)."""
    n, m = ZT.shape
    mx = tmp[0, :m]
    tot = tmp[1, :m]
    zero = ZT.dtype.type(0.0)
    for i in range(m):
        mx[i] = ZT[0, i] + b[0]
        tot[i] = zero
    for j in range(n):
        z = ZT[j]
        bj = b[j]
        for i in range(m):
            v = z[i] + bj
            z[i] = v
            mx[i] = max(mx[i], v)
    for j in range(n):
        z = ZT[j]
        for i in range(m):
            e = ZT.dtype.type(_exp_neg(z[i] - mx[i]))
            z[i] = e
            tot[i] += e
    for j in range(n):
        z = ZT[j]
        for i in range(m):
            z[i] /= tot[i]


@jit(internal=True)
def _output_delta(ZT, b, YT, DT, gb, tmp, output, loss, temperature):
    """Output activation in place, delta ``P - Y`` into DT, bias-gradient sums into gb.

    ZT holds the last layer's pre-activation without bias. Returns the summed
    data loss of the columns (scikit-learn's per-sample loss, unnormalised).
    Loss 3 (softmax output) is :func:`_distill_delta`'s.
    """
    n, m = ZT.shape
    one = ZT.dtype.type(1.0)
    zero = ZT.dtype.type(0.0)
    lo = np.finfo(ZT.dtype).eps
    if output == 2:
        _softmax_t(ZT, b, tmp)
    else:
        _bias_act(ZT, b, output)
    if loss == 3:
        return _distill_delta(ZT, YT, DT, gb, temperature)
    s = 0.0
    for j in range(n):
        p = ZT[j]
        y = YT[j]
        d = DT[j]
        acc = zero
        for i in range(m):
            v = p[i] - y[i]
            d[i] = v
            acc += v
        gb[j] = acc
        if loss == 0:
            for i in range(m):
                s += d[i] * d[i]
        elif loss == 1:
            for i in range(m):
                pc = min(max(p[i], lo), one - lo)
                if y[i] == 1:
                    s -= np.log(pc)
                elif y[i] == 0:
                    s -= np.log(one - pc)
                else:
                    s -= y[i] * np.log(pc) + (one - y[i]) * np.log(one - pc)
        else:
            for i in range(m):
                if y[i] != 0:
                    s -= y[i] * np.log(min(max(p[i], lo), one - lo))
    return s


@jit(internal=True)
def _distill_delta(QT, YT, DT, gb, temperature):
    """Delta and loss of Hinton et al.'s distillation loss, with its ``T^2`` scaling.

    The network's outputs ``u`` are the student's logits divided by ``T``
    (``QT`` holds ``q = softmax(u)``, the student's probabilities at
    temperature ``T``). ``YT`` has ``2 k`` rows: soft targets ``S`` (the
    teacher's probabilities at ``T``, each column weighted: ``s = sum S``)
    and hard targets ``H`` (one-hot labels weighted by ``alpha``, or zero).
    Per column the loss is

        ``-sum S log q - sum H log r / T^2``,  ``r = softmax(T u)``,

    which is Hinton et al.'s ``s T^2 CE(p_T, softmax(z / T)) + alpha
    CE(y, softmax(z))`` for logits ``z = T u``, divided by ``T^2``; its
    gradient in ``u`` is ``s q - S + (h r - H) / T`` with ``h = sum H``.
    ``r`` is computed from ``q`` as ``(q / max q)^T`` normalised.
    """
    k, m = QT.shape
    zero = QT.dtype.type(0.0)
    lo = np.finfo(QT.dtype).eps
    t = QT.dtype.type(temperature)
    inv_t = QT.dtype.type(1.0 / temperature)
    inv_t2 = 1.0 / (temperature * temperature)
    s = 0.0
    for i in range(m):
        qmax = zero
        ws = zero
        wh = zero
        for j in range(k):
            qmax = max(qmax, QT[j, i])
            ws += YT[j, i]
            wh += YT[k + j, i]
        if wh == zero:  # no label on this row (most rows): the soft term alone
            for j in range(k):
                q = QT[j, i]
                DT[j, i] = ws * q - YT[j, i]
                if YT[j, i] != 0:
                    s -= YT[j, i] * np.log(max(q, lo))
            continue
        tot = zero
        for j in range(k):
            r = QT[j, i] / qmax
            r = np.exp(t * np.log(r)) if r > zero else zero
            DT[j, i] = r
            tot += r
        for j in range(k):
            q = QT[j, i]
            r = DT[j, i] / tot
            h = YT[k + j, i]
            DT[j, i] = ws * q - YT[j, i] + (wh * r - h) * inv_t
            if YT[j, i] != 0:
                s -= YT[j, i] * np.log(max(q, lo))
            if h != 0:
                s -= inv_t2 * h * np.log(max(r, lo))
    for j in range(k):
        acc = zero
        for i in range(m):
            acc += DT[j, i]
        gb[j] = acc
    return s


@jit(internal=True)
def _weight_grad(W, AT, DT, G):
    """G = AT DT^T, the raw sum over the chunk's rows."""
    if _loops_grad(W.shape[0], W.shape[1]):
        _cross(AT, DT, G)
    else:
        np.dot(AT, DT.T, G)


@jit(internal=True)
def _input_delta(W, DT, AT, code, DpT, gb):
    """DpT = (W DT) * act'(AT) (act' through the activation's output AT).

    Also writes the previous layer's bias-gradient sums (row sums of DpT)
    into gb.
    """
    fi, m = AT.shape
    np.dot(W, DT, DpT)
    one = AT.dtype.type(1.0)
    zero = AT.dtype.type(0.0)
    for k in range(fi):
        a = AT[k]
        dp = DpT[k]
        acc = zero
        if code == 3:
            for i in range(m):
                v = dp[i] if a[i] > 0 else zero
                dp[i] = v
                acc += v
        elif code == 2:
            for i in range(m):
                v = dp[i] * (one - a[i] * a[i])
                dp[i] = v
                acc += v
        elif code == 1:
            for i in range(m):
                v = dp[i] * (a[i] * (one - a[i]))
                dp[i] = v
                acc += v
        else:
            for i in range(m):
                acc += dp[i]
        gb[k] = acc


@jit(internal=True)
def _weights(params, w_off, sizes, li):
    fi = sizes[li]
    fo = sizes[li + 1]
    return params[w_off[li] : w_off[li] + fi * fo].reshape(fi, fo)


@jit(internal=True)
def _forward_t(params, sizes, w_off, b_off, A0, acts, tmp, hidden, output):
    """Forward pass of the rows A0 (row-major); returns the output block (feature-major).

    ``acts`` holds the hidden and output blocks; ``output`` -1 leaves the last
    layer's raw pre-activation (with bias).
    """
    n_layers = sizes.shape[0] - 1
    m = A0.shape[0]
    off = 0
    for li in range(n_layers):
        fi = sizes[li]
        fo = sizes[li + 1]
        ZT = acts[off : off + fo * m].reshape(fo, m)
        W = _weights(params, w_off, sizes, li)
        if li == 0:
            _input_linear(W, A0, ZT)
        else:
            _linear(W, acts[off - fi * m : off].reshape(fi, m), ZT)
        off += fo * m
        b = params[b_off[li] : b_off[li] + fo]
        if li < n_layers - 1:
            _bias_act(ZT, b, hidden)
        elif output == 2:
            _softmax_t(ZT, b, tmp)
        else:
            _bias_act(ZT, b, output)
    return acts[off - sizes[n_layers] * m : off].reshape(sizes[n_layers], m)


@jit(internal=True)
def _chunk_pass(X, Y, order, start, m, params, g, sizes, w_off, b_off, acts, deltas, tmp,
                hidden, output, loss, temperature):
    """Forward and backward pass of rows order[start:start + m].

    Raw gradient sums (``A^T D`` and the sums of D over the rows; no L2 term,
    no 1/m) go into g; returns the summed data loss of the rows. The input
    rows are gathered row-major into the head of ``acts`` (both input-layer
    products are faster in that layout), the other layers' blocks follow
    feature-major. ``tmp`` holds at least 2 + ``Y.shape[1]`` rows of m
    scratch values (``Y`` has 2 n_outputs columns with loss 3).
    """
    n_layers = sizes.shape[0] - 1
    d = sizes[0]
    n_out = sizes[n_layers]
    YT = tmp[2 : 2 + Y.shape[1], :m]
    A0 = acts[0 : m * d].reshape(m, d)
    check = _gather(X, Y, order, start, m, A0, YT)  # NaN if X has NaN/inf there
    # Forward; the output layer's bias and activation are fused with the delta.
    off = m * d
    for li in range(n_layers):
        fi = sizes[li]
        fo = sizes[li + 1]
        ZT = acts[off : off + fo * m].reshape(fo, m)
        W = _weights(params, w_off, sizes, li)
        if li == 0:
            _input_linear(W, A0, ZT)
        else:
            _linear(W, acts[off - fi * m : off].reshape(fi, m), ZT)
        if li < n_layers - 1:
            _bias_act(ZT, params[b_off[li] : b_off[li] + fo], hidden)
        off += fo * m
    L = n_layers - 1
    off -= n_out * m
    DT = deltas[off : off + n_out * m].reshape(n_out, m)
    s = _output_delta(acts[off : off + n_out * m].reshape(n_out, m),
                      params[b_off[L] : b_off[L] + n_out], YT, DT,
                      g[b_off[L] : b_off[L] + n_out], tmp, output, loss, temperature)
    # Backward; off is the start of layer li + 1's block.
    for li in range(n_layers - 1, 0, -1):
        fi = sizes[li]
        fo = sizes[li + 1]
        off -= fi * m
        AT = acts[off : off + fi * m].reshape(fi, m)
        W = _weights(params, w_off, sizes, li)
        _weight_grad(W, AT, DT, g[w_off[li] : w_off[li] + fi * fo].reshape(fi, fo))
        DpT = deltas[off : off + fi * m].reshape(fi, m)
        _input_delta(W, DT, AT, hidden, DpT, g[b_off[li - 1] : b_off[li - 1] + fi])
        DT = DpT
    # Input layer: G = A0^T D^T straight from the row-major rows.
    np.dot(A0.T, DT.T, g[w_off[0] : w_off[0] + d * sizes[1]].reshape(d, sizes[1]))
    return s + check


@jit(internal=True)
def _segments(sizes, w_off, b_off, n_parts):
    """Split the parameters into ``n_parts`` near-equal contiguous parts.

    Returns ``seg`` (rows: start, stop, is_weight), each part cut at the
    weight/bias boundaries, and ``first`` (part p owns the rows
    ``first[p]:first[p + 1]``).
    """
    n_layers = sizes.shape[0] - 1
    total = b_off[n_layers - 1] + sizes[n_layers]
    seg = np.empty((2 * n_layers * n_parts, 3), dtype=np.int64)
    first = np.empty(n_parts + 1, dtype=np.int64)
    pos = 0
    for part in range(n_parts):
        first[part] = pos
        p_lo = total * part // n_parts
        p_hi = total * (part + 1) // n_parts
        for li in range(n_layers):
            for lo, hi, w in ((w_off[li], w_off[li] + sizes[li] * sizes[li + 1], 1),
                              (b_off[li], b_off[li] + sizes[li + 1], 0)):
                a = max(lo, p_lo)
                b = min(hi, p_hi)
                if a < b:
                    seg[pos, 0] = a
                    seg[pos, 1] = b
                    seg[pos, 2] = w
                    pos += 1
    first[n_parts] = pos
    return seg, first


@jit(internal=True)
def _step_range(params, grads, state1, state2, lo, hi, alpha, inv_m, solver, lr, lr_t,
                beta1, c1, beta2, c2, eps, momentum, nesterov):
    """One optimiser step on params[lo:hi], from the chunks' raw gradient sums.

    The gradient is ``(sum_c grads[c] + alpha * p) * inv_m`` (``alpha`` 0 for
    biases), summed in chunk order; ``grads`` has at least two rows (the
    second all zeros with a single chunk). One fused pass: merge, scale,
    Adam or SGD, and the sum of squares of the new values, which is returned.
    Scalars have the parameters' dtype (``c1 = 1 - beta1`` and ``c2 = 1 -
    beta2`` rounded once, as NumPy does).
    """
    p = params[lo:hi]
    g0 = grads[0, lo:hi]
    g1 = grads[1, lo:hi]
    for c in range(2, grads.shape[0]):
        gc = grads[c, lo:hi]
        for q in range(hi - lo):
            g1[q] += gc[q]
    s1 = state1[lo:hi]
    s2 = state2[lo:hi]
    sq = 0.0
    if solver == 1:
        for q in range(hi - lo):
            g = ((g0[q] + g1[q]) + alpha * p[q]) * inv_m
            m1 = beta1 * s1[q] + c1 * g
            v = beta2 * s2[q] + c2 * (g * g)
            s1[q] = m1
            s2[q] = v
            new = p[q] + -lr_t * m1 / (np.sqrt(v) + eps)
            p[q] = new
            sq += new * new
    else:
        for q in range(hi - lo):
            g = ((g0[q] + g1[q]) + alpha * p[q]) * inv_m
            vel = momentum * s1[q] - lr * g
            s1[q] = vel
            # Nesterov: p += momentum * vel - lr * g; plain momentum: p += vel.
            new = p[q] + (momentum * vel - lr * g if nesterov else vel)
            p[q] = new
            sq += new * new
    return sq


@jit(internal=True)
def _step_part(params, grads, state1, state2, seg, s0, s1, alpha, inv_m, solver, lr, lr_t,
               beta1, c1, beta2, c2, eps, momentum, nesterov):
    """Step the segments seg[s0:s1]; returns ||new weights||^2 over them."""
    zero = params.dtype.type(0.0)
    sq = 0.0
    for s in range(s0, s1):
        is_weight = seg[s, 2] == 1
        part = _step_range(params, grads, state1, state2, seg[s, 0], seg[s, 1],
                           alpha if is_weight else zero, inv_m, solver, lr, lr_t, beta1, c1,
                           beta2, c2, eps, momentum, nesterov)
        if is_weight:
            sq += part
    return sq


@jit(internal=True)
def _weight_sq(params, sizes, w_off):
    s = 0.0
    for li in range(sizes.shape[0] - 1):
        w = params[w_off[li] : w_off[li] + sizes[li] * sizes[li + 1]]
        for q in range(w.shape[0]):
            s += w[q] * w[q]
    return s


# ----------------------------------------------------------------- kernels

@jit(internal=True)
def _epoch_batches(tid, n_team, sync, X, Y, order, params, state1, state2, sizes, w_off,
                   b_off, hidden, output, loss, alpha, batch_size, solver, lr, beta1, beta2,
                   eps, momentum, nesterov, adam_t, n_chunks, acts, deltas, tmp, grads, losses,
                   seg, first, sq_parts, sq_w, result, temperature):
    """Run the minibatches of one epoch as member ``tid`` of a team of ``n_team`` threads.

    Member ``tid`` runs the row chunks ``tid, tid + n_team, ...`` of every
    minibatch, then the optimiser-step parts numbered the same way, with a
    :func:`~._team.barrier` after each phase; a team of one runs them all in
    turn. When the team's waiting dominates (see :mod:`._team`), the members
    other than 0 leave after a minibatch and member 0 runs the rest of the
    epoch alone. Every member computes the batch losses, the step count and
    ``||W||^2`` from the shared per-chunk and per-part values in the same
    order, so all agree (and stop together on a non-finite loss) and the
    result does not depend on the team size. Member 0 writes (summed loss,
    Adam step count, stopped) into ``result``.
    """
    n = order.shape[0]
    n_out = Y.shape[1]
    rows = min(batch_size, n)
    n_parts = first.shape[0] - 1
    # Hyperparameters in the parameters' dtype, rounded once (as NumPy's weak
    # Python scalars are): the float32 path computes in float32.
    dt = params.dtype.type
    alpha_, lr_, eps_, mom_ = dt(alpha), dt(lr), dt(eps), dt(momentum)
    beta1_, c1_, beta2_, c2_ = dt(beta1), dt(1.0 - beta1), dt(beta2), dt(1.0 - beta2)
    total = 0.0
    stopped = False
    for start in range(0, n, rows):
        m = min(rows, n - start)
        mc = (m + n_chunks - 1) // n_chunks
        for c in range(tid, n_chunks, n_team):
            lo = min(m, c * mc)
            mi = min(m, lo + mc) - lo
            if mi > 0:
                losses[c] = _chunk_pass(X, Y, order, start + lo, mi, params, grads[c], sizes,
                                        w_off, b_off, acts[c], deltas[c], tmp[c], hidden,
                                        output, loss, temperature)
            else:
                losses[c] = 0.0
                grads[c, :] = 0.0
        if n_team > 1:
            barrier(sync, n_team)
        data = 0.0
        for c in range(n_chunks):
            data += losses[c]
        data = data / (2.0 * m * n_out) if loss == 0 else data / m
        batch_loss = data + 0.5 * alpha * sq_w / m
        if not np.isfinite(batch_loss):
            stopped = True
            break
        # A finite batch loss means finite activations and gradients; a step
        # can still overflow (an SGD velocity, Adam's squared gradients), which
        # _epoch_result checks once at the end of the epoch.
        adam_t += 1
        lr_t = lr_
        if solver == 1:
            lr_t = dt(lr * np.sqrt(1.0 - beta2**adam_t) / (1.0 - beta1**adam_t))
        inv_m = dt(1.0 / m)
        for part in range(tid, n_parts, n_team):
            sq_parts[part] = _step_part(params, grads, state1, state2, seg, first[part],
                                        first[part + 1], alpha_, inv_m, solver, lr_, lr_t,
                                        beta1_, c1_, beta2_, c2_, eps_, mom_, nesterov)
        if n_team > 1 and not barrier(sync, n_team):
            # The team waits more than it works (other processes hold the
            # cores): member 0 carries on alone, with the same chunks.
            if tid != 0:
                return
            n_team = 1
        sq_w = 0.0
        for part in range(n_parts):
            sq_w += sq_parts[part]
        total += batch_loss * m
    if tid == 0:
        result[0] = total
        result[1] = adam_t
        result[2] = 1.0 if stopped else 0.0


@jit(internal=True)
def _epoch_buffers(params, sizes, w_off, b_off, n_out, rows, n_chunks):
    """Allocate the work arrays of :func:`train_epoch`.

    Per-chunk activations, deltas and gradients, the step's parts, the
    result and the team's sync slots.
    """
    chunk_rows = (rows + n_chunks - 1) // n_chunks
    width = 0
    for li in range(sizes.shape[0]):
        width += sizes[li]
    n_params = params.shape[0]
    acts = np.empty((n_chunks, chunk_rows * width), dtype=params.dtype)
    deltas = np.empty((n_chunks, chunk_rows * width), dtype=params.dtype)
    tmp = np.empty((n_chunks, 2 + n_out, chunk_rows), dtype=params.dtype)
    grads = np.empty((max(n_chunks, 2), n_params), dtype=params.dtype)
    grads[1, :] = 0.0  # stays zero with one chunk (the step always adds two rows)
    losses = np.zeros(n_chunks)
    n_parts = n_chunks if n_params >= _PARALLEL_STEP else 1
    seg, first = _segments(sizes, w_off, b_off, n_parts)
    sq_parts = np.zeros(n_parts)
    result = np.zeros(3)
    sync = np.zeros(SYNC_SIZE, dtype=np.int64)
    return acts, deltas, tmp, grads, losses, seg, first, sq_parts, result, sync


@jit(internal=True)
def _copy_rows(out, a, b, c):
    """out[0], out[1], out[2] = a, b, c (a call: not reordered across the prange).

    Element loops: a slice assignment would compile Numba's shape-mismatch
    error message (string formatting: seconds of compilation).
    """
    for q in range(out.shape[1]):
        out[0, q] = a[q]
        out[1, q] = b[q]
        out[2, q] = c[q]


@jit(internal=True)
def _epoch_result(result, params, state1, state2, backup, adam_t):
    """Return (summed loss, Adam step count) of an epoch; undo it if it stopped or overflowed.

    The epoch is undone - parameters, optimiser state (rows of ``backup``)
    and step count back to where it started, the loss NaN - when a batch
    loss was not finite or any parameter or optimiser state is not: an
    overflowed SGD velocity or Adam second moment (possible with a finite
    loss) would otherwise freeze or poison every later step.

    A call of its own on purpose: Numba's parfor pass may move plain reads
    of ``result`` above the ``prange`` that writes it through a call (it
    does not see such writes), a call with side effects stays in place.
    """
    ok = result[2] == 0.0
    for q in range(params.shape[0]):
        if not (np.isfinite(params[q]) and np.isfinite(state1[q]) and np.isfinite(state2[q])):
            ok = False
            break
    if not ok:
        for q in range(params.shape[0]):  # the epoch's starting point: finite and usable
            params[q] = backup[0, q]
            state1[q] = backup[1, q]
            state2[q] = backup[2, q]
        return np.nan, adam_t
    return result[0], int(result[1])


@jit(parallel=True)
def train_epoch(X, Y, order, rng_state, shuffle, params, state1, state2, sizes, w_off, b_off,
                hidden, output, loss, alpha, batch_size, solver, lr, beta1, beta2, eps,
                momentum, nesterov, adam_t, n_chunks, n_team, temperature):
    """One epoch of minibatch training; returns (summed loss, Adam step count).

    ``order`` (int64, the rows to train on) is shuffled in place when
    ``shuffle``. Every minibatch is split into ``n_chunks`` row chunks (see
    :func:`train_chunks`), each doing its forward and backward pass into its
    own gradient buffer, then one optimiser step (in ``n_chunks`` parts for
    large networks) merges them in chunk order. With ``n_team`` > 1 the
    chunks and parts are shared by a team of that many threads that stays in
    one parallel region for the whole epoch (:mod:`._team`: two barriers per
    minibatch instead of starting threads for each); results are
    bit-identical for any team size. The returned loss is the sum over
    batches of (batch loss + L2 term) times the batch size, as scikit-learn
    accumulates it. Training stops early (returning NaN) when a batch loss is
    not finite, and an epoch in which a parameter or optimiser state
    overflowed returns NaN too; either way parameters, optimiser state and
    the step count are restored to where the epoch started.
    """
    n = order.shape[0]
    n_out = Y.shape[1]
    if shuffle:
        shuffle_inplace(order, rng_state)
    acts, deltas, tmp, grads, losses, seg, first, sq_parts, result, sync = _epoch_buffers(
        params, sizes, w_off, b_off, n_out, min(batch_size, n), n_chunks)
    backup = np.empty((3, params.shape[0]), dtype=params.dtype)
    _copy_rows(backup, params, state1, state2)
    sq_w = _weight_sq(params, sizes, w_off)
    team = max(1, min(n_team, n_chunks))
    # One call site for the whole epoch (a second one, for the team of one,
    # costs seconds of compilation); join() admits a team of one at once.
    for tid in prange(team):
        role = join(sync, team)  # 1: team member, 0: alone, -1: leave
        me = np.int64(tid) if role == 1 else np.int64(0)  # (the index may be unsigned)
        size = np.int64(team) if role == 1 else np.int64(1)
        if role >= 0:
            _epoch_batches(me, size, sync, X, Y, order, params, state1, state2, sizes, w_off,
                           b_off, hidden, output, loss, alpha, batch_size, solver, lr, beta1,
                           beta2, eps, momentum, nesterov, adam_t, n_chunks, acts, deltas, tmp,
                           grads, losses, seg, first, sq_parts, sq_w, result, temperature)
    return _epoch_result(result, params, state1, state2, backup, adam_t)


@jit(parallel=True)
def forward(X, params, sizes, w_off, b_off, hidden, output, chunk_rows):
    """Network outputs for every row of X, chunks of ``chunk_rows`` rows in parallel.

    Each chunk runs its own forward pass (GEMMs on one BLAS thread, with
    activation buffers of its own); rows are independent, so the result does
    not depend on the thread count. ``output`` may be -1 for the raw
    pre-activation of the last layer (logits).
    """
    n = X.shape[0]
    d = X.shape[1]
    n_out = sizes[sizes.shape[0] - 1]
    out = np.empty((n, n_out), dtype=params.dtype)
    rows = min(chunk_rows, max(n, 1))
    width = 0
    for li in range(sizes.shape[0]):
        width += sizes[li]
    n_chunks = (n + rows - 1) // rows
    for ch in prange(n_chunks):
        start = ch * rows
        m = min(rows, n - start)
        acts = np.empty(rows * (width - d), dtype=params.dtype)
        tmp = np.empty((2, rows), dtype=params.dtype)
        PT = _forward_t(params, sizes, w_off, b_off, X[start : start + m], acts, tmp, hidden,
                        output)
        for i in range(m):
            for j in range(n_out):
                out[start + i, j] = PT[j, i]
    return out


@jit
def loss_and_grad(X, Y, params, grads, sizes, w_off, b_off, hidden, output, loss, alpha,
                  chunk_rows, temperature):
    """Full-batch loss (scikit-learn's definition) and its gradient into ``grads``.

    Used by the L-BFGS solver. Works through X in chunks of ``chunk_rows``
    rows, summing the chunks' raw gradients, then scales once.
    """
    n = X.shape[0]
    n_out = Y.shape[1]
    rows = min(chunk_rows, n)
    order = np.arange(n)
    width = 0
    for li in range(sizes.shape[0]):
        width += sizes[li]
    acts = np.empty(rows * width, dtype=params.dtype)
    deltas = np.empty(rows * width, dtype=params.dtype)
    tmp = np.empty((2 + n_out, rows), dtype=params.dtype)
    part = np.empty_like(grads)
    total = 0.0
    grads[:] = 0.0
    for start in range(0, n, rows):
        m = min(rows, n - start)
        total += _chunk_pass(X, Y, order, start, m, params, part, sizes, w_off, b_off, acts,
                             deltas, tmp, hidden, output, loss, temperature)
        for q in range(grads.shape[0]):
            grads[q] += part[q]
    # L2 term on the whole batch: 0.5 * alpha * ||W||^2 / n, gradient alpha W / n.
    for li in range(sizes.shape[0] - 1):
        for q in range(w_off[li], w_off[li] + sizes[li] * sizes[li + 1]):
            grads[q] += alpha * params[q]
    for q in range(grads.shape[0]):
        grads[q] /= n
    data = total / (2.0 * n * n_out) if loss == 0 else total / n
    return data + 0.5 * alpha * _weight_sq(params, sizes, w_off) / n
