"""Input validation shared by every fastdistill estimator.

Kernels assume what this module guarantees: 2-D, non-empty, finite,
C-contiguous float32 or float64 arrays (read-only arrays are fine; kernels
never write into their inputs).

dtype policy
------------
float32 input stays float32, float64 stays float64, everything else (ints,
bools, float16, numeric object arrays, pandas frames) becomes float64. A
C-contiguous float32/float64 array is passed through without a copy.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from .exceptions import not_fitted_error

__all__ = [
    "check_array",
    "check_y",
    "check_sample_weight",
    "check_is_fitted",
    "validate_data",
    "check_random_state",
    "check_scalar",
    "check_option",
    "assert_finite",
    "check_labels",
]

_FLOAT_DTYPES = (np.float32, np.float64)
_CHUNK = 1 << 16


def _is_sparse(X: Any) -> bool:
    return hasattr(X, "tocsr") and hasattr(X, "nnz")


def _first_nonfinite(X: np.ndarray) -> tuple:
    """Index of the first NaN/inf in ``X`` (scanned in row chunks)."""
    if X.ndim == 1:
        bad = np.flatnonzero(~np.isfinite(X))
        return (int(bad[0]),) if bad.size else ()
    for start in range(0, X.shape[0], _CHUNK):
        block = X[start : start + _CHUNK]
        bad = np.argwhere(~np.isfinite(block))
        if bad.size:
            i, j = bad[0]
            return (start + int(i), int(j))
    return ()


def assert_finite(X: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` naming the first NaN/inf in ``X``, if any.

    Parameters
    ----------
    X : ndarray
        Array to check.
    name : str
        Name used in the message.
    """
    _assert_finite(X, name)


#: Memory ranges (start, end) of arrays already checked for NaN/inf in this
#: context: see :func:`trusted_finite`.
_TRUSTED: contextvars.ContextVar[tuple[tuple[int, int], ...]] = contextvars.ContextVar(
    "fastdistill_trusted_finite", default=())


@contextlib.contextmanager
def trusted_finite(*arrays: np.ndarray | None) -> Iterator[None]:
    """Within the block, skip the NaN/inf scan of views of ``arrays``.

    For an estimator that validated its input and then hands the same rows
    (or row chunks of them) to other fastdistill estimators, which would scan
    them again. Only arrays whose memory lies inside one of ``arrays`` are
    skipped, so copies and conversions (float64 to float32 can overflow) are
    still checked; shapes and dtypes are always checked. Per thread and
    context (:mod:`contextvars`).

    Parameters
    ----------
    *arrays : ndarray or None
        Arrays already checked to be finite (None entries are ignored).
    """
    ranges = _TRUSTED.get() + tuple(
        _byte_bounds(a) for a in arrays if isinstance(a, np.ndarray) and a.size)
    token = _TRUSTED.set(ranges)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def _byte_bounds(a: np.ndarray) -> tuple[int, int]:
    """First and one-past-last byte address of ``a``'s elements (any strides)."""
    start = a.__array_interface__["data"][0]
    lo = hi = start
    for extent, stride in zip(a.shape, a.strides, strict=True):
        if stride < 0:
            lo += (extent - 1) * stride
        else:
            hi += (extent - 1) * stride
    return lo, hi + a.itemsize


def _trusted(X: np.ndarray) -> bool:
    ranges = _TRUSTED.get()
    if not ranges or not X.size:
        return False
    lo, hi = _byte_bounds(X)
    return any(a <= lo and hi <= b for a, b in ranges)


def _assert_finite(X: np.ndarray, name: str) -> None:
    # A finite sum proves every entry finite without a boolean temporary of
    # the size of X; only when it is not (NaN/inf, or an overflow) is X scanned.
    with np.errstate(over="ignore", invalid="ignore"):
        total = X.sum(dtype=np.float64)
    if np.isfinite(total):
        return
    pos = _first_nonfinite(X)
    if pos:
        value = X[pos]
        kind = "NaN" if np.isnan(value) else "infinity"
        where = ", ".join(str(p) for p in pos)
        raise ValueError(
            f"Input {name} contains {kind} at position [{where}]. fastdistill "
            f"needs finite values: drop or impute missing values first (for "
            f"example with numpy.nan_to_num or a SimpleImputer)."
        )


