"""The benchmark registry: each task with its fastdistill and baseline callables.

One table shared by the pytest-benchmark suite (``test_bench_*.py``) and by
``report.py``. A task knows how to make its data at two sizes: ``"full"`` (the
size the goals in the issues are stated for) and ``"smoke"`` (tiny, used when
the normal test run executes every benchmark once).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


@dataclass
class Task:
    """One benchmark task: data, our callable, the baseline's, a quality figure."""

    name: str
    family: str
    shapes: dict[str, tuple]
    make_data: Callable[[tuple], dict]
    ours: Callable[[dict], Any]
    baseline: Callable[[dict], Any]
    baseline_name: str = "scikit-learn"
    quality: Callable[[dict, Any], dict] | None = None
    goal: str = ""
    warmup: Callable[[], Any] | None = None
    extra: dict = field(default_factory=dict)
    #: floating-point operations of one call as a function of the shape
    #: (report.py prints fastdistill's GFLOP/s); None: not counted
    flops: Callable[[tuple], float] | None = None
    #: how the shape reads in the label (default: its numbers joined by "x")
    describe: Callable[[tuple], str] | None = None

    def label(self, size: str) -> str:
        shape = self.shapes[size]
        text = self.describe(shape) if self.describe else "x".join(str(s) for s in shape)
        return f"{self.name} {text}"


REGISTRY: dict[str, Task] = {}


def register(task: Task) -> Task:
    REGISTRY[task.name] = task
    return task


def tasks(family: str | None = None) -> list[Task]:
    return [t for t in REGISTRY.values() if family is None or t.family == family]


# ---------------------------------------------------------------- linear

def _regression_data(shape):
    n, d, k = shape
    rng = np.random.default_rng(0)
    X = np.empty((n, d))
    coef = rng.normal(size=(d, k))
    for start in range(0, n, 1 << 16):  # in chunks: no temporary larger than X
        X[start:start + (1 << 16)] = rng.standard_normal((min(1 << 16, n - start), d))
    Y = X @ coef + rng.standard_normal((n, k))
    return {"X": X, "y": Y[:, 0] if k == 1 else Y}


def _r2(data, model):
    return {"r2": float(model.score(data["X"], data["y"]))}


def _fd_linear():
    from fastdistill.linear_model import LinearRegression

    return LinearRegression


def _sk_linear():
    from sklearn.linear_model import LinearRegression

    return LinearRegression


register(Task(
    name="LinearRegression fit, 4 outputs",
    family="linear",
    shapes={"full": (1_000_000, 64, 4), "smoke": (2_000, 8, 4)},
    make_data=_regression_data,
    ours=lambda d: _fd_linear()().fit(d["X"], d["y"]),
    baseline=lambda d: _sk_linear()().fit(d["X"], d["y"]),
    quality=_r2,
    goal=">= 15x faster, peak extra memory < 10% of X",
))


