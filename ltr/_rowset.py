"""Where the rows of a tree live while it grows.

The grower decides splits from histograms; a *row set* owns the rows and
answers three questions about them: the histogram of a leaf, how a split
divides a leaf, and adding leaf values to raw scores. `LocalRowSet` keeps
everything in this process. A distributed row set (``ltr.dask``) implements
the same methods over data partitions on other workers and sums their
histograms, so the grower and the split finder are shared.
"""
import numba
import numpy as np

from ._dtypes import IDX_DTYPE
from ._histogram import build_histogram_with_scratch, histogram_scratch_size
from ._splitting import add_leaf_values, partition_rows_column
from .binning import to_column_major


class LocalRowSet:
    """Rows of one binned matrix, kept in a partition array (LightGBM's layout).

    The rows of leaf ``l`` are ``rows[start[l]:end[l]]``, in increasing order.
    Buffers are allocated once and reused for every tree.
    """

    #: Lanes of the histograms it fills: (g, h, count, 0), accumulated in place for small nodes.
    HIST_WIDTH = 4

    def __init__(self, X_binned, missing_bin):
        self.X_binned = X_binned
        # Column-major copy (n_features x n bytes) for partitions: the split
        # feature's bins of a node's rows are then a few bytes apart.
        self.X_columns = to_column_major(X_binned)
        self.missing_bin = missing_bin
        n = X_binned.shape[0]
        self.buffer = np.empty(n, dtype=IDX_DTYPE)
        self.rows = None
        self._mask_cache = None
        # block histograms of build_histogram_with_scratch, grown on demand and reused
        self._hist_scratch = np.empty(0, dtype=np.float64)

    def start_tree(self, rows, grad, hess):
        """Begin a tree on `rows` (int32, increasing; owned by the row set) with these gradients."""
        self.rows = rows
        self.grad = grad
        self.hess = hess
        self.start = {0: 0}
        self.end = {0: rows.shape[0]}

    def count(self, leaf):
        return self.end[leaf] - self.start[leaf]

    #: `grower.TreeGrower` may grow a whole tree on it in one compiled call (`_grow_compiled`).
    compiled_growth = True

    def features_of(self, feature_mask):
        """The int32 indices of the features in `feature_mask` (cached for the current mask)."""
        if self._mask_cache is None or self._mask_cache[0] is not feature_mask:
            self._mask_cache = (feature_mask, np.flatnonzero(feature_mask).astype(np.int32))
        return self._mask_cache[1]

    @property
    def scratch(self):
        """Block-histogram scratch, large enough for any node of the current tree once the root is built."""
        return self._hist_scratch

    def set_leaves(self, starts, ends):
        """Adopt a partition computed elsewhere: leaf l owns ``rows[starts[l]:ends[l]]``."""
        self.start = dict(enumerate(starts.tolist()))
        self.end = dict(enumerate(ends.tolist()))

    def histogram(self, leaf, feature_mask, out):
        """Fill `out` (n_features, n_bins, 3 or 4) with the sums over the rows of `leaf`.

        Only features in `feature_mask` are computed; the others are left as they are.
        """
        r = self.rows[self.start[leaf]:self.end[leaf]]
        features = self.features_of(feature_mask)
        need = histogram_scratch_size(r.shape[0], features.shape[0], out.shape[1])
        if self._hist_scratch.shape[0] < need:
            self._hist_scratch = np.empty(need, dtype=np.float64)
        build_histogram_with_scratch(self.X_binned, r, self.grad, self.hess, features, out, self._hist_scratch,
                                     numba.get_num_threads())

    def split(self, leaf, right_leaf, feature, bin_idx, missing_left):
        """Split `leaf`: its left part keeps the id `leaf`, the right part becomes `right_leaf`.

        Returns the number of rows sent left.
        """
        a, b = self.start[leaf], self.end[leaf]
        mid = partition_rows_column(self.X_columns[feature], self.rows, a, b, bin_idx, missing_left, self.missing_bin,
                                    self.buffer, numba.get_num_threads())
        self.end[leaf] = mid
        self.start[right_leaf] = mid
        self.end[right_leaf] = b
        return mid - a

    def add_leaf_values(self, leaf_values, raw_score):
        """raw_score[row] += leaf_values[leaf of row] for the rows of this tree."""
        n_leaves = leaf_values.shape[0]
        starts = np.array([self.start[l] for l in range(n_leaves)], dtype=np.int64)
        ends = np.array([self.end[l] for l in range(n_leaves)], dtype=np.int64)
        add_leaf_values(self.rows, starts, ends, leaf_values, raw_score)
