"""Quality goals of distillation with unsupervised learning, with fixed seeds.

The same goals at their full stated size are measured by
``benchmarks/distill_quality.py``; here the data are smaller (so the suite
stays fast) and every threshold is the issue's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from fastdistill import MLPClassifier, MLPRegressor, Ridge
from fastdistill._metrics import r2_score
from fastdistill.distill import Distiller, KMeansFeatures, LocalLinearRegressor, SOMFeatures

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from distill_quality import friedman_split  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning"),
]


@pytest.fixture(scope="module")
def friedman():
    (XL, yL), XU, (XT, yT) = friedman_split(5_000, 20_000, 5_000)
    teacher = MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=200,
                           random_state=0).fit(XL, yL)
    return teacher, (XL, yL), XU, (XT, yT)


def test_raw_linear_student_is_poor_local_student_is_faithful(friedman):
    teacher, (XL, yL), XU, (XT, yT) = friedman
    assert r2_score(yT, teacher.predict(XT)) > 0.95
    raw = Distiller(teacher, Ridge(alpha=1e-3)).fit(XU, XL)
    assert raw.fidelity(XT) < 0.8
    # The goal: fidelity >= 0.95 with at most 128 regions (here 64).
    local = Distiller(teacher, LocalLinearRegressor(64, random_state=0)).fit(XU, XL)
    assert local.fidelity(XT) >= 0.95
    rbf = Distiller(teacher, Ridge(alpha=1e-3), KMeansFeatures(128, random_state=0)).fit(XU, XL)
    assert raw.fidelity(XT) < rbf.fidelity(XT) < local.fidelity(XT)


def test_semi_supervised_student_beats_labels_alone(friedman):
    _, (XL, yL), XU, (XT, yT) = friedman
    XL, yL = XL[:500], yL[:500]  # a teacher that saw 500 labels only
    teacher = MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=2000,
                           random_state=0).fit(XL, yL)
    t_r2 = r2_score(yT, teacher.predict(XT))
    distilled = Distiller(teacher, LocalLinearRegressor(16, random_state=0)).fit(XU, XL, yL)
    alone = LocalLinearRegressor(16, random_state=0).fit(XL, yL)
    d_r2 = r2_score(yT, distilled.predict(XT))
    assert d_r2 > r2_score(yT, alone.predict(XT))
    assert d_r2 > t_r2 - 0.03


def test_digits_linear_student_on_logits_agrees_with_teacher():
    datasets = pytest.importorskip("sklearn.datasets")
    model_selection = pytest.importorskip("sklearn.model_selection")
    X, y = datasets.load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = model_selection.train_test_split(X / 16.0, y, test_size=0.25,
                                                          random_state=0)
    teacher = MLPClassifier((64,), max_iter=500, random_state=0).fit(Xtr, ytr)
    student = Distiller(teacher, Ridge(alpha=1e-3)).fit(Xtr)
    assert student.target_ == "logits"
    assert student.fidelity(Xte) >= 0.98
    # The student is linear: far fewer parameters than the teacher.
    rep = student.report(Xte, yte, n_repeats=1)
    assert rep["student_params"] == 64 * 10 + 10
    assert rep["agreement"] == pytest.approx(student.fidelity(Xte))


def test_same_seed_same_student(friedman):
    teacher, _, XU, (XT, _) = friedman
    a = Distiller(teacher, LocalLinearRegressor(16, random_state=0)).fit(XU[:5000])
    b = Distiller(teacher, LocalLinearRegressor(16, random_state=0)).fit(XU[:5000])
    np.testing.assert_array_equal(a.predict(XT), b.predict(XT))


def test_cluster_coverage_needs_fewer_teacher_queries_than_random(friedman):
    teacher, _, XU, (XT, _) = friedman
    d = Distiller(teacher, Ridge(alpha=1e-3), KMeansFeatures(128, random_state=0),
                  random_state=0)
    curve = d.budget_curve(XU, XT, [200, 300, 450])
    need = curve.queries_to_reach(0.95)
    assert need["kmeans"] is not None
    assert need["random"] is None or need["kmeans"] < need["random"], str(curve)
    fid = {(r["strategy"], r["queries"]): r["fidelity"] for r in curve.rows}
    assert all(fid["kmeans", q] > fid["random", q] for q in (200, 300, 450)), str(curve)


@pytest.mark.parametrize("n_features", [64, 128])
def test_features_in_teacher_metric_beat_kernel_approximations(friedman, n_features):
    """k-means and SOM features beat Nystroem and random Fourier features.

    Same ridge student, same transfer rows, equal number of features; the
    baselines at scikit-learn's default width and at the median heuristic.
    """
    ka = pytest.importorskip("sklearn.kernel_approximation")
    teacher, (XL, _), XU, (XT, _) = friedman
    R = np.vstack([XU, XL])
    T, TT = teacher.predict(R), teacher.predict(XT)
    sub = R[np.random.default_rng(0).choice(len(R), 1000, replace=False)]
    median = float(np.median(((sub[:, None] - sub[None]) ** 2).sum(-1)))
    best_baseline = 0.0
    for gamma in (1.0 / R.shape[1], 1.0 / median):
        for cls in (ka.Nystroem, ka.RBFSampler):
            fmap = cls(gamma=gamma, n_components=n_features, random_state=0).fit(R)
            st = Ridge(alpha=1e-3).fit(fmap.transform(R), T)
            best_baseline = max(best_baseline, r2_score(TT, st.predict(fmap.transform(XT))))
    for fmap in (KMeansFeatures(n_features, random_state=0),
                 SOMFeatures(8, n_features // 8, random_state=0)):
        d = Distiller(teacher, Ridge(alpha=1e-3), fmap, metric="teacher",
                      random_state=0).fit(XU, XL)
        assert d.fidelity(XT) > best_baseline + 0.02, (type(fmap).__name__, best_baseline)
