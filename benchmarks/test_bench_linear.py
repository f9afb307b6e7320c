"""Linear students against scikit-learn: same data, same run, grouped by task.

Run with timing: ``pytest benchmarks --benchmark-enable --benchmark-only``.
In the normal test run each benchmark runs once on tiny data (smoke test).
"""

from __future__ import annotations

import pytest
from registry import tasks

pytest.importorskip("sklearn")

_CACHE: dict = {}


def _data(task, size):
    key = (task.name, size)
    if key not in _CACHE:
        _CACHE.clear()  # keep one large data set in memory at a time
        _CACHE[key] = task.make_data(task.shapes[size])
    return _CACHE[key]


@pytest.mark.parametrize("impl", ["fastdistill", "baseline"])
@pytest.mark.parametrize("task", tasks("linear"), ids=lambda t: t.name)
def test_linear(benchmark, bench_size, task, impl):
    data = _data(task, bench_size)
    fn = task.ours if impl == "fastdistill" else task.baseline
    if impl == "fastdistill":
        small = task.make_data(task.shapes["smoke"])
        task.ours(small)  # compile (or load from cache) before timing
    benchmark.group = task.label(bench_size)
    benchmark.extra_info["goal"] = task.goal
    result = benchmark.pedantic(fn, args=(data,), rounds=3 if bench_size == "full" else 1,
                                iterations=1, warmup_rounds=0)
    if task.quality is not None:
        quality = task.quality(data, result)
        benchmark.extra_info.update(quality)
        assert all(v == v for v in quality.values())  # no NaN quality figures