def _to_numeric(X: Any, name: str, dtype) -> np.ndarray:
    if X is None:
        raise ValueError(
            f"Expected array-like (array or non-string sequence), got None for {name}."
        )
    if _is_sparse(X):
        raise TypeError(
            f"Sparse data was passed for {name}, but dense data is required. "
            f"Use {name}.toarray() to convert it to a dense array."
        )
    if isinstance(X, str):
        raise TypeError(f"{name} must be array-like, got a string: {X!r}.")
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{name} could not be converted to an array: {exc}") from exc
    if np.iscomplexobj(arr):
        raise ValueError(
            f"Complex data not supported: {name} has dtype {arr.dtype}. Pass the "
            f"real part (np.real) or stack real and imaginary parts as features."
        )
    if dtype is not None:
        target = np.dtype(dtype)
    elif arr.dtype in _FLOAT_DTYPES:
        target = arr.dtype
    else:
        target = np.dtype(np.float64)
    if arr.dtype != target:
        if arr.dtype.kind not in "biufO":
            raise TypeError(
                f"{name} has dtype {arr.dtype}, which is not numeric. Encode "
                f"text or categorical columns as numbers first."
            )
        try:
            arr = arr.astype(target)
        except TypeError as exc:
            raise TypeError(
                f"{name} could not be converted to {target}: {exc}"
            ) from exc
        except ValueError as exc:
            raise ValueError(
                f"{name} contains values that are not numbers: {exc}. Encode "
                f"text or categorical columns as numbers first."
            ) from exc
    return arr


def check_array(
    X: Any,
    *,
    name: str = "X",
    dtype=None,
    ensure_2d: bool = True,
    ensure_min_samples: int = 1,
    ensure_min_features: int = 1,
    force_all_finite: bool = True,
    order: str = "C",
) -> np.ndarray:
    """Validate an input array and return it as a float array.

    Parameters
    ----------
    X : array-like
        The input (ndarray, list, pandas DataFrame, ...).
    name : str, default="X"
        Name used in error messages.
    dtype : dtype or None, default=None
        Force this float dtype. ``None`` applies the dtype policy (float32
        and float64 kept, everything else float64).
    ensure_2d : bool, default=True
        Require a 2-D array (a 1-D array is an error with a reshape hint).
        When False, a 1-D array is required.
    ensure_min_samples, ensure_min_features : int, default=1
        Minimum number of rows and columns.
    force_all_finite : bool, default=True
        Reject NaN and infinity.
    order : {"C", None}, default="C"
        Make the result C-contiguous (copying only if it is not already).

    Returns
    -------
    X_checked : ndarray
        The validated array; the input itself when it already satisfies
        every requirement (no copy).

    Raises
    ------
    ValueError
        Wrong number of dimensions, too few samples or features, NaN/inf,
        complex or non-numeric values.
    TypeError
        Sparse input, or values that cannot be converted to numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill._validation import check_array
    >>> X = np.ones((3, 2))
    >>> check_array(X) is X
    True
    """
    arr = _to_numeric(X, name, dtype)
    if ensure_2d:
        if arr.ndim == 0:
            raise ValueError(
                f"Expected 2D array for {name}, got scalar array instead: {arr!r}. "
                f"Pass a 2-D array of shape (n_samples, n_features)."
            )
        if arr.ndim == 1:
            raise ValueError(
                f"Expected 2D array for {name}, got 1D array instead (shape "
                f"{arr.shape}). Reshape your data either using array.reshape(-1, 1) "
                f"if your data has a single feature or array.reshape(1, -1) if "
                f"it contains a single sample."
            )
        if arr.ndim > 2:
            raise ValueError(
                f"Expected 2D array for {name}, got {arr.ndim}D array of shape "
                f"{arr.shape}. Reshape it to (n_samples, n_features)."
            )
    elif arr.ndim != 1:
        raise ValueError(f"Expected 1D array for {name}, got shape {arr.shape}.")
    n_samples = arr.shape[0]
    if n_samples < ensure_min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={arr.shape}) while a "
            f"minimum of {ensure_min_samples} is required for {name}."
        )
    if ensure_2d and arr.shape[1] < ensure_min_features:
        raise ValueError(
            f"Found array with {arr.shape[1]} feature(s) (shape={arr.shape}) while "
            f"a minimum of {ensure_min_features} is required for {name}."
        )
    if force_all_finite and not _trusted(arr):
        _assert_finite(arr, name)
    if order == "C" and not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr)
    return arr


def check_y(y: Any, *, name: str = "y", dtype=np.float64, n_samples=None) -> np.ndarray:
    """Validate a regression target: 1-D or 2-D, numeric, finite.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Target values.
    name : str, default="y"
        Name used in error messages.
    dtype : dtype, default=np.float64
        Output dtype.
    n_samples : int, optional
        Expected number of samples.

    Returns
    -------
    y_checked : ndarray
        The validated target (1-D or 2-D, C-contiguous).

    Raises
    ------
    ValueError
        If ``y`` is None, has the wrong shape or contains NaN/inf.
    """
    if y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None. "
            "Pass the target values as the second argument of fit."
        )
    arr = _to_numeric(y, name, dtype)
    if arr.ndim == 0 or arr.ndim > 2:
        raise ValueError(
            f"{name} must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), got "
            f"shape {arr.shape}."
        )
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: X has "
            f"{n_samples} and {name} has {arr.shape[0]}."
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 outputs (shape {arr.shape}).")
    _assert_finite(arr, name)
    return np.ascontiguousarray(arr)


