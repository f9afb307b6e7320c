"""KMeans against scikit-learn's Lloyd and naive references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastdistill
from fastdistill.cluster import KMeans, kmeans_plusplus
from fastdistill.exceptions import ConvergenceWarning

sk_cluster = pytest.importorskip("sklearn.cluster")
sk_datasets = pytest.importorskip("sklearn.datasets")


def _blobs(n=3000, d=6, k=8, seed=0, dtype=np.float64, offset=0.0):
    X, _ = sk_datasets.make_blobs(n, d, centers=k, random_state=seed, cluster_std=1.5)
    return (X + offset).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("max_iter", [1, 2, 3, 7, 50])
def test_lloyd_matches_sklearn_iteration_by_iteration(dtype, max_iter):
    X = _blobs(dtype=dtype, offset=100.0)
    init = X[::400][:8].copy()
    ours = KMeans(8, init=init, max_iter=max_iter, tol=0).fit(X)
    ref = sk_cluster.KMeans(8, init=init, max_iter=max_iter, tol=0, n_init=1).fit(X)
    agree = (ours.labels_ == ref.labels_).mean()
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert agree >= (0.999 if dtype == np.float32 else 1.0)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=rtol, atol=rtol)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=rtol)
    assert ours.n_iter_ == ref.n_iter_
    assert ours.cluster_centers_.dtype == dtype


def test_sample_weight_matches_sklearn(rng):
    X = _blobs()
    w = rng.uniform(0.1, 3.0, size=len(X))
    init = X[:8].copy()
    ours = KMeans(8, init=init, max_iter=10).fit(X, sample_weight=w)
    ref = sk_cluster.KMeans(8, init=init, max_iter=10, n_init=1).fit(X, sample_weight=w)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-10)


def test_empty_cluster_is_relocated_like_sklearn():
    X = _blobs(n=500, k=3)
    init = np.vstack([X[:3], np.full((1, X.shape[1]), 1e4)])  # 4th center attracts nothing
    ours = KMeans(4, init=init, max_iter=1).fit(X)
    ref = sk_cluster.KMeans(4, init=init, max_iter=1, n_init=1).fit(X)
    assert np.all(np.isfinite(ours.cluster_centers_))
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-10)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)


@pytest.mark.parametrize("seed", range(4))
def test_kmeans_plusplus_inertia_close_to_sklearn(seed):
    X, _ = sk_datasets.make_blobs(4000, 5, centers=12, random_state=seed, cluster_std=1.0,
                                  center_box=(-40, 40))
    # each seed: ours within 1 % of scikit-learn's with the same seed number
    # (the random streams differ, so the clusterings are equal in distribution)
    for s in range(3):
        ours = KMeans(12, random_state=s).fit(X).inertia_
        ref = sk_cluster.KMeans(12, random_state=s).fit(X).inertia_
        assert ours == pytest.approx(ref, rel=0.01), s


def test_tol_stops_like_sklearn():
    # A non-zero tol (relative to the data's mean variance, as scikit-learn
    # defines it) stops the run at the same iteration as scikit-learn's from
    # the same initial centers, with the same clustering.
    X, _ = sk_datasets.make_blobs(3000, 4, centers=6, cluster_std=3.0, random_state=1)
    init = X[:6].copy()
    for tol in (1e-2, 1e-4):
        ours = KMeans(6, init=init, n_init=1, tol=tol).fit(X)
        ref = sk_cluster.KMeans(6, init=init, n_init=1, tol=tol).fit(X)
        assert 1 < ours.n_iter_ == ref.n_iter_ < 300, (tol, ours.n_iter_, ref.n_iter_)
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-10)


def test_kmeans_plusplus_function(rng):
    X = _blobs(n=1000, k=5)
    centers, idx = kmeans_plusplus(X, 5, random_state=3)
    np.testing.assert_array_equal(centers, X[idx])
    assert len(set(idx.tolist())) == 5
    again, idx2 = kmeans_plusplus(X, 5, random_state=3)
    np.testing.assert_array_equal(idx, idx2)
    # One seed per well separated blob.
    labels = KMeans(5, random_state=0).fit(X).predict(centers)
    assert len(set(labels.tolist())) == 5


def test_predict_transform_score_against_naive(rng):
    X = _blobs(n=800)
    km = KMeans(8, random_state=0, n_init=2).fit(X)
    Xt = rng.normal(size=(50, X.shape[1])) * 5
    D = np.sqrt(((Xt[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1))
    np.testing.assert_allclose(km.transform(Xt), D, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(km.predict(Xt), D.argmin(1))
    assert km.score(Xt) == pytest.approx(-(D.min(1) ** 2).sum(), rel=1e-10)
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    assert km.fit_predict(X).shape == (len(X),)
    assert km.fit_transform(X).shape == (len(X), 8)


def test_reproducible_and_thread_independent():
    X = _blobs(n=5000, d=4, k=6)
    a = KMeans(6, random_state=11, n_init=3).fit(X)
    with fastdistill.num_threads(1):
        b = KMeans(6, random_state=11, n_init=3).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_


def test_random_init_and_n_init():
    X = _blobs(n=2000, k=4)
    km = KMeans(4, init="random", random_state=0).fit(X)
    ref = sk_cluster.KMeans(4, init="random", random_state=0).fit(X)
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=0.01)
    calls = []

    def my_init(X, k, random_state):
        calls.append(k)
        return X[:k]

    KMeans(4, init=my_init, n_init=2).fit(X)
    assert calls == [4, 4]
    calls.clear()
    KMeans(4, init=my_init).fit(X)  # "auto": ten runs for a callable, as scikit-learn
    assert len(calls) == 10


def test_input_not_modified_and_read_only_ok():
    X = _blobs(n=600)
    X.setflags(write=False)
    Xc = X.copy()
    KMeans(5, random_state=0).fit(X).transform(X)
    np.testing.assert_array_equal(X, Xc)


def test_duplicate_points_many_clusters():
    """Exact ties (duplicate rows and centers) with the vector search and bounds."""
    X = np.repeat(_blobs(n=100, d=3, k=5), 3, axis=0)
    init = np.vstack([X[:90:3], X[:90:3], X[-30:-20]])  # 30 centers twice
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        km = KMeans(70, init=init, max_iter=5, tol=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns the same
        ref = sk_cluster.KMeans(70, init=init, max_iter=5, tol=0, n_init=1).fit(X)
    assert np.unique(km.labels_).size == np.unique(ref.labels_).size
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-9, abs=1e-9)
    d = ((X[:, None] - km.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_allclose(d[np.arange(len(X)), km.labels_], d.min(1), atol=1e-9)


def test_duplicate_points_warn_fewer_clusters():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 20, axis=0)
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        km = KMeans(3, random_state=0).fit(X)
    assert np.all(np.isfinite(km.cluster_centers_))
    assert km.inertia_ == pytest.approx(0.0, abs=1e-12)


def test_constant_data():
    X = np.full((30, 3), 2.5)
    with pytest.warns(ConvergenceWarning):
        km = KMeans(2, random_state=0).fit(X)
    np.testing.assert_allclose(km.cluster_centers_, 2.5)


@pytest.mark.parametrize(
    "params,match",
    [
        ({"n_clusters": 0}, "n_clusters"),
        ({"n_clusters": 50}, "n_samples=40 should be >= n_clusters=50"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1.0}, "tol"),
        ({"init": "best"}, "init must be"),
        ({"init": np.zeros((3, 2))}, "init has shape"),
        ({"n_init": 0}, "n_init"),
        ({"algorithm": "hamerly"}, "'lloyd' or 'elkan'"),
    ],
)
def test_bad_params(params, match):
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match=match):
        KMeans(**{"n_clusters": 3, **params}).fit(X)


def test_elkan_matches_sklearn_elkan():
    # scikit-learn accepts algorithm="elkan", an exact acceleration of
    # Lloyd's iterations: from the same initial centers, scikit-learn's Elkan
    # run and ours (Lloyd passes with Hamerly bounds) give the same clustering.
    from sklearn.cluster import KMeans as SkKMeans

    X = np.random.default_rng(0).normal(size=(300, 3))
    ours = KMeans(40, init=X[:40], n_init=1, algorithm="elkan").fit(X)
    ref = SkKMeans(40, init=X[:40], n_init=1, algorithm="elkan").fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-10,
                               atol=1e-12)
    assert ours.n_iter_ == ref.n_iter_


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match="NaN"):
        KMeans(3).fit(np.where(X > 1, np.nan, X))
    with pytest.raises(ValueError, match=r"infinity at position \[5, 1\]"):
        bad = X.copy()
        bad[5, 1] = -np.inf
        KMeans(3).fit(bad)
    huge = X.copy()
    huge[4, 0] = 1e300  # finite, but its square overflows
    with pytest.raises(ValueError, match="too large for k-means"):
        KMeans(3).fit(huge)
    # float32: the moments (float64) stay finite, the float32 squares do not.
    with pytest.raises(ValueError, match="too large for k-means in float32"):
        KMeans(3).fit((X * 1e20).astype(np.float32))
    KMeans(3, random_state=0).fit((X * 1e17).astype(np.float32))  # fine: no overflow
    km = KMeans(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="3 features"):
        km.predict(X[:, :2])
    # The seeding function checks the data the same way (through the moments),
    # leaving it untouched.
    bad = X.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN at position \[7, 2\]"):
        kmeans_plusplus(bad, 3, random_state=0)
    assert np.isnan(bad[7, 2]) and np.array_equal(bad[:7], X[:7])
    with pytest.raises(ValueError, match="too large for k-means"):
        kmeans_plusplus(huge, 3, random_state=0)
    with pytest.raises(ValueError, match=r"infinity at position \[5, 1\]"):
        bad = X.copy()
        bad[5, 1] = np.inf
        kmeans_plusplus(bad, 3, random_state=0)
    # Every row infinite (so is the first center) or huge and equal: still
    # the error, with no floating-point warning first (warnings are errors here).
    with pytest.raises(ValueError, match=r"infinity at position \[0, 0\]"):
        kmeans_plusplus(np.full((10, 3), np.inf), 2, random_state=0)
    with pytest.raises(ValueError, match="too large for k-means"):
        kmeans_plusplus(np.full((10, 3), 1e200), 2, random_state=0)
    with pytest.raises(ValueError, match="too large for k-means in float32"):
        kmeans_plusplus((X * 1e20).astype(np.float32), 3, random_state=0)
    kmeans_plusplus((X * 1e17).astype(np.float32), 3, random_state=0)  # fine: no overflow



@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [16, 40, 64])
def test_data_near_the_overflow_limit_is_labelled_or_refused(dtype, k):
    # The search forms ||x - s||^2 + ||c - s||^2 and 2 x.c, up to 8 d max|x|^2.
    # Just inside that limit every row gets the nearest center; just above
    # it the fit is refused (an overflowed sum gave a far center distance 0).
    rng = np.random.default_rng(0)
    top = float(np.finfo(dtype).max)
    for scale, ok in ((0.97, True), (1.3, False)):
        M = np.sqrt(top / (8 * 2)) * scale
        X = np.vstack([-M * (1 - 0.01 * rng.random((3000, 2))), [[M, -0.4 * M]],
                       [[M, M]]]).astype(dtype)
        init = np.vstack([X[[-2, -1]], X[rng.choice(3000, k - 2, replace=False)]])
        km = KMeans(k, init=init, n_init=1, max_iter=1, tol=0)
        if not ok:
            with pytest.raises(ValueError, match="too large for k-means"):
                km.fit(X)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate centers, empty clusters
            km.fit(X)
        Xs = X.astype(np.float64) / M  # exact distances, scaled into range
        C = init.astype(np.float64) / M
        D = ((Xs[-2:, None] - C[None]) ** 2).sum(-1)
        assert km.labels_[-1] == 1 and km.labels_[-2] == 0
        np.testing.assert_array_equal(km.labels_[-2:], D.argmin(1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [8, 40])
def test_predict_refuses_rows_beyond_the_search_range(dtype, k):
    # New rows whose squared norm exceeds half the dtype's largest value
    # would overflow the search's sums: predict and score say so instead of
    # returning an arbitrary label (k = 40, float64: the float32 search).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3)).astype(dtype)
    km = KMeans(k, random_state=0).fit(X)
    far = X[:5].copy()
    far[2] = np.sqrt(float(np.finfo(dtype).max) / 3)  # squared norm: the largest value
    for method in (km.predict, km.score):
        with pytest.raises(ValueError, match="1 row.* too large for the nearest-center"):
            method(far)
    out = X[:50] * dtype(1e6)  # far from the data, but in range: exact labels
    D = ((out.astype(np.float64)[:, None] - km.cluster_centers_[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(km.predict(out), D.argmin(1))

# ------------------------------------------------------------------ kernels

from fastdistill._jit import jit  # noqa: E402
from fastdistill._kernels import cluster as K  # noqa: E402
from fastdistill._kernels._intrinsics import nearest_two, nearest_two_rows  # noqa: E402
from fastdistill.cluster import _kmeans  # noqa: E402
from fastdistill.cluster._assign import (  # noqa: E402
    RowNorms,
    _search_layout,
    assign,
    assign_bounded,
)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 2, 5, 15, 16, 17, 31, 33, 47, 64, 65, 200])
def test_nearest_search_against_numpy(dtype, k, rng):
    """Compare loop (k < 16) and one-sweep vector search (k >= 16) agree with NumPy.

    The vector search also returns the smallest distance and the second
    smallest over every other center; k covers no whole vector, one, two
    and several, with and without a remainder.
    """
    vector = k >= K.VECTOR_SEARCH_MIN_K
    for trial in range(40):
        row = rng.normal(size=k).astype(dtype)
        c_norms = rng.uniform(0, 3, size=k).astype(dtype)
        xn = dtype(rng.uniform(2, 4))
        if trial % 4 == 0 and k > 3:  # exact ties, first index wins
            row[k // 2] = row[1]
            c_norms[k // 2] = c_norms[1]
        if trial % 4 == 1 and k > 3:  # rounded distances below zero
            c_norms[2] = 2 * row[2] - xn - dtype(1e-3)
            c_norms[3] = 2 * row[3] - xn - dtype(2e-3)
        if trial % 4 == 2 and k > 3:  # the smallest value in the last center
            c_norms[-1] = -3.0 * abs(row).max()
        # The vector search ranks squared distances clipped at zero (the
        # first of several zeros wins); the compare loop ranks ||c||^2 - 2 x.c.
        d = np.maximum(xn + c_norms - (row + row), 0)
        ranked = d if vector else c_norms.astype(np.float64) - 2.0 * row
        best = K._nearest(row, c_norms, xn)
        assert best == int(np.argmin(ranked))
        b2, v1, v2 = _nearest_two(row, c_norms, xn)
        assert b2 == int(np.argmin(d)) and v1 == d.min()
        assert v2 == (np.delete(d, b2).min() if k > 1 else np.inf)
        assert [K._clipped(row, c_norms, xn, c) for c in range(k)] == list(d)


@jit(cache=False)
def _nearest_two(row, c_norms, xn):
    return nearest_two(row, c_norms, xn)


@jit(cache=False)
def _nearest_two_rows(xs, xn, cT, cn):
    nb = xs.shape[0]
    out = (np.full(nb, -1, dtype=np.int64), np.full(nb, np.nan), np.full(nb, np.nan))
    nearest_two_rows(xs, xn, cT, cn, out[0], out[1], out[2])
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 2, 7, 16, 17, 32, 40, 200])
@pytest.mark.parametrize("d", [1, 3, 32])
def test_nearest_two_rows_equals_products_then_nearest_two(dtype, k, d, rng):
    """The register-blocked search equals NumPy's products then :func:`nearest_two`.

    Small integers make every product and sum exact in any order, so the
    two agree to the bit, exact ties (first index) included: with the
    centers padded to whole vectors (norms ``inf``) as the bounded pass
    pads them, and unpadded (the last centers one by one); 1 to 9 rows
    (blocks of four rows with a partial last block).
    """
    C = rng.integers(-3, 4, size=(k, d)).astype(dtype)
    C[k // 2] = C[0]  # an exact tie between two centers
    cn = (C * C).sum(1)
    for nb in (1, 3, 4, 9):
        xs = rng.integers(-4, 5, size=(nb, d)).astype(dtype)
        xs[0] = C[0]  # a distance of exactly zero, tied
        xn = (xs * xs).sum(1)
        P = xs @ C.T
        want = [_nearest_two(np.ascontiguousarray(P[r]), cn, xn[r]) for r in range(nb)]
        cT_pad, cn_pad = _search_layout(C, cn, dtype)
        assert cT_pad.shape[1] % (64 // np.dtype(dtype).itemsize) == 0
        for cT, norms in ((cT_pad, cn_pad), (np.ascontiguousarray(C.T), cn)):
            got = _nearest_two_rows(xs, xn, cT, norms)
            assert got[0].tolist() == [w[0] for w in want]
            assert got[1].tolist() == [float(w[1]) for w in want]
            assert got[2].tolist() == [float(w[2]) for w in want]


def _moves(X, k, seed):
    """A sequence of shifted centers like Lloyd's: rows, then cluster means."""
    rng = np.random.default_rng(seed)
    shift = X.mean(0)
    C = X[rng.choice(len(X), k, replace=False)] - shift
    out = [C.astype(X.dtype)]
    for _ in range(5):
        Xs = X - shift
        lab = (-2 * Xs @ C.T + (C * C).sum(1)).argmin(1)
        C = np.array([Xs[lab == c].mean(0) if np.any(lab == c) else C[c] for c in range(k)])
        out.append(C.astype(X.dtype))
    return shift.astype(X.dtype), out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [40, 70])
