"""Property-based tests (hypothesis): random inputs never crash outside the documented errors.

Random shapes, query layouts (ids in any order, strings, sizes, none),
labels with ties, NaNs, constant and all-NaN columns, duplicated rows and
extreme raw scores go through ``fit`` / ``predict`` / ``score``, the
metrics, the query layout and every registered objective:

* valid inputs never raise; predictions and gradients are finite, hessians
  non-negative, degenerate queries get zero gradients from the ranking
  objectives (calibrated ones add a pointwise term there, by design);
* the normalised metrics stay in [0, 1];
* invalid inputs raise only the errors of ``docs/errors.md``
  (``ltr._validation.LTRValueError`` and subclasses).

The examples are shared out of a budget of 2,000 (the CI default); set
``LTR_FUZZ_EXAMPLES`` for more, e.g. ``LTR_FUZZ_EXAMPLES=20000``. Shapes are
tiny (<= 30 rows, 1-3 trees) so that the whole file runs in well under a
minute.
"""
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ltr import LambdaRanker
from ltr._query import make_layout
from ltr._validation import LTRValueError
from ltr.metrics import Metric
from ltr.objectives import canonical_objectives, get_objective

from test_reliability import KNOWN_DEGENERATE_GRADIENT

#: Total examples over this file (CI default 2,000).
TOTAL_EXAMPLES = int(os.environ.get("LTR_FUZZ_EXAMPLES", "2000"))

#: Share of the budget per test (sums to 1).
SHARES = {
    "test_fit_predict_score_valid_inputs": 0.16,
    "test_fit_rejects_invalid_inputs_with_documented_errors": 0.14,
    "test_metrics_stay_in_unit_interval": 0.26,
    "test_metrics_reject_invalid_inputs_with_documented_errors": 0.10,
    "test_objectives_give_finite_gradients": 0.24,
    "test_query_layout_round_trip": 0.10,
}
assert abs(sum(SHARES.values()) - 1.0) < 1e-9


def fuzz_settings(name):
    return settings(
        max_examples=max(10, round(TOTAL_EXAMPLES * SHARES[name])),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        derandomize=os.environ.get("LTR_FUZZ_DERANDOMIZE", "1") == "1",
    )


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Tiny inputs: waking a thread pool for each kernel costs more than the work.
    # (Thread counts are covered by tests/test_determinism.py.)
    import numba

    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(previous)


def test_fuzz_budget():
    assert sum(max(10, round(TOTAL_EXAMPLES * s)) for s in SHARES.values()) >= TOTAL_EXAMPLES


OBJECTIVES = canonical_objectives()

# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------
#: Few distinct values: ties, duplicated rows, a NaN now and then.
FEATURE_VALUES = st.one_of(
    st.sampled_from([0.0, 1.0, -1.0, 0.5, 2.0, 1e6, -1e-6, np.nan]),
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32),
)


@st.composite
def ranking_problem(draw, max_queries=5, max_size=6, max_features=3):
    """(X, y, sizes, qid, group, position) with labels 0..4 and one of four query layouts."""
    n_queries = draw(st.integers(1, max_queries))
    sizes = np.array(draw(st.lists(st.integers(1, max_size), min_size=n_queries, max_size=n_queries)))
    n = int(sizes.sum())
    n_features = draw(st.integers(1, max_features))
    X = np.array(draw(st.lists(FEATURE_VALUES, min_size=n * n_features, max_size=n * n_features)),
                 dtype=np.float64).reshape(n, n_features)
    for f in range(n_features):
        kind = draw(st.sampled_from(["data", "data", "data", "constant", "all_nan"]))
        if kind == "constant":
            X[:, f] = 0.25
        elif kind == "all_nan":
            X[:, f] = np.nan
    y = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), dtype=np.float64)
    position = np.concatenate([np.arange(1, s + 1) for s in sizes])
    layout = draw(st.sampled_from(["qid", "qid_shuffled", "qid_strings", "group", "none"]))
    ids = np.repeat(np.array(draw(st.lists(st.integers(-50, 50), min_size=n_queries, max_size=n_queries,
                                           unique=True))), sizes)
    qid = group = None
    if layout == "group":
        group = sizes
    elif layout.startswith("qid"):
        qid = ids
        if layout == "qid_strings":
            qid = np.array([f"q{v}" for v in ids], dtype=object)
        if layout != "qid":
            perm = np.array(draw(st.permutations(range(n))))
            X, y, qid, position = X[perm], y[perm], qid[perm], position[perm]
    return X, y, sizes, qid, group, position


def labels_for(objective, y):
    """Graded labels 0..4 when the objective takes them, else binary relevance."""
    try:
        get_objective(objective).validate_labels(y)
        return y
    except ValueError:
        return (y >= 2).astype(np.float64)


