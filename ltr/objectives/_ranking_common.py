"""Numba helpers shared by the stochastic ranking objectives.

What lives here and why:

* a counter-based random stream: the ``k``-th draw of a query is a pure
  function of ``(query seed, k)``, so a query's noise does not depend on
  the thread that processes it or on the other queries;
* a stable descending argsort on caller-owned buffers (insertion-sorted runs
  merged bottom-up), O(n log n) and without allocation;
* gain, discount and reciprocal-rank weights of the metrics the objectives
  target (DCG / NDCG / MRR / ERR / MAP), and the per-query normalisers.

Conventions: positions ``r`` are 0-based ranks in a list sorted by score,
descending; a position at or below the cut-off ``top`` has weight 0.
"""
import numbers

import numpy as np
from numba import njit, prange

from .._dtypes import NJIT, NJIT_PARALLEL

# Target metrics, as integer codes for the kernels.
CLASSIC = 0
DCG = 1
NDCG = 2
MRR = 3
ERR = 4
MAP = 5

METRIC_CODES = {"classic": CLASSIC, "dcg": DCG, "ndcg": NDCG, "mrr": MRR, "err": ERR, "map": MAP}

# Noise distributions added to the scores of YetiRank's random rankings.
NOISE_NONE = 0
NOISE_LOGISTIC = 1
NOISE_GAUSS = 2

#: The golden-ratio increment of SplitMix64: the k-th draw of a stream is
#: ``splitmix64_mix(seed + (k + 1) * GAMMA)``.
_GAMMA = np.uint64(0x9E3779B97F4A7C15)

#: Above this many documents the sort merges runs; below it, insertion sort.
_SORT_RUN = 16

#: Labels of this value or more give ``2**y - 1`` gains that lose integer
#: precision and overflow quickly; LightGBM and XGBoost cap labels below 31 too,
#: and so does `ltr._validation` (one rule for every objective).
MAX_EXP_GAIN_LABEL = 31


