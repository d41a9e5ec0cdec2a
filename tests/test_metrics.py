"""Tests of ltr.metrics (ranking metrics).

Every metric is checked against independent implementations:

* LightGBM's own ``ndcg@k`` and ``map@k`` from ``evals_result_`` (input-order
  ties, all-zero queries counted as 1, a custom ``label_gain``);
* XGBoost's ``ndcg@k``, ``map@k`` and ``pre@k`` (optional);
* scikit-learn's ``ndcg_score`` / ``dcg_score`` (tie-averaged, linear gain,
  all-zero queries counted as 0);
* a slow plain-Python reference written below, for every metric and
  option, and a brute-force average over all tie orders for
  ``ties='average'``;

plus hand-computed values, property tests and the error messages.
"""
import itertools
import math
import warnings

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ltr.metrics import (
    Metric,
    dcg_score,
    err_score,
    evaluate,
    map_score,
    mrr_score,
    ndcg_score,
    parse_metric,
    precision_score,
)
from ltr.metrics._ranking import _metric_per_query, _select_top_query, _sort_query

SCORE_FUNCTIONS = {
    "ndcg": ndcg_score,
    "dcg": dcg_score,
    "map": map_score,
    "mrr": mrr_score,
    "err": err_score,
    "precision": precision_score,
}
TOL = 1e-9


# --------------------------------------------------------------------------
# Random ranking data: ragged queries, heavy score ties, all-zero queries
# --------------------------------------------------------------------------
def random_queries(n_queries, seed, max_size=25, max_label=4, n_score_values=6, zero_fraction=0.15):
    """(y, s, sizes): integer labels, scores with many ties, some all-zero queries.

    Sizes start at 1 so that single-document queries are included.
    """
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_size + 1, n_queries)
    q = np.repeat(np.arange(n_queries), sizes)
    y = rng.integers(0, max_label + 1, sizes.sum()).astype(np.float64)
    y[(rng.random(n_queries) < zero_fraction)[q]] = 0.0
    # Scores correlated with the labels, rounded onto a few values so that
    # most queries have tie groups that straddle the cut-offs.
    s = np.round(0.5 * y + rng.normal(size=y.shape[0]) * 1.2) / 2.0
    s = np.clip(s, -n_score_values / 4, n_score_values / 4)
    return y, s, sizes


@pytest.fixture(scope="module")
def data():
    return random_queries(2000, seed=7)


# --------------------------------------------------------------------------
# Plain-Python reference (slow, written from the definitions)
# --------------------------------------------------------------------------
def ref_gain(gain):
    if gain == "exp":
        return lambda v: 2 ** int(v) - 1
    if gain == "linear":
        return lambda v: v
    table = list(gain)
    return lambda v: table[int(v)]


def ref_order(y, s, ties):
    """Rank positions by score descending; Python's sort is stable (input order)."""
    if ties == "pessimistic":
        key = lambda i: (-s[i], y[i])  # noqa: E731
    elif ties == "optimistic":
        key = lambda i: (-s[i], -y[i])  # noqa: E731
    else:
        key = lambda i: -s[i]  # noqa: E731
    return sorted(range(len(y)), key=key)


def ref_value_of_ranking(kind, ranked, y, k, gain, empty, threshold, max_grade):
    """Metric of one query whose labels, in ranked order, are `ranked`."""
    m = len(ranked)
    kk = m if not k or k > m else k
    g = ref_gain(gain)
    if kind in ("ndcg", "dcg"):
        dcg = sum(g(ranked[r]) / math.log2(r + 2) for r in range(kk))
        if kind == "dcg":
            return dcg
        ideal = sorted((g(v) for v in y), reverse=True)
        idcg = sum(ideal[r] / math.log2(r + 2) for r in range(kk))
        return empty if idcg == 0 else dcg / idcg
    if kind == "err":
        if all(v == 0 for v in y):
            return empty
        p_reach, err = 1.0, 0.0
        for r in range(kk):
            stop = (2.0 ** ranked[r] - 1.0) / 2.0**max_grade
            err += p_reach * stop / (r + 1)
            p_reach *= 1 - stop
        return err
    relevant = [v > threshold for v in ranked]
    n_relevant = sum(relevant)
    if n_relevant == 0:
        return empty
    if kind == "map":
        hits, total = 0, 0.0
        for r in range(kk):
            if relevant[r]:
                hits += 1
                total += hits / (r + 1)
        return total / min(n_relevant, kk)
    if kind == "mrr":
        return next((1.0 / (r + 1) for r in range(kk) if relevant[r]), 0.0)
    if kind == "precision":
        return sum(relevant[:kk]) / kk
    raise AssertionError(kind)


