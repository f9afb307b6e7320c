"""Closed-form linear students: ``LinearRegression`` and ``Ridge``."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._base import BaseEstimator
from .._threads import max_threads, num_threads, serial_blas
from .._validation import check_option, check_scalar, validate_data
from ..exceptions import convergence_warning
from .. import _gram
from ._base import LinearPredictorMixin, check_targets, weights_or_empty

__all__ = ["LinearRegression", "Ridge"]


class _ClosedFormLinear(LinearPredictorMixin, BaseEstimator):
    """Shared fit/partial_fit machinery of the closed-form linear models."""

    def _alpha(self, n_targets: int):
        raise NotImplementedError

    def _solver(self) -> str:
        raise NotImplementedError

    def _tol(self) -> float:
        # Relative singular-value cut-off for unpenalised targets: about the
        # accuracy of singular values recovered from the Gram matrix.
        return float(np.sqrt(np.finfo(np.float64).eps))

    def _n_jobs(self):
        return getattr(self, "n_jobs", None)

    def _check_params(self) -> None:
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be a bool, got {self.fit_intercept!r}.")

    def _checked_threads(self):
        """Check every parameter; return the thread count ``n_jobs`` asks for (or None)."""
        self._check_params()
        n_jobs = self._n_jobs()
        if n_jobs is not None:
            check_scalar(n_jobs, "n_jobs", numbers.Integral)
            if n_jobs == 0 or n_jobs < -1 or n_jobs > max_threads():
                raise ValueError(
                    f"n_jobs must be -1 or between 1 and {max_threads()} (the threads "
                    f"Numba was started with), got {n_jobs}."
                )
        return {None: None, -1: max_threads()}.get(n_jobs, n_jobs)

    def _fit_chunk(self, X, y, sample_weight, reset: bool, allow_qr: bool, solve: bool = True):
        threads = self._checked_threads()
        with num_threads(threads), self._transaction():
            # NaN/inf in X surface in the Gram statistics (GramStats.add).
            X = validate_data(self, X, reset=reset, force_all_finite=False)
            Y, one_d = check_targets(y, X)
            if not reset and Y.shape[1] != self._stats.k:
                raise ValueError(
                    f"y has {Y.shape[1]} targets but earlier calls had {self._stats.k}."
                )
            sw = weights_or_empty(sample_weight, X.shape[0], X.dtype)
            self._alpha(Y.shape[1])  # check every parameter before any work
            self._solver()
            self._tol()
            if reset:
                stats = _gram.GramStats(X.shape[1], Y.shape[1], bool(self.fit_intercept))
                stats.add(X, Y, sw)
                self._stats = stats
                self._one_d = one_d
                self._dtype = X.dtype
            else:
                self._stats.add(X, Y, sw)
            if solve:
                self._solve(X, Y, sw, allow_qr)
        return self

    def _accumulate(self, X, y, sample_weight=None):
        """Add a chunk to the statistics without solving (streaming fits).

        Callers that stream many chunks (the distiller, the local students)
        call this per chunk and :meth:`_solve_accumulated` once at the end:
        the same model as ``partial_fit`` chunk by chunk, with one solve
        instead of one per chunk.
        """
        reset = not hasattr(self, "_stats")
        return self._fit_chunk(X, y, sample_weight, reset=reset, allow_qr=False, solve=False)

    def _accumulate_features(self, feature_map, X, y, sample_weight=None):
        """:meth:`_accumulate` of ``feature_map.transform(X)``, without forming it.

        For feature maps with a fused Gram kernel (``_gram_statistics``): the
        features of each block of rows go straight into the cross products.
        Returns False (nothing done) when the map has none for its settings.
        """
        fused = getattr(feature_map, "_gram_statistics", None)
        if fused is None or not feature_map._fuses_gram():
            return False  # the caller forms the features and calls _accumulate
        reset = not hasattr(self, "_stats")
        threads = self._checked_threads()
        with num_threads(threads), self._transaction():
            # the first rows' features: the shift on the first chunk, the width
            # check on the others
            head = feature_map.transform(X[: min(X.shape[0], 1024 if reset else 1)])
            validate_data(self, head, reset=reset, force_all_finite=False)
            Y, one_d = check_targets(y, X)
            Y = Y.astype(head.dtype, copy=False)  # the features' dtype, as _accumulate
            if not reset and Y.shape[1] != self._stats.k:
                raise ValueError(
                    f"y has {Y.shape[1]} targets but earlier calls had {self._stats.k}."
                )
            sw = weights_or_empty(sample_weight, X.shape[0], head.dtype)
            self._alpha(Y.shape[1])
            self._solver()
            self._tol()
            if reset:
                self._stats = _gram.GramStats(head.shape[1], Y.shape[1],
                                              bool(self.fit_intercept))
                self._one_d = one_d
                self._dtype = head.dtype
            self._stats.add_computed(head, Y, lambda shift: fused(X, Y, sw, shift))
        return True

    def _solve_accumulated(self):
        """Solve the statistics gathered by :meth:`_accumulate`."""
        with self._transaction():
            self._solve(None, None, None, allow_qr=False)
        return self

    def _solve(self, X, Y, sw, allow_qr: bool) -> None:
        stats = self._stats
        k = stats.k
        alpha = np.broadcast_to(np.asarray(self._alpha(k), dtype=np.float64), (k,))
        solver = self._solver()
        tol = self._tol()
        B = np.empty((stats.d, k))
        rank = sv = None
        paths = []
        pen = np.flatnonzero(alpha > 0)
        zero = np.flatnonzero(alpha == 0)
        if pen.size:
            # (G + alpha I) is positive definite: Cholesky, as scikit-learn's
            # Ridge does; the eigendecomposition only if rounding defeats it.
            Bp, _, _ = _gram.solve_normal_equations(stats, alpha[pen], pen)
            if Bp is None:
                Bp = _gram.solve_min_norm_gram(stats, alpha[pen], None, pen)[0]
                paths.append("eigh")
            else:
                paths.append("cholesky")
            B[:, pen] = Bp
        if zero.size:
            Bz = None
            if solver != "qr":
                Bz, rc_scaled, rc_raw = _gram.solve_normal_equations(stats, 0.0, zero)
                # Trust Cholesky when it is accurate (scaled condition) and no
                # singular value is near the cut-off ``tol * s_max`` below which
                # lstsq truncates (rc_raw ~ (s_min / s_max)**2; the factor 100
                # covers pocon's estimate).
                if Bz is not None and (
                    rc_scaled >= _gram.RCOND_LIMIT and rc_raw >= 100 * tol**2
                ):
                    paths.append("cholesky")
                else:
                    Bz = None
                    if solver == "cholesky":
                        warnings.warn(
                            "The normal equations are singular or ill-conditioned; "
                            "solver='cholesky' falls back to the minimum-norm "
                            "least-squares solution.",
                            UserWarning,
                            stacklevel=4,
                        )
            if Bz is None and allow_qr:
                Bz, rank, sv = _gram.solve_qr(X, Y, sw, stats, tol)
                Bz = Bz[:, zero]
                paths.append("qr")
            elif Bz is None:
                Bz, rank, sv = _gram.solve_min_norm_gram(stats, 0.0, tol, zero)
                paths.append("eigh")
                warnings.warn(
                    "The statistics accumulated by partial_fit are rank-deficient "
                    "or ill-conditioned; the coefficients are the minimum-norm "
                    "solution of the normal equations (singular values below "
                    f"{tol:g} times the largest dropped), accurate to about "
                    "cond(X)**2 * eps. Call fit on the whole data for the QR solver.",
                    convergence_warning(),
                    stacklevel=4,
                )
            B[:, zero] = Bz
        self.solver_ = "+".join(dict.fromkeys(paths))
        mx, my = stats.means()
        intercept = my - mx @ B
        self._store_coef(B, intercept, self._one_d, self._dtype)
        self._rank, self._singular = rank, sv

    def fit(self, X, y, sample_weight=None):
        """Fit the model in one compiled pass over ``X`` (two if ill-conditioned).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (not copied when it is a C-contiguous float array).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values.
        sample_weight : float or array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_chunk(X, y, sample_weight, reset=True, allow_qr=True)

    def partial_fit(self, X, y, sample_weight=None):
        """Add a chunk of rows to the running statistics and re-solve.

        Fitting chunk after chunk gives the same model as one ``fit`` on all
        rows (up to rounding), so data larger than memory (for example a
        ``numpy.memmap`` read in slices) can be streamed. Only the
        ``(n_features + n_targets)`` squared statistics are kept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Its targets.
        sample_weight : float or array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        reset = not hasattr(self, "_stats")
        return self._fit_chunk(X, y, sample_weight, reset=reset, allow_qr=False)


class LinearRegression(_ClosedFormLinear):
    """Ordinary least squares from one compiled pass over the data.

    The Gram matrix ``[X, y]^T [X, y]`` is accumulated in row blocks by a
    parallel Numba kernel (each block one BLAS GEMM, shifted near the mean so
    that centering loses no precision) and solved by Cholesky. When the
    system is ill-conditioned or rank-deficient (estimated reciprocal
    condition number of the scaled Gram matrix below ``1e-8``) the fit falls
    back to a streaming Householder QR of the centred data and an SVD of the
    small triangular factor, which returns the same minimum-norm solution as
    scikit-learn's ``lstsq``. No copy of ``X`` is made.

    Parameters
    ----------
    fit_intercept : bool, default=True
        Whether to fit an intercept (the data is centred implicitly).
    copy_X : bool, default=True
        Accepted for compatibility with scikit-learn; ``X`` is never copied
        nor modified, whatever its value.
    tol : float, default=1e-6
        Singular values of the centred data below ``tol`` times the largest
        count as zero (scikit-learn's meaning: the ``cond`` of
        ``scipy.linalg.lstsq``), so nearly collinear directions get the
        minimum-norm coefficients.
    n_jobs : int, default=None
        Threads for this estimator's calls; ``None`` uses
        :func:`fastdistill.set_num_threads`'s setting, -1 every thread Numba
        was started with.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercepts (0.0 when ``fit_intercept=False``).
    rank_ : int
        Rank of the (centred) data matrix.
    singular_ : ndarray of shape (n_features,)
        Singular values of the (centred, weighted) data matrix.
    solver_ : str
        The path used: ``"cholesky"``, ``"qr"`` or ``"eigh"`` (``partial_fit``
        on rank-deficient data).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    Ridge : Least squares with an L2 penalty.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.linear_model import LinearRegression
    >>> X = np.array([[1.0, 1.0], [1.0, 2.0], [2.0, 2.0], [2.0, 3.0]])
    >>> y = X @ np.array([1.0, 2.0]) + 3.0
    >>> reg = LinearRegression().fit(X, y)
    >>> np.round(reg.coef_, 6), round(float(reg.intercept_), 6)
    (array([1., 2.]), 3.0)
    """

    def __init__(self, *, fit_intercept=True, copy_X=True, tol=1e-6, n_jobs=None):
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.tol = tol
        self.n_jobs = n_jobs

    def _tol(self):
        return float(check_scalar(self.tol, "tol", numbers.Real, min_val=0.0))

    def _alpha(self, n_targets: int):
        return 0.0

    def _solver(self) -> str:
        return "auto"

    @property
    def rank_(self) -> int:
        """Rank of the centred data matrix."""
        self._ensure_spectrum()
        return self._rank

    @property
    def singular_(self) -> np.ndarray:
        """Singular values of the centred data matrix, descending."""
        self._ensure_spectrum()
        return self._singular

    def _ensure_spectrum(self) -> None:
        if not hasattr(self, "_stats"):
            raise AttributeError("rank_ and singular_ are available after fit.")
        if self._singular is None:
            Gxx, _ = self._stats.centered()
            with serial_blas():
                ev = np.clip(np.linalg.eigvalsh(Gxx)[::-1], 0.0, None)
            sv = np.sqrt(ev)
            self._singular = sv
            self._rank = int((sv > self._tol() * sv[0]).sum()) if sv.size else 0


class Ridge(_ClosedFormLinear):
    """Least squares with an L2 penalty, solved in closed form.

    Minimises ``||y - X w||^2 + alpha * ||w||^2`` (weighted by
    ``sample_weight``) from the Gram matrix accumulated in one compiled pass,
    by Cholesky. Targets with ``alpha == 0`` are solved as
    :class:`LinearRegression` solves them (with a ``sqrt(eps)`` cut-off
    instead of its ``tol``).

    Parameters
    ----------
    alpha : float or array-like of shape (n_targets,), default=1.0
        Penalty strength (per target when an array).
    fit_intercept : bool, default=True
        Whether to fit an unpenalised intercept.
    copy_X : bool, default=True
        Accepted for compatibility; ``X`` is never copied nor modified.
    solver : {"auto", "cholesky", "qr"}, default="auto"
        ``"auto"`` and ``"cholesky"`` solve the normal equations by
        Cholesky; for targets with ``alpha == 0`` on ill-conditioned data
        both fall back to the minimum-norm least-squares solution (streaming
        QR, singular values below ``sqrt(eps)`` times the largest dropped),
        ``"cholesky"`` with a warning, as scikit-learn does. ``"qr"`` (only
        for ``alpha == 0``) always uses the streaming QR.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercepts (0.0 when ``fit_intercept=False``).
    solver_ : str
        The path used.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5]) + 0.1
    >>> np.round(Ridge(alpha=1e-8).fit(X, y).coef_, 4)
    array([ 1. , -2. ,  0.5])
    """

    def __init__(self, alpha=1.0, *, fit_intercept=True, copy_X=True, solver="auto"):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.copy_X = copy_X
        self.solver = solver

    def _solver(self) -> str:
        return check_option(self.solver, "solver", ["auto", "cholesky", "qr"])

    def _alpha(self, n_targets: int):
        alpha = self.alpha
        if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
            check_scalar(alpha, "alpha", numbers.Real, min_val=0.0)
            a = float(alpha)
        else:
            a = np.asarray(alpha, dtype=np.float64).reshape(-1)
            if a.shape[0] not in (1, n_targets):
                raise ValueError(
                    f"alpha has {a.shape[0]} entries, but y has {n_targets} "
                    f"targets: pass one alpha or one per target."
                )
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                raise ValueError(f"alpha must be finite and >= 0, got {alpha!r}.")
            a = float(a[0]) if a.shape[0] == 1 else a
        if self._solver() == "qr" and np.any(np.asarray(a) != 0):
            raise ValueError("solver='qr' solves unpenalised least squares: set alpha=0.")
        return a
