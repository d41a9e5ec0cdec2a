"""Writing svmlight / LETOR files fast and losslessly.

Rows are formatted by a parallel Numba kernel in blocks, each row into its
own fixed-size slot, then compacted and written; memory stays bounded for
any file size. Values of float32 matrices are written with the fewest
significant digits (at most 9) that read back to the same float32 through a
correctly rounding reader (this module's reader, scikit-learn's or
Python's): every candidate is checked with the exact decimal-to-binary64
conversion of :mod:`._floatparse`, then rounded to float32 the way readers
do. float64 matrices whose values are all float32 take the same path; other
float64 values are written with Python's shortest ``repr`` (slower).
"""
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
    if 0 <= k <= 22:
        return _POW10_F64[k]
    return 10.0**k


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
        if k >= 0:
            s = xd / _pow10(k)
        else:
            s = xd * _pow10(-k)
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
def _write_float32(out, p, x):
    if x != x:
        out[p] = 110
        out[p + 1] = 97
        out[p + 2] = 110
        return p + 3
    if x < 0:
        out[p] = 45
        p += 1
        x = -x
    if x == 0:
        out[p] = 48
        return p + 1
    if x == np.inf:
        out[p] = 105
        out[p + 1] = 110
        out[p + 2] = 102
        return p + 3
    m, k = shortest_float32(np.float32(x))
    return _write_decimal(out, p, m, k)


@njit(**NJIT)
def _write_blob(out, p, blob, offsets, i):
    for t in range(offsets[i], offsets[i + 1]):
        out[p] = blob[t]
        p += 1
    return p


@njit(**NJIT)
def _format_row(out, p, r, y_int, y_is_int, y_blob, y_off, qid, has_qid,
                dense, X, data, indices, indptr, base, skip_zeros,
                x_blob, x_off, x_is_blob):
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
    if dense:
        for j in range(X.shape[1]):
            v = X[r, j]
            if skip_zeros and v == 0:
                continue
            out[p] = 32
            p = _write_uint(out, p + 1, np.uint64(j + base))
            out[p] = 58
            if x_is_blob:
                p = _write_blob(out, p + 1, x_blob, x_off, r * X.shape[1] + j)
            else:
                p = _write_float32(out, p + 1, np.float32(v))
    else:
        for t in range(indptr[r], indptr[r + 1]):
            v = data[t]
            if skip_zeros and v == 0:
                continue
            out[p] = 32
            p = _write_uint(out, p + 1, np.uint64(indices[t] + base))
            out[p] = 58
            if x_is_blob:
                p = _write_blob(out, p + 1, x_blob, x_off, t)
            else:
                p = _write_float32(out, p + 1, np.float32(v))
    out[p] = 10
    return p + 1


@njit(**NJIT_PARALLEL)
def _format_block(r0, r1, slot, out, lengths, y_int, y_is_int, y_blob, y_off, qid, has_qid,
                  dense, X, data, indices, indptr, base, skip_zeros, x_blob, x_off, x_is_blob):
    """Format rows ``r0:r1`` in parallel, row ``r`` into ``out[(r-r0)*slot:]``."""
    for r in prange(r0, r1):
        start = (r - r0) * slot
        end = _format_row(out, start, r, y_int, y_is_int, y_blob, y_off, qid, has_qid,
                          dense, X, data, indices, indptr, base, skip_zeros, x_blob, x_off, x_is_blob)
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


def _exact_float32(values):
    """True when every value is exactly a float32 (NaN and inf included)."""
    with np.errstate(over="ignore", invalid="ignore"):
        v32 = values.astype(np.float32)
    same = (v32.astype(np.float64) == values) | (np.isnan(values) & np.isnan(v32))
    return bool(np.all(same))


def dump_svmlight(X, y, f, *, qid=None, zero_based=False, comment=None, skip_zeros=True, block_rows=8192):
    """Write ``X, y[, qid]`` as an svmlight / LETOR text file.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or sparse matrix
        Features. float32 values (and float64 values that are exactly
        float32) are written with the fewest digits that read back exactly;
        other float64 values use Python's shortest repr. NaN is written as
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
    ``load_svmlight(path, zero_based=zero_based)`` returns the same arrays
    (float32 X bit for bit, y, qid) for any content, including NaN and
    infinities, provided ``n_features`` is given when trailing columns are
    all zero.
    """
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        X.sort_indices()
        dense = False
        n_rows, n_cols = X.shape
        data = np.ascontiguousarray(X.data)
        indices = np.ascontiguousarray(X.indices.astype(np.int64))
        indptr = np.ascontiguousarray(X.indptr.astype(np.int64))
        Xd = np.empty((0, n_cols), dtype=np.float32)
        values = data
    else:
        Xd = np.asarray(X)
        if Xd.ndim != 2:
            raise ValueError(f"X must be 2-dimensional, got shape {Xd.shape}")
        dense = True
        n_rows, n_cols = Xd.shape
        data = np.empty(0, dtype=np.float32)
        indices = np.empty(0, dtype=np.int64)
        indptr = np.empty(0, dtype=np.int64)
        values = Xd
    if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        raise TypeError(f"X must hold real numbers, got dtype {values.dtype}")
    if values.dtype == np.float32 or (values.dtype != np.float64 and np.issubdtype(values.dtype, np.integer) and values.size and np.abs(values).max() < 2**24):
        x_is_blob = False
        values32 = values.astype(np.float32, copy=False)
    elif _exact_float32(values.astype(np.float64, copy=False)):
        x_is_blob = False
        values32 = values.astype(np.float32)
    else:
        x_is_blob = True
        values32 = None
    if not x_is_blob:
        if dense:
            Xd = np.ascontiguousarray(values32)
        else:
            data = np.ascontiguousarray(values32)
        x_blob, x_off = np.empty(0, np.uint8), np.zeros(1, np.int64)
    else:
        flat = np.asarray(values, dtype=np.float64).reshape(-1)
        x_blob, x_off = _blob([_py_repr(v) for v in flat])
        if dense:
            Xd = np.ascontiguousarray(values, dtype=np.float64)
        else:
            data = np.ascontiguousarray(values, dtype=np.float64)

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
        if not np.issubdtype(qid_arr.dtype, np.integer):
            if not np.all(qid_arr == np.round(qid_arr)):
                raise ValueError("qid must hold integers")
        qid_arr = qid_arr.astype(np.int64)
    else:
        qid_arr = np.empty(0, np.int64)

    base = 0 if zero_based else 1
    idx_chars = len(str(n_cols + base)) + 2
    val_chars = int(np.diff(x_off).max()) if (x_is_blob and x_off.shape[0] > 1) else _FLOAT_MAX_CHARS
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
                          dense, Xd, data, indices, indptr, base, skip_zeros, x_blob, x_off, x_is_blob)
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
