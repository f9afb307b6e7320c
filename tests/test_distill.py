"""Distillation: feature maps, local students, teacher -> student, reports."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from fastdistill import KMeans, LinearRegression, MLPClassifier, Ridge
from fastdistill.distill import (
    Distiller,
    DistillReport,
    KMeansFeatures,
    LocalLinearClassifier,
    LocalLinearRegressor,
    PCAFeatures,
    SOMFeatures,
    count_parameters,
)
from fastdistill.distill._features import rbf_responses
from fastdistill.distill._targets import softmax
from fastdistill.exceptions import ConvergenceWarning


def _f(X):
    return np.sin(3 * X[:, 0]) + X[:, 1] ** 2


class _Teacher:
    """A regression teacher that records the size of every query."""

    def __init__(self):
        self.calls = []

    def predict(self, X):
        self.calls.append(X.shape[0])
        return _f(X)


class _LinearLogitTeacher:
    """A classifier whose logits are linear in X (so a linear student can match them)."""

    def __init__(self, W, b, classes):
        self.W, self.b, self.classes_ = W, b, np.asarray(classes)

    def decision_function(self, X):
        Z = X @ self.W + self.b
        return Z[:, 1] - Z[:, 0] if Z.shape[1] == 2 else Z

    def predict_proba(self, X):
        Z = self.decision_function(X)
        Z = np.column_stack([np.zeros_like(Z), Z]) if Z.ndim == 1 else Z
        return softmax(Z)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class _ProbaOnlyTeacher(_LinearLogitTeacher):
    decision_function = property()  # hide it: hasattr(...) is False

    def predict_proba(self, X):
        return softmax(X @ self.W + self.b)


class _SpyStudent:
    """Records the soft targets it is given; its logits are X @ w (a fixed map)."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def get_params(self, deep=True):
        return {"scale": self.scale}

    def fit(self, X, y, soft_targets=False):
        self.X_, self.y_, self.soft_ = np.array(X), np.array(y), soft_targets
        return self

    def predict_logits(self, X):
        return self.scale * np.asarray(X)[:, :3]


# --------------------------------------------------------------- kernels
@pytest.mark.parametrize("kind", ["rbf", "soft"])
@pytest.mark.parametrize("top", [0, 2])
def test_rbf_responses_against_naive(rng, kind, top):
    D = rng.uniform(0, 4, size=(50, 5))
    out = rbf_responses(D.copy(), 0.7, kind, top)
    ref = np.exp(-D / (2 * 0.7**2))
    if top:
        keep = np.argsort(-ref, axis=1)[:, :top]
        mask = np.zeros_like(ref, dtype=bool)
        np.put_along_axis(mask, keep, True, axis=1)
        ref = np.where(mask, ref, 0.0)
    if kind == "soft":
        ref = ref / ref.sum(1, keepdims=True)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind, top", [("rbf", 0), ("soft", 0), ("soft", 3)])
def test_fused_prototype_responses_equal_two_pass_responses(rng, dtype, kind, top):
    # The fused kernel (distances of a chunk turned into responses in cache)
    # gives exactly the values of the distance pass followed by the
    # response pass, against a naive reference too.
    from fastdistill.distill._features import prototype_responses

    X = (rng.normal(size=(700, 6)) + 5.0).astype(dtype)
    km = KMeans(40, n_init=1, max_iter=3, random_state=0).fit(X)
    out = prototype_responses(km, X, 0.9, kind, top)
    assert out.dtype == dtype and out.shape == (700, 40)
    np.testing.assert_array_equal(out, rbf_responses(km._sq_distances(X), 0.9, kind, top))
    D = ((X[:, None, :].astype(np.float64) - km.cluster_centers_[None]) ** 2).sum(-1)
    ref = rbf_responses(D, 0.9, kind, top)
    np.testing.assert_allclose(out, ref, rtol=1e-4 if dtype == np.float32 else 1e-9,
                               atol=1e-6 if dtype == np.float32 else 1e-12)


def test_soft_responses_never_underflow_to_nan():
    D = np.array([[1e6, 1e6 + 1.0], [5e5, 9e5]])
    out = rbf_responses(D, 1.0, "soft")
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(1), 1.0)


def test_gated_expand_against_naive(rng):
    from fastdistill._kernels.features import gated_expand

    G = rng.uniform(size=(20, 4))
    G[3, 1] = 0.0
    X = rng.normal(size=(20, 3))
    mean, scale = X.mean(0), X.std(0)
    out = np.empty((20, 4 * 4))
    gated_expand(G, X, mean, scale, out)
    Z1 = np.column_stack([(X - mean) / scale, np.ones(20)])
    ref = (G[:, :, None] * Z1[:, None, :]).reshape(20, -1)
    np.testing.assert_allclose(out, ref, rtol=1e-13)


def test_quadratic_expand_against_naive(rng):
    from fastdistill._kernels.features import quadratic_expand

    Z = rng.normal(size=(15, 4))
    out = np.empty((15, 4 + 10))
    quadratic_expand(Z, out)
    a, b = np.triu_indices(4)
    np.testing.assert_allclose(out, np.hstack([Z, Z[:, a] * Z[:, b]]), rtol=1e-14)


