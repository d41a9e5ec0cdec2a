"""Histogram kernels: per (feature, bin) sums of gradient, hessian and count.

A histogram is a float64 array of shape (n_features, n_bins, 3) holding
(sum g, sum h, count) per bin. Kernels here know nothing about trees: they
take the rows of one node and fill a histogram, so the same functions serve
single-process training and per-partition histograms summed across Dask
workers.

Parallelism is over blocks of features: every thread scans all rows of the
node for its own features. Each (feature, bin) sum is then accumulated in
row order whatever the number of threads, so histograms, and the models
built from them, are bit-identical for any ``n_jobs``.
"""
import numpy as np
from numba import njit, prange

from ._dtypes import NJIT, NJIT_PARALLEL

#: Features handled by one task. Small enough to balance 2-16 threads on
#: 100+ features; large enough that a row's bins share cache lines.
FEATURE_BLOCK = 8


@njit(**NJIT_PARALLEL)
def gather_gradients(rows, grad, hess, ordered_grad, ordered_hess):
    """ordered_grad[j] = grad[rows[j]] (OUT), same for hess: sequential reads in the histogram pass."""
    for j in prange(rows.shape[0]):
        i = rows[j]
        ordered_grad[j] = grad[i]
        ordered_hess[j] = hess[i]


@njit(**NJIT_PARALLEL)
def build_histogram(X_binned, rows, ordered_grad, ordered_hess, feature_mask, hist):
    """Fill `hist` (OUT, zeroed here) with the sums over `rows`.

    Parameters
    ----------
    X_binned : ndarray of uint8, shape (n_samples, n_features), C order
    rows : ndarray of int32, shape (n_rows,)
        Rows of the node.
    ordered_grad, ordered_hess : ndarray of float64, shape (>= n_rows,)
        Gradients and hessians already gathered in the order of `rows`.
    feature_mask : ndarray of uint8, shape (n_features,)
        Features to histogram. A block of FEATURE_BLOCK features none of
        which is used is skipped (left at zero); other unused features may be
        filled, and the split finder ignores them.
    hist : ndarray of float64, shape (n_features, n_bins, 3)
    """
    n_rows = rows.shape[0]
    n_features = X_binned.shape[1]
    n_bins = hist.shape[1]
    n_blocks = (n_features + FEATURE_BLOCK - 1) // FEATURE_BLOCK
    for blk in prange(n_blocks):
        f0 = blk * FEATURE_BLOCK
        f1 = min(f0 + FEATURE_BLOCK, n_features)
        for f in range(f0, f1):
            for b in range(n_bins):
                hist[f, b, 0] = 0.0
                hist[f, b, 1] = 0.0
                hist[f, b, 2] = 0.0
        any_used = False
        for f in range(f0, f1):
            if feature_mask[f]:
                any_used = True
        if not any_used:
            continue
        for j in range(n_rows):
            i = rows[j]
            g = ordered_grad[j]
            h = ordered_hess[j]
            for f in range(f0, f1):
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
            out[f, b, 0] = parent[f, b, 0] - child[f, b, 0]
            out[f, b, 1] = parent[f, b, 1] - child[f, b, 1]
            out[f, b, 2] = parent[f, b, 2] - child[f, b, 2]


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
