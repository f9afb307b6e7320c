"""Portable save/load (``fastdistill.load``, ``estimator.save``) and pickling.

Every public estimator is fitted on tiny data, saved, loaded and compared
with the original: predictions and transforms bit for bit, every instance
attribute (private state included) equal with the same dtype, and the loaded
model goes on with ``partial_fit`` / refits exactly as the original does.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import fastdistill
from fastdistill import (
    MUNGE,
    PCA,
    SOM,
    Distiller,
    KMeans,
    KMeansSelection,
    KMeansFeatures,
    LinearRegression,
    LocalLinearClassifier,
    LocalLinearRegressor,
    MLPClassifier,
    MLPRegressor,
    PCAFeatures,
    Ridge,
    SGDRegressor,
    SOMFeatures,
    load,
)
from fastdistill._base import BaseEstimator, clone
from fastdistill._persist import FORMAT_VERSION, save
from fastdistill.cluster import kmeans_plusplus
from fastdistill.exceptions import NotFittedError

# Tiny models stop at max_iter on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")

DTYPES = [np.float64, np.float32]


# --------------------------------------------------------------------- data
def _data(dtype, seed=0, n=40):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(dtype)
    y = (np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]).astype(dtype)
    return X, y


def _labels(X):
    s = X[:, 0] + 0.5 * X[:, 1]
    return np.where(s > 0.4, "high", np.where(s < -0.4, "low", "mid"))


class _ForeignTeacher:
    """A teacher from outside fastdistill (a plain class, like a scikit-learn model)."""

    def predict(self, X):
        return np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]


# -------------------------------------------------------------------- cases
# name -> (make estimator, fit it on (X, y), methods to compare, incremental
# update or None). Estimators with randomness get an int seed, so a refit of
# the loaded model must reproduce the original bit for bit.
def _fit_xy(est, X, y):
    return est.fit(X, y)


def _fit_x(est, X, y):
    return est.fit(X)


def _fit_two_targets(est, X, y):
    return est.fit(X, np.column_stack([y, 2 * y - 1]))


def _fit_labels(est, X, y):
    return est.fit(X, _labels(X))


def _fit_binary(est, X, y):
    return est.fit(X, (y > 0).astype(int))


def _fit_multilabel(est, X, y):
    return est.fit(X, np.column_stack([y > 0, X[:, 0] > 0, X[:, 1] < 0]).astype(int))


def _pf_xy(est, X, y):
    return est.partial_fit(X, y)


def _pf_two_targets(est, X, y):
    return est.partial_fit(X, np.column_stack([y, 2 * y - 1]))


def _pf_labels(est, X, y):
    return est.partial_fit(X, _labels(X))


def _pf_binary(est, X, y):
    return est.partial_fit(X, (y > 0).astype(int))


def _pf_multilabel(est, X, y):
    return est.partial_fit(X, np.column_stack([y > 0, X[:, 0] > 0, X[:, 1] < 0]).astype(int))


def _pf_x(est, X, y):
    return est.partial_fit(X)


CASES = {
    "LinearRegression": (LinearRegression, _fit_xy, ["predict"], _pf_xy),
    "Ridge-per-target-alpha": (lambda: Ridge(alpha=[0.5, 3.0]), _fit_two_targets,
                               ["predict"], _pf_two_targets),
    "SGDRegressor": (lambda: SGDRegressor(max_iter=5, tol=None, random_state=0), _fit_xy,
                     ["predict"], _pf_xy),
    "KMeans": (lambda: KMeans(n_clusters=3, n_init=2, random_state=0), _fit_x,
               ["predict", "transform"], None),
    "PCA-auto": (lambda: PCA(2), _fit_x, ["transform", "inverse_transform"], None),
    "PCA-full": (lambda: PCA(2, svd_solver="full", whiten=True), _fit_x,
                 ["transform", "inverse_transform"], None),
    "PCA-covariance_eigh": (lambda: PCA(2, svd_solver="covariance_eigh"), _fit_x,
                            ["transform", "inverse_transform"], None),
    "PCA-randomized": (lambda: PCA(2, svd_solver="randomized", random_state=0), _fit_x,
                       ["transform", "inverse_transform"], None),
    "MLPRegressor": (lambda: MLPRegressor(hidden_layer_sizes=(5,), max_iter=4, random_state=0),
                     _fit_xy, ["predict", "predict_logits"], _pf_xy),
    "MLPRegressor-lbfgs": (lambda: MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs",
                                                max_iter=5, random_state=0),
                           _fit_xy, ["predict"], None),
    "MLPClassifier-binary": (lambda: MLPClassifier((5,), max_iter=4, random_state=0),
                             _fit_binary, ["predict", "predict_proba"], _pf_binary),
    "MLPClassifier-multiclass-str": (lambda: MLPClassifier((5,), max_iter=4, random_state=0),
                                     _fit_labels, ["predict", "predict_proba"], _pf_labels),
    "MLPClassifier-multilabel": (lambda: MLPClassifier((5,), max_iter=4, random_state=0),
                                 _fit_multilabel, ["predict", "predict_proba"],
                                 _pf_multilabel),
    "MLPClassifier-early-stopping": (lambda: MLPClassifier((4,), max_iter=3, random_state=0,
                                                           early_stopping=True),
                                     _fit_labels, ["predict"], None),
    "SOM": (lambda: SOM(3, 3, n_epochs=2, random_state=0), _fit_x,
            ["predict", "transform"], _pf_x),
    "SOM-online-hex": (lambda: SOM(2, 4, topology="hexagonal", mode="online", n_epochs=1,
                                   random_state=0), _fit_x, ["predict", "transform"], _pf_x),
    "KMeansFeatures": (lambda: KMeansFeatures(4, kind="soft", include_raw=True,
                                              random_state=0), _fit_x, ["transform"], None),
    "SOMFeatures": (lambda: SOMFeatures(2, 2, n_epochs=2, random_state=0), _fit_x,
                    ["transform"], None),
    "PCAFeatures": (lambda: PCAFeatures(2, degree=2), _fit_x, ["transform"], None),
    "LocalLinearRegressor": (lambda: LocalLinearRegressor(4, max_iter=5, random_state=0),
                             _fit_xy, ["predict"], None),
    "LocalLinearRegressor-som": (lambda: LocalLinearRegressor(4, partition="som",
                                                              gating="hard", random_state=0),
                                 _fit_xy, ["predict"], None),
    "LocalLinearClassifier": (lambda: LocalLinearClassifier(4, max_iter=5, random_state=0),
                              _fit_labels, ["predict", "predict_proba"], None),
    "Distiller-regression": (
        lambda: Distiller(MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=1),
                          Ridge(alpha=1e-2), KMeansFeatures(4, random_state=0)),
        lambda est, X, y: (est.teacher.fit(X, y), est.fit(X))[1],
        ["predict"], None),
    "KMeansSelection": (lambda: KMeansSelection(6, random_state=0),
                        lambda est, X, y: (est.sample(X), est)[1], ["sample"], None),
    "Distiller-munge-capped": (
        lambda: Distiller(MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=1),
                          LocalLinearRegressor(3, random_state=0),
                          transfer=MUNGE(30, random_state=0), max_teacher_queries=40,
                          random_state=0),
        lambda est, X, y: (est.teacher.fit(X, y), est.fit(X))[1],
        ["predict"], None),
    "Distiller-classifier": (
        lambda: Distiller(MLPClassifier((4,), max_iter=3, random_state=1),
                          MLPClassifier((4,), max_iter=3, random_state=2),
                          PCAFeatures(2), target="proba", temperature=2.0),
        lambda est, X, y: (est.teacher.fit(X, _labels(X)), est.fit(X))[1],
        ["predict", "predict_proba", "decision_function"], None),
}


# ------------------------------------------------------------------ helpers
def _diff(a, b, path="est"):
    """The first difference between two values (None when equal, dtype included)."""
    if type(a) is not type(b):
        return f"{path}: type {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return f"{path}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        if a.dtype.kind in "fc":
            same = np.array_equal(a, b, equal_nan=True)
        else:
            same = np.array_equal(a, b)
        return None if same else f"{path}: values differ"
    if isinstance(a, np.random.Generator):
        return _diff(a.bit_generator.state, b.bit_generator.state, f"{path}.state")
    if isinstance(a, np.random.RandomState):
        return _diff(a.get_state(legacy=False), b.get_state(legacy=False), f"{path}.state")
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        for i, (x, z) in enumerate(zip(a, b, strict=True)):
            d = _diff(x, z, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        for k in a:
            d = _diff(a[k], b[k], f"{path}[{k!r}]")
            if d:
                return d
        return None
    if hasattr(a, "__dict__") and type(a).__module__.startswith("fastdistill"):
        return _diff(vars(a), vars(b), path)
    if isinstance(a, (float, np.floating)) and np.isnan(a):
        return None if np.isnan(b) else f"{path}: nan != {b!r}"
    return None if a == b else f"{path}: {a!r} != {b!r}"


def _assert_same(a, b):
    d = _diff(a, b)
    assert d is None, d


def _writable(value, path="est"):
    """Paths of read-only arrays in a (nested) value."""
    if isinstance(value, np.ndarray):
        return [] if value.flags.writeable or value.dtype == object else [path]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in _writable(v, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _writable(v, f"{path}[{k!r}]")]
    if hasattr(value, "__dict__") and type(value).__module__.startswith("fastdistill"):
        return _writable(vars(value), path)
    return []


def _arrays(value):
    """Every array in a (nested) value."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays(v)]
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arrays(v)]
    if hasattr(value, "__dict__") and type(value).__module__.startswith("fastdistill"):
        return _arrays(vars(value))
    return []