def ref_query(kind, y, s, k, ties, gain="exp", empty=1.0, threshold=0.0, max_grade=None):
    y = [float(v) for v in y]
    s = [float(v) for v in s]
    if ties == "average":
        return ref_query_tie_average(kind, y, s, k, gain, empty, threshold, max_grade)
    ranked = [y[i] for i in ref_order(y, s, ties)]
    return ref_value_of_ranking(kind, ranked, y, k, gain, empty, threshold, max_grade)


def ref_query_tie_average(kind, y, s, k, gain, empty, threshold, max_grade):
    """Average over every ranking consistent with the scores (brute force)."""
    values = []
    for perm in itertools.permutations(range(len(y))):
        if all(s[perm[i]] >= s[perm[i + 1]] for i in range(len(y) - 1)):
            ranked = [y[i] for i in perm]
            values.append(ref_value_of_ranking(kind, ranked, y, k, gain, empty, threshold, max_grade))
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return values[0]
    return sum(values) / len(values)


def ref_per_query(kind, y, s, sizes, k, ties, gain="exp", empty=1.0, threshold=0.0, max_grade=None):
    ptr = np.concatenate(([0], np.cumsum(sizes)))
    if kind == "err" and max_grade is None:
        max_grade = float(np.max(y))
    empty_value = float("nan") if empty == "skip" else empty
    return np.array(
        [
            ref_query(kind, y[a:b], s[a:b], k, ties, gain, empty_value, threshold, max_grade)
            for a, b in zip(ptr[:-1], ptr[1:])
        ]
    )


def ref_mean(values):
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept)


def call(kind, y, s, **kw):
    return SCORE_FUNCTIONS[kind](y, s, **kw)


def assert_per_query_close(ours, ref):
    ours = np.asarray(ours)
    assert ours.shape == ref.shape
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    ok = ~np.isnan(ref)
    if ok.any():
        assert np.max(np.abs(ours[ok] - ref[ok])) < TOL


# --------------------------------------------------------------------------
# Kernels on tiny hand-made arrays
# --------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 15, 16, 17, 33, 100, 257])
def test_sort_and_select_are_stable_and_apply_tie_rules(n):
    rng = np.random.default_rng(n)
    s = rng.integers(0, 4, n).astype(np.float64)
    y = rng.integers(0, 3, n).astype(np.float64)
    expected = {
        0: np.argsort(-s, kind="stable"),
        -1: np.lexsort((np.arange(n), y, -s)),
        1: np.lexsort((np.arange(n), -y, -s)),
    }
    for tie_sign, want in expected.items():
        idx = np.full(n + 2, -1, dtype=np.int64)
        _sort_query(s, y, tie_sign, idx, np.empty(n, dtype=np.int64))
        assert np.array_equal(idx[:n], want)
        assert np.all(idx[n:] == -1)
        # the one-pass top-k selection gives the same first k rows
        for kk in {1, 2, 5, 10, n}:
            if 1 <= kk <= n:
                idx[:] = -1
                _select_top_query(s, y, tie_sign, kk, idx)
                assert np.array_equal(idx[:kk], want[:kk])
                assert np.all(idx[kk:] == -1)


def test_hand_computed_values():
    # one relevant document ranked second of two: NDCG = DCG = 1 / log2(3)
    y, s = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert ndcg_score(y, s, k=None) == pytest.approx(1 / math.log2(3), abs=1e-15)
    assert dcg_score(y, s, k=None) == pytest.approx(1 / math.log2(3), abs=1e-15)
    assert ndcg_score(y, s, k=1) == 0.0
    assert mrr_score(y, s) == 0.5
    assert precision_score(y, s, k=1) == 0.0
    assert precision_score(y, s, k=2) == 0.5
    # AP of relevant documents at ranks 1 and 3: (1/1 + 2/3) / 2
    y, s = np.array([1.0, 0.0, 1.0]), np.array([3.0, 2.0, 1.0])
    assert map_score(y, s) == pytest.approx((1 + 2 / 3) / 2, abs=1e-15)
    assert map_score(y, s, k=2) == pytest.approx(1.0 / 2, abs=1e-15)  # hits 1 / min(2 relevant, 2)
    assert map_score(y, s, k=1) == 1.0
    # exp gain: labels 2, 0, 1 ranked in that order against the ideal 2, 1, 0
    y, s = np.array([2.0, 0.0, 1.0]), np.array([3.0, 2.0, 1.0])
    dcg = 3 + 0 + 1 / 2
    idcg = 3 + 1 / math.log2(3)
    assert ndcg_score(y, s, k=None) == pytest.approx(dcg / idcg, abs=1e-15)
    assert ndcg_score(y, s, k=None, gain="linear") == pytest.approx((2 + 0.5) / (2 + 1 / math.log2(3)), abs=1e-15)
    assert ndcg_score(y, s, k=None, gain=[0.0, 10.0, 11.0]) == pytest.approx(
        (11 + 10 / 2) / (11 + 10 / math.log2(3)), abs=1e-15
    )
    # ERR with max_grade 2: R = 3/4, 0, 1/4
    assert err_score(y, s) == pytest.approx(0.75 + 0.25 * 0.25 / 3, abs=1e-15)
    assert err_score(y, s, max_grade=3) == pytest.approx(3 / 8 + (5 / 8) * (1 / 8) / 3, abs=1e-15)


