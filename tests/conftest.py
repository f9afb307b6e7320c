"""Shared fixtures: seeded generators and small data sets."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def seed() -> int:
    return 0


@pytest.fixture
def rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed)


def tolerance(dtype) -> dict:
    """dtype-aware tolerances for cross-path comparisons."""
    if np.dtype(dtype) == np.float32:
        return {"rtol": 1e-4, "atol": 1e-4}
    return {"rtol": 1e-7, "atol": 1e-9}