@pytest.mark.parametrize("weighted", [False, True])
def test_bounded_pass_equals_plain_pass(dtype, k, weighted, rng):
    # The bounded pass returns running totals updated by the rows that change
    # cluster only; they must equal the plain pass's full sums, its labels
    # and (when asked for the exact inertia) its inertia.
    X = _blobs(n=2500, d=5, k=6, dtype=dtype, offset=50.0)
    sw = rng.uniform(0.5, 2.0, len(X)).astype(dtype) if weighted else np.empty(0, dtype)
    shift, seq = _moves(X, k, seed=k)
    lab_p = np.full(len(X), -1, np.int32)
    lab_b = lab_p.copy()
    bounds = np.zeros((len(X), 2), np.float32)
    previous = totals = None
    searched = []
    for it, C in enumerate(seq):
        exact = it % 2 == 1
        sb, wb, nb = _bounded_pass_as_plain(X, sw, shift, C, lab_p, lab_b, bounds, previous,
                                            totals, exact)
        totals = (sb, wb)
        previous = C.astype(np.float64)
        searched.append(nb)
    assert searched[0] == len(X)  # first pass: every row searched
    assert min(searched[1:]) < 0.6 * len(X)  # the bounds do skip rows
    # A final labelling pass (no sums) from the last bounds: same labels, inertia.
    C = seq[-1] + np.asarray(0.01, dtype)
    _, _, ip, cp = assign(X, sw, shift, C, lab_p, False)
    _, _, ib_, cb, _ = assign_bounded(X, sw, shift, C, lab_b, bounds, previous, None, False)
    np.testing.assert_array_equal(lab_b, lab_p)
    assert cb == cp and ib_ == pytest.approx(ip, rel=1e-9)
    _assert_bounds_hold(X, shift, C, lab_b, bounds)


