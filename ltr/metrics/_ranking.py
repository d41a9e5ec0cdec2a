"""Ranking metrics: NDCG@k, DCG@k, MAP@k, MRR@k, ERR@k and precision@k.

One implementation serves both the public functions (``ndcg_score`` ...) and
the evaluation of validation sets during boosting (``parse_metric`` /
``evaluate``), so a number printed in training is the number a user gets
from ``ltr.metrics`` on the same predictions.

Layout of this module:

* Numba kernels. ``_rank_query`` orders one query's rows by score with the
  chosen tie rule: a one-pass selection of the top k (``_select_top_query``)
  for small cut-offs, a stable merge sort (``_sort_query``) otherwise; one
  ``_<metric>_query`` kernel per metric computes the value of one query from
  that order; ``_metric_per_query`` is the driver,
  ``prange`` over queries, each query writing its own output slot (so the
  result does not depend on the number of threads); ``_nanmean`` reduces in
  query order.
* ``Metric``: a validated metric configuration (kind, k and options) that is
  called on grouped arrays ``(y_true, y_score, group_ptr)``; the fast path of
  training evaluation.
* ``parse_metric`` / ``evaluate``: metric names such as ``'ndcg@10'``.
* The public functions, which accept ``qid`` (one id per row, any order) or
  ``group`` (LightGBM-style sizes) and return the mean over queries or the
  per-query values.

Conventions (defaults follow LightGBM, where LightGBM has the metric)
--------------------------------------------------------------------
Ranking
    Documents are sorted by ``y_score``, descending. ``ties`` decides the
    order of equal scores: ``'input'`` keeps the input row order (a stable
    sort, what LightGBM does), ``'pessimistic'`` puts lower labels first
    (CatBoost's convention), ``'optimistic'`` higher labels first, and
    ``'average'`` averages the metric over every order of each tie group
    (scikit-learn's default ``ignore_ties=False``; only for metrics with a
    closed form: NDCG, DCG, precision, MRR).
Gain and discount
    ``gain='exp'`` is ``2**y - 1`` (LightGBM, XGBoost), ``'linear'`` is
    ``y`` (scikit-learn, CatBoost), and an array ``label_gain`` maps the
    integer label ``y`` to ``label_gain[y]`` (LightGBM's ``label_gain``).
    The discount of 0-based rank ``r`` is ``1 / log2(r + 2)``.
Cut-off
    ``k=None`` or ``k=0`` means the whole list. A query shorter than ``k``
    is cut at its length; so is the ideal DCG.
Empty queries
    A query with nothing to find (NDCG: ideal DCG = 0; MAP, MRR, precision:
    no relevant document; ERR: all labels 0) has value ``empty``: ``1.0``
    by default (LightGBM: such a query cannot be ranked wrong), ``0.0``
    (scikit-learn, XGBoost's ``-`` metric suffix), or ``'skip'`` to leave
    it out of the mean (its per-query value is then NaN).
Relevance
    MAP, MRR and precision are binary: a document is relevant when its
    label is greater than ``relevance_threshold`` (default 0). LightGBM's
    ``map@k`` tests ``label > 0.5``, the same thing on integer labels.
"""
import math
import numbers
import warnings

import numpy as np
from numba import njit, prange

from .._dtypes import NJIT, NJIT_PARALLEL, PTR_DTYPE
from .._query import make_layout
from .._validation import (  # the label rules live in the validation layer
    EXP_GAIN_MAX_LABEL,
    LTRValueError,
    QueryError,
    as_numeric_1d,
    check_finite,
    check_label_values,
    label_rule,
)

# --------------------------------------------------------------------------
# Codes shared by the Python layer and the kernels
# --------------------------------------------------------------------------
_NDCG, _DCG, _MAP, _MRR, _ERR, _PRECISION = 0, 1, 2, 3, 4, 5
_KIND_CODES = {"ndcg": _NDCG, "dcg": _DCG, "map": _MAP, "mrr": _MRR, "err": _ERR, "precision": _PRECISION}


#: ``gain='exp'`` is evaluated through this table: ``2**i - 1`` is exact in
#: float64, and a lookup is cheaper than a power.
_EXP_GAIN_TABLE = np.array([2.0**i - 1.0 for i in range(EXP_GAIN_MAX_LABEL)])

_TIES_INPUT, _TIES_PESSIMISTIC, _TIES_OPTIMISTIC, _TIES_AVERAGE = 0, 1, 2, 3
_TIES_CODES = {
    "input": _TIES_INPUT,
    "pessimistic": _TIES_PESSIMISTIC,
    "optimistic": _TIES_OPTIMISTIC,
    "average": _TIES_AVERAGE,
}



# --------------------------------------------------------------------------
# Kernels
#
# Per-query kernels see one query: `y` and `key` (scores, or gains for the
# ideal order) are views of the query's rows, and `idx` holds local row
# numbers 0..n-1 in ranked order. Scratch arrays are allocated per query
# inside the parallel loop: they are small, private to their thread, and
# stay in cache.
# --------------------------------------------------------------------------
@njit(**NJIT)
def _discount(rank):
    """``1 / log2(rank + 2)`` for a 0-based rank."""
    return 1.0 / math.log2(rank + 2.0)


