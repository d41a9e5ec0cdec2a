"""LambdaMART gradients: a plain-Python reference, invariances, LightGBM parity."""
import json
import math
import zlib

import numba
import numpy as np
import pytest

from ltr.objectives import get_objective, objective_from_dict
from ltr.objectives._base import new_grad_hess
from ltr.objectives.lambdamart import (
    LambdaMART,
    _lambdarank_query,
    dcg_discount,
    default_label_gain,
)

#: LightGBM's `0.01f`, promoted to double.
OFFSET = float(np.float32(0.01))


# ---------------------------------------------------------------------------
# Plain-Python reference, written from the formula (algorithms.md 1.1)
# ---------------------------------------------------------------------------
def _logistic_pair(x):
    """(1 / (1 + e^x), 1 / (1 + e^-x)) without overflow."""
    if x >= 0:
        e = math.exp(-x)
        return e / (1 + e), 1 / (1 + e)
    e = math.exp(x)
    return 1 / (1 + e), e / (1 + e)


def reference_query(y, s, sigma=1.0, k=30, norm=True, label_gain=None):
    """LambdaRank g and h of one query, by enumerating all pairs in input order.

    Returns g, h and, per document, the sum of the absolute values of the
    terms added into g (the scale that rounding errors of g are relative to).
    """
    y = [float(v) for v in y]
    s = [float(v) for v in s]
    n = len(y)
    gain = list(default_label_gain()) if label_gain is None else [float(v) for v in label_gain]
    g, h, g_abs = [0.0] * n, [0.0] * n, [0.0] * n
    if n <= 1:
        return np.array(g), np.array(h), np.array(g_abs)
    # Python's sort is stable: ties keep their input order.
    ranked = sorted(range(n), key=lambda i: -s[i])
    rank = [0] * n
    for r, i in enumerate(ranked):
        rank[i] = r

    def D(r):
        return 1.0 / math.log2(r + 2)

    ideal = sorted(y, reverse=True)[: min(k, n)]
    idcg = sum(gain[int(v)] * D(r) for r, v in enumerate(ideal))
    if idcg == 0:
        return np.array(g), np.array(h), np.array(g_abs)
    best = s[ranked[0]]
    worst = s[ranked[-1]] if s[ranked[-1]] != -math.inf else s[ranked[-2]]
    S = 0.0
    for u in range(n):
        for v in range(u + 1, n):
            if min(rank[u], rank[v]) >= k or y[u] == y[v]:
                continue
            if s[u] == -math.inf or s[v] == -math.inf:
                continue
            i, j = (u, v) if y[u] > y[v] else (v, u)  # i is the more relevant
            ds = s[i] - s[j]
            dz = (gain[int(y[i])] - gain[int(y[j])]) * abs(D(rank[i]) - D(rank[j])) / idcg
            if norm and best != worst:
                dz /= OFFSET + abs(ds)
            rho, one_minus_rho = _logistic_pair(sigma * ds)
            lam = sigma * rho * dz
            hess = sigma**2 * rho * one_minus_rho * dz
            g[i] -= lam
            g[j] += lam
            g_abs[i] += lam
            g_abs[j] += lam
            h[i] += hess
            h[j] += hess
            S += 2 * lam
    g, h, g_abs = np.array(g), np.array(h), np.array(g_abs)
    if norm and S > 0:
        f = math.log2(1 + S) / S
        g, h, g_abs = g * f, h * f, g_abs * f
    return g, h, g_abs


def _compute(y, s, group_ptr, weight=None, **params):
    obj = get_objective("lambdamart", **params)
    obj.validate_labels(y)
    obj.setup(y, group_ptr, sample_weight=weight)
    g, h = new_grad_hess(len(y))
    obj.gradient_hessian(np.asarray(s, dtype=np.float64), g, h)
    return g, h


