"""Threads, determinism across thread counts, caching and cold start.

Several tests start a fresh Python process, the only way to see import-time
behaviour, a different Numba thread count, or another cache location.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fastdistill
from fastdistill.linear_model import LinearRegression, SGDRegressor

ROOT = Path(fastdistill.__file__).resolve().parent.parent


def _run(code: str, env_extra: dict | None = None, timeout: int = 600,
         default_cache: bool = False) -> str:
    """Run ``code`` in a fresh Python process and return its standard output.

    The process shares this run's kernel cache (``NUMBA_CACHE_DIR``), so it
    mostly loads kernels, unless ``default_cache``: then Numba picks its own
    default location (next to the package, or the user cache folder).
    """
    env = dict(os.environ)
    if default_cache:
        env.pop("NUMBA_CACHE_DIR", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=str(ROOT),
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


FIT_AND_PRINT = """
    import numpy as np
    from fastdistill.linear_model import LinearRegression
    rng = np.random.default_rng(42)
    X = rng.normal(size=(30000, 8)) + 3.0
    y = X @ np.arange(8.0) + rng.normal(size=30000)
    m = LinearRegression().fit(X, y)
    print(np.concatenate([m.coef_, [m.intercept_]]).tobytes().hex())
"""


def test_set_num_threads_validation_and_context():
    n0 = fastdistill.get_num_threads()
    with fastdistill.num_threads(1):
        assert fastdistill.get_num_threads() == 1
    assert fastdistill.get_num_threads() == n0
    with pytest.raises(ValueError, match="between 1 and"):
        fastdistill.set_num_threads(0)
    with pytest.raises(ValueError, match="NUMBA_NUM_THREADS"):
        fastdistill.set_num_threads(10_000)
    with pytest.raises(TypeError):
        fastdistill.set_num_threads(1.5)
    with pytest.raises(RuntimeError):
        with fastdistill.num_threads(1):
            raise RuntimeError("restored even on error")
    assert fastdistill.get_num_threads() == n0


def test_results_bit_identical_across_thread_counts(rng):
    X = rng.normal(size=(20000, 6)) + 10.0
    y = X @ rng.normal(size=(6, 2))
    out = []
    for n in sorted({1, fastdistill.get_num_threads()}):
        with fastdistill.num_threads(n):
            m = LinearRegression().fit(X, y)
            out.append((m.coef_.copy(), m.intercept_.copy()))
    for coef, b in out[1:]:
        np.testing.assert_array_equal(coef, out[0][0])
        np.testing.assert_array_equal(b, out[0][1])


def test_blas_limited_inside_parallel_region():
    pytest.importorskip("threadpoolctl")
    from threadpoolctl import threadpool_info

    from fastdistill._threads import blas_region, parallel_region

    with parallel_region():
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    with fastdistill.num_threads(1), blas_region():
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")


def test_other_thread_count_process_gives_same_result():
    here = _run(FIT_AND_PRINT)
    one = _run(FIT_AND_PRINT, {"NUMBA_NUM_THREADS": "1"})
    assert here == one


def test_import_is_cheap_and_compiles_nothing():
    out = _run("""
        import sys, fastdistill
        from fastdistill import set_num_threads
        print('numba' in sys.modules, 'sklearn' in sys.modules, 'scipy' in sys.modules)
    """)
    assert out.split() == ["False", "False", "False"]


def test_works_without_sklearn():
    out = _run("""
        import sys, importlib.abc
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "sklearn" or name.startswith("sklearn."):
                    raise ImportError("blocked for this test")
        sys.meta_path.insert(0, Block())
        import numpy as np
        import fastdistill
        from fastdistill import LinearRegression, Ridge, SGDRegressor, NotFittedError
        rng = np.random.default_rng(0)
        X = rng.normal(size=(200, 3)); y = X @ np.array([1.0, 2.0, 3.0])
        for m in (LinearRegression(), Ridge(alpha=1e-6), SGDRegressor(random_state=0)):
            assert m.fit(X, y).score(X, y) > 0.99, m
        try:
            Ridge().predict(X)
        except NotFittedError:
            pass
        print("sklearn" in sys.modules)
    """)
    assert out.strip() == "False"


def test_every_estimator_family_works_without_sklearn():
    # Same kernel cache as the rest of the run (see _run), so the
    # subprocess mostly loads kernels instead of compiling them.
    out = _run("""
        import sys, importlib.abc
        tried = []
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "sklearn" or name.startswith("sklearn."):
                    tried.append(name)
                    raise ImportError("blocked for this test")
        sys.meta_path.insert(0, Block())
        import warnings
        import numpy as np
        from fastdistill import (PCA, SOM, Distiller, KMeans, KMeansFeatures, LinearRegression,
                                 LocalLinearRegressor, MLPClassifier, MLPRegressor)
        rng = np.random.default_rng(0)
        X = rng.uniform(-1, 1, size=(300, 3))
        y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2
        c = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few iterations: ConvergenceWarning
            reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, learning_rate_init=0.01,
                               random_state=0).fit(X, y)
            clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, learning_rate_init=0.01,
                                random_state=0).fit(X, c)
        assert reg.predict(X).shape == (300,) and reg.score(X, y) > 0.9, reg.score(X, y)
        P = clf.predict_proba(X)
        assert P.shape == (300, 3) and np.all(np.isfinite(P)) and np.all(P >= 0)
        np.testing.assert_allclose(P.sum(1), 1.0, rtol=1e-10)
        np.testing.assert_array_equal(clf.predict(X), P.argmax(1))
        assert clf.score(X, c) > 0.9, clf.score(X, c)
        km = KMeans(4, n_init=1, random_state=0).fit(X)
        assert km.cluster_centers_.shape == (4, 3) and np.isfinite(km.inertia_)
        assert sorted(set(km.labels_.tolist())) == [0, 1, 2, 3]
        np.testing.assert_array_equal(km.predict(X), km.labels_)
        for solver in ("covariance_eigh", "randomized"):
            pca = PCA(2, svd_solver=solver, random_state=0).fit(X)
            Z = pca.transform(X)
            assert Z.shape == (300, 2) and np.all(np.isfinite(Z)), solver
            np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(2), atol=1e-8)
            np.testing.assert_allclose(Z.var(0, ddof=1), pca.explained_variance_, rtol=1e-6)
        som = SOM(3, 3, n_epochs=5, random_state=0).fit(X)
        bmu = som.predict(X)
        assert som.weights_.shape == (3, 3, 3) and bmu.min() >= 0 and bmu.max() < 9
        assert 0 < som.quantization_error(X) < 1
        X_un = rng.uniform(-1, 1, size=(1500, 3))
        X_te = rng.uniform(-1, 1, size=(200, 3))
        for student, feats in ((LinearRegression(), KMeansFeatures(n_clusters=16, random_state=0)),
                               (LocalLinearRegressor(8, random_state=0), None)):
            d = Distiller(reg, student, feats, random_state=0).fit(X_un)
            assert d.predict(X_te).shape == (200,)
            assert d.fidelity(X_te) > 0.9, (student, d.fidelity(X_te))
            r = d.report(X_te, n_repeats=1)
            assert r.metrics["fidelity_r2"] > 0.9 and "fidelity" in str(r), r
        print("sklearn" in sys.modules, len(tried))
    """)
    # Not loaded, and not even attempted (a blocked import that some path
    # silently falls back from would still mean sklearn is a compute path).
    assert out.split() == ["False", "0"]


def test_read_only_install_location_falls_back_to_user_cache(tmp_path):
    # As root a chmod'ed folder stays writable, so make every write into the
    # package folder fail the way a read-only install does.
    code = f"""
        import os, tempfile
        pkg = {str(ROOT / 'fastdistill')!r}
        real = tempfile.TemporaryFile
        def guarded(*a, **k):
            if str(k.get('dir', '')).startswith(pkg):
                raise PermissionError(13, 'read-only file system', k.get('dir'))
            return real(*a, **k)
        tempfile.TemporaryFile = guarded
        import numpy as np
        from fastdistill.linear_model import SGDRegressor
        X = np.ones((5, 2)); y = np.ones(5)
        SGDRegressor(max_iter=2, tol=None).fit(X, y)
        print("ok")
    """
    env = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _run(code, env, default_cache=True)
    assert out.strip().endswith("ok")
    cached = list((tmp_path / "cache").rglob("*.nbi"))
    assert cached, "kernels were not cached in the user cache folder"


def test_second_process_loads_kernels_from_cache(tmp_path):
    code = """
        import numpy as np
        from fastdistill.linear_model import SGDRegressor
        from fastdistill._kernels import linear
        SGDRegressor(max_iter=2, tol=None, shuffle=False).fit(np.ones((5, 2)), np.ones(5))
        print(len(linear.sgd_epoch.stats.cache_hits), len(linear.sgd_epoch.stats.cache_misses))
    """
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _run(code, env)
        hits, misses = _run(code, env).split()
    assert int(hits) >= 1 and int(misses) == 0


def test_sgd_same_seed_same_result_in_another_process():
    code = """
        import numpy as np, warnings
        from fastdistill.linear_model import SGDRegressor
        rng = np.random.default_rng(1)
        X = rng.normal(size=(500, 4)); y = X.sum(1)
        print(SGDRegressor(random_state=3).fit(X, y).coef_.tobytes().hex())
    """
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 4))
    y = X.sum(1)
    here = SGDRegressor(random_state=3).fit(X, y).coef_.tobytes().hex()
    assert _run(code, {"NUMBA_NUM_THREADS": "1"}).strip() == here


@pytest.mark.parametrize("shape", [(500, 200), (3000, 300), (100, 1000), (20000, 5)])
def test_bit_identical_across_threads_on_many_shapes(shape):
    from fastdistill.cluster import KMeans
    from fastdistill.decomposition import PCA

    rng = np.random.default_rng(0)
    X = rng.normal(size=shape) + 2.0
    y = X @ rng.normal(size=(shape[1], 2))
    results = []
    for n in sorted({1, fastdistill.get_num_threads()}):
        with fastdistill.num_threads(n):
            lr = LinearRegression().fit(X, y)
            km = KMeans(3, random_state=0, max_iter=5).fit(X[:2000])
            pca = PCA(2, svd_solver="covariance_eigh").fit(X) if shape[1] <= 300 else None
            results.append((lr.coef_.copy(), km.cluster_centers_.copy(),
                            None if pca is None else pca.components_.copy()))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            if a is not None:
                np.testing.assert_array_equal(a, b)


def test_jit_fastmath_flags_are_a_safe_subset():
    # The one jit wrapper takes True/False or a subset of the safe flags; the
    # flags that drop NaN/inf semantics are refused with a clear error.
    from fastdistill._jit import SAFE_FASTMATH, _fastmath_flags, jit

    assert _fastmath_flags(True) == set(SAFE_FASTMATH)
    assert _fastmath_flags(False) is False
    assert _fastmath_flags({"contract"}) == {"contract"}
    assert _fastmath_flags(set()) is False
    with pytest.raises(ValueError, match="nnan"):
        jit(lambda x: x, fastmath={"contract", "nnan"})
    for wrong in (("contract",), ["contract"], "contract"):  # would read as True
        with pytest.raises(TypeError, match="set of flag names"):
            jit(lambda x: x, fastmath=wrong)
    # contraction only: NaN comparisons keep their meaning
    f = jit(lambda x: x != x, fastmath={"contract"}, cache=False)
    assert f(np.nan) and not f(1.0)


def test_mapped_full_is_filled_with_the_dtype():
    from fastdistill._threads import mapped_full

    a = mapped_full((3, 2), 0.5, np.float32)
    assert a.dtype == np.float32 and a.shape == (3, 2) and np.all(a == 0.5)
    b = mapped_full(4, -1)
    assert b.dtype == np.float64 and np.array_equal(b, np.full(4, -1.0))

