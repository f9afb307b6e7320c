"""Data files for the command line: CSV/TSV tables and NumPy ``.npy``/``.npz`` arrays.

:func:`read_table` turns a file into ``(X, y, feature_names)`` and refuses
anything doubtful with a :class:`DataFileError` whose message is one line
naming the file, the line (CSV: 1-based, the header is line 1) or row (NumPy
arrays: 0-based index) and the column. :func:`write_table` writes columns of
values as CSV. Neither needs pandas.

Formats
-------
``.csv`` (comma) / ``.tsv``, ``.tab`` (tab)
    A header row of column names, then one row per sample. Cells are numbers
    (``1``, ``-2.5``, ``3e-4``; surrounding spaces are ignored); quoted cells
    follow the usual CSV rules. Blank lines are skipped. The target column
    (``target=``, a column name) may hold labels (``labels=True``).
``.npy``
    A 2-D numeric array; columns have no names (``target=`` is a column
    index).
``.npz``
    Arrays ``X`` and optionally ``y`` (and ``feature_names``, a 1-D string
    array naming the columns of ``X``), or a single 2-D array.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np

__all__ = ["DataFileError", "read_table", "write_table", "SUFFIXES"]

#: Known file suffixes and their kind.
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".npy": "npy", ".npz": "npz"}
#: Cell texts that mean "no value".
_MISSING = {"", "na", "n/a", "nan", "-nan", "+nan", "null", "none", "?"}
#: CSV rows converted per block (bounds the memory of the text cells).
_BLOCK_ROWS = 16384


class DataFileError(ValueError):
    """A data file that cannot be used as it is; the message is one line.

    Parameters
    ----------
    message : str
        What is wrong, where, and (when useful) what to do.
    path : str, optional
        The file.
    line : int, optional
        1-based line of a text file (the header is line 1), or 0-based row
        index of an array.
    column : str, optional
        Column name (or index) concerned.

    Examples
    --------
    >>> err = DataFileError("t.csv, line 3, column 'a': 'x' is not a number",
    ...                     path="t.csv", line=3, column="a")
    >>> isinstance(err, ValueError), err.line
    (True, 3)
    """

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 column: str | None = None):
        super().__init__(message)
        self.path = path
        self.line = line
        self.column = column


def _shown(text: str, limit: int = 40) -> str:
    """Quote and shorten a cell's text for a message."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


def _kind(path: str) -> str:
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise DataFileError(
            f"{path}: unknown file type {suffix or '(no suffix)'!r}; use "
            f"{', '.join(SUFFIXES)}.", path=path)
    return SUFFIXES[suffix]


def _check_exists(path: str) -> None:
    if not os.path.exists(path):
        raise DataFileError(f"{path}: file not found.", path=path)
    if os.path.isdir(path):
        raise DataFileError(f"{path} is a directory, not a data file.", path=path)


# --------------------------------------------------------------------- CSV
def _cell_error(path: str, line: int, column: str, text: str) -> DataFileError:
    stripped = text.strip()
    where = f"{path}, line {line}, column {column!r}"
    if stripped.lower() in _MISSING:
        what = "value is missing" + (f" ({_shown(stripped)})" if stripped else " (empty cell)")
    else:
        try:
            value = float(stripped)
        except ValueError:
            what = f"{_shown(stripped)} is not a number"
        else:
            what = (f"{_shown(stripped)} is not a finite number" if not np.isfinite(value)
                    else f"{_shown(stripped)} cannot be read")  # pragma: no cover
    return DataFileError(f"{where}: {what}.", path=path, line=line, column=column)


def _to_float(cells: np.ndarray, lines: Sequence[int], names: Sequence[str],
              path: str) -> np.ndarray:
    """Numbers of a block of text cells; the first bad cell (file order) raises."""
    try:
        out = cells.astype(np.float64)
    except ValueError:
        out = None
    if out is not None and np.isfinite(out).all():
        return out
    for i in range(cells.shape[0]):  # slow path: only to locate the error
        for j in range(cells.shape[1]):
            text = str(cells[i, j])
            try:
                ok = np.isfinite(float(text.strip()))
            except ValueError:
                ok = False
            if not ok:
                raise _cell_error(path, lines[i], names[j], text)
    raise AssertionError("unreachable")  # pragma: no cover


