"""YetiRank / YetiLoss: kernels against slow plain-Python references.

The reference re-draws the same noise (the counter-based stream is tested on
its own below), ranks with Python's ``sorted``, and computes every pair
weight from first principles: the classic rule, or the target metric of the
ranking and of the ranking with two positions swapped, recomputed from
scratch. The pairwise logistic g/h are then summed pair by pair.
"""
import math

import numba
import numpy as np
import pytest

from ltr.objectives import get_objective, objective_from_dict
from ltr.objectives._base import new_grad_hess
from ltr.objectives._ranking_common import (
    NOISE_GAUSS,
    NOISE_LOGISTIC,
    random_logistic,
    random_normal,
    random_uniform,
    stable_argsort_desc,
)
from ltr.objectives.yetirank import YetiLoss, YetiRank

MODES = ["classic", "dcg", "ndcg", "mrr", "err", "map"]


# ---------------------------------------------------------------------------
# Reference implementation (plain Python)
# ---------------------------------------------------------------------------
def ref_gain(y, metric, exp_gain=True, max_grade=None):
    if metric in ("dcg", "ndcg"):
        return [2.0**v - 1.0 if exp_gain else float(v) for v in y]
    if metric in ("mrr", "map"):
        return [1.0 if v > 0 else 0.0 for v in y]
    if metric == "err":
        mg = max(y) if max_grade is None else max_grade
        return [(2.0**v - 1.0) / 2.0**mg for v in y]
    return [float(v) for v in y]


def ref_metric(perm, gain, metric, top, log_den=True):
    """Metric of the ranking `perm` (document indices, best first), cut at `top`."""
    n = len(perm)
    top = n if top is None else top
    disc = (lambda r: 1.0 / math.log2(r + 2)) if log_den else (lambda r: 1.0 / (r + 1))
    if metric in ("dcg", "ndcg"):
        dcg = sum(gain[perm[r]] * disc(r) for r in range(min(n, top)))
        if metric == "dcg":
            return dcg
        ideal = sorted(gain, reverse=True)
        idcg = sum(ideal[r] * disc(r) for r in range(min(n, top)))
        return dcg / idcg
    if metric == "mrr":
        for r in range(min(n, top)):
            if gain[perm[r]] > 0:
                return 1.0 / (r + 1)
        return 0.0
    if metric == "map":
        n_rel = sum(1 for g in gain if g > 0)
        hits, total = 0, 0.0
        for r in range(min(n, top)):
            if gain[perm[r]] > 0:
                hits += 1
                total += hits / (r + 1)
        return total / min(n_rel, top)
    if metric == "err":
        total, p_look = 0.0, 1.0
        for r in range(min(n, top)):
            R = gain[perm[r]]
            total += p_look * R / (r + 1)
            p_look *= 1 - R
        return total
    raise ValueError(metric)


def ref_noise(seed, first, n, kind, power):
    if kind == "logistic":
        return [power * random_logistic(seed, first + i) for i in range(n)]
    if kind == "gauss":
        return [power * random_normal(seed, first + i) for i in range(n)]
    return [0.0] * n


def ref_pair_weights(y, s, seed, permutations=10, decay=0.85, mode="classic", top=None, num_neighbors=1,
                     noise="logistic", noise_power=1.0, gain="exp", max_grade=None, denominator="log"):
    """Dense averaged pair weights W[winner][loser] of one query."""
    n = len(y)
    G = ref_gain(y, mode, gain == "exp", max_grade)
    W = [[0.0] * n for _ in range(n)]
    P = permutations if noise is not None else 1
    for p in range(P):
        eps = ref_noise(seed, p * n, n, noise, noise_power)
        noisy = [s[i] + eps[i] for i in range(n)]
        perm = sorted(range(n), key=lambda i: (-noisy[i], i))
        pairs = []
        if mode == "classic":
            for k in range(n - 1):
                pairs.append((perm[k], perm[k + 1], 0.15 * decay**k * abs(y[perm[k]] - y[perm[k + 1]])))
        else:
            base = ref_metric(perm, G, mode, top, denominator == "log")
            for k in range(min(n, n if top is None else top)):
                last = n - 1 if num_neighbors in (None, -1) else min(n - 1, k + num_neighbors)
                for m in range(k + 1, last + 1):
                    swapped = list(perm)
                    swapped[k], swapped[m] = swapped[m], swapped[k]
                    w = abs(ref_metric(swapped, G, mode, top, denominator == "log") - base)
                    pairs.append((perm[k], perm[m], w))
        for a, b, w in pairs:
            if y[a] > y[b]:
                W[a][b] += w / P
            elif y[b] > y[a]:
                W[b][a] += w / P
    return np.array(W)


