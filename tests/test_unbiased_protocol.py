"""The semi-synthetic click-log protocol and unbiased training end to end."""
import numpy as np
import pytest

from ltr import LambdaRanker
from ltr.metrics import ndcg_score
from ltr.unbiased import click_probability, make_click_log, true_propensity


def labelled_queries(n_queries=120, n_docs=15, n_features=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_queries * n_docs, n_features))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [0.3, 0.9, 1.5, 2.1])
    qid = np.repeat(np.arange(n_queries) * 7 + 3, n_docs)  # ids need not be 0..n-1
    return X, y, qid


def test_click_log_structure_and_lists():
    X, y, qid = labelled_queries()
    # a few short queries: they show all their documents
    keep = ~((qid == 3) & (np.arange(len(qid)) % 15 >= 4))
    X, y, qid = X[keep], y[keep], qid[keep]
    log = make_click_log(X, y, qid, production_ranker="linear", production_fraction=0.1, n_sessions=5_000,
                         top_k=10, random_state=0)
    lens = np.diff(log.list_ptr)
    assert log.n_lists == 120 and lens[0] == 4 and np.all(lens[1:] == 10)
    assert log.session_clicks.shape == (5_000, 10) and log.session_clicks.dtype == np.uint8
    assert np.all(log.session_clicks[log.session_list == 0][:, 4:] == 0)
    scores = log.production_ranker.predict(X)
    for l in range(log.n_lists):
        a, b = log.list_ptr[l], log.list_ptr[l + 1]
        rows = log.doc_index[a:b]
        np.testing.assert_array_equal(log.position[a:b], np.arange(1, b - a + 1))
        assert len(set(qid[rows])) == 1
        same_q = np.flatnonzero(qid == qid[rows[0]])
        top = same_q[np.argsort(-scores[same_q], kind="stable")[: b - a]]
        np.testing.assert_array_equal(rows, top)  # the production ranker's top k, in order
    np.testing.assert_array_equal(log.y_true, y[log.doc_index])
    np.testing.assert_array_equal(log.X, X[log.doc_index])
    assert len(log.production_queries) == 12


def test_aggregated_and_session_tables_hold_the_same_clicks():
    X, y, qid = labelled_queries()
    log = make_click_log(X, y, qid, production_ranker="linear", n_sessions=3_000, random_state=1)
    agg = log.aggregated()
    sess = log.sessions(drop_unclicked=False)
    assert len(sess) == 3_000 * 10
    assert agg.sample_weight.sum() == len(sess)
    # per displayed row: clicks of the sessions == rate * impressions
    counts = np.bincount(sess.rows, weights=sess.y, minlength=len(log.X))
    np.testing.assert_allclose(agg.y * agg.sample_weight, counts[agg.rows])
    np.testing.assert_array_equal(agg.position, log.position[agg.rows])
    clicked = log.sessions()
    assert len(clicked) == 10 * int(log.session_clicks.any(axis=1).sum())
    assert np.all(np.add.reduceat(clicked.y, np.arange(0, len(clicked), 10)) > 0)
    np.testing.assert_array_equal(clicked.qid[::10], np.flatnonzero(log.session_clicks.any(axis=1)))
    full = log.sessions(materialize_X=True)
    np.testing.assert_array_equal(full.X, log.X[full.rows])


@pytest.mark.parametrize("eta", [1.0, 2.0])
def test_click_rates_follow_the_position_based_model(eta):
    X, y, qid = labelled_queries(n_queries=60)
    log = make_click_log(X, y, qid, production_ranker="linear", n_sessions=60_000, eta=eta, random_state=2)
    attract = click_probability(log.y_true)
    imp = log.impressions()
    theta = true_propensity(10, eta, relative=False)
    expected = np.bincount(log.position - 1, weights=imp * attract * theta[log.position - 1])
    observed = np.bincount(log.position - 1, weights=log.clicks())
    sd = np.sqrt(expected)
    assert np.all(np.abs(observed - expected) < 4.5 * sd + 1), (observed, expected)
    np.testing.assert_allclose(log.true_propensity(), true_propensity(10, eta))


def test_cascade_log_and_determinism():
    X, y, qid = labelled_queries(n_queries=40)
    a = make_click_log(X, y, qid, production_ranker="linear", n_sessions=4_000, model="cascade", random_state=3)
    b = make_click_log(X, y, qid, production_ranker="linear", n_sessions=4_000, model="cascade", random_state=3)
    np.testing.assert_array_equal(a.session_clicks, b.session_clicks)
    np.testing.assert_array_equal(a.doc_index, b.doc_index)
    assert a.session_clicks.sum(axis=1).max() == 1  # classic cascade
    assert a.true_propensity() is None
    c = make_click_log(X, y, qid, production_ranker="linear", n_sessions=4_000, model="cascade", random_state=4)
    assert not np.array_equal(a.session_clicks, c.session_clicks)


