"""Trees as flat arrays, and the prediction kernels.

A tree with ``L`` leaves has ``L - 1`` internal nodes, numbered in the order
they were split (LightGBM's layout). ``left_child[k]`` / ``right_child[k]``
hold an internal node index ``>= 0`` or ``~leaf`` (``-leaf - 1``) for a leaf.
A tree with a single leaf has no internal node.

An ensemble is the concatenation of its trees' arrays with offsets, so the
prediction kernel walks many rows through many trees without Python in the
loop: rows are processed in parallel, trees in order (the sum over trees is
taken in the same order as during training, which makes a model continued
from a saved one bit-identical to one trained in a single call).

Prediction on raw features uses a second, "packed" layout built on first
use (`PackedForest`): every node of every tree, leaves included, numbered
globally, with a leaf's two children pointing to itself. A block of rows
then descends one tree level by level, each step ``node =
children[2 node + go_right]`` with no branch that depends on the data;
rows that reached a leaf stay there, and the block moves to the next tree
when none of its rows is at an internal node. The tree being walked stays
in the L1 cache and the rows of the block in L2, and the independent rows
of a block keep the CPU busy while one row waits for memory. Each row
still sums its trees in tree order, so the scores are bit-identical to a
row-by-row walk.
"""
import numpy as np
from numba import njit, prange

from ._dtypes import NJIT, NJIT_PARALLEL

_TREE_ARRAYS = {
    "split_feature": np.int32,
    "threshold_bin": np.int32,
    "threshold": np.float64,
    "missing_left": np.uint8,
    "left_child": np.int32,
    "right_child": np.int32,
    "split_gain": np.float64,
    "internal_value": np.float64,
    "internal_weight": np.float64,
    "internal_count": np.int64,
}
_LEAF_ARRAYS = {"leaf_value": np.float64, "leaf_weight": np.float64, "leaf_count": np.int64}


class Tree:
    """One regression tree (already scaled by the learning rate).

    Attributes (internal nodes, shape (n_leaves - 1,)): split_feature,
    threshold_bin (go left when ``bin <= threshold_bin``), threshold (go left
    when ``x <= threshold``), missing_left (where NaN goes), left_child,
    right_child, split_gain, internal_value, internal_weight (hessian sum),
    internal_count. Leaves (shape (n_leaves,)): leaf_value, leaf_weight,
    leaf_count.
    """

    def __init__(self, **arrays):
        for name, dtype in {**_TREE_ARRAYS, **_LEAF_ARRAYS}.items():
            setattr(self, name, np.ascontiguousarray(arrays[name], dtype=dtype))

    @property
    def n_leaves(self):
        return self.leaf_value.shape[0]

    def to_dict(self):
        d = {}
        for name in _TREE_ARRAYS:
            d[name] = getattr(self, name).tolist()
        for name in _LEAF_ARRAYS:
            d[name] = getattr(self, name).tolist()
        # JSON has no infinity: a threshold of +inf (all values left) is stored as null.
        d["threshold"] = [None if not np.isfinite(t) else t for t in d["threshold"]]
        return d

    @classmethod
    def from_dict(cls, d):
        arrays = dict(d)
        arrays["threshold"] = [np.inf if t is None else t for t in d["threshold"]]
        return cls(**arrays)

    def depth(self):
        """Maximum depth of a leaf (0 for a single-leaf tree)."""
        if self.n_leaves == 1:
            return 0
        best = 0
        stack = [(0, 1)]
        while stack:
            node, d = stack.pop()
            best = max(best, d)
            for c in (self.left_child[node], self.right_child[node]):
                if c >= 0:
                    stack.append((c, d + 1))
        return best


