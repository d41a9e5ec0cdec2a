"""StochasticRank: kernels against a slow plain-Python reference and against the smoothed metric.

The reference re-draws the same normal noise, and for every document and
every slot it could move to, rebuilds the ranking, recomputes the metric from
scratch and weighs the change by the normal probability mass of the slot's
interval (differentiated). Independently, averaged estimates are compared
with finite differences of ``E_z[M(s + sigma z)]`` computed by plain Monte
Carlo, which checks that the estimator (with its centring correction) is
unbiased, and with the closed form for two documents.
"""
import math

import numba
import numpy as np
import pytest

from ltr.objectives import get_objective, objective_from_dict
from ltr.objectives._base import new_grad_hess
from ltr.objectives._ranking_common import NDCG, position_weights, random_normal
from ltr.objectives.stochasticrank import StochasticRank, _smoothed_metric_sample


# ---------------------------------------------------------------------------
# Reference implementation (plain Python)
# ---------------------------------------------------------------------------
def ref_gain(y, metric, exp_gain=True, max_grade=None):
    if metric in ("dcg", "ndcg"):
        return [2.0**v - 1.0 if exp_gain else float(v) for v in y]
    if metric == "mrr":
        return [1.0 if v > 0 else 0.0 for v in y]
    mg = max(y) if max_grade is None else max_grade
    return [(2.0**v - 1.0) / 2.0**mg for v in y]


def ref_metric(perm, gain, metric, top, log_den=True):
    n = len(perm)
    top = n if top is None else top
    disc = (lambda r: 1.0 / math.log2(r + 2)) if log_den else (lambda r: 1.0 / (r + 1))
    if metric in ("dcg", "ndcg"):
        dcg = sum(gain[perm[r]] * disc(r) for r in range(min(n, top)))
        if metric == "dcg":
            return dcg
        ideal = sorted(gain, reverse=True)
        return dcg / sum(ideal[r] * disc(r) for r in range(min(n, top)))
    if metric == "mrr":
        for r in range(min(n, top)):
            if gain[perm[r]] > 0:
                return 1.0 / (r + 1)
        return 0.0
    total, p_look = 0.0, 1.0  # err
    for r in range(min(n, top)):
        total += p_look * gain[perm[r]] / (r + 1)
        p_look *= 1 - gain[perm[r]]
    return total


def normal_pdf(x, mean, sd):
    if math.isinf(x):
        return 0.0
    return math.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def ref_stochasticrank(y, s, seed, metric="ndcg", top=None, gain="exp", denominator="log", max_grade=None,
                       sigma=1.0, num_estimations=1, mu=0.0, nu=0.01, lambda_=1.0):
    n = len(y)
    G = ref_gain(y, metric, gain == "exp", max_grade)
    if n < 2 or len(set(G)) == 1:
        return np.zeros(n), np.zeros(n)
    log_den = denominator == "log"
    t = [s[i] - sigma * mu * y[i] for i in range(n)]
    t_mean = sum(t) / n
    t = [x - t_mean for x in t]
    d = [0.0] * n
    for e in range(num_estimations):
        z = [random_normal(seed, e * n + i) for i in range(n)]
        u = [t[i] + sigma * z[i] for i in range(n)]
        perm = sorted(range(n), key=lambda i: (-u[i], i))
        base = ref_metric(perm, G, metric, top, log_den)
        for i in range(n):
            mean = t[i] + sigma * (sum(z) - z[i]) / (n - 1)
            sd = sigma * math.sqrt(n / (n - 1))
            others = [j for j in perm if j != i]
            for c in range(n):
                moved = others[:c] + [i] + others[c:]
                if moved == perm:
                    continue
                dM = ref_metric(moved, G, metric, top, log_den) - base
                upper = u[others[c - 1]] if c > 0 else math.inf
                lower = u[others[c]] if c < n - 1 else -math.inf
                d[i] += dM * (normal_pdf(lower, mean, sd) - normal_pdf(upper, mean, sd)) / num_estimations
    d_mean = sum(d) / n
    d = [x - d_mean for x in d]
    if n > 2:
        s_mean = sum(s) / n
        c = [x - s_mean for x in s]
        k = lambda_ * sum(a * b for a, b in zip(d, c)) / (math.sqrt(sum(x * x for x in c)) + nu) ** 2
        d = [d[i] - k * c[i] for i in range(n)]
    return -np.array(d), np.ones(n)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def random_queries(seed, n_queries=6, max_size=10, n_labels=4):
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
    from ltr._random import mix_seed

    return np.uint64(mix_seed(np.uint64(obj.seed_), np.int64(iteration), np.int64(q)))