fit_params = st.fixed_dictionaries({
    "n_estimators": st.integers(1, 3),
    "num_leaves": st.integers(2, 4),
    "min_child_samples": st.integers(1, 3),
    "max_bin": st.sampled_from([2, 3, 255]),
    "reg_lambda": st.sampled_from([0.0, 1.0]),
    "reg_alpha": st.sampled_from([0.0, 0.5]),
    "subsample": st.sampled_from([1.0, 0.5]),
    "subsample_freq": st.sampled_from([0, 1]),
    "colsample_bytree": st.sampled_from([1.0, 0.5]),
    "learning_rate": st.sampled_from([0.1, 1.0]),
    "random_state": st.integers(0, 3),
})


# --------------------------------------------------------------------------
# fit / predict / score
# --------------------------------------------------------------------------
@fuzz_settings("test_fit_predict_score_valid_inputs")
@given(ranking_problem(), fit_params, st.sampled_from(OBJECTIVES), st.booleans(), st.booleans(), st.data())
def test_fit_predict_score_valid_inputs(problem, params, objective, weighted, with_eval, data):
    X, y, sizes, qid, group, position = problem
    y = labels_for(objective, y)
    w = None
    if weighted:
        w = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=len(y), max_size=len(y))))
        w[0] = 1.0  # at least one positive weight
    kw = dict(qid=qid, group=group, sample_weight=w, position=position)
    if with_eval:
        kw.update(eval_set=[(X, y)], eval_qid=None if qid is None else [qid],
                  eval_group=None if group is None else [group])
    model = LambdaRanker(objective=objective, n_jobs=1, **params).fit(X, y, **kw)
    pred = model.predict(X)
    assert pred.shape == (len(y),) and np.all(np.isfinite(pred))
    # new rows with NaNs and values outside the training range
    X2 = np.where(np.isnan(X), 7.0, np.nan)
    assert np.all(np.isfinite(model.predict(X2)))
    if objective in ("lambdamart", "regression") or np.all(y == np.floor(y)):
        s = model.score(X, y, qid=qid, group=group)
        assert 0.0 <= s <= 1.0
    if with_eval:
        hist = model.evals_result_["valid_0"]["ndcg@10"]
        assert len(hist) == model.n_iter_ and all(0.0 <= v <= 1.0 for v in hist)


#: Applied in this order: changes of values first, then of shapes.
MUTATIONS = [
    "label_nan", "label_inf", "label_negative", "label_fraction", "label_31", "x_inf", "weight_negative",
    "weight_nan", "weights_zero", "position_zero", "qid_short", "qid_nan", "group_sum", "group_zero",
    "qid_and_group", "label_none", "label_short", "x_zero_rows", "x_zero_features", "x_strings_frame",
    "eval_no_qid", "eval_width", "predict_width", "predict_inf",
]


@fuzz_settings("test_fit_rejects_invalid_inputs_with_documented_errors")
@given(ranking_problem(max_queries=3, max_size=5), st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3,
                                                             unique=True), st.data())
def test_fit_rejects_invalid_inputs_with_documented_errors(problem, mutations, data):
    X, y, sizes, qid, group, position = problem
    n = len(y)
    row = data.draw(st.integers(0, n - 1))
    kw = dict(qid=qid, group=group)
    predict_X = None
    for m in sorted(mutations, key=MUTATIONS.index):
        y = None if y is None else y.copy()
        if m.startswith("label_") and y is None:
            continue
        if m == "label_nan":
            y[row] = np.nan
        elif m == "label_inf":
            y[row] = -np.inf
        elif m == "label_negative":
            y[row] = -1.0
        elif m == "label_fraction":
            y[row] = 0.5
        elif m == "label_31":
            y[row] = 31.0
        elif m == "label_none":
            y = None
        elif m == "label_short":
            y = y[:-1]
        elif m == "qid_short":
            kw["qid"], kw["group"] = np.zeros(n + 1), None
        elif m == "qid_nan":
            q = np.zeros(n)
            q[row] = np.nan
            kw["qid"], kw["group"] = q, None
        elif m == "group_sum":
            kw["qid"], kw["group"] = None, [n + 1]
        elif m == "group_zero":
            kw["qid"], kw["group"] = None, [n, 0]
        elif m == "qid_and_group":
            kw["qid"], kw["group"] = np.zeros(n), [n]
        elif m == "x_inf":
            X = X.copy()
            X[row, 0] = np.inf
        elif m == "x_zero_rows":
            X = X[:0]
        elif m == "x_zero_features":
            X = X[:, :0]
        elif m == "x_strings_frame":
            import pandas as pd

            X = pd.DataFrame(X).assign(text=["a"] * X.shape[0])
        elif m == "weight_negative":
            w = np.ones(n)
            w[row] = -1.0
            kw["sample_weight"] = w
        elif m == "weight_nan":
            w = np.ones(n)
            w[row] = np.nan
            kw["sample_weight"] = w
        elif m == "weights_zero":
            kw["sample_weight"] = np.zeros(n)
        elif m == "position_zero":
            kw["position"] = np.zeros(n, dtype=int)
        elif m == "eval_no_qid":
            kw["eval_set"] = [(np.zeros((2, 1)), [0, 1])]
            kw["qid"], kw["group"] = np.zeros(n), None
        elif m == "eval_width":
            kw["eval_set"] = [(np.zeros((1, 9)), [0])]
        elif m == "predict_width":
            predict_X = np.zeros((2, 9))
        elif m == "predict_inf":
            predict_X = np.full((2, 3), np.inf)
    with pytest.raises(LTRValueError):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LambdaRanker(n_estimators=2, num_leaves=3, min_child_samples=1, n_jobs=1).fit(X, y, **kw)
            if predict_X is None:
                raise AssertionError(f"{mutations} were accepted")
            model.predict(predict_X)


# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------
@st.composite
def metric_case(draw):
    n_queries = draw(st.integers(1, 6))
    sizes = draw(st.lists(st.integers(1, 8), min_size=n_queries, max_size=n_queries))
    n = sum(sizes)
    y = np.array(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), dtype=np.float64)
    s = np.array(draw(st.lists(st.one_of(st.sampled_from([-1.0, 0.0, 0.5, 1.0]),
                                         st.floats(-1e300, 1e300, allow_nan=False)), min_size=n, max_size=n)))
    kind = draw(st.sampled_from(["ndcg", "dcg", "map", "mrr", "err", "precision"]))
    opts = {"k": draw(st.sampled_from([None, 0, 1, 2, 3, 5, 30]))}
    opts["ties"] = draw(st.sampled_from(["input", "pessimistic", "optimistic"]
                                        + (["average"] if kind in ("ndcg", "dcg", "precision", "mrr") else [])))
    if kind in ("ndcg", "dcg"):
        gain = draw(st.sampled_from(["exp", "linear", "table"]))
        opts["gain"] = [0.0, 1.0, 2.5, 2.5, 7.0, 100.0] if gain == "table" else gain
        if gain == "linear":
            y = y + np.array(draw(st.lists(st.sampled_from([0.0, 0.25]), min_size=n, max_size=n)))
    if kind != "dcg":
        opts["empty"] = draw(st.sampled_from([1.0, 0.0, "skip"]))
    if kind in ("map", "mrr", "precision"):
        opts["relevance_threshold"] = draw(st.sampled_from([0.0, 1.5]))
    if kind == "err":
        opts["max_grade"] = draw(st.sampled_from([None, 5.0]))
    layout = draw(st.sampled_from(["qid", "group"]))
    perm = np.array(draw(st.permutations(range(n))))
    return y, s, np.array(sizes), kind, opts, layout, perm


