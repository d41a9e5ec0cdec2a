"""IPW, DLA and Unbiased LambdaMART objectives against references.

* IPW softmax: gradient and exact diagonal hessian vs finite differences of ``loss``.
* The debiased LambdaRank kernel vs a plain-Python transcription of
  algorithms.md 1.1 with pair factors and costs; with unit weights it equals
  the ``lambdamart`` objective with a linear gain.
* Unbiased LambdaMART's t+/t- update vs a plain-Python reference.
* The IRW step vs a numerical minimiser of the IRW loss (scipy).
* The click-rate formulation: aggregated gradients = sum of per-session gradients.
"""
import json
import math

import numba
import numpy as np
import pytest
from scipy.optimize import minimize, minimize_scalar

from ltr.objectives import get_objective, objective_from_dict
from ltr.objectives.lambdamart import LambdaMART
from ltr.objectives.unbiased import (
    DLA,
    IPW,
    UnbiasedLambdaMART,
    fit_relevance_scale,
    irw_statistics,
    isotonic_relevance,
    solve_irw,
)


def random_lists(rng, n_queries, sizes=(2, 10), clicks="rate", ties=False):
    lens = rng.integers(sizes[0], sizes[1] + 1, n_queries)
    group_ptr = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    n = int(group_ptr[-1])
    position = np.concatenate([np.arange(1, m + 1) for m in lens]).astype(np.int64)
    if clicks == "rate":
        y = np.round(rng.random(n) * rng.random(n), 3)
        y[rng.random(n) < 0.3] = 0.0
    else:
        y = (rng.random(n) < 0.3).astype(np.float64)
    score = rng.normal(size=n)
    if ties:
        score = np.round(score, 0)
    return y, group_ptr, position, score


def setup(obj, y, group_ptr, position, weight=None):
    obj.validate_labels(y)
    obj.setup(y, group_ptr, sample_weight=weight, seed=0, position=position)
    return obj


def grads(obj, score, iteration=0):
    g = np.zeros_like(score)
    h = np.zeros_like(score)
    obj.gradient_hessian(score, g, h, iteration)
    return g, h


# ---------------------------------------------------------------------------
# IPW softmax: finite differences
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kw", [(IPW, dict(propensity=[1.0, 0.8, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1])),
                                    (DLA, dict())])
def test_ipw_softmax_gradient_matches_finite_differences(cls, kw):
    rng = np.random.default_rng(0)
    y, gp, pos, score = random_lists(rng, 4, sizes=(2, 7))
    sizes = np.diff(gp)
    weight = np.repeat(rng.integers(1, 50, len(sizes)).astype(float), sizes)  # impressions, constant per list
    obj = setup(cls(ranker_loss="softmax", hessian_floor=0.0, **kw), y, gp, pos, weight)
    if cls is DLA:  # non-trivial learned weights
        obj.logits_ = np.log([1.0, 0.7, 0.6, 0.3, 0.35, 0.2, 0.1, 0.12])
        obj._refresh_weights()
    g, h = grads(obj, score)
    eps = 1e-5
    for i in range(len(score)):
        d = np.zeros_like(score)
        d[i] = eps
        fd_g = (obj.loss(score + d) - obj.loss(score - d)) / (2 * eps)
        # the exact diagonal hessian: derivative of g_i in s_i
        fd_h = (grads(obj, score + d)[0][i] - grads(obj, score - d)[0][i]) / (2 * eps)
        assert fd_g == pytest.approx(g[i], rel=1e-5, abs=1e-6)
        assert fd_h == pytest.approx(h[i], rel=1e-5, abs=1e-6)
    # gradients sum to zero in every list
    np.testing.assert_allclose(np.add.reduceat(g, gp[:-1]), 0.0, atol=1e-9)


