"""Data files of the command line (fastdistill._io) and the progress reporter."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest

from fastdistill import _io
from fastdistill._io import DataFileError, read_table, write_table
from fastdistill._progress import Progress


def write(tmp_path, name, text, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text, newline="")
    return str(path)


def error_of(path, **kwargs) -> DataFileError:
    with pytest.raises(DataFileError) as info:
        read_table(path, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg
    return info.value


# ----------------------------------------------------------------- CSV ok
def test_csv_reads_features_target_and_names(tmp_path):
    path = write(tmp_path, "t.csv", "a,b,y\n1,2,0.5\n-3e2, 4 ,1.5\n")
    X, y, names = read_table(path, target="y")
    assert X.dtype == np.float64 and X.flags.c_contiguous
    np.testing.assert_array_equal(X, [[1, 2], [-300, 4]])
    np.testing.assert_array_equal(y, [0.5, 1.5])
    assert names == ["a", "b"]


def test_csv_target_in_the_middle_and_no_target(tmp_path):
    path = write(tmp_path, "t.csv", "a,y,b\n1,9,2\n3,8,4\n")
    X, y, names = read_table(path, target="y")
    np.testing.assert_array_equal(X, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(y, [9, 8])
    assert names == ["a", "b"]
    X, y, names = read_table(path)
    assert y is None and names == ["a", "y", "b"] and X.shape == (2, 3)


def test_csv_round_trip_is_exact(tmp_path, rng):
    A = rng.normal(size=(50, 3)) * 10.0 ** rng.integers(-8, 8, size=(50, 3))
    buf = io.StringIO()
    write_table(buf, [A[:, j] for j in range(3)], ["x", "y z", "w"])
    path = write(tmp_path, "r.csv", buf.getvalue())
    X, _, names = read_table(path)
    assert names == ["x", "y z", "w"]
    np.testing.assert_array_equal(X, A)


def test_write_table_float32_shortest_form_reads_back_to_same_float32():
    v = np.array([0.1, 1 / 3, 1e-7], dtype=np.float32)
    buf = io.StringIO()
    write_table(buf, [v], ["p"])
    lines = buf.getvalue().splitlines()
    assert lines[0] == "p" and lines[1] == "0.1"
    np.testing.assert_array_equal(np.array(lines[1:], dtype=np.float64).astype(np.float32), v)


def test_csv_quoting_bom_crlf_and_blank_lines(tmp_path):
    text = '\ufeff"x,1","b ""q"""\r\n"1.5", 2\r\n\r\n3,"4"\r\n\r\n'
    path = write(tmp_path, "q.csv", text)
    X, _, names = read_table(path)
    assert names == ["x,1", 'b "q"']
    np.testing.assert_array_equal(X, [[1.5, 2], [3, 4]])


def test_csv_labels_keep_text_and_quoted_commas(tmp_path):
    path = write(tmp_path, "l.csv", 'a,label\n1,"x, y"\n2, dog \n3,cat\n')
    X, y, _ = read_table(path, target="label", labels=True)
    assert y.tolist() == ["x, y", "dog", "cat"]
    path = write(tmp_path, "n.csv", "a,label\n1,0\n2,1\n")
    _, y, _ = read_table(path, target="label", labels=True)
    assert y.dtype == np.float64 and y.tolist() == [0.0, 1.0]


def test_tsv(tmp_path):
    path = write(tmp_path, "t.tsv", "a\tb\n1\t2\n")
    X, _, names = read_table(path)
    assert names == ["a", "b"] and X.tolist() == [[1.0, 2.0]]


