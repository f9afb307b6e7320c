"""Run unchanged scikit-learn code on fastdistill's kernels.

After :func:`patch_sklearn`, the scikit-learn estimators ``KMeans``, ``PCA``,
``LinearRegression``, ``Ridge``, ``SGDRegressor``, ``MLPRegressor`` and
``MLPClassifier``, looked up in their public modules (``sklearn.cluster``,
``sklearn.decomposition``, ``sklearn.linear_model``,
``sklearn.neural_network``), are subclasses of the scikit-learn classes whose
``fit`` runs the matching fastdistill estimator whenever the parameters and
the input are ones fastdistill supports, and scikit-learn's own code
otherwise (sparse input, an unsupported solver or option). Every decision is
logged (logger ``"fastdistill.patch"``, level INFO for fits) and the latest
one is returned by :func:`last_dispatch`.

A model fitted by fastdistill predicts (transforms, scores) with
fastdistill's code on dense input and with scikit-learn's code, from the same
fitted attributes, on sparse input. ``partial_fit`` and ``warm_start`` fits
continue on the library that fitted the model.

The patched classes keep scikit-learn's constructor, parameters, fitted
attributes and tags, so ``isinstance``, ``clone``, ``get_params``,
``Pipeline``, ``GridSearchCV`` and pickling work as before. They live in this
module (``fastdistill.patch.KMeans``, ...), built on first use; importing
this module imports neither scikit-learn nor Numba.

``python -m fastdistill.patch script.py [args]`` runs a script with
scikit-learn patched.

Examples
--------
>>> import numpy as np
>>> from fastdistill.patch import last_dispatch, patched
>>> X = np.array([[0.0, 0.0], [0.1, 0.0], [10.0, 10.0], [10.1, 10.0]])
>>> with patched():
...     from sklearn.cluster import KMeans
...     km = KMeans(n_clusters=2, random_state=0).fit(X)
>>> last_dispatch()[:3]
('KMeans', 'fit', 'fastdistill')
>>> sorted(km.cluster_centers_[:, 0].round(2).tolist())
[0.05, 10.05]
>>> import sklearn.cluster
>>> sklearn.cluster.KMeans is KMeans  # unpatched again on leaving the block
False
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import runpy
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from ._sklearn_dispatch import MIXINS, Dispatch, last_dispatch

__all__ = [
    "patch_sklearn",
    "unpatch_sklearn",
    "patched",
    "last_dispatch",
    "Dispatch",
    "main",
]

logger = logging.getLogger(__name__)

#: Estimator name -> the public scikit-learn module patched.
TARGETS: dict[str, str] = {
    "KMeans": "sklearn.cluster",
    "PCA": "sklearn.decomposition",
    "LinearRegression": "sklearn.linear_model",
    "Ridge": "sklearn.linear_model",
    "SGDRegressor": "sklearn.linear_model",
    "MLPRegressor": "sklearn.neural_network",
    "MLPClassifier": "sklearn.neural_network",
}

_CLASSES: dict[str, type] = {}  # the patched classes, built on first use
_ORIGINALS: dict[str, type] = {}  # the scikit-learn classes they subclass
_SAVED: dict[str, bool] = {}  # patched name -> whether the module held it in its __dict__


# ----------------------------------------------------------------- patching

def _patched_class(name: str) -> type:
    """Build (once) the patched subclass of scikit-learn's ``name``."""
    cls = _CLASSES.get(name)
    if cls is not None:
        return cls
    module = importlib.import_module(TARGETS[name])
    original = getattr(module, name)
    mixin = MIXINS[name]
    namespace = {
        "__module__": __name__,
        "__qualname__": name,
        "__doc__": (
            f"scikit-learn's ``{name}``, fitted on fastdistill's kernels when it can be.\n\n"
            f"A subclass of ``{original.__module__}.{name}`` (same parameters, attributes "
            f"and methods, documented there) made by\n"
            f":func:`fastdistill.patch.patch_sklearn`: ``fit`` runs "
            f"``{mixin._fd_module}.{name}`` when the parameters and the input\n"
            f"are supported, scikit-learn's own code otherwise; "
            f":func:`fastdistill.patch.last_dispatch` says which.\n"
        ),
    }
    # Defined on the class itself, so scikit-learn's set_output wraps them.
    for method in ("transform", "fit_transform"):
        for klass in mixin.__mro__:
            if method in vars(klass):
                namespace[method] = vars(klass)[method]
                break
    cls = type(name, (mixin, original), namespace)
    _ORIGINALS[name] = original
    _CLASSES[name] = cls
    globals()[name] = cls  # pickle finds it as fastdistill.patch.<name>
    return cls


def __getattr__(name: str) -> Any:
    if name in TARGETS:
        return _patched_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _names(names: str | Iterable[str] | None) -> list[str]:
    if names is None:
        return list(TARGETS)
    names = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        raise ValueError(
            f"Cannot patch {unknown}: fastdistill patches {list(TARGETS)}."
        )
    return names


