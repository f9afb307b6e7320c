"""Portable saving and loading of fastdistill estimators (no pickle).

A saved model is ONE ``.npz`` file: every array of the estimator (and of
the estimators nested in it) is a member of the archive, and a JSON document
stored under the reserved key ``"__fastdistill__"`` (as UTF-8 bytes) holds
everything else: the format version, the fastdistill version, the class as
``"module:qualname"``, the constructor parameters and the fitted state.

The fitted state is generic, not written per class: every instance
attribute that is not a constructor parameter (private state included, such
as the MLP's flat weight vector or the running statistics of a closed-form
model, so that a loaded model can go on with ``partial_fit``). Values may be
arrays (any non-object dtype; object arrays element by element), NumPy
scalars and dtypes, Python scalars, strings and ``None``, lists, tuples,
dicts with string keys, NumPy random generators (their bit-generator state),
fastdistill functions, and fastdistill estimators or other fastdistill
objects, recursively. The same array or object referenced twice is stored
once and comes back shared, as with pickle.

Loading only ever resolves classes and functions defined inside the
``fastdistill`` package, so a file cannot make :func:`load` import or run
other code, and arrays are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import errno
import importlib
import json
import math
import os
import re
import tempfile
import types
import warnings
import zipfile
from typing import Any

import numpy as np

__all__ = ["save", "load", "FORMAT_VERSION"]

#: Version of the file layout written by :func:`save`; :func:`load` reads it
#: and every older one.
FORMAT_VERSION = 1
#: Archive member holding the JSON document.
_DOC_KEY = "__fastdistill__"
_FORMAT = "fastdistill-model"
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
_PY_TYPES = {"bool": bool, "int": int, "float": float, "complex": complex, "str": str}
_MODULE_RE = re.compile(r"fastdistill(\.[A-Za-z][A-Za-z0-9_]*|\._[A-Za-z0-9][A-Za-z0-9_]*)*")
_QUALNAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class _Foreign(Exception):
    """A constructor parameter holds an object the format cannot store."""


def _pickle_hint() -> str:
    return "Use pickle (or joblib) to save models that hold such objects."


def _in_package(module: str) -> bool:
    return module == "fastdistill" or module.startswith("fastdistill.")


def _name_of(obj: Any) -> str | None:
    """``"module:qualname"`` of a class or function defined in fastdistill."""
    module = getattr(obj, "__module__", None) or ""
    qualname = getattr(obj, "__qualname__", None) or ""
    if not _in_package(module) or "<" in qualname:
        return None
    try:
        if _resolve(f"{module}:{qualname}") is not obj:
            return None
    except ValueError:
        return None
    return f"{module}:{qualname}"


def _resolve(name: Any) -> Any:
    """Return the class or function ``"module:qualname"``, only from inside fastdistill."""
    module, _, qualname = name.partition(":") if isinstance(name, str) else ("", "", "")
    if not (_MODULE_RE.fullmatch(module) and _QUALNAME_RE.fullmatch(qualname)):
        raise ValueError(
            f"Refusing to load {name!r}: a saved model may only name classes and functions "
            f"of the fastdistill package (this file was not written by fastdistill.save, "
            f"or was altered)."
        )
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise ValueError(
            f"The saved model needs {name!r}, which this version of fastdistill does not "
            f"have; load it with the fastdistill version that saved it."
        ) from None
    if not isinstance(obj, (type, types.FunctionType)) or getattr(obj, "__module__", "") != module:
        raise ValueError(
            f"Refusing to load {name!r}: it is not a class or function defined in the "
            f"fastdistill package."
        )
    return obj


class _Writer:
    """Turns an estimator into a JSON-able document plus named arrays."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.memo: dict[int, int] = {}
        self.alive: list[Any] = []  # keeps memoised objects alive (stable ids)
        self.busy: set[int] = set()
        self.dropped: list[tuple[str, str]] = []

    # ------------------------------------------------------------- helpers
    def _array_key(self, arr: np.ndarray) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr
        return key

    def _snapshot(self):
        return len(self.arrays), len(self.memo), len(self.alive), len(self.dropped)

    def _rollback(self, snap) -> None:
        n_arrays, n_memo, n_alive, n_dropped = snap
        del self.dropped[n_dropped:]
        for key in list(self.arrays)[n_arrays:]:
            del self.arrays[key]
        for key in list(self.memo)[n_memo:]:
            del self.memo[key]
        del self.alive[n_alive:]

    def _enter(self, value: Any, path: str) -> None:
        if id(value) in self.busy:
            raise TypeError(
                f"Cannot save {path}: it refers back to an object that contains it (a "
                f"cycle). {_pickle_hint()}"
            )
        self.busy.add(id(value))

    def _memoised(self, value: Any, path: str, build) -> Any:
        """``{"__ref__": n}`` for an object seen before, else its encoding with an id."""
        ref = self.memo.get(id(value))
        if ref is not None:
            return {"__ref__": ref}
        self._enter(value, path)
        try:
            out = build()
        finally:
            self.busy.discard(id(value))
        ref = len(self.memo)
        self.memo[id(value)] = ref
        self.alive.append(value)
        out["id"] = ref
        return out

    def _container(self, value: Any, path: str, build) -> Any:
        self._enter(value, path)
        try:
            return build()
        finally:
            self.busy.discard(id(value))

    # -------------------------------------------------------------- encode
    def encode(self, value: Any, path: str, in_params: bool) -> Any:
        if value is None or type(value) in (bool, int, str):
            return value
        if type(value) is float:
            if math.isfinite(value):
                return value
            return {"__float__": repr(value)}
        if type(value) is complex:
            return {"__complex__": [self.encode(value.real, path, in_params),
                                    self.encode(value.imag, path, in_params)]}
        if isinstance(value, np.generic):
            if value.dtype.hasobject:
                return self._refuse(value, path, in_params)
            return {"__scalar__": self._array_key(np.asarray(value))}
        if isinstance(value, np.ndarray):
            return self._encode_array(value, path, in_params)
        if isinstance(value, np.dtype):
            if value.fields is not None or value.subdtype is not None:
                return self._refuse(value, path, in_params)
            return {"__dtype__": value.str}
        if isinstance(value, type):
            if issubclass(value, np.generic) and value is not np.object_:
                try:
                    return {"__nptype__": np.dtype(value).str}
                except TypeError:
                    return self._refuse(value, path, in_params)
            for name, t in _PY_TYPES.items():
                if value is t:
                    return {"__pytype__": name}
            return self._encode_named(value, path, in_params)
        if isinstance(value, (list, tuple)):
            if type(value) not in (list, tuple):  # namedtuple and friends
                return self._refuse(value, path, in_params)
            items = self._container(
                value, path, lambda: [self.encode(v, f"{path}[{i}]", in_params)
                                for i, v in enumerate(value)])
            return {"__tuple__": items} if type(value) is tuple else items
        if isinstance(value, dict):
            if type(value) is not dict:
                return self._refuse(value, path, in_params)
            for k in value:
                if not isinstance(k, str):
                    raise TypeError(
                        f"Cannot save {path}: dict key {k!r} is not a string (the portable "
                        f"format stores string keys only). {_pickle_hint()}"
                    )
            body = self._container(
                value, path, lambda: {k: self.encode(v, f"{path}[{k!r}]", in_params)
                                for k, v in value.items()})
            return {"__dict__": body}
        if isinstance(value, np.random.Generator):
            return self._memoised(value, path, lambda: {
                "__generator__": self._encode_bitgen(value.bit_generator, path, in_params)})
        if isinstance(value, np.random.RandomState):
            return self._encode_random_state(value, path, in_params)
        if isinstance(value, types.FunctionType):
            return self._encode_named(value, path, in_params)
        from ._base import BaseEstimator

        if not _in_package(type(value).__module__) or _name_of(type(value)) is None:
            return self._refuse(value, path, in_params)
        if isinstance(value, BaseEstimator):
            return self._memoised(value, path, lambda: {
                "__estimator__": self.encode_estimator(value, path)})
        return self._memoised(value, path, lambda: {"__object__": self._encode_object(value, path)})

    def _refuse(self, value: Any, path: str, in_params: bool):
        if in_params:
            raise _Foreign(type(value).__name__)
        raise TypeError(
            f"Cannot save {path}: a {type(value).__module__}.{type(value).__qualname__} is "
            f"not supported by fastdistill's portable format (arrays, scalars, strings, "
            f"lists, tuples, string-keyed dicts, NumPy generators and fastdistill objects "
            f"are). {_pickle_hint()}"
        )

    def _encode_named(self, value: Any, path: str, in_params: bool):
        name = _name_of(value)
        if name is None:
            return self._refuse(value, path, in_params)
        return {"__named__": name}

    def _encode_array(self, arr: np.ndarray, path: str, in_params: bool):
        if type(arr) not in (np.ndarray, np.memmap):
            return self._refuse(arr, path, in_params)

        def build():
            if not arr.dtype.hasobject:
                return {"__array__": self._array_key(np.asarray(arr))}
            if arr.dtype != np.dtype(object):
                return self._refuse(arr, path, in_params)
            items = [self.encode(v, f"{path}[{i}]", in_params)
                     for i, v in enumerate(arr.ravel(order="C"))]
            return {"__objarray__": {"shape": list(arr.shape), "items": items}}

        return self._memoised(arr, path, build)

    def _encode_bitgen(self, bg, path: str, in_params: bool) -> dict:
        name = type(bg).__name__
        if name not in _BIT_GENERATORS or getattr(np.random, name, None) is not type(bg):
            raise TypeError(
                f"Cannot save {path}: a random generator over a {type(bg).__qualname__} bit "
                f"generator has no portable state (supported: {', '.join(_BIT_GENERATORS)}). "
                f"Pass an int random_state, or {_pickle_hint().lower()}"
            )
        return {"bit_generator": name, "state": self.encode(bg.state, path, in_params)}

    def _encode_random_state(self, rs, path: str, in_params: bool):
        def build():
            state = rs.get_state(legacy=False)
            name = state["bit_generator"]
            if name not in _BIT_GENERATORS:
                raise TypeError(
                    f"Cannot save {path}: a RandomState over a {name} bit generator has no "
                    f"portable state. {_pickle_hint()}"
                )
            return {"__randomstate__": {"bit_generator": name,
                                        "state": self.encode(state, path, in_params)}}

        return self._memoised(rs, path, build)

    def _encode_object(self, obj: Any, path: str) -> dict:
        cls = type(obj)
        if not hasattr(obj, "__dict__") or any("__slots__" in vars(c) for c in cls.__mro__[:-1]):
            raise TypeError(
                f"Cannot save {path}: {cls.__qualname__} keeps its state outside __dict__. "
                f"{_pickle_hint()}"
            )
        state = {k: self.encode(v, f"{path}.{k}", False) for k, v in vars(obj).items()}
        return {"class": _name_of(cls), "state": state}

    def encode_estimator(self, est: Any, path: str) -> dict:
        name = _name_of(type(est))
        if name is None:
            raise TypeError(
                f"Cannot save {path}: {type(est).__module__}.{type(est).__qualname__} is not "
                f"a class of the fastdistill package, and loading only ever builds those. "
                f"{_pickle_hint()}"
            )
        params = est.get_params(deep=False)
        enc_params: dict[str, Any] = {}
        dropped: list[str] = []
        for key, value in params.items():
            snap = self._snapshot()
            try:
                enc_params[key] = self.encode(value, f"{path}.{key}", True)
            except _Foreign:
                self._rollback(snap)
                dropped.append(key)
                self.dropped.append((f"{path}.{key}", type(value).__qualname__))
        state = {k: self.encode(v, f"{path}.{k}", False)
                 for k, v in vars(est).items() if k not in params}
        return {"class": name, "params": enc_params, "dropped": dropped, "state": state}


