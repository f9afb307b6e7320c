"""Budgeted teacher (issue 6): fidelity against the number of teacher queries.

Friedman #1 (noise 0.5, standardised; 10,000 labeled rows train an MLP (64, 64)
teacher, 40,000 unlabeled rows, 10,000 test rows). The student is a ridge
(alpha=1e-3) on 128 k-means RBF features; the features are fitted on all the
unlabeled rows (they need no teacher), the ridge on the teacher's outputs at
the rows a selector keeps. Fidelity is the R^2 of the student against the
teacher on the test rows.

For each budget and seed, :class:`~fastdistill.distill.KMeansSelection`
(cluster coverage) and :class:`~fastdistill.distill.RandomSelection` choose
the rows; the coverage rows are used twice, with the ridge unweighted and
weighted by ``weights_`` (the size of the cluster each row stands for). The
script prints the mean and worst fidelity over the seeds, and the smallest
budget whose mean fidelity reaches 95% of the uncapped one (all 40,000 rows).

Run: ``python benchmarks/budget_curve.py [--seeds 5]`` (about 10 minutes on
2 cores: k-means with k = 8,000 dominates; ``--quick`` stops at 1,000).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from distill_quality import friedman_split

from fastdistill import MLPRegressor, Ridge
from fastdistill._metrics import r2_score
from fastdistill._table import format_table
from fastdistill.distill import KMeansFeatures, KMeansSelection, RandomSelection

BUDGETS = (250, 275, 300, 325, 350, 400, 500, 1000, 2000, 4000, 8000, 40_000)
TARGET = 0.95


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="selector seeds per budget")
    parser.add_argument("--quick", action="store_true", help="budgets up to 1,000 only")
    args = parser.parse_args(argv)
    budgets = [b for b in BUDGETS if b <= 1000] if args.quick else list(BUDGETS)

    def say(msg: str) -> None:
        print(msg, flush=True)

    (XL, yL), XU, (XT, _) = friedman_split()
    t0 = time.perf_counter()
    teacher = MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=200, random_state=0).fit(XL, yL)
    features = KMeansFeatures(128, random_state=0).fit(XU)
    ZU, ZT = features.transform(XU), features.transform(XT)
    tU, tT = teacher.predict(XU), teacher.predict(XT)
    say(f"teacher and features ready in {time.perf_counter() - t0:.1f} s")

    def fidelity(idx: np.ndarray, weights=None) -> float:
        student = Ridge(alpha=1e-3).fit(ZU[idx], tU[idx], sample_weight=weights)
        return r2_score(tT, student.predict(ZT))

    full = fidelity(np.arange(XU.shape[0]))
    say(f"uncapped fidelity (all {XU.shape[0]:,} rows): {full:.4f}; target "
        f"{TARGET:.0%} of it = {TARGET * full:.4f}")
    methods = ("coverage, weighted", "coverage, unweighted", "random")
    curve: dict[str, dict[int, float]] = {m: {} for m in methods}
    rows = []
    for budget in budgets:
        fids: dict[str, list[float]] = {m: [] for m in methods}
        secs: dict[str, list[float]] = {"coverage": [], "random": []}
        for seed in range(args.seeds):
            sel = KMeansSelection(budget, random_state=seed)
            t = time.perf_counter()
            idx = sel.select(XU)
            secs["coverage"].append(time.perf_counter() - t)
            fids["coverage, weighted"].append(fidelity(idx, sel.weights_))
            fids["coverage, unweighted"].append(fidelity(idx))
            t = time.perf_counter()
            idx = RandomSelection(budget, random_state=seed).select(XU)
            secs["random"].append(time.perf_counter() - t)
            fids["random"].append(fidelity(idx))
        row: list[object] = [budget]
        for m in methods:
            curve[m][budget] = float(np.mean(fids[m]))
            row += [curve[m][budget], float(np.min(fids[m]))]
        row.append(float(np.mean(secs["coverage"])))
        rows.append(row)
    headers = ["queries"]
    for m in methods:
        headers += [f"{m}: mean", "worst"]
    headers.append("k-means select s")
    say(format_table(headers, rows))
    for m in methods:
        reached = [b for b in budgets if curve[m][b] >= TARGET * full]
        text = (f"{reached[0]} queries (mean fidelity {curve[m][reached[0]]:.4f})"
                if reached else "not reached")
        say(f"{m}: {TARGET:.0%} of the uncapped fidelity at {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