def test_softmax_hessian_floor_and_degenerate_lists():
    y = np.array([0.5, 0.0, 0.0, 0.0, 0.0, 1.0])
    gp = np.array([0, 3, 5, 6])  # a clicked list, an unclicked list, a single row
    pos = np.array([1, 2, 3, 1, 2, 1])
    obj = setup(IPW(ranker_loss="softmax", hessian_floor=0.25), y, gp, pos)
    score = np.array([0.0, 0.0, 0.0, 1.0, -1.0, 2.0])
    g, h = grads(obj, score)
    np.testing.assert_allclose(g[:3], 0.5 * np.full(3, 1 / 3) - [0.5, 0, 0])
    np.testing.assert_allclose(h[:3], 0.5 * (np.full(3, 2 / 9) + 0.25))
    assert np.all(g[3:] == 0) and np.all(h[3:] == 0)


# ---------------------------------------------------------------------------
# Debiased LambdaRank kernel vs plain Python
# ---------------------------------------------------------------------------
def lambdas_reference(score, gain, base_gain, bins, t_plus, t_minus, row_weight, sigma, k, norm):
    """Plain-Python transcription of the kernel's documented math, one list."""
    n = len(score)
    g = [0.0] * n
    h = [0.0] * n
    cp = [0.0] * len(t_plus)
    cm = [0.0] * len(t_plus)
    disc = [1 / math.log2(r + 2) for r in range(n)]
    ideal = sorted(base_gain, reverse=True)[: min(k, n)]
    idcg = sum(v * disc[r] for r, v in enumerate(ideal))
    if n <= 1 or idcg == 0:
        return g, h, cp, cm
    order = sorted(range(n), key=lambda i: -score[i])  # Python's sort is stable
    by_dist = norm and score[order[0]] != score[order[-1]]
    total = 0.0
    for a in range(min(n - 1, k)):
        for b in range(a + 1, n):
            ia, ib = order[a], order[b]
            if gain[ia] == gain[ib]:
                continue
            (i, ri), (j, rj) = ((ia, a), (ib, b)) if gain[ia] > gain[ib] else ((ib, b), (ia, a))
            ds = score[i] - score[j]
            dd = abs(disc[ri] - disc[rj]) / idcg
            dz = (gain[i] - gain[j]) * dd
            dzb = abs(base_gain[i] - base_gain[j]) * dd
            if by_dist:
                dz /= float(np.float32(0.01)) + abs(ds)
                dzb /= float(np.float32(0.01)) + abs(ds)
            rho = 1 / (1 + math.exp(sigma * ds))
            f = 1 / (t_plus[bins[i]] * t_minus[bins[j]])
            g[i] -= sigma * rho * dz * f
            g[j] += sigma * rho * dz * f
            h[i] += sigma**2 * rho * (1 - rho) * dz * f
            h[j] += sigma**2 * rho * (1 - rho) * dz * f
            total += 2 * sigma * rho * dzb
            cost = dz * math.log1p(math.exp(-sigma * ds)) * 0.5 * (row_weight[i] + row_weight[j])
            cp[bins[i]] += cost / t_minus[bins[j]]
            cm[bins[j]] += cost / t_plus[bins[i]]
    if norm and total > 0:
        s = math.log2(1 + total) / total
        g = [v * s for v in g]
        h = [v * s for v in h]
    return g, h, cp, cm


