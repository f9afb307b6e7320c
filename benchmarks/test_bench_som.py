"""Self-organizing maps against MiniSom: same data, same run, grouped by task.

Run with timing: ``pytest benchmarks --benchmark-enable --benchmark-only``.
In the normal test run each benchmark runs once on tiny data (smoke test).
"""

from __future__ import annotations

import pytest
from registry import run_benchmark, tasks

pytest.importorskip("minisom")


@pytest.mark.parametrize("impl", ["fastdistill", "baseline"])
@pytest.mark.parametrize("task", tasks("som"), ids=lambda t: t.name)
def test_som(benchmark, bench_size, task, impl):
    run_benchmark(benchmark, bench_size, task, impl)
