"""An input metric learned from the teacher: its average gradient outer product.

Unsupervised feature maps (k-means or SOM prototypes, radial-basis widths)
measure distances in the input space as given, where every direction counts
the same - also the directions along which the teacher does not change. The
teacher knows better: its *average gradient outer product*

    M = E[ J(x)^T J(x) ]   (J: the Jacobian of the teacher's outputs)

is large along the directions that move its outputs and near zero along the
ones it ignores (it spans the teacher's active subspace). Measuring distances
as ``||M^(1/2) (x - z)||`` - the Mahalanobis metric of Recursive Feature
Machines (Radhakrishnan et al., "Mechanism for feature learning in neural
networks and backpropagation-free machine learning models", Science, 2024) -
puts the prototypes where the teacher varies, so a student on prototype
features spends them on what it must reproduce.

:class:`TeacherMetric` estimates ``M`` by central finite differences of the
teacher's outputs (logits for classifiers) on a random subsample of the
rows, so any teacher with ``predict`` or ``predict_proba`` works (trees
included: the step is a fraction of each feature's spread, not an
infinitesimal; a classifier that only has ``predict_proba`` is differenced
on its probabilities, whose zeros would make log-probabilities jump), and
maps rows to ``(x - mean) L`` with ``L = M^power``.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._base import BaseEstimator, TransformerMixin, clone_keeping
from .._validation import check_is_fitted, check_random_state, check_scalar, validate_data
from ._targets import is_classifier, query_teacher, teacher_kind

__all__ = ["TeacherMetric", "capped_probe_rows", "probe_queries"]

#: Rows per teacher call while probing (each call holds 2 x this many rows).
_PROBE_ROWS = 4096


def capped_probe_rows(n_samples: int, cap: int | None, n_features: int) -> int:
    """Rows a metric probes under a teacher-query cap: its probes stay within a quarter.

    Parameters
    ----------
    n_samples : int
        The metric's ``n_samples``.
    cap : int or None
        ``max_teacher_queries`` (None: no cap).
    n_features : int
        Number of input features (each probed row costs ``2 * n_features``).

    Returns
    -------
    rows : int
        ``min(n_samples, cap // (8 * n_features))`` (0 when the cap is too small).
    """
    check_scalar(n_samples, "n_samples", numbers.Integral, min_val=1)
    if cap is None:
        return int(n_samples)
    return min(int(n_samples), int(cap) // (8 * n_features))


def probe_queries(n_samples: int, cap: int | None, shape) -> int:
    """Teacher queries a metric spends on rows of ``shape`` under a cap.

    Parameters
    ----------
    n_samples : int
        The metric's ``n_samples``.
    cap : int or None
        ``max_teacher_queries`` (None: no cap).
    shape : tuple of int
        ``(n_rows, n_features)`` of the rows it is fitted on.

    Returns
    -------
    queries : int
        ``2 * n_features`` per probed row (an upper bound: constant features
        are not probed).
    """
    n, d = shape
    return 2 * d * min(capped_probe_rows(n_samples, cap, d), n)


class TeacherMetric(TransformerMixin, BaseEstimator):
    """Map inputs into the teacher's metric (its average gradient outer product).

    ``fit`` probes the teacher around ``n_samples`` random rows, one input
    feature at a time (``f(x + h_j e_j) - f(x - h_j e_j)``, with ``h_j =
    step`` times feature ``j``'s standard deviation), and averages the outer
    products of the estimated gradients (summed over the teacher's outputs:
    a regressor's predictions, a classifier's centred logits, or its
    probabilities when it has no logits) into ``agop_``. ``transform`` returns
    ``(X - mean_) @ components_`` with ``components_ = c * agop_^power``:
    directions the teacher ignores shrink towards zero, and ``c`` makes the
    transformed rows' total variance equal the number of features (as for
    standardised data, so bandwidth rules made for those still apply).

    Used by :class:`Distiller` (``metric="teacher"``) to fit the feature map
    and the student in the teacher's metric; usable alone in any pipeline
    (``clone`` keeps the fitted teacher, which is a given, never refitted).

    Parameters
    ----------
    teacher : fitted estimator or None, default=None
        The model whose gradients define the metric: anything with
        ``predict`` (regression) or ``predict_proba``/``decision_function``/
        ``predict_logits`` (classification). A :class:`Distiller` fills in its
        own teacher when this is None.
    n_samples : int, default=1000
        Rows probed (fewer when ``X`` has fewer). The teacher is asked about
        ``2 * n_features * n_samples`` probe points.
    step : float, default=0.05
        Finite-difference half-step, as a fraction of each feature's standard
        deviation (at least 16 units in the last place of the feature's
        largest value, so the step survives rounding to X's dtype). Large
        enough for piecewise-constant teachers (trees) to register a change,
        small enough to follow smooth ones.
    power : float, default=0.5
        Exponent of ``agop_`` in the map: 0.5 gives the Mahalanobis distance
        ``(x - z)^T M (x - z)``; 0 gives whitening-free centring (identity);
        larger values suppress weak directions more.
    random_state : int, Generator, RandomState or None, default=None
        Seed of the probed subsample.

    Attributes
    ----------
    agop_ : ndarray of shape (n_features, n_features)
        The average gradient outer product (float64).
    components_ : ndarray of shape (n_features, n_features)
        The linear map applied to the centred rows (symmetric).
    mean_ : ndarray of shape (n_features,)
        Mean of the training rows.
    n_teacher_queries_ : int
        Probe points the teacher was asked about.
    n_features_in_ : int
        Number of input features.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.distill import TeacherMetric
    >>> class Teacher:
    ...     def predict(self, X):
    ...         return np.sin(3 * X[:, 0])       # ignores the second feature
    >>> X = np.random.default_rng(0).uniform(-1, 1, size=(500, 2))
    >>> m = TeacherMetric(Teacher(), random_state=0).fit(X)
    >>> bool(m.agop_[1, 1] < 1e-12 < m.agop_[0, 0])
    True
    >>> Z = m.transform(X)
    >>> bool(Z[:, 1].std() < 1e-6 < Z[:, 0].std())
    True
    """

    def __init__(self, teacher=None, *, n_samples=1000, step=0.05, power=0.5,
                 random_state=None):
        self.teacher = teacher
        self.n_samples = n_samples
        self.step = step
        self.power = power
        self.random_state = random_state

    def __sklearn_clone__(self):
        """Clone every parameter except the teacher, which stays the same fitted model."""
        return clone_keeping(self, "teacher")

    def _check_params(self) -> None:
        if self.teacher is None:
            raise ValueError(
                "TeacherMetric needs a fitted teacher: pass TeacherMetric(teacher), or use "
                "it inside a Distiller, which fills in its own teacher."
            )
        if not (hasattr(self.teacher, "predict") or is_classifier(self.teacher)):
            raise TypeError("teacher must have a predict method (a fitted model).")
        check_scalar(self.n_samples, "n_samples", numbers.Integral, min_val=1)
        check_scalar(self.step, "step", numbers.Real, min_val=0.0, include_min=False)
        check_scalar(self.power, "power", numbers.Real, min_val=0.0)

    def fit(self, X, y=None):
        """Estimate the teacher's average gradient outer product on rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows (unlabeled); the probed points are a random subsample.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted metric.
        """
        with self._transaction():
            self._check_params()
            X = validate_data(self, X, reset=True)
            n, d = X.shape
            rng = check_random_state(self.random_state)
            m = min(int(self.n_samples), n)
            rows = np.sort(rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
            S = X[rows].astype(np.float64)
            self.mean_ = X.mean(axis=0, dtype=np.float64)
            spread = X.std(axis=0, dtype=np.float64)
            ulp = np.finfo(X.dtype).eps * np.abs(X).max(axis=0).astype(np.float64)
            h = np.where(spread > 0.0, np.maximum(float(self.step) * spread, 16.0 * ulp), 0.0)
            grads = []  # per feature: (m, n_outputs) finite-difference slopes
            for j in range(d):
                if h[j] == 0.0:  # a constant feature: the teacher cannot vary along it
                    grads.append(None)
                    continue
                probe = np.concatenate([S, S]).astype(X.dtype)
                probe[:m, j] = S[:, j] + h[j]
                probe[m:, j] = S[:, j] - h[j]
                # The step actually taken after rounding to X's dtype (nonzero:
                # h is at least 16 units in the last place).
                dx = probe[:m, j].astype(np.float64) - probe[m:, j].astype(np.float64)
                out = self._outputs(probe)
                if out.shape[0] != 2 * m:
                    raise ValueError(
                        f"The teacher returned {out.shape[0]} rows for {2 * m} probe points."
                    )
                grads.append((out[:m] - out[m:]) / dx[:, None])
            k = next((g.shape[1] for g in grads if g is not None), 1)
            J = np.zeros((m * k, d))
            for j, g in enumerate(grads):
                if g is not None:
                    J[:, j] = g.ravel()
            self.agop_ = J.T @ J / m
            self.n_teacher_queries_ = 2 * m * sum(g is not None for g in grads)
            self.components_ = self._map(X[rows], d)
        return self

    def _outputs(self, probe) -> np.ndarray:
        """Return the teacher's outputs on the probe points, as a 2-D float64 matrix."""
        teacher = self.teacher
        if is_classifier(teacher) and teacher_kind(teacher) == "predict_proba":
            out = np.asarray(teacher.predict_proba(probe), dtype=np.float64)
            if not np.all(np.isfinite(out)):
                raise ValueError("The teacher's predict_proba returned NaN or infinite values.")
        else:
            out = query_teacher(teacher, probe, classification=is_classifier(teacher),
                                chunk_rows=2 * _PROBE_ROWS, dtype=np.float64)
        if out.ndim > 2:
            raise ValueError(
                f"The teacher's outputs must be 1-D or 2-D per row set; got shape {out.shape}."
            )
        return out.reshape(out.shape[0], -1)

    def _map(self, S, d: int) -> np.ndarray:
        """``c * agop_^power`` with ``c`` giving the rows ``S`` total variance ``d``."""
        w, V = np.linalg.eigh(self.agop_)
        w = np.clip(w, 0.0, None)
        top = w.max() if w.size else 0.0
        if top <= 0.0:
            warnings.warn(
                "The teacher's outputs did not change around any probed row (zero "
                "gradients): the metric falls back to the identity. Check the teacher, or "
                "raise step for a piecewise-constant one.",
                UserWarning,
                stacklevel=3,
            )
            L = np.eye(d)
        else:
            # Relative to the largest eigenvalue (keeps w ** power finite for tiny w).
            L = (V * (w / top) ** float(self.power)) @ V.T
        Z = (S.astype(np.float64) - self.mean_) @ L
        total = float(Z.var(axis=0).sum())
        return L * np.sqrt(d / total) if total > 0.0 else L

    def transform(self, X) -> np.ndarray:
        """Map rows into the teacher's metric: ``(X - mean_) @ components_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features)
            Mapped rows, in X's floating dtype.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        L = self.components_.astype(X.dtype, copy=False)
        mean = self.mean_.astype(X.dtype, copy=False)
        Z = np.empty(X.shape, dtype=X.dtype)
        # Centred chunk by chunk (exact for large offsets, unlike X L - mean L),
        # so the only full-size array is the result.
        for start in range(0, X.shape[0], _PROBE_ROWS):
            sl = slice(start, start + _PROBE_ROWS)
            np.matmul(X[sl] - mean, L, out=Z[sl])
        return Z