def _labels(cells: np.ndarray, lines: Sequence[int], name: str, path: str) -> np.ndarray:
    """Target labels of a block: stripped strings; missing cells raise."""
    labels = np.char.strip(cells)
    missing = np.isin(np.char.lower(labels), list(_MISSING))
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise _cell_error(path, lines[i], name, str(cells[i]))
    return labels


def _counting(f, counter: list) -> Iterator[str]:
    for line in f:
        counter[0] += len(line)
        yield line


def _check_header(header: list[str], path: str, line: int) -> None:
    for j, name in enumerate(header):
        if not name:
            raise DataFileError(f"{path}, line {line}: column {j + 1} of the header "
                                f"has no name.", path=path, line=line)
        first = header.index(name)
        if first != j:
            raise DataFileError(
                f"{path}, line {line}: column name {name!r} appears twice "
                f"(columns {first + 1} and {j + 1}).", path=path, line=line, column=name)


def _read_csv(path: str, delimiter: str, progress, on_header, on_block) -> None:
    """Stream a CSV/TSV file: ``on_header(names)``, then ``on_block(cells, lines)``.

    ``cells`` is an object array of the text cells of up to ``_BLOCK_ROWS``
    rows and ``lines`` their 1-based line numbers, so only one block of text
    is held at a time.
    """
    total = max(1, os.path.getsize(path))
    counter = [0]
    n_rows = 0
    header = None

    def flush(rows, lines):
        cells = np.empty((len(rows), len(header)), dtype=object)
        cells[...] = rows
        on_block(cells, lines)
        if progress is not None:
            progress(min(counter[0], total), total)

    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(_counting(f, counter), delimiter=delimiter,
                            skipinitialspace=True, strict=True)
        try:
            end = 0
            rows: list[list[str]] = []
            lines: list[int] = []
            for row in reader:
                start, end = end + 1, reader.line_num
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank line
                if header is None:
                    header = [c.strip() for c in row]
                    header_line = start
                    _check_header(header, path, start)
                    on_header(header)
                    continue
                if len(row) != len(header):
                    raise DataFileError(
                        f"{path}, line {start}: {len(row)} fields, expected {len(header)} "
                        f"(as in the header on line {header_line}).", path=path, line=start)
                rows.append(row)
                lines.append(start)
                if len(rows) == _BLOCK_ROWS:
                    n_rows += len(rows)
                    flush(rows, lines)
                    rows, lines = [], []
        except csv.Error as exc:
            raise DataFileError(f"{path}, line {reader.line_num}: malformed CSV ({exc}).",
                                path=path, line=reader.line_num) from None
        except UnicodeDecodeError as exc:
            raise DataFileError(
                f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start}).",
                path=path) from None
    if header is None:
        raise DataFileError(f"{path} is empty; expected a header row of column names, "
                            f"then data rows.", path=path)
    if rows:
        n_rows += len(rows)
        flush(rows, lines)
    if n_rows == 0:
        raise DataFileError(f"{path} has a header but no data rows.", path=path)
    if progress is not None:
        progress(total, total)


def _column_index(names: Sequence[str] | None, target, path: str, n_columns: int) -> int:
    """Position of the target column (a name, or an index for unnamed arrays)."""
    if names is not None and isinstance(target, str) and target in names:
        return list(names).index(target)
    if isinstance(target, str):
        text = target.strip()
        if names is not None or not text.lstrip("-").isdigit():
            if names is None:
                raise DataFileError(
                    f"{path} has no column names; give the target as a column index "
                    f"(0 to {n_columns - 1}), not {target!r}.", path=path, column=target)
            raise DataFileError(
                f"column {target!r} not found in {path}; columns are: {', '.join(names)}",
                path=path, column=target)
        target = int(text)
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, np.integer)):
        raise TypeError(f"target must be a column name or index, got {target!r}.")
    if not -n_columns <= target < n_columns:
        raise DataFileError(f"{path} has {n_columns} columns; target column index {target} "
                            f"is out of range.", path=path, column=str(target))
    return int(target) % n_columns


