"""Every bad input gets a clear error from ltr._validation; allowed oddities are handled.

One test per row of the table in docs/errors.md (the last test checks that
the table and the tests agree). Each error test checks the type (our
subclass, which is also a ValueError / TypeError) and that the message
names the argument and the problem.
"""
import json
import logging
import os
import pickle
import re
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from ltr import LambdaRanker
from ltr._validation import (
    FeatureError,
    FeatureTypeError,
    LabelError,
    LTRValueError,
    PARALLEL_SCAN_MIN_VALUES,
    ModelFormatError,
    QueryError,
    check_labels,
    check_no_inf,
    check_output_path,
    check_qid,
)
from ltr.booster import Booster
from ltr.metrics import map_score, ndcg_score

REPO_ROOT = Path(__file__).resolve().parents[1]
FAST = dict(n_estimators=4, num_leaves=4, min_child_samples=2, random_state=0, n_jobs=1)


def ranking_data(n_queries=12, docs=8, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    n = n_queries * docs
    X = rng.normal(size=(n, n_features))
    qid = np.repeat(np.arange(n_queries), docs)
    y = np.clip(np.floor(X[:, 0] + rng.normal(0, 0.5, n) + 1), 0, 4).astype(float)
    return X, y, qid


@pytest.fixture(scope="module")
def data():
    return ranking_data()


@pytest.fixture(scope="module")
def fitted(data):
    X, y, qid = data
    return LambdaRanker(**FAST).fit(X, y, qid=qid)


def raises(error, match):
    """pytest.raises that also checks the error is one of ours."""
    return pytest.raises(error, match=match)


# ---------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_labels_nan_or_inf(data, bad):
    X, y, qid = data
    y = y.copy()
    y[7] = bad
    for objective in ("lambdamart", "regression", "binary"):
        yy = y if objective != "binary" else np.where(np.isfinite(y), np.minimum(y, 1), y)
        with raises(LabelError, match=r"^y contains NaN or infinite values \(row 7\)"):
            LambdaRanker(objective=objective, **FAST).fit(X, yy, qid=qid)
    with raises(LabelError, match=r"y_true contains NaN or infinite values \(row 7\)"):
        ndcg_score(y, np.zeros_like(y), qid=qid)
    assert issubclass(LabelError, ValueError)


def test_labels_negative(data):
    X, y, qid = data
    y = y.copy()
    y[3] = -1
    with raises(LabelError, match=r"y must be non-negative relevance labels, got -1 \(row 3\)"):
        LambdaRanker(**FAST).fit(X, y, qid=qid)
    with raises(LabelError, match="y_true must be non-negative"):
        map_score(y, np.zeros_like(y), qid=qid)
    # pointwise regression accepts any finite label
    LambdaRanker(objective="regression", **FAST).fit(X, y, qid=qid)


#: Objectives that take any finite label: squared error by design, YetiRank's
#: classic mode because only label differences weigh its pairs.
ANY_FINITE_LABEL = {"regression", "yetirank"}


def _one_per_objective():
    from ltr.objectives import available_objectives, get_objective

    seen, out = set(), []
    for name in available_objectives():
        obj = get_objective(name)
        if type(obj) not in seen:
            seen.add(type(obj))
            out.append(obj.name)
    return out


@pytest.mark.parametrize("objective", _one_per_objective())
def test_labels_negative_every_objective(data, objective):
    # Whichever objective meets a negative label, the error is a LabelError naming y
    # (the objectives' own ranges go through check_objective_labels).
    X, y, qid = data
    y = np.minimum(y, 1.0)
    y[3] = -1
    model = LambdaRanker(objective=objective, **FAST)
    if objective in ANY_FINITE_LABEL:
        assert np.all(np.isfinite(model.fit(X, y, qid=qid).predict(X)))
        return
    with raises(LabelError, match=r"^y\b.*(negative|\[0, 1\])"):
        model.fit(X, y, qid=qid)


def test_labels_fractional_with_exp_gain(data):
    X, y, qid = data
    y = y.copy()
    y[5] = 1.5
    with raises(LabelError, match=r"y must hold integer labels with gain='exp'.*got 1.5 \(row 5\).*label_gain"):
        LambdaRanker(**FAST).fit(X, y, qid=qid)
    with raises(LabelError, match="y_true must hold integer labels with gain='exp'.*gain='linear'"):
        ndcg_score(y, np.zeros_like(y), qid=qid)
    # the linear gain takes real-valued relevance
    assert 0 <= ndcg_score(y, X[:, 0], qid=qid, gain="linear") <= 1


def test_labels_too_large_for_exp_gain(data):
    X, y, qid = data
    y = y.copy()
    y[2] = 31
    with raises(LabelError, match=r"y has label 31 \(row 2\) but gain='exp' allows labels up to 30.*label_gain"):
        LambdaRanker(**FAST).fit(X, y, qid=qid)
    with raises(LabelError, match="y_true has label 31"):
        ndcg_score(y, np.zeros_like(y), qid=qid)
    # with a gain table long enough, label 31 is fine; 30 is fine without one
    gain = np.arange(32, dtype=float)
    LambdaRanker(label_gain=gain, **FAST).fit(X, y, qid=qid)
    y[2] = 30
    LambdaRanker(**FAST).fit(X, y, qid=qid)


def test_labels_beyond_label_gain(data):
    X, y, qid = data
    with raises(LabelError, match=r"y has label 4 \(row \d+\) but label_gain has only 3 entries"):
        LambdaRanker(label_gain=[0, 1, 3], **FAST).fit(X, y, qid=qid)


def test_labels_missing_or_wrong_length(data):
    X, y, qid = data
    with raises(LabelError, match="requires y to be passed, but the target y is None"):
        LambdaRanker(**FAST).fit(X, None, qid=qid)
    with raises(LabelError, match=f"y has {len(y) - 1} entries but X has {len(y)} rows"):
        LambdaRanker(**FAST).fit(X, y[:-1], qid=qid)
    with raises(LabelError, match="y must hold numbers"):
        LambdaRanker(**FAST).fit(X, np.array(["a"] * len(y)), qid=qid)


def test_eval_set_labels_named(data):
    X, y, qid = data
    ye = y.copy()
    ye[0] = np.nan
    with raises(LabelError, match=r"eval_set\[0\] y contains NaN"):
        LambdaRanker(**FAST).fit(X, y, qid=qid, eval_set=[(X, ye)], eval_qid=[qid])
    with raises(LabelError, match=r"eval_set\[0\] y has 10 entries but eval_set\[0\] has"):
        LambdaRanker(**FAST).fit(X, y, qid=qid, eval_set=[(X, y[:10])], eval_qid=[qid])


# ---------------------------------------------------------------------------
# Query ids
# ---------------------------------------------------------------------------
def test_qid_wrong_length(data):
    X, y, qid = data
    with raises(QueryError, match=f"qid has 5 entries but X has {len(y)} rows"):
        LambdaRanker(**FAST).fit(X, y, qid=qid[:5])
    with raises(QueryError, match="qid has 5 entries but y_true has"):
        ndcg_score(y, y, qid=qid[:5])


def test_group_wrong_sum(data):
    X, y, qid = data
    with raises(QueryError, match=f"group sizes sum to 20 but X has {len(y)} rows"):
        LambdaRanker(**FAST).fit(X, y, group=[10, 10])


def test_qid_and_group_both(data):
    X, y, qid = data
    with raises(QueryError, match="pass either qid .* or group .*, not both"):
        LambdaRanker(**FAST).fit(X, y, qid=qid, group=np.bincount(qid))
    with raises(QueryError, match="not both"):
        ndcg_score(y, y, qid=qid, group=np.bincount(qid))


def test_eval_set_without_query_ids(data):
    X, y, qid = data
    with raises(QueryError, match=r"eval_set\[1\] has no query ids: pass eval_qid"):
        LambdaRanker(**FAST).fit(X, y, qid=qid, eval_set=[(X, y), (X, y)], eval_qid=[qid, None])
    with raises(QueryError, match=r"eval_set\[0\] has no query ids"):
        LambdaRanker(**FAST).fit(X, y, group=np.bincount(qid), eval_set=[(X, y)])
    # Without query ids in training, every set is one query (as training is): allowed.
    m = LambdaRanker(**FAST).fit(X[:20], y[:20], eval_set=[(X[:20], y[:20])])
    assert len(m.evals_result_["valid_0"]["ndcg@10"]) == FAST["n_estimators"]


def test_eval_qid_wrong_length(data):
    X, y, qid = data
    with raises(QueryError, match=r"eval_qid\[0\] has 3 entries but eval_set\[0\] has \d+ rows"):
        LambdaRanker(**FAST).fit(X, y, qid=qid, eval_set=[(X, y)], eval_qid=[qid[:3]])
    with raises(QueryError, match=r"eval_group\[0\] sizes sum to 3"):
        LambdaRanker(**FAST).fit(X, y, qid=qid, eval_set=[(X, y)], eval_group=[[1, 2]])
    with raises(LTRValueError, match=r"eval_qid must be a list with one entry per eval_set \(1\), got 2"):
        LambdaRanker(**FAST).fit(X, y, qid=qid, eval_set=[(X, y)], eval_qid=[qid, qid])


@pytest.mark.parametrize("bad, match", [
    ([1.0, np.nan, 2.0], "qid contains NaN or infinite"),
    (np.array([1, None, 2], dtype=object), "missing values"),
    (np.array(["a", 1, "b"], dtype=object), "mixes strings and numbers"),
    (np.array([{"a": 1}, {}, {}], dtype=object), "must hold integers or strings"),
    (np.array([[1, 2, 3], [1, 2, 3]]), "1-dimensional"),
])
def test_qid_missing_or_mixed(bad, match):
    with raises(QueryError, match=match):
        check_qid(bad, 3)
    X = np.arange(6.0).reshape(3, 2)
    with raises(QueryError, match=match):
        LambdaRanker(**FAST).fit(X, [0, 1, 0], qid=bad)


@pytest.mark.parametrize("bad, match", [
    ([3, 0, 5], "positive"),
    ([2.5, 5.5], "whole numbers"),
    (["4", "4"], "integer query sizes"),
    ([], "empty"),
])
def test_group_bad_sizes(bad, match):
    X = np.random.default_rng(0).normal(size=(8, 2))
    with raises(QueryError, match=match):
        LambdaRanker(**FAST).fit(X, np.zeros(8), group=bad)


def test_string_and_object_qid_accepted(data):
    X, y, qid = data
    a = LambdaRanker(**FAST).fit(X, y, qid=qid).predict(X)
    names = np.array([f"q{v:03d}" for v in qid], dtype=object)
    b = LambdaRanker(**FAST).fit(X, y, qid=names).predict(X)
    assert np.array_equal(a, b)


# ---------------------------------------------------------------------------
# X
# ---------------------------------------------------------------------------
def test_X_zero_rows(fitted):
    with raises(FeatureError, match=r"X has 0 rows \(shape=\(0, 5\)\): fit needs at least one row"):
        LambdaRanker(**FAST).fit(np.empty((0, 5)), np.empty(0))
    with raises(FeatureError, match="X has 0 rows .*predict needs at least one row"):
        fitted.predict(np.empty((0, 5)))


def test_X_zero_features(fitted):
    with raises(FeatureError, match=r"X has 0 feature\(s\) \(shape=\(6, 0\)\) while a minimum of 1 is required"):
        LambdaRanker(**FAST).fit(np.empty((6, 0)), np.zeros(6))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fmt", ["dense", "csr", "dataframe"])
def test_X_infinity(data, fitted, dtype, fmt):
    X, y, qid = data
    X = X.astype(dtype)
    X[9, 3] = -np.inf
    if fmt == "csr":
        X = sparse.csr_matrix(X)
    elif fmt == "dataframe":
        import pandas as pd

        X = pd.DataFrame(X)
    with raises(FeatureError, match=r"X contains infinity \(row 9, column 3\).*NaN for a missing value"):
        LambdaRanker(**FAST).fit(X, y, qid=qid)
    with raises(FeatureError, match=r"X contains infinity \(row 9, column 3\)"):
        fitted.predict(X)
    with raises(FeatureError, match=r"eval_set\[0\] contains infinity"):
        LambdaRanker(**FAST).fit(data[0], y, qid=qid, eval_set=[(X, y)], eval_qid=[qid])
    if fmt == "dense":  # a large matrix takes the parallel scan
        big = np.zeros((PARALLEL_SCAN_MIN_VALUES // 4 + 7, 4), dtype=dtype)
        big[-3, 2] = np.inf
        big[::5, 1] = np.nan
        with raises(FeatureError, match=rf"big contains infinity \(row {big.shape[0] - 3}, column 2\)"):
            check_no_inf(big, "big")
        big[-3, 2] = 0
        check_no_inf(big, "big")


def test_X_non_numeric_dataframe_columns(data):
    pd = pytest.importorskip("pandas")
    X, y, qid = data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    df["city"] = ["paris", "oslo"] * (len(df) // 2)
    df["when"] = pd.Timestamp("2024-01-01")
    df["kind"] = pd.Categorical(["a", "b"] * (len(df) // 2))
    with pytest.raises(FeatureTypeError, match="X has non-numeric column.*'city' .*'when' .*'kind'.*encode") as err:
        LambdaRanker(**FAST).fit(df, y, qid=qid)
    assert isinstance(err.value, TypeError) and isinstance(err.value, ValueError)
    # numbers stored as objects, booleans and nullable integers are numeric
    ok = pd.DataFrame({"a": pd.Series(X[:, 0].tolist(), dtype=object), "b": X[:, 1] > 0,
                       "c": pd.array(np.arange(len(y)), dtype="Int64")})
    m = LambdaRanker(**FAST).fit(ok, y, qid=qid)
    assert np.all(np.isfinite(m.predict(ok)))
    with pytest.raises(FeatureTypeError, match="'city'"):
        m.predict(ok.assign(a=["x"] * len(ok)).rename(columns={"a": "city"}))
    # column names mixing strings and numbers (scikit-learn's TypeError, as ours)
    mixed = pd.DataFrame(X[:, :2], columns=[0, "b"])
    with pytest.raises(FeatureTypeError, match="X: Feature names are only supported if all input features have "
                                               "string names"):
        LambdaRanker(**FAST).fit(mixed, y, qid=qid)


def test_X_not_2d():
    with raises(FeatureError, match="X is None"):
        LambdaRanker(**FAST).fit(None, [1, 0])
    with raises(FeatureError, match="X: Expected 2D array, got 1D array"):
        LambdaRanker(**FAST).fit(np.arange(4.0), [1, 0, 1, 0])
    with raises(FeatureError, match="X: Found array with dim 3"):
        LambdaRanker(**FAST).fit(np.zeros((2, 2, 2)), [1, 0])


def _split_features(model):
    return set(np.concatenate([t.split_feature for t in model.booster_.trees]).tolist())


def test_all_nan_column_is_never_split(data):
    X, y, qid = data
    X = X.copy()
    X[:, 2] = np.nan
    X[:, 0] = np.where(np.arange(len(y)) % 3 == 0, np.nan, X[:, 0])  # NaN elsewhere too: allowed
    m = LambdaRanker(**dict(FAST, n_estimators=20, min_child_samples=1, num_leaves=8)).fit(X, y, qid=qid)
    assert 2 not in _split_features(m) and {0, 1} & _split_features(m)
    assert m.feature_importances_[2] == 0
    p = m.predict(X)
    assert np.all(np.isfinite(p))
    # any value in the column at predict time changes nothing: no tree looks at it
    X2 = X.copy()
    X2[:, 2] = np.random.default_rng(1).normal(size=len(y))
    assert np.array_equal(m.predict(X2), p)


def test_constant_column_is_never_split(data):
    X, y, qid = data
    X = X.copy()
    X[:, 1] = 3.25
    m = LambdaRanker(**dict(FAST, n_estimators=20, min_child_samples=1, num_leaves=8)).fit(X, y, qid=qid)
    assert 1 not in _split_features(m)


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------
def test_degenerate_queries_are_counted_and_logged(data, caplog, capsys):
    X, y, qid = data
    y = y.copy()
    qid = qid.copy()
    y[qid == 1] = 2            # all labels equal
    y[qid == 4] = 0            # all labels equal (zero)
    qid[qid == 7] = [7, 70, 71, 72, 73, 74, 75, 76]   # eight one-document queries
    n_queries = len(np.unique(qid))
    with caplog.at_level(logging.INFO, logger="ltr"):
        m = LambdaRanker(**FAST).fit(X, y, qid=qid)
    assert m.objective_.n_degenerate_queries_ == 10
    assert f"10 of {n_queries} queries have one document or equal labels" in caplog.text
    assert capsys.readouterr().out == ""        # silent unless verbose
    LambdaRanker(**dict(FAST, verbose=1)).fit(X, y, qid=qid)
    assert f"[ltr] 10 of {n_queries} queries have one document" in capsys.readouterr().out
    # no gradient from them
    obj = m.objective_
    g = np.zeros_like(obj.y_)
    h = np.zeros_like(obj.y_)
    obj.gradient_hessian(np.random.default_rng(0).normal(size=g.shape), g, h, 0)
    ptr = obj.group_ptr_
    for q in range(len(ptr) - 1):
        yq = obj.y_[ptr[q]:ptr[q + 1]]
        if len(yq) == 1 or np.all(yq == yq[0]):
            assert not g[ptr[q]:ptr[q + 1]].any() and not h[ptr[q]:ptr[q + 1]].any()
        else:
            assert g[ptr[q]:ptr[q + 1]].any()


#: Ranking objectives that give queries with all labels equal (and positive) a
#: gradient, against the Objective contract; listed so the tests say so.
#: Empty: ``softmax`` and ``dla`` left it when their list terms were dropped on
#: such queries. Kept so that a regression can be recorded as a known failure.
KNOWN_DEGENERATE_GRADIENT = {}


def _ranking_objectives():
    from ltr.objectives import canonical_objectives, get_objective

    out = []
    for name in canonical_objectives():
        obj = get_objective(name)
        if not obj.is_ranking or obj.produces_probabilities:
            continue
        marks = ([pytest.mark.xfail(raises=AssertionError, reason=KNOWN_DEGENERATE_GRADIENT[obj.name], strict=False)]
                 if obj.name in KNOWN_DEGENERATE_GRADIENT else [])
        out.append(pytest.param(obj.name, marks=marks, id=obj.name))
    return out


@pytest.mark.parametrize("objective", _ranking_objectives())
def test_degenerate_queries_get_no_ranking_gradient(objective):
    # Every ranking objective without a pointwise calibration term: queries with
    # one document or equal labels get exactly zero g and h, at any scores.
    from ltr.objectives import get_objective

    sizes = [1, 3, 2, 4, 1]
    y = np.array([2.0, 1, 1, 1, 0, 0, 1, 0, 2, 1, 0])
    ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    position = np.concatenate([np.arange(1, s + 1) for s in sizes])
    obj = get_objective(objective)
    try:
        obj.validate_labels(y)
    except ValueError:
        y = np.minimum(y, 1.0)
    obj.setup(y, ptr, seed=0, position=position)
    assert obj.n_degenerate_queries_ == 4
    raw = np.random.default_rng(0).normal(size=len(y))
    g = np.zeros(len(y))
    h = np.zeros(len(y))
    obj.gradient_hessian(raw, g, h, 0)
    for q in (0, 1, 2, 4):  # the one informative query is 3
        assert not g[ptr[q]:ptr[q + 1]].any() and not h[ptr[q]:ptr[q + 1]].any(), f"query {q}"
    assert g[ptr[3]:ptr[4]].any()


def test_100k_document_query():
    # One query of 100k documents: allowed and fast (LambdaMART's pair loop is
    # O(n k) with the truncation level k). The time bound only catches an
    # O(n^2) regression (minutes); speed itself is measured in benchmarks/.
    rng = np.random.default_rng(0)
    n = 100_000
    X = rng.normal(size=(n, 4))
    y = np.clip(np.floor(X[:, 0] + rng.normal(0, 0.5, n) + 1), 0, 4)
    qid = np.zeros(n, dtype=np.int64)
    start = time.perf_counter()
    m = LambdaRanker(n_estimators=3, num_leaves=7, random_state=0).fit(X, y, qid=qid)
    p = m.predict(X)
    elapsed = time.perf_counter() - start
    assert np.all(np.isfinite(p)) and m.objective_.n_degenerate_queries_ == 0
    assert ndcg_score(y, p, qid=qid, k=10) > ndcg_score(y, -X[:, 0], qid=qid, k=10)
    assert elapsed < 60, f"one 100k-document query took {elapsed:.1f} s for 3 trees"


# ---------------------------------------------------------------------------
# Prediction
# ---------------------------------------------------------------------------
def test_predict_wrong_number_of_features(data, fitted):
    X, y, qid = data
    with raises(FeatureError, match="X has 3 features, but LambdaRanker is expecting 5 features as input"):
        fitted.predict(X[:, :3])
    with raises(FeatureError, match="X has 6 features, but LambdaRanker is expecting 5"):
        fitted.score(np.hstack([X, X[:, :1]]), y, qid=qid)
    with raises(FeatureError, match=r"eval_set\[0\] has 4 features, but LambdaRanker is expecting 5"):
        LambdaRanker(**FAST).fit(X, y, qid=qid, eval_set=[(X[:, :4], y)], eval_qid=[qid])


def test_init_model_wrong_number_of_features(data, fitted, tmp_path):
    X, y, qid = data
    with raises(FeatureError, match="X has 4 features, but init_model is expecting 5 features as input"):
        LambdaRanker(**FAST).fit(X[:, :4], y, qid=qid, init_model=fitted)
    fitted.save_model(tmp_path / "m.json")
    with raises(FeatureError, match="X has 6 features, but init_model is expecting 5"):
        LambdaRanker(**FAST).fit(np.hstack([X, X[:, :1]]), y, qid=qid, init_model=tmp_path / "m.json")


def test_predict_different_column_names(data):
    pd = pytest.importorskip("pandas")
    X, y, qid = data
    cols = [f"f{i}" for i in range(X.shape[1])]
    df = pd.DataFrame(X, columns=cols)
    m = LambdaRanker(**FAST).fit(df, y, qid=qid)
    with raises(FeatureError, match="X: The feature names should match those that were passed during fit"):
        m.predict(df.rename(columns={"f0": "other"}))
    with raises(FeatureError, match="Feature names must be in the same order"):
        m.predict(df[cols[::-1]])
    # an ndarray after a DataFrame fit: scikit-learn's warning (documented), same scores
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        p = m.predict(X)
    assert np.array_equal(p, m.predict(df))


# ---------------------------------------------------------------------------
# Row weights and positions
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("make, match", [
    (lambda w: np.where(np.arange(len(w)) == 4, -1.0, w), "sample_weight must be non-negative"),
    (lambda w: np.where(np.arange(len(w)) == 4, np.nan, w), r"sample_weight contains NaN or infinite values \(row 4\)"),
    (lambda w: np.zeros_like(w), "sample_weight is zero for every row"),
    (lambda w: w[:-2], "sample_weight has 94 entries but X has 96 rows"),
])
def test_sample_weight_rules(data, make, match):
    X, y, qid = data
    with raises(LTRValueError, match=match):
        LambdaRanker(**FAST).fit(X, y, qid=qid, sample_weight=make(np.ones(len(y))))


@pytest.mark.parametrize("make, match", [
    (lambda n: np.arange(n), "position must be 1-based"),
    (lambda n: np.arange(1, n + 1) + 0.5, "whole numbers"),
    (lambda n: np.arange(1, n), "one entry per row"),
    (lambda n: np.array(["1"] * n), "must hold integers"),
])
def test_position_rules(data, make, match):
    X, y, qid = data
    with raises(LTRValueError, match=match):
        LambdaRanker(**FAST).fit(X, y, qid=qid, position=make(len(y)))


def test_position_rule_in_the_baidu_loader():
    # The loader applies the estimator's rule (check_position) and adds the session row.
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from ltr.datasets import load_baidu_ultr_sessions

    table = pq.read_table(REPO_ROOT / "tests" / "data" / "baidu_ultr" / "clicks.parquet")
    sizes = [len(v) for v in table.column("position").to_pylist()]
    lists = [list(range(1, k + 1)) for k in sizes]
    lists[1][1] = 0
    bad = table.set_column(table.column_names.index("position"), "position",
                           pa.array(lists, table.column("position").type))
    first = sizes[0] + 1
    with raises(LTRValueError, match=rf"session row 1: position must be 1-based \(the top result is 1\), "
                                     rf"got 0 \(row {first}\)"):
        load_baidu_ultr_sessions(bad)


# ---------------------------------------------------------------------------
# Model files
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_text(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.json"
    fitted.save_model(path)
    return path.read_text()


def test_model_file_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="model file .*missing.json does not exist"):
        LambdaRanker.load_model(tmp_path / "missing.json")


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.99])
def test_model_file_truncated(tmp_path, model_text, keep):
    path = tmp_path / "trunc.json"
    path.write_text(model_text[: int(len(model_text) * keep)])
    with raises(ModelFormatError, match="truncated or corrupted JSON"):
        LambdaRanker.load_model(path)


def test_model_file_corrupted(tmp_path, model_text):
    d = json.loads(model_text)
    cases = {
        "bytes": model_text.replace('"trees"', '"tr\x00es"').replace("{", "{{", 1),
        "leaf": json.dumps({**d, "trees": [{**d["trees"][0], "leaf_value": ["x"] * 2}]}),
        "no_trees": json.dumps({k: v for k, v in d.items() if k != "trees"}),
        "nan": model_text.replace('"init_score":0.0', '"init_score":NaN'),
        "feature": json.dumps({**d, "n_features": 2}),
    }
    for name, text in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        with raises(ModelFormatError, match="damaged|not a valid ltr model|corrupted"):
            LambdaRanker.load_model(path)


def test_model_file_newer_version(tmp_path, model_text):
    path = tmp_path / "newer.json"
    path.write_text(model_text.replace('"format_version":1', '"format_version":99'))
    with raises(ModelFormatError, match="format version 99 is newer than this ltr .* upgrade ltr"):
        LambdaRanker.load_model(path)


def test_model_file_not_a_model(tmp_path):
    cases = {
        "other.json": '{"hello": 1}',
        "list.json": "[1, 2, 3]",
        "text.txt": "tree\nversion=v4\n",          # e.g. a LightGBM text model
        "empty.json": "",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with raises(ModelFormatError, match="not an ltr model|not a valid ltr model|empty"):
            LambdaRanker.load_model(tmp_path / name)
    (tmp_path / "bin").write_bytes(b"\x80\x81\x00\xff")
    with raises(ModelFormatError, match="not UTF-8"):
        LambdaRanker.load_model(tmp_path / "bin")
    (tmp_path / "deep.json").write_text("[" * 100_000)
    with raises(ModelFormatError, match="not a valid ltr model"):
        LambdaRanker.load_model(tmp_path / "deep.json")
    (tmp_path / "folder").mkdir()
    with raises(ModelFormatError, match="is a directory"):
        LambdaRanker.load_model(tmp_path / "folder")


class _Boom:
    """Unpickling this runs code: it would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_model_loading_never_runs_code(tmp_path, model_text):
    marker = tmp_path / "code_ran"
    payloads = {
        "pickle.bin": pickle.dumps(_Boom(marker)),
        "pickle0.bin": pickle.dumps(_Boom(marker), protocol=0),   # ASCII pickle: valid UTF-8
    }
    for name, raw in payloads.items():
        (tmp_path / name).write_bytes(raw)
        with raises(ModelFormatError, match="not"):
            LambdaRanker.load_model(tmp_path / name)
    d = json.loads(model_text)
    evil = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    d["objective"]["name"] = evil
    (tmp_path / "evil_objective.json").write_text(json.dumps(d))
    with raises(ModelFormatError, match="objective"):
        LambdaRanker.load_model(tmp_path / "evil_objective.json")
    d = json.loads(model_text)
    d["params"]["n_estimators"] = evil
    d["feature_names"] = None
    (tmp_path / "evil_param.json").write_text(json.dumps(d))
    try:  # a string where a number belongs is stored as data, never evaluated
        LambdaRanker.load_model(tmp_path / "evil_param.json")
    except LTRValueError:
        pass
    assert not marker.exists()
    src = (REPO_ROOT / "ltr" / "booster.py").read_text() + (REPO_ROOT / "ltr" / "_validation.py").read_text()
    assert not re.search(r"\b(pickle|eval|exec)\s*\(|import pickle|marshal", src)


# ---------------------------------------------------------------------------
# Safety of files
# ---------------------------------------------------------------------------
def test_save_refuses_to_overwrite(tmp_path, fitted, data):
    X = data[0]
    path = tmp_path / "model.json"
    fitted.save_model(path)
    before = path.read_bytes()
    other = LambdaRanker(**dict(FAST, n_estimators=2)).fit(X, data[1], qid=data[2])
    with pytest.raises(FileExistsError, match="model.json exists; pass overwrite=True"):
        other.save_model(path)
    assert path.read_bytes() == before
    other.save_model(path, overwrite=True)
    assert LambdaRanker.load_model(path).booster_.n_trees == 2
    from ltr.export import save_lightgbm_model

    with pytest.raises(FileExistsError, match="LightGBM model file .*model.json exists; pass overwrite=True"):
        save_lightgbm_model(other, path)
    assert LambdaRanker.load_model(path).booster_.n_trees == 2
    with pytest.raises(FileExistsError):
        check_output_path(path)
    with pytest.raises(IsADirectoryError):
        check_output_path(tmp_path, overwrite=True)
    with pytest.raises(FileNotFoundError, match="folder .* does not exist"):
        check_output_path(tmp_path / "no" / "such" / "m.json")


def _snapshot(root):
    return {p for p in Path(root).rglob("*")}


def test_nothing_written_outside_given_paths(tmp_path, monkeypatch, data):
    # fit, predict, score, save and load in an empty working directory with
    # HOME and TMPDIR pointing into it: the only file that may appear is the
    # model file, at the path given. (Numba's compile cache lives in the
    # package's own __pycache__, which is not user data.)
    X, y, qid = data
    work = tmp_path / "work"
    home = tmp_path / "home"
    tmp = tmp_path / "tmp"
    out = tmp_path / "out"
    for d in (work, home, tmp, out):
        d.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(tmp))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    m = LambdaRanker(**FAST).fit(X, y, qid=qid, eval_set=[(X, y)], eval_qid=[qid])
    m.predict(X)
    m.score(X, y, qid=qid)
    m.save_model(out / "model.json")
    LambdaRanker.load_model(out / "model.json").predict(X)
    with pytest.raises(FileExistsError):
        m.save_model(out / "model.json")
    assert _snapshot(work) == set() and _snapshot(home) == set() and _snapshot(tmp) == set()
    assert _snapshot(out) == {out / "model.json"}


def test_cli_never_overwrites_without_force(tmp_path, monkeypatch, capsys, data):
    # The command line writes only the files named with -o, and replaces one
    # only with --force; the input files are never touched.
    from ltr.cli import main

    X, y, qid = data
    inputs, work, out = tmp_path / "in", tmp_path / "work", tmp_path / "out"
    for d in (inputs, work, out):
        d.mkdir()
    np.savez(inputs / "train.npz", X=X, y=y, qid=qid)
    monkeypatch.chdir(work)
    fast = ["--set", "n_estimators=3", "--set", "num_leaves=4", "--set", "random_state=0", "--quiet"]
    model, scores = out / "model.json", out / "scores.txt"
    assert main(["fit", inputs / "train.npz", "-o", model, *fast]) == 0
    first = model.read_bytes()
    assert main(["predict", model, inputs / "train.npz", "-o", scores]) == 0
    first_scores = scores.read_bytes()
    capsys.readouterr()
    assert main(["fit", inputs / "train.npz", "-o", model, *fast, "--set", "n_estimators=2"]) != 0
    assert "exists" in capsys.readouterr().err and model.read_bytes() == first
    assert main(["predict", model, inputs / "train.npz", "-o", scores]) != 0
    assert "--force" in capsys.readouterr().err and scores.read_bytes() == first_scores
    assert main(["fit", inputs / "train.npz", "-o", model, *fast, "--set", "n_estimators=2", "--force"]) == 0
    assert model.read_bytes() != first
    assert _snapshot(work) == set()
    assert _snapshot(inputs) == {inputs / "train.npz"}
    assert _snapshot(out) == {model, scores}


def test_cli_default_fit_writes_nothing(tmp_path, monkeypatch, capsys):
    # `ltr fit` without TRAIN and without -o trains on the bundled sample and
    # prints its test NDCG: no file anywhere (working folder, HOME, TMPDIR, the
    # package's data folder), as the CLI's docstring says.
    import tempfile

    import ltr
    from ltr.cli import main

    work, home, tmp = tmp_path / "work", tmp_path / "home", tmp_path / "tmp"
    for d in (work, home, tmp):
        d.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    package = Path(ltr.__file__).parent
    data_before = {p: p.stat().st_mtime_ns for p in (package / "data").rglob("*")}
    assert main(["fit", "--set", "n_estimators=3", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith("test NDCG@10 ")
    assert _snapshot(work) == set() and _snapshot(home) == set() and _snapshot(tmp) == set()
    assert {p: p.stat().st_mtime_ns for p in (package / "data").rglob("*")} == data_before


def test_model_file_nan_values(tmp_path, model_text):
    # ltr never writes NaN or Infinity; where a damaged file has them, the field is named
    cases = {
        "init_score": (model_text.replace('"init_score":0.0', '"init_score":NaN'), "init_score is not finite"),
    }
    d = json.loads(model_text)
    d["trees"][1]["leaf_value"][0] = float("inf")
    cases["leaf"] = (json.dumps(d), "tree 1 has non-finite leaf values")
    for name, (text, match) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_text(text)
        with raises(ModelFormatError, match=f"model file is damaged: .*{match}"):
            LambdaRanker.load_model(path)


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------
def test_metric_errors_are_ours():
    with raises(LTRValueError, match=r"y_score contains NaN or infinite values \(row 1\)"):
        ndcg_score([1, 0], [0.5, np.nan])
    with raises(LabelError, match=r"y_true has label 5 \(row 1\) above max_grade=4"):
        from ltr.metrics import err_score

        err_score([1, 5], [0.1, 0.2], max_grade=4)
    with raises(LabelError, match="y must be non-negative"):
        check_labels([0, -2], gain="linear")


def test_score_names_its_arguments(data, fitted):
    X, y, qid = data
    y = y.copy()
    y[0] = 0.5
    with raises(LabelError, match=r"^y must hold integer labels with gain='exp'.*\(row 0\)"):
        fitted.score(X, y, qid=qid)
    with raises(QueryError, match="qid has 4 entries but X has"):
        fitted.score(X, np.floor(y), qid=qid[:4])


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------
def test_every_row_of_the_error_table_has_a_test():
    table = (REPO_ROOT / "docs" / "errors.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("|") and "`test_" in line]
    assert len(rows) >= 30
    tests_dir = REPO_ROOT / "tests"
    for row in rows:
        for ref in re.findall(r"`((?:tests/)?[\w/]*\.py::)?(test_\w+)`", row):
            file_part, name = ref
            files = [REPO_ROOT / file_part[:-2]] if file_part else [Path(__file__)]
            found = any(re.search(rf"^def {name}\(", f.read_text(), re.M) for f in files)
            assert found, f"docs/errors.md row names {file_part}{name}, which does not exist: {row}"
    # and every error test of this file appears in the table
    named = set(re.findall(r"`(?:[\w/]*\.py::)?(test_\w+)`", table))
    here = set(re.findall(r"^def (test_\w+)\(", Path(__file__).read_text(), re.M))
    missing = sorted(here - named - {"test_every_row_of_the_error_table_has_a_test"})
    assert not missing, f"tests not listed in docs/errors.md: {missing}"
