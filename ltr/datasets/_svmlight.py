"""svmlight / LETOR text files: a parallel Numba reader and a writer.

File format (as read by ``sklearn.datasets.load_svmlight_file(f,
query_id=True)``, whose results this reader reproduces bit for bit)::

    <label> [qid:<int>] <index>:<value> <index>:<value> ... [# comment]

* Items are separated by blanks (space, tab, CR, VT, FF); lines by LF, so
  CRLF files read as is. A ``#`` ends the useful part of a line; empty and
  comment-only lines are skipped. A UTF-8 byte-order mark is skipped.
* Labels and values are decimal numbers (sign, exponent, ``nan``, ``inf``
  accepted) converted with correct rounding, exactly as Python's ``float``
  does; values are then rounded once more to the requested ``dtype``.
* ``qid:`` must be the first item after the label. Either every data line has
  one or none does.
* Indices are non-negative integers, strictly increasing within a line.
  ``zero_based="auto"`` (the default, as in scikit-learn) treats the file as
  one-based -- feature ``j`` becomes column ``j - 1`` -- unless an index 0
  occurs. LETOR, MSLR, Yahoo and Istella files are one-based.
* Absent features are 0 (sparse semantics); explicit ``nan`` values stay NaN
  and a written ``-0`` stays -0.0 (scikit-learn's CSR keeps it too; its
  ``toarray()`` turns it into +0.0).

The reader makes two passes over the bytes, both parallel over chunks that
end at line boundaries: the first counts rows, items and the index range
(skipping over the numbers); the second validates every number and writes
the values straight into the output arrays at offsets known from the first
pass, so the result does not depend on the number of threads. The rare
numbers whose exact conversion needs Python (see :mod:`._floatparse`) are
located by a third pass that only runs when there are any.
"""
import os

import numpy as np
import scipy.sparse as sp
from numba import get_num_threads, njit, prange

from .._dtypes import NJIT, NJIT_PARALLEL
from . import _cache
from ._floatparse import HARD, OK, parse_number
from ._io import describe_source, line_of, open_for_writing, read_bytes

# Per-chunk statistics written by the scan pass (columns of `stats`).
_ST_ROWS = 0
_ST_NNZ = 1
_ST_MIN_IDX = 2
_ST_MAX_IDX = 3
_ST_QID_ROWS = 4
_ST_FIRST_QID = 5
_ST_FIRST_NOQID = 6
_ST_HARD = 7
_ST_ERR = 8
_ST_ERR_POS = 9
_N_STATS = 10

_ERRORS = {
    1: "could not parse the label (a number is expected first on each line)",
    2: "could not parse the qid (an integer is expected after 'qid:')",
    3: "'qid:' must come right after the label",
    4: "expected an 'index:value' pair with a non-negative integer index",
    5: "feature index too large (the largest allowed is 2**31 - 1)",
    6: "negative feature index",
    7: (
        "feature index 0 in a one-based file; pass zero_based=True (or 'auto') "
        "if this file numbers its features from 0"
    ),
    8: "feature indices must be strictly increasing within a line (sorted, no duplicates)",
    9: "could not parse the feature value (a number is expected after ':')",
}

_HARD_LABEL = 0
_HARD_VALUE = 1
_MAX_INDEX = 2**31 - 1


@njit(**NJIT)
def _is_blank(c):
    """Item separator: space, tab, CR, VT or FF (LF ends the line)."""
    return c == 32 or c == 9 or c == 13 or c == 11 or c == 12


@njit(**NJIT)
def _ends_token(buf, j, end):
    """True when position ``j`` ends an item (end of data, blank, LF or '#')."""
    if j >= end:
        return True
    c = buf[j]
    return c == 10 or c == 35 or _is_blank(c)


@njit(**NJIT)
def _skip_line(buf, i, end):
    """Index just after the next LF at or after ``i`` (or ``end``)."""
    while i < end and buf[i] != 10:
        i += 1
    return i + 1 if i < end else end


@njit(**NJIT)
def _parse_index(buf, i, end):
    """Feature index at ``buf[i]``: (value, status, next); status 0 ok, 4 syntax, 5 too big, 6 negative."""
    if i < end and buf[i] == 45:
        return 0, 6, i
    if i < end and buf[i] == 43:
        i += 1
    v = 0
    n = 0
    while i < end:
        c = buf[i]
        if c < 48 or c > 57:
            break
        if v <= _MAX_INDEX:
            v = v * 10 + (int(c) - 48)
        n += 1
        i += 1
    if n == 0:
        return 0, 4, i
    if v > _MAX_INDEX:
        return 0, 5, i
    return v, 0, i


