"""Histogram kernels: per (feature, bin) sums of gradient, hessian and count.

A histogram is a float64 array of shape (n_features, n_bins, 3) holding
(sum g, sum h, count) per bin. Kernels here know nothing about trees: they
take the rows of one node and fill a histogram, so the same functions serve
single-process training and per-partition histograms summed across Dask
workers.

Work is cut into tasks of (row block, feature group). The row blocks depend
only on the number of rows of the node, never on the number of threads:
every (feature, bin) sum is accumulated in row order inside a block, and
the block sums are added in block order. Histograms, and the models built
from them, are therefore bit-identical for any ``n_jobs``.
"""
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._dtypes import NJIT, NJIT_PARALLEL

#: Rows per chunk: a chunk's bins and gradients stay in L1/L2 while every
#: feature sub-block of the task is accumulated from them.
ROW_CHUNK = 256
#: Features per accumulation sub-block: their 4-wide bins
#: (32 x 256 x 32 B = 262 KB) stay in L2.
FEATURE_GROUP = 32
#: A node is cut into row blocks of at least this many rows (fewer rows: one
#: block, threads split the features only).
MIN_BLOCK_ROWS = 32768
#: At most this many row blocks: bounds the scratch memory and the cost of
#: summing the blocks (16 x 136 features x 256 bins x 32 B = 18 MB).
MAX_BLOCKS = 16
#: ... and at most this many bytes of block histograms, for wide data.
MAX_SCRATCH_BYTES = 64 << 20


