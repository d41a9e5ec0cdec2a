"""Feature-free propensity estimators (EM, DLA with free relevance, CTR ratio)."""
import numpy as np
import pytest

from ltr.unbiased import ctr_propensity, estimate_propensity_dla, estimate_propensity_em, relative_error


def pbm_log(n_sessions=20_000, n_items=60, list_len=6, seed=0):
    """Sessions showing random subsets of items in random order (interventions), PBM clicks."""
    rng = np.random.default_rng(seed)
    theta = np.array([0.9, 0.7, 0.5, 0.4, 0.3, 0.25])[:list_len]
    gamma = rng.uniform(0.05, 0.9, n_items)
    items = np.concatenate([rng.choice(n_items, list_len, replace=False) for _ in range(n_sessions)])
    pos = np.tile(np.arange(1, list_len + 1), n_sessions)
    session = np.repeat(np.arange(n_sessions), list_len)
    click = (rng.random(items.size) < theta[pos - 1] * gamma[items]).astype(np.int8)
    return click, pos, items, session, theta, gamma


def test_em_recovers_examination_and_relevance():
    click, pos, items, session, theta, gamma = pbm_log()
    est = estimate_propensity_em(click, pos, items, tol=1e-9)
    assert est.converged
    # 20k sessions: about 2 % sampling noise per position
    assert np.max(relative_error(est.propensity, theta / theta[0])) < 0.06
    # EM identifies the product theta * gamma; the scale split is free, ratios are not
    ratio = (est.relevance / est.relevance.mean()) / (gamma / gamma.mean())
    assert np.median(np.abs(ratio - 1)) < 0.05 and np.max(np.abs(ratio - 1)) < 0.35
    assert len(est.history) == est.n_iter


def test_dla_free_relevance_recovers_propensity():
    click, pos, items, session, theta, gamma = pbm_log(seed=1)
    est = estimate_propensity_dla(click, pos, items, session, tol=1e-6)
    assert est.converged
    assert np.max(relative_error(est.propensity, theta / theta[0])) < 0.08
    ratio = (est.relevance / est.relevance.mean()) / (gamma / gamma.mean())
    assert np.median(np.abs(ratio - 1)) < 0.05 and np.max(np.abs(ratio - 1)) < 0.35


def test_estimators_accept_aggregated_rows():
    # Rates with weights give the same EM fit as the expanded 0/1 impressions.
    click = np.array([1, 0, 0, 1, 1, 0, 0, 0])
    pos = np.array([1, 1, 2, 2, 1, 2, 1, 2])
    item = np.array([0, 0, 1, 1, 1, 0, 1, 0])
    a = estimate_propensity_em(click, pos, item, max_iter=50)
    cells = {}
    for c, p, i in zip(click, pos, item):
        cells.setdefault((p, i), []).append(c)
    keys = sorted(cells)
    rate = np.array([np.mean(cells[k]) for k in keys])
    w = np.array([len(cells[k]) for k in keys], dtype=float)
    b = estimate_propensity_em(rate, [k[0] for k in keys], [k[1] for k in keys], weight=w, max_iter=50)
    np.testing.assert_allclose(a.propensity, b.propensity)
    np.testing.assert_allclose(a.relevance, b.relevance)


def test_ctr_propensity():
    click = np.array([1, 0, 1, 0, 0, 1])
    pos = np.array([1, 1, 2, 2, 2, 3])
    np.testing.assert_allclose(ctr_propensity(click, pos), [1.0, (1 / 3) / 0.5, 1.0 / 0.5])
    np.testing.assert_allclose(ctr_propensity(click, pos, n_positions=2), [1.0, (2 / 4) / 0.5])
    with pytest.raises(ValueError, match="no click at position 1"):
        ctr_propensity([0, 1], [1, 2])


