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
