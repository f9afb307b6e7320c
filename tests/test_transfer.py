"""Transfer sets: MUNGE, per-cluster Gaussians, cluster-coverage and random selection.

Oracles: brute-force NumPy nearest neighbours and nearest rows; a plain
Python MUNGE that draws from the same generator functions in the same order;
invariants (p = 0 copies, swaps without noise permute each column, sample
moments of the Gaussian draws, coverage of separated blobs).
"""

from __future__ import annotations

import numpy as np
import pytest

import fastdistill
from fastdistill._kernels._random import bounded, next_double, normal_pair
from fastdistill.cluster import KMeans
from fastdistill.distill import MUNGE, GaussianClusters, KMeansSelection, RandomSelection
from fastdistill.distill import _transfer as T
from fastdistill.exceptions import ConvergenceWarning


def _brute_nn(X):
    X = X.astype(np.float64)
    D = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    return D.argmin(axis=1), D.min(axis=1)


def _naive_munge(X, nn, p, s, seeds, n_out):
    """MUNGE as in the paper, in plain Python, with the kernel's draws."""
    n, d = X.shape
    out = []
    for t, seed in enumerate(seeds):
        state = np.array([seed], dtype=np.uint64)
        buf = X.copy()
        for i in range(n):
            k = nn[i]
            for a in range(d):
                if next_double(state) < p:
                    ei, ek = float(buf[i, a]), float(buf[k, a])
                    sd = abs(ei - ek) / s
                    z1, z2 = normal_pair(state)
                    buf[i, a] = ek + sd * z1
                    buf[k, a] = ei + sd * z2
        m = min(n, n_out - t * n)
        if m < n:
            order = np.arange(n)
            for i in range(m):
                j = i + bounded(state, n - i)
                order[i], order[j] = order[j], order[i]
            buf = buf[np.sort(order[:m])]
        out.append(buf)
    return np.concatenate(out)


def _blobs(rng, sizes, d=2, spread=0.3):
    """Gaussian blobs on a grid of spacing 10 (far apart for the spread)."""
    grid = np.stack(np.meshgrid(*[np.arange(3)] * d, indexing="ij"), -1).reshape(-1, d)
    centers = 10.0 * grid[rng.permutation(len(grid))[: len(sizes)]]
    X = np.concatenate([c + spread * rng.normal(size=(m, d))
                        for c, m in zip(centers, sizes, strict=True)])
    y = np.repeat(np.arange(len(sizes)), sizes)
    return X, y


# ---------------------------------------------------------------- neighbours


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nearest_neighbors_match_brute_force(rng, dtype):
    # 700 rows: several query chunks (128) and candidate blocks (256), a partial last one.
    X = rng.normal(size=(700, 4)).astype(dtype)
    nn, sq = T.nearest_neighbors(X)
    ref, ref_sq = _brute_nn(X)
    assert nn.dtype == np.int64 and np.all(nn != np.arange(700))
    if dtype == np.float64:
        np.testing.assert_array_equal(nn, ref)
        np.testing.assert_allclose(sq, ref_sq, rtol=1e-9, atol=1e-12)
    else:  # near-ties may resolve differently in float32; the distance may not
        true = ((X[nn].astype(float) - X.astype(float)) ** 2).sum(1)
        np.testing.assert_allclose(true, ref_sq, rtol=1e-4, atol=1e-5)
        assert np.mean(nn == ref) > 0.99


def test_nearest_neighbors_duplicates_and_far_from_origin(rng):
    X = rng.normal(size=(50, 3)) + 1e4
    X = np.concatenate([X, X[:5]])  # rows 50..54 duplicate rows 0..4
    nn, sq = T.nearest_neighbors(X)
    np.testing.assert_array_equal(nn[:5], np.arange(50, 55))
    np.testing.assert_array_equal(nn[50:], np.arange(5))
    assert np.all(sq[:5] == 0.0)
    np.testing.assert_array_equal(nn[5:50], _brute_nn(X)[0][5:50])


def test_nearest_neighbors_in_cells_exact_when_probes_cover_all_cells(rng):
    X = rng.normal(size=(3000, 3))  # 3 cells of ~1024 rows, 5 probes: every cell searched
    nn, _ = T.nearest_neighbors(X, np.random.default_rng(0), exact_max=100)
    np.testing.assert_array_equal(nn, _brute_nn(X)[0])


