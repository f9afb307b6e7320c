"""Feature maps learned from unlabeled data, for students."""

from __future__ import annotations

import numbers

import numpy as np

from .._base import BaseEstimator, TransformerMixin
from .._validation import check_option, check_scalar, validate_data
from ..cluster import KMeans

__all__ = ["KMeansFeatures"]


class KMeansFeatures(TransformerMixin, BaseEstimator):
    """Radial-basis responses to k-means centroids learned from unlabeled data.

    ``fit`` runs :class:`~fastdistill.cluster.KMeans` on the (unlabeled)
    rows; ``transform`` maps each row to ``exp(-||x - c_k||^2 / (2 s^2))`` for
    every centroid ``c_k`` (``kind="rbf"``), or to those responses normalised
    to sum to one (``kind="soft"``: soft assignments). The bandwidth ``s`` is
    set from the data: ``bandwidth_scale`` times the root mean squared
    distance of the rows to their nearest centroid. A linear student on these
    features is a radial-basis-function network whose centers come from the
    input distribution.

    Parameters
    ----------
    n_clusters : int, default=128
        Number of centroids (features).
    kind : {"rbf", "soft"}, default="rbf"
        Raw responses or soft assignments.
    bandwidth_scale : float, default=2.0
        Multiplies the data-driven bandwidth (2 puts it near the spacing of
        neighbouring centroids, where the responses overlap smoothly).
    include_raw : bool, default=False
        Append the original features after the responses.
    max_iter : int, default=50
        Lloyd iterations of the k-means fit.
    random_state : int, Generator, RandomState or None, default=None
        Seed of the k-means seeding.

    Attributes
    ----------
    centers_ : ndarray of shape (n_clusters, n_features)
        Centroids.
    bandwidth_ : float
        The bandwidth ``s`` used.
    kmeans_ : KMeans
        The fitted k-means.
    n_features_in_ : int
        Number of input features.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.distill import KMeansFeatures
    >>> X = np.random.default_rng(0).normal(size=(500, 3))
    >>> Z = KMeansFeatures(n_clusters=8, random_state=0).fit_transform(X)
    >>> Z.shape, bool(Z.max() <= 1.0)
    ((500, 8), True)
    """

    def __init__(self, n_clusters=128, *, kind="rbf", bandwidth_scale=2.0, include_raw=False,
                 max_iter=50, random_state=None):
        self.n_clusters = n_clusters
        self.kind = kind
        self.bandwidth_scale = bandwidth_scale
        self.include_raw = include_raw
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y=None, sample_weight=None):
        """Learn the centroids and the bandwidth from ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Unlabeled rows.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights for k-means.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        with self._transaction():
            check_option(self.kind, "kind", ["rbf", "soft"])
            check_scalar(self.bandwidth_scale, "bandwidth_scale", numbers.Real, min_val=0.0,
                         include_min=False)
            X = validate_data(self, X, reset=True)
            km = KMeans(self.n_clusters, max_iter=self.max_iter, random_state=self.random_state)
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # few iterations are enough for features
                km.fit(X, sample_weight=sample_weight)
            self.kmeans_ = km
            self.centers_ = km.cluster_centers_
            total_w = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
            rms = np.sqrt(max(km.inertia_, 0.0) / total_w)
            if rms == 0.0:
                rms = 1.0
            self.bandwidth_ = float(self.bandwidth_scale * rms)
        return self

    def transform(self, X) -> np.ndarray:
        """Radial-basis responses (or soft assignments) of every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_clusters [+ n_features])
            Features, in the dtype of ``X``.
        """
        X = validate_data(self, X, reset=False)
        out = self.kmeans_._sq_distances(X)
        out *= X.dtype.type(-0.5 / self.bandwidth_**2)
        if self.kind == "soft":
            out -= out.max(axis=1, keepdims=True)
        np.exp(out, out=out)
        if self.kind == "soft":
            out /= out.sum(axis=1, keepdims=True)
        if self.include_raw:
            out = np.hstack([out, X])
        return out