class _Reader:
    """Rebuilds objects from the JSON document and the archive's arrays."""

    def __init__(self, arrays) -> None:
        self.arrays = arrays
        self.memo: dict[int, Any] = {}

    def _remember(self, node: dict, value: Any) -> Any:
        if "id" in node:
            self.memo[int(node["id"])] = value
        return value

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            raise ValueError(f"unexpected JSON value {node!r}")
        if "__ref__" in node:
            return self.memo[int(node["__ref__"])]
        if "__dict__" in node:
            return {k: self.decode(v) for k, v in node["__dict__"].items()}
        if "__tuple__" in node:
            return tuple(self.decode(v) for v in node["__tuple__"])
        if "__float__" in node:
            return float(node["__float__"])
        if "__complex__" in node:
            re_, im = node["__complex__"]
            return complex(self.decode(re_), self.decode(im))
        if "__scalar__" in node:
            return self.arrays[node["__scalar__"]][()]
        if "__array__" in node:
            return self._remember(node, self.arrays[node["__array__"]])
        if "__objarray__" in node:
            spec = node["__objarray__"]
            items = [self.decode(v) for v in spec["items"]]
            arr = np.empty(len(items), dtype=object)
            for i, item in enumerate(items):
                arr[i] = item
            return self._remember(node, arr.reshape(tuple(spec["shape"])))
        if "__dtype__" in node:
            return np.dtype(node["__dtype__"])
        if "__nptype__" in node:
            return np.dtype(node["__nptype__"]).type
        if "__pytype__" in node:
            return _PY_TYPES[node["__pytype__"]]
        if "__named__" in node:
            return _resolve(node["__named__"])
        if "__generator__" in node:
            return self._remember(node, np.random.Generator(self._bitgen(node["__generator__"])))
        if "__randomstate__" in node:
            spec = node["__randomstate__"]
            rs = np.random.RandomState(self._bitgen({"bit_generator": spec["bit_generator"]}))
            rs.set_state(self.decode(spec["state"]))
            return self._remember(node, rs)
        if "__estimator__" in node:
            return self.decode_estimator(node["__estimator__"], node)
        if "__object__" in node:
            spec = node["__object__"]
            cls = self._class(spec["class"], estimator=False)
            obj = object.__new__(cls)
            self._remember(node, obj)
            obj.__dict__.update({k: self.decode(v) for k, v in spec["state"].items()})
            return obj
        raise ValueError(f"unknown entry {sorted(node)}")

    def _bitgen(self, spec: dict):
        name = spec["bit_generator"]
        if name not in _BIT_GENERATORS:
            raise ValueError(f"unknown bit generator {name!r}")
        bg = getattr(np.random, name)()
        if "state" in spec:
            bg.state = self.decode(spec["state"])
        return bg

    def _class(self, name: str, *, estimator: bool) -> type:
        from ._base import BaseEstimator

        cls = _resolve(name)
        if not isinstance(cls, type) or issubclass(cls, BaseEstimator) != estimator:
            what = "an estimator class" if estimator else "a plain fastdistill class"
            raise ValueError(f"Refusing to load {name!r}: it is not {what}.")
        return cls

    def decode_estimator(self, spec: dict, node: dict | None = None):
        cls = self._class(spec["class"], estimator=True)
        names = set(cls._get_param_names())
        params = {k: self.decode(v) for k, v in spec["params"].items()}
        for key in spec.get("dropped", []):
            params[key] = None
        unknown = sorted(set(params) - names)
        if unknown:
            raise ValueError(
                f"The saved {cls.__name__} has parameters {unknown} that this version of "
                f"fastdistill does not know; load it with the version that saved it."
            )
        est = cls(**params)
        if node is not None:
            self._remember(node, est)
        for key, value in spec["state"].items():
            est.__dict__[key] = self.decode(value)
        return est


