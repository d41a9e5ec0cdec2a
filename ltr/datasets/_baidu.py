"""Baidu-ULTR readers: the preprocessed session tables and the raw click logs.

Both layouts are described in ``shared/design/baidu_ultr_formats.md``; both
readers return the same :class:`BaiduULTR` container, one row per displayed
document, grouped by list (session, or annotated query):

* ``qid`` -- int64 list index ``0 .. n_lists - 1`` (rows of a list are
  contiguous). Baidu's own query id is *not* a session key (the same query
  is issued in many sessions) and is kept in ``query_columns["query_id"]``.
* ``position`` -- int32, 1-based display position.
* ``click`` -- int8, 0/1 (click data); ``label`` -- int8, 0..4 (expert
  annotations).
* ``X`` -- float32 features with ``feature_names``.
* ``doc_columns`` -- other per-row arrays; ``query_columns`` -- per-list
  arrays (length ``n_lists``).

**(a) Session tables** (Hager et al., SIGIR 2024; Hugging Face
``philipphager/baidu-ultr_*``): one row per session or annotated query, the
per-document columns being lists of equal length ``n``. Read from parquet or
Arrow/feather files, a ``pyarrow.Table``, a pandas DataFrame or a Hugging
Face ``datasets.Dataset``; only the needed columns are read.

**(b) Raw click logs** (``part-*.gz`` of the original release, WSDM Cup
2023): tab-separated lines; a line with at most 3 fields (``qid``,
``query``, ``query_reformulation``) opens a session, each following line with
32 fields is one displayed result. Parsed by a Numba kernel over
decompressed blocks that always end at a session boundary, so memory stays
bounded and sessions are never split between yielded chunks.

Position conventions of Hager et al. are available as options: results with
the "missing document" title (``21429``) can be dropped keeping the gap in
positions (1, [dropped], 3), and the "what other people searched" box
(``3742 11492 12169 5061 16905``) can be dropped without a gap (positions
after it move up by one). With both options, ``position`` equals their
published ``position`` column when the raw ``pos`` runs 1, 2, 3, ...
"""
from dataclasses import dataclass, field
import os
from pathlib import Path

import numpy as np
from numba import njit

from .._dtypes import NJIT
from .._validation import check_position
from ._floatparse import HARD, OK, parse_number
from ._io import iter_blocks

#: The 12 lexical ranking features of Hager et al.'s tables (their "ltr" set).
LEXICAL_FEATURES = (
    "bm25", "bm25_title", "bm25_abstract", "tf_idf", "tf", "idf",
    "ql_jelinek_mercer_short", "ql_jelinek_mercer_long", "ql_dirichlet",
    "document_length", "title_length", "abstract_length",
)
#: Other spellings found in the published tables / loader scripts.
_ALIASES = {"bm25_title": ("title_bm25",), "bm25_abstract": ("abstract_bm25",)}
#: Per-document click-side columns of the session tables.
CLICK_COLUMNS = ("media_type", "displayed_time", "serp_height", "slipoff_count_after_click")
_EMBEDDING = "query_document_embedding"
_QUERY_LEVEL = ("query_id", "query_md5", "frequency_bucket", "n", "query_length")

#: Field positions of a raw result line (32 tab-separated fields).
CLICKLOG_FIELDS = {
    "pos": 0, "url_md5": 1, "title": 2, "abstract": 3, "multimedia_type": 4, "media_type": 4,
    "click": 5, "skip": 8, "serp_height": 9, "displayed_time": 10, "displayed_time_middle": 11,
    "first_click": 12, "displayed_count": 13, "serp_max_show_height": 14,
    "slipoff_count_after_click": 15, "dwelling_time": 16, "displayed_time_top": 17,
    "serp_to_top": 18, "displayed_count_top": 19, "displayed_count_bottom": 20, "slipoff_count": 21,
    "final_click": 23, "displayed_time_bottom": 24, "click_count": 25, "displayed_count_2": 26,
    "last_click": 28, "reverse_display_count": 29, "displayed_count_middle": 30,
}
_TEXT_FIELDS = ("url_md5", "title", "abstract")
_FLOAT_FIELDS = ("displayed_time", "displayed_time_middle", "displayed_time_top", "displayed_time_bottom",
                 "dwelling_time")
#: Default per-document fields: the click-side columns of the session tables.
DEFAULT_CLICKLOG_FIELDS = CLICK_COLUMNS
_N_RESULT_FIELDS = 32

MISSING_DOCUMENT_TITLE = b"21429"
OTHERS_SEARCHED_TITLE = b"3742\x0111492\x0112169\x015061\x0116905"
_MISSING = np.frombuffer(MISSING_DOCUMENT_TITLE, dtype=np.uint8).copy()
_OTHERS = np.frombuffer(OTHERS_SEARCHED_TITLE, dtype=np.uint8).copy()