def test_csv_progress_reaches_the_file_size(tmp_path):
    path = write(tmp_path, "t.csv", "a\n" + "1\n" * 100)
    calls = []
    read_table(path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (202, 202)


def test_columns_select_reorder_ignore(tmp_path):
    path = write(tmp_path, "t.csv", "c,y,a,b\n3,9,1,2\n")
    X, y, names = read_table(path, columns=["a", "b", "c"], ignore=["y"])
    assert names == ["a", "b", "c"] and X.tolist() == [[1, 2, 3]] and y is None
    X, y, names = read_table(path, target="y", columns=["b", "a", "c"])
    assert X.tolist() == [[2, 1, 3]] and y.tolist() == [9]


def test_target_optional(tmp_path):
    path = write(tmp_path, "t.csv", "a,b\n1,2\n")
    X, y, _ = read_table(path, target="y", target_optional=True)
    assert y is None and X.shape == (1, 2)
    np.save(tmp_path / "a.npy", np.ones((2, 3)))
    X, y, _ = read_table(str(tmp_path / "a.npy"), target="y", target_optional=True)
    assert y is None and X.shape == (2, 3)
    X, y, _ = read_table(str(tmp_path / "a.npy"), target="1", target_optional=True)
    assert y.shape == (2,) and X.shape == (2, 2)


# ---------------------------------------------------------------- CSV bad
def test_non_numeric_cell_names_file_line_column(tmp_path):
    text = "x1,x2,x3,y\n" + "1,2,3,4\n" * 15 + "1,2,abc,4\n"
    path = write(tmp_path, "train.csv", text)
    err = error_of(path, target="y")
    assert str(err) == f"{path}, line 17, column 'x3': 'abc' is not a number."
    assert (err.line, err.column) == (17, "x3")


def test_line_numbers_count_blank_lines_and_multiline_cells(tmp_path):
    path = write(tmp_path, "t.csv", 'a,b\n1,"2"\n\n3,"multi\nline"\n5,x\n')
    assert str(error_of(path)).startswith(f"{path}, line 4, column 'b': 'multi\\nline'")
    path = write(tmp_path, "u.csv", 'a,lab\n1,"x\ny"\n\nq,z\n')
    err = error_of(path, target="lab", labels=True)
    assert (err.line, err.column) == (5, "a")


def test_errors_found_in_later_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(_io, "_BLOCK_ROWS", 4)
    text = "a,b\n" + "1,2\n" * 10 + "1,oops\n" + "1,2\n" * 3
    path = write(tmp_path, "t.csv", text)
    assert error_of(path).line == 12
    X, _, _ = read_table(write(tmp_path, "ok.csv", "a,b\n" + "1,2\n" * 10))
    assert X.shape == (10, 2)


def test_first_bad_cell_in_file_order(tmp_path):
    path = write(tmp_path, "t.csv", "a,b\n1,2\n3,x\ny,4\n")
    err = error_of(path)
    assert (err.line, err.column) == (3, "b")


def test_ragged_rows(tmp_path):
    path = write(tmp_path, "train.csv", "a,b,c,d,e\n" + "1,2,3,4,5\n" * 7 + "1,2,3,4\n")
    assert str(error_of(path)) == (
        f"{path}, line 9: 4 fields, expected 5 (as in the header on line 1).")
    path = write(tmp_path, "long.csv", "a,b\n1,2,\n")
    assert "line 2: 3 fields, expected 2" in str(error_of(path))


@pytest.mark.parametrize("cell, what", [
    ("", "value is missing (empty cell)"),
    ("NA", "value is missing ('NA')"),
    ("nan", "value is missing ('nan')"),
    ("inf", "'inf' is not a finite number"),
    ("1,5", "'1,5' is not a number"),
])
def test_missing_and_non_finite_cells(tmp_path, cell, what):
    path = write(tmp_path, "t.csv", f'a,b\n1,2\n3,"{cell}"\n')
    assert str(error_of(path)) == f"{path}, line 3, column 'b': {what}."


def test_missing_target_and_label_cells(tmp_path):
    path = write(tmp_path, "t.csv", "a,y\n1,cat\n2,\n")
    assert str(error_of(path, target="y", labels=True)) == (
        f"{path}, line 3, column 'y': value is missing (empty cell).")
    assert str(error_of(path, target="y")) == f"{path}, line 2, column 'y': 'cat' is not a number."


def test_missing_target_column(tmp_path):
    path = write(tmp_path, "train.csv", "a,b,c\n1,2,3\n")
    err = error_of(path, target="y")
    assert str(err) == f"column 'y' not found in {path}; columns are: a, b, c"


def test_predict_columns_missing_or_extra(tmp_path):
    path = write(tmp_path, "d.csv", "a,c,z\n1,2,3\n")
    assert str(error_of(path, columns=["a", "b", "c"])) == (
        f"column 'b' not found in {path}; the model was trained on columns: a, b, c")
    assert str(error_of(path, columns=["a", "c"])) == (
        f"{path} has column(s) the model was not trained on: z; the model uses: a, c")
    assert "has 3 feature columns but the model expects 2" in str(error_of(path, columns=2))


def test_empty_header_only_and_bad_header(tmp_path):
    assert str(error_of(write(tmp_path, "e.csv", ""))).endswith(
        "e.csv is empty; expected a header row of column names, then data rows.")
    assert str(error_of(write(tmp_path, "b.csv", "\n\n  \n"))).endswith("is empty; expected a "
                                                                       "header row of column "
                                                                       "names, then data rows.")
    assert str(error_of(write(tmp_path, "h.csv", "a,b,y\n"))).endswith(
        "h.csv has a header but no data rows.")
    assert "line 1: column name 'a' appears twice (columns 1 and 3)" in str(
        error_of(write(tmp_path, "d.csv", "a,b,a\n1,2,3\n")))
    assert "line 1: column 2 of the header has no name" in str(
        error_of(write(tmp_path, "n.csv", "a,,c\n1,2,3\n")))


def test_missing_file_directory_unknown_suffix_binary(tmp_path):
    missing = str(tmp_path / "nope.csv")
    assert str(error_of(missing)) == f"{missing}: file not found."
    (tmp_path / "dir.csv").mkdir()
    assert "is a directory" in str(error_of(str(tmp_path / "dir.csv")))
    assert "unknown file type '.txt'" in str(error_of(write(tmp_path, "d.txt", "a\n1\n")))
    assert "not a UTF-8 text file" in str(
        error_of(write(tmp_path, "bin.csv", b"a,b\n\xff\xfe,1\n", mode="wb")))


def test_unterminated_quote(tmp_path):
    err = error_of(write(tmp_path, "q.csv", 'a,b\n1,"2\n'))
    assert "malformed CSV" in str(err) or "fields" in str(err) or "not a number" in str(err)


# ------------------------------------------------------------------- NumPy
def test_npy_target_index_float32_and_ints(tmp_path):
    A = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "a.npy", A)
    X, y, names = read_table(str(tmp_path / "a.npy"), target="1")
    assert X.dtype == np.float32 and names is None
    np.testing.assert_array_equal(X, A[:, [0, 2]])
    np.testing.assert_array_equal(y, A[:, 1])
    X, y, _ = read_table(str(tmp_path / "a.npy"), target=-1)
    np.testing.assert_array_equal(y, A[:, 2])
    np.save(tmp_path / "i.npy", np.arange(6).reshape(3, 2))
    X, _, _ = read_table(str(tmp_path / "i.npy"))
    assert X.dtype == np.float64


