"""Writing svmlight / LETOR files fast and losslessly.

Rows are formatted by a parallel Numba kernel in blocks, each row into its
own fixed-size slot, then compacted and written; memory stays bounded for
any file size. Values of float32 matrices are written with the fewest
significant digits (at most 9) that read back to the same float32 through a
correctly rounding reader (this module's reader, scikit-learn's or
Python's): every candidate is checked with the exact decimal-to-binary64
conversion of :mod:`._floatparse`, then rounded to float32 the way readers
do. float64 matrices get the fewest digits that read back to the same
float64: up to 15 significant digits found and checked the same way in the
kernel, 16-17 digits (random doubles) formatted by Python's ``repr``.
"""
import math

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from .._dtypes import NJIT, NJIT_PARALLEL
from ._floatparse import decimal_to_double
from ._io import open_for_writing

_POW10_U64 = np.array([10**k for k in range(20)], dtype=np.uint64)
_POW10_F64 = np.array([10.0**k for k in range(23)], dtype=np.float64)
#: Longest float32 rendering: sign, 9 digits, point, 'e-xx' (or a 16-digit integer).
_FLOAT_MAX_CHARS = 24


@njit(**NJIT)
def _n_digits(m):
    """Number of decimal digits of uint64 ``m`` (at least 1)."""
    n = 1
    while n < 20 and m >= _POW10_U64[n]:
        n += 1
    return n


