"""The ``fastdistill`` command line: a thin layer over the public API.

Commands (``fastdistill COMMAND --help`` lists every option):

``demo``
    The built-in demonstration (no files needed).
``distill``
    Train a teacher on a labeled file, distill it into a student over the
    training rows (plus any unlabeled rows), print the report, save the
    fitted :class:`~fastdistill.Distiller`.
``predict``
    Predictions of a saved model for a data file, as CSV.
``report``
    The :class:`~fastdistill.distill.DistillReport` of a saved distiller on a
    data file.

Bad files and bad options end the command with exit status 2 and one line
``fastdistill: error: ...`` on standard error (no traceback). Warnings (for
example a teacher that did not converge) are one ``fastdistill: warning:``
line each.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "main",
    "build_parser",
    "make_teacher",
    "make_student",
    "make_features",
    "make_transfer",
    "infer_task",
]

#: At most this many distinct integer values make an integer target a class label
#: (``--task auto``).
MAX_AUTO_CLASSES = 20
#: Attribute of the saved Distiller describing the training file's columns.
_INFO = "data_info_"


# ------------------------------------------------------------------ specs
def _spec_error(option: str, spec: str, what: str) -> ValueError:
    return ValueError(f"bad {option} {spec!r}: {what}")


def _positive_int(text: str, option: str, spec: str, example: str) -> int:
    if not re.fullmatch(r"\+?\d+", text.strip()) or int(text) < 1:
        raise _spec_error(option, spec, f"{text!r} is not a positive integer (e.g. {example})")
    return int(text)


def _split_spec(spec: str) -> tuple[str, str | None]:
    name, _, arg = spec.strip().partition(":")
    return name.strip().lower(), (arg.strip() if _ else None)


def make_teacher(spec: str, task: str, *, max_iter: int = 200, random_state=None):
    """Build the (unfitted) teacher of a ``--teacher`` spec.

    Parameters
    ----------
    spec : str
        ``mlp:H1,H2,...`` (hidden layer sizes; ``mlp`` alone is
        ``mlp:64,64``).
    task : {"regression", "classification"}
        Gives :class:`~fastdistill.MLPRegressor` or
        :class:`~fastdistill.MLPClassifier`.
    max_iter : int, default=200
        Training epochs of the teacher.
    random_state : int or None
        Seed of the teacher.

    Returns
    -------
    teacher : estimator
        Unfitted.

    Raises
    ------
    ValueError
        For an unknown or malformed spec.

    Examples
    --------
    >>> make_teacher("mlp:16,8", "regression", max_iter=50)
    MLPRegressor(hidden_layer_sizes=(16, 8), max_iter=50)
    """
    name, arg = _split_spec(spec)
    if name != "mlp":
        raise _spec_error("--teacher", spec, "the teacher is 'mlp:H1,H2,...' (e.g. mlp:64,64) "
                          "or a saved model file (.npz)")
    sizes = (64, 64) if not arg else tuple(
        _positive_int(s, "--teacher", spec, "mlp:64,64") for s in arg.split(","))
    from .neural_network import MLPClassifier, MLPRegressor

    cls = MLPClassifier if task == "classification" else MLPRegressor
    return cls(hidden_layer_sizes=sizes, max_iter=max_iter, random_state=random_state)


def make_student(spec: str, *, random_state=None):
    """Build the student of a ``--student`` spec.

    Parameters
    ----------
    spec : str
        ``linear`` (:class:`~fastdistill.Ridge` with ``alpha=1e-3``), ``sgd``
        (:class:`~fastdistill.SGDRegressor`) or ``local[:K]``
        (:class:`~fastdistill.distill.LocalLinearRegressor` with ``K``
        regions, default 64). For classifier teachers the student fits the
        teacher's logits.
    random_state : int or None
        Seed (local students).

    Returns
    -------
    student : estimator
        Unfitted.

    Raises
    ------
    ValueError
        For an unknown or malformed spec.

    Examples
    --------
    >>> make_student("local:16", random_state=0)
    LocalLinearRegressor(n_regions=16, random_state=0)
    """
    name, arg = _split_spec(spec)
    if name in ("linear", "sgd") and arg is not None:
        raise _spec_error("--student", spec, f"'{name}' takes no argument")
    if name == "linear":
        from .linear_model import Ridge

        return Ridge(alpha=1e-3)
    if name == "sgd":
        from .linear_model import SGDRegressor

        return SGDRegressor(random_state=random_state)
    if name == "local":
        from .distill import LocalLinearRegressor

        k = 64 if not arg else _positive_int(arg, "--student", spec, "local:64")
        return LocalLinearRegressor(k, random_state=random_state)
    raise _spec_error("--student", spec, "choose linear, sgd or local[:K] (e.g. local:64)")


def make_features(spec: str, *, random_state=None):
    """Build the feature map of a ``--features`` spec.

    Parameters
    ----------
    spec : str
        ``none``, ``kmeans:K`` (:class:`~fastdistill.distill.KMeansFeatures`,
        ``K`` RBF features), ``pca:K``
        (:class:`~fastdistill.distill.PCAFeatures`) or ``som:MxN``
        (:class:`~fastdistill.distill.SOMFeatures` on an ``M x N`` map).
    random_state : int or None
        Seed.

    Returns
    -------
    features : transformer or None
        Unfitted (``None`` for ``none``).

    Raises
    ------
    ValueError
        For an unknown or malformed spec.

    Examples
    --------
    >>> make_features("som:4x5", random_state=0)
    SOMFeatures(m=4, n=5, random_state=0)
    >>> make_features("none") is None
    True
    """
    name, arg = _split_spec(spec)
    if name == "none" and arg is None:
        return None
    if name in ("kmeans", "pca"):
        example = "kmeans:128" if name == "kmeans" else "pca:10"
        if not arg:
            raise _spec_error("--features", spec, f"give the number of features (e.g. "
                              f"{example})")
        k = _positive_int(arg, "--features", spec, example)
        from .distill import KMeansFeatures, PCAFeatures

        if name == "kmeans":
            return KMeansFeatures(n_clusters=k, random_state=random_state)
        return PCAFeatures(n_components=k, random_state=random_state)
    if name == "som":
        m, sep, n = (arg or "").lower().partition("x")
        if not sep:
            raise _spec_error("--features", spec, "give the map size as MxN (e.g. som:10x10)")
        from .distill import SOMFeatures

        return SOMFeatures(m=_positive_int(m, "--features", spec, "som:10x10"),
                           n=_positive_int(n, "--features", spec, "som:10x10"),
                           random_state=random_state)
    raise _spec_error("--features", spec, "choose none, kmeans:K, pca:K or som:MxN")


def make_transfer(spec: str, *, random_state=None):
    """Build the transfer-set builder of a ``--transfer`` spec.

    Parameters
    ----------
    spec : str
        ``none``, ``munge[:N]`` (:class:`~fastdistill.distill.MUNGE`, ``N``
        synthetic rows, default as many as the unlabeled rows) or
        ``gaussian[:N]`` (:class:`~fastdistill.distill.GaussianClusters`).
        The unlabeled rows are always kept beside the synthetic ones.
    random_state : int or None
        Seed.

    Returns
    -------
    transfer : transfer-set builder or None
        ``None`` for ``none``.

    Raises
    ------
    ValueError
        For an unknown or malformed spec.

    Examples
    --------
    >>> make_transfer("munge:5000", random_state=0)
    MUNGE(n_samples=5000, random_state=0)
    >>> make_transfer("none") is None
    True
    """
    name, arg = _split_spec(spec)
    if name == "none" and arg is None:
        return None
    if name in ("munge", "gaussian"):
        example = f"{name}:10000"
        n = None if not arg else _positive_int(arg, "--transfer", spec, example)
        from .distill import MUNGE, GaussianClusters

        cls = MUNGE if name == "munge" else GaussianClusters
        return cls(n_samples=n, random_state=random_state)
    raise _spec_error("--transfer", spec, "choose none, munge[:N] or gaussian[:N]")


def infer_task(y: np.ndarray) -> str:
    """Choose the task of ``--task auto`` from the target values.

    Classification when the target holds text labels, or integers only with
    at most :data:`MAX_AUTO_CLASSES` (20) distinct values; regression
    otherwise.

    Parameters
    ----------
    y : ndarray
        Target values (numbers, or label strings).

    Returns
    -------
    task : {"regression", "classification"}
        The task.

    Examples
    --------
    >>> import numpy as np
    >>> infer_task(np.array(["cat", "dog"])), infer_task(np.array([0.0, 1.0, 1.0]))
    ('classification', 'classification')
    >>> infer_task(np.array([0.5, 1.0]))
    'regression'
    """
    y = np.asarray(y)
    if y.dtype.kind in "USO":
        return "classification"
    if y.ndim == 1 and np.all(y == np.round(y)) and np.unique(y).size <= MAX_AUTO_CLASSES:
        return "classification"
    return "regression"


def _mostly_numbers(y: np.ndarray) -> bool:
    """Whether at least 90% of the label strings are numbers (a typo, not labels)."""
    values, counts = np.unique(y, return_counts=True)
    numeric = 0
    for v, c in zip(values, counts, strict=True):
        try:
            float(v)
        except ValueError:
            continue
        numeric += c
    return numeric >= 0.9 * y.shape[0]


def _as_labels(y: np.ndarray, classes: np.ndarray | None = None) -> np.ndarray:
    """Integer-valued numbers become int64 labels (or the classes' text)."""
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if classes is not None and np.asarray(classes).dtype.kind in "US" and y.dtype.kind != "U":
        y = y.astype(str)
    return y


# ----------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``fastdistill`` command.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser with one sub-command per job.

    Examples
    --------
    >>> build_parser().parse_args(["demo"]).command
    'demo'
    >>> args = build_parser().parse_args(["distill", "--train", "t.csv", "--target", "y"])
    >>> args.teacher, args.student, args.features
    ('mlp:64,64', 'linear', 'none')
    """
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="fastdistill",
        description="Fast model distillation with unsupervised learning.",
    )
    parser.add_argument("--version", action="version", version=f"fastdistill {__version__}")
    parser.add_argument(
        "--threads", type=int, default=None, help="number of threads (default: all cores)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("demo", help="run the built-in demonstration (no files needed)")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--progress", choices=["auto", "always", "never"], default="auto",
        help="progress on standard error: 'auto' draws a live bar on a terminal and "
             "nothing otherwise; 'always' also prints plain step lines when standard "
             "error is not a terminal; 'never' is silent (default: auto)")
    files = ".csv/.tsv (header row), .npy or .npz"

    d = sub.add_parser(
        "distill", parents=[common], help="train a teacher, distill it into a student",
        description="Train a teacher on a labeled file, distill it into a fast student over "
                    "the training rows plus any unlabeled rows, print the report and save "
                    "the fitted distiller.")
    d.add_argument("--train", required=True, metavar="FILE",
                   help=f"labeled training rows ({files})")
    d.add_argument("--target", metavar="COLUMN",
                   help="target column: a name (CSV) or index (.npy); an .npz 'y' array "
                        "is used when omitted")
    d.add_argument("--unlabeled", action="append", default=[], metavar="FILE",
                   help="unlabeled rows for the transfer set (same feature columns; "
                        "repeatable)")
    d.add_argument("--test", metavar="FILE",
                   help="held-out labeled rows for the report (default: the training rows)")
    d.add_argument("--task", choices=["auto", "regression", "classification"], default="auto",
                   help="'auto': classification when the target holds text, or integers "
                        f"with at most {MAX_AUTO_CLASSES} distinct values (default: auto)")
    d.add_argument("--teacher", default="mlp:64,64", metavar="SPEC",
                   help="mlp:H1,H2,... trained on the training file, or a saved fitted "
                        "model (.npz) used as it is (default: mlp:64,64)")
    d.add_argument("--max-iter", type=int, default=200, metavar="N",
                   help="training epochs of an mlp teacher (default: 200)")
    d.add_argument("--student", default="linear", metavar="SPEC",
                   help="linear, sgd or local[:K] (default: linear)")
    d.add_argument("--features", default="none", metavar="SPEC",
                   help="feature map of the student: none, kmeans:K, pca:K or som:MxN "
                        "(default: none)")
    d.add_argument("--transfer", default="none", metavar="SPEC",
                   help="synthetic transfer rows beside the unlabeled ones: none, munge[:N] "
                        "or gaussian[:N] (default: none)")
    d.add_argument("--alpha", type=float, default=None,
                   help="weight of the true labels on the training rows when unlabeled "
                        "rows are given (default: the Distiller's for regression, 0 for "
                        "classification, whose students fit logits and cannot use labels)")
    d.add_argument("--max-teacher-queries", type=int, default=None, metavar="N",
                   help="cap on the rows the teacher labels")
    d.add_argument("--metric", choices=["none", "teacher"], default="none",
                   help="input metric of the features and the student: none, or teacher "
                        "(learned from the teacher's gradients; default: none)")
    d.add_argument("--seed", type=int, default=0,
                   help="random seed of the teacher, features and student (default: 0)")
    d.add_argument("--out", metavar="FILE",
                   help="save the fitted distiller here (.npz); read it back with "
                        "fastdistill.load")
    d.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser(
        "predict", parents=[common], help="predictions of a saved model, as CSV",
        description="Write the predictions of a saved model for every row of a data file, "
                    "as CSV with a header row, to standard output (or --output).")
    p.add_argument("--model", required=True, metavar="FILE", help="a saved model (.npz)")
    p.add_argument("data", metavar="DATA", help=f"rows to predict ({files})")
    p.add_argument("--proba", action="store_true",
                   help="class probabilities, one column per class (classification)")
    p.add_argument("--target", metavar="COLUMN",
                   help="a column of DATA to leave out (the training target column is "
                        "left out by itself)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")

    r = sub.add_parser(
        "report", parents=[common], help="fidelity, scores, size and speed of a saved "
                                         "distiller",
        description="Measure a saved distiller (student against its teacher) on a data "
                    "file and print the report.")
    r.add_argument("--model", required=True, metavar="FILE",
                   help="a distiller saved by 'fastdistill distill --out'")
    r.add_argument("--data", required=True, metavar="FILE", help=f"held-out rows ({files})")
    r.add_argument("--target", metavar="COLUMN",
                   help="true target column (default: the training target column when "
                        "DATA has it); adds the scores on the true targets")
    r.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


# --------------------------------------------------------------- commands
def _read(path: str, progress, **kwargs):
    from ._io import read_table

    with progress.step(f"reading {os.path.basename(path)}", unit="bytes") as step:
        return read_table(path, progress=lambda done, total: step.set(done, total), **kwargs)


def _read_labeled(path: str, target, task: str, progress):
    """Training rows and target; the task decided by ``--task``."""
    X, y, names = _read(path, progress, target=target, labels=task != "regression")
    if y is None:
        hint = f"; columns are: {', '.join(names)}" if names else ""
        raise ValueError(f"{path}: give the target column with --target{hint}")
    if task == "auto":
        task = infer_task(y)
        if y.dtype.kind == "U" and _mostly_numbers(y):
            # A numeric column with a few bad cells: show the first one.
            _read(path, progress, target=target, labels=False)
    if task == "classification":
        y = _as_labels(y)
    return X, y, names, task


def _load_model(path: str):
    from ._persist import load

    try:
        return load(path)
    except ValueError as exc:
        if "is not a model saved by" not in str(exc):
            raise
        raise ValueError(f"{path} is not a model saved by fastdistill (expected an .npz file "
                         f"written by 'fastdistill distill --out' or estimator.save).") from None


def _cmd_distill(args, progress, out) -> int:
    from .distill import Distiller

    seed = args.seed
    student = make_student(args.student, random_state=seed)
    features = make_features(args.features, random_state=seed)
    transfer = make_transfer(args.transfer, random_state=seed)
    saved_teacher = args.teacher.lower().endswith(".npz")
    if not saved_teacher:
        make_teacher(args.teacher, "regression")  # check the spec before any work
    if args.max_iter < 1:
        raise ValueError(f"--max-iter must be a positive integer, got {args.max_iter}.")
    if args.out is not None:
        folder = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(folder):
            raise ValueError(f"cannot save to {args.out}: folder {folder} does not exist.")

    teacher = _load_model(args.teacher) if saved_teacher else None
    task = args.task
    if teacher is not None:
        from .distill._targets import is_classifier

        task = "classification" if is_classifier(teacher) else "regression"
    X, y, names, task = _read_labeled(args.train, args.target, task, progress)
    target_name = args.target if args.target is not None else ("y" if names is None else None)
    unlabeled = [_read(u, progress, columns=names if names is not None else X.shape[1],
                       ignore=[str(args.target)] if args.target is not None else ())[0]
                 for u in args.unlabeled]
    if args.test is not None:
        X_test, y_test, _, _ = _read_labeled_like(args.test, args.target, names, X.shape[1],
                                                  task, progress)
    if teacher is None:
        teacher = make_teacher(args.teacher, task, max_iter=args.max_iter, random_state=seed)
        with progress.step(f"training the teacher ({args.teacher})", total=args.max_iter,
                           unit="epochs",
                           poll=lambda: len(getattr(teacher, "loss_curve_", None) or ())):
            teacher.fit(X, y)
    kwargs: dict[str, Any] = {"random_state": seed}
    if args.alpha is not None:
        kwargs["alpha"] = args.alpha
    elif task == "classification":
        kwargs["alpha"] = 0.0  # these students fit logits, which carry no labels
    if args.max_teacher_queries is not None:
        kwargs["max_teacher_queries"] = args.max_teacher_queries
    if args.metric == "teacher":
        kwargs["metric"] = "teacher"
    distiller = Distiller(teacher, student, features, transfer, **kwargs)
    with progress.step(f"distilling into {args.student}"
                       + (f" with {args.features} features" if features is not None else "")):
        if unlabeled:
            distiller.fit(np.concatenate(unlabeled) if len(unlabeled) > 1 else unlabeled[0],
                          X, y)
        else:
            distiller.fit(X)
    setattr(distiller, _INFO, {
        "feature_names": names,
        "n_features": int(X.shape[1]),
        "target": target_name,
        "task": task,
    })
    if args.test is not None:
        where, X_eval, y_eval = f"the {X_test.shape[0]:,} rows of {args.test}", X_test, y_test
    else:
        where, X_eval, y_eval = f"the {X.shape[0]:,} training rows (in-sample)", X, y
    with progress.step("measuring the student"):
        report = distiller.report(X_eval, y_eval)
    if args.out is not None:
        with progress.step(f"saving {args.out}"):
            distiller.save(args.out)
    _print_report(report, where, args.json, out,
                  extra={"model": args.out} if args.out is not None else {})
    return 0


def _read_labeled_like(path, target, names, n_features, task, progress):
    """Held-out labeled rows with the training file's feature columns."""
    X, y, names_out = _read(path, progress, target=target, labels=task != "regression",
                            columns=names if names is not None else n_features)
    if y is None:
        raise ValueError(f"{path}: no target column; give it with --target.")
    if task == "classification":
        y = _as_labels(y)
    return X, y, names_out, task


def _print_report(report, where: str, as_json: bool, out, extra=None) -> None:
    if as_json:
        doc = report.to_dict()
        doc["evaluated_on"] = where
        doc.update(extra or {})
        print(json.dumps(doc, indent=2), file=out)
        return
    print(f"Evaluated on {where}.", file=out)
    print(report, file=out)
    for key, value in (extra or {}).items():
        print(f"{key}: {value}", file=out)


def _model_columns(model, path: str):
    """Give the feature columns a saved model expects, and its training target."""
    info = getattr(model, _INFO, None) or {}
    n = getattr(model, "n_features_in_", None)
    if n is None:
        raise ValueError(f"{path} holds an unfitted {type(model).__name__}; fit it first.")
    names = info.get("feature_names")
    return (names if names is not None else int(n)), info.get("target")


def _is_classification(model) -> bool:
    if getattr(model, "target_", None) is not None:  # a Distiller
        return model.target_ != "regression"
    return hasattr(model, "classes_") and hasattr(model, "predict_proba")


def _cmd_predict(args, progress, out) -> int:
    from ._io import write_table

    model = _load_model(args.model)
    columns, target = _model_columns(model, args.model)
    ignore = [str(target)] if isinstance(target, str) else []
    if args.proba and not _is_classification(model):
        raise ValueError(f"--proba needs a classification model; {args.model} is a "
                         f"regression model.")
    X, _, _ = _read(args.data, progress, target=args.target, labels=True, columns=columns,
                    ignore=ignore)
    with progress.step("predicting"):
        if args.proba:
            P = np.asarray(model.predict_proba(X))
            cols = [P[:, j] for j in range(P.shape[1])]
            header = [f"proba_{c}" for c in np.asarray(model.classes_).tolist()]
        else:
            pred = np.asarray(model.predict(X))
            if pred.ndim == 1:
                cols, header = [pred], ["prediction"]
            else:
                cols = [pred[:, j] for j in range(pred.shape[1])]
                header = [f"prediction_{j}" for j in range(pred.shape[1])]
    if args.output is not None:
        with open(args.output, "w", newline="", encoding="utf-8") as f:
            write_table(f, cols, header)
    else:
        write_table(out, cols, header)
    return 0


def _cmd_report(args, progress, out) -> int:
    from .distill import Distiller

    model = _load_model(args.model)
    if not isinstance(model, Distiller):
        raise ValueError(f"{args.model} holds a {type(model).__name__}; report needs a "
                         f"distiller saved by 'fastdistill distill --out'.")
    if model.teacher is None:
        raise ValueError(f"{args.model} was saved without its teacher, so the student cannot "
                         f"be compared with it.")
    columns, train_target = _model_columns(model, args.model)
    classification = _is_classification(model)
    target = args.target if args.target is not None else train_target
    X, y, _ = _read(args.data, progress, target=target, labels=classification,
                    columns=columns, target_optional=args.target is None,
                    ignore=[str(train_target)] if isinstance(train_target, str) else [])
    if y is not None and classification:
        y = _as_labels(y, model.classes_)
    with progress.step("measuring the student"):
        report = model.report(X, y)
    where = f"the {X.shape[0]:,} rows of {args.data}"
    if y is None:
        where += " (no target column: no scores on true targets)"
    _print_report(report, where, args.json, out)
    return 0


# ------------------------------------------------------------------- main
def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
        if exc.filename and str(exc.filename) not in text:
            text += f": {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fastdistill`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        Exit status: 0 on success, 2 on bad usage or bad input.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from ._threads import set_num_threads

    try:
        if args.threads is not None:
            set_num_threads(args.threads)
        if args.command == "demo":
            from ._demo import run_demo

            return run_demo(sys.stdout)
        from ._progress import Progress

        progress = Progress(sys.stderr, mode=args.progress)
        command = {"distill": _cmd_distill, "predict": _cmd_predict,
                   "report": _cmd_report}[args.command]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return command(args, progress, sys.stdout)
            finally:
                seen = set()
                for w in caught:
                    line = " ".join(str(w.message).split())
                    if args.command == "distill" and "Maximum iterations" in line:
                        line += " Raise --max-iter to train the teacher longer."
                    if line not in seen:
                        seen.add(line)
                        print(f"fastdistill: warning: {line}", file=sys.stderr)
    except BrokenPipeError:
        # The reader went away (``fastdistill predict ... | head``): stop quietly.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # not a real file (captured)
            pass
        return 1
    except (ValueError, TypeError, OSError) as exc:
        print(f"fastdistill: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastdistill: interrupted", file=sys.stderr)
        return 130
