"""Pieces shared by the linear students: target handling and prediction."""

from __future__ import annotations

import numpy as np

from .._base import RegressorMixin
from .._threads import blas_region
from .._validation import check_sample_weight, check_y, validate_data


def check_targets(y, X: np.ndarray) -> tuple[np.ndarray, bool]:
    """Validate ``y`` against ``X``; return a 2-D target of X's dtype.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Target values.
    X : ndarray of shape (n_samples, n_features)
        Validated samples (gives the dtype and the sample count).

    Returns
    -------
    Y : ndarray of shape (n_samples, n_targets), C-contiguous, ``X.dtype``
    one_d : bool
        Whether ``y`` was 1-D (then ``coef_`` is 1-D, as in scikit-learn).
    """
    y = check_y(y, dtype=X.dtype, n_samples=X.shape[0])
    if y.ndim == 1:
        return y.reshape(-1, 1), True
    return y, False


def weights_or_empty(sample_weight, n_samples: int, dtype) -> np.ndarray:
    """Validated sample weights, or an empty array meaning "all ones".

    Parameters
    ----------
    sample_weight : None, float or array-like of shape (n_samples,)
        Weights as given by the user.
    n_samples : int
        Number of samples.
    dtype : dtype
        dtype of the result (the dtype of X).

    Returns
    -------
    sw : ndarray of shape (n_samples,) or (0,)
        The weights; empty when none were given (kernels read that as ones).
    """
    sw = check_sample_weight(sample_weight, n_samples, dtype=dtype)
    return np.empty(0, dtype=dtype) if sw is None else sw


class LinearPredictorMixin(RegressorMixin):
    """``predict`` for models with ``coef_`` and ``intercept_``."""

    def _update_tags(self, tags) -> None:
        tags.target_tags.multi_output = True

    def _store_coef(self, B: np.ndarray, intercept: np.ndarray, one_d: bool, dtype) -> None:
        """Store (n_features, n_targets) coefficients scikit-learn's way."""
        coef = np.ascontiguousarray(B.T, dtype=dtype)
        intercept = np.asarray(intercept, dtype=dtype)
        self.coef_ = coef[0] if one_d else coef
        if not self.fit_intercept:
            self.intercept_ = 0.0
        else:
            self.intercept_ = intercept[0] if one_d else intercept

    def predict(self, X) -> np.ndarray:
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            ``X @ coef_.T + intercept_``, in the dtype of the coefficients.
        """
        X = validate_data(self, X, reset=False)
        coef = self.coef_.astype(X.dtype, copy=False)
        with blas_region():
            out = X @ coef.T
        out += np.asarray(self.intercept_, dtype=X.dtype)
        return out


__all__ = ["check_targets", "weights_or_empty", "LinearPredictorMixin"]
