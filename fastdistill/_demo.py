"""The ``fastdistill demo`` job: distillation with unsupervised learning, on built-in data."""

from __future__ import annotations

import time
import warnings
from typing import Callable, TextIO

import numpy as np

from ._table import format_table
from .datasets import make_friedman1, make_seed_regression

__all__ = ["run_demo"]


def _timed(fn: Callable[[], object]) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _sklearn():
    try:
        import sklearn.linear_model
        import sklearn.neural_network
    except ImportError:
        return None
    return sklearn


def _mse(a, b) -> float:
    return float(np.mean((np.asarray(a) - np.asarray(b)) ** 2))


def _r2(y, p) -> float:
    from ._metrics import r2_score

    return r2_score(y, p)


def _warm_up(MLPRegressor, LinearRegression, Ridge, Distiller, KMeansFeatures,
             LocalLinearRegressor) -> None:
    """Load every kernel of the demo from the cache (tiny fits, nothing printed).

    64 prototypes, as :func:`~fastdistill._warmup.warm_clustering` uses: the
    paths of 32 clusters and more, which the demo's 64 and 128 take. With 4
    (as before) the fits took the small-k Lloyd pass, which the demo never
    uses and the prewarm did not compile: 9 s of compilation on a cold cache.
    """
    X, y = make_seed_regression(512, random_state=0)
    teacher = MLPRegressor(hidden_layer_sizes=(4, 4), max_iter=2, random_state=0).fit(X, y)
    LinearRegression().fit(X, y)
    Distiller(teacher, Ridge(), KMeansFeatures(n_clusters=64, random_state=0)).fit(X)
    Distiller(teacher, LocalLinearRegressor(64, random_state=0)).fit(X).predict(X)


def run_demo(out: TextIO, *, n_unlabeled: int = 20_000) -> int:
    """Run the demo and print what it did.

    Parameters
    ----------
    out : file-like
        Where to write.
    n_unlabeled : int, default=20_000
        Unlabeled rows of part 2.

    Returns
    -------
    status : int
        0 on success.
    """
    # A demo: convergence chatter is not the point; silenced for the demo
    # only, not for the process that calls it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _run_demo(out, n_unlabeled=n_unlabeled)


def _run_demo(out: TextIO, *, n_unlabeled: int) -> int:
    from .distill import Distiller, KMeansFeatures, LocalLinearRegressor
    from .linear_model import LinearRegression, Ridge
    from .neural_network import MLPRegressor

    sk = _sklearn()
    say = lambda *a: print(*a, file=out, flush=True)  # noqa: E731

    say("fastdistill demo - distill a neural network into fast students")
    say("")
    say("[0/2] Preparing the compiled kernels (compiled on the first run, 25-30 s,")
    say("      then loaded from the on-disk cache) ...")
    def warm():
        from ._warmup import demo_groups, prewarm

        prewarm(*demo_groups())  # cold cache: compile on every core, into the cache
        _warm_up(MLPRegressor, LinearRegression, Ridge, Distiller, KMeansFeatures,
                 LocalLinearRegressor)

    _, t_warm = _timed(warm)
    say(f"      ready in {t_warm:.1f} s")
    say("")
    say("[1/2] Seed example: y = 1.5*x0 - 0.5*x1 + noise, 100 training points")
    say("      teacher: MLP (10,) on the labels; student: linear model on the teacher's outputs")
    X, y = make_seed_regression(300, noise=0.1, random_state=0)
    Xtr, ytr, Xte, yte = X[:100], y[:100], X[100:], y[100:]
    rows = []
    libs = [("fastdistill", MLPRegressor, LinearRegression)]
    if sk is not None:
        libs.append(("scikit-learn", sk.neural_network.MLPRegressor,
                     sk.linear_model.LinearRegression))
    for name, mlp, lin in libs:
        say(f"  {name}: training the teacher ...")
        make_teacher = lambda: mlp(hidden_layer_sizes=(10,), max_iter=1000,  # noqa: E731
                                   random_state=0)
        make_teacher().fit(Xtr, ytr)  # warm-up (compile or load the kernels)
        teacher, t_teacher = _timed(lambda: make_teacher().fit(Xtr, ytr))
        student, t_student = _timed(lambda: lin().fit(Xtr, teacher.predict(Xtr)))
        rows.append([name, _mse(teacher.predict(Xte), yte), _mse(student.predict(Xte), yte),
                     np.array2string(student.coef_, precision=3), t_teacher * 1e3,
                     t_student * 1e3])
    say(format_table(["library", "teacher test MSE", "student test MSE", "student coef",
                      "teacher fit ms", "student fit ms"], rows))
    say("")
    say("[2/2] Nonlinear problem (Friedman #1, 10 features): a linear student is poor;")
    say("      k-means features or local linear regions learned from unlabeled data")
    say("      recover the teacher")
    Xall, yall = make_friedman1(3000 + n_unlabeled + 5000, noise=0.5, random_state=1)
    mu, sd = Xall.mean(0), Xall.std(0)
    Xall = (Xall - mu) / sd
    ym, ys = yall.mean(), yall.std()
    yall = (yall - ym) / ys
    XL, yL = Xall[:3000], yall[:3000]
    XU = Xall[3000:3000 + n_unlabeled]
    XT, yT = Xall[3000 + n_unlabeled:], yall[3000 + n_unlabeled:]
    say("  training the teacher: MLP (64, 64) on 3,000 labeled rows ...")
    teacher, t_teacher = _timed(lambda: MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=300,
                                                     random_state=0).fit(XL, yL))
    teacher_pred = teacher.predict(XT)
    rows = [["teacher MLP (64, 64)", "-", _r2(yT, teacher_pred), t_teacher]]
    students = [
        ("student: linear, raw features", Ridge(alpha=1e-3), None),
        ("student: linear, 128 k-means RBF features", Ridge(alpha=1e-3),
         KMeansFeatures(n_clusters=128, random_state=0)),
        ("student: local linear, 64 k-means regions, soft gating",
         LocalLinearRegressor(64, random_state=0), None),
    ]
    for name, student, features in students:
        say(f"  distilling {name.split(': ')[1]} over {n_unlabeled:,} unlabeled rows ...")
        d, t_fit = _timed(lambda: Distiller(teacher, student, features).fit(XU))
        rows.append([name, d.fidelity(XT), _r2(yT, d.predict(XT)), t_fit])
    say(format_table(["model", "fidelity R2 (vs teacher)", "test R2 (vs truth)", "fit s"], rows))
    say("")
    say("  report of the local linear student on the test rows:")
    say("  " + str(d.report(XT, yT)).replace("\n", "\n  "))
    say("")
    say("Done. Fidelity is how well the student reproduces the teacher on unseen rows.")
    return 0
