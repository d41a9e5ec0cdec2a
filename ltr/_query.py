"""Query structure: per-row query ids or group sizes -> row order + offsets.

Everything downstream (objectives, metrics, the tree engine) sees data whose
rows are grouped by query, described by ``group_ptr``: the rows of query q
are ``group_ptr[q]:group_ptr[q + 1]``. Callers may pass ``qid`` in any row
order; ``QueryLayout`` remembers how to go back to their order.
"""
import warnings
from dataclasses import dataclass

import numpy as np

from ._dtypes import PTR_DTYPE
from ._validation import QueryError, check_group, check_qid, check_query_args  # noqa: F401  (QueryError re-exported)

#: Above this many rows, treating the whole input as one query gets a warning.
SINGLE_QUERY_WARN_ROWS = 10_000


@dataclass
class QueryLayout:
    """How the caller's rows map onto contiguous queries.

    Attributes
    ----------
    order : ndarray of int64 or None
        ``X[order]`` has the rows of each query together. None when the input
        already is (no copy is made then).
    group_ptr : ndarray of int64, shape (n_queries + 1,)
        Offsets of the queries in the grouped row order.
    query_ids : ndarray, shape (n_queries,)
        The id of each query (0..n_queries-1 when sizes or nothing were given).
    """

    order: object
    group_ptr: np.ndarray
    query_ids: np.ndarray

    @property
    def n_queries(self):
        return len(self.group_ptr) - 1

    @property
    def n_samples(self):
        return int(self.group_ptr[-1])

    def to_grouped(self, a):
        """Rows of `a` (array-like indexed on axis 0) in grouped order."""
        return a if self.order is None or a is None else a[self.order]

    def to_caller(self, a):
        """Undo `to_grouped` for a 1-d per-row array."""
        if self.order is None:
            return a
        out = np.empty_like(a)
        out[self.order] = a
        return out

    def sizes(self):
        return np.diff(self.group_ptr)


def layout_from_qid(qid, n_samples, what="X"):
    """Group rows by query id. Ids may be numbers or strings, in any order.

    Rows are stably sorted by id (no copy when they already are), so rows of
    one query keep their relative order and queries come in id order.
    """
    qid = check_qid(qid, n_samples, what=what)
    n = len(qid)
    # Canonical order: queries sorted by id, rows of a query in input order.
    # Input already sorted needs no copy; any other order is stably sorted, so
    # the same rows given with the queries in another order train the same model.
    if n == 1 or bool(np.all(qid[1:] >= qid[:-1])):
        order = None
        sorted_qid = qid
    else:
        order = np.argsort(qid, kind="stable").astype(np.int64)
        sorted_qid = qid[order]
    change = np.flatnonzero(sorted_qid[1:] != sorted_qid[:-1]) + 1
    group_ptr = np.concatenate(([0], change, [n])).astype(PTR_DTYPE)
    return QueryLayout(order=order, group_ptr=group_ptr, query_ids=sorted_qid[group_ptr[:-1]])


def layout_from_group(group, n_samples, what="X"):
    """LightGBM-style query sizes (rows must already be grouped)."""
    group = check_group(group, n_samples, what=what)
    group_ptr = np.concatenate(([0], np.cumsum(group))).astype(PTR_DTYPE)
    return QueryLayout(order=None, group_ptr=group_ptr, query_ids=np.arange(len(group)))


def make_layout(n_samples, qid=None, group=None, what="X", warn_single=True):
    """The layout for `qid` or `group` (not both); one query when neither is given."""
    if qid is not None and group is not None:
        check_query_args(n_samples, qid, group)  # raises: not both
    if qid is not None:
        return layout_from_qid(qid, n_samples, what)
    if group is not None:
        return layout_from_group(group, n_samples, what)
    if warn_single and n_samples > SINGLE_QUERY_WARN_ROWS:
        warnings.warn(
            f"no qid given for {what}: all {n_samples} rows are treated as one query. "
            "Pass qid= (one id per row) to rank within queries.",
            UserWarning,
            stacklevel=3,
        )
    return QueryLayout(order=None, group_ptr=np.array([0, n_samples], dtype=PTR_DTYPE), query_ids=np.zeros(1, dtype=np.int64))
