"""Local linear students: one affine model per region of the input space.

The input space is split by k-means centroids or SOM nodes learned from the
(unlabeled) rows. Each row gets gates ``g_k(x)`` - one-hot on its nearest
prototype (``gating="hard"``), or normalised radial-basis responses
(``gating="soft"``) so that predictions blend neighbouring regions and do
not jump at region borders - and the prediction is

    f(x) = sum_k g_k(x) (W_k z + b_k),   z = standardised x.

All ``W_k, b_k`` are fitted jointly by one ridge regression on the gated
design matrix ``[g_k(x) z, g_k(x)]_k``, built chunk by chunk by a compiled
kernel and accumulated straight into the closed-form Gram matrix, so the
``n x k (d + 1)`` design matrix is never held whole.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._base import BaseEstimator, ClassifierMixin, RegressorMixin
from .._stats import mean_var
from .._threads import parallel_region
from .._validation import (
    check_is_fitted,
    check_labels,
    check_option,
    check_sample_weight,
    check_scalar,
    validate_data,
)
from ..linear_model._base import check_targets
from ._features import prototype_responses

__all__ = ["LocalLinearRegressor", "LocalLinearClassifier"]

_CHUNK_BYTES = 32 << 20  # design-matrix chunk


def _grid_shape(n_regions: int) -> tuple[int, int]:
    """Return the most square ``m x n`` grid with ``m * n == n_regions``."""
    m = int(np.sqrt(n_regions))
    while n_regions % m:
        m -= 1
    return m, n_regions // m


class _LocalLinearBase(BaseEstimator):
    def __init__(self, n_regions=64, *, partition="kmeans", gating="soft", bandwidth_scale=1.0,
                 max_active=0, alpha=1e-3, max_iter=50, random_state=None):
        self.n_regions = n_regions
        self.partition = partition
        self.gating = gating
        self.bandwidth_scale = bandwidth_scale
        self.max_active = max_active
        self.alpha = alpha
        self.max_iter = max_iter
        self.random_state = random_state

    def _check_params(self, n_samples: int) -> None:
        check_scalar(self.n_regions, "n_regions", numbers.Integral, min_val=1)
        if self.n_regions > n_samples:
            raise ValueError(
                f"n_regions={self.n_regions} must be at most the number of samples "
                f"(n_samples={n_samples}); lower n_regions."
            )
        check_option(self.partition, "partition", ["kmeans", "som"])
        check_option(self.gating, "gating", ["soft", "hard"])
        check_scalar(self.bandwidth_scale, "bandwidth_scale", numbers.Real, min_val=0.0,
                     include_min=False)
        check_scalar(self.max_active, "max_active", numbers.Integral, min_val=0)
        check_scalar(self.alpha, "alpha", numbers.Real, min_val=0.0)

    def _fit_partition(self, X, sw) -> None:
        from ._features import KMeansFeatures, SOMFeatures

        if self.partition == "kmeans":
            gates = KMeansFeatures(self.n_regions, kind="soft",
                                   bandwidth_scale=self.bandwidth_scale,
                                   max_iter=self.max_iter, random_state=self.random_state)
            self.partition_ = gates.fit(X, sample_weight=sw)
            self.n_iter_ = gates.kmeans_.n_iter_
        else:
            # The SOM has no row weights: the map is learned unweighted and the
            # weights apply to the regional models (documented).
            m, n = _grid_shape(self.n_regions)
            gates = SOMFeatures(m, n, kind="soft", bandwidth_scale=self.bandwidth_scale,
                                random_state=self.random_state)
            self.partition_ = gates.fit(X)
            self.n_iter_ = gates.n_epochs
        mean, var = mean_var(X)
        scale = np.sqrt(var)
        scale[scale == 0.0] = 1.0
        self.mean_ = mean.astype(X.dtype)
        self.scale_ = scale.astype(X.dtype)

    def _gates(self, X) -> np.ndarray:
        top = 1 if self.gating == "hard" else self.max_active
        return prototype_responses(self.partition_._prototypes(), X,
                                   self.partition_.bandwidth_, "soft", top)

    def _design(self, X) -> np.ndarray:
        from .._kernels.features import gated_expand

        G = self._gates(X)
        out = np.empty((X.shape[0], G.shape[1] * (X.shape[1] + 1)), dtype=X.dtype)
        with parallel_region(X.shape[0] // 64 + 1):
            gated_expand(G, X, self.mean_, self.scale_, out)
        return out

    def _chunks(self, X):
        width = self.n_regions * (X.shape[1] + 1)
        rows = max(256, _CHUNK_BYTES // max(1, width * X.itemsize))
        for start in range(0, X.shape[0], rows):
            yield slice(start, min(X.shape[0], start + rows))

    def _fit_outputs(self, X, Y, sample_weight) -> None:
        """Fit the regional models to the (n, k) targets ``Y``, streaming the design."""
        from ..linear_model import Ridge

        ridge = Ridge(alpha=self.alpha)
        sw = sample_weight
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the ridge is told n_regions * (d + 1) columns
            for sl in self._chunks(X):
                ridge._accumulate(self._design(X[sl]), Y[sl], None if sw is None else sw[sl])
        ridge._solve_accumulated()
        # Keep the coefficients only (not the ridge's Gram statistics).
        self._coef = np.asarray(ridge.coef_, dtype=X.dtype).reshape(Y.shape[1], -1)
        self._intercept = np.asarray(ridge.intercept_, dtype=X.dtype).reshape(-1)
        coef = self._coef.reshape(Y.shape[1], self.n_regions, X.shape[1] + 1)
        self.local_coef_ = coef[:, :, :-1]
        self.local_intercept_ = coef[:, :, -1] + self._intercept.reshape(-1, 1)

    def _outputs(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        if self.max_active not in (0, 1) and self.gating == "soft":
            return self._outputs_by_design(X)
        from .._kernels.features import local_predict
        from ..cluster._assign import chunk_rows

        dt = X.dtype
        shift, centers = self.partition_._prototypes()._shifted_centers(dt)
        o, k, d = self.local_coef_.shape
        Wt = np.ascontiguousarray(self.local_coef_.transpose(2, 1, 0).reshape(d, k * o), dt)
        B = np.ascontiguousarray(self.local_intercept_.T, dt)
        out = np.empty((X.shape[0], o), dtype=dt)
        rows = chunk_rows(k + k * o)
        c_norms = np.einsum("ij,ij->i", centers, centers).astype(dt)
        hard = self.gating == "hard" or self.max_active == 1
        with parallel_region(-(-X.shape[0] // rows)):
            local_predict(X, shift, centers, c_norms, self.mean_.astype(dt),
                          self.scale_.astype(dt), Wt, B, 0.5 / self.partition_.bandwidth_**2,
                          hard, rows, out)
        return out

    def _outputs_by_design(self, X) -> np.ndarray:
        """Compute the outputs through the design matrix (top-``max_active`` gates)."""
        from .._threads import blas_region

        coef = self._coef.astype(X.dtype, copy=False)
        out = np.empty((X.shape[0], coef.shape[0]), dtype=X.dtype)
        for sl in self._chunks(X):
            with blas_region():
                np.matmul(self._design(X[sl]), coef.T, out=out[sl])
        out += self._intercept.astype(X.dtype, copy=False)
        return out


class LocalLinearRegressor(RegressorMixin, _LocalLinearBase):
    """Piecewise (or smoothly blended) linear regression over learned regions.

    A student that is as fast to evaluate as a handful of linear models, yet
    follows a nonlinear teacher closely: the regions come from k-means (or a
    SOM) on the unlabeled data, each has its own affine model, and with soft
    gating a row's prediction blends the models of its nearby regions.

    Parameters
    ----------
    n_regions : int, default=64
        Number of regions (k-means centroids or SOM nodes).
    partition : {"kmeans", "som"}, default="kmeans"
        How the regions are learned (a SOM uses the most square grid with
        ``n_regions`` nodes).
    gating : {"soft", "hard"}, default="soft"
        "hard": each row uses the model of its nearest prototype only.
        "soft": normalised Gaussian responses of the prototypes, so that
        predictions change smoothly across region borders.
    bandwidth_scale : float, default=1.0
        Width of the soft gates, in units of the root mean squared distance
        of the rows to their nearest prototype.
    max_active : int, default=0
        With soft gating, keep only this many largest gates per row (0: all).
    alpha : float, default=1e-3
        Ridge penalty on the regional coefficients (features standardised).
    max_iter : int, default=50
        Lloyd iterations of the k-means partition.
    random_state : int, Generator, RandomState or None, default=None
        Seed of the partition.

    Notes
    -----
    ``sample_weight`` weights the k-means partition and the regional fits;
    a SOM partition is learned unweighted (the map has no row weights).

    Attributes
    ----------
    partition_ : KMeansFeatures or SOMFeatures
        The fitted partition (its prototypes and gate bandwidth).
    local_coef_ : ndarray of shape (n_outputs, n_regions, n_features)
        Coefficients of each regional model, on standardised features.
    local_intercept_ : ndarray of shape (n_outputs, n_regions)
        Intercepts of each regional model.
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation of the inputs.
    n_features_in_ : int
        Number of input features.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.distill import LocalLinearRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, size=(3000, 2))
    >>> y = np.sin(2 * X[:, 0]) * X[:, 1]
    >>> model = LocalLinearRegressor(32, random_state=0).fit(X, y)
    >>> bool(model.score(X, y) > 0.98)
    True
    """

    def _update_tags(self, tags) -> None:
        tags.target_tags.multi_output = True

    def fit(self, X, y, sample_weight=None):
        """Learn the regions, then fit every regional model jointly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the regression.

        Returns
        -------
        self : object
            The fitted model.
        """
        with self._transaction():
            X = validate_data(self, X, reset=True)
            Y, one_d = check_targets(y, X)
            sw = check_sample_weight(sample_weight, X.shape[0], dtype=X.dtype)
            self._check_params(X.shape[0])
            self._fit_partition(X, sw)
            self._fit_outputs(X, Y, sw)
            self._one_d = one_d
        return self

    def predict(self, X) -> np.ndarray:
        """Blend of the regional models' predictions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions.
        """
        out = self._outputs(X)
        return out[:, 0] if self._one_d else out


class LocalLinearClassifier(ClassifierMixin, _LocalLinearBase):
    """Local linear classifier: regional linear models of the class logits.

    The classifier twin of :class:`LocalLinearRegressor`. For distillation it
    is fitted on a teacher's logits (``fit(X, y, logits=Z)`` or through
    :class:`~fastdistill.distill.Distiller`), a least-squares match in logit
    space; fitted on labels alone it regresses the one-hot codes
    (``+1``/``-1``, as scikit-learn's ``RidgeClassifier``). Probabilities are
    the softmax of the modelled logits.

    Parameters
    ----------
    n_regions, partition, gating, bandwidth_scale, max_active, alpha, max_iter, random_state
        As for :class:`LocalLinearRegressor`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    partition_, local_coef_, local_intercept_, mean_, scale_, n_features_in_
        As for :class:`LocalLinearRegressor` (one output per class).

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.distill import LocalLinearClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(2000, 2))
    >>> y = np.where(X[:, 0] ** 2 + X[:, 1] ** 2 < 0.5, "in", "out")
    >>> clf = LocalLinearClassifier(16, random_state=0).fit(X, y)
    >>> bool(clf.score(X, y) > 0.95)
    True
    """

    def fit(self, X, y, sample_weight=None, *, logits=None):
        """Learn the regions and the regional logit models.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Class labels (with ``logits``: the labels of the logit columns,
            i.e. the classes, may be passed instead as ``classes_`` order).
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.
        logits : array-like of shape (n_samples, n_classes), optional
            A teacher's logits to match (then ``y`` lists the classes, one
            per logit column).

        Returns
        -------
        self : object
            The fitted model.
        """
        with self._transaction():
            X = validate_data(self, X, reset=True)
            sw = check_sample_weight(sample_weight, X.shape[0], dtype=X.dtype)
            if logits is None:
                y = check_labels(y, X.shape[0])
                self.classes_, idx = np.unique(y, return_inverse=True)
                if self.classes_.shape[0] < 2:
                    raise ValueError(
                        f"LocalLinearClassifier needs at least 2 classes in y, got 1 class: "
                        f"{self.classes_.tolist()}."
                    )
                Y = np.full((X.shape[0], self.classes_.shape[0]), -1.0, dtype=X.dtype)
                Y[np.arange(X.shape[0]), idx] = 1.0
            else:
                Y, _ = check_targets(logits, X)
                self.classes_ = np.asarray(y)
                if self.classes_.ndim != 1 or self.classes_.shape[0] != Y.shape[1]:
                    raise ValueError(
                        f"With logits, y must list the {Y.shape[1]} classes of the logit "
                        f"columns; got shape {self.classes_.shape}."
                    )
            self._check_params(X.shape[0])
            self._fit_partition(X, sw)
            self._fit_outputs(X, Y, sw)
        return self

    def decision_function(self, X) -> np.ndarray:
        """Modelled logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes) or (n_samples,)
            One column per class; for two classes, as scikit-learn, the 1-D
            difference ``z_1 - z_0`` (positive for ``classes_[1]``).
        """
        Z = self._outputs(X)
        return Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z

    def predict_proba(self, X) -> np.ndarray:
        """Softmax of the modelled logits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities.
        """
        from ._targets import softmax

        return softmax(self._outputs(X))

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities.
        """
        Z = self._outputs(X)
        Z = Z - Z.max(axis=1, keepdims=True)
        return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))

    def predict(self, X) -> np.ndarray:
        """Class with the largest logit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted classes.
        """
        Z = self._outputs(X)
        return self.classes_[np.argmax(Z, axis=1)]