def _random_queries(rng, n_queries, max_size=60, n_labels=5):
    """Queries with ties in scores and labels, one-document queries and -inf scores."""
    sizes = rng.integers(1, max_size + 1, size=n_queries)
    sizes[rng.random(n_queries) < 0.1] = 1
    ys, ss = [], []
    for m in sizes:
        kind = rng.integers(6)
        y = rng.integers(0, n_labels, m).astype(float)
        if kind == 0:
            y[:] = y[0]  # all labels equal
        if rng.random() < 0.3:
            s = rng.integers(-2, 3, m).astype(float)  # many tied scores
        elif rng.random() < 0.2:
            s = np.zeros(m)  # first iteration: all scores equal
        else:
            s = rng.normal(size=m) * rng.choice([0.1, 1.0, 10.0, 1e3, 1e6])
        if kind == 1 and m > 2:
            s[rng.choice(m, size=rng.integers(1, m), replace=False)] = -np.inf
        ys.append(y)
        ss.append(s)
    return np.r_[0, np.cumsum(sizes)].astype(np.int64), np.concatenate(ys), np.concatenate(ss)


def _assert_matches_reference(y, s, ptr, **params):
    g, h = _compute(y, s, ptr, **params)
    ref_params = dict(
        sigma=params.get("sigmoid", 1.0),
        k=params.get("lambdarank_truncation_level", 30),
        norm=params.get("lambdarank_norm", True),
        label_gain=params.get("label_gain"),
    )
    worst = 0.0
    for q in range(len(ptr) - 1):
        a, b = ptr[q], ptr[q + 1]
        g_ref, h_ref, g_abs = reference_query(y[a:b], s[a:b], **ref_params)
        # g is a sum of terms of both signs: its rounding error is relative to
        # the sum of their magnitudes. h is a sum of non-negative terms.
        np.testing.assert_array_less(np.abs(g[a:b] - g_ref), 1e-12 * g_abs + 1e-300)
        np.testing.assert_allclose(h[a:b], h_ref, rtol=1e-12, atol=0)
        assert np.all(h[a:b] >= 0)
        if np.any(g_abs > 0):
            worst = max(worst, float(np.max(np.abs(g[a:b] - g_ref)[g_abs > 0] / g_abs[g_abs > 0])))
    return worst


# ---------------------------------------------------------------------------
# Against the reference
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lambdarank_truncation_level": 1},
        {"lambdarank_truncation_level": 5, "sigmoid": 0.5},
        {"lambdarank_truncation_level": 30, "sigmoid": 2.0},
        {"lambdarank_truncation_level": 1000},
        {"lambdarank_norm": False},
        {"lambdarank_norm": False, "lambdarank_truncation_level": 3, "sigmoid": 2.0},
        {"label_gain": [0.0, 1.0, 2.0, 3.0, 4.0]},
        {"label_gain": [0.5, 0.5, 2.0, 2.0, 7.0], "lambdarank_truncation_level": 4},
    ],
)
def test_matches_reference_random_queries(params):
    rng = np.random.default_rng(zlib.crc32(json.dumps(params, sort_keys=True).encode()))
    ptr, y, s = _random_queries(rng, n_queries=60)
    _assert_matches_reference(y, s, ptr, **params)


@pytest.mark.parametrize("k", [5, 30, 2000])
def test_matches_reference_large_queries(k):
    # Sizes up to 1,000; k = 2000 exceeds the query (every pair counts).
    rng = np.random.default_rng(k)
    sizes = np.array([1000, 700] if k < 1000 else [400])
    ptr = np.r_[0, np.cumsum(sizes)]
    y = rng.integers(0, 5, sizes.sum()).astype(float)
    s = np.round(rng.normal(size=sizes.sum()), 1)  # ties
    _assert_matches_reference(y, s, ptr, lambdarank_truncation_level=k)


