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
from ._intrinsics import (
    KPP_ROWS,
    kpp_rows,
    nearest_two,
    nearest_two_rows,
    prefetch_row,
    sq_distances_rows,
)

__all__ = ["lloyd_pass", "lloyd_pass_mixed", "lloyd_bounded_pass", "half_gaps",
           "sq_distances", "kpp_first_pass", "kpp_pass", "kpp_pick", "far_points"]


#: From this many centers on the nearest one is found by the one-sweep vector
#: search :func:`~fastdistill._kernels._intrinsics.nearest_two`; below, a
#: plain compare loop is faster. Measured (one core, rows in cache,
#: nanoseconds per row, float32 / float64): k = 8: 5 / 4 by the loop, 10 / 5
#: by the vector search; k = 16: 11 / 8 against 6 / 6; k = 32: 24 / 17
#: against 7 / 8; k = 256: 114 / 149 by the former integer-key search and
#: second-minimum sweep (four vectorised sweeps) against 36 / 51.
VECTOR_SEARCH_MIN_K = 16


@jit(inline="always")
def _nearest(row, c_norms, xn):
    """First index of the smallest squared distance ``max(xn + c_norms - 2 row, 0)``.

    Below :data:`VECTOR_SEARCH_MIN_K` centers by a compare loop on
    ``c_norms - 2 row`` (the same order up to the clipping at zero and
    rounding), from it on by :func:`nearest_two`. Inlined: a call per row
    would cost more than the search for small k.
    """
    k = row.shape[0]
    if k < VECTOR_SEARCH_MIN_K:  # compare ||c||^2 - 2 x.c, no clipping needed
        best = 0
        bv = c_norms[0] - 2.0 * row[0]
        for c in range(1, k):
            v = c_norms[c] - 2.0 * row[c]
            if v < bv:
                bv = v
                best = c
        return best
    return nearest_two(row, c_norms, xn)[0]


@jit(inline="always")
def _clipped(row, c_norms, xn, c):
    """``max(xn + c_norms[c] - (row[c] + row[c]), 0)``, as :func:`nearest_two` ranks."""
    v = xn + c_norms[c] - (row[c] + row[c])
    return v if v > 0.0 else 0.0


@jit(inline="always")
def _row_products(x, centers_t, out):
    """Return ``out = x @ centers_t`` for one row, summed in feature order.

    The order of :func:`nearest_two_rows` (a row's products for a near tie).
    """
    out[:] = 0.0
    for j in range(x.shape[0]):
        for c in range(out.shape[0]):
            out[c] += x[j] * centers_t[j, c]
    return out


@jit(internal=True)
def _settle_near_tie(row, c_norms, xn, thr, x, centers):
    """Settle a float32 near tie by exact differences.

    Of the centers whose searched distance is at most ``thr``, returns the
    one nearest to the shifted row ``x`` (differences in the dtype of ``x``,
    float64 here); the first on equality.
    """
    bd = np.inf
    best = -1
    for c in range(centers.shape[0]):
        if _clipped(row, c_norms, xn, c) <= thr:
            e2 = 0.0
            for j in range(x.shape[0]):
                t = x[j] - centers[c, j]
                e2 += t * t
            if e2 < bd:
                bd = e2
                best = c
    return best


