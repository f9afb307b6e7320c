"""Quality goals of distillation with unsupervised learning (issue 6), at full size.

Prints one table per goal:

1. Friedman #1 (noise 0.5; 10,000 labeled, 40,000 unlabeled, 10,000 test rows,
   standardised), MLP (64, 64) teacher: fidelity of each student with at most
   128 centroids/regions.
2. Semi-supervised: a teacher trained on 500 labeled rows; the student
   distilled over the unlabeled rows against the same student trained on the
   500 labels alone.
3. Digits (scikit-learn's bundled set, 3 splits): agreement of a linear
   student on the teacher's logits with an MLP teacher on held-out digits.
4. Feature maps at an equal number of features (64 and 128): k-means and SOM
   features (in the input space as given, and in the teacher's metric,
   ``Distiller(metric="teacher")``) against random Fourier features and a
   Nystroem map (scikit-learn's ``RBFSampler``/``Nystroem``), all with the
   same ridge student; plus Nystroem on the teacher-metric inputs, to show
   where the gain comes from. 4b: k-means against Nystroem on equal terms
   (both on the teacher-metric inputs, each width tuned on held-out
   transfer rows).
5. Budgeted teacher: ``Distiller.budget_curve``, cluster coverage against
   random subsets.

Run: ``python benchmarks/distill_quality.py`` (about a minute on 2 cores).
The same goals, on smaller data, are tests in ``tests/test_distill_quality.py``.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from fastdistill import MLPClassifier, MLPRegressor, Ridge
from fastdistill._metrics import r2_score
from fastdistill._table import format_table
from fastdistill.datasets import make_friedman1
from fastdistill.distill import (
    Distiller,
    KMeansFeatures,
    LocalLinearRegressor,
    PCAFeatures,
    SOMFeatures,
    TeacherMetric,
)


def friedman_split(n_labeled=10_000, n_unlabeled=40_000, n_test=10_000, seed=0):
    """Standardised Friedman #1 rows: labeled, unlabeled and test parts."""
    X, y = make_friedman1(n_labeled + n_unlabeled + n_test, noise=0.5, random_state=seed)
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    a, b = n_labeled, n_labeled + n_unlabeled
    return (X[:a], y[:a]), X[a:b], (X[b:], y[b:])


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def friedman_table(say) -> None:
    (XL, yL), XU, (XT, yT) = friedman_split()
    teacher, t = _timed(lambda: MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=200,
                                             random_state=0).fit(XL, yL))
    say(f"teacher MLP (64, 64): test R2 {r2_score(yT, teacher.predict(XT)):.4f}, "
        f"trained in {t:.1f} s")
    students = [
        ("linear, raw features", Ridge(alpha=1e-3), None),
        ("ridge on 128 k-means RBF features", Ridge(alpha=1e-3),
         KMeansFeatures(128, random_state=0)),
        ("same, in the teacher's metric", Ridge(alpha=1e-3),
         ("metric", KMeansFeatures(128, random_state=0))),
        ("ridge on 100 SOM (10x10) features", Ridge(alpha=1e-3),
         SOMFeatures(10, 10, random_state=0)),
        ("ridge on quadratic PCA features (10 comp.)", Ridge(alpha=1e-3),
         PCAFeatures(10, degree=2)),
        ("local linear, 32 k-means regions, soft", LocalLinearRegressor(32, random_state=0),
         None),
        ("local linear, 128 k-means regions, hard",
         LocalLinearRegressor(128, gating="hard", random_state=0), None),
        ("local linear, 128 k-means regions, soft", LocalLinearRegressor(128, random_state=0),
         None),
        ("local linear, 100 SOM regions, soft",
         LocalLinearRegressor(100, partition="som", random_state=0), None),
    ]
    rows = []
    for name, student, features in students:
        metric = None
        if isinstance(features, tuple):
            metric, features = "teacher", features[1]
        d, t = _timed(lambda s=student, f=features, m=metric: Distiller(
            teacher, s, f, metric=m, random_state=0).fit(XU, XL))
        rows.append([name, d.fidelity(XT), r2_score(yT, d.predict(XT)), t])
    say(format_table(["student", "fidelity R2", "test R2", "fit s"], rows))


def semi_supervised_table(say) -> None:
    (XL, yL), XU, (XT, yT) = friedman_split(n_labeled=500, n_unlabeled=40_000)
    teacher = MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=2000,
                           random_state=0).fit(XL, yL)
    rows = [["teacher MLP (64, 64) on the 500 labels", r2_score(yT, teacher.predict(XT)), "-"]]
    for k in (64, 16, 4):
        d = Distiller(teacher, LocalLinearRegressor(k, random_state=0)).fit(XU, XL, yL)
        alone = LocalLinearRegressor(k, random_state=0).fit(XL, yL)
        rows.append([f"local linear, {k} regions, distilled over 40,000 unlabeled rows",
                     r2_score(yT, d.predict(XT)), d.fidelity(XT)])
        rows.append([f"local linear, {k} regions, on the 500 labels alone",
                     r2_score(yT, alone.predict(XT)), "-"])
    d = Distiller(teacher, Ridge(alpha=1e-3), KMeansFeatures(128, random_state=0)).fit(
        XU, XL, yL)
    fm = KMeansFeatures(128, random_state=0).fit(XL)
    alone = Ridge(alpha=1e-3).fit(fm.transform(XL), yL)
    rows.append(["ridge on 128 k-means features, distilled over 40,000 unlabeled rows",
                 r2_score(yT, d.predict(XT)), d.fidelity(XT)])
    rows.append(["ridge on 128 k-means features, on the 500 labels alone",
                 r2_score(yT, alone.predict(fm.transform(XT))), "-"])
    say(format_table(["model", "test R2", "fidelity R2"], rows))


