"""LambdaRanker as a scikit-learn estimator: API, query handling, routing, model files."""
import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ltr import LambdaRanker
from ltr.booster import ModelFormatError


def ranking_data(n_queries=60, docs=20, n_features=6, seed=0):
    rng = np.random.default_rng(seed)
    n = n_queries * docs
    X = rng.normal(size=(n, n_features))
    qid = np.repeat(np.arange(n_queries), docs)
    score = X[:, 0] + 0.5 * X[:, 1] ** 2 + rng.normal(0, 0.5, n)
    y = np.clip(np.floor(score), 0, 4).astype(float)
    return X, y, qid


FAST = dict(n_estimators=15, num_leaves=7, min_child_samples=5, random_state=0)


def test_learns_to_rank():
    X, y, qid = ranking_data()
    Xt, yt, qt = ranking_data(seed=1)
    m = LambdaRanker(**FAST).fit(X, y, qid=qid)
    assert m.score(Xt, yt, qid=qt) > 0.8
    rng = np.random.default_rng(0)
    from ltr.metrics import ndcg_score

    assert m.score(Xt, yt, qid=qt) > ndcg_score(yt, rng.random(len(yt)), qid=qt) + 0.2


@pytest.mark.parametrize("objective", ["lambdamart", "regression"])
def test_any_row_order_gives_the_same_model(objective):
    # Rows shuffled within and across queries: bit-identical model, because rows are
    # put in a canonical order (query id, then content hash) before training.
    X, y, qid = ranking_data()
    X[::7, 3] = np.nan
    perm = np.random.default_rng(3).permutation(len(y))
    kw = dict(FAST, objective=objective, subsample=0.8, subsample_freq=1, colsample_bytree=0.8)
    a = LambdaRanker(**kw).fit(X, y, qid=qid)
    b = LambdaRanker(**kw).fit(X[perm], y[perm], qid=qid[perm])
    assert np.array_equal(a.predict(X), b.predict(X))
    np.testing.assert_array_equal(b.predict(X[perm]), b.predict(X)[perm])


def test_group_sizes_equal_qid():
    X, y, qid = ranking_data()
    a = LambdaRanker(**FAST).fit(X, y, qid=qid)
    b = LambdaRanker(**FAST).fit(X, y, group=np.bincount(qid))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("kwargs, match", [
    (dict(qid=np.arange(5)), "qid has 5 entries"),
    (dict(group=[10, 10]), "group sizes sum to 20"),
    (dict(qid="both"), "not both"),
])
def test_bad_query_arguments(kwargs, match):
    X, y, qid = ranking_data()
    if isinstance(kwargs.get("qid"), str):
        kwargs = dict(qid=qid, group=np.bincount(qid))
    with pytest.raises(ValueError, match=match):
        LambdaRanker(**FAST).fit(X, y, **kwargs)


def test_parameter_validation_names_the_parameter():
    X, y, qid = ranking_data()
    with pytest.raises(ValueError, match="num_leaves"):
        LambdaRanker(num_leaves=1).fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="objective"):
        LambdaRanker(objective="nope").fit(X, y, qid=qid)


def test_determinism_and_threads():
    X, y, qid = ranking_data()
    kw = dict(FAST, subsample=0.7, subsample_freq=1, colsample_bytree=0.6)
    p1 = LambdaRanker(n_jobs=1, **kw).fit(X, y, qid=qid).predict(X)
    p2 = LambdaRanker(n_jobs=2, **kw).fit(X, y, qid=qid).predict(X)
    p3 = LambdaRanker(n_jobs=2, **kw).fit(X, y, qid=qid).predict(X)
    assert np.array_equal(p1, p2) and np.array_equal(p2, p3)
    p4 = LambdaRanker(n_jobs=1, **dict(kw, random_state=1)).fit(X, y, qid=qid).predict(X)
    assert not np.array_equal(p1, p4)


def test_continued_training_equals_one_fit(tmp_path):
    X, y, qid = ranking_data()
    kw = dict(FAST, subsample=0.8, subsample_freq=2, colsample_bytree=0.7)
    full = LambdaRanker(**dict(kw, n_estimators=12)).fit(X, y, qid=qid)
    first = LambdaRanker(**dict(kw, n_estimators=5)).fit(X, y, qid=qid)
    first.save_model(tmp_path / "m.json")
    second = LambdaRanker(**dict(kw, n_estimators=7)).fit(X, y, qid=qid, init_model=tmp_path / "m.json")
    assert second.booster_.n_trees == 12
    assert np.array_equal(full.predict(X), second.predict(X))


def test_eval_set_early_stopping_and_evals_result():
    X, y, qid = ranking_data()
    Xv, yv, qv = ranking_data(seed=5)
    m = LambdaRanker(n_estimators=200, learning_rate=0.3, num_leaves=31, min_child_samples=2, eval_at=(10, 3),
                     early_stopping_rounds=5, random_state=0)
    m.fit(X, y, qid=qid, eval_set=[(Xv, yv)], eval_qid=[qv])
    hist = m.evals_result_["valid_0"]["ndcg@10"]
    assert set(m.evals_result_["valid_0"]) == {"ndcg@10", "ndcg@3"}
    assert m.n_iter_ < 200 and len(hist) == m.n_iter_
    assert m.best_iteration_ == int(np.argmax(hist)) + 1
    # evaluation in training is the same code as the public metric
    from ltr.metrics import ndcg_score

    best = ndcg_score(yv, m.predict(Xv), qid=qv, k=10)
    assert best == pytest.approx(hist[m.best_iteration_ - 1], abs=1e-12)
    assert m.best_score_["valid_0"]["ndcg@10"] == pytest.approx(best, abs=1e-12)


