"""Trees as flat arrays, and the prediction kernels.

A tree with ``L`` leaves has ``L - 1`` internal nodes, numbered in the order
they were split (LightGBM's layout). ``left_child[k]`` / ``right_child[k]``
hold an internal node index ``>= 0`` or ``~leaf`` (``-leaf - 1``) for a leaf.
A tree with a single leaf has no internal node.

An ensemble is the concatenation of its trees' arrays with offsets, so the
prediction kernels walk many rows through many trees without Python in the
loop. Each row sums its trees in tree order (the order used during
training), which makes a model continued from a saved one bit-identical to
one trained in a single call, and makes every kernel here bit-identical to
the others.

Prediction on raw features walks one row at a time through a tree (the row's
features stay in L1). When the whole forest is small enough to stay in the
L2 cache (`PREDICT_CHUNK_NODES` internal nodes) rows simply run in parallel
through every tree. A larger forest is cut into chunks of consecutive trees
that each fit; rows are taken in blocks of `PREDICT_BLOCK_ROWS`, and every
row of a block walks one chunk before the block moves to the next chunk, so
a chunk is read from memory once per block rather than once per row.
Measured on 2 cores, 1M rows x 136 features (benchmarks/README.md): this is
1.5x faster than a level-synchronous block walk at 100 trees x 31 leaves
and 2.3x faster at 500 trees x 255 leaves.
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
        self.tree_chunks = tree_chunks(self.node_offset, PREDICT_CHUNK_NODES)

    def __setstate__(self, state):
        # Pickles of earlier versions carry a cached "packed" layout and no chunks.
        state.pop("_packed", None)
        self.__dict__.update(state)
        if "tree_chunks" not in state:
            self.tree_chunks = tree_chunks(self.node_offset, PREDICT_CHUNK_NODES)

    def predict_raw(self, X, init_score, n_trees=None, out=None):
        """Sum of init_score and the first `n_trees` trees on raw features X (float32/64, C order)."""
        n_trees = self.n_trees if n_trees is None else min(n_trees, self.n_trees)
        if out is None:
            out = np.empty(X.shape[0], dtype=np.float64)
        # A forest that fits in one chunk needs no row blocks: every row walks every tree.
        if self.tree_chunks.shape[0] <= 2 or n_trees <= self.tree_chunks[1]:
            return self.predict_raw_rowwise(X, init_score, n_trees, out)
        return self.predict_raw_chunked(X, init_score, n_trees, out, self.tree_chunks, PREDICT_BLOCK_ROWS)

    def predict_raw_chunked(self, X, init_score, n_trees, out, chunks, block_rows):
        """`predict_raw` with rows in blocks of `block_rows` walking the trees chunk by chunk.

        `chunks` holds the first tree of every chunk, then the tree count
        (`tree_chunks`); `n_trees` and `out` are required here.
        """
        _predict_raw_chunked(X, self.split_feature, self.threshold, self.missing_left, self.left_child,
                             self.right_child, self.leaf_value, self.node_offset, self.leaf_offset,
                             np.ascontiguousarray(chunks, dtype=np.int64), n_trees, float(init_score), block_rows,
                             out)
        return out

    def predict_raw_rowwise(self, X, init_score, n_trees=None, out=None):
        """`predict_raw` with every row walking every tree in turn, rows in parallel (no chunks)."""
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


#: Internal nodes per chunk of trees: 4000 nodes of about 21 bytes (feature,
#: threshold, NaN direction, two children) plus their leaves are ~100 kB, so
#: a chunk stays in L2 while a block of rows walks it. Measured on 2 cores
#: at 500 trees x 255 leaves: 4000 nodes 15.9 s, 16000 nodes 21.6 s, one
#: chunk (no blocking) 39 s for 1M rows.
PREDICT_CHUNK_NODES = 4000

#: Rows per block when the trees are walked in chunks: a chunk is re-read
#: once per block, so larger blocks read the model less often; 2048 rows of
#: 136 float32 features are 1.1 MB, streamed once per chunk (2048 beat 256
#: by 5-15% at 500 trees).
PREDICT_BLOCK_ROWS = 2048


def tree_chunks(node_offset, max_nodes):
    """First tree of every chunk of consecutive trees with at most `max_nodes` internal nodes, then n_trees.

    A tree larger than `max_nodes` is a chunk of its own. Returns int64 of
    shape (n_chunks + 1,), ``[0, ..., n_trees]`` (``[0, 0]`` for no trees).
    """
    n_trees = node_offset.shape[0] - 1
    bounds = [0]
    for t in range(n_trees):
        if t > bounds[-1] and node_offset[t + 1] - node_offset[bounds[-1]] > max_nodes:
            bounds.append(t)
    bounds.append(n_trees)
    return np.asarray(bounds, dtype=np.int64)


@njit(**NJIT_PARALLEL)
def _predict_raw_chunked(X, split_feature, threshold, missing_left, left_child, right_child, leaf_value,
                         node_offset, leaf_offset, chunks, n_trees, init_score, block_rows, out):
    """``out[i] = init_score + sum over the first n_trees trees of the leaf value of row i`` (OUT).

    Blocks of `block_rows` rows in parallel (``prange``); within a block,
    chunk after chunk of trees (`chunks`), each row walks the chunk's trees
    in order, adding to its running sum in ``out``.
    """
    n = X.shape[0]
    n_blocks = (n + block_rows - 1) // block_rows
    for blk in prange(n_blocks):
        r0 = blk * block_rows
        r1 = min(n, r0 + block_rows)
        for i in range(r0, r1):
            out[i] = init_score
        for c in range(chunks.shape[0] - 1):
            t0 = chunks[c]
            if t0 >= n_trees:
                break
            t1 = min(chunks[c + 1], n_trees)
            for i in range(r0, r1):
                x = X[i]
                s = out[i]
                for t in range(t0, t1):
                    no = node_offset[t]
                    if node_offset[t + 1] == no:
                        s += leaf_value[leaf_offset[t]]
                    else:
                        leaf = _leaf_of_raw(x, no, split_feature, threshold, missing_left, left_child, right_child)
                        s += leaf_value[leaf_offset[t] + leaf]
                out[i] = s


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
