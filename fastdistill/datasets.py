"""Built-in synthetic data sets used by the demo, the tests and the benchmarks."""

from __future__ import annotations

import numpy as np

from ._validation import check_random_state

__all__ = ["make_seed_regression", "make_linear_regression", "make_friedman1"]


def make_seed_regression(n_samples: int = 100, noise: float = 0.1, random_state=0):
    """The seed example: ``y = 1.5 * x0 - 0.5 * x1 + noise``.

    Parameters
    ----------
    n_samples : int, default=100
        Number of samples.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise.
    random_state : int, Generator or None, default=0
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
        Standard normal features.
    y : ndarray of shape (n_samples,)
        Targets.

    Examples
    --------
    >>> from fastdistill.datasets import make_seed_regression
    >>> X, y = make_seed_regression(10)
    >>> X.shape, y.shape
    ((10, 2), (10,))
    """
    rng = check_random_state(random_state)
    X = rng.normal(size=(n_samples, 2))
    y = 1.5 * X[:, 0] - 0.5 * X[:, 1] + noise * rng.normal(size=n_samples)
    return X, y


def make_linear_regression(
    n_samples: int = 1000,
    n_features: int = 10,
    n_targets: int = 1,
    noise: float = 1.0,
    dtype=np.float64,
    random_state=0,
):
    """Gaussian features with a random linear target plus Gaussian noise.

    Parameters
    ----------
    n_samples, n_features, n_targets : int
        Shape of the problem.
    noise : float, default=1.0
        Noise standard deviation.
    dtype : dtype, default=np.float64
        dtype of ``X`` and ``y``.
    random_state : int, Generator or None, default=0
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
    coef : ndarray of shape (n_features, n_targets)
        The true coefficients.

    Examples
    --------
    >>> from fastdistill.datasets import make_linear_regression
    >>> X, y, coef = make_linear_regression(5, 3)
    >>> X.shape, y.shape, coef.shape
    ((5, 3), (5,), (3, 1))
    """
    rng = check_random_state(random_state)
    X = rng.standard_normal(size=(n_samples, n_features), dtype=np.float64)
    coef = rng.normal(size=(n_features, n_targets))
    y = X @ coef + 0.5 + noise * rng.standard_normal(size=(n_samples, n_targets))
    if n_targets == 1:
        y = y[:, 0]
    return X.astype(dtype, copy=False), y.astype(dtype, copy=False), coef


def make_friedman1(n_samples: int = 1000, n_features: int = 10, noise: float = 0.0,
                   random_state=0):
    """Friedman #1 regression problem (as scikit-learn's ``make_friedman1``).

    ``y = 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4 + noise`` with
    features uniform on [0, 1]; features past the fifth are irrelevant.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples.
    n_features : int, default=10
        Number of features (at least 5).
    noise : float, default=0.0
        Standard deviation of the Gaussian noise.
    random_state : int, Generator or None, default=0
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> from fastdistill.datasets import make_friedman1
    >>> X, y = make_friedman1(4)
    >>> X.shape
    (4, 10)
    """
    if n_features < 5:
        raise ValueError(f"n_features must be at least 5, got {n_features}.")
    rng = check_random_state(random_state)
    X = rng.uniform(size=(n_samples, n_features))
    y = (
        10 * np.sin(np.pi * X[:, 0] * X[:, 1])
        + 20 * (X[:, 2] - 0.5) ** 2
        + 10 * X[:, 3]
        + 5 * X[:, 4]
        + noise * rng.standard_normal(size=n_samples)
    )
    return X, y