def _select(names: Sequence[str] | None, n_columns: int, t: int | None, columns, ignore,
            path: str) -> list[int]:
    """Positions of the feature columns (checked against the expected ``columns``)."""
    free = [j for j in range(n_columns) if j != t]
    if names is not None:
        free = [j for j in free if names[j] not in ignore]
    if columns is None:
        return free
    if isinstance(columns, (int, np.integer)):
        if len(free) != columns:
            raise DataFileError(
                f"{path} has {len(free)} feature columns but the model expects {columns}.",
                path=path)
        return free
    columns = [str(c) for c in columns]
    if names is None:
        if len(free) != len(columns):
            raise DataFileError(
                f"{path} has {len(free)} feature columns but the model expects "
                f"{len(columns)} ({', '.join(columns)}).", path=path)
        return free
    missing = [c for c in columns if c not in names]
    if missing:
        raise DataFileError(
            f"column {missing[0]!r} not found in {path}; the model was trained on columns: "
            f"{', '.join(columns)}", path=path, column=missing[0])
    extra = [names[j] for j in free if names[j] not in columns]
    if extra:
        raise DataFileError(
            f"{path} has column(s) the model was not trained on: {', '.join(extra)}; "
            f"the model uses: {', '.join(columns)}", path=path, column=extra[0])
    return [list(names).index(c) for c in columns]


def _csv_table(path, delimiter, target, labels, columns, ignore, target_optional, progress):
    plan: dict = {}
    X_blocks: list[np.ndarray] = []
    y_blocks: list[np.ndarray] = []

    def on_header(header):
        tgt = target
        if target_optional and isinstance(tgt, str) and tgt not in header:
            tgt = None
        t = None if tgt is None else _column_index(header, tgt, path, len(header))
        cols = _select(header, len(header), t, columns, ignore, path)
        plan.update(t=t, cols=cols, names=[header[j] for j in cols],
                    tname=None if t is None else header[t])

    def on_block(cells, lines):
        X_blocks.append(_to_float(cells[:, plan["cols"]], lines, plan["names"], path))
        t = plan["t"]
        if t is None:
            return
        if labels:
            y_blocks.append(_labels(cells[:, t].astype(str), lines, plan["tname"], path))
        else:
            y_blocks.append(_to_float(cells[:, [t]], lines, [plan["tname"]], path)[:, 0])

    _read_csv(path, delimiter, progress, on_header, on_block)
    X = np.ascontiguousarray(np.concatenate(X_blocks))
    y = None
    if plan["t"] is not None:
        y = np.concatenate(y_blocks)
        if labels:
            try:
                numeric = y.astype(np.float64)
            except ValueError:
                numeric = None
            if numeric is not None and np.isfinite(numeric).all():
                y = numeric
    return X, y, plan["names"]


# ------------------------------------------------------------------- NumPy
def _array_checks(A: np.ndarray, path: str, what: str) -> np.ndarray:
    from ._validation import _first_nonfinite

    if A.dtype.kind not in "biuf":
        raise DataFileError(f"{path}: {what} has dtype {A.dtype}; expected numbers.",
                            path=path)
    if A.ndim != 2:
        raise DataFileError(f"{path}: {what} is {A.ndim}-D with shape {A.shape}; expected a "
                            f"2-D table (rows x columns).", path=path)
    if A.shape[0] == 0 or A.shape[1] == 0:
        raise DataFileError(f"{path}: {what} is empty (shape {A.shape}).", path=path)
    if A.dtype.kind == "f":
        bad = _first_nonfinite(A)
        if bad:
            i, j = bad
            kind = "missing (NaN)" if np.isnan(A[i, j]) else f"not finite ({A[i, j]})"
            raise DataFileError(f"{path}, row {i}, column {j} (0-based): value is {kind}.",
                                path=path, line=i, column=str(j))
    if A.dtype not in (np.float32, np.float64):
        A = A.astype(np.float64)
    return A


