"""The distill / predict / report commands, end to end through ``main(argv)``."""

from __future__ import annotations

import csv
import io
import json
import warnings

import numpy as np
import pytest

import fastdistill
from fastdistill import cli
from fastdistill.cli import main

TEACHER = ["--teacher", "mlp:8", "--max-iter", "30"]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return str(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(160, 3))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 + 0.1 * X[:, 2]
    lab = np.where(X[:, 0] + X[:, 1] > 0.2, "up", np.where(X[:, 2] > 0, "left, l", "right"))
    U = rng.uniform(-1, 1, size=(200, 3))
    files = {
        "X": X, "y": y, "lab": lab, "U": U, "dir": d,
        "reg": write_csv(d / "reg.csv", ["a", "b", "c", "y"],
                         [[*r, t] for r, t in zip(X.tolist(), y.tolist(), strict=True)]),
        "cls": write_csv(d / "cls.csv", ["a", "b", "c", "label"],
                         [[*r, t] for r, t in zip(X.tolist(), lab.tolist(), strict=True)]),
        # same features, other column order, plus the target column left empty
        "more": write_csv(d / "more.csv", ["c", "y", "a", "b"],
                          [[r[2], "", r[0], r[1]] for r in U.tolist()]),
        "feat": write_csv(d / "feat.csv", ["b", "c", "a"],
                          [[r[1], r[2], r[0]] for r in X[:20].tolist()]),
    }
    return files


