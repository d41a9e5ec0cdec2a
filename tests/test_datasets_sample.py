"""The bundled sample: loads from package data and is reproduced by datasets/make_sample.py."""
import importlib.util
from pathlib import Path

import numpy as np

from ltr.datasets import load_sample, load_svmlight

REPO = Path(__file__).resolve().parents[1]


def _make_sample_module():
    spec = importlib.util.spec_from_file_location("make_sample", REPO / "datasets" / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_load_sample_shapes():
    (X, y, qid), (Xt, yt, qt) = load_sample()
    assert X.dtype == np.float32 and X.shape[1] == Xt.shape[1] == 20
    assert np.unique(qid).size == 200 and np.unique(qt).size == 60
    assert not set(qid) & set(qt)
    assert set(np.unique(y)) <= {0, 1, 2, 3, 4} and y.dtype == np.float64
    assert np.all(np.diff(qid) >= 0) and np.all(np.diff(qt) >= 0)
    assert 0 < np.isnan(X).mean() < 0.05
    sizes = np.bincount(qid)[np.bincount(qid) > 0]
    assert sizes.min() >= 15 and sizes.max() <= 35
    assert load_sample(dtype=np.float64)[0][0].dtype == np.float64


def test_sample_files_are_small():
    total = sum((REPO / "ltr" / "data" / f"sample_{s}.svm.gz").stat().st_size for s in ("train", "test"))
    assert 100_000 < total < 500_000


def test_regenerating_gives_identical_arrays(tmp_path):
    module = _make_sample_module()
    module.main(["--out", str(tmp_path)])
    bundled = load_sample()
    for split, (X, y, qid) in zip(("train", "test"), bundled):
        X2, y2, q2 = load_svmlight(tmp_path / f"sample_{split}.svm.gz", n_features=20, zero_based=False)
        assert X.tobytes() == X2.tobytes()  # NaN positions included
        assert np.array_equal(y, y2) and np.array_equal(qid, q2)
    # and the generator itself (before writing) gives the same arrays
    for (X, y, qid), (Xg, yg, qg) in zip(bundled, module.make_sample()):
        assert np.array_equal(X, Xg, equal_nan=True) and np.array_equal(y, yg) and np.array_equal(qid, qg)
