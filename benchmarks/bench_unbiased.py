"""Unbiased learning to rank from simulated clicks: DLA vs baselines vs LightGBM / XGBoost.

Semi-synthetic protocol (DLA paper, ``ltr.unbiased.make_click_log``): a
production LambdaRanker trained on a small fraction of the labelled training
queries shows its top 10; sessions pick a query uniformly and click by the
position-based model (eta = 1 and 2, eye-tracking examination, click noise
0.1 / 1.0). Every model is scored by NDCG@10 on the TRUE labels of the test
queries (all their documents; queries without a relevant document count 1,
as LightGBM).

Methods
    naive            LambdaMART on the click rates (``objective='ipw'``, no propensity)
    ipw_true         IPW LambdaMART with the true propensities (an oracle)
    dla_lambdarank   DLA, IPW-weighted LambdaRank ranker
    dla_softmax      DLA, IPW softmax ranker (the paper's loss)
    dla_yetirank     DLA, IPW-weighted classic YetiRank ranker
    dla_cross_fit    ``LambdaRanker(objective="softmax", unbiased="dla", propensity_estimation="cross_fit")``
                     (since branch unbiased3: the within-position relevance model, 5 folds; see
                     ``ltr.unbiased._within_position``)
    dla_cross_fit_iterated  the same with ``cross_fit_params=dict(method="dla", n_folds=3)`` (the default
                     before branch unbiased3):
                     propensities by cross-fitted DLA (``estimate_propensity_cross_fit``: 3 query folds,
                     rounds until the change is within the click-count noise (at most 10), out-of-fold IPW
                     softmax rankers of 100 trees, isotonic relevance), then an IPW softmax ranker with
                     those propensities (weights clipped at 10, as DLA's default)
    unbiased_lm      Unbiased LambdaMART (Hu et al.; ``objective='unbiased_lambdamart'``)
    lgb_naive        LightGBM lambdarank on the same clicks
    lgb_position     LightGBM lambdarank with ``position`` (its position-bias GAM)
    xgb_unbiased     XGBoost rank:ndcg with ``lambdarank_unbiased=True``
    skyline          LambdaMART on the true labels of the displayed rows (the same top-10 lists the clicks
                     come from: the ULTR literature's skyline; the 0.95 bar is measured against it)
    full_info        LambdaMART on the true labels of every training row (also sees the documents the
                     click model never shows; reported alongside)
    irw_true_relevance  (propensity only, no ranker) DLA's exact IRW step with the true attractiveness as
                     the relevance: the error the click counts alone leave (sampling noise)

Every method sees the same clicks, aggregated: one row per displayed (query,
document, position) with its click rate and its impressions (the sessions
of a query all show the same list; see ``ltr.unbiased``), so millions of
sessions cost nothing in training time. LambdaRank's pair weights are
invariant to scaling the gains of one list, so LightGBM gets the integer
click counts with a linear ``label_gain`` and XGBoost the click rates with
``ndcg_exp_gain=False`` (rows in display order: XGBoost's position is the
row's index in its group): the same click-rate objective as our ``naive``.
Impressions are row weights (LightGBM) and group weights (XGBoost).

Sessions: 2M by default (2000 per generated query). With 100k sessions over
1000 queries a list is seen ~100 times, position 10 gets about one click
per list, and inverse propensity weights (up to 11x at eta=1) amplify that
noise: measured on the generated data, IPW with the *true* propensities then
ranks worse than the naive model (0.478 vs 0.519, skyline 0.585).

Data
    generated   ``ltr.datasets.make_ranking`` (MSLR-shaped: 136 features, about
                120 documents per query, 5 grades): 1000 training and 300 test
                queries, three data sets (seeds 0, 1, 2), each with its own
                click log.
    mq2008      LETOR 4.0 MQ2008, the 5 standard folds (train on the three
                training partitions, test on the test partition; grades 0-2).

Usage
    python benchmarks/bench_unbiased.py --quick
    nice python benchmarks/bench_unbiased.py                 # the full table
    python benchmarks/bench_unbiased.py --data generated --eta 1 --methods naive,dla_softmax
"""
import argparse
import sys
import time
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ltr import LambdaRanker  # noqa: E402
from ltr.metrics import ndcg_score  # noqa: E402
from ltr.unbiased import make_click_log  # noqa: E402