def _sgd_one_epoch(cls, data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch never "converges"
        return cls(max_iter=1, tol=None, random_state=0).fit(data["X"], data["y"])


def _fd_sgd():
    from fastdistill.linear_model import SGDRegressor

    return SGDRegressor


def _sk_sgd():
    from sklearn.linear_model import SGDRegressor

    return SGDRegressor


register(Task(
    name="SGDRegressor one epoch",
    family="linear",
    shapes={"full": (1_000_000, 64, 1), "smoke": (2_000, 8, 1)},
    make_data=_regression_data,
    ours=lambda d: _sgd_one_epoch(_fd_sgd(), d),
    baseline=lambda d: _sgd_one_epoch(_sk_sgd(), d),
    quality=_r2,
    goal=">= 5x faster",
))


def _sk_sgd_per_output(data):
    return [_sgd_one_epoch(_sk_sgd(), {"X": data["X"], "y": data["y"][:, c]})
            for c in range(data["y"].shape[1])]


register(Task(
    name="SGDRegressor one epoch, 4 outputs",
    family="linear",
    shapes={"full": (1_000_000, 64, 4), "smoke": (2_000, 8, 4)},
    make_data=_regression_data,
    ours=lambda d: _sgd_one_epoch(_fd_sgd(), d),
    baseline=_sk_sgd_per_output,
    baseline_name="scikit-learn, one model per output",
    goal="< 2x fastdistill's single-output time",
))


# ----------------------------------------------------------- unsupervised

def _gaussian(shape, dtype=np.float64):
    n, d = shape[:2]
    rng = np.random.default_rng(0)
    X = np.empty((n, d), dtype=dtype)
    for start in range(0, n, 1 << 16):
        X[start:start + (1 << 16)] = rng.standard_normal((min(1 << 16, n - start), d))
    return {"X": X}


def _lloyd_10(lib, data, k):
    """Ten Lloyd iterations from fixed centers (time / 10 = per iteration)."""
    if lib == "fastdistill":
        from fastdistill.cluster import KMeans
    else:
        from sklearn.cluster import KMeans
    X = data["X"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = KMeans(k, init=X[:k], n_init=1, max_iter=10, tol=0).fit(X)
    # tol=0 still stops at strict convergence (no label changed): the flop
    # count below assumes ten iterations on both sides.
    if model.n_iter_ != 10:
        raise RuntimeError(f"{lib} KMeans stopped after {model.n_iter_} iterations, not 10")
    return model


def _inertia(data, model):
    return {"inertia": float(model.inertia_)}


for _k, _dtype in ((256, np.float64), (256, np.float32), (16, np.float64)):
    register(Task(
        name=f"KMeans 10 Lloyd iterations k={_k} {np.dtype(_dtype).name}",
        family="unsupervised",
        shapes={"full": (200_000, 32), "smoke": (2_000, 8)},
        make_data=(lambda dt: (lambda s: _gaussian(s, dt)))(_dtype),
        ours=(lambda k: (lambda d: _lloyd_10("fastdistill", d, k)))(_k),
        baseline=(lambda k: (lambda d: _lloyd_10("sklearn", d, k)))(_k),
        quality=_inertia,
        goal={256: ">= 2x (float32 >= 3x)", 16: ">= 2x"}[_k],
        # nominal: 2 n k d per iteration (x.c products), rows that Hamerly
        # bounds let skip the search still counted (float64 data from k = 32
        # on are searched by a float32 GEMM); the final labelling pass is
        # not counted
        flops=(lambda k: (lambda s: 10 * 2.0 * s[0] * k * s[1]))(_k),
    ))


def _kpp(lib, data):
    X = data["X"]
    k = 64 if X.shape[0] > 10_000 else 8
    if lib == "fastdistill":
        from fastdistill.cluster import kmeans_plusplus
    else:
        from sklearn.cluster import kmeans_plusplus
    return kmeans_plusplus(X, k, random_state=0)


register(Task(
    name="KMeans k-means++ init k=64",
    family="unsupervised",
    shapes={"full": (1_000_000, 32), "smoke": (2_000, 8)},
    make_data=_gaussian,
    ours=lambda d: _kpp("fastdistill", d),
    baseline=lambda d: _kpp("sklearn", d),
    goal=">= 5x faster",
))


def _kmeans_fit(lib, data):
    X = data["X"]
    k = 64 if X.shape[0] > 10_000 else 8
    if lib == "fastdistill":
        from fastdistill.cluster import KMeans
    else:
        from sklearn.cluster import KMeans
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return KMeans(k, n_init=1, max_iter=10, random_state=0).fit(X)


register(Task(
    name="KMeans fit k=64 (k-means++ + 10 iterations), memory",
    family="unsupervised",
    shapes={"full": (1_000_000, 32), "smoke": (2_000, 8)},
    make_data=_gaussian,
    ours=lambda d: _kmeans_fit("fastdistill", d),
    baseline=lambda d: _kmeans_fit("sklearn", d),
    quality=_inertia,
    goal="peak extra memory <= 32 MB",
))


def _pca(lib, data, k, solver):
    X = data["X"]
    k = min(k, X.shape[1] - 1)
    if lib == "fastdistill":
        from fastdistill.decomposition import PCA
    else:
        from sklearn.decomposition import PCA
    return PCA(k, svd_solver=solver, random_state=0).fit(X)


def _pca_auto_flops(shape):
    """The Gram matrix X^T X of the covariance path: one triangle (BLAS syrk).

    n d (d + 1) flops; the d x d eigendecomposition and the mean are not
    counted (under 2% here).
    """
    n, d = shape
    return float(n * d * (d + 1))


def _pca_randomized_flops(shape, k=20, n_oversamples=10):
    """The 2 q + 2 products by A or A^T of n x d x l each (2 n d l flops).

    ``q`` and ``l`` by PCA's 'auto' rules (7 power iterations when k < 10% of
    min(n, d), else 4; l = k + n_oversamples); the LU/QR factorisations, the
    small SVD and the mean/variance pass are not counted (under 1% here).
    """
    n, d = shape
    k = min(k, d - 1)
    q = 7 if k < 0.1 * min(n, d) else 4
    ell = min(k + n_oversamples, n, d)
    return float((2 * q + 2) * 2 * n * d * ell)


def _pca_quality(data, model):
    return {"explained": float(model.explained_variance_ratio_.sum())}


register(Task(
    name="PCA auto -> 16",
    family="unsupervised",
    shapes={"full": (200_000, 256), "smoke": (2_000, 32)},
    make_data=_gaussian,
    ours=lambda d: _pca("fastdistill", d, 16, "auto"),
    baseline=lambda d: _pca("sklearn", d, 16, "auto"),
    quality=_pca_quality,
    goal="<= 1.0x scikit-learn's time",
    flops=_pca_auto_flops,
))

register(Task(
    name="PCA randomized -> 20",
    family="unsupervised",
    shapes={"full": (20_000, 2_000), "smoke": (500, 100)},
    make_data=_gaussian,
    ours=lambda d: _pca("fastdistill", d, 20, "randomized"),
    baseline=lambda d: _pca("sklearn", d, 20, "randomized"),
    quality=_pca_quality,
    goal=">= 3x faster, <= 40 MB extra",
    flops=_pca_randomized_flops,
))


# ---------------------------------------------------------------- distill

def _copy_teacher_to_sklearn(teacher, X, y):
    """A scikit-learn MLPRegressor with exactly the weights of a fastdistill one."""
    from sklearn.neural_network import MLPRegressor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = MLPRegressor(hidden_layer_sizes=teacher.hidden_layer_sizes,
                          activation=teacher.activation, max_iter=1,
                          random_state=0).fit(X[:64], y[:64])
    sk.coefs_ = [np.array(c) for c in teacher.coefs_]
    sk.intercepts_ = [np.array(b) for b in teacher.intercepts_]
    return sk


def _scale_data(shape):
    from fastdistill import MLPRegressor

    n, d = shape
    rng = np.random.default_rng(0)
    X = np.empty((n, d))
    for start in range(0, n, 1 << 16):  # in chunks: no temporary larger than X
        X[start:start + (1 << 16)] = rng.standard_normal((min(1 << 16, n - start), d))
    Xs = X[:2000]
    ys = np.sin(Xs[:, 0]) * Xs[:, 1] + Xs[:, 2] ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        teacher = MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=20, random_state=0).fit(Xs, ys)
    return {"X": X, "teacher": teacher, "sk_teacher": _copy_teacher_to_sklearn(teacher, Xs, ys)}


def _fd_scale(data):
    from fastdistill import Distiller, KMeansFeatures, Ridge

    return Distiller(data["teacher"], Ridge(alpha=1e-3),
                     KMeansFeatures(128, max_iter=20, random_state=0)).fit(data["X"])


def _sk_scale(data):
    """The same pipeline from scikit-learn pieces: teacher, k-means RBF features, ridge.

    Seeded as fastdistill's ``KMeansFeatures`` seeds (``init_size="auto"``):
    k-means++ on a random subsample of ``max(20_000, 256 k)`` rows, then Lloyd
    on every row.
    """
    from sklearn.cluster import KMeans, kmeans_plusplus
    from sklearn.linear_model import Ridge

    X = data["X"]
    T = data["sk_teacher"].predict(X)
    size = min(X.shape[0], max(20_000, 256 * 128))
    sub = np.random.default_rng(0).choice(X.shape[0], size, replace=False)
    centers, _ = kmeans_plusplus(X[np.sort(sub)], 128, random_state=0)
    km = KMeans(128, init=centers, n_init=1, max_iter=20, random_state=0).fit(X)
    s = 2.0 * np.sqrt(km.inertia_ / X.shape[0])
    F = km.transform(X)
    F **= 2
    F *= -0.5 / s**2
    np.exp(F, out=F)
    return {"ridge": Ridge(alpha=1e-3).fit(F, T), "kmeans": km}


register(Task(
    name="Distill: teacher + k-means features k=128 + streamed ridge",
    family="distill",
    shapes={"full": (1_000_000, 32), "smoke": (3_000, 8)},
    make_data=_scale_data,
    ours=_fd_scale,
    baseline=_sk_scale,
    baseline_name="scikit-learn pieces",
    goal=">= 5x faster, peak extra memory < 25% of X",
))


def _student_data(shape):
    from fastdistill import Distiller, LocalLinearRegressor, MLPRegressor
    from fastdistill.datasets import make_friedman1

    n, n_regions = shape
    X, y = make_friedman1(n + 20_000, noise=0.5, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        teacher = MLPRegressor(hidden_layer_sizes=(256, 256), max_iter=30,
                               random_state=0).fit(X[:5000], y[:5000])
    student = Distiller(teacher, LocalLinearRegressor(n_regions, random_state=0)).fit(
        X[n:n + 20_000])
    return {"X": X[:n], "teacher": teacher, "student": student}


register(Task(
    name="Student predict: local linear vs MLP (256, 256) teacher",
    family="distill",
    shapes={"full": (100_000, 32), "smoke": (500, 4)},
    describe=lambda s: f"{s[0]}x10, {s[1]} regions",
    make_data=_student_data,
    ours=lambda d: d["student"].predict(d["X"]),
    baseline=lambda d: d["teacher"].predict(d["X"]),
    baseline_name="the teacher",
    quality=lambda d, _: {"fidelity": float(d["student"].fidelity(d["X"]))},
    goal="student predict >= 10x faster than the teacher",
))


# ----------------------------------------------------------- pytest driver

_DATA_CACHE: dict = {}


def run_benchmark(benchmark, size: str, task: Task, impl: str) -> None:
    """Time one implementation of ``task`` with pytest-benchmark.

    Both implementations of a task get the same data (cached, one data set in
    memory at a time) and the same ``benchmark.group``, so pytest-benchmark
    prints them side by side; fastdistill's JIT is warmed on tiny data first.
    """
    key = (task.name, size)
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        _DATA_CACHE[key] = task.make_data(task.shapes[size])
    data = _DATA_CACHE[key]
    fn = task.ours if impl == "fastdistill" else task.baseline
    fn(task.make_data(task.shapes["smoke"]))  # warm up: JIT compile / imports
    benchmark.group = task.label(size)
    benchmark.extra_info["goal"] = task.goal
    result = benchmark.pedantic(fn, args=(data,), rounds=3 if size == "full" else 1,
                                iterations=1, warmup_rounds=0)
    if task.quality is not None:
        quality = task.quality(data, result)
        benchmark.extra_info.update(quality)
        assert all(v == v for v in quality.values()), "quality figure is NaN"


# ----------------------------------------------------------------- neural

def _mlp_data(shape, dtype=np.float64):
    n, d, k = shape
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d)).astype(dtype)
    if k == 0:  # regression target
        y = (np.sin(X[:, 0]) + X[:, 1] ** 2 - X[:, 2]).astype(dtype)
    else:  # k classes
        y = np.argmax(X[:, :k] + 0.5 * rng.standard_normal((n, k)), axis=1)
    return {"X": X, "y": y}


