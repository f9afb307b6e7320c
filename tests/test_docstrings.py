"""Every docstring example runs, and every public name has a docstring."""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import fastdistill

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(fastdistill.__path__, "fastdistill.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, capsys):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report = capsys.readouterr().out
    assert result.failed == 0, report


def _public(module):
    names = getattr(module, "__all__", [])
    for n in names:
        obj = getattr(module, n, None)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield n, obj


@pytest.mark.parametrize("name", ["fastdistill"] + MODULES)
def test_public_names_have_numpydoc_docstrings(name):
    module = importlib.import_module(name)
    assert module.__doc__, f"module {name} has no docstring"
    for n, obj in _public(module):
        doc = inspect.getdoc(obj)
        assert doc, f"{name}.{n} has no docstring"
        if inspect.isfunction(obj) and inspect.signature(obj).parameters and not n.startswith("_"):
            has_params = any(p != "self" for p in inspect.signature(obj).parameters)
            if has_params and obj.__module__ == name and "Parameters" not in doc and len(doc) > 80:
                pytest.fail(f"{name}.{n}: docstring has no Parameters section")


def test_estimators_have_examples():
    from fastdistill.linear_model import LinearRegression, Ridge, SGDRegressor

    for cls in (LinearRegression, Ridge, SGDRegressor):
        assert "Examples" in cls.__doc__ and ">>>" in cls.__doc__