@jit(parallel=True)
def lloyd_pass(X, sw, shift, centers, centers_t, c_norms, labels, chunk_rows, n_slots,
               update, exact_inertia, incremental, bounds, c_norm_max, x_norms, norms_known):
    """One Lloyd pass: assign every row to its nearest center, sum the clusters.

    Works on ``x - shift`` (copied chunk by chunk into a small buffer; with
    an all-zero ``shift`` the products come straight from ``X``) and on
    centers already shifted the same way, so that distances keep their
    precision for data far from the origin. Nearest center by
    ``||x||^2 + ||c||^2 - 2 x.c``: from :data:`VECTOR_SEARCH_MIN_K` centers
    on by :func:`nearest_two_rows` per chunk (the products stay in
    registers), below by one BLAS GEMM per chunk against the C-contiguous
    transposed centers and :func:`_nearest`; the reported inertia uses the
    exact ``||x - c||^2`` of the chosen center.

    Parameters
    ----------
    X : (n, d) float array; sw : (n,) or (0,) weights (empty: ones)
    shift : (d,) array of X's dtype
    centers : (k, d) shifted centers, X's dtype; centers_t : (d, kp) the same,
        transposed and C-contiguous; c_norms : (kp,) their squared norms -
        from :data:`VECTOR_SEARCH_MIN_K` centers on padded as
        :func:`nearest_two_rows` wants (else ``kp = k``)
    labels : (n,) int32 - previous labels in, new labels out
    chunk_rows, n_slots : int - rows per chunk, independent partial sums
    update : bool - also return per-cluster sums and weights
    exact_inertia : bool - compute the inertia (False: return 0.0; Lloyd's
        update passes need it only to print it)
    incremental : bool - return the *changes* of the sums and weights: only
        rows whose label changes contribute (subtracted from the old cluster,
        added to the new one; rows labelled ``-1`` only added)
    bounds : (n, 2) float32, or (0, 2) - when not empty, filled with the
        Hamerly bounds of :func:`lloyd_bounded_pass` for the new labels
        (searched distances widened by their rounding bound; the exact own
        distance when ``exact_inertia``), so that bounded passes can follow
        without a pass of their own to build them
    c_norm_max : float - largest squared center norm (for the rounding bound)
    x_norms : (n,) array of X's dtype, or (0,) - with an all-zero ``shift``,
        the rows' squared norms: read when ``norms_known``, else computed
        and stored (they do not change from pass to pass)

    Returns
    -------
    sums : (k, d) float64 weighted sums of shifted rows (zeros if not update),
        or their changes
    weights : (k,) float64 cluster weights, or their changes
    inertia : float - sum of w * ||x - c||^2 (0.0 unless ``exact_inertia``)
    changed : int - labels that differ from the input labels
    too_big : int - rows whose squared (shifted) norm exceeds half X's
        dtype's largest value: their search sums can overflow, their labels
        are meaningless (the caller raises)
    """
    n, d = X.shape
    xn_max = np.finfo(X.dtype).max / 2.0
    shifted = False  # an all-zero shift: no shifted copy of the rows
    for jj in range(d):
        if shift[jj] != 0.0:
            shifted = True
    k = centers.shape[0]
    # from VECTOR_SEARCH_MIN_K centers on, the search is nearest_two_rows
    # (centers_t and c_norms padded for it), below a GEMM and a compare loop
    vector = k >= VECTOR_SEARCH_MIN_K
    has_w = sw.shape[0] > 0
    n_chunks = (n + chunk_rows - 1) // chunk_rows
    kk = k if update else 1
    write_bounds = bounds.shape[0] > 0
    keep_norms = x_norms.shape[0] > 0
    s_err, s_abs = _search_error(d, X.dtype)
    u_slack = 1.0 + 4.0 * (d + 2) * np.finfo(X.dtype).eps
    sums = np.zeros((n_slots, kk, d))
    wts = np.zeros((n_slots, k))
    inert = np.zeros(n_slots)
    changed = np.zeros(n_slots, dtype=np.int64)
    too_big = np.zeros(n_slots, dtype=np.int64)
    for slot in prange(n_slots):
        ch0 = slot * n_chunks // n_slots
        ch1 = (slot + 1) * n_chunks // n_slots
        buf = np.empty((chunk_rows, d), dtype=X.dtype)
        xnb = np.empty(chunk_rows, dtype=X.dtype)
        dots = np.empty((1 if vector else chunk_rows, k), dtype=X.dtype)
        tops = np.empty((2, chunk_rows))
        top_i = np.empty(chunk_rows, dtype=np.int64)
        s_sums = sums[slot]
        for ch in range(ch0, ch1):
            r0 = ch * chunk_rows
            m = min(n, r0 + chunk_rows) - r0
            if shifted:
                for i in range(m):
                    xn = 0.0
                    for j in range(d):
                        t = X[r0 + i, j] - shift[j]
                        buf[i, j] = t
                        xn += t * t
                    xnb[i] = xn
            elif norms_known:  # zero shift: no copy, the product straight from X
                for i in range(m):
                    xnb[i] = x_norms[r0 + i]
            else:
                for i in range(m):
                    xn = 0.0
                    for j in range(d):
                        t = X[r0 + i, j]
                        xn += t * t
                    xnb[i] = xn
                    if keep_norms:
                        x_norms[r0 + i] = xn
            rows = buf[:m] if shifted else X[r0:r0 + m]
            if vector:
                nearest_two_rows(rows, xnb[:m], centers_t, c_norms, top_i[:m], tops[0, :m],
                                 tops[1, :m])
            else:
                np.dot(rows, centers_t, dots[:m])
            nxt = r0 + m  # load the slot's next chunk meanwhile
            n_next = min(n, nxt + chunk_rows) - nxt if ch + 1 < ch1 else 0
            for i in range(m):
                if i < n_next:
                    prefetch_row(X, nxt + i)
                if not xnb[i] <= xn_max:
                    too_big[slot] += 1
                if vector:
                    best = top_i[i]
                    b1 = tops[0, i]
                    b2 = tops[1, i]
                elif write_bounds:
                    top = nearest_two(dots[i], c_norms, xnb[i])
                    best = top[0]
                    b1 = np.float64(top[1])
                    b2 = np.float64(top[2])
                else:
                    best = _nearest(dots[i], c_norms, xnb[i])
                    b1 = b2 = 0.0
                if write_bounds:
                    err = _row_error(s_err, s_abs, d, np.float64(xnb[i]), c_norm_max)
                    _store_bounds(bounds, r0 + i, b1 + err, b2 - err)
                w = sw[r0 + i] if has_w else 1.0
                if exact_inertia:  # differences in float64, as the bounded pass
                    dist = 0.0
                    if shifted:
                        for j in range(d):
                            t = np.float64(buf[i, j]) - np.float64(centers[best, j])
                            dist += t * t
                    else:
                        for j in range(d):
                            t = np.float64(X[r0 + i, j]) - np.float64(centers[best, j])
                            dist += t * t
                    inert[slot] += w * dist
                    if write_bounds:  # the exact distance: a tighter upper bound
                        bounds[r0 + i, 0] = _store_upper(np.sqrt(_exact_up2(dist, u_slack)))
                old = labels[r0 + i]
                if old == best:
                    if incremental:
                        continue
                else:
                    changed[slot] += 1
                    labels[r0 + i] = best
                wts[slot, best] += w
                if update:
                    if shifted:
                        for j in range(d):
                            s_sums[best, j] += w * buf[i, j]
                    else:
                        for j in range(d):
                            s_sums[best, j] += w * X[r0 + i, j]
                if incremental and old >= 0:  # moved: leaves its old cluster
                    wts[slot, old] -= w
                    if update:
                        if shifted:
                            for j in range(d):
                                s_sums[old, j] -= w * buf[i, j]
                        else:
                            for j in range(d):
                                s_sums[old, j] -= w * X[r0 + i, j]
    sums_t = np.zeros((kk, d))
    wts_t = np.zeros(k)
    inertia = 0.0
    n_changed = 0
    for slot in range(n_slots):
        sums_t += sums[slot]
        wts_t += wts[slot]
        inertia += inert[slot]
        n_changed += changed[slot]
    return sums_t, wts_t, inertia, n_changed, too_big.sum()