def test_nearest_neighbors_in_cells_close_to_exact(rng, monkeypatch):
    monkeypatch.setattr(T, "CELL_ROWS", 100)  # 30 cells of about 100 rows
    X = rng.normal(size=(3000, 4))
    nn, sq = T.nearest_neighbors(X, np.random.default_rng(0), exact_max=100)
    ref, ref_sq = _brute_nn(X)
    assert np.all(nn >= 0) and np.all(nn != np.arange(3000))
    true = ((X[nn] - X) ** 2).sum(1)
    np.testing.assert_allclose(sq, true, rtol=1e-9, atol=1e-12)
    assert np.mean(nn == ref) > 0.85
    assert np.mean(np.sqrt(true / ref_sq)) < 1.05


def test_nearest_neighbors_threads_do_not_change_result(rng, monkeypatch):
    monkeypatch.setattr(T, "CELL_ROWS", 100)
    X = rng.normal(size=(1500, 3))
    with fastdistill.num_threads(1):
        a = T.nearest_neighbors(X, np.random.default_rng(1), exact_max=100)
        b = T.nearest_neighbors(X)
    c = T.nearest_neighbors(X, np.random.default_rng(1), exact_max=100)
    d = T.nearest_neighbors(X)
    np.testing.assert_array_equal(a[0], c[0])
    np.testing.assert_array_equal(b[0], d[0])
    np.testing.assert_array_equal(b[1], d[1])