@njit(**NJIT)
def _parse_int64(buf, i, end):
    """Signed 64-bit integer at ``buf[i]``: (value, ok, next)."""
    neg = False
    if i < end and (buf[i] == 45 or buf[i] == 43):
        neg = buf[i] == 45
        i += 1
    v = np.uint64(0)
    n = 0
    limit = np.uint64(9223372036854775808)  # 2**63
    overflow = False
    while i < end:
        c = buf[i]
        if c < 48 or c > 57:
            break
        if not overflow:
            v = v * np.uint64(10) + np.uint64(c - 48)
            if v > limit:
                overflow = True
        n += 1
        i += 1
    if n == 0 or overflow or (not neg and v == limit):
        return 0, False, i
    if neg:
        return -np.int64(v - np.uint64(1)) - 1, True, i
    return np.int64(v), True, i


@njit(**NJIT)
def _chunk_bounds(buf, start, n_chunks):
    """Split ``buf[start:]`` into ``n_chunks`` ranges that end just after a LF."""
    n = buf.shape[0]
    bounds = np.empty(n_chunks + 1, dtype=np.int64)
    bounds[0] = start
    for c in range(1, n_chunks):
        p = start + (n - start) * c // n_chunks
        if p < bounds[c - 1]:
            p = bounds[c - 1]
        while p < n and p > start and buf[p - 1] != 10:
            p += 1
        bounds[c] = p
    bounds[n_chunks] = n
    return bounds


# Modes of _parse_chunk.
_COUNT = 0    # structure only: rows, items, indices, qid presence; numbers are skipped
_CHECK = 1    # full validation, no output (to locate the first error)
_FILL = 2     # full validation and output; numbers needing Python are counted, left NaN
_COLLECT = 3  # full validation; record only the positions of numbers needing Python


@njit(**NJIT)
def _skip_item(buf, i, end):
    """Index of the delimiter ending the item that starts at ``i``."""
    while i < end:
        c = buf[i]
        if c == 10 or c == 35 or _is_blank(c):
            return i
        i += 1
    return i


