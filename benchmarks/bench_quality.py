"""Ranking quality of ltr's LambdaMART against LightGBM's lambdarank, same settings.

MQ2008 5-fold (train on three partitions, early-stop on the fourth, test on the
fifth, the official LETOR protocol) and LightGBM's own lambdarank example
data (train / test as shipped). Mean test NDCG@10 (LightGBM's conventions:
exp gain, stable ties, queries without relevant documents count as 1) over
5 seeds; the seeds drive query bagging and feature subsampling, which both
libraries get with the same fractions.

    python benchmarks/bench_quality.py [--seeds 5] [--quick]
"""
import argparse
import warnings
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_svmlight_file

from ltr import LambdaRanker
from ltr.metrics import ndcg_score

SHARED = Path(os.environ.get("LTR_SHARED_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
FOLDS = [((1, 2, 3), 4, 5), ((2, 3, 4), 5, 1), ((3, 4, 5), 1, 2), ((4, 5, 1), 2, 3), ((5, 1, 2), 3, 4)]

COMMON = dict(n_estimators=300, learning_rate=0.05, num_leaves=31, min_child_samples=20, subsample=0.8,
              subsample_freq=1, colsample_bytree=0.8)


def load_mq2008():
    parts = {}
    for i in range(1, 6):
        X, y, q = load_svmlight_file(str(SHARED / "mq2008" / f"S{i}.txt"), query_id=True, n_features=46)
        parts[i] = (X.toarray(), y, q)
    return parts


def stack(parts, ids):
    return tuple(np.concatenate([parts[i][k] for i in ids]) for k in range(3))


def load_lgb_example():
    d = SHARED / "lightgbm_rank_example"
    Xtr, ytr = load_svmlight_file(str(d / "rank.train"), n_features=300)
    Xte, yte = load_svmlight_file(str(d / "rank.test"), n_features=300)
    gtr = np.loadtxt(d / "rank.train.query", dtype=int)
    gte = np.loadtxt(d / "rank.test.query", dtype=int)
    qtr = np.repeat(np.arange(len(gtr)), gtr)
    qte = np.repeat(np.arange(len(gte)), gte)
    return (Xtr.toarray(), ytr, qtr), (Xte.toarray(), yte, qte)


def fit_ltr(train, valid, seed, params):
    m = LambdaRanker(random_state=seed, early_stopping_rounds=30 if valid else None, **params)
    kw = {}
    if valid:
        kw = dict(eval_set=[(valid[0], valid[1])], eval_qid=[valid[2]])
    m.fit(train[0], train[1], qid=train[2], **kw)
    return m.predict


def fit_lgb(train, valid, seed, params):
    import lightgbm as lgb

    p = dict(params)
    m = lgb.LGBMRanker(objective="lambdarank", n_estimators=p["n_estimators"], learning_rate=p["learning_rate"],
                       num_leaves=p["num_leaves"], min_child_samples=p["min_child_samples"],
                       subsample=p["subsample"], subsample_freq=p["subsample_freq"],
                       colsample_bytree=p["colsample_bytree"], bagging_by_query=True, random_state=seed,
                       verbose=-1, n_jobs=2)
    group = np.bincount(np.unique(train[2], return_inverse=True)[1])
    kw = {}
    if valid:
        vg = np.bincount(np.unique(valid[2], return_inverse=True)[1])
        kw = dict(eval_set=[(valid[0], valid[1])], eval_group=[vg], eval_at=[10],
                  callbacks=[lgb.early_stopping(30, first_metric_only=True, verbose=False)])
    m.fit(train[0], train[1], group=group, **kw)
    return lambda X: m.predict(X, num_iteration=m.best_iteration_ or None)


def sort_by_qid(data):
    o = np.argsort(data[2], kind="stable")
    return tuple(a[o] for a in data)


def evaluate(dataset, seeds, params):
    rows = []
    if dataset == "mq2008":
        parts = load_mq2008()
        splits = [(stack(parts, tr), parts[va], parts[te]) for tr, va, te in FOLDS]
    else:
        train, test = load_lgb_example()
        splits = [(train, None, test)]
    res = {"ltr": [], "lightgbm": []}
    for seed in seeds:
        for name, fit in (("ltr", fit_ltr), ("lightgbm", fit_lgb)):
            vals = []
            for train, valid, test in splits:
                train, test = sort_by_qid(train), sort_by_qid(test)
                valid = sort_by_qid(valid) if valid is not None else None
                predict = fit(train, valid, seed, params)
                vals.append(ndcg_score(test[1], predict(test[0]), qid=test[2], k=10))
            res[name].append(float(np.mean(vals)))
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trees", type=int, default=COMMON["n_estimators"], help="maximum trees (early stopping on MQ2008)")
    ap.add_argument("--quick", action="store_true", help="1 seed, 50 trees")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*eval_set.*")
    if not SHARED.is_dir():
        sys.exit(f"shared data sets not found at {SHARED}")
    params = dict(COMMON, n_estimators=args.trees)
    seeds = list(range(args.seeds))
    if args.quick:
        params["n_estimators"] = 50
        seeds = [0]
    print(f"settings: {params}, early stopping 30 rounds on the validation partition (MQ2008)")
    print(f"{'dataset':<22} {'ltr NDCG@10':>12} {'LightGBM':>10} {'diff':>8}   per seed (ltr / lgb)")
    for ds in ("mq2008", "lightgbm_example"):
        t = time.time()
        r = evaluate(ds, seeds, params)
        a, b = np.mean(r["ltr"]), np.mean(r["lightgbm"])
        per = ", ".join(f"{x:.4f}/{y:.4f}" for x, y in zip(r["ltr"], r["lightgbm"]))
        print(f"{ds:<22} {a:>12.4f} {b:>10.4f} {a - b:>+8.4f}   {per}   ({time.time() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
