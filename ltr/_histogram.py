"""Histogram kernels: per (feature, bin) sums of gradient, hessian and count.

A histogram is a float64 array of shape (n_features, n_bins, 3) holding
(sum g, sum h, count) per bin. Kernels here know nothing about trees: they
take the rows of one node and fill a histogram, so the same functions serve
single-process training and per-partition histograms summed across Dask
workers.

Parallelism is over groups of features: every thread scans all rows of the
node for its own features. Each (feature, bin) sum is then accumulated in
row order whatever the number of threads, so histograms, and the models
built from them, are bit-identical for any ``n_jobs``.
"""
import numpy as np
from numba import njit, prange

from ._dtypes import NJIT, NJIT_PARALLEL

#: Rows per chunk: a chunk's bins and gradients stay in L1/L2 while every
#: feature sub-block of the thread's group is accumulated from them.
ROW_CHUNK = 256
#: Features per sub-block: their histograms (32 x 256 x 24 B = 196 KB) stay in L2.
FEATURE_SUB_BLOCK = 32


@njit(**NJIT_PARALLEL)
def gather_gradients(rows, grad, hess, ordered_grad, ordered_hess):
    """ordered_grad[j] = grad[rows[j]] (OUT), same for hess."""
    for j in prange(rows.shape[0]):
        i = rows[j]
        ordered_grad[j] = grad[i]
        ordered_hess[j] = hess[i]


@njit(**NJIT_PARALLEL)
def build_histogram(X_binned, rows, grad, hess, features, hist, n_threads):
    """Fill `hist` (OUT) with the sums over `rows` for the listed `features`.

    Parameters
    ----------
    X_binned : ndarray of uint8, shape (n_samples, n_features), C order
    rows : ndarray of int32, shape (n_rows,)
        Rows of the node, increasing.
    grad, hess : ndarray of float64, shape (n_samples,)
    features : ndarray of int32
        Features to histogram (increasing). Histograms of other features are
        not touched; the split finder ignores them.
    hist : ndarray of float64, shape (n_features, n_bins, 3)
    n_threads : int
        Number of feature groups (``numba.get_num_threads()``); any value
        gives the same result.

    Notes
    -----
    Threads split the features into contiguous groups. Each thread walks the
    rows in chunks of ROW_CHUNK; for each chunk it gathers the gradients once
    and then accumulates sub-blocks of FEATURE_SUB_BLOCK features, so a row's
    bins are read from memory once and the histograms being written stay in
    cache (2-5x faster than one pass over all rows per feature block). Every
    (feature, bin) sum is still accumulated in row order, so the result is
    bit-identical for any number of threads.
    """
    n_rows = rows.shape[0]
    n_used = features.shape[0]
    n_bins = hist.shape[1]
    n_groups = max(1, min(n_threads, n_used))
    per_group = (n_used + n_groups - 1) // n_groups
    for grp in prange(n_groups):
        k0 = grp * per_group
        k1 = min(k0 + per_group, n_used)
        for k in range(k0, k1):
            f = features[k]
            for b in range(n_bins):
                hist[f, b, 0] = 0.0
                hist[f, b, 1] = 0.0
                hist[f, b, 2] = 0.0
        g_chunk = np.empty(ROW_CHUNK, dtype=np.float64)
        h_chunk = np.empty(ROW_CHUNK, dtype=np.float64)
        for c0 in range(0, n_rows, ROW_CHUNK):
            c1 = min(c0 + ROW_CHUNK, n_rows)
            for j in range(c0, c1):
                i = rows[j]
                g_chunk[j - c0] = grad[i]
                h_chunk[j - c0] = hess[i]
            for s0 in range(k0, k1, FEATURE_SUB_BLOCK):
                s1 = min(s0 + FEATURE_SUB_BLOCK, k1)
                for j in range(c0, c1):
                    i = rows[j]
                    g = g_chunk[j - c0]
                    h = h_chunk[j - c0]
                    for k in range(s0, s1):
                        f = features[k]
                        b = X_binned[i, f]
                        hist[f, b, 0] += g
                        hist[f, b, 1] += h
                        hist[f, b, 2] += 1.0


@njit(**NJIT_PARALLEL)
def subtract_histograms(parent, child, out):
    """out = parent - child (the larger sibling's histogram). `out` may alias `parent`."""
    n_features, n_bins, _ = parent.shape
    for f in prange(n_features):
        for b in range(n_bins):
            c = parent[f, b, 2] - child[f, b, 2]
            if c == 0.0:
                # an empty bin: exact zeros, not rounding residue that could break gain ties
                out[f, b, 0] = 0.0
                out[f, b, 1] = 0.0
            else:
                out[f, b, 0] = parent[f, b, 0] - child[f, b, 0]
                out[f, b, 1] = parent[f, b, 1] - child[f, b, 1]
            out[f, b, 2] = c


@njit(**NJIT)
def build_histogram_naive(X_binned, rows, grad, hess, hist):
    """Reference kernel for tests: the obvious loop."""
    hist[:] = 0.0
    for j in range(rows.shape[0]):
        i = rows[j]
        for f in range(X_binned.shape[1]):
            b = X_binned[i, f]
            hist[f, b, 0] += grad[i]
            hist[f, b, 1] += hess[i]
            hist[f, b, 2] += 1.0
