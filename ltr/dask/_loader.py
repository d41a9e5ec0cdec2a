"""Dask inputs -> partitions of whole queries in the canonical global order.

Single-process training groups rows by a stable sort on the query id
(queries in id order, rows of a query in input order). The loader lays the
Dask data out in exactly that order, cut into partitions at query
boundaries, so that the concatenation of the partitions is the grouped
matrix single-process training sees: global row and query indices then mean
the same thing in both, which is what makes the bins and the trees equal.

Two routes:

- the query ids already are non-decreasing across the chunks (data written
  query by query, the usual case): partitions are the input chunks with
  their boundaries moved to the nearest query boundary (`rechunk` moves only
  the rows of the queries that straddled a boundary);
- otherwise a range shuffle: each chunk is split by query-id range and
  every output partition concatenates its pieces in chunk order, then sorts
  them stably by id. Every row moves once.

Only per-chunk query summaries (ids and sizes, one entry per query) come to
the driver.
"""
from dataclasses import dataclass

import numpy as np

from .._dtypes import PTR_DTYPE
from .._query import QueryError, layout_from_group, layout_from_qid
from .._validation import check_shape


@dataclass
class PartitionPlan:
    """Where each partition's queries and rows sit in the global grouped order."""

    query_start: np.ndarray  # (n_parts + 1,) global query index boundaries
    group_sizes: np.ndarray  # (n_queries,) rows per query, global order
    query_ids: np.ndarray  # (n_queries,) sorted ids

    @property
    def n_partitions(self):
        return self.query_start.shape[0] - 1

    @property
    def group_ptr(self):
        return np.concatenate(([0], np.cumsum(self.group_sizes))).astype(PTR_DTYPE)

    def rows(self, p):
        ptr = self.group_ptr
        return int(ptr[self.query_start[p]]), int(ptr[self.query_start[p + 1]])

    def sizes(self, p):
        return self.group_sizes[self.query_start[p]:self.query_start[p + 1]]


def _is_dask(obj):
    return hasattr(obj, "dask") and hasattr(obj, "__dask_graph__")


def _to_dask_1d(a, name, row_chunks):
    """A 1-d dask array with the given row chunks, from dask or in-memory input."""
    import dask.array as da

    if a is None:
        return None
    if _is_dask(a):
        if hasattr(a, "to_dask_array"):  # dask Series / single-column DataFrame
            a = a.to_dask_array(lengths=True)
        if a.ndim == 2 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got a dask array of shape {a.shape}")
    else:
        a = np.asarray(a)
        if a.ndim == 2 and 1 in a.shape:
            a = a.ravel()
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-dimensional, got shape {a.shape}")
        if a.shape[0] != sum(row_chunks):
            raise ValueError(f"{name} has {a.shape[0]} rows but X has {sum(row_chunks)}")
        a = da.from_array(a, chunks=(row_chunks,))
    n = sum(row_chunks)
    if a.shape[0] != n:
        raise ValueError(f"{name} has {a.shape[0]} rows but X has {n}")
    if a.chunks[0] != tuple(row_chunks):
        a = a.rechunk({0: tuple(row_chunks)})
    return a