def _outputs(est, methods, X):
    out = {}
    for m in methods:
        if m == "inverse_transform":
            out[m] = est.inverse_transform(est.transform(X))
        else:
            out[m] = getattr(est, m)(X)
    return out


def _assert_outputs_equal(a, b):
    for m in a:
        assert a[m].dtype == b[m].dtype, m
        assert a[m].shape == b[m].shape, m
        np.testing.assert_array_equal(a[m], b[m], err_msg=m)


def _roundtrip(est, tmp_path, name="model.npz"):
    path = tmp_path / name
    est.save(path)
    return load(path)


# -------------------------------------------------------------------- tests
@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_save_load_roundtrip(case, dtype, tmp_path):
    make, fit, methods, _ = CASES[case]
    X, y = _data(dtype)
    X_new, _ = _data(dtype, seed=1, n=17)
    est = fit(make(), X, y)
    loaded = _roundtrip(est, tmp_path)

    assert type(loaded) is type(est)
    _assert_same(est.get_params(deep=False), loaded.get_params(deep=False))
    # Every instance attribute, private fitted state included, with its dtype.
    _assert_same(vars(est), vars(loaded))
    assert _writable(vars(loaded)) == []
    before, after = _outputs(est, methods, X_new), _outputs(loaded, methods, X_new)
    _assert_outputs_equal(before, after)
    if "predict" in methods and not case.startswith(("KMeans", "SOM")):
        assert est.score(X, _score_target(case, X, y)) == loaded.score(
            X, _score_target(case, X, y))
    # float32 input leaves float32 state (and float64 input no float32 state).
    float_dtypes = {a.dtype for a in _arrays(vars(loaded)) if a.dtype.kind == "f"}
    assert (np.dtype(np.float32) in float_dtypes) == (dtype == np.float32), float_dtypes


