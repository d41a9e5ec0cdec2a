"""LambdaRanker(unbiased=...) builds the click objectives and exposes their propensities."""
import numpy as np
import pytest

from ltr import LambdaRanker
from ltr.unbiased import simulate_clicks


@pytest.fixture(scope="module")
def clicks():
    rng = np.random.default_rng(0)
    n_queries, k = 200, 10
    X = rng.normal(size=(n_queries * k, 5))
    y = np.clip(np.round(X[:, 0] + rng.normal(0, 0.5, len(X))), 0, 4)
    qid = np.repeat(np.arange(n_queries), k)
    pos = np.tile(np.arange(1, k + 1), n_queries)
    c = simulate_clicks(y, qid, pos, random_state=0)
    return X, c, qid, pos


@pytest.mark.parametrize("unbiased, objective, name, loss", [
    ("dla", "lambdamart", "dla", "lambdarank"),
    ("dla", "softmax", "dla", "softmax"),
    ("dla", "yetirank", "dla", "yetirank"),
    ("naive", "lambdamart", "ipw", "lambdarank"),
    ("unbiased_lambdamart", "lambdamart", "unbiased_lambdamart", None),
])
def test_mapping_and_propensities(clicks, unbiased, objective, name, loss):
    X, c, qid, pos = clicks
    m = LambdaRanker(objective=objective, unbiased=unbiased, n_estimators=4, num_leaves=4, random_state=0)
    m.fit(X, c, qid=qid, position=pos)
    assert m.objective_.name == name
    if loss is not None:
        assert m.objective_.ranker_loss == loss
    assert np.all(np.isfinite(m.predict(X)))
    if unbiased in ("dla", "unbiased_lambdamart"):
        assert m.propensity_.shape == (10,) and m.propensity_[0] == pytest.approx(1.0)
        assert m.propensity_history_.shape[0] == 4


def test_ipw_needs_propensity_and_bad_combinations(clicks):
    X, c, qid, pos = clicks
    with pytest.raises(ValueError, match="propensity"):
        LambdaRanker(unbiased="ipw", n_estimators=2).fit(X, c, qid=qid, position=pos)
    m = LambdaRanker(unbiased="ipw", propensity=1.0 / np.arange(1, 11), n_estimators=2).fit(X, c, qid=qid, position=pos)
    np.testing.assert_allclose(m.objective_.propensity, 1.0 / np.arange(1, 11))
    with pytest.raises(ValueError, match="'lambdamart', 'softmax' or 'yetirank'"):
        LambdaRanker(objective="regression", unbiased="dla", n_estimators=2).fit(X, c, qid=qid, position=pos)
    with pytest.raises(AttributeError, match="no position propensities"):
        LambdaRanker(n_estimators=2).fit(X, c, qid=qid).propensity_


# ---------------------------------------------------------------------------
# unbiased='dla', propensity_estimation='cross_fit'
# ---------------------------------------------------------------------------
def fixed_lists(n_queries=120, k=6, seed=0):
    """One fixed list per query (shown in production-score order), PBM click rates over many impressions."""
    rng = np.random.default_rng(seed)
    theta = np.array([1.0, 0.6, 0.4, 0.3, 0.22, 0.16])[:k]
    X = rng.normal(size=(n_queries * k, 4))
    gamma = 1.0 / (1.0 + np.exp(-2.0 * X[:, 0]))
    qid = np.repeat(np.arange(n_queries), k)
    pos = np.empty(n_queries * k, dtype=np.int64)
    noisy = X[:, 0] + rng.normal(0, 1.0, len(X))  # the production ranker: informative, not exact
    for q in range(n_queries):
        rows = slice(q * k, (q + 1) * k)
        pos[rows] = np.argsort(np.argsort(-noisy[rows])) + 1
    imp = np.repeat(rng.integers(2000, 4000, n_queries).astype(float), k)
    rate = rng.binomial(imp.astype(int), theta[pos - 1] * gamma) / imp
    return X, rate, qid, pos, imp, theta


