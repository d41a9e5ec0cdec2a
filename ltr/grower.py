"""Leaf-wise (best-first) growth of one tree from gradient histograms.

Pure orchestration: the numeric work is in `_histogram`, `_splitting` and a
row set (`_rowset.LocalRowSet`, or a distributed one). At every step the
leaf with the largest admissible gain is split, until `num_leaves` leaves
exist or no leaf can be split. The smaller child's histogram is built from
its rows; the larger child's is the parent's minus the smaller one's.
Leaves are numbered as in LightGBM: a split leaf keeps its id for its left
child, and the right child takes the next id.

On a `LocalRowSet` the same loop runs in one compiled call per tree
(`_grow_compiled.grow_tree`, identical trees); the Python loop below serves
distributed row sets and is the reference the compiled one is tested against.
"""
from dataclasses import dataclass

import numba
import numpy as np

from ._dtypes import HIST_DTYPE
from ._grow_compiled import grow_tree
from ._splitting import (BIN, FEATURE, GAIN, LEFT_C, LEFT_G, LEFT_H, MISSING_LEFT, SPLIT_RECORD_SIZE,
                         find_best_split, leaf_output, subtract_and_find_splits)
from .predictor import Tree


@dataclass
class TreeParams:
    """Parameters of tree growth (names as in LightGBM's scikit-learn API)."""

    num_leaves: int = 31
    max_depth: int = -1
    min_child_samples: int = 20
    min_child_weight: float = 1e-3
    min_split_gain: float = 0.0
    reg_alpha: float = 0.0
    reg_lambda: float = 0.0
    learning_rate: float = 0.1


class _Leaf:
    __slots__ = ("depth", "g", "h", "c", "slot", "split", "gain", "parent", "side")

    def __init__(self, depth, g, h, c, slot, parent, side):
        self.depth = depth
        self.g, self.h, self.c = g, h, c
        self.slot = slot
        self.split = None
        self.gain = -np.inf
        self.parent, self.side = parent, side