class Ensemble:
    """Concatenated arrays of a list of trees, for the prediction kernels."""

    def __init__(self, trees):
        self.n_trees = len(trees)
        node_counts = [t.split_feature.shape[0] for t in trees]
        leaf_counts = [t.n_leaves for t in trees]
        self.node_offset = np.zeros(self.n_trees + 1, dtype=np.int64)
        self.node_offset[1:] = np.cumsum(node_counts)
        self.leaf_offset = np.zeros(self.n_trees + 1, dtype=np.int64)
        self.leaf_offset[1:] = np.cumsum(leaf_counts)

        def cat(name, dtype):
            if not trees:
                return np.zeros(0, dtype=dtype)
            return np.ascontiguousarray(np.concatenate([getattr(t, name) for t in trees]), dtype=dtype)

        self.split_feature = cat("split_feature", np.int32)
        self.threshold_bin = cat("threshold_bin", np.int32)
        self.threshold = cat("threshold", np.float64)
        self.missing_left = cat("missing_left", np.uint8)
        self.left_child = cat("left_child", np.int32)
        self.right_child = cat("right_child", np.int32)
        self.leaf_value = cat("leaf_value", np.float64)
        self._packed = None

    def __getstate__(self):
        # The packed layout is rebuilt on first use; pickles stay half the size.
        state = self.__dict__.copy()
        state["_packed"] = None
        return state

    @property
    def packed(self):
        """The `PackedForest` of these trees (built on first use: training never needs it)."""
        if self._packed is None:
            self._packed = PackedForest(self)
        return self._packed

    def predict_raw(self, X, init_score, n_trees=None, out=None):
        """Sum of init_score and the first `n_trees` trees on raw features X (float32/64, C order)."""
        n_trees = self.n_trees if n_trees is None else min(n_trees, self.n_trees)
        if out is None:
            out = np.empty(X.shape[0], dtype=np.float64)
        p = self.packed
        _predict_raw_blocks(X, p.feature, p.threshold, p.nan_right, p.children, p.value, p.root, p.n_internal,
                            n_trees, float(init_score), PREDICT_BLOCK_ROWS, out)
        return out

    def predict_raw_rowwise(self, X, init_score, n_trees=None, out=None):
        """`predict_raw` by walking each row through every tree in turn (the reference for the block kernel)."""
        n_trees = self.n_trees if n_trees is None else min(n_trees, self.n_trees)
        if out is None:
            out = np.empty(X.shape[0], dtype=np.float64)
        _predict_raw(X, self.split_feature, self.threshold, self.missing_left, self.left_child, self.right_child,
                     self.leaf_value, self.node_offset, self.leaf_offset, n_trees, float(init_score), out)
        return out

    def predict_binned(self, X_binned, missing_bin, init_score, tree_begin=0, tree_end=None, out=None, add=False):
        """Like predict_raw on binned features, for trees [tree_begin, tree_end); `add` accumulates into out."""
        tree_end = self.n_trees if tree_end is None else min(tree_end, self.n_trees)
        if out is None:
            out = np.empty(X_binned.shape[0], dtype=np.float64)
            add = False
        _predict_binned(X_binned, self.split_feature, self.threshold_bin, self.missing_left, self.left_child,
                        self.right_child, self.leaf_value, self.node_offset, self.leaf_offset, tree_begin, tree_end,
                        missing_bin, float(init_score), add, out)
        return out


#: Rows per block of `_predict_raw_blocks`: 128 rows of 136 float32 features
#: (70 kB) stay in L2 while every tree passes over them; more rows per block
#: make the "every row is in a leaf" test succeed later (measured on 2 cores:
#: 64-256 within a few percent, 512 slower).
PREDICT_BLOCK_ROWS = 128


class PackedForest:
    """The trees of an `Ensemble` as one array per field, leaves included, for `_predict_raw_blocks`.

    Tree ``t`` has nodes ``root[t] .. root[t] + 2 L_t - 2``: its ``L_t - 1``
    internal nodes (same order as the tree) then its ``L_t`` leaves. For
    node ``k``: ``feature[k]``, ``threshold[k]``, ``nan_right[k]`` (1 when
    a NaN goes right), ``children[2k]`` / ``children[2k + 1]`` (global
    indices; a leaf's are ``k`` itself) and ``value[k]`` (the leaf value, 0
    for internal nodes). A leaf has threshold +inf and nan_right 0, so that
    every value and NaN "goes left" to the leaf itself. Node ``k`` of tree
    ``t`` is internal exactly when ``k < root[t] + n_internal[t]``.

    The go-right test ``x > threshold or (x is NaN and nan_right)`` is the
    complement of the trees' go-left test ``x <= threshold`` (NaN: where
    missing_left says), so both layouts reach the same leaf.
    """

    def __init__(self, ensemble):
        e = ensemble
        n_int = np.diff(e.node_offset)
        n_leaf = np.diff(e.leaf_offset)
        size = n_int + n_leaf
        self.root = np.zeros(e.n_trees + 1, dtype=np.int64)
        self.root[1:] = np.cumsum(size)
        total = int(self.root[-1])
        if total >= 2**31:
            raise ValueError(f"the model has {total} nodes; prediction supports fewer than 2**31")
        self.n_internal = np.ascontiguousarray(n_int, dtype=np.int64)
        # Global index of every internal node and of every leaf.
        tree_of_node = np.repeat(np.arange(e.n_trees), n_int)
        tree_of_leaf = np.repeat(np.arange(e.n_trees), n_leaf)
        internal_idx = self.root[tree_of_node] + (np.arange(n_int.sum()) - e.node_offset[tree_of_node])
        leaf_idx = self.root[tree_of_leaf] + n_int[tree_of_leaf] + (np.arange(n_leaf.sum()) - e.leaf_offset[tree_of_leaf])

        self.feature = np.zeros(total, dtype=np.int32)
        self.threshold = np.full(total, np.inf, dtype=np.float64)
        self.nan_right = np.zeros(total, dtype=np.uint8)
        self.value = np.zeros(total, dtype=np.float64)
        children = np.empty((total, 2), dtype=np.int32)
        self.feature[internal_idx] = e.split_feature
        self.threshold[internal_idx] = e.threshold
        self.nan_right[internal_idx] = e.missing_left == 0
        self.value[leaf_idx] = e.leaf_value

        def global_child(child):
            # child >= 0: internal node of the same tree; ~leaf otherwise
            own_root = self.root[tree_of_node]
            return np.where(child >= 0, own_root + child, own_root + n_int[tree_of_node] + ~child)

        children[internal_idx, 0] = global_child(e.left_child)
        children[internal_idx, 1] = global_child(e.right_child)
        children[leaf_idx, 0] = leaf_idx
        children[leaf_idx, 1] = leaf_idx
        self.children = np.ascontiguousarray(children.reshape(-1))


