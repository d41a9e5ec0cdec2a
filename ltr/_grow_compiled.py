"""Leaf-wise growth of a whole tree in one compiled call (rows held in this process).

`grower.TreeGrower` grows a tree in Python, asking a row set for histograms
and partitions one call at a time; that keeps one grower for single-process
and distributed training. With a `LocalRowSet` every one of those calls is
a Numba kernel, and a 255-leaf tree makes about 1,300 of them from Python:
dispatch and bookkeeping cost 10-15% of the tree at two threads. Here the
loop over splits runs in compiled code and calls the same kernels
(`build_histogram_with_scratch`, `partition_rows_column`,
`subtract_and_find_splits`, `leaf_output`) with the same arguments in the
same order, so the tree is identical to the Python grower's, split for
split and bit for bit (tested in `tests/test_grower.py`).

The root's histogram and sums are computed by the caller (NumPy's pairwise
sums, as the Python grower does), so both growers start from the same
numbers.
"""
import numpy as np
from numba import njit

from ._dtypes import NJIT_DIV
from ._histogram import build_histogram_with_scratch
from ._splitting import (BIN, FEATURE, GAIN, LEFT_C, LEFT_G, LEFT_H, MISSING_LEFT, SPLIT_RECORD_SIZE,
                         find_best_split, leaf_output, partition_rows_column, subtract_and_find_splits)

# Columns of the integer and float node outputs of `grow_tree`.
N_FEATURE, N_BIN, N_MISSING_LEFT, N_LEFT, N_RIGHT = range(5)
N_GAIN, N_VALUE, N_WEIGHT, N_COUNT = range(4)


@njit(**NJIT_DIV)
def _can_split(count, depth, max_depth, min_child_samples):
    if max_depth > 0 and depth >= max_depth:
        return False
    return count >= 2 * min_child_samples and count >= 2


@njit(**NJIT_DIV)
def _admit(gain, min_split_gain):
    return gain > min_split_gain and np.isfinite(gain)