CF = dict(method="dla", n_folds=3, n_rounds="auto", max_rounds=6, ranker_params=dict(n_estimators=20, num_leaves=4))


def test_cross_fit_option_is_the_two_step_recipe():
    # propensity_estimation='cross_fit' = estimate_propensity_cross_fit, then an IPW ranker (clip 10)
    from ltr.unbiased import estimate_propensity_cross_fit

    X, rate, qid, pos, imp, _ = fixed_lists()
    kw = dict(n_estimators=10, num_leaves=4, random_state=3, n_jobs=1)
    m = LambdaRanker(objective="softmax", unbiased="dla", propensity_estimation="cross_fit", cross_fit_params=CF,
                     **kw).fit(X, rate, qid=qid, position=pos, sample_weight=imp)
    est = estimate_propensity_cross_fit(X, rate, qid, pos, method="dla", sample_weight=imp, random_state=3, n_folds=3,
                                        n_rounds="auto", max_rounds=6,
                                        ranker_params=dict(n_estimators=20, num_leaves=4, learning_rate=0.1, n_jobs=1))
    np.testing.assert_array_equal(m.propensity_, est.propensity)
    np.testing.assert_array_equal(m.propensity_history_, np.asarray(est.history))
    assert m.propensity_cross_fit_.n_iter == len(est.history)
    ref = LambdaRanker(objective="softmax", unbiased="ipw", propensity=est.propensity,
                       objective_params=dict(max_propensity_weight=10.0), **kw)
    ref.fit(X, rate, qid=qid, position=pos, sample_weight=imp)
    assert m.objective_.name == "ipw" and m.objective_.max_propensity_weight == 10.0
    np.testing.assert_array_equal(m.predict(X), ref.predict(X))
    # a refit in the joint mode forgets the cross-fit
    m.set_params(propensity_estimation="joint", cross_fit_params=None).fit(X, rate, qid=qid, position=pos,
                                                                           sample_weight=imp)
    assert not hasattr(m, "propensity_cross_fit_") and m.objective_.name == "dla"
    assert m.propensity_history_.shape[0] == 10


def test_cross_fit_default_is_within_position():
    from ltr.unbiased import estimate_propensity_within_position

    X, rate, qid, pos, imp, theta = fixed_lists(n_queries=150)
    kw = dict(n_estimators=5, num_leaves=4, random_state=2, n_jobs=1)
    m = LambdaRanker(objective="softmax", unbiased="dla", propensity_estimation="cross_fit",
                     cross_fit_params=dict(ranker_params=dict(n_estimators=20)), **kw)
    m.fit(X, rate, qid=qid, position=pos, sample_weight=imp)
    est = estimate_propensity_within_position(X, rate, qid, pos, sample_weight=imp, n_folds=5, random_state=2,
                                              ranker_params=dict(n_estimators=20, num_leaves=4, learning_rate=0.1,
                                                                 n_jobs=1))
    np.testing.assert_array_equal(m.propensity_, est.propensity)
    assert m.objective_.name == "ipw"


def test_cross_fit_beats_the_joint_estimate_on_fixed_lists():
    # Every session of a query shows the same list: the joint estimate is pulled towards no correction
    X, rate, qid, pos, imp, theta = fixed_lists(n_queries=300)
    kw = dict(objective="softmax", unbiased="dla", n_estimators=60, num_leaves=8, random_state=0, n_jobs=1)
    joint = LambdaRanker(**kw).fit(X, rate, qid=qid, position=pos, sample_weight=imp)
    cross = LambdaRanker(propensity_estimation="cross_fit", cross_fit_params=dict(CF, max_rounds=8), **kw)
    cross.fit(X, rate, qid=qid, position=pos, sample_weight=imp)
    err_joint = np.abs(np.log(joint.propensity_ / theta)).max()
    err_cross = np.abs(np.log(cross.propensity_ / theta)).max()
    assert err_cross < 0.5 * err_joint, (err_cross, err_joint)