@dataclass
class BaiduULTR:
    """Baidu-ULTR rows (one per displayed document) grouped by list.

    Attributes
    ----------
    qid : ndarray of int64, shape (n_rows,)
        List (session or annotated query) index, 0-based, contiguous.
    position : ndarray of int32 or None
        1-based display position.
    click : ndarray of int8 or None
        Clicks (0/1).
    label : ndarray of int8 or None
        Expert relevance grades 0..4.
    X : ndarray of float32, shape (n_rows, n_features), or None
        Features named by ``feature_names``.
    feature_names : list of str
    doc_columns : dict of str -> ndarray (n_rows,)
        Other per-document columns.
    query_columns : dict of str -> ndarray (n_lists,)
        Per-list columns, e.g. ``query_id``.
    """

    qid: np.ndarray
    position: np.ndarray = None
    click: np.ndarray = None
    label: np.ndarray = None
    X: np.ndarray = None
    feature_names: list = field(default_factory=list)
    doc_columns: dict = field(default_factory=dict)
    query_columns: dict = field(default_factory=dict)

    @property
    def n_rows(self):
        """Number of document rows."""
        return int(self.qid.shape[0])

    @property
    def n_lists(self):
        """Number of lists (sessions or annotated queries)."""
        for v in self.query_columns.values():
            return int(len(v))
        return int(self.qid[-1]) + 1 if self.qid.size else 0

    @property
    def group_ptr(self):
        """int64 offsets (n_lists + 1) of the lists in row order."""
        return np.concatenate(([0], np.cumsum(np.bincount(self.qid, minlength=self.n_lists)))).astype(np.int64)

    def __len__(self):
        """Number of document rows."""
        return self.n_rows


def _concat(parts):
    """Concatenate BaiduULTR chunks, renumbering lists consecutively."""
    parts = [p for p in parts if p is not None]
    if not parts:
        return BaiduULTR(qid=np.empty(0, np.int64))
    if len(parts) == 1:
        return parts[0]
    offset = 0
    qids = []
    for p in parts:
        qids.append(p.qid + offset)
        offset += p.n_lists

    def cat(values):
        if any(v is None for v in values):
            return None
        return np.concatenate(values)

    first = parts[0]
    return BaiduULTR(
        qid=np.concatenate(qids),
        position=cat([p.position for p in parts]),
        click=cat([p.click for p in parts]),
        label=cat([p.label for p in parts]),
        X=None if first.X is None else np.concatenate([p.X for p in parts], axis=0),
        feature_names=list(first.feature_names),
        doc_columns={k: np.concatenate([p.doc_columns[k] for p in parts]) for k in first.doc_columns},
        query_columns={k: np.concatenate([p.query_columns[k] for p in parts]) for k in first.query_columns},
    )


# ---------------------------------------------------------------------------
# (a) Session tables
# ---------------------------------------------------------------------------

def _require_pyarrow():
    """Import pyarrow or explain how to install it."""
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:  # pragma: no cover - exercised only without pyarrow
        raise ImportError("reading Baidu-ULTR session tables needs pyarrow: pip install 'ltr[parquet]'") from exc
    import pyarrow as pa

    return pa


def _schema_names(source):
    """Column names of a file without reading its data."""
    pa = _require_pyarrow()
    path = Path(source)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_schema(path).names
    import pyarrow.ipc as ipc

    try:
        with pa.memory_map(str(path)) as f:
            return ipc.open_file(f).schema.names
    except pa.ArrowInvalid:
        with pa.memory_map(str(path)) as f:
            return ipc.open_stream(f).schema.names


def _read_table(source, columns):
    """Read ``columns`` of a parquet / feather / Arrow IPC file."""
    pa = _require_pyarrow()
    path = Path(source)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path, columns=columns)
    import pyarrow.feather as feather

    try:
        return feather.read_table(path, columns=columns, memory_map=True)
    except pa.ArrowInvalid:
        import pyarrow.ipc as ipc

        with pa.memory_map(str(path)) as f:
            return ipc.open_stream(f).read_all().select(columns)


def _as_table(obj):
    """pyarrow Table from a Table, pandas DataFrame or datasets.Dataset."""
    pa = _require_pyarrow()
    if isinstance(obj, pa.Table):
        return obj
    if hasattr(obj, "with_format") and hasattr(obj, "column_names"):  # datasets.Dataset
        return obj.with_format("arrow")[:]
    if hasattr(obj, "columns") and hasattr(obj, "iloc"):  # pandas
        return pa.Table.from_pandas(obj, preserve_index=False)
    raise TypeError(f"expected a path, a pyarrow Table, a pandas DataFrame or a datasets.Dataset, got {type(obj).__name__}")


def _flat_values(column):
    """Values and per-row lengths of a list column (ChunkedArray), any nesting kept in the values."""
    pa = _require_pyarrow()
    import pyarrow.compute as pc

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if isinstance(arr.type, pa.ExtensionType):
        arr = arr.storage
    if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type) or pa.types.is_fixed_size_list(arr.type)):
        return None, None
    if arr.null_count:
        raise ValueError("null list")
    lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    return arr.flatten(), lengths


