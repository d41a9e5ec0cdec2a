"""Propensities from a cross-fitted within-position relevance model (ltr.unbiased._within_position)."""
import numpy as np
import pytest

from ltr.unbiased import estimate_propensity_within_position
from ltr.unbiased._within_position import WithinPositionPoisson, fit_list_pbm, position_offsets


def fixed_lists(n_queries=200, k=6, seed=0, expected=False):
    """One fixed list per query in a noisy production-score order; PBM click rates over many impressions."""
    rng = np.random.default_rng(seed)
    theta = np.array([1.0, 0.6, 0.4, 0.3, 0.22, 0.16])[:k]
    X = rng.normal(size=(n_queries * k, 4))
    gamma = 1.0 / (1.0 + np.exp(-2.0 * X[:, 0]))
    qid = np.repeat(np.arange(n_queries), k)
    noisy = X[:, 0] + rng.normal(0, 1.0, len(X))
    pos = np.empty(n_queries * k, dtype=np.int64)
    for q in range(n_queries):
        rows = slice(q * k, (q + 1) * k)
        pos[rows] = np.argsort(np.argsort(-noisy[rows])) + 1
    imp = np.repeat(rng.integers(2000, 4000, n_queries).astype(float), k)
    p = theta[pos - 1] * gamma
    rate = p if expected else rng.binomial(imp.astype(int), p) / imp
    return X, rate, qid, pos, imp, theta, gamma


def test_position_offsets_match_plain_python():
    rng = np.random.default_rng(1)
    raw = rng.normal(0, 3, 50) + 400.0  # large scores: the shifted sums must not overflow
    y = rng.uniform(0, 1, 50)
    w = rng.uniform(1, 5, 50)
    bins = rng.integers(0, 4, 50)
    y[bins == 3] = 0.0  # a position without clicks
    b = position_offsets(raw, y, w, bins, 5)
    for k in range(3):
        num = sum(w[i] * y[i] for i in range(50) if bins[i] == k)
        den = sum(w[i] * np.exp(raw[i] - 400.0) for i in range(50) if bins[i] == k)
        assert b[k] == pytest.approx(np.log(num) - np.log(den) - 400.0, rel=1e-12)
    assert b[3] == -np.inf and b[4] == -np.inf  # no click / no row


def profile_loss(raw, y, w, bins, k):
    """The profiled Poisson loss, in plain Python (reference for the gradients)."""
    total = 0.0
    for j in range(k):
        rows = [i for i in range(len(y)) if bins[i] == j]
        c = sum(w[i] * y[i] for i in rows)
        if c == 0:
            continue
        b = np.log(c) - np.log(sum(w[i] * np.exp(raw[i]) for i in rows))
        total += sum(w[i] * (np.exp(raw[i] + b) - y[i] * (raw[i] + b)) for i in rows)
    return total


def test_within_position_gradients_are_profile_gradients_and_sum_to_zero_per_position():
    rng = np.random.default_rng(2)
    n, k = 24, 4
    y = rng.uniform(0, 0.5, n)
    w = rng.uniform(10, 20, n)
    pos = rng.integers(1, k + 1, n)
    raw = rng.normal(0, 1, n)
    obj = WithinPositionPoisson(k).setup(y, np.array([0, n]), sample_weight=w, position=pos)
    g, h = np.zeros(n), np.zeros(n)
    obj.gradient_hessian(raw, g, h)
    eps = 1e-6
    for i in range(n):
        up, down = raw.copy(), raw.copy()
        up[i] += eps
        down[i] -= eps
        fd = (profile_loss(up, y, w, pos - 1, k) - profile_loss(down, y, w, pos - 1, k)) / (2 * eps)
        assert g[i] == pytest.approx(fd, rel=1e-5, abs=1e-7)
    assert obj.loss(raw) == pytest.approx(profile_loss(raw, y, w, pos - 1, k), rel=1e-12)
    # no position effect can be learned: each position's gradients sum to zero
    np.testing.assert_allclose(np.bincount(pos - 1, weights=g, minlength=k), 0.0, atol=1e-9)
    assert np.all(h > 0)
    # a shift of the scores of one position changes nothing
    shifted = raw + np.where(pos == 2, 5.0, 0.0)
    g2 = np.zeros(n)
    obj.gradient_hessian(shifted, g2, np.zeros(n))
    np.testing.assert_allclose(g2, g, rtol=1e-9, atol=1e-12)