def check_sample_weight(
    sample_weight: Any, n_samples: int, dtype=np.float64
) -> np.ndarray | None:
    """Validate sample weights: finite, non-negative, one per sample.

    Parameters
    ----------
    sample_weight : None, float or array-like of shape (n_samples,)
        Weights; a scalar gives every sample the same weight.
    n_samples : int
        Number of samples in ``X``.
    dtype : dtype, default=np.float64
        Output dtype.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,) or None
        ``None`` when no weights were given.

    Raises
    ------
    ValueError
        Wrong length, negative or non-finite weights, or all weights zero.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        w = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        w = check_array(sample_weight, name="sample_weight", dtype=dtype, ensure_2d=False)
    if w.shape != (n_samples,):
        raise ValueError(
            f"sample_weight.shape == {w.shape}, expected {(n_samples,)}: one "
            f"weight per sample."
        )
    _assert_finite(w, "sample_weight")
    if np.any(w < 0):
        raise ValueError(
            f"sample_weight must be non-negative; entry {int(np.argmax(w < 0))} "
            f"is {w[np.argmax(w < 0)]}."
        )
    if not np.any(w > 0):
        raise ValueError("sample_weight sums to zero: at least one weight must be positive.")
    return w


def check_is_fitted(estimator: Any, attributes: Iterable[str] | str | None = None) -> None:
    """Raise :class:`NotFittedError` if ``estimator`` has not been fitted.

    Parameters
    ----------
    estimator : estimator
        The estimator to check.
    attributes : str or iterable of str, optional
        Attributes that ``fit`` sets; by default any attribute ending in ``_``.

    Raises
    ------
    NotFittedError
        If the estimator is not fitted.
    """
    if attributes is None:
        fitted = any(k.endswith("_") and not k.startswith("__") for k in vars(estimator))
    else:
        if isinstance(attributes, str):
            attributes = [attributes]
        fitted = all(hasattr(estimator, a) for a in attributes)
    if not fitted:
        raise not_fitted_error(
            f"This {type(estimator).__name__} instance is not fitted yet. Call "
            f"'fit' with appropriate arguments before using this estimator."
        )


def _feature_names(X: Any) -> np.ndarray | None:
    columns = getattr(X, "columns", None)
    if columns is None or not hasattr(X, "iloc"):
        return None
    names = np.asarray(list(columns), dtype=object)
    if names.size and all(isinstance(c, str) for c in names):
        return names
    return None


def validate_data(
    estimator: Any,
    X: Any,
    *,
    reset: bool,
    dtype=None,
    ensure_min_samples: int = 1,
    force_all_finite: bool = True,
) -> np.ndarray:
    """Validate ``X`` for ``estimator`` and record or check its feature count.

    Parameters
    ----------
    estimator : estimator
        The estimator being fitted or used.
    X : array-like of shape (n_samples, n_features)
        Input samples.
    reset : bool
        True in ``fit``: store ``n_features_in_`` (and ``feature_names_in_`` for
        DataFrames with string column names). False afterwards: check them.
    dtype : dtype or None, default=None
        Forced dtype; ``None`` applies the dtype policy.
    ensure_min_samples : int, default=1
        Minimum number of samples.
    force_all_finite : bool, default=True
        Reject NaN/inf here. Only a caller whose kernel provably turns any
        non-finite input into a non-finite result (and then calls
        :func:`assert_finite` for the message) may pass False, to save a
        pass over ``X``.

    Returns
    -------
    X_checked : ndarray of shape (n_samples, n_features)
        The validated array (no copy when ``X`` is a C-contiguous float array).
    """
    names = _feature_names(X)
    arr = check_array(X, dtype=dtype, ensure_min_samples=ensure_min_samples,
                      force_all_finite=force_all_finite)
    n_features = arr.shape[1]
    if reset:
        estimator.n_features_in_ = n_features
        if names is not None:
            estimator.feature_names_in_ = names
        elif hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return arr
    check_is_fitted(estimator)
    fitted_names = getattr(estimator, "feature_names_in_", None)
    if fitted_names is not None and names is not None:
        if len(fitted_names) != len(names) or np.any(fitted_names != names):
            raise ValueError(
                "The feature names should match those that were passed during "
                f"fit: expected {list(fitted_names)}, got {list(names)}."
            )
    elif fitted_names is not None or names is not None:
        import warnings

        if names is None:
            warnings.warn(
                f"X does not have valid feature names, but "
                f"{type(estimator).__name__} was fitted with feature names",
                UserWarning,
                stacklevel=3,
            )
        else:
            warnings.warn(
                f"X has feature names, but {type(estimator).__name__} was fitted "
                f"without feature names",
                UserWarning,
                stacklevel=3,
            )
    expected = estimator.n_features_in_
    if n_features != expected:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is "
            f"expecting {expected} features as input."
        )
    return arr


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn ``random_state`` into a :class:`numpy.random.Generator`.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        ``None`` draws fresh entropy; an int seeds a new generator (the same
        int always gives the same stream); a ``Generator`` is used as is; a
        ``RandomState`` seeds a new generator from its stream.

    Returns
    -------
    rng : numpy.random.Generator
        The generator to draw from.

    Raises
    ------
    ValueError
        If ``random_state`` is none of the above.
    """
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        if random_state is not None and int(random_state) < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}.")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise ValueError(
        f"random_state must be None, an int, a numpy Generator or RandomState; "
        f"got {random_state!r}."
    )