# ------------------------------------------------------------ feature maps
def test_kmeans_features_against_naive(rng):
    X = rng.normal(size=(400, 3))
    fm = KMeansFeatures(n_clusters=6, random_state=0).fit(X)
    D2 = ((X[:, None, :] - fm.centers_[None]) ** 2).sum(-1)
    np.testing.assert_allclose(fm.transform(X), np.exp(-D2 / (2 * fm.bandwidth_**2)),
                               rtol=1e-9, atol=1e-12)
    rms = np.sqrt(D2.min(1).mean())
    assert fm.bandwidth_ == pytest.approx(2.0 * rms, rel=1e-9)
    soft = KMeansFeatures(n_clusters=6, kind="soft", random_state=0).fit(X).transform(X)
    np.testing.assert_allclose(soft.sum(1), 1.0)
    raw = KMeansFeatures(n_clusters=6, include_raw=True, random_state=0).fit(X).transform(X)
    np.testing.assert_array_equal(raw[:, 6:], X)


def test_kmeans_features_seed_on_a_subsample(rng):
    # 12 well-separated blobs, 6,000 rows; seeding on 600 of them.
    centers = rng.uniform(-20, 20, size=(12, 4))
    X = np.concatenate([c + rng.normal(size=(500, 4)) for c in centers])
    sub = KMeansFeatures(n_clusters=12, init_size=600, random_state=3).fit(X)
    full = KMeansFeatures(n_clusters=12, init_size=None, random_state=3).fit(X)
    again = KMeansFeatures(n_clusters=12, init_size=600, random_state=3).fit(X)
    np.testing.assert_array_equal(sub.centers_, again.centers_)  # reproducible
    # The Lloyd iterations use every row: as good a clustering as full seeding.
    assert sub.kmeans_.inertia_ <= 1.02 * full.kmeans_.inertia_
    assert sub.kmeans_.inertia_ == pytest.approx(
        ((X[:, None] - sub.centers_[None]) ** 2).sum(-1).min(1).sum(), rel=1e-9)
    # "auto" on data smaller than its subsample seeds on every row.
    auto = KMeansFeatures(n_clusters=12, random_state=3).fit(X)
    np.testing.assert_array_equal(auto.centers_, full.centers_)
    for bad in (0, -5, "all", 2.5):
        with pytest.raises((ValueError, TypeError), match="init_size"):
            KMeansFeatures(n_clusters=12, init_size=bad).fit(X)


def test_som_features_against_naive(rng):
    X = rng.normal(size=(300, 3))
    fm = SOMFeatures(3, 4, bandwidth_scale=1.5, random_state=0).fit(X)
    W = fm.som_.weights_.reshape(12, 3)
    D2 = ((X[:, None, :] - W[None]) ** 2).sum(-1)
    assert fm.bandwidth_ == pytest.approx(1.5 * np.sqrt(D2.min(1).mean()), rel=1e-9)
    np.testing.assert_allclose(fm.transform(X), np.exp(-D2 / (2 * fm.bandwidth_**2)),
                               rtol=1e-8, atol=1e-12)
    soft = SOMFeatures(3, 4, kind="soft", random_state=0).fit(X).transform(X)
    np.testing.assert_allclose(soft.sum(1), 1.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pca_features_are_components_and_products(rng, dtype):
    from fastdistill import PCA

    X = (rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))).astype(dtype)
    lin = PCAFeatures(3).fit(X)
    ref = PCA(3, whiten=True).fit(X).transform(X)
    np.testing.assert_allclose(lin.transform(X), ref, rtol=1e-5)
    quad = PCAFeatures(3, degree=2, include_raw=True).fit(X).transform(X)
    assert quad.dtype == dtype
    a, b = np.triu_indices(3)
    np.testing.assert_allclose(quad, np.hstack([ref, ref[:, a] * ref[:, b], X]), rtol=1e-4,
                               atol=1e-5)


def test_feature_maps_reject_bad_parameters(rng):
    X = rng.normal(size=(50, 3))
    with pytest.raises(ValueError, match="kind"):
        KMeansFeatures(3, kind="hard").fit(X)
    with pytest.raises(ValueError, match="bandwidth_scale"):
        SOMFeatures(2, 2, bandwidth_scale=0.0).fit(X)
    with pytest.raises(ValueError, match="degree"):
        PCAFeatures(2, degree=3).fit(X)
    with pytest.raises(ValueError, match="n_components"):
        PCAFeatures(10).fit(X)


