"""Early stopping on validation NDCG@10, then learning curves and feature importance plots.

    python examples/early_stopping_plots.py [--quick] [--output DIR]

A validation set is split off the training queries (whole queries, never
half a query), training stops when its NDCG@10 has not improved for
``early_stopping_rounds`` trees, and ``predict`` then uses the best
iteration. ``ltr.plotting.plot_metric`` draws the curves recorded in
``evals_result_`` and ``plot_importance`` the features the model splits on.
The figure is written only to DIR (default: a new temporary directory).
"""
import argparse
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, open no window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.model_selection import GroupShuffleSplit  # noqa: E402

from ltr import LambdaRanker  # noqa: E402
from ltr.datasets import load_sample  # noqa: E402
from ltr.plotting import plot_importance, plot_metric  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trees (for CI)")
    parser.add_argument("--output", type=Path, default=None, help="folder for the files (default: a temporary one)")
    args = parser.parse_args(argv)
    out = args.output or Path(tempfile.mkdtemp(prefix="ltr-early-stopping-"))
    out.mkdir(parents=True, exist_ok=True)

    (X, y, qid), (X_test, y_test, qid_test) = load_sample()
    # 20% of the training queries for validation
    train_rows, valid_rows = next(GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=0).split(X, y, qid))

    # Early stopping watches ndcg@{eval_at[0]} on the (last) eval set.
    ranker = LambdaRanker(n_estimators=40 if args.quick else 1000, learning_rate=0.3 if args.quick else 0.05,
                          eval_at=(10,), early_stopping_rounds=5 if args.quick else 50, random_state=0)
    ranker.fit(X[train_rows], y[train_rows], qid=qid[train_rows],
               eval_set=[(X[valid_rows], y[valid_rows])], eval_qid=[qid[valid_rows]])
    print(f"trees built: {ranker.n_iter_}, best iteration: {ranker.best_iteration_}")
    print(f"validation NDCG@10 at the best iteration: {ranker.best_score_['valid_0']['ndcg@10']:.4f}")
    print(f"test NDCG@10 with the best iteration: {ranker.score(X_test, y_test, qid=qid_test):.4f}")

    fig, (ax_curve, ax_imp) = plt.subplots(1, 2, figsize=(12, 4.5))
    plot_metric(ranker, "ndcg@10", ax=ax_curve, title="NDCG@10 per tree")
    plot_importance(ranker, importance_type="gain", max_num_features=10, ax=ax_imp,
                    title="Feature importance (total gain)")
    fig.tight_layout()
    path = out / "early_stopping.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"figure written to {path}")
    assert np.isfinite(ranker.evals_result_["valid_0"]["ndcg@10"]).all()


if __name__ == "__main__":
    main()