@pytest.mark.parametrize("norm", [True, False])
@pytest.mark.parametrize("truncation", [30, 3])
@pytest.mark.parametrize("ties", [False, True])
def test_ipw_lambdarank_matches_reference(norm, truncation, ties):
    rng = np.random.default_rng(1)
    y, gp, pos, score = random_lists(rng, 12, sizes=(1, 9), ties=ties)
    propensity = [1.0, 0.9, 0.6, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1]
    obj = setup(IPW(propensity=propensity, max_propensity_weight=6.0, sigmoid=1.3,
                    lambdarank_truncation_level=truncation, lambdarank_norm=norm), y, gp, pos)
    g, h = grads(obj, score)
    w = np.minimum(1.0 / np.array(propensity), 6.0)
    ones = [1.0] * 9
    for q in range(len(gp) - 1):
        a, b = gp[q], gp[q + 1]
        bins = list(pos[a:b] - 1)
        rg, rh, _, _ = lambdas_reference(list(score[a:b]), list(y[a:b] * w[bins]), list(y[a:b]), bins,
                                         ones, ones, [1.0] * (b - a), 1.3, truncation, norm)
        np.testing.assert_allclose(g[a:b], rg, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(h[a:b], rh, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("norm", [True, False])
def test_unit_weights_equal_lambdamart_with_linear_gain(norm):
    rng = np.random.default_rng(2)
    lens = rng.integers(1, 12, 20)
    gp = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    n = int(gp[-1])
    y = rng.integers(0, 4, n).astype(np.float64)
    pos = np.concatenate([np.arange(1, m + 1) for m in lens])
    score = rng.normal(size=n)
    naive = setup(IPW(lambdarank_norm=norm, lambdarank_truncation_level=5), y, gp, pos)
    ref = LambdaMART(lambdarank_norm=norm, lambdarank_truncation_level=5, label_gain=[0.0, 1.0, 2.0, 3.0])
    ref.validate_labels(y)
    ref.setup(y, gp)
    g1, h1 = grads(naive, score)
    g2, h2 = grads(ref, score)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h1, h2, rtol=1e-12, atol=1e-15)


def test_single_click_weight_survives_normalisation():
    # One clicked document: its IPW weight must scale the lambdas (the per-query
    # normalisers come from the unweighted clicks and do not cancel it).
    y = np.array([0.0, 1.0, 0.0])
    gp = np.array([0, 3])
    pos = np.array([1, 2, 3])
    score = np.array([0.3, 0.0, -0.2])
    g_small, _ = grads(setup(IPW(propensity=[1.0, 1.0, 1.0], lambdarank_norm=False), y, gp, pos), score)
    g_big, _ = grads(setup(IPW(propensity=[1.0, 0.25, 1.0], lambdarank_norm=False), y, gp, pos), score)
    np.testing.assert_allclose(g_big, 4 * g_small)


# ---------------------------------------------------------------------------
# Unbiased LambdaMART: t+ / t- updates vs plain Python
# ---------------------------------------------------------------------------
def test_unbiased_lambdamart_bias_update_matches_reference():
    rng = np.random.default_rng(3)
    y, gp, pos, score0 = random_lists(rng, 15, sizes=(3, 6), clicks="binary")
    weight = np.repeat(rng.integers(1, 4, len(gp) - 1).astype(float), np.diff(gp))
    p_reg = 0.5
    obj = setup(UnbiasedLambdaMART(position_bias_regularization=p_reg, lambdarank_truncation_level=4),
                y, gp, pos, weight)
    tp, tm = np.ones(6), np.ones(6)
    score = score0.copy()
    for it in range(3):
        g, h = grads(obj, score, it)
        cp_tot, cm_tot = np.zeros(6), np.zeros(6)
        for q in range(len(gp) - 1):
            a, b = gp[q], gp[q + 1]
            bins = list(pos[a:b] - 1)
            rg, rh, cp, cm = lambdas_reference(list(score[a:b]), list(y[a:b]), list(y[a:b]), bins, list(tp), list(tm),
                                               list(weight[a:b]), 1.0, 4, True)
            np.testing.assert_allclose(g[a:b], np.array(rg) * weight[a:b], rtol=1e-10, atol=1e-14)
            np.testing.assert_allclose(h[a:b], np.array(rh) * weight[a:b], rtol=1e-10, atol=1e-14)
            cp_tot += cp
            cm_tot += cm
        obj.after_iteration(score, it)
        for t, c in ((tp, cp_tot), (tm, cm_tot)):
            ok = c > 0
            t[ok] = (c[ok] / c[0]) ** (1 / (1 + p_reg))
        np.testing.assert_allclose(obj.t_plus_, tp, rtol=1e-10)
        np.testing.assert_allclose(obj.t_minus_, tm, rtol=1e-10)
        np.testing.assert_allclose(obj.propensity_history_[-1], tp, rtol=1e-10)
        score = score - 0.3 * g  # move on so that the next round differs
    assert not np.allclose(tp, 1.0)


# ---------------------------------------------------------------------------
# DLA: IRW step
# ---------------------------------------------------------------------------
def irw_loss_reference(logits, raw, counts, bins, gp, v_max):
    total = 0.0
    for q in range(len(gp) - 1):
        a, b = gp[q], gp[q + 1]
        pivot = a + int(np.argmin(bins[a:b]))
        log_z = np.logaddexp.reduce(logits[bins[a:b]])
        for i in range(a, b):
            v = min(math.exp(raw[pivot] - raw[i]), v_max)
            total -= counts[i] * v * (logits[bins[i]] - log_z)
    return total


def test_irw_closed_form_for_full_lists_equals_numerical_minimiser():
    rng = np.random.default_rng(4)
    nq, k = 40, 6
    gp = np.arange(0, nq * k + 1, k, dtype=np.int64)
    bins = np.tile(np.arange(k), nq)
    counts = rng.poisson(3.0 * np.exp(-0.3 * bins)).astype(float)
    raw = rng.normal(size=nq * k)
    numer, mass = irw_statistics(raw, counts, bins, gp, k, max_relevance_weight=5.0)
    logits, n_iter = solve_irw(numer, mass, bins, gp, np.zeros(k))
    # closed form: e_k = log B_k - log B_1, exact in one fixed-point step
    np.testing.assert_allclose(logits, np.log(numer) - np.log(numer[0]), rtol=1e-12, atol=1e-12)
    assert n_iter <= 2
    res = minimize(lambda e: irw_loss_reference(np.concatenate(([0.0], e)), raw, counts, bins, gp, 5.0),
                   np.zeros(k - 1), method="BFGS", options=dict(gtol=1e-10))
    np.testing.assert_allclose(logits[1:], res.x, atol=1e-5)


def test_irw_variable_lists_equal_numerical_minimiser():
    rng = np.random.default_rng(5)
    lens = rng.integers(2, 8, 60)
    gp = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    bins = np.concatenate([np.arange(m) for m in lens])
    counts = rng.poisson(2.0 * np.exp(-0.4 * bins)).astype(float)
    raw = rng.normal(size=bins.size)
    numer, mass = irw_statistics(raw, counts, bins, gp, 7, max_relevance_weight=None)
    logits, _ = solve_irw(numer, mass, bins, gp, np.zeros(7), max_iter=2000, tol=1e-13)
    res = minimize(lambda e: irw_loss_reference(np.concatenate(([0.0], e)), raw, counts, bins, gp, np.inf),
                   np.zeros(6), method="BFGS", options=dict(gtol=1e-10))
    np.testing.assert_allclose(logits[1:], res.x, atol=1e-5)
    # the objective's own loss agrees with the reference
    obj = setup(DLA(max_relevance_weight=None, relevance_model=1.0), counts, gp, bins + 1)
    assert obj.irw_loss(raw, logits) == pytest.approx(irw_loss_reference(logits, raw, counts, bins, gp, np.inf))


def test_irw_positions_without_clicks_keep_their_logit():
    gp = np.array([0, 3, 6], dtype=np.int64)
    bins = np.array([0, 1, 2, 0, 1, 2])
    counts = np.array([2.0, 1.0, 0.0, 3.0, 1.0, 0.0])
    numer, mass = irw_statistics(np.zeros(6), counts, bins, gp, 3)
    logits, _ = solve_irw(numer, mass, bins, gp, np.array([0.0, 0.0, -1.5]))
    np.testing.assert_allclose(logits, [0.0, math.log(2 / 5), -1.5])


def test_relevance_scale_minimises_ipw_softmax_loss():
    rng = np.random.default_rng(6)
    y, gp, pos, score = random_lists(rng, 30, sizes=(3, 8))
    obj = setup(IPW(ranker_loss="softmax", propensity=np.linspace(1, 0.3, 8)), y, gp, pos)
    tau = fit_relevance_scale(score, obj.y_, obj.row_ipw_, obj.row_weight_, obj.group_ptr_)
    ref = minimize_scalar(lambda t: obj.loss(t * score), bounds=(1e-4, 50), method="bounded",
                          options=dict(xatol=1e-10))
    assert tau == pytest.approx(ref.x, rel=1e-5)


def test_isotonic_relevance_matches_sklearn():
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(12)
    raw = np.round(rng.normal(size=400), 1)  # many ties
    target = np.clip(0.3 * raw + rng.normal(scale=0.5, size=400), 0, None)
    weight = rng.integers(1, 20, 400).astype(float)
    ours = isotonic_relevance(raw, target, weight)
    ref = IsotonicRegression().fit(raw, target, sample_weight=weight).predict(raw)
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
    assert np.all(np.diff(ours[np.argsort(raw, kind="stable")]) >= -1e-15)


def test_dla_update_recovers_propensity_with_oracle_relevance():
    # With the true relevance as scores, one undamped IRW step returns theta
    # (up to the click noise), whatever the lists' lengths.
    rng = np.random.default_rng(7)
    theta = np.array([1.0, 0.7, 0.5, 0.35, 0.25, 0.2])
    lens = rng.integers(3, 7, 3000)
    gp = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    pos = np.concatenate([np.arange(1, m + 1) for m in lens])
    rel = rng.uniform(0.1, 1.0, pos.size)
    impressions = 400.0
    rate = rng.binomial(int(impressions), theta[pos - 1] * rel) / impressions
    weight = np.full(pos.size, impressions)
    obj = setup(DLA(propensity_damping=1.0, relevance_model=1.0, max_relevance_weight=None), rate, gp, pos, weight)
    est = obj.update_propensity(np.log(rel))
    np.testing.assert_allclose(est, theta, rtol=0.02)


# ---------------------------------------------------------------------------
# Click-rate formulation: aggregated = sum over sessions
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [IPW, DLA])
def test_aggregated_gradients_equal_sum_of_session_gradients(cls):
    rng = np.random.default_rng(8)
    lens = np.array([4, 3, 5])
    n_sessions = np.array([7, 3, 5])
    theta = np.array([1.0, 0.6, 0.4, 0.3, 0.2])
    scores = [rng.normal(size=m) for m in lens]
    sess_y, sess_pos, sess_score, sess_list = [], [], [], []
    for l, (m, ns) in enumerate(zip(lens, n_sessions)):
        for _ in range(ns):
            sess_y.append((rng.random(m) < 0.4 * theta[:m]).astype(float))
            sess_pos.append(np.arange(1, m + 1))
            sess_score.append(scores[l])
            sess_list.append(np.full(m, l))
    sizes = [len(v) for v in sess_y]
    gp_s = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    y_s, pos_s, score_s, list_s = (np.concatenate(v) for v in (sess_y, sess_pos, sess_score, sess_list))
    # aggregated rows: click rate and impressions per (list, position)
    gp_a = np.concatenate(([0], np.cumsum(lens))).astype(np.int64)
    pos_a = np.concatenate([np.arange(1, m + 1) for m in lens])
    score_a = np.concatenate(scores)
    clicks_a = np.zeros(pos_a.size)
    for l in range(len(lens)):
        for k in range(lens[l]):
            clicks_a[gp_a[l] + k] = y_s[(list_s == l) & (pos_s == k + 1)].sum()
    imp_a = np.repeat(n_sessions.astype(float), lens)
    kw = dict(ranker_loss="softmax", propensity=theta) if cls is IPW else dict(ranker_loss="softmax")
    per_session = setup(cls(**kw), y_s, gp_s, pos_s)
    aggregated = setup(cls(**kw), clicks_a / imp_a, gp_a, pos_a, imp_a)
    if cls is DLA:
        for o in (per_session, aggregated):
            o.logits_ = np.log(theta)
            o._refresh_weights()
    g_s, h_s = grads(per_session, score_s)
    g_a, h_a = grads(aggregated, score_a)
    for l in range(len(lens)):
        for k in range(lens[l]):
            m = (list_s == l) & (pos_s == k + 1)
            assert g_s[m].sum() == pytest.approx(g_a[gp_a[l] + k], abs=1e-12)
            assert h_s[m].sum() == pytest.approx(h_a[gp_a[l] + k], abs=1e-12)
    if cls is DLA:  # the IRW step sees the same statistics
        assert per_session.update_propensity(score_s) == pytest.approx(aggregated.update_propensity(score_a))