def run(argv, capsys):
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def read_csv_text(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def reg_model(data):
    path = str(data["dir"] / "reg_model.npz")
    status = main(["distill", "--train", data["reg"], "--target", "y", "--unlabeled",
                   data["more"], *TEACHER, "--student", "local:4", "--features", "kmeans:8",
                   "--out", path])
    assert status == 0
    return path


@pytest.fixture(scope="module")
def cls_model(data):
    path = str(data["dir"] / "cls_model.npz")
    assert main(["distill", "--train", data["cls"], "--target", "label", *TEACHER,
                 "--features", "pca:2", "--out", path]) == 0
    return path


def assert_one_error_line(status, err, *fragments):
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fastdistill: error: ") and "Traceback" not in err
    for f in fragments:
        assert f in lines[0], lines[0]


# ---------------------------------------------------------------- distill
def test_distill_prints_report_and_saves_a_distiller(data, capsys, tmp_path):
    out_path = str(tmp_path / "m.npz")
    status, out, err = run(["distill", "--train", data["reg"], "--target", "y", *TEACHER,
                            "--out", out_path], capsys)
    assert status == 0
    assert "Evaluated on the 160 training rows (in-sample)." in out
    assert "Distillation report (regression)" in out and "fidelity R2" in out
    assert f"model: {out_path}" in out
    # stderr is not a terminal: no progress, only the teacher's convergence warning
    assert all(line.startswith("fastdistill: warning:") for line in err.splitlines())
    model = fastdistill.load(out_path)
    assert isinstance(model, fastdistill.Distiller)
    assert isinstance(model.teacher, fastdistill.MLPRegressor)
    assert model.teacher.hidden_layer_sizes == (8,) and model.teacher.max_iter == 30
    assert isinstance(model.student_, fastdistill.Ridge)
    assert model.data_info_ == {"feature_names": ["a", "b", "c"], "n_features": 3,
                                "target": "y", "task": "regression"}
    # the report's fidelity is the saved model's
    fid = model.fidelity(data["X"])
    line = next(s for s in out.splitlines() if s.startswith("fidelity R2"))
    assert float(line.split()[-1]) == pytest.approx(fid, rel=1e-3)


def test_distill_with_unlabeled_rows_queries_the_teacher_on_both(data, reg_model):
    model = fastdistill.load(reg_model)
    assert model.n_transfer_ == 160 + 200
    assert isinstance(model.student_, fastdistill.LocalLinearRegressor)
    assert model.student_.n_regions == 4
    assert isinstance(model.features_, fastdistill.KMeansFeatures)
    assert model.features_.n_clusters == 8


@pytest.mark.parametrize("spec, cls", [("munge:300", "MUNGE"), ("gaussian:300", "GaussianClusters")])
def test_distill_with_synthetic_transfer_rows(data, capsys, tmp_path, spec, cls):
    path = str(tmp_path / "m.npz")
    status, _, _ = run(["distill", "--train", data["reg"], "--target", "y", "--unlabeled",
                        data["more"], *TEACHER, "--transfer", spec, "--out", path], capsys)
    assert status == 0
    model = fastdistill.load(path)
    assert type(model.transfer_).__name__ == cls
    # 200 unlabeled rows kept, 300 synthetic ones added, plus the 160 labeled rows
    assert model.n_transfer_ == 200 + 300 + 160


def test_distill_json_report_with_test_file(data, capsys):
    status, out, _ = run(["distill", "--train", data["reg"], "--target", "y", *TEACHER,
                          "--test", data["reg"], "--json", "--progress", "never"], capsys)
    assert status == 0
    doc = json.loads(out)
    assert doc["task"] == "regression"
    assert doc["evaluated_on"] == f"the 160 rows of {data['reg']}"
    assert doc["metrics"]["n_samples"] == 160 and doc["metrics"]["teacher_score"] is not None


def test_distill_progress_always_prints_step_lines(data, capsys):
    status, _, err = run(["distill", "--train", data["reg"], "--target", "y", *TEACHER,
                          "--progress", "always"], capsys)
    assert status == 0
    steps = [s for s in err.splitlines() if not s.startswith("fastdistill: warning:")]
    assert steps[0] == "reading reg.csv ..." and steps[1].startswith("reading reg.csv ... done")
    assert "training the teacher (mlp:8) ..." in steps
    assert any(s.startswith("distilling into linear ... done") for s in steps)


def test_distill_classification_with_string_labels(data, cls_model):
    model = fastdistill.load(cls_model)
    assert isinstance(model.teacher, fastdistill.MLPClassifier)
    assert model.classes_.tolist() == ["left, l", "right", "up"]
    assert model.target_ == "logits" and model.data_info_["task"] == "classification"
    assert set(model.predict(data["X"]).tolist()) <= {"left, l", "right", "up"}


@pytest.mark.parametrize("task, values, expected", [
    ("auto", [0, 1, 2, 1], "classification"),
    ("regression", [0, 1, 2, 1], "regression"),
    ("auto", [0.5, 1, 2, 1], "regression"),
])
def test_task_option_and_auto_rule(tmp_path, capsys, task, values, expected):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = np.resize(values, 40)
    path = write_csv(tmp_path / "t.csv", ["a", "b", "y"],
                     [[*r, v] for r, v in zip(X, y, strict=True)])
    out_path = str(tmp_path / "m.npz")
    status, out, _ = run(["distill", "--train", path, "--target", "y", "--task", task,
                          *TEACHER, "--out", out_path], capsys)
    assert status == 0 and f"Distillation report ({expected})" in out
    model = fastdistill.load(out_path)
    if expected == "classification":
        assert model.classes_.dtype.kind == "i" and model.classes_.tolist() == [0, 1, 2]


def test_infer_task_rule():
    assert cli.infer_task(np.array(["a", "b"])) == "classification"
    assert cli.infer_task(np.arange(20.0)) == "classification"
    assert cli.infer_task(np.arange(21.0)) == "regression"
    assert cli.infer_task(np.array([0.0, 0.5])) == "regression"


def test_auto_task_with_a_typo_in_a_numeric_target_names_the_cell(tmp_path, capsys):
    rows = [[i, i * 0.37] for i in range(30)]
    rows[11][1] = "0.4O"
    path = write_csv(tmp_path / "t.csv", ["a", "y"], rows)
    status, _, err = run(["distill", "--train", path, "--target", "y", *TEACHER], capsys)
    assert_one_error_line(status, err, f"{path}, line 13, column 'y': '0.4O' is not a number")


def test_saved_teacher_is_used_as_it_is(data, capsys, tmp_path):
    teacher = fastdistill.MLPRegressor(hidden_layer_sizes=(5,), max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fastdistill.ConvergenceWarning)
        teacher.fit(data["X"], data["y"])
    t_path = str(tmp_path / "teacher.npz")
    teacher.save(t_path)
    out_path = str(tmp_path / "m.npz")
    status, _, _ = run(["distill", "--train", data["reg"], "--target", "y", "--teacher", t_path,
                        "--out", out_path], capsys)
    assert status == 0
    loaded = fastdistill.load(out_path).teacher
    np.testing.assert_array_equal(loaded.predict(data["X"]), teacher.predict(data["X"]))


# ---------------------------------------------------------------- predict
def test_predict_equals_the_loaded_model(data, reg_model, capsys):
    status, out, err = run(["predict", "--model", reg_model, data["reg"]], capsys)
    assert status == 0 and err == ""
    header, rows = read_csv_text(out)
    assert header == ["prediction"] and len(rows) == 160
    expected = fastdistill.load(reg_model).predict(data["X"])
    np.testing.assert_array_equal(np.array([r[0] for r in rows], dtype=np.float64), expected)


def test_predict_matches_columns_by_name(data, reg_model, capsys, tmp_path):
    status, out, _ = run(["predict", "--model", reg_model, data["feat"]], capsys)
    assert status == 0
    _, rows = read_csv_text(out)
    expected = fastdistill.load(reg_model).predict(data["X"][:20])
    np.testing.assert_array_equal(np.array(rows, dtype=np.float64)[:, 0], expected)


def test_predict_output_file_and_npy_input(data, reg_model, capsys, tmp_path):
    np.save(tmp_path / "x.npy", data["X"][:10])
    out_path = tmp_path / "pred.csv"
    status, out, _ = run(["predict", "--model", reg_model, str(tmp_path / "x.npy"), "-o",
                          str(out_path)], capsys)
    assert status == 0 and out == ""
    _, rows = read_csv_text(out_path.read_text())
    np.testing.assert_array_equal(np.array(rows, dtype=np.float64)[:, 0],
                                  fastdistill.load(reg_model).predict(data["X"][:10]))


def test_predict_labels_and_probabilities(data, cls_model, capsys):
    model = fastdistill.load(cls_model)
    status, out, _ = run(["predict", "--model", cls_model, data["cls"]], capsys)
    assert status == 0
    header, rows = read_csv_text(out)
    assert header == ["prediction"]
    assert [r[0] for r in rows] == model.predict(data["X"]).tolist()
    status, out, _ = run(["predict", "--model", cls_model, data["cls"], "--proba"], capsys)
    assert status == 0
    header, rows = read_csv_text(out)
    assert header == ["proba_left, l", "proba_right", "proba_up"]
    P = np.array(rows, dtype=np.float64)
    np.testing.assert_array_equal(P, model.predict_proba(data["X"]))
    np.testing.assert_allclose(P.sum(axis=1), 1.0)


def test_predict_with_any_saved_estimator(data, capsys, tmp_path):
    ridge = fastdistill.Ridge().fit(data["X"], data["y"])
    path = str(tmp_path / "ridge.npz")
    ridge.save(path)
    np.save(tmp_path / "x.npy", data["X"])
    status, out, _ = run(["predict", "--model", path, str(tmp_path / "x.npy")], capsys)
    assert status == 0
    _, rows = read_csv_text(out)
    np.testing.assert_array_equal(np.array(rows, dtype=np.float64)[:, 0],
                                  ridge.predict(data["X"]))


# ----------------------------------------------------------------- report
def test_report_on_data_with_and_without_target(data, reg_model, capsys):
    status, out, _ = run(["report", "--model", reg_model, "--data", data["reg"], "--json"],
                         capsys)
    assert status == 0
    doc = json.loads(out)
    model = fastdistill.load(reg_model)
    assert doc["metrics"]["fidelity_r2"] == pytest.approx(model.fidelity(data["X"]))
    assert doc["metrics"]["student_score"] == pytest.approx(model.score(data["X"], data["y"]))
    status, out, _ = run(["report", "--model", reg_model, "--data", data["feat"]], capsys)
    assert status == 0
    assert "(no target column: no scores on true targets)" in out
    assert "student score on y" not in out and "fidelity R2" in out


def test_report_classification(data, cls_model, capsys):
    status, out, _ = run(["report", "--model", cls_model, "--data", data["cls"], "--json"],
                         capsys)
    assert status == 0
    doc = json.loads(out)
    model = fastdistill.load(cls_model)
    assert doc["task"] == "classification"
    assert doc["metrics"]["student_score"] == pytest.approx(model.score(data["X"], data["lab"]))


# -------------------------------------------------------------- bad input
def bad_files(d):
    return {
        "missing column": (write_csv(d / "nocol.csv", ["a", "b"], [[1, 2]]),
                           "column 'y' not found in", "columns are: a, b"),
        "non-numeric": (write_csv(d / "nonnum.csv", ["a", "y"], [[1, 2], [3, 4], ["x", 5]]),
                        "nonnum.csv, line 4, column 'a': 'x' is not a number"),
        "ragged": (write_csv(d / "ragged.csv", ["a", "y"], [[1, 2], [3]]),
                   "ragged.csv, line 3: 1 fields, expected 2"),
        "empty": (write_csv(d / "empty.csv", [], []), "empty.csv is empty"),
        "header only": (write_csv(d / "hdr.csv", ["a", "y"], []),
                        "hdr.csv has a header but no data rows"),
        "missing cell": (write_csv(d / "cell.csv", ["a", "y"], [[1, 2], ["", 4]]),
                         "cell.csv, line 3, column 'a': value is missing"),
        "no file": (str(d / "nothere.csv"), "nothere.csv: file not found"),
    }


@pytest.mark.parametrize("kind", ["missing column", "non-numeric", "ragged", "empty",
                                  "header only", "missing cell", "no file"])
def test_distill_bad_train_file(kind, capsys, tmp_path):
    path, *fragments = bad_files(tmp_path)[kind]
    status, _, err = run(["distill", "--train", path, "--target", "y", *TEACHER,
                          "--progress", "always"], capsys)
    assert status == 2
    lines = err.strip().splitlines()
    assert lines[-1].startswith("fastdistill: error: ") and "Traceback" not in err
    assert all(f in lines[-1] for f in fragments)
    # with the default progress (stderr not a terminal) the error is the only line
    status, _, err = run(["distill", "--train", path, "--target", "y", *TEACHER], capsys)
    assert_one_error_line(status, err, *fragments)


@pytest.mark.parametrize("option, fragment", [
    (["--teacher", "mlp:0"], "bad --teacher 'mlp:0': '0' is not a positive integer"),
    (["--teacher", "tree"], "bad --teacher 'tree'"),
    (["--student", "local:x"], "bad --student 'local:x'"),
    (["--student", "forest"], "choose linear, sgd or local[:K]"),
    (["--features", "som:3"], "give the map size as MxN"),
    (["--features", "kmeans"], "give the number of features"),
    (["--features", "pca:-2"], "bad --features 'pca:-2'"),
    (["--max-iter", "0"], "--max-iter must be a positive integer"),
    (["--transfer", "smote"], "choose none, munge[:N] or gaussian[:N]"),
    (["--transfer", "munge:0"], "bad --transfer 'munge:0'"),
    (["--out", "/nonexistent-dir-xyz/m.npz"], "folder /nonexistent-dir-xyz does not exist"),
])
def test_distill_bad_options(data, capsys, option, fragment):
    status, _, err = run(["distill", "--train", data["reg"], "--target", "y", *TEACHER,
                          *option], capsys)
    assert_one_error_line(status, err, fragment)


def test_distill_without_target(data, capsys):
    status, _, err = run(["distill", "--train", data["reg"], *TEACHER], capsys)
    assert_one_error_line(status, err, "give the target column with --target",
                          "columns are: a, b, c, y")


def test_unlabeled_file_with_other_columns(data, capsys, tmp_path):
    path = write_csv(tmp_path / "u.csv", ["a", "b", "d"], [[1, 2, 3]])
    status, _, err = run(["distill", "--train", data["reg"], "--target", "y", *TEACHER,
                          "--unlabeled", path], capsys)
    assert_one_error_line(status, err, f"column 'c' not found in {path}")


def test_predict_bad_inputs(data, reg_model, capsys, tmp_path):
    status, _, err = run(["predict", "--model", str(tmp_path / "none.npz"), data["reg"]],
                         capsys)
    assert_one_error_line(status, err, "No saved fastdistill model at")
    status, _, err = run(["predict", "--model", data["reg"], data["reg"]], capsys)
    assert_one_error_line(status, err, f"{data['reg']} is not a model saved by fastdistill")
    path = write_csv(tmp_path / "d.csv", ["a", "b", "z"], [[1, 2, 3]])
    status, _, err = run(["predict", "--model", reg_model, path], capsys)
    assert_one_error_line(status, err, f"column 'c' not found in {path}; the model was "
                                       f"trained on columns: a, b, c")
    path = write_csv(tmp_path / "e.csv", ["a", "b", "c", "w"], [[1, 2, 3, 4]])
    status, _, err = run(["predict", "--model", reg_model, path], capsys)
    assert_one_error_line(status, err, "has column(s) the model was not trained on: w")
    status, _, err = run(["predict", "--model", reg_model, data["reg"], "--proba"], capsys)
    assert_one_error_line(status, err, "--proba needs a classification model")
    np.save(tmp_path / "x.npy", np.ones((3, 5)))
    status, _, err = run(["predict", "--model", reg_model, str(tmp_path / "x.npy")], capsys)
    assert_one_error_line(status, err, "has 5 feature columns but the model expects 3")


def test_report_bad_inputs(data, reg_model, capsys, tmp_path):
    ridge = fastdistill.Ridge().fit(data["X"], data["y"])
    path = str(tmp_path / "ridge.npz")
    ridge.save(path)
    status, _, err = run(["report", "--model", path, "--data", data["reg"]], capsys)
    assert_one_error_line(status, err, "holds a Ridge; report needs a distiller")
    status, _, err = run(["report", "--model", reg_model, "--data", data["reg"], "--target",
                          "nope"], capsys)
    assert_one_error_line(status, err, "column 'nope' not found")


def test_distill_in_the_teacher_metric(data, capsys, tmp_path):
    path = str(tmp_path / "m.npz")
    status, out, _ = run(["distill", "--train", data["reg"], "--target", "y", *TEACHER,
                          "--features", "kmeans:8", "--metric", "teacher", "--out", path],
                         capsys)
    assert status == 0 and "fidelity R2" in out
    model = fastdistill.load(path)
    assert isinstance(model.metric_, fastdistill.TeacherMetric)
    # every one of the 160 rows probed along each of the 3 features, both ways
    assert model.n_teacher_queries_ == model.n_transfer_ + 2 * 3 * 160
    with pytest.raises(SystemExit) as exc:  # argparse's usage error, exit code 2
        main(["distill", "--train", data["reg"], "--target", "y", "--metric", "euclid"])
    assert exc.value.code == 2
    assert "invalid choice: 'euclid'" in capsys.readouterr().err