def digits_table(say) -> None:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    rows = []
    for seed in (0, 1, 2):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed)
        teacher = MLPClassifier((64,), max_iter=500, random_state=0).fit(Xtr, ytr)
        d = Distiller(teacher, Ridge(alpha=1e-3)).fit(Xtr)
        rows.append([seed, teacher.score(Xte, yte), d.score(Xte, yte), d.fidelity(Xte)])
    say(format_table(["split seed", "teacher accuracy", "linear student accuracy",
                      "agreement with teacher"], rows))


def _manifold_and_blobs(n, seed=0):
    """Two inputs with structure: a 3-D curved manifold in 10-D, and 16 Gaussian blobs."""
    rng, fixed = np.random.default_rng(seed), np.random.default_rng(42)
    t = rng.uniform(-1, 1, size=(n, 3))
    A = fixed.normal(size=(6, 10))
    lift = np.column_stack([np.sin(2 * t[:, 0]), np.cos(2 * t[:, 0]), t[:, 1], t[:, 1] * t[:, 2],
                            np.sin(3 * t[:, 2]), t[:, 0] * t[:, 1]])
    Xm = lift @ A + 0.05 * rng.normal(size=(n, 10))
    ym = np.sin(3 * t[:, 0]) * t[:, 1] + t[:, 2] ** 2
    C = fixed.uniform(-3, 3, size=(16, 10))
    Xb = C[rng.integers(0, 16, n)] + 0.6 * rng.normal(size=(n, 10))
    yb = np.sin(Xb[:, 0]) * Xb[:, 1] + np.cos(Xb[:, 2] * Xb[:, 3]) + 0.1 * Xb[:, 4] ** 2
    out = []
    for X, y in ((Xm, ym), (Xb, yb)):
        X = (X - X.mean(0)) / X.std(0)
        out.append(((X[:10_000], y[:10_000]), X[10_000:50_000], (X[50_000:], y[50_000:])))
    return out


def _feature_map_problems():
    """The three inputs of the feature-map tables, each with its trained teacher.

    Yields ``(name, teacher, X_labeled, X_unlabeled, X_test)``.
    """
    manifold, blobs = _manifold_and_blobs(60_000)
    for name, ((XL, yL), XU, (XT, _)) in [("Friedman #1 (uniform cube)", friedman_split()),
                                         ("3-D manifold in 10-D", manifold),
                                         ("16 Gaussian blobs in 10-D", blobs)]:
        teacher = MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=200,
                               random_state=0).fit(XL, yL)
        yield name, teacher, XL, XU, XT