MQ2008 = REPO.parent / "shared" / "datasets" / "mq2008"
MQ_FOLDS = [((1, 2, 3), 5), ((2, 3, 4), 1), ((3, 4, 5), 2), ((4, 5, 1), 3), ((5, 1, 2), 4)]
ALL_METHODS = ["naive", "ipw_true", "dla_lambdarank", "dla_softmax", "dla_yetirank", "dla_cross_fit", "dla_cross_fit_iterated",
               "unbiased_lm", "lgb_naive", "lgb_position",
               "xgb_unbiased", "skyline", "full_info"]
PROPENSITY_METHODS = {"dla_lambdarank", "dla_softmax", "dla_yetirank", "dla_cross_fit", "dla_cross_fit_iterated",
                      "unbiased_lm", "xgb_unbiased"}


# ---------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------
def load_mq2008_part(i):
    from sklearn.datasets import load_svmlight_file

    X, y, q = load_svmlight_file(str(MQ2008 / f"S{i}.txt"), query_id=True, n_features=46)
    return X.toarray(), y.astype(np.int64), q.astype(np.int64)


def mq2008_folds(quick):
    parts = {i: load_mq2008_part(i) for i in range(1, 6)}
    for fold, (train, test) in enumerate(MQ_FOLDS[:1] if quick else MQ_FOLDS, start=1):
        X = np.vstack([parts[i][0] for i in train])
        y = np.concatenate([parts[i][1] for i in train])
        q = np.concatenate([parts[i][2] for i in train])
        yield f"fold{fold}", (X, y, q), parts[test], 2


def generated_folds(quick, seeds):
    from ltr.datasets import make_ranking

    n_train, n_test = (300, 150) if quick else (1000, 300)
    for seed in seeds:
        X, y, q = make_ranking(n_queries=n_train + n_test, random_state=seed)[:3]
        ids = np.unique(q)
        train = np.isin(q, ids[:n_train])
        yield f"seed{seed}", (X[train], y[train], q[train]), (X[~train], y[~train], q[~train]), 4


def group_sizes(qid):
    """Sizes of the runs of equal ids (rows of a list are contiguous)."""
    return np.diff(np.flatnonzero(np.r_[True, qid[1:] != qid[:-1], True]))


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------
def ours(objective, params, args):
    return LambdaRanker(objective=objective, objective_params=params or None, n_estimators=args.n_estimators,
                        learning_rate=args.learning_rate, num_leaves=args.num_leaves, random_state=0,
                        n_jobs=args.n_jobs)