def _fs_path(path: Any) -> str | None:
    if isinstance(path, (str, os.PathLike)):
        return os.fspath(path)
    return None


def save(estimator: Any, path: Any) -> None:
    """Save a fastdistill estimator (fitted or not) to one portable ``.npz`` file.

    Every array goes into the archive; parameters and the rest of the fitted
    state go into a JSON document inside it (see the module docstring). No
    pickle is involved, so the file can be inspected with ``numpy.load`` and
    ``json`` and loading it runs no code other than fastdistill's.
    Constructor parameters that are not fastdistill objects (for example a
    scikit-learn teacher given to :class:`~fastdistill.Distiller`) are not
    saved: the loaded estimator gets ``None`` for them, with a warning now.

    Parameters
    ----------
    estimator : fastdistill estimator
        The model to save, for example a fitted ``Distiller`` or its
        ``student_``.
    path : str, path-like or writable binary file
        Where to write. The file is written exactly at ``path`` (no suffix is
        added; ``.npz`` is the natural one), atomically: an existing file is
        replaced only once the new one is complete.

    Raises
    ------
    TypeError
        If the estimator is not a fastdistill estimator, or its fitted state
        holds an object the format cannot store (the message names the
        attribute; pickle can save such models).

    Warns
    -----
    UserWarning
        For each constructor parameter that is not saved.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fastdistill import Ridge, load
    >>> from fastdistill._persist import save
    >>> X = np.arange(12.0).reshape(6, 2); y = X @ [1.0, -2.0]
    >>> model = Ridge(alpha=0.1).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "ridge.npz")
    >>> save(model, path)
    >>> bool(np.array_equal(load(path).predict(X), model.predict(X)))
    True
    """
    from ._base import BaseEstimator

    if not isinstance(estimator, BaseEstimator):
        raise TypeError(
            f"save expects a fastdistill estimator, got {type(estimator).__qualname__}. "
            f"{_pickle_hint()}"
        )
    _save(estimator, path, stacklevel=3)