# ---------------------------------------------------------------------------
# State, determinism, errors
# ---------------------------------------------------------------------------
def test_dla_history_state_round_trip():
    rng = np.random.default_rng(9)
    y, gp, pos, score = random_lists(rng, 50, sizes=(4, 6))
    obj = setup(DLA(ranker_loss="lambdarank"), y, gp, pos)
    for it in range(3):
        grads(obj, score, it)
        obj.after_iteration(score * (1 + it), it)
    assert len(obj.propensity_history_) == 3
    state = json.loads(json.dumps(obj.state()))
    assert state["propensity"][0] == 1.0 and len(state["propensity_history"]) == 3
    d = {"name": obj.name, "params": json.loads(json.dumps(obj.get_params())), "state": state}
    again = objective_from_dict(d)
    np.testing.assert_allclose(again.propensity_, obj.propensity_)
    setup(again, y, gp, pos)  # continued training starts from the saved propensities
    np.testing.assert_allclose(again.propensity_, obj.propensity_)
    assert len(again.propensity_history_) == 3
    np.testing.assert_allclose(grads(again, score)[0], grads(obj, score)[0])


def test_update_every_and_damping():
    rng = np.random.default_rng(10)
    y, gp, pos, score = random_lists(rng, 40, sizes=(5, 5))
    full = setup(DLA(propensity_damping=1.0, relevance_model=1.0), y, gp, pos)
    half = setup(DLA(propensity_damping=0.5, relevance_model=1.0, update_every=2), y, gp, pos)
    target = full.update_propensity(score)
    half.after_iteration(score, 0)
    np.testing.assert_allclose(half.propensity_, 1.0)  # no update after the first tree
    half.after_iteration(score, 1)
    np.testing.assert_allclose(np.log(half.propensity_), 0.5 * np.log(target))