def _score_target(case, X, y):
    if "multiclass" in case or case in ("LocalLinearClassifier", "MLPClassifier-early-stopping"):
        return _labels(X)
    if "binary" in case:
        return (y > 0).astype(int)
    if "multilabel" in case:
        return np.column_stack([y > 0, X[:, 0] > 0, X[:, 1] < 0]).astype(int)
    if case == "Distiller-classifier":
        return _labels(X)
    if case.startswith("Ridge"):
        return np.column_stack([y, 2 * y - 1])
    return y


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][3] is not None))
def test_partial_fit_after_load_continues_exactly(case, dtype, tmp_path):
    make, fit, methods, partial = CASES[case]
    X, y = _data(dtype)
    X2, y2 = _data(dtype, seed=2, n=25)
    X_new, _ = _data(dtype, seed=1, n=17)
    est = fit(make(), X, y)
    loaded = _roundtrip(est, tmp_path)
    partial(est, X2, y2)
    partial(loaded, X2, y2)
    _assert_same(vars(est), vars(loaded))
    _assert_outputs_equal(_outputs(est, methods, X_new), _outputs(loaded, methods, X_new))


@pytest.mark.parametrize("case", sorted(CASES))
def test_refit_after_load_matches_the_original(case, tmp_path):
    make, fit, methods, _ = CASES[case]
    X, y = _data(np.float64)
    X2, y2 = _data(np.float64, seed=3, n=30)
    X_new, _ = _data(np.float64, seed=1, n=17)
    loaded = _roundtrip(fit(make(), X, y), tmp_path)
    refitted = fit(loaded, X2, y2)
    fresh = fit(make(), X2, y2)
    _assert_outputs_equal(_outputs(fresh, methods, X_new), _outputs(refitted, methods, X_new))