def test_tie_rules_on_one_tied_pair():
    # two documents with the same score, the relevant one second in the input
    y, s = np.array([0.0, 1.0]), np.array([1.0, 1.0])
    assert ndcg_score(y, s, ties="input") == pytest.approx(1 / math.log2(3))
    assert ndcg_score(y, s, ties="pessimistic") == pytest.approx(1 / math.log2(3))
    assert ndcg_score(y, s, ties="optimistic") == 1.0
    assert ndcg_score(y, s, ties="average") == pytest.approx((1 + 1 / math.log2(3)) / 2)
    assert ndcg_score(y[::-1], s, ties="input") == 1.0
    assert mrr_score(y, s, ties="average") == pytest.approx(0.75)
    assert precision_score(y, s, k=1, ties="average") == pytest.approx(0.5)


def test_empty_query_policy():
    y = np.array([0.0, 0.0, 2.0, 1.0])
    s = np.array([1.0, 2.0, 1.0, 2.0])
    group = [2, 2]
    for kind in ("ndcg", "map", "mrr", "precision", "err"):
        f = SCORE_FUNCTIONS[kind]
        second = f(y[2:], s[2:])
        assert f(y, s, group=group) == pytest.approx((1 + second) / 2)
        assert f(y, s, group=group, empty=0.0) == pytest.approx(second / 2)
        assert f(y, s, group=group, empty="skip") == pytest.approx(second)
        per_query = f(y, s, group=group, empty="skip", per_query=True)
        assert np.isnan(per_query.iloc[0]) and per_query.iloc[1] == pytest.approx(second)
    # DCG has no empty policy: an all-zero query has DCG 0
    assert dcg_score(y, s, group=group) == pytest.approx(dcg_score(y[2:], s[2:]) / 2)


def test_all_queries_skipped_warns_and_returns_nan():
    with pytest.warns(RuntimeWarning, match="empty='skip'"):
        value = ndcg_score([0, 0, 0], [1, 2, 3], empty="skip")
    assert np.isnan(value)


# --------------------------------------------------------------------------
# Against the plain-Python reference, thousands of queries
# --------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ndcg", "dcg", "map", "mrr", "err", "precision"])
@pytest.mark.parametrize("ties", ["input", "pessimistic", "optimistic"])
@pytest.mark.parametrize("k", [None, 1, 5, 30])
def test_against_reference(data, kind, ties, k):
    y, s, sizes = data
    ref = ref_per_query(kind, y, s, sizes, k, ties)
    ours = call(kind, y, s, group=sizes, k=k, ties=ties, per_query=True)
    assert_per_query_close(ours.to_numpy(), ref)
    assert abs(call(kind, y, s, group=sizes, k=k, ties=ties) - ref_mean(ref)) < TOL


@pytest.mark.parametrize("kind", ["ndcg", "dcg"])
@pytest.mark.parametrize("gain", ["exp", "linear", (0.0, 1.0, 3.0, 4.0, 10.0), (0.5, 0.0, 2.0, 1.0, 0.25)])
@pytest.mark.parametrize("ties", ["input", "pessimistic"])
def test_gains_against_reference(data, kind, gain, ties):
    # the last table is neither increasing nor zero at label 0: the ideal
    # DCG must sort by gain, not by label
    y, s, sizes = data
    for k in (None, 3):
        ref = ref_per_query(kind, y, s, sizes, k, ties, gain=gain)
        ours = call(kind, y, s, group=sizes, k=k, ties=ties, gain=gain, per_query=True)
        assert_per_query_close(ours.to_numpy(), ref)


def test_linear_gain_on_real_valued_labels():
    rng = np.random.default_rng(3)
    y, s, sizes = random_queries(500, seed=3)
    y = y * rng.random(y.shape[0]) * 1.7
    for ties in ("input", "pessimistic", "optimistic"):
        ref = ref_per_query("ndcg", y, s, sizes, 10, ties, gain="linear")
        ours = ndcg_score(y, s, group=sizes, k=10, ties=ties, gain="linear", per_query=True)
        assert_per_query_close(ours.to_numpy(), ref)


