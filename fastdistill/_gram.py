"""Sufficient statistics and solvers for closed-form least squares.

:class:`GramStats` accumulates, over one or many chunks of rows, the shifted
cross products of ``Z = [X, Y]`` (one compiled pass per chunk; see
:func:`fastdistill._kernels.linear.gram_blocks`). Shifting every row by a
fixed vector close to the mean (taken from the first chunk) keeps the later
centering ``Z^T Z - n m m^T`` free of catastrophic cancellation.

:func:`solve_normal_equations` solves the (ridge) normal equations by
Cholesky, and reports when they are too ill-conditioned to trust, so that
the caller can fall back to the QR path (:func:`solve_qr`), which never forms
``X^T X``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ._kernels import linear as K
from ._kernels._blas import syrk_address
from ._validation import assert_finite
from ._threads import parallel_region, serial_blas

#: Reciprocal condition number (of the column-scaled Gram matrix) below which
#: the Cholesky solution is not trusted: its relative error is about
#: eps / rcond, so 1e-8 keeps it near 1e-8.
RCOND_LIMIT = 1e-8


def _run_blocked(kernel, X, Y, sw, shift, *extra):
    block_rows, n_slots = K.block_layout(X.shape[0], X.shape[1] + Y.shape[1], X.itemsize)
    # Slots in parallel, each with single-threaded BLAS: the split (and so the
    # result) depends only on the shape, never on the thread count.
    with parallel_region(n_slots):
        return kernel(X, Y, sw, shift, block_rows, n_slots, *extra)


class GramStats:
    """Running weighted, shifted cross products of ``[X, Y]``.

    Parameters
    ----------
    n_features, n_targets : int
        Columns of ``X`` and ``Y``.
    center : bool
        Whether the model has an intercept (then statistics are centred).
    """

    def __init__(self, n_features: int, n_targets: int, center: bool):
        self.d = n_features
        self.k = n_targets
        self.center = center
        p = n_features + n_targets
        self.shift: np.ndarray | None = None
        self.G = np.zeros((p, p))
        self.s = np.zeros(p)
        self.W = 0.0
        self.n = 0

    def add(self, X: np.ndarray, Y: np.ndarray, sw: np.ndarray) -> None:
        """Accumulate a validated chunk (``sw`` empty for unit weights).

        ``X`` need not have been checked for NaN/inf: they show in the
        statistics, which are checked here, and nothing is accumulated then.
        """
        shift = self._shift_for(X, Y)
        G, s, W = _run_blocked(K.gram_blocks, X, Y, sw, shift.astype(X.dtype),
                               syrk_address(X.dtype))
        if not np.all(np.isfinite(G)):
            # X was not scanned up front: NaN/inf in the data propagate into G.
            assert_finite(X, "X")
        self._merge(shift, G, s, W, Y)

    def add_computed(self, head: np.ndarray, Y: np.ndarray, compute) -> None:
        """Accumulate a chunk whose rows ``X`` only ``compute`` forms, block by block.

        ``head`` holds the chunk's first rows of ``X`` (up to 1024; they set
        the shift on the first chunk) and ``compute(shift)`` returns the
        chunk's ``(G, s, W)`` as :func:`~fastdistill._kernels.linear.gram_blocks`
        would for ``[X, Y]`` (a feature map's fused kernel: the features are
        never held whole).
        """
        shift = self._shift_for(head, Y)
        self._merge(shift, *compute(shift), Y)

    def _shift_for(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Return the shift: kept from the first chunk, else the mean of its first rows."""
        if self.shift is not None:
            return self.shift
        if not self.center:
            return np.zeros(self.d + self.k)
        head = slice(0, min(X.shape[0], 1024))
        return np.concatenate([X[head].mean(axis=0), Y[head].mean(axis=0)]).astype(np.float64)

    def _merge(self, shift, G, s, W, Y) -> None:
        if not np.all(np.isfinite(G)):
            assert_finite(Y, "y")
            raise ValueError(
                "The cross products X^T X overflowed: the data's values are "
                "too large. Scale the features (e.g. to unit variance) first."
            )
        self.shift = shift
        self.G += G
        self.s += s
        self.W += W
        self.n += Y.shape[0]

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """Weighted means of ``X`` and ``Y`` (zeros without intercept)."""
        if not self.center:
            return np.zeros(self.d), np.zeros(self.k)
        m = self.shift + self.s / self.W
        return m[: self.d], m[self.d :]

    def centered(self) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(X^T X, X^T Y)`` of the centred (or raw) weighted data."""
        G = self.G
        if self.center:
            G = G - np.outer(self.s, self.s) / self.W
        d = self.d
        return G[:d, :d], G[:d, d:]


def gram_layout(n_rows: int, width: int, itemsize: int) -> tuple[int, int]:
    """Row-block size and slot count of the Gram kernels for ``n_rows`` x ``width``.

    The same split as :meth:`GramStats.add` uses for a chunk of that shape, so
    a fused kernel that forms the rows itself gives the same statistics.
    """
    return K.block_layout(n_rows, width, itemsize)


def _ridge_cholesky(Gxx, Gxy, alpha):
    """Cholesky solve of ``(Gxx + alpha I) B = Gxy``.

    Returns ``(B, rcond_scaled, rcond_raw)``: B is None when the matrix is not
    positive definite; the reciprocal condition estimates (LAPACK ``pocon``)
    are for the column-scaled matrix (what bounds the solution's accuracy)
    and the unscaled one (``(s_min / s_max)**2`` of the data's singular values
    when ``alpha == 0``).
    """
    d = Gxx.shape[0]
    alpha = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    k = Gxy.shape[1]
    B = np.empty((d, k))
    worst_scaled = worst_raw = np.inf
    groups = [(slice(None), alpha[0])] if alpha.size == 1 else [
        (slice(c, c + 1), alpha[c]) for c in range(k)
    ]
    for cols, a in groups:
        A = Gxx + a * np.eye(d)
        dd = np.sqrt(np.diag(A))
        if np.any(dd == 0):
            return None, 0.0, 0.0
        C = A / np.outer(dd, dd)
        try:
            c, low = scipy.linalg.cho_factor(C, lower=False, check_finite=False)
        except np.linalg.LinAlgError:
            return None, 0.0, 0.0
        rc, info = scipy.linalg.lapack.dpocon(c, np.abs(C).sum(axis=0).max())
        worst_scaled = min(worst_scaled, float(rc) if info == 0 else 0.0)
        # chol(A) = chol(C) @ diag(dd): still upper triangular.
        rc, info = scipy.linalg.lapack.dpocon(c * dd[None, :], np.abs(A).sum(axis=0).max())
        worst_raw = min(worst_raw, float(rc) if info == 0 else 0.0)
        B[:, cols] = scipy.linalg.cho_solve((c, low), Gxy[:, cols] / dd[:, None],
                                            check_finite=False) / dd[:, None]
    return B, worst_scaled, worst_raw


def solve_normal_equations(stats: GramStats, alpha, cols=None):
    """Solve the (ridge) normal equations from accumulated statistics.

    Parameters
    ----------
    stats : GramStats
        Accumulated statistics.
    alpha : float or ndarray of shape (len(cols),)
        L2 penalty (0 for ordinary least squares).
    cols : ndarray of int, optional
        Targets to solve for (default: all).

    Returns
    -------
    B : ndarray of shape (n_features, n_targets) or None
        The coefficients, or None when the system is singular.
    rcond_scaled, rcond_raw : float
        Reciprocal condition estimates of the column-scaled and raw systems.
    """
    Gxx, Gxy = stats.centered()
    if cols is not None:
        Gxy = Gxy[:, cols]
    with serial_blas():
        return _ridge_cholesky(Gxx, Gxy, alpha)


def solve_min_norm_gram(stats: GramStats, alpha=0.0, tol=None,
                        cols=None) -> tuple[np.ndarray, int, np.ndarray]:
    """Minimum-norm (ridge) solution of the normal equations by eigendecomposition.

    Used by ``partial_fit`` when the accumulated system is singular or
    ill-conditioned, where the rows are no longer available for the QR path.
    Singular values (square roots of the eigenvalues) below ``tol`` times the
    largest are treated as zero, for targets whose ``alpha`` is 0. The
    default ``tol`` is ``sqrt(eps)``, and the cut-off is never below
    ``sqrt(10 d eps)``: eigenvalues of the Gram matrix are only accurate to a
    few ``d * eps * lambda_max``, so smaller singular values are noise.
    ``cols`` selects the targets (default: all).

    Returns
    -------
    B : ndarray of shape (n_features, n_targets)
    rank : int
    singular_values : ndarray of shape (n_features,)
        Square roots of the Gram eigenvalues, descending.
    """
    Gxx, Gxy = stats.centered()
    if cols is not None:
        Gxy = Gxy[:, cols]
    with serial_blas():
        evals, evecs = np.linalg.eigh(Gxx)
    evals = np.clip(evals[::-1], 0.0, None)
    evecs = evecs[:, ::-1]
    eps = np.finfo(np.float64).eps
    if tol is None:
        tol = np.sqrt(eps)
    # Eigenvalues of the Gram matrix carry an absolute error of a few
    # d * eps * lambda_max, i.e. singular values below sqrt(10 d eps) * s_max
    # are rounding noise whatever tol asks: never keep those.
    tol = max(float(tol), float(np.sqrt(10.0 * max(1, Gxx.shape[0]) * eps)))
    sv = np.sqrt(evals)
    keep = sv > tol * sv[0] if sv.size else np.zeros(0, dtype=bool)
    proj = evecs.T @ Gxy
    alpha = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (Gxy.shape[1],))
    denom = evals[:, None] + alpha[None, :]
    inv = np.where(keep[:, None] | (alpha[None, :] > 0), 1.0 / np.where(denom > 0, denom, 1.0), 0.0)
    B = evecs @ (inv * proj)
    return B, int(keep.sum()), sv


def solve_qr(X, Y, sw, stats: GramStats, tol=None) -> tuple[np.ndarray, int, np.ndarray]:
    """Least squares through a streaming Householder QR of the centred data.

    The data is centred exactly with the means found by ``stats``; the
    triangular factor ``R`` of ``[X, Y]`` is built in one compiled pass
    (per-slot factors merged in a fixed order), then the small system
    ``R11 B = R12`` is solved by SVD (LAPACK ``gelsd``), singular values
    below ``tol`` times the largest counting as zero (the ``cond`` of
    ``scipy.linalg.lstsq``, which scikit-learn's ``LinearRegression`` passes
    its ``tol`` as), giving the minimum-norm solution on rank-deficient data.

    Returns
    -------
    B : ndarray of shape (n_features, n_targets)
    rank : int
    singular_values : ndarray of shape (n_features,)
    """
    mx, my = stats.means()
    if X.shape[0] < 2 * X.shape[1]:
        # Not tall: the data is no bigger than a d x d factor, and LAPACK on a
        # centred copy beats the compiled row-by-row Householder update.
        w = np.sqrt(sw.astype(np.float64))[:, None] if sw.shape[0] else 1.0
        A = (X - mx) * w
        b = (Y - my) * w
        with serial_blas():
            B, _, rank, sv = scipy.linalg.lstsq(A, b, cond=tol, check_finite=False,
                                                lapack_driver="gelsd")
        sv = np.concatenate([sv, np.zeros(X.shape[1] - sv.size)])
        return B, int(rank), sv
    shift = np.concatenate([mx, my]).astype(X.dtype)
    Rs = _run_blocked(K.qr_blocks, X, Y, sw, shift)
    R = K.qr_merge(Rs)
    d = X.shape[1]
    with serial_blas():
        B, _, rank, sv = scipy.linalg.lstsq(
            R[:d, :d], R[:d, d:], cond=tol, check_finite=False, lapack_driver="gelsd"
        )
    return B, int(rank), sv