def fit_method(name, log, agg, train, args):
    """Fit one method; returns (predict function, estimated propensity or None, seconds)."""
    t0 = time.perf_counter()
    true = log.true_propensity()
    fit_kw = dict(qid=agg.qid, sample_weight=agg.sample_weight, position=agg.position)
    prop = None
    if name == "naive":
        m = ours("ipw", {}, args).fit(agg.X, agg.y, **fit_kw)
    elif name == "ipw_true":
        m = ours("ipw", dict(propensity=list(true)), args).fit(agg.X, agg.y, **fit_kw)
    elif name == "dla_lambdarank":
        m = ours("dla", dict(ranker_loss="lambdarank"), args).fit(agg.X, agg.y, **fit_kw)
        prop = m.objective_.propensity_
    elif name == "dla_softmax":
        m = ours("dla", dict(ranker_loss="softmax"), args).fit(agg.X, agg.y, **fit_kw)
        prop = m.objective_.propensity_
    elif name == "dla_yetirank":
        m = ours("dla", dict(ranker_loss="yetirank"), args).fit(agg.X, agg.y, **fit_kw)
        prop = m.objective_.propensity_
    elif name in ("dla_cross_fit", "dla_cross_fit_iterated"):
        # the estimator's own option; the out-of-fold rankers: 100 trees at 0.1 (the library default)
        m = LambdaRanker(objective="softmax", unbiased="dla", propensity_estimation="cross_fit",
                         cross_fit_params=(dict(method="dla", n_folds=3, n_rounds="auto")
                                           if name == "dla_cross_fit_iterated" else None),
                         n_estimators=args.n_estimators,
                         learning_rate=args.learning_rate, num_leaves=args.num_leaves, random_state=0,
                         n_jobs=args.n_jobs).fit(agg.X, agg.y, **fit_kw)
        prop = m.propensity_
        est = m.propensity_cross_fit_
        errs = [f"{np.abs(h / true - 1).max():.3f}" for h in est.history]
        print(f"   {'':15s} cross-fit rounds {len(est.history)} (converged {est.converged}); max rel. error after "
              f"each round: {' '.join(errs)}", flush=True)
    elif name == "unbiased_lm":
        m = ours("unbiased_lambdamart", {}, args).fit(agg.X, agg.y, **fit_kw)
        prop = m.objective_.propensity_
    elif name == "skyline":
        m = ours("lambdamart", {}, args).fit(agg.X, agg.y_true, qid=agg.qid)
    elif name == "full_info":
        X, y, q = train
        m = ours("lambdamart", {}, args).fit(X, y, qid=q)
    elif name in ("lgb_naive", "lgb_position"):
        import lightgbm as lgb

        counts = np.rint(agg.y * agg.sample_weight).astype(np.int64)
        ds = lgb.Dataset(agg.X, counts, group=group_sizes(agg.qid), weight=agg.sample_weight,
                         position=agg.position - 1 if name == "lgb_position" else None, free_raw_data=False)
        params = dict(objective="lambdarank", label_gain=list(range(int(counts.max()) + 1)),
                      learning_rate=args.learning_rate, num_leaves=args.num_leaves, verbose=-1, seed=0,
                      num_threads=args.n_jobs, deterministic=True, force_row_wise=True)
        booster = lgb.train(params, ds, num_boost_round=args.n_estimators)
        return booster.predict, None, time.perf_counter() - t0
    elif name == "xgb_unbiased":
        import json

        import xgboost as xgb

        m = xgb.XGBRanker(objective="rank:ndcg", lambdarank_unbiased=True, ndcg_exp_gain=False,
                          n_estimators=args.n_estimators, learning_rate=args.learning_rate, tree_method="hist",
                          grow_policy="lossguide", max_leaves=args.num_leaves, max_depth=0, n_jobs=args.n_jobs,
                          random_state=0)
        starts = np.flatnonzero(np.r_[True, agg.qid[1:] != agg.qid[:-1]])
        # rows of a list are in display order: XGBoost's position is the index in the group
        m.fit(agg.X, agg.y, qid=agg.qid, sample_weight=agg.sample_weight[starts])
        config = json.loads(m.get_booster().save_config())
        obj = config["learner"]["objective"]
        t_plus = obj.get("ti+")
        prop = None if t_plus is None else np.asarray(t_plus, dtype=float)[: len(true)]
        return m.predict, prop, time.perf_counter() - t0
    else:
        raise ValueError(f"unknown method {name!r}")
    return m.predict, prop, time.perf_counter() - t0