@njit(**NJIT)
def _parse_chunk(
    buf, start, end, mode, dense, col_offset, reject_zero,
    row0, k0, hard0,
    y, qid, X, data, indices, indptr,
    hard_kind, hard_dest, hard_start, hard_end,
    stats,
):
    """Walk the lines of ``buf[start:end]`` in one of the modes above.

    Every mode applies the same item structure (label, optional ``qid:``,
    ``index:value`` pairs, ``#`` comments), so on valid input all modes see
    the same rows and items; the ``_COUNT`` mode only skips over the
    numbers, which is where the time goes. Outputs go to rows ``row0...``,
    non-zeros ``k0...`` and hard-number records ``hard0...``. The walk stops
    at the first error and records its code and byte position in ``stats``
    (see ``_ST_*``).
    """
    full = mode != _COUNT
    fill = mode == _FILL
    collect = mode == _COLLECT
    n_cols = X.shape[1]
    row = row0
    k = k0
    nh = hard0
    n_rows = 0
    nnz = 0
    min_idx = _MAX_INDEX + 1
    max_idx = -1
    qid_rows = 0
    first_qid = -1
    first_noqid = -1
    n_hard = 0
    err = 0
    err_pos = -1
    i = start
    while i < end:
        while i < end and _is_blank(buf[i]):
            i += 1
        if i >= end:
            break
        c = buf[i]
        if c == 10:
            i += 1
            continue
        if c == 35:
            i = _skip_line(buf, i, end)
            continue
        line_start = i
        # Label.
        if full:
            v, st, j = parse_number(buf, i, end, not collect)
            if st != OK and st != HARD or not _ends_token(buf, j, end):
                err = 1
                err_pos = i
                break
            if st == HARD:
                n_hard += 1
                if collect:
                    hard_kind[nh] = _HARD_LABEL
                    hard_dest[nh] = row
                    hard_start[nh] = i
                    hard_end[nh] = j
                    nh += 1
                elif fill:
                    y[row] = np.nan
            elif fill:
                y[row] = v
        else:
            j = _skip_item(buf, i, end)
        i = j
        has_qid = False
        first_item = True
        prev_idx = -1
        while True:
            while i < end and _is_blank(buf[i]):
                i += 1
            if i >= end or buf[i] == 10 or buf[i] == 35:
                break
            tok = i
            is_qid = i + 3 < end and buf[i] == 113 and buf[i + 1] == 105 and buf[i + 2] == 100 and buf[i + 3] == 58
            if is_qid:
                if not first_item:
                    err = 3
                    err_pos = tok
                    break
                if full:
                    q, ok, j = _parse_int64(buf, i + 4, end)
                    if not ok or not _ends_token(buf, j, end):
                        err = 2
                        err_pos = tok
                        break
                    if fill:
                        qid[row] = q
                else:
                    j = _skip_item(buf, i + 4, end)
                has_qid = True
                first_item = False
                i = j
                continue
            first_item = False
            idx, ist, j = _parse_index(buf, i, end)
            if ist != 0:
                err = ist
                err_pos = tok
                break
            if j >= end or buf[j] != 58:  # ':'
                err = 4
                err_pos = tok
                break
            if idx == 0 and reject_zero:
                err = 7
                err_pos = tok
                break
            if idx <= prev_idx:
                err = 8
                err_pos = tok
                break
            col = idx - col_offset
            if full:
                v, st, j2 = parse_number(buf, j + 1, end, not collect)
                if st != OK and st != HARD or not _ends_token(buf, j2, end):
                    err = 9
                    err_pos = j + 1
                    break
                if st == HARD:
                    n_hard += 1
                    if collect:
                        hard_kind[nh] = _HARD_VALUE
                        hard_dest[nh] = row * n_cols + col if dense else k
                        hard_start[nh] = j + 1
                        hard_end[nh] = j2
                        nh += 1
                    v = np.nan
                if fill:
                    if dense:
                        X[row, col] = v
                    else:
                        indices[k] = col
                        data[k] = v
            else:
                j2 = _skip_item(buf, j + 1, end)
            k += 1
            nnz += 1
            prev_idx = idx
            if idx < min_idx:
                min_idx = idx
            if idx > max_idx:
                max_idx = idx
            i = j2
        if err != 0:
            break
        if has_qid:
            qid_rows += 1
            if first_qid < 0:
                first_qid = line_start
        elif first_noqid < 0:
            first_noqid = line_start
        if fill and not dense:
            indptr[row + 1] = k
        row += 1
        n_rows += 1
        if i < end:
            i = _skip_line(buf, i, end)
    stats[_ST_ROWS] = n_rows
    stats[_ST_NNZ] = nnz
    stats[_ST_MIN_IDX] = min_idx
    stats[_ST_MAX_IDX] = max_idx
    stats[_ST_QID_ROWS] = qid_rows
    stats[_ST_FIRST_QID] = first_qid
    stats[_ST_FIRST_NOQID] = first_noqid
    stats[_ST_HARD] = n_hard
    stats[_ST_ERR] = err
    stats[_ST_ERR_POS] = err_pos


@njit(**NJIT_PARALLEL)
def _parse_chunks(
    buf, bounds, active, mode, dense, col_offset, reject_zero,
    row_starts, k_starts, hard_starts,
    y, qid, X, data, indices, indptr,
    hard_kind, hard_dest, hard_start, hard_end,
    stats,
):
    """Run :func:`_parse_chunk` on every active chunk in parallel (disjoint outputs)."""
    for c in prange(bounds.shape[0] - 1):
        if active[c]:
            _parse_chunk(
                buf, bounds[c], bounds[c + 1], mode, dense, col_offset, reject_zero,
                row_starts[c], k_starts[c], hard_starts[c],
                y, qid, X, data, indices, indptr,
                hard_kind, hard_dest, hard_start, hard_end,
                stats[c],
            )