_NO_BOUNDS = np.empty((0, 2), np.float32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [40, 70])
@pytest.mark.parametrize("exact", [False, True])
def test_plain_pass_writes_bounds_that_bounded_passes_continue(dtype, k, exact, rng):
    # A plain pass asked for the bounds (float64: the float32 search verified
    # in float64) leaves valid Hamerly bounds for its labels, from the
    # searched distances or (exact inertia) the exact own distance; bounded
    # passes then continue from them with the plain passes' labels and sums.
    X = _blobs(n=2500, d=5, k=6, dtype=dtype, offset=50.0)
    sw = rng.uniform(0.5, 2.0, len(X)).astype(dtype)
    shift, seq = _moves(X, k, seed=k + 1)
    lab_p = np.full(len(X), -1, np.int32)
    lab_b = lab_p.copy()
    bounds = np.full((len(X), 2), np.nan, np.float32)  # every entry must be written
    sb, wb, _, _ = assign(X, sw, shift, seq[0], lab_b, True, exact, None, bounds)
    assign(X, sw, shift, seq[0], lab_p, True)
    np.testing.assert_array_equal(lab_b, lab_p)
    _assert_bounds_hold(X, shift, seq[0], lab_b, bounds)
    # the bounds are tight: off by the float32 storage margin and the
    # rounding bound of the searched squared distances, which scales with
    # the squared norms (the exact own distance: the storage margin only)
    Xs = X.astype(np.float64) - shift
    D2 = ((Xs[:, None, :] - seq[0].astype(np.float64)[None]) ** 2).sum(-1)
    rows = np.arange(len(X))
    # (rows on their center: an upper bound of float32's smallest normal, 1.2e-38)
    atol = 1e-75 if exact else 1e-4 * np.mean((Xs**2).sum(1))
    np.testing.assert_allclose(bounds[:, 0].astype(np.float64) ** 2, D2[rows, lab_b],
                               rtol=1e-5, atol=atol)
    D2[rows, lab_b] = np.inf
    np.testing.assert_allclose(bounds[:, 1].astype(np.float64) ** 2, D2.min(1), rtol=1e-5,
                               atol=1e-4 * np.mean((Xs**2).sum(1)))
    totals, previous, searched = (sb, wb), seq[0].astype(np.float64), []
    for C in seq[1:]:
        sb, wb, nb = _bounded_pass_as_plain(X, sw, shift, C, lab_p, lab_b, bounds, previous,
                                            totals, exact)
        totals, previous = (sb, wb), C.astype(np.float64)
        searched.append(nb)
    assert min(searched) < 0.6 * len(X)  # the written bounds do skip rows


