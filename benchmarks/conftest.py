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


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config) -> None:
    """Time benchmarks in one process.

    The test suite runs on several pytest-xdist workers, and pytest-benchmark
    does not time anything under xdist; with ``--benchmark-enable`` the run
    stays in this process, so the timings are real and no worker competes
    with the one being timed.
    """
    if config.getoption("benchmark_enable", False):
        config.option.numprocesses = 0