def as_dask_inputs(X, y, qid, sample_weight, position, n_workers):
    """Validate shapes and return (X, y, qid, weight, position, feature_names) as aligned dask arrays."""
    import dask.array as da

    feature_names = None
    if _is_dask(X) and hasattr(X, "columns"):  # dask DataFrame
        cols = list(X.columns)
        if cols and all(isinstance(c, str) for c in cols):
            feature_names = np.asarray(cols, dtype=object)
        X = X.to_dask_array(lengths=True)
    elif not _is_dask(X):
        if hasattr(X, "columns"):
            cols = list(X.columns)
            if cols and all(isinstance(c, str) for c in cols):
                feature_names = np.asarray(cols, dtype=object)
        X = np.asarray(X)
        check_shape(X.shape, "X")
        step = max(1, -(-X.shape[0] // max(1, n_workers)))
        X = da.from_array(X, chunks=(step, X.shape[1]))
    if X.ndim != 2:
        check_shape(X.shape, "X")
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    check_shape(X.shape, "X")
    if len(X.chunks[1]) != 1:
        X = X.rechunk({1: X.shape[1]})
    row_chunks = X.chunks[0]
    if y is None:
        raise ValueError("y is required")
    y = _to_dask_1d(y, "y", row_chunks)
    qid = _to_dask_1d(qid, "qid", row_chunks)
    w = _to_dask_1d(sample_weight, "sample_weight", row_chunks)
    pos = _to_dask_1d(position, "position", row_chunks)
    return X, y, qid, w, pos, feature_names


def _qid_summary(q):
    """Per chunk: validated ids, whether sorted, distinct ids with their counts, first and last id."""
    q = np.asarray(q).ravel()
    if q.shape[0] == 0:
        return (True, q[:0], np.zeros(0, dtype=np.int64), None, None)
    layout_from_qid(q, q.shape[0])  # raises QueryError naming the problem (NaN, wrong dtype)
    is_sorted = bool(np.all(q[1:] >= q[:-1]))
    ids, counts = np.unique(q, return_counts=True)
    return (is_sorted, ids, counts.astype(np.int64), q[0], q[-1])


def plan_partitions(client, X, qid, group, n_workers):
    """The partition plan and whether the input is already in global grouped order.

    Only per-chunk query summaries are computed (on `client`, or Dask's
    default scheduler when None). Returns (plan, already_sorted).
    """
    import dask

    row_chunks = X.chunks[0]
    n = int(sum(row_chunks))
    if qid is not None and group is not None:
        raise QueryError("pass either qid (one id per row) or group (query sizes), not both")
    if qid is None:
        if group is None:
            sizes = np.array([n], dtype=np.int64)
        else:
            sizes = np.diff(layout_from_group(group, n).group_ptr).astype(np.int64)
        ids = np.arange(sizes.shape[0])
        already_sorted = True
    else:
        tasks = [dask.delayed(_qid_summary)(b) for b in qid.to_delayed().ravel()]
        summaries = dask.compute(*tasks) if client is None else client.gather(client.compute(tasks))
        already_sorted = all(s[0] for s in summaries)
        last = None
        for s in summaries:
            if s[3] is None:
                continue
            if last is not None and s[3] < last:
                already_sorted = False
            last = s[4]
        all_ids = np.concatenate([s[1] for s in summaries])
        all_counts = np.concatenate([s[2] for s in summaries])
        ids, inverse = np.unique(all_ids, return_inverse=True)
        sizes = np.bincount(inverse.ravel(), weights=all_counts, minlength=ids.shape[0]).astype(np.int64)
    ptr = np.concatenate(([0], np.cumsum(sizes)))
    n_queries = sizes.shape[0]
    # Row positions where partitions should start: the input's chunk boundaries when it is already grouped
    # (least movement), else an even split.
    n_target = max(len(row_chunks), n_workers)
    if already_sorted and len(row_chunks) >= n_workers:
        targets = np.cumsum(row_chunks)[:-1]
    else:
        targets = (np.arange(1, n_target) * n) // n_target
    cuts = np.searchsorted(ptr, targets, side="left")  # first query boundary at or after each target
    query_start = np.unique(np.concatenate(([0], cuts, [n_queries])).clip(0, n_queries)).astype(np.int64)
    plan = PartitionPlan(query_start=query_start, group_sizes=sizes, query_ids=ids)
    return plan, already_sorted


def _split_chunk(first_ids, n_parts, X, y, q, w, pos):
    """Rows of one chunk sent to each partition (by query-id range), in chunk order."""
    q = np.asarray(q).ravel()
    part = np.searchsorted(first_ids, q, side="right") - 1
    out = []
    for p in range(n_parts):
        m = part == p
        out.append((X[m], y[m], q[m], None if w is None else w[m], None if pos is None else pos[m]))
    return tuple(out)


def _gather_pieces(pieces):
    """Concatenate one partition's pieces (chunk order) and sort its rows stably by query id."""
    X = np.concatenate([p[0] for p in pieces])
    y = np.concatenate([p[1] for p in pieces])
    q = np.concatenate([p[2] for p in pieces])
    w = None if pieces[0][3] is None else np.concatenate([p[3] for p in pieces])
    pos = None if pieces[0][4] is None else np.concatenate([p[4] for p in pieces])
    order = np.argsort(q, kind="stable")
    return (X[order], y[order], q[order], None if w is None else w[order], None if pos is None else pos[order])


def _make_payload(index, block, sizes, row_offset, query_offset):
    X, y, q, w, pos = block
    if q is not None:
        q = np.asarray(q).ravel()
        change = np.flatnonzero(q[1:] != q[:-1]) + 1
        runs = np.diff(np.concatenate(([0], change, [q.shape[0]])))
        if not np.array_equal(runs, sizes):
            raise RuntimeError(f"partition {index}: rows are not grouped as planned (loader bug)")
    return (index, X, y, w, pos, sizes, row_offset, query_offset)


def _rows_block(X, y, q, w, pos):
    return (X, y, q, w, pos)


def partition_payloads(plan, already_sorted, X, y, qid, w, pos):
    """One delayed payload per partition, ready to become a `Partition` on a worker."""
    import dask

    n_parts = plan.n_partitions
    ptr = plan.group_ptr
    query_offsets = plan.query_start[:-1]
    row_offsets = ptr[plan.query_start]
    payloads = []
    if already_sorted:
        chunks = tuple(int(c) for c in np.diff(row_offsets))
        def rc(a, two_d=False):
            if a is None:
                return [None] * n_parts
            a = a.rechunk({0: chunks})
            return list(a.to_delayed().ravel())
        Xs, ys, qs, ws, ps = rc(X), rc(y), rc(qid), rc(w), rc(pos)
        for p in range(n_parts):
            block = dask.delayed(_rows_block)(Xs[p], ys[p], qs[p], ws[p], ps[p])
            payloads.append(dask.delayed(_make_payload)(p, block, plan.sizes(p), int(row_offsets[p]),
                                                         int(query_offsets[p])))
        return payloads
    first_ids = plan.query_ids[plan.query_start[:-1]]
    def blocks(a):
        return [None] * len(X.chunks[0]) if a is None else list(a.to_delayed().ravel())
    Xb, yb, qb, wb, pb = blocks(X), blocks(y), blocks(qid), blocks(w), blocks(pos)
    split = [dask.delayed(_split_chunk, nout=n_parts)(first_ids, n_parts, Xb[i], yb[i], qb[i], wb[i], pb[i])
             for i in range(len(Xb))]
    for p in range(n_parts):
        block = dask.delayed(_gather_pieces)([s[p] for s in split])
        payloads.append(dask.delayed(_make_payload)(p, block, plan.sizes(p), int(row_offsets[p]),
                                                     int(query_offsets[p])))
    return payloads


def assign_partitions(plan, holders, workers):
    """Rank of the worker that trains each partition: where its data is, unless that unbalances the load.

    `holders[p]` is the set of workers holding partition p's payload. Every
    worker gets at most ~10% more rows than an even share; larger
    partitions are placed first.
    """
    n_parts = plan.n_partitions
    sizes = np.array([plan.rows(p)[1] - plan.rows(p)[0] for p in range(n_parts)], dtype=np.int64)
    cap = 1.1 * sizes.sum() / len(workers)
    load = {w: 0 for w in workers}
    owner = [None] * n_parts
    for p in np.argsort(-sizes, kind="stable"):
        candidates = [w for w in workers if w in holders[p] and load[w] + sizes[p] <= cap]
        w = candidates[0] if candidates else min(workers, key=lambda a: (load[a], workers.index(a)))
        owner[p] = w
        load[w] += sizes[p]
    return owner
