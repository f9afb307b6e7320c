"""DistillReport: how faithful, how small and how fast a distilled student is."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._metrics import accuracy_score, r2_score
from .._table import format_table
from ._targets import query_teacher, softmax

__all__ = ["DistillReport", "BudgetCurve", "build_report", "budget_curve", "count_parameters"]

#: Fitted attributes that hold a model's parameters (lists of arrays included).
_PARAM_ATTRS = (
    "coef_", "intercept_", "coefs_", "intercepts_", "cluster_centers_", "components_",
    "weights_", "local_coef_", "local_intercept_",
)
#: Fitted sub-models whose parameters count too.
_SUB_ATTRS = ("student_", "features_", "metric_", "kmeans_", "som_", "pca_", "partition_", "ridge_",
              "estimators_", "steps")


def count_parameters(model: Any) -> int:
    """Count the learned numbers in a fitted model (shared arrays counted once).

    Counts the usual parameter attributes (``coef_``, ``coefs_``,
    ``cluster_centers_``, ``components_``, ...) of the model and of its fitted
    sub-models (a distiller's student and feature map, a pipeline's steps, an
    ensemble's members; decision trees count two numbers per node).

    Parameters
    ----------
    model : object
        A fitted model.

    Returns
    -------
    n : int
        The parameter count (0 when none are recognised).

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill import Ridge
    >>> count_parameters(Ridge().fit(np.eye(3), [1.0, 2.0, 3.0]))
    4
    """
    seen: set[int] = set()

    def arrays(obj, depth):
        if depth > 6 or obj is None or id(obj) in seen:
            return 0
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            return int(obj.size) if obj.dtype.kind == "f" else \
                sum(arrays(o, depth + 1) for o in obj.ravel()) if obj.dtype == object else 0
        if isinstance(obj, (list, tuple)):
            return sum(arrays(o, depth + 1) for o in obj)
        if isinstance(obj, (float, np.floating)):
            return 1
        tree = getattr(obj, "tree_", None)
        if tree is not None and hasattr(tree, "node_count"):
            return 2 * int(tree.node_count)
        total = 0
        for name in _PARAM_ATTRS:
            try:
                value = getattr(obj, name)
            except (AttributeError, ValueError):
                continue
            total += arrays(value, depth + 1)
        for name in _SUB_ATTRS:
            value = getattr(obj, name, None)
            if isinstance(value, list) and name == "steps":
                total += sum(arrays(step[1], depth + 1) for step in value)
            elif value is not None and not isinstance(value, (str, bool)):
                total += arrays(value, depth + 1)
        return total

    return arrays(model, 0)


def _best_time(fn, n_repeats: int) -> float:
    best = np.inf
    for _ in range(max(1, n_repeats)):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


class DistillReport:
    """Fidelity, scores, sizes and speeds of a distilled student.

    Built by :meth:`Distiller.report`. Printing it gives a table; ``to_dict``
    gives plain Python values (for JSON).

    Parameters
    ----------
    task : str
        "regression" or "classification".
    metrics : dict
        Name -> value (floats, ints or None).
    curve : BudgetCurve, optional
        Fidelity against the number of teacher queries.

    Attributes
    ----------
    task : str
        "regression" or "classification".
    metrics : dict
        Every measured value.

    Examples
    --------
    >>> r = DistillReport("regression", {"fidelity_r2": 0.99, "speedup": 12.0})
    >>> r.to_dict()["metrics"]["fidelity_r2"]
    0.99
    """

    _LABELS = {
        "n_samples": "rows evaluated",
        "fidelity_r2": "fidelity R2 (student vs teacher)",
        "agreement": "agreement with the teacher",
        "mean_kl": "mean KL(teacher || student)",
        "teacher_score": "teacher score on y",
        "student_score": "student score on y",
        "teacher_params": "teacher parameters",
        "student_params": "student parameters",
        "compression": "parameter ratio (teacher / student)",
        "teacher_predict_s": "teacher predict time (s)",
        "student_predict_s": "student predict time (s)",
        "speedup": "predict speed-up",
        "n_teacher_queries": "teacher queries during fit",
        "fit_transfer_s": "fit: transfer set (s)",
        "fit_teacher_s": "fit: teacher queries (s)",
        "fit_features_s": "fit: feature map (s)",
        "fit_student_s": "fit: student (s)",
    }

    def __init__(self, task: str, metrics: dict, curve: BudgetCurve | None = None):
        self.task = task
        self.metrics = dict(metrics)
        self.curve = curve

    def __getitem__(self, key: str):
        return self.metrics[key]

    def to_dict(self) -> dict:
        """Plain-Python copy of the report.

        Returns
        -------
        report : dict
            ``{"task": ..., "metrics": {...}}`` with floats, ints and None.
        """
        def plain(v):
            if isinstance(v, (np.floating, np.integer)):
                return v.item()
            return v

        out = {"task": self.task, "metrics": {k: plain(v) for k, v in self.metrics.items()}}
        if self.curve is not None:
            out["budget_curve"] = self.curve.to_dict()
        return out

    def __str__(self) -> str:
        rows = []
        for key, value in self.metrics.items():
            if value is None:
                continue
            rows.append([self._LABELS.get(key, key), value])
        text = f"Distillation report ({self.task})\n" + format_table(["measure", "value"], rows)
        if self.curve is not None:
            text += "\n\n" + str(self.curve)
        return text

    def __repr__(self) -> str:
        return f"DistillReport(task={self.task!r}, metrics={self.metrics!r})"


def build_report(distiller, X, y=None, *, n_repeats: int = 3, curve=None) -> DistillReport:
    """Measure a fitted :class:`Distiller` on held-out rows (see ``Distiller.report``).

    Parameters
    ----------
    distiller : Distiller
        Fitted distiller (its teacher is needed).
    X : array-like of shape (n_samples, n_features)
        Held-out rows.
    y : array-like, optional
        True targets or labels.
    n_repeats : int, default=3
        Timing repeats (best kept).
    curve : BudgetCurve, optional
        Attached to the report.

    Returns
    -------
    report : DistillReport
        The measurements.
    """
    from .._validation import validate_data

    teacher = distiller.teacher
    if teacher is None:
        raise ValueError("report needs the teacher; set teacher= on this Distiller.")
    X = validate_data(distiller, X, reset=False)
    classification = distiller.target_ != "regression"
    m: dict[str, Any] = {"n_samples": X.shape[0]}
    t_pred = teacher.predict(X)
    s_pred = distiller.predict(X)
    if classification:
        m["agreement"] = float(np.mean(np.asarray(t_pred) == s_pred))
        logits = query_teacher(teacher, X, classification=True, chunk_rows=X.shape[0] or 1,
                               dtype=np.float64)
        P = softmax(logits)
        Q = np.clip(distiller.predict_proba(X).astype(np.float64), 1e-300, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(P > 0, P * (np.log(np.clip(P, 1e-300, None)) - np.log(Q)), 0.0)
        m["mean_kl"] = float(np.mean(kl.sum(axis=1)))
    else:
        m["fidelity_r2"] = r2_score(np.asarray(t_pred), s_pred)
    if y is not None:
        score = accuracy_score if classification else r2_score
        m["teacher_score"] = score(y, t_pred)
        m["student_score"] = score(y, s_pred)
    m["teacher_params"] = count_parameters(teacher)
    m["student_params"] = count_parameters(distiller)
    m["compression"] = (m["teacher_params"] / m["student_params"]
                        if m["student_params"] else None)
    m["teacher_predict_s"] = _best_time(lambda: teacher.predict(X), n_repeats)
    m["student_predict_s"] = _best_time(lambda: distiller.predict(X), n_repeats)
    m["speedup"] = m["teacher_predict_s"] / max(m["student_predict_s"], 1e-12)
    # Transfer rows plus the metric's probes (older saved models: rows only).
    m["n_teacher_queries"] = getattr(distiller, "n_teacher_queries_", distiller.n_transfer_)
    for k, v in distiller.fit_time_.items():
        m[f"fit_{k}_s"] = v
    return DistillReport("classification" if classification else "regression", m, curve)


class BudgetCurve:
    """Fidelity against the number of teacher queries, per way of choosing them.

    Built by :func:`budget_curve` (or :meth:`Distiller.budget_curve`).

    Parameters
    ----------
    rows : list of dict
        One per fit: ``strategy``, ``queries`` (teacher queries made) and
        ``fidelity``.
    uncapped : float
        Fidelity with every unlabeled row queried.
    n_unlabeled : int
        Number of unlabeled rows (the uncapped query count).

    Examples
    --------
    >>> c = BudgetCurve([{"strategy": "kmeans", "queries": 100, "fidelity": 0.9},
    ...                  {"strategy": "kmeans", "queries": 400, "fidelity": 0.97}], 0.98, 1000)
    >>> c.queries_to_reach(0.95)
    {'kmeans': 400}
    """

    def __init__(self, rows: list, uncapped: float, n_unlabeled: int):
        self.rows = list(rows)
        self.uncapped = float(uncapped)
        self.n_unlabeled = int(n_unlabeled)

    def queries_to_reach(self, fraction: float = 0.95) -> dict:
        """Fewest queries at which each strategy reaches ``fraction`` of the uncapped fidelity.

        Parameters
        ----------
        fraction : float, default=0.95
            Target, relative to the uncapped fidelity.

        Returns
        -------
        queries : dict
            Strategy -> query count (None when no measured size reaches it).
        """
        out: dict = {}
        for r in sorted(self.rows, key=lambda r: r["queries"]):
            out.setdefault(r["strategy"], None)
            if out[r["strategy"]] is None and r["fidelity"] >= fraction * self.uncapped:
                out[r["strategy"]] = r["queries"]
        return out

    def to_dict(self) -> dict:
        """Plain-Python copy (for JSON).

        Returns
        -------
        curve : dict
            Rows, the uncapped fidelity and the queries needed for 95 % of it.
        """
        return {"rows": [dict(r) for r in self.rows], "uncapped": self.uncapped,
                "n_unlabeled": self.n_unlabeled, "queries_for_95pct": self.queries_to_reach()}

    def __str__(self) -> str:
        strategies = list(dict.fromkeys(r["strategy"] for r in self.rows))
        sizes = sorted({r["queries"] for r in self.rows})
        table = {(r["strategy"], r["queries"]): r["fidelity"] for r in self.rows}
        body = [[q] + [table.get((s, q), "") for s in strategies] for q in sizes]
        body.append([f"{self.n_unlabeled} (all)"] + [self.uncapped] * len(strategies))
        need = self.queries_to_reach()
        body.append(["queries for 95 % of uncapped"] + [need[s] for s in strategies])
        return "Fidelity against teacher queries\n" + format_table(
            ["teacher queries"] + [f"fidelity ({s})" for s in strategies], body)


def budget_curve(distiller, X_unlabeled, X_eval, sizes, *,
                 strategies=("kmeans", "random")) -> BudgetCurve:
    """Refit a distiller under several teacher-query budgets and measure its fidelity.

    Parameters
    ----------
    distiller : Distiller
        Gives the teacher, student, features and seeds (it is cloned; it need
        not be fitted).
    X_unlabeled : array-like of shape (n_samples, n_features)
        Unlabeled rows.
    X_eval : array-like of shape (n_eval, n_features)
        Held-out rows for the fidelity.
    sizes : sequence of int
        Query budgets.
    strategies : sequence of {"kmeans", "random"}, default=("kmeans", "random")
        "kmeans": cluster coverage (:class:`KMeansSelection`, what
        ``max_teacher_queries`` does); "random": a uniform subset
        (:class:`RandomSelection`).

    Returns
    -------
    curve : BudgetCurve
        Fidelity per (strategy, budget) and uncapped.
    """
    from .._base import clone
    from ._transfer import RandomSelection

    X_unlabeled = np.asarray(X_unlabeled)
    full = clone(distiller).set_params(max_teacher_queries=None).fit(X_unlabeled)
    rows = []
    for size in sizes:
        for strategy in strategies:
            d = clone(distiller)
            if strategy == "kmeans":
                d.set_params(max_teacher_queries=int(size))
            elif strategy == "random":
                # The same cap, so a teacher metric gets the same probes; the
                # random rows fill what they leave.
                probes = _metric_probes(d, int(size), X_unlabeled.shape)
                d.set_params(transfer=RandomSelection(max(1, int(size) - probes),
                                                      random_state=distiller.random_state),
                             max_teacher_queries=int(size))
            else:
                raise ValueError(f"strategies must be 'kmeans' or 'random', got {strategy!r}.")
            d.fit(X_unlabeled)
            rows.append({"strategy": strategy, "queries": d.n_teacher_queries_,
                         "fidelity": d.fidelity(X_eval)})
    return BudgetCurve(rows, full.fidelity(X_eval), X_unlabeled.shape[0])


def _metric_probes(distiller, cap: int, shape) -> int:
    """Teacher queries a distiller's metric would spend under a cap of ``cap``."""
    from ._metric import TeacherMetric, probe_queries

    metric = distiller.metric
    if metric is None:
        return 0
    n_samples = (TeacherMetric() if isinstance(metric, str) else metric).n_samples
    return probe_queries(n_samples, cap, shape)
