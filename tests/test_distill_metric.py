"""TeacherMetric (the teacher's average gradient outer product), Distiller(metric=...).

Also the Distiller's parameter checks.
"""

from __future__ import annotations

import numpy as np
import pytest

from fastdistill import Ridge
from fastdistill.distill import Distiller, KMeansFeatures, LocalLinearRegressor, TeacherMetric
from fastdistill.exceptions import NotFittedError


class Wave:
    """f(x) = sin(2 x0) + 0.5 x1: depends on two of the inputs."""

    def predict(self, X):
        return np.sin(2.0 * X[:, 0]) + 0.5 * X[:, 1]


class Counting:
    """Wraps a teacher and counts the rows it is asked about."""

    def __init__(self, teacher):
        self.teacher = teacher
        self.rows = 0

    def predict(self, X):
        self.rows += X.shape[0]
        return self.teacher.predict(X)


class LinearLogit:
    """A binary classifier teacher with one linear logit z = X w."""

    classes_ = np.array([0, 1])

    def __init__(self, w):
        self.w = np.asarray(w, dtype=float)

    def decision_function(self, X):
        return X @ self.w

    def predict_proba(self, X):
        p = 1.0 / (1.0 + np.exp(-(X @ self.w)))
        return np.column_stack([1.0 - p, p])


class Bump:
    """f(x) = sin(3 x0) + cos(3 x1) x0: curved in two of the inputs."""

    def predict(self, X):
        return np.sin(3.0 * X[:, 0]) + np.cos(3.0 * X[:, 1]) * X[:, 0]


class Constant:
    def predict(self, X):
        return np.ones(X.shape[0])


@pytest.fixture
def cube(rng):
    return rng.uniform(-1.0, 1.0, size=(2000, 3))


def test_agop_matches_the_analytic_gradients(cube):
    m = TeacherMetric(Wave(), n_samples=5000).fit(cube)  # every row probed
    g = np.column_stack([2.0 * np.cos(2.0 * cube[:, 0]), np.full(len(cube), 0.5),
                         np.zeros(len(cube))])
    expected = g.T @ g / len(cube)
    # Central differences at h = 0.05 std: relative error about (2h)^2 / 6 for sin(2x).
    np.testing.assert_allclose(m.agop_, expected, rtol=2e-3, atol=1e-12)
    assert np.all(m.agop_[2] == 0.0) and np.all(m.agop_[:, 2] == 0.0)  # ignored: exactly 0
    assert m.n_teacher_queries_ == 2 * 3 * len(cube)


def test_classifier_teacher_uses_its_centred_logits(rng):
    w = np.array([1.0, -2.0, 0.0, 0.5])
    X = rng.normal(size=(300, 4))
    m = TeacherMetric(LinearLogit(w), n_samples=100, random_state=0).fit(X)
    # Binary logit z gives centred logits [-z/2, z/2]: J^T J = w w^T / 2, exactly.
    np.testing.assert_allclose(m.agop_, np.outer(w, w) / 2.0, rtol=1e-9, atol=1e-12)


def test_transform_is_centred_map_by_a_power_of_the_agop(cube):
    m = TeacherMetric(Wave(), n_samples=5000, power=0.5).fit(cube)
    L = m.components_
    np.testing.assert_allclose(L, L.T, atol=1e-12)
    # L = c * (M / max eig)^(1/2): L @ L is proportional to M.
    LL = L @ L
    ratio = LL[:2, :2] / m.agop_[:2, :2]
    np.testing.assert_allclose(ratio, ratio[0, 0], rtol=1e-8)
    Z = m.transform(cube)
    np.testing.assert_allclose(Z, (cube - cube.mean(0)) @ L, rtol=1e-12, atol=1e-12)
    # Scaled to the total variance of standardised data (all rows probed here).
    assert Z.var(axis=0).sum() == pytest.approx(3.0, rel=1e-9)
    assert np.abs(Z @ np.array([0.0, 0.0, 1.0])).max() < 1e-8 or np.abs(L[2]).max() < 1e-8
    # power=0: the identity up to the scale (no direction preferred).
    L0 = TeacherMetric(Wave(), n_samples=5000, power=0.0).fit(cube).components_
    np.testing.assert_allclose(L0 / L0[0, 0], np.eye(3), atol=1e-12)


def test_float32_stays_float32_and_input_is_untouched(cube):
    X = cube.astype(np.float32)
    before = X.copy()
    m = TeacherMetric(Wave(), n_samples=200, random_state=0).fit(X)
    Z = m.transform(X)
    assert Z.dtype == np.float32
    np.testing.assert_array_equal(X, before)
    ref = TeacherMetric(Wave(), n_samples=200, random_state=0).fit(cube)
    np.testing.assert_allclose(m.agop_, ref.agop_, rtol=1e-3)


