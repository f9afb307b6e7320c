"""One unchanged scikit-learn script, run plain and with ``fastdistill.patch``.

Run with timing: ``pytest benchmarks/test_bench_patch.py --benchmark-enable
--benchmark-only``. In the normal test run the script runs once, on 2,000 rows,
in each mode (smoke test).
"""

from __future__ import annotations

import pytest
from registry import run_benchmark, tasks

pytest.importorskip("sklearn")


@pytest.mark.parametrize("impl", ["fastdistill", "baseline"])
@pytest.mark.parametrize("task", tasks("patch"), ids=lambda t: t.name)
def test_patch(benchmark, bench_size, task, impl):
    run_benchmark(benchmark, bench_size, task, impl)
