"""make_ranking: shapes, label mix, missing values, determinism, information, learnability."""
import numpy as np
import pytest

from ltr.datasets import MSLR_LABEL_MIX, make_ranking


def test_shapes_dtypes_and_layout():
    X, y, qid = make_ranking(50, random_state=0)
    assert X.dtype == np.float32 and X.flags.c_contiguous and X.shape[1] == 136
    assert y.dtype == np.int32 and qid.dtype == np.int64
    assert X.shape[0] == y.shape[0] == qid.shape[0]
    assert np.unique(qid).tolist() == list(range(1, 51))
    assert np.all(np.diff(qid) >= 0)  # rows of a query are contiguous
    X64, _, _ = make_ranking(5, n_features=10, dtype=np.float64, random_state=0)
    assert X64.dtype == np.float64 and X64.shape[1] == 10


def test_query_sizes():
    _, _, qid = make_ranking(400, random_state=1)
    sizes = np.bincount(qid)[1:]
    assert sizes.min() >= 1 and 100 < sizes.mean() < 140 and sizes.max() > 2 * sizes.mean()
    _, _, qid = make_ranking(100, docs_per_query=(5, 9), random_state=1)
    sizes = np.bincount(qid)[1:]
    assert sizes.min() >= 5 and sizes.max() <= 9
    for n_queries in (None, 37):
        X, _, qid = make_ranking(n_queries, n_samples=5003, random_state=2)
        assert X.shape[0] == 5003
    assert np.unique(qid).size == 37


def test_label_mix_and_missing_rate():
    X, y, _ = make_ranking(300, random_state=3)
    mix = np.bincount(y, minlength=5) / y.size
    assert np.allclose(mix, MSLR_LABEL_MIX, atol=2 / y.size)
    assert abs(np.isnan(X).mean() - 0.01) < 0.002
    X, y, _ = make_ranking(100, label_mix=[0.7, 0.3], missing_rate=0.0, random_state=3)
    assert set(np.unique(y)) == {0, 1} and not np.isnan(X).any()
    assert abs(y.mean() - 0.3) < 0.01


def test_determinism_and_seeds():
    a = make_ranking(60, random_state=7)
    b = make_ranking(60, random_state=7)
    c = make_ranking(60, random_state=8)
    for u, v in zip(a, b):
        assert u.tobytes() == v.tobytes()
    assert not np.array_equal(a[0], c[0], equal_nan=True)
    rs = np.random.RandomState(0)
    assert make_ranking(5, random_state=rs)[0].shape[1] == 136


def test_threads_do_not_change_the_output(monkeypatch):
    from ltr.datasets import _generate

    many = make_ranking(n_samples=60000, n_features=20, random_state=11)  # several blocks
    monkeypatch.setattr(_generate, "get_num_threads", lambda: 1)
    one = make_ranking(n_samples=60000, n_features=20, random_state=11)
    for a, b in zip(many, one):
        assert a.tobytes() == b.tobytes()


def test_missing_not_at_random_columns():
    X, y, _, info = make_ranking(200, missing_rate=0.05, return_info=True, random_state=12)
    miss = np.isnan(X)
    cols = np.flatnonzero(miss.any(axis=0))
    assert 1 <= cols.size <= 136 // 8 + 1
    assert not np.isin(np.flatnonzero(info.feature_kind == "query"), cols).any()
    # some column is missing more often for documents of low utility
    low = info.utility < np.median(info.utility)
    ratios = [miss[low, c].mean() / max(miss[~low, c].mean(), 1e-9) for c in cols]
    assert max(ratios) > 1.5 and min(ratios) < 1.3


def test_info_is_consistent():
    X, y, qid, info = make_ranking(80, return_info=True, random_state=4)
    n = X.shape[0]
    assert info.grade_proba.shape == (n, 5)
    assert np.allclose(info.grade_proba.sum(axis=1), 1)
    # the labels are draws from grade_proba: the mean probability of each grade matches the mix
    assert np.allclose(info.grade_proba.mean(axis=0), np.bincount(y, minlength=5) / n, atol=0.02)
    assert np.allclose(info.expected_gain, info.grade_proba @ (2.0 ** np.arange(5) - 1))
    # positions are a permutation 1..n_q inside every query
    for q in np.unique(qid)[:20]:
        m = qid == q
        assert sorted(info.position[m].tolist()) == list(range(1, m.sum() + 1))
    kinds = info.feature_kind
    assert set(kinds) == {"informative", "redundant", "query", "noise"}
    assert (kinds == "informative").sum() == round(0.35 * 136)
    # query-level columns are constant inside each query
    for j in np.flatnonzero(kinds == "query"):
        col = X[:, j]
        assert all(np.unique(col[qid == q]).size == 1 for q in np.unique(qid)[:10])
    # higher utility -> higher grades
    assert np.corrcoef(info.utility, y)[0, 1] > 0.5


def test_validation():
    with pytest.raises(ValueError, match="n_features"):
        make_ranking(5, n_features=0)
    with pytest.raises(ValueError, match="label_mix"):
        make_ranking(5, label_mix=[1.0])
    with pytest.raises(ValueError, match="missing_rate"):
        make_ranking(5, missing_rate=1.0)
    with pytest.raises(ValueError, match="n_samples"):
        make_ranking(10, n_samples=5)
    with pytest.raises(ValueError, match="n_informative"):
        make_ranking(5, n_features=10, n_informative=8, n_redundant=3)
    with pytest.raises(ValueError, match="docs_per_query"):
        make_ranking(5, docs_per_query=(5, 2))


def _ndcg_at_10(y, score, qid):
    """Mean NDCG@10 with gains 2**y - 1; queries without relevant documents count as 1."""
    out = []
    for q in np.unique(qid):
        m = qid == q
        rel = y[m]
        order = np.argsort(-score[m], kind="stable")[:10]
        disc = 1 / np.log2(np.arange(2, 12))
        dcg = ((2.0 ** rel[order] - 1) * disc[: order.size]).sum()
        ideal = np.sort(rel)[::-1][:10]
        idcg = ((2.0 ** ideal - 1) * disc[: ideal.size]).sum()
        out.append(dcg / idcg if idcg > 0 else 1.0)
    return float(np.mean(out))


@pytest.mark.slow
def test_signal_is_learnable_but_not_trivial():
    lgb = pytest.importorskip("lightgbm")
    X, y, qid, info = make_ranking(500, docs_per_query=40, n_features=60, return_info=True, random_state=5)
    train = qid <= 350
    # one thread: OpenMP spinning on a shared machine is slower than serial here
    model = lgb.LGBMRanker(n_estimators=80, learning_rate=0.1, num_leaves=15, n_jobs=1, verbose=-1,
                           random_state=0)
    model.fit(X[train], y[train], group=np.bincount(qid[train])[1:])
    test = ~train
    learned = _ndcg_at_10(y[test], model.predict(X[test]), qid[test])
    random = _ndcg_at_10(y[test], np.random.default_rng(0).random(test.sum()), qid[test])
    oracle = _ndcg_at_10(y[test], info.utility[test], qid[test])
    print(f"NDCG@10 random {random:.3f}, LightGBM {learned:.3f}, noise-free utility {oracle:.3f}")
    assert learned > random + 0.2
    assert learned < oracle < 0.95