def test_gradients_do_not_depend_on_thread_count():
    rng = np.random.default_rng(11)
    y, gp, pos, score = random_lists(rng, 300, sizes=(1, 10), clicks="binary")
    obj = setup(UnbiasedLambdaMART(), y, gp, pos)
    before = numba.get_num_threads()
    try:
        out = []
        for threads in (1, before):
            numba.set_num_threads(threads)
            o = setup(UnbiasedLambdaMART(), y, gp, pos)
            g, h = grads(o, score)
            o.after_iteration(score, 0)
            out.append((g, h, o.t_plus_.copy(), o.t_minus_.copy()))
    finally:
        numba.set_num_threads(before)
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    del obj


def test_registry_and_estimator_params():
    obj = get_objective("dla", sigmoid=2.0, lambdarank_truncation_level=5, lambdarank_norm=False, n_estimators=3)
    assert isinstance(obj, DLA) and obj.sigmoid == 2.0 and obj.lambdarank_truncation_level == 5
    assert isinstance(get_objective("unbiased_lambdamart"), UnbiasedLambdaMART)
    assert isinstance(get_objective("ipw"), IPW)


@pytest.mark.parametrize(
    "make, kwargs, match",
    [
        (lambda: IPW(), dict(position=None), "pass position= to fit"),
        (lambda: IPW(), dict(position=[0, 1, 2]), "1-based"),
        (lambda: IPW(), dict(position=[1.5, 2, 3]), "whole numbers"),
        (lambda: IPW(propensity=[1.0, 0.5]), dict(position=[1, 2, 3]), "one per position"),
        (lambda: DLA(), dict(y=[-1.0, 0.0, 1.0]), "cannot be negative"),
    ],
)
def test_setup_errors(make, kwargs, match):
    y = np.asarray(kwargs.get("y", [1.0, 0.0, 0.0]))
    position = kwargs.get("position", [1, 2, 3])
    obj = make()
    with pytest.raises(ValueError, match=match):
        obj.validate_labels(y)
        obj.setup(y, np.array([0, 3]), position=None if position is None else np.asarray(position))


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: DLA(ranker_loss="listnet"), "ranker_loss"),
        (lambda: DLA(propensity_damping=0.0), "propensity_damping"),
        (lambda: DLA(update_every=0), "update_every"),
        (lambda: DLA(relevance_model=-1.0), "relevance_model"),
        (lambda: DLA(relevance_model="logistic"), "relevance_model"),
        (lambda: DLA(propensity_init="zeros"), "propensity_init"),
        (lambda: IPW(propensity=[1.0, -0.5]), "propensity"),
        (lambda: IPW(max_propensity_weight=0.0), "max_propensity_weight"),
        (lambda: UnbiasedLambdaMART(position_bias_regularization=-1), "position_bias_regularization"),
        (lambda: UnbiasedLambdaMART(sigmoid=0.0), "sigmoid"),
    ],
)
def test_constructor_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ---------------------------------------------------------------------------
# Lists with equal clicks: exactly zero g and h (the Objective contract)
# ---------------------------------------------------------------------------
PROPENSITY8 = [1.0, 0.8, 0.5, 0.4, 0.3, 0.2, 0.15, 0.1]


