"""Prediction kernels: the block kernel against a plain-Python tree walk and the row-wise kernel."""
import numpy as np
import pytest

from ltr.predictor import PREDICT_BLOCK_ROWS, Ensemble, PackedForest, Tree


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
def test_block_kernel_matches_reference_walk(dtype):
    rng = np.random.default_rng(0)
    n_features = 7
    trees = [_random_tree(rng, int(m), n_features) for m in rng.integers(1, 40, size=25)]
    trees.append(_random_tree(rng, 1, n_features))  # a single-leaf tree in the middle of the list
    trees += [_random_tree(rng, 64, n_features) for _ in range(3)]
    # row count not a multiple of the block: a partial last block
    X = _data(rng, 3 * PREDICT_BLOCK_ROWS + 17, n_features, dtype)
    ens = Ensemble(trees)
    ours = ens.predict_raw(X, 0.25)
    # bit-identical: same leaves, values summed in tree order
    np.testing.assert_array_equal(ours, _reference_predict(trees, X, 0.25))
    np.testing.assert_array_equal(ours, ens.predict_raw_rowwise(X, 0.25))


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


def test_packed_layout():
    # Two trees: internal nodes first, then leaves; leaves point to themselves.
    rng = np.random.default_rng(4)
    trees = [_random_tree(rng, 3, 2), _random_tree(rng, 2, 2)]
    p = PackedForest(Ensemble(trees))
    np.testing.assert_array_equal(p.root, [0, 5, 8])
    np.testing.assert_array_equal(p.n_internal, [2, 1])
    leaves = [2, 3, 4, 6, 7]
    np.testing.assert_array_equal(p.children.reshape(-1, 2)[leaves], np.c_[leaves, leaves])
    assert np.all(np.isinf(p.threshold[leaves])) and np.all(p.nan_right[leaves] == 0)
    np.testing.assert_array_equal(p.value[leaves], np.r_[trees[0].leaf_value, trees[1].leaf_value])
    np.testing.assert_array_equal(p.nan_right[[0, 1, 5]], np.r_[trees[0].missing_left == 0, trees[1].missing_left == 0])


def test_pickle_drops_the_packed_layout_and_rebuilds_it():
    import pickle

    rng = np.random.default_rng(5)
    trees = [_random_tree(rng, 9, 3) for _ in range(4)]
    X = _data(rng, 50, 3, np.float64)
    ens = Ensemble(trees)
    before = ens.predict_raw(X, 0.0)
    assert ens._packed is not None
    copy = pickle.loads(pickle.dumps(ens))
    assert copy._packed is None
    np.testing.assert_array_equal(copy.predict_raw(X, 0.0), before)
