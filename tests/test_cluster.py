"""KMeans against scikit-learn's Lloyd and naive references."""

from __future__ import annotations

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
    ours = np.mean([KMeans(12, random_state=s).fit(X).inertia_ for s in range(3)])
    ref = np.mean([sk_cluster.KMeans(12, random_state=s).fit(X).inertia_ for s in range(3)])
    assert ours == pytest.approx(ref, rel=0.01)


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
        ({"algorithm": "elkan"}, "lloyd"),
    ],
)
def test_bad_params(params, match):
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match=match):
        KMeans(**{"n_clusters": 3, **params}).fit(X)


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match="NaN"):
        KMeans(3).fit(np.where(X > 1, np.nan, X))
    km = KMeans(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="3 features"):
        km.predict(X[:, :2])