@pytest.mark.parametrize("make", [
    lambda: IPW(propensity=PROPENSITY8, ranker_loss="softmax"),
    lambda: IPW(propensity=PROPENSITY8, ranker_loss="lambdarank"),
    lambda: IPW(propensity=PROPENSITY8, ranker_loss="yetirank"),
    lambda: DLA(ranker_loss="softmax", n_positions=8),
    lambda: DLA(ranker_loss="lambdarank", n_positions=8),
    lambda: DLA(ranker_loss="yetirank", n_positions=8),
    lambda: UnbiasedLambdaMART(n_positions=8),
], ids=["ipw-softmax", "ipw-lambdarank", "ipw-yetirank", "dla-softmax", "dla-lambdarank", "dla-yetirank", "ulm"])
def test_lists_with_equal_clicks_get_zero_gradient(make):
    # every row clicked at the same rate, no click, one row; the 4th list is informative.
    # The position weights differ inside each list, so the weighted gains are not equal:
    # only the click labels decide.
    y = np.array([0.4, 0.4, 0.4, 0.0, 0.0, 0.0, 0.0, 1.0, 0.7, 0.0, 0.2, 0.0])
    gp = np.array([0, 3, 7, 8, 12])
    pos = np.array([1, 2, 3, 1, 2, 3, 4, 1, 1, 2, 3, 4])
    obj = setup(make(), y, gp, pos, weight=np.full(len(y), 30.0))
    if isinstance(obj, DLA):
        obj.logits_ = np.log(PROPENSITY8)
        obj._refresh_weights()
    elif isinstance(obj, UnbiasedLambdaMART):
        obj.t_plus_[:] = PROPENSITY8
        obj.t_minus_[:] = np.linspace(1.0, 0.5, 8)
    score = np.random.default_rng(0).normal(size=len(y))
    g, h = grads(obj, score)
    assert not g[:8].any() and not h[:8].any()
    assert g[8:].any() and np.all(h[8:] >= 0)
    if getattr(obj, "ranker_loss", "lambdarank") == "softmax":
        # the loss excludes them too, so that it stays the potential of g
        only = setup(make(), y[8:], gp[3:] - 8, pos[8:], weight=np.full(4, 30.0))
        if isinstance(only, DLA):
            only.logits_ = np.log(PROPENSITY8)
            only._refresh_weights()
        assert obj.loss(score) == pytest.approx(only.loss(score[8:]))


