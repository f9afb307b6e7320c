"""Exceptions and warnings raised by fastdistill."""

from __future__ import annotations

import sys

__all__ = ["NotFittedError", "ConvergenceWarning", "DataConversionWarning"]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before ``fit``.

    Subclasses both :class:`ValueError` and :class:`AttributeError`, as
    scikit-learn's ``NotFittedError`` does, so existing ``except`` clauses keep
    working.

    Examples
    --------
    >>> from fastdistill.exceptions import NotFittedError
    >>> issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    True
    """


class ConvergenceWarning(UserWarning):
    """Warning raised when an iterative solver stops before converging.

    Examples
    --------
    >>> from fastdistill.exceptions import ConvergenceWarning
    >>> issubclass(ConvergenceWarning, UserWarning)
    True
    """


class DataConversionWarning(UserWarning):
    """Warning raised when input data is converted in a way the user may not expect.

    Examples
    --------
    >>> from fastdistill.exceptions import DataConversionWarning
    >>> issubclass(DataConversionWarning, UserWarning)
    True
    """


_SK_COMPAT_CACHE: dict = {}


def not_fitted_error(message: str) -> NotFittedError:
    """Build a :class:`NotFittedError`, compatible with scikit-learn's if loaded.

    When scikit-learn has been imported (and only then: it is never imported
    here), the error also subclasses ``sklearn.exceptions.NotFittedError``,
    so code that catches scikit-learn's exception catches fastdistill's.

    Parameters
    ----------
    message : str
        The error message.

    Returns
    -------
    error : NotFittedError
        The exception instance, to be raised by the caller.
    """
    return _with_sklearn(NotFittedError, "NotFittedError")(message)


def _with_sklearn(base: type, name: str) -> type:
    """``base``, or a subclass of it and of scikit-learn's class ``name`` if loaded."""
    sk = sys.modules.get("sklearn.exceptions")
    if sk is None or not hasattr(sk, name):
        return base
    sk_cls = getattr(sk, name)
    cls = _SK_COMPAT_CACHE.get(sk_cls)
    if cls is None:
        cls = type(base.__name__, (base, sk_cls), {})
        cls.__module__ = __name__
        _SK_COMPAT_CACHE[sk_cls] = cls
    return cls


def convergence_warning() -> type:
    """Return the warning category to use for convergence warnings.

    :class:`ConvergenceWarning`, or, when scikit-learn has been imported, a
    subclass of it and of ``sklearn.exceptions.ConvergenceWarning``, so that
    filters written for scikit-learn's warning also apply.

    Returns
    -------
    category : type
        A subclass of :class:`ConvergenceWarning`.
    """
    return _with_sklearn(ConvergenceWarning, "ConvergenceWarning")


def data_conversion_warning() -> type:
    """Return the category for data-conversion warnings (see :func:`convergence_warning`).

    Returns
    -------
    category : type
        A subclass of :class:`DataConversionWarning`.
    """
    return _with_sklearn(DataConversionWarning, "DataConversionWarning")