def test_same_seed_same_metric(cube):
    a = TeacherMetric(Wave(), n_samples=100, random_state=3).fit(cube).agop_
    b = TeacherMetric(Wave(), n_samples=100, random_state=3).fit(cube).agop_
    c = TeacherMetric(Wave(), n_samples=100, random_state=4).fit(cube).agop_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("params, match", [
    ({"teacher": None}, "needs a fitted teacher"),
    ({"n_samples": 0}, "n_samples"),
    ({"step": 0.0}, "step"),
    ({"power": -1.0}, "power"),
])
def test_bad_parameters(cube, params, match):
    kw = {"teacher": Wave(), **params}
    with pytest.raises(ValueError, match=match):
        TeacherMetric(**kw).fit(cube)


def test_bad_input(cube):
    bad = cube.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TeacherMetric(Wave()).fit(bad)
    with pytest.raises(NotFittedError):
        TeacherMetric(Wave()).transform(cube)
    m = TeacherMetric(Wave(), n_samples=50).fit(cube)
    with pytest.raises(ValueError, match="features"):
        m.transform(cube[:, :2])


def test_constant_teacher_warns_and_keeps_the_input_space(cube):
    with pytest.warns(UserWarning, match="did not change"):
        m = TeacherMetric(Constant(), n_samples=100).fit(cube)
    np.testing.assert_allclose(m.components_ / m.components_[0, 0], np.eye(3), atol=1e-12)