def _to_numpy(values, dtype=None):
    """Arrow array to NumPy (copying only when needed), optionally cast."""
    out = values.to_numpy(zero_copy_only=False)
    return out if dtype is None else out.astype(dtype, copy=False)


def _resolve_features(names, features):
    """[(output name, column name)] of the requested feature columns."""
    if features is None:
        return []
    if isinstance(features, str):
        if features != "lexical":
            raise ValueError(f"features must be 'lexical', None or a list of column names, got {features!r}")
        wanted = list(LEXICAL_FEATURES)
        lenient = True
    else:
        wanted = list(features)
        lenient = False
    resolved = []
    for name in wanted:
        for candidate in (name,) + _ALIASES.get(name, ()):
            if candidate in names:
                resolved.append((name, candidate))
                break
        else:
            if not lenient:
                raise ValueError(f"feature column {name!r} not found; available: {sorted(names)}")
    return resolved


def _expand_table(table, name, features, embedding, doc_columns, query_columns):
    """BaiduULTR rows of one session table."""
    names = table.column_names
    lengths_ref = None
    ref_name = None

    def list_column(col):
        nonlocal lengths_ref, ref_name
        try:
            values, lengths = _flat_values(table.column(col))
        except ValueError:
            raise ValueError(f"{name}: column {col!r} has missing (null) lists") from None
        if values is None:
            raise ValueError(f"{name}: column {col!r} should hold one list per session, got {table.column(col).type}")
        if lengths_ref is None:
            lengths_ref, ref_name = lengths, col
        elif not np.array_equal(lengths, lengths_ref):
            bad = int(np.flatnonzero(lengths != lengths_ref)[0])
            raise ValueError(
                f"{name}, session row {bad}: column {col!r} has {lengths[bad]} entries but "
                f"{ref_name!r} has {lengths_ref[bad]}; all per-document lists of a session must have the same length"
            )
        return values

    out = {}
    for col in ("position", "click", "label"):
        if col in names:
            out[col] = _to_numpy(list_column(col))
    feats = []
    for out_name, col in features:
        feats.append((out_name, _to_numpy(list_column(col), np.float32)))
    emb = None
    if embedding:
        if _EMBEDDING not in names:
            raise ValueError(f"{name}: no {_EMBEDDING!r} column (embedding=True)")
        values = list_column(_EMBEDDING)
        inner = values
        pa = _require_pyarrow()
        if isinstance(inner.type, pa.ExtensionType):
            inner = inner.storage
        inner_lengths = None
        if pa.types.is_list(inner.type) or pa.types.is_large_list(inner.type) or pa.types.is_fixed_size_list(inner.type):
            import pyarrow.compute as pc

            inner_lengths = pc.list_value_length(inner).to_numpy(zero_copy_only=False)
            inner = inner.flatten()
        flat = _to_numpy(inner, np.float32)
        if inner_lengths is None or inner_lengths.size == 0:
            dim = 0 if inner_lengths is not None else 1
        else:
            dim = int(inner_lengths[0])
            if np.any(inner_lengths != dim):
                raise ValueError(f"{name}: embeddings of different sizes in {_EMBEDDING!r}")
        emb = flat.reshape(-1, dim) if dim else np.empty((0, 0), np.float32)
    extra = {}
    for col in doc_columns:
        extra[col] = _to_numpy(list_column(col))
    if lengths_ref is None:
        raise ValueError(f"{name}: no per-document list column found (expected e.g. click, label, position or features)")
    if "n" in names:
        n_col = table.column("n").to_numpy(zero_copy_only=False)
        if not np.array_equal(n_col.astype(np.int64), lengths_ref):
            bad = int(np.flatnonzero(n_col != lengths_ref)[0])
            raise ValueError(f"{name}, session row {bad}: n={n_col[bad]} but the lists have {lengths_ref[bad]} entries")
    n_lists = lengths_ref.shape[0]
    n_rows = int(lengths_ref.sum())
    qid = np.repeat(np.arange(n_lists, dtype=np.int64), lengths_ref)

    position = click = label = None
    if "position" in out:
        # The rule is the estimator's (check_position); the message adds the session row.
        below = out["position"] < 1
        where = f"{name}, session row {int(qid[np.argmax(below)])}" if below.any() else name
        position = check_position(out["position"], n_rows, name=f"{where}: position").astype(np.int32)
    if "click" in out:
        c = out["click"]
        if c.size and not np.all((c == 0) | (c == 1)):
            bad = int(qid[np.argmax((c != 0) & (c != 1))])
            raise ValueError(f"{name}, session row {bad}: clicks must be 0 or 1")
        click = c.astype(np.int8)
    if "label" in out:
        lab = out["label"]
        if lab.size and (lab.min() < 0 or lab.max() > 4):
            bad = int(qid[np.argmax((lab < 0) | (lab > 4))])
            raise ValueError(f"{name}, session row {bad}: labels must be in 0..4")
        label = lab.astype(np.int8)
    blocks = [v.reshape(-1, 1) for _, v in feats]
    feature_names = [n for n, _ in feats]
    if emb is not None:
        if emb.shape[0] != n_rows:
            raise ValueError(f"{name}: {_EMBEDDING!r} has {emb.shape[0]} vectors for {n_rows} documents")
        blocks.append(emb)
        feature_names += [f"emb_{i}" for i in range(emb.shape[1])]
    X = np.ascontiguousarray(np.hstack(blocks), dtype=np.float32) if blocks else None
    qcols = {}
    for col in query_columns:
        qcols[col] = table.column(col).to_numpy(zero_copy_only=False)
    return BaiduULTR(qid=qid, position=position, click=click, label=label, X=X, feature_names=feature_names,
                     doc_columns=extra, query_columns=qcols)


