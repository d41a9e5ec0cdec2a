"""The ``ltr`` command line: in-process through ``main([...])`` and as ``python -m ltr`` subprocesses.

Every command's output is checked against the Python API on the same data;
every bad input must give exit status 1 or 2 and exactly one line on stderr
(``ltr: error: ...``), never a traceback.
"""
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ltr import LambdaRanker
from ltr.cli import UsageError, cast_value, main, parse_set_options
from ltr.metrics import map_score, mrr_score, ndcg_score

REPO_ROOT = Path(__file__).resolve().parents[1]
KNOWN = sorted(LambdaRanker().get_params())


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def ranking_data(n_queries=20, docs=10, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    n = n_queries * docs
    X = np.round(rng.normal(size=(n, n_features)), 4)
    y = np.clip(np.round(X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=n)), 0, 3)
    qid = np.repeat(np.arange(1, n_queries + 1), docs)
    return X, y, qid


def write_svmlight(path, X, y, qid):
    with open(path, "w") as fh:
        for row, label, q in zip(X, y, qid):
            feats = " ".join(f"{j + 1}:{v!r}" for j, v in enumerate(row.tolist()))
            fh.write(f"{int(label)} qid:{q} {feats}\n")
    return str(path)


@pytest.fixture()
def files(tmp_path):
    train = write_svmlight(tmp_path / "train.txt", *ranking_data())
    valid = write_svmlight(tmp_path / "valid.txt", *ranking_data(n_queries=10, seed=1))
    test = write_svmlight(tmp_path / "test.txt", *ranking_data(n_queries=10, seed=2))
    return tmp_path, train, valid, test


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, expected_code, *needles):
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith("ltr: error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]


def fit_model(capsys, tmp_path, train, *extra):
    model = str(tmp_path / "model.json")
    code, out, err = run(capsys, "fit", train, "--set", "n_estimators=8", "num_leaves=5", "min_child_samples=5",
                         "-o", model, "-q", *extra)
    assert code == 0, err
    return model


# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("63", 63), ("0.05", 0.05), ("1e-3", 1e-3), ("true", True), ("False", False), ("none", None), ("", None),
    ("1,3,10", [1, 3, 10]), ("[1, 3, 10]", [1, 3, 10]), ('{"permutations": 20}', {"permutations": 20}),
    ("lambdamart", "lambdamart"), ("-1", -1),
])
def test_cast_value(text, value):
    got = cast_value(text)
    assert got == value and type(got) is type(value)


def test_parse_set_options():
    params = parse_set_options(["num_leaves=63", "eval_at=1,3,10", "objective_params.permutations=20",
                                "label_gain=[0, 1, 3]"], KNOWN)
    assert params == {"num_leaves": 63, "eval_at": (1, 3, 10), "objective_params": {"permutations": 20},
                      "label_gain": [0, 1, 3]}
    LambdaRanker(**{k: v for k, v in params.items() if k != "objective_params"})._validate_params()


@pytest.mark.parametrize("item, message", [
    ("num_leafs=3", "did you mean 'num_leaves'"),
    ("min_data_in_leaf=3", "did you mean 'min_child_samples' (LightGBM's min_data_in_leaf)"),
    ("zzz=1", "known parameters: colsample_bytree"),
    ("num_leaves", "expects KEY=VALUE"),
    ("eval_at=[1,", "JSON"),
])
def test_parse_set_options_errors(item, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        parse_set_options([item], KNOWN)


# ---------------------------------------------------------------------------
# ltr fit
# ---------------------------------------------------------------------------
def test_sample_validation_split_keeps_queries_whole():
    from ltr.cli import Data, _split_queries

    X, y, qid = ranking_data(n_queries=20)
    fit, valid = _split_queries(Data("x", X, y, qid), every=5)
    assert sorted(np.unique(valid.qid)) == [5, 10, 15, 20]
    assert not set(fit.qid) & set(valid.qid)
    assert fit.X.shape[0] + valid.X.shape[0] == X.shape[0]
    np.testing.assert_array_equal(valid.X, X[np.isin(qid, [5, 10, 15, 20])])


def test_fit_on_the_bundled_sample_prints_test_ndcg_and_writes_nothing(capsys, tmp_path, monkeypatch):
    from ltr.datasets import load_sample

    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "fit", "--set", "n_estimators=5", "--quiet")
    assert code == 0, err
    assert err == ""
    assert list(tmp_path.iterdir()) == []  # no model written without -o
    (X, y, qid), (Xt, yt, qt) = load_sample(dtype=np.float64)
    est = LambdaRanker(n_estimators=5, random_state=0).fit(X, y, qid=qid)
    expected = ndcg_score(yt, est.predict(Xt), qid=qt, k=10)
    assert out == f"test NDCG@10 {expected:.4f}\n"