def _load_npy(path: str):
    magic = b"\x93NUMPY" if path.lower().endswith(".npy") else b"PK"
    with open(path, "rb") as f:
        if f.read(len(magic)) != magic:
            raise DataFileError(f"{path} is not a readable {os.path.splitext(path)[1]} file "
                                f"(not in NumPy's format).", path=path)
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataFileError(f"{path} holds Python objects (pickled); expected a numeric "
                                f"array.", path=path) from None
        raise DataFileError(f"{path} is not a readable {os.path.splitext(path)[1]} file "
                            f"({exc}).", path=path) from None
    except (OSError, EOFError) as exc:
        raise DataFileError(f"{path} is not a readable {os.path.splitext(path)[1]} file "
                            f"({exc}).", path=path) from None


def _npz_arrays(path: str):
    """``(X, y, names)`` arrays of an ``.npz`` file (not yet checked)."""
    import zipfile

    try:
        data = _load_npy(path)
        with data:
            keys = list(data.files)
            if "X" in keys:
                X = data["X"]
                y = data["y"] if "y" in keys else None
                names = data["feature_names"] if "feature_names" in keys else None
            elif len(keys) == 1:
                X, y, names = data[keys[0]], None, None
            else:
                raise DataFileError(
                    f"{path} holds arrays {', '.join(keys) or '(none)'}; expected 'X' (and "
                    f"optionally 'y', 'feature_names') or a single array.", path=path)
    except (zipfile.BadZipFile, ValueError) as exc:
        if isinstance(exc, DataFileError):
            raise
        raise DataFileError(f"{path} is not a readable .npz file ({exc}).",
                            path=path) from None
    if names is not None:
        names = np.asarray(names)
        if names.dtype.kind not in "US" or names.ndim != 1:
            raise DataFileError(f"{path}: 'feature_names' must be a 1-D array of strings.",
                                path=path)
        names = [str(n) for n in names]
    return X, y, names


def _array_table(path, kind, target, labels, columns, ignore, target_optional):
    if kind == "npy":
        A, y_arr, names = _load_npy(path), None, None
    else:
        A, y_arr, names = _npz_arrays(path)
    A = np.asarray(A)
    what = "the array" if kind == "npy" or y_arr is None else "array 'X'"
    if A.ndim == 2 and names is not None and len(names) != A.shape[1]:
        raise DataFileError(f"{path}: 'feature_names' names {len(names)} columns but 'X' has "
                            f"{A.shape[1]}.", path=path)
    A = _array_checks(A, path, what)
    if y_arr is not None and target is not None and not (
            isinstance(target, str) and target == "y" and (names is None or "y" not in names)):
        y_arr = None  # the target is a column of X
    t = None
    if target_optional and y_arr is None and isinstance(target, str) and (
            target not in names if names is not None
            else not target.strip().lstrip("-").isdigit()):
        target = None
    if y_arr is None and target is not None:
        t = _column_index(names, target, path, A.shape[1])
    cols = _select(names, A.shape[1], t, columns, ignore, path)
    X = A[:, cols] if len(cols) != A.shape[1] else A
    feature_names = None if names is None else [names[j] for j in cols]
    y = None
    if t is not None:
        y = A[:, t]
    elif y_arr is not None:
        y = np.asarray(y_arr)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
            raise DataFileError(f"{path}: 'y' has shape {y.shape}; expected {X.shape[0]} "
                                f"values (one per row of 'X').", path=path, column="y")
        if y.dtype.kind in "US" and labels:
            y = np.char.strip(y.astype(str))
        elif y.dtype.kind in "biuf":
            y = y.astype(np.float64) if y.dtype.kind != "f" else y
            from ._validation import _first_nonfinite

            bad = _first_nonfinite(y.reshape(y.shape[0], -1))
            if bad:
                raise DataFileError(f"{path}, row {bad[0]} (0-based) of 'y': value is "
                                    f"missing or not finite.", path=path, line=bad[0],
                                    column="y")
        else:
            raise DataFileError(f"{path}: 'y' has dtype {y.dtype}; expected numbers"
                                f"{' or labels' if labels else ''}.", path=path, column="y")
    return np.ascontiguousarray(X), y, feature_names