def ref_grad_hess(s, W):
    n = len(s)
    g = [0.0] * n
    h = [0.0] * n
    for a in range(n):
        for b in range(n):
            c = W[a][b]
            if c == 0.0:
                continue
            x = s[a] - s[b]  # rho = 1 / (1 + exp(x)) and 1 - rho, written not to overflow or cancel
            rho = math.exp(-x) / (1.0 + math.exp(-x)) if x > 0 else 1.0 / (1.0 + math.exp(x))
            one_minus_rho = 1.0 / (1.0 + math.exp(-x)) if x > 0 else math.exp(x) / (1.0 + math.exp(x))
            g[a] -= c * rho
            g[b] += c * rho
            h[a] += c * rho * one_minus_rho
            h[b] += c * rho * one_minus_rho
    return np.array(g), np.array(h)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def random_queries(seed, n_queries=6, max_size=12, n_labels=4):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, max_size + 1, size=n_queries)
    group_ptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    n = int(group_ptr[-1])
    y = rng.integers(0, n_labels, size=n).astype(np.float64)
    s = rng.normal(size=n)
    return y, s, group_ptr


def fitted(obj, y, group_ptr, seed=7):
    obj.validate_labels(y)
    return obj.setup(y, group_ptr, seed=seed)


def grad_hess(obj, s, iteration=0):
    g, h = new_grad_hess(len(s))
    obj.gradient_hessian(s, g, h, iteration)
    return g, h


def query_seed(obj, q, iteration):
    return obj._query_seed(q, iteration)


# ---------------------------------------------------------------------------
# Shared helpers: random stream and sort
# ---------------------------------------------------------------------------
def test_stable_argsort_desc_matches_numpy_stable_sort():
    rng = np.random.default_rng(0)
    for n in [0, 1, 2, 5, 16, 17, 31, 32, 33, 100, 257]:
        for ties in (False, True):
            keys = rng.integers(0, 4, size=n).astype(np.float64) if ties else rng.normal(size=n)
            order = np.empty(n, dtype=np.int64)
            sorted_keys = np.empty(n)
            stable_argsort_desc(keys, order, sorted_keys, np.empty(n, dtype=np.int64), np.empty(n))
            expected = np.argsort(-keys, kind="stable")
            np.testing.assert_array_equal(order, expected)
            np.testing.assert_array_equal(sorted_keys, keys[expected])


def test_random_stream_is_a_function_of_seed_and_counter():
    assert random_uniform(np.uint64(5), 3) == random_uniform(np.uint64(5), 3)
    assert random_uniform(np.uint64(5), 3) != random_uniform(np.uint64(5), 4)
    assert random_uniform(np.uint64(5), 3) != random_uniform(np.uint64(6), 3)


def test_random_stream_distributions():
    from scipy import stats

    seed = np.uint64(12345)
    u = np.array([random_uniform(seed, k) for k in range(20000)])
    assert u.min() > 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    lg = np.array([random_logistic(seed, k) for k in range(20000)])
    assert stats.kstest(lg, "logistic").pvalue > 1e-3
    nz = np.array([random_normal(seed, k) for k in range(20000)])
    assert stats.kstest(nz, "norm").pvalue > 1e-3


