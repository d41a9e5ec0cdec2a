"""Prediction kernels: the chunked and row-wise kernels against a plain-Python tree walk."""
import numpy as np
import pytest

from ltr.predictor import PREDICT_CHUNK_NODES, Ensemble, Tree, tree_chunks


def _random_tree(rng, n_leaves, n_features, thresholds=None):
    """A leaf-wise grown tree in LightGBM's layout (internal nodes in split order, leaves as ``~leaf``)."""
    left, right, feature, threshold, missing_left = [], [], [], [], []
    parent_slot = {0: None}  # leaf -> (node, side) that points to it
    for k in range(n_leaves - 1):
        leaf = int(rng.integers(0, k + 1))  # leaves are 0 .. k
        new_leaf = k + 1
        slot = parent_slot[leaf]
        if slot is not None:
            (left if slot[1] == 0 else right)[slot[0]] = k
        left.append(~leaf)
        right.append(~new_leaf)
        parent_slot[leaf] = (k, 0)
        parent_slot[new_leaf] = (k, 1)
        feature.append(int(rng.integers(0, n_features)))
        if thresholds is None:
            threshold.append(float(rng.normal()))
        else:
            threshold.append(float(rng.choice(thresholds)))
        missing_left.append(int(rng.integers(0, 2)))
    n_int = n_leaves - 1
    return Tree(
        split_feature=feature, threshold_bin=np.zeros(n_int), threshold=threshold, missing_left=missing_left,
        left_child=left, right_child=right, split_gain=np.zeros(n_int), internal_value=np.zeros(n_int),
        internal_weight=np.zeros(n_int), internal_count=np.zeros(n_int),
        leaf_value=rng.normal(size=n_leaves), leaf_weight=np.ones(n_leaves), leaf_count=np.ones(n_leaves),
    )


def _reference_predict(trees, X, init_score):
    """Walk every row through every tree with Python control flow."""
    out = np.empty(X.shape[0])
    for i, x in enumerate(X):
        s = init_score
        for t in trees:
            if t.n_leaves == 1:
                s += t.leaf_value[0]
                continue
            node = 0
            while node >= 0:
                v = float(x[t.split_feature[node]])
                go_left = bool(t.missing_left[node]) if np.isnan(v) else v <= t.threshold[node]
                node = t.left_child[node] if go_left else t.right_child[node]
            s += t.leaf_value[~node]
        out[i] = s
    return out


