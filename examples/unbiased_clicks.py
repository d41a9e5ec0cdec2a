"""Learning to rank from position-biased clicks with DLA.

1. Make MSLR-shaped labelled data and hide the labels behind a click log:
   a production ranker trained on 1 % of the queries shows its top 10, and
   100k simulated users click by the position-based model (eta = 1).
2. Train on the clicks only: naive (clicks as labels); DLA, which learns
   the examination propensity of each position together with the ranker;
   and DLA with cross-fitted propensities,
   ``LambdaRanker(unbiased='dla', propensity_estimation='cross_fit')``:
   the propensities come first from relevance models that never saw a
   query's clicks and only compare documents shown at the same position
   (so they cannot memorise the position effect), then an IPW ranker is
   trained with them.
3. Score them on the true labels of unseen queries, and compare the learned
   propensities with the simulator's.

Usage
    python examples/unbiased_clicks.py [--queries 600] [--sessions 100000] [--eta 1] [--quick] [--output DIR]

The propensity table is also written to DIR/propensities.csv (a temporary
folder unless --output is given).
"""
import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ltr import LambdaRanker  # noqa: E402
from ltr.datasets import make_ranking  # noqa: E402
from ltr.metrics import ndcg_score  # noqa: E402
from ltr.unbiased import make_click_log  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=600, help="training queries (plus 200 test queries)")
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--eta", type=float, default=1.0, help="severity of the position bias")
    ap.add_argument("--trees", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="small data and few trees (for CI)")
    ap.add_argument("--output", type=Path, default=None, help="folder for propensities.csv (default: a temporary one)")
    args = ap.parse_args(argv)
    if args.quick:
        args.queries, args.sessions, args.trees = 100, 20_000, 15
    out = args.output or Path(tempfile.mkdtemp(prefix="ltr-unbiased-clicks-"))
    out.mkdir(parents=True, exist_ok=True)

    X, y, qid = make_ranking(n_queries=args.queries + 200, random_state=0)[:3]
    train = np.isin(qid, np.unique(qid)[: args.queries])
    X_test, y_test, q_test = X[~train], y[~train], qid[~train]

    log = make_click_log(X[train], y[train], qid[train], production_fraction=0.01, n_sessions=args.sessions,
                         eta=args.eta, random_state=0,
                         production_params=dict(n_estimators=20 if args.quick else 100))
    clicks = log.aggregated()  # one row per shown (query, document): click rate + impressions
    print(f"{log.n_sessions} sessions over {log.n_lists} queries -> {len(clicks)} training rows "
          f"({int(log.impressions().sum())} impressions)")
    print(f"production ranker NDCG@10: {ndcg_score(y_test, log.production_ranker.predict(X_test), qid=q_test):.4f}")

    fit = dict(qid=clicks.qid, sample_weight=clicks.sample_weight, position=clicks.position)
    naive = LambdaRanker(objective="ipw", n_estimators=args.trees, random_state=0).fit(clicks.X, clicks.y, **fit)
    dla = LambdaRanker(objective="softmax", unbiased="dla", n_estimators=args.trees, random_state=0)
    dla.fit(clicks.X, clicks.y, **fit)
    # one step: cross-fitted propensities, then an IPW ranker with them
    dla_cf = LambdaRanker(objective="softmax", unbiased="dla", propensity_estimation="cross_fit",
                          cross_fit_params=dict(ranker_params=dict(n_estimators=max(args.trees // 2, 10))),
                          n_estimators=args.trees, random_state=0)
    dla_cf.fit(clicks.X, clicks.y, **fit)
    for name, model in (("naive (clicks as labels)", naive), ("DLA", dla), ("DLA, cross-fitted", dla_cf)):
        print(f"{name:26s} NDCG@10 on true labels: {ndcg_score(y_test, model.predict(X_test), qid=q_test):.4f}")

    est = dla.propensity_
    cross = dla_cf.propensity_
    true = log.true_propensity()
    print("\nposition   true    DLA  cross-fit   rel. error (DLA, cross-fit)")
    rows = ["position,true,dla,cross_fit"]
    for k in range(len(true)):
        print(f"{k + 1:8d}  {true[k]:.3f}  {est[k]:.3f}  {cross[k]:.3f}      "
              f"{abs(est[k] / true[k] - 1):.3f}  {abs(cross[k] / true[k] - 1):.3f}")
        rows.append(f"{k + 1},{true[k]:.6f},{est[k]:.6f},{cross[k]:.6f}")
    (out / "propensities.csv").write_text("\n".join(rows) + "\n")
    print(f"\npropensities written to {out / 'propensities.csv'}")


if __name__ == "__main__":
    main()