def _mlp_fit(lib, kind, data, hidden, max_iter, **kw):
    if lib == "fastdistill":
        from fastdistill.neural_network import MLPClassifier, MLPRegressor
    else:
        from sklearn.neural_network import MLPClassifier, MLPRegressor
    cls = MLPRegressor if kind == "reg" else MLPClassifier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(hidden_layer_sizes=hidden, max_iter=max_iter, random_state=0, **kw).fit(
            data["X"], data["y"])


def _score(data, model):
    return {"score": float(model.score(data["X"], data["y"]))}


for _hidden, _goal, _dtype in (((10,), ">= 20x", np.float64), ((64,), ">= 8x", np.float64),
                               ((256, 256), ">= 2.5x", np.float64),
                               ((256, 256), ">= 4x", np.float32)):
    register(Task(
        name=f"MLPRegressor {_hidden} one adam epoch {np.dtype(_dtype).name}",
        family="neural",
        shapes={"full": (100_000, 20, 0), "smoke": (500, 20, 0)},
        make_data=(lambda dt: (lambda s: _mlp_data(s, dt)))(_dtype),
        ours=(lambda h: (lambda d: _mlp_fit("fastdistill", "reg", d, h, 1)))(_hidden),
        baseline=(lambda h: (lambda d: _mlp_fit("sklearn", "reg", d, h, 1)))(_hidden),
        quality=_score,
        goal=_goal,
    ))

