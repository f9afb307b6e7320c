"""Feature maps learned from unlabeled data, for students.

* :class:`KMeansFeatures` - radial-basis responses to k-means centroids.
* :class:`SOMFeatures` - responses of the nodes of a self-organizing map.
* :class:`PCAFeatures` - principal components, optionally with their
  pairwise products (a quadratic student in a few dimensions).

The prototype maps share :class:`_PrototypeFeatures`: squared distances from
the compiled nearest-center pass, turned into responses by the compiled
:func:`fastdistill._kernels.features.responses` kernel, with a bandwidth set
from the data (the root mean squared distance of the training rows to their
nearest prototype).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .._base import BaseEstimator, TransformerMixin
from .._threads import parallel_region
from .._validation import (
    check_option,
    check_random_state,
    check_sample_weight,
    check_scalar,
    validate_data,
)

__all__ = ["KMeansFeatures", "SOMFeatures", "PCAFeatures", "rbf_responses",
           "prototype_responses"]


def rbf_responses(sq_dist: np.ndarray, bandwidth: float, kind: str, top: int = 0) -> np.ndarray:
    """Turn squared distances into radial-basis responses (in place).

    Parameters
    ----------
    sq_dist : ndarray of shape (n, k)
        Squared distances to the prototypes (overwritten).
    bandwidth : float
        Gaussian width ``s``: responses are ``exp(-d^2 / (2 s^2))``.
    kind : {"rbf", "soft"}
        Raw responses, or normalised to sum to one per row.
    top : int, default=0
        Keep only the ``top`` largest responses per row (0 keeps all).

    Returns
    -------
    responses : ndarray of shape (n, k)
        The same array, overwritten.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.distill._features import rbf_responses
    >>> rbf_responses(np.array([[0.0, 2.0]]), 1.0, "soft").round(3)
    array([[0.731, 0.269]])
    """
    from .._kernels.features import responses

    with parallel_region(sq_dist.shape[0] // 256 + 1):
        responses(sq_dist, 0.5 / bandwidth**2, kind == "soft", int(top))
    return sq_dist


def prototype_responses(prototypes, X: np.ndarray, bandwidth: float, kind: str,
                        top: int = 0) -> np.ndarray:
    """Radial-basis responses of validated rows to fitted prototypes.

    The same values as ``rbf_responses(prototypes._sq_distances(X), ...)``,
    computed by one fused kernel (distances of a chunk of rows turned into
    responses while in cache; no second pass over an ``(n, k)`` array).

    Parameters
    ----------
    prototypes : KMeans or SOM
        Fitted; provides ``_shifted_centers(dtype)``.
    X : ndarray of shape (n, d)
        Validated rows.
    bandwidth, kind, top
        As :func:`rbf_responses`.

    Returns
    -------
    responses : ndarray of shape (n, n_prototypes)
        In the dtype of ``X``.
    """
    from .._kernels.features import center_responses
    from ..cluster._assign import distance_layout

    shift, centers = prototypes._shifted_centers(X.dtype)
    c_norms, rows, out = distance_layout(X, centers)
    with parallel_region(-(-X.shape[0] // rows)):
        center_responses(X, shift, centers, c_norms, 0.5 / bandwidth**2, kind == "soft",
                         int(top), rows, out)
    return out


class _PrototypeFeatures(TransformerMixin, BaseEstimator):
    """Shared transform of the prototype feature maps (k-means, SOM)."""

    def _check_common(self, kinds=("rbf", "soft")) -> None:
        check_option(self.kind, "kind", kinds)
        check_scalar(self.bandwidth_scale, "bandwidth_scale", numbers.Real, min_val=0.0,
                     include_min=False)
        if not isinstance(self.include_raw, (bool, np.bool_)):
            raise TypeError(f"include_raw must be a bool, got {self.include_raw!r}.")

    def _set_bandwidth(self, sq_error_sum: float, total_weight: float) -> None:
        rms = np.sqrt(max(sq_error_sum, 0.0) / total_weight)
        self.bandwidth_ = float(self.bandwidth_scale * (rms if rms > 0.0 else 1.0))

    def _prototypes(self):
        raise NotImplementedError

    def _fuses_gram(self) -> bool:
        """Whether :meth:`_gram_statistics` applies: radial-basis responses only.

        Not with the raw features kept, nor for other kinds of features
        (a SOM's neighbourhood activations).
        """
        return self.kind in ("rbf", "soft") and not self.include_raw

    def _gram_statistics(self, X, Y, sw, shift):
        """Gram statistics of ``[transform(X), Y]`` without forming ``transform(X)``.

        The closed-form students' streaming fit (``_accumulate_features``)
        calls this per chunk: the responses of each block of rows go straight
        into the cross products (:func:`~fastdistill._kernels.features.center_responses_gram`),
        with the row blocks :class:`~fastdistill._gram.GramStats` would use.

        Returns
        -------
        G, s, W : as ``gram_blocks`` for ``[transform(X), Y]`` shifted by ``shift``
        """
        from .._gram import gram_layout
        from .._kernels._blas import syrk_address
        from .._kernels.features import center_responses_gram
        from ..cluster._assign import _norms64

        X = validate_data(self, X, reset=False)
        x_shift, centers = self._prototypes()._shifted_centers(X.dtype)
        c_norms = _norms64(centers).astype(X.dtype)
        block_rows, n_slots = gram_layout(X.shape[0], centers.shape[0] + Y.shape[1],
                                          X.itemsize)
        with parallel_region(n_slots):
            return center_responses_gram(X, Y, sw, x_shift, centers, c_norms,
                                         0.5 / self.bandwidth_**2, self.kind == "soft", 0,
                                         shift.astype(X.dtype), block_rows, n_slots,
                                         syrk_address(X.dtype))

    def transform(self, X) -> np.ndarray:
        """Responses of every row to the prototypes (and the raw features if asked).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_prototypes [+ n_features])
            Features, in the dtype of ``X``.
        """
        X = validate_data(self, X, reset=False)
        out = prototype_responses(self._prototypes(), X, self.bandwidth_, self.kind)
        if self.include_raw:
            out = np.hstack([out, X])
        return out


def _subsample_seeds(X, sample_weight, n_clusters: int, init_size, rng):
    """k-means++ seeds from a random subsample of ``init_size`` rows of ``X``.

    Returns ``"k-means++"`` (seed on every row) when ``init_size`` is None
    or not smaller than the number of rows.
    """
    from ..cluster import kmeans_plusplus

    n = X.shape[0]
    if init_size is None:
        return "k-means++"
    if isinstance(init_size, str):
        check_option(init_size, "init_size", ("auto",))
        size = max(20_000, 256 * n_clusters)
    else:
        check_scalar(init_size, "init_size", numbers.Integral, min_val=1)
        size = max(int(init_size), n_clusters)
    if size >= n:
        return "k-means++"
    rows = np.sort(rng.choice(n, size=size, replace=False))
    sw = None if sample_weight is None else sample_weight[rows]
    centers, _ = kmeans_plusplus(X[rows], n_clusters, sample_weight=sw, random_state=rng)
    return centers


class KMeansFeatures(_PrototypeFeatures):
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
    init_size : int, "auto" or None, default="auto"
        Rows (drawn at random, without replacement) on which the k-means++
        seeding runs; the Lloyd iterations then use every row. Seeding costs
        one pass over its rows per centroid, so on large data it dominates
        the fit; a subsample of a few hundred rows per centroid seeds as well
        for a feature map (as scikit-learn's ``MiniBatchKMeans`` does with its
        ``init_size``). ``"auto"``: ``max(20_000, 256 * n_clusters)`` rows;
        ``None``: seed on all rows.
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
                 max_iter=50, init_size="auto", random_state=None):
        self.n_clusters = n_clusters
        self.kind = kind
        self.bandwidth_scale = bandwidth_scale
        self.include_raw = include_raw
        self.max_iter = max_iter
        self.init_size = init_size
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
        from ..cluster import KMeans

        with self._transaction():
            self._check_common()
            X = validate_data(self, X, reset=True)
            sample_weight = check_sample_weight(sample_weight, X.shape[0], dtype=X.dtype)
            rng = check_random_state(self.random_state)
            init = _subsample_seeds(X, sample_weight, int(self.n_clusters), self.init_size, rng)
            km = KMeans(self.n_clusters, init=init, n_init=1, max_iter=self.max_iter,
                        random_state=rng)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # few iterations are enough for features
                km.fit(X, sample_weight=sample_weight)
            self.kmeans_ = km
            self.centers_ = km.cluster_centers_
            self.n_iter_ = km.n_iter_
            total_w = X.shape[0] if sample_weight is None else float(np.sum(sample_weight))
            self._set_bandwidth(km.inertia_, total_w)
        return self

    def _prototypes(self):
        return self.kmeans_


class SOMFeatures(_PrototypeFeatures):
    """Responses of the nodes of a self-organizing map trained on unlabeled data.

    ``fit`` trains a :class:`~fastdistill.som.SOM` (batch mode by default:
    one compiled pass per epoch); ``transform`` maps each row to the
    radial-basis responses ``exp(-||x - w_j||^2 / (2 s^2))`` of every node
    ``w_j`` (``kind="rbf"``) or to their normalised version (``"soft"``),
    with ``s`` set from the data as for :class:`KMeansFeatures`; or, with
    ``kind="neighbourhood"``, to the map's own neighbourhood activations
    around the row's best-matching unit ``b``: ``exp(-g(b, j)^2 / (2
    sigma^2))`` for grid distance ``g`` (the SOM's grid, hexagonal or toroidal
    included). Unlike
    k-means centroids, SOM nodes are ordered on a grid, so neighbouring
    features respond to neighbouring regions of the input space, and the
    map also covers the space between clusters.

    Parameters
    ----------
    m, n : int, default=10
        Grid shape (``m * n`` features).
    kind : {"rbf", "soft", "neighbourhood"}, default="rbf"
        Radial-basis responses, soft assignments, or grid-neighbourhood
        activations around the best-matching unit.
    bandwidth_scale : float, default=2.0
        Multiplies the data-driven bandwidth ("rbf", "soft").
    sigma : float, default=1.0
        Width of the grid neighbourhood in node units ("neighbourhood").
    include_raw : bool, default=False
        Append the original features after the responses.
    n_epochs : int, default=20
        Training epochs of the map.
    mode : {"batch", "online"}, default="batch"
        SOM training mode.
    random_state : int, Generator, RandomState or None, default=None
        Seed of the map's initialisation.

    Attributes
    ----------
    som_ : SOM
        The trained map.
    bandwidth_ : float
        The bandwidth used.
    n_features_in_ : int
        Number of input features.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.distill import SOMFeatures
    >>> X = np.random.default_rng(0).normal(size=(400, 3))
    >>> SOMFeatures(4, 5, random_state=0).fit_transform(X).shape
    (400, 20)
    """

    def __init__(self, m=10, n=10, *, kind="rbf", bandwidth_scale=2.0, sigma=1.0,
                 include_raw=False, n_epochs=20, mode="batch", random_state=None):
        self.m = m
        self.n = n
        self.kind = kind
        self.bandwidth_scale = bandwidth_scale
        self.sigma = sigma
        self.include_raw = include_raw
        self.n_epochs = n_epochs
        self.mode = mode
        self.random_state = random_state

    def fit(self, X, y=None):
        """Train the map and set the bandwidth.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Unlabeled rows.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        from ..som import SOM

        with self._transaction():
            self._check_common(["rbf", "soft", "neighbourhood"])
            check_scalar(self.sigma, "sigma", numbers.Real, min_val=0.0, include_min=False)
            X = validate_data(self, X, reset=True)
            som = SOM(self.m, self.n, n_epochs=self.n_epochs, mode=self.mode,
                      random_state=self.random_state).fit(X)
            self.som_ = som
            # One nearest-node pass (no n x nodes matrix) for the RMS distance.
            labels = np.full(X.shape[0], -1, dtype=np.int32)
            inertia = som._assign(X, som._shift.astype(X.dtype), labels, False)[2]
            self._set_bandwidth(float(inertia), X.shape[0])
            if self.kind == "neighbourhood":
                from .._kernels.som import neighbourhood_matrix

                coords, period_r, period_c = som._grid()
                self.activations_ = neighbourhood_matrix(coords, float(self.sigma), 0,
                                                         period_r, period_c)
        return self

    def transform(self, X) -> np.ndarray:
        """Node responses of every row (and the raw features if asked).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        Z : ndarray of shape (n_samples, m * n [+ n_features])
            Features, in the dtype of ``X``.
        """
        if self.kind != "neighbourhood":
            return super().transform(X)
        X = validate_data(self, X, reset=False)
        out = self.activations_.astype(X.dtype)[self.som_.predict(X)]
        if self.include_raw:
            out = np.hstack([out, X])
        return out

    def _prototypes(self):
        return self.som_


