"""A canonical row order that does not depend on how the caller ordered rows.

Training must not depend on the order of rows inside a query: LambdaMART
and the metrics break score ties by position, and at the first iteration
every score is tied. Inside `fit`, rows are therefore put in a canonical
order: by query (ascending id), then by a 64-bit hash of the row's content
(feature values, label, weight, position), then by input order for rows
that are identical in all of these (which are interchangeable). The binning
sample is chosen by the same hash. Any permutation of the input rows hence
trains a bit-identical model.

This is the documented tie rule: documents with equal scores are ordered
by their content hash, not by where the caller happened to put them.
"""
import numpy as np
from numba import njit, prange
from scipy import sparse

from ._dtypes import NJIT_PARALLEL
from ._random import splitmix64

_SEED = np.uint64(0x5EED5EED5EED5EED)


@njit(**NJIT_PARALLEL)
def _hash_dense(X, bits, extra, out):
    """out[i] = hash of row i (`bits` is the uint32/uint64 view of X) and of extra[i, :]."""
    n, m = bits.shape
    for i in prange(n):
        h = np.uint64(0x5EED5EED5EED5EED)
        for f in range(m):
            b = bits[i, f]
            if X[i, f] != X[i, f]:
                b = 0x7FF8  # every NaN hashes alike, whatever its payload
            if b != 0:  # zeros are skipped, as in CSR, so dense and sparse inputs hash alike
                h = splitmix64(h ^ np.uint64(f))
                h = splitmix64(h ^ np.uint64(b))
        for e in range(extra.shape[1]):
            h = splitmix64(h ^ extra[i, e])
        out[i] = h


@njit(**NJIT_PARALLEL)
def _hash_csr(indptr, indices, data, data_bits, extra, out):
    n = indptr.shape[0] - 1
    for i in prange(n):
        h = np.uint64(0x5EED5EED5EED5EED)
        for j in range(indptr[i], indptr[i + 1]):
            b = data_bits[j]
            if data[j] != data[j]:
                b = 0x7FF8  # as in _hash_dense
            if b != 0:  # explicit zeros hash like implicit ones
                h = splitmix64(h ^ np.uint64(indices[j]))
                h = splitmix64(h ^ np.uint64(b))
        for e in range(extra.shape[1]):
            h = splitmix64(h ^ extra[i, e])
        out[i] = h


def _as_float(a):
    a = np.ascontiguousarray(a)
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)


def _as_bits(a):
    """Bit view of a float array (no copy); NaN payloads are normalised in the kernels."""
    return a.view(np.uint32) if a.dtype == np.float32 else a.view(np.uint64)


def row_hashes(X, *columns):
    """uint64 content hash of every row of X (dense or CSR) together with the 1-d `columns`."""
    n = X.shape[0]
    cols = [np.asarray(c, dtype=np.float64) for c in columns if c is not None]
    extra = np.empty((n, len(cols)), dtype=np.uint64)
    for k, c in enumerate(cols):
        c = np.where(np.isnan(c), np.nan, c)  # one NaN bit pattern (1-d, cheap)
        extra[:, k] = c.view(np.uint64)
    out = np.empty(n, dtype=np.uint64)
    if sparse.issparse(X):
        X = X.tocsr()
        data = _as_float(X.data)
        _hash_csr(X.indptr.astype(np.int64), X.indices.astype(np.int64), data, _as_bits(data), extra, out)
    else:
        X = _as_float(X)
        _hash_dense(X, _as_bits(X), extra, out)
    return out


def canonical_order(query_code, hashes):
    """Row order by (query code, hash), stable for equal keys."""
    return np.lexsort((hashes, query_code)).astype(np.int64)


def hash_sample(hashes, size, seed):
    """Rows (increasing) whose seeded hash is among the `size` smallest: an order-free random sample."""
    n = hashes.shape[0]
    if size is None or n <= size:
        return None
    mixed = hashes ^ np.uint64(splitmix64(np.uint64(seed)))
    mixed = mixed * np.uint64(0x9E3779B97F4A7C15)  # spread the xor over all bits (wraps mod 2**64)
    rows = np.argpartition(mixed, size - 1)[:size]
    return np.sort(rows)


def canonical_layout(X, y, qid=None, group=None, what="X", warn_single=True, extra=()):
    """The query layout of (X, y) with rows in canonical order, and the row hashes.

    Queries come in ascending id order (sizes order for `group`), rows of a
    query by content hash. Returns (QueryLayout with a full `order`, hashes).
    """
    from ._query import QueryLayout, make_layout

    n = X.shape[0]
    layout = make_layout(n, qid=qid, group=group, what=what, warn_single=warn_single)
    code = np.empty(n, dtype=np.int64)
    grouped_code = np.repeat(np.arange(layout.n_queries, dtype=np.int64), layout.sizes())
    if layout.order is None:
        code[:] = grouped_code
    else:
        code[layout.order] = grouped_code
    hashes = row_hashes(X, y, *extra)
    order = canonical_order(code, hashes)
    return QueryLayout(order=order, group_ptr=layout.group_ptr, query_ids=layout.query_ids), hashes