#: Safety factor on the rounding bound of the float32 search of
#: :func:`lloyd_pass_mixed` (a larger bound only verifies more rows).
MIXED_SLACK = 4.0


@jit(parallel=True)
def lloyd_pass_mixed(X, sw, shift, centers, centers_t32, c_norms32, c_norm_max, labels,
                     chunk_rows, n_slots, update, exact_inertia, bounds):
    """:func:`lloyd_pass` for float64 data with a verified float32 search.

    The products ``x.c`` are float32 (twice the float64 rate), of float32
    copies of the shifted rows and centers, by :func:`nearest_two_rows` per
    chunk (the products stay in registers). Their rounding error
    is bounded per row (inputs rounded to float32, a d-term float32 sum,
    the norms): ``e = MIXED_SLACK * u * (2 (d + 3) |x| max|c| + 5 (|x|^2 + max|c|^2))``
    with ``u = 2^-24``. A center whose float32 value is more than ``2 e``
    above the smallest cannot be the nearest; when another one lies within
    ``2 e``, the candidates are compared by their exact float64 distances.
    So the labels are those of a float64 search (ties aside), and the sums
    and inertia are computed in float64 from the float64 rows.

    Parameters
    ----------
    X : (n, d) float64; sw, shift, centers, labels, chunk_rows, n_slots,
        update, exact_inertia : as :func:`lloyd_pass` (centers float64)
    centers_t32 : (d, kp) float32 - the shifted centers, transposed, C-contiguous,
        padded as :func:`nearest_two_rows` wants
    c_norms32 : (kp,) float32 - their squared norms (``inf`` for the padding)
    c_norm_max : float - the largest squared norm of a shifted center
    bounds : as :func:`lloyd_pass` (the upper bound from the exact distance)

    Returns
    -------
    sums, weights, inertia, changed : as :func:`lloyd_pass`
    verified : int - rows whose nearest center needed the float64 check
    too_big : int - as :func:`lloyd_pass`
    """
    n, d = X.shape
    xn_max = np.finfo(np.float64).max / 2.0
    k = centers.shape[0]
    has_w = sw.shape[0] > 0
    n_chunks = (n + chunk_rows - 1) // chunk_rows
    kk = k if update else 1
    write_bounds = bounds.shape[0] > 0
    s_err, s_abs = _search_error(d, np.float32)
    u_slack = 1.0 + 4.0 * (d + 2) * np.finfo(np.float64).eps
    sums = np.zeros((n_slots, kk, d))
    wts = np.zeros((n_slots, k))
    inert = np.zeros(n_slots)
    changed = np.zeros(n_slots, dtype=np.int64)
    verified = np.zeros(n_slots, dtype=np.int64)
    too_big = np.zeros(n_slots, dtype=np.int64)
    for slot in prange(n_slots):
        ch0 = slot * n_chunks // n_slots
        ch1 = (slot + 1) * n_chunks // n_slots
        buf = np.empty((chunk_rows, d))
        buf32 = np.empty((chunk_rows, d), dtype=np.float32)
        xnb = np.empty(chunk_rows)
        xnb32 = np.empty(chunk_rows, dtype=np.float32)
        dots = np.empty(centers_t32.shape[1], dtype=np.float32)
        tops = np.empty((2, chunk_rows))
        top_i = np.empty(chunk_rows, dtype=np.int64)
        s_sums = sums[slot]
        for ch in range(ch0, ch1):
            r0 = ch * chunk_rows
            m = min(n, r0 + chunk_rows) - r0
            for i in range(m):
                xn = 0.0
                for j in range(d):
                    t = X[r0 + i, j] - shift[j]
                    buf[i, j] = t
                    buf32[i, j] = t
                    xn += t * t
                xnb[i] = xn
                xnb32[i] = xn
            nearest_two_rows(buf32[:m], xnb32[:m], centers_t32, c_norms32, top_i[:m],
                             tops[0, :m], tops[1, :m])
            nxt = r0 + m  # load the slot's next chunk meanwhile
            n_next = min(n, nxt + chunk_rows) - nxt if ch + 1 < ch1 else 0
            for i in range(m):
                if i < n_next:
                    prefetch_row(X, nxt + i)
                xn = xnb[i]
                if not xn <= xn_max:
                    too_big[slot] += 1
                tie = False
                thr = 0.0
                lo2 = 0.0  # squared lower bound on every other center's distance
                if xn > MIXED_MAX_SQ:  # float32 norms could overflow: exact search
                    res = _exact_nearest2(buf[i], centers)
                    best = res[0]
                    lo2 = _exact_lo2(res[2], u_slack)
                    verified[slot] += 1
                else:
                    best = top_i[i]
                    err = _row_error(s_err, 0.0, d, xn, c_norm_max)
                    # another center whose float32 value lies within 2 err of the best
                    thr = tops[0, i] + 2.0 * err
                    tie = tops[1, i] <= thr
                    # the second smallest searched distance, lowered by its rounding
                    lo2 = tops[1, i] - err - s_abs
                if tie:
                    verified[slot] += 1
                    best = _settle_near_tie(_row_products(buf32[i], centers_t32, dots),
                                            c_norms32, xnb32[i], thr, buf[i], centers)
                    if best != top_i[i]:  # the searched nearest is now another center
                        lo2 = tops[0, i] - err - s_abs
                w = sw[r0 + i] if has_w else 1.0
                if exact_inertia or write_bounds:
                    dist = 0.0
                    for j in range(d):
                        t = buf[i, j] - centers[best, j]
                        dist += t * t
                    inert[slot] += w * dist
                    if write_bounds:
                        _store_bounds(bounds, r0 + i, _exact_up2(dist, u_slack), lo2)
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
    n_verified = 0
    for slot in range(n_slots):
        sums_t += sums[slot]
        wts_t += wts[slot]
        inertia += inert[slot]
        n_changed += changed[slot]
        n_verified += verified[slot]
    return sums_t, wts_t, inertia, n_changed, n_verified, too_big.sum()