def test_fit_writes_a_model_equal_to_the_api(capsys, files):
    from ltr.datasets import load_svmlight

    tmp_path, train, valid, test = files
    model = str(tmp_path / "model.json")
    code, out, err = run(capsys, "fit", train, "--valid", valid, "--test", test, "--set", "n_estimators=30",
                         "num_leaves=5", "min_child_samples=5", "early_stopping_rounds=3", "eval_at=3,10",
                         "-o", model)
    assert code == 0, err
    X, y, qid = load_svmlight(train, dtype=np.float64)
    Xv, yv, qv = load_svmlight(valid, dtype=np.float64)
    Xt, yt, qt = load_svmlight(test, dtype=np.float64)
    est = LambdaRanker(n_estimators=30, num_leaves=5, min_child_samples=5, early_stopping_rounds=3,
                       eval_at=(3, 10), random_state=0)
    est.fit(X, y, qid=qid, eval_set=[(Xv, yv)], eval_qid=[qv])
    loaded = LambdaRanker.load_model(model)
    np.testing.assert_array_equal(loaded.predict(Xt), est.predict(Xt))
    assert loaded.best_iteration_ == est.best_iteration_
    assert loaded.get_params() == est.get_params()
    scores = est.predict(Xt)
    valid_line, test_line = out.splitlines()
    assert test_line == (f"test NDCG@3 {ndcg_score(yt, scores, qid=qt, k=3):.4f}  "
                         f"NDCG@10 {ndcg_score(yt, scores, qid=qt, k=10):.4f}")
    assert valid_line.startswith("valid NDCG@3 ")
    # notes and progress go to stderr, as plain lines when stderr is not a terminal
    assert "[ltr] tree 1/30" in err and f"[ltr] wrote model {model}" in err
    assert "early stopping: best iteration" in err
    assert "\r" not in err


def test_progress_bar_on_a_terminal(capsys, files, monkeypatch):
    tmp_path, train, valid, _ = files

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    code = main(["fit", train, "--valid", valid, "--set", "n_estimators=6", "num_leaves=4", "min_child_samples=5"])
    assert code == 0
    text = term.getvalue()
    assert "\r[" in text and "] 6/6" in text and "#" in text and "ndcg@10" in text
    assert text.endswith("\n")
    assert "[ltr] tree" not in text  # no log lines on a terminal


def test_quiet_prints_only_results(capsys, files):
    tmp_path, train, _, test = files
    code, out, err = run(capsys, "fit", train, "--test", test, "--set", "n_estimators=3", "-q",
                         "-o", str(tmp_path / "m.json"))
    assert code == 0 and err == ""
    assert out.startswith("test NDCG@10 ")


def test_config_file_and_command_line_precedence(capsys, files):
    tmp_path, train, _, _ = files
    config = tmp_path / "params.toml"
    config.write_text('n_estimators = 4\nnum_leaves = 6\nlearning_rate = 0.2\neval_at = [1, 5]\n'
                      'objective = "lambdamart"\n[objective_params]\nsigmoid = 2.0\n')
    model = fit_model(capsys, tmp_path, train, "--config", str(config), "--set", "num_leaves=3")
    params = LambdaRanker.load_model(model).get_params()
    # --set (given after the config) wins for num_leaves; the config fills the rest
    assert params["num_leaves"] == 3 and params["learning_rate"] == 0.2 and params["eval_at"] == (1, 5)
    assert params["objective_params"] == {"sigmoid": 2.0}
    assert params["n_estimators"] == 8  # fit_model's --set n_estimators=8


def test_objective_option(capsys, files):
    tmp_path, train, _, _ = files
    model = fit_model(capsys, tmp_path, train, "--objective", "regression")
    assert LambdaRanker.load_model(model).objective_.name == "regression"