class TreeGrower:
    """Grows trees from a row set's histograms, reusing its buffers across trees.

    Parameters
    ----------
    n_features : int
    bin_mapper : BinMapper
        Gives the bins per feature, the missing bin and the raw thresholds.
    params : TreeParams
    """

    def __init__(self, n_features, bin_mapper, params, hist_width=3):
        self.bin_mapper = bin_mapper
        self.params = params
        self.n_bins_non_missing = bin_mapper.n_bins_non_missing_
        self.missing_bin = bin_mapper.missing_bin_
        # One histogram per leaf that may still be split, allocated once.
        # The row set's width: 3 lanes (g, h, count), or 4 with a zero lane for in-place accumulation.
        self.hist_pool = np.zeros((params.num_leaves, n_features, bin_mapper.n_bins, hist_width), dtype=HIST_DTYPE)
        self.record = np.empty(SPLIT_RECORD_SIZE, dtype=np.float64)
        self._pair_sums = np.empty((2, 3), dtype=np.float64)
        self._pair_flags = np.empty(2, dtype=np.uint8)
        self._pair_records = np.empty((2, SPLIT_RECORD_SIZE), dtype=np.float64)

    def _can_split(self, leaf):
        p = self.params
        if p.max_depth > 0 and leaf.depth >= p.max_depth:
            return False
        return leaf.c >= 2 * p.min_child_samples and leaf.c >= 2

    def _find_split(self, leaf, feature_mask):
        p = self.params
        gain = find_best_split(self.hist_pool[leaf.slot], self.n_bins_non_missing, self.missing_bin, feature_mask,
                               leaf.g, leaf.h, leaf.c, p.min_child_samples, p.min_child_weight, p.reg_alpha,
                               p.reg_lambda, self.record)
        if gain > p.min_split_gain and np.isfinite(gain):
            leaf.split = self.record.copy()
            leaf.gain = gain
        else:
            leaf.split = None
            leaf.gain = -np.inf

    def _split_children(self, small, large, can_small, can_large, feature_mask):
        """Larger child's histogram by subtraction, then the best split of each child that may split."""
        p = self.params
        sums, flags, records = self._pair_sums, self._pair_flags, self._pair_records
        sums[0] = small.g, small.h, small.c
        sums[1] = large.g, large.h, large.c
        flags[0], flags[1] = can_small, can_large
        subtract_and_find_splits(self.hist_pool[large.slot], self.hist_pool[small.slot], self.n_bins_non_missing,
                                 self.missing_bin, feature_mask, sums, flags, p.min_child_samples,
                                 p.min_child_weight, p.reg_alpha, p.reg_lambda, records)
        for child, can, rec in ((small, can_small, records[0]), (large, can_large, records[1])):
            gain = rec[GAIN]
            if can and gain > p.min_split_gain and np.isfinite(gain):
                child.split = rec.copy()
                child.gain = gain

    #: Grow trees on a row set that allows it (`LocalRowSet`) in one compiled call
    #: (`_grow_compiled.grow_tree`, the same tree); False forces the Python loop, whose
    #: kernel calls can be timed one by one (`benchmarks/profile_stages.py`).
    use_compiled = True

    def _root(self, rowset, feature_mask):
        """Root histogram into slot 0; returns its (g, h, count) sums."""
        root_hist = self.hist_pool[0]
        rowset.histogram(0, feature_mask, root_hist)
        used = np.flatnonzero(feature_mask)
        f0 = used[0] if used.size else 0
        return (float(root_hist[f0, :, 0].sum()), float(root_hist[f0, :, 1].sum()),
                float(root_hist[f0, :, 2].sum()))

    def grow(self, rowset, feature_mask):
        """Grow one tree on the rows of `rowset` (already started with `start_tree`).

        Returns the Tree; the row set then knows every row's leaf
        (``rowset.add_leaf_values``).
        """
        if self.use_compiled and getattr(rowset, "compiled_growth", False):
            return self._grow_compiled(rowset, feature_mask)
        return self._grow_python(rowset, feature_mask)

    def _grow_compiled(self, rowset, feature_mask):
        p = self.params
        g0, h0, c0 = self._root(rowset, feature_mask)
        L = int(p.num_leaves)
        leaf_start = np.empty(L, dtype=np.int64)
        leaf_end = np.empty(L, dtype=np.int64)
        node_int = np.empty((max(L - 1, 1), 5), dtype=np.int64)
        node_float = np.empty((max(L - 1, 1), 4), dtype=np.float64)
        leaf_float = np.empty((L, 3), dtype=np.float64)
        n = grow_tree(rowset.X_binned, rowset.X_columns, rowset.rows, rowset.buffer, rowset.grad, rowset.hess,
                      rowset.features_of(feature_mask), feature_mask, self.n_bins_non_missing, self.missing_bin,
                      self.hist_pool, rowset.scratch, numba.get_num_threads(), np.array([g0, h0, c0]), L,
                      int(p.max_depth), int(p.min_child_samples), float(p.min_child_weight),
                      float(p.min_split_gain), float(p.reg_alpha), float(p.reg_lambda), float(p.learning_rate),
                      leaf_start, leaf_end, node_int, node_float, leaf_float)
        rowset.set_leaves(leaf_start[:n], leaf_end[:n])
        m = n - 1
        ni, nf = node_int[:m], node_float[:m]
        return Tree(
            split_feature=ni[:, 0], threshold_bin=ni[:, 1],
            threshold=np.array([self.bin_mapper.bin_upper_bound(int(f), int(b)) for f, b in ni[:, :2]],
                               dtype=np.float64),
            missing_left=ni[:, 2], left_child=ni[:, 3], right_child=ni[:, 4], split_gain=nf[:, 0],
            internal_value=nf[:, 1], internal_weight=nf[:, 2], internal_count=nf[:, 3].astype(np.int64),
            leaf_value=leaf_float[:n, 0], leaf_weight=leaf_float[:n, 1],
            leaf_count=leaf_float[:n, 2].astype(np.int64),
        )

    def _grow_python(self, rowset, feature_mask):
        p = self.params
        g0, h0, c0 = self._root(rowset, feature_mask)
        leaves = [_Leaf(0, g0, h0, c0, 0, -1, 0)]
        if self._can_split(leaves[0]) and p.num_leaves > 1:
            self._find_split(leaves[0], feature_mask)

        nodes = {k: [] for k in ("split_feature", "threshold_bin", "threshold", "missing_left", "left_child",
                                 "right_child", "split_gain", "internal_value", "internal_weight", "internal_count")}
        alpha, lam, lr = p.reg_alpha, p.reg_lambda, p.learning_rate
        while len(leaves) < p.num_leaves:
            best = -1
            best_gain = -np.inf
            for idx, lf in enumerate(leaves):
                if lf.split is not None and lf.gain > best_gain:
                    best, best_gain = idx, lf.gain
            if best < 0:
                break
            leaf = leaves[best]
            rec = leaf.split
            feature, bin_idx, miss_left = int(rec[FEATURE]), int(rec[BIN]), bool(rec[MISSING_LEFT])
            right_id = len(leaves)
            n_left = rowset.split(best, right_id, feature, bin_idx, miss_left)
            k = len(nodes["split_feature"])
            nodes["split_feature"].append(feature)
            nodes["threshold_bin"].append(bin_idx)
            nodes["threshold"].append(self.bin_mapper.bin_upper_bound(feature, bin_idx))
            nodes["missing_left"].append(1 if miss_left else 0)
            nodes["left_child"].append(~best)
            nodes["right_child"].append(~right_id)
            nodes["split_gain"].append(float(rec[GAIN]))
            nodes["internal_value"].append(leaf_output(leaf.g, leaf.h, alpha, lam) * lr)
            nodes["internal_weight"].append(leaf.h)
            nodes["internal_count"].append(int(leaf.c))
            if leaf.parent >= 0:
                side = "left_child" if leaf.side == 0 else "right_child"
                nodes[side][leaf.parent] = k

            lg, lh, lc = float(rec[LEFT_G]), float(rec[LEFT_H]), float(rec[LEFT_C])
            if int(lc) != n_left:
                raise RuntimeError(f"partition sent {n_left} rows left, the histogram says {int(lc)}")
            left = _Leaf(leaf.depth + 1, lg, lh, lc, leaf.slot, k, 0)
            right = _Leaf(leaf.depth + 1, leaf.g - lg, leaf.h - lh, leaf.c - lc, right_id, k, 1)
            leaves[best] = left
            leaves.append(right)

            if len(leaves) < p.num_leaves:
                small_id, small, large = (best, left, right) if left.c <= right.c else (right_id, right, left)
                can_small, can_large = self._can_split(small), self._can_split(large)
                if can_small or can_large:
                    # The parent's histogram is in left.slot; right.slot is free.
                    parent_slot, new_slot = leaf.slot, right_id
                    rowset.histogram(small_id, feature_mask, self.hist_pool[new_slot])
                    small.slot, large.slot = new_slot, parent_slot
                    self._split_children(small, large, can_small, can_large, feature_mask)

        leaf_value = np.array([leaf_output(lf.g, lf.h, alpha, lam) * lr for lf in leaves], dtype=np.float64)
        return Tree(
            **{k: np.asarray(v) for k, v in nodes.items()},
            leaf_value=leaf_value,
            leaf_weight=np.array([lf.h for lf in leaves]),
            leaf_count=np.array([int(lf.c) for lf in leaves]),
        )