#: Bounds are stored in float32, widened by this relative margin so that the
#: stored lower bound stays below (and the upper bound above) the float64 one.
BOUND_MARGIN = 2.0 ** -22


#: Smallest positive normal float32: stored upper bounds below it are raised to it.
_F32_TINY = 1.1754943508222875e-38


@jit(inline="always")
def _store_lower(v):
    """``v`` rounded to a float32 that is not above it (0 for v <= 0)."""
    f = np.float32(v * (1.0 - BOUND_MARGIN)) if v > 0.0 else np.float32(0.0)
    if np.float64(f) > v:  # subnormal or overflowing: the margin did not hold
        f = np.float32(0.0)
    return f


@jit(inline="always")
def _store_upper(v):
    """``v >= 0`` rounded to a float32 that is not below it (inf past float32's range)."""
    f = np.float32(v * (1.0 + BOUND_MARGIN))
    if np.float64(f) < v:  # below float32's normal range
        f = np.float32(_F32_TINY) if v <= _F32_TINY else np.float32(np.inf)
    return f


@jit(inline="always")
def _store_bounds(bounds, i, up2, lo2):
    """Store row ``i``'s bounds from squared ones (``lo2 <= 0``: a lower bound of 0)."""
    bounds[i, 0] = _store_upper(np.sqrt(up2))
    bounds[i, 1] = _store_lower(np.sqrt(lo2) if lo2 > 0.0 else 0.0)


#: Absolute term of the exact float64 distance bounds: the smallest normal
#: float64, at least ``d`` times the smallest subnormal for any ``d`` below
#: 2**52. A normal number on purpose: computed per row as ``d * 5e-324``, the
#: subnormal product took a microcode assist (about 150 cycles) on every
#: row - 18 ms of a 28 ms bounded pass on 1,000,000 x 32 whose rows were all
#: settled by their exact distance.
_EXACT_ABS = 2.2250738585072014e-308


@jit(inline="always")
def _exact_up2(dist, u_slack):
    """Upper bound on a squared distance summed in float64 from ``d`` squares (``dist``).

    The relative slack of the sum, plus :data:`_EXACT_ABS`: squares of
    differences below about 2**-537 underflow (to 0 at worst, each by at
    most the smallest subnormal), which no relative slack covers (float64
    data scaled by 2**-540 left upper bounds of 0).
    """
    return dist * u_slack + _EXACT_ABS


@jit(inline="always")
def _exact_lo2(dist, u_slack):
    """Lower bound on a squared distance summed in float64 (see :func:`_exact_up2`)."""
    return (dist - _EXACT_ABS) / u_slack


@jit(inline="always")
def _search_error(d, dtype):
    """Rounding-bound factors of the searched distances ``||x||^2 + ||c||^2 - 2 x.c``.

    Returns ``(rel, abs)`` for :func:`_row_error`: ``rel`` is half the
    dtype's epsilon times the safety factor :data:`MIXED_SLACK`; ``abs``
    covers roundings below the dtype's normal range, each off by up to half
    its smallest subnormal, which no relative bound covers (float32 data
    scaled by 2**-66 broke bounds without it).
    """
    eps = np.finfo(dtype).eps
    return MIXED_SLACK * 0.5 * eps, (4.0 * d + 16.0) * np.finfo(dtype).tiny * eps


@jit(inline="always")
def _row_error(rel, abs_err, d, xn, c_norm_max):
    """Bound on the rounding error of a row's searched squared distances.

    ``xn``: the row's squared norm; ``c_norm_max``: the largest squared
    center norm (inputs rounded to the search dtype, a d-term sum, the norms).
    """
    return rel * (2.0 * (d + 3) * np.sqrt(xn) * np.sqrt(c_norm_max)
                  + 5.0 * (xn + c_norm_max)) + abs_err


@jit(inline="always")
def _exact_nearest2(row, centers):
    """Return the nearest center of a shifted row by exact differences.

    Also its squared distance and the second smallest one (``inf`` for one
    center).
    """
    k, d = centers.shape
    best = 0
    d1 = np.inf
    d2 = np.inf
    for c in range(k):
        e2 = 0.0
        for j in range(d):
            t = row[j] - centers[c, j]
            e2 += t * t
        if e2 < d1:
            d2 = d1
            d1 = e2
            best = c
        elif e2 < d2:
            d2 = e2
    return best, d1, d2


#: Rows with a squared (shifted) norm above this are searched in float64 by
#: the mixed passes: their float32 norms and products could overflow.
MIXED_MAX_SQ = 2.0 ** 100