# ---------------------------------------------------------------------------
# YetiRank ranker loss
# ---------------------------------------------------------------------------
def test_yetirank_ranker_loss_is_yetirank_on_the_weighted_gains():
    # Reference: the YetiRank objective (tested against its own plain-Python
    # reference in tests/test_yetirank.py) on the labels G = c * w_pos, for
    # lists whose clicks differ (the only ones the click objectives keep).
    from ltr.objectives.yetirank import YetiRank

    rng = np.random.default_rng(5)
    y, gp, pos, score = random_lists(rng, 40, sizes=(2, 8), clicks="binary")
    keep = [q for q in range(len(gp) - 1) if np.ptp(y[gp[q]:gp[q + 1]]) > 0]
    rows = np.concatenate([np.arange(gp[q], gp[q + 1]) for q in keep])
    y, pos, score = y[rows], pos[rows], score[rows]
    gp = np.concatenate(([0], np.cumsum([gp[q + 1] - gp[q] for q in keep]))).astype(np.int64)
    for obj in (IPW(propensity=PROPENSITY8, ranker_loss="yetirank"), DLA(ranker_loss="yetirank", n_positions=8)):
        setup(obj, y, gp, pos)
        if isinstance(obj, DLA):
            obj.logits_ = np.log(PROPENSITY8)
            obj._refresh_weights()
        gain = y / np.asarray(PROPENSITY8)[pos - 1]
        ref = YetiRank()
        ref.setup(gain, gp, seed=0)
        for it in (0, 3):
            g, h = grads(obj, score, it)
            g_ref, h_ref = grads(ref, score, it)
            np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-15)
        assert not np.array_equal(grads(obj, score, 0)[0], grads(obj, score, 1)[0])  # fresh rankings per iteration