def oracle_irw_propensity(log, agg):
    """DLA's exact IRW step with the true attractiveness as the relevance model (a diagnostic)."""
    from ltr.objectives.unbiased import irw_statistics, solve_irw
    from ltr.unbiased import click_probability

    p = log.params
    attract = click_probability(agg.y_true, p["eps_minus"], p["eps_plus"], p["max_grade"])
    ptr = np.r_[0, np.cumsum(group_sizes(agg.qid))].astype(np.int64)
    k = log.top_k
    bins = np.ascontiguousarray(agg.position - 1).astype(np.int64)
    numer, mass = irw_statistics(np.ascontiguousarray(np.log(attract)), np.ascontiguousarray(agg.y * agg.sample_weight),
                                 bins, ptr, k, None)
    logits, _ = solve_irw(numer, mass, bins, ptr, np.zeros(k))
    return np.exp(logits - logits[0])


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small data, one MQ2008 fold, eta 1, 200k sessions")
    ap.add_argument("--data", default="generated,mq2008", help="comma list: generated, mq2008")
    ap.add_argument("--eta", default=None, help="comma list of eta values (default 1,2; quick: 1)")
    ap.add_argument("--sessions", type=int, default=None, help="simulated sessions (default 2M; quick: 200k)")
    ap.add_argument("--methods", default=",".join(ALL_METHODS))
    ap.add_argument("--n-estimators", type=int, default=None,
                    help="trees per model (default 300 on generated, 150 on MQ2008; quick: 60)")
    ap.add_argument("--learning-rate", type=float, default=None, help="default 0.1 (generated), 0.05 (MQ2008)")
    ap.add_argument("--num-leaves", type=int, default=31)
    ap.add_argument("--production-fraction", type=float, default=0.01)
    ap.add_argument("--repeats", type=int, default=None,
                    help="generated data sets (seeds 0..repeats-1; default 3, quick 1)")
    ap.add_argument("--seeds", default=None, help="comma list of generated data set seeds (instead of --repeats)")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    ap.add_argument("--report-from", default=None,
                    help="comma list of --json files: print their merged tables and exit (no training)")
    ap.add_argument("--n-jobs", type=int, default=1,
                    help="threads per model, all libraries (default 1: the training sets are small, and on a shared "
                         "2-core machine threads cost more in synchronisation than they gain)")
    args = ap.parse_args(argv)
    if args.report_from:
        import json

        results, propensities = [], []
        for path in args.report_from.split(","):
            d = json.loads(Path(path).read_text())
            results += [tuple(r) for r in d["results"]]
            propensities += [(a, b, c, m, np.asarray(e), np.asarray(t)) for a, b, c, m, e, t in d["propensities"]]
        report(results, propensities)
        return
    quick = args.quick
    etas = [float(e) for e in (args.eta or ("1" if quick else "1,2")).split(",")]
    n_sessions = args.sessions or (200_000 if quick else 2_000_000)
    trees_arg, lr_arg = args.n_estimators, args.learning_rate
    methods = [m for m in args.methods.split(",") if m]
    unknown = set(methods) - set(ALL_METHODS)
    if unknown:
        ap.error(f"unknown methods {sorted(unknown)}; choose from {ALL_METHODS}")
    datasets = [d for d in args.data.split(",") if d]

    results = []  # (data, eta, fold, method, ndcg, seconds)
    propensities = []  # (data, eta, fold, method, estimate, truth)
    for data in datasets:
        if data == "mq2008" and not MQ2008.is_dir():
            print(f"[skip] {MQ2008} not found")
            continue
        if data == "generated":
            seeds = ([int(v) for v in args.seeds.split(",")] if args.seeds
                     else range(args.repeats or (1 if quick else 3)))
            folds = generated_folds(quick, seeds)
        else:
            folds = mq2008_folds(quick)
        # MQ2008 has ~470 training queries of ~19 documents: it overfits within ~100 trees at 0.1
        args.n_estimators = trees_arg or (60 if quick else (300 if data == "generated" else 150))
        args.learning_rate = lr_arg or (0.1 if data == "generated" else 0.05)
        for fold, train, test, max_grade in folds:
            X, y, q = train
            Xt, yt, qt = test
            for eta in etas:
                t0 = time.perf_counter()
                log = make_click_log(X, y, q, production_fraction=args.production_fraction, n_sessions=n_sessions,
                                     eta=eta, max_grade=max_grade, top_k=10,
                                     random_state=zlib.crc32(f"{data}/{fold}/{eta}".encode()),
                                     production_params=dict(n_estimators=100, learning_rate=0.1, n_jobs=args.n_jobs))
                agg = log.aggregated()
                prod = ndcg_score(yt, log.production_ranker.predict(Xt), qid=qt)
                n_imp = int(log.impressions().sum())
                print(f"\n== {data} {fold} eta={eta:g}: {log.n_lists} lists, {log.n_sessions} sessions, "
                      f"{n_imp} impressions, {len(agg)} aggregated rows, "
                      f"production NDCG@10 {prod:.4f} ({time.perf_counter() - t0:.1f}s)", flush=True)
                results.append((data, eta, fold, "production", prod, 0.0))
                # what the clicks alone allow: the exact IRW step at the TRUE relevance (no ranker)
                oracle = oracle_irw_propensity(log, agg)
                propensities.append((data, eta, fold, "irw_true_relevance", oracle, log.true_propensity()))
                print(f"   {'irw_true_rel':15s} max propensity rel. error "
                      f"{np.abs(oracle / log.true_propensity() - 1).max():.3f} (sampling noise only)", flush=True)
                for name in methods:
                    predict, prop, secs = fit_method(name, log, agg, train, args)
                    score = ndcg_score(yt, predict(Xt), qid=qt)
                    results.append((data, eta, fold, name, score, secs))
                    line = f"   {name:15s} NDCG@10 {score:.4f}  {secs:7.1f}s"
                    if prop is not None and name in PROPENSITY_METHODS:
                        truth = log.true_propensity()
                        err = np.abs(prop / truth - 1)
                        propensities.append((data, eta, fold, name, prop, truth))
                        line += f"  max propensity rel. error {err.max():.3f}"
                    print(line, flush=True)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps(dict(
            argv=sys.argv[1:] if argv is None else list(argv), results=results,
            propensities=[(a, b, c, m, [float(v) for v in e], [float(v) for v in t])
                          for a, b, c, m, e, t in propensities])))
    report(results, propensities)