# ------------------------------------------------------------------ public
def read_table(
    path: str | os.PathLike,
    *,
    target: str | int | None = None,
    labels: bool = False,
    columns: Sequence[str] | int | None = None,
    ignore: Sequence[str] = (),
    target_optional: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray | None, list[str] | None]:
    r"""Read a data file as a feature matrix and an optional target.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``, ``.tsv``/``.tab``, ``.npy`` or ``.npz`` file (see the
        module docstring for the layouts).
    target : str or int, optional
        The target column: a name (CSV, or ``.npz`` with ``feature_names``)
        or a column index (``.npy``; a string of digits is accepted). With an
        ``.npz`` holding a ``y`` array, ``None`` or ``"y"`` selects it.
    labels : bool, default=False
        Whether the target may hold class labels. Then ``y`` is a float
        array when every target cell is a number, else an array of the
        (stripped) label strings; missing cells are still refused.
    columns : sequence of str or int, optional
        The feature columns expected (prediction time): names select and
        order the file's columns by name (missing ones and unexpected extra
        ones are errors); an int only checks their number. Files without
        column names are matched by position.
    ignore : sequence of str, default=()
        Column names dropped silently (e.g. the training target in a file
        given for prediction).
    target_optional : bool, default=False
        Give ``y=None`` instead of an error when the file has no column named
        ``target``.
    progress : callable, optional
        Called as ``progress(done, total)`` (characters read of a text file)
        while reading.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        C-contiguous; float64 from text files, float32 kept from arrays.
    y : ndarray of shape (n_samples,) or None
        The target (``None`` without ``target`` and without a ``y`` array).
    feature_names : list of str or None
        Names of the columns of ``X`` (``None`` when the file has none).

    Raises
    ------
    DataFileError
        One line naming the file, line and column: file missing or empty,
        header without rows, rows with the wrong number of fields, cells that
        are not numbers or are missing, target column not found.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "train.csv")
    >>> with open(path, "w") as f:
    ...     _ = f.write("a,b,y\n1,2,0.5\n3,4,1.5\n")
    >>> X, y, names = read_table(path, target="y")
    >>> X.tolist(), y.tolist(), names
    ([[1.0, 2.0], [3.0, 4.0]], [0.5, 1.5], ['a', 'b'])
    >>> with open(path, "w") as f:
    ...     _ = f.write("a,b,y\n1,2,0.5\n3,x,1.5\n")
    >>> read_table(path, target="y")
    Traceback (most recent call last):
    ...
    fastdistill._io.DataFileError: ..., line 3, column 'b': 'x' is not a number.
    """
    path = os.fspath(path)
    kind = _kind(path)
    _check_exists(path)
    ignore = {str(c) for c in ignore}
    if kind in ("csv", "tsv"):
        return _csv_table(path, "," if kind == "csv" else "\t", target, labels, columns,
                          ignore, target_optional, progress)
    return _array_table(path, kind, target, labels, columns, ignore, target_optional)


def write_table(stream, columns: Sequence[np.ndarray], header: Sequence[str]) -> None:
    r"""Write equal-length columns as CSV with a header row.

    Floats are written in their shortest form that reads back to the same
    value (``float64`` and ``float32`` alike); labels are quoted when needed.

    Parameters
    ----------
    stream : text file
        Where to write.
    columns : sequence of 1-D arrays
        The columns, all of the same length.
    header : sequence of str
        One name per column.

    Examples
    --------
    >>> import io, numpy as np
    >>> out = io.StringIO()
    >>> write_table(out, [np.array([0.1, 2.0]), np.array(["a", "b,c"])], ["p", "label"])
    >>> print(out.getvalue().replace("\r", ""), end="")
    p,label
    0.1,a
    2.0,"b,c"
    """
    texts = [np.asarray(c).astype(str) for c in columns]
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(list(header))
    writer.writerows(zip(*texts, strict=True))