def test_dataframe_feature_names_and_mismatch():
    pd = pytest.importorskip("pandas")
    X, y, qid = ranking_data()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    m = LambdaRanker(**FAST).fit(df, y, qid=qid)
    assert list(m.feature_names_in_) == list(df.columns)
    with pytest.raises(ValueError, match="feature names"):
        m.predict(df.rename(columns={"f0": "other"}))
    with pytest.raises(ValueError, match="features"):
        m.predict(X[:, :3])


def test_sparse_input_matches_dense():
    from scipy import sparse

    X, y, qid = ranking_data()
    X[np.abs(X) < 0.7] = 0.0
    a = LambdaRanker(**FAST).fit(X, y, qid=qid)
    b = LambdaRanker(**FAST).fit(sparse.csr_matrix(X), y, qid=qid)
    np.testing.assert_array_equal(a.predict(X), b.predict(sparse.csr_matrix(X)))


def test_feature_importances():
    X, y, qid = ranking_data()
    m = LambdaRanker(**FAST).fit(X, y, qid=qid)
    split = m.feature_importances_
    assert split.sum() == sum(t.split_feature.size for t in m.booster_.trees)
    assert np.argmax(split) in (0, 1)
    gain = clone(m).set_params(importance_type="gain").fit(X, y, qid=qid).feature_importances_
    assert gain[0] + gain[1] > 0.5 * gain.sum()


def test_clone_and_pickle():
    X, y, qid = ranking_data()
    m = LambdaRanker(**FAST).fit(X, y, qid=qid)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m.predict(X), m2.predict(X))
    c = clone(m)
    assert c.get_params() == m.get_params() and not hasattr(c, "booster_")


def test_model_file_round_trip_is_bit_identical(tmp_path):
    X, y, qid = ranking_data()
    X[::11, 2] = np.nan
    m = LambdaRanker(**FAST).fit(X, y, qid=qid)
    path = tmp_path / "model.json"
    m.save_model(path)
    loaded = LambdaRanker.load_model(path)
    assert np.array_equal(m.predict(X), loaded.predict(X))
    with pytest.raises(FileExistsError):
        m.save_model(path)
    m.save_model(path, overwrite=True)


def test_damaged_model_files(tmp_path):
    X, y, qid = ranking_data()
    m = LambdaRanker(**FAST).fit(X, y, qid=qid)
    path = tmp_path / "model.json"
    m.save_model(path)
    text = path.read_text()
    (tmp_path / "trunc.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelFormatError, match="truncated or corrupted"):
        LambdaRanker.load_model(tmp_path / "trunc.json")
    (tmp_path / "newer.json").write_text(text.replace('"format_version":1', '"format_version":99'))
    with pytest.raises(ModelFormatError, match="newer"):
        LambdaRanker.load_model(tmp_path / "newer.json")
    (tmp_path / "other.json").write_text('{"hello": 1}')
    with pytest.raises(ModelFormatError, match="not an ltr model"):
        LambdaRanker.load_model(tmp_path / "other.json")
    (tmp_path / "bin").write_bytes(b"\x80\x81\x00\xff")
    with pytest.raises(ModelFormatError):
        LambdaRanker.load_model(tmp_path / "bin")
    with pytest.raises(FileNotFoundError):
        LambdaRanker.load_model(tmp_path / "missing.json")


@pytest.fixture
def routing():
    sklearn.set_config(enable_metadata_routing=True)
    yield
    sklearn.set_config(enable_metadata_routing=False)


def test_metadata_routing_pipeline_cross_validate_grid_search(routing):
    X, y, qid = ranking_data(n_queries=40)
    ranker = LambdaRanker(**FAST).set_fit_request(qid=True).set_score_request(qid=True)
    pipe = make_pipeline(StandardScaler(), ranker)
    # With routing enabled, scikit-learn (1.9) takes the splitter's `groups` inside `params`
    # too (it rejects the separate `groups=` argument); GroupKFold requests it by default.
    res = cross_validate(pipe, X, y, cv=GroupKFold(n_splits=3), params={"qid": qid, "groups": qid})
    assert res["test_score"].shape == (3,) and np.all(res["test_score"] > 0.6)
    # each fold's score equals a by-hand fit on that fold's rows with sliced qid
    train, test = next(GroupKFold(n_splits=3).split(X, y, qid))
    by_hand = clone(pipe).fit(X[train], y[train], qid=qid[train]).score(X[test], y[test], qid=qid[test])
    assert by_hand == pytest.approx(res["test_score"][0])
    gs = GridSearchCV(pipe, {"lambdaranker__num_leaves": [3, 7]}, cv=GroupKFold(n_splits=3))
    gs.fit(X, y, groups=qid, qid=qid)
    assert gs.best_params_["lambdaranker__num_leaves"] in (3, 7)
    assert gs.score(X, y, qid=qid) > 0.6