def load_baidu_ultr_sessions(source, *, features="lexical", embedding=False, doc_columns="auto",
                             query_columns="auto"):
    """Load Baidu-ULTR session tables (one session per row) as document rows.

    Parameters
    ----------
    source : path, list of paths, pyarrow.Table, pandas.DataFrame or datasets.Dataset
        Parquet (``.parquet``) or Arrow IPC/feather files, or tables already
        in memory, of the Hugging Face ``philipphager/baidu-ultr_*`` click or
        annotation data: per-session list columns such as ``position``,
        ``click`` (click data), ``label`` (annotations), the lexical features
        and ``query_document_embedding``.
    features : "lexical", list of str or None, default="lexical"
        Columns stacked into X (float32): "lexical" takes whichever of the 12
        features in :data:`LEXICAL_FEATURES` are present (also under their
        other spellings ``title_bm25``/``abstract_bm25``); a list must name
        existing columns.
    embedding : bool, default=False
        Append the 768-d ``query_document_embedding`` (float16 in the files)
        to X as float32 columns ``emb_0..``. 768 float32 per document: about
        3 KB each, so load large splits part by part.
    doc_columns : "auto" or list of str
        Other per-document list columns to return in ``doc_columns``;
        "auto" takes the click-side columns present (:data:`CLICK_COLUMNS`).
    query_columns : "auto" or list of str
        Per-session scalar columns to return; "auto" takes those present of
        ``query_id, query_md5, frequency_bucket, n, query_length``.

    Returns
    -------
    BaiduULTR
        ``qid`` numbers the sessions 0.. in file order (over all sources);
        ``position``, ``click`` and ``label`` are present when the tables
        have them.

    Raises
    ------
    ValueError
        Naming the file and session row: lists of unequal length within a
        session, ``n`` disagreeing with them, positions < 1, clicks not 0/1,
        labels outside 0..4, missing requested columns.
    """
    sources = source if isinstance(source, (list, tuple)) else [source]
    parts = []
    for src in sources:
        if isinstance(src, (str, os.PathLike)):
            name = str(src)
            if not Path(src).is_file():
                raise FileNotFoundError(f"no such file: {src}")
            names = _schema_names(src)
        else:
            table = _as_table(src)
            name = f"<{type(src).__name__}>"
            names = table.column_names
        feats = _resolve_features(names, features)
        if doc_columns == "auto":
            dcols = [c for c in CLICK_COLUMNS if c in names]
        else:
            dcols = list(doc_columns)
        if query_columns == "auto":
            qcols = [c for c in _QUERY_LEVEL if c in names]
        else:
            qcols = list(query_columns)
        missing = [c for c in dcols + qcols if c not in names]
        if missing:
            raise ValueError(f"{name}: columns {missing} not found; available: {sorted(names)}")
        needed = [c for c in ("position", "click", "label", "n") if c in names]
        needed += [c for _, c in feats] + dcols + qcols + ([_EMBEDDING] if embedding and _EMBEDDING in names else [])
        needed = list(dict.fromkeys(needed))
        if isinstance(src, (str, os.PathLike)):
            table = _read_table(src, needed)
        else:
            table = table.select(needed)
        # Lists are numbered 0.. within each source; _concat renumbers them.
        parts.append(_expand_table(table, name, feats, embedding, dcols, qcols))
    return _concat(parts)


# ---------------------------------------------------------------------------
# (b) Raw click logs
# ---------------------------------------------------------------------------

# status slots written by the kernel
_K_DOCS = 0
_K_SESSIONS = 1
_K_ERR = 2
_K_ERR_POS = 3
_K_STOP = 4
_K_HARD = 5

_CLICKLOG_ERRORS = {
    1: "a result line appears before any session header line",
    2: "could not parse the session's qid (an integer is expected in the first field)",
    3: "result lines must have 32 tab-separated fields",
    4: "could not parse the position (field 0, an integer >= 1 is expected)",
    5: "the click field (field 5) must be 0 or 1",
    6: "could not parse a numeric field",
}


@njit(**NJIT)
def _span_equals(buf, s, e, ref):
    """True when ``buf[s:e]`` equals the byte array ``ref``."""
    if e - s != ref.shape[0]:
        return False
    for t in range(ref.shape[0]):
        if buf[s + t] != ref[t]:
            return False
    return True