@jit(internal=True)
def _search_batch(nb, buf, bufs, xnb, xnbs, dots, tops, top_i, idx, sw, centers, centers_ts,
                  c_norms_s, c_norm_max, verify, labels, bounds, s_sums, s_wts, update, exact):
    """Search the ``nb`` gathered rows of a bounded pass against every center.

    ``buf[:nb]``: the shifted rows (X's dtype), ``xnb[:nb]`` their squared
    norms, ``bufs``/``xnbs`` the same in the search dtype (written beside
    them as the rows are gathered), ``idx[:nb]`` their row numbers;
    ``centers_ts``/``c_norms_s`` padded as :func:`nearest_two_rows` wants;
    ``dots`` (one row of products), ``tops`` (2, chunk_rows) and ``top_i``
    are work space. The nearest two centers of every row come from
    :func:`nearest_two_rows` (the products are never stored; a row's are
    computed again for a float32 near tie). Labels and both bounds of the
    rows are updated as :func:`lloyd_bounded_pass` describes, label changes
    are added to ``s_sums`` (if ``update``) and ``s_wts``. Returns the
    inertia of the rows (when ``exact``, or for those settled in float64)
    and the number of label changes.
    """
    d = buf.shape[1]
    has_w = sw.shape[0] > 0
    u_slack = 1.0 + 4.0 * (d + 2) * np.finfo(buf.dtype).eps
    s_err, s_abs = _search_error(d, c_norms_s.dtype)
    inert = 0.0
    changed = 0
    nearest_two_rows(bufs[:nb], xnbs[:nb], centers_ts, c_norms_s, top_i[:nb], tops[0, :nb],
                     tops[1, :nb])
    for v in range(nb):
        i = idx[v]
        xn = xnb[v]
        # rounding bound of the searched squared distances
        err = _row_error(s_err, s_abs, d, xn, c_norm_max)
        if verify and xn > MIXED_MAX_SQ:
            # float32 norms could overflow: exact float64 search, and
            # the second distance lowered by its float64 rounding
            res = _exact_nearest2(buf[v], centers)
            best = res[0]
            lo2 = max(_exact_lo2(res[2], u_slack), 0.0)
            up2 = _exact_up2(res[1], u_slack)
        else:
            best = top_i[v]
            # the second smallest searched distance, over every center but best
            sec = tops[1, v]
            up2 = tops[0, v] + err
            thr = tops[0, v] + 2.0 * err
            if verify and sec <= thr:
                # near tie in float32: settled by exact float64 distances
                best = _settle_near_tie(_row_products(bufs[v], centers_ts, dots), c_norms_s,
                                        xnbs[v], thr, buf[v], centers)
                if best != top_i[v]:  # the searched best is now one of the others
                    sec = tops[0, v]
                    up2 = -1.0  # the exact distance instead, below
            sec = sec - err
            lo2 = sec if sec > 0.0 else 0.0
        bounds[i, 1] = _store_lower(np.sqrt(lo2))
        w = sw[i] if has_w else 1.0
        if exact or up2 < 0.0:
            dist = 0.0
            for j in range(d):
                e = np.float64(buf[v, j]) - np.float64(centers[best, j])
                dist += e * e
            bounds[i, 0] = _store_upper(np.sqrt(_exact_up2(dist, u_slack)))
            inert += w * dist
        else:  # the searched distance raised by its rounding bound
            bounds[i, 0] = _store_upper(np.sqrt(up2))
        old = labels[i]
        if old != best:
            changed += 1
            labels[i] = best
            s_wts[best] += w
            if old >= 0:
                s_wts[old] -= w
            if update:
                for j in range(d):
                    s_sums[best, j] += w * buf[v, j]
                if old >= 0:
                    for j in range(d):
                        s_sums[old, j] -= w * buf[v, j]
    return inert, changed


