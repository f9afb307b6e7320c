"""Scores used by the estimators' ``score`` methods (no scikit-learn needed)."""

from __future__ import annotations

import numpy as np

__all__ = ["r2_score", "accuracy_score"]


def _as_2d(a) -> np.ndarray:
    a = np.asarray(a)
    return a.reshape(-1, 1) if a.ndim == 1 else a


def _weights(sample_weight, n: int) -> np.ndarray:
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(
            f"sample_weight has {w.shape[0]} entries but y has {n} samples."
        )
    return w


def r2_score(y_true, y_pred, sample_weight=None) -> float:
    """Coefficient of determination, averaged uniformly over outputs.

    Follows scikit-learn's ``r2_score`` with ``force_finite=True``: an output
    whose true values are constant scores 1.0 when predicted exactly and 0.0
    otherwise.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True values.
    y_pred : array-like of the same shape
        Predicted values.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    score : float
        The R² score.

    Examples
    --------
    >>> from fastdistill._metrics import r2_score
    >>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    """
    yt = _as_2d(y_true).astype(np.float64, copy=False)
    yp = _as_2d(y_pred).astype(np.float64, copy=False)
    if yt.shape != yp.shape:
        raise ValueError(
            f"y_true and y_pred have different shapes: {yt.shape} and {yp.shape}."
        )
    w = _weights(sample_weight, yt.shape[0])[:, None]
    num = (w * (yt - yp) ** 2).sum(axis=0)
    mean = (w * yt).sum(axis=0) / w.sum()
    den = (w * (yt - mean) ** 2).sum(axis=0)
    scores = np.ones(yt.shape[1])
    ok = den != 0
    scores[ok] = 1.0 - num[ok] / den[ok]
    scores[~ok & (num != 0)] = 0.0
    return float(scores.mean())


def accuracy_score(y_true, y_pred, sample_weight=None) -> float:
    """Fraction of samples whose every output is predicted exactly.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True labels.
    y_pred : array-like of the same shape
        Predicted labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    score : float
        (Weighted) subset accuracy.

    Examples
    --------
    >>> from fastdistill._metrics import accuracy_score
    >>> accuracy_score([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    yt = _as_2d(y_true)
    yp = _as_2d(y_pred)
    if yt.shape != yp.shape:
        raise ValueError(
            f"y_true and y_pred have different shapes: {yt.shape} and {yp.shape}."
        )
    correct = np.all(yt == yp, axis=1)
    w = _weights(sample_weight, yt.shape[0])
    return float((w * correct).sum() / w.sum())