def _bounded_pass_as_plain(X, sw, shift, C, lab_p, lab_b, bounds, previous, totals, exact):
    """Run a plain and a bounded pass side by side; check they agree and the bounds hold.

    Returns the bounded pass's sums, weights and rows searched.
    """
    sp, wp, ip, cp = assign(X, sw, shift, C, lab_p, True)
    sb, wb, ib_, cb, nb = assign_bounded(X, sw, shift, C, lab_b, bounds, previous, totals, True,
                                         exact)
    np.testing.assert_array_equal(lab_b, lab_p)
    assert cb == cp
    np.testing.assert_allclose(sb, sp, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(wb, wp, rtol=1e-12)
    if exact:
        assert ib_ == pytest.approx(ip, rel=1e-9)
    _assert_bounds_hold(X, shift, C, lab_b, bounds)  # exact pass or not
    return sb, wb, nb


def _assert_bounds_hold(X, shift, C, labels, bounds):
    """The bounds are bounds: the own center is no farther than the upper one,
    no other center nearer than the lower one."""
    Xs = X.astype(np.float64) - shift
    D = np.sqrt(((Xs[:, None, :] - C.astype(np.float64)[None]) ** 2).sum(-1))
    rows = np.arange(len(X))
    assert np.all(bounds[:, 0] >= D[rows, labels] * (1 - 1e-12))
    D[rows, labels] = np.inf
    assert np.all(bounds[:, 1] <= D.min(1) * (1 + 1e-12))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_plain_pass_running_totals_equal_full_sums(dtype, weighted, rng):
    # With running totals the plain pass (k < 32) adds only the rows that
    # change cluster: the totals equal the full sums of a pass that sums
    # every row, pass after pass.
    X = _blobs(n=1500, d=4, k=5, dtype=dtype, offset=20.0)
    sw = rng.uniform(0.5, 2.0, len(X)).astype(dtype) if weighted else np.empty(0, dtype)
    shift, seq = _moves(X, 9, seed=3)
    lab_f = np.full(len(X), -1, np.int32)
    lab_r = lab_f.copy()
    totals = None
    moved = []
    for C in seq:
        sf, wf, _, cf = assign(X, sw, shift, C, lab_f, True)
        sr, wr, _, cr = assign(X, sw, shift, C, lab_r, True, True, totals)
        np.testing.assert_array_equal(lab_r, lab_f)
        assert cr == cf
        np.testing.assert_allclose(sr, sf, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(wr, wf, rtol=1e-12)
        totals = (sr, wr)
        moved.append(cr)
    assert moved[0] == len(X) and 0 < min(moved[1:]) < len(X) // 4


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bounded_pass_moves_rows_between_clusters_exactly(dtype, rng):
    # Running sums: a row that changes cluster is subtracted from the old one
    # and added to the new one; clusters that empty get weights of exactly 0.
    X = rng.normal(size=(400, 3)).astype(dtype)
    sw = rng.uniform(0.1, 3.0, len(X)).astype(dtype)
    shift = np.zeros(3, dtype)
    C0 = X[:40].copy()
    lab = np.full(len(X), -1, np.int32)
    bounds = np.zeros((len(X), 2), np.float32)
    totals = assign_bounded(X, sw, shift, C0, lab, bounds, None, None, True)[:2]
    # Move one center far away: its rows must all leave it.
    C1 = C0.copy()
    C1[0] += 100.0
    sums, wts, _, changed, _ = assign_bounded(X, sw, shift, C1, lab, bounds,
                                              C0.astype(np.float64), totals, True)
    assert changed > 0 and wts[0] == 0.0 and np.all(sums[0] == 0.0)
    ref_w = np.bincount(lab, weights=sw.astype(np.float64), minlength=40)
    ref_s = np.stack([(sw[lab == c, None].astype(np.float64) * X[lab == c]).sum(0)
                      for c in range(40)])
    np.testing.assert_allclose(wts, ref_w, rtol=1e-12)
    np.testing.assert_allclose(sums, ref_s, rtol=1e-9, atol=1e-9)


def test_half_gaps_against_numpy(rng):
    C = rng.normal(size=(30, 4))
    D = np.sqrt(((C[:, None] - C[None]) ** 2).sum(-1))
    np.fill_diagonal(D, np.inf)
    np.testing.assert_allclose(K.half_gaps(C), D.min(1) / 2, rtol=1e-12)
    assert K.half_gaps(C[:1])[0] == np.inf


def _kpp_reference(X, k, sw, rng, n_local_trials=None):
    """Greedy k-means++ in NumPy with the same draws as ``_kmeans_plusplus``."""
    n = len(X)
    w = np.ones(n) if sw.shape[0] == 0 else sw.astype(np.float64)
    L = n_local_trials if n_local_trials is not None else 2 + int(np.log(k))
    Xd = X.astype(np.float64)
    first = int(rng.choice(n, p=w / w.sum())) if sw.shape[0] else int(rng.integers(n))
    idx = [first]
    closest = ((Xd - Xd[first]) ** 2).sum(1)
    current = (w * closest).sum()
    for _ in range(1, k):
        targets = rng.uniform(size=L) * current
        cand = np.minimum(np.searchsorted(np.cumsum(w * closest), targets, side="right"), n - 1)
        d = ((Xd[None] - Xd[cand][:, None]) ** 2).sum(-1)
        pots = (w * np.minimum(closest, d)).sum(1)
        best = int(np.argmin(pots))
        current = pots[best]
        closest = np.minimum(closest, d[best])
        idx.append(int(cand[best]))
    return np.array(idx)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("trials", [None, 9])
def test_kmeans_plusplus_matches_numpy_greedy(dtype, weighted, trials):
    # Well separated blobs, so the triangle-inequality skips are exercised;
    # 9 candidates (10 columns with the last center) take two column groups.
    X, _ = sk_datasets.make_blobs(5000, 4, centers=20, random_state=1, cluster_std=0.5,
                                  center_box=(-50, 50))
    X = (X + 20.0).astype(dtype)
    sw = np.random.default_rng(2).uniform(0.5, 2, len(X)) if weighted else np.empty(0)
    for seed in range(3):
        ours = _kmeans._kmeans_plusplus(X, 20, sw.astype(dtype), np.random.default_rng(seed),
                                        trials)[1]
        ref = _kpp_reference(X, 20, sw, np.random.default_rng(seed), trials)
        if dtype == np.float64:
            np.testing.assert_array_equal(ours, ref)
        else:  # float32 distances may move a draw across a row boundary
            assert np.mean(ours == ref) >= 0.8


def _kpp_pass_inputs(X, shift, cols):
    c = (cols.astype(np.float64) - shift).astype(X.dtype)
    c64 = c.astype(np.float64)
    const = (c64 * c64).sum(1) + 2 * c64 @ shift.astype(np.float64)
    return _kmeans.kpp_column_groups(c), const


def test_kpp_pass_against_numpy_and_bounds(rng):
    X = _blobs(n=3000, d=5, k=4, offset=10.0)
    # Rows in order of distance to row 0: blocks near it are skipped by the
    # bound, blocks far from it are read whole, blocks between are gathered.
    X = X[np.argsort(((X - X[0]) ** 2).sum(1))]
    shift = X.mean(0)
    sw = rng.uniform(0.5, 2, len(X))
    chosen = X[[0, 1600]]
    closest = ((X - chosen[0]) ** 2).sum(1)
    owner = np.zeros(len(X), np.int32)
    cols = X[[1600, 2000, 2500, 2999]]  # last chosen, then three candidates
    cols_t, const = _kpp_pass_inputs(X, shift, cols)
    x_norms = ((X - shift) ** 2).sum(1)
    d = ((X[:, None] - cols[None]) ** 2).sum(-1)
    new_closest = np.minimum(closest, d[:, 0])
    ref = np.stack([sw * new_closest]
                   + [sw * np.minimum(new_closest, d[:, c]) for c in (1, 2, 3)], 1)
    pruning = np.array([((chosen[0] - cols) ** 2).sum(1).min(), 0.0])
    read = np.add.reduceat(4 * closest * (1 + 1e-6) >= pruning[0], np.arange(0, 3000, 256))
    read = read / np.diff(np.r_[np.arange(0, 3000, 256), 3000])
    assert read.min() == 0 and read.max() == 1 and np.any((read > 0) & (read < 0.4))
    for bound in (np.zeros(2), pruning):
        cl, ow = closest.copy(), owner.copy()
        pots = K.kpp_pass(X, sw, cols_t, const, True, cl, ow, bound, 1, x_norms, 256, 3)
        assert pots.shape == (12, 4)
        np.testing.assert_allclose(pots.sum(0), ref.sum(0), rtol=1e-10)
        np.testing.assert_allclose(pots[:, 1], np.add.reduceat(ref[:, 1], np.arange(0, 3000, 256)),
                                   rtol=1e-9)
        np.testing.assert_allclose(cl, new_closest, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(ow, np.where(d[:, 0] < closest, 1, 0))
    # A bound that no row can pass: nothing is read, every column keeps ``closest``.
    cl = closest.copy()
    pots = K.kpp_pass(X, sw, cols_t, const, True, cl, owner.copy(), np.full(2, np.inf), 1,
                      x_norms, 256, 3)
    np.testing.assert_array_equal(cl, closest)
    np.testing.assert_allclose(pots.sum(0), np.full(4, (sw * closest).sum()), rtol=1e-12)
    # The split into slots does not change the result.
    a = K.kpp_pass(X, sw, cols_t, const, True, closest.copy(), owner.copy(), np.zeros(2), 1,
                   x_norms, 256, 1)
    b = K.kpp_pass(X, sw, cols_t, const, True, closest.copy(), owner.copy(), np.zeros(2), 1,
                   x_norms, 256, 5)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [0, 1, 3, 8, 17])
@pytest.mark.parametrize("nc", [1, 8, 9, 17])
def test_kpp_pass_shapes_against_numpy(dtype, d, nc, rng):
    """Odd and even feature counts (the two accumulator sets and the tail),
    one to three column groups, 0 weights, row counts not a multiple of 4."""
    n = 1031
    X = (rng.normal(size=(n, d)) * 3 + 1).astype(dtype)
    Xd = X.astype(np.float64)
    shift = Xd[0]
    c = (rng.normal(size=(nc, d)) * 3 + 1 - shift).astype(dtype)
    c64 = c.astype(np.float64)
    const = (c64 * c64).sum(1) + 2 * c64 @ shift
    x_norms = ((Xd - shift) ** 2).sum(1)
    D = ((Xd[:, None, :] - (c64 + shift)[None]) ** 2).sum(2)
    closest = rng.uniform(0, 40, n)
    owner = rng.integers(0, 2, n).astype(np.int32)
    tol = 1e-9 if dtype == np.float64 else 2e-4
    for weighted, use_first in ((False, True), (True, False), (True, True)):
        sw = rng.uniform(0, 2, n).astype(dtype) if weighted else np.empty(0, dtype)
        if weighted:
            sw[::7] = 0
        w = sw.astype(np.float64) if weighted else np.ones(n)
        nearer = (D[:, 0] < closest) if use_first else np.zeros(n, bool)
        cl_ref = np.where(nearer, D[:, 0], closest)
        ref = w[:, None] * np.minimum(D, cl_ref[:, None])
        ref[:, 0] = w * cl_ref
        cl, ow = closest.copy(), owner.copy()
        pots = K.kpp_pass(X, sw, _kmeans.kpp_column_groups(c), const, use_first, cl, ow,
                          np.zeros(2), 5, x_norms, 256, 3)
        assert pots.shape == (5, nc)
        np.testing.assert_allclose(pots.sum(0), ref.sum(0), rtol=tol, atol=tol * n)
        np.testing.assert_allclose(cl, cl_ref, rtol=tol, atol=tol * 100)
        if dtype == np.float64:
            np.testing.assert_array_equal(ow, np.where(nearer, 5, owner))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kpp_first_pass_against_numpy(dtype, rng):
    X = _blobs(n=3000, d=5, k=4, offset=10.0).astype(dtype)
    shift = X.astype(np.float64).mean(0)
    Xd = X.astype(np.float64)
    for sw in (np.empty(0, dtype), rng.uniform(0.5, 2, len(X)).astype(dtype)):
        w = sw.astype(np.float64) if len(sw) else np.ones(len(X))
        outs = []
        for n_slots in (1, 5):
            closest, xn = np.full(len(X), -1.0), np.full(len(X), -1.0)
            pots = K.kpp_first_pass(X, sw, shift, 17, closest, xn, 256, n_slots)
            outs.append(pots)
            np.testing.assert_allclose(closest, ((Xd - Xd[17]) ** 2).sum(1), rtol=1e-12)
            np.testing.assert_allclose(xn, ((Xd - shift) ** 2).sum(1), rtol=1e-12)
            np.testing.assert_allclose(pots, np.add.reduceat(w * closest,
                                                             np.arange(0, 3000, 256)),
                                       rtol=1e-12)
        np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("max_iter", [1, 2, 5, 30])
@pytest.mark.parametrize("k", [40, 70])
def test_lloyd_many_clusters_matches_sklearn(dtype, max_iter, k):
    """Hamerly bounds (k >= 32) and the one-sweep vector search (k >= 16): still Lloyd."""
    X = _blobs(n=4000, d=6, k=k, dtype=dtype, offset=100.0)
    init = X[::50][:k].copy()
    ours = KMeans(k, init=init, max_iter=max_iter, tol=0).fit(X)
    ref = sk_cluster.KMeans(k, init=init, max_iter=max_iter, tol=0, n_init=1).fit(X)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert (ours.labels_ == ref.labels_).mean() >= (0.999 if dtype == np.float32 else 1.0)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=rtol, atol=rtol)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=rtol)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(ours.predict(X), ours.labels_)


