"""Principal component analysis without copying X."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.linalg

from .._base import BaseEstimator, TransformerMixin
from .._gram import GramStats
from .._stats import mean_var
from .._threads import blas_region, parallel_region, serial_blas
from .._validation import check_random_state, check_scalar, validate_data

__all__ = ["PCA"]

_SOLVERS = ("auto", "full", "covariance_eigh", "randomized")


def svd_flip_v(Vt: np.ndarray, U: np.ndarray | None = None):
    """Make the largest-magnitude entry of every row of ``Vt`` positive.

    scikit-learn's ``svd_flip(u_based_decision=False)``: a deterministic sign
    for each component (and the matching sign for the columns of ``U``).

    Parameters
    ----------
    Vt : ndarray of shape (k, n_features)
        Right singular vectors (modified in place).
    U : ndarray of shape (n, k), optional
        Left singular vectors (modified in place).

    Returns
    -------
    signs : ndarray of shape (k,)
        The signs applied.
    """
    cols = np.argmax(np.abs(Vt), axis=1)
    signs = np.sign(Vt[np.arange(Vt.shape[0]), cols])
    signs[signs == 0] = 1.0
    Vt *= signs[:, None]
    if U is not None:
        U *= signs[None, :]
    return signs


def _centered_products(X: np.ndarray, mean: np.ndarray, mode: int, Mt: np.ndarray | None = None,
                       Yt: np.ndarray | None = None) -> np.ndarray | None:
    """One pass over ``X`` with ``A = X - 1 mean^T`` applied implicitly.

    The thin factors are transposed, ``Mt`` of shape ``(width, d)`` and
    ``Yt`` of shape ``(width, n)``. ``MODE_GRAM``: returns ``(A^T A M)^T``;
    ``MODE_PROJECT``: writes ``(A M)^T`` into ``Yt``; ``MODE_BACK``: returns
    ``(A^T Y)^T``. Products run in ``X``'s dtype; the slots' partial sums are
    merged in float64, in a fixed order.
    """
    import numba

    from .._kernels import pca as K

    n, d = X.shape
    dtype = X.dtype
    width = Yt.shape[0] if mode == K.MODE_BACK else Mt.shape[0]
    block_rows, n_slots = K.pass_layout(n, d, width, X.itemsize)
    Mt = np.empty((width, 0), dtype=dtype) if Mt is None else np.ascontiguousarray(Mt, dtype=dtype)
    if Yt is None:
        Yt = np.empty((width, 0), dtype=dtype)
    Zt = np.zeros((0 if mode == K.MODE_PROJECT else n_slots, width, d), dtype=dtype)
    # Slots handed out one at a time: a thread slowed by another process
    # takes fewer of them. The slots (and so the result) do not change.
    with parallel_region(n_slots), numba.parallel_chunksize(1):
        K.centered_pass(X, mean, Mt, Yt, Zt, mode, block_rows, n_slots, K.gemm_address(dtype))
    if mode == K.MODE_PROJECT:
        return None
    out = np.zeros((width, d))
    for part in Zt:  # fixed order: bit-identical for any thread count
        out += part
    return out


def _normalize(Z: np.ndarray, how: str) -> np.ndarray:
    """Normalise the ``(d, l)`` iterate of the subspace iteration (float64)."""
    if how == "LU":
        return scipy.linalg.lu(Z, permute_l=True, check_finite=False)[0]
    if how == "QR":
        return scipy.linalg.qr(Z, mode="economic", check_finite=False)[0]
    # "none": only rescale each column by a power of two (exact, so the
    # iterate is unchanged up to scale) so that powers of A^T A cannot
    # overflow.
    peak = np.max(np.abs(Z), axis=0)
    peak[~(peak > 0)] = 1.0
    return np.ldexp(Z, -np.frexp(peak)[1])


def _randomized_svd(X: np.ndarray, mean: np.ndarray, n_random: int, n_iter: int,
                    normalizer: str, rng) -> tuple[np.ndarray, np.ndarray]:
    """Singular values and right vectors of ``A = X - 1 mean^T`` (Halko et al.).

    scikit-learn's scheme (``randomized_range_finder`` then ``B = Q^T A``),
    with the same ``2 * n_iter + 2`` products by ``A`` or ``A^T``, but:

    * each power iteration ``M <- normalize(A^T (A M))`` is one fused pass
      over ``X`` (both products per row block while it is in cache), and
      the iterate is normalised on the small ``(d, l)`` side only, so ``X``
      is read ``n_iter + 2`` times instead of ``2 * n_iter + 2``;
    * ``A`` is never formed: every block is centred into a per-thread buffer,
      so the extra memory is ``O((n + d) l)`` (``l = n_random``).
    """
    from .._kernels import pca as K

    n, d = X.shape
    dtype = X.dtype
    M = rng.standard_normal(size=(d, n_random))
    for _ in range(n_iter):
        Z = _centered_products(X, mean, K.MODE_GRAM, Mt=M.T).T
        with serial_blas():
            M = _normalize(Z, normalizer)
    Yt = np.empty((n_random, n), dtype=dtype)
    _centered_products(X, mean, K.MODE_PROJECT, Mt=M.T, Yt=Yt)
    with serial_blas():
        # Yt.T is Fortran-ordered: LAPACK factorises it in place.
        Q = scipy.linalg.qr(Yt.T.astype(np.float64, copy=False), mode="economic",
                            overwrite_a=True, check_finite=False)[0]
    del Yt
    B = _centered_products(X, mean, K.MODE_BACK, Yt=np.ascontiguousarray(Q.T, dtype=dtype))
    del Q
    with serial_blas():
        _, s, Vt = scipy.linalg.svd(B, full_matrices=False, check_finite=False)
    return s, Vt


class PCA(TransformerMixin, BaseEstimator):
    """Principal component analysis, drop-in for scikit-learn's ``PCA``.

    Solvers (chosen by ``svd_solver="auto"`` with scikit-learn's rule):

    * ``"covariance_eigh"`` (tall data): one compiled pass accumulates the
      shifted Gram matrix ``X^T X`` (BLAS ``syrk`` per row block, in
      parallel), then a ``d x d`` eigendecomposition. No copy of ``X``.
    * ``"randomized"`` (wide data): Halko et al.'s range finder with power
      iterations, applied to ``X - mean`` *implicitly*: compiled passes
      centre one row block at a time into a per-thread buffer, so peak extra
      memory is ``O((n + d) k)``, never a copy of ``X``. Each power
      iteration computes both of its products, ``(X - mean)^T (X - mean) M``,
      in a single pass over ``X``, and normalises only the small
      ``n_features x k`` iterate.
    * ``"full"``: LAPACK SVD of a centred copy (exact; the one solver that
      copies ``X``).

    Component signs are fixed as scikit-learn's ``svd_flip`` fixes them.

    Parameters
    ----------
    n_components : int, float or None, default=None
        Number of components; a float in (0, 1) keeps the fewest components
        explaining that fraction of the variance ("full" and
        "covariance_eigh" only); None keeps ``min(n_samples, n_features)``.
    copy : bool, default=True
        Accepted for compatibility; ``X`` is never modified.
    whiten : bool, default=False
        Scale the projections to unit variance.
    svd_solver : {"auto", "full", "covariance_eigh", "randomized"}, default="auto"
        Solver (see above).
    tol : float, default=0.0
        Accepted for compatibility (scikit-learn uses it for "arpack").
    iterated_power : int or "auto", default="auto"
        Power iterations of the randomized solver ("auto": 7 when
        ``n_components < 0.1 * min(X.shape)``, else 4).
    n_oversamples : int, default=10
        Extra random vectors of the randomized solver.
    power_iteration_normalizer : {"auto", "QR", "LU", "none"}, default="auto"
        Normalisation of the ``n_features x (n_components + n_oversamples)``
        iterate between power iterations ("auto": "none" for at most 2
        iterations, else "LU"). "none" only rescales columns by powers of
        two (no overflow); with many iterations its columns collapse onto
        the leading direction, in float32 after a few.
    random_state : int, Generator, RandomState or None, default=None
        Seed of the randomized solver.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Principal axes.
    explained_variance_ : ndarray of shape (n_components,)
        Variance along each axis (``ddof=1``).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Fraction of the total variance.
    singular_values_ : ndarray of shape (n_components,)
        Singular values of the centred data.
    mean_ : ndarray of shape (n_features,)
        Column means.
    noise_variance_ : float
        Mean variance of the discarded directions.
    n_components_ : int
        Number of components kept.
    n_samples_ : int
        Rows seen in fit.
    n_features_in_ : int
        Number of features seen during fit.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.decomposition import PCA
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 3)) * [10.0, 1.0, 0.1]
    >>> pca = PCA(n_components=2).fit(X)
    >>> np.round(pca.explained_variance_ratio_, 2)
    array([0.99, 0.01])
    >>> np.abs(pca.components_[0]).argmax()
    np.int64(0)
    """

    def __init__(self, n_components=None, *, copy=True, whiten=False, svd_solver="auto",
                 tol=0.0, iterated_power="auto", n_oversamples=10,
                 power_iteration_normalizer="auto", random_state=None):
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.tol = tol
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state

    def _resolve(self, n: int, d: int) -> tuple[object, str]:
        if self.svd_solver not in _SOLVERS:
            raise ValueError(
                f"svd_solver must be one of {list(_SOLVERS)}, got {self.svd_solver!r}."
            )
        nc = self.n_components
        limit = min(n, d)
        if nc is None:
            nc = limit
        elif isinstance(nc, str):
            raise ValueError(
                f"n_components={nc!r} is not supported (fastdistill has no 'mle'); pass "
                f"an int, a float in (0, 1) or None."
            )
        elif isinstance(nc, numbers.Integral) and not isinstance(nc, bool):
            if not 0 <= nc <= limit:
                raise ValueError(
                    f"n_components={nc} must be between 0 and min(n_samples={n}, "
                    f"n_features={d})={limit} with svd_solver={self.svd_solver!r}."
                )
        elif isinstance(nc, numbers.Real) and not isinstance(nc, bool):
            if not 0.0 < nc < 1.0:
                raise ValueError(
                    f"n_components={nc} as a float must be in (0, 1) (a fraction of "
                    f"the variance to keep)."
                )
        else:
            raise TypeError(f"n_components must be an int, a float or None, got {nc!r}.")
        solver = self.svd_solver
        if solver == "auto":
            if d <= 1_000 and n >= 10 * d:
                solver = "covariance_eigh"
            elif max(n, d) <= 500:
                solver = "full"
            elif isinstance(nc, numbers.Integral) and 1 <= nc < 0.8 * limit:
                solver = "randomized"
            else:
                solver = "full"
        if solver == "randomized":
            if not isinstance(nc, numbers.Integral) or not 1 <= nc <= limit:
                raise ValueError(
                    f"svd_solver='randomized' needs an int n_components between 1 and "
                    f"min(n_samples={n}, n_features={d}) = {limit}, got {nc!r}."
                )
        return nc, solver

    def fit(self, X, y=None):
        """Fit the model with ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (never copied, except by the "full" solver).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        with self._transaction():
            return self._fit(X)

    def _fit(self, X):
        X = validate_data(self, X, reset=True, ensure_min_samples=2)
        n, d = X.shape
        nc, solver = self._resolve(n, d)
        check_scalar(self.n_oversamples, "n_oversamples", numbers.Integral, min_val=1)
        if solver == "covariance_eigh":
            mean, ev, Vt = self._fit_covariance(X)
        elif solver == "full":
            mean, ev, Vt = self._fit_full(X)
        else:
            mean, ev, Vt, total_var = self._fit_randomized(X, nc)
        n_keep = min(n, d)
        if solver != "randomized":
            ev, Vt = ev[:n_keep], Vt[:n_keep]
            total_var = float(ev.sum())
            ratio_all = ev / total_var if total_var > 0 else np.zeros_like(ev)
            if isinstance(nc, numbers.Real) and not isinstance(nc, numbers.Integral):
                cum = np.cumsum(ratio_all)
                nc = int(np.searchsorted(cum, nc, side="right") + 1)
                nc = min(nc, n_keep)
            noise = float(ev[nc:].mean()) if nc < n_keep else 0.0
        else:
            kept = float(ev.sum())
            noise = (total_var - kept) / (n_keep - nc) if nc < n_keep else 0.0
        self.n_components_ = int(nc)
        self.components_ = np.ascontiguousarray(Vt[:nc]).astype(X.dtype)
        self.explained_variance_ = ev[:nc].astype(X.dtype)
        self.explained_variance_ratio_ = (
            ev[:nc] / total_var if total_var > 0 else np.zeros(nc)
        ).astype(X.dtype)
        self.singular_values_ = np.sqrt(ev[:nc] * (n - 1)).astype(X.dtype)
        self.mean_ = mean.astype(X.dtype)
        self.noise_variance_ = float(noise)
        self.n_samples_ = n
        self._solver = solver
        return self

    def _fit_covariance(self, X):
        n, d = X.shape
        stats = GramStats(d, 0, center=True)
        stats.add(X, np.empty((n, 0), dtype=X.dtype), np.empty(0, dtype=X.dtype))
        C, _ = stats.centered()
        C = C / (n - 1)
        with serial_blas():
            ev, V = np.linalg.eigh(C)
        ev = np.clip(ev[::-1], 0.0, None)
        Vt = np.ascontiguousarray(V[:, ::-1].T)
        svd_flip_v(Vt)
        mean, _ = stats.means()
        return mean, ev, Vt

    def _fit_full(self, X):
        mean = X.mean(axis=0, dtype=np.float64)
        Xc = X - mean.astype(X.dtype)
        with blas_region():
            _, s, Vt = scipy.linalg.svd(Xc, full_matrices=False, check_finite=False)
        del Xc
        svd_flip_v(Vt)
        return mean, (s.astype(np.float64) ** 2) / (X.shape[0] - 1), Vt

    def _fit_randomized(self, X, nc):
        n, d = X.shape
        mean, var = mean_var(X)
        total_var = float(var.sum() * n / (n - 1))
        n_iter = self.iterated_power
        if n_iter == "auto":
            n_iter = 7 if nc < 0.1 * min(n, d) else 4
        check_scalar(n_iter, "iterated_power", numbers.Integral, min_val=0)
        norm = self.power_iteration_normalizer
        if norm not in ("auto", "QR", "LU", "none"):
            raise ValueError(
                f"power_iteration_normalizer must be 'auto', 'QR', 'LU' or 'none', got {norm!r}."
            )
        if norm == "auto":
            norm = "none" if n_iter <= 2 else "LU"
        rng = check_random_state(self.random_state)
        n_random = min(nc + self.n_oversamples, n, d)
        s, Vt = _randomized_svd(X, mean, n_random, n_iter, norm, rng)
        svd_flip_v(Vt)
        ev = (s.astype(np.float64) ** 2) / (n - 1)
        return mean, ev[:nc], Vt[:nc], total_var

    def transform(self, X) -> np.ndarray:
        """Project ``X`` on the principal axes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            ``(X - mean_) @ components_.T`` (divided by the standard
            deviations when ``whiten``), computed without centring a copy.
        """
        X = validate_data(self, X, reset=False)
        C = self.components_.astype(X.dtype, copy=False)
        with blas_region():
            out = X @ C.T
        out -= (self.mean_.astype(X.dtype) @ C.T)
        if self.whiten:
            scale = np.sqrt(self.explained_variance_).astype(X.dtype)
            scale[scale < np.finfo(X.dtype).eps] = np.finfo(X.dtype).eps
            out /= scale
        return out

    def inverse_transform(self, X) -> np.ndarray:
        """Map projections back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Projections.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            ``X @ components_ + mean_`` (undoing whitening first).
        """
        from .._validation import check_array, check_is_fitted

        check_is_fitted(self)
        X = check_array(X, name="X")
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} columns, but inverse_transform expects "
                f"n_components_={self.n_components_}."
            )
        C = self.components_.astype(X.dtype, copy=False)
        if self.whiten:
            C = np.sqrt(self.explained_variance_).astype(X.dtype)[:, None] * C
        with blas_region():
            out = X @ C
        out += self.mean_.astype(X.dtype)
        return out
