"""Benchmark fixtures: data size follows whether timing is enabled."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def bench_size(request) -> str:
    """``"full"`` when timing is enabled, ``"smoke"`` in the normal test run."""
    enabled = request.config.getoption("benchmark_enable", False) or not (
        request.config.getoption("benchmark_disable", False)
    )
    return "full" if enabled else "smoke"