@jit(parallel=True)
def lloyd_bounded_pass(X, sw, shift, centers, centers_ts, c_norms_s, c_norm_max, verify,
                       labels, bounds, half_gap, moves, move1, move1_id, move2, chunk_rows,
                       n_slots, update, exact, tighten):
    """Run a Lloyd pass that skips the rows whose nearest center cannot change.

    Hamerly's algorithm with an upper and a lower bound per row:
    ``bounds[i, 0]`` bounds from above the distance of row ``i`` to its own
    center, ``bounds[i, 1]`` from below its distance to every other center.
    They were valid for the previous centers; since then center ``c`` moved
    by at most ``moves[c]``, so the upper bound grows by the own center's
    move and the lower bound drops by the largest move of another center
    (``move2`` for rows of ``move1_id``, ``move1`` for the others). When
    ``upper <= z = max(lower, half_gap[own])`` (``half_gap``: half the
    distance to the nearest other center) no other center can be nearer: the
    row keeps its label without being read. Otherwise the exact distance to
    the own center replaces the upper bound and the test is repeated; the
    rows that still fail (and every row whose label is ``-1``) are gathered
    and searched against all centers, in the dtype of ``centers_ts`` (float32
    for float64 data: then, when ``verify``, near ties are settled by exact
    float64 distances as in :func:`lloyd_pass_mixed`); their bounds become
    the smallest searched distance raised by its rounding bound (the exact
    distance when ``exact``, which also sums the inertia, or when a near tie
    was settled in float64) and the second smallest searched distance
    lowered by it. Labels equal those of :func:`lloyd_pass` (ties aside).

    Only rows whose label changes touch the sums, so the pass returns the
    *changes* of the per-cluster sums and weights (a row moving from ``a`` to
    ``b`` is subtracted from ``a`` and added to ``b``; a row labelled ``-1``
    is only added), which the caller adds to the running totals.

    Parameters
    ----------
    X, sw, shift, centers, labels, chunk_rows, n_slots, update : as :func:`lloyd_pass`
    centers_ts : (d, kp) - shifted centers transposed, C-contiguous, in the
        search dtype, padded as :func:`nearest_two_rows` wants (``kp``: ``k``
        rounded up to whole vectors); c_norms_s : (kp,) their squared norms,
        same dtype (``inf`` for the padding)
    c_norm_max : float - largest squared center norm
    verify : bool - float64 data searched in float32
    bounds : (n, 2) float32 - upper and lower bounds, updated in place
    half_gap : (k,) float64 - half the distance from each center to the nearest other
    moves : (k,) float64 - how far each center moved since the bounds were computed
    move1, move2 : float - largest and second largest of ``moves``;
        move1_id : int - the center that moved most
    exact : bool - read every row and return the exact inertia (otherwise
        the returned inertia is not meaningful: it sums only the rows whose
        float32 near tie was settled in float64)
    tighten : bool - try a row's exact own distance before searching it
        (False: a row whose bounds do not settle it is searched at once)

    Returns
    -------
    d_sums : (k, d) float64 - change of the per-cluster sums of the shifted
        rows (``(1, d)`` zeros unless ``update``)
    d_weights : (k,) float64 - change of the per-cluster weights
    inertia : float
    changed : int - rows whose label changed
    searched : int - rows searched against all centers
    """
    n, d = X.shape
    k = centers.shape[0]
    has_w = sw.shape[0] > 0
    n_chunks = (n + chunk_rows - 1) // chunk_rows
    kk = k if update else 1
    # relative slack on the exact own distance
    u_slack = 1.0 + 4.0 * (d + 2) * np.finfo(X.dtype).eps
    sums = np.zeros((n_slots, kk, d))
    wts = np.zeros((n_slots, k))
    inert = np.zeros(n_slots)
    changed = np.zeros(n_slots, dtype=np.int64)
    searched = np.zeros(n_slots, dtype=np.int64)
    for slot in prange(n_slots):
        buf = np.empty((chunk_rows, d), dtype=X.dtype)
        bufs = np.empty((chunk_rows, d), dtype=c_norms_s.dtype)
        xnb = np.empty(chunk_rows)
        xnbs = np.empty(chunk_rows, dtype=c_norms_s.dtype)
        dots = np.empty(centers_ts.shape[1], dtype=c_norms_s.dtype)
        tops = np.empty((2, chunk_rows))
        top_i = np.empty(chunk_rows, dtype=np.int64)
        idx = np.empty(chunk_rows, dtype=np.int64)
        s_sums = sums[slot]
        s_wts = wts[slot]
        # The rows to search are gathered across the slot's chunks and
        # searched by full batches of chunk_rows (per chunk, the GEMMs would
        # get as small as the fraction of rows searched).
        nb = 0
        r_end = min(n, (slot + 1) * n_chunks // n_slots * chunk_rows)
        for i in range(slot * n_chunks // n_slots * chunk_rows, r_end):
            # The row 8 ahead is prefetched unless its bounds will surely
            # let it skip (the hardware prefetcher alone leaves the reads and
            # the work one after the other: 1,000,000 x 32, k = 128, float64,
            # 60 % searched: 75 -> 70 ms).
            if i + 8 < r_end and (exact or bounds[i + 8, 0] + 2.0 * move1 > bounds[i + 8, 1]):
                prefetch_row(X, i + 8)
            a = labels[i]
            if a >= 0:
                lo = np.float64(bounds[i, 1]) - (move2 if a == move1_id else move1)
                z = max(lo, half_gap[a])
                up = np.float64(bounds[i, 0]) + moves[a]
                bounds[i, 1] = _store_lower(lo)
                if up <= z and not exact:
                    bounds[i, 0] = _store_upper(up)
                    continue
                # tighten: the exact own distance may settle the row (not
                # worth its cost while many labels change: then searched)
                if tighten:
                    da = 0.0
                    for j in range(d):
                        # in float64: float32 squares of tiny differences
                        # would round below the relative slack
                        e = np.float64(X[i, j] - shift[j]) - np.float64(centers[a, j])
                        da += e * e
                    up2 = _exact_up2(da, u_slack)
                    if up2 <= z * z:
                        bounds[i, 0] = _store_upper(np.sqrt(up2))
                        if exact:
                            inert[slot] += (sw[i] if has_w else 1.0) * da
                        continue
            # a row to search: its shifted copy (in X's and the search dtype)
            # and squared norm; the row is in cache from the test above
            xn = 0.0
            for j in range(d):
                t = X[i, j] - shift[j]
                buf[nb, j] = t
                bufs[nb, j] = t
                xn += t * t
            xnb[nb] = xn
            xnbs[nb] = xn
            idx[nb] = i
            nb += 1
            if nb == chunk_rows:
                # np.int64: one signature for both calls (a literal 0 gave a second compile)
                res = _search_batch(np.int64(nb), buf, bufs, xnb, xnbs, dots, tops, top_i, idx,
                                    sw, centers, centers_ts, c_norms_s, c_norm_max, verify,
                                    labels, bounds, s_sums, s_wts, update, exact)
                inert[slot] += res[0]
                changed[slot] += res[1]
                searched[slot] += nb
                nb = 0
        if nb > 0:
            res = _search_batch(np.int64(nb), buf, bufs, xnb, xnbs, dots, tops, top_i, idx, sw,
                                centers, centers_ts, c_norms_s, c_norm_max, verify, labels,
                                bounds, s_sums, s_wts, update, exact)
            inert[slot] += res[0]
            changed[slot] += res[1]
            searched[slot] += nb
    sums_t = np.zeros((kk, d))
    wts_t = np.zeros(k)
    inertia = 0.0
    n_changed = 0
    n_searched = 0
    for slot in range(n_slots):
        sums_t += sums[slot]
        wts_t += wts[slot]
        inertia += inert[slot]
        n_changed += changed[slot]
        n_searched += searched[slot]
    return sums_t, wts_t, inertia, n_changed, n_searched


@jit
def half_gaps(centers):
    """Half the distance from every center to its nearest other center (float64).

    ``inf`` for a single center. Plain differences (no expanded form), so the
    result carries only the rounding of a float64 sum.
    """
    k, d = centers.shape
    out = np.full(k, np.inf)
    for a in range(k):
        for b in range(a + 1, k):
            s = 0.0
            for j in range(d):
                t = np.float64(centers[a, j]) - np.float64(centers[b, j])
                s += t * t
            if s < out[a]:
                out[a] = s
            if s < out[b]:
                out[b] = s
    for a in range(k):
        out[a] = 0.5 * np.sqrt(out[a])
    return out


@jit(parallel=True)
def sq_distances(X, shift, centers, c_norms, chunk_rows, out):
    """Squared distances from every row to every center, into ``out`` (n, k).

    Same shifted ``||x||^2 + ||c||^2 - 2 x.c`` form as :func:`lloyd_pass`
    (per chunk, :func:`_block_sqdist`), clipped at zero.
    """
    n, d = X.shape
    centers_t = np.ascontiguousarray(centers.T)
    for ch in prange((n + chunk_rows - 1) // chunk_rows):
        r0 = ch * chunk_rows
        m = min(n, r0 + chunk_rows) - r0
        buf = np.empty((m, d), dtype=X.dtype)
        _block_sqdist(X, r0, m, shift, centers_t, c_norms, buf, out[r0:r0 + m])


@jit(internal=True)
def _block_sqdist(X, r0, m, shift, centers_t, c_norms, buf, out):
    """Squared distances of rows r0..r0+m of X to the (shifted) centers.

    ``centers_t`` (d, k) C-contiguous: the centers transposed (once per
    kernel call, by the caller).

    ``||x - s||^2 + ||c||^2 - 2 (x - s).c``, clipped at zero, by
    :func:`~._intrinsics.sq_distances_rows` (the products in registers);
    ``out[:m]`` receives the (m, n_centers) result. 1,016 rows, 32 float64
    features, 128 centers, one core, in cache: 344 cycles a row, against 384
    by one GEMM and a loop for the norms.
    """
    d = X.shape[1]
    xn = np.empty(m, dtype=buf.dtype)
    for i in range(m):
        t2 = 0.0
        for j in range(d):
            t = X[r0 + i, j] - shift[j]
            buf[i, j] = t
            t2 += t * t
        xn[i] = t2
    sq_distances_rows(buf[:m], xn, centers_t, c_norms, out[:m])


@jit(parallel=True)
def kpp_first_pass(X, sw, shift, first, closest, x_norms, block_rows, n_slots):
    """Run the first k-means++ pass: distances to the first center, and row norms.

    Writes ``closest[i] = ||X[i] - X[first]||^2`` and ``x_norms[i] = ||X[i] -
    shift||^2`` (both in float64, by differences) and returns the weighted
    sums of ``closest`` per block of rows, as :func:`kpp_pass` does.

    Parameters
    ----------
    X : (n, d) float array, never written; sw : (n,) or (0,) weights
    shift : (d,) float64
    first : int - row of the first center
    closest, x_norms : (n,) float64, written
    block_rows, n_slots : int - as in :func:`kpp_pass`

    Returns
    -------
    pots : (n_blocks,) float64
    """
    n, d = X.shape
    has_w = sw.shape[0] > 0
    n_blocks = (n + block_rows - 1) // block_rows
    pots = np.zeros(n_blocks)
    c0 = X[first].astype(np.float64)
    for slot in prange(n_slots):
        for b in range(slot * n_blocks // n_slots, (slot + 1) * n_blocks // n_slots):
            r0 = b * block_rows
            acc = 0.0
            for i in range(r0, min(n, r0 + block_rows)):
                s = 0.0
                t = 0.0
                for j in range(d):
                    x = np.float64(X[i, j])
                    e = x - c0[j]
                    f = x - shift[j]
                    s += e * e
                    t += f * f
                closest[i] = s
                x_norms[i] = t
                acc += (np.float64(sw[i]) * s) if has_w else s
            pots[b] = acc
    return pots


@jit(inline="always")
def _kpp_rows(X, idx, wv, cols, consts, x_norms, closest, owner, use_first, last_id, acc):
    """:func:`~._intrinsics.kpp_rows` on the listed rows, every column group."""
    lanes = cols.shape[2]
    for g in range(cols.shape[0]):
        kpp_rows(X, idx, wv, cols[g], consts[g * lanes:(g + 1) * lanes], x_norms, closest,
                 owner, use_first and g == 0, last_id, g == 0, acc[g * lanes:(g + 1) * lanes])


@jit(parallel=True)
def kpp_pass(X, sw, cols, c_const, use_first, closest, owner, bound, last_id, x_norms,
             block_rows, n_slots):
    """One pass of greedy k-means++ seeding, per block of rows, in parallel.

    Column 0 of ``cols`` is the last chosen center, the others are the
    candidates. When ``use_first``, column 0 is folded into ``closest``
    (squared distance of every row to its nearest chosen center, updated in
    place, with ``owner`` - the index of that center - set to ``last_id``).
    Then, per block of rows, the weighted potential ``w * min(closest, d(x, c))``
    is summed for every candidate ``c``; column 0 of the result is the
    potential of ``closest`` itself.

    Rows are skipped by the triangle inequality: a center ``c`` can only be
    nearer to ``x`` than ``x``'s own center ``a`` if ``d(a, c) < 2 d(x, a)``,
    so the rows with ``4 closest <= bound[owner]`` (``bound[a]``: the
    smallest squared distance from center ``a`` to any column) keep
    ``closest`` for every column and are not read (cf. Raff, "Exact
    acceleration of k-means++ and k-means||", 2021). The others are read
    ``KPP_ROWS`` at a time by :func:`~._intrinsics.kpp_rows`, which holds
    their products with 8 columns in registers and folds them into the
    distances ``||x - s||^2 + c_const - 2 x.(c - s)`` (``c_const = ||c -
    s||^2 + 2 s.(c - s)``) and the sums, straight from ``X``: no GEMM
    buffer, no shifted copy. The row eight places ahead is prefetched: the
    hardware prefetcher alone left reading and computing one after the
    other. Measured on 1,000,000 x 32, 7 columns, two threads: 11 ms a pass
    (streaming X alone: 8.8 ms), against 19-20 ms by a GEMM per block of
    rows and loops over its products, and 15.5 ms without the prefetch;
    with 8 rows a call, 12 ms. The rows are tested as they come (as a
    separate loop first, the test cost 1.5 ms more).

    Parameters
    ----------
    X : (n, d) float array, never written; sw : (n,) or (0,) weights
    cols : (n_groups, d, 8) X's dtype, C-contiguous - the shifted columns
        ``c - s`` in groups of 8 (the last group padded with zeros)
    c_const : (n_cols,) float64
    use_first : bool
    closest : (n,) float64, updated; owner : (n,) int32, updated
    bound : (n_chosen,) float64; last_id : int
    x_norms : (n,) float64 - ``||x - s||^2`` of every row (from
        :func:`kpp_first_pass`)
    block_rows : int - rows per block (the unit of the returned sums)
    n_slots : int - contiguous ranges of blocks run in parallel (any value
        gives the same result)

    Returns
    -------
    pots : (n_blocks, n_cols) float64 per-block potentials
    """
    n = X.shape[0]
    nc = c_const.shape[0]
    n_groups, _, lanes = cols.shape
    has_w = sw.shape[0] > 0
    n_blocks = (n + block_rows - 1) // block_rows
    consts = np.zeros(n_groups * lanes)
    consts[:nc] = c_const
    pots = np.zeros((n_blocks, nc))
    # rows with 4 closest above every bound are read without looking up owner
    b_max = bound.max()
    for slot in prange(n_slots):
        idx = np.empty(KPP_ROWS, dtype=np.int64)
        wv = np.empty(KPP_ROWS)
        acc = np.empty(n_groups * lanes)
        for b in range(slot * n_blocks // n_slots, (slot + 1) * n_blocks // n_slots):
            r0 = b * block_rows
            m = min(n, r0 + block_rows) - r0
            # Rows are tested as they come and read KPP_ROWS at a time (the
            # test then overlaps the reads).
            base = 0.0
            acc[:] = 0.0
            nv = 0
            for i in range(r0, r0 + m):
                if i + 8 < n:
                    prefetch_row(X, i + 8)
                c0 = closest[i]
                w = np.float64(sw[i]) if has_w else 1.0
                c4 = 4.0 * c0 * (1.0 + 1e-6)
                if c4 >= b_max or c4 >= bound[owner[i]]:
                    idx[nv] = i
                    wv[nv] = w
                    nv += 1
                    if nv == KPP_ROWS:
                        _kpp_rows(X, idx, wv, cols, consts, x_norms, closest, owner, use_first,
                                  last_id, acc)
                        nv = 0
                else:
                    base += w * c0
            if nv > 0:
                for v in range(nv, KPP_ROWS):  # pad with repeats of weight 0
                    idx[v] = idx[nv - 1]
                    wv[v] = 0.0
                _kpp_rows(X, idx, wv, cols, consts, x_norms, closest, owner, use_first,
                          last_id, acc)
            for c in range(nc):
                pots[b, c] = base + acc[c]
    return pots


@jit
def kpp_pick(X, sw, last, closest, block_pot, block_rows, targets):
    """Rows drawn with probability proportional to ``w * min(closest, d(x, last))``.

    ``block_pot`` holds that potential summed per block (from
    :func:`kpp_pass`); each target (a uniform draw times the total) is located
    in its block by the running block sums, then in the block by a scan that
    computes each row's potential (``d(x, last)`` by plain differences; ``last``
    is the unshifted (d,) center). Equivalent to
    ``searchsorted(cumsum(w * min(closest, d)), target)`` up to rounding.
    """
    n, d = X.shape
    has_w = sw.shape[0] > 0
    n_blocks = block_pot.shape[0]
    cum = np.cumsum(block_pot)
    out = np.empty(targets.shape[0], dtype=np.int64)
    for t in range(targets.shape[0]):
        r = targets[t]
        b = np.searchsorted(cum, r, side="right")
        if b >= n_blocks:
            b = n_blocks - 1
        rem = r - (cum[b - 1] if b > 0 else 0.0)
        r0 = b * block_rows
        m = min(n, r0 + block_rows) - r0
        chosen = -1
        acc = 0.0
        for i in range(r0, r0 + m):
            cl = closest[i]
            dl = 0.0
            for j in range(d):
                e = X[i, j] - last[j]
                dl += e * e
            if dl < cl:
                cl = dl
            w = sw[i] if has_w else 1.0
            if w * cl > 0.0:
                chosen = i
            acc += w * cl
            if acc > rem and chosen == i:
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