@intrinsic
def _add4(typingctx, arr, index, v0, v1, v2):
    """arr.flat[index:index + 4] += (v0, v1, v2, 0) as one 256-bit vector operation.

    Numba leaves LLVM's SLP vectoriser off, so the three scalar adds of a bin
    would be three load-add-store triplets; one vector load-add-store is
    10-20% faster per update. Each lane is an ordinary IEEE add, so the sums
    are bit-identical to the scalar code. `arr` must be a C-contiguous
    float64 array and index a multiple of 4 inside it (not checked).
    """
    sig = types.void(arr, index, types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        dbl = ir.DoubleType()
        vec_t = ir.VectorType(dbl, 4)
        vec = ir.Constant(vec_t, ir.Undefined)
        for lane, val in enumerate(args[2:]):
            vec = builder.insert_element(vec, val, ir.Constant(ir.IntType(32), lane))
        vec = builder.insert_element(vec, ir.Constant(dbl, 0.0), ir.Constant(ir.IntType(32), 3))
        ptr = builder.gep(ary.data, [args[1]])
        vptr = builder.bitcast(ptr, vec_t.as_pointer())
        old = builder.load(vptr, align=8)
        builder.store(builder.fadd(old, vec), vptr, align=8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _prefetch(typingctx, arr, index):
    """Hint the CPU to bring the cache line of arr.flat[index] into L1 (no effect on results)."""
    sig = types.void(arr, index)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer(), i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(**NJIT)
def histogram_blocks(n_rows, n_used, n_bins):
    """Number of row blocks of a node with `n_rows` rows (a function of the sizes only)."""
    by_rows = n_rows // MIN_BLOCK_ROWS
    by_memory = MAX_SCRATCH_BYTES // max(1, n_used * n_bins * 32)
    return max(1, min(by_rows, MAX_BLOCKS, by_memory))


@njit(**NJIT)
def histogram_scratch_size(n_rows, n_used, n_bins):
    """float64 elements of scratch `build_histogram_with_scratch` needs for such a node."""
    return histogram_blocks(n_rows, n_used, n_bins) * n_used * n_bins * 4


@njit(**NJIT_PARALLEL)
def build_histogram_with_scratch(X_binned, rows, grad, hess, features, hist, scratch, n_threads):
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
    hist : ndarray of float64, shape (n_features, n_bins, 3 or 4)
        (sum g, sum h, count) per bin; with a fourth lane (always 0), a node
        of one row block is accumulated in place, without scratch.
    scratch : ndarray of float64, at least ``histogram_scratch_size(...)`` elements
        Block histograms (overwritten).
    n_threads : int
        ``numba.get_num_threads()``: only sizes the feature groups of a node
        with few row blocks; any value gives the same result.

    Notes
    -----
    With B = `histogram_blocks` row blocks (contiguous, as equal as
    possible), every (block, feature group) task walks its rows in chunks of
    ROW_CHUNK: it gathers the chunk's (g, h) once, then, one sub-block of
    about FEATURE_GROUP features at a time, adds (g, h, 1) to the 4-wide bins
    of its features, so a row's bins are read from memory once and the bins
    being written stay in L2. The bins of the next chunk's rows are
    prefetched. The result is

        hist[f, b] = sum over blocks k = 0..B-1 (in order) of
                     sum over rows of block k (in order) of (g, h, 1)

    which depends on the rows only, not on the number of threads. Counts are
    sums of 1.0, exact up to 2**53.
    """
    n_rows = rows.shape[0]
    n_used = features.shape[0]
    n_bins = hist.shape[1]
    n_blocks = histogram_blocks(n_rows, n_used, n_bins)
    # Feature groups only spread a node with few blocks over the threads: they
    # change no sum, only which thread computes it.
    n_groups = min(max(1, n_threads), max(1, n_used)) if n_blocks < 4 * n_threads else 1
    per_group = (n_used + n_groups - 1) // n_groups if n_used > 0 else 0
    block_rows = (n_rows + n_blocks - 1) // n_blocks
    row_bytes = X_binned.shape[1]
    # features are increasing and distinct, so all of them are used iff features == arange
    all_features = n_used == row_bytes
    # A node of one row block accumulated straight into a 4-wide `hist`: no scratch to clear and
    # copy back, which is most of the cost of the many small nodes of a deep tree.
    direct = hist.shape[2] == 4 and n_blocks == 1
    if direct:
        acc = hist.reshape(hist.size)
    else:
        acc = scratch[:n_blocks * n_used * n_bins * 4]
    bin_stride = 4
    feature_stride = n_bins * 4
    block_stride = n_used * feature_stride
    for task in prange(n_blocks * n_groups):
        blk = task // n_groups
        grp = task - blk * n_groups
        k0 = grp * per_group
        k1 = min(k0 + per_group, n_used)
        r0 = blk * block_rows
        r1 = min(r0 + block_rows, n_rows)
        base = blk * block_stride
        n_sub = max(1, (k1 - k0 + FEATURE_GROUP - 1) // FEATURE_GROUP)
        sub = max(1, (k1 - k0 + n_sub - 1) // n_sub)  # equal sub-blocks: 68 = 34 + 34, not 32 + 32 + 4
        if direct and not all_features:
            for k in range(k0, k1):
                f0 = features[k] * feature_stride
                acc[f0:f0 + feature_stride] = 0.0
        else:
            acc[base + k0 * feature_stride:base + k1 * feature_stride] = 0.0
        gh = np.empty((ROW_CHUNK, 2), dtype=np.float64)
        for c0 in range(r0, r1, ROW_CHUNK):
            c1 = min(c0 + ROW_CHUNK, r1)
            for j in range(c0, c1):
                i = rows[j]
                gh[j - c0, 0] = grad[i]
                gh[j - c0, 1] = hess[i]
            # prefetch the bins of the next chunk's rows: a node's rows are
            # scattered, and the sub-block loops below would wait on each one
            n1 = min(c1 + ROW_CHUNK, r1)
            for j in range(c1, n1):
                o = rows[j] * row_bytes
                for off in range(0, row_bytes, 64):
                    _prefetch(X_binned, o + off)
                _prefetch(X_binned, o + row_bytes - 1)
            # sub-blocks of FEATURE_GROUP features: the chunk's rows are read
            # from memory by the first sub-block, from cache by the others
            for s0 in range(k0, k1, sub):
                s1 = min(s0 + sub, k1)
                for j in range(c0, c1):
                    i = rows[j]
                    g = gh[j - c0, 0]
                    h = gh[j - c0, 1]
                    if all_features:
                        # features[k] == k: no indirection (20% faster per update)
                        for k in range(s0, s1):
                            b = X_binned[i, k]
                            _add4(acc, base + k * feature_stride + b * bin_stride, g, h, 1.0)
                    elif direct:
                        for k in range(s0, s1):
                            f = features[k]
                            b = X_binned[i, f]
                            _add4(acc, f * feature_stride + b * bin_stride, g, h, 1.0)
                    else:
                        for k in range(s0, s1):
                            b = X_binned[i, features[k]]
                            _add4(acc, base + k * feature_stride + b * bin_stride, g, h, 1.0)
    if direct:
        return
    # sum the blocks in block order, one feature per iteration
    for k in prange(n_used):
        f = features[k]
        for b in range(n_bins):
            o = k * feature_stride + b * bin_stride
            sg = acc[o]
            sh = acc[o + 1]
            sc = acc[o + 2]
            for blk in range(1, n_blocks):
                ob = blk * block_stride + o
                sg += acc[ob]
                sh += acc[ob + 1]
                sc += acc[ob + 2]
            hist[f, b, 0] = sg
            hist[f, b, 1] = sh
            hist[f, b, 2] = sc


@njit(**NJIT)
def build_histogram(X_binned, rows, grad, hess, features, hist, n_threads):
    """`build_histogram_with_scratch` with a scratch buffer allocated per call."""
    scratch = np.empty(histogram_scratch_size(rows.shape[0], features.shape[0], hist.shape[1]), dtype=np.float64)
    build_histogram_with_scratch(X_binned, rows, grad, hess, features, hist, scratch, n_threads)


@njit(**NJIT_PARALLEL)
def subtract_histograms(parent, child, out):
    """out = parent - child (the larger sibling's histogram). `out` may alias `parent`."""
    for f in prange(parent.shape[0]):
        subtract_feature(parent, child, out, f)


@njit(**NJIT)
def subtract_feature(parent, child, out, f):
    """Feature f of `subtract_histograms` (shared with the fused split search of `_splitting`)."""
    for b in range(parent.shape[1]):
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