@njit(**NJIT_PARALLEL)
def _predict_raw_blocks(X, feature, threshold, nan_right, children, value, root, n_internal, n_trees, init_score,
                        block_rows, out):
    """``out[i] = init_score + sum over the first n_trees trees of the leaf value of row i`` (OUT).

    Blocks of `block_rows` rows in parallel (``prange``); within a block,
    tree after tree, all rows descend one level per step (see
    `PackedForest`). A tree has at most ``n_internal`` levels, which bounds
    the steps; the walk stops earlier, as soon as no row of the block is at
    an internal node. Each row adds its trees' values in tree order.
    """
    n = X.shape[0]
    n_blocks = (n + block_rows - 1) // block_rows
    for blk in prange(n_blocks):
        r0 = blk * block_rows
        m = min(block_rows, n - r0)
        node = np.empty(m, dtype=np.int64)
        acc = np.full(m, init_score)
        for t in range(n_trees):
            first = root[t]
            first_leaf = first + n_internal[t]
            for j in range(m):
                node[j] = first
            for _ in range(n_internal[t]):
                active = 0
                for j in range(m):
                    k = node[j]
                    x = X[r0 + j, feature[k]]
                    go_right = (x > threshold[k]) | ((x != x) & (nan_right[k] != 0))
                    c = children[2 * k + np.int64(go_right)]
                    node[j] = c
                    active |= np.int64(c < first_leaf)
                if active == 0:
                    break
            for j in range(m):
                acc[j] += value[node[j]]
        for j in range(m):
            out[r0 + j] = acc[j]


@njit(**NJIT)
def _leaf_of_raw(x, node_off, split_feature, threshold, missing_left, left_child, right_child):
    node = 0
    while True:
        k = node_off + node
        v = x[split_feature[k]]
        if np.isnan(v):
            go_left = missing_left[k] != 0
        else:
            go_left = v <= threshold[k]
        node = left_child[k] if go_left else right_child[k]
        if node < 0:
            return ~node


@njit(**NJIT_PARALLEL)
def _predict_raw(X, split_feature, threshold, missing_left, left_child, right_child, leaf_value,
                 node_offset, leaf_offset, n_trees, init_score, out):
    for i in prange(X.shape[0]):
        x = X[i]
        s = init_score
        for t in range(n_trees):
            no = node_offset[t]
            if node_offset[t + 1] == no:
                s += leaf_value[leaf_offset[t]]
            else:
                leaf = _leaf_of_raw(x, no, split_feature, threshold, missing_left, left_child, right_child)
                s += leaf_value[leaf_offset[t] + leaf]
        out[i] = s


@njit(**NJIT_PARALLEL)
def _predict_binned(X_binned, split_feature, threshold_bin, missing_left, left_child, right_child, leaf_value,
                    node_offset, leaf_offset, tree_begin, tree_end, missing_bin, init_score, add, out):
    for i in prange(X_binned.shape[0]):
        s = out[i] if add else init_score
        for t in range(tree_begin, tree_end):
            no = node_offset[t]
            if node_offset[t + 1] == no:
                s += leaf_value[leaf_offset[t]]
                continue
            node = 0
            while True:
                k = no + node
                b = X_binned[i, split_feature[k]]
                if b == missing_bin:
                    go_left = missing_left[k] != 0
                else:
                    go_left = b <= threshold_bin[k]
                node = left_child[k] if go_left else right_child[k]
                if node < 0:
                    break
            s += leaf_value[leaf_offset[t] + ~node]
        out[i] = s


@njit(**NJIT_PARALLEL)
def predict_leaf_indices(X, split_feature, threshold, missing_left, left_child, right_child, node_offset, n_trees, out):
    """Leaf index of every row in every tree (OUT shape (n_samples, n_trees))."""
    for i in prange(X.shape[0]):
        for t in range(n_trees):
            no = node_offset[t]
            if node_offset[t + 1] == no:
                out[i, t] = 0
            else:
                out[i, t] = _leaf_of_raw(X[i], no, split_feature, threshold, missing_left, left_child, right_child)