register(Task(
    name="MLPClassifier (64,) one adam epoch, 10 classes",
    family="neural",
    shapes={"full": (50_000, 50, 10), "smoke": (500, 50, 10)},
    make_data=_mlp_data,
    ours=lambda d: _mlp_fit("fastdistill", "clf", d, (64,), 1),
    baseline=lambda d: _mlp_fit("sklearn", "clf", d, (64,), 1),
    quality=_score,
    goal=">= 6x",
))


def _seed_data(shape):
    from fastdistill.datasets import make_seed_regression

    X, y = make_seed_regression(shape[0], random_state=0)
    return {"X": X, "y": y}


register(Task(
    name="MLPRegressor seed example (10,) max_iter=1000",
    family="neural",
    shapes={"full": (80,), "smoke": (80,)},
    make_data=_seed_data,
    ours=lambda d: _mlp_fit("fastdistill", "reg", d, (10,), 1000),
    baseline=lambda d: _mlp_fit("sklearn", "reg", d, (10,), 1000),
    quality=_score,
    goal=">= 10x after the first (cached) compile",
))


# -------------------------------------------------------------------- som

def _som_data(shape):
    n, d = shape[:2]
    return {"X": np.random.default_rng(0).uniform(size=(n, d))}


def _som_fit(lib, data, mode, side, epochs=5):
    X = data["X"]
    if lib == "fastdistill":
        from fastdistill import SOM

        kw = {"n_epochs": epochs} if mode == "batch" else {"num_iterations": epochs * X.shape[0]}
        return SOM(side, side, sigma=side / 4, mode=mode, init="sample", random_state=0,
                   **kw).fit(X)
    from minisom import MiniSom

    som = MiniSom(side, side, X.shape[1], sigma=side / 4, learning_rate=0.5, random_seed=0)
    som.random_weights_init(X)
    if mode == "batch":
        som.train_batch_offline(X, epochs)
    else:
        som.train_random(X, epochs * X.shape[0])
    return som