# ---------------------------------------------------------------------------
# Pair weights, gradients and hessians vs the reference
# ---------------------------------------------------------------------------
CASES = [
    dict(mode="classic"),
    dict(mode="classic", decay=0.5, permutations=3),
    dict(mode="classic", noise="gauss", noise_power=0.5),
    dict(mode="classic", noise=None),
    dict(mode="ndcg"),
    dict(mode="ndcg", top=4, num_neighbors=3, gain="linear"),
    dict(mode="ndcg", num_neighbors=-1, denominator="position"),
    dict(mode="dcg", num_neighbors=2, top=5),
    dict(mode="mrr"),
    dict(mode="mrr", num_neighbors=-1),
    dict(mode="mrr", num_neighbors=3, top=3),
    dict(mode="err"),
    dict(mode="err", num_neighbors=-1, top=6),
    dict(mode="err", num_neighbors=2, max_grade=4.0),
    dict(mode="map"),
    dict(mode="map", num_neighbors=-1),
    dict(mode="map", num_neighbors=4, top=5),
]


@pytest.mark.parametrize("params", CASES, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_pair_weights_gradients_hessians_match_reference(params):
    y, s, gp = random_queries(1)
    obj = fitted(YetiRank(**params), y, gp)
    iteration = 3
    g, h = grad_hess(obj, s, iteration)
    g_ref_all = np.zeros_like(g)
    h_ref_all = np.zeros_like(h)
    for q in range(len(gp) - 1):
        a, b = gp[q], gp[q + 1]
        W = obj.pair_weights(s, q, iteration)
        ref_params = dict(params)
        if params["mode"] == "err" and params.get("max_grade") is None:
            ref_params["max_grade"] = y.max()  # the largest training label, over all queries
        W_ref = ref_pair_weights(list(y[a:b]), list(s[a:b]), query_seed(obj, q, iteration), **ref_params)
        np.testing.assert_allclose(W, W_ref, rtol=1e-10, atol=1e-14)
        g_ref_all[a:b], h_ref_all[a:b] = ref_grad_hess(list(s[a:b]), W_ref)
    assert np.abs(g_ref_all).sum() > 0
    np.testing.assert_allclose(g, g_ref_all, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(h, h_ref_all, rtol=1e-10, atol=1e-14)
    assert np.all(h >= 0)
    # pairwise: the gradient of each query sums to zero
    for q in range(len(gp) - 1):
        assert abs(g[gp[q]:gp[q + 1]].sum()) < 1e-12


@pytest.mark.parametrize("mode", ["classic", "ndcg"])
def test_scores_spanning_more_than_the_exp_range(mode):
    # Scores 1000 apart: the per-query exp cache would underflow, so the
    # kernel takes its exp-free path; the result still equals the reference.
    y, s, gp = random_queries(9, n_queries=3)
    s = s * 1000.0
    obj = fitted(YetiRank(mode=mode, noise="gauss", noise_power=300.0), y, gp)
    g, h = grad_hess(obj, s, 2)
    assert np.isfinite(g).all() and np.isfinite(h).all()
    for q in range(3):
        a, b = gp[q], gp[q + 1]
        W = ref_pair_weights(list(y[a:b]), list(s[a:b]), query_seed(obj, q, 2), mode=mode, noise="gauss",
                             noise_power=300.0)
        g_ref, h_ref = ref_grad_hess(list(s[a:b]), W)
        np.testing.assert_allclose(g[a:b], g_ref, rtol=1e-10, atol=1e-300)
        np.testing.assert_allclose(h[a:b], h_ref, rtol=1e-10, atol=1e-300)


def test_default_metric_weights_equal_catboost_rules():
    """With one neighbour, DCG/MRR weights follow CatBoost's formulas (restated)."""
    y, s, gp = random_queries(2, n_queries=3)
    for mode in ("dcg", "mrr"):
        obj = fitted(YetiRank(mode=mode, noise=None, gain="linear"), y, gp)
        for q in range(3):
            a, b = gp[q], gp[q + 1]
            yq, sq = y[a:b], s[a:b]
            perm = sorted(range(b - a), key=lambda i: (-sq[i], i))
            W = np.zeros((b - a, b - a))
            for k in range(b - a - 1):
                i, j = perm[k], perm[k + 1]
                if mode == "dcg":
                    d = lambda r: 1 / math.log2(r + 2)  # noqa: E731
                    w = abs(yq[i] * d(k) + yq[j] * d(k + 1) - yq[i] * d(k + 1) - yq[j] * d(k))
                else:
                    if any(yq[perm[r]] > 0 for r in range(k)):
                        break
                    w = 1 / (k + 1) - 1 / (k + 2) if (yq[i] > 0) != (yq[j] > 0) else 0.0
                if yq[i] > yq[j]:
                    W[i, j] += w
                elif yq[j] > yq[i]:
                    W[j, i] += w
            np.testing.assert_allclose(obj.pair_weights(s, q), W, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------
# Degenerate queries, permutation, determinism
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_zero_gradient_on_equal_labels_and_single_documents(mode):
    y = np.array([2.0, 2.0, 2.0, 1.0, 0.0, 1.0, 3.0, 1.0, 1.0])
    gp = np.array([0, 3, 6, 7, 9], dtype=np.int64)  # equal, mixed, single, equal
    s = np.random.default_rng(0).normal(size=9)
    obj = fitted(YetiRank(mode=mode), y, gp)
    g, h = grad_hess(obj, s)
    assert np.all(g[0:3] == 0) and np.all(h[0:3] == 0)
    assert np.all(g[6:9] == 0) and np.all(h[6:9] == 0)
    assert np.any(g[3:6] != 0)


def test_zero_gradient_when_metric_sees_no_difference():
    # MRR / MAP binarise: labels 1 and 2 are both relevant, so no signal.
    y = np.array([1.0, 2.0, 1.0, 2.0])
    gp = np.array([0, 4], dtype=np.int64)
    for mode in ("mrr", "map"):
        obj = fitted(YetiRank(mode=mode), y, gp)
        g, h = grad_hess(obj, np.arange(4.0))
        assert np.all(g == 0) and np.all(h == 0)
        assert obj.n_active_queries_ == 0


@pytest.mark.parametrize("mode", MODES)
def test_gradients_permute_with_documents_without_noise(mode):
    y, s, gp = random_queries(3, n_queries=1, max_size=12)
    perm = np.random.default_rng(1).permutation(len(y))
    kw = {} if mode == "classic" else {"num_neighbors": 3}
    g1, h1 = grad_hess(fitted(YetiRank(mode=mode, noise=None, **kw), y, gp), s)
    g2, h2 = grad_hess(fitted(YetiRank(mode=mode, noise=None, **kw), y[perm], gp), s[perm])
    np.testing.assert_allclose(g2, g1[perm], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h2, h1[perm], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("mode", ["classic", "ndcg", "mrr"])
def test_gradients_permute_with_documents_in_expectation(mode):
    # With noise the rankings of a permuted query are other draws; averaged
    # over many rankings the gradients still permute with the documents.
    y = np.array([0.0, 2.0, 1.0, 0.0, 1.0, 3.0])
    s = np.array([0.3, -0.2, 0.1, 0.5, -0.4, 0.0])
    gp = np.array([0, 6], dtype=np.int64)
    perm = np.array([4, 2, 5, 0, 3, 1])
    g1, h1 = grad_hess(fitted(YetiRank(mode=mode, permutations=20000), y, gp, seed=1), s)
    g2, h2 = grad_hess(fitted(YetiRank(mode=mode, permutations=20000), y[perm], gp, seed=2), s[perm])
    scale = np.abs(g1).max()
    np.testing.assert_allclose(g2, g1[perm], atol=0.03 * scale)
    np.testing.assert_allclose(h2, h1[perm], atol=0.03 * np.abs(h1).max())


def test_same_result_for_one_and_two_threads():
    y, s, gp = random_queries(4, n_queries=40, max_size=30)
    before = numba.get_num_threads()
    try:
        out = []
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            for mode in ("classic", "ndcg"):
                out.append(grad_hess(fitted(YetiRank(mode=mode), y, gp), s, iteration=5))
    finally:
        numba.set_num_threads(before)
    for (g1, h1), (g2, h2) in zip(out[:2], out[2:]):
        np.testing.assert_array_equal(g1, g2)
        np.testing.assert_array_equal(h1, h2)


def test_randomness_depends_on_seed_and_iteration_only():
    y, s, gp = random_queries(5)
    obj = fitted(YetiRank(), y, gp, seed=11)
    g5, _ = grad_hess(obj, s, iteration=5)
    g6, _ = grad_hess(obj, s, iteration=6)
    assert not np.array_equal(g5, g6)
    # a fresh objective (e.g. training resumed from a saved model) reproduces iteration 5
    g5_fresh, _ = grad_hess(fitted(YetiRank(), y, gp, seed=11), s, iteration=5)
    np.testing.assert_array_equal(g5, g5_fresh)
    g5_other_seed, _ = grad_hess(fitted(YetiRank(), y, gp, seed=12), s, iteration=5)
    assert not np.array_equal(g5, g5_other_seed)


def test_query_noise_does_not_depend_on_other_queries():
    y, s, gp = random_queries(6, n_queries=5)
    g_all, _ = grad_hess(fitted(YetiRank(), y, gp), s, iteration=2)
    # drop query 0's labels signal: other queries keep their gradients
    y2 = y.copy()
    y2[gp[0]:gp[1]] = 1.0
    g_part, _ = grad_hess(fitted(YetiRank(), y2, gp), s, iteration=2)
    np.testing.assert_array_equal(g_all[gp[1]:], g_part[gp[1]:])


def test_row_weights_multiply_gradients():
    y, s, gp = random_queries(7, n_queries=3)
    w = np.repeat([1.0, 2.5, 0.5], np.diff(gp))
    g1, h1 = grad_hess(fitted(YetiRank(), y, gp), s)
    obj = YetiRank()
    obj.setup(y, gp, sample_weight=w, seed=7)
    g2, h2 = grad_hess(obj, s)
    np.testing.assert_allclose(g2, g1 * w)
    np.testing.assert_allclose(h2, h1 * w)


def test_large_query_costs_linear_memory():
    # 20,000 documents in one query: a dense n x n matrix would need 3.2 GB.
    rng = np.random.default_rng(0)
    n = 20000
    y = rng.integers(0, 5, size=n).astype(np.float64)
    s = rng.normal(size=n)
    gp = np.array([0, n], dtype=np.int64)
    for mode in ("classic", "ndcg", "err"):
        g, h = grad_hess(fitted(YetiRank(mode=mode, permutations=3), y, gp), s)
        assert np.isfinite(g).all() and np.any(g != 0) and np.all(h >= 0)


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------
def test_registry_names_and_params_round_trip():
    obj = get_objective("yetirank")
    assert isinstance(obj, YetiRank) and obj.mode == "classic" and obj.is_stochastic
    loss = get_objective("yetiloss")
    assert isinstance(loss, YetiLoss) and loss.mode == "ndcg"
    custom = YetiRank(mode="MRR", permutations=20, noise="Gumbel", num_neighbors=-1, top=10)
    params = custom.get_params()
    assert params["mode"] == "mrr" and params["noise"] == "logistic"
    import json

    again = objective_from_dict(json.loads(json.dumps({"name": custom.name, "params": params})))
    assert again.get_params() == params


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(permutations=0), ValueError, "permutations"),
        (dict(permutations=2.5), TypeError, "permutations"),
        (dict(decay=1.5), ValueError, "decay"),
        (dict(mode="pfound"), ValueError, "mode"),
        (dict(noise="uniform"), ValueError, "noise"),
        (dict(noise_power=0.0), ValueError, "noise_power"),
        (dict(top=5), ValueError, "top"),
        (dict(mode="ndcg", top=0), ValueError, "top"),
        (dict(mode="ndcg", num_neighbors=0), ValueError, "num_neighbors"),
        (dict(mode="ndcg", decay=0.5), ValueError, "decay"),
        (dict(mode="ndcg", gain="square"), ValueError, "gain"),
        (dict(mode="ndcg", denominator="sqrt"), ValueError, "denominator"),
        (dict(mode="err", max_grade=-1), ValueError, "max_grade"),
    ],
)
def test_bad_parameters_are_named(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        YetiRank(**kwargs)


def test_bad_labels_are_rejected_for_metric_modes():
    gp = np.array([0, 3], dtype=np.int64)
    with pytest.raises(ValueError, match="non-negative"):
        YetiRank(mode="ndcg").validate_labels(np.array([0.0, -1.0, 2.0]))
    with pytest.raises(ValueError, match="overflow"):
        YetiRank(mode="ndcg").validate_labels(np.array([0.0, 40.0, 2.0]))
    YetiRank(mode="ndcg", gain="linear").validate_labels(np.array([0.0, 40.0, 2.0]))
    YetiRank().validate_labels(np.array([0.0, -1.0, 2.0]))  # classic: any finite labels
    with pytest.raises(ValueError, match="NaN"):
        YetiRank().validate_labels(np.array([0.0, np.nan, 2.0]))
    del gp


def test_noise_codes():
    assert YetiRank(noise="gauss")._noise_code == NOISE_GAUSS
    assert YetiRank(noise="logistic")._noise_code == NOISE_LOGISTIC
    assert YetiRank(noise=None).noise is None


# ---------------------------------------------------------------------------
# End to end: the estimator's models do not depend on threads or on resuming
# ---------------------------------------------------------------------------
def estimator_data(seed=0, n_queries=25):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(4, 16, size=n_queries)
    qid = np.repeat(np.arange(n_queries), sizes)
    X = rng.normal(size=(len(qid), 5))
    y = np.clip(np.round(X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.7, size=len(qid)) + 1), 0, 3)
    return X, y, qid


FAST = dict(n_estimators=8, learning_rate=0.3, num_leaves=7, min_child_samples=3)


@pytest.mark.parametrize("objective, params", [("yetirank", None), ("yetirank", {"mode": "mrr", "num_neighbors": 3}),
                                               ("yetiloss", {"permutations": 4})])
def test_estimator_model_is_the_same_for_one_and_two_threads(objective, params):
    from ltr import LambdaRanker

    X, y, qid = estimator_data()
    kw = dict(FAST, objective=objective, objective_params=params, random_state=3)
    p1 = LambdaRanker(n_jobs=1, **kw).fit(X, y, qid=qid).predict(X)
    p2 = LambdaRanker(n_jobs=2, **kw).fit(X, y, qid=qid).predict(X)
    np.testing.assert_array_equal(p1, p2)
    p3 = LambdaRanker(n_jobs=2, **dict(kw, random_state=4)).fit(X, y, qid=qid).predict(X)
    assert not np.array_equal(p1, p3)


def test_estimator_resumed_training_equals_one_fit(tmp_path):
    from ltr import LambdaRanker

    X, y, qid = estimator_data(1)
    kw = dict(FAST, objective=YetiRank(permutations=5, mode="ndcg", num_neighbors=2), random_state=9)
    full = LambdaRanker(**dict(kw, n_estimators=10)).fit(X, y, qid=qid)
    first = LambdaRanker(**dict(kw, n_estimators=4)).fit(X, y, qid=qid)
    first.save_model(tmp_path / "m.json")
    second = LambdaRanker(**dict(kw, n_estimators=6)).fit(X, y, qid=qid, init_model=tmp_path / "m.json")
    assert second.booster_.n_trees == 10
    np.testing.assert_array_equal(full.predict(X), second.predict(X))
    # the saved model remembers the objective and its parameters
    from ltr.booster import Booster

    loaded = Booster.load_model(tmp_path / "m.json")
    assert loaded.objective.get_params() == kw["objective"].get_params()