@pytest.mark.parametrize("kind", ["ndcg", "map", "mrr", "err", "precision"])
@pytest.mark.parametrize("empty", [1.0, 0.0, "skip"])
def test_empty_policies_against_reference(data, kind, empty):
    y, s, sizes = data
    ref = ref_per_query(kind, y, s, sizes, 5, "input", empty=empty)
    assert np.isnan(ref).any() == (empty == "skip")
    ours = call(kind, y, s, group=sizes, k=5, empty=empty, per_query=True)
    assert_per_query_close(ours.to_numpy(), ref)
    assert abs(call(kind, y, s, group=sizes, k=5, empty=empty) - ref_mean(ref)) < TOL


@pytest.mark.parametrize("kind", ["map", "mrr", "precision"])
@pytest.mark.parametrize("threshold", [0.5, 1.0, 2.5])
def test_relevance_threshold_against_reference(data, kind, threshold):
    y, s, sizes = data
    ref = ref_per_query(kind, y, s, sizes, 5, "pessimistic", threshold=threshold)
    ours = call(kind, y, s, group=sizes, k=5, ties="pessimistic", relevance_threshold=threshold, per_query=True)
    assert_per_query_close(ours.to_numpy(), ref)


@pytest.mark.parametrize("max_grade", [4.0, 6.0])
def test_err_max_grade_against_reference(data, max_grade):
    y, s, sizes = data
    ref = ref_per_query("err", y, s, sizes, 10, "input", max_grade=max_grade)
    ours = err_score(y, s, group=sizes, k=10, max_grade=max_grade, per_query=True)
    assert_per_query_close(ours.to_numpy(), ref)


@pytest.mark.parametrize("kind", ["ndcg", "dcg", "mrr", "precision"])
@pytest.mark.parametrize("k", [None, 1, 2, 4])
def test_tie_average_against_brute_force(kind, k):
    # small queries: every score-consistent permutation is enumerated
    y, s, sizes = random_queries(400, seed=11, max_size=6, n_score_values=3)
    gain = "linear" if kind == "dcg" else "exp"
    ref = ref_per_query(kind, y, s, sizes, k, "average", gain=gain)
    gain_kw = {"gain": gain} if kind in ("ndcg", "dcg") else {}
    ours = call(kind, y, s, group=sizes, k=k, ties="average", per_query=True, **gain_kw)
    assert_per_query_close(ours.to_numpy(), ref)


# --------------------------------------------------------------------------
# Against scikit-learn (tie-averaged DCG, linear gain, empty query = 0)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("k", [None, 1, 5])
def test_against_sklearn_ndcg_and_dcg(data, k):
    from sklearn.metrics import dcg_score as sk_dcg
    from sklearn.metrics import ndcg_score as sk_ndcg

    y, s, sizes = data
    ptr = np.concatenate(([0], np.cumsum(sizes)))
    ours_lin = ndcg_score(y, s, group=sizes, k=k, gain="linear", ties="average", empty=0.0, per_query=True).to_numpy()
    ours_exp = ndcg_score(y, s, group=sizes, k=k, gain="exp", ties="average", empty=0.0, per_query=True).to_numpy()
    ours_dcg = dcg_score(y, s, group=sizes, k=k, gain="linear", ties="average", per_query=True).to_numpy()
    n_compared = 0
    worst = 0.0
    # scikit-learn takes rectangular (n_queries, n_docs) arrays and refuses
    # one-document queries: compare query lengths one at a time.
    for m in np.unique(sizes):
        if m < 2:
            continue
        which = np.flatnonzero(sizes == m)
        rows = ptr[which][:, None] + np.arange(m)
        Y, S = y[rows], s[rows]
        diffs = (
            sk_ndcg(Y, S, k=k) - ours_lin[which].mean(),
            # exponential gain = linear gain on the labels 2**y - 1
            sk_ndcg(2.0**Y - 1.0, S, k=k) - ours_exp[which].mean(),
            sk_dcg(Y, S, k=k) - ours_dcg[which].mean(),
        )
        worst = max(worst, *map(abs, diffs))
        n_compared += len(which)
    print(f"\nscikit-learn ndcg/dcg k={k}: {n_compared} queries, max |ours - sklearn| = {worst:.3g}")
    assert worst < TOL
    assert n_compared > 1800


def test_against_sklearn_per_query(data):
    from sklearn.metrics import ndcg_score as sk_ndcg

    y, s, sizes = data
    ptr = np.concatenate(([0], np.cumsum(sizes)))
    ours = ndcg_score(y, s, group=sizes, k=5, gain="linear", ties="average", empty=0.0, per_query=True).to_numpy()
    worst, n_compared = 0.0, 0
    for q in range(400):
        a, b = ptr[q], ptr[q + 1]
        if b - a >= 2:
            worst = max(worst, abs(sk_ndcg([y[a:b]], [s[a:b]], k=5) - ours[q]))
            n_compared += 1
    print(f"\nscikit-learn ndcg@5 one query at a time: {n_compared} queries, max |ours - sklearn| = {worst:.3g}")
    assert worst < TOL


