"""The small bundled sample data set (package data, made by ``make_ranking``).

``ltr/data/sample_train.svm.gz`` and ``ltr/data/sample_test.svm.gz`` are
written by ``datasets/make_sample.py`` with a fixed seed: 200 + 60 queries of
15-35 documents with 20 MSLR-like features (grades 0..4, a few NaN).
They are what the examples, the README and the ``ltr`` command line use when
no data is given, so everything runs offline.
"""
import gzip
from importlib import resources

import numpy as np

from ._io import read_bytes
from ._svmlight import parse_svmlight_bytes

SAMPLE_FILES = {"train": "sample_train.svm.gz", "test": "sample_test.svm.gz"}
#: Number of columns of the sample (the last ones may be all zero in a split).
SAMPLE_N_FEATURES = 20


def sample_path(split):
    """Path-like resource of one split of the bundled sample ("train" or "test")."""
    if split not in SAMPLE_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return resources.files("ltr") / "data" / SAMPLE_FILES[split]


def load_sample(*, dtype=np.float32):
    """Load the bundled sample: ``((X_train, y_train, qid_train), (X_test, y_test, qid_test))``.

    X is dense (``dtype``, 20 columns, NaN where a feature is missing), y the
    grades 0..4 as float64, qid int64 with the rows of a query contiguous.
    Reads package data only; writes nothing.
    """
    out = []
    for split in ("train", "test"):
        res = sample_path(split)
        with res.open("rb") as f:
            raw = f.read()
        buf = read_bytes(gzip.decompress(raw))
        X, y, qid, _ = parse_svmlight_bytes(buf, name=f"ltr/data/{SAMPLE_FILES[split]}",
                                            n_features=SAMPLE_N_FEATURES, dtype=dtype, zero_based=False)
        out.append((X, y, qid))
    return tuple(out)
