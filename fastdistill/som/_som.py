"""Self-organizing maps with compiled online and batch training."""

from __future__ import annotations

import numbers
import sys

import numpy as np

from .._base import BaseEstimator, TransformerMixin
from .._kernels import som as KS
from ..cluster._assign import assign, sq_distances
from .._kernels._random import seed_state
from .._stats import mean_var
from .._threads import serial_blas
from .._validation import (
    check_array,
    check_is_fitted,
    check_option,
    check_random_state,
    check_scalar,
    validate_data,
)

__all__ = ["SOM"]

_NEIGHBOURHOOD = {"gaussian": 0, "bubble": 1, "mexican_hat": 2, "triangle": 3}
_DECAY = {"asymptotic": 0, "linear": 1, "exponential": 2}


class SOM(TransformerMixin, BaseEstimator):
    """Self-organizing map (Kohonen), online or batch, compiled.

    A grid of ``m x n`` nodes, each with a weight vector in input space, is
    fitted so that neighbouring nodes represent neighbouring regions of the
    data. ``mode="online"`` updates the map one sample at a time (MiniSom's
    ``train_random``/``train``): every step finds the sample's best-matching
    unit (BMU) and pulls every node towards the sample by
    ``learning_rate(t) * h(node, BMU, sigma(t))``; one compiled call runs all
    steps of an epoch. ``mode="batch"`` is the batch SOM: each epoch assigns
    every sample to its BMU in one parallel pass (distances by GEMM in
    chunks, per-chunk partial sums, the k-means pass), then every node
    becomes the neighbourhood-weighted mean of the samples.

    Parameters
    ----------
    m, n : int, default=10
        Grid rows and columns.
    topology : {"rectangular", "hexagonal"}, default="rectangular"
        Grid geometry (hexagonal as MiniSom lays it out: every other column
        shifted by half a node along the first axis, columns ``sqrt(3)/2``
        apart).
    toroidal : bool, default=False
        Wrap the grid around (distances on a torus).
    neighborhood : {"gaussian", "bubble", "mexican_hat", "triangle"}, default="gaussian"
        Neighbourhood function (batch mode needs a non-negative one).
    sigma : float, default=1.0
        Initial neighbourhood radius, in grid units.
    learning_rate : float, default=0.5
        Initial learning rate (online mode).
    decay_function : {"asymptotic", "linear", "exponential"}, default="asymptotic"
        Schedule of learning rate and sigma: ``x / (1 + t / (T / 2))``,
        ``x * (1 - t / T)`` or ``x * exp(-t / T)``.
    activation_distance : {"euclidean"}, default="euclidean"
        Distance used to find the BMU.
    init : {"random", "sample", "pca"} or array of shape (m, n, n_features), default="sample"
        Initial weights: random unit vectors, random rows of X, the grid
        spanned by the first two principal components, or given weights.
    mode : {"online", "batch"}, default="batch"
        Training algorithm.
    n_epochs : int, default=10
        Passes over the data.
    num_iterations : int or None, default=None
        Online mode only: total number of single-sample updates (overrides
        ``n_epochs * n_samples``); batch mode counts in epochs.
    random_order : bool, default=True
        Online mode: draw samples at random (``train_random``), else cycle in
        order (``train``).
    random_state : int, Generator, RandomState or None, default=None
        Seed; the same seed gives the same map.
    verbose : int, default=0
        Print the quantization error after every batch epoch (online mode:
        after its single compiled run of updates).

    Attributes
    ----------
    weights_ : ndarray of shape (m, n, n_features)
        Node weights.
    n_features_in_ : int
        Number of features seen during fit.
    n_iter_ : int
        Epochs (batch) or updates (online) run so far.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill import SOM
    >>> X = np.random.default_rng(0).uniform(size=(500, 3))
    >>> som = SOM(6, 6, sigma=1.5, n_epochs=20, random_state=0).fit(X)
    >>> som.weights_.shape
    (6, 6, 3)
    >>> bool(som.quantization_error(X) < 0.2)
    True
    """

    def __init__(self, m=10, n=10, *, topology="rectangular", toroidal=False,
                 neighborhood="gaussian", sigma=1.0, learning_rate=0.5,
                 decay_function="asymptotic", activation_distance="euclidean", init="sample",
                 mode="batch", n_epochs=10, num_iterations=None, random_order=True,
                 random_state=None, verbose=0):
        self.m = m
        self.n = n
        self.topology = topology
        self.toroidal = toroidal
        self.neighborhood = neighborhood
        self.sigma = sigma
        self.learning_rate = learning_rate
        self.decay_function = decay_function
        self.activation_distance = activation_distance
        self.init = init
        self.mode = mode
        self.n_epochs = n_epochs
        self.num_iterations = num_iterations
        self.random_order = random_order
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ grid
    def _check_params(self) -> None:
        for name in ("m", "n"):
            check_scalar(getattr(self, name), name, numbers.Integral, min_val=1)
        check_option(self.topology, "topology", ["rectangular", "hexagonal"])
        check_option(self.neighborhood, "neighborhood", list(_NEIGHBOURHOOD))
        check_scalar(self.sigma, "sigma", numbers.Real, min_val=0.0, include_min=False)
        check_scalar(self.learning_rate, "learning_rate", numbers.Real, min_val=0.0,
                     include_min=False)
        check_option(self.decay_function, "decay_function", list(_DECAY))
        check_option(self.activation_distance, "activation_distance", ["euclidean"])
        if isinstance(self.init, str):
            check_option(self.init, "init", ["random", "sample", "pca"])
        check_option(self.mode, "mode", ["online", "batch"])
        check_scalar(self.n_epochs, "n_epochs", numbers.Integral, min_val=1)
        if self.num_iterations is not None:
            check_scalar(self.num_iterations, "num_iterations", numbers.Integral, min_val=1)
        if self.toroidal and self.topology == "hexagonal" and self.n % 2:
            raise ValueError(
                f"A toroidal hexagonal grid needs an even number of columns (n={self.n}): "
                f"with an odd n the first and last columns have the same offset."
            )
        if self.mode == "batch" and self.neighborhood == "mexican_hat":
            raise ValueError(
                "mode='batch' needs a non-negative neighbourhood (node = weighted mean of "
                "samples); use mode='online' with neighborhood='mexican_hat'."
            )
        for name in ("toroidal", "random_order"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")

    def _grid(self):
        rows, cols = np.meshgrid(np.arange(self.m, dtype=float), np.arange(self.n, dtype=float),
                                 indexing="ij")
        if self.topology == "hexagonal":
            # MiniSom's convention: the first coordinate of every other column
            # (counted from the last) moves by half a node, columns sqrt(3)/2 apart.
            rows = rows - 0.5 * ((self.n - 1 - cols) % 2 == 0)
            cols = cols * (np.sqrt(3.0) / 2.0)
        coords = np.column_stack([rows.ravel(), cols.ravel()])
        if self.toroidal:
            period_r = float(self.m)
            period_c = self.n * (np.sqrt(3.0) / 2.0 if self.topology == "hexagonal" else 1.0)
        else:
            period_r = period_c = 0.0
        return np.ascontiguousarray(coords), period_r, period_c

    def _init_weights(self, X, rng) -> np.ndarray:
        k = self.m * self.n
        d = X.shape[1]
        if not isinstance(self.init, str):
            if np.shape(self.init) not in ((self.m, self.n, d), (k, d)):
                raise ValueError(
                    f"init has shape {np.shape(self.init)}, expected ({self.m}, {self.n}, {d})."
                )
            W = check_array(np.asarray(self.init).reshape(k, d), name="init", dtype=X.dtype)
            return np.array(W, copy=True, order="C")  # trained in place: never the user's
        if self.init == "random":
            W = rng.uniform(-1, 1, size=(k, d))
            W /= np.linalg.norm(W, axis=1, keepdims=True)
        elif self.init == "sample":
            W = X[rng.integers(0, X.shape[0], size=k)].astype(np.float64)
        else:
            from ..decomposition import PCA

            n_pc = min(2, d, X.shape[0])
            pca = PCA(n_pc, svd_solver="covariance_eigh").fit(X)
            comps = pca.components_ * np.sqrt(pca.explained_variance_)[:, None]
            a = np.linspace(-1, 1, self.m) if self.m > 1 else np.zeros(1)
            b = np.linspace(-1, 1, self.n) if self.n > 1 else np.zeros(1)
            # The first component along the longer side of the grid.
            long_a = self.m >= self.n
            W = np.empty((self.m, self.n, d))
            for i, ai in enumerate(a):
                for j, bj in enumerate(b):
                    first, second = (ai, bj) if long_a else (bj, ai)
                    W[i, j] = pca.mean_ + first * comps[0] + (
                        second * comps[1] if n_pc > 1 else 0.0)
            W = W.reshape(k, d)
        return np.ascontiguousarray(W, dtype=X.dtype)

    # ------------------------------------------------------------- training
    def fit(self, X, y=None):
        """Train a new map on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted map.
        """
        with self._transaction():
            self._check_params()
            X = validate_data(self, X, reset=True)
            self._rng = check_random_state(self.random_state)
            self._rng_state = seed_state(self._rng)
            self._coords, self._period_r, self._period_c = self._grid()
            self._W = self._init_weights(X, self._rng)
            self._shift = mean_var(X)[0]
            self.n_iter_ = 0
            self._train(X)
        return self

    def partial_fit(self, X, y=None):
        """Continue training on ``X`` (one more run of the schedule).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            More data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated map.
        """
        if not hasattr(self, "_W"):
            return self.fit(X)
        with self._transaction():
            self._check_params()
            if self.m * self.n != self._W.shape[0]:
                raise ValueError(
                    f"The grid changed to {self.m} x {self.n} since fit "
                    f"({self._W.shape[0]} nodes); call fit to start a new map."
                )
            X = validate_data(self, X, reset=False).astype(self._W.dtype, copy=False)
            self._W = self._W.copy()
            self._train(X)
        return self

    def _train(self, X) -> None:
        nb = _NEIGHBOURHOOD[self.neighborhood]
        dc = _DECAY[self.decay_function]
        if self.mode == "online":
            total = (self.num_iterations if self.num_iterations is not None
                     else self.n_epochs * X.shape[0])
            KS.online_epoch(X, self._W, self._coords, int(self.n), int(total), 0, float(total),
                            float(self.learning_rate), float(self.sigma), dc, dc, nb,
                            self._period_r, self._period_c, bool(self.random_order),
                            self._rng_state)
            self.n_iter_ += int(total)
            if self.verbose:
                print(f"{int(total)} online updates: quantization error "
                      f"{self.quantization_error(X):.6f}", file=sys.stdout)
            return
        shift = mean_var(X)[0].astype(X.dtype)
        labels = np.full(X.shape[0], -1, dtype=np.int32)
        for epoch in range(self.n_epochs):
            sums, counts, _, _ = self._assign(X, shift, labels, update=True)
            sig = KS.decay(float(self.sigma), epoch, float(self.n_epochs), dc)
            H = KS.neighbourhood_matrix(self._coords, sig, nb, self._period_r, self._period_c)
            # Small products on one thread: idle multi-threaded BLAS workers keep
            # spinning after a call and would slow the next parallel pass.
            with serial_blas():
                num = H.T @ sums
                den = H.T @ counts
            ok = den > 0
            W = self._W.astype(np.float64)
            W[ok] = num[ok] / den[ok, None] + shift
            self._W = np.ascontiguousarray(W, dtype=X.dtype)
            self.n_iter_ += 1
            if self.verbose:
                print(f"epoch {self.n_iter_}: sigma {sig:.3f}, quantization error "
                      f"{self.quantization_error(X):.6f}", file=sys.stdout)

    def _assign(self, X, shift, labels, update):
        centers = (self._W.astype(np.float64) - shift).astype(X.dtype)
        return assign(X, np.empty(0, dtype=X.dtype), shift, centers, labels, update)

    # ------------------------------------------------------------ inference
    @property
    def weights_(self) -> np.ndarray:
        """Node weights, shape (m, n, n_features)."""
        if not hasattr(self, "_W"):
            raise AttributeError("weights_ is available after fit.")
        return self._W.reshape(self.m, self.n, -1)

    def _shifted_centers(self, dtype):
        # Shift rows and nodes by the training mean: ||x||^2 - 2 x.w + ||w||^2
        # keeps its precision for data far from the origin (float32 too).
        shift = self._shift.astype(dtype)
        return shift, (self._W.astype(np.float64) - self._shift).astype(dtype)

    def _sq_distances(self, X) -> np.ndarray:
        return sq_distances(X, *self._shifted_centers(X.dtype))

    def predict(self, X) -> np.ndarray:
        """Best-matching unit of every row, as a flat index ``row * n + col``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        bmu : ndarray of shape (n_samples,), int32
            Node indices.
        """
        X = validate_data(self, X, reset=False).astype(self._W.dtype, copy=False)
        labels = np.full(X.shape[0], -1, dtype=np.int32)
        self._assign(X, self._shift.astype(X.dtype), labels, update=False)
        return labels

    def transform(self, X) -> np.ndarray:
        """Euclidean distance from every row to every node (student features).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        distances : ndarray of shape (n_samples, m * n)
            Distances, nodes in row-major grid order.
        """
        X = validate_data(self, X, reset=False)
        out = self._sq_distances(X)
        np.sqrt(out, out=out)
        return out

    def winner(self, x) -> tuple[int, int]:
        """Grid coordinates of the best-matching unit of one sample.

        Parameters
        ----------
        x : array-like of shape (n_features,)
            The sample.

        Returns
        -------
        (row, col) : tuple of int
            Position of its BMU.
        """
        check_is_fitted(self)
        x = check_array(np.asarray(x).reshape(1, -1), name="x")
        idx = int(self.predict(x)[0])
        return divmod(idx, self.n)

    def quantization_error(self, X) -> float:
        """Mean distance of the rows to their best-matching unit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        error : float
            Average Euclidean distance to the BMU.
        """
        X = validate_data(self, X, reset=False)
        total = 0.0
        for start in range(0, X.shape[0], 4096):
            D = self._sq_distances(X[start : start + 4096])
            total += float(np.sqrt(np.maximum(D.min(axis=1), 0.0)).sum())
        return total / X.shape[0]

    def topographic_error(self, X) -> float:
        """Share of rows whose best and second-best units are not neighbours.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        error : float
            Between 0 (topology preserved) and 1. Neighbours are the nodes at
            grid distance at most 1 (hexagonal) or ``sqrt(2)`` (rectangular,
            diagonals included), as MiniSom counts them.
        """
        X = validate_data(self, X, reset=False)
        if self._W.shape[0] < 2:
            return 0.0
        limit = 1.0 + 1e-9 if self.topology == "hexagonal" else np.sqrt(2.0) + 1e-9
        errors = 0
        for start in range(0, X.shape[0], 4096):
            D = self._sq_distances(X[start : start + 4096])
            two = np.argpartition(D, 1, axis=1)[:, :2]
            first = np.where(D[np.arange(len(D)), two[:, 0]] <= D[np.arange(len(D)), two[:, 1]],
                             two[:, 0], two[:, 1])
            second = np.where(first == two[:, 0], two[:, 1], two[:, 0])
            delta = np.abs(self._coords[first] - self._coords[second])
            for axis, period in ((0, self._period_r), (1, self._period_c)):
                if period > 0:
                    delta[:, axis] = np.minimum(delta[:, axis], period - delta[:, axis])
            errors += int(np.count_nonzero(np.sqrt((delta**2).sum(axis=1)) > limit))
        return float(errors) / X.shape[0]

    def distance_map(self) -> np.ndarray:
        """U-matrix: mean distance of each node to its grid neighbours, scaled to [0, 1].

        Returns
        -------
        umatrix : ndarray of shape (m, n)
            Large values mark borders between clusters.
        """
        check_is_fitted(self)
        limit = 1.0 + 1e-9 if self.topology == "hexagonal" else np.sqrt(2.0) + 1e-9
        W = self._W.reshape(self.m, self.n, -1).astype(np.float64)
        total = np.zeros((self.m, self.n))
        count = np.zeros((self.m, self.n))
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                if di == 0 and dj == 0:
                    continue
                for i in range(self.m):
                    i2 = i + di
                    if self.toroidal:
                        i2 %= self.m
                    elif not 0 <= i2 < self.m:
                        continue
                    for j in range(self.n):
                        j2 = j + dj
                        if self.toroidal:
                            j2 %= self.n
                        elif not 0 <= j2 < self.n:
                            continue
                        a, b = i * self.n + j, i2 * self.n + j2
                        if KS.grid_sqdist(self._coords, a, b, self._period_r,
                                          self._period_c) <= limit**2:
                            total[i, j] += np.linalg.norm(W[i, j] - W[i2, j2])
                            count[i, j] += 1
        out = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
        mx = out.max()
        return out / mx if mx > 0 else out

    def activation_response(self, X) -> np.ndarray:
        """How many rows each node wins.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        hits : ndarray of shape (m, n)
            Counts of rows per best-matching unit.
        """
        bmu = self.predict(X)
        return np.bincount(bmu, minlength=self.m * self.n).reshape(self.m, self.n)

    def labels_map(self, X, y) -> dict:
        """Labels of the rows won by each node, for inspection.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        mapping : dict
            ``(row, col) -> {label: count}`` for every node that wins a row.
        """
        bmu = self.predict(X)
        y = np.asarray(y)
        if y.shape[0] != bmu.shape[0]:
            raise ValueError(f"X has {bmu.shape[0]} rows but y has {y.shape[0]}.")
        out: dict = {}
        for node, label in zip(bmu.tolist(), y.tolist()):
            cell = out.setdefault(divmod(node, self.n), {})
            cell[label] = cell.get(label, 0) + 1
        return out

    def plot(self, X=None, ax=None):
        """Draw the U-matrix, with the hit counts of ``X`` when given (matplotlib).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), optional
            Rows whose hits are written on the nodes.
        ax : matplotlib Axes, optional
            Where to draw.

        Returns
        -------
        ax : matplotlib Axes
            The axes drawn on.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "SOM.plot needs matplotlib: pip install matplotlib"
            ) from exc
        if ax is None:
            _, ax = plt.subplots()
        im = ax.imshow(self.distance_map(), cmap="bone_r")
        ax.figure.colorbar(im, ax=ax, label="mean distance to neighbours")
        if X is not None:
            hits = self.activation_response(X)
            for (i, j), v in np.ndenumerate(hits):
                ax.text(j, i, str(v), ha="center", va="center", color="tab:red", fontsize=7)
        ax.set_title("SOM U-matrix")
        return ax