@njit(**NJIT)
def _precedes(key, y, a, b, tie_sign):
    """True when row `a` must come strictly before row `b`.

    Higher `key` first; among equal keys, ``tie_sign = -1`` puts the lower
    label first, ``+1`` the higher label first, ``0`` neither (the stable
    sort then keeps the input order).
    """
    ka = key[a]
    kb = key[b]
    if ka > kb:
        return True
    if ka < kb or tie_sign == 0:
        return False
    if tie_sign > 0:
        return y[a] > y[b]
    return y[a] < y[b]


_INSERTION_RUN = 16


@njit(**NJIT)
def _sort_query(key, y, tie_sign, idx, buf):
    """Stable sort of the rows of one query by `key` descending.

    Bottom-up merge sort (insertion sort on runs of 16 rows, then merges
    that take from the right half only when it strictly precedes), so rows
    that `_precedes` does not separate keep their input order, like
    LightGBM's ``std::stable_sort``.

    Parameters
    ----------
    key : ndarray of float64, shape (n,)
        Sort key per row (the scores, or the gains for the ideal order).
    y : ndarray of float64, shape (n,)
        Labels, used by the pessimistic and optimistic tie rules.
    tie_sign : int
        See `_precedes`.
    idx : ndarray of int64, shape (>= n,)
        OUT: ``idx[:n]`` receives the row numbers in ranked order.
    buf : ndarray of int64, shape (>= n,)
        Scratch.
    """
    n = key.shape[0]
    for i in range(n):
        idx[i] = i
    for start in range(0, n, _INSERTION_RUN):
        end = min(start + _INSERTION_RUN, n)
        for i in range(start + 1, end):
            v = idx[i]
            j = i - 1
            while j >= start and _precedes(key, y, v, idx[j], tie_sign):
                idx[j + 1] = idx[j]
                j -= 1
            idx[j + 1] = v
    width = _INSERTION_RUN
    in_buf = False  # True when the current sorted runs live in `buf`
    while width < n:
        src = buf if in_buf else idx
        dst = idx if in_buf else buf
        for left in range(0, n, 2 * width):
            mid = min(left + width, n)
            right = min(left + 2 * width, n)
            i = left
            j = mid
            o = left
            while i < mid and j < right:
                if _precedes(key, y, src[j], src[i], tie_sign):
                    dst[o] = src[j]
                    j += 1
                else:
                    dst[o] = src[i]
                    i += 1
                o += 1
            while i < mid:
                dst[o] = src[i]
                i += 1
                o += 1
            while j < right:
                dst[o] = src[j]
                j += 1
                o += 1
        in_buf = not in_buf
        width *= 2
    if in_buf:
        for i in range(n):
            idx[i] = buf[i]


#: Up to this cut-off, `_rank_query` selects the top k rows in one pass
#: instead of sorting the whole query.
_MAX_SELECT_K = 32


@njit(**NJIT)
def _select_top_query(key, y, tie_sign, kk, idx):
    """The first `kk` rows of the stable order of `_sort_query`, in ``idx[:kk]``.

    One pass over the rows keeping a sorted buffer of the best `kk` so far:
    a row enters only if it strictly precedes the current last one, and is
    inserted after every row it does not strictly precede. Rows arrive in
    input order, so equal rows keep it (stable). ``O(n + accepted * kk)``:
    about ``O(n)`` for the usual NDCG@10 on long queries, where a full sort
    costs ``O(n log n)``.
    """
    filled = 0
    for i in range(key.shape[0]):
        if filled == kk:
            if not _precedes(key, y, i, idx[kk - 1], tie_sign):
                continue
            pos = kk - 1  # the current last row is evicted
        else:
            pos = filled
            filled += 1
        while pos > 0 and _precedes(key, y, i, idx[pos - 1], tie_sign):
            idx[pos] = idx[pos - 1]
            pos -= 1
        idx[pos] = i


@njit(**NJIT)
def _rank_query(key, y, tie_sign, kk, need_all):
    """Row numbers of the query in ranked order; at least the first `kk` are valid.

    Selects the top `kk` when that is cheaper than a full sort; sorts the
    whole query when `need_all` (tie averaging looks at the whole tie group
    that straddles the cut-off).
    """
    n = key.shape[0]
    idx = np.empty(n, dtype=np.int64)
    if need_all or kk >= n or kk > _MAX_SELECT_K:
        _sort_query(key, y, tie_sign, idx, np.empty(n, dtype=np.int64))
    else:
        _select_top_query(key, y, tie_sign, kk, idx)
    return idx


@njit(**NJIT)
def _cutoff(k, n):
    """Number of ranks evaluated: ``min(k, n)``, the whole list for ``k == 0``."""
    if k <= 0 or k > n:
        return n
    return k


@njit(**NJIT)
def _tie_group_end(key, idx, start, n):
    """End (exclusive) of the run of equal `key` that starts at rank `start`."""
    end = start + 1
    while end < n and key[idx[end]] == key[idx[start]]:
        end += 1
    return end


