"""LambdaMART: LambdaRank gradients for NDCG, as LightGBM's ``lambdarank`` computes them.

The math (one query, documents ranked by current score, descending, ties in
input order; ``r_i`` is the 0-based rank of document ``i``, ``G`` the label
gain table, ``D(r) = 1 / log2(r + 2)``, ``k`` the truncation level)::

    IDCG@k  = sum_{r < min(k, n)} G(y_(r)) D(r)        labels sorted descending
    pairs   = (a, b) positions with a < b, a < k, y different, no score -inf
    i, j    = the more / less relevant document of the pair
    ds      = s_i - s_j
    dZ_ij   = (G(y_i) - G(y_j)) |D(r_i) - D(r_j)| / IDCG@k
    dZ_ij  /= (0.01 + |ds|)                 if norm and best score != worst score
    rho_ij  = 1 / (1 + exp(sigma ds))       = P(model orders j above i)
    g_i    -= sigma rho dZ,   g_j += sigma rho dZ
    h_i    += sigma^2 rho (1 - rho) dZ,     h_j likewise
    S       = sum over pairs of 2 sigma rho dZ
    g, h   *= log2(1 + S) / S               if norm and S > 0

``g`` is the derivative of the pairwise logistic loss
``sum dZ_ij log(1 + exp(-sigma (s_i - s_j)))`` with the weights ``dZ_ij``
held fixed, and ``h`` its (exact, per pair) second derivative: every
pair's hessian is non-negative, so ``h >= 0``.
"""
import numpy as np
from numba import njit, prange

from .._dtypes import G_H_DTYPE, NJIT, NJIT_PARALLEL
from .._validation import check_labels
from . import register
from ._base import Objective

#: LightGBM's default label gain has this many entries: 2**i - 1 for i < 31
#: (2**31 - 1 would overflow its int arithmetic).
DEFAULT_N_LABEL_GAIN = 31

#: The constant in the |ds| normalisation, ``dZ / (0.01 + |s_i - s_j|)``.
#: LightGBM writes it as the float literal ``0.01f``, which is promoted to
#: the double 0.009999999776482582; we use that exact value for parity.
SCORE_DISTANCE_OFFSET = float(np.float32(0.01))


def default_label_gain(n=DEFAULT_N_LABEL_GAIN):
    """LightGBM's default gain table ``G(y) = 2**y - 1`` for ``y < n``, float64."""
    return np.array([(1 << i) - 1 for i in range(n)], dtype=np.float64)


def dcg_discount(n):
    """``D(r) = 1 / log2(r + 2)`` for ranks ``r = 0 .. n-1`` (float64)."""
    return 1.0 / np.log2(np.arange(n, dtype=np.float64) + 2.0)


# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------
@njit(**NJIT)
def _inverse_max_dcg_query(y, label_gain, discount, truncation_level):
    """``1 / IDCG@k`` of one query, or 0 when the ideal DCG is 0.

    Parameters
    ----------
    y : ndarray of float64, shape (n,)
        Integer-valued labels of the query.
    label_gain : ndarray of float64, shape (n_labels,)
    discount : ndarray of float64, shape (>= min(n, k),)
    truncation_level : int
        ``k``: the ideal DCG sums the best ``min(k, n)`` documents.
    """
    n = y.shape[0]
    k = min(truncation_level, n)
    if k <= 0:
        return 0.0
    # Ideal order = labels descending (what LightGBM's label counting does).
    labels = np.sort(y)
    max_dcg = 0.0
    for r in range(k):
        max_dcg += discount[r] * label_gain[np.int64(labels[n - 1 - r])]
    if max_dcg > 0.0:
        return 1.0 / max_dcg
    return 0.0


@njit(**NJIT_PARALLEL)
def _inverse_max_dcg(y, group_ptr, label_gain, discount, truncation_level):
    """``1 / IDCG@k`` per query, shape (n_queries,); 0 for queries without gain."""
    n_queries = group_ptr.shape[0] - 1
    out = np.zeros(n_queries, dtype=np.float64)
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        out[q] = _inverse_max_dcg_query(y[a:b], label_gain, discount, truncation_level)
    return out