# --------------------------------------------------------------------------
# Against LightGBM's own metrics (evals_result_)
# --------------------------------------------------------------------------
def _lgbm_eval_fit(model, X, y, group, X_eval, y_eval, group_eval, eval_at):
    import inspect

    if "eval_X" in inspect.signature(model.fit).parameters:
        eval_kw = dict(eval_X=(X_eval,), eval_y=(y_eval,))
    else:
        eval_kw = dict(eval_set=[(X_eval, y_eval)])
    model.fit(X, y, group=group, eval_group=[group_eval], eval_at=eval_at, **eval_kw)
    return model.evals_result_["valid_0"]


def _lgbm_data(n_queries, seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 40, n_queries)
    n = sizes.sum()
    q = np.repeat(np.arange(n_queries), sizes)
    # Features on a few values so that predictions tie heavily.
    X = np.round(rng.normal(size=(n, 4)))
    y = np.clip(np.round(X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=n) + 1), 0, 4)
    y[(rng.random(n_queries) < 0.15)[q]] = 0.0
    return X, y, sizes


@pytest.fixture(scope="module")
def lgbm_runs():
    lgb = pytest.importorskip("lightgbm")
    X, y, g = _lgbm_data(1000, seed=1)
    Xe, ye, ge = _lgbm_data(3000, seed=2)
    eval_at = [1, 3, 5, 10]
    runs = {}
    params = dict(objective="lambdarank", n_estimators=5, num_leaves=8, min_child_samples=20, n_jobs=1, verbose=-1)
    for metric, extra in (("ndcg", {}), ("map", {}), ("ndcg", {"label_gain": [0.0, 1.0, 2.0, 5.0, 9.0]})):
        model = lgb.LGBMRanker(metric=metric, **params, **extra)
        result = _lgbm_eval_fit(model, X, y, g, Xe, ye, ge, eval_at)
        scores = [model.booster_.predict(Xe, raw_score=True, num_iteration=i) for i in range(1, 6)]
        runs[(metric, "label_gain" in extra)] = (result, scores, extra.get("label_gain"))
    return runs, ye, ge, eval_at


@pytest.mark.parametrize("metric,custom_gain", [("ndcg", False), ("map", False), ("ndcg", True)])
def test_against_lightgbm(lgbm_runs, metric, custom_gain):
    runs, ye, ge, eval_at = lgbm_runs
    result, scores, label_gain = runs[(metric, custom_gain)]
    ptr = np.concatenate(([0], np.cumsum(ge))).astype(np.int64)
    n_tied = sum(len(sc) - sum(len(np.unique(sc[a:b])) for a, b in zip(ptr[:-1], ptr[1:])) for sc in scores)
    assert n_tied > 10000  # the comparison really exercises ties
    assert (np.add.reduceat(ye, ptr[:-1]) == 0).sum() > 200  # and all-zero queries
    worst = 0.0
    for it, s in enumerate(scores):
        for k in eval_at:
            if metric == "ndcg":
                ours = ndcg_score(ye, s, group=ge, k=k, gain=label_gain if custom_gain else "exp")
                fast = evaluate(f"ndcg@{k}", ye, s, ptr, label_gain=label_gain)
            else:
                ours = map_score(ye, s, group=ge, k=k)
                fast = evaluate(f"map@{k}", ye, s, ptr)
            assert fast == ours
            worst = max(worst, abs(ours - result[f"{metric}@{k}"][it]))
    print(f"\nLightGBM {metric}@{eval_at} (label_gain={label_gain}): {len(ge)} queries x {len(scores)} "
          f"iterations, max |ours - LightGBM| = {worst:.3g}")
    assert worst < TOL
    # the tie rule matters here: pessimistic ties give clearly different numbers
    pessimistic = ndcg_score(ye, scores[0], group=ge, k=3, ties="pessimistic")
    assert abs(pessimistic - ndcg_score(ye, scores[0], group=ge, k=3)) > 1e-3


def test_against_xgboost():
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(5)
    n_queries = 1000
    sizes = rng.integers(1, 30, n_queries)
    qid = np.repeat(np.arange(n_queries), sizes)
    X = np.round(rng.normal(size=(sizes.sum(), 3)), 1)
    y = rng.integers(0, 2, sizes.sum()).astype(np.float64)
    y[(rng.random(n_queries) < 0.2)[qid]] = 0.0
    dtrain = xgb.DMatrix(X, y, qid=qid)
    names = ["ndcg@5", "ndcg@5-", "map@5", "map@5-", "map", "pre@3", "pre@10"]
    booster = xgb.train({"objective": "rank:ndcg", "eval_metric": names}, dtrain, 3)
    reported = dict(item.split(":") for item in booster.eval(dtrain).split("\t")[1:])
    s = booster.predict(dtrain, output_margin=True)
    ours = {
        "eval-ndcg@5": ndcg_score(y, s, qid=qid, k=5),
        "eval-ndcg@5-": ndcg_score(y, s, qid=qid, k=5, empty=0.0),
        "eval-map@5": map_score(y, s, qid=qid, k=5),
        "eval-map@5-": map_score(y, s, qid=qid, k=5, empty=0.0),
        "eval-map": map_score(y, s, qid=qid),
        "eval-pre@3": precision_score(y, s, qid=qid, k=3, empty=0.0),
        "eval-pre@10": precision_score(y, s, qid=qid, k=10, empty=0.0),
    }
    worst = max(abs(float(reported[name]) - value) for name, value in ours.items())
    print(f"\nXGBoost {names}: {n_queries} queries, max |ours - XGBoost| = {worst:.3g} (XGBoost prints 17 digits)")
    for name, value in ours.items():
        assert abs(float(reported[name]) - value) < TOL, name


