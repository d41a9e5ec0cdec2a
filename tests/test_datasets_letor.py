"""load_letor_fold: the 5-fold protocol on S1..S5, Fold directories, flat splits."""
import gzip

import numpy as np
import pytest
from sklearn.datasets import load_svmlight_file

from ltr.datasets import dump_svmlight, load_letor_fold, load_svmlight
from ltr.datasets._letor import FOLD_PARTITIONS

# The protocol written out independently of the module's table.
PROTOCOL = {1: ([1, 2, 3], 4, 5), 2: ([2, 3, 4], 5, 1), 3: ([3, 4, 5], 1, 2), 4: ([4, 5, 1], 2, 3),
            5: ([5, 1, 2], 3, 4)}


def test_protocol_table():
    assert {k: (list(t), v, te) for k, (t, v, te) in FOLD_PARTITIONS.items()} == PROTOCOL


@pytest.fixture(scope="module")
def mq2008_parts(shared_datasets):
    root = shared_datasets / "mq2008"
    out = {}
    for k in range(1, 6):
        X, y, q = load_svmlight_file(str(root / f"S{k}.txt"), query_id=True, dtype=np.float32, n_features=46)
        out[k] = (X.toarray(), y, q)
    return root, out


@pytest.mark.parametrize("fold", [1, 2, 3, 4, 5])
def test_mq2008_folds_match_sklearn(mq2008_parts, fold):
    root, parts = mq2008_parts
    f = load_letor_fold(root, fold)
    assert f.layout == "partitions" and f.fold == fold
    train, vali, test = PROTOCOL[fold]
    for split, ids in (("train", train), ("valid", [vali]), ("test", [test])):
        X, y, q = getattr(f, split)
        assert X.shape[1] == 46 and X.dtype == np.float32
        assert np.array_equal(X, np.vstack([parts[k][0] for k in ids]))
        assert np.array_equal(y, np.concatenate([parts[k][1] for k in ids]))
        assert np.array_equal(q, np.concatenate([parts[k][2] for k in ids]))
    # every query is in exactly one split
    assert not set(f.train.qid) & set(f.test.qid)
    assert not set(f.valid.qid) & set(f.test.qid)


def test_mq2008_counts(mq2008_parts):
    root, _ = mq2008_parts
    f = load_letor_fold(root, 1)
    n_rows = f.train.X.shape[0] + f.valid.X.shape[0] + f.test.X.shape[0]
    n_queries = sum(np.unique(s.qid).size for s in (f.train, f.valid, f.test))
    assert (n_rows, n_queries) == (15211, 784)  # published MQ2008 totals


def test_mq2008_sparse_and_cache(mq2008_parts, tmp_path):
    root, parts = mq2008_parts
    f = load_letor_fold(root, 2, dense=False, cache_dir=tmp_path / "cache")
    g = load_letor_fold(root, 2, dense=False, cache_dir=tmp_path / "cache")
    assert np.array_equal(f.train.X.toarray(), np.vstack([parts[k][0] for k in (2, 3, 4)]))
    assert np.array_equal(g.test.X.toarray(), parts[1][0])
    assert len(list((tmp_path / "cache").iterdir())) == 5  # each partition cached once


def _write_fold_layout(root, rng, n_features=7, gz=False):
    """Fold1..Fold5 with train/vali/test; returns the arrays written."""
    written = {}
    for fold in range(1, 6):
        d = root / f"Fold{fold}"
        d.mkdir(parents=True)
        for name in ("train", "vali", "test"):
            n_q = 4
            sizes = rng.integers(2, 6, n_q)
            X = rng.normal(size=(sizes.sum(), n_features)).astype(np.float32)
            X[rng.random(X.shape) < 0.3] = 0
            X[:, -1] = 1.0  # keeps the width at n_features in every file
            y = rng.integers(0, 3, sizes.sum())
            qid = np.repeat(np.arange(n_q) + 100 * fold, sizes)
            path = d / (f"{name}.txt.gz" if gz else f"{name}.txt")
            dump_svmlight(X, y, path, qid=qid)
            written[(fold, name)] = (X, y, qid)
    return written


@pytest.mark.parametrize("gz", [False, True])
def test_fold_directories(tmp_path, gz):
    rng = np.random.default_rng(0)
    written = _write_fold_layout(tmp_path, rng, gz=gz)
    for fold in (1, 4):
        f = load_letor_fold(tmp_path, fold)
        assert f.layout == "folds"
        for split, name in (("train", "train"), ("valid", "vali"), ("test", "test")):
            X, y, q = getattr(f, split)
            Xw, yw, qw = written[(fold, name)]
            assert np.array_equal(X, Xw) and np.array_equal(y, yw) and np.array_equal(q, qw)


def test_flat_layout_without_validation(tmp_path):
    X = np.eye(4, dtype=np.float32)
    dump_svmlight(X, [1, 0, 1, 0], tmp_path / "train.txt", qid=[1, 1, 2, 2])
    dump_svmlight(X[:2], [1, 0], tmp_path / "test.txt", qid=[3, 3])
    f = load_letor_fold(tmp_path)
    assert f.layout == "flat" and f.valid is None
    assert f.test.X.shape == (2, 4)  # widened to the training width
    with pytest.raises(ValueError, match="fold must be 1"):
        load_letor_fold(tmp_path, fold=2)


def test_widths_agree_and_n_features(tmp_path):
    for k in range(1, 6):
        X = np.zeros((2, 3 + k), dtype=np.float32)
        X[:, -1] = k
        dump_svmlight(X, [1, 0], tmp_path / f"S{k}.txt", qid=[k, k])
    f = load_letor_fold(tmp_path, 1)
    assert f.train.X.shape[1] == f.valid.X.shape[1] == f.test.X.shape[1] == 8
    assert load_letor_fold(tmp_path, 1, n_features=10).test.X.shape == (2, 10)
    with pytest.raises(ValueError, match="too small"):
        load_letor_fold(tmp_path, 1, n_features=5)


def test_zero_based_auto_is_joint(tmp_path):
    # S1 uses index 0, the others do not: "auto" must read all files zero-based.
    for k in range(1, 6):
        line = b"1 qid:%d 0:5 2:1\n" % k if k == 1 else b"1 qid:%d 1:2 2:1\n" % k
        (tmp_path / f"S{k}.txt").write_bytes(line)
    f = load_letor_fold(tmp_path, 1, zero_based="auto")
    assert f.train.X.tolist() == [[5, 0, 1], [0, 2, 1], [0, 2, 1]]
    with pytest.raises(ValueError, match="feature index 0 in a one-based file"):
        load_letor_fold(tmp_path, 1)  # LETOR default: one-based
    for k in range(1, 6):
        (tmp_path / f"S{k}.txt").write_bytes(b"1 qid:%d 1:2 2:1\n" % k)
    assert load_letor_fold(tmp_path, 1, zero_based="auto").test.X.tolist() == [[2, 1]]


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no LETOR layout found"):
        load_letor_fold(tmp_path)
    with pytest.raises(ValueError, match="fold must be one of"):
        load_letor_fold(tmp_path, fold=6)
    (tmp_path / "S1.txt").write_bytes(b"1 qid:1 1:1\n")
    with pytest.raises(FileNotFoundError, match="missing S2.txt"):
        load_letor_fold(tmp_path)