def test_many_clusters_thread_independent():
    X = _blobs(n=6000, d=4, k=50)
    a = KMeans(48, random_state=5).fit(X)
    with fastdistill.num_threads(1):
        b = KMeans(48, random_state=5).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_


@pytest.mark.parametrize("k", [40, 80])
def test_mixed_precision_pass_settles_near_ties_in_float64(k, rng):
    """float32 search of float64 data: near ties beyond float32 resolution."""
    d = 7
    C = rng.normal(size=(k, d)) * 3
    a, b = rng.integers(k, size=400), rng.integers(k, size=400)
    a, b = a[a != b], b[a != b]
    # Rows a hair (1e-7 relative: invisible in float32) nearer to a than to b,
    # pushed off the a-b axis so that other centers stay farther.
    mid = (C[a] + C[b]) / 2 + 1e-7 * (C[a] - C[b])
    X = np.vstack([mid, rng.normal(size=(600, d)) * 3])
    shift = X.mean(0)
    Cs = C - shift
    cn = (Cs * Cs).sum(1)
    D = ((X[:, None] - C[None]) ** 2).sum(-1)
    ref = D.argmin(1)
    two = np.sort(D, axis=1)[:, :2]
    n_ties = int(np.sum(two[:, 1] - two[:, 0] < 1e-5 * two[:, 1]))
    assert n_ties > 50
    labels = np.full(len(X), -1, np.int32)
    out = K.lloyd_pass_mixed(X, np.empty(0), shift, Cs, np.ascontiguousarray(Cs.T, np.float32),
                             cn.astype(np.float32), cn.max(), labels, 64, 3, True, True,
                             _NO_BOUNDS)
    np.testing.assert_array_equal(labels, ref)
    assert out[4] >= n_ties  # the near ties were verified in float64
    lab_64 = np.full(len(X), -1, np.int32)
    plain = K.lloyd_pass(X, np.empty(0), shift, Cs, np.ascontiguousarray(Cs.T), cn, lab_64, 64,
                         3, True, True, False, _NO_BOUNDS, cn.max(), np.empty(0), False)
    np.testing.assert_array_equal(lab_64, ref)
    np.testing.assert_allclose(out[0], plain[0], rtol=1e-12, atol=1e-12)
    assert out[2] == pytest.approx(plain[2], rel=1e-12)
    # Without the inertia: the same labels and sums bit for bit, inertia 0.
    lab_n = np.full(len(X), -1, np.int32)
    no_in = K.lloyd_pass_mixed(X, np.empty(0), shift, Cs,
                               np.ascontiguousarray(Cs.T, np.float32), cn.astype(np.float32),
                               cn.max(), lab_n, 64, 3, True, False, _NO_BOUNDS)
    np.testing.assert_array_equal(lab_n, labels)
    np.testing.assert_array_equal(no_in[0], out[0])
    assert no_in[2] == 0.0 and out[2] > 0 and no_in[4] == out[4]
    # The bounded pass searches the same way.
    lab_b = np.full(len(X), -1, np.int32)
    assign_bounded(X, np.empty(0), shift, Cs, lab_b, np.zeros((len(X), 2), np.float32), None,
                   None, True)
    np.testing.assert_array_equal(lab_b, ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plain_pass_without_shift_or_inertia_is_the_same_pass(rng, dtype):
    # With a zero shift the plain pass reads X directly (no shifted copy).
    # Rows on a 2**-10 grid shifted by 1 are shifted back exactly, so the
    # shifted pass over X + 1 and the unshifted pass over X multiply the
    # same numbers: the same labels, sums and inertia bit for bit. Without
    # the inertia the pass returns 0.0 and the same labels and sums.
    X = (np.round(rng.normal(size=(700, 6)) * 1024) / 1024).astype(dtype)
    C = X[:9].copy()
    sw = rng.uniform(0.5, 2.0, size=700).astype(dtype)
    cn = np.einsum("ij,ij->i", C, C).astype(dtype)
    Ct = np.ascontiguousarray(C.T)
    outs, labs = [], []
    for data, shift, exact in ((X + dtype(1), np.ones(6, dtype), True),
                               (X, np.zeros(6, dtype), True),
                               (X, np.zeros(6, dtype), False)):
        lab = np.full(700, -1, np.int32)
        outs.append(K.lloyd_pass(data, sw, shift, C, Ct, cn, lab, 64, 3, True,
                                 exact, False, _NO_BOUNDS, float(cn.max()),
                                 np.empty(0, dtype), False)[:4])
        labs.append(lab)
    ref = ((X[:, None].astype(np.float64) - C[None]) ** 2).sum(-1).argmin(1)
    np.testing.assert_array_equal(labs[0], ref)
    for (sums, wts, inertia, changed), lab in zip(outs[1:], labs[1:], strict=True):
        np.testing.assert_array_equal(lab, labs[0])
        np.testing.assert_array_equal(sums, outs[0][0])
        np.testing.assert_array_equal(wts, outs[0][1])
        assert changed == outs[0][3] == 700
    assert outs[1][2] == outs[0][2] > 0 and outs[2][2] == 0.0


def test_fit_near_origin_skips_the_shift_and_matches_sklearn():
    # Standardised data: no shift (||mean||^2 within the variance); far from
    # the origin: shifted by the mean. Both give scikit-learn's clustering
    # from the same centers, and the inertia (computed in the last pass).
    X0, _ = sk_datasets.make_blobs(2000, 5, centers=4, random_state=3)
    X0 = (X0 - X0.mean(0)) / X0.std(0)
    for X in (X0, X0 + 1e3):
        init = X[:4].copy()
        ours = KMeans(4, init=init, n_init=1, tol=0, max_iter=20).fit(X)
        ref = sk_cluster.KMeans(4, init=init, n_init=1, tol=0, max_iter=20).fit(X)
        assert np.any(ours._shift != 0) == (X is not X0)
        np.testing.assert_array_equal(ours.labels_, ref.labels_)
        np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9)
        assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
        assert ours.n_iter_ == ref.n_iter_


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [5, 70])
@pytest.mark.parametrize("weighted", [False, True])
def test_fit_neither_modifies_nor_copies_X(dtype, k, weighted, monkeypatch):
    """k = 5: plain passes; k = 70: Hamerly-bounded passes from the second
    iteration on (float64: float32 search verified in float64; vector search)."""
    import tracemalloc

    rng = np.random.default_rng(7)
    # Overlapping blobs: several Lloyd passes, most rows skipped by the bounds.
    centers = rng.normal(size=(70, 32)) * 2.0
    X = (centers[rng.integers(70, size=40_000)] + rng.normal(size=(40_000, 32)) + 5.0).astype(dtype)
    w = rng.uniform(0.5, 2.0, size=len(X)) if weighted else None
    X_before = X.copy()
    w_before = None if w is None else w.copy()
    bounded_calls = []
    real = _kmeans.assign_bounded

    def counting(*args):
        bounded_calls.append(1)
        return real(*args)

    monkeypatch.setattr(_kmeans, "assign_bounded", counting)
    km = KMeans(k, n_init=1, max_iter=6, tol=0, random_state=0)
    km.fit(X, sample_weight=w)  # compile (or load) outside the trace
    bounded_calls.clear()
    tracemalloc.start()
    try:
        km.fit(X, sample_weight=w)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert km.n_iter_ >= 3 and km.cluster_centers_.dtype == dtype
    assert len(bounded_calls) >= 2 if k >= _kmeans.BOUNDED_MIN_K else not bounded_calls
    np.testing.assert_array_equal(X, X_before)
    if weighted:
        np.testing.assert_array_equal(w, w_before)
    # Per-row buffers (labels, bounds, k-means++ distances, float32 weights)
    # and per-slot sums (32 x k x d float64) are expected, about a quarter
    # of X at most; a copy of X would be 100% on its own.
    assert peak < 0.5 * X.nbytes, (peak, X.nbytes)