def _n_chunks(n_bytes, n_threads):
    """Number of chunks for a buffer of ``n_bytes``."""
    # Several chunks per thread balance uneven line lengths; at least ~1 MB
    # each so that small files stay single-threaded.
    if n_threads is None:
        n_threads = get_num_threads()
    return int(max(1, min(4 * n_threads, n_bytes // (1 << 20))))


def _raise_at(name, buf, pos, message):
    """Raise ValueError naming the source and the line holding byte ``pos``."""
    line_no, text = line_of(buf, pos)
    raise ValueError(f"{name}, line {line_no}: {message}: {text!r}")


def _raise_first_error(name, buf, stats):
    """Raise the error of the first failing chunk (chunks are in file order)."""
    c = np.flatnonzero(stats[:, _ST_ERR])[0]
    _raise_at(name, buf, stats[c, _ST_ERR_POS], _ERRORS[int(stats[c, _ST_ERR])])


def _offsets(counts):
    """Exclusive prefix sums (start offset of each chunk)."""
    return np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)


def parse_svmlight_bytes(buf, *, name="<bytes>", n_features=None, dense=True, dtype=np.float32,
                         zero_based="auto", n_threads=None):
    """Parse svmlight/LETOR content already in memory.

    See :func:`load_svmlight` for the parameters; ``buf`` is a ``uint8``
    array and ``name`` is used in error messages. Returns ``(X, y, qid,
    info)`` where ``info`` holds ``min_index`` and ``max_index`` (the raw
    file indices, -1 when there is no feature at all) and the column
    offset applied.

    Passes (each parallel over chunks ending at line boundaries): count the
    structure; fill the outputs at offsets known from the counts, validating
    every number; only if some number needs Python's exact conversion,
    collect those numbers' positions. Errors found by the counting pass are
    located by a full validation pass, so the reported line is always the
    first bad line of the file.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dtype}")
    if zero_based not in ("auto", True, False):
        raise ValueError(f"zero_based must be True, False or 'auto', got {zero_based!r}")
    start = 3 if buf.shape[0] >= 3 and bytes(buf[:3]) == b"\xef\xbb\xbf" else 0
    n_chunks = _n_chunks(buf.shape[0] - start, n_threads)
    bounds = _chunk_bounds(buf, start, n_chunks)
    all_chunks = np.ones(n_chunks, dtype=np.bool_)
    zeros_i64 = np.zeros(n_chunks, dtype=np.int64)
    e_f64 = np.empty(0, dtype=np.float64)
    e_i64 = np.empty(0, dtype=np.int64)
    e_i32 = np.empty(0, dtype=np.int32)
    e_i8 = np.empty(0, dtype=np.int8)
    e_X = np.empty((0, 0), dtype=dtype)
    e_data = np.empty(0, dtype=dtype)
    reject_zero = zero_based is False

    def run(mode, active, stats, row_starts=zeros_i64, k_starts=zeros_i64, hard_starts=zeros_i64,
            outputs=(e_f64, e_i64, e_X, e_data, e_i32, e_i64), hard=(e_i8, e_i64, e_i64, e_i64), col_offset=0):
        _parse_chunks(buf, bounds, active, mode, dense, col_offset, reject_zero, row_starts, k_starts,
                      hard_starts, *outputs, *hard, stats)

    stats = np.zeros((n_chunks, _N_STATS), dtype=np.int64)
    run(_COUNT, all_chunks, stats)
    if stats[:, _ST_ERR].any():
        check = np.zeros_like(stats)
        run(_CHECK, all_chunks, check)
        _raise_first_error(name, buf, check)

    rows = stats[:, _ST_ROWS]
    nnzs = stats[:, _ST_NNZ]
    n_rows = int(rows.sum())
    nnz = int(nnzs.sum())
    qid_rows = int(stats[:, _ST_QID_ROWS].sum())
    if 0 < qid_rows < n_rows:
        # A mixed file may also hold a bad number before the mixed line.
        check = np.zeros_like(stats)
        run(_CHECK, all_chunks, check)
        with_qid = stats[:, _ST_FIRST_QID]
        without = stats[:, _ST_FIRST_NOQID]
        a = int(with_qid[with_qid >= 0].min())
        b = int(without[without >= 0].min())
        errs = np.flatnonzero(check[:, _ST_ERR])
        if errs.size and line_of(buf, check[errs[0], _ST_ERR_POS])[0] <= line_of(buf, max(a, b))[0]:
            _raise_first_error(name, buf, check)
        la = line_of(buf, a)[0]
        lb = line_of(buf, b)[0]
        if a < b:
            detail = f"line {la} has a qid, line {lb} has none"
        else:
            detail = f"line {lb} has no qid, line {la} has one"
        raise ValueError(
            f"{name}, line {max(la, lb)}: lines with and without 'qid:' are mixed ({detail}); "
            f"either every line or no line must carry a qid: {line_of(buf, max(a, b))[1]!r}"
        )
    has_idx = stats[:, _ST_MAX_IDX] >= 0
    min_index = int(stats[has_idx, _ST_MIN_IDX].min()) if has_idx.any() else -1
    max_index = int(stats[has_idx, _ST_MAX_IDX].max()) if has_idx.any() else -1
    if zero_based is False:
        col_offset = 1
    elif zero_based is True:
        col_offset = 0
    else:
        # scikit-learn's rule: one-based unless an index 0 occurs (or no index at all).
        col_offset = 1 if min_index > 0 else 0
    n_f = max_index + 1 - col_offset if max_index >= 0 else 0
    if n_features is None:
        n_features = n_f
    else:
        n_features = int(n_features)
        if n_features < n_f:
            raise ValueError(
                f"{name}: n_features={n_features} is too small, the file has feature "
                f"indices up to {max_index} ({n_f} columns with {'one' if col_offset else 'zero'}-based indices)"
            )

    row_starts = _offsets(rows)
    k_starts = _offsets(nnzs)
    y = np.empty(n_rows, dtype=np.float64)
    qid = np.empty(n_rows if qid_rows else 0, dtype=np.int64)
    if dense:
        X = np.zeros((n_rows, n_features), dtype=dtype)
        data, indices, indptr = e_data, e_i32, e_i64
    else:
        X = np.empty((0, n_features), dtype=dtype)
        data = np.empty(nnz, dtype=dtype)
        indices = np.empty(nnz, dtype=np.int32)
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
    outputs = (y, qid, X, data, indices, indptr)
    fill_stats = np.zeros_like(stats)
    run(_FILL, all_chunks, fill_stats, row_starts, k_starts, outputs=outputs, col_offset=col_offset)
    if fill_stats[:, _ST_ERR].any():
        _raise_first_error(name, buf, fill_stats)
    if not (np.array_equal(fill_stats[:, _ST_ROWS], rows) and np.array_equal(fill_stats[:, _ST_NNZ], nnzs)):
        raise RuntimeError(f"{name}: internal error, the counting and filling passes disagree")

    hards = fill_stats[:, _ST_HARD]
    n_hard = int(hards.sum())
    if n_hard:
        # Numbers the kernel could not convert exactly: Python's float is exact.
        hard = (np.empty(n_hard, np.int8), np.empty(n_hard, np.int64), np.empty(n_hard, np.int64),
                np.empty(n_hard, np.int64))
        run(_COLLECT, hards > 0, np.zeros_like(stats), row_starts, k_starts, _offsets(hards),
            outputs=(e_f64, e_i64, X if dense else e_X, e_data, e_i32, e_i64), hard=hard, col_offset=col_offset)
        hard_kind, hard_dest, hard_start, hard_end = hard
        flat_X = X.reshape(-1) if dense else None
        for t in range(n_hard):
            value = float(bytes(buf[hard_start[t]:hard_end[t]]))
            if hard_kind[t] == _HARD_LABEL:
                y[hard_dest[t]] = value
            elif dense:
                flat_X[hard_dest[t]] = value
            else:
                data[hard_dest[t]] = value
    if not dense:
        idx_dtype = np.int32 if nnz < 2**31 else np.int64
        X = sp.csr_matrix(
            (data, indices.astype(idx_dtype, copy=False), indptr.astype(idx_dtype, copy=False)),
            shape=(n_rows, n_features),
        )
    info = {"min_index": min_index, "max_index": max_index, "col_offset": col_offset}
    return X, y, (qid if qid_rows else None), info


def load_svmlight(source, *, n_features=None, dense=True, dtype=np.float32, zero_based="auto",
                  cache_dir=None, n_threads=None):
    """Load an svmlight / LETOR file with query ids (MSLR, Yahoo, Istella, LETOR 4.0).

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        The file. ``.gz``, ``.bz2`` and ``.xz`` files are decompressed by
        suffix. CRLF line ends, blank lines and ``#`` comments are accepted.
    n_features : int, optional
        Number of columns. By default the largest index in the file decides;
        give it when several files must have the same width.
    dense : bool, default=True
        Return a C-contiguous ndarray (absent features are 0). With False,
        a ``scipy.sparse.csr_matrix`` holding exactly the pairs written in
        the file (explicit zeros included, as scikit-learn does).
    dtype : {np.float32, np.float64}, default=np.float32
        Type of X. Values are first rounded correctly to float64 (as
        Python's ``float``), then to ``dtype``.
    zero_based : {"auto", True, False}, default="auto"
        How file indices map to columns. False: index ``j`` is column
        ``j - 1`` and an index 0 is an error (LETOR convention). True:
        index ``j`` is column ``j``. "auto": one-based unless an index 0
        occurs (scikit-learn's rule).
    cache_dir : str or os.PathLike, optional
        If given, the parsed arrays are stored in this directory (created if
        needed) and reused while the source file is unchanged (same size,
        modification time and hash of its first and last MiB). Nothing is
        written anywhere unless this is given. Only for paths.
    n_threads : int, optional
        Number of chunks is derived from it (default: Numba's thread count).

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) or csr_matrix
    y : ndarray of shape (n_samples,), float64
        The labels exactly as written (correctly rounded).
    qid : ndarray of shape (n_samples,), int64, or None
        None when the file has no ``qid:`` items.

    Raises
    ------
    ValueError
        On malformed input, naming the file and line: unparsable numbers,
        non-increasing indices, ``qid:`` in the wrong place or on only some
        lines, index 0 with ``zero_based=False``, too small ``n_features``.

    Notes
    -----
    The results equal ``sklearn.datasets.load_svmlight_file(f, dtype=dtype,
    query_id=True, zero_based=zero_based)`` bit for bit (X densified, y as
    float64, qid as int64). Unlike scikit-learn, Python's ``1_000`` digit
    separators are rejected, a leading UTF-8 byte-order mark is skipped, and
    a file mixing lines with and without ``qid:`` is an error.
    """
    X, y, qid, _ = _load(source, n_features=n_features, dense=dense, dtype=dtype, zero_based=zero_based,
                         cache_dir=cache_dir, n_threads=n_threads)
    return X, y, qid


def _load(source, *, n_features, dense, dtype, zero_based, cache_dir, n_threads=None):
    """:func:`load_svmlight` plus the ``info`` dict (index range, offset)."""
    options = {
        "n_features": None if n_features is None else int(n_features),
        "dense": bool(dense),
        "dtype": np.dtype(dtype).name,
        "zero_based": zero_based,
    }
    is_path = isinstance(source, (str, os.PathLike))
    if cache_dir is not None:
        if not is_path:
            raise TypeError("cache_dir needs a file path as source (the cache is keyed on the file)")
        hit = _cache.load(cache_dir, source, "svmlight", options)
        if hit is not None:
            return _from_cache(hit, dense)
    buf = read_bytes(source)
    X, y, qid, info = parse_svmlight_bytes(
        buf, name=describe_source(source), n_features=n_features, dense=dense,
        dtype=dtype, zero_based=zero_based, n_threads=n_threads,
    )
    del buf
    if cache_dir is not None:
        _cache.store(cache_dir, source, "svmlight", options, _to_cache(X, y, qid, dense, info))
    return X, y, qid, info


def _to_cache(X, y, qid, dense, info):
    """Arrays stored in the cache for one parse."""
    arrays = {"y": y, "info": np.array([info["min_index"], info["max_index"], info["col_offset"]], dtype=np.int64)}
    if qid is not None:
        arrays["qid"] = qid
    if dense:
        arrays["X"] = X
    else:
        arrays["data"] = X.data
        arrays["indices"] = X.indices
        arrays["indptr"] = X.indptr
        arrays["shape"] = np.array(X.shape, dtype=np.int64)
    return arrays


def _from_cache(arrays, dense):
    """Inverse of :func:`_to_cache`: ``(X, y, qid, info)``."""
    y = arrays["y"]
    qid = arrays.get("qid")
    if dense:
        X = arrays["X"]
    else:
        X = sp.csr_matrix((arrays["data"], arrays["indices"], arrays["indptr"]), shape=tuple(arrays["shape"]))
    lo, hi, off = (int(v) for v in arrays["info"])
    return X, y, qid, {"min_index": lo, "max_index": hi, "col_offset": off}