@njit(**NJIT_DIV)
def grow_tree(X_binned, X_columns, rows, buffer, grad, hess, features, feature_mask, n_bins_non_missing,
              missing_bin, hist_pool, scratch, n_threads, root_sums, num_leaves, max_depth, min_child_samples,
              min_child_weight, min_split_gain, alpha, lam, learning_rate, leaf_start, leaf_end, node_int,
              node_float, leaf_float):
    """Grow one tree whose root histogram is already in ``hist_pool[0]``.

    Parameters
    ----------
    X_binned, X_columns : binned rows (row-major) and their column-major copy
    rows : int32 array, the tree's rows (increasing); partitioned in place
    buffer : int32 array of len(rows) or more, partition scratch
    grad, hess, features, feature_mask, n_bins_non_missing, missing_bin
        As for the histogram and split kernels.
    hist_pool : (num_leaves, n_features, n_bins, 3 or 4) histograms, slot 0 the root's
    scratch : float64 block-histogram scratch, large enough for the root
    n_threads : int
    root_sums : (3,) sum g, sum h, count of the root
    num_leaves, max_depth, min_child_samples, min_child_weight, min_split_gain, alpha, lam, learning_rate
        `grower.TreeParams`.
    leaf_start, leaf_end : int64 (num_leaves,) (OUT)
        Leaf l owns ``rows[leaf_start[l]:leaf_end[l]]``.
    node_int : int64 (num_leaves - 1, 5) (OUT)
        split_feature, threshold_bin, missing_left, left_child, right_child
        (``~leaf`` for a leaf, as in `predictor.Tree`).
    node_float : float64 (num_leaves - 1, 4) (OUT)
        split_gain, internal_value, internal_weight, internal_count.
    leaf_float : float64 (num_leaves, 3) (OUT)
        leaf_value (times the learning rate), leaf_weight, leaf_count.

    Returns
    -------
    int : the number of leaves grown.
    """
    L = num_leaves
    leaf_g = np.empty(L)
    leaf_h = np.empty(L)
    leaf_c = np.empty(L)
    leaf_depth = np.zeros(L, dtype=np.int64)
    leaf_slot = np.zeros(L, dtype=np.int64)
    leaf_parent = np.full(L, -1, dtype=np.int64)
    leaf_side = np.zeros(L, dtype=np.int64)
    leaf_gain = np.full(L, -np.inf)
    leaf_rec = np.empty((L, SPLIT_RECORD_SIZE))
    sums = np.empty((2, 3))
    flags = np.empty(2, dtype=np.uint8)
    records = np.empty((2, SPLIT_RECORD_SIZE))

    leaf_g[0], leaf_h[0], leaf_c[0] = root_sums[0], root_sums[1], root_sums[2]
    leaf_start[0] = 0
    leaf_end[0] = rows.shape[0]
    n_leaves = 1
    if _can_split(leaf_c[0], 0, max_depth, min_child_samples) and L > 1:
        gain = find_best_split(hist_pool[0], n_bins_non_missing, missing_bin, feature_mask, leaf_g[0], leaf_h[0],
                               leaf_c[0], min_child_samples, min_child_weight, alpha, lam, records[0])
        if _admit(gain, min_split_gain):
            leaf_gain[0] = gain
            leaf_rec[0] = records[0]

    n_nodes = 0
    while n_leaves < L:
        # the leaf of largest gain; the lowest id on ties (as the Python grower's list scan)
        best = -1
        best_gain = -np.inf
        for l in range(n_leaves):
            if leaf_gain[l] > best_gain:
                best = l
                best_gain = leaf_gain[l]
        if best < 0:
            break
        feature = int(leaf_rec[best, FEATURE])
        bin_idx = int(leaf_rec[best, BIN])
        miss_left = leaf_rec[best, MISSING_LEFT] != 0.0
        right_id = n_leaves
        a = leaf_start[best]
        e = leaf_end[best]
        mid = partition_rows_column(X_columns[feature], rows, a, e, bin_idx, miss_left, missing_bin, buffer,
                                    n_threads)
        leaf_end[best] = mid
        leaf_start[right_id] = mid
        leaf_end[right_id] = e

        k = n_nodes
        n_nodes += 1
        node_int[k, N_FEATURE] = feature
        node_int[k, N_BIN] = bin_idx
        node_int[k, N_MISSING_LEFT] = 1 if miss_left else 0
        node_int[k, N_LEFT] = ~best
        node_int[k, N_RIGHT] = ~right_id
        node_float[k, N_GAIN] = leaf_rec[best, GAIN]
        node_float[k, N_VALUE] = leaf_output(leaf_g[best], leaf_h[best], alpha, lam) * learning_rate
        node_float[k, N_WEIGHT] = leaf_h[best]
        node_float[k, N_COUNT] = leaf_c[best]
        if leaf_parent[best] >= 0:
            node_int[leaf_parent[best], N_LEFT + leaf_side[best]] = k

        lg = leaf_rec[best, LEFT_G]
        lh = leaf_rec[best, LEFT_H]
        lc = leaf_rec[best, LEFT_C]
        if int(lc) != mid - a:
            raise RuntimeError("partition and histogram disagree on the left child's row count")
        depth = leaf_depth[best] + 1
        slot = leaf_slot[best]
        # right child first: it reads the parent's sums, which the left child overwrites
        leaf_g[right_id] = leaf_g[best] - lg
        leaf_h[right_id] = leaf_h[best] - lh
        leaf_c[right_id] = leaf_c[best] - lc
        leaf_depth[right_id] = depth
        leaf_slot[right_id] = right_id
        leaf_parent[right_id] = k
        leaf_side[right_id] = 1
        leaf_gain[right_id] = -np.inf
        leaf_g[best] = lg
        leaf_h[best] = lh
        leaf_c[best] = lc
        leaf_depth[best] = depth
        leaf_slot[best] = slot
        leaf_parent[best] = k
        leaf_side[best] = 0
        leaf_gain[best] = -np.inf
        n_leaves += 1

        if n_leaves < L:
            if leaf_c[best] <= leaf_c[right_id]:
                small, large = best, right_id
            else:
                small, large = right_id, best
            can_small = _can_split(leaf_c[small], depth, max_depth, min_child_samples)
            can_large = _can_split(leaf_c[large], depth, max_depth, min_child_samples)
            if can_small or can_large:
                # the parent's histogram is in `slot`; slot `right_id` is free
                build_histogram_with_scratch(X_binned, rows[leaf_start[small]:leaf_end[small]], grad, hess,
                                             features, hist_pool[right_id], scratch, n_threads)
                leaf_slot[small] = right_id
                leaf_slot[large] = slot
                sums[0, 0], sums[0, 1], sums[0, 2] = leaf_g[small], leaf_h[small], leaf_c[small]
                sums[1, 0], sums[1, 1], sums[1, 2] = leaf_g[large], leaf_h[large], leaf_c[large]
                flags[0] = 1 if can_small else 0
                flags[1] = 1 if can_large else 0
                subtract_and_find_splits(hist_pool[slot], hist_pool[right_id], n_bins_non_missing, missing_bin,
                                         feature_mask, sums, flags, min_child_samples, min_child_weight, alpha,
                                         lam, records)
                if can_small and _admit(records[0, GAIN], min_split_gain):
                    leaf_gain[small] = records[0, GAIN]
                    leaf_rec[small] = records[0]
                if can_large and _admit(records[1, GAIN], min_split_gain):
                    leaf_gain[large] = records[1, GAIN]
                    leaf_rec[large] = records[1]

    for l in range(n_leaves):
        leaf_float[l, 0] = leaf_output(leaf_g[l], leaf_h[l], alpha, lam) * learning_rate
        leaf_float[l, 1] = leaf_h[l]
        leaf_float[l, 2] = leaf_c[l]
    return n_leaves