# --------------------------------------------------------------------- MUNGE


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_samples", [40, 100])  # one full pass; two full and a partial one
def test_munge_matches_naive_reference(rng, dtype, n_samples):
    X = rng.normal(size=(40, 3)).astype(dtype)
    out = MUNGE(n_samples=n_samples, p=0.6, s=2.0, include_original=False,
                random_state=7).sample(X)
    gen = np.random.default_rng(7)  # the estimator's draws: one seed per pass
    seeds = gen.integers(1, 2**63 - 1, size=-(-n_samples // 40), dtype=np.uint64)
    ref = _naive_munge(X, _brute_nn(X)[0], 0.6, 2.0, seeds, n_samples)
    assert out.dtype == dtype and out.shape == (n_samples, 3)
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    np.testing.assert_allclose(out, ref, **tol)
    assert not np.allclose(out, np.tile(X, (3, 1))[:n_samples])


def test_munge_p_zero_returns_copies(rng):
    X = rng.normal(size=(30, 4))
    out = MUNGE(n_samples=75, p=0.0, include_original=True, random_state=0).sample(X)
    np.testing.assert_array_equal(out[:30], X)
    np.testing.assert_array_equal(out[30:60], X)
    np.testing.assert_array_equal(out[60:90], X)
    # the partial pass keeps 15 distinct original rows, in order
    pos = [int(np.flatnonzero((X == r).all(1))[0]) for r in out[90:]]
    assert len(set(pos)) == 15 and pos == sorted(pos)


@pytest.mark.parametrize("p", [0.3, 1.0])
def test_munge_large_s_permutes_each_column(rng, p):
    # Without noise a swap exchanges two values of a column, so every column of
    # a pass is a permutation of the original column.
    X = rng.normal(size=(60, 3))
    out = MUNGE(n_samples=120, p=p, s=1e12, include_original=False, random_state=3).sample(X)
    for t in range(2):
        block = out[60 * t : 60 * (t + 1)]
        np.testing.assert_allclose(np.sort(block, axis=0), np.sort(X, axis=0), rtol=1e-9)
        changed = np.mean(block != X)
        assert (changed > 0.15) if p == 0.3 else (changed > 0.5)


def test_munge_p_one_row_takes_its_neighbours_neighbourhood(rng):
    # A row that is nobody's neighbour, whose neighbour is processed after it
    # and is nobody else's neighbour before it, keeps the values of its own
    # swap: with p = 1 every attribute is Normal(neighbour's value,
    # |difference| / s).
    X = rng.normal(size=(200, 5))
    nn = _brute_nn(X)[0]
    r = next(i for i in range(200)
             if i not in nn and nn[i] > i and nn[i] not in nn[:i])
    k = nn[r]
    s = 4.0
    outs = np.stack([MUNGE(p=1.0, s=s, include_original=False, random_state=seed).sample(X)[r]
                     for seed in range(300)])
    z = (outs - X[k]) / (np.abs(X[r] - X[k]) / s)
    assert np.all(np.abs(z) < 6)
    np.testing.assert_allclose(z.mean(0), 0.0, atol=0.25)
    np.testing.assert_allclose(z.std(0), 1.0, atol=0.15)


def test_munge_preserves_marginals_roughly(rng):
    X = rng.normal(size=(2000, 3)) * [1.0, 3.0, 0.5] + [0.0, 5.0, -2.0]
    out = MUNGE(n_samples=6000, include_original=False, random_state=0).sample(X)
    np.testing.assert_allclose(out.mean(0), X.mean(0), atol=0.1)
    np.testing.assert_allclose(out.std(0), X.std(0), rtol=0.1)


def test_munge_reproducible_threads_dtype_input_untouched(rng):
    X = rng.normal(size=(80, 3)).astype(np.float32)
    X.setflags(write=False)
    before = X.copy()
    a = MUNGE(n_samples=250, random_state=5).sample(X)
    with fastdistill.num_threads(1):
        b = MUNGE(n_samples=250, random_state=5).sample(X)
    c = MUNGE(n_samples=250, random_state=6).sample(X)
    assert a.dtype == np.float32 and a.shape == (330, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(a[:80], X)


def test_munge_bad_parameters(rng):
    X = rng.normal(size=(10, 2))
    for kwargs, match in [({"p": -0.1}, "p == -0.1"), ({"p": 1.5}, "p == 1.5"),
                          ({"s": 0.0}, "s == 0.0"), ({"s": -1.0}, "s == -1.0"),
                          ({"n_samples": 0}, "n_samples == 0")]:
        with pytest.raises(ValueError, match=match):
            MUNGE(**kwargs).sample(X)
    with pytest.raises(TypeError, match="include_original"):
        MUNGE(include_original="yes").sample(X)
    with pytest.raises(ValueError, match="at least 2 rows"):
        MUNGE().sample(X[:1])
    with pytest.raises(ValueError, match="NaN"):
        MUNGE().sample(np.where(np.eye(10, 2) > 0, np.nan, X))


# ------------------------------------------------------------ GaussianClusters


def test_gaussian_clusters_moments_and_counts(rng):
    X, _ = _blobs(rng, [300, 200, 100], d=3)
    m0 = X[:300].mean(0)  # blob 0 correlated, in place
    X[:300] = m0 + (X[:300] - m0) @ np.array([[1.0, 0.8, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.2]])
    g = GaussianClusters(n_samples=30_000, n_clusters=3, random_state=11)
    out = g.sample(X)
    assert out.shape == (30_600, 3)
    np.testing.assert_array_equal(out[:600], X)
    # the same clustering, from the same generator
    labels = KMeans(n_clusters=3, random_state=np.random.default_rng(11)).fit(X).labels_
    sizes = np.bincount(labels, minlength=3)
    assert g.counts_.sum() == 30_000
    assert np.all(np.abs(g.counts_ - 30_000 * sizes / 600) < 1)
    start = 600
    var_all = X.var(0)
    for c in range(3):
        rows = X[labels == c]
        cov = np.cov(rows, rowvar=False) + np.diag(1e-6 * var_all)
        np.testing.assert_allclose(g.means_[c], rows.mean(0), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(g.covariances_[c], cov, rtol=1e-6, atol=1e-9)
        draw = out[start : start + g.counts_[c]]
        start += g.counts_[c]
        se = np.sqrt(np.diag(cov) / len(draw))
        assert np.all(np.abs(draw.mean(0) - rows.mean(0)) < 5 * se)
        scale = np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
        assert np.all(np.abs(np.cov(draw, rowvar=False) - cov) < 0.08 * scale)


def test_gaussian_clusters_diag(rng):
    X, _ = _blobs(rng, [400, 400], d=2)
    m0 = X[:400].mean(0)  # blob 0 strongly correlated, in place
    X[:400, 1] = m0[1] + 2 * (X[:400, 0] - m0[0]) + 0.01 * rng.normal(size=400)
    g = GaussianClusters(n_samples=20_000, n_clusters=2, covariance="diag", random_state=0)
    out = g.sample(X)[800:]
    labels = KMeans(n_clusters=2, random_state=np.random.default_rng(0)).fit(X).labels_
    assert g.covariances_.shape == (2, 2)
    start = 0
    for c in range(2):
        rows = X[labels == c]
        np.testing.assert_allclose(g.covariances_[c], rows.var(0, ddof=1) + 1e-6 * X.var(0),
                                   rtol=1e-9)
        draw = out[start : start + g.counts_[c]]
        start += g.counts_[c]
        np.testing.assert_allclose(draw.var(0, ddof=1), g.covariances_[c], rtol=0.08)
        assert abs(np.corrcoef(draw, rowvar=False)[0, 1]) < 0.05  # no correlation drawn


def test_gaussian_clusters_singular_and_single_row_clusters(rng):
    X = np.concatenate([rng.normal(size=(50, 3)), [[100.0, 100.0, 100.0]]])
    X[:, 2] = 7.0  # a constant feature: a singular covariance everywhere
    g = GaussianClusters(n_samples=500, n_clusters=2, random_state=0)
    out = g.sample(X)[51:]
    assert np.all(np.isfinite(out))
    assert np.all(out[:, 2] == 7.0)  # constant over X, constant in the draws
    lone = int(np.argmin(g.counts_))
    assert g.counts_[lone] == 10  # 1/51 of 500, rounded
    far = out[np.abs(out[:, 0] - 100.0) < 1.0]
    assert len(far) == 10
    # ridge-sized spread only: sd = sqrt(1e-6 * var over X) ~ 0.014
    assert np.abs(far[:, :2] - 100.0).max() < 0.1 and far[:, :2].std() > 0


def test_gaussian_clusters_reproducible_dtype_untouched(rng):
    X = rng.normal(size=(120, 3)).astype(np.float32)
    before = X.copy()
    a = GaussianClusters(n_samples=300, n_clusters=4, include_original=False,
                         random_state=2).sample(X)
    b = GaussianClusters(n_samples=300, n_clusters=4, include_original=False,
                         random_state=2).sample(X)
    assert a.dtype == np.float32 and a.shape == (300, 3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, before)
    assert GaussianClusters(n_clusters=4, random_state=0).sample(X).shape == (240, 3)


def test_gaussian_clusters_bad_parameters(rng):
    X = rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match="n_clusters=11 exceeds the 10 rows"):
        GaussianClusters(n_clusters=11).sample(X)
    with pytest.raises(ValueError, match="covariance must be one of"):
        GaussianClusters(n_clusters=2, covariance="spherical").sample(X)
    with pytest.raises(ValueError, match="n_clusters == 0"):
        GaussianClusters(n_clusters=0).sample(X)
    with pytest.raises(ValueError, match="n_samples == -5"):
        GaussianClusters(n_samples=-5, n_clusters=2).sample(X)


# ----------------------------------------------------------------- selection


def test_nearest_rows_kernel_matches_numpy(rng):
    X = rng.normal(size=(5000, 3))  # several chunks and slots
    centers = rng.normal(size=(7, 3))
    rows = T.nearest_distinct_rows(X, centers)
    D = ((X[:, None, :] - centers[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(rows, D.argmin(0))


def test_nearest_distinct_rows_resolves_shared_rows():
    X = np.array([[0.0], [1.0], [1.1], [5.0]])
    # both first centers are nearest to row 2; the nearer keeps it
    rows = T.nearest_distinct_rows(X, np.array([[1.06], [1.08], [4.0]]))
    np.testing.assert_array_equal(rows, [1, 2, 3])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kmeans_selection_rows_nearest_to_centroids(rng, dtype):
    X = rng.normal(size=(400, 3)).astype(dtype)
    sel = KMeansSelection(25, random_state=0)
    idx = sel.select(X)
    assert idx.dtype == np.int64 and len(np.unique(idx)) == 25
    np.testing.assert_array_equal(idx, np.sort(idx))
    C = sel.cluster_centers_.astype(np.float64)
    D = ((X.astype(np.float64)[:, None, :] - C[None]) ** 2).sum(-1)
    nearest = D.argmin(0)
    assert len(np.unique(nearest)) == 25  # no shared rows here
    np.testing.assert_array_equal(np.sort(nearest), idx)
    # weights: the size of the cluster each chosen row stands for
    labels = D.argmin(1)
    sizes = np.bincount(labels, minlength=25)
    order = np.argsort(nearest)
    np.testing.assert_array_equal(sel.weights_, sizes[order])
    assert sel.weights_.sum() == 400
    out = sel.sample(X)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, X[idx])


def test_selection_covers_separated_blobs_random_does_not(rng):
    # one big blob and seven small ones: 8 queries by cluster coverage reach
    # every blob; 8 random rows miss some of the small ones.
    X, blob = _blobs(rng, [720] + [40] * 7)
    misses_random = 0
    for seed in range(8):
        assert len(np.unique(blob[KMeansSelection(8, random_state=seed).select(X)])) == 8
        assert len(np.unique(blob[KMeansSelection(12, random_state=seed).select(X)])) == 8
        misses_random += len(np.unique(blob[RandomSelection(8, random_state=seed).select(X)])) < 8
    assert misses_random >= 7


@pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")
def test_kmeans_selection_distinct_rows_with_duplicates(rng):
    X = np.repeat(rng.normal(size=(20, 2)), 5, axis=0)  # 20 distinct points, 100 rows
    idx = KMeansSelection(30, random_state=0).select(X)
    assert len(np.unique(idx)) == 30 and idx.min() >= 0 and idx.max() < 100


def test_selection_all_rows_when_budget_covers_them(rng):
    X = rng.normal(size=(20, 2))
    for cls in (KMeansSelection, RandomSelection):
        sel = cls(20)
        np.testing.assert_array_equal(sel.select(X), np.arange(20))
        np.testing.assert_array_equal(sel.weights_, np.ones(20))
        out = cls(50).sample(X)
        np.testing.assert_array_equal(out, X)
        assert out is not X


def test_random_selection(rng):
    X = rng.normal(size=(100, 2)).astype(np.float32)
    sel = RandomSelection(10, random_state=4)
    idx = sel.select(X)
    assert idx.dtype == np.int64 and len(np.unique(idx)) == 10
    np.testing.assert_array_equal(idx, np.sort(idx))
    np.testing.assert_array_equal(idx, RandomSelection(10, random_state=4).select(X))
    assert not np.array_equal(idx, RandomSelection(10, random_state=5).select(X))
    np.testing.assert_array_equal(sel.weights_, np.full(10, 10.0))
    assert sel.sample(X).dtype == np.float32
    # uniform: every row about equally often over many draws
    counts = np.bincount(np.concatenate([RandomSelection(10, random_state=s).select(X)
                                         for s in range(400)]), minlength=100)
    assert counts.min() > 20 and counts.max() < 65  # mean 40


def test_kmeans_selection_reproducible_input_untouched(rng):
    X = rng.normal(size=(300, 3))
    X.setflags(write=False)
    a = KMeansSelection(30, random_state=3).select(X)
    with fastdistill.num_threads(1):
        b = KMeansSelection(30, random_state=3).select(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", [KMeansSelection, RandomSelection])
def test_selection_bad_parameters(rng, cls):
    X = rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match="n_queries == 0"):
        cls(0).select(X)
    with pytest.raises(TypeError, match="n_queries must be of type int"):
        cls(2.5).select(X)
    with pytest.raises(ValueError, match="2-D|2D|reshape"):
        cls(2).select(np.arange(10.0))


def test_builders_are_estimators():
    m = MUNGE(n_samples=5, p=0.2)
    assert repr(m) == "MUNGE(n_samples=5, p=0.2)"
    assert m.get_params()["s"] == 1.0
    assert KMeansSelection(7).set_params(n_queries=9).n_queries == 9
    assert fastdistill.MUNGE is MUNGE and fastdistill.GaussianClusters is GaussianClusters
    assert fastdistill.KMeansSelection is KMeansSelection
    assert fastdistill.RandomSelection is RandomSelection
    assert issubclass(ConvergenceWarning, Warning)