# ---------------------------------------------------------------------------
# Random draws
# ---------------------------------------------------------------------------
@njit(**NJIT)
def random_uint64(seed, k):
    """The ``k``-th 64-bit draw of the stream ``seed`` (SplitMix64 output function).

    Equal to the ``k``-th output of a SplitMix64 generator started at
    ``seed``; being a function of ``k`` it needs no state.
    """
    z = np.uint64(seed) + (np.uint64(k) + np.uint64(1)) * _GAMMA
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(**NJIT)
def random_uniform(seed, k):
    """The ``k``-th draw of a uniform in the open interval (0, 1).

    53 random bits plus one half: never exactly 0 or 1, so ``log(u)`` and
    ``log(1 - u)`` are finite.
    """
    return (np.float64(random_uint64(seed, k) >> np.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@njit(**NJIT)
def random_logistic(seed, k):
    """Standard logistic draw ``log(u / (1 - u))`` from uniform draw ``k``.

    The difference of two standard Gumbel variables; adding it to scores is
    what multiplying ``exp(score)`` by ``u / (1 - u)`` does (CatBoost's
    "Gumbel" YetiRank noise).
    """
    u = random_uniform(seed, k)
    return np.log(u / (1.0 - u))


@njit(**NJIT)
def random_normal(seed, k):
    """Standard normal draw ``k`` (Box-Muller from uniform draws ``2k`` and ``2k + 1``)."""
    u1 = random_uniform(seed, 2 * k)
    u2 = random_uniform(seed, 2 * k + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(**NJIT)
def fill_noise(seed, first, kind, power, out):
    """Write noise draws ``first .. first + len(out) - 1`` of the stream into `out` (OUT).

    ``kind``: NOISE_NONE (zeros), NOISE_LOGISTIC or NOISE_GAUSS, scaled by
    ``power``.
    """
    n = out.shape[0]
    if kind == NOISE_LOGISTIC:
        for i in range(n):
            out[i] = power * random_logistic(seed, first + i)
    elif kind == NOISE_GAUSS:
        for i in range(n):
            out[i] = power * random_normal(seed, first + i)
    else:
        for i in range(n):
            out[i] = 0.0


# ---------------------------------------------------------------------------
# Sorting
# ---------------------------------------------------------------------------
@njit(**NJIT)
def stable_argsort_desc(keys, order, sorted_keys, buf, key_buf):
    """Indices sorting `keys` descending, ties in index order, into `order` (OUT).

    Parameters
    ----------
    keys : ndarray of float64, shape (n,)
    order : ndarray of int64, shape (n,)
        OUT: ``keys[order]`` is non-increasing; equal keys keep index order.
    sorted_keys : ndarray of float64, shape (n,)
        OUT: ``keys[order]``.
    buf : ndarray of int64, shape (n,)
    key_buf : ndarray of float64, shape (n,)
        Scratch space (overwritten).

    Insertion sort on runs of 16, then bottom-up merges: O(n log n) time,
    no allocation. Keys travel with their indices so that merges read
    memory in order. A merge takes the right element only when its key is
    strictly greater, which keeps equal keys in input order (stable).
    """
    n = keys.shape[0]
    for i in range(n):
        order[i] = i
        sorted_keys[i] = keys[i]
    for start in range(0, n, _SORT_RUN):
        end = min(start + _SORT_RUN, n)
        for i in range(start + 1, end):
            v = order[i]
            kv = sorted_keys[i]
            j = i - 1
            while j >= start and sorted_keys[j] < kv:
                order[j + 1] = order[j]
                sorted_keys[j + 1] = sorted_keys[j]
                j -= 1
            order[j + 1] = v
            sorted_keys[j + 1] = kv
    if n <= _SORT_RUN:
        return
    src = order
    dst = buf
    src_k = sorted_keys
    dst_k = key_buf
    in_buf = False
    width = _SORT_RUN
    while width < n:
        for left in range(0, n, 2 * width):
            mid = min(left + width, n)
            right = min(left + 2 * width, n)
            i = left
            j = mid
            k = left
            while i < mid and j < right:
                if src_k[j] > src_k[i]:
                    dst[k] = src[j]
                    dst_k[k] = src_k[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    dst_k[k] = src_k[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                dst_k[k] = src_k[i]
                i += 1
                k += 1
            while j < right:
                dst[k] = src[j]
                dst_k[k] = src_k[j]
                j += 1
                k += 1
        src, dst = dst, src
        src_k, dst_k = dst_k, src_k
        in_buf = not in_buf
        width *= 2
    if in_buf:
        for i in range(n):
            order[i] = buf[i]
            sorted_keys[i] = key_buf[i]


# ---------------------------------------------------------------------------
# Metric weights
# ---------------------------------------------------------------------------
@njit(**NJIT)
def discount(r, top, log_denominator):
    """Position weight of 0-based rank `r`: ``1/log2(r+2)`` (or ``1/(r+1)``), 0 when ``r >= top``."""
    if r >= top:
        return 0.0
    if log_denominator:
        return 1.0 / np.log2(r + 2.0)
    return 1.0 / (r + 1.0)


@njit(**NJIT)
def reciprocal_rank(r, top):
    """``1/(r+1)`` for 0-based rank ``r < top``, else 0 (MRR, MAP and ERR weights)."""
    if r >= top:
        return 0.0
    return 1.0 / (r + 1.0)


def document_gains(y, metric, exp_gain, max_grade):
    """Per-document gain the metric sums, float64, shape (n,).

    * DCG / NDCG: ``2**y - 1`` (``exp_gain``) or ``y``;
    * MRR / MAP: 1 for relevant (``y > 0``) documents, else 0;
    * ERR: the stop probability ``(2**y - 1) / 2**max_grade`` (Chapelle et
      al., 2009);
    * classic YetiRank: the label itself (unused by the kernels).
    """
    y = np.asarray(y, dtype=np.float64)
    if metric in (DCG, NDCG):
        return np.exp2(y) - 1.0 if exp_gain else y.copy()
    if metric in (MRR, MAP):
        return (y > 0).astype(np.float64)
    if metric == ERR:
        return (np.exp2(y) - 1.0) / np.exp2(max_grade)
    return y.copy()


@njit(**NJIT)
def _ideal_dcg_query(gain, top, log_denominator):
    """DCG@top of the gains sorted descending."""
    g = np.sort(gain)
    n = g.shape[0]
    total = 0.0
    for r in range(min(n, top)):
        total += g[n - 1 - r] * discount(r, top, log_denominator)
    return total


@njit(**NJIT_PARALLEL)
def query_normalisers(gain, group_ptr, metric, top, log_denominator):
    """Per-query factor applied to metric changes, shape (n_queries,).

    ``1 / IDCG@top`` for NDCG, ``1 / min(n_relevant, top)`` for MAP (the
    AP@top denominator, as LightGBM's ``map@k``), 1 otherwise; 0 when the
    query has no relevant document (no signal).
    """
    n_queries = group_ptr.shape[0] - 1
    out = np.ones(n_queries, dtype=np.float64)
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        if metric == NDCG:
            idcg = _ideal_dcg_query(gain[a:b], top, log_denominator)
            out[q] = 1.0 / idcg if idcg > 0.0 else 0.0
        elif metric == MAP:
            n_rel = 0
            for i in range(a, b):
                if gain[i] > 0.0:
                    n_rel += 1
            denom = min(n_rel, top)
            out[q] = 1.0 / denom if denom > 0 else 0.0
    return out


@njit(**NJIT_PARALLEL)
def queries_with_signal(values, group_ptr):
    """True for queries with at least two documents whose `values` differ, shape (n_queries,)."""
    n_queries = group_ptr.shape[0] - 1
    out = np.zeros(n_queries, dtype=np.bool_)
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        for i in range(a + 1, b):
            if values[i] != values[a]:
                out[q] = True
                break
    return out


@njit(**NJIT)
def sigmoid_pair(x):
    """``(sigmoid(-x), sigmoid(x))`` without overflow: P(the pair is misordered) and its complement."""
    e = np.exp(-abs(x))
    inv = 1.0 / (1.0 + e)
    if x >= 0.0:
        return e * inv, inv
    return inv, e * inv


def position_weights(n, mode, top, log_denominator):
    """Position weight table of length ``n + 1`` (0 from `top` on), float64.

    Discounts ``1/log2(r+2)`` (or ``1/(r+1)``) for DCG and NDCG, reciprocal
    ranks ``1/(r+1)`` for MRR, ERR and MAP.
    """
    out = np.zeros(n + 1, dtype=np.float64)
    for r in range(min(n + 1, top)):
        out[r] = discount(r, top, log_denominator) if mode in (DCG, NDCG) else reciprocal_rank(r, top)
    return out


# ---------------------------------------------------------------------------
# Parameter checks (ValueError / TypeError naming the parameter)
# ---------------------------------------------------------------------------
def is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def check_int(name, value, low):
    if not is_int(value):
        raise TypeError(f"{name} must be an integer >= {low}, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def check_real(name, value, low=None, high=None, low_open=False):
    if not is_real(value):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def check_choice(name, value, choices):
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value.lower()


def check_top(top):
    """``top``: None (whole list) or an int >= 1."""
    if top is None:
        return None
    return check_int("top", top, 1)


def check_metric_labels(name, y, metric, exp_gain, max_grade):
    """Labels usable by the target metric; raises ValueError naming `name`."""
    if metric == CLASSIC:
        return
    if np.any(y < 0):
        raise ValueError(f"{name} with metric {metric_name(metric)!r} needs non-negative relevance labels")
    if (metric in (DCG, NDCG) and exp_gain) or metric == ERR:
        if np.any(y >= MAX_EXP_GAIN_LABEL):
            raise ValueError(
                f"{name}: labels of {MAX_EXP_GAIN_LABEL} or more overflow the gain 2**y - 1; "
                "rescale the labels or use gain='linear'"
            )
    if metric == ERR and max_grade is not None and np.any(y > max_grade):
        raise ValueError(f"{name}: labels exceed max_grade={max_grade}")


def metric_name(code):
    return {v: k for k, v in METRIC_CODES.items()}[code]


def resolved_top(top, n_max):
    """``top`` as an int for the kernels: the longest query + 1 when None."""
    return n_max + 1 if top is None else int(top)


def resolved_max_grade(max_grade, y):
    return float(np.max(y)) if max_grade is None else float(max_grade)