def test_two_documents_by_hand():
    # Labels (0, 1), equal scores: ties keep input order, so the relevant
    # document is ranked second; |ds| normalisation is off (best == worst).
    y = np.array([0.0, 1.0])
    s = np.zeros(2)
    g, h = np.empty(2), np.empty(2)
    inv_idcg = 1.0 / (1.0 * 1.0)  # G(1) D(0)
    _lambdarank_query(y, default_label_gain()[[0, 1]], s, dcg_discount(2), inv_idcg, 1.0, 30, True, g, h)
    dz = 1.0 - 1.0 / math.log2(3.0)
    lam, hh = 0.5 * dz, 0.25 * dz
    f = math.log2(1 + 2 * lam) / (2 * lam)
    np.testing.assert_allclose(g, [lam * f, -lam * f], rtol=1e-15)
    np.testing.assert_allclose(h, [hh * f, hh * f], rtol=1e-15)


def test_distance_normalisation_by_hand():
    # Scores (2, 0): the relevant document leads; dZ is divided by 0.01 + 2.
    y = np.array([1.0, 0.0])
    s = np.array([2.0, 0.0])
    g, h = np.empty(2), np.empty(2)
    _lambdarank_query(y, np.array([1.0, 0.0]), s, dcg_discount(2), 1.0, 1.0, 30, True, g, h)  # per-row gains
    dz = (1.0 - 1.0 / math.log2(3.0)) / (OFFSET + 2.0)
    rho = 1.0 / (1.0 + math.exp(2.0))
    lam = rho * dz
    f = math.log2(1 + 2 * lam) / (2 * lam)
    np.testing.assert_allclose(g, [-lam * f, lam * f], rtol=1e-14)
    np.testing.assert_allclose(h, [rho * (1 - rho) * dz * f] * 2, rtol=1e-14)


def test_worst_score_skips_one_trailing_minus_inf():
    # LightGBM takes the worst score from the last document, or from the one
    # before when the last is -inf. Here all finite scores are equal, so the
    # |ds| normalisation must stay off despite the -inf.
    y = np.array([2.0, 0.0, 1.0, 0.0])
    s = np.array([1.0, 1.0, 1.0, -np.inf])
    ptr = np.array([0, 4])
    g, h = _compute(y, s, ptr)
    g_ref, h_ref, _ = reference_query(y, s)
    np.testing.assert_allclose(g, g_ref, rtol=1e-14)
    np.testing.assert_allclose(h, h_ref, rtol=1e-14)
    assert g[3] == 0.0 and h[3] == 0.0
    g_no_inf, _ = _compute(y[:3], s[:3], np.array([0, 3]))
    np.testing.assert_array_equal(g[:3], g_no_inf)


# ---------------------------------------------------------------------------
# Invariances
# ---------------------------------------------------------------------------
def test_degenerate_queries_are_exactly_zero():
    queries = [
        (np.array([3.0]), np.array([0.7])),  # one document
        (np.array([2.0, 2.0, 2.0]), np.array([0.1, 0.5, -1.0])),  # equal labels
        (np.array([0.0, 0.0, 0.0, 0.0]), np.array([1.0, 2.0, 3.0, 4.0])),  # all irrelevant
        (np.array([1.0, 0.0]), np.array([-np.inf, -np.inf])),  # no finite score
    ]
    y = np.concatenate([q[0] for q in queries] + [np.array([1.0, 0.0])])
    s = np.concatenate([q[1] for q in queries] + [np.array([0.0, 1.0])])
    ptr = np.r_[0, np.cumsum([len(q[0]) for q in queries] + [2])]
    g, h = _compute(y, s, ptr)
    n_degenerate = ptr[-2]
    assert np.all(g[:n_degenerate] == 0.0) and np.all(h[:n_degenerate] == 0.0)
    assert np.all(g[n_degenerate:] != 0.0)
    # Gains zero for every label present: ideal DCG is 0.
    g, h = _compute(np.array([0.0, 1.0, 1.0]), np.array([1.0, 0.0, 2.0]), np.array([0, 3]), label_gain=[0, 0, 1])
    assert np.all(g == 0.0) and np.all(h == 0.0)


@pytest.mark.parametrize("norm", [True, False])
def test_gradients_sum_to_zero_per_query(norm):
    rng = np.random.default_rng(3)
    ptr, y, s = _random_queries(rng, n_queries=80, max_size=200)
    g, h = _compute(y, s, ptr, lambdarank_norm=norm, lambdarank_truncation_level=10)
    for q in range(len(ptr) - 1):
        a, b = ptr[q], ptr[q + 1]
        scale = np.abs(g[a:b]).sum()
        assert abs(g[a:b].sum()) <= 1e-13 * max(scale, 1e-300)
    assert np.all(h >= 0)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(h))