def feature_maps_table(say) -> None:
    from sklearn.kernel_approximation import Nystroem, RBFSampler

    rows = []
    for data_name, teacher, XL, XU, XT in _feature_map_problems():
        R = np.vstack([XU, XL])
        T = teacher.predict(R)
        TT = teacher.predict(XT)
        # Kernel widths of the baselines, chosen without looking at the test rows:
        # scikit-learn's default (gamma = 1 / n_features) and the median heuristic.
        sub = R[np.random.default_rng(0).choice(len(R), 1000, replace=False)]
        med = float(np.median(((sub[:, None] - sub[None]) ** 2).sum(-1)))
        for n_feat in (64, 128):
            k = max(2, round(n_feat / (R.shape[1] + 1)))
            maps = [
                ("k-means RBF (fastdistill)", KMeansFeatures(n_feat, random_state=0)),
                (f"SOM {8}x{n_feat // 8} RBF (fastdistill)",
                 SOMFeatures(8, n_feat // 8, random_state=0)),
                ("k-means RBF, teacher metric (fastdistill)",
                 ("metric", KMeansFeatures(n_feat, random_state=0))),
                (f"SOM {8}x{n_feat // 8} RBF, teacher metric (fastdistill)",
                 ("metric", SOMFeatures(8, n_feat // 8, random_state=0))),
                (f"gated local-linear, {k} k-means regions (fastdistill)", None),
            ]
            for gname, g in (("default", 1.0 / R.shape[1]), ("median", 1.0 / med)):
                maps.append((f"Nystroem gamma={gname} (scikit-learn)",
                             Nystroem(gamma=g, n_components=n_feat, random_state=0)))
                maps.append((f"RBFSampler gamma={gname} (scikit-learn)",
                             RBFSampler(gamma=g, n_components=n_feat, random_state=0)))
            # Where the gain comes from: scikit-learn's Nystroem map on the same
            # teacher-metric inputs (not a baseline of the goal, shown for honesty).
            maps.append(("Nystroem gamma=default on the teacher metric",
                         ("nystroem-metric",
                          Nystroem(gamma=1.0 / R.shape[1], n_components=n_feat,
                                   random_state=0))))
            for name, fmap in maps:
                if fmap is None:  # ridge on the gated design: the local linear student
                    model = LocalLinearRegressor(k, random_state=0).fit(R, T)
                    fid, width = r2_score(TT, model.predict(XT)), k * (R.shape[1] + 1)
                elif isinstance(fmap, tuple) and fmap[0] == "metric":
                    d = Distiller(teacher, Ridge(alpha=1e-3), fmap[1], metric="teacher",
                                  random_state=0).fit(XU, XL)
                    fid, width = d.fidelity(XT), n_feat
                elif isinstance(fmap, tuple):
                    tm = TeacherMetric(teacher, random_state=0).fit(R)
                    fmap[1].fit(tm.transform(R))
                    st = Ridge(alpha=1e-3).fit(fmap[1].transform(tm.transform(R)), T)
                    fid = r2_score(TT, st.predict(fmap[1].transform(tm.transform(XT))))
                    width = n_feat
                else:
                    fmap.fit(R)
                    st = Ridge(alpha=1e-3).fit(fmap.transform(R), T)
                    fid, width = r2_score(TT, st.predict(fmap.transform(XT))), n_feat
                rows.append([data_name, name, width, fid])
    say(format_table(["data", "feature map", "features", "fidelity R2 (same ridge student)"],
                     rows))


def tuned_feature_maps_table(say) -> None:
    """k-means RBF against Nystroem on equal terms: same teacher-metric inputs, tuned widths.

    Each map's width is chosen from a small grid by fidelity on a held-out
    fifth of the transfer rows (never the test rows), the map and the ridge
    student are then refitted on all transfer rows.
    """
    from sklearn.kernel_approximation import Nystroem

    rows = []
    for data_name, teacher, XL, XU, XT in _feature_map_problems():
        R = np.vstack([XU, XL])
        metric = TeacherMetric(teacher, random_state=0).fit(R)
        Z, ZT = metric.transform(R), metric.transform(XT)
        T, TT = teacher.predict(R), teacher.predict(XT)
        cut = Z.shape[0] * 4 // 5
        for n_feat in (64, 128):
            makers = {
                "k-means RBF (fastdistill)": [
                    (f"bandwidth_scale={b}", lambda b=b, k=n_feat: KMeansFeatures(
                        k, bandwidth_scale=b, random_state=0)) for b in (1.5, 2, 3, 4)],
                "Nystroem (scikit-learn)": [
                    (f"gamma={g}", lambda g=g, k=n_feat: Nystroem(gamma=g, n_components=k,
                                                                  random_state=0))
                    for g in (0.01, 0.03, 0.1, 0.3)],
            }
            for name, grid in makers.items():
                def fidelity(make, A, tA, B, tB):
                    fmap = make().fit(A)
                    st = Ridge(alpha=1e-3).fit(fmap.transform(A), tA)
                    return r2_score(tB, st.predict(fmap.transform(B)))

                held = [fidelity(make, Z[:cut], T[:cut], Z[cut:], T[cut:]) for _, make in grid]
                best = int(np.argmax(held))
                rows.append([data_name, name, n_feat, grid[best][0], held[best],
                             fidelity(grid[best][1], Z, T, ZT, TT)])
    say(format_table(["data", "feature map", "features", "chosen width",
                      "held-out fidelity", "test fidelity R2"], rows))


def budget_table(say) -> None:
    (XL, yL), XU, (XT, _) = friedman_split()
    teacher = MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=200,
                           random_state=0).fit(XL, yL)
    d = Distiller(teacher, Ridge(alpha=1e-3), KMeansFeatures(128, random_state=0),
                  random_state=0)
    curve = d.budget_curve(XU, XT, [250, 300, 350, 400, 500, 1000, 2000])
    say(curve)


def main() -> int:
    warnings.simplefilter("ignore")
    say = lambda *a: print(*a, flush=True)  # noqa: E731
    for title, fn in [("1. Friedman #1: fidelity with <= 128 centroids/regions", friedman_table),
                      ("2. Semi-supervised: 500 labels + 40,000 unlabeled rows",
                       semi_supervised_table),
                      ("3. Digits: linear student on teacher logits", digits_table),
                      ("4. Feature maps at 64 and 128 features, same ridge student",
                       feature_maps_table),
                      ("4b. Equal terms: the same teacher-metric inputs, widths tuned on "
                       "held-out transfer rows", tuned_feature_maps_table),
                      ("5. Budgeted teacher: fidelity against teacher queries (one seed; "
                       "benchmarks/budget_curve.py averages seeds)", budget_table)]:
        say(f"\n== {title}")
        fn(say)
    return 0


if __name__ == "__main__":
    sys.exit(main())