def test_cross_fit_auto_rounds_rule():
    from ltr.unbiased import estimate_propensity_cross_fit

    X, rate, qid, pos, imp, _ = fixed_lists(n_queries=60)
    kw = dict(method="dla", sample_weight=imp, n_folds=3, ranker_params=dict(n_estimators=10, num_leaves=4))
    est = estimate_propensity_cross_fit(X, rate, qid, pos, n_rounds="auto", max_rounds=8, tol=0.02, **kw)
    h = np.log(np.asarray(est.history))
    steps = np.abs(np.diff(h, axis=0)).max(axis=1)
    clicks = np.bincount(pos - 1, weights=rate * imp)
    noise = 2.0 * np.sqrt(1.0 / clicks + 1.0 / clicks[0])
    within = [np.all(np.abs(h[r] - h[r - 1]) <= np.maximum(0.02, noise)) for r in range(1, len(h))]
    if est.converged:  # stopped at the first round whose change is within the noise, not later
        assert within[-1] and not any(within[:-1])
    else:
        assert len(h) == 8 and not any(within)
    assert steps[0] > 0.02  # the first rounds move
    # a tolerance larger than any change stops at the first comparison; max_rounds caps
    big = estimate_propensity_cross_fit(X, rate, qid, pos, n_rounds="auto", tol=50.0, **kw)
    assert big.converged and big.n_iter == 2
    one = estimate_propensity_cross_fit(X, rate, qid, pos, n_rounds="auto", max_rounds=1, **kw)
    assert one.n_iter == 1 and not one.converged
    fixed = estimate_propensity_cross_fit(X, rate, qid, pos, n_rounds=3, tol=50.0, **kw)
    assert fixed.n_iter == 3 and not fixed.converged
    np.testing.assert_array_equal(fixed.history[1], big.history[1])


def test_cross_fit_option_errors():
    from ltr._validation import LTRValueError

    X, rate, qid, pos, imp, _ = fixed_lists(n_queries=12)
    fit = dict(qid=qid, position=pos, sample_weight=imp)
    with pytest.raises(LTRValueError, match="propensity_estimation='cross_fit' estimates DLA's propensities"):
        LambdaRanker(unbiased="naive", propensity_estimation="cross_fit").fit(X, rate, **fit)
    with pytest.raises(LTRValueError, match="propensity_estimation='cross_fit' estimates DLA's propensities"):
        LambdaRanker(propensity_estimation="cross_fit").fit(X, rate, qid=qid)
    with pytest.raises(LTRValueError, match="cross_fit_params is for propensity_estimation='cross_fit'"):
        LambdaRanker(unbiased="dla", cross_fit_params=dict(n_folds=2)).fit(X, rate, **fit)
    with pytest.raises(LTRValueError, match="position is required with unbiased='dla'"):
        LambdaRanker(unbiased="dla", propensity_estimation="cross_fit").fit(X, rate, qid=qid, sample_weight=imp)
    with pytest.raises(ValueError, match="cross_fit_params do not fit estimate_propensity_cross_fit"):
        LambdaRanker(unbiased="dla", propensity_estimation="cross_fit",
                     cross_fit_params=dict(n_fold=2)).fit(X, rate, **fit)
    with pytest.raises(ValueError, match="n_rounds must be a positive integer or 'auto'"):
        LambdaRanker(unbiased="dla", propensity_estimation="cross_fit",
                     cross_fit_params=dict(method="dla", n_rounds="many")).fit(X, rate, **fit)
    with pytest.raises(ValueError, match="propensity_estimation"):
        LambdaRanker(unbiased="dla", propensity_estimation="em").fit(X, rate, **fit)
    pytest.importorskip("dask")
    from ltr.dask import DaskLambdaRanker

    with pytest.raises(LTRValueError, match="propensity_estimation='cross_fit' is not available in distributed"):
        DaskLambdaRanker(unbiased="dla", propensity_estimation="cross_fit").fit(X, rate, **fit)