def report(results, propensities):
    print("\n## NDCG@10 on the true labels (mean over folds; +- standard deviation)\n")
    keys = sorted({(r[0], r[1]) for r in results}, key=lambda k: (k[0], k[1]))
    methods = []
    for r in results:
        if r[3] not in methods:
            methods.append(r[3])
    header = "| method | " + " | ".join(f"{d} eta={e:g}" for d, e in keys) + " |"
    print(header)
    print("|" + "---|" * (len(keys) + 1))
    for m in methods:
        cells = []
        for d, e in keys:
            v = [r[4] for r in results if r[0] == d and r[1] == e and r[3] == m]
            cells.append("" if not v else (f"{np.mean(v):.4f}" + (f" +- {np.std(v):.4f}" if len(v) > 1 else "")))
        print(f"| {m} | " + " | ".join(cells) + " |")
    for d, e in keys:
        def mean(m):
            v = [r[4] for r in results if r[0] == d and r[1] == e and r[3] == m]
            return np.mean(v) if v else np.nan

        for dla in ("dla_softmax", "dla_lambdarank", "dla_yetirank", "dla_cross_fit", "dla_cross_fit_iterated"):
            if not np.isnan(mean(dla)):
                print(f"{d} eta={e:g} {dla}: - naive = {mean(dla) - mean('naive'):+.4f} (bar +0.01); "
                      f"/ skyline = {mean(dla) / mean('skyline'):.3f} (bar 0.95); "
                      f"/ full_info = {mean(dla) / mean('full_info'):.3f}")
    if propensities:
        print("\n## Estimated propensity relative to the truth: |estimate / true - 1| at positions 1..10 "
              "(mean over folds)\n")
        print("| data | eta | method | " + " | ".join(str(k) for k in range(1, 11)) + " | max |")
        print("|" + "---|" * 14)
        groups = {}
        for d, e, f, m, est, tr in propensities:
            groups.setdefault((d, e, m), []).append(np.abs(np.asarray(est)[: len(tr)] / tr - 1))
        for (d, e, m), errs in sorted(groups.items()):
            err = np.mean(errs, axis=0)
            print(f"| {d} | {e:g} | {m} | " + " | ".join(f"{v:.3f}" for v in err) + f" | {err.max():.3f} |")
        print("\nTrue propensities (relative to position 1):")
        seen = set()
        for d, e, f, m, est, tr in propensities:
            if e not in seen:
                seen.add(e)
                print(f"  eta={e:g}: " + " ".join(f"{v:.3f}" for v in tr))


if __name__ == "__main__":
    main()