@pytest.mark.parametrize("case", sorted(CASES))
def test_unfitted_roundtrip_keeps_params(case, tmp_path):
    est = CASES[case][0]()
    loaded = _roundtrip(est, tmp_path)
    assert type(loaded) is type(est)
    _assert_same(est.get_params(deep=True), loaded.get_params(deep=True))
    _assert_same(vars(est), vars(loaded))
    assert repr(loaded) == repr(est)
    method = CASES[case][2][0]
    X, _ = _data(np.float64)
    if method == "sample":  # transfer-set builders need no fit: same rows as the original
        _assert_outputs_equal(_outputs(est, [method], X), _outputs(loaded, [method], X))
        return
    with pytest.raises((NotFittedError, AttributeError)):
        _outputs(loaded, [method], X)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float64", "float32"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_pickle_roundtrip(case, dtype):
    make, fit, methods, _ = CASES[case]
    X, y = _data(dtype)
    X_new, _ = _data(dtype, seed=1, n=17)
    est = fit(make(), X, y)
    copy = pickle.loads(pickle.dumps(est))
    _assert_same(vars(est), vars(copy))
    _assert_outputs_equal(_outputs(est, methods, X_new), _outputs(copy, methods, X_new))


def test_load_in_a_fresh_interpreter(tmp_path):
    X, y = _data(np.float32)
    est = Distiller(MLPClassifier((4,), max_iter=3, random_state=1),
                    LocalLinearClassifier(3, random_state=0), KMeansFeatures(3, random_state=0))
    est.teacher.fit(X, _labels(X))
    est.fit(X)
    est.save(tmp_path / "d.npz")
    np.save(tmp_path / "X.npy", X)
    code = (
        "import sys, numpy as np, fastdistill\n"
        "m = fastdistill.load(sys.argv[1])\n"
        "X = np.load(sys.argv[2])\n"
        "np.save(sys.argv[3], m.predict_proba(X))\n"
        "print(type(m).__name__, m.predict(X)[:3].tolist())\n"
    )
    root = str(Path(fastdistill.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    res = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "d.npz"), str(tmp_path / "X.npy"),
         str(tmp_path / "P.npy")],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert res.returncode == 0, res.stderr
    P = np.load(tmp_path / "P.npy")
    assert P.dtype == np.float32
    np.testing.assert_array_equal(P, est.predict_proba(X))
    assert res.stdout.split()[0] == "Distiller"


def test_foreign_teacher_is_dropped_with_a_warning(tmp_path):
    X, y = _data(np.float64)
    est = Distiller(_ForeignTeacher(), Ridge(alpha=1e-3), KMeansFeatures(4, random_state=0))
    est.fit(X)
    with pytest.warns(UserWarning, match=r"Distiller\.teacher \(a _ForeignTeacher\).*"
                                         r"teacher=None.*predicts"):
        est.save(tmp_path / "d.npz")
    loaded = load(tmp_path / "d.npz")
    assert loaded.teacher is None
    params = est.get_params(deep=False)
    params["teacher"] = None
    _assert_same(params, loaded.get_params(deep=False))
    state = {k: v for k, v in vars(est).items() if k != "teacher"}
    _assert_same(state, {k: v for k, v in vars(loaded).items() if k != "teacher"})
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    with pytest.raises(ValueError, match="teacher"):
        loaded.fidelity(X)
    with pytest.raises(ValueError, match="no teacher"):
        loaded.fit(X)
    loaded.set_params(teacher=_ForeignTeacher())
    assert loaded.fidelity(X) == est.fidelity(X)


