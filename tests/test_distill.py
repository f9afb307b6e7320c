"""Distillation core: feature maps from unlabeled data, teacher -> student."""

from __future__ import annotations

import numpy as np
import pytest

from fastdistill import LinearRegression, Ridge
from fastdistill.distill import Distiller, KMeansFeatures


class _Teacher:
    def predict(self, X):
        return np.sin(3 * X[:, 0]) + X[:, 1] ** 2


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


def test_distiller_recovers_nonlinear_teacher_from_unlabeled_data(rng):
    X = rng.uniform(-1, 1, size=(4000, 2))
    Xt = rng.uniform(-1, 1, size=(1000, 2))
    raw = Distiller(_Teacher(), LinearRegression()).fit(X)
    rbf = Distiller(_Teacher(), Ridge(alpha=1e-6),
                    KMeansFeatures(n_clusters=48, random_state=0)).fit(X)
    assert raw.fidelity(Xt) < 0.7
    assert rbf.fidelity(Xt) > 0.98
    assert rbf.n_transfer_ == 4000
    assert set(rbf.fit_time_) == {"teacher", "features", "student"}


def test_distiller_student_equals_direct_fit_on_teacher_outputs(rng):
    X = rng.normal(size=(500, 3))
    student = LinearRegression()
    d = Distiller(_Teacher(), student).fit(X)
    direct = LinearRegression().fit(X, _Teacher().predict(X))
    np.testing.assert_allclose(d.student_.coef_, direct.coef_, rtol=1e-12)
    assert not hasattr(student, "coef_")  # the given instance is left untouched


def test_labeled_rows_join_the_transfer_set(rng):
    XU = rng.normal(size=(300, 2))
    XL = rng.normal(size=(50, 2))
    d = Distiller(_Teacher(), LinearRegression()).fit(XU, XL, np.zeros(50))
    assert d.n_transfer_ == 350
    with pytest.raises(ValueError, match="inconsistent"):
        Distiller(_Teacher(), LinearRegression()).fit(XU, XL, np.zeros(49))


def test_bad_input(rng):
    X = rng.normal(size=(50, 2))
    with pytest.raises(TypeError, match="predict"):
        Distiller(object(), LinearRegression()).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        Distiller(_Teacher(), LinearRegression()).fit(np.where(X > 1, np.nan, X))
    with pytest.raises(ValueError, match="kind"):
        KMeansFeatures(kind="hard").fit(X)
    fm = KMeansFeatures(n_clusters=3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="2 features"):
        fm.transform(np.ones((3, 5)))


def test_pipeline_student_is_not_shared_between_fits(rng):
    pytest.importorskip("sklearn")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X1 = rng.normal(size=(200, 2))
    X2 = rng.normal(size=(200, 2)) * 5 + 3
    student = make_pipeline(StandardScaler(), Ridge(alpha=1e-3))
    d1 = Distiller(_Teacher(), student).fit(X1)
    before = d1.predict(X1[:3])
    Distiller(_Teacher(), student).fit(X2)
    np.testing.assert_array_equal(d1.predict(X1[:3]), before)
    assert not hasattr(student.steps[0][1], "mean_")