def test_list_pbm_recovers_theta_from_exact_relevance_and_matches_plain_loop():
    X, rate, qid, pos, imp, theta, gamma = fixed_lists(n_queries=50, expected=True)
    # any per-list rescaling of the relevance is absorbed by the list offsets
    log_rel = np.log(gamma) + np.repeat(np.arange(50) * 0.3, 6)
    est, n_iter, converged = fit_list_pbm(log_rel, rate, imp, pos - 1, qid, 6)
    assert converged
    np.testing.assert_allclose(est, theta / theta[0], rtol=1e-7)
    # plain-Python alternating maximisation, a fixed number of steps
    t = np.ones(6)
    rel = imp * np.exp(log_rel)
    for _ in range(5):
        a = {q: sum(rate[i] * imp[i] for i in range(300) if qid[i] == q)
             / sum(rel[i] * t[pos[i] - 1] for i in range(300) if qid[i] == q) for q in range(50)}
        t = np.array([sum(rate[i] * imp[i] for i in range(300) if pos[i] == j + 1)
                      / sum(rel[i] * a[qid[i]] for i in range(300) if pos[i] == j + 1) for j in range(6)])
        t = t / t[0]
    five, _, _ = fit_list_pbm(log_rel, rate, imp, pos - 1, qid, 6, max_iter=5, tol=0.0)
    np.testing.assert_allclose(five, t, rtol=1e-10)


def test_within_position_estimate_recovers_propensities_and_is_deterministic():
    from ltr.unbiased import estimate_propensity_cross_fit

    X, rate, qid, pos, imp, theta, _ = fixed_lists(n_queries=300)
    kw = dict(sample_weight=imp, n_folds=3, ranker_params=dict(n_estimators=40, num_leaves=8), random_state=0)
    est = estimate_propensity_within_position(X, rate, qid, pos, **kw)
    err = np.abs(est.propensity / theta - 1).max()
    assert err < 0.12, err
    again = estimate_propensity_within_position(X, rate, qid, pos, **kw)
    np.testing.assert_array_equal(est.propensity, again.propensity)
    assert est.relevance.shape == rate.shape and len(est.history) == 1
    # the default method of estimate_propensity_cross_fit
    np.testing.assert_array_equal(estimate_propensity_cross_fit(X, rate, qid, pos, **kw).propensity, est.propensity)
    # row order does not matter
    perm = np.random.default_rng(0).permutation(len(rate))
    shuffled = estimate_propensity_within_position(X[perm], rate[perm], qid[perm], pos[perm],
                                                   **dict(kw, sample_weight=imp[perm]))
    np.testing.assert_allclose(shuffled.propensity, est.propensity, rtol=1e-12)


def test_within_position_errors():
    X, rate, qid, pos, imp, _, _ = fixed_lists(n_queries=10)
    with pytest.raises(ValueError, match="n_folds must be >= 2"):
        estimate_propensity_within_position(X, rate, qid, pos, n_folds=1)
    with pytest.raises(ValueError, match="no click at position 1"):
        estimate_propensity_within_position(X, np.where(pos == 1, 0.0, rate), qid, pos)
    with pytest.raises(ValueError, match="1-based"):
        estimate_propensity_within_position(X, rate, qid, pos - 1)
    with pytest.raises(ValueError, match="needs at least as many lists"):
        estimate_propensity_within_position(X[:12], rate[:12], qid[:12], pos[:12], n_folds=3)