@njit(**NJIT)
def _parse_whole_int(buf, s, e):
    """Non-negative integer filling ``buf[s:e]`` exactly: (value, ok)."""
    if s >= e:
        return 0, False
    v = 0
    for t in range(s, e):
        c = buf[t]
        if c < 48 or c > 57 or v > 922337203685477579:
            return 0, False
        v = v * 10 + (int(c) - 48)
    return v, True


@njit(**NJIT)
def _parse_clicklog(buf, start, end, num_col, want_text, drop_missing, drop_others, max_sessions,
                    doc_session, doc_pos, doc_click, doc_num, doc_span, sess_qid, sess_span, status):
    """Parse complete lines of ``buf[start:end]`` (raw Baidu-ULTR click log).

    ``num_col[f]`` is the column of ``doc_num`` receiving numeric field ``f``
    (-1: not wanted). Text spans (url_md5, title, abstract; query,
    reformulation) are recorded when ``want_text``. Stops before the header
    of session ``max_sessions`` (when >= 0) and records that line's offset in
    ``status[_K_STOP]``. A number that needs Python's exact conversion sets
    ``status[_K_HARD]`` (the caller then re-parses the block in Python).
    """
    n_docs = 0
    n_sess = 0
    dropped_boxes = 0
    i = start
    err = 0
    err_pos = -1
    stop = -1
    hard = 0
    fs = np.empty(_N_RESULT_FIELDS + 1, dtype=np.int64)
    fe = np.empty(_N_RESULT_FIELDS + 1, dtype=np.int64)
    while i < end:
        line_start = i
        # Split the line into fields (record at most 33 to detect extra fields).
        nf = 0
        s = i
        while True:
            if i >= end or buf[i] == 10 or buf[i] == 9:
                e = i
                if (i >= end or buf[i] == 10) and e > s and buf[e - 1] == 13:
                    e -= 1  # tolerate CRLF
                if nf <= _N_RESULT_FIELDS:
                    fs[nf] = s
                    fe[nf] = e
                nf += 1
                if i >= end or buf[i] == 10:
                    i += 1
                    break
                i += 1
                s = i
            else:
                i += 1
        if nf == 1 and fe[0] == fs[0]:
            continue  # blank line
        if nf <= 3:
            if max_sessions >= 0 and n_sess >= max_sessions:
                stop = line_start
                break
            q, ok = _parse_whole_int(buf, fs[0], fe[0])
            if not ok:
                err = 2
                err_pos = line_start
                break
            sess_qid[n_sess] = q
            if want_text:
                sess_span[n_sess, 0] = fs[1] if nf > 1 else fe[0]
                sess_span[n_sess, 1] = fe[1] if nf > 1 else fe[0]
                sess_span[n_sess, 2] = fs[2] if nf > 2 else fe[0]
                sess_span[n_sess, 3] = fe[2] if nf > 2 else fe[0]
            n_sess += 1
            dropped_boxes = 0
            continue
        if n_sess == 0:
            err = 1
            err_pos = line_start
            break
        if nf != _N_RESULT_FIELDS:
            err = 3
            err_pos = line_start
            break
        pos, ok = _parse_whole_int(buf, fs[0], fe[0])
        if not ok or pos < 1:
            err = 4
            err_pos = line_start
            break
        if fe[5] - fs[5] != 1 or (buf[fs[5]] != 48 and buf[fs[5]] != 49):
            err = 5
            err_pos = line_start
            break
        if drop_missing and _span_equals(buf, fs[2], fe[2], _MISSING):
            continue
        if drop_others and _span_equals(buf, fs[2], fe[2], _OTHERS):
            dropped_boxes += 1
            continue
        doc_session[n_docs] = n_sess - 1
        doc_pos[n_docs] = pos - dropped_boxes
        doc_click[n_docs] = buf[fs[5]] - 48
        for f in range(_N_RESULT_FIELDS):
            c = num_col[f]
            if c < 0:
                continue
            a = fs[f]
            b = fe[f]
            if b - a == 1 and buf[a] == 45:  # '-'
                doc_num[n_docs, c] = np.nan
                continue
            v, st, j = parse_number(buf, a, b)
            if st == HARD and j == b:
                hard = 1
                doc_num[n_docs, c] = np.nan
            elif st != OK or j != b:
                err = 6
                err_pos = a
                break
            else:
                doc_num[n_docs, c] = v
        if err != 0:
            break
        if want_text:
            for t in range(3):
                doc_span[n_docs, 2 * t] = fs[1 + t]
                doc_span[n_docs, 2 * t + 1] = fe[1 + t]
        n_docs += 1
    status[_K_DOCS] = n_docs
    status[_K_SESSIONS] = n_sess
    status[_K_ERR] = err
    status[_K_ERR_POS] = err_pos
    status[_K_STOP] = stop
    status[_K_HARD] = hard