def test_permuting_documents_permutes_gradients():
    rng = np.random.default_rng(4)
    m = 50
    y = rng.integers(0, 4, m).astype(float)
    s = rng.permutation(m) * 0.1 + rng.normal(size=m) * 0.01  # distinct scores
    ptr = np.array([0, m])
    g, h = _compute(y, s, ptr, lambdarank_truncation_level=7)
    for _ in range(3):
        p = rng.permutation(m)
        gp, hp = _compute(y[p], s[p], ptr, lambdarank_truncation_level=7)
        np.testing.assert_allclose(gp, g[p], rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(hp, h[p], rtol=1e-13, atol=1e-16)


def test_result_does_not_depend_on_thread_count():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 Numba threads")
    rng = np.random.default_rng(5)
    ptr, y, s = _random_queries(rng, n_queries=300, max_size=80)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        g1, h1 = _compute(y, s, ptr)
        numba.set_num_threads(2)
        g2, h2 = _compute(y, s, ptr)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_array_equal(h1, h2)


def test_large_scores_stay_finite():
    y = np.array([0.0, 3.0, 1.0, 2.0, 0.0])
    s = np.array([1e300, -1e300, 5e299, -1e308, 0.0])
    g, h = _compute(y, s, np.array([0, 5]), sigmoid=2.0)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(h)) and np.all(h >= 0)
    g_ref, h_ref, _ = reference_query(y, s, sigma=2.0)
    np.testing.assert_allclose(g, g_ref, rtol=1e-12)
    np.testing.assert_allclose(h, h_ref, rtol=1e-12)


def test_sample_weight_multiplies_g_and_h():
    rng = np.random.default_rng(6)
    ptr, y, s = _random_queries(rng, n_queries=30)
    w = rng.uniform(0.0, 3.0, len(y))
    g, h = _compute(y, s, ptr)
    gw, hw = _compute(y, s, ptr, weight=w)
    np.testing.assert_allclose(gw, g * w, rtol=1e-15, atol=0)
    np.testing.assert_allclose(hw, h * w, rtol=1e-15, atol=0)


# ---------------------------------------------------------------------------
# Parameters, labels, registry
# ---------------------------------------------------------------------------
def test_registry_and_params():
    obj = get_objective(
        "lambdarank", sigmoid=2, lambdarank_truncation_level=5, lambdarank_norm=False, label_gain=[0, 1, 3],
        n_estimators=10,  # estimator parameters the objective does not take are ignored
    )
    assert isinstance(obj, LambdaMART) and obj.name == "lambdamart"
    params = obj.get_params()
    assert params == {"sigmoid": 2.0, "lambdarank_truncation_level": 5, "lambdarank_norm": False,
                      "label_gain": [0.0, 1.0, 3.0]}
    json.dumps(params)
    again = objective_from_dict({"name": "lambdamart", "params": params, "state": obj.state()})
    assert again.get_params() == params
    assert LambdaMART().get_params()["label_gain"] is None
    assert LambdaMART().init_score() == 0.0
    with pytest.raises(NotImplementedError):
        LambdaMART().loss(np.zeros(2))


