"""Nearest-center passes shared by KMeans, the SOM and the feature maps."""

from __future__ import annotations

import numpy as np

from .._kernels import cluster as K
from .._threads import parallel_region

__all__ = ["chunk_rows", "n_slots", "RowNorms", "assign", "assign_bounded", "sq_distances"]


#: From this many centers on, float64 passes search in float32 and verify
#: the near ties in float64 (:func:`fastdistill._kernels.cluster.lloyd_pass_mixed`):
#: the float32 GEMM runs at twice the rate; below, the GEMM is too small to matter.
MIXED_MIN_K = 32


#: Squared center norms (of the shifted centers) for which the float32 search
#: of float64 data keeps its rounding bound: well inside float32's normal
#: range (rows with larger norms are searched in float64 by the kernels).
MIXED_SQ_RANGE = (2.0 ** -100, 2.0 ** 100)


def _mixed(X, c_norms) -> bool:
    """Whether a float64 pass searches in float32 (and verifies near ties)."""
    if X.dtype != np.float64 or c_norms.shape[0] < MIXED_MIN_K:
        return False
    top = float(c_norms.max())
    return MIXED_SQ_RANGE[0] <= top <= MIXED_SQ_RANGE[1]


def chunk_rows(n_centers: int) -> int:
    """Rows per chunk: the (rows, n_centers) product block stays near 128 KB.

    Small enough to stay in L2 and under the allocator's mmap threshold (a
    fresh mmap per chunk buffer costs page faults), large enough for an
    efficient GEMM; measured best for k = 16 ... 400.

    Parameters
    ----------
    n_centers : int
        Number of centers (columns of the product block).

    Returns
    -------
    rows : int
        Between 32 and 512.
    """
    return int(np.clip(16384 // max(1, n_centers), 32, 512))


def n_slots(n_rows: int, n_centers: int, n_features: int) -> int:
    """Independent partial sums of a Lloyd pass (a function of the shape only).

    Parameters
    ----------
    n_rows, n_centers, n_features : int
        Shape of the pass.

    Returns
    -------
    slots : int
        At most 32, at most one per chunk, and per-slot sums under 64 MB.
    """
    n_chunks = -(-n_rows // chunk_rows(n_centers))
    return int(max(1, min(n_chunks, 32, (64 << 20) // max(1, n_centers * n_features * 8))))


class RowNorms:
    """Squared norms of the rows of X, kept from one Lloyd pass to the next.

    Filled by the first plain pass that reads X without a shift (the norms
    do not change between passes; they cost a read of every row otherwise).
    Allocated only then: passes that copy the rows anyway never use it.
    """

    def __init__(self):
        self.values = None
        self.known = False


def assign(X, sw, shift, centers, labels, update, exact_inertia=True, totals=None,
           bounds=None, norms=None):
    """One Lloyd pass (see :func:`fastdistill._kernels.cluster.lloyd_pass`).

    float64 data with at least :data:`MIXED_MIN_K` centers go through
    :func:`fastdistill._kernels.cluster.lloyd_pass_mixed`: same labels, sums
    and inertia (ties aside), about 1.6 times faster at k = 256.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Validated rows.
    sw : ndarray of shape (n,) or (0,)
        Weights (empty: all ones).
    shift : ndarray of shape (d,)
        Shift applied to the rows (the centers are already shifted).
    centers : ndarray of shape (k, d)
        Shifted centers.
    labels : ndarray of shape (n,), int32
        Previous labels in, new labels out.
    update : bool
        Also return the per-cluster sums.
    exact_inertia : bool, default=True
        Compute the inertia (False: it is returned as 0.0, which saves a
        distance per row).
    totals : tuple of (sums, weights) or None, default=None
        Per-cluster sums and weights for the labels before the pass. With
        them the plain pass updates these running totals from the rows that
        change cluster only (a few percent after the first passes) instead
        of summing every row again.
    bounds : ndarray of shape (n, 2), float32, or None, default=None
        When given, filled with the Hamerly bounds that :func:`assign_bounded`
        takes, for these centers and the new labels: bounded passes can
        follow this one directly (a few percent more work for the pass).
    norms : RowNorms or None, default=None
        Row norms kept across the passes of one fit (same X, same shift).

    Returns
    -------
    sums, weights, inertia, changed
        See the kernel (the sums and weights are totals either way). An
        all-zero ``shift`` lets the plain pass take the products straight
        from ``X`` (no shifted copy).
    """
    n, d = X.shape
    k = centers.shape[0]
    rows = chunk_rows(k)
    slots = n_slots(n, k, d)
    c_norms = _norms64(centers)
    if bounds is None:
        bounds = np.empty((0, 2), dtype=np.float32)
    with parallel_region(slots):
        if _mixed(X, c_norms):
            out = K.lloyd_pass_mixed(X, sw, shift, centers,
                                     *_search_layout(centers, c_norms, np.float32),
                                     float(c_norms.max()), labels, rows, slots, update,
                                     bool(exact_inertia), bounds)
            _check_range(X, out[-1])
            return out[:4]
        x_norms, known = np.empty(0, dtype=X.dtype), False
        if norms is not None and not np.any(shift):
            if norms.values is None:
                norms.values = np.empty(n, dtype=X.dtype)
            elif norms.values.shape[0] != n or norms.values.dtype != X.dtype:
                raise ValueError("RowNorms kept for another X: one RowNorms per X")
            x_norms, known = norms.values, norms.known
        if k >= K.VECTOR_SEARCH_MIN_K:
            centers_t, c_norms_s = _search_layout(centers, c_norms, X.dtype)
        else:
            centers_t, c_norms_s = np.ascontiguousarray(centers.T), c_norms.astype(X.dtype)
        sums, wts, inertia, changed, too_big = K.lloyd_pass(
            X, sw, shift, centers, centers_t, c_norms_s, labels, rows, slots, update,
            bool(exact_inertia), totals is not None, bounds, float(c_norms.max()), x_norms,
            known)
        if x_norms.shape[0]:
            norms.known = True
    _check_range(X, too_big)
    if totals is not None:
        sums, wts = add_totals(sums, wts, totals, labels, sw, update)
    return sums, wts, inertia, changed


def _norms64(centers) -> np.ndarray:
    """Squared norms of the centers, summed in float64.

    Rounded once to the search dtype by the callers: a float32 sum can be
    off by more than the search's rounding bound allows for (seen at d = 1024).
    """
    c = centers.astype(np.float64, copy=False)
    return np.einsum("ij,ij->i", c, c)


def _check_range(X, too_big: int) -> None:
    """Raise when a pass found rows too large for the nearest-center search.

    The passes count the rows whose squared norm (after the shift) exceeds
    half the dtype's largest value: their distance sums can overflow and
    their labels mean nothing. ``fit`` refuses such data up front; this
    catches new data in ``predict``, ``score`` and the feature maps.
    """
    if too_big:
        raise ValueError(
            f"X has {int(too_big)} row(s) too large for the nearest-center search in "
            f"{X.dtype}: their squared distances overflow. Scale X the way the "
            f"training data were scaled (or fit on data of the same range)."
        )


def add_totals(d_sums, d_wts, totals, labels, sw, update):
    """Return running per-cluster totals: the previous ones plus a pass's changes.

    Parameters
    ----------
    d_sums, d_wts : ndarray
        Changes of the sums (meaningful when ``update``) and weights.
    totals : tuple of (sums, weights) or None
        Totals before the pass (None: the changes are the totals).
    labels : ndarray of shape (n,)
        The labels after the pass.
    sw : ndarray of shape (n,) or (0,)
        Weights. Float weights are recounted from the labels: running sums
        of them could leave an emptied cluster a weight of 1e-17 instead of
        0 (unit weights are integers, exact).
    update : bool
        Whether ``d_sums`` holds sums.

    Returns
    -------
    sums, weights : ndarray
        New totals; an empty cluster's sums are exactly 0.
    """
    k = d_wts.shape[0]
    if update and totals is not None and totals[0].shape != d_sums.shape:
        raise ValueError("running totals without sums cannot be updated with sums")
    if sw.shape[0]:
        d_wts = np.bincount(labels, weights=sw, minlength=k).astype(np.float64)
    elif totals is not None:
        d_wts += totals[1]
    if update and totals is not None:
        d_sums += totals[0]
        d_sums[d_wts == 0] = 0.0
    return d_sums, d_wts


def assign_bounded(X, sw, shift, centers, labels, bounds, previous, totals, update,
                   exact=True, tighten=True):
    """One Lloyd pass that skips rows whose center cannot change (Hamerly bounds).

    See :func:`fastdistill._kernels.cluster.lloyd_bounded_pass`. Labels,
    sums and inertia equal those of :func:`assign` (ties aside).

    Parameters
    ----------
    X, sw, shift, centers, labels, update
        As :func:`assign` (labels ``-1``: not assigned yet).
    bounds : ndarray of shape (n, 2), float32
        Upper bound on the distance of each row to its own center, lower
        bound on its distance to every other center; valid for ``previous``,
        updated for ``centers``.
    previous : ndarray of shape (k, d) or None
        The shifted centers the bounds were computed for (None: no row
        labelled yet).
    totals : tuple of (sums, weights) or None
        Per-cluster sums of the shifted rows and weights for the labels
        before the pass (None: no row labelled yet). Only rows that change
        cluster update them.
    update : bool
        Also return the per-cluster sums.
    exact : bool, default=True
        Read every row and return the exact inertia (False: rows that the
        bounds settle are not read, and the returned inertia is partial).
    tighten : bool, default=True
        Try the exact own distance of a row whose bounds do not settle it
        before searching it (False: search it at once; cheaper while many
        labels change).

    Returns
    -------
    sums, weights, inertia, changed, searched
        As :func:`assign` (the sums and weights are the new totals), and the
        number of rows searched against every center.
    """
    n, d = X.shape
    k = centers.shape[0]
    rows = chunk_rows(k)
    slots = n_slots(n, k, d)
    moves = np.zeros(k)
    move1 = move2 = 0.0
    move1_id = -1
    if previous is not None:
        step = centers.astype(np.float64) - previous
        moves = np.sqrt(np.einsum("ij,ij->i", step, step))
        # rounding slack of the float64 sums above, so that bounds stay bounds
        moves *= 1.0 + 4.0 * (d + 2) * np.finfo(np.float64).eps
        if k > 1:
            order = np.argsort(moves)
            move1_id = int(order[-1])
            move1, move2 = float(moves[order[-1]]), float(moves[order[-2]])
    gaps = K.half_gaps(centers)
    # float64 data search in float32 and verify near ties, as in assign()
    c_norms = _norms64(centers)
    mixed = _mixed(X, c_norms)
    search = np.float32 if mixed else X.dtype
    centers_ts, c_norms_s = _search_layout(centers, c_norms, search)
    with parallel_region(slots):
        d_sums, d_wts, inertia, changed, searched = K.lloyd_bounded_pass(
            X, sw, shift, centers, centers_ts, c_norms_s, float(c_norms.max()), mixed, labels,
            bounds, gaps, moves, move1, move1_id, move2, rows, slots, update, bool(exact),
            bool(tighten))
    d_sums, d_wts = add_totals(d_sums, d_wts, totals, labels, sw, update)
    return d_sums, d_wts, inertia, changed, searched


def _search_layout(centers, c_norms, dtype):
    """Return the centers transposed and their norms in ``dtype``, padded to whole vectors.

    As :func:`~fastdistill._kernels._intrinsics.nearest_two_rows` wants
    them: (d, kp) C-contiguous and (kp,), ``kp`` the number of centers
    rounded up to a multiple of the vector lanes; the padding is zero
    columns with norm ``inf``, never the nearest center nor the second.
    """
    k, d = centers.shape
    lanes = 64 // np.dtype(dtype).itemsize
    kp = -(-k // lanes) * lanes
    centers_ts = np.zeros((d, kp), dtype=dtype)
    centers_ts[:, :k] = centers.T
    c_norms_s = np.full(kp, np.inf, dtype=dtype)
    c_norms_s[:k] = c_norms
    return centers_ts, c_norms_s


def sq_distances(X, shift, centers) -> np.ndarray:
    """Squared distances of every row of X to every (shifted) center.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Validated rows.
    shift : ndarray of shape (d,)
        Shift of the rows (the centers are already shifted).
    centers : ndarray of shape (k, d)
        Shifted centers.

    Returns
    -------
    distances : ndarray of shape (n, k)
        Squared distances, in the dtype of X.
    """
    c_norms, rows, out = distance_layout(X, centers)
    with parallel_region(-(-X.shape[0] // rows)):
        K.sq_distances(X, shift, centers, c_norms, rows, out)
    return out


def distance_layout(X, centers):
    """Return the inputs of a chunked all-distances kernel: norms, chunk rows, output.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Validated rows.
    centers : ndarray of shape (k, d)
        Shifted centers, in X's dtype.

    Returns
    -------
    c_norms : ndarray of shape (k,)
        Squared center norms, in X's dtype.
    rows : int
        Rows per chunk (:func:`chunk_rows`).
    out : ndarray of shape (n, k)
        Uninitialised output, in X's dtype.
    """
    c_norms = _norms64(centers).astype(X.dtype)
    out = np.empty((X.shape[0], centers.shape[0]), dtype=X.dtype)
    return c_norms, chunk_rows(centers.shape[0]), out