@njit(**NJIT)
def _write_uint(out, p, m):
    """Decimal digits of uint64 ``m`` at ``out[p:]``; returns the new position."""
    n = _n_digits(m)
    for i in range(n):
        out[p + i] = 48 + np.uint8((m // _POW10_U64[n - 1 - i]) % np.uint64(10))
    return p + n


@njit(**NJIT)
def _write_int(out, p, v):
    """Signed int64 ``v`` in decimal."""
    if v < 0:
        out[p] = 45
        return _write_uint(out, p + 1, np.uint64(-(v + 1)) + np.uint64(1))
    return _write_uint(out, p, np.uint64(v))


@njit(**NJIT)
def _write_decimal(out, p, m, k):
    """Write ``m * 10**k`` (``m > 0``) in plain notation when its leading
    digit's exponent is in [-4, 16), otherwise as ``d.ddde±x``."""
    while m % np.uint64(10) == 0:
        m //= np.uint64(10)
        k += 1
    n = _n_digits(m)
    e = n - 1 + k
    if -4 <= e < 16:
        if k >= 0:
            p = _write_uint(out, p, m)
            for _ in range(k):
                out[p] = 48
                p += 1
            return p
        if e >= 0:
            for i in range(n):
                if i == e + 1:
                    out[p] = 46
                    p += 1
                out[p] = 48 + np.uint8((m // _POW10_U64[n - 1 - i]) % np.uint64(10))
                p += 1
            return p
        out[p] = 48
        out[p + 1] = 46
        p += 2
        for _ in range(-e - 1):
            out[p] = 48
            p += 1
        return _write_uint(out, p, m)
    for i in range(n):
        if i == 1:
            out[p] = 46
            p += 1
        out[p] = 48 + np.uint8((m // _POW10_U64[n - 1 - i]) % np.uint64(10))
        p += 1
    out[p] = 101
    p += 1
    if e < 0:
        out[p] = 45
        p += 1
        e = -e
    return _write_uint(out, p, np.uint64(e))


@njit(**NJIT)
def _pow10(k):
    """``10.0**k`` (exact for 0 <= k <= 22), for 0 <= k <= 300."""
    if k <= 22:
        return _POW10_F64[k]
    return 10.0**k


@njit(**NJIT)
def _scaled(x, k):
    """``x / 10**k`` in binary64 for any ``k`` (two steps beyond 10**300).

    At most three roundings, so for results below 10**16 the error is far
    below one unit and the nearest integers bracket the exact quotient.
    """
    if k >= 0:
        while k > 300:
            x /= _pow10(300)
            k -= 300
        return x / _pow10(k)
    k = -k
    while k > 300:
        x *= _pow10(300)
        k -= 300
    return x * _pow10(k)


@njit(**NJIT)
def shortest_float32(x):
    """Shortest decimal ``(m, k)`` with ``float32(binary64(m * 10**k)) == x``.

    ``x`` is a positive finite float32. For precisions of 1 to 10 digits the
    three integers nearest ``x / 10**k`` are tried (the binary64 quotient is
    within one unit of the exact one) and checked by exact conversion. Nine
    digits always suffice for float32; ten covers an off-by-one estimate of
    the decimal exponent.
    """
    xd = np.float64(x)
    e10 = int(np.floor(np.log10(xd)))
    for n_dig in range(1, 11):
        k = e10 - n_dig + 1
        s = _scaled(xd, k)
        if not s < 1e18:
            continue
        base = np.int64(np.floor(s + 0.5))
        for delta in (0, -1, 1):
            m = base + delta
            if m <= 0:
                continue
            v, ok = decimal_to_double(np.uint64(m), k)
            if ok and np.float32(v) == x:
                return np.uint64(m), k
    return np.uint64(0), 0  # not reached for finite positive float32


@njit(**NJIT)
def shortest_float64(x):
    """Shortest decimal ``(m, k, found)`` of at most 15 digits with ``binary64(m * 10**k) == x``.

    ``x`` is a positive finite float64. For each precision the binary64
    quotient ``x / 10**k`` is within 0.3 of the exact one (15 digits at
    most), so the three nearest integers contain the correctly rounded
    significand; each candidate is checked by exact conversion. Values that
    need 16 or 17 digits return ``found=False`` (the caller uses Python's
    ``repr`` for them).
    """
    e10 = int(np.floor(np.log10(x)))
    for n_dig in range(1, 16):
        k = e10 - n_dig + 1
        s = _scaled(x, k)
        if not s < 1e18:
            continue
        base = np.int64(np.floor(s + 0.5))
        for delta in (0, -1, 1):
            m = base + delta
            if m <= 0:
                continue
            v, ok = decimal_to_double(np.uint64(m), k)
            if ok and v == x:
                return np.uint64(m), k, True
    return np.uint64(0), 0, False


@njit(**NJIT)
def _write_special(out, p, x):
    """nan / inf / -inf / 0 / -0; returns -1 when ``x`` is none of them."""
    if x != x:
        out[p] = 110
        out[p + 1] = 97
        out[p + 2] = 110
        return p + 3
    neg = math.copysign(1.0, x) < 0
    if x == 0 or x == np.inf or x == -np.inf:
        if neg:
            out[p] = 45
            p += 1
        if x == 0:
            out[p] = 48
            return p + 1
        out[p] = 105
        out[p + 1] = 110
        out[p + 2] = 102
        return p + 3
    return -1


@njit(**NJIT)
def _write_float32(out, p, x):
    """Write float32 ``x`` with its shortest exact decimal; returns the new position."""
    q = _write_special(out, p, x)
    if q >= 0:
        return q
    if x < 0:
        out[p] = 45
        p += 1
        x = -x
    m, k = shortest_float32(np.float32(x))
    return _write_decimal(out, p, m, k)


@njit(**NJIT)
def _is_long_float64(x):
    """True when float64 ``x`` needs more than 15 digits (Python formats it)."""
    if x != x or x == 0 or x == np.inf or x == -np.inf:
        return False
    _, _, found = shortest_float64(abs(x))
    return not found


@njit(**NJIT)
def _write_float64(out, p, x, blob, offsets, b):
    """Write float64 ``x``; values needing 16-17 digits come from ``blob[b]``.

    Returns the new position and the next blob index.
    """
    q = _write_special(out, p, x)
    if q >= 0:
        return q, b
    a = abs(x)
    m, k, found = shortest_float64(a)
    if not found:
        return _write_blob(out, p, blob, offsets, b), b + 1
    if x < 0:
        out[p] = 45
        p += 1
    return _write_decimal(out, p, m, k), b


@njit(**NJIT)
def _write_blob(out, p, blob, offsets, i):
    """Copy string ``i`` of a blob (bytes + offsets) to ``out[p:]``."""
    for t in range(offsets[i], offsets[i + 1]):
        out[p] = blob[t]
        p += 1
    return p


@njit(**NJIT_PARALLEL)
def _count_long(dense, X, data, indptr, skip_zeros, counts):
    """Per row, the number of float64 values that need Python's repr."""
    n_rows = counts.shape[0]
    for r in prange(n_rows):
        c = 0
        if dense:
            for j in range(X.shape[1]):
                v = X[r, j]
                if not (skip_zeros and v == 0) and _is_long_float64(v):
                    c += 1
        else:
            for t in range(indptr[r], indptr[r + 1]):
                v = data[t]
                if not (skip_zeros and v == 0) and _is_long_float64(v):
                    c += 1
        counts[r] = c


@njit(**NJIT_PARALLEL)
def _collect_long(dense, X, data, indptr, skip_zeros, starts, out):
    """The float64 values that need Python's repr, in writing order."""
    for r in prange(starts.shape[0] - 1):
        b = starts[r]
        if dense:
            for j in range(X.shape[1]):
                v = X[r, j]
                if not (skip_zeros and v == 0) and _is_long_float64(v):
                    out[b] = v
                    b += 1
        else:
            for t in range(indptr[r], indptr[r + 1]):
                v = data[t]
                if not (skip_zeros and v == 0) and _is_long_float64(v):
                    out[b] = v
                    b += 1


@njit(**NJIT)
def _format_row(out, p, r, y_int, y_is_int, y_blob, y_off, qid, has_qid,
                dense, X, data, indices, indptr, base, skip_zeros,
                is64, x_blob, x_off, x_blob_start):
    """Format row ``r`` at ``out[p:]``; returns the position after its LF."""
    if y_is_int:
        p = _write_int(out, p, y_int[r])
    else:
        p = _write_blob(out, p, y_blob, y_off, r)
    if has_qid:
        out[p] = 32
        out[p + 1] = 113
        out[p + 2] = 105
        out[p + 3] = 100
        out[p + 4] = 58
        p = _write_int(out, p + 5, qid[r])
    b = x_blob_start[r] if is64 else 0
    n_items = X.shape[1] if dense else indptr[r + 1] - indptr[r]
    for t in range(n_items):
        if dense:
            v = X[r, t]
            col = t
        else:
            v = data[indptr[r] + t]
            col = indices[indptr[r] + t]
        if skip_zeros and v == 0:
            continue
        out[p] = 32
        p = _write_uint(out, p + 1, np.uint64(col + base))
        out[p] = 58
        if is64:
            p, b = _write_float64(out, p + 1, np.float64(v), x_blob, x_off, b)
        else:
            p = _write_float32(out, p + 1, np.float32(v))
    out[p] = 10
    return p + 1


@njit(**NJIT_PARALLEL)
def _format_block(r0, r1, slot, out, lengths, y_int, y_is_int, y_blob, y_off, qid, has_qid,
                  dense, X, data, indices, indptr, base, skip_zeros, is64, x_blob, x_off, x_blob_start):
    """Format rows ``r0:r1`` in parallel, row ``r`` into ``out[(r-r0)*slot:]``."""
    for r in prange(r0, r1):
        start = (r - r0) * slot
        end = _format_row(out, start, r, y_int, y_is_int, y_blob, y_off, qid, has_qid,
                          dense, X, data, indices, indptr, base, skip_zeros, is64, x_blob, x_off, x_blob_start)
        lengths[r - r0] = end - start


@njit(**NJIT)
def _compact(out, slot, lengths, dest):
    """Concatenate the used part of each slot into ``dest``; returns its length."""
    p = 0
    for i in range(lengths.shape[0]):
        s = i * slot
        for t in range(lengths[i]):
            dest[p + t] = out[s + t]
        p += lengths[i]
    return p


def _blob(strings):
    """Concatenated ASCII bytes and offsets of a list of strings."""
    enc = [s.encode("ascii") for s in strings]
    offsets = np.zeros(len(enc) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in enc], out=offsets[1:])
    return np.frombuffer(b"".join(enc), dtype=np.uint8).copy() if enc else np.empty(0, np.uint8), offsets


def dump_svmlight(X, y, f, *, qid=None, zero_based=False, comment=None, skip_zeros=True, block_rows=8192):
    """Write ``X, y[, qid]`` as an svmlight / LETOR text file.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or sparse matrix
        Features. float32 values are written with the fewest digits (at
        most 9) that read back to the same float32; float64 values (and
        integers) with the fewest digits that read back to the same float64:
        up to 15 digits by the Numba kernel, 16-17 digits by Python's
        ``repr`` (slower, used only for those values). NaN is written as
        ``nan``, infinities as ``inf``/``-inf``.
    y : array-like of shape (n_samples,)
        Labels; integral labels are written as integers.
    f : str, os.PathLike or binary file object
        Destination. Paths ending in ``.gz``/``.bz2``/``.xz`` are compressed
        (gzip with a zero timestamp and no file name, so the bytes only
        depend on the content).
    qid : array-like of shape (n_samples,), optional
        Integer query ids, written as ``qid:<id>`` after the label.
    zero_based : bool, default=False
        False writes column ``j`` as index ``j + 1`` (LETOR convention).
    comment : str, optional
        Written first as ``#``-prefixed lines.
    skip_zeros : bool, default=True
        Omit zero values (readers restore them as 0). False writes every
        stored value, like LETOR files that list all features.
    block_rows : int, default=8192
        Rows formatted per parallel block (memory/speed trade-off).

    Notes
    -----
    ``load_svmlight(path, dtype=X.dtype, zero_based=zero_based)`` returns
    the same X bit for bit (for float32 or float64 X; NaN and infinities
    included), the same y and qid, provided ``n_features`` is given when
    trailing columns are all zero.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        X.sort_indices()
        dense = False
        n_rows, n_cols = X.shape
        values = X.data
        indices = np.ascontiguousarray(X.indices.astype(np.int64))
        indptr = np.ascontiguousarray(X.indptr.astype(np.int64))
    else:
        values = np.asarray(X)
        if values.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {values.shape}")
        dense = True
        n_rows, n_cols = values.shape
        indices = np.empty(0, dtype=np.int64)
        indptr = np.zeros(1, dtype=np.int64)
    if values.dtype == np.bool_:
        values = values.astype(np.float32)
    if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        raise TypeError(f"X must hold real numbers, got dtype {values.dtype}")
    # float32 (and float16, small integers) through the float32 writer: exact
    # for those types. Everything else as float64, exact for float64.
    small_ints = (np.issubdtype(values.dtype, np.integer) and values.size > 0
                  and int(np.abs(values).max()) < 2**24)
    is64 = not (values.dtype in (np.float32, np.float16) or small_ints or values.size == 0)
    values = np.ascontiguousarray(values, dtype=np.float64 if is64 else np.float32)
    if dense:
        Xd, data = values, np.empty(0, dtype=values.dtype)
    else:
        Xd, data = np.empty((0, n_cols), dtype=values.dtype), values

    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n_rows:
        raise ValueError(f"y must have shape ({n_rows},), got {y.shape}")
    yf = y.astype(np.float64)
    y_is_int = bool(np.all(np.isfinite(yf)) and np.all(yf == np.round(yf)) and np.all(np.abs(yf) < 2**53))
    if y_is_int:
        y_int = yf.astype(np.int64)
        y_blob, y_off = np.empty(0, np.uint8), np.zeros(1, np.int64)
        y_chars = 21
    else:
        y_int = np.empty(0, np.int64)
        y_blob, y_off = _blob([_py_repr(v) for v in yf])
        y_chars = int(np.diff(y_off).max()) if n_rows else 0
    has_qid = qid is not None
    if has_qid:
        qid_arr = np.asarray(qid)
        if qid_arr.shape != (n_rows,):
            raise ValueError(f"qid must have shape ({n_rows},), got {qid_arr.shape}")
        if not np.issubdtype(qid_arr.dtype, np.integer) and not np.all(qid_arr == np.round(qid_arr)):
            raise ValueError("qid must hold integers")
        qid_arr = qid_arr.astype(np.int64)
    else:
        qid_arr = np.empty(0, np.int64)

    x_blob, x_off = np.empty(0, np.uint8), np.zeros(1, np.int64)
    x_blob_start = np.zeros(1, np.int64)
    val_chars = _FLOAT_MAX_CHARS
    if is64:
        counts = np.empty(n_rows, dtype=np.int64)
        _count_long(dense, Xd, data, indptr, skip_zeros, counts)
        x_blob_start = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(counts, out=x_blob_start[1:])
        long_values = np.empty(int(x_blob_start[-1]), dtype=np.float64)
        _collect_long(dense, Xd, data, indptr, skip_zeros, x_blob_start, long_values)
        x_blob, x_off = _blob([repr(float(v)) for v in long_values])
        val_chars = 26

    base = 0 if zero_based else 1
    idx_chars = len(str(n_cols + base)) + 2
    if dense:
        max_items = n_cols
    else:
        max_items = int(np.diff(indptr).max()) if n_rows else 0
    slot = y_chars + 26 + max_items * (idx_chars + val_chars) + 2
    block_rows = max(1, int(block_rows))

    own = not hasattr(f, "write")
    fh = open_for_writing(f) if own else f
    try:
        if comment:
            for line in str(comment).splitlines():
                fh.write(b"# " + line.encode("utf-8") + b"\n")
        out = np.empty(min(block_rows, max(n_rows, 1)) * slot, dtype=np.uint8)
        dest = np.empty_like(out)
        for r0 in range(0, n_rows, block_rows):
            r1 = min(n_rows, r0 + block_rows)
            lengths = np.empty(r1 - r0, dtype=np.int64)
            _format_block(r0, r1, slot, out, lengths, y_int, y_is_int, y_blob, y_off, qid_arr, has_qid,
                          dense, Xd, data, indices, indptr, base, skip_zeros, is64, x_blob, x_off, x_blob_start)
            n = _compact(out, slot, lengths, dest)
            fh.write(dest[:n].tobytes())
    finally:
        if own:
            fh.close()


def _py_repr(v):
    """Python's shortest round-trip repr, in svmlight spelling."""
    v = float(v)
    if v != v:
        return "nan"
    if v == float("inf"):
        return "inf"
    if v == float("-inf"):
        return "-inf"
    if v == int(v) and abs(v) < 2**53:
        return str(int(v))
    return repr(v)