def test_production_ranker_options():
    X, y, qid = labelled_queries(n_queries=30)
    log = make_click_log(X, y, qid, production_ranker=lambda Z: -Z[:, 0], n_sessions=100, random_state=0)
    for l in range(3):
        rows = log.doc_index[log.list_ptr[l]:log.list_ptr[l + 1]]
        assert np.all(np.diff(X[rows, 0]) >= 0)  # ascending feature 0 = descending score
    log = make_click_log(X, y, qid, production_fraction=0.2, n_sessions=100, random_state=0,
                         production_params=dict(n_estimators=5))
    assert isinstance(log.production_ranker, LambdaRanker) and log.production_ranker.n_iter_ == 5
    ex = make_click_log(X, y, qid, production_ranker="linear", production_fraction=0.2,
                        exclude_production_queries=True, n_sessions=100, random_state=0)
    assert ex.n_lists == 24 and not np.isin(ex.production_queries, ex.qid).any()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(model="ubm"), "model must be one of"),
        (dict(top_k=0), "top_k"),
        (dict(n_sessions=0), "n_sessions"),
        (dict(production_fraction=0.0), "production_fraction"),
        (dict(production_ranker="svm"), "production_ranker must be one of"),
        (dict(production_ranker=42), "production_ranker must be"),
        (dict(top_k=12), "examination curve has 10"),
        (dict(max_grade=3), "integer relevance grades"),
    ],
)
def test_make_click_log_errors(kwargs, match):
    X, y, qid = labelled_queries(n_queries=10)
    with pytest.raises((ValueError, TypeError), match=match):
        make_click_log(X, y, qid, **{"production_ranker": "linear", **kwargs})


# ---------------------------------------------------------------------------
# End to end with LambdaRanker
# ---------------------------------------------------------------------------
def shuffled_lists(n_queries=150, n_docs=8, n_lists=3, impressions=150, eta=1.0, seed=0):
    """Each query shown in `n_lists` random orders (interventions), PBM click rates per row."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_queries * n_docs, 3))
    y = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.3, 1.0, 1.8])
    theta = true_propensity(n_docs, eta, relative=False)
    rows, lists, pos = [], [], []
    for q in range(n_queries):
        for l in range(n_lists):
            order = q * n_docs + rng.permutation(n_docs)
            rows.append(order)
            lists.append(np.full(n_docs, q * n_lists + l))
            pos.append(np.arange(1, n_docs + 1))
    rows, lists, pos = (np.concatenate(v) for v in (rows, lists, pos))
    clicks = rng.binomial(impressions, theta[pos - 1] * click_probability(y[rows]))
    return X, y, rows, lists, pos, clicks / impressions, np.full(rows.size, float(impressions)), theta / theta[0]


def test_dla_recovers_propensities_and_beats_naive():
    X, y, rows, lists, pos, rate, imp, true = shuffled_lists(n_queries=100)
    Xt, yt, *_ = shuffled_lists(n_queries=60, seed=1)
    qt = np.repeat(np.arange(60), 8)
    common = dict(n_estimators=50, learning_rate=0.25, num_leaves=7, random_state=0)
    dla = LambdaRanker(objective="dla", **common).fit(X[rows], rate, qid=lists, sample_weight=imp, position=pos)
    est = np.asarray(dla.objective_.state()["propensity"])
    assert np.max(np.abs(est / true - 1)) < 0.1, est / true
    assert len(dla.objective_.state()["propensity_history"]) == 50
    naive = LambdaRanker(objective="ipw", **common).fit(X[rows], rate, qid=lists, sample_weight=imp, position=pos)
    assert ndcg_score(yt, dla.predict(Xt), qid=qt) > ndcg_score(yt, naive.predict(Xt), qid=qt) + 0.005
    again = LambdaRanker(objective="dla", **common).fit(X[rows], rate, qid=lists, sample_weight=imp, position=pos)
    np.testing.assert_array_equal(again.predict(Xt), dla.predict(Xt))
    np.testing.assert_array_equal(again.objective_.propensity_, dla.objective_.propensity_)


def test_propensities_saved_in_model_file(tmp_path):
    X, y, rows, lists, pos, rate, imp, true = shuffled_lists(n_queries=30)
    m = LambdaRanker(objective="dla", n_estimators=5, random_state=0).fit(
        X[rows], rate, qid=lists, sample_weight=imp, position=pos)
    path = tmp_path / "dla.json"
    m.save_model(path)
    loaded = LambdaRanker.load_model(path)
    np.testing.assert_allclose(loaded.objective_.state()["propensity"], m.objective_.state()["propensity"])
    np.testing.assert_allclose(loaded.predict(X), m.predict(X))
    # continued training resumes from the saved propensities and history
    more = LambdaRanker(objective="dla", n_estimators=3, random_state=0).fit(
        X[rows], rate, qid=lists, sample_weight=imp, position=pos, init_model=m)
    assert len(more.objective_.state()["propensity_history"]) == 8


def test_dla_without_position_is_a_clear_error():
    X, y, rows, lists, pos, rate, imp, true = shuffled_lists(n_queries=5)
    with pytest.raises(ValueError, match="pass position= to fit"):
        LambdaRanker(objective="dla", n_estimators=2).fit(X[rows], rate, qid=lists)