@njit(**NJIT)
def _dcg_query(idx, key, gains, kk, average_ties):
    """DCG@kk of one query ranked by ``idx``.

    ``DCG@k = sum_{r < k} gain(doc at rank r) / log2(r + 2)``. With
    `average_ties`, every group of equal `key` (score) gets the mean gain of
    the group at each of its ranks (scikit-learn's tie-averaged DCG, the
    expectation over random orders of the ties).
    """
    dcg = 0.0
    if not average_ties:
        for r in range(kk):
            dcg += gains[idx[r]] * _discount(r)
        return dcg
    n = key.shape[0]
    start = 0
    while start < kk:
        end = _tie_group_end(key, idx, start, n)
        total = 0.0
        for r in range(start, end):
            total += gains[idx[r]]
        discounts = 0.0
        for r in range(start, min(end, kk)):
            discounts += _discount(r)
        dcg += total / (end - start) * discounts
        start = end
    return dcg


@njit(**NJIT)
def _ideal_dcg_query(y, gains, kk):
    """Ideal DCG@kk of one query: its gains sorted descending, cut at kk."""
    idx = _rank_query(gains, y, 0, kk, False)
    ideal = 0.0
    for r in range(kk):
        ideal += gains[idx[r]] * _discount(r)
    return ideal


@njit(**NJIT)
def _average_precision_query(idx, y, kk, threshold, n_relevant):
    """AP@kk as in LightGBM's ``map@k``.

    ``AP@k = sum_{r < k, doc r relevant} (hits in ranks 0..r) / (r + 1)``
    divided by ``min(n_relevant, k)``, where `n_relevant` counts the
    relevant documents of the whole query (not only the top k).
    """
    hits = 0
    total = 0.0
    for r in range(kk):
        if y[idx[r]] > threshold:
            hits += 1
            total += hits / (r + 1.0)
    return total / min(n_relevant, kk)


@njit(**NJIT)
def _reciprocal_rank_query(idx, key, y, kk, threshold, average_ties):
    """RR@kk: ``1 / (r + 1)`` for the first relevant rank ``r < kk``, else 0.

    With `average_ties`, the expectation over random orders of the tie
    group holding the first relevant document: in a group of ``m`` rows at
    ranks ``p..p+m-1`` with ``c`` relevant ones, the first relevant one is at
    ``p + j`` with probability ``prod_{i<j} (m-c-i)/(m-i) * c/(m-j)``.
    """
    if not average_ties:
        for r in range(kk):
            if y[idx[r]] > threshold:
                return 1.0 / (r + 1.0)
        return 0.0
    n = key.shape[0]
    start = 0
    while start < kk:
        end = _tie_group_end(key, idx, start, n)
        m = end - start
        c = 0
        for r in range(start, end):
            if y[idx[r]] > threshold:
                c += 1
        if c > 0:
            expected = 0.0
            p_none_before = 1.0  # probability that the group's first j rows are not relevant
            for j in range(m - c + 1):
                if start + j >= kk:
                    break
                expected += p_none_before * c / (m - j) / (start + j + 1.0)
                p_none_before *= (m - c - j) / (m - j)
            return expected
        start = end
    return 0.0


@njit(**NJIT)
def _precision_query(idx, key, y, kk, threshold, average_ties):
    """Precision@k: the fraction of relevant documents among the first ``kk = min(k, n)`` ranks.

    With `average_ties`, a tie group straddling the cut-off contributes its
    share of relevant documents times the number of its ranks above the cut.
    """
    if not average_ties:
        n_hits = 0
        for r in range(kk):
            if y[idx[r]] > threshold:
                n_hits += 1
        return n_hits / kk
    n = key.shape[0]
    hits = 0.0
    start = 0
    while start < kk:
        end = _tie_group_end(key, idx, start, n)
        c = 0
        for r in range(start, end):
            if y[idx[r]] > threshold:
                c += 1
        hits += c * (min(end, kk) - start) / (end - start)
        start = end
    return hits / kk


@njit(**NJIT)
def _err_query(idx, y, kk, max_grade):
    """ERR@kk (Chapelle et al., CIKM 2009), a cascade model of the user.

    ``R(y) = (2**y - 1) / 2**max_grade`` is the probability that a document
    satisfies the user; ``ERR@k = sum_{r < k} R_r / (r + 1) * prod_{j < r} (1 - R_j)``.
    """
    err = 0.0
    p_reach = 1.0
    for r in range(kk):
        y_r = y[idx[r]]
        # 2**(y - g) - 2**(-g): the same value without forming 2**y.
        stop = 2.0 ** (y_r - max_grade) - 2.0 ** (-max_grade)
        err += p_reach * stop / (r + 1.0)
        p_reach *= 1.0 - stop
    return err