# ---------------------------------------------------------------------------
# Against the reference
# ---------------------------------------------------------------------------
CASES = [
    dict(),
    dict(num_estimations=3, sigma=0.5),
    dict(mu=0.3, lambda_=0.0),
    dict(top=3, gain="linear"),
    dict(metric="dcg", top=5, denominator="position"),
    dict(metric="mrr"),
    dict(metric="mrr", top=2, num_estimations=2),
    dict(metric="err"),
    dict(metric="err", top=4, sigma=2.0, max_grade=5.0),
]


@pytest.mark.parametrize("params", CASES, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()) or "default")
def test_gradients_hessians_match_reference(params):
    y, s, gp = random_queries(1)
    s = s * 0.7  # scores within a few sigma of each other: every boundary matters
    obj = fitted(StochasticRank(**params), y, gp)
    iteration = 4
    g, h = grad_hess(obj, s, iteration)
    for q in range(len(gp) - 1):
        a, b = gp[q], gp[q + 1]
        ref_params = dict(params)
        if params.get("metric") == "err" and params.get("max_grade") is None:
            ref_params["max_grade"] = y.max()
        g_ref, h_ref = ref_stochasticrank(list(y[a:b]), list(s[a:b]), query_seed(obj, q, iteration), **ref_params)
        np.testing.assert_allclose(g[a:b], g_ref, rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(h[a:b], h_ref)
    assert np.abs(g).sum() > 0


def test_far_boundaries_are_skipped_exactly():
    # Scores 100 sigma apart: only neighbours within reach contribute, and the
    # result still equals the reference that sums every slot.
    y = np.array([0.0, 1.0, 2.0, 0.0, 1.0, 3.0])
    s = np.array([0.0, 100.0, 0.5, 200.0, 1.0, 300.0])
    gp = np.array([0, 6], dtype=np.int64)
    obj = fitted(StochasticRank(), y, gp)
    g, _ = grad_hess(obj, s, 1)
    g_ref, _ = ref_stochasticrank(list(y), list(s), query_seed(obj, 0, 1))
    np.testing.assert_allclose(g, g_ref, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("metric", ["ndcg", "dcg", "mrr", "err"])
def test_two_documents_match_closed_form(metric):
    # n = 2: the estimate is exact for every draw: with rho = P(doc 0 above doc 1)
    # = Phi((t0 - t1) / (sigma sqrt 2)), dE[M]/ds0 = phi(.) / (sigma sqrt 2) (M01 - M10).
    y = np.array([0.0, 2.0])
    s = np.array([0.4, -0.3])
    sigma = 0.8
    gp = np.array([0, 2], dtype=np.int64)
    obj = fitted(StochasticRank(metric=metric, sigma=sigma), y, gp)
    G = ref_gain(list(y), metric, True, 2.0)
    diff = ref_metric([0, 1], G, metric, None) - ref_metric([1, 0], G, metric, None)
    x = (s[0] - s[1]) / (sigma * math.sqrt(2))
    d0 = math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) / (sigma * math.sqrt(2)) * diff
    for iteration in range(3):
        g, h = grad_hess(obj, s, iteration)
        np.testing.assert_allclose(g, [-d0, d0], rtol=1e-12)
        np.testing.assert_array_equal(h, [1.0, 1.0])


def mc_smoothed_metric_gradient(y, s, sigma, metric, n_samples, seed, step=0.05):
    """Central finite differences of E_z[M(s + sigma z)] (plain Monte Carlo, common noise), with std errors."""
    rng = np.random.default_rng(seed)
    n = len(y)
    G = np.array(ref_gain(list(y), metric, True, y.max()))
    disc = 1.0 / np.log2(np.arange(n) + 2.0)
    ideal = np.sort(G)[::-1] @ disc

    def metric_of(U):
        order = np.argsort(-U, axis=1, kind="stable")
        g_sorted = G[order]
        if metric == "ndcg":
            return g_sorted @ disc / ideal
        if metric == "mrr":
            first = np.argmax(g_sorted > 0, axis=1)
            return 1.0 / (first + 1)
        look = np.cumprod(np.hstack([np.ones((len(U), 1)), 1 - g_sorted[:, :-1]]), axis=1)
        return (look * g_sorted / (np.arange(n) + 1.0)).sum(axis=1)

    Z = rng.normal(size=(n_samples, n))
    grad, err = np.zeros(n), np.zeros(n)
    for i in range(n):
        e = np.zeros(n)
        e[i] = step
        diff = (metric_of(s + e + sigma * Z) - metric_of(s - e + sigma * Z)) / (2 * step)
        grad[i], err[i] = diff.mean(), diff.std() / np.sqrt(n_samples)
    return grad, err


@pytest.mark.parametrize("metric", ["ndcg", "mrr", "err"])
def test_estimate_is_unbiased_for_smoothed_metric_gradient(metric):
    y = np.array([0.0, 1.0, 2.0, 0.0, 1.0])
    s = np.array([0.2, -0.1, 0.0, 0.6, -0.5])
    sigma = 0.7
    gp = np.array([0, 5], dtype=np.int64)
    obj = fitted(StochasticRank(metric=metric, sigma=sigma, num_estimations=40000, lambda_=0.0), y, gp)
    g, _ = grad_hess(obj, s)
    fd, se = mc_smoothed_metric_gradient(y, s, sigma, metric, 400000, seed=3)
    # the finite difference (step 0.05) has an O(step^2) bias well below the
    # tolerance; the estimator's own noise is several times smaller than se.
    np.testing.assert_allclose(-g, fd, atol=float(5 * se.max() + 2e-3))


# ---------------------------------------------------------------------------
# Degenerate queries, permutation, determinism
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["ndcg", "dcg", "mrr", "err"])
def test_zero_gradient_on_equal_labels_and_single_documents(metric):
    y = np.array([2.0, 2.0, 2.0, 1.0, 0.0, 1.0, 3.0, 1.0, 1.0])
    gp = np.array([0, 3, 6, 7, 9], dtype=np.int64)
    s = np.random.default_rng(0).normal(size=9)
    obj = fitted(StochasticRank(metric=metric), y, gp)
    g, h = grad_hess(obj, s)
    assert np.all(g[0:3] == 0) and np.all(h[0:3] == 0)
    assert np.all(g[6:9] == 0) and np.all(h[6:9] == 0)
    assert np.any(g[3:6] != 0) and np.all(h[3:6] == 1)