# --------------------------------------------------------------------------
# qid handling, per-query output, metric names, determinism
# --------------------------------------------------------------------------
def test_qid_any_order_and_per_query_series(data):
    y, s, sizes = data
    qid = np.repeat(np.arange(len(sizes)) * 3 + 100, sizes)
    perm = np.random.default_rng(0).permutation(len(y))
    grouped = ndcg_score(y, s, group=sizes, k=5, per_query=True)
    shuffled = ndcg_score(y[perm], s[perm], qid=qid[perm], k=5, ties="pessimistic", per_query=True)
    expected = ndcg_score(y, s, qid=qid, k=5, ties="pessimistic", per_query=True)
    assert list(shuffled.index) == list(np.arange(len(sizes)) * 3 + 100)
    assert shuffled.index.name == "qid" and shuffled.name == "ndcg@5"
    assert np.array_equal(shuffled.to_numpy(), expected.to_numpy())
    assert np.array_equal(grouped.index, np.arange(len(sizes)))
    # string ids, any order
    names = np.array([f"q{i:05d}" for i in range(len(sizes))])[np.repeat(np.arange(len(sizes)), sizes)]
    by_name = ndcg_score(y[perm], s[perm], qid=names[perm], k=5, ties="pessimistic", per_query=True)
    assert np.array_equal(by_name.to_numpy(), expected.to_numpy())
    # no qid and no group: one query
    assert ndcg_score(y[:30], s[:30], k=None) == ndcg_score(y[:30], s[:30], group=[30], k=None)


def test_parse_metric_names():
    assert parse_metric("NDCG@10").name == "ndcg@10"
    assert parse_metric("ndcg").k == 0 and parse_metric("ndcg").name == "ndcg"
    assert parse_metric("ndcg@0").name == "ndcg"
    assert parse_metric("map").name == "map"
    assert parse_metric("Map@5").name == "map@5"
    assert parse_metric("mrr").name == "mrr" and parse_metric("mrr@10").k == 10
    assert parse_metric("err@20").name == "err@20"
    assert parse_metric("p@5").name == "precision@5" == parse_metric("precision@5").name
    assert all(parse_metric(n).higher_is_better for n in ("ndcg@1", "dcg@3", "map", "mrr", "err@5", "p@5"))
    # options; those a metric does not use are ignored (one option set for all metrics)
    m = parse_metric("ndcg@5", label_gain=[0, 1, 3], ties="pessimistic", empty="skip")
    assert m.gain == "table" and list(m.gain_table) == [0, 1, 3] and m.ties == "pessimistic" and m.empty == "skip"
    assert parse_metric("map@5", label_gain=[0, 1, 3]).gain == "exp"
    assert parse_metric("map@5", gain="linear").gain == "exp"
    assert parse_metric("ndcg@5", label_gain=None).gain == "exp"
    assert parse_metric("dcg@5", empty=0.0).empty == 1.0
    assert parse_metric(m) is m
    assert parse_metric(m, ties="input").ties == "input"
    assert parse_metric(m, label_gain=[0, 2]).gain_table.tolist() == [0, 2]
    assert parse_metric(m, gain="linear").gain == "linear"
    assert Metric(**m.get_params()) == m
    assert "pessimistic" in repr(m)


def test_evaluate_and_metric_objects_match_public_functions(data):
    y, s, sizes = data
    ptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    for name, f, kw in (
        ("ndcg@10", ndcg_score, dict(k=10)),
        ("dcg@3", dcg_score, dict(k=3)),
        ("map@5", map_score, dict(k=5)),
        ("mrr", mrr_score, dict(k=None)),
        ("err@10", err_score, dict(k=10)),
        ("p@3", precision_score, dict(k=3)),
    ):
        assert evaluate(name, y, s, ptr) == f(y, s, group=sizes, **kw)
        assert evaluate(name, y, s, ptr, ties="optimistic") == f(y, s, group=sizes, ties="optimistic", **kw)
        metric = parse_metric(name)
        assert np.array_equal(metric.per_query(y, s, ptr), f(y, s, group=sizes, per_query=True, **kw).to_numpy())