@njit(**NJIT)
def _lambdarank_query(y, gain, score, discount, inverse_max_dcg, sigma, truncation_level, norm, grad, hess):
    """LambdaRank gradients and hessians of one query (see the module docstring).

    Parameters
    ----------
    y : ndarray of float64, shape (n,)
        Labels of the query (compared for equality only).
    gain : ndarray of float64, shape (n,)
        ``G(y)`` per document.
    score : ndarray of float64, shape (n,)
        Current raw scores.
    discount : ndarray of float64, shape (>= n,)
        ``D(r)`` per rank.
    inverse_max_dcg : float
        ``1 / IDCG@k`` of the query; 0 means "no signal".
    sigma : float
    truncation_level : int
    norm : bool
    grad, hess : ndarray of float64, shape (n,)
        OUT: overwritten (not accumulated into).
    """
    n = y.shape[0]
    for i in range(n):
        grad[i] = 0.0
        hess[i] = 0.0
    if n <= 1 or inverse_max_dcg == 0.0:
        return
    # Stable descending order: ascending order of -score keeps ties in input
    # order, as LightGBM's std::stable_sort with `score[a] > score[b]` does.
    order = np.argsort(-score, kind="mergesort")
    best_score = score[order[0]]
    # LightGBM steps back over one trailing -inf score (and one only) when it
    # picks the worst score of the |ds| guard.
    worst_pos = n - 1
    if score[order[worst_pos]] == -np.inf:
        worst_pos -= 1
    worst_score = score[order[worst_pos]]
    # On equal scores (the first iteration) |ds| = 0 for every pair and the
    # normalisation would multiply dZ by 100; LightGBM skips it then.
    divide_by_distance = norm and best_score != worst_score

    sigma2 = sigma * sigma
    sum_lambdas = 0.0
    n_top = min(n - 1, truncation_level)
    for a in range(n_top):
        ia = order[a]
        s_a = score[ia]
        if s_a == -np.inf:
            break  # sorted: every later score is -inf too
        y_a = y[ia]
        g_a = gain[ia]
        d_a = discount[a]
        for b in range(a + 1, n):
            ib = order[b]
            s_b = score[ib]
            if s_b == -np.inf:
                break
            y_b = y[ib]
            if y_a == y_b:
                continue
            if y_a > y_b:
                hi, lo = ia, ib
                ds = s_a - s_b
                dz = (g_a - gain[ib]) * abs(d_a - discount[b]) * inverse_max_dcg
            else:
                hi, lo = ib, ia
                ds = s_b - s_a
                dz = (gain[ib] - g_a) * abs(d_a - discount[b]) * inverse_max_dcg
            if divide_by_distance:
                dz /= SCORE_DISTANCE_OFFSET + abs(ds)
            # rho = 1 / (1 + exp(x)) and 1 - rho = 1 / (1 + exp(-x)), both
            # from exp(-|x|) <= 1: no overflow, no cancellation in 1 - rho.
            x = sigma * ds
            e = np.exp(-abs(x))
            inv_1pe = 1.0 / (1.0 + e)
            if x >= 0.0:
                rho = e * inv_1pe
                one_minus_rho = inv_1pe
            else:
                rho = inv_1pe
                one_minus_rho = e * inv_1pe
            lam = rho * (sigma * dz)
            h = (rho * one_minus_rho) * (sigma2 * dz)
            grad[hi] -= lam
            grad[lo] += lam
            hess[hi] += h
            hess[lo] += h
            sum_lambdas += 2.0 * lam
    if norm and sum_lambdas > 0.0:
        factor = np.log2(1.0 + sum_lambdas) / sum_lambdas
        for i in range(n):
            grad[i] *= factor
            hess[i] *= factor


