"""The compiled tree grower against the Python one: the same trees and row partitions, bit for bit.

`TreeGrower` grows trees on a `LocalRowSet` in one compiled call
(`ltr._grow_compiled.grow_tree`); the Python loop remains for distributed
row sets and as the reference here.
"""
import numba
import numpy as np
import pytest

from ltr._rowset import LocalRowSet
from ltr.binning import BinMapper
from ltr.grower import TreeGrower, TreeParams
from ltr.predictor import _LEAF_ARRAYS, _TREE_ARRAYS


def _problem(seed, n=3000, F=9, nan_rate=0.1, n_values=None):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, F))
    if n_values:
        X = np.round(X * n_values) / n_values  # few distinct values: ties, empty bins
    X[rng.random((n, F)) < nan_rate] = np.nan
    g = rng.normal(size=n) + np.nan_to_num(X[:, 0])
    h = rng.random(n) + 0.05
    h[rng.random(n) < 0.1] = 0.0  # rows without curvature (LambdaMART's all-equal queries)
    return X, g, h


def _grow(X, g, h, params, mask, compiled, max_bin=63):
    bm = BinMapper(max_bin=max_bin).fit(X)
    Xb = bm.transform(X)
    rowset = LocalRowSet(Xb, bm.missing_bin_)
    grower = TreeGrower(X.shape[1], bm, params, hist_width=rowset.HIST_WIDTH)
    grower.use_compiled = compiled
    rowset.start_tree(np.arange(X.shape[0], dtype=np.int32), g, h)
    tree = grower.grow(rowset, mask)
    n_leaves = tree.n_leaves
    parts = [rowset.rows[rowset.start[l]:rowset.end[l]].copy() for l in range(n_leaves)]
    return tree, parts


CASES = [
    dict(num_leaves=31),
    dict(num_leaves=255, min_child_samples=1, min_child_weight=0.0),
    dict(num_leaves=64, max_depth=4, reg_lambda=2.0),
    dict(num_leaves=40, reg_alpha=0.7, reg_lambda=0.3, min_split_gain=0.5),
    dict(num_leaves=20, min_child_samples=200),
    dict(num_leaves=2),
    dict(num_leaves=1),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("threads", [1, 2])
def test_compiled_grower_equals_python_grower(case, threads):
    params = TreeParams(learning_rate=0.3, **CASES[case])
    prev = numba.get_num_threads()
    try:
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        for seed, kw in ((case, {}), (case + 100, dict(n_values=3, nan_rate=0.3))):
            X, g, h = _problem(seed, **kw)
            mask = np.ones(X.shape[1], np.uint8)
            if seed % 2:
                mask[[1, 4]] = 0
            ref, ref_parts = _grow(X, g, h, params, mask, compiled=False)
            new, new_parts = _grow(X, g, h, params, mask, compiled=True)
            assert ref.n_leaves == new.n_leaves
            for name in list(_TREE_ARRAYS) + list(_LEAF_ARRAYS):
                a, b = getattr(ref, name), getattr(new, name)
                assert a.dtype == b.dtype and np.array_equal(a, b), name
            for a, b in zip(ref_parts, new_parts):
                assert np.array_equal(a, b)
    finally:
        numba.set_num_threads(prev)


def _mirrored_problem(seed, n=1500, F=6):
    """Two halves told apart by feature 0 with mirrored gradients: every split of one has a twin of equal gain."""
    rng = np.random.default_rng(seed)
    Xa = np.round(rng.normal(size=(n, F)), 1)
    ga = np.round(rng.normal(size=n), 1) + 2.0
    ha = rng.choice([0.5, 1.0], n)
    X = np.vstack([Xa, Xa])
    X[:n, 0], X[n:, 0] = -5.0, 5.0
    g = np.concatenate([ga, -ga])  # gains depend on g^2: the halves tie exactly
    h = np.concatenate([ha, ha])
    return X, g, h


def _zero_gradient_problem(seed):
    """Rows with h > 0 and g = 0: every split of a node of such rows has gain exactly 0 (= min_split_gain)."""
    X, g, h = _problem(seed, nan_rate=0.0)
    flat = X[:, 0] < 2.3  # all but ~1% of the rows: growth runs out of positive gains
    g[flat] = 0.0
    h[flat] = 1.0
    return X, g, h


@pytest.mark.parametrize("make", [_mirrored_problem, _zero_gradient_problem])
def test_compiled_grower_breaks_ties_and_admits_gains_as_python(make):
    """Equal-gain leaves go lowest id first; a gain equal to min_split_gain is not a split."""
    X, g, h = make(3)
    params = TreeParams(num_leaves=60, min_child_samples=20)
    mask = np.ones(X.shape[1], np.uint8)
    ref, ref_parts = _grow(X, g, h, params, mask, compiled=False)
    new, new_parts = _grow(X, g, h, params, mask, compiled=True)
    if make is _zero_gradient_problem:
        assert ref.n_leaves < params.num_leaves  # stopped by the gain rule, not by the leaf budget
    for name in list(_TREE_ARRAYS) + list(_LEAF_ARRAYS):
        assert np.array_equal(getattr(ref, name), getattr(new, name)), name
    for a, b in zip(ref_parts, new_parts):
        assert np.array_equal(a, b)


def test_compiled_grower_grows_the_requested_leaves():
    X, g, h = _problem(7)
    tree, parts = _grow(X, g, h, TreeParams(num_leaves=50, min_child_samples=5), np.ones(9, np.uint8), True)
    assert tree.n_leaves == 50
    assert sum(p.size for p in parts) == X.shape[0]
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(X.shape[0]))
    assert np.array_equal(tree.leaf_count, [p.size for p in parts])