def patch_sklearn(names: str | Iterable[str] | None = None) -> None:
    """Make scikit-learn's estimators run on fastdistill's kernels.

    Replaces ``KMeans`` in ``sklearn.cluster``, ``PCA`` in
    ``sklearn.decomposition``, ``LinearRegression``, ``Ridge`` and
    ``SGDRegressor`` in ``sklearn.linear_model``, and ``MLPRegressor`` and
    ``MLPClassifier`` in ``sklearn.neural_network`` (or only ``names``) by
    subclasses that fit with fastdistill when the parameters and input are
    supported and with scikit-learn otherwise. Code that looks the classes
    up after this call (``from sklearn.cluster import KMeans``) gets them;
    names imported before it keep the original classes. scikit-learn's
    private modules and its own internal uses are left alone. Calling it
    again is harmless.

    Parameters
    ----------
    names : str or iterable of str, default=None
        Estimators to patch; None patches all seven.

    Raises
    ------
    ValueError
        If a name is not one fastdistill patches.

    See Also
    --------
    unpatch_sklearn : Restore the original classes.
    patched : Context manager that patches, then restores.

    Examples
    --------
    >>> import sklearn.linear_model
    >>> from fastdistill.patch import patch_sklearn, unpatch_sklearn
    >>> original = sklearn.linear_model.Ridge
    >>> patch_sklearn(["Ridge"])
    >>> from sklearn.linear_model import Ridge
    >>> Ridge.__module__, issubclass(Ridge, original)
    ('fastdistill.patch', True)
    >>> unpatch_sklearn()
    >>> sklearn.linear_model.Ridge is original
    True
    """
    for name in _names(names):
        module = importlib.import_module(TARGETS[name])
        cls = _patched_class(name)
        if name not in _SAVED:
            _SAVED[name] = name in vars(module)
        setattr(module, name, cls)
        logger.debug("patched %s.%s", TARGETS[name], name)


def unpatch_sklearn(names: str | Iterable[str] | None = None) -> None:
    """Restore scikit-learn's original classes.

    Parameters
    ----------
    names : str or iterable of str, default=None
        Estimators to restore; None restores every patched one.

    Raises
    ------
    ValueError
        If a name is not one fastdistill patches.

    Examples
    --------
    >>> import sklearn.cluster
    >>> from fastdistill.patch import patch_sklearn, unpatch_sklearn
    >>> original = sklearn.cluster.KMeans
    >>> patch_sklearn("KMeans")
    >>> sklearn.cluster.KMeans is original
    False
    >>> unpatch_sklearn("KMeans")
    >>> sklearn.cluster.KMeans is original
    True
    """
    for name in _names(names):
        if name not in _SAVED:
            continue
        module = sys.modules[TARGETS[name]]
        if _SAVED.pop(name):
            setattr(module, name, _ORIGINALS[name])
        else:
            delattr(module, name)  # it was served by the module's __getattr__
        logger.debug("restored %s.%s", TARGETS[name], name)


@contextlib.contextmanager
def patched(names: str | Iterable[str] | None = None) -> Iterator[None]:
    """Patch scikit-learn inside a ``with`` block, restore it on leaving.

    Only the estimators this call patched are restored (ones patched
    before the block stay patched).

    Parameters
    ----------
    names : str or iterable of str, default=None
        Estimators to patch; None patches all seven.

    Yields
    ------
    None

    Examples
    --------
    >>> import numpy as np
    >>> import sklearn.linear_model
    >>> from fastdistill.patch import last_dispatch, patched
    >>> X = np.array([[1.0, 1.0], [1.0, 2.0], [2.0, 2.0], [2.0, 3.0]])
    >>> with patched("LinearRegression"):
    ...     reg = sklearn.linear_model.LinearRegression().fit(X, X @ [1.0, 2.0] + 3.0)
    >>> np.round(reg.coef_, 6), last_dispatch().backend
    (array([1., 2.]), 'fastdistill')
    >>> isinstance(reg, sklearn.linear_model.LinearRegression)
    True
    """
    fresh = [n for n in _names(names) if n not in _SAVED]
    patch_sklearn(fresh)
    try:
        yield
    finally:
        unpatch_sklearn(fresh)


# ---------------------------------------------------------------- command

def main(argv: list[str] | None = None) -> int:
    """``python -m fastdistill.patch script.py [args]``: run a script patched.

    The script runs as ``__main__`` with ``sys.argv`` set to
    ``[script.py, *args]`` and its folder first on ``sys.path``, as
    ``python script.py [args]`` would run it, but with scikit-learn patched.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    status : int
        0 when the script ends normally (its ``SystemExit`` propagates).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from fastdistill.patch import main
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     script = pathlib.Path(folder) / "job.py"
    ...     _ = script.write_text("import sys, sklearn.cluster; "
    ...                           "print(sys.argv[1:], sklearn.cluster.KMeans.__module__)")
    ...     status = main([str(script), "--k", "3"])
    ['--k', '3'] fastdistill.patch
    >>> status
    0
    """
    parser = argparse.ArgumentParser(
        prog="python -m fastdistill.patch",
        description="Run a Python script with scikit-learn's KMeans, PCA, linear models "
                    "and MLPs patched to run on fastdistill's kernels.",
    )
    parser.add_argument("--names", default=None,
                        help="comma-separated estimators to patch (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log every dispatch decision to stderr")
    parser.add_argument("script", help="the Python script to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's arguments")
    ns = parser.parse_args(argv)
    script = os.path.abspath(ns.script)
    if not os.path.isfile(script):
        parser.error(f"no such script: {ns.script}")
    names = None if ns.names is None else [n.strip() for n in ns.names.split(",") if n.strip()]
    handler = None
    old_level = logger.level
    if ns.verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("fastdistill.patch: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [ns.script, *ns.args]
    sys.path.insert(0, os.path.dirname(script))
    try:
        with patched(names):
            runpy.run_path(script, run_name="__main__")
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
    return 0


if __name__ == "__main__":
    # Run the imported module's main, so the patched classes are created in
    # fastdistill.patch (where pickle looks for them), not in __main__.
    from fastdistill.patch import main as _main

    raise SystemExit(_main())
