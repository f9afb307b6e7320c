"""How a patched scikit-learn estimator chooses between fastdistill and scikit-learn.

The classes here are mixins placed before a scikit-learn class by
:mod:`fastdistill.patch`. ``fit`` checks the parameters as scikit-learn does,
then runs the matching fastdistill estimator when the parameters and the
input are supported (taking its fitted attributes), and scikit-learn's own
code otherwise; predict-type methods follow the library that fitted. Every
decision is recorded (:func:`last_dispatch`) and logged (logger
``"fastdistill.patch"``).

Importing this module imports neither scikit-learn nor Numba.
"""

from __future__ import annotations

import importlib
import logging
import numbers
import os
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from ._base import available_if
from ._validation import _is_sparse

__all__ = ["Dispatch", "last_dispatch", "MIXINS"]

logger = logging.getLogger("fastdistill.patch")

class Dispatch(NamedTuple):
    """Where one call of a patched estimator ran, and why.

    Attributes
    ----------
    estimator : str
        Estimator name, e.g. ``"KMeans"``.
    method : str
        The method called (``"fit"``, ``"partial_fit"``, ``"predict"``, ...).
    backend : str
        ``"fastdistill"`` or ``"sklearn"``.
    reason : str
        Why that backend ran (for ``"sklearn"``: what fastdistill does not
        support).

    Examples
    --------
    >>> from fastdistill.patch import Dispatch
    >>> Dispatch("PCA", "fit", "sklearn", "sparse X").backend
    'sklearn'
    """

    estimator: str
    method: str
    backend: str
    reason: str


_LAST: Dispatch | None = None


def last_dispatch() -> Dispatch | None:
    """Return the latest dispatch decision of a patched estimator in this process.

    Fits, partial fits and fit_transform/fit_predict calls are recorded
    (and logged at level INFO); predict-type calls of a model fitted by
    fastdistill too (logged at level DEBUG).

    Returns
    -------
    dispatch : Dispatch or None
        ``(estimator, method, backend, reason)``; None before any call.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse
    >>> from fastdistill.patch import last_dispatch, patched
    >>> with patched(["PCA"]):
    ...     from sklearn.decomposition import PCA
    ...     X = scipy.sparse.random(20, 5, density=0.5, random_state=0)
    ...     _ = PCA(n_components=2, svd_solver="arpack").fit(X)
    >>> last_dispatch().backend, last_dispatch().reason
    ('sklearn', 'sparse X')
    """
    return _LAST


def _record(est: Any, method: str, backend: str, reason: str, level: int = logging.INFO):
    global _LAST
    _LAST = Dispatch(est._fd_name, method, backend, reason)
    if logger.isEnabledFor(level):
        where = "fastdistill" if backend == "fastdistill" else "scikit-learn"
        logger.log(level, "%s.%s ran on %s: %s", est._fd_name, method, where, reason)


def _raw(bound: Callable) -> Callable:
    """Unwrap a bound scikit-learn method from its set_output wrapper (ours wraps once)."""
    inner = getattr(getattr(bound, "__func__", None), "__wrapped__", None)
    return inner.__get__(bound.__self__) if inner is not None else bound


def _check_sklearn_params(est: Any) -> None:
    """Validate the parameters as scikit-learn's ``fit`` does (same errors)."""
    import sklearn

    if not sklearn.get_config().get("skip_parameter_validation", False):
        est._validate_params()


# --------------------------------------------------------------- dispatching

