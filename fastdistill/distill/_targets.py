"""What a teacher says about the transfer rows: outputs, logits, softened probabilities.

A teacher is anything with ``predict`` (regression) or ``predict_proba`` /
``decision_function`` / ``predict_logits`` (classification): a fastdistill
or scikit-learn model, a pipeline, or a plain object. It is queried in row
chunks, so a large transfer set never makes the teacher allocate its whole
hidden activations at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["softmax", "is_classifier", "teacher_kind", "query_teacher", "center_rows"]


def softmax(Z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``Z / temperature`` (stable: the row maximum is subtracted).

    Parameters
    ----------
    Z : ndarray of shape (n, k)
        Logits.
    temperature : float, default=1.0
        Softening temperature.

    Returns
    -------
    P : ndarray of shape (n, k)
        Probabilities (a new array).

    Examples
    --------
    >>> import numpy as np
    >>> softmax(np.array([[0.0, np.log(3.0)]])).round(3)
    array([[0.25, 0.75]])
    """
    P = np.asarray(Z) / temperature
    P = P - P.max(axis=1, keepdims=True)
    np.exp(P, out=P)
    P /= P.sum(axis=1, keepdims=True)
    return P


def center_rows(Z: np.ndarray) -> np.ndarray:
    """Subtract each row's mean: logits are defined up to a per-row constant.

    Parameters
    ----------
    Z : ndarray of shape (n, k)
        Logits.

    Returns
    -------
    Zc : ndarray of shape (n, k)
        Rows with zero mean (a new array).
    """
    return Z - Z.mean(axis=1, keepdims=True)


def is_classifier(teacher: Any) -> bool:
    """Whether a teacher is a classifier (it has ``predict_proba`` or ``classes_``).

    Parameters
    ----------
    teacher : object
        The teacher.

    Returns
    -------
    flag : bool
        True for classifiers.
    """
    return hasattr(teacher, "predict_proba") or hasattr(teacher, "classes_")


def teacher_kind(teacher: Any) -> str:
    """How logits are read from a classifier teacher.

    Parameters
    ----------
    teacher : object
        A classifier teacher.

    Returns
    -------
    kind : {"predict_logits", "decision_function", "predict_proba"}
        The method that gives the logits (``predict_proba``: their logarithm).
    """
    for name in ("predict_logits", "decision_function", "predict_proba"):
        if hasattr(teacher, name):
            return name
    raise TypeError(
        "A classifier teacher needs predict_logits, decision_function or predict_proba."
    )


def _as_logit_matrix(out: np.ndarray, kind: str, dtype) -> np.ndarray:
    out = np.asarray(out, dtype=np.float64)
    if kind == "predict_proba":
        out = np.log(np.clip(out, 1e-300, None))
    if out.ndim == 1:
        out = out.reshape(-1, 1)
    if out.shape[1] == 1:  # binary: one logit z == softmax over [-z/2, z/2]
        out = np.hstack([-0.5 * out, 0.5 * out])
    return center_rows(out).astype(dtype, copy=False)


def query_teacher(teacher: Any, X: np.ndarray, *, classification: bool, chunk_rows: int,
                  dtype, progress=None) -> np.ndarray:
    """Ask the teacher about every row of ``X``, ``chunk_rows`` rows at a time.

    Parameters
    ----------
    teacher : object
        The fitted teacher.
    X : ndarray of shape (n, d)
        Rows.
    classification : bool
        Return centred logits of shape (n, n_classes) instead of ``predict``.
    chunk_rows : int
        Rows per teacher call.
    dtype : dtype
        dtype of the result.
    progress : callable, optional
        ``progress(rows_done, n)`` after each chunk.

    Returns
    -------
    out : ndarray
        ``predict`` outputs (regression, as the teacher shapes them) or logits.
    """
    n = X.shape[0]
    kind = teacher_kind(teacher) if classification else "predict"
    parts = []
    for start in range(0, n, chunk_rows):
        rows = X[start:start + chunk_rows]
        out = getattr(teacher, kind)(rows)
        if classification:
            out = _as_logit_matrix(out, kind, dtype)
        else:
            out = np.asarray(out, dtype=dtype)
        if out.shape[0] != rows.shape[0]:
            raise ValueError(
                f"The teacher's {kind} returned {out.shape[0]} rows for {rows.shape[0]} inputs."
            )
        parts.append(out)
        if progress is not None:
            progress(min(n, start + chunk_rows), n)
    out = parts[0] if len(parts) == 1 else np.concatenate(parts)
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"The teacher's {kind} returned NaN or infinite values; check the teacher."
        )
    return out