def test_npz_and_parquet_inputs(capsys, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    X, y, qid = ranking_data()
    np.savez(tmp_path / "train.npz", X=X, y=y, qid=qid)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).assign(label=y, qid=qid)
    frame.to_parquet(tmp_path / "train.parquet")
    expected = LambdaRanker(n_estimators=3, random_state=0).fit(X, y, qid=qid).predict(X)
    for name, rows in (("train.npz", X), ("train.parquet", frame.iloc[:, :5])):
        model = str(tmp_path / f"{name}.json")
        code, out, err = run(capsys, "fit", str(tmp_path / name), "--set", "n_estimators=3", "-q", "-o", model)
        assert code == 0, err
        np.testing.assert_array_equal(LambdaRanker.load_model(model).predict(rows), expected)
    # the Parquet model keeps the column names; predicting selects columns by name
    assert LambdaRanker.load_model(str(tmp_path / "train.parquet.json")).booster_.feature_names == \
        [f"f{i}" for i in range(5)]
    shuffled = frame[["qid", "f4", "f3", "label", "f2", "f1", "f0"]]
    shuffled.to_parquet(tmp_path / "shuffled.parquet")
    out_path = tmp_path / "scores.txt"
    code, _, err = run(capsys, "predict", str(tmp_path / "train.parquet.json"), str(tmp_path / "shuffled.parquet"),
                       "-o", str(out_path))
    assert code == 0, err
    np.testing.assert_array_equal(np.loadtxt(out_path), expected)


# ---------------------------------------------------------------------------
# predict, evaluate, info, export
# ---------------------------------------------------------------------------
def test_predict_text_npy_and_stdout(capsys, files):
    from ltr.datasets import load_svmlight

    tmp_path, train, _, test = files
    model = fit_model(capsys, tmp_path, train)
    Xt, _, _ = load_svmlight(test, dtype=np.float64)
    expected = LambdaRanker.load_model(model).predict(Xt)
    code, _, err = run(capsys, "predict", model, test, "-o", str(tmp_path / "s.txt"))
    assert code == 0, err
    lines = (tmp_path / "s.txt").read_text().splitlines()
    assert [float(s) for s in lines] == expected.tolist()  # round-trip exact text
    code, _, _ = run(capsys, "predict", model, test, "-o", str(tmp_path / "s.npy"))
    assert code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), expected)
    code, out, _ = run(capsys, "predict", model, test, "-o", "-")
    assert [float(s) for s in out.split()] == expected.tolist()


def test_predict_pads_files_with_fewer_features(capsys, files):
    tmp_path, train, _, _ = files
    model = fit_model(capsys, tmp_path, train)
    short = tmp_path / "short.txt"
    short.write_text("1 qid:1 1:0.5 2:-1\n0 qid:1 1:-0.5\n")
    code, _, err = run(capsys, "predict", model, str(short), "-o", str(tmp_path / "s.txt"))
    assert code == 0, err
    X = np.array([[0.5, -1, 0, 0, 0], [-0.5, 0, 0, 0, 0]])
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "s.txt"), LambdaRanker.load_model(model).predict(X))


def test_evaluate_table_and_json(capsys, files):
    from ltr.datasets import load_svmlight

    tmp_path, train, _, test = files
    model = fit_model(capsys, tmp_path, train)
    Xt, yt, qt = load_svmlight(test, dtype=np.float64)
    s = LambdaRanker.load_model(model).predict(Xt)
    code, out, err = run(capsys, "evaluate", model, test, "--metric", "ndcg@10", "map", "mrr")
    assert code == 0, err
    table = dict(line.split() for line in out.splitlines()[2:])
    assert float(table["ndcg@10"]) == pytest.approx(ndcg_score(yt, s, qid=qt, k=10), abs=5e-7)
    assert float(table["map"]) == pytest.approx(map_score(yt, s, qid=qt), abs=5e-7)
    assert float(table["mrr"]) == pytest.approx(mrr_score(yt, s, qid=qt), abs=5e-7)
    assert out.splitlines()[0].endswith(f"{len(yt)} rows, 10 queries")
    code, out, _ = run(capsys, "evaluate", model, test, "--metric", "ndcg@5", "--json")
    got = json.loads(out)
    assert got["n_queries"] == 10
    assert got["metrics"]["ndcg@5"] == ndcg_score(yt, s, qid=qt, k=5)