class _Dispatcher:
    """Dispatch machinery shared by the patched classes (mixed in before sklearn's)."""

    _fd_name = ""
    _fd_module = ""
    #: scikit-learn's fitted attributes, copied from fastdistill's model.
    _fd_fitted_attrs: tuple[str, ...] = ()
    #: Attributes prediction reads; pushed into fastdistill's model before use,
    #: so attributes set by hand are honoured as in scikit-learn.
    _fd_key_attrs: tuple[str, ...] = ()

    # -- decisions
    def _fd_unsupported(self, X, y, kwargs) -> str | None:
        """Why fastdistill cannot run these parameters (None if it can)."""
        return None

    def _fd_why_not(self, X, y, kwargs) -> str | None:
        if _is_sparse(X):
            return "sparse X"
        if y is not None and _is_sparse(y):
            return "sparse y"
        import sklearn

        if sklearn.get_config().get("array_api_dispatch", False):
            return "array API dispatch is enabled"
        return self._fd_unsupported(X, y, kwargs)

    def _fd_note(self) -> str:
        """Why fastdistill runs (shown by last_dispatch and the log)."""
        return "supported parameters and dense input"

    def _fd_class(self) -> type:
        return getattr(importlib.import_module(self._fd_module), self._fd_name)

    def _fd_params(self) -> dict:
        return {name: getattr(self, name) for name in self._fd_class()._get_param_names()}

    # -- fitting
    def _fd_dispatch_fit(self, method: str, X, y, kwargs: dict, run: Callable) -> bool:
        """Fit a fresh fastdistill model if supported; False means run scikit-learn.

        ``run(model)`` fits the fastdistill model. If fastdistill rejects the
        call (ValueError or TypeError: an input or parameter it does not
        handle), scikit-learn runs instead, and raises its own error or
        handles the case.
        """
        _check_sklearn_params(self)
        reason = self._fd_why_not(X, y, kwargs)
        if reason is None:
            model = self._fd_class()(**self._fd_params())
            try:
                run(model)
            except (ValueError, TypeError) as exc:
                reason = f"fastdistill declined: {exc}"
            else:
                self._fd_adopt(model)
                _record(self, method, "fastdistill", self._fd_note())
                return True
        self.__dict__.pop("_fastdistill", None)
        _record(self, method, "sklearn", reason)
        return False

    def _fd_dispatch_continue(self, method: str, X, y, kwargs: dict, run: Callable) -> bool:
        """``partial_fit`` or a warm-start fit: continue on the library that fitted.

        Returns False when scikit-learn must run (it fitted the model, or
        nothing did and fastdistill does not support the call).
        """
        model = self.__dict__.get("_fastdistill")
        if model is None:
            if self._fd_key_attrs[0] in self.__dict__:
                _record(self, method, "sklearn", "continuing scikit-learn's fit")
                return False
            return self._fd_dispatch_fit(method, X, y, kwargs, run)
        _check_sklearn_params(self)
        reason = self._fd_why_not(X, y, kwargs)
        if reason is not None:
            raise ValueError(
                f"This {self._fd_name} was fitted by fastdistill, which cannot continue "
                f"its training with {reason}. Fit it again with warm_start=False, or "
                f"call fastdistill.unpatch_sklearn() before creating it."
            )
        self._fd_push(model, training=True)
        model.set_params(**self._fd_params())
        run(model)
        self._fd_adopt(model)
        _record(self, method, "fastdistill", "continuing fastdistill's fit")
        return True

    def _fd_adopt(self, model) -> None:
        """Take fastdistill's fitted model: its attributes become this estimator's."""
        for key in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            del self.__dict__[key]  # stale attributes of an earlier fit
        self._fastdistill = model
        for name in self._fd_fitted_attrs:
            try:
                value = getattr(model, name)
            except AttributeError:
                continue
            setattr(self, name, value)
        self._fd_sklearn_state(model)

    def _fd_sklearn_state(self, model) -> None:
        """Private attributes scikit-learn's own methods read (sparse input)."""

    def _fd_push(self, model, training: bool = False) -> None:
        """Give fastdistill's model this estimator's current fitted attributes."""
        for name in self._fd_key_attrs:
            if name in self.__dict__:
                setattr(model, name, self.__dict__[name])

    # -- predicting
    def _fd_route(self, method: str, sk_call: Callable, X, *args, **kwargs):
        """Call ``method`` on fastdistill's model (dense X), else scikit-learn's code."""
        model = self.__dict__.get("_fastdistill")
        if model is None:
            return sk_call(X, *args, **kwargs)
        if _is_sparse(X):
            reason = "sparse X"
        else:
            try:
                self._fd_push(model)
                out = getattr(model, method)(X, *args, **kwargs)
            except (ValueError, TypeError) as exc:
                reason = f"fastdistill declined: {exc}"
            else:
                _record(self, method, "fastdistill", "fitted by fastdistill", logging.DEBUG)
                return out
        _record(self, method, "sklearn", reason, logging.DEBUG)
        return sk_call(X, *args, **kwargs)