@njit(**NJIT)
def _query_value(kind, y, s, k, linear_gain, gain_table, ties, empty_value, threshold, max_grade):
    """Value of one query for metric code `kind`.

    `y` and `s` are the query's labels and scores. Returns `empty_value`
    (NaN for 'skip') for a query with nothing to find.
    """
    n = y.shape[0]
    kk = _cutoff(k, n)
    average_ties = ties == _TIES_AVERAGE
    tie_sign = 0
    if ties == _TIES_PESSIMISTIC:
        tie_sign = -1
    elif ties == _TIES_OPTIMISTIC:
        tie_sign = 1

    if kind == _NDCG or kind == _DCG:
        gains = np.empty(n, dtype=np.float64)
        for i in range(n):
            gains[i] = y[i] if linear_gain else gain_table[int(y[i])]
        ideal = 1.0
        if kind == _NDCG:
            ideal = _ideal_dcg_query(y, gains, kk)
            if ideal <= 0.0:
                return empty_value
        idx = _rank_query(s, y, tie_sign, kk, average_ties)
        dcg = _dcg_query(idx, s, gains, kk, average_ties)
        if kind == _DCG:
            return dcg
        return dcg / ideal

    if kind == _ERR:
        has_relevant = False
        for i in range(n):
            if y[i] > 0.0:
                has_relevant = True
                break
        if not has_relevant:
            return empty_value
        idx = _rank_query(s, y, tie_sign, kk, False)
        return _err_query(idx, y, kk, max_grade)

    # Binary metrics.
    n_relevant = 0
    for i in range(n):
        if y[i] > threshold:
            n_relevant += 1
    if n_relevant == 0:
        return empty_value
    idx = _rank_query(s, y, tie_sign, kk, average_ties)
    if kind == _MAP:
        return _average_precision_query(idx, y, kk, threshold, n_relevant)
    if kind == _MRR:
        return _reciprocal_rank_query(idx, s, y, kk, threshold, average_ties)
    return _precision_query(idx, s, y, kk, threshold, average_ties)


@njit(**NJIT_PARALLEL)
def _metric_per_query(kind, y, s, group_ptr, k, linear_gain, gain_table, ties, empty_value, threshold, max_grade, out):
    """Per-query values of one metric, in parallel over queries.

    Parameters
    ----------
    kind : int
        Metric code (``_NDCG`` ...).
    y, s : ndarray of float64, shape (n_samples,)
        Labels and scores, rows grouped by query.
    group_ptr : ndarray of int64, shape (n_queries + 1,)
        Query offsets.
    k : int
        Cut-off; 0 for the whole list.
    linear_gain : bool
        Gain = label; otherwise ``gain_table[label]`` (``gain='exp'`` passes
        the table ``2**i - 1``).
    gain_table : ndarray of float64
        Gain of each integer label.
    ties : int
        Tie rule code.
    empty_value : float
        Value of a query with nothing to find; NaN leaves it out of the mean.
    threshold : float
        Binary relevance: ``label > threshold``.
    max_grade : float
        ERR's top grade.
    out : ndarray of float64, shape (n_queries,)
        OUT: one value per query; each query writes only its own slot, so the
        result does not depend on the number of threads.
    """
    for q in prange(group_ptr.shape[0] - 1):
        lo = group_ptr[q]
        hi = group_ptr[q + 1]
        out[q] = _query_value(
            kind, y[lo:hi], s[lo:hi], k, linear_gain, gain_table, ties, empty_value, threshold, max_grade
        )


@njit(**NJIT)
def _nanmean(values):
    """Mean of the non-NaN values, summed in query order (deterministic)."""
    total = 0.0
    count = 0
    for v in values:
        if not np.isnan(v):
            total += v
            count += 1
    if count == 0:
        return np.nan
    return total / count


@njit(**NJIT)
def _bad_group_ptr(group_ptr, n_samples):
    """True unless group_ptr starts at 0, ends at n_samples and never decreases."""
    m = group_ptr.shape[0]
    if m < 2 or group_ptr[0] != 0 or group_ptr[m - 1] != n_samples:
        return True
    for q in range(m - 1):
        if group_ptr[q + 1] < group_ptr[q]:
            return True
    return False


# --------------------------------------------------------------------------
# Metric configuration
# --------------------------------------------------------------------------
_KIND_ALIASES = {
    "ndcg": "ndcg",
    "dcg": "dcg",
    "map": "map",
    "mrr": "mrr",
    "err": "err",
    "precision": "precision",
    "p": "precision",
    "pre": "precision",
}

_USES_GAIN = ("ndcg", "dcg")
_USES_EMPTY = ("ndcg", "map", "mrr", "err", "precision")
_USES_THRESHOLD = ("map", "mrr", "precision")
_AVERAGE_TIES_OK = ("ndcg", "dcg", "precision", "mrr")

#: Every option name accepted by `Metric`, `parse_metric` and `evaluate`.
METRIC_OPTIONS = ("gain", "label_gain", "ties", "empty", "relevance_threshold", "max_grade")


def _option_applies(kind, option):
    """Whether metric `kind` uses `option` (`parse_metric` drops the others)."""
    if option in ("gain", "label_gain"):
        return kind in _USES_GAIN
    if option == "empty":
        return kind in _USES_EMPTY
    if option == "relevance_threshold":
        return kind in _USES_THRESHOLD
    if option == "max_grade":
        return kind == "err"
    return True


def _check_k(k):
    if k is None:
        return 0
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise ValueError(f"k must be a non-negative integer or None (whole list), got {k!r}")
    if k < 0:
        raise ValueError(f"k must be a non-negative integer or None (whole list), got {k}")
    return int(k)