@njit(**NJIT)
def _last_session_start(buf, n):
    """Start of the last *complete* header line (<= 2 tabs) in ``buf[:n]``, or -1.

    Only lines that end with LF count, so a header cut by the block end is
    never mistaken for one.
    """
    end = n
    while end > 0 and buf[end - 1] != 10:
        end -= 1
    # buf[:end] holds complete lines only.
    line_end = end - 1
    while line_end >= 0:
        s = line_end
        tabs = 0
        while s > 0 and buf[s - 1] != 10:
            s -= 1
            if buf[s] == 9:
                tabs += 1
        if tabs <= 2 and line_end > s:
            return s
        line_end = s - 1
    return -1


def _field_plan(fields):
    """Split requested field names into numeric columns and text fields."""
    num_names, text_names = [], []
    for name in fields:
        if name not in CLICKLOG_FIELDS:
            raise ValueError(f"unknown click-log field {name!r}; known: {sorted(CLICKLOG_FIELDS)}")
        if name in ("pos", "click"):
            raise ValueError(f"{name!r} is always returned (as position / click); do not list it in fields")
        (text_names if name in _TEXT_FIELDS else num_names).append(name)
    num_col = np.full(_N_RESULT_FIELDS, -1, dtype=np.int64)
    for c, name in enumerate(num_names):
        f = CLICKLOG_FIELDS[name]
        if num_col[f] >= 0:
            raise ValueError(f"field {name!r} requested twice (aliases: multimedia_type = media_type)")
        num_col[f] = c
    return num_names, text_names, num_col


def _finish_numeric(name, values):
    """Output dtype of a numeric raw field: '-' (NaN) becomes 0 for the media type, -1 for other ints."""
    if name in _FLOAT_FIELDS:
        return values.astype(np.float32)
    missing = np.isnan(values)
    fill = 0 if CLICKLOG_FIELDS[name] == 4 else -1
    return np.where(missing, fill, values).astype(np.int32)


def _block_result(data, n_docs, n_sess, num_names, text_names, query_text, doc_session, doc_pos, doc_click,
                  doc_num, doc_span, sess_qid, sess_span):
    """BaiduULTR of one parsed block from the kernel's output arrays (text fields sliced from ``data``)."""
    doc_columns = {}
    for c, name in enumerate(num_names):
        doc_columns[name] = _finish_numeric(name, doc_num[:n_docs, c])
    for name in text_names:
        t = _TEXT_FIELDS.index(name)
        spans = doc_span[:n_docs, 2 * t: 2 * t + 2]
        values = [data[s:e] for s, e in spans.tolist()]
        if name == "url_md5":
            values = [v.decode("ascii", errors="replace") for v in values]
        doc_columns[name] = np.array(values, dtype=object)
    query_columns = {"query_id": sess_qid[:n_sess].copy()}
    if query_text:
        query_columns["query"] = np.array([data[s:e] for s, e in sess_span[:n_sess, 0:2].tolist()], dtype=object)
        query_columns["query_reformulation"] = np.array(
            [data[s:e] for s, e in sess_span[:n_sess, 2:4].tolist()], dtype=object)
    return BaiduULTR(
        qid=doc_session[:n_docs].copy(),
        position=doc_pos[:n_docs].copy(),
        click=doc_click[:n_docs].copy(),
        doc_columns=doc_columns,
        query_columns=query_columns,
    )


