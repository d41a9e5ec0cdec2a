"""Model files: LightGBM text export (ltr.export) and the ltr JSON format (save/load, damaged files).

The export is checked against LightGBM itself: the file must load with
``lightgbm.Booster(model_file=...)`` and ``predict(X, raw_score=True)`` must
return our scores. The JSON tests damage real model files in every way we
could think of and require a clear ModelFormatError, never a silent load.
"""
import json
import os
import pickle

import numpy as np
import pytest

from ltr import LambdaRanker
from ltr.booster import Booster, ModelFormatError
from ltr.export import LIGHTGBM_MAX_THRESHOLD, save_lightgbm_model, to_lightgbm_text

lgb = pytest.importorskip("lightgbm")

FAST = dict(n_estimators=15, num_leaves=7, min_child_samples=5, random_state=0)


def ranking_data(n_queries=30, docs=12, n_features=5, nan_rate=0.1, seed=0):
    rng = np.random.default_rng(seed)
    n = n_queries * docs
    X = rng.normal(size=(n, n_features))
    y = np.clip(np.round(X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.5, size=n)), 0, 3)
    X[rng.random(X.shape) < nan_rate] = np.nan
    qid = np.repeat(np.arange(n_queries), docs)
    return X, y, qid


def lightgbm_scores(text, X):
    return lgb.Booster(model_str=text).predict(X, raw_score=True)


def test_header_and_tree_sizes_match_lightgbm_layout():
    X, y, qid = ranking_data()
    est = LambdaRanker(**FAST).fit(X, y, qid=qid)
    text = to_lightgbm_text(est)
    header, rest = text.split("\n\n", 1)
    fields = dict(line.split("=", 1) for line in header.splitlines()[1:])
    assert header.splitlines()[0] == "tree"
    assert fields["version"] == "v4"
    assert fields["max_feature_idx"] == "4"
    assert fields["objective"] == "lambdarank"
    # tree_sizes are the byte lengths of the Tree= blocks (LightGBM seeks with them)
    sizes = [int(s) for s in fields["tree_sizes"].split()]
    assert len(sizes) == est.booster_.n_trees
    pos = 0
    for k, size in enumerate(sizes):
        block = rest[pos:pos + size]
        assert block.startswith(f"Tree={k}\n") and block.endswith("\n\n\n")
        pos += size
    assert rest[pos:].startswith("end of trees")
    # LightGBM reads the same structure back
    dumped = lgb.Booster(model_str=text).dump_model()
    assert len(dumped["tree_info"]) == est.booster_.n_trees
    assert [t["num_leaves"] for t in dumped["tree_info"]] == [t.n_leaves for t in est.booster_.trees]


def test_random_data_with_nans_matches_lightgbm_exactly():
    X, y, qid = ranking_data(nan_rate=0.2)
    est = LambdaRanker(**FAST).fit(X, y, qid=qid)
    Xt, _, _ = ranking_data(seed=1, nan_rate=0.3)
    Xt[:5] = np.nan  # rows made only of missing values
    ours = est.predict(Xt)
    theirs = lightgbm_scores(to_lightgbm_text(est), Xt)
    np.testing.assert_array_equal(theirs, ours)
    # both missing directions occur, so the decision_type mapping is exercised
    missing_left = np.concatenate([t.missing_left for t in est.booster_.trees])
    assert 0 < missing_left.sum() < missing_left.size


def test_decision_type_encodes_missing_direction():
    X, y, qid = ranking_data(nan_rate=0.2)
    est = LambdaRanker(**FAST).fit(X, y, qid=qid)
    dumped = lgb.Booster(model_str=to_lightgbm_text(est)).dump_model()
    root = dumped["tree_info"][0]["tree_structure"]
    tree = est.booster_.trees[0]
    assert root["missing_type"] == "NaN"
    assert root["default_left"] == bool(tree.missing_left[0])
    assert root["split_feature"] == tree.split_feature[0]
    assert root["threshold"] == tree.threshold[0]


