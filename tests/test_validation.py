"""Shared input validation: bad input gets a clear error, good input no copy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fastdistill import NotFittedError
from fastdistill._validation import (
    check_array,
    check_random_state,
    check_sample_weight,
    check_scalar,
    check_y,
    validate_data,
)
from fastdistill.linear_model import LinearRegression, Ridge, SGDRegressor

ESTIMATORS = [LinearRegression, Ridge, lambda: SGDRegressor(max_iter=5, tol=None)]


def test_c_contiguous_float_arrays_are_not_copied(rng):
    for dtype in (np.float32, np.float64):
        X = rng.normal(size=(5, 3)).astype(dtype)
        assert check_array(X) is X
        X.setflags(write=False)
        assert check_array(X) is X


@pytest.mark.parametrize(
    "dtype,expected",
    [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64),
     (np.int8, np.float64), (bool, np.float64), (np.float16, np.float64)],
)
def test_dtype_policy(dtype, expected):
    X = np.ones((4, 2), dtype=dtype)
    assert check_array(X).dtype == expected


def test_fortran_order_and_lists_and_frames():
    X = np.asfortranarray(np.arange(12.0).reshape(4, 3))
    out = check_array(X)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, X)
    np.testing.assert_array_equal(check_array([[1, 2], [3, 4]]), [[1.0, 2.0], [3.0, 4.0]])
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4, 5, 6]})
    np.testing.assert_array_equal(check_array(df), df.to_numpy(dtype=float))


@pytest.mark.parametrize(
    "bad,exc,match",
    [
        (np.ones(5), ValueError, r"Expected 2D array.*reshape\(-1, 1\)"),
        (np.ones((2, 2, 2)), ValueError, "3D"),
        (np.float64(3.0), ValueError, "scalar"),
        (np.ones((0, 3)), ValueError, "0 sample"),
        (np.ones((3, 0)), ValueError, "0 feature"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), ValueError, r"NaN at position \[0, 1\]"),
        (np.array([[1.0, 2.0], [np.inf, 1.0]]), ValueError, r"infinity at position \[1, 0\]"),
        (np.array([[1 + 2j, 1.0]]), ValueError, "Complex data not supported"),
        (np.array([["a", "b"]], dtype=object), ValueError, "not numbers"),
        (np.array([["a", "b"]]), TypeError, "not numeric"),
        (None, ValueError, "got None"),
        ("abc", TypeError, "string"),
    ],
)
def test_bad_arrays_raise_clear_errors(bad, exc, match):
    with pytest.raises(exc, match=match):
        check_array(bad)


def test_nan_position_reported_in_later_chunk():
    X = np.zeros((70000, 2))
    X[68000, 1] = np.nan
    with pytest.raises(ValueError, match=r"\[68000, 1\]"):
        check_array(X)


def test_float32_overflowing_sum_is_not_an_error():
    X = np.full((10, 2), 3e38, dtype=np.float32)
    assert check_array(X) is X


def test_sparse_input_is_rejected_with_hint():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="Sparse data.*toarray"):
        check_array(sparse.csr_matrix(np.eye(3)))


def test_check_y_and_sample_weight():
    with pytest.raises(ValueError, match="requires y to be passed"):
        check_y(None)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        check_y(np.ones(3), n_samples=4)
    with pytest.raises(ValueError, match="NaN"):
        check_y(np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="non-negative"):
        check_sample_weight(np.array([1.0, -1.0]), 2)
    with pytest.raises(ValueError, match="expected"):
        check_sample_weight(np.ones(3), 2)
    with pytest.raises(ValueError, match="sums to zero"):
        check_sample_weight(np.zeros(2), 2)
    np.testing.assert_array_equal(check_sample_weight(2.0, 3), [2.0, 2.0, 2.0])
    assert check_sample_weight(None, 3) is None


def test_check_scalar_and_random_state():
    with pytest.raises(TypeError, match="int"):
        import numbers

        check_scalar(1.5, "n", numbers.Integral)
    with pytest.raises(ValueError, match="must be >= 0"):
        check_scalar(-1, "n", int, min_val=0)
    with pytest.raises(ValueError, match="random_state"):
        check_random_state("seed")
    a = check_random_state(3).integers(1000, size=5)
    b = check_random_state(3).integers(1000, size=5)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_estimators_reject_bad_input(make, rng):
    X = rng.normal(size=(20, 3))
    y = rng.normal(size=20)
    with pytest.raises(ValueError, match="1D array"):
        make().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="NaN"):
        make().fit(np.where(X > 1.5, np.nan, X), y)
    with pytest.raises(ValueError, match="inconsistent"):
        make().fit(X, y[:-1])
    with pytest.raises(ValueError, match="0 sample"):
        make().fit(X[:0], y[:0])
    with pytest.raises(NotFittedError, match="not fitted"):
        make().predict(X)
    model = make().fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but .* expecting 3"):
        model.predict(X[:, :2])
    with pytest.raises(ValueError, match="infinity"):
        model.predict(np.full((2, 3), np.inf))


def test_not_fitted_error_is_value_and_attribute_error():
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)
    with pytest.raises(AttributeError):
        LinearRegression().predict(np.ones((2, 2)))


def test_not_fitted_error_caught_as_sklearn_error_when_loaded():
    sk_exc = pytest.importorskip("sklearn.exceptions")
    with pytest.raises(sk_exc.NotFittedError):
        Ridge().predict(np.ones((2, 2)))


def test_feature_names_recorded_and_checked():
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 2.0]})
    y = np.array([1.0, 2.0, 3.0, 5.0])
    model = LinearRegression().fit(df, y)
    assert list(model.feature_names_in_) == ["a", "b"]
    with pytest.raises(ValueError, match="feature names should match"):
        model.predict(df[["b", "a"]])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        model.predict(df.to_numpy())
    refit = model.fit(df.to_numpy(), y)
    assert not hasattr(refit, "feature_names_in_")


def test_validate_data_resets_and_checks_n_features(rng):
    est = LinearRegression()
    X = rng.normal(size=(4, 3))
    assert validate_data(est, X, reset=True) is X
    assert est.n_features_in_ == 3


def test_trusted_finite_skips_only_views_of_checked_arrays():
    from fastdistill._validation import check_array, trusted_finite

    X = np.random.default_rng(0).normal(size=(50, 4))
    X[10, 2] = np.nan  # pretend-checked: the context must make the scan skip it
    Y = X[20:]  # outside the NaN, no error anyway
    with trusted_finite(X, None):
        check_array(X[5:15])  # a view of X: not scanned
        check_array(X[:, ::-1])  # any strides inside X
        check_array(Y)
        with pytest.raises(ValueError, match="NaN"):
            check_array(X[5:15].copy())  # a copy is new memory: scanned
        with pytest.raises(ValueError, match="NaN"):
            check_array(X[5:15], dtype=np.float32)  # a converted copy: scanned
    with pytest.raises(ValueError, match="NaN"):
        check_array(X[5:15])  # outside the block: scanned again


def test_distiller_checks_its_rows_once(monkeypatch):
    # The Distiller scans X for NaN/inf once; its feature map, teacher and
    # student do not scan the same rows again.
    import fastdistill._validation as V
    from fastdistill import Distiller, KMeansFeatures, MLPRegressor, Ridge

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 5))
    teacher = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        teacher.fit(X[:500], X[:500, 0])
    scanned = []
    real = V._assert_finite

    def counting(A, name):
        scanned.append(A.size)
        return real(A, name)

    monkeypatch.setattr(V, "_assert_finite", counting)
    d = Distiller(teacher, Ridge(), KMeansFeatures(8, random_state=0)).fit(X)
    assert sum(s for s in scanned if s >= X.size) == X.size  # X itself: once
    Xbad = X.copy()
    Xbad[7, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        Distiller(teacher, Ridge(), KMeansFeatures(8, random_state=0)).fit(Xbad)
    assert d.predict(X[:5]).shape == (5,)
