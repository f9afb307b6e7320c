"""Exceptions and warnings raised by fastdistill."""

from __future__ import annotations

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