def test_same_result_for_any_thread_count(data):
    y, s, sizes = data
    ptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    metric = parse_metric("ndcg@10")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = metric.per_query(y, s, ptr)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = metric.per_query(y, s, ptr)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(one, many)


def test_driver_handles_zero_size_queries():
    # group_ptr built by hand may contain empty queries: they are "empty"
    y = np.array([1.0, 0.0])
    s = np.array([0.0, 1.0])
    out = np.empty(3)
    _metric_per_query(0, y, s, np.array([0, 0, 2, 2], dtype=np.int64), 0, True, np.zeros(1), 0, 1.0, 0.0, 1.0, out)
    assert out[0] == 1.0 and out[2] == 1.0 and out[1] == pytest.approx(1 / math.log2(3))


# --------------------------------------------------------------------------
# Properties (hypothesis)
# --------------------------------------------------------------------------
@st.composite
def ranking_data(draw, max_queries=12, max_size=12):
    n_queries = draw(st.integers(1, max_queries))
    sizes = draw(st.lists(st.integers(1, max_size), min_size=n_queries, max_size=n_queries))
    n = sum(sizes)
    y = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    # few distinct scores: many ties
    s = draw(st.lists(st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0]), min_size=n, max_size=n))
    return np.array(y, dtype=np.float64), np.array(s), np.array(sizes)


NORMALISED = ["ndcg", "map", "mrr", "err", "precision"]


@settings(max_examples=60, deadline=None)
@given(
    ranking_data(),
    st.sampled_from(NORMALISED),
    st.sampled_from(["input", "pessimistic", "optimistic"]),
    st.sampled_from([None, 1, 3, 20]),
)
def test_normalised_metrics_lie_in_unit_interval(d, kind, ties, k):
    y, s, sizes = d
    values = call(kind, y, s, group=sizes, k=k, ties=ties, empty="skip", per_query=True).to_numpy()
    values = values[~np.isnan(values)]
    assert np.all(values >= 0.0) and np.all(values <= 1.0 + 1e-12)


@settings(max_examples=60, deadline=None)
@given(
    ranking_data(),
    st.sampled_from(["input", "pessimistic", "optimistic", "average"]),
    st.sampled_from(["exp", "linear", (0.0, 0.5, 2.0, 2.5, 7.0)]),
    st.sampled_from([None, 1, 3]),
)
def test_ndcg_of_true_labels_is_one(d, ties, gain, k):
    y, _, sizes = d
    values = ndcg_score(y, y, group=sizes, k=k, ties=ties, gain=gain, empty="skip", per_query=True).to_numpy()
    ptr = np.concatenate(([0], np.cumsum(sizes)))
    has_relevant = np.array([y[a:b].max() > 0 for a, b in zip(ptr[:-1], ptr[1:])])
    assert np.array_equal(~np.isnan(values), has_relevant)
    assert np.allclose(values[has_relevant], 1.0, rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    ranking_data(),
    st.sampled_from(["ndcg", "dcg", "map", "mrr", "err", "precision"]),
    st.sampled_from(["pessimistic", "optimistic", "average"]),
    st.randoms(use_true_random=False),
)
def test_invariant_to_row_permutations_with_qid(d, kind, ties, rnd):
    if ties == "average" and kind in ("map", "err"):
        ties = "pessimistic"
    y, s, sizes = d
    qid = np.repeat(np.arange(len(sizes)), sizes)
    perm = np.arange(len(y))
    rnd.shuffle(perm)
    a = call(kind, y, s, qid=qid, k=3, ties=ties, per_query=True)
    b = call(kind, y[perm], s[perm], qid=qid[perm], k=3, ties=ties, per_query=True)
    # the Series is indexed by query id; its order follows the layout
    assert sorted(b.index) == list(a.index)
    assert_per_query_close(b.reindex(a.index).to_numpy(), a.to_numpy())
    assert abs(call(kind, y[perm], s[perm], qid=qid[perm], k=3, ties=ties) - a.mean()) < TOL


