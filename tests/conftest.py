"""Shared fixtures: seeded generators and small data sets."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

# Test helpers (naive.py) are imported by name; importlib mode does not put
# this folder on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def seed() -> int:
    return 0


@pytest.fixture
def rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed)