def test_foreign_param_dropped_through_the_module_function(tmp_path):
    X, _ = _data(np.float64)
    km = KMeans(n_clusters=2, init=lambda X, k, random_state: X[:k].copy(), n_init=1).fit(X)
    with pytest.warns(UserWarning, match=r"KMeans\.init \(a function\)") as record:
        save(km, tmp_path / "km.npz")
    assert record[0].filename == __file__  # points at the caller
    loaded = load(tmp_path / "km.npz")
    assert loaded.init is None
    np.testing.assert_array_equal(loaded.predict(X), km.predict(X))


def test_fastdistill_teacher_is_saved_and_fidelity_works(tmp_path):
    X, y = _data(np.float64)
    make, fit, _, _ = CASES["Distiller-regression"]
    est = fit(make(), X, y)
    loaded = _roundtrip(est, tmp_path)
    assert isinstance(loaded.teacher, MLPRegressor)
    _assert_same(vars(est.teacher), vars(loaded.teacher))
    assert loaded.fidelity(X) == est.fidelity(X)


def test_shared_objects_stay_shared(tmp_path):
    X, _ = _data(np.float64)
    rng = np.random.default_rng(5)
    som = SOM(3, 2, n_epochs=2, random_state=rng).fit(X)
    loaded = _roundtrip(som, tmp_path)
    assert som._rng is som.random_state
    assert loaded._rng is loaded.random_state  # one generator, as before saving
    _assert_same(vars(som), vars(loaded))
    kf = KMeansFeatures(3, random_state=0).fit(X)
    assert kf.centers_ is kf.kmeans_.cluster_centers_
    loaded = _roundtrip(kf, tmp_path, "kf.npz")
    assert loaded.centers_ is loaded.kmeans_.cluster_centers_
    # The generator continues the same stream after loading.
    som.partial_fit(X)
    loaded_som = load(tmp_path / "model.npz")
    loaded_som.partial_fit(X)
    _assert_same(vars(som), vars(loaded_som))


def test_random_state_objects_roundtrip(tmp_path):
    X, y = _data(np.float64)
    for rs in (np.random.RandomState(3), np.random.Generator(np.random.MT19937(4)),
               np.random.Generator(np.random.Philox(5))):
        est = SGDRegressor(max_iter=3, tol=None, random_state=rs)
        loaded = _roundtrip(est, tmp_path)
        assert type(loaded.random_state) is type(rs)
        _assert_same(rs, loaded.random_state)
        np.testing.assert_array_equal(loaded.fit(X, y).predict(X), est.fit(X, y).predict(X))


def test_unsupported_bit_generator_is_refused(tmp_path):
    class MyBitGenerator(np.random.PCG64):
        pass

    est = SGDRegressor(random_state=np.random.Generator(MyBitGenerator(0)))
    with pytest.raises(TypeError, match=r"SGDRegressor\.random_state.*MyBitGenerator"):
        est.save(tmp_path / "x.npz")
    assert not (tmp_path / "x.npz").exists()