def test_zero_gradient_when_mrr_sees_no_difference():
    y = np.array([1.0, 2.0, 1.0])
    obj = fitted(StochasticRank(metric="mrr"), y, np.array([0, 3], dtype=np.int64))
    g, h = grad_hess(obj, np.array([0.1, 0.2, 0.3]))
    assert np.all(g == 0) and np.all(h == 0)


@pytest.mark.parametrize("metric", ["ndcg", "mrr", "err"])
def test_sample_permutes_with_documents_and_noise(metric):
    # One draw, given explicitly: permuting documents and their noise together
    # permutes the estimate exactly.
    rng = np.random.default_rng(5)
    n = 9
    y = rng.integers(0, 3, size=n).astype(np.float64)
    gain = np.array(ref_gain(list(y), metric, True, 2.0))
    t = rng.normal(size=n)
    z = rng.normal(size=n)
    code = {"ndcg": NDCG, "mrr": 3, "err": 4}[metric]
    pw = position_weights(n, code, n + 1, True)

    def run(idx):
        d = np.zeros(n)
        scratch = [np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)] + [np.empty(n) for _ in range(4)]
        _smoothed_metric_sample(t[idx], z[idx], gain[idx], pw, code, n + 1, 1.0, *scratch, d, 1.0)
        return d

    perm = rng.permutation(n)
    d1 = run(np.arange(n))
    d2 = run(perm)
    assert np.abs(d1).sum() > 0
    np.testing.assert_allclose(d2, d1[perm], rtol=1e-12, atol=1e-15)


def test_gradients_permute_with_documents_in_expectation():
    y = np.array([0.0, 2.0, 1.0, 0.0, 1.0, 3.0])
    s = np.array([0.3, -0.2, 0.1, 0.5, -0.4, 0.0])
    gp = np.array([0, 6], dtype=np.int64)
    perm = np.array([4, 2, 5, 0, 3, 1])
    g1, _ = grad_hess(fitted(StochasticRank(num_estimations=20000), y, gp, seed=1), s)
    g2, _ = grad_hess(fitted(StochasticRank(num_estimations=20000), y[perm], gp, seed=2), s[perm])
    np.testing.assert_allclose(g2, g1[perm], atol=0.03 * np.abs(g1).max())


def test_same_result_for_one_and_two_threads():
    y, s, gp = random_queries(4, n_queries=40, max_size=30)
    before = numba.get_num_threads()
    try:
        out = []
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            out.append(grad_hess(fitted(StochasticRank(num_estimations=2), y, gp), s, iteration=5))
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


def test_randomness_depends_on_seed_and_iteration_only():
    y, s, gp = random_queries(5)
    obj = fitted(StochasticRank(), y, gp, seed=11)
    g5, _ = grad_hess(obj, s, iteration=5)
    g6, _ = grad_hess(obj, s, iteration=6)
    assert not np.array_equal(g5, g6)
    g5_fresh, _ = grad_hess(fitted(StochasticRank(), y, gp, seed=11), s, iteration=5)
    np.testing.assert_array_equal(g5, g5_fresh)


