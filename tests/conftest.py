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