def _check_gain(gain):
    """('exp' | 'linear' | 'table', table array or None)."""
    if isinstance(gain, str):
        name = gain.lower()
        if name in ("exp", "exp2", "exponential"):
            return "exp", None
        if name == "linear":
            return "linear", None
        raise ValueError(f"gain must be 'exp', 'linear' or an array of gains per label (label_gain), got {gain!r}")
    try:
        table = np.array(gain, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"gain must be 'exp', 'linear' or an array of gains per label (label_gain), got {type(gain).__name__}"
        ) from None
    if table.ndim != 1 or table.shape[0] == 0:
        raise ValueError(
            f"label_gain must be a non-empty 1-d array of gains (gain of label i at index i), got shape {table.shape}"
        )
    if not np.all(np.isfinite(table)) or np.any(table < 0):
        raise ValueError("label_gain must hold finite, non-negative gains")
    return "table", table


def _check_ties(ties):
    if not isinstance(ties, str) or ties.lower() not in _TIES_CODES:
        raise ValueError(f"ties must be one of {sorted(_TIES_CODES)}, got {ties!r}")
    return ties.lower()


def _check_empty(empty):
    if isinstance(empty, str):
        if empty.lower() == "skip":
            return "skip"
    elif isinstance(empty, numbers.Real) and not isinstance(empty, (bool, np.bool_)) and float(empty) in (0.0, 1.0):
        return float(empty)
    raise ValueError(
        f"empty must be 1.0, 0.0 or 'skip' (the value of a query without relevant documents), got {empty!r}"
    )