def test_every_supported_value_type_roundtrips(tmp_path):
    X, y = _data(np.float64)
    est = Ridge().fit(X, y)
    est.extra_ = {
        "floats": [1.5, float("nan"), float("inf"), -float("inf"), -0.0],
        "ints": (0, -7, 2**80, True, False, None),
        "text": "naïve ✓",
        "complex": 1 + 2j,
        "np_scalars": [np.float32(2.5), np.int16(-3), np.bool_(True), np.str_("ab"),
                       np.complex64(1 - 1j), np.float64("nan")],
        "dtypes": [np.dtype("float32"), np.dtype(">i4"), np.dtype("U7"), np.float32, float],
        "arrays": [np.arange(6, dtype=np.int8).reshape(2, 3), np.asfortranarray(np.eye(3)),
                   np.array(["a", "bc"]), np.array([b"x", b"yz"]), np.zeros((0, 4)),
                   np.array(3.5), np.arange(10.0)[::3],
                   np.array(["a", 1, None, 2.5], dtype=object),
                   np.array([], dtype=object)],
        "nested": {"est": KMeans(2), "list": [[1, 2], {"k": (3,)}]},
        "function": kmeans_plusplus,  # fastdistill functions are stored by name
    }
    loaded = _roundtrip(est, tmp_path)
    _assert_same(vars(est), vars(loaded))
    assert loaded.extra_["arrays"][1].flags.f_contiguous
    assert np.signbit(loaded.extra_["floats"][4])
    assert loaded.extra_["function"] is kmeans_plusplus


def test_estimator_outside_fastdistill_is_refused(tmp_path):
    class MyEstimator(BaseEstimator):
        def __init__(self, a=1):
            self.a = a

    with pytest.raises(TypeError, match="not a class of the fastdistill package"):
        save(MyEstimator(), tmp_path / "m.npz")
    with pytest.raises(TypeError, match="fastdistill estimator"):
        save(object(), tmp_path / "m.npz")


def test_foreign_fitted_state_is_refused_naming_the_attribute(tmp_path):
    X, y = _data(np.float64)
    est = Distiller(Ridge().fit(X, y), Ridge()).fit(X)
    est.student_.callback_ = lambda: None
    with pytest.raises(TypeError, match=r"Distiller\.student_\.callback_.*pickle"):
        est.save(tmp_path / "d.npz")
    est.student_.callback_ = {"ok": [1, {2, 3}]}
    with pytest.raises(TypeError, match=r"Distiller\.student_\.callback_\['ok'\]\[1\].*set"):
        est.save(tmp_path / "d.npz")
    est.student_.callback_ = {1: "int key"}
    with pytest.raises(TypeError, match="not a string"):
        est.save(tmp_path / "d.npz")
    loop = []
    loop.append(loop)
    est.student_.callback_ = loop
    with pytest.raises(TypeError, match="cycle"):
        est.save(tmp_path / "d.npz")
    assert not (tmp_path / "d.npz").exists()
    assert os.listdir(tmp_path) == []  # no temporary file left behind


def test_file_objects_and_exact_path(tmp_path):
    X, y = _data(np.float64)
    est = Ridge(alpha=0.3).fit(X, y)
    buf = io.BytesIO()
    save(est, buf)
    buf.seek(0)
    np.testing.assert_array_equal(load(buf).predict(X), est.predict(X))
    est.save(str(tmp_path / "model.bin"))  # no ".npz" appended
    assert os.listdir(tmp_path) == ["model.bin"]
    est.save(tmp_path / "model.bin")  # overwrite
    assert load(tmp_path / "model.bin").alpha == 0.3
    # The file is a plain npz with a JSON document, readable without fastdistill.
    with np.load(tmp_path / "model.bin", allow_pickle=False) as z:
        doc = json.loads(z["__fastdistill__"].tobytes().decode("utf-8"))
    assert doc["format_version"] == FORMAT_VERSION
    assert doc["fastdistill_version"] == fastdistill.__version__
    assert doc["class"] == "fastdistill.linear_model._least_squares:Ridge"
    assert doc["estimator"]["params"]["alpha"] == 0.3


# -------------------------------------------------------------------- errors
def _rewrite(path, edit):
    """Rewrite the JSON document of a saved model with ``edit(doc)``."""
    with np.load(path, allow_pickle=False) as z:
        members = {k: z[k] for k in z.files}
    doc = json.loads(members["__fastdistill__"].tobytes().decode("utf-8"))
    edit(doc)
    members["__fastdistill__"] = np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **members)


@pytest.fixture
def saved(tmp_path):
    X, y = _data(np.float64)
    est = Distiller(Ridge().fit(X, y), Ridge()).fit(X)
    est.save(tmp_path / "d.npz")
    return tmp_path / "d.npz"


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load(tmp_path / "nope.npz")