def _qe(data, model):
    return {"quantization_error": float(model.quantization_error(data["X"]))}


for _mode, _goal in (("batch", ">= 100x MiniSom's samples/s"), ("online", ">= 20x")):
    register(Task(
        name=f"SOM 20x20 five {_mode} epochs",
        family="som",
        shapes={"full": (50_000, 16), "smoke": (500, 16)},
        make_data=_som_data,
        ours=(lambda md: (lambda d: _som_fit("fastdistill", d, md, 20)))(_mode),
        baseline=(lambda md: (lambda d: _som_fit("minisom", d, md, 20)))(_mode),
        baseline_name="MiniSom",
        quality=_qe,
        goal=_goal,
    ))

register(Task(
    name="SOM 50x50 one batch epoch",
    family="som",
    shapes={"full": (200_000, 64), "smoke": (500, 64)},
    make_data=_som_data,
    ours=lambda d: _som_fit("fastdistill", d, "batch", 50, 1),
    baseline=lambda d: _som_fit("minisom", d, "batch", 50, 1),
    baseline_name="MiniSom",
    goal="report GFLOP/s",
))


# ------------------------------------------------------------------ patch

def _run_sklearn_script(data, patched: bool):
    """Run benchmarks/sklearn_script.py unchanged, as ``__main__``; return its results."""
    import contextlib
    import io
    import logging
    import runpy
    import sys
    from pathlib import Path

    script = str(Path(__file__).with_name("sklearn_script.py"))
    if patched:
        from fastdistill.patch import patched as context
    else:
        context = contextlib.nullcontext

    class _Dispatches(logging.Handler):
        def __init__(self):
            super().__init__(logging.INFO)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    # Every patched call logs where it ran: collect them to check that no
    # step of the patched run silently fell back to scikit-learn.
    seen = _Dispatches()
    logger = logging.getLogger("fastdistill.patch")
    level = logger.level
    logger.addHandler(seen)
    logger.setLevel(logging.INFO)
    argv = sys.argv
    sys.argv = [script, str(data["n_samples"])]
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), context():
            warnings.simplefilter("ignore")  # the MLP's ten epochs do not converge
            results = runpy.run_path(script, run_name="__main__")["results"]
    finally:
        sys.argv = argv
        logger.removeHandler(seen)
        logger.setLevel(level)
    if patched:
        ran = [m for m in seen.messages if " ran on " in m]
        calls = [m.split(" ran on ")[0].split(".") for m in ran]  # [class, method]
        fits = {cls for cls, method in calls if method.startswith("fit")}
        assert fits >= {"PCA", "KMeans", "LinearRegression", "MLPRegressor"}, ran
        assert all(" ran on fastdistill" in m for m in ran), ran
    return results


register(Task(
    name="scikit-learn script (PCA, KMeans, LinearRegression, MLP) patched",
    family="patch",
    shapes={"full": (200_000, 32), "smoke": (2_000, 32)},
    make_data=lambda shape: {"n_samples": shape[0]},
    ours=lambda d: _run_sklearn_script(d, True),
    baseline=lambda d: _run_sklearn_script(d, False),
    baseline_name="scikit-learn, unpatched",
    quality=lambda data, results: results,
    goal="report the end-to-end speed-up",
))
