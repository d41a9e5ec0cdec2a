"""YetiRank, StochasticRank and LambdaMART (ltr) against CatBoost's YetiRank and StochasticRank.

Three tables:

1. Mean test NDCG@10 over seeds (and the 5 MQ2008 folds) of ltr's
   ``lambdamart``, ``yetirank`` and ``stochasticrank`` and CatBoost's
   ``YetiRank`` and ``StochasticRank:metric=NDCG;type=Exp``, with the same
   number of trees and learning rate. On MQ2008 (LETOR 4.0, standard folds:
   train on three partitions, test on the fifth; the validation partition is
   not used) and on LightGBM's lambdarank example (its train / test files).
2. Mean test MRR on binarised MQ2008 (label > 0 is relevant) of ltr's
   ``yetirank`` with ``mode='mrr'`` and CatBoost's ``YetiRank:mode=MRR``.
3. Wall time per tree of ``yetirank`` (10 permutations) and ``lambdamart``
   on generated MSLR-shaped data (1M rows, 136 features).

Settings. Both libraries grow the given number of trees (no early stopping)
with the given learning rate. CatBoost grows depth-6 symmetric (oblivious)
trees, 64 leaves, with its defaults otherwise (CatBoost 1.2.10: cosine
split score from gradients and row counts, YetiRank gets one Newton step
per leaf and no L2 penalty, StochasticRank gradient leaf values with
``l2_leaf_reg=3``; both use MVS row sampling and ``random_strength=1``).
ltr is run in four shapes:

* its defaults: leaf-wise trees, at most 31 leaves, at least 20 rows per
  leaf (LightGBM's), Newton leaves, no L2 penalty;
* "depth 6": leaf-wise, at most 64 leaves within depth 6, no minimum leaf
  size, CatBoost's L2 leaf penalty for the loss (none for YetiRank, 3 for
  StochasticRank, whose ``h = 1`` makes ltr's leaf ``-sum g / (n + 3)``
  CatBoost's gradient step);
* "symmetric 6": CatBoost's tree shape, ``grow_policy='symmetric',
  max_depth=6, min_child_samples=1`` (the same leaf penalties), splits
  chosen by the summed Newton gain;
* "symmetric 6, cosine, rs 1": the same with CatBoost's structure search
  too, ``score_function='cosine', random_strength=1``. This is the
  CatBoost-matched configuration on which the pass / fail lines (ltr >=
  CatBoost - 0.005) are judged; the other differences are printed for
  information. What is still not matched: CatBoost's MVS row sampling.

ltr's NDCG gain is ``2**y - 1``; CatBoost's StochasticRank gets
``type=Exp`` so that both smooth the same metric (CatBoost's YetiRank has no
gain parameter). Accuracy runs use one thread per model (the machine is
shared; results do not depend on the thread count), the timing runs all
cores. ``--methods`` runs a subset (substrings of the row names) and
``--cache`` keeps finished runs, so a table can be completed in parts.

Evaluation. NDCG@10 with gain ``2**y - 1``, discount ``1/log2(r+2)``, ties
in input order and queries without relevant documents counted as 1 (as
LightGBM's ``ndcg@10``). MRR is averaged over queries with at least one
relevant document.

Usage::

    python benchmarks/bench_objectives.py            # full: 5 seeds, 5 folds, 1M-row timing
    python benchmarks/bench_objectives.py --quick    # one fold, one seed, 100k-row timing
    python benchmarks/bench_objectives.py --skip-timing --n-estimators 200 --learning-rate 0.05
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ltr import LambdaRanker  # noqa: E402
from ltr.callbacks import Callback  # noqa: E402

DATA = Path(os.environ.get("LTR_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))
MQ2008_FOLDS = [  # (train partitions, test partition) of the standard 5-fold protocol
    ((1, 2, 3), 5), ((2, 3, 4), 1), ((3, 4, 5), 2), ((4, 5, 1), 3), ((5, 1, 2), 4),
]


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
def _load_svmlight(path, n_features, query_id):
    from sklearn.datasets import load_svmlight_file

    out = load_svmlight_file(str(path), n_features=n_features, query_id=query_id)
    X = np.asarray(out[0].todense(), dtype=np.float64)
    return (X, out[1], out[2]) if query_id else (X, out[1])


def mq2008_folds(n_folds):
    parts = {p: _load_svmlight(DATA / "mq2008" / f"S{p}.txt", 46, True) for p in range(1, 6)}
    for train_parts, test_part in MQ2008_FOLDS[:n_folds]:
        X = np.vstack([parts[p][0] for p in train_parts])
        y = np.concatenate([parts[p][1] for p in train_parts])
        q = np.concatenate([parts[p][2] for p in train_parts])
        yield f"S{test_part}", (X, y, q), parts[test_part]


def lightgbm_example():
    d = DATA / "lightgbm_rank_example"
    out = []
    for name in ("rank.train", "rank.test"):
        X, y = _load_svmlight(d / name, 300, False)
        sizes = np.loadtxt(d / f"{name}.query", dtype=np.int64)
        out.append((X, y, np.repeat(np.arange(len(sizes)), sizes)))
    return out


def generated(n_rows, seed=0):
    """MSLR-shaped data: ``ltr.datasets.make_ranking`` when available, else a local stand-in."""
    try:
        from ltr.datasets import make_ranking
    except ImportError:
        make_ranking = None
    if make_ranking is not None:
        X, y, qid = make_ranking(n_samples=n_rows, random_state=seed)[:3]
        return np.asarray(X), np.asarray(y, dtype=np.float64), np.asarray(qid)
    rng = np.random.default_rng(seed)
    sizes = np.maximum(1, rng.gamma(2.0, 60.0, size=n_rows // 100)).astype(np.int64)
    sizes = np.maximum(1, np.round(sizes * n_rows / sizes.sum())).astype(np.int64)
    sizes[-1] += n_rows - sizes.sum()
    qid = np.repeat(np.arange(len(sizes)), sizes)
    X = rng.normal(size=(n_rows, 136)).astype(np.float32)
    utility = X[:, :40] @ rng.normal(size=40) / 6.0 + rng.normal(size=n_rows)
    y = np.digitize(utility, np.quantile(utility, [0.52, 0.84, 0.97, 0.995])).astype(np.float64)
    return X, y, qid


# ---------------------------------------------------------------------------
# Metrics (independent of ltr.metrics, so the benchmark checks everything)
# ---------------------------------------------------------------------------
def _query_slices(qid):
    change = np.flatnonzero(qid[1:] != qid[:-1]) + 1
    bounds = np.concatenate(([0], change, [len(qid)]))
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def ndcg_at(y, score, qid, k=10):
    disc = 1.0 / np.log2(np.arange(k) + 2.0)
    values = []
    for sl in _query_slices(qid):
        yq, sq = y[sl], score[sl]
        top = np.argsort(-sq, kind="stable")[:k]
        ideal = np.sort(yq)[::-1][:k]
        idcg = ((2.0**ideal - 1) * disc[: len(ideal)]).sum()
        dcg = ((2.0 ** yq[top] - 1) * disc[: len(top)]).sum()
        values.append(1.0 if idcg == 0 else dcg / idcg)
    return float(np.mean(values))


def mrr(y, score, qid):
    values = []
    for sl in _query_slices(qid):
        yq, sq = y[sl], score[sl]
        if not np.any(yq > 0):
            continue
        ranked = yq[np.argsort(-sq, kind="stable")]
        values.append(1.0 / (np.argmax(ranked > 0) + 1))
    return float(np.mean(values))


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------
#: ltr's leaf-wise trees with CatBoost's capacity:
#: depth 6, at most 64 leaves (grown leaf-wise, not symmetric), no minimum leaf
#: size (CatBoost's ``min_data_in_leaf=1``), and the L2 leaf penalty CatBoost
#: uses for the loss: none for YetiRank (Newton leaves), ``l2_leaf_reg=3``
#: for StochasticRank (gradient leaves ``sum g / (n + 3)``, which with
#: ``h = 1`` is ltr's ``reg_lambda=3``).
DEPTH6 = dict(max_depth=6, num_leaves=64, min_child_samples=1)
#: CatBoost's tree shape itself: symmetric (oblivious) trees of depth 6, no minimum leaf size.
SYMMETRIC6 = dict(grow_policy="symmetric", max_depth=6, min_child_samples=1)
#: ... with CatBoost's structure search as well: cosine split score and split-score noise (random_strength=1).
CATBOOST6 = dict(SYMMETRIC6, score_function="cosine", random_strength=1.0)


def fit_ltr(objective, train, n_estimators, learning_rate, seed, objective_params=None, n_jobs=1, callbacks=None,
            **tree):
    X, y, q = train
    model = LambdaRanker(objective=objective, n_estimators=n_estimators, learning_rate=learning_rate,
                         random_state=seed, n_jobs=n_jobs, objective_params=objective_params, **tree)
    return model.fit(X, y, qid=q, callbacks=callbacks)


def fit_catboost(loss, train, n_estimators, learning_rate, seed):
    from catboost import CatBoostRanker, Pool

    X, y, q = train
    model = CatBoostRanker(loss_function=loss, iterations=n_estimators, learning_rate=learning_rate,
                           random_seed=seed, thread_count=1, verbose=0, allow_writing_files=False)
    return model.fit(Pool(X, y, group_id=q))


NDCG_METHODS = {
    "ltr lambdamart": lambda tr, T, lr, s: fit_ltr("lambdamart", tr, T, lr, s),
    "ltr yetirank": lambda tr, T, lr, s: fit_ltr("yetirank", tr, T, lr, s),
    "ltr stochasticrank": lambda tr, T, lr, s: fit_ltr("stochasticrank", tr, T, lr, s),
    "ltr lambdamart, depth 6": lambda tr, T, lr, s: fit_ltr("lambdamart", tr, T, lr, s, **DEPTH6),
    "ltr yetirank, depth 6": lambda tr, T, lr, s: fit_ltr("yetirank", tr, T, lr, s, **DEPTH6),
    "ltr stochasticrank, depth 6, l2 3": lambda tr, T, lr, s: fit_ltr("stochasticrank", tr, T, lr, s, reg_lambda=3.0,
                                                                       **DEPTH6),
    "ltr lambdamart, symmetric 6": lambda tr, T, lr, s: fit_ltr("lambdamart", tr, T, lr, s, **SYMMETRIC6),
    "ltr yetirank, symmetric 6": lambda tr, T, lr, s: fit_ltr("yetirank", tr, T, lr, s, **SYMMETRIC6),
    "ltr stochasticrank, symmetric 6, l2 3": lambda tr, T, lr, s: fit_ltr("stochasticrank", tr, T, lr, s,
                                                                           reg_lambda=3.0, **SYMMETRIC6),
    "ltr yetirank, symmetric 6, cosine, rs 1": lambda tr, T, lr, s: fit_ltr("yetirank", tr, T, lr, s, **CATBOOST6),
    "ltr stochasticrank, symmetric 6, l2 3, cosine, rs 1": lambda tr, T, lr, s: fit_ltr("stochasticrank", tr, T, lr,
                                                                                         s, reg_lambda=3.0,
                                                                                         **CATBOOST6),
    "CatBoost YetiRank": lambda tr, T, lr, s: fit_catboost("YetiRank", tr, T, lr, s),
    "CatBoost StochasticRank": lambda tr, T, lr, s: fit_catboost("StochasticRank:metric=NDCG;type=Exp", tr, T, lr, s),
}
#: (ltr row, CatBoost row, judged): the bar (ltr >= CatBoost - 0.005) is judged
#: on the CatBoost-matched rows only (CatBoost's tree shape, split score and
#: split-score noise); the other rows are printed for information.
COMPARISONS = [
    ("ltr yetirank, symmetric 6, cosine, rs 1", "CatBoost YetiRank", True),
    ("ltr stochasticrank, symmetric 6, l2 3, cosine, rs 1", "CatBoost StochasticRank", True),
    ("ltr yetirank, symmetric 6", "CatBoost YetiRank", False),
    ("ltr stochasticrank, symmetric 6, l2 3", "CatBoost StochasticRank", False),
    ("ltr yetirank, depth 6", "CatBoost YetiRank", False),
    ("ltr stochasticrank, depth 6, l2 3", "CatBoost StochasticRank", False),
    ("ltr yetirank", "CatBoost YetiRank", False),
    ("ltr stochasticrank", "CatBoost StochasticRank", False),
]
MRR_METHODS = {
    "ltr yetirank mode='mrr'": lambda tr, T, lr, s: fit_ltr("yetirank", tr, T, lr, s, {"mode": "mrr"}),
    "ltr yetirank mode='mrr', depth 6": lambda tr, T, lr, s: fit_ltr("yetirank", tr, T, lr, s, {"mode": "mrr"},
                                                                      **DEPTH6),
    "ltr yetirank mode='mrr', symmetric 6": lambda tr, T, lr, s: fit_ltr("yetirank", tr, T, lr, s, {"mode": "mrr"},
                                                                          **SYMMETRIC6),
    "ltr yetirank mode='mrr', symmetric 6, cosine, rs 1": lambda tr, T, lr, s: fit_ltr(
        "yetirank", tr, T, lr, s, {"mode": "mrr"}, **CATBOOST6),
    "CatBoost YetiRank:mode=MRR": lambda tr, T, lr, s: fit_catboost("YetiRank:mode=MRR", tr, T, lr, s),
}


def evaluate(methods, splits, seeds, n_estimators, learning_rate, metric, log, cache=None, tag=""):
    """``{method: [metric per (split, seed)]}`` and the mean fitting time per method.

    With a `cache` (a `_Cache`, see ``--cache``), finished runs are read from it and
    new ones written to it, so that an interrupted benchmark resumes.
    """
    scores = {m: [] for m in methods}
    seconds = {m: [] for m in methods}
    for split_name, train, test in splits:
        for seed in seeds:
            for name, fit in methods.items():
                key = f"{tag}|{split_name}|{seed}|{name}|{n_estimators}|{learning_rate}"
                if cache is not None and key in cache.data:
                    value, sec = cache.data[key]
                else:
                    t0 = time.perf_counter()
                    model = fit(train, n_estimators, learning_rate, seed)
                    sec = time.perf_counter() - t0
                    value = metric(test[1], np.asarray(model.predict(test[0]), dtype=np.float64), test[2])
                    if cache is not None:
                        cache.put(key, (value, sec))
                scores[name].append(value)
                seconds[name].append(sec)
                log(f"  {split_name} seed {seed} {name:32s} {value:.4f}")
    return scores, {m: float(np.mean(v)) for m, v in seconds.items()}


class _Cache:
    """Finished runs in a JSON file, rewritten after every run."""

    def __init__(self, path):
        self.path = Path(path)
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {}

    def put(self, key, value):
        self.data[key] = value
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data))
        tmp.replace(self.path)


class _TreeTimer(Callback):
    def before_training(self, env):
        self.stamps = [time.perf_counter()]

    def after_iteration(self, env):
        self.stamps.append(time.perf_counter())
        return False


def time_per_tree(objectives, data, n_trees, repeats):
    """Median wall time per tree (first tree excluded: it loads compiled kernels), best of `repeats`.

    The objectives take turns, so that a change in the load of the (shared)
    machine affects them alike.
    """
    best = {obj: np.inf for obj in objectives}
    for _ in range(repeats):
        for obj in objectives:
            timer = _TreeTimer()
            fit_ltr(obj, data, n_trees, 0.1, 0, n_jobs=None, callbacks=[timer])
            best[obj] = min(best[obj], float(np.median(np.diff(timer.stamps)[1:])))
    return best


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one fold, one seed, small timing data")
    parser.add_argument("--n-estimators", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--timing-rows", type=int, default=1_000_000)
    parser.add_argument("--timing-trees", type=int, default=8)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--out", type=str, default=None, help="write the results as JSON here")
    parser.add_argument("--cache", type=str, default=None,
                        help="JSON file of finished runs: an interrupted benchmark resumes from it")
    parser.add_argument("--methods", type=str, default=None,
                        help="comma-separated substrings: run only the methods whose name contains one of them")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)

    n_folds, seeds = 5, list(range(args.seeds))
    n_estimators, timing_rows, timing_trees, repeats = args.n_estimators, args.timing_rows, args.timing_trees, 2
    if args.quick:
        n_folds, seeds, timing_rows, timing_trees, repeats = 1, [0], 100_000, 4, 1
        n_estimators = min(n_estimators, 50)
    log = (lambda *a: print(*a, flush=True)) if args.verbose else (lambda *a: None)
    cache = _Cache(args.cache) if args.cache else None
    results = {"n_estimators": n_estimators, "learning_rate": args.learning_rate, "seeds": seeds,
               "mq2008_folds": n_folds}

    ndcg_methods, mrr_methods = NDCG_METHODS, MRR_METHODS
    if args.methods:
        wanted = [w.strip() for w in args.methods.split(",") if w.strip()]
        ndcg_methods = {m: f for m, f in NDCG_METHODS.items() if any(w in m for w in wanted)}
        mrr_methods = {m: f for m, f in MRR_METHODS.items() if any(w in m for w in wanted)}

    if not args.skip_quality:
        if not DATA.is_dir():
            sys.exit(f"shared data sets not found at {DATA} (set LTR_SHARED_DATASETS)")
        mq = list(mq2008_folds(n_folds))
        lgb_train, lgb_test = lightgbm_example()
        table = {}
        for data_name, splits in (("MQ2008", mq), ("LightGBM example", [("test", lgb_train, lgb_test)])):
            log(f"{data_name}: NDCG@10")
            scores, seconds = evaluate(ndcg_methods, splits, seeds, n_estimators, args.learning_rate, ndcg_at, log,
                                       cache, data_name)
            table[data_name] = {m: (float(np.mean(v)), float(np.std(v)), seconds[m]) for m, v in scores.items()}
        results["ndcg@10"] = table

        binary = [(name, (tr[0], (tr[1] > 0).astype(np.float64), tr[2]), (te[0], (te[1] > 0).astype(np.float64), te[2]))
                  for name, tr, te in mq]
        log("binarised MQ2008: MRR")
        scores, seconds = evaluate(mrr_methods, binary, seeds, n_estimators, args.learning_rate, mrr, log, cache,
                                   "MQ2008 binary")
        results["mrr"] = {m: (float(np.mean(v)), float(np.std(v)), seconds[m]) for m, v in scores.items()}

        runs = f"{n_folds} fold(s) x {len(seeds)} seed(s)"
        print(f"\nMean test NDCG@10 ({n_estimators} trees, learning rate {args.learning_rate}; "
              f"MQ2008: {runs}; LightGBM example: {len(seeds)} seed(s)); std over runs; fit seconds")
        print("| method | MQ2008 | LightGBM example |")
        print("|---|---|---|")
        for m in ndcg_methods:
            cells = [f"{table[d][m][0]:.4f} (±{table[d][m][1]:.4f}, {table[d][m][2]:.1f} s)" for d in table]
            print(f"| {m} | " + " | ".join(cells) + " |")
        for ours, theirs, judged in COMPARISONS:
            if ours not in ndcg_methods or theirs not in ndcg_methods:
                continue
            for d in table:
                diff = table[d][ours][0] - table[d][theirs][0]
                if judged:
                    verdict = "ok" if diff >= -0.005 else "BELOW the -0.005 bound"
                else:
                    verdict = "default shape, for information"
                print(f"{d}: {ours} - {theirs} = {diff:+.4f} ({verdict})")
        print(f"\nMean test MRR, binarised MQ2008 ({runs}; queries with a relevant document)")
        print("| method | MRR |")
        print("|---|---|")
        for m, (mean, std, sec) in results["mrr"].items():
            print(f"| {m} | {mean:.4f} (±{std:.4f}, {sec:.1f} s) |")

    if not args.skip_timing:
        data = generated(timing_rows)
        per_tree = time_per_tree(("lambdamart", "yetirank"), data, timing_trees, repeats)
        ratio = per_tree["yetirank"] / per_tree["lambdamart"]
        results["time_per_tree"] = dict(per_tree, ratio=ratio, rows=timing_rows, features=int(data[0].shape[1]))
        print(f"\nWall time per tree, {timing_rows:,} generated rows x {data[0].shape[1]} features, "
              f"{len(np.unique(data[2])):,} queries, all cores "
              f"(median over trees 2..{timing_trees}, best of {repeats})")
        print("| objective | s / tree |")
        print("|---|---|")
        for obj, sec in per_tree.items():
            print(f"| {obj} | {sec:.3f} |")
        print(f"yetirank / lambdamart = {ratio:.2f} ({'ok' if ratio <= 1.5 else 'ABOVE the 1.5 bound'})")

    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