def _check_real(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number{' or None' if allow_none else ''}, got {value!r}")
    return float(value)


class Metric:
    """A ranking metric with its options, evaluated on grouped arrays.

    Instances come from `parse_metric` (``parse_metric('ndcg@10')``) or the
    constructor. Calling one on ``(y_true, y_score, group_ptr)`` returns the
    mean over queries; `per_query` returns the values of every query. This is
    the path used at every boosting iteration: the inputs must already be
    grouped, are not copied when they are contiguous float64 / int64, and
    are checked in one allocation-free pass.

    Parameters
    ----------
    kind : {'ndcg', 'dcg', 'map', 'mrr', 'err', 'precision'}
        The metric.
    k : int or None
        Cut-off; None or 0 evaluates the whole list.
    gain : {'exp', 'linear'} or array-like, default='exp'
        NDCG/DCG only: ``2**y - 1``, ``y``, or a table of gains indexed by
        integer label (LightGBM's ``label_gain``).
    ties : {'input', 'pessimistic', 'optimistic', 'average'}, default='input'
        Order of equal scores (see the module docstring). 'average' is
        available for NDCG, DCG, precision and MRR.
    empty : {1.0, 0.0, 'skip'}, default=1.0
        Value of a query with nothing to find (not used by DCG).
    relevance_threshold : float, default=0.0
        MAP, MRR, precision: relevant means ``label > relevance_threshold``.
    max_grade : float or None, default=None
        ERR only: the top grade ``g`` of ``R(y) = (2**y - 1) / 2**g``. None
        uses the largest label of the evaluated ``y_true``.

    Attributes
    ----------
    name : str
        Canonical name, e.g. ``'ndcg@10'``, ``'map'`` (whole list).
    higher_is_better : bool
        True for every ranking metric (early stopping maximises).
    """

    higher_is_better = True

    def __init__(self, kind, k=None, *, gain="exp", ties="input", empty=1.0, relevance_threshold=0.0, max_grade=None):
        if not isinstance(kind, str) or kind.lower() not in _KIND_CODES:
            raise ValueError(f"metric kind must be one of {sorted(_KIND_CODES)}, got {kind!r}")
        self.kind = kind.lower()
        self.k = _check_k(k)
        self.gain, self.gain_table = _check_gain(gain)
        self.ties = _check_ties(ties)
        self.empty = _check_empty(empty)
        self.relevance_threshold = _check_real(relevance_threshold, "relevance_threshold")
        self.max_grade = _check_real(max_grade, "max_grade", allow_none=True)
        if self.max_grade is not None and self.max_grade < 0:
            raise ValueError(f"max_grade must be >= 0, got {max_grade}")
        if self.ties == "average" and self.kind not in _AVERAGE_TIES_OK:
            raise ValueError(
                f"ties='average' has no closed form for {self.kind!r}; it is available for "
                f"{', '.join(_AVERAGE_TIES_OK)}. Use ties='input', 'pessimistic' or 'optimistic'."
            )
        # Kernel arguments, computed once.
        self._kind_code = _KIND_CODES[self.kind]
        self._ties_code = _TIES_CODES[self.ties]
        self._linear_gain = self.gain == "linear"
        if self.gain == "exp":
            self._table = _EXP_GAIN_TABLE
        elif self.gain == "table":
            self._table = self.gain_table
        else:
            self._table = np.zeros(1)  # unused with a linear gain
        self._empty_value = np.nan if self.empty == "skip" else self.empty

    @property
    def name(self):
        return f"{self.kind}@{self.k}" if self.k else self.kind

    def get_params(self):
        """Options as a JSON-serialisable dict (``Metric(**params)`` rebuilds it)."""
        return {
            "kind": self.kind,
            "k": self.k or None,
            "gain": self.gain if self.gain_table is None else self.gain_table.tolist(),
            "ties": self.ties,
            "empty": self.empty,
            "relevance_threshold": self.relevance_threshold,
            "max_grade": self.max_grade,
        }

    def __repr__(self):
        params = self.get_params()
        defaults = {"gain": "exp", "ties": "input", "empty": 1.0, "relevance_threshold": 0.0, "max_grade": None}
        shown = ", ".join(
            f"{key}={params[key]!r}"
            for key in defaults
            if params[key] != defaults[key] and _option_applies(self.kind, key)
        )
        return f"Metric({self.name!r}{', ' + shown if shown else ''})"

    def __eq__(self, other):
        return isinstance(other, Metric) and self.get_params() == other.get_params()

    def __hash__(self):
        return hash(self.name)


    # -- evaluation ---------------------------------------------------------
    def _label_rule(self):
        """The `ltr._validation.LabelRule` of this metric's gain (or max_grade)."""
        if self.kind in _USES_GAIN and self.gain == "table":
            return label_rule(label_gain=self.gain_table, allow_linear=True)
        if self.kind in _USES_GAIN and self.gain == "exp":
            return label_rule("exp", allow_linear=True)
        return label_rule("linear", max_grade=self.max_grade if self.kind == "err" else None)

    def _check_inputs(self, y_true, y_score):
        max_label = check_label_values(y_true, self._label_rule(), name="y_true", context=self.name)
        check_finite(y_score, "y_score")
        return max_label

    def per_query(self, y_true, y_score, group_ptr):
        """Value of every query; NaN for queries left out by ``empty='skip'``.

        Parameters
        ----------
        y_true, y_score : ndarray of float64, shape (n_samples,)
            Labels and scores, rows grouped by query.
        group_ptr : ndarray of int64, shape (n_queries + 1,)
            Query offsets: the rows of query q are ``group_ptr[q]:group_ptr[q + 1]``.

        Returns
        -------
        ndarray of float64, shape (n_queries,)
        """
        y_true = np.ascontiguousarray(y_true, dtype=np.float64)
        y_score = np.ascontiguousarray(y_score, dtype=np.float64)
        group_ptr = np.ascontiguousarray(group_ptr, dtype=PTR_DTYPE)
        if y_true.ndim != 1 or y_score.shape != y_true.shape:
            raise LTRValueError(
                "y_true and y_score must be 1-d arrays of the same length, "
                f"got shapes {y_true.shape} and {y_score.shape}"
            )
        if group_ptr.ndim != 1 or _bad_group_ptr(group_ptr, y_true.shape[0]):
            raise QueryError(
                "group_ptr must be non-decreasing query offsets starting at 0 and ending at len(y_true) "
                f"({y_true.shape[0]})"
            )
        max_label = self._check_inputs(y_true, y_score)
        max_grade = self.max_grade if self.max_grade is not None else max_label
        out = np.empty(group_ptr.shape[0] - 1, dtype=np.float64)
        _metric_per_query(
            self._kind_code, y_true, y_score, group_ptr, self.k, self._linear_gain, self._table,
            self._ties_code, self._empty_value, self.relevance_threshold, max_grade, out,
        )
        return out

    def __call__(self, y_true, y_score, group_ptr):
        """Mean over queries (queries left out by ``empty='skip'`` excluded; NaN if none is left)."""
        return float(_nanmean(self.per_query(y_true, y_score, group_ptr)))


# --------------------------------------------------------------------------
# Metric names
# --------------------------------------------------------------------------
def parse_metric(name, **options):
    """A `Metric` from a name such as ``'ndcg@10'``, plus options.

    Names (case-insensitive): ``ndcg@k``, ``dcg@k``, ``map@k``, ``mrr@k``,
    ``err@k``, ``precision@k`` (also ``p@k``, ``pre@k``), and ``ndcg``,
    ``dcg``, ``map``, ``mrr``, ``err``, ``precision`` for the whole list.

    Options: ``gain``, ``label_gain`` (a gain table; the same as passing
    the table as ``gain``), ``ties``, ``empty``, ``relevance_threshold``,
    ``max_grade``; see `Metric`. None means "the default". Options that a
    metric does not use (a gain for MAP, ...) are ignored so that one option
    set (e.g. the estimator's ``label_gain``) can be shared by all metrics;
    unknown option names raise TypeError.

    Parameters
    ----------
    name : str or Metric
        A metric name, or a `Metric` (returned as is when no options are given).
    **options
        See above.

    Returns
    -------
    Metric
    """
    unknown = sorted(set(options) - set(METRIC_OPTIONS))
    if unknown:
        raise TypeError(f"unknown metric option(s) {unknown}; accepted: {list(METRIC_OPTIONS)}")
    if isinstance(name, Metric):
        if not options:
            return name
        params = name.get_params()
        kind, k = params.pop("kind"), params.pop("k")
        if options.get("gain") is not None or options.get("label_gain") is not None:
            del params["gain"]
        options = {**params, **options}
    else:
        if not isinstance(name, str):
            raise TypeError(f"metric name must be a string such as 'ndcg@10', got {type(name).__name__}")
        text = name.strip().lower()
        base, sep, k_text = text.partition("@")
        kind = _KIND_ALIASES.get(base)
        if kind is None:
            raise ValueError(
                f"unknown metric {name!r}; use ndcg@k, dcg@k, map@k, mrr@k, err@k or precision@k "
                "(or the name without @k for the whole list)"
            )
        k = None
        if sep:
            if not k_text.isdigit():
                raise ValueError(f"metric {name!r}: the cut-off after '@' must be a non-negative integer")
            k = int(k_text)
    # None means "not given" for every option (callers forward their own defaults).
    options = {key: value for key, value in options.items() if value is not None}
    if "label_gain" in options:
        if "gain" in options:
            raise ValueError("pass the gain table either as gain= or as label_gain=, not both")
        options["gain"] = options.pop("label_gain")
    kept = {key: value for key, value in options.items() if _option_applies(kind, key)}
    return Metric(kind, k, **kept)


def evaluate(name, y_true, y_score, group_ptr, **options):
    """Mean of metric `name` over the queries of grouped arrays.

    ``evaluate('ndcg@10', y, s, group_ptr)`` is ``parse_metric('ndcg@10')(y, s, group_ptr)``;
    see `parse_metric` for names and options. The training loop calls the
    same `Metric` objects.
    """
    return parse_metric(name, **options)(y_true, y_score, group_ptr)


# --------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------
def _as_float_1d(a, name):
    return as_numeric_1d(a, name)


def _score(metric, y_true, y_score, qid, group, per_query):
    y_true = _as_float_1d(y_true, "y_true")
    y_score = _as_float_1d(y_score, "y_score")
    if y_true.shape[0] != y_score.shape[0]:
        raise LTRValueError(f"y_true has {y_true.shape[0]} entries but y_score has {y_score.shape[0]}")
    if y_true.shape[0] == 0:
        raise LTRValueError("y_true and y_score are empty")
    layout = make_layout(y_true.shape[0], qid=qid, group=group, what="y_true")
    values = metric.per_query(layout.to_grouped(y_true), layout.to_grouped(y_score), layout.group_ptr)
    if per_query:
        import pandas as pd

        return pd.Series(values, index=pd.Index(layout.query_ids, name="qid"), name=metric.name)
    mean = float(_nanmean(values))
    if np.isnan(mean):
        warnings.warn(
            f"{metric.name}: every query was left out by empty='skip' (no query has a relevant document); "
            "returning NaN",
            RuntimeWarning,
            stacklevel=3,
        )
    return mean


_COMMON_DOC = """
    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Relevance labels (non-negative).
    y_score : array-like of shape (n_samples,)
        Predicted scores; higher ranks first.
    qid : array-like of shape (n_samples,), optional
        Query id of each row, in any row order.
    group : array-like of int, optional
        LightGBM-style query sizes (rows already grouped). With neither
        `qid` nor `group`, all rows form one query.
    k : int or None, default={k_default}
        Cut-off; None or 0 evaluates the whole list."""

_PER_QUERY_DOC = """
    per_query : bool, default=False
        Return the value of every query instead of their mean.

    Returns
    -------
    float or pandas.Series
        The mean over queries (queries left out by ``empty='skip'``
        excluded), or with ``per_query=True`` a pandas Series of per-query
        values indexed by query id (0..n_queries-1 for `group`), NaN for
        queries left out. Its order is that of the queries after grouping:
        order of first appearance when the rows of each query are
        contiguous, ascending id otherwise."""

_GAIN_TIES_DOC = """
    gain : {{'exp', 'linear'}} or array-like, default='exp'
        ``2**y - 1`` (LightGBM), ``y`` (scikit-learn), or a table of gains
        indexed by integer label (LightGBM's ``label_gain``).
    ties : {{'input', 'pessimistic', 'optimistic', 'average'}}, default='input'
        Order of equal scores: input row order (LightGBM), lower labels first,
        higher labels first, or the average over all orders of each tie group
        (scikit-learn's default)."""

_EMPTY_DOC = """
    empty : {{1.0, 0.0, 'skip'}}, default=1.0
        Value of a query with {empty_what}:
        1 (LightGBM's convention), 0, or 'skip' to leave it out of the mean."""

_THRESHOLD_DOC = """
    relevance_threshold : float, default=0.0
        A document is relevant when its label is greater than this."""


def _doc(summary, k_default, *, gain=False, ties=False, empty=None, threshold=False, extra=""):
    text = summary + _COMMON_DOC.format(k_default=k_default)
    if gain:
        text += _GAIN_TIES_DOC.format()
    elif ties:
        text += """
    ties : {{'input', 'pessimistic', 'optimistic'{avg}}}, default='input'
        Order of equal scores: input row order (LightGBM), lower labels first,
        higher labels first{avg_text}.""".format(
            avg=", 'average'" if ties == "average" else "",
            avg_text=", or the average over all orders of each tie group" if ties == "average" else "",
        )
    if empty is not None:
        text += _EMPTY_DOC.format(empty_what=empty)
    if threshold:
        text += _THRESHOLD_DOC
    text += extra
    return text + _PER_QUERY_DOC + "\n    "


def ndcg_score(y_true, y_score, *, qid=None, group=None, k=10, gain="exp", ties="input", empty=1.0, per_query=False):
    metric = Metric("ndcg", k, gain=gain, ties=ties, empty=empty)
    return _score(metric, y_true, y_score, qid, group, per_query)


ndcg_score.__doc__ = _doc(
    """Normalised discounted cumulative gain at k, per query and averaged.

    ``NDCG@k = DCG@k / IDCG@k`` with ``DCG@k = sum_{r < k} gain(y_(r)) / log2(r + 2)``,
    ``y_(r)`` the label at 0-based rank r of the ranking by `y_score`, and
    ``IDCG@k`` the DCG@k of the labels sorted by gain (the best ranking).
    The defaults reproduce LightGBM's ``ndcg@k`` metric; ``gain='linear',
    ties='average', empty=0.0, k=None`` reproduces scikit-learn's
    ``ndcg_score`` query by query.
""",
    10,
    gain=True,
    empty="no relevant document (IDCG = 0)",
)


def dcg_score(y_true, y_score, *, qid=None, group=None, k=10, gain="exp", ties="input", per_query=False):
    metric = Metric("dcg", k, gain=gain, ties=ties)
    return _score(metric, y_true, y_score, qid, group, per_query)


dcg_score.__doc__ = _doc(
    """Discounted cumulative gain at k (not normalised), per query and averaged.

    ``DCG@k = sum_{r < k} gain(y_(r)) / log2(r + 2)``, ``y_(r)`` the label at
    0-based rank r of the ranking by `y_score`. Base-2 logarithm as in
    scikit-learn (LightGBM's discount uses the natural logarithm internally,
    which cancels in its NDCG).
""",
    10,
    gain=True,
)


def map_score(
    y_true, y_score, *, qid=None, group=None, k=None, ties="input", empty=1.0, relevance_threshold=0.0, per_query=False
):
    metric = Metric("map", k, ties=ties, empty=empty, relevance_threshold=relevance_threshold)
    return _score(metric, y_true, y_score, qid, group, per_query)


map_score.__doc__ = _doc(
    """Mean average precision at k (LightGBM's ``map@k``).

    ``AP@k = (1 / min(R, k)) * sum_{r < k, doc r relevant} P(r)``, where
    ``P(r)`` is the fraction of relevant documents in ranks ``0..r`` and ``R``
    the number of relevant documents of the query. With ``k=None`` this is
    the classic average precision. Queries without relevant documents score
    1 by default, as in LightGBM 4.x (LightGBM's development branch now
    leaves them out: ``empty='skip'``).
""",
    None,
    ties=True,
    empty="no relevant document",
    threshold=True,
)


def mrr_score(
    y_true, y_score, *, qid=None, group=None, k=None, ties="input", empty=1.0, relevance_threshold=0.0, per_query=False
):
    metric = Metric("mrr", k, ties=ties, empty=empty, relevance_threshold=relevance_threshold)
    return _score(metric, y_true, y_score, qid, group, per_query)


mrr_score.__doc__ = _doc(
    """Mean reciprocal rank at k.

    ``RR@k = 1 / (r + 1)`` for the 0-based rank ``r`` of the first relevant
    document if ``r < k``, else 0. ``ties='average'`` gives the exact
    expectation over random orders of tied documents.
""",
    None,
    ties="average",
    empty="no relevant document",
    threshold=True,
)


def precision_score(
    y_true, y_score, *, qid=None, group=None, k=10, ties="input", empty=1.0, relevance_threshold=0.0, per_query=False
):
    metric = Metric("precision", k, ties=ties, empty=empty, relevance_threshold=relevance_threshold)
    return _score(metric, y_true, y_score, qid, group, per_query)


precision_score.__doc__ = _doc(
    """Precision at k: the fraction of relevant documents among the top k.

    ``P@k = #{relevant in ranks 0..k'-1} / k'`` with ``k' = min(k, n)`` for
    a query of n documents (XGBoost's ``pre@k``), so a short query whose
    documents are all relevant scores 1. With ``k=None`` it is the share of
    relevant documents in the query. XGBoost scores queries without
    relevant documents as 0 (``empty=0.0``).
""",
    10,
    ties="average",
    empty="no relevant document",
    threshold=True,
)


def err_score(y_true, y_score, *, qid=None, group=None, k=10, ties="input", empty=1.0, max_grade=None, per_query=False):
    metric = Metric("err", k, ties=ties, empty=empty, max_grade=max_grade)
    return _score(metric, y_true, y_score, qid, group, per_query)


err_score.__doc__ = _doc(
    """Expected reciprocal rank at k (Chapelle, Metzler, Zhang, Grinspan, CIKM 2009).

    A user scans the ranking top down and stops at a document with
    probability ``R(y) = (2**y - 1) / 2**max_grade``;
    ``ERR@k = sum_{r < k} R_r / (r + 1) * prod_{j < r} (1 - R_j)``.
""",
    10,
    ties=True,
    empty="only 0 labels",
    extra="""
    max_grade : float or None, default=None
        The top grade of the label scale. None uses the largest label of
        `y_true` (pass the scale's top grade, e.g. 4 for 0..4 labels, to
        compare numbers across data sets). Labels above it are an error.""",
)
