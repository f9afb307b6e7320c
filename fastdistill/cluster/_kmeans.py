"""Lloyd k-means (``KMeans``) and greedy k-means++ seeding."""

from __future__ import annotations

import numbers
import sys
import warnings

import numpy as np

from .._base import BaseEstimator, ClusterMixin, TransformerMixin
from .._kernels import cluster as K
from .._kernels._intrinsics import KPP_LANES
from .._stats import mean_var
from .._threads import mapped_full, parallel_region
from .._validation import (
    assert_finite,
    check_array,
    check_random_state,
    check_sample_weight,
    check_scalar,
    validate_data,
)
from ..exceptions import convergence_warning
from ._assign import RowNorms, assign, assign_bounded, sq_distances

__all__ = ["KMeans", "kmeans_plusplus"]

#: Rows per block of the k-means++ passes.
KPP_BLOCK = 1024


def kpp_column_groups(cols: np.ndarray) -> np.ndarray:
    """Lay (n_cols, d) columns out as the k-means++ pass reads them.

    Returns a C-contiguous (n_groups, d, KPP_LANES) array: each group holds
    ``KPP_LANES`` columns side by side (a feature's values of all the group's
    columns are one vector), the last group padded with zero columns.
    """
    nc, d = cols.shape
    lanes = KPP_LANES
    groups = np.zeros((-(-nc // lanes), d, lanes), dtype=cols.dtype)
    for g in range(groups.shape[0]):
        part = cols[g * lanes:(g + 1) * lanes]
        groups[g, :, :part.shape[0]] = part.T
    return groups

#: From this many clusters on, Lloyd iterations skip rows by Hamerly bounds
#: (below, the search per row is too cheap for the bounds to pay).
BOUNDED_MIN_K = 32
#: ... once fewer than this fraction of the rows changed cluster in a pass:
#: before, the bounds prune too few rows to pay for their bookkeeping (k =
#: 256 float32, 200,000 x 32 Gaussian rows from the first 256 as centers:
#: plain passes 17-20 ms, bounded 22-25 ms while 43 % -> 9 % of the labels
#: change and 97-100 % of the rows are searched).
PLAIN_UNTIL_CHANGED = 0.08


def kmeans_plusplus(X, n_clusters: int, *, sample_weight=None, random_state=None,
                    n_local_trials: int | None = None):
    """Greedy k-means++ seeding, compiled.

    Each new center is the best of ``n_local_trials`` candidates drawn with
    probability proportional to the (weighted) squared distance to the
    nearest chosen center; "best" minimises the resulting potential, as in
    scikit-learn's ``kmeans_plusplus``. One parallel pass over ``X`` per
    center computes every candidate's potential per block of rows; the
    sampling reuses those block sums, so no ``n x n_local_trials`` distance
    matrix is ever held. Rows that no candidate can bring closer, by the
    triangle inequality against their nearest chosen center, are not read
    (exact: the result is that of the plain greedy algorithm up to rounding).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data to pick seeds from.
    n_clusters : int
        Number of seeds.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    random_state : int, Generator, RandomState or None, default=None
        Seed.
    n_local_trials : int, default=None
        Candidates per step (default ``2 + int(log(n_clusters))``).

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        The seeds.
    indices : ndarray of shape (n_clusters,)
        Their row indices in ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.cluster import kmeans_plusplus
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
    >>> centers, idx = kmeans_plusplus(X, 2, random_state=0)
    >>> sorted(np.round(centers[:, 0]).tolist())
    [0.0, 10.0]
    """
    X = check_array(X, force_all_finite=False)  # checked by the first pass
    n = X.shape[0]
    check_scalar(n_clusters, "n_clusters", numbers.Integral, min_val=1, max_val=n)
    sw = check_sample_weight(sample_weight, n, dtype=X.dtype)
    sw = np.empty(0, dtype=X.dtype) if sw is None else sw
    rng = check_random_state(random_state)
    return _kmeans_plusplus(X, n_clusters, sw, rng, n_local_trials, check=True)


def _kmeans_plusplus(X, k, sw, rng, n_local_trials=None, shift=None, check=False):
    """Greedy k-means++ on validated ``X`` (``sw``: weights or an empty array).

    Distances are expanded around ``shift`` (default: the first center, a
    row of the data). With ``check``, ``X`` has not been checked for NaN,
    inf or values too large: the first pass's row norms are, before the
    next pass reads them.
    """
    n, d = X.shape
    L = n_local_trials if n_local_trials is not None else 2 + int(np.log(k))
    centers = np.empty((k, d), dtype=X.dtype)
    indices = np.empty(k, dtype=np.int64)
    if sw.shape[0]:
        first = int(rng.choice(n, p=sw / sw.sum()))
    else:
        first = int(rng.integers(n))
    centers[0] = X[first]
    indices[0] = first
    if shift is None:
        shift = X[first]
    shift_x = shift.astype(X.dtype)
    shift_64 = shift_x.astype(np.float64)
    # Squared distance of every row to its nearest chosen center, and which.
    closest = mapped_full(n, 0.0)
    owner = mapped_full(n, 0, np.int32)
    x_norms = mapped_full(n, 0.0)  # ||x - shift||^2, filled by the first pass

    def columns(rows):
        """Shifted columns in groups of ``KPP_LANES`` for the pass, and their constants."""
        c = (rows.astype(np.float64) - shift_64).astype(X.dtype)
        c64 = c.astype(np.float64)
        const = np.einsum("ij,ij->i", c64, c64) + 2.0 * (c64 @ shift_64)
        return kpp_column_groups(c), const

    # Shifted chosen centers in float64 and their squared norms, for the bounds.
    chosen_s = np.empty((k, d))
    chosen_n = np.empty(k)
    slack = 4.0 * (d + 2) * np.finfo(np.float64).eps

    def bounds(n_chosen, cols):
        """Smallest squared distance from each chosen center to any column.

        Expanded form by one small GEMM, lowered by its rounding error bound:
        a bound that is too small only makes a pass read more rows.
        """
        cs = cols.astype(np.float64) - shift_64
        cn = np.einsum("ij,ij->i", cs, cs)
        norms = chosen_n[:n_chosen, None] + cn[None]
        d2 = norms - 2.0 * (chosen_s[:n_chosen] @ cs.T) - slack * norms
        return np.maximum(d2.min(axis=1), 0.0)

    n_blocks = -(-n // KPP_BLOCK)
    with parallel_region(n_blocks) as n_threads:
        n_slots = min(n_blocks, 4 * n_threads)
        block = K.kpp_first_pass(X, sw, shift_64, first, closest, x_norms, KPP_BLOCK, n_slots)
        if check:
            _check_seeding_data(X, x_norms, shift_64)
        chosen_s[0] = X[first] - shift_64  # after the check: no warning on inf
        chosen_n[0] = chosen_s[0] @ chosen_s[0]
        current = block.sum()
        for c in range(1, k):
            targets = rng.uniform(size=L) * current
            cand_ids = K.kpp_pick(X, sw, centers[c - 1], closest, block, KPP_BLOCK, targets)
            # Column 0: the last chosen center, folded into ``closest`` by the
            # pass (the first one already is).
            cols = np.concatenate([centers[c - 1 : c], X[cand_ids]])
            cols_t, const = columns(cols)
            bound = bounds(c, cols if c > 1 else cols[1:])
            pots = K.kpp_pass(X, sw, cols_t, const, c > 1, closest, owner, bound, c - 1,
                              x_norms, KPP_BLOCK, n_slots)
            cand_pot = pots[:, 1:].sum(axis=0)
            best = int(np.argmin(cand_pot))
            current = cand_pot[best]
            block = pots[:, 1 + best].copy()
            centers[c] = X[cand_ids[best]]
            indices[c] = cand_ids[best]
            chosen_s[c] = centers[c] - shift_64
            chosen_n[c] = chosen_s[c] @ chosen_s[c]
    return centers, indices


class KMeans(TransformerMixin, ClusterMixin, BaseEstimator):
    """K-means clustering by Lloyd's algorithm, compiled and parallel.

    Each iteration is one parallel pass over ``X`` that assigns every row to
    its nearest center and accumulates per-chunk partial sums (merged in a
    fixed order: results do not depend on the thread count). Distances use
    ``||c||^2 - 2 x.c`` on data shifted by its mean (no copy of ``X``: the
    shift is applied chunk by chunk in a small buffer), with the products
    computed by one BLAS GEMM per chunk. From 32 clusters on, rows whose
    nearest center cannot have changed (Hamerly's bounds: an upper and a
    lower bound per row) skip the search, with the same labels as the plain
    pass (ties aside); per-cluster sums are running totals that only rows
    changing cluster update. Seeding by greedy k-means++ is compiled too.
    Empty clusters are relocated to the farthest points, as scikit-learn does.

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    init : {"k-means++", "random"}, callable or array, default="k-means++"
        Seeding method, or the initial centers (shape (n_clusters, n_features)).
    n_init : "auto" or int, default="auto"
        Number of seedings; the run with the lowest inertia is kept. "auto"
        is 1 for "k-means++" or an array, 10 for "random" or a callable.
    max_iter : int, default=300
        Maximum number of Lloyd iterations per run.
    tol : float, default=1e-4
        Convergence when the squared center shift sums to at most ``tol``
        times the mean feature variance.
    verbose : int, default=0
        Print the inertia at each iteration.
    random_state : int, Generator, RandomState or None, default=None
        Seed of the seeding; the same seed gives the same clustering.
    copy_x : bool, default=True
        Accepted for compatibility; ``X`` is never copied nor modified.
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        Both run the same compiled Lloyd passes. Elkan's algorithm is an exact
        acceleration of Lloyd's (the same iterates, ties aside); here the
        passes skip rows by Hamerly bounds from 32 clusters on, so
        ``"elkan"`` is accepted for scikit-learn compatibility and gives the
        result of ``"lloyd"``.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centers, in the dtype of ``X``.
    labels_ : ndarray of shape (n_samples,), int32
        Cluster of each training row.
    inertia_ : float
        Sum of (weighted) squared distances of rows to their center.
    n_iter_ : int
        Lloyd iterations of the kept run.
    n_features_in_ : int
        Number of features seen during fit.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.cluster import KMeans
    >>> X = np.array([[1.0, 2.0], [1.0, 4.0], [1.0, 0.0],
    ...               [10.0, 2.0], [10.0, 4.0], [10.0, 0.0]])
    >>> km = KMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(km.cluster_centers_[:, 0].tolist())
    [1.0, 10.0]
    >>> km.predict([[0.0, 0.0], [12.0, 3.0]]).tolist() == [km.labels_[0], km.labels_[3]]
    True
    """

    def __init__(self, n_clusters=8, *, init="k-means++", n_init="auto", max_iter=300,
                 tol=1e-4, verbose=0, random_state=None, copy_x=True, algorithm="lloyd"):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm

    def _check_params(self, n_samples: int, n_features: int):
        check_scalar(self.n_clusters, "n_clusters", numbers.Integral, min_val=1)
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}: "
                f"ask for fewer clusters or pass more rows."
            )
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)
        check_scalar(self.tol, "tol", numbers.Real, min_val=0.0)
        if self.algorithm not in ("lloyd", "elkan"):
            raise ValueError(
                f"algorithm must be 'lloyd' or 'elkan' (both run Lloyd's iterations), "
                f"got {self.algorithm!r}."
            )
        init = self.init
        if isinstance(init, str):
            if init not in ("k-means++", "random"):
                raise ValueError(
                    f"init must be 'k-means++', 'random', a callable or an array of "
                    f"shape (n_clusters, n_features); got {init!r}."
                )
        elif not callable(init):
            arr = check_array(init, name="init")
            if arr.shape != (self.n_clusters, n_features):
                raise ValueError(
                    f"init has shape {arr.shape}, expected ({self.n_clusters}, "
                    f"{n_features}) = (n_clusters, n_features)."
                )
        if self.n_init == "auto":
            # scikit-learn: one run for k-means++ or given centers, ten otherwise
            # (random or a callable).
            n_init = 1 if (isinstance(init, str) and init == "k-means++") or (
                not isinstance(init, str) and not callable(init)) else 10
        else:
            check_scalar(self.n_init, "n_init", numbers.Integral, min_val=1)
            n_init = int(self.n_init)
        if not isinstance(init, str) and not callable(init) and n_init != 1:
            warnings.warn(
                f"Explicit initial center position passed: performing only one init "
                f"in KMeans instead of n_init={n_init}.",
                RuntimeWarning,
                stacklevel=3,
            )
            n_init = 1
        return n_init

    def _init_centers(self, X, sw, rng):
        k = self.n_clusters
        init = self.init
        if isinstance(init, str) and init == "k-means++":
            return _kmeans_plusplus(X, k, sw, rng, shift=self._fit_shift)[0]
        if isinstance(init, str) and init == "random":
            p = sw / sw.sum() if sw.shape[0] else None
            seeds = rng.choice(X.shape[0], size=k, replace=False, p=p)
            return X[seeds]
        if callable(init):
            centers = check_array(init(X, k, random_state=rng), name="init(...)", dtype=X.dtype)
            if centers.shape != (k, X.shape[1]):
                raise ValueError(
                    f"The init callable returned shape {centers.shape}, expected "
                    f"({k}, {X.shape[1]})."
                )
            return centers
        return check_array(init, name="init", dtype=X.dtype)

    def _run_lloyd(self, X, sw, shift, centers0, tol):
        centers = (centers0.astype(np.float64) - shift).astype(X.dtype)
        n = X.shape[0]
        labels = np.full(n, -1, dtype=np.int32)
        # With enough centers, Lloyd passes use Hamerly bounds once few labels
        # change: rows whose center cannot change are not searched (nor
        # read, unless the inertia is printed), and only rows that change
        # cluster update the running per-cluster sums.
        use_bounds = self.n_clusters >= BOUNDED_MIN_K
        bounds = np.zeros((n, 2), dtype=np.float32) if use_bounds else None
        # While many labels still change, the bounds prune too few rows to pay
        # for their bookkeeping: plain passes until fewer than
        # PLAIN_UNTIL_CHANGED of the rows change cluster in one. The plain
        # passes that may be the last (the previous one changed fewer than
        # twice that) also write the bounds for their centers, so that the
        # bounded passes follow directly.
        # float64 data are searched by bounded passes from the first one,
        # without the exact own-distance test while many labels change (the
        # plain float32-searched kernel then need not be compiled: 8 s of a
        # cold start)
        bounded = use_bounds and X.dtype == np.float64
        pending = False  # switch decided after a pass that wrote no bounds
        last_changed = n
        # running per-cluster sums and weights: a pass adds only the rows
        # that change cluster
        totals = None
        previous = None
        shift_x = shift.astype(X.dtype)
        norms = RowNorms()  # the rows' norms, once the first pass computed them
        it = 0
        wrote = False
        for it in range(self.max_iter):
            if bounded:
                sums, wts, inertia, changed, _ = assign_bounded(
                    X, sw, shift_x, centers, labels, bounds, previous, totals, True,
                    bool(self.verbose), last_changed < PLAIN_UNTIL_CHANGED * n)
            else:
                wrote = use_bounds and (
                    pending or last_changed < 2 * PLAIN_UNTIL_CHANGED * n)
                # the inertia of an update pass is only printed
                sums, wts, inertia, changed = assign(X, sw, shift_x, centers, labels, True,
                                                     bool(self.verbose), totals,
                                                     bounds if wrote else None, norms)
                if use_bounds and (pending or changed < PLAIN_UNTIL_CHANGED * n):
                    bounded = wrote  # bounded from the next pass on
                    pending = not wrote
            last_changed = changed
            totals = (sums, wts)
            previous = centers
            empty = np.flatnonzero(wts == 0)
            if empty.size:  # relocation edits copies: the totals follow the labels
                sums, wts = sums.copy(), wts.copy()
                self._relocate(X, sw, shift_x, centers, labels, sums, wts, empty)
            new = (sums / np.where(wts > 0, wts, 1.0)[:, None]).astype(X.dtype)
            new[wts == 0] = centers[wts == 0]
            center_shift_tot = float(((new.astype(np.float64) - centers) ** 2).sum())
            centers = new
            if self.verbose:
                print(f"Iteration {it}, inertia {inertia}.", file=sys.stdout)
            if changed == 0:
                if self.verbose:
                    print(f"Converged at iteration {it}: strict convergence.")
                break
            if center_shift_tot <= tol:
                if self.verbose:
                    print(f"Converged at iteration {it}: center shift "
                          f"{center_shift_tot} within tolerance {tol}.")
                break
        if bounded or wrote:  # bounds for ``previous`` from the last pass
            inertia = assign_bounded(X, sw, shift_x, centers, labels, bounds, previous, None,
                                     False)[2]
        else:
            inertia = assign(X, sw, shift_x, centers, labels, False, norms=norms)[2]
        return labels, float(inertia), centers, it + 1

    @staticmethod
    def _relocate(X, sw, shift_x, centers, labels, sums, wts, empty):
        """Move empty clusters to the farthest points (scikit-learn's rule).

        Only the sums move (the labels follow in the next pass), so bounds
        stay valid: the next pass counts the jump of the relocated center in
        its moves.
        """
        n_empty = empty.size
        with parallel_region(-(-X.shape[0] // 4096)):
            dist = K.far_points(X, shift_x, centers, labels, 4096)
        far = np.argpartition(dist, -n_empty)[: -n_empty - 1 : -1]
        for new_id, idx in zip(empty, far, strict=True):
            w = float(sw[idx]) if sw.shape[0] else 1.0
            x = X[idx].astype(np.float64) - shift_x
            old_id = labels[idx]
            sums[old_id] -= x * w
            wts[old_id] -= w
            sums[new_id] = x * w
            wts[new_id] = w

    def fit(self, X, y=None, sample_weight=None):
        """Compute k-means clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (not copied when it is a C-contiguous float array).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        with self._transaction():
            return self._fit(X, sample_weight)

    def _fit(self, X, sample_weight):
        # NaN/inf reach the column moments (a compiled pass needed anyway) and
        # make them non-finite: only then is X scanned for the message.
        X = validate_data(self, X, reset=True, force_all_finite=False)
        n, d = X.shape
        n_init = self._check_params(n, d)
        sw = check_sample_weight(sample_weight, n, dtype=X.dtype)
        sw = np.empty(0, dtype=X.dtype) if sw is None else sw
        mean, var = _checked_moments(X)
        # Rows are shifted by the mean so that the expanded distances keep
        # their precision far from the origin; data already near it (squared
        # mean norm within the total variance) need no shift, and the plain
        # pass then reads X without making a shifted copy of each chunk.
        if float(mean @ mean) <= float(var.sum()):
            mean = np.zeros_like(mean)
        self._fit_shift = mean
        tol = float(var.mean() * self.tol)
        rng = check_random_state(self.random_state)
        best = None
        for _ in range(n_init):
            centers0 = self._init_centers(X, sw, rng)
            if self.verbose:
                print("Initialization complete")
            labels, inertia, centers, n_iter = self._run_lloyd(X, sw, mean, centers0, tol)
            if best is None or (inertia < best[1]
                                and not _same_clustering(labels, best[0], self.n_clusters)):
                best = (labels, inertia, centers, n_iter)
        labels, inertia, centers, n_iter = best
        distinct = int(np.count_nonzero(np.bincount(labels, minlength=self.n_clusters)))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points in X.",
                convergence_warning(),
                stacklevel=2,
            )
        self.cluster_centers_ = (centers.astype(np.float64) + mean).astype(X.dtype)
        self._shift = mean
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        return self

    def _shifted_centers(self, dtype):
        shift = self._shift.astype(dtype)
        return shift, (self.cluster_centers_.astype(np.float64) - self._shift).astype(dtype)

    def predict(self, X) -> np.ndarray:
        """Index of the nearest center for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32
            Cluster indices.
        """
        X = validate_data(self, X, reset=False)
        shift, centers = self._shifted_centers(X.dtype)
        labels = np.full(X.shape[0], -1, dtype=np.int32)
        assign(X, np.empty(0, dtype=X.dtype), shift, centers, labels, False)
        return labels

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return the training labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster of each row.
        """
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X) -> np.ndarray:
        """Euclidean distance from every row to every center.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            Distances, in the dtype of ``X``.
        """
        out = self._sq_distances(validate_data(self, X, reset=False))
        np.sqrt(out, out=out)
        return out

    def _sq_distances(self, X: np.ndarray) -> np.ndarray:
        """Squared distances of validated rows to every center (compiled, chunked)."""
        shift, centers = self._shifted_centers(X.dtype)
        return sq_distances(X, shift, centers)

    def fit_transform(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return the distances of the training rows to the centers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            Distances to the centers.
        """
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Opposite of the inertia of ``X`` with respect to the fitted centers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        score : float
            ``-sum w * ||x - nearest center||^2``.
        """
        X = validate_data(self, X, reset=False)
        sw = check_sample_weight(sample_weight, X.shape[0], dtype=X.dtype)
        sw = np.empty(0, dtype=X.dtype) if sw is None else sw
        shift, centers = self._shifted_centers(X.dtype)
        labels = np.full(X.shape[0], -1, dtype=np.int32)
        _, _, inertia, _ = assign(X, sw, shift, centers, labels, False)
        return -float(inertia)


def _same_clustering(a: np.ndarray, b: np.ndarray, k: int) -> bool:
    """Whether two labelings are equal up to a permutation of the labels."""
    mapping = np.full(k, -1, dtype=np.int64)
    for x, y in zip(a[: min(a.size, 10_000)], b[: min(b.size, 10_000)], strict=True):
        if mapping[x] == -1:
            mapping[x] = y
        elif mapping[x] != y:
            return False
    return bool(np.all(mapping[a] == b))


#: ``8 d max|x|^2`` (times a rounding margin) must stay below the dtype's
#: largest value: the largest sum the nearest-center search forms.
_SEARCH_RANGE = 8.0 * (1.0 + 2.0 ** -10)


def _abs_max(X) -> float:
    """Largest |x| of X, without an |X| temporary."""
    return max(float(X.max()), -float(X.min()))


def _checked_moments(X):
    """Column means and variances of ``X``, validated as k-means needs them.

    ``X`` comes from validation without the finite check: NaN/inf reach the
    column moments (a compiled pass needed anyway) and make them
    non-finite, and only then is X scanned for the message. The search adds
    ``||x - s||^2 + ||c - s||^2`` and ``2 x.c``, each at most ``4 d
    max|x|^2`` (shifted values are at most ``2 max|x|``): ``8 d max|x|^2``
    (with a margin for rounding) must stay finite in X's dtype, or an
    overflowed distance could win. ``n (mean^2 + var)`` is a column's sum of
    squares, at least its largest square: a cheap screen before looking at
    ``max|x|``.

    Raises
    ------
    ValueError
        NaN or inf in ``X`` (naming the first), or values too large.
    """
    n, d = X.shape
    with np.errstate(over="ignore", invalid="ignore"):  # checked right below
        mean, var = mean_var(X)
    finite = bool(np.all(np.isfinite(mean)) and np.all(np.isfinite(var)))
    with np.errstate(over="ignore", invalid="ignore"):  # only sends to the exact test
        screen = d * float((n * (mean * mean + var)).max())
    _refuse_out_of_range(X, finite, screen)
    return mean, var


def _check_seeding_data(X, x_norms, shift) -> None:
    """Refuse NaN, inf or values too large, seen in the first seeding pass.

    ``x_norms`` holds ``||x - shift||^2`` of every row: non-finite exactly
    when a row holds NaN or inf, or its square overflows. Otherwise
    ``||shift|| + sqrt(max x_norms)`` bounds every ``|x|``, a screen for
    the same limit as :func:`_checked_moments` before looking at ``max|x|``.

    Raises
    ------
    ValueError
        NaN or inf in ``X`` (naming the first), or values too large.
    """
    with np.errstate(invalid="ignore"):
        top = float(np.max(x_norms))
    with np.errstate(over="ignore", invalid="ignore"):  # only sends to the exact test
        reach = float(np.sqrt(shift @ shift)) + float(np.sqrt(top))
        screen = X.shape[1] * reach * reach
    _refuse_out_of_range(X, bool(np.isfinite(top)), screen)


def _refuse_out_of_range(X, finite: bool, screen: float) -> None:
    """Raise for NaN/inf in ``X`` (when not ``finite``) or values too large.

    ``screen`` is an upper bound on ``d max|x|^2`` (meaningless when not
    ``finite``); only when it passes the search's limit is ``max|x|`` looked up.
    """
    if not finite:
        assert_finite(X, "X")  # raises, naming the first NaN/inf (if any)
        _too_large(X)
    limit = float(np.finfo(X.dtype).max) / _SEARCH_RANGE
    if not screen <= limit:
        big = _abs_max(X)
        if X.shape[1] * big * big > limit:
            _too_large(X)


def _too_large(X) -> None:
    """Raise the error for data whose squared distances (or their sums) overflow."""
    raise ValueError(
        f"X has values too large for k-means in {X.dtype}: squared distances or their "
        f"sums overflow (largest |x| is {_abs_max(X):.3g}). Scale the data "
        f"first (for example divide by its standard deviation)."
    )