class PCAFeatures(TransformerMixin, BaseEstimator):
    """Principal components learned from unlabeled data, optionally quadratic.

    ``fit`` runs :class:`~fastdistill.decomposition.PCA` on the unlabeled rows
    (the covariance path: one compiled pass over ``X``); ``transform``
    projects onto the components (whitened by default, so a ridge penalty
    treats every direction alike). With ``degree=2`` the pairwise products of
    the components are appended (computed by a compiled kernel): a linear
    student on them is a quadratic model in the dominant directions, which
    captures interactions at ``O(p^2)`` features instead of ``O(d^2)``.

    Parameters
    ----------
    n_components : int or float, default=10
        Components kept (a float in (0, 1) keeps that fraction of variance).
    degree : {1, 2}, default=1
        1: the components; 2: the components and their pairwise products.
    whiten : bool, default=True
        Scale components to unit variance.
    include_raw : bool, default=False
        Append the original features.
    random_state : int, Generator, RandomState or None, default=None
        Seed of the randomized solver (used on wide data).

    Attributes
    ----------
    pca_ : PCA
        The fitted PCA.
    n_features_in_ : int
        Number of input features.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.distill import PCAFeatures
    >>> X = np.random.default_rng(0).normal(size=(200, 6))
    >>> PCAFeatures(3, degree=2).fit_transform(X).shape
    (200, 9)
    """

    def __init__(self, n_components=10, *, degree=1, whiten=True, include_raw=False,
                 random_state=None):
        self.n_components = n_components
        self.degree = degree
        self.whiten = whiten
        self.include_raw = include_raw
        self.random_state = random_state

    def fit(self, X, y=None):
        """Learn the components.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Unlabeled rows.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        from ..decomposition import PCA

        with self._transaction():
            check_scalar(self.degree, "degree", numbers.Integral, min_val=1, max_val=2)
            if not isinstance(self.include_raw, (bool, np.bool_)):
                raise TypeError(f"include_raw must be a bool, got {self.include_raw!r}.")
            X = validate_data(self, X, reset=True)
            n_comp = self.n_components
            if isinstance(n_comp, numbers.Integral) and n_comp > min(X.shape):
                raise ValueError(
                    f"n_components={n_comp} must be at most min(n_samples, n_features) = "
                    f"{min(X.shape)}; lower n_components."
                )
            self.pca_ = PCA(n_comp, whiten=self.whiten, random_state=self.random_state).fit(X)
        return self

    def transform(self, X) -> np.ndarray:
        """Project (and expand) every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_out)
            ``p`` components, plus ``p (p + 1) / 2`` products with
            ``degree=2``, plus the raw features with ``include_raw``.
        """
        X = validate_data(self, X, reset=False)
        Z = self.pca_.transform(X)
        if self.degree == 2:
            from .._kernels.features import quadratic_expand

            p = Z.shape[1]
            out = np.empty((Z.shape[0], p + p * (p + 1) // 2), dtype=Z.dtype)
            with parallel_region(Z.shape[0] // 256 + 1):
                quadratic_expand(np.ascontiguousarray(Z), out)
            Z = out
        if self.include_raw:
            Z = np.hstack([Z, X])
        return Z