def check_scalar(
    value: Any,
    name: str,
    target_type,
    *,
    min_val=None,
    max_val=None,
    include_min: bool = True,
    include_max: bool = True,
):
    """Check that a parameter is a number of the right type and range.

    Parameters
    ----------
    value : object
        The parameter value.
    name : str
        The parameter name (for the message).
    target_type : type or tuple of types
        Accepted types, e.g. ``numbers.Real``.
    min_val, max_val : float, optional
        Bounds.
    include_min, include_max : bool, default=True
        Whether the bounds themselves are allowed.

    Returns
    -------
    value : object
        The value, unchanged.

    Raises
    ------
    TypeError
        Wrong type.
    ValueError
        Out of range.
    """
    if isinstance(value, bool) or not isinstance(value, target_type):
        raise TypeError(
            f"{name} must be of type {_type_name(target_type)}, got "
            f"{type(value).__name__} ({value!r})."
        )
    if min_val is not None:
        if value < min_val or (value == min_val and not include_min):
            op = ">=" if include_min else ">"
            raise ValueError(f"{name} == {value!r}, must be {op} {min_val}.")
    if max_val is not None:
        if value > max_val or (value == max_val and not include_max):
            op = "<=" if include_max else "<"
            raise ValueError(f"{name} == {value!r}, must be {op} {max_val}.")
    if isinstance(value, numbers.Real) and not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    return value


def _type_name(t) -> str:
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    return {numbers.Real: "float", numbers.Integral: "int"}.get(t, t.__name__)


def check_option(value: Any, name: str, options: Iterable[Any]):
    """Check that a string parameter is one of the allowed options.

    Parameters
    ----------
    value : object
        The parameter value.
    name : str
        The parameter name.
    options : iterable
        Allowed values.

    Returns
    -------
    value : object
        The value, unchanged.

    Raises
    ------
    ValueError
        If ``value`` is not allowed.
    """
    options = list(options)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}.")
    return value


def check_labels(y: Any, n_samples: int, *, name: str = "y") -> np.ndarray:
    """Validate class labels for a classifier: 1-D, one per sample, not continuous.

    A column vector is ravelled with a ``DataConversionWarning`` (as
    scikit-learn does).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Labels (numbers or strings).
    n_samples : int
        Number of rows of ``X``.
    name : str, default="y"
        Name used in messages.

    Returns
    -------
    y : ndarray of shape (n_samples,)
        The labels.

    Raises
    ------
    ValueError
        ``y`` missing, of the wrong shape, with NaN, or continuous.

    Examples
    --------
    >>> check_labels(["a", "b", "a"], 3).tolist()
    ['a', 'b', 'a']
    """
    import warnings

    from .exceptions import data_conversion_warning

    if y is None:
        raise ValueError(
            "This estimator requires y to be passed, but the target y is None."
        )
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change "
            "the shape of y to (n_samples, ), for example using ravel().",
            data_conversion_warning(),
            stacklevel=3,
        )
        y = y.ravel()
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(
            f"{name} must be a 1-D array of {n_samples} labels (one per row of X), got "
            f"shape {y.shape}."
        )
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)):
            raise ValueError(f"Input {name} contains NaN or infinity.")
        if np.any(y != np.round(y)):
            raise ValueError(
                f"Unknown label type: continuous values in {name}; a classifier needs "
                f"class labels (use a regressor for continuous targets)."
            )
    return y
