"""Stochastic gradient descent linear student: ``SGDRegressor``."""

from __future__ import annotations

import numbers
import sys
import warnings

import numpy as np

from .._base import BaseEstimator
from .._kernels import linear as K
from .._kernels._random import seed_state
from .._threads import parallel_region
from .._validation import (
    assert_finite,
    check_option,
    check_random_state,
    check_scalar,
    validate_data,
)
from ..exceptions import convergence_warning
from ._base import LinearPredictorMixin, check_targets, weights_or_empty

__all__ = ["SGDRegressor"]

_LR = {"constant": 0, "optimal": 1, "invscaling": 2, "adaptive": 3}
_PENALTY = {None: 0, "l1": 1, "l2": 2, "elasticnet": 3}


class SGDRegressor(LinearPredictorMixin, BaseEstimator):
    """Linear regression by plain stochastic gradient descent, compiled.

    Each epoch (shuffle, then one update per sample) runs inside one Numba
    kernel. Several targets are fitted in the same pass over the data: each
    row is read once and every output takes its own step, so a multi-output
    fit costs little more than a single output. The update rule, learning-rate
    schedules, penalties and stopping criterion follow scikit-learn's
    ``SGDRegressor`` (squared loss); only the random shuffling stream differs.

    Parameters
    ----------
    loss : {"squared_error"}, default="squared_error"
        The loss (the squared error is the one a student distills with).
    penalty : {"l2", "l1", "elasticnet", None}, default="l2"
        Regularisation term.
    alpha : float, default=0.0001
        Regularisation strength; also sets the ``"optimal"`` learning rate.
    l1_ratio : float, default=0.15
        Elastic-net mixing (0 is L2, 1 is L1).
    fit_intercept : bool, default=True
        Whether to fit an intercept.
    max_iter : int, default=1000
        Maximum number of epochs for ``fit``.
    tol : float or None, default=1e-3
        Stop when an epoch's mean objective (loss plus penalty, as
        scikit-learn >= 1.8 computes it) fails to improve on the best by
        ``tol`` for ``n_iter_no_change`` epochs in a row (per target).
        ``None`` runs ``max_iter`` epochs.
    shuffle : bool, default=True
        Shuffle the samples before each epoch.
    verbose : int, default=0
        Print one line per epoch when positive.
    random_state : int, Generator, RandomState or None, default=None
        Seed of the shuffling; the same seed gives the same model.
    learning_rate : {"invscaling", "constant", "optimal", "adaptive"}, default="invscaling"
        Step-size schedule: ``eta0 / t**power_t``, ``eta0``,
        ``1 / (alpha * (t0 + t))``, or ``eta0`` divided by 5 whenever the
        loss stalls.
    eta0 : float, default=0.01
        Initial learning rate.
    power_t : float, default=0.25
        Exponent of the inverse-scaling schedule.
    n_iter_no_change : int, default=5
        Epochs without improvement before stopping.
    warm_start : bool, default=False
        Start ``fit`` from the previous solution.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Weights.
    intercept_ : ndarray of shape (1,) or (n_targets,)
        Intercepts.
    n_iter_ : int
        Epochs run by the last ``fit`` (the largest over targets).
    t_ : float
        Number of weight updates performed, plus one.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.linear_model import SGDRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5]) + 1.0
    >>> reg = SGDRegressor(random_state=0).fit(X, y)
    >>> np.round(reg.coef_, 1)
    array([ 1. , -2. ,  0.5])
    """

    def __init__(
        self,
        loss="squared_error",
        *,
        penalty="l2",
        alpha=0.0001,
        l1_ratio=0.15,
        fit_intercept=True,
        max_iter=1000,
        tol=1e-3,
        shuffle=True,
        verbose=0,
        random_state=None,
        learning_rate="invscaling",
        eta0=0.01,
        power_t=0.25,
        n_iter_no_change=5,
        warm_start=False,
    ):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.verbose = verbose
        self.random_state = random_state
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start

    def _check_params(self) -> None:
        check_option(self.loss, "loss", ["squared_error"])
        for name in ("shuffle", "fit_intercept", "warm_start"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")
        if self.penalty not in _PENALTY:
            raise ValueError(
                f"penalty must be one of 'l2', 'l1', 'elasticnet' or None, got {self.penalty!r}."
            )
        check_scalar(self.alpha, "alpha", numbers.Real, min_val=0.0)
        check_scalar(self.l1_ratio, "l1_ratio", numbers.Real, min_val=0.0, max_val=1.0)
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)
        if self.tol is not None:
            check_scalar(self.tol, "tol", numbers.Real)
        check_option(self.learning_rate, "learning_rate", list(_LR))
        check_scalar(self.eta0, "eta0", numbers.Real, min_val=0.0)
        if self.learning_rate != "optimal" and self.eta0 <= 0:
            raise ValueError(
                f"eta0 must be > 0 with learning_rate={self.learning_rate!r}, got {self.eta0}."
            )
        if self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError(
                "alpha must be > 0 with learning_rate='optimal' (the step is "
                "1 / (alpha * t)); raise alpha or choose another schedule."
            )
        check_scalar(self.power_t, "power_t", numbers.Real)
        check_scalar(self.n_iter_no_change, "n_iter_no_change", numbers.Integral, min_val=1)

    def _init_state(self, d: int, k: int, dtype, coef_init, intercept_init) -> None:
        W = np.zeros((k, d), dtype=dtype)
        b = np.zeros(k, dtype=dtype)
        if coef_init is not None:
            ci = np.asarray(coef_init, dtype=dtype).reshape(k, d) if np.size(coef_init) == d * k else None
            if ci is None:
                raise ValueError(
                    f"coef_init has shape {np.shape(coef_init)}, expected "
                    f"({d},) or ({k}, {d})."
                )
            W[:] = ci
        if intercept_init is not None:
            ii = np.asarray(intercept_init, dtype=dtype).reshape(-1)
            if ii.shape[0] != k:
                raise ValueError(
                    f"intercept_init has {ii.shape[0]} entries, expected {k}."
                )
            b[:] = ii
        self._W, self._b = W, b
        self._k = k

    def _epochs(self, X, Y, sw, max_iter: int, use_tol: bool) -> int:
        n, d = X.shape
        k = Y.shape[1]
        lr = _LR[self.learning_rate]
        pen = _PENALTY[self.penalty]
        alpha = float(self.alpha)
        optimal_init = 0.0
        if lr == 1:
            typw = np.sqrt(1.0 / np.sqrt(alpha))
            optimal_init = 1.0 / (typw * alpha)
        order = np.arange(n, dtype=np.int64)
        q = np.zeros((k, d), dtype=np.float64)
        u = np.zeros(k, dtype=np.float64)
        eta_adapt = np.full(k, float(self.eta0))
        active = np.ones(k, dtype=np.uint8)
        best = np.full(k, np.inf)
        no_improve = np.zeros(k, dtype=np.int64)
        tol = self.tol if (use_tol and self.tol is not None) else -np.inf
        epochs = 0
        snapshot = (self._W.copy(), self._b.copy(), self.t_)
        # Shuffled epochs on large data may use a two-thread pipelined pass
        # (rows gathered ahead; same weights for any thread count).
        with parallel_region(2) as n_threads:
            pipeline = n_threads > 1
            for epoch in range(max_iter):
                t, sumloss, objective = K.sgd_epoch(
                    X, Y, sw, order, self._rng_state, bool(self.shuffle),
                    self._W, self._b, q, u, eta_adapt, active, float(self.t_),
                    lr, float(self.eta0), float(self.power_t), alpha,
                    float(self.l1_ratio), pen, bool(self.fit_intercept),
                    optimal_init, pipeline,
                )
                self.t_ = t
                epochs = epoch + 1
                if self.verbose:
                    print(
                        f"-- Epoch {epochs}: norm {np.linalg.norm(self._W):.4g}, "
                        f"bias {np.round(self._b, 6).tolist()}, T {int(t) - 1}, "
                        f"avg. loss {np.round(sumloss / n, 6).tolist()}, "
                        f"objective {np.round(objective / n, 6).tolist()}",
                        file=sys.stdout,
                    )
                finite = np.all(np.isfinite(self._W)) and np.all(np.isfinite(self._b))
                if not (finite and np.all(np.isfinite(objective))):
                    # X was not scanned up front (the epoch itself detects NaN/inf:
                    # see sgd_epoch); undo this call's steps, then say which it was.
                    self._W[:], self._b[:], self.t_ = snapshot
                    assert_finite(X, "X")
                    raise ValueError(
                        f"Floating-point under-/overflow occurred at epoch #{epochs}. "
                        f"Scale the input data (for example to zero mean and unit "
                        f"variance) or lower eta0."
                    )
                if tol == -np.inf:
                    continue
                for c in range(k):
                    if not active[c]:
                        continue
                    # scikit-learn >= 1.8: mean objective (loss + penalty) per sample
                    obj = objective[c] / n
                    if obj > best[c] - tol:
                        no_improve[c] += 1
                    else:
                        no_improve[c] = 0
                    best[c] = min(best[c], obj)
                    if no_improve[c] >= self.n_iter_no_change:
                        if lr == 3 and eta_adapt[c] > 1e-6:
                            eta_adapt[c] /= 5.0
                            no_improve[c] = 0
                        else:
                            active[c] = 0
                if not active.any():
                    break
        return epochs

    def _fit_impl(self, X, y, sample_weight, *, reset, max_iter, use_tol,
                  coef_init=None, intercept_init=None):
        with self._transaction():
            return self._fit_checked(X, y, sample_weight, reset=reset, max_iter=max_iter,
                                     use_tol=use_tol, coef_init=coef_init,
                                     intercept_init=intercept_init)

    def _fit_checked(self, X, y, sample_weight, *, reset, max_iter, use_tol,
                     coef_init=None, intercept_init=None):
        self._check_params()
        # NaN/inf in X are caught by the epoch kernel (saves a pass over X).
        X = validate_data(self, X, reset=reset, force_all_finite=False)
        Y, one_d = check_targets(y, X)
        sw = weights_or_empty(sample_weight, X.shape[0], X.dtype)
        if reset:
            self._one_d = one_d
            self._dtype = X.dtype
            self._rng_state = seed_state(check_random_state(self.random_state))
            self._init_state(X.shape[1], Y.shape[1], X.dtype, coef_init, intercept_init)
            self.t_ = 1.0
        else:
            if Y.shape[1] != self._k:
                raise ValueError(
                    f"y has {Y.shape[1]} targets but the model was fitted with {self._k}."
                )
            if X.dtype != self._W.dtype:
                X = X.astype(self._W.dtype)
                Y = Y.astype(self._W.dtype)
                sw = sw.astype(self._W.dtype)
        self.n_iter_ = self._epochs(X, Y, sw, max_iter, use_tol)
        self._store_coef(self._W.T, self._b, self._one_d, self._dtype)
        if not self.fit_intercept:
            self.intercept_ = np.zeros(self._k, dtype=self._dtype)
        elif self._one_d:
            self.intercept_ = np.atleast_1d(self.intercept_)
        return self

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit the model by SGD, epoch after epoch until the stopping criterion.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target values (several targets are fitted in one pass).
        coef_init : array-like of shape (n_features,) or (n_targets, n_features), optional
            Initial weights.
        intercept_init : array-like of shape (n_targets,), optional
            Initial intercepts.
        sample_weight : float or array-like of shape (n_samples,), default=None
            Non-negative sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self.warm_start and hasattr(self, "coef_"):
            if coef_init is None:
                coef_init = self.coef_
            if intercept_init is None and self.fit_intercept:
                intercept_init = self.intercept_
        self._fit_impl(X, y, sample_weight, reset=True, max_iter=int(self.max_iter),
                       use_tol=True, coef_init=coef_init, intercept_init=intercept_init)
        if self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn(
                "Maximum number of iteration reached before convergence. Consider "
                "increasing max_iter to improve the fit.",
                convergence_warning(),
                stacklevel=2,
            )
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """Run one epoch of SGD over the given samples.

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
        reset = not hasattr(self, "_W")
        return self._fit_impl(X, y, sample_weight, reset=reset, max_iter=1, use_tol=False)
