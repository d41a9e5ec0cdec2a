"""Write the bundled sample data set ``ltr/data/sample_{train,test}.svm.gz``.

Usage (from the repository root)::

    python datasets/make_sample.py            # writes ltr/data/
    python datasets/make_sample.py --out DIR  # writes elsewhere (e.g. to compare)

The data come from :func:`ltr.datasets.make_ranking` with a fixed seed:
260 queries of 15-35 documents, 20 features (all kinds: informative,
redundant, query-level, noise), grades 0..4 in the MSLR-like mix, 1 % NaN.
The first 200 queries form the training split, the last 60 the test split.
Values are rounded to 3 significant digits to keep the files small (about
0.3 MB together); the gzip streams carry no timestamp or name, so running the
script again reproduces the files byte for byte.
"""
import argparse
from pathlib import Path
import sys

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ltr.datasets import dump_svmlight, make_ranking  # noqa: E402

SEED = 20240601
N_TRAIN_QUERIES = 200
N_TEST_QUERIES = 60
N_FEATURES = 20


def round_significant(X, digits=3):
    """Round to ``digits`` significant digits (NaN and 0 unchanged), in float32."""
    X = X.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.where(np.isfinite(X) & (X != 0), np.floor(np.log10(np.abs(X))), 0)
    scale = 10.0 ** (digits - 1 - mag)
    return (np.round(X * scale) / scale).astype(np.float32)


def make_sample():
    """(train, test) triples of the bundled sample."""
    X, y, qid = make_ranking(
        N_TRAIN_QUERIES + N_TEST_QUERIES, docs_per_query=(15, 35), n_features=N_FEATURES, random_state=SEED
    )
    X = round_significant(X)
    train = qid <= N_TRAIN_QUERIES
    return (X[train], y[train], qid[train]), (X[~train], y[~train], qid[~train])


def main(argv=None):
    """Write the two sample files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "ltr" / "data", help="output directory")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    comment = (
        "ltr bundled sample ({split}): make_ranking(260 queries, docs_per_query=(15, 35), n_features=20, "
        f"random_state={SEED}), values rounded to 3 significant digits; written by datasets/make_sample.py"
    )
    for split, (X, y, qid) in zip(("train", "test"), make_sample()):
        path = args.out / f"sample_{split}.svm.gz"
        dump_svmlight(X, y, path, qid=qid, comment=comment.format(split=split))
        print(f"{path}: {X.shape[0]} rows, {np.unique(qid).size} queries, {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
