"""Tune a ranker inside a scikit-learn Pipeline with GridSearchCV, split by query.

    python examples/grid_search_pipeline.py [--quick] [--output DIR]

The difficulty with rankers in scikit-learn is the query ids: every fold must
get the qid of its own rows, and folds must not cut a query in two.
scikit-learn's metadata routing does both:

* ``sklearn.set_config(enable_metadata_routing=True)`` switches routing on;
* ``LambdaRanker().set_fit_request(qid=True).set_score_request(qid=True)``
  asks for ``qid`` in ``fit`` and in ``score`` (mean NDCG@10 per query);
* ``GroupKFold`` receives ``groups=qid`` so that a query stays in one fold;
* ``gs.fit(X, y, groups=qid, qid=qid)``: the search slices qid per fold and
  passes it through the Pipeline to the ranker.

Files (the search results as CSV) are written only to DIR (default: a new
temporary directory).
"""
import argparse
import tempfile
from pathlib import Path

import numpy as np
import sklearn
from sklearn.feature_selection import VarianceThreshold
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from ltr import LambdaRanker
from ltr.datasets import load_sample
from ltr.metrics import ndcg_score


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny grid with few trees (for CI)")
    parser.add_argument("--output", type=Path, default=None, help="folder for the files (default: a temporary one)")
    args = parser.parse_args(argv)
    out = args.output or Path(tempfile.mkdtemp(prefix="ltr-grid-search-"))
    out.mkdir(parents=True, exist_ok=True)

    sklearn.set_config(enable_metadata_routing=True)
    (X, y, qid), (X_test, y_test, qid_test) = load_sample()

    ranker = LambdaRanker(n_estimators=10 if args.quick else 150, random_state=0)
    ranker.set_fit_request(qid=True).set_score_request(qid=True)
    pipe = Pipeline([
        ("drop_constant", VarianceThreshold()),  # any transformer works; the ranker comes last
        ("rank", ranker),
    ])
    if args.quick:
        grid = {"rank__num_leaves": [7, 15]}
    else:
        grid = {"rank__num_leaves": [7, 15, 31], "rank__learning_rate": [0.05, 0.1], "rank__min_child_samples": [10, 40]}
    search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=3), n_jobs=1)
    # groups -> GroupKFold (whole queries per fold); qid -> LambdaRanker.fit and .score
    search.fit(X, y, groups=qid, qid=qid)

    results = search.cv_results_
    for params, mean, std in zip(results["params"], results["mean_test_score"], results["std_test_score"]):
        print(f"{params}: NDCG@10 {mean:.4f} +- {std:.4f}")
    print(f"best: {search.best_params_} (cross-validated NDCG@10 {search.best_score_:.4f})")

    # The refitted best pipeline; score() routes qid the same way.
    test_score = search.score(X_test, y_test, qid=qid_test)
    check = ndcg_score(y_test, search.predict(X_test), qid=qid_test, k=10)
    assert np.isclose(test_score, check)
    print(f"test NDCG@10 of the best pipeline: {test_score:.4f}")

    import pandas as pd

    csv = out / "grid_search_results.csv"
    pd.DataFrame(results).drop(columns="params").to_csv(csv, index=False)
    print(f"files written to {out}")
    sklearn.set_config(enable_metadata_routing=False)


if __name__ == "__main__":
    main()