def _save(estimator: Any, path: Any, *, stacklevel: int) -> None:
    """:func:`save`, warning ``stacklevel`` frames up (the user's call)."""
    writer = _Writer()
    spec = writer.encode_estimator(estimator, type(estimator).__name__)
    for where, kind in writer.dropped:
        warnings.warn(
            f"{where} (a {kind}) is not a fastdistill object and is not saved: the loaded "
            f"model gets {where.rsplit('.', 1)[-1]}=None. It still predicts with its fitted "
            f"state (a Distiller predicts with its student); set the parameter again before "
            f"anything that needs it (fit, Distiller.fidelity).",
            UserWarning,
            stacklevel=stacklevel,
        )
    from . import __version__

    doc = {
        "format": _FORMAT,
        "format_version": FORMAT_VERSION,
        "fastdistill_version": __version__,
        "class": spec["class"],
        "estimator": spec,
    }
    text = json.dumps(doc, allow_nan=False, separators=(",", ":"))
    members = dict(writer.arrays)
    members[_DOC_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    target = _fs_path(path)
    if target is None:
        np.savez(path, allow_pickle=False, **members)
        return
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(prefix=".fastdistill-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, allow_pickle=False, **members)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: Any):
    """Load an estimator saved by :func:`save` (or ``estimator.save``).

    Parameters
    ----------
    path : str, path-like or readable binary file
        A file written by :func:`save`.

    Returns
    -------
    estimator : fastdistill estimator
        The same class, parameters and fitted state: predictions and
        transforms are bit-for-bit those of the saved model, arrays keep
        their dtype and are writable (``partial_fit`` and refitting work).
        Parameters that were not saved (see :func:`save`) are ``None``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a model saved by fastdistill, was written by a
        newer format version, or names a class outside the fastdistill
        package.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from fastdistill import KMeans, load
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    >>> km = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "km.npz")
    >>> km.save(path)
    >>> bool(np.array_equal(load(path).predict(X), km.predict(X)))
    True
    """
    target = _fs_path(path)
    shown = repr(target) if target is not None else "the given file"
    if target is not None and not os.path.isfile(target):
        raise FileNotFoundError(
            errno.ENOENT, f"No saved fastdistill model at {target!r} (no such file)", target
        )
    not_ours = (f"{shown} is not a model saved by fastdistill.save (expected an .npz archive "
                f"with a {_DOC_KEY!r} member)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{not_ours}: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{not_ours}; it holds a single array.")
    with archive:
        if _DOC_KEY not in archive.files:
            raise ValueError(f"{not_ours}.")
        try:
            doc = json.loads(archive[_DOC_KEY].tobytes().decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{not_ours}: its JSON document is unreadable ({exc}).") from None
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise ValueError(f"{not_ours}.")
        version = doc.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise ValueError(f"{not_ours}: bad format version {version!r}.")
        if version > FORMAT_VERSION:
            raise ValueError(
                f"{shown} was written in format version {version} by fastdistill "
                f"{doc.get('fastdistill_version')}; this fastdistill reads versions up to "
                f"{FORMAT_VERSION}. Upgrade fastdistill to load it."
            )
        arrays = {k: archive[k] for k in archive.files if k != _DOC_KEY}
    from . import __version__

    saved_by = doc.get("fastdistill_version")
    if saved_by != __version__:
        warnings.warn(
            f"{shown} was saved by fastdistill {saved_by}, and is loaded by {__version__}; "
            f"the model's internal state may differ between versions. Refit the model, or "
            f"check its predictions.",
            UserWarning,
            stacklevel=2,
        )
    reader = _Reader(arrays)
    try:
        return reader.decode_estimator(doc["estimator"])
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{shown} is damaged or not a model saved by fastdistill.save "
            f"({type(exc).__name__}: {exc})."
        ) from None