def test_infinite_threshold_split_missing_against_present():
    # Feature 0 is missing for the relevant half and constant otherwise: the only
    # useful split is "present left, missing right", whose raw threshold is +inf.
    rng = np.random.default_rng(3)
    n = 400
    X = np.zeros((n, 2))
    X[:, 1] = rng.normal(size=n) * 1e-3
    relevant = rng.random(n) < 0.5
    X[relevant, 0] = np.nan
    y = relevant.astype(float) * 2
    qid = np.repeat(np.arange(n // 10), 10)
    est = LambdaRanker(n_estimators=3, num_leaves=2, min_child_samples=5, random_state=0).fit(X, y, qid=qid)
    thresholds = np.concatenate([t.threshold for t in est.booster_.trees])
    assert np.isinf(thresholds).any()
    text = to_lightgbm_text(est)
    assert "inf" not in text.split("end of trees")[0].lower().replace("feature_infos", "")
    Xt = np.array([[0.0, 0.0], [np.nan, 0.0], [1e300, 0.0], [-1e300, 0.0], [5.0, np.nan]])
    np.testing.assert_array_equal(lightgbm_scores(text, Xt), est.predict(Xt))
    assert LIGHTGBM_MAX_THRESHOLD == 1e300


def test_init_score_is_folded_into_first_tree():
    # regression starts from the label mean: a non-zero init_score
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = 5.0 + np.nan_to_num(X[:, 0]) + rng.normal(scale=0.1, size=300)
    est = LambdaRanker("regression", **FAST).fit(X, y)
    assert abs(est.booster_.init_score) > 1
    text = to_lightgbm_text(est)
    assert "objective=regression" in text
    np.testing.assert_array_equal(lightgbm_scores(text, X), est.predict(X))


def test_single_leaf_trees_and_a_model_without_trees():
    X, y, qid = ranking_data()
    # min_child_samples above the row count: no split is possible, every tree is one leaf
    est = LambdaRanker("regression", n_estimators=4, min_child_samples=10_000, random_state=0).fit(X, y)
    assert all(t.n_leaves == 1 for t in est.booster_.trees)
    text = to_lightgbm_text(est)
    np.testing.assert_array_equal(lightgbm_scores(text, X), est.predict(X))

    empty = Booster.from_dict(est.booster_.to_dict())
    empty.truncate(0)
    text = to_lightgbm_text(empty)
    np.testing.assert_array_equal(lightgbm_scores(text, X), np.full(X.shape[0], empty.init_score))


def test_binary_objective_probabilities_match_lightgbm_predict():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + rng.normal(scale=0.5, size=400) > 0).astype(float)
    est = LambdaRanker("binary", **FAST).fit(X, y)
    text = to_lightgbm_text(est)
    assert "objective=binary sigmoid:1" in text
    booster = lgb.Booster(model_str=text)
    np.testing.assert_array_equal(booster.predict(X, raw_score=True), est.predict(X))
    np.testing.assert_allclose(booster.predict(X), est.predict_proba(X), rtol=0, atol=1e-15)


def test_num_iteration_and_best_iteration():
    X, y, qid = ranking_data(n_queries=40)
    Xv, yv, qv = ranking_data(n_queries=20, seed=5)
    est = LambdaRanker(n_estimators=40, num_leaves=7, min_child_samples=5, random_state=0,
                       early_stopping_rounds=3).fit(X, y, qid=qid, eval_set=[(Xv, yv)], eval_qid=[qv])
    assert est.best_iteration_ is not None and est.best_iteration_ < est.booster_.n_trees
    text = to_lightgbm_text(est)  # default: what predict uses
    assert lgb.Booster(model_str=text).num_trees() == est.best_iteration_
    np.testing.assert_array_equal(lightgbm_scores(text, Xv), est.predict(Xv))
    full = to_lightgbm_text(est.booster_, num_iteration=0)  # 0: every tree
    assert lgb.Booster(model_str=full).num_trees() == est.booster_.n_trees
    np.testing.assert_array_equal(lightgbm_scores(full, Xv), est.booster_.predict(Xv))
    three = to_lightgbm_text(est, num_iteration=3)
    np.testing.assert_array_equal(lightgbm_scores(three, Xv), est.predict(Xv, num_iteration=3))
    with pytest.raises(ValueError, match="num_iteration"):
        to_lightgbm_text(est, num_iteration=-1)


def test_lightgbm_shap_values_add_up():
    # TreeSHAP in LightGBM uses the counts we write: contributions + bias = score
    X, y, qid = ranking_data()
    est = LambdaRanker(**FAST).fit(X, y, qid=qid)
    booster = lgb.Booster(model_str=to_lightgbm_text(est))
    contrib = booster.predict(X, pred_contrib=True)
    np.testing.assert_allclose(contrib.sum(axis=1), est.predict(X), rtol=0, atol=1e-9)


def test_feature_names_are_made_acceptable_to_lightgbm():
    pd = pytest.importorskip("pandas")
    X, y, qid = ranking_data(n_features=3)
    frame = pd.DataFrame(X, columns=["bm25 title", "page:rank", "clicks"])
    est = LambdaRanker(**FAST).fit(frame, y, qid=qid)
    booster = lgb.Booster(model_str=to_lightgbm_text(est))
    assert booster.feature_name() == ["bm25_title", "page_rank", "clicks"]
    # names that collide after cleaning fall back to LightGBM's defaults
    frame2 = pd.DataFrame(X, columns=["a b", "a:b", "c"])
    est2 = LambdaRanker(**FAST).fit(frame2, y, qid=qid)
    assert lgb.Booster(model_str=to_lightgbm_text(est2)).feature_name() == ["Column_0", "Column_1", "Column_2"]


def test_save_lightgbm_model_refuses_to_overwrite(tmp_path):
    X, y, qid = ranking_data()
    est = LambdaRanker(**FAST).fit(X, y, qid=qid)
    path = tmp_path / "model.txt"
    save_lightgbm_model(est, path)
    np.testing.assert_array_equal(lgb.Booster(model_file=str(path)).predict(X, raw_score=True), est.predict(X))
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_lightgbm_model(est, path)
    assert path.read_bytes() == before
    save_lightgbm_model(est.booster_, path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.txt"]  # no temporary file left


def test_export_rejects_unfitted_and_foreign_objects():
    with pytest.raises(ValueError, match="not fitted"):
        to_lightgbm_text(LambdaRanker())
    with pytest.raises(TypeError, match="LambdaRanker"):
        to_lightgbm_text(object())


@pytest.mark.slow
def test_mq2008_export_matches_lightgbm(shared_datasets):
    """Acceptance: train on MQ2008 S1-S3 (NaNs injected), predict S5 with LightGBM from the export."""
    from sklearn.datasets import load_svmlight_file

    folder = shared_datasets / "mq2008"
    parts = [load_svmlight_file(str(folder / f"S{i}.txt"), query_id=True, n_features=46) for i in (1, 2, 3, 4, 5)]
    X = np.vstack([p[0].toarray() for p in parts[:3]])
    y = np.concatenate([p[1] for p in parts[:3]])
    qid = np.concatenate([p[2] for p in parts[:3]])
    Xv, yv, qv = parts[3][0].toarray(), parts[3][1], parts[3][2]
    Xt = parts[4][0].toarray()
    rng = np.random.default_rng(0)
    X[rng.random(X.shape) < 0.05] = np.nan
    Xt[rng.random(Xt.shape) < 0.05] = np.nan
    est = LambdaRanker(n_estimators=40, learning_rate=0.1, random_state=0, early_stopping_rounds=10)
    est.fit(X, y, qid=qid, eval_set=[(Xv, yv)], eval_qid=[qv])
    ours = est.predict(Xt)
    theirs = lgb.Booster(model_str=to_lightgbm_text(est)).predict(Xt, raw_score=True)
    assert np.max(np.abs(theirs - ours)) <= 1e-6
    np.testing.assert_array_equal(theirs, ours)  # in fact bit for bit
    all_trees = lgb.Booster(model_str=to_lightgbm_text(est.booster_, num_iteration=0))
    np.testing.assert_array_equal(all_trees.predict(Xt, raw_score=True), est.booster_.predict(Xt))


# ---------------------------------------------------------------------------
# ltr JSON model files
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    X, y, qid = ranking_data(nan_rate=0.2)
    Xv, yv, qv = ranking_data(n_queries=15, seed=7)
    est = LambdaRanker(n_estimators=25, num_leaves=7, min_child_samples=5, random_state=0,
                       early_stopping_rounds=5).fit(X, y, qid=qid, eval_set=[(Xv, yv)], eval_qid=[qv])
    path = tmp_path_factory.mktemp("model") / "model.json"
    est.save_model(path)
    return est, path, X


def test_round_trip_predicts_bit_identically(saved_model, tmp_path):
    est, path, X = saved_model
    loaded = LambdaRanker.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(loaded.booster_.predict(X), est.booster_.predict(X))
    assert loaded.best_iteration_ == est.best_iteration_
    assert loaded.get_params() == est.get_params()
    # saving the loaded model writes the same file
    again = tmp_path / "again.json"
    loaded.save_model(again)
    assert again.read_bytes() == path.read_bytes()


def test_model_file_content_is_versioned_and_complete(saved_model):
    _, path, _ = saved_model
    d = json.loads(path.read_text())
    for key in ("format", "format_version", "ltr_version", "params", "objective", "bin_mapper", "trees",
                "feature_names", "init_score", "best_iteration", "n_features"):
        assert key in d
    assert d["objective"].keys() == {"name", "params", "state"}


def test_save_refuses_to_overwrite(saved_model, tmp_path):
    est, _, _ = saved_model
    path = tmp_path / "m.json"
    path.write_text("precious")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        est.save_model(path)
    assert path.read_text() == "precious"
    est.save_model(path, overwrite=True)
    assert LambdaRanker.load_model(path).booster_.n_trees == est.booster_.n_trees
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def _damaged(saved_model, tmp_path, change):
    _, path, _ = saved_model
    d = json.loads(path.read_text())
    change(d)
    out = tmp_path / "damaged.json"
    out.write_text(json.dumps(d))
    return out


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(d):
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value(d[keys[-1]]) if callable(value) else value
    return change


DAMAGE = {
    "leaf values as strings": (_set("trees", 0, "leaf_value", lambda v: [str(x) for x in v]),
                               "'leaf_value' is not a list of numbers"),
    "fractional split feature": (_set("trees", 0, "split_feature", lambda v: [x + 0.5 for x in v]),
                                 "'split_feature' is not a list of integers"),
    "boolean child links": (_set("trees", 0, "left_child", lambda v: [True for _ in v]),
                            "'left_child' is not a list of integers"),
    "cyclic child links": (_set("trees", 0, "left_child", lambda v: [0 for _ in v]), "do not form a tree"),
    "a leaf used twice": (_set("trees", 0, "right_child", lambda v: [-1 for _ in v]), "do not form a tree"),
    "child index out of range": (_set("trees", 0, "right_child", lambda v: [99 for _ in v]), "do not form a tree"),
    "split on a missing feature": (_set("trees", 0, "split_feature", lambda v: [50 for _ in v]),
                                   "feature that does not exist"),
    "short leaf array": (_set("trees", 0, "leaf_count", lambda v: v[:-1]), "'leaf_count' has"),
    "missing tree field": (lambda d: d["trees"][0].pop("threshold"), "no field 'threshold'"),
    "tree is not a table": (_set("trees", 0, [1, 2]), "tree 0 is not a table"),
    "NaN leaf value": (_set("trees", 0, "leaf_value", lambda v: [float("nan")] + v[1:]), "non-finite leaf"),
    "bin thresholds unsorted": (_set("bin_mapper", "thresholds", 0, lambda v: v[::-1]), "not increasing"),
    "bin thresholds as strings": (_set("bin_mapper", "thresholds", 0, lambda v: [str(x) for x in v]),
                                  "lists of numbers"),
    "bin threshold out of range": (_set("trees", 0, "threshold_bin", lambda v: [255 for _ in v]),
                                   "bin threshold out of range"),
    "best_iteration as text": (_set("best_iteration", lambda v: str(v)), "best_iteration"),
    "best_iteration too large": (_set("best_iteration", 10_000), "best_iteration"),
    "init_score as text": (_set("init_score", "0.5"), "init_score"),
    "n_features as text": (_set("n_features", "5"), "n_features"),
    "feature_names wrong length": (_set("feature_names", ["a"]), "feature_names"),
    "unknown objective": (_set("objective", "name", "os.system"), "does not have"),
    "params not a table": (_set("params", [1, 2]), "params is not a table"),
    "format_version as boolean": (_set("format_version", True), "format_version"),
    "newer format version": (_set("format_version", 99), "newer than this ltr"),
    "not an ltr model": (_set("format", "lightgbm"), "not an ltr model"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_damaged_json_gives_clear_error(saved_model, tmp_path, case):
    change, message = DAMAGE[case]
    path = _damaged(saved_model, tmp_path, change)
    with pytest.raises(ModelFormatError, match=message):
        LambdaRanker.load_model(path)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"model = {'trees': []}", "not a valid ltr model file"),
    (b"\x80\x81\xfe\xff\x00garbage", "not UTF-8"),
    (b"[1, 2, 3]", "not an ltr model"),
    (b'{"format": "ltr-model"}', "format_version"),
])
def test_files_that_are_not_models(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ModelFormatError, match=message):
        LambdaRanker.load_model(path)


def test_truncated_file(saved_model, tmp_path):
    _, path, _ = saved_model
    data = path.read_bytes()
    for cut in (1, len(data) // 3, len(data) - 1):
        bad = tmp_path / f"cut{cut}.json"
        bad.write_bytes(data[:cut])
        with pytest.raises(ModelFormatError, match="truncated or corrupted"):
            LambdaRanker.load_model(bad)


def test_missing_model_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        LambdaRanker.load_model(tmp_path / "nope.json")


class _Trap:
    """Unpickling this object writes a marker file: proof that a loader ran code from a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_loading_never_runs_code_from_the_file(saved_model, tmp_path, monkeypatch):
    marker = tmp_path / "code-ran"
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(_Trap(str(marker))))
    with pytest.raises(ModelFormatError):
        LambdaRanker.load_model(pickled)
    assert not marker.exists()

    # JSON that tries object hooks of other serialisers is just data
    hooked = _damaged(saved_model, tmp_path, _set("objective", "name",
                                                  {"py/reduce": [{"py/function": "os.system"}, ["touch x"]]}))
    with pytest.raises(ModelFormatError):
        LambdaRanker.load_model(hooked)

    # a valid model loads with pickle and eval unavailable: neither is used
    def forbidden(*args, **kwargs):
        raise AssertionError("model loading must not unpickle or evaluate code")

    _, path, X = saved_model
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr("builtins.eval", forbidden)
    loaded = LambdaRanker.load_model(path)
    assert loaded.booster_.n_trees == saved_model[0].booster_.n_trees
    assert not os.path.exists(tmp_path / "x")


# ---------------------------------------------------------------------------
# every registered objective: export and JSON round trip
# ---------------------------------------------------------------------------
# Objectives whose state does not survive save/load yet (ltr/objectives/unbiased.py, reported to the
# lead): IPW has no set_state, so a loaded model's state() is {} instead of its propensities;
# UnbiasedLambdaMART.set_state does not restore propensity_history_, so state() of a loaded model
# (and therefore saving it again, or `ltr info`) raises AttributeError. Strict: remove once fixed.
_STATE_NOT_RESTORED = {}  # every objective's state survives save/load


def _objective_names():
    from ltr.objectives import available_objectives

    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=_STATE_NOT_RESTORED[name]))
            if name in _STATE_NOT_RESTORED else name for name in available_objectives()]


@pytest.fixture(scope="module")
def objective_data():
    rng = np.random.default_rng(0)
    n = 600
    X = rng.normal(size=(n, 4))
    X[rng.random(X.shape) < 0.1] = np.nan
    y = np.clip(np.round(np.nan_to_num(X[:, 0]) + rng.normal(scale=0.5, size=n)), 0, 3)
    qid = np.repeat(np.arange(60), 10)
    position = np.tile(np.arange(1, 11), 60)
    return X, y, qid, position


@pytest.mark.slow
@pytest.mark.parametrize("name", _objective_names())
def test_every_objective_exports_and_round_trips(name, objective_data, tmp_path):
    import warnings

    from ltr.objectives import get_objective

    X, y, qid, position = objective_data
    if get_objective(name).produces_probabilities:
        y = (y > 1).astype(float)
    est = LambdaRanker(name, n_estimators=5, num_leaves=5, min_child_samples=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. objectives that ignore position
        est.fit(X, y, qid=qid, position=position)
    ours = est.predict(X)
    booster = lgb.Booster(model_str=to_lightgbm_text(est))
    np.testing.assert_array_equal(booster.predict(X, raw_score=True), ours)
    if est.objective_.produces_probabilities:
        np.testing.assert_allclose(booster.predict(X), est.predict_proba(X), rtol=0, atol=1e-15)

    path = tmp_path / "m.json"
    est.save_model(path)
    loaded = LambdaRanker.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), ours)
    assert loaded.objective_.name == est.objective_.name
    assert json.dumps(loaded.objective_.state(), sort_keys=True, default=str) == \
        json.dumps(est.objective_.state(), sort_keys=True, default=str)  # e.g. learned propensities