@njit(**NJIT_PARALLEL)
def _lambdarank(y, gain, score, group_ptr, discount, inverse_max_dcg, sigma, truncation_level, norm, grad, hess):
    """Run `_lambdarank_query` over every query (``prange``); writes `grad`, `hess` (OUT).

    Each query writes only its own rows, so the result does not depend on
    the number of threads.
    """
    n_queries = group_ptr.shape[0] - 1
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        _lambdarank_query(
            y[a:b], gain[a:b], score[a:b], discount, inverse_max_dcg[q], sigma, truncation_level, norm,
            grad[a:b], hess[a:b],
        )


# ---------------------------------------------------------------------------
# Objective
# ---------------------------------------------------------------------------
def _check_label_gain(label_gain):
    if label_gain is None:
        return default_label_gain()
    if isinstance(label_gain, (str, bytes)):
        raise TypeError("label_gain must be a sequence of numbers (gain of label 0, 1, 2, ...), got a string")
    try:
        gain = np.asarray(label_gain, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"label_gain must be a sequence of numbers (gain of label 0, 1, 2, ...), got {label_gain!r}"
        ) from None
    if gain.ndim != 1 or gain.shape[0] == 0:
        raise ValueError(f"label_gain must be a non-empty 1-dimensional sequence, got shape {gain.shape}")
    if not np.all(np.isfinite(gain)):
        raise ValueError("label_gain contains NaN or infinite values")
    if np.any(gain < 0):
        raise ValueError("label_gain must be non-negative")
    if np.any(np.diff(gain) < 0):
        # A more relevant label with a smaller gain would give pairs a
        # negative weight, hence negative hessians.
        raise ValueError("label_gain must be non-decreasing: label_gain[y] is the gain of relevance label y")
    return np.ascontiguousarray(gain)