def _parse_block(data, name, first_line, num_names, text_names, num_col, query_text, drop_missing,
                 drop_others, max_sessions):
    """Parse one block (whole sessions); returns (BaiduULTR, n_sessions, stopped)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    cap = int(np.count_nonzero(buf == 10)) + 1
    want_text = bool(text_names) or query_text
    doc_session = np.empty(cap, dtype=np.int64)
    doc_pos = np.empty(cap, dtype=np.int32)
    doc_click = np.empty(cap, dtype=np.int8)
    doc_num = np.empty((cap, len(num_names)), dtype=np.float64)
    doc_span = np.empty((cap if want_text else 0, 6), dtype=np.int64)
    sess_qid = np.empty(cap, dtype=np.int64)
    sess_span = np.empty((cap if want_text else 0, 4), dtype=np.int64)
    status = np.zeros(6, dtype=np.int64)
    _parse_clicklog(buf, 0, buf.shape[0], num_col, want_text, drop_missing, drop_others,
                    -1 if max_sessions is None else int(max_sessions),
                    doc_session, doc_pos, doc_click, doc_num, doc_span, sess_qid, sess_span, status)
    if status[_K_ERR]:
        pos = int(status[_K_ERR_POS])
        line_no = first_line + int(np.count_nonzero(buf[:pos] == 10))
        stop = data.find(b"\n", pos)
        text = data[pos: stop if stop >= 0 else len(data)][:160]
        raise ValueError(f"{name}, line {line_no}: {_CLICKLOG_ERRORS[int(status[_K_ERR])]}: {text!r}")
    n_docs, n_sess = int(status[_K_DOCS]), int(status[_K_SESSIONS])
    if status[_K_HARD]:
        # A number the kernel cannot convert exactly: redo the block in Python.
        stop = int(status[_K_STOP])
        part = _parse_block_python(data[: stop if stop >= 0 else len(data)], name, first_line, num_names,
                                   text_names, query_text, drop_missing, drop_others)
        return part, n_sess, stop >= 0
    part = _block_result(data, n_docs, n_sess, num_names, text_names, query_text, doc_session, doc_pos,
                         doc_click, doc_num, doc_span, sess_qid, sess_span)
    return part, n_sess, status[_K_STOP] >= 0


def _parse_block_python(data, name, first_line, num_names, text_names, query_text, drop_missing, drop_others):
    """Plain-Python twin of the kernel (the reference in tests, the fallback for rare numbers)."""
    qid, pos, click, sess_qid, queries, reforms = [], [], [], [], [], []
    nums = {n: [] for n in num_names}
    texts = {n: [] for n in text_names}
    dropped = 0
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for k, line in enumerate(lines):
        line_no = first_line + k
        if line.endswith(b"\r"):
            line = line[:-1]
        fields = line.split(b"\t")
        if len(fields) == 1 and fields[0] == b"":
            continue
        if len(fields) <= 3:
            if not fields[0].isdigit() or int(fields[0]) >= 2**63:
                raise ValueError(f"{name}, line {line_no}: {_CLICKLOG_ERRORS[2]}: {line[:160]!r}")
            sess_qid.append(int(fields[0]))
            queries.append(fields[1] if len(fields) > 1 else b"")
            reforms.append(fields[2] if len(fields) > 2 else b"")
            dropped = 0
            continue
        if not sess_qid:
            raise ValueError(f"{name}, line {line_no}: {_CLICKLOG_ERRORS[1]}: {line[:160]!r}")
        if len(fields) != _N_RESULT_FIELDS:
            raise ValueError(f"{name}, line {line_no}: {_CLICKLOG_ERRORS[3]}: {line[:160]!r}")
        if not fields[0].isdigit() or not 1 <= int(fields[0]) < 2**63:
            raise ValueError(f"{name}, line {line_no}: {_CLICKLOG_ERRORS[4]}: {line[:160]!r}")
        if fields[5] not in (b"0", b"1"):
            raise ValueError(f"{name}, line {line_no}: {_CLICKLOG_ERRORS[5]}: {line[:160]!r}")
        if drop_missing and fields[2] == MISSING_DOCUMENT_TITLE:
            continue
        if drop_others and fields[2] == OTHERS_SEARCHED_TITLE:
            dropped += 1
            continue
        qid.append(len(sess_qid) - 1)
        pos.append(int(fields[0]) - dropped)
        click.append(int(fields[5]))
        for n in num_names:
            raw = fields[CLICKLOG_FIELDS[n]]
            if raw == b"-":
                nums[n].append(np.nan)
                continue
            try:
                if b"_" in raw or raw.strip() != raw:
                    raise ValueError
                nums[n].append(float(raw))
            except ValueError:
                raise ValueError(f"{name}, line {line_no}: {_CLICKLOG_ERRORS[6]}: {line[:160]!r}") from None
        for n in text_names:
            v = fields[CLICKLOG_FIELDS[n]]
            texts[n].append(v.decode("ascii", errors="replace") if n == "url_md5" else v)
    doc_columns = {n: _finish_numeric(n, np.array(nums[n], dtype=np.float64)) for n in num_names}
    doc_columns.update({n: np.array(texts[n], dtype=object) for n in text_names})
    query_columns = {"query_id": np.array(sess_qid, dtype=np.int64)}
    if query_text:
        query_columns["query"] = np.array(queries, dtype=object)
        query_columns["query_reformulation"] = np.array(reforms, dtype=object)
    return BaiduULTR(qid=np.array(qid, dtype=np.int64), position=np.array(pos, dtype=np.int32),
                     click=np.array(click, dtype=np.int8), doc_columns=doc_columns, query_columns=query_columns)


def iter_baidu_ultr_clicklog(paths, *, fields=DEFAULT_CLICKLOG_FIELDS, query_text=False,
                             drop_missing_documents=False, drop_others_searched=False, max_sessions=None,
                             block_size=64 << 20):
    """Stream raw Baidu-ULTR click logs as :class:`BaiduULTR` chunks of whole sessions.

    Parameters
    ----------
    paths : path or list of paths
        ``part-*.gz`` files (gzip, bz2, xz or plain, by suffix), read in
        the given order.
    fields : sequence of str, default=DEFAULT_CLICKLOG_FIELDS
        Per-document fields returned in ``doc_columns``, by the names of
        :data:`CLICKLOG_FIELDS` (``media_type`` is an alias of
        ``multimedia_type``). Numeric fields: ``displayed_time*`` and
        ``dwelling_time`` as float32 (``-`` -> NaN); the others as int32
        (``-`` -> 0 for the media type, as Hager et al. do, -1 otherwise).
        ``url_md5`` gives str, ``title``/``abstract`` the raw token bytes
        (ids joined by 0x01).
    query_text : bool, default=False
        Also return the raw ``query`` and ``query_reformulation`` bytes per
        session in ``query_columns``.
    drop_missing_documents, drop_others_searched : bool, default=False
        Hager et al.'s filters (see the module docstring).
    max_sessions : int, optional
        Stop after this many sessions in total.
    block_size : int, default=64 MiB
        Decompressed bytes read at a time (a block grows if one session is
        longer).

    Yields
    ------
    BaiduULTR
        ``qid`` numbers sessions 0.. within the chunk; ``query_columns``
        holds Baidu's ``query_id`` per session.

    Raises
    ------
    ValueError
        Naming file and line: result line before any header, result lines
        without exactly 32 fields, unparsable qid / position / numbers, click
        not 0/1.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    num_names, text_names, num_col = _field_plan(list(fields))
    remaining = None if max_sessions is None else int(max_sessions)
    if remaining is not None and remaining < 0:
        raise ValueError(f"max_sessions must be >= 0, got {max_sessions}")
    for path in paths:
        if remaining == 0:
            return
        if not Path(path).is_file():
            raise FileNotFoundError(f"no such file: {path}")
        name = str(path)
        pending = b""
        first_line = 1
        blocks = iter_blocks(path, int(block_size))
        eof = False
        while not eof:
            block = next(blocks, None)
            if block is None:
                eof = True
                data = pending
            else:
                data = pending + block
            if not data:
                break
            if eof:
                cut = len(data)
            else:
                buf = np.frombuffer(data, dtype=np.uint8)
                cut = _last_session_start(buf, buf.shape[0])
                if cut <= 0:
                    pending = data  # one session so far: read more
                    continue
            chunk = data[:cut]
            pending = data[cut:]
            part, n_sess, stopped = _parse_block(chunk, name, first_line, num_names, text_names, num_col,
                                                 query_text, drop_missing_documents, drop_others_searched,
                                                 remaining)
            first_line += chunk.count(b"\n")
            if remaining is not None:
                remaining -= n_sess
            if part.n_rows or n_sess:
                yield part
            if stopped or remaining == 0:
                return