def test_default_label_gain_and_discount():
    gain = default_label_gain()
    assert gain.shape == (31,) and gain[0] == 0 and gain[1] == 1 and gain[30] == 2**30 - 1
    np.testing.assert_allclose(dcg_discount(3), [1.0, 1 / math.log2(3), 0.5])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"sigmoid": 0.0}, ValueError, "sigmoid"),
        ({"sigmoid": -1.0}, ValueError, "sigmoid"),
        ({"sigmoid": float("nan")}, ValueError, "sigmoid"),
        ({"sigmoid": "1"}, TypeError, "sigmoid"),
        ({"lambdarank_truncation_level": 0}, ValueError, "lambdarank_truncation_level"),
        ({"lambdarank_truncation_level": 2.5}, TypeError, "lambdarank_truncation_level"),
        ({"lambdarank_norm": "yes"}, TypeError, "lambdarank_norm"),
        ({"label_gain": [0, -1, 2]}, ValueError, "label_gain"),
        ({"label_gain": [0, 3, 2]}, ValueError, "label_gain"),
        ({"label_gain": [0, np.inf]}, ValueError, "label_gain"),
        ({"label_gain": []}, ValueError, "label_gain"),
        ({"label_gain": [[0, 1]]}, ValueError, "label_gain"),
        ({"label_gain": "0,1,3"}, TypeError, "label_gain"),
    ],
)
def test_invalid_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        LambdaMART(**kwargs)


@pytest.mark.parametrize(
    "y, kwargs, match",
    [
        ([0, 1, -1], {}, "non-negative"),
        ([0, 1.5, 2], {}, "integer"),
        ([0, np.nan], {}, "NaN"),
        ([0, 31], {}, "label_gain"),
        ([0, 3], {"label_gain": [0, 1, 3]}, "label_gain"),
    ],
)
def test_invalid_labels(y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        LambdaMART(**kwargs).validate_labels(np.asarray(y, dtype=np.float64))


def test_valid_labels():
    LambdaMART().validate_labels(np.array([0.0, 30.0, 4.0]))
    LambdaMART(label_gain=[0, 1, 3, 7]).validate_labels(np.array([0.0, 3.0]))


# ---------------------------------------------------------------------------
# LightGBM parity through the leaf values of one tree
# ---------------------------------------------------------------------------
def _lightgbm_leaf_check(params, lambda_l2, score_scale, seed):
    """Leaf values of LightGBM's first lambdarank tree vs -sum(g) / (sum(h) + l2) from our g, h.

    LightGBM exposes no gradients, but with learning rate 1, one tree and
    the raw scores given as init_score, each leaf's value is -G/(H + l2)
    over the rows that `pred_leaf` puts in it. lambda_l2 = 0 checks G/H;
    lambda_l2 > 0 weighs G and H separately.
    """
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 60, size=20)
    n = int(sizes.sum())
    ptr = np.r_[0, np.cumsum(sizes)]
    y = rng.integers(0, 4, n).astype(float)
    # Scores with ties; sigma |ds| stays below 25, where LightGBM's sigmoid
    # table is not clamped.
    init = np.round(rng.normal(size=n) * score_scale, 2)
    X = rng.permutation(n).astype(float).reshape(-1, 1)  # distinct values: any partition is reachable
    g, h = _compute(y, init, ptr, **params)
    lgb_params = dict(
        objective="lambdarank", num_leaves=16, min_data_in_leaf=1, min_sum_hessian_in_leaf=0.0,
        lambda_l2=lambda_l2, learning_rate=1.0, max_bin=1023, min_data_in_bin=1, verbose=-1,
        num_threads=1, deterministic=True, force_row_wise=True, **params,
    )
    ds = lgb.Dataset(X, y, group=sizes, init_score=init, params={"max_bin": 1023, "min_data_in_bin": 1})
    booster = lgb.train(lgb_params, ds, num_boost_round=1)
    leaf_of_row = booster.predict(X, pred_leaf=True).ravel()
    values = {}

    def walk(node):
        if "split_index" in node:
            walk(node["left_child"])
            walk(node["right_child"])
        else:
            values[node.get("leaf_index", 0)] = node["leaf_value"]

    walk(booster.dump_model()["tree_info"][0]["tree_structure"])
    assert len(values) >= 8  # enough leaves for the check to mean something
    worst = 0.0
    for leaf, value in values.items():
        rows = leaf_of_row == leaf
        denom = h[rows].sum() + lambda_l2
        ours = -g[rows].sum() / denom
        # LightGBM's sigmoid table is accurate to ~5e-5 relative per pair and
        # its g, h are float32: allow 2e-4 of the leaf's gradient magnitude.
        scale = np.abs(g[rows]).sum() / denom
        assert abs(value - ours) <= 2e-4 * scale, (leaf, value, ours)
        worst = max(worst, abs(value - ours) / scale)
    return worst


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"lambdarank_truncation_level": 5},
        {"lambdarank_truncation_level": 1, "sigmoid": 0.5},
        {"sigmoid": 2.0},
        {"lambdarank_norm": False},
        {"label_gain": [0.0, 1.0, 2.0, 5.0]},
    ],
)
@pytest.mark.parametrize("lambda_l2", [0.0, 1.0])
def test_lightgbm_leaf_values(params, lambda_l2):
    _lightgbm_leaf_check(params, lambda_l2, score_scale=1.0, seed=len(params) + int(lambda_l2))