def test_yetirank_tiny_example_by_hand():
    # Two documents, no click noise ambiguity: every noisy ranking has exactly
    # one adjacent pair, at rank 0, so c_ab = 0.15 |G_a - G_b| whatever the noise.
    y = np.array([1.0, 0.0])
    obj = setup(IPW(propensity=[1.0, 0.25], ranker_loss="yetirank"), y, np.array([0, 2]), np.array([2, 1]))
    score = np.array([0.3, -0.2])
    g, h = grads(obj, score)
    c = 0.15 * 4.0  # the click at position 2 weighs 1 / 0.25
    rho = 1.0 / (1.0 + math.exp(score[0] - score[1]))
    np.testing.assert_allclose(g, [-c * rho, c * rho], rtol=1e-12)
    np.testing.assert_allclose(h, [c * rho * (1 - rho)] * 2, rtol=1e-12)


def test_dla_yetirank_fit_is_deterministic_across_threads():
    from ltr import LambdaRanker

    rng = np.random.default_rng(2)
    n_q, k = 60, 8
    X = rng.normal(size=(n_q * k, 4))
    c = (rng.random(n_q * k) < 0.3 + 0.2 * (X[:, 0] > 0)).astype(float)
    qid = np.repeat(np.arange(n_q), k)
    pos = np.tile(np.arange(1, k + 1), n_q)
    fits = []
    for n_jobs in (1, 2, 1):
        m = LambdaRanker(objective="dla", objective_params=dict(ranker_loss="yetirank"), n_estimators=5,
                         num_leaves=4, random_state=7, n_jobs=n_jobs).fit(X, c, qid=qid, position=pos)
        fits.append((m.predict(X), m.objective_.propensity_.copy()))
    for pred, prop in fits[1:]:
        np.testing.assert_array_equal(pred, fits[0][0])
        np.testing.assert_array_equal(prop, fits[0][1])
    other = LambdaRanker(objective="dla", objective_params=dict(ranker_loss="yetirank"), n_estimators=5,
                         num_leaves=4, random_state=8, n_jobs=1).fit(X, c, qid=qid, position=pos)
    assert not np.array_equal(other.predict(X), fits[0][0])
