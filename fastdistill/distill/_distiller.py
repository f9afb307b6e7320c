"""Teacher -> student distillation over unlabeled data."""

from __future__ import annotations

import time

import numpy as np

from .._base import BaseEstimator, RegressorMixin, clone
from .._metrics import r2_score
from .._validation import check_is_fitted, check_y, validate_data

__all__ = ["Distiller"]


class Distiller(RegressorMixin, BaseEstimator):
    """Distill a teacher into a student on unlabeled (transfer) data.

    ``fit(X_unlabeled)`` asks the teacher for its predictions on the
    transfer rows (plus the labeled rows, when given), fits the feature map
    (if any) on those rows, and fits the student to reproduce the teacher's
    outputs from the features. The student is any regressor with
    ``fit``/``predict`` (a closed-form :class:`~fastdistill.Ridge` gives the
    exact least-squares match); the feature map any transformer
    (:class:`KMeansFeatures`, :class:`~fastdistill.PCA`, ...).

    Parameters
    ----------
    teacher : fitted estimator with ``predict``
        The model to imitate.
    student : estimator
        The model to train; it is cloned (nested estimators included, as
        scikit-learn's ``clone`` does), so the given instance is never fitted.
    features : transformer or None, default=None
        Feature map for the student, learned from the transfer rows.

    Attributes
    ----------
    student_ : estimator
        The fitted student.
    features_ : transformer or None
        The fitted feature map.
    n_transfer_ : int
        Rows the teacher labelled.
    fit_time_ : dict
        Seconds spent querying the teacher, fitting the features and the student.
    n_features_in_ : int
        Number of input features.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill import Ridge
    >>> from fastdistill.distill import Distiller, KMeansFeatures
    >>> rng = np.random.default_rng(0)
    >>> class Teacher:
    ...     def predict(self, X):
    ...         return np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    >>> X_unlabeled = rng.uniform(-1, 1, size=(3000, 2))
    >>> d = Distiller(Teacher(), Ridge(alpha=1e-3),
    ...               KMeansFeatures(n_clusters=32, random_state=0)).fit(X_unlabeled)
    >>> bool(d.fidelity(rng.uniform(-1, 1, size=(500, 2))) > 0.95)
    True
    """

    def __init__(self, teacher, student, features=None):
        self.teacher = teacher
        self.student = student
        self.features = features

    def _update_tags(self, tags) -> None:
        tags.target_tags.required = False
        tags.target_tags.multi_output = True

    def fit(self, X_unlabeled, X_labeled=None, y_labeled=None):
        """Query the teacher on the transfer rows and fit the student to it.

        Parameters
        ----------
        X_unlabeled : array-like of shape (n_samples, n_features)
            Transfer rows (no labels needed).
        X_labeled : array-like of shape (n_labeled, n_features), optional
            Labeled rows, added to the transfer set.
        y_labeled : array-like, optional
            Their labels (used only to check shapes for now; the student
            learns the teacher's outputs on them).

        Returns
        -------
        self : object
            The fitted distiller.
        """
        with self._transaction():
            X = validate_data(self, X_unlabeled, reset=True)
            if X_labeled is not None:
                from .._validation import check_array

                XL = check_array(X_labeled, name="X_labeled", dtype=X.dtype)
                if XL.shape[1] != X.shape[1]:
                    raise ValueError(
                        f"X_labeled has {XL.shape[1]} features, X_unlabeled {X.shape[1]}."
                    )
                if y_labeled is not None:
                    check_y(y_labeled, n_samples=XL.shape[0], name="y_labeled")
                X = np.vstack([X, XL])
            if not hasattr(self.teacher, "predict"):
                raise TypeError("teacher must have a predict method (a fitted model).")
            t0 = time.perf_counter()
            targets = np.asarray(self.teacher.predict(X))
            t1 = time.perf_counter()
            self.features_ = None
            Z = X
            if self.features is not None:
                self.features_ = clone(self.features)
                Z = self.features_.fit_transform(X)
            t2 = time.perf_counter()
            self.student_ = clone(self.student).fit(Z, targets)
            t3 = time.perf_counter()
            self.n_transfer_ = X.shape[0]
            self.fit_time_ = {"teacher": t1 - t0, "features": t2 - t1, "student": t3 - t2}
        return self

    def _features(self, X):
        X = validate_data(self, X, reset=False)
        return X if self.features_ is None else self.features_.transform(X)

    def predict(self, X) -> np.ndarray:
        """The student's predictions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        y_pred : ndarray
            Student outputs.
        """
        check_is_fitted(self)
        return self.student_.predict(self._features(X))

    def fidelity(self, X) -> float:
        """R² of the student's predictions against the teacher's on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        fidelity : float
            1.0 when the student reproduces the teacher exactly.
        """
        check_is_fitted(self)
        return r2_score(np.asarray(self.teacher.predict(X)), self.predict(X))