def test_lightgbm_leaf_values_first_iteration():
    # All scores equal: the |ds| normalisation must be skipped (else x100).
    _lightgbm_leaf_check({}, 0.0, score_scale=0.0, seed=11)
    _lightgbm_leaf_check({"lambdarank_truncation_level": 3}, 1.0, score_scale=0.0, seed=12)


# ---------------------------------------------------------------------------
# Kernel internals: the sort warm-started from the previous rank order
# ---------------------------------------------------------------------------
def test_sort_from_hint_is_the_stable_descending_order_for_any_hint():
    from ltr.objectives.lambdamart import _sort_from_hint

    rng = np.random.default_rng(11)
    for n in (1, 2, 5, 17, 40, 300):
        for kind in ("ties", "distinct", "signed_zero"):
            if kind == "ties":
                s = rng.integers(-3, 4, n).astype(float)
            elif kind == "distinct":
                s = rng.normal(size=n)
            else:
                s = rng.choice([0.0, -0.0, 1.0, -np.inf], size=n)
            expected = np.array(sorted(range(n), key=lambda i: -s[i]))  # Python's sort is stable
            hints = [np.arange(n), rng.permutation(n), np.arange(n)[::-1], expected,
                     np.zeros(n, dtype=int) if n > 1 else np.array([5])]  # the last: not a permutation
            for h in hints:
                hint = np.ascontiguousarray(h, dtype=np.int32)
                order, sorted_s = np.empty(n, np.int64), np.empty(n)
                _sort_from_hint(s, hint, order, sorted_s, np.empty(n, np.int64), np.empty(n))
                np.testing.assert_array_equal(order, expected)
                np.testing.assert_array_equal(sorted_s, s[expected])
                np.testing.assert_array_equal(hint, expected)


def test_gradients_do_not_depend_on_previous_calls():
    # The objective keeps the last rank order as the next sort's starting
    # point; the gradients must equal those of a fresh objective, bit for bit.
    rng = np.random.default_rng(12)
    ptr, y, s = _random_queries(rng, n_queries=120, max_size=150)
    s = np.where(np.isfinite(s), s, 0.0)
    obj = get_objective("lambdamart")
    obj.setup(y, ptr)
    g, h = new_grad_hess(len(y))
    for step in range(4):
        s = s + rng.normal(size=len(y)) * [0.01, 1.0, 100.0, 0.0][step]
        obj.gradient_hessian(s, g, h)
        g_fresh, h_fresh = _compute(y, s, ptr)
        np.testing.assert_array_equal(g, g_fresh)
        np.testing.assert_array_equal(h, h_fresh)


def test_pickled_objective_drops_the_rank_hint():
    import pickle

    rng = np.random.default_rng(13)
    ptr, y, s = _random_queries(rng, n_queries=20, max_size=30)
    obj = get_objective("lambdamart")
    obj.setup(y, ptr)
    g, h = new_grad_hess(len(y))
    obj.gradient_hessian(s, g, h)
    assert obj.rank_hint_ is not None
    copy = pickle.loads(pickle.dumps(obj))
    assert copy.rank_hint_ is None
    g2, h2 = new_grad_hess(len(y))
    copy.gradient_hessian(s, g2, h2)
    np.testing.assert_array_equal(g2, g)
    np.testing.assert_array_equal(h2, h)