@fuzz_settings("test_metrics_stay_in_unit_interval")
@given(metric_case())
def test_metrics_stay_in_unit_interval(case):
    from ltr import metrics

    y, s, sizes, kind, opts, layout, perm = case
    fn = getattr(metrics, f"{kind}_score" if kind != "precision" else "precision_score")
    if layout == "qid":
        qid = np.repeat(np.arange(len(sizes)), sizes)[perm]
        args = dict(qid=qid)
        y, s = y[perm], s[perm]
    else:
        args = dict(group=sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # every query skipped: NaN, documented
        per_query = fn(y, s, per_query=True, **args, **opts).to_numpy()
        mean = fn(y, s, **args, **opts)
    assert per_query.shape == (len(sizes),)
    values = per_query[~np.isnan(per_query)]
    if opts.get("empty") != "skip":
        assert values.size == len(sizes)
    assert np.all(np.isfinite(values)) and np.all(values >= 0.0)
    if kind != "dcg":
        assert np.all(values <= 1.0 + 1e-12)
        assert np.isnan(mean) or 0.0 <= mean <= 1.0 + 1e-12
    # the metric object on grouped arrays gives the same values (training path)
    if layout == "group":
        metric = Metric(kind, opts["k"], **{k: v for k, v in opts.items() if k != "k"})
        np.testing.assert_array_equal(metric.per_query(y, s, np.concatenate([[0], np.cumsum(sizes)])), per_query)


@fuzz_settings("test_metrics_reject_invalid_inputs_with_documented_errors")
@given(metric_case(), st.sampled_from(["label_nan", "label_negative", "label_fraction", "label_31", "score_nan",
                                       "score_inf", "qid_short", "group_sum", "lengths"]), st.data())
def test_metrics_reject_invalid_inputs_with_documented_errors(case, mutation, data):
    from ltr import metrics

    y, s, sizes, kind, opts, layout, perm = case
    y, s = y.copy(), s.copy()
    row = data.draw(st.integers(0, len(y) - 1))
    args = dict(group=sizes)
    kind, opts = "ndcg", {"k": opts["k"]}
    if mutation == "label_nan":
        y[row] = np.nan
    elif mutation == "label_negative":
        y[row] = -2.0
    elif mutation == "label_fraction":
        y[row] = 1.5
    elif mutation == "label_31":
        y[row] = 31.0
    elif mutation == "score_nan":
        s[row] = np.nan
    elif mutation == "score_inf":
        s[row] = np.inf
    elif mutation == "qid_short":
        args = dict(qid=np.zeros(len(y) - 1))
        assume(len(y) > 1)
    elif mutation == "group_sum":
        args = dict(group=np.append(sizes, 1))
    elif mutation == "lengths":
        s = s[:-1]
    with pytest.raises(LTRValueError):
        metrics.ndcg_score(y, s, **args, **opts)


# --------------------------------------------------------------------------
# Objectives
# --------------------------------------------------------------------------
@st.composite
def grouped_labels(draw, max_queries=6, max_size=8):
    """(y, group_ptr, raw scores): labels 0..4 with ties, scores with ties and extremes."""
    sizes = draw(st.lists(st.integers(1, max_size), min_size=1, max_size=max_queries))
    n = sum(sizes)
    y = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)), dtype=np.float64)
    raw = np.array(draw(st.lists(st.one_of(st.sampled_from([0.0, 1.0, -1.0]), st.floats(-1e6, 1e6)),
                                 min_size=n, max_size=n)))
    return y, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64), raw


@fuzz_settings("test_objectives_give_finite_gradients")
@given(st.sampled_from(OBJECTIVES), grouped_labels(), st.integers(0, 5), st.booleans())
def test_objectives_give_finite_gradients(objective, case, iteration, weighted):
    y, group_ptr, raw = case
    y = labels_for(objective, y)
    n = len(y)
    sizes = np.diff(group_ptr)
    position = np.concatenate([np.arange(1, s + 1) for s in sizes])
    w = np.linspace(0.5, 2.0, n) if weighted else None
    obj = get_objective(objective)
    obj.validate_labels(y)
    obj.setup(y, group_ptr, sample_weight=w, seed=iteration, position=position)
    g = np.zeros(n)
    h = np.zeros(n)
    obj.gradient_hessian(raw, g, h, iteration)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(h)) and np.all(h >= 0.0)
    assert np.isfinite(obj.init_score())
    if obj.is_ranking and not obj.produces_probabilities and objective not in KNOWN_DEGENERATE_GRADIENT:
        # (calibrated objectives -- rcr, sigmoid_softmax -- add a pointwise term that
        # does reach such queries: that is their calibration, by design)
        for q in range(len(sizes)):
            a, b = group_ptr[q], group_ptr[q + 1]
            if b - a == 1 or np.all(y[a:b] == y[a]):
                assert not g[a:b].any() and not h[a:b].any(), "a degenerate query got a gradient"


# --------------------------------------------------------------------------
# Query layout
# --------------------------------------------------------------------------
@fuzz_settings("test_query_layout_round_trip")
@given(st.lists(st.one_of(st.integers(-3, 3), st.sampled_from([10**12, -(10**12)])), min_size=1, max_size=30),
       st.sampled_from(["int", "float", "str", "object"]))
def test_query_layout_round_trip(ids, kind):
    qid = {"int": np.array(ids), "float": np.array(ids, dtype=float), "str": np.array([str(i) for i in ids]),
           "object": np.array([f"q{i}" for i in ids], dtype=object)}[kind]
    n = len(ids)
    layout = make_layout(n, qid=qid)
    rows = np.arange(n, dtype=np.float64)
    grouped = layout.to_grouped(rows)
    ptr = layout.group_ptr
    assert ptr[0] == 0 and ptr[-1] == n and np.all(np.diff(ptr) > 0)
    assert len(layout.query_ids) == len(set(qid.tolist())) == layout.n_queries
    for q in range(layout.n_queries):
        members = grouped[ptr[q]:ptr[q + 1]].astype(int)
        assert len(set(qid[members].tolist())) == 1
        assert np.all(np.diff(members) > 0)  # stable: input order inside a query
    np.testing.assert_array_equal(layout.to_caller(grouped), rows)