def test_scale_free_acceleration_removes_the_score_direction():
    y, s, gp = random_queries(6, n_queries=1, max_size=10)
    s = s * 3
    obj = fitted(StochasticRank(lambda_=1.0, nu=1e-12), y, gp)
    g, _ = grad_hess(obj, s)
    c = s - s.mean()
    # with nu -> 0 and lambda = 1 the projection is exact: g is orthogonal to c
    assert abs(g @ c) < 1e-9 * np.abs(g).sum() * np.abs(c).sum()
    assert abs(g.sum()) < 1e-12


def test_long_query_runs_in_linear_memory():
    rng = np.random.default_rng(0)
    n = 20000
    y = rng.integers(0, 5, size=n).astype(np.float64)
    s = rng.normal(size=n) * 10
    gp = np.array([0, n], dtype=np.int64)
    g, h = grad_hess(fitted(StochasticRank(top=10), y, gp), s)
    assert np.isfinite(g).all() and np.any(g != 0)


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------
def test_registry_and_params_round_trip():
    obj = get_objective("stochasticrank")
    assert isinstance(obj, StochasticRank) and obj.metric == "ndcg" and obj.is_stochastic
    custom = StochasticRank(metric="MRR", sigma=0.5, num_estimations=3, **{"lambda": 0.5})
    params = custom.get_params()
    assert params["lambda_"] == 0.5 and params["metric"] == "mrr"
    import json

    again = objective_from_dict(json.loads(json.dumps({"name": "stochasticrank", "params": params})))
    assert again.get_params() == params


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(metric="map"), ValueError, "metric"),
        (dict(sigma=0.0), ValueError, "sigma"),
        (dict(num_estimations=0), ValueError, "num_estimations"),
        (dict(mu=-1.0), ValueError, "mu"),
        (dict(nu=0.0), ValueError, "nu"),
        (dict(lambda_=-1.0), ValueError, "lambda_"),
        (dict(top=0), ValueError, "top"),
        (dict(sigma="1"), TypeError, "sigma"),
        (dict(lambada=1.0), TypeError, "lambada"),
    ],
)
def test_bad_parameters_are_named(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        StochasticRank(**kwargs)


def test_bad_labels_are_rejected():
    with pytest.raises(ValueError, match="non-negative"):
        StochasticRank().validate_labels(np.array([0.0, -1.0]))
    with pytest.raises(ValueError, match="overflow"):
        StochasticRank().validate_labels(np.array([0.0, 50.0]))


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


@pytest.mark.parametrize("params", [None, {"metric": "err", "num_estimations": 2}])
def test_estimator_model_is_the_same_for_one_and_two_threads(params):
    from ltr import LambdaRanker

    X, y, qid = estimator_data()
    kw = dict(FAST, objective="stochasticrank", objective_params=params, random_state=3)
    p1 = LambdaRanker(n_jobs=1, **kw).fit(X, y, qid=qid).predict(X)
    p2 = LambdaRanker(n_jobs=2, **kw).fit(X, y, qid=qid).predict(X)
    np.testing.assert_array_equal(p1, p2)
    p3 = LambdaRanker(n_jobs=2, **dict(kw, random_state=4)).fit(X, y, qid=qid).predict(X)
    assert not np.array_equal(p1, p3)


def test_estimator_resumed_training_equals_one_fit(tmp_path):
    from ltr import LambdaRanker

    X, y, qid = estimator_data(1)
    kw = dict(FAST, objective="stochasticrank", objective_params={"sigma": 0.5, "mu": 0.1}, random_state=9)
    full = LambdaRanker(**dict(kw, n_estimators=10)).fit(X, y, qid=qid)
    first = LambdaRanker(**dict(kw, n_estimators=4)).fit(X, y, qid=qid)
    first.save_model(tmp_path / "m.json")
    second = LambdaRanker(**dict(kw, n_estimators=6)).fit(X, y, qid=qid, init_model=tmp_path / "m.json")
    assert second.booster_.n_trees == 10
    np.testing.assert_array_equal(full.predict(X), second.predict(X))


@pytest.mark.parametrize("objective", ["stochasticrank", "yetiloss"])
def test_exp_gain_label_31_refused_as_everywhere_else(objective):
    # one rule with ltr._validation: exp-gain labels must be below 31
    from ltr import LambdaRanker

    X = np.arange(8.0).reshape(4, 2)
    y = np.array([0.0, 31.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="31"):
        LambdaRanker(objective=objective, n_estimators=1).fit(X, y, qid=[0, 0, 1, 1])
    LambdaRanker(objective=objective, n_estimators=1, min_child_samples=1).fit(X, np.minimum(y, 30.0), qid=[0, 0, 1, 1])