@settings(max_examples=40, deadline=None)
@given(ranking_data(max_queries=6, max_size=7), st.sampled_from(["ndcg", "dcg", "map", "mrr", "err", "precision"]))
def test_tie_rules_bracket_every_order(d, kind):
    # pessimistic <= input <= optimistic for the metrics that reward relevant
    # documents higher up (labels tie-broken by label)
    y, s, sizes = d
    kw = dict(group=sizes, k=3, per_query=True)
    if kind == "err":
        kw["max_grade"] = 4
    lo = call(kind, y, s, ties="pessimistic", **kw).to_numpy()
    mid = call(kind, y, s, ties="input", **kw).to_numpy()
    hi = call(kind, y, s, ties="optimistic", **kw).to_numpy()
    assert np.all(lo <= mid + 1e-12) and np.all(mid <= hi + 1e-12)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call_, match",
    [
        (lambda: ndcg_score([1, 0, 2], [0.1, 0.2]), "y_score has 2"),
        (lambda: ndcg_score([1, np.nan], [0.1, 0.2]), "y_true contains NaN"),
        (lambda: ndcg_score([1, 0], [0.1, np.inf]), "y_score contains NaN or infinite"),
        (lambda: map_score([1, 0], [np.nan, 0.2]), "y_score contains NaN"),
        (lambda: ndcg_score([1, -1], [0.1, 0.2]), "y_true must be non-negative"),
        (lambda: mrr_score([1, -1], [0.1, 0.2]), "y_true must be non-negative"),
        (lambda: ndcg_score([1, 0.5], [0.1, 0.2]), "integer labels with gain='exp'.*gain='linear'"),
        (lambda: ndcg_score([1, 0.5], [0.1, 0.2], gain=[0, 1, 2]), "integer labels with the label_gain table"),
        (lambda: ndcg_score([1, 3], [0.1, 0.2], gain=[0, 1, 2]), "label_gain has only 3 entries"),
        (lambda: ndcg_score([1, 31], [0.1, 0.2]), "gain='exp' allows labels up to 30.*label_gain"),
        (lambda: dcg_score([1, 40], [0.1, 0.2]), "pass label_gain"),
        (lambda: err_score([1, 5], [0.1, 0.2], max_grade=4), "above max_grade"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], k=-1), "k must be"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], k=2.5), "k must be"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], k=True), "k must be"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], k="10"), "k must be"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], gain="log"), "gain must be"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], gain=[[0, 1]]), "label_gain must be"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], gain=[0, -1]), "label_gain must hold"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], ties="random"), "ties must be"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], empty=0.5), "empty must be"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], empty="zero"), "empty must be"),
        (lambda: map_score([1, 0], [0.1, 0.2], ties="average"), "ties='average'"),
        (lambda: err_score([1, 0], [0.1, 0.2], ties="average"), "ties='average'"),
        (lambda: map_score([1, 0], [0.1, 0.2], relevance_threshold=np.nan), "relevance_threshold"),
        (lambda: err_score([1, 0], [0.1, 0.2], max_grade=-1), "max_grade"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], qid=[1, 2, 3]), "qid has 3 entries"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], group=[3]), "group sizes sum to 3 but y_true has 2"),
        (lambda: ndcg_score([1, 0], [0.1, 0.2], qid=[1, 1], group=[2]), "either qid"),
        (lambda: ndcg_score([1, 0], [[0.1, 0.2], [0.3, 0.4]]), "y_score must be 1-dimensional"),
        (lambda: ndcg_score(["a", "b"], [0.1, 0.2]), "y_true must hold numbers"),
        (lambda: ndcg_score([], []), "empty"),
        (lambda: parse_metric("auc@3"), "unknown metric 'auc@3'"),
        (lambda: parse_metric("ndcg@ten"), "cut-off after '@'"),
        (lambda: parse_metric("ndcg@5", gain="linear", label_gain=[0, 1]), "either as gain= or as label_gain="),
        (lambda: parse_metric("ndcg@5")([1, 0], [0.1, 0.2], np.array([0, 3])), "group_ptr"),
        (lambda: parse_metric("ndcg@5")([1, 0], [0.1, 0.2], np.array([0, 2, 1, 2])), "group_ptr"),
        (lambda: Metric("auc"), "metric kind"),
    ],
)
def test_errors_name_the_argument(call_, match):
    with pytest.raises(ValueError, match=match):
        call_()


def test_type_errors():
    with pytest.raises(TypeError, match="unknown metric option"):
        parse_metric("ndcg@5", eval_at=3)
    with pytest.raises(TypeError, match="metric name must be a string"):
        parse_metric(5)
    with pytest.raises(TypeError):
        map_score([1, 0], [0.1, 0.2], gain="linear")  # MAP has no gain


def test_accepted_inputs():
    # lists, integer and boolean labels, (n, 1) columns, pandas objects
    import pandas as pd

    y = [1, 0, 2, 0]
    s = [0.3, 0.1, 0.2, 0.0]
    expected = ndcg_score(np.array(y, float), np.array(s), k=None)
    assert ndcg_score(y, s, k=None) == expected
    assert ndcg_score(np.array(y)[:, None], np.array(s)[:, None], k=None) == expected
    assert ndcg_score(pd.Series(y), pd.Series(s), k=None) == expected
    assert ndcg_score(y, s, k=np.int64(0)) == expected
    assert map_score(np.array([True, False]), [0.1, 0.2]) == 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ndcg_score(y, s)  # small single query: no warning