@register
class LambdaMART(Objective):
    """LambdaRank gradients for NDCG, equal to LightGBM's ``objective='lambdarank'``.

    For each query the documents are ranked by their current score (stable
    sort, descending). Every pair of documents with different labels and at
    least one member in the top ``lambdarank_truncation_level`` positions
    pushes the more relevant one up with the weight ``dZ_ij``: the change of
    DCG when the two swap, divided by the ideal DCG@k (as in LightGBM, the
    discount of a member ranked below ``k`` is not cut to 0)::

        dZ_ij = (G(y_i) - G(y_j)) |D(r_i) - D(r_j)| / IDCG@k
        rho   = 1 / (1 + exp(sigma (s_i - s_j)))
        g_i  -= sigma rho dZ_ij           g_j += sigma rho dZ_ij
        h_i  += sigma^2 rho (1-rho) dZ_ij h_j += the same

    with ``G`` = `label_gain`, ``D(r) = 1/log2(r+2)``, ``k`` the truncation
    level (the ideal DCG is cut at ``k`` too). With ``lambdarank_norm``,
    ``dZ`` is divided by ``0.01 + |s_i - s_j|`` (unless every score of the
    query is equal, as on the first iteration) and the query's g and h are
    scaled by ``log2(1 + S) / S``, ``S = sum over pairs of 2 sigma rho dZ``.
    Row weights multiply g and h afterwards. The initial score is 0.

    The one intended difference from LightGBM: LightGBM reads ``rho`` from
    a table of 2**20 bins over ``sigma (s_i - s_j)`` in [-25, 25] (clamped
    outside) and stores g and h as float32; we compute ``rho`` exactly in
    float64 with a form of the logistic function that cannot overflow.
    Gradients therefore agree to about 1e-4 relative when
    ``sigma |s_i - s_j| < 25``; beyond, LightGBM's clamped table keeps
    ``rho >= 1.4e-11`` where the exact value is smaller.

    Queries with one document, with all labels equal, or with ideal DCG 0
    get exactly zero g and h. Unlike LightGBM there is no limit of 10,000
    documents per query.

    Parameters
    ----------
    sigmoid : float, default=1.0
        ``sigma`` > 0, the steepness of the pairwise logistic function.
    lambdarank_truncation_level : int, default=30
        ``k`` >= 1: only pairs with at least one document in the current
        top ``k`` contribute, and NDCG is cut at ``k``. About ``m + 3`` for
        a target metric NDCG@m is a common choice.
    lambdarank_norm : bool, default=True
        Both normalisations described above (LightGBM's ``lambdarank_norm``).
    label_gain : sequence of float or None, default=None
        ``label_gain[y]`` is the gain of label ``y``; it must be non-negative
        and non-decreasing. None means ``2**y - 1`` for ``y < 31``. Labels
        must be integers in ``[0, len(label_gain))``.
    """

    name = "lambdamart"
    aliases = ("lambdarank",)
    is_ranking = True
    is_stochastic = False
    produces_probabilities = False
    estimator_params = ("sigmoid", "lambdarank_truncation_level", "lambdarank_norm", "label_gain")

    def __init__(self, sigmoid=1.0, lambdarank_truncation_level=30, lambdarank_norm=True, label_gain=None):
        super().__init__()
        if isinstance(sigmoid, (bool, np.bool_)) or not isinstance(sigmoid, (int, float, np.integer, np.floating)):
            raise TypeError(f"sigmoid must be a positive number, got {sigmoid!r}")
        if not (np.isfinite(sigmoid) and sigmoid > 0):
            raise ValueError(f"sigmoid must be a finite number > 0, got {sigmoid!r}")
        k = lambdarank_truncation_level
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"lambdarank_truncation_level must be an integer >= 1, got {k!r}")
        if k < 1:
            raise ValueError(f"lambdarank_truncation_level must be >= 1, got {k}")
        if not isinstance(lambdarank_norm, (bool, np.bool_)):
            raise TypeError(f"lambdarank_norm must be True or False, got {lambdarank_norm!r}")
        self.sigmoid = float(sigmoid)
        self.lambdarank_truncation_level = int(k)
        self.lambdarank_norm = bool(lambdarank_norm)
        self.label_gain_table_ = _check_label_gain(label_gain)
        self.label_gain = None if label_gain is None else [float(v) for v in self.label_gain_table_]

    def get_params(self):
        return {
            "sigmoid": self.sigmoid,
            "lambdarank_truncation_level": self.lambdarank_truncation_level,
            "lambdarank_norm": self.lambdarank_norm,
            "label_gain": None if self.label_gain is None else list(self.label_gain),
        }

    def validate_labels(self, y):
        """Labels must be finite integers in ``[0, len(label_gain))`` (``[0, 31)`` without label_gain)."""
        check_labels(y, gain="exp", label_gain=None if self.label_gain is None else self.label_gain_table_,
                     name="y", context="objective 'lambdamart'")

    def _setup(self):
        y = self.y_
        # The gain lookup below indexes the table with the labels: check them
        # here too, for callers that skip validate_labels.
        self.validate_labels(y)
        ptr = self.group_ptr_
        max_size = int(np.max(np.diff(ptr))) if ptr.shape[0] > 1 else 0
        self.discount_ = dcg_discount(max(max_size, 1))
        # Gain per row, so that the pair loop reads one contiguous array.
        self.row_gain_ = np.ascontiguousarray(self.label_gain_table_[y.astype(np.int64)])
        self.inverse_max_dcg_ = _inverse_max_dcg(
            y, ptr, self.label_gain_table_, self.discount_, self.lambdarank_truncation_level
        )

    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        _lambdarank(
            self.y_, self.row_gain_, np.ascontiguousarray(raw_score, dtype=np.float64), self.group_ptr_,
            self.discount_, self.inverse_max_dcg_, self.sigmoid, self.lambdarank_truncation_level,
            self.lambdarank_norm, grad, hess,
        )


__all__ = ["LambdaMART", "default_label_gain", "dcg_discount"]