def test_npy_errors(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((3, 2)))
    path = str(tmp_path / "a.npy")
    assert "has no column names; give the target as a column index (0 to 1), not 'y'" in str(
        error_of(path, target="y"))
    assert "target column index 5 is out of range" in str(error_of(path, target=5))
    np.save(tmp_path / "v.npy", np.ones(3))
    assert "is 1-D with shape (3,); expected a 2-D table" in str(
        error_of(str(tmp_path / "v.npy")))
    B = np.ones((4, 3))
    B[2, 1] = np.nan
    np.save(tmp_path / "n.npy", B)
    err = error_of(str(tmp_path / "n.npy"))
    assert str(err).endswith("n.npy, row 2, column 1 (0-based): value is missing (NaN).")
    B[2, 1] = np.inf
    np.save(tmp_path / "n.npy", B)
    assert "value is not finite (inf)" in str(error_of(str(tmp_path / "n.npy")))
    np.save(tmp_path / "o.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    assert "pickled" in str(error_of(str(tmp_path / "o.npy")))
    assert "not a readable .npy file" in str(error_of(write(tmp_path, "bad.npy", "hello")))
    np.save(tmp_path / "e.npy", np.ones((0, 3)))
    assert "is empty" in str(error_of(str(tmp_path / "e.npy")))


def test_npz_layouts(tmp_path):
    X0 = np.arange(6.0).reshape(3, 2)
    np.savez(tmp_path / "xy.npz", X=X0, y=np.array(["a", "b", "a"]),
             feature_names=np.array(["p", "q"]))
    X, y, names = read_table(str(tmp_path / "xy.npz"), labels=True)
    np.testing.assert_array_equal(X, X0)
    assert y.tolist() == ["a", "b", "a"] and names == ["p", "q"]
    X, y, names = read_table(str(tmp_path / "xy.npz"), target="q", labels=True)
    assert names == ["p"] and y.tolist() == [1.0, 3.0, 5.0]
    assert "'y' has dtype <U1; expected numbers." in str(error_of(str(tmp_path / "xy.npz")))
    np.savez(tmp_path / "one.npz", data=X0)
    X, y, names = read_table(str(tmp_path / "one.npz"), target=0)
    assert names is None and X[:, 0].tolist() == [1, 3, 5] and y.tolist() == [0, 2, 4]


def test_npz_errors(tmp_path):
    np.savez(tmp_path / "m.npz", a=np.ones((2, 2)), b=np.ones(2))
    assert "holds arrays a, b; expected 'X'" in str(error_of(str(tmp_path / "m.npz")))
    np.savez(tmp_path / "l.npz", X=np.ones((3, 2)), y=np.ones(2))
    assert "'y' has shape (2,); expected 3 values" in str(error_of(str(tmp_path / "l.npz")))
    np.savez(tmp_path / "f.npz", X=np.ones((3, 2)), feature_names=np.array(["a"]))
    assert "'feature_names' names 1 columns but 'X' has 2" in str(
        error_of(str(tmp_path / "f.npz")))
    yb = np.ones(3)
    yb[1] = np.nan
    np.savez(tmp_path / "ny.npz", X=np.ones((3, 2)), y=yb)
    assert "row 1 (0-based) of 'y': value is missing" in str(error_of(str(tmp_path / "ny.npz")))
    assert "not a readable .npz file" in str(error_of(write(tmp_path, "z.npz", "nope")))


# ---------------------------------------------------------------- progress
class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_plain_lines_when_forced_off_terminal():
    out = io.StringIO()
    progress = Progress(out, mode="always", n_steps=2)
    assert progress.enabled and not progress.live
    with progress.step("one"):
        pass
    with pytest.raises(RuntimeError):
        with progress.step("two"):
            raise RuntimeError("boom")
    lines = out.getvalue().splitlines()
    assert lines[0] == "[1/2] one ..." and lines[1].startswith("[1/2] one ... done (")
    assert lines[2] == "[2/2] two ..." and lines[3].startswith("[2/2] two ... failed (")
    assert "\r" not in out.getvalue()


@pytest.mark.parametrize("stream, mode", [(io.StringIO(), "auto"), (FakeTTY(), "never"),
                                          (io.StringIO(), "never")])
def test_progress_silent(stream, mode):
    progress = Progress(stream, mode=mode)
    with progress.step("work", total=3) as step:
        step.update(3)
    assert stream.getvalue() == "" and not progress.enabled
    assert step.done == 3


def test_progress_live_bar_on_terminal():
    out = FakeTTY()
    progress = Progress(out, mode="auto", width=10, interval=0.0)
    assert progress.live
    with progress.step("fit", total=4, unit="epochs") as step:
        step.update(2)
        assert "\rfit  [#####.....]  2/4 epochs" in out.getvalue()
        step.set(4)
        assert "[##########]  4/4 epochs" in out.getvalue()
    assert out.getvalue().rstrip().split("\r")[-1].startswith("fit ... done (")
    assert out.getvalue().endswith("\n")


def test_progress_bytes_unit_and_poll_thread():
    out = FakeTTY()
    progress = Progress(out, interval=0.01)
    with progress.step("read", total=2_500_000, unit="bytes") as step:
        step._last_draw = -1.0
        step.set(1_250_000)
    assert "1.2 MB/2.5 MB" in out.getvalue() or "1.3 MB/2.5 MB" in out.getvalue()
    counter = {"n": 0}
    seen = threading.Event()

    def poll():
        counter["n"] += 1
        if counter["n"] >= 3:
            seen.set()
        return 7

    with progress.step("train", total=10, poll=poll) as step:
        assert seen.wait(5.0)
    assert step.done == 7 and "7/10" in out.getvalue()


def test_progress_bad_mode():
    with pytest.raises(ValueError, match="mode must be"):
        Progress(io.StringIO(), mode="sometimes")
