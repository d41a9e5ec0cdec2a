"""Calibrated ranking: RCR against its baselines (pointwise, listwise, naive mix).

Trains ``LambdaRanker`` with objective 'binary' (sigmoid CE), 'softmax'
(softmax CE), 'sigmoid_softmax' (the naive mix) and 'rcr' (a few alphas) on

* MQ2008, the standard 5-fold protocol (train S_k..S_k+2, validation S_k+3,
  test S_k+4), labels binarised (label >= 1 is relevant);
* generated click-rate data: a known click probability
  ``p = sigmoid(f(x))`` per document, where ``f`` has a query-level part (a
  feature shared by the query's documents) and a document-level part, and
  an observed rate ``Binomial(n_impressions, p) / n_impressions`` as label;

and prints, on the test sets: log loss, Brier score, ECE (15 equal-mass
bins), NDCG@10 (LightGBM conventions; on the click data the grade is
``round(10 x rate)`` with linear gain, for early stopping too), plus the log loss of 'softmax' after
its best single global shift ``sigmoid(s + c)`` (``c`` fitted on the test
set itself: an oracle, the best any global recalibration of a
shift-invariant ranker could do) and after a shift fitted on the validation
set. Every model uses the same trees settings and early stopping on
validation NDCG@10.

Acceptance (issue "Calibrated ranking"): RCR's test log loss <= 1.02 x
'binary''s and RCR's NDCG@10 >= 'softmax''s - 0.005, on both data sets.

Usage::

    nice python benchmarks/bench_calibration.py            # full run
    nice python benchmarks/bench_calibration.py --quick    # fold 1, fewer trees, smaller clicks data

The data sets are read from ``$LTR_SHARED_DATASETS`` (default
``../shared/datasets`` next to the repository). ``main`` returns the
per-data-set mean table as a dict (``tests/test_objective_rcr.py`` runs
``--quick`` with few trees).
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scipy.optimize import minimize_scalar  # noqa: E402
from scipy.special import expit  # noqa: E402

from ltr import LambdaRanker  # noqa: E402
from ltr.metrics import ndcg_score  # noqa: E402
from ltr.metrics._calibration import brier_score, expected_calibration_error, log_loss  # noqa: E402

DATA = Path(os.environ.get("LTR_SHARED_DATASETS", Path(__file__).resolve().parents[2] / "shared" / "datasets"))

MODELS = [
    # (row name, objective, objective_params)
    ("binary", "binary", None),
    ("softmax", "softmax", None),
    ("sigmoid_softmax a=0.5", "sigmoid_softmax", {"alpha": 0.5}),
    ("sigmoid_softmax a=0.9", "sigmoid_softmax", {"alpha": 0.9}),
    ("rcr a=0.5", "rcr", {"rcr_alpha": 0.5}),
    ("rcr a=0.9", "rcr", {"rcr_alpha": 0.9}),
]


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
def mq2008_folds(folds):
    from sklearn.datasets import load_svmlight_file

    parts = {}
    for k in range(1, 6):
        X, y, qid = load_svmlight_file(str(DATA / "mq2008" / f"S{k}.txt"), query_id=True)
        parts[k] = (X.toarray(), (y >= 1).astype(np.float64), qid)
    for f in folds:
        order = [(f - 1 + i) % 5 + 1 for i in range(5)]
        train = [parts[k] for k in order[:3]]
        yield f, (
            tuple(np.concatenate([p[i] for p in train]) for i in range(3)),
            parts[order[3]],
            parts[order[4]],
        )


def click_rate_data(n_queries, docs_per_query, seed, n_features=20):
    """Documents with a known click probability and an observed click rate.

    Feature 0 is shared by the documents of a query and sets its base
    click-through rate (queries differ in how often anything is clicked);
    the other features describe the document. The label is the observed
    rate over 10..200 impressions.
    """
    rng = np.random.default_rng(seed)
    n = n_queries * docs_per_query
    qid = np.repeat(np.arange(n_queries), docs_per_query)
    X = rng.normal(size=(n, n_features))
    X[:, 0] = np.repeat(rng.normal(size=n_queries), docs_per_query)
    f = (
        -2.0
        + 0.8 * X[:, 0]
        + 1.0 * X[:, 1]
        + 0.6 * np.sin(2.0 * X[:, 2])
        + 0.5 * X[:, 3] * X[:, 4]
        - 0.4 * np.abs(X[:, 5])
        + 0.3 * X[:, 0] * X[:, 1]
    )
    p = expit(f)
    impressions = rng.integers(10, 201, size=n)
    rate = rng.binomial(impressions, p) / impressions
    return X, rate, qid, p


def click_folds(quick):
    nq = (300, 100, 300) if quick else (700, 200, 1000)
    for f, seed in enumerate([11, 12, 13][: 1 if quick else 3], start=1):
        tr = click_rate_data(nq[0], 20, seed * 10 + 1)
        va = click_rate_data(nq[1], 20, seed * 10 + 2)
        te = click_rate_data(nq[2], 20, seed * 10 + 3)
        yield f, (tr[:3], va[:3], te[:3])


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------
def best_shift(y, raw):
    """The global shift c minimising log loss of sigmoid(raw + c)."""
    res = minimize_scalar(lambda c: log_loss(y, expit(raw + c)), bounds=(-50, 50), method="bounded",
                          options={"xatol": 1e-6})
    return float(res.x)


def run_split(train, valid, test, n_estimators, n_jobs, graded_rates=False):
    """Fit every model on train, early-stop on valid, evaluate on test.

    With `graded_rates` the labels are rates; NDCG (early stopping and test)
    then uses the grade ``round(10 * rate)`` with linear gain, because NDCG's
    exp gain needs integer labels.
    """
    (Xtr, ytr, qtr), (Xva, yva, qva), (Xte, yte, qte) = train, valid, test
    if graded_rates:
        gain = np.arange(11, dtype=np.float64)
        rel_va, rel_te = np.rint(10 * yva), np.rint(10 * yte)
    else:
        gain, rel_va, rel_te = None, yva, yte
    rows = {}
    for name, objective, params in MODELS:
        model = LambdaRanker(objective=objective, objective_params=params, n_estimators=n_estimators,
                             learning_rate=0.05, num_leaves=31, min_child_samples=20, early_stopping_rounds=50,
                             label_gain=gain, random_state=0, n_jobs=n_jobs)
        t0 = time.perf_counter()
        model.fit(Xtr, ytr, qid=qtr, eval_set=[(Xva, rel_va)], eval_qid=[qva])
        seconds = time.perf_counter() - t0
        raw = model.predict(Xte)
        prob = expit(raw)  # = predict_proba for the calibrated objectives
        if model.objective_.produces_probabilities:
            np.testing.assert_allclose(model.predict_proba(Xte), prob)
        row = {
            "logloss": log_loss(yte, prob),
            "brier": brier_score(yte, prob),
            "ece": expected_calibration_error(yte, prob, n_bins=15),
            "ndcg@10": float(ndcg_score(rel_te, raw, qid=qte, k=10, **({} if gain is None else {"gain": gain}))),
            "trees": model.best_iteration_ or model.n_iter_,
            "seconds": seconds,
        }
        if objective == "softmax":
            c_test = best_shift(yte, raw)
            c_valid = best_shift(yva, model.predict(Xva))
            row["logloss_shift_oracle"] = log_loss(yte, expit(raw + c_test))
            row["logloss_shift_valid"] = log_loss(yte, expit(raw + c_valid))
        rows[name] = row
    return rows


def summarise(title, per_fold):
    names = [m[0] for m in MODELS]
    keys = ["logloss", "brier", "ece", "ndcg@10", "trees", "seconds"]
    mean = {n: {k: float(np.mean([r[n][k] for r in per_fold])) for k in keys} for n in names}
    for extra in ("logloss_shift_oracle", "logloss_shift_valid"):
        mean["softmax"][extra] = float(np.mean([r["softmax"][extra] for r in per_fold]))
    ll_binary = mean["binary"]["logloss"]
    ndcg_softmax = mean["softmax"]["ndcg@10"]
    print(f"\n### {title} ({len(per_fold)} fold(s), test-set means)\n")
    print("| objective | log loss | / binary | Brier | ECE | NDCG@10 | - softmax | trees | fit s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in names:
        m = mean[n]
        print(f"| {n} | {m['logloss']:.4f} | {m['logloss'] / ll_binary:.3f} | {m['brier']:.4f} | {m['ece']:.4f} "
              f"| {m['ndcg@10']:.4f} | {m['ndcg@10'] - ndcg_softmax:+.4f} | {m['trees']:.0f} | {m['seconds']:.1f} |")
    sm = mean["softmax"]
    print(f"| softmax, best global shift (oracle, fitted on test) | {sm['logloss_shift_oracle']:.4f} "
          f"| {sm['logloss_shift_oracle'] / ll_binary:.3f} | | | | | | |")
    print(f"| softmax, global shift fitted on validation | {sm['logloss_shift_valid']:.4f} "
          f"| {sm['logloss_shift_valid'] / ll_binary:.3f} | | | | | | |")
    print()
    for n in names:
        if not n.startswith("rcr"):
            continue
        ok_ll = mean[n]["logloss"] <= 1.02 * ll_binary
        ok_ndcg = mean[n]["ndcg@10"] >= ndcg_softmax - 0.005
        print(f"- {n}: log loss <= 1.02 x binary: {'PASS' if ok_ll else 'FAIL'}; "
              f"NDCG@10 >= softmax - 0.005: {'PASS' if ok_ndcg else 'FAIL'}")
    per_fold_line = ", ".join(
        f"{n}: " + " ".join(f"{r[n]['ndcg@10']:.3f}" for r in per_fold) for n in names
    )
    print(f"\nper-fold NDCG@10 -- {per_fold_line}")
    return mean


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fold 1 only, 300 trees at most, small click data")
    ap.add_argument("--data", default="mq2008,clicks", help="comma-separated: mq2008, clicks")
    ap.add_argument("--folds", default=None, help="MQ2008 folds, e.g. 1,2 (default: all 5, or 1 with --quick)")
    ap.add_argument("--n-estimators", type=int, default=None, help="maximum trees (default 1000, 300 with --quick)")
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args(argv)
    n_estimators = args.n_estimators or (300 if args.quick else 1000)
    datasets = args.data.split(",")
    unknown = sorted(set(datasets) - {"mq2008", "clicks"})
    if unknown:
        ap.error(f"--data: unknown data set(s) {unknown}; choose from mq2008, clicks")
    results = {}

    if "mq2008" in datasets:
        folds = [int(f) for f in args.folds.split(",")] if args.folds else ([1] if args.quick else [1, 2, 3, 4, 5])
        if not (DATA / "mq2008").is_dir():
            print(f"MQ2008 not found under {DATA}; skipped")
        else:
            per_fold = []
            for f, (tr, va, te) in mq2008_folds(folds):
                t0 = time.perf_counter()
                per_fold.append(run_split(tr, va, te, n_estimators, args.n_jobs))
                print(f"[mq2008 fold {f}: {time.perf_counter() - t0:.0f} s]", file=sys.stderr, flush=True)
            results["mq2008"] = summarise("MQ2008, binarised (label >= 1)", per_fold)

    if "clicks" in datasets:
        per_fold = []
        for f, (tr, va, te) in click_folds(args.quick):
            t0 = time.perf_counter()
            per_fold.append(run_split(tr, va, te, n_estimators, args.n_jobs, graded_rates=True))
            print(f"[clicks replicate {f}: {time.perf_counter() - t0:.0f} s]", file=sys.stderr, flush=True)
        results["clicks"] = summarise("Generated click rates (20 docs/query, rate over 10..200 impressions; "
                                      "NDCG on round(10 x rate), linear gain)", per_fold)
    return results


if __name__ == "__main__":
    main()