def test_info(capsys, files):
    tmp_path, train, valid, _ = files
    model = fit_model(capsys, tmp_path, train, "--valid", valid, "--set", "early_stopping_rounds=2",
                      "n_estimators=30")
    est = LambdaRanker.load_model(model)
    code, out, err = run(capsys, "info", model)
    assert code == 0, err
    assert "ltr-model version 1" in out and "lambdamart" in out
    assert f"trees            {est.booster_.n_trees}" in out
    assert f"best iteration   {est.best_iteration_}" in out
    code, out, _ = run(capsys, "info", model, "--json")
    info = json.loads(out)
    assert info["n_trees"] == est.booster_.n_trees and info["best_iteration"] == est.best_iteration_
    assert info["n_features"] == 5 and info["params"]["num_leaves"] == 5 and info["format_version"] == 1


def test_export_to_lightgbm(capsys, files):
    lgb = pytest.importorskip("lightgbm")
    from ltr.datasets import load_svmlight

    tmp_path, train, _, test = files
    model = fit_model(capsys, tmp_path, train)
    out_path = str(tmp_path / "model.txt")
    code, _, err = run(capsys, "export", model, "-o", out_path)
    assert code == 0, err
    Xt, _, _ = load_svmlight(test, dtype=np.float64)
    np.testing.assert_array_equal(lgb.Booster(model_file=out_path).predict(Xt, raw_score=True),
                                  LambdaRanker.load_model(model).predict(Xt))


# ---------------------------------------------------------------------------
# bad input: one line, non-zero exit, no traceback, nothing overwritten
# ---------------------------------------------------------------------------
def test_missing_data_file(capsys, tmp_path):
    code, _, err = run(capsys, "fit", str(tmp_path / "nope.txt"))
    assert_one_line_error(code, err, 1, "nope.txt", "does not exist")