@pytest.mark.parametrize("k", [8, 40, 70])
@pytest.mark.parametrize("e", [-160, -75, 66, 130])
def test_labels_do_not_depend_on_the_scale_of_the_data(k, e):
    # Scaling by a power of two is exact: the same Lloyd iterations must give
    # the same labels and scaled centers, even where float32 (the search of
    # float64 data, the stored Hamerly bounds) would underflow or overflow.
    X = np.random.default_rng(0).normal(size=(3000, 4))
    C0 = X[:k].copy()
    s = 2.0 ** e
    base = KMeans(k, init=C0, n_init=1, max_iter=20, tol=0).fit(X)
    km = KMeans(k, init=C0 * s, n_init=1, max_iter=20, tol=0).fit(X * s)
    np.testing.assert_array_equal(km.labels_, base.labels_)
    assert km.n_iter_ == base.n_iter_
    np.testing.assert_allclose(km.cluster_centers_ / s, base.cluster_centers_, rtol=1e-9,
                               atol=1e-12)
    assert km.inertia_ / s**2 == pytest.approx(base.inertia_, rel=1e-9)
    np.testing.assert_array_equal(km.predict(X[::7] * s), base.predict(X[::7]))


@pytest.mark.parametrize("switch", [0.0, 0.08, 2.0])
@pytest.mark.parametrize("max_iter", [1, 2, 4, 12])
def test_plain_then_bounded_passes_agree_with_plain(monkeypatch, switch, max_iter):
    # Plain passes while many labels change, then Hamerly bounds written by
    # the plain pass that may be the last: never (switch 0), the default rule,
    # or from the first pass on (2.0; with max_iter=1 the final pass follows
    # the pass that wrote them). Same fit as plain passes only.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 8))
    fits = []
    for min_k, rule in ((10**9, switch), (_kmeans.BOUNDED_MIN_K, switch)):
        monkeypatch.setattr(_kmeans, "BOUNDED_MIN_K", min_k)
        monkeypatch.setattr(_kmeans, "PLAIN_UNTIL_CHANGED", rule)
        fits.append(KMeans(40, n_init=1, max_iter=max_iter, tol=0, random_state=0).fit(X))
    plain, mixed = fits
    assert mixed.n_iter_ == plain.n_iter_
    np.testing.assert_array_equal(mixed.labels_, plain.labels_)
    np.testing.assert_allclose(mixed.cluster_centers_, plain.cluster_centers_, rtol=1e-12,
                               atol=1e-12)
    assert mixed.inertia_ == pytest.approx(plain.inertia_, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bounded_passes_after_relocation_agree_with_plain(monkeypatch, dtype):
    # Duplicated initial centers leave clusters empty; they move to the
    # farthest rows (the sums move, the labels follow in the next pass, and
    # the relocated centers' jumps count in the next pass's moves). Bounded
    # passes from the first on (switch 2.0) give the fit of plain passes only.
    rng = np.random.default_rng(11)
    X = (rng.normal(size=(3000, 8)) * rng.uniform(0.2, 3.0, size=8)).astype(dtype)
    init = X[:40].copy()
    init[30:] = init[:10]  # ten empty clusters after the first pass
    fits = []
    for min_k in (10**9, _kmeans.BOUNDED_MIN_K):
        monkeypatch.setattr(_kmeans, "BOUNDED_MIN_K", min_k)
        monkeypatch.setattr(_kmeans, "PLAIN_UNTIL_CHANGED", 2.0)
        fits.append(KMeans(40, init=init, n_init=1, max_iter=30, tol=0).fit(X))
    plain, bounded = fits
    assert bounded.n_iter_ == plain.n_iter_ > 3
    np.testing.assert_array_equal(bounded.labels_, plain.labels_)
    np.testing.assert_allclose(bounded.cluster_centers_, plain.cluster_centers_, rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_plain_passes_reuse_the_row_norms(dtype, rng):
    # Without a shift the first plain pass stores the rows' squared norms and
    # the next passes read them: the same labels, sums and inertia bit for bit
    # as passes that compute them, and the stored norms are the rows' norms.
    X = rng.normal(size=(900, 6)).astype(dtype)
    sw = np.empty(0, dtype)
    shift = np.zeros(6, dtype)
    norms = RowNorms()
    lab_a = np.full(900, -1, np.int32)
    lab_b = lab_a.copy()
    for C in (X[:12], X[12:24] * dtype(0.5), X[24:36]):
        ref = assign(X, sw, shift, C, lab_a, True)
        got = assign(X, sw, shift, C, lab_b, True, norms=norms)
        assert norms.known
        np.testing.assert_array_equal(lab_b, lab_a)
        for a, b in zip(ref, got, strict=True):
            np.testing.assert_array_equal(a, b)
    ref_norms = np.einsum("ij,ij->i", X.astype(np.float64), X.astype(np.float64))
    np.testing.assert_allclose(norms.values, ref_norms, rtol=1e-5 if dtype == np.float32 else 1e-12)
    # with a shift the rows are copied anyway: the norms are neither kept nor used
    shifted = RowNorms()
    assign(X, sw, shift + dtype(1), X[:12], lab_a, True, norms=shifted)
    assert shifted.values is None and not shifted.known


@pytest.mark.parametrize("exact", [False, True])
def test_bounds_hold_where_float64_squares_underflow(exact):
    # Data scaled by 2**-540: the squares of the differences underflow in
    # float64, so exact distances come out 0 or subnormal; the bounds carry
    # an absolute term for that and stay bounds (plain and bounded passes).
    rng = np.random.default_rng(3)
    s = 2.0**-540
    X = rng.normal(size=(600, 4)) * s
    shift = np.zeros(4)
    C0, C1 = X[:40].copy(), X[40:80].copy()
    labels = np.full(len(X), -1, np.int32)
    bounds = np.zeros((len(X), 2), np.float32)

    def check(C):  # distances computed at scale 1 (exact powers of two), then scaled
        D = np.sqrt((((X / s)[:, None, :] - (C / s)[None]) ** 2).sum(-1)) * s
        rows = np.arange(len(X))
        assert np.all(bounds[:, 0] >= D[rows, labels] * (1 - 1e-12))
        D[rows, labels] = np.inf
        assert np.all(bounds[:, 1] <= D.min(1) * (1 + 1e-12))

    assign(X, np.empty(0), shift, C0, labels, True, exact, None, bounds)
    check(C0)
    assign_bounded(X, np.empty(0), shift, C1, labels, bounds, C0, None, True, exact)
    check(C1)
