"""Quickstart: train a ranker, measure it, save it, load it, export it.

    python examples/quickstart.py [--quick] [--output DIR]

Uses the small sample bundled with ltr (no download). Files are written only
to DIR (default: a new temporary directory, printed at the end).
"""
import argparse
import tempfile
from pathlib import Path

import numpy as np

from ltr import LambdaRanker
from ltr.datasets import load_sample
from ltr.metrics import ndcg_score


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few trees only (for CI)")
    parser.add_argument("--output", type=Path, default=None, help="folder for the files (default: a temporary one)")
    args = parser.parse_args(argv)
    out = args.output or Path(tempfile.mkdtemp(prefix="ltr-quickstart-"))
    out.mkdir(parents=True, exist_ok=True)

    # 1. Data: one row per (query, document); qid says which query a row belongs to.
    (X_train, y_train, qid_train), (X_test, y_test, qid_test) = load_sample()
    print(f"train: {X_train.shape[0]} rows, {np.unique(qid_train).size} queries, {X_train.shape[1]} features")

    # 2. Train LambdaMART. qid may be in any row order; predict needs no qid.
    ranker = LambdaRanker(n_estimators=10 if args.quick else 200, learning_rate=0.05, num_leaves=31,
                          random_state=0)
    ranker.fit(X_train, y_train, qid=qid_train)

    # 3. Measure: mean NDCG@10 over the test queries (LightGBM's conventions).
    scores = ranker.predict(X_test)
    print(f"test NDCG@10: {ndcg_score(y_test, scores, qid=qid_test, k=10):.4f}")
    print(f"same via score(): {ranker.score(X_test, y_test, qid=qid_test):.4f}")

    # 4. Rank the documents of one query, best first.
    q = qid_test[0]
    rows = np.flatnonzero(qid_test == q)
    order = rows[np.argsort(-scores[rows], kind="stable")]
    print(f"query {q}: labels of the top 5 documents = {y_test[order[:5]].astype(int).tolist()}")

    # 5. Save as versioned JSON (never pickle) and load: predictions are bit-identical.
    model_path = out / "model.json"
    ranker.save_model(model_path, overwrite=True)
    loaded = LambdaRanker.load_model(model_path)
    assert np.array_equal(loaded.predict(X_test), scores)
    print(f"saved and reloaded {model_path} ({model_path.stat().st_size} bytes): identical predictions")

    # 6. Export to LightGBM's text format, for serving stacks that read LightGBM models.
    from ltr.export import save_lightgbm_model

    lgb_path = out / "model_lightgbm.txt"
    save_lightgbm_model(ranker, lgb_path, overwrite=True)
    try:
        import lightgbm
    except ImportError:
        print(f"wrote {lgb_path} (install lightgbm to check it)")
    else:
        theirs = lightgbm.Booster(model_file=str(lgb_path)).predict(X_test, raw_score=True)
        print(f"LightGBM reads {lgb_path}: max |difference| = {np.max(np.abs(theirs - scores)):.3g}")
    print(f"files written to {out}")


if __name__ == "__main__":
    main()