# ------------------------------------------------------------ local students
def _naive_local_ridge(model, X, y):
    """The joint ridge of the local model, solved densely in NumPy."""
    km = model.partition_.kmeans_
    D2 = ((X[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1)
    if model.gating == "hard":
        G = np.zeros_like(D2)
        G[np.arange(len(X)), D2.argmin(1)] = 1.0
    else:
        G = np.exp(-(D2 - D2.min(1, keepdims=True)) / (2 * model.partition_.bandwidth_**2))
        G /= G.sum(1, keepdims=True)
    Z1 = np.column_stack([(X - X.mean(0)) / X.std(0), np.ones(len(X))])
    E = (G[:, :, None] * Z1[:, None, :]).reshape(len(X), -1)
    Ec, yc = E - E.mean(0), y - y.mean()
    w = np.linalg.solve(Ec.T @ Ec + model.alpha * np.eye(E.shape[1]), Ec.T @ yc)
    return lambda Xn: _design_naive(model, Xn, X) @ w + (y.mean() - E.mean(0) @ w)


def _design_naive(model, Xn, Xtr):
    km = model.partition_.kmeans_
    D2 = ((Xn[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1)
    if model.gating == "hard":
        G = np.zeros_like(D2)
        G[np.arange(len(Xn)), D2.argmin(1)] = 1.0
    else:
        G = np.exp(-(D2 - D2.min(1, keepdims=True)) / (2 * model.partition_.bandwidth_**2))
        G /= G.sum(1, keepdims=True)
    Z1 = np.column_stack([(Xn - Xtr.mean(0)) / Xtr.std(0), np.ones(len(Xn))])
    return (G[:, :, None] * Z1[:, None, :]).reshape(len(Xn), -1)


@pytest.mark.parametrize("gating", ["soft", "hard"])
def test_local_linear_equals_dense_ridge(rng, gating, monkeypatch):
    import fastdistill.distill._local as local

    monkeypatch.setattr(local, "_CHUNK_BYTES", 4096)  # many streamed chunks
    X = rng.uniform(-1, 1, size=(600, 2))
    y = _f(X)
    model = LocalLinearRegressor(6, gating=gating, alpha=0.1, random_state=0).fit(X, y)
    ref = _naive_local_ridge(model, X, y)
    Xt = rng.uniform(-1, 1, size=(100, 2))
    np.testing.assert_allclose(model.predict(Xt), ref(Xt), rtol=1e-7, atol=1e-8)


def test_local_linear_is_exact_on_piecewise_linear_data(rng):
    X = rng.uniform(-1, 1, size=(2000, 1))
    y = np.abs(X[:, 0])  # two linear pieces
    hard = LocalLinearRegressor(8, gating="hard", alpha=1e-10, random_state=0).fit(X, y)
    # Only the region straddling 0 is not linear; every other region is exact.
    labels = hard.partition_.kmeans_.predict(X)
    straddle = {lab for lab in np.unique(labels)
                if X[labels == lab, 0].min() < 0 < X[labels == lab, 0].max()}
    far = ~np.isin(labels, list(straddle))
    np.testing.assert_allclose(hard.predict(X[far]), y[far], atol=1e-7)


def test_soft_gating_is_continuous_hard_gating_jumps(rng):
    X = rng.uniform(-1, 1, size=(3000, 2))
    y = _f(X)
    line = np.column_stack([np.linspace(-0.9, 0.9, 4001), np.full(4001, 0.3)])
    soft = LocalLinearRegressor(16, random_state=0).fit(X, y).predict(line)
    hard = LocalLinearRegressor(16, gating="hard", random_state=0).fit(X, y).predict(line)
    step = line[1, 0] - line[0, 0]
    # The true slope is at most 3 + 0.6: a jump well above that per step is a discontinuity.
    assert np.max(np.abs(np.diff(soft))) < 20 * step
    assert np.max(np.abs(np.diff(hard))) > 100 * step


@pytest.mark.parametrize("partition", ["kmeans", "som"])
def test_local_linear_fits_nonlinear_function(rng, partition):
    X = rng.uniform(-1, 1, size=(3000, 2))
    y = _f(X)
    model = LocalLinearRegressor(16, partition=partition, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.99
    assert LinearRegression().fit(X, y).score(X, y) < 0.8
    assert model.local_coef_.shape == (1, 16, 2)
    assert model.local_intercept_.shape == (1, 16)


def test_local_linear_dtype_multioutput_and_input_unchanged(rng):
    X = rng.uniform(-1, 1, size=(500, 2)).astype(np.float32)
    X.setflags(write=False)
    Y = np.column_stack([_f(X), X[:, 0] * X[:, 1]])
    model = LocalLinearRegressor(8, random_state=0).fit(X, Y)
    out = model.predict(X)
    assert out.dtype == np.float32 and out.shape == (500, 2)
    f64 = LocalLinearRegressor(8, random_state=0).fit(X.astype(np.float64), Y)
    np.testing.assert_allclose(out, f64.predict(X.astype(np.float64)), atol=2e-3)


def test_local_linear_same_seed_same_model(rng):
    X = rng.uniform(-1, 1, size=(500, 2))
    a = LocalLinearRegressor(8, random_state=3).fit(X, _f(X)).predict(X)
    b = LocalLinearRegressor(8, random_state=3).fit(X, _f(X)).predict(X)
    np.testing.assert_array_equal(a, b)


def test_local_linear_bad_parameters(rng):
    X = rng.normal(size=(20, 2))
    y = X[:, 0]
    with pytest.raises(ValueError, match="n_regions=30 must be at most"):
        LocalLinearRegressor(30).fit(X, y)
    with pytest.raises(ValueError, match="gating"):
        LocalLinearRegressor(3, gating="fuzzy").fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        LocalLinearRegressor(3, alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="sample_weight"):
        LocalLinearRegressor(4).fit(X, y, sample_weight=-np.ones(20))


def test_local_linear_classifier(rng):
    X = rng.uniform(-1, 1, size=(2000, 2))
    y = np.where(X[:, 0] ** 2 + X[:, 1] ** 2 < 0.5, "in", "out")
    clf = LocalLinearClassifier(16, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(1), 1.0)
    np.testing.assert_array_equal(clf.classes_[P.argmax(1)], clf.predict(X))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), P, rtol=1e-10)
    assert clf.decision_function(X).shape == (2000,)
    with pytest.raises(ValueError, match="continuous"):
        LocalLinearClassifier(4).fit(X, X[:, 0])


# ---------------------------------------------------------------- distiller
def test_distiller_recovers_nonlinear_teacher_from_unlabeled_data(rng):
    X = rng.uniform(-1, 1, size=(4000, 2))
    Xt = rng.uniform(-1, 1, size=(1000, 2))
    raw = Distiller(_Teacher(), LinearRegression()).fit(X)
    rbf = Distiller(_Teacher(), Ridge(alpha=1e-6),
                    KMeansFeatures(n_clusters=48, random_state=0)).fit(X)
    local = Distiller(_Teacher(), LocalLinearRegressor(16, random_state=0)).fit(X)
    assert raw.fidelity(Xt) < 0.7
    assert rbf.fidelity(Xt) > 0.98
    assert local.fidelity(Xt) > 0.99
    assert rbf.n_transfer_ == 4000
    assert set(rbf.fit_time_) == {"transfer", "teacher", "features", "student"}


def test_distiller_streams_closed_form_student(rng):
    X = rng.uniform(-1, 1, size=(3000, 2))
    whole = Distiller(_Teacher(), Ridge(alpha=1e-3), KMeansFeatures(24, random_state=0)).fit(X)
    teacher = _Teacher()
    streamed = Distiller(teacher, Ridge(alpha=1e-3), KMeansFeatures(24, random_state=0),
                         chunk_size=500).fit(X)
    assert streamed.streamed_ and not whole.streamed_
    assert max(teacher.calls) == 500  # chunked teacher queries too
    np.testing.assert_allclose(streamed.predict(X), whole.predict(X), rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["rbf", "soft"])
def test_fused_feature_gram_equals_features_then_gram(dtype, kind, rng):
    from fastdistill._gram import GramStats

    X = rng.normal(size=(2600, 5)).astype(dtype)
    Y = rng.normal(size=(2600, 2)).astype(dtype)
    fmap = KMeansFeatures(12, kind=kind, random_state=0).fit(X)
    for sw in (np.empty(0, dtype), rng.uniform(0.5, 2, len(X)).astype(dtype)):
        ref, fused = GramStats(12, 2, True), GramStats(12, 2, True)
        for part in (slice(0, 1500), slice(1500, None)):
            ref.add(fmap.transform(X[part]), Y[part], sw[part] if len(sw) else sw)
            w = sw[part] if len(sw) else sw
            fused.add_computed(fmap.transform(X[part][:1024]), Y[part],
                               lambda shift, p=part, w=w: fmap._gram_statistics(
                                   X[p], Y[p], w, shift))
        tol = 1e-12 if dtype == np.float64 else 1e-5
        np.testing.assert_allclose(fused.G, ref.G, rtol=tol, atol=tol * np.abs(ref.G).max())
        np.testing.assert_allclose(fused.s, ref.s, rtol=tol, atol=tol * np.abs(ref.s).max())
        assert fused.W == ref.W and fused.n == ref.n == 2600
        np.testing.assert_array_equal(fused.shift, ref.shift)


@pytest.mark.parametrize("features", ["som", "neighbourhood", "raw"])
def test_distiller_streams_other_feature_maps(features, rng):
    # SOM responses take the fused path too; a SOM's neighbourhood
    # activations and maps that keep the raw features are formed per chunk
    # (no fused kernel for them).
    X = rng.uniform(-1, 1, size=(2000, 2))
    fmap = {"som": SOMFeatures(4, 4, random_state=0),
            "neighbourhood": SOMFeatures(4, 4, kind="neighbourhood", random_state=0),
            "raw": KMeansFeatures(16, include_raw=True, random_state=0)}[features]
    whole = Distiller(_Teacher(), Ridge(alpha=1e-3), fmap).fit(X)
    streamed = Distiller(_Teacher(), Ridge(alpha=1e-3), fmap, chunk_size=300).fit(X)
    assert streamed.streamed_ and not whole.streamed_
    np.testing.assert_allclose(streamed.predict(X), whole.predict(X), rtol=1e-9, atol=1e-10)


def test_distiller_mixes_labels_into_regression_targets(rng):
    XU = rng.normal(size=(300, 3))
    XL = rng.normal(size=(50, 3))
    yL = rng.normal(size=50)
    d = Distiller(_Teacher(), LinearRegression(), alpha=0.25).fit(XU, XL, yL)
    R = np.vstack([XU, XL])
    T = _f(R)
    T[300:] = 0.75 * T[300:] + 0.25 * yL
    ref = LinearRegression().fit(R, T)
    np.testing.assert_allclose(d.student_.coef_, ref.coef_, rtol=1e-10)
    # alpha given to fit overrides the parameter; alpha=0 ignores the labels.
    d0 = Distiller(_Teacher(), LinearRegression(), alpha=0.25).fit(XU, XL, yL, alpha=0.0)
    np.testing.assert_allclose(d0.student_.coef_, LinearRegression().fit(R, _f(R)).coef_,
                               rtol=1e-10)


def test_distiller_caps_teacher_queries(rng):
    X = rng.normal(size=(2000, 2))
    XL = rng.normal(size=(40, 2))
    teacher = _Teacher()
    d = Distiller(teacher, Ridge(), max_teacher_queries=300, random_state=0).fit(X, XL)
    assert d.n_transfer_ == 300 and sum(teacher.calls) == 300
    with pytest.raises(ValueError, match="max_teacher_queries=30"):
        Distiller(_Teacher(), Ridge(), max_teacher_queries=30).fit(X, XL)


def test_distiller_uses_transfer_builder(rng):
    class Doubler:
        def get_params(self, deep=True):
            return {}

        def sample(self, X):
            return np.vstack([X, X + 0.01])

    X = rng.normal(size=(100, 2))
    teacher = _Teacher()
    d = Distiller(teacher, Ridge(), transfer=Doubler()).fit(X)
    assert d.n_transfer_ == 200 and sum(teacher.calls) == 200
    with pytest.raises(TypeError, match="sample"):
        Distiller(_Teacher(), Ridge(), transfer=object()).fit(X)


@pytest.mark.parametrize("n_classes", [2, 4])
def test_distiller_matches_linear_logits_exactly(rng, n_classes):
    X = rng.normal(size=(500, 3))
    W, b = rng.normal(size=(3, n_classes)), rng.normal(size=n_classes)
    classes = np.array(["a", "b", "c", "d"][:n_classes])
    teacher = _LinearLogitTeacher(W, b, classes)
    d = Distiller(teacher, Ridge(alpha=1e-10)).fit(X)
    assert d.target_ == "logits"
    Xt = rng.normal(size=(200, 3))
    np.testing.assert_array_equal(d.predict(Xt), teacher.predict(Xt))
    np.testing.assert_allclose(d.predict_proba(Xt), teacher.predict_proba(Xt), atol=1e-6)
    assert d.fidelity(Xt) == 1.0
    rep = d.report(Xt, teacher.predict(Xt), n_repeats=1)
    assert rep["agreement"] == 1.0 and rep["mean_kl"] == pytest.approx(0.0, abs=1e-8)


def test_distiller_reads_logits_from_predict_proba(rng):
    X = rng.normal(size=(400, 3))
    W, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    teacher = _ProbaOnlyTeacher(W, b, [0, 1, 2])
    assert not hasattr(teacher, "decision_function")
    d = Distiller(teacher, LinearRegression()).fit(X)
    Zc = X @ W + b
    Zc -= Zc.mean(1, keepdims=True)
    np.testing.assert_allclose(d.decision_function(X), Zc, atol=1e-8)


def test_distiller_soft_targets_with_temperature_and_labels(rng):
    X = rng.normal(size=(60, 3))
    XL, yL = rng.normal(size=(10, 3)), np.array(["a", "b", "c", "a", "b"] * 2)
    W, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    teacher = _LinearLogitTeacher(W, b, ["a", "b", "c"])
    d = Distiller(teacher, _SpyStudent(), temperature=2.0, alpha=0.3).fit(X, XL, yL)
    # "auto": the student takes soft targets but no logits= -> probabilities.
    assert d.target_ == "proba" and d.student_.soft_
    R = np.vstack([X, XL])
    P = softmax(R @ W + b, 2.0)
    onehot = (yL[:, None] == np.array(["a", "b", "c"])).astype(float)
    P[60:] = 0.7 * P[60:] + 0.3 * onehot
    np.testing.assert_allclose(d.student_.y_, P, rtol=1e-10)
    # The student learned logits / T: probabilities are softmax(T * its logits).
    np.testing.assert_allclose(d.predict_proba(X), softmax(2.0 * X), rtol=1e-10)
    with pytest.raises(ValueError, match="not among the teacher's classes"):
        Distiller(teacher, _SpyStudent(), alpha=0.3).fit(X, XL, np.array(["z"] * 10))


class _HintonSpyStudent(_SpyStudent):
    """A soft-target student that also takes hard labels (Hinton et al.'s loss)."""

    def fit(self, X, y, soft_targets=False, hard_targets=None, temperature=1.0):
        self.hard_, self.temperature_ = np.array(hard_targets), temperature
        return super().fit(X, y, soft_targets)


def test_distiller_soft_targets_with_labels_use_hintons_loss(rng):
    X = rng.normal(size=(60, 3))
    XL, yL = rng.normal(size=(10, 3)), np.array(["a", "b", "c", "a", "b"] * 2)
    W, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    teacher = _LinearLogitTeacher(W, b, ["a", "b", "c"])
    d = Distiller(teacher, _HintonSpyStudent(), temperature=2.0, alpha=0.3,
                  target="proba").fit(X, XL, yL)
    R = np.vstack([X, XL])
    # Soft targets stay the teacher's at T; the labels go separately, weighted by alpha.
    np.testing.assert_allclose(d.student_.y_, softmax(R @ W + b, 2.0), rtol=1e-10)
    onehot = (yL[:, None] == np.array(["a", "b", "c"])).astype(float)
    np.testing.assert_array_equal(d.student_.hard_, np.vstack([np.zeros((60, 3)), 0.3 * onehot]))
    assert d.student_.temperature_ == 2.0 and d.student_.soft_
    # With an MLP student: the same as fitting it on those arrays directly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier((4,), max_iter=20, random_state=0)
        d = Distiller(teacher, mlp, temperature=2.0, alpha=0.3, target="proba").fit(X, XL, yL)
        ref = MLPClassifier((4,), max_iter=20, random_state=0).fit(
            R, softmax(R @ W + b, 2.0), soft_targets=True,
            hard_targets=np.vstack([np.zeros((60, 3)), 0.3 * onehot]), temperature=2.0)
    np.testing.assert_allclose(d.student_.predict_proba(X), ref.predict_proba(X), rtol=1e-10)


def test_distiller_proba_target_needs_soft_target_student(rng):
    X = rng.normal(size=(50, 3))
    teacher = _LinearLogitTeacher(rng.normal(size=(3, 3)), np.zeros(3), [0, 1, 2])
    with pytest.raises(TypeError, match="soft_targets"):
        Distiller(teacher, Ridge(), target="proba").fit(X)


def test_distiller_mlp_student_on_soft_targets(rng):
    X = rng.normal(size=(600, 2))
    W = np.array([[2.0, -1.0, 0.0], [0.0, 1.5, -2.0]])
    teacher = _LinearLogitTeacher(W, np.zeros(3), [0, 1, 2])
    d = Distiller(teacher, MLPClassifier((), solver="lbfgs", max_iter=2000, random_state=0),
                  temperature=3.0, target="proba").fit(X)
    assert d.target_ == "proba"
    assert d.fidelity(X) > 0.97
    # Softmax regression can represent the teacher: probabilities close too.
    assert np.abs(d.predict_proba(X) - teacher.predict_proba(X)).max() < 0.05


def test_distiller_bad_input(rng):
    X = rng.normal(size=(50, 3))
    Xbad = X.copy()
    Xbad[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Distiller(_Teacher(), Ridge()).fit(Xbad)
    with pytest.raises(ValueError, match="X_labeled has 2 features"):
        Distiller(_Teacher(), Ridge()).fit(X, X[:, :2])
    with pytest.raises(ValueError, match="y_labeled has 3 rows"):
        Distiller(_Teacher(), Ridge()).fit(X, X[:5], np.ones(3))
    with pytest.raises(ValueError, match="temperature"):
        Distiller(_Teacher(), Ridge(), temperature=0.0).fit(X)
    with pytest.raises(ValueError, match="no teacher"):
        Distiller(None, Ridge()).fit(X)

    class NaNTeacher:
        def predict(self, X):
            return np.full(X.shape[0], np.nan)

    with pytest.raises(ValueError, match="NaN or infinite"):
        Distiller(NaNTeacher(), Ridge()).fit(X)
    d = Distiller(_Teacher(), Ridge())
    with pytest.raises(ValueError, match="not fitted"):
        d.predict(X)
    before = X.copy()
    Distiller(_Teacher(), Ridge(), KMeansFeatures(4, random_state=0)).fit(X, X[:5], np.ones(5))
    np.testing.assert_array_equal(X, before)
    with pytest.raises(AttributeError, match="classifier teachers"):
        Distiller(_Teacher(), Ridge()).fit(X).predict_proba(X)


# ------------------------------------------------------------------- report
@pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")
def test_count_parameters():
    X = np.random.default_rng(0).normal(size=(30, 4))
    assert count_parameters(Ridge().fit(X, X[:, :2])) == 2 * 4 + 2
    mlp = MLPClassifier((5,), max_iter=5, random_state=0).fit(X, X[:, 0] > 0)
    assert count_parameters(mlp) == 4 * 5 + 5 + 5 * 1 + 1
    fm = KMeansFeatures(3, random_state=0)
    d = Distiller(_Teacher(), Ridge(), fm).fit(X[:, :2])
    # centers_ is the k-means' cluster_centers_: counted once.
    assert count_parameters(d) == 3 * 2 + 3 + 1
    assert count_parameters(object()) == 0


def test_report_regression(rng):
    X = rng.uniform(-1, 1, size=(1500, 2))
    d = Distiller(_Teacher(), LocalLinearRegressor(8, random_state=0)).fit(X[:1000])
    rep = d.report(X[1000:], _f(X[1000:]), n_repeats=2)
    assert isinstance(rep, DistillReport) and rep.task == "regression"
    assert rep["fidelity_r2"] == pytest.approx(d.fidelity(X[1000:]))
    assert rep["student_score"] == pytest.approx(d.score(X[1000:], _f(X[1000:])))
    assert rep["teacher_score"] == 1.0
    assert rep["speedup"] == pytest.approx(rep["teacher_predict_s"] / rep["student_predict_s"])
    assert rep["n_teacher_queries"] == 1000
    text = str(rep)
    assert "fidelity R2" in text and "predict speed-up" in text
    assert json.loads(json.dumps(rep.to_dict()))["metrics"]["n_samples"] == 500


def test_features_learn_from_every_unlabeled_row_under_a_cap(rng):
    X = rng.uniform(-1, 1, size=(1500, 2))
    teacher = _Teacher()
    d = Distiller(teacher, Ridge(alpha=1e-3), KMeansFeatures(8, random_state=0),
                  max_teacher_queries=100, random_state=0).fit(X)
    assert sum(teacher.calls) == 100
    assert d.features_.kmeans_.labels_.shape[0] == 1500


def test_budget_curve(rng):
    X = rng.uniform(-1, 1, size=(1500, 2))
    Xt = rng.uniform(-1, 1, size=(300, 2))
    base = Distiller(_Teacher(), Ridge(alpha=1e-3), KMeansFeatures(16, random_state=0),
                     random_state=0)
    curve = base.budget_curve(X, Xt, [40, 400])
    assert not hasattr(base, "student_")  # the given distiller is not fitted
    assert [(r["strategy"], r["queries"]) for r in curve.rows] == [
        ("kmeans", 40), ("random", 40), ("kmeans", 400), ("random", 400)]
    full = Distiller(_Teacher(), Ridge(alpha=1e-3), KMeansFeatures(16, random_state=0)).fit(X)
    assert curve.uncapped == pytest.approx(full.fidelity(Xt))
    for r in curve.rows:
        assert -1.0 < r["fidelity"] <= 1.0
    need = curve.queries_to_reach(0.95)
    assert set(need) == {"kmeans", "random"}
    rep = full.report(Xt, n_repeats=1, curve=curve)
    assert "Fidelity against teacher queries" in str(rep)
    assert json.loads(json.dumps(rep.to_dict()))["budget_curve"]["n_unlabeled"] == 1500
    with pytest.raises(ValueError, match="strategies"):
        base.budget_curve(X, Xt, [40], strategies=["best"])


def test_som_features_neighbourhood_activations(rng):
    X = rng.normal(size=(300, 3))
    fm = SOMFeatures(3, 4, kind="neighbourhood", sigma=1.5, random_state=0).fit(X)
    Z = fm.transform(X)
    bmu = fm.som_.predict(X)
    coords = np.array([(r, c) for r in range(3) for c in range(4)], dtype=float)
    g2 = ((coords[bmu][:, None, :] - coords[None]) ** 2).sum(-1)
    np.testing.assert_allclose(Z, np.exp(-g2 / (2 * 1.5**2)), rtol=1e-12)
    assert np.all(Z[np.arange(300), bmu] == 1.0)
    with pytest.raises(ValueError, match="sigma"):
        SOMFeatures(2, 2, kind="neighbourhood", sigma=0.0).fit(X)


def test_selected_rows_weigh_their_cluster(rng):
    from fastdistill.distill import KMeansSelection

    X = rng.uniform(-1, 1, size=(800, 2))
    d = Distiller(_Teacher(), LinearRegression(), max_teacher_queries=50, random_state=3).fit(X)
    sel = KMeansSelection(50, random_state=3)
    R = sel.sample(X)
    w = sel.weights_
    assert w.sum() == 800  # each chosen row stands for its cluster
    ref = LinearRegression().fit(R, _f(R), sample_weight=w)
    np.testing.assert_allclose(d.student_.coef_, ref.coef_, rtol=1e-10)
    assert not np.allclose(ref.coef_, LinearRegression().fit(R, _f(R)).coef_, rtol=1e-6)
    # A student without sample_weight is fitted unweighted.
    Distiller(_Teacher(), _NoWeightStudent(), max_teacher_queries=50, random_state=3).fit(X)


class _NoWeightStudent:
    def get_params(self, deep=True):
        return {}

    def fit(self, X, y):
        self.n_ = X.shape[0]
        return self

    def predict(self, X):
        return np.zeros(X.shape[0])


@pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")
def test_clone_keeps_the_fitted_teacher(rng):
    from fastdistill import MLPRegressor
    from fastdistill._base import clone

    X = rng.uniform(-1, 1, size=(300, 2))
    teacher = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, _f(X))
    d = Distiller(teacher, Ridge(), KMeansFeatures(4, random_state=0))
    for c in [clone(d)] + ([pytest.importorskip("sklearn.base").clone(d)]):
        assert c.teacher is teacher and c.student is not d.student
        c.fit(X)  # the teacher is still fitted
    model_selection = pytest.importorskip("sklearn.model_selection")
    scores = model_selection.cross_val_score(
        Distiller(teacher, Ridge()), X, _f(X), cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))
    # fit(X, y): every row labeled; the targets blend teacher and labels with alpha.
    d = Distiller(teacher, LinearRegression(), alpha=0.5).fit(X, _f(X))
    T = 0.5 * teacher.predict(X) + 0.5 * _f(X)
    np.testing.assert_allclose(d.student_.coef_, LinearRegression().fit(X, T).coef_,
                               rtol=1e-10)
    assert d.n_transfer_ == 300


def test_scikit_learn_teachers(rng):
    ensemble = pytest.importorskip("sklearn.ensemble")
    X = rng.uniform(-1, 1, size=(1500, 2))
    reg = ensemble.HistGradientBoostingRegressor(max_iter=50, random_state=0).fit(X, _f(X))
    d = Distiller(reg, LocalLinearRegressor(16, random_state=0)).fit(X)
    assert d.target_ == "regression" and d.fidelity(X) > 0.95
    labels = np.where(_f(X) > 0.5, "hi", "lo")
    clf = ensemble.HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(X, labels)
    d = Distiller(clf, LocalLinearRegressor(16, random_state=0)).fit(X)
    assert d.target_ == "logits" and list(d.classes_) == ["hi", "lo"]
    assert d.fidelity(X) > 0.95
    np.testing.assert_allclose(d.predict_proba(X).sum(1), 1.0)


@pytest.mark.parametrize("teacher_cls, student, expected", [
    ("logit", "mlp", "logits"),  # the teacher exposes logits, the student fits them
    ("logit", "ridge", "logits"),
    ("logit", "spy", "proba"),  # soft targets only: no logits= in its fit
    ("proba", "mlp", "proba"),  # no logits exposed: probabilities when the student takes them
    ("proba", "ridge", "logits"),  # ... else log-probabilities as logits
])
def test_distiller_auto_target_rule(rng, teacher_cls, student, expected):
    X = rng.normal(size=(80, 3))
    W, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    teacher = (_LinearLogitTeacher if teacher_cls == "logit" else _ProbaOnlyTeacher)(
        W, b, [0, 1, 2])
    st = {"mlp": MLPClassifier((), solver="lbfgs", max_iter=50, random_state=0),
          "ridge": Ridge(), "spy": _SpyStudent()}[student]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = Distiller(teacher, st).fit(X)
    assert d.target_ == expected


def test_distiller_auto_uses_labels_and_warns_when_logits_drop_them(rng):
    X = rng.normal(size=(80, 3))
    XL, yL = rng.normal(size=(12, 3)), np.array([0, 1, 2] * 4)
    teacher = _LinearLogitTeacher(rng.normal(size=(3, 3)), np.zeros(3), [0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # Logits cannot carry labels: "auto" gives an MLP student probabilities then.
        d = Distiller(teacher, MLPClassifier((), max_iter=5, random_state=0),
                      temperature=2.0).fit(X, XL, yL)
        assert d.target_ == "proba"
        assert Distiller(teacher, MLPClassifier((), max_iter=5, random_state=0)).fit(
            X).target_ == "logits"
        # Below T = 1 the labels are mixed into the targets instead of Hinton's loss.
        spy = Distiller(teacher, _HintonSpyStudent(), temperature=0.5, alpha=0.3,
                        target="proba").fit(X, XL, yL)
        assert spy.student_.hard_.ndim == 0  # hard_targets not passed
    with pytest.warns(UserWarning, match="no use for y_labeled"):
        Distiller(teacher, Ridge(), alpha=0.3).fit(X, XL, yL)


@pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")
def test_mlp_hard_targets_with_early_stopping_and_alpha_one(rng):
    X = rng.normal(size=(200, 2))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)
    P = np.full((200, 3), 1 / 3)
    H = np.eye(3)[y]  # alpha = 1: the labels alone
    m = MLPClassifier((8,), max_iter=60, early_stopping=True, random_state=0).fit(
        X, P, soft_targets=True, hard_targets=H, temperature=1.0)
    ref = MLPClassifier((8,), max_iter=60, early_stopping=True, random_state=0).fit(X, y)
    # At T = 1 with only labels the loss is the plain log-loss: the same training,
    # and the validation scores read the labels (not the zeroed soft targets).
    np.testing.assert_allclose(m.loss_curve_, ref.loss_curve_, rtol=1e-9)
    assert m.validation_scores_ == ref.validation_scores_
    assert max(m.validation_scores_) > 0.6