def _data(rng, n_rows, n_features, dtype):
    X = rng.normal(size=(n_rows, n_features))
    X[rng.random(X.shape) < 0.1] = np.nan
    X[rng.random(X.shape) < 0.02] = np.inf
    X[rng.random(X.shape) < 0.02] = -np.inf
    return np.ascontiguousarray(X, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernels_match_reference_walk(dtype):
    rng = np.random.default_rng(0)
    n_features = 7
    trees = [_random_tree(rng, int(m), n_features) for m in rng.integers(1, 40, size=25)]
    trees.append(_random_tree(rng, 1, n_features))  # a single-leaf tree in the middle of the list
    trees += [_random_tree(rng, 64, n_features) for _ in range(3)]
    X = _data(rng, 401, n_features, dtype)
    ens = Ensemble(trees)
    expected = _reference_predict(trees, X, 0.25)
    # bit-identical: same leaves, values summed in tree order
    np.testing.assert_array_equal(ens.predict_raw(X, 0.25), expected)
    np.testing.assert_array_equal(ens.predict_raw_rowwise(X, 0.25), expected)
    # several chunks (a 63-node tree is a chunk of its own) and a partial last block
    chunks = tree_chunks(ens.node_offset, 60)
    assert 5 < chunks.shape[0] - 1 < len(trees)
    for block_rows in (1, 32, 1000):
        out = np.full(X.shape[0], np.nan)
        ens.predict_raw_chunked(X, 0.25, ens.n_trees, out, chunks, block_rows)
        np.testing.assert_array_equal(out, expected)
    for n in (0, 3, 27):  # stopping inside a chunk
        out = np.empty(X.shape[0])
        ens.predict_raw_chunked(X, 0.25, n, out, chunks, 32)
        np.testing.assert_array_equal(out, _reference_predict(trees[:n], X, 0.25))


def test_large_forest_uses_chunks_and_matches_reference():
    rng = np.random.default_rng(6)
    trees = [_random_tree(rng, 255, 5) for _ in range(2 * PREDICT_CHUNK_NODES // 254 + 3)]
    ens = Ensemble(trees)
    assert ens.tree_chunks.shape[0] - 1 >= 3
    X = _data(rng, 60, 5, np.float32)
    np.testing.assert_array_equal(ens.predict_raw(X, 0.0), _reference_predict(trees, X, 0.0))
    np.testing.assert_array_equal(ens.predict_raw(X, 0.0, n_trees=20), _reference_predict(trees[:20], X, 0.0))


def test_tree_chunks():
    node_offset = np.cumsum([0, 3, 3, 3, 10, 1, 0, 2])  # internal nodes per tree: 3 3 3 10 1 0 2
    np.testing.assert_array_equal(tree_chunks(node_offset, 6), [0, 2, 3, 4, 7])
    np.testing.assert_array_equal(tree_chunks(node_offset, 100), [0, 7])
    np.testing.assert_array_equal(tree_chunks(np.zeros(1, dtype=np.int64), 6), [0, 0])


def test_thresholds_compare_exactly_and_ties_go_left():
    # Values equal to a threshold go left; float32 inputs compare against the
    # float64 threshold without rounding the threshold.
    rng = np.random.default_rng(1)
    th = np.array([0.1, np.float32(0.1), 1.0, -2.5, np.nextafter(1.0, 2.0)])
    trees = [_random_tree(rng, 31, 3, thresholds=th) for _ in range(20)]
    X = rng.choice(np.r_[th, np.nextafter(th, -np.inf), np.nextafter(th, np.inf), np.nan], size=(500, 3))
    ens = Ensemble(trees)
    np.testing.assert_array_equal(ens.predict_raw(X, 0.0), _reference_predict(trees, X, 0.0))
    X32 = X.astype(np.float32)
    np.testing.assert_array_equal(ens.predict_raw(X32, 0.0), _reference_predict(trees, X32, 0.0))


def test_first_n_trees_and_out_argument():
    rng = np.random.default_rng(2)
    trees = [_random_tree(rng, 15, 4) for _ in range(10)]
    X = _data(rng, 300, 4, np.float64)
    ens = Ensemble(trees)
    for n in (0, 1, 4, 10, 99):
        expected = _reference_predict(trees[:n], X, -1.0)
        np.testing.assert_array_equal(ens.predict_raw(X, -1.0, n_trees=n), expected)
    out = np.full(X.shape[0], 7.0)
    assert ens.predict_raw(X, 0.0, out=out) is out
    np.testing.assert_array_equal(out, _reference_predict(trees, X, 0.0))


def test_degenerate_inputs():
    rng = np.random.default_rng(3)
    X = _data(rng, 5, 2, np.float64)
    np.testing.assert_array_equal(Ensemble([]).predict_raw(X, 1.5), np.full(5, 1.5))
    stumps = [_random_tree(rng, 1, 2), _random_tree(rng, 1, 2)]  # single-leaf trees only
    np.testing.assert_array_equal(Ensemble(stumps).predict_raw(X, 0.5), _reference_predict(stumps, X, 0.5))
    assert Ensemble([_random_tree(rng, 5, 2)]).predict_raw(np.empty((0, 2)), 0.0).shape == (0,)


def test_pickle_round_trip_and_old_pickles():
    import pickle

    rng = np.random.default_rng(5)
    trees = [_random_tree(rng, 9, 3) for _ in range(4)]
    X = _data(rng, 50, 3, np.float64)
    ens = Ensemble(trees)
    before = ens.predict_raw(X, 0.0)
    copy = pickle.loads(pickle.dumps(ens))
    np.testing.assert_array_equal(copy.predict_raw(X, 0.0), before)
    # A pickle from before the chunked kernel: a cached "_packed" entry and no chunks.
    old = Ensemble.__new__(Ensemble)
    state = {k: v for k, v in ens.__dict__.items() if k != "tree_chunks"}
    state["_packed"] = None
    old.__setstate__(state)
    assert not hasattr(old, "_packed")
    np.testing.assert_array_equal(old.predict_raw(X, 0.0), before)