def load_baidu_ultr_clicklog(paths, *, max_sessions=None, **kwargs):
    """Load raw Baidu-ULTR click logs into one :class:`BaiduULTR`.

    Same parameters as :func:`iter_baidu_ultr_clicklog`; the chunks are
    concatenated and sessions numbered 0.. over all files. The full release
    (about 1.2 billion sessions) does not fit in memory: use
    ``max_sessions`` or iterate.
    """
    return _concat(list(iter_baidu_ultr_clicklog(paths, max_sessions=max_sessions, **kwargs)))


def load_baidu_ultr_annotations(path, *, query_text=False):
    """Load the expert annotations of the original release (``annotation_data_0522.txt``).

    Tab-separated, 6 fields per line: ``qid, query, title, abstract, label
    (0-4), frequency_bucket (0-9)``. About 8 % of qids are shared by
    different queries, so lists are runs of consecutive lines with the same
    (qid, query). No position or features (the text is anonymised tokens).

    Returns
    -------
    BaiduULTR
        ``label`` (int8), ``qid`` (list index), ``query_columns`` with
        ``query_id`` (int64) and ``frequency_bucket`` (int8) per list, plus
        ``query`` bytes if ``query_text``; ``doc_columns`` with ``title`` and
        ``abstract`` bytes if ``query_text``.
    """
    from ._io import read_bytes

    data = read_bytes(path).tobytes()
    qid, label, titles, abstracts = [], [], [], []
    q_ids, q_text, q_bucket = [], [], []
    current = None
    lines = data.split(b"\n")
    for k, line in enumerate(lines, start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            continue
        fields = line.split(b"\t")
        if len(fields) != 6:
            raise ValueError(f"{path}, line {k}: annotation lines must have 6 tab-separated fields, got {len(fields)}")
        raw_qid, query, title, abstract, raw_label, raw_bucket = fields
        if not (raw_qid.isdigit() and raw_label.isdigit() and raw_bucket.isdigit()):
            raise ValueError(f"{path}, line {k}: qid, label and frequency_bucket must be integers: {line[:160]!r}")
        lab, bucket = int(raw_label), int(raw_bucket)
        if lab > 4 or bucket > 9:
            raise ValueError(f"{path}, line {k}: label must be 0..4 and frequency_bucket 0..9: {line[:160]!r}")
        key = (raw_qid, query)
        if key != current:
            current = key
            q_ids.append(int(raw_qid))
            q_text.append(query)
            q_bucket.append(bucket)
        qid.append(len(q_ids) - 1)
        label.append(lab)
        if query_text:
            titles.append(title)
            abstracts.append(abstract)
    query_columns = {"query_id": np.array(q_ids, dtype=np.int64), "frequency_bucket": np.array(q_bucket, dtype=np.int8)}
    doc_columns = {}
    if query_text:
        query_columns["query"] = np.array(q_text, dtype=object)
        doc_columns = {"title": np.array(titles, dtype=object), "abstract": np.array(abstracts, dtype=object)}
    return BaiduULTR(qid=np.array(qid, dtype=np.int64), label=np.array(label, dtype=np.int8),
                     doc_columns=doc_columns, query_columns=query_columns)