class _KMeans(_Dispatcher):
    _fd_name = "KMeans"
    _fd_module = "fastdistill.cluster"
    _fd_fitted_attrs = ("cluster_centers_", "labels_", "inertia_", "n_iter_", "n_features_in_",
                        "feature_names_in_")
    _fd_key_attrs = ("cluster_centers_",)

    def _fd_unsupported(self, X, y, kwargs):
        if callable(self.init):
            return ("init is a callable (scikit-learn passes it a RandomState, fastdistill "
                    "a Generator)")
        return None

    def _fd_note(self):
        if self.algorithm == "elkan":
            return ("algorithm='elkan' run as Lloyd's algorithm (Elkan's is an exact "
                    "acceleration of it: same clustering)")
        return super()._fd_note()

    def _fd_params(self):
        return {**super()._fd_params(), "algorithm": "lloyd"}

    def _fd_sklearn_state(self, model):
        try:
            from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

            self._n_threads = _openmp_effective_n_threads()
        except ImportError:  # pragma: no cover - private scikit-learn helper moved
            self._n_threads = os.cpu_count() or 1
        self._n_features_out = self.cluster_centers_.shape[0]

    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering (fastdistill's Lloyd when supported).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self._fd_dispatch_fit("fit", X, None, {"sample_weight": sample_weight},
                                 lambda m: m.fit(X, sample_weight=sample_weight)):
            return self
        return super().fit(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """Index of the nearest center of each row (see scikit-learn's ``KMeans``).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster indices.
        """
        return self._fd_route("predict", super().predict, X)

    def _fd_distances(self, X):
        return self._fd_route("transform", _raw(super().transform), X)

    def transform(self, X):
        """Distances of every row to every center (see scikit-learn's ``KMeans``).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_clusters)
            Distances.
        """
        return self._fd_distances(X)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances of the rows to the centers.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_clusters)
            Distances.
        """
        return self.fit(X, sample_weight=sample_weight)._fd_distances(X)

    def score(self, X, y=None, sample_weight=None):
        """Opposite of the inertia of ``X`` (see scikit-learn's ``KMeans``).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Rows.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows.

        Returns
        -------
        score : float
            Minus the inertia.
        """
        return self._fd_route("score", super().score, X, y, sample_weight=sample_weight)


class _PCA(_Dispatcher):
    _fd_name = "PCA"
    _fd_module = "fastdistill.decomposition"
    _fd_fitted_attrs = ("components_", "explained_variance_", "explained_variance_ratio_",
                        "singular_values_", "mean_", "n_components_", "n_samples_",
                        "noise_variance_", "n_features_in_", "feature_names_in_")
    _fd_key_attrs = ("components_", "mean_", "explained_variance_")

    def _fd_unsupported(self, X, y, kwargs):
        if self.svd_solver == "arpack":
            return "svd_solver='arpack' (fastdistill has no ARPACK solver)"
        if isinstance(self.n_components, str):
            return f"n_components={self.n_components!r} (fastdistill has no 'mle')"
        return None

    def _fd_sklearn_state(self, model):
        self._fit_svd_solver = getattr(model, "_solver", self.svd_solver)

    def fit(self, X, y=None):
        """Fit the principal axes (fastdistill's solvers when supported).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self._fd_dispatch_fit("fit", X, None, {}, lambda m: m.fit(X)):
            return self
        return super().fit(X, y)

    def _fd_project(self, X):
        return self._fd_route("transform", _raw(super().transform), X)

    def fit_transform(self, X, y=None):
        """Fit, then project ``X`` on the principal axes.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            Projections.
        """
        if self._fd_dispatch_fit("fit_transform", X, None, {}, lambda m: m.fit(X)):
            return self._fd_project(X)
        return _raw(super().fit_transform)(X, y)

    def transform(self, X):
        """Project ``X`` on the principal axes (see scikit-learn's ``PCA``).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Data.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            Projections.
        """
        return self._fd_project(X)

    def inverse_transform(self, X):
        """Map projections back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Projections.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Reconstructed data.
        """
        return self._fd_route("inverse_transform", super().inverse_transform, X)


class _LinearPredict(_Dispatcher):
    _fd_key_attrs = ("coef_", "intercept_")

    def predict(self, X):
        """Predict with the linear model (see the scikit-learn class).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions.
        """
        return self._fd_route("predict", super().predict, X)


class _LinearRegression(_LinearPredict):
    _fd_name = "LinearRegression"
    _fd_module = "fastdistill.linear_model"
    _fd_fitted_attrs = ("coef_", "intercept_", "rank_", "singular_", "n_features_in_",
                        "feature_names_in_")

    def _fd_unsupported(self, X, y, kwargs):
        if self.positive:
            return "positive=True (fastdistill has no non-negative least squares)"
        return None

    def _fd_params(self):
        params = super()._fd_params()
        n_jobs = params["n_jobs"]
        if isinstance(n_jobs, numbers.Integral) and n_jobs not in (0, -1):
            from ._threads import max_threads

            top = max_threads()  # scikit-learn's meaning: -2 is all but one, etc.
            params["n_jobs"] = min(n_jobs, top) if n_jobs > 0 else max(1, top + 1 + n_jobs)
        return params

    def fit(self, X, y, sample_weight=None):
        """Fit least squares (fastdistill's one-pass solver when supported).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self._fd_dispatch_fit("fit", X, y, {"sample_weight": sample_weight},
                                 lambda m: m.fit(X, y, sample_weight=sample_weight)):
            return self
        return super().fit(X, y, sample_weight=sample_weight)


_RIDGE_ITERATIVE = ("lsqr", "sparse_cg", "sag", "saga", "lbfgs")


class _Ridge(_LinearPredict):
    _fd_name = "Ridge"
    _fd_module = "fastdistill.linear_model"
    _fd_fitted_attrs = ("coef_", "intercept_", "solver_", "n_features_in_", "feature_names_in_")

    def _fd_unsupported(self, X, y, kwargs):
        if self.positive:
            return "positive=True (fastdistill has no non-negative ridge)"
        if self.solver in _RIDGE_ITERATIVE:
            return (f"solver={self.solver!r} (an iterative solver; fastdistill solves "
                    f"ridge exactly)")
        return None

    def _fd_params(self):
        # 'svd' and 'cholesky' are exact: the same solution as fastdistill's
        # Cholesky (minimum-norm least squares where alpha is 0).
        return {"alpha": self.alpha, "fit_intercept": self.fit_intercept,
                "copy_X": self.copy_X,
                "solver": "cholesky" if self.solver == "cholesky" else "auto"}

    def _fd_sklearn_state(self, model):
        self.n_iter_ = None  # as scikit-learn's direct solvers

    def fit(self, X, y, sample_weight=None):
        """Fit ridge regression (fastdistill's Cholesky when supported).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : float or array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self._fd_dispatch_fit("fit", X, y, {"sample_weight": sample_weight},
                                 lambda m: m.fit(X, y, sample_weight=sample_weight)):
            return self
        return super().fit(X, y, sample_weight=sample_weight)


class _SGDRegressor(_LinearPredict):
    _fd_name = "SGDRegressor"
    _fd_module = "fastdistill.linear_model"
    _fd_fitted_attrs = ("coef_", "intercept_", "n_iter_", "t_", "n_features_in_",
                        "feature_names_in_")

    def _fd_unsupported(self, X, y, kwargs):
        if self.learning_rate in ("pa1", "pa2"):
            return f"learning_rate={self.learning_rate!r} (passive-aggressive steps)"
        if self.loss != "squared_error":
            return f"loss={self.loss!r} (fastdistill fits the squared error only)"
        if self.early_stopping:
            return "early_stopping=True"
        if self.average:
            return f"average={self.average!r} (averaged SGD)"
        if np.asarray(y).ndim != 1:
            return "y is not 1-D"
        return None

    def _fd_params(self):
        params = super()._fd_params()
        if params["l1_ratio"] is None and self.penalty != "elasticnet":
            params["l1_ratio"] = 0.15  # unused without the elastic net
        return params

    def _fd_push(self, model, training=False):
        super()._fd_push(model)
        if training and hasattr(model, "_W") and self.coef_ is not model._W:
            model._W[...] = np.reshape(self.coef_, model._W.shape)
            model._b[...] = np.reshape(self.intercept_, model._b.shape)

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fit by SGD (fastdistill's compiled epochs when supported).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        coef_init : array-like of shape (n_features,), default=None
            Initial coefficients.
        intercept_init : array-like of shape (1,), default=None
            Initial intercept.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if not _is_sparse(y) and np.asarray(y).ndim == 2 and np.shape(y)[1] == 1:
            from sklearn.utils.validation import column_or_1d

            y = column_or_1d(y, warn=True)  # scikit-learn's warning, then a 1-D fit
        coef0, intercept0 = coef_init, intercept_init
        if self.warm_start and "coef_" in self.__dict__:
            coef0 = self.coef_ if coef0 is None else coef0
            intercept0 = self.intercept_ if intercept0 is None else intercept0

        def run(model):
            model.fit(X, y, coef_init=coef0, intercept_init=intercept0,
                      sample_weight=sample_weight)

        if self._fd_dispatch_fit("fit", X, y, {"sample_weight": sample_weight}, run):
            return self
        return super().fit(X, y, coef_init=coef_init, intercept_init=intercept_init,
                           sample_weight=sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of SGD over ``(X, y)``, continuing the current fit.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            A chunk of training data.
        y : array-like of shape (n_samples,)
            Its targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if self._fd_dispatch_continue("partial_fit", X, y, {"sample_weight": sample_weight},
                                      lambda m: m.partial_fit(X, y, sample_weight=sample_weight)):
            return self
        return super().partial_fit(X, y, sample_weight=sample_weight)


def _stochastic(est) -> bool:
    return est.solver in ("sgd", "adam")


class _MLP(_Dispatcher):
    _fd_module = "fastdistill.neural_network"
    _fd_fitted_attrs = ("loss_", "best_loss_", "loss_curve_", "validation_scores_",
                        "best_validation_score_", "t_", "coefs_", "intercepts_", "n_features_in_",
                        "feature_names_in_", "n_iter_", "n_layers_", "n_outputs_",
                        "out_activation_", "classes_")
    _fd_key_attrs = ("coefs_", "intercepts_")
    # attributes scikit-learn sets only for the stochastic solvers
    _fd_stochastic_only = ("loss_curve_", "best_loss_", "validation_scores_",
                           "best_validation_score_")

    def _fd_unsupported(self, X, y, kwargs):
        if kwargs.get("sample_weight") is not None:
            return "sample_weight (fastdistill's MLPs train unweighted)"
        if not isinstance(self.n_iter_no_change, numbers.Integral):
            return f"n_iter_no_change={self.n_iter_no_change!r} (not an integer)"
        return None

    def _fd_adopt(self, model):
        super()._fd_adopt(model)
        if not _stochastic(self):
            for name in self._fd_stochastic_only:
                self.__dict__.pop(name, None)

    def _fd_push(self, model, training=False):
        mine = list(self.coefs_) + list(self.intercepts_)
        theirs = model.coefs_ + model.intercepts_
        if len(mine) != len(theirs):
            raise ValueError(
                f"coefs_ and intercepts_ hold {len(self.coefs_)} and "
                f"{len(self.intercepts_)} arrays, the network has {len(model.coefs_)} layers."
            )
        for a, b in zip(mine, theirs, strict=True):
            if not np.may_share_memory(a, b):  # replaced by hand: copy into the network
                b[...] = a

    def _fd_fit_mlp(self, X, y, sample_weight):
        kwargs = {"sample_weight": sample_weight}
        if self.warm_start and "coefs_" in self.__dict__:
            return self._fd_dispatch_continue("fit", X, y, kwargs, lambda m: m.fit(X, y))
        return self._fd_dispatch_fit("fit", X, y, kwargs, lambda m: m.fit(X, y))

    def _fd_predict(self, X):
        return self._fd_route("predict", super().predict, X)


class _MLPRegressor(_MLP):
    _fd_name = "MLPRegressor"

    def _fd_unsupported(self, X, y, kwargs):
        if self.loss != "squared_error":
            return f"loss={self.loss!r} (fastdistill fits the squared error only)"
        return super()._fd_unsupported(X, y, kwargs)

    def fit(self, X, y, sample_weight=None):
        """Train the network (fastdistill's compiled epochs when supported).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (run by scikit-learn).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self._fd_fit_mlp(X, y, sample_weight):
            return self
        return super().fit(X, y, sample_weight=sample_weight)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)``, continuing the current fit.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (run by scikit-learn).

        Returns
        -------
        self : object
            The updated estimator.
        """
        if self._fd_dispatch_continue("partial_fit", X, y, {"sample_weight": sample_weight},
                                      lambda m: m.partial_fit(X, y)):
            return self
        return super().partial_fit(X, y, sample_weight=sample_weight)

    def predict(self, X):
        """Predict with the network (see scikit-learn's ``MLPRegressor``).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Outputs.
        """
        return self._fd_predict(X)


class _MLPClassifier(_MLP):
    _fd_name = "MLPClassifier"

    def _fd_sklearn_state(self, model):
        from sklearn.preprocessing import LabelBinarizer

        if self.out_activation_ == "logistic" and self.n_outputs_ > 1:  # multilabel
            self._label_binarizer = LabelBinarizer().fit(np.eye(self.n_outputs_, dtype=int))
        else:
            self._label_binarizer = LabelBinarizer().fit(self.classes_)

    def fit(self, X, y, sample_weight=None):
        """Train the network (fastdistill's compiled epochs when supported).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Labels, or a multilabel indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (run by scikit-learn).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self._fd_fit_mlp(X, y, sample_weight):
            return self
        return super().fit(X, y, sample_weight=sample_weight)

    @available_if(_stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)``, continuing the current fit.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,)
            Labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (run by scikit-learn).
        classes : array-like, default=None
            Every label; required on the first call.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if self._fd_dispatch_continue("partial_fit", X, y, {"sample_weight": sample_weight},
                                      lambda m: m.partial_fit(X, y, classes=classes)):
            return self
        return super().partial_fit(X, y, sample_weight=sample_weight, classes=classes)

    def predict(self, X):
        """Predicted labels (see scikit-learn's ``MLPClassifier``).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Labels.
        """
        return self._fd_predict(X)

    def predict_proba(self, X):
        """Class probabilities (see scikit-learn's ``MLPClassifier``).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        return self._fd_route("predict_proba", super().predict_proba, X)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities.
        """
        return self._fd_route("predict_log_proba", super().predict_log_proba, X)


#: Estimator name -> the mixin that dispatches it.
MIXINS: dict[str, type] = {
    "KMeans": _KMeans,
    "PCA": _PCA,
    "LinearRegression": _LinearRegression,
    "Ridge": _Ridge,
    "SGDRegressor": _SGDRegressor,
    "MLPRegressor": _MLPRegressor,
    "MLPClassifier": _MLPClassifier,
}

