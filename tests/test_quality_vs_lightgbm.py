"""Ranking quality against LightGBM on real data (skips without ../shared/datasets).

The full comparison (5 seeds, query bagging) is `benchmarks/bench_quality.py`;
this test runs one deterministic configuration (no subsampling) so that it is
quick, and asserts ltr's mean test NDCG@10 is no worse than LightGBM's by more
than 0.01 (single-seed noise on MQ2008 is about that size).
"""
import numpy as np
import pytest

lgb = pytest.importorskip("lightgbm")

from ltr import LambdaRanker  # noqa: E402
from ltr.datasets import load_svmlight  # noqa: E402
from ltr.metrics import ndcg_score  # noqa: E402

FOLDS = [((1, 2, 3), 5), ((2, 3, 4), 1), ((3, 4, 5), 2), ((4, 5, 1), 3), ((5, 1, 2), 4)]
PARAMS = dict(n_estimators=60, learning_rate=0.1, num_leaves=15, min_child_samples=20)


def _fit_both(train, test):
    X, y, q = train
    ours = LambdaRanker(random_state=0, **PARAMS).fit(X, y, qid=q)
    group = np.bincount(np.unique(q, return_inverse=True)[1])
    theirs = lgb.LGBMRanker(objective="lambdarank", verbose=-1, n_jobs=2, **PARAMS).fit(X, y, group=group)
    Xt, yt, qt = test
    return (ndcg_score(yt, ours.predict(Xt), qid=qt, k=10), ndcg_score(yt, theirs.predict(Xt), qid=qt, k=10))


@pytest.mark.slow
def test_mq2008_five_folds(shared_datasets):
    parts = {}
    for i in range(1, 6):
        X, y, q = load_svmlight(shared_datasets / "mq2008" / f"S{i}.txt", n_features=46)
        parts[i] = (np.asarray(X, dtype=np.float64), y, q)
    ours, theirs = [], []
    for train_ids, test_id in FOLDS:
        train = tuple(np.concatenate([parts[i][k] for i in train_ids]) for k in range(3))
        a, b = _fit_both(train, parts[test_id])
        ours.append(a)
        theirs.append(b)
    assert np.mean(ours) >= np.mean(theirs) - 0.01, (ours, theirs)
    assert np.mean(ours) > 0.75  # LightGBM's published range on MQ2008 is 0.77-0.82


@pytest.mark.slow
def test_lightgbm_example_data(shared_datasets):
    d = shared_datasets / "lightgbm_rank_example"

    def load(name):
        X, y, _ = load_svmlight(d / name, n_features=300)
        sizes = np.loadtxt(d / f"{name}.query", dtype=int)
        return np.asarray(X, dtype=np.float64), y, np.repeat(np.arange(len(sizes)), sizes)

    a, b = _fit_both(load("rank.train"), load("rank.test"))
    assert a >= b - 0.01, (a, b)