def test_malformed_data_line(capsys, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 qid:1 1:0.5 2:0.1\n0 qid:1 1:abc 2:0.3\n")
    code, _, err = run(capsys, "fit", str(bad))
    assert_one_line_error(code, err, 1, "bad.txt", "line 2")


@pytest.mark.parametrize("argv, code, needles", [
    (["--set", "num_leafs=3"], 2, ["unknown parameter 'num_leafs'", "did you mean 'num_leaves'"]),
    (["--set", "num_leaves=abc"], 2, ["num_leaves", "'abc'"]),
    (["--set", "learning_rate=-1"], 2, ["learning_rate"]),
    (["--set", "num_leaves"], 2, ["KEY=VALUE"]),
    (["--objective", "nope"], 2, ["objective", "nope"]),
    (["--set", "early_stopping_rounds=5", "TRAIN"], 2, ["--valid"]),  # TRAIN after --set is still TRAIN
    (["--set", "n_estimators=5", "TRAIN", "num_leaves=3"], 2, ["--set expects KEY=VALUE", "train.txt"]),
    (["--valid", "VALID"], 2, ["--valid needs a TRAIN file"]),
    (["--test", "VALID"], 2, ["--test needs a TRAIN file"]),
    (["--bogus"], 2, ["unrecognized arguments: --bogus"]),
])
def test_bad_fit_arguments(capsys, files, argv, code, needles):
    tmp_path, train, valid, _ = files
    argv = [train if a == "TRAIN" else valid if a == "VALID" else a for a in argv]
    got, out, err = run(capsys, "fit", *argv)
    assert_one_line_error(got, err, code, *needles)
    assert out == ""


def test_bad_config_files(capsys, files):
    tmp_path, train, _, _ = files
    bad = tmp_path / "bad.toml"
    bad.write_text("num_leaves = \n")
    code, _, err = run(capsys, "fit", train, "--config", str(bad))
    assert_one_line_error(code, err, 1, "bad.toml", "not valid TOML")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("num_leaf = 3\n")
    code, _, err = run(capsys, "fit", train, "--config", str(unknown))
    assert_one_line_error(code, err, 2, "unknown parameter 'num_leaf'", "unknown.toml", "num_leaves")


def test_training_file_without_query_ids(capsys, tmp_path):
    path = tmp_path / "noqid.txt"
    path.write_text("1 1:0.5 2:0.1\n0 1:0.2 2:0.3\n")
    code, _, err = run(capsys, "fit", str(path))
    assert_one_line_error(code, err, 1, "no query ids")


def test_output_exists_without_force(capsys, files):
    tmp_path, train, _, test = files
    model = fit_model(capsys, tmp_path, train)
    before = Path(model).read_bytes()
    code, _, err = run(capsys, "fit", train, "--set", "n_estimators=2", "-o", model, "-q")
    assert_one_line_error(code, err, 1, "model.json exists", "--force")
    assert Path(model).read_bytes() == before
    scores = tmp_path / "scores.txt"
    scores.write_text("keep me\n")
    for argv in (["predict", model, test, "-o", str(scores)], ["export", model, "-o", str(scores)]):
        code, _, err = run(capsys, *argv)
        assert_one_line_error(code, err, 1, "exists", "--force")
        assert scores.read_text() == "keep me\n"
    code, _, err = run(capsys, "predict", model, test, "-o", str(scores), "--force")
    assert code == 0, err
    assert scores.read_text() != "keep me\n"
    code, _, err = run(capsys, "fit", train, "--set", "n_estimators=2", "-o", model, "-q", "--force")
    assert code == 0 and Path(model).read_bytes() != before


def test_corrupted_model_files(capsys, files):
    tmp_path, train, _, test = files
    model = fit_model(capsys, tmp_path, train)
    text = Path(model).read_text()
    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[: len(text) // 2])
    newer = tmp_path / "newer.json"
    newer.write_text(text.replace('"format_version":1', '"format_version":7'))
    garbage = tmp_path / "garbage.json"
    garbage.write_bytes(os.urandom(64) + b"\xff\xfe")
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    cases = [(truncated, "truncated or corrupted"), (newer, "newer"), (garbage, "not UTF-8"), (empty, "empty"),
             (tmp_path / "none.json", "does not exist")]
    for path, needle in cases:
        for argv in (["info", str(path)], ["predict", str(path), test, "-o", "-"],
                     ["evaluate", str(path), test], ["export", str(path), "-o", str(tmp_path / "x.txt")]):
            code, out, err = run(capsys, *argv)
            assert_one_line_error(code, err, 1, needle)
            assert out == ""
    assert not (tmp_path / "x.txt").exists()


def test_bad_evaluate_and_predict_inputs(capsys, files):
    tmp_path, train, _, test = files
    model = fit_model(capsys, tmp_path, train)
    code, _, err = run(capsys, "evaluate", model, test, "--metric", "ndgc@10")
    assert_one_line_error(code, err, 2, "unknown metric 'ndgc@10'")
    wide = tmp_path / "wide.txt"
    wide.write_text("1 qid:1 1:0.5 9:0.1\n")
    code, _, err = run(capsys, "predict", model, str(wide), "-o", "-")
    assert_one_line_error(code, err, 1, "9 features", "expecting 5")
    noqid = tmp_path / "noqid.txt"
    noqid.write_text("1 1:0.5\n0 1:0.1\n")
    code, _, err = run(capsys, "evaluate", model, str(noqid))
    assert_one_line_error(code, err, 1, "no query ids")
    code, _, err = run(capsys, "predict", model, test, "-o", str(tmp_path / "missing-dir" / "s.txt"))
    assert_one_line_error(code, err, 1, "does not exist")


def test_data_file_errors_come_from_the_validation_layer(capsys, files):
    # The command line reads files, then checks what it read with ltr._validation:
    # the same rule and wording as the Python API, with the file named.
    tmp_path, train, _, test = files
    X, y, qid = ranking_data(n_queries=4)
    cases = {
        "nan_qid.npz": (dict(X=X, y=y, qid=np.where(np.arange(len(y)) == 3, np.nan, qid)),
                        ["nan_qid.npz: qid contains NaN or infinite values"]),
        "short_y.npz": (dict(X=X, y=y[:-1], qid=qid), ["short_y.npz: labels has 39 entries but", "one label per row"]),
        "text_y.npz": (dict(X=X, y=np.array(["a"] * len(y)), qid=qid), ["text_y.npz: labels must hold numbers"]),
        "short_qid.npz": (dict(X=X, y=y, qid=qid[:5]), ["short_qid.npz: qid has 5 entries", "one query id per row"]),
        "nan_y.npz": (dict(X=X, y=np.where(np.arange(len(y)) == 2, np.nan, y), qid=qid),
                      ["TRAIN file", "nan_y.npz: labels contains NaN or infinite values (row 2)"]),
        "empty.npz": (dict(X=np.empty((0, 5)), y=np.empty(0), qid=np.empty(0)), ["X has 0 rows"]),
        "flat.npz": (dict(X=np.arange(5.0), y=y[:5], qid=qid[:5]), ["flat.npz: X must be 2-dimensional"]),
    }
    for name, (arrays, needles) in cases.items():
        np.savez(tmp_path / name, **arrays)
        code, out, err = run(capsys, "fit", str(tmp_path / name), "-q")
        assert_one_line_error(code, err, 1, *needles)
        assert out == ""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).assign(label=y, qid=qid)
    frame.assign(city=["paris", "oslo"] * (len(y) // 2)).to_parquet(tmp_path / "text.parquet")
    code, _, err = run(capsys, "fit", str(tmp_path / "text.parquet"), "-q")
    assert_one_line_error(code, err, 1, "text.parquet has non-numeric column(s) 'city'", "encode categories")
    frame.assign(qid=[None] + [f"q{v}" for v in qid[1:]]).to_parquet(tmp_path / "qid.parquet")
    code, _, err = run(capsys, "fit", str(tmp_path / "qid.parquet"), "-q")
    assert_one_line_error(code, err, 1, "qid.parquet: 'qid' contains missing values")
    # a model path that is a folder: the model-file rule of read_model_json
    code, _, err = run(capsys, "info", str(tmp_path))
    assert_one_line_error(code, err, 1, "is a directory, not an ltr model file")


def test_debug_shows_the_traceback(capsys, tmp_path):
    code, _, err = run(capsys, "fit", str(tmp_path / "nope.txt"), "--debug")
    assert code == 1
    assert "Traceback" in err and err.strip().endswith("does not exist")


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("ltr ")
    code, out, _ = run(capsys, "fit", "--help")
    assert code == 0 and "--set KEY=VALUE" in out and "early_stopping_rounds" in out
    code, _, err = run(capsys)
    assert code == 2 and "COMMAND" in err


# ---------------------------------------------------------------------------
# as a program
# ---------------------------------------------------------------------------
def run_module(*argv, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "ltr", *argv], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


@pytest.mark.slow
def test_subprocess_fit_and_a_bad_model(tmp_path):
    model = tmp_path / "m.json"
    done = run_module("fit", "--set", "n_estimators=3", "-o", str(model), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("test NDCG@10 0.")
    assert "[ltr] tree 3/3" in done.stderr  # a pipe is not a terminal: plain lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]

    assert LambdaRanker.load_model(model).booster_.n_trees == 3

    broken = tmp_path / "broken.json"
    broken.write_text(model.read_text()[:100])
    done = run_module("predict", str(broken), str(tmp_path / "x.txt"), "-o", "-", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_click_objectives_read_positions(capsys, tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    X, y, qid = ranking_data()
    position = np.tile(np.arange(1, 11), 20)
    clicks = (y > 1).astype(float)
    np.savez(tmp_path / "clicks.npz", X=X, y=clicks, qid=qid, position=position)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)]).assign(label=clicks, qid=qid, position=position)
    frame.to_parquet(tmp_path / "clicks.parquet")
    expected = LambdaRanker("dla", n_estimators=3, random_state=0).fit(X, clicks, qid=qid, position=position)
    for name in ("clicks.npz", "clicks.parquet"):
        model = str(tmp_path / f"{name}.json")
        code, _, err = run(capsys, "fit", str(tmp_path / name), "--objective", "dla", "--set", "n_estimators=3",
                           "-q", "-o", model)
        assert code == 0, err
        loaded = LambdaRanker.load_model(model)
        assert loaded.booster_.n_features == 5  # position is not a feature
        assert loaded.objective_.state()["propensity"] == expected.objective_.state()["propensity"]
    # svmlight has no positions: a one-line error from the objective
    train = write_svmlight(tmp_path / "train.txt", X, clicks, qid)
    code, _, err = run(capsys, "fit", train, "--objective", "dla")
    assert_one_line_error(code, err, 1, "needs the display positions")