def test_relative_error_and_input_errors():
    np.testing.assert_allclose(relative_error([1.0, 0.45], [1.0, 0.5]), [0.0, 0.1])
    with pytest.raises(ValueError, match="shape"):
        relative_error([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="item must have one entry"):
        estimate_propensity_em([1, 0], [1, 2], [0])
    with pytest.raises(ValueError, match="1-based"):
        estimate_propensity_em([1, 0], [0, 1], [0, 1])
    with pytest.raises(ValueError, match="non-negative"):
        estimate_propensity_em([-1, 0], [1, 2], [0, 1])


def test_yandex_click_log_propensities(shared_datasets):
    d = np.load(shared_datasets / "yandex_relpred_click_sample" / "impressions.npz")
    item = d["query"].astype(np.int64) * 10**9 + d["url"]
    em = estimate_propensity_em(d["click"], d["position"], item, tol=1e-6)
    dla = estimate_propensity_dla(d["click"], d["position"], item, d["session"], tol=1e-4)
    assert em.converged and dla.converged
    ctr = ctr_propensity(d["click"], d["position"])
    for p in (em.propensity, dla.propensity):
        assert p[0] == 1.0 and np.all(p[1:] < 1.0) and np.all(p > 0.05)
        # debiasing removes relevance from the CTR curve: lower positions get higher propensity
        assert p[9] > ctr[9]
    # the two estimators weigh the few position changes differently (PBM MLE vs DLA)
    assert np.max(np.abs(em.propensity - dla.propensity)) < 0.1


# ---------------------------------------------------------------------------
# Cross-fitted DLA (features, one fixed list per query)
# ---------------------------------------------------------------------------
def fixed_list_log(n_queries=60, k=6, seed=0, informative=True):
    """One fixed list per query, click rates from the PBM, impressions per list."""
    rng = np.random.default_rng(seed)
    theta = np.array([1.0, 0.7, 0.5, 0.4, 0.3, 0.25])[:k]
    X = rng.normal(size=(n_queries * k, 3)) if informative else np.zeros((n_queries * k, 3))
    gamma = 1.0 / (1.0 + np.exp(-X[:, 0])) if informative else np.full(n_queries * k, 0.5)
    qid = np.repeat(np.arange(n_queries), k)
    pos = np.tile(np.arange(1, k + 1), n_queries)
    imp = np.repeat(rng.integers(50, 200, n_queries).astype(float), k)
    rate = rng.binomial(imp.astype(int), theta[pos - 1] * gamma) / imp
    return X, rate, qid, pos, imp


def test_cross_fit_without_features_is_the_ctr_ratio():
    # Constant features: every out-of-fold ranker scores all rows alike, the
    # relevance model is one constant, v = 1, and with every list showing the
    # same positions the exact IRW step is the click-count ratio per position.
    from ltr.unbiased import estimate_propensity_cross_fit

    X, rate, qid, pos, imp = fixed_list_log(informative=False)
    est = estimate_propensity_cross_fit(X, rate, qid, pos, method="dla", sample_weight=imp, n_folds=2, n_rounds=2,
                                        ranker_params=dict(n_estimators=3))
    np.testing.assert_allclose(est.propensity, ctr_propensity(rate, pos, weight=imp), rtol=1e-10)
    assert len(est.history) == 2 and est.propensity[0] == 1.0


def test_cross_fit_is_deterministic_and_row_order_free():
    from ltr.unbiased import estimate_propensity_cross_fit

    X, rate, qid, pos, imp = fixed_list_log(seed=1)
    kw = dict(method="dla", sample_weight=imp, n_folds=3, n_rounds=2, ranker_params=dict(n_estimators=8, num_leaves=4))
    a = estimate_propensity_cross_fit(X, rate, qid, pos, **kw)
    b = estimate_propensity_cross_fit(X, rate, qid, pos, **kw)
    np.testing.assert_array_equal(a.propensity, b.propensity)
    perm = np.random.default_rng(0).permutation(len(rate))
    kw["sample_weight"] = imp[perm]
    c = estimate_propensity_cross_fit(X[perm], rate[perm], qid[perm], pos[perm], **kw)
    np.testing.assert_allclose(c.propensity, a.propensity, rtol=1e-9)
    np.testing.assert_allclose(c.relevance, a.relevance[perm], rtol=1e-9)
    # another fold split gives another (close) estimate
    d = estimate_propensity_cross_fit(X, rate, qid, pos, random_state=5, **dict(kw, sample_weight=imp))
    assert not np.array_equal(d.propensity, a.propensity)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_folds=1), "n_folds"),
    (dict(n_rounds=0), "n_rounds must be >= 1 or 'auto'"),
    (dict(n_rounds="converge"), "n_rounds must be a positive integer or 'auto'"),
    (dict(max_rounds=0), "max_rounds must be >= 1"),
    (dict(tol=-0.1), "tol must be >= 0"),
    (dict(relevance_model="tree"), "relevance_model"),
    (dict(damping=0.0), "damping"),
    (dict(sample_weight=-np.ones(12)), "sample_weight"),
    (dict(n_folds=5), "at least as many queries"),
    (dict(method="em"), "method must be one of"),
    (dict(method="within_position", n_rounds=3), "n_rounds only apply to method='dla'"),
])
def test_cross_fit_errors(kwargs, match):
    from ltr.unbiased import estimate_propensity_cross_fit

    X, rate, qid, pos, imp = fixed_list_log(n_queries=2)
    with pytest.raises(ValueError, match=match):
        estimate_propensity_cross_fit(X, rate, qid, pos, **dict(dict(method="dla"), **kwargs))