def test_files_not_from_fastdistill(tmp_path):
    np.savez(tmp_path / "plain.npz", X=np.ones(3))
    np.save(tmp_path / "one.npy", np.ones(3))
    (tmp_path / "text.txt").write_text("hello")
    with open(tmp_path / "pickled.pkl", "wb") as fh:
        pickle.dump(Ridge(), fh)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("a.txt", "x")
    for name in ("plain.npz", "one.npy", "text.txt", "pickled.pkl", "other.zip"):
        with pytest.raises(ValueError, match="not a model saved by fastdistill"):
            load(tmp_path / name)


def test_newer_format_version(saved):
    _rewrite(saved, lambda d: d.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(ValueError, match=f"format version {FORMAT_VERSION + 1}.*[Uu]pgrade"):
        load(saved)


@pytest.mark.parametrize("name", [
    "antigravity:Thing",                          # a module outside fastdistill
    "os:system",
    "collections:OrderedDict",
    "fastdistill._persist:np.ndarray",            # re-exported from outside
    "fastdistill.__main__:main",
    "fastdistill.._base:BaseEstimator",
    "fastdistill._base:BaseEstimator.<locals>.X",
    "fastdistill._persist:save",                  # a function, not a class
    "fastdistill._gram:GramStats",                # a class, but not an estimator
])
def test_classes_outside_fastdistill_are_refused(saved, name):
    _rewrite(saved, lambda d: d["estimator"].update({"class": name}))
    before = set(sys.modules)
    with pytest.raises(ValueError, match="[Rr]efusing to load|does not have"):
        load(saved)
    assert not {m for m in set(sys.modules) - before if not m.startswith("fastdistill")}


def test_nested_class_outside_fastdistill_is_refused(saved):
    def edit(doc):
        doc["estimator"]["state"]["student_"]["__estimator__"]["class"] = "builtins:dict"

    _rewrite(saved, edit)
    with pytest.raises(ValueError, match="[Rr]efusing to load 'builtins:dict'"):
        load(saved)


def test_unknown_parameter_and_damaged_document(saved, tmp_path):
    _rewrite(saved, lambda d: d["estimator"]["params"].update(new_param=1))
    with pytest.raises(ValueError, match="new_param"):
        load(saved)
    _rewrite(saved, lambda d: (d["estimator"]["params"].pop("new_param"),
                               d["estimator"].pop("state")))
    with pytest.raises(ValueError, match="damaged"):
        load(saved)


def test_clone_of_loaded_model_is_unfitted(tmp_path):
    X, y = _data(np.float64)
    loaded = _roundtrip(MLPRegressor(hidden_layer_sizes=(3,), max_iter=2,
                                     random_state=0).fit(X, y), tmp_path)
    fresh = clone(loaded)
    with pytest.raises(NotFittedError):
        fresh.predict(X)


def test_dropped_param_leaves_nothing_behind(tmp_path):
    est = KMeans(n_clusters=2, init=(np.zeros((2, 3)), object()))
    with pytest.warns(UserWarning, match=r"KMeans\.init \(a tuple\)") as record:
        est.save(tmp_path / "km.npz")
    assert len(record) == 1
    with np.load(tmp_path / "km.npz", allow_pickle=False) as z:
        assert z.files == ["__fastdistill__"]  # the dropped tuple's array is not stored
    loaded = load(tmp_path / "km.npz")
    assert loaded.init is None and loaded.n_clusters == 2


@pytest.mark.parametrize("make", [
    lambda: MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, warm_start=True, random_state=0),
    lambda: SGDRegressor(max_iter=3, tol=None, warm_start=True, random_state=0),
], ids=["MLPRegressor", "SGDRegressor"])
def test_warm_start_after_load_continues_exactly(make, tmp_path):
    X, y = _data(np.float32)
    X2, y2 = _data(np.float32, seed=4, n=30)
    est = make().fit(X, y)
    loaded = _roundtrip(est, tmp_path)
    est.fit(X2, y2)
    loaded.fit(X2, y2)
    _assert_same(vars(est), vars(loaded))
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
