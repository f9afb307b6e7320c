"""Distillation pipelines: fastdistill against the same pipeline from scikit-learn pieces.

Run with timing: ``pytest benchmarks --benchmark-enable --benchmark-only``.
In the normal test run each benchmark runs once on tiny data (smoke test).
"""

from __future__ import annotations

import pytest
from registry import run_benchmark, tasks

pytest.importorskip("sklearn")


@pytest.mark.parametrize("impl", ["fastdistill", "baseline"])
@pytest.mark.parametrize("task", tasks("distill"), ids=lambda t: t.name)
def test_distill(benchmark, bench_size, task, impl):
    run_benchmark(benchmark, bench_size, task, impl)