def _sparse_problem(rng, n=6000, d=6):
    X = rng.uniform(-1.0, 1.0, size=(n, d))
    return X[: n * 5 // 6], X[n * 5 // 6:]


def test_distiller_metric_puts_prototypes_where_the_teacher_varies(rng):
    XU, XT = _sparse_problem(rng)
    plain = Distiller(Bump(), Ridge(alpha=1e-3), KMeansFeatures(24, random_state=0)).fit(XU)
    tm = Distiller(Bump(), Ridge(alpha=1e-3), KMeansFeatures(24, random_state=0),
                   metric="teacher", random_state=0).fit(XU)
    assert tm.metric_ is not None and plain.metric_ is None
    # Six inputs, four ignored: 24 centroids spread over all six leave most of
    # the curvature unexplained; in the teacher's metric they cover the two
    # that matter (measured: 0.56-0.60 against 0.990-0.993 over three seeds).
    assert plain.fidelity(XT) < 0.8
    assert tm.fidelity(XT) > 0.97
    # A local student is partitioned in the metric too.
    loc = Distiller(Bump(), LocalLinearRegressor(8, random_state=0), metric="teacher",
                    random_state=0).fit(XU)
    loc_plain = Distiller(Bump(), LocalLinearRegressor(8, random_state=0)).fit(XU)
    assert loc.fidelity(XT) > 0.97 > loc_plain.fidelity(XT)


def test_distiller_metric_queries_are_counted_and_capped(rng):
    XU, _ = _sparse_problem(rng)
    teacher = Counting(Wave())
    d = Distiller(teacher, Ridge(alpha=1e-3), KMeansFeatures(16, random_state=0),
                  metric=TeacherMetric(n_samples=300), random_state=0).fit(XU)
    assert d.metric_.teacher is teacher  # the Distiller's own teacher filled in
    assert d.n_teacher_queries_ == d.n_transfer_ + 2 * 6 * 300 == teacher.rows
    capped = Counting(Wave())
    d = Distiller(capped, Ridge(alpha=1e-3), KMeansFeatures(16, random_state=0),
                  metric="teacher", max_teacher_queries=2000, random_state=0).fit(XU)
    # The metric probes at most a quarter of the cap; the selection gets the rest.
    assert d.metric_.n_teacher_queries_ <= 500
    assert d.n_teacher_queries_ == capped.rows <= 2000
    with pytest.raises(ValueError, match="too small for metric"):
        Distiller(Wave(), Ridge(), metric="teacher", max_teacher_queries=40).fit(XU)
    with pytest.raises(ValueError, match="metric must be"):
        Distiller(Wave(), Ridge(), metric="mahalanobis").fit(XU)


@pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")
def test_distiller_metric_survives_save_and_load(tmp_path, rng):
    from fastdistill import MLPRegressor, load

    XU, XT = _sparse_problem(rng, n=1500)
    teacher = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(
        XU, Wave().predict(XU))
    d = Distiller(teacher, Ridge(alpha=1e-3), KMeansFeatures(8, random_state=0),
                  metric="teacher", random_state=0).fit(XU)
    d.save(tmp_path / "d.npz")
    back = load(tmp_path / "d.npz")
    np.testing.assert_array_equal(back.predict(XT), d.predict(XT))
    np.testing.assert_array_equal(back.metric_.components_, d.metric_.components_)


@pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")
def test_clone_keeps_the_fitted_teacher_in_pipelines(rng):
    from fastdistill import MLPRegressor
    from fastdistill._base import clone

    X = rng.uniform(-1.0, 1.0, size=(600, 3))
    y = Wave().predict(X)
    mlp = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(X, y)
    m = TeacherMetric(mlp, n_samples=50, random_state=0)
    assert clone(m).teacher is mlp
    d = Distiller(mlp, Ridge(), KMeansFeatures(4, random_state=0),
                  metric=TeacherMetric(mlp, n_samples=50), random_state=0).fit(X)
    assert d.metric_.teacher is mlp
    sk = pytest.importorskip("sklearn.model_selection")
    pipeline = pytest.importorskip("sklearn.pipeline")
    scores = sk.cross_val_score(pipeline.make_pipeline(m, Ridge()), X, y, cv=3)
    assert scores.shape == (3,) and np.all(np.isfinite(scores))


def test_probability_only_classifier_teacher_is_differenced_on_probabilities(rng):
    ensemble = pytest.importorskip("sklearn.ensemble")
    X = rng.uniform(-1.0, 1.0, size=(3000, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    forest = ensemble.RandomForestClassifier(30, random_state=0).fit(X, y)
    diag = np.diag(TeacherMetric(forest, n_samples=300, random_state=0).fit(X).agop_)
    # Probabilities move along the two inputs that decide the class; the
    # forest's few splits on the other four move them far less (log-probabilities
    # of exact zeros would jump by ~690 on every input).
    assert np.all(np.isfinite(diag)) and diag.max() < 1e4
    assert diag[:2].min() > 3 * diag[2:].max()


def test_float32_step_survives_rounding_of_large_offsets(rng):
    X = np.column_stack([1e4 + 1e-3 * rng.normal(size=500), rng.normal(size=500)])
    X = X.astype(np.float32)

    class Sum:
        def predict(self, Z):
            return Z[:, 0] + Z[:, 1]

    m = TeacherMetric(Sum(), n_samples=100, random_state=0).fit(X)
    assert np.all(np.isfinite(m.agop_))
    # The slope along feature 0 is 1: its estimate, over a step widened to a
    # few float32 units at 1e4, stays near 1.
    assert m.agop_[0, 0] == pytest.approx(1.0, rel=0.2)
    assert np.all(np.isfinite(m.transform(X)))


def test_distiller_seeds_a_passed_metric_and_checks_the_cap_before_probing(rng):
    XU, _ = _sparse_problem(rng)
    a = Distiller(Wave(), Ridge(), metric=TeacherMetric(n_samples=50), random_state=7).fit(XU)
    b = Distiller(Wave(), Ridge(), metric=TeacherMetric(n_samples=50), random_state=7).fit(XU)
    np.testing.assert_array_equal(a.metric_.agop_, b.metric_.agop_)
    teacher = Counting(Wave())
    # 6 features: 48 queries give one probed row (12 probes); 60 labeled rows
    # leave nothing for the unlabeled ones - refused before any query.
    with pytest.raises(ValueError, match="leaves no query"):
        Distiller(teacher, Ridge(), metric="teacher", max_teacher_queries=70).fit(
            XU, XU[:60])
    assert teacher.rows == 0


def test_report_and_budget_curve_count_the_metric_probes(rng):
    XU, XT = _sparse_problem(rng)
    teacher = Counting(Wave())
    d = Distiller(teacher, Ridge(alpha=1e-3), KMeansFeatures(8, random_state=0),
                  metric="teacher", random_state=0).fit(XU)
    assert d.n_teacher_queries_ == teacher.rows
    assert d.report(XT, n_repeats=1)["n_teacher_queries"] == d.n_teacher_queries_
    curve = d.budget_curve(XU, XT, [600])
    for row in curve.rows:  # both strategies under the same cap, probes included
        assert row["queries"] <= 600
    queries = {r["strategy"]: r["queries"] for r in curve.rows}
    assert queries["random"] == queries["kmeans"]


def test_sklearn_style_fit_respects_the_cap(rng):
    X, _ = _sparse_problem(rng, n=600)
    y = Wave().predict(X)
    with pytest.raises(ValueError, match="below the 500 rows of fit"):
        Distiller(Wave(), Ridge(), max_teacher_queries=100).fit(X, y)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"student": None}, TypeError, "student must be an estimator"),
    ({"student": "ridge"}, TypeError, "student must be an estimator"),
    ({"features": "kmeans"}, TypeError, "features must be a transformer"),
    ({"metric": np.eye(2)}, ValueError, "metric must be None"),
    ({"alpha": "0.1"}, TypeError, "alpha"),
    ({"metric": TeacherMetric(n_samples=0), "max_teacher_queries": 1000}, ValueError,
     "n_samples"),
    ({"metric": TeacherMetric(n_samples=2.7), "max_teacher_queries": 1000}, TypeError,
     "n_samples"),
])
def test_distiller_bad_parameters(rng, kwargs, error, match):
    X, _ = _sparse_problem(rng, n=120)
    params = {"student": Ridge(), **kwargs}
    with pytest.raises(error, match=match):
        Distiller(Wave(), **params).fit(X)


def test_distiller_wrong_label_shape_is_named(rng):
    X, _ = _sparse_problem(rng, n=240)
    with pytest.raises(ValueError, match=r"y_labeled has shape \(20, 2\)"):
        Distiller(Wave(), Ridge()).fit(X[:100], X[100:120], np.ones((20, 2)))
