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
from ._ranking_common import stable_argsort_desc

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


#: Above this spread of ``sigma * score`` within a query, the pair loop takes
#: ``rho`` from ``exp`` per pair instead of per-document exponentials
#: ``e_i = exp(sigma (s_i - s_max))``: ``e_i`` must stay far from underflow,
#: and the products ``(e_i + e_j)**2`` in the pair loop above 1e-261.
MAX_EXP_SPREAD = 300.0

#: fastmath flags of the pair loop: reassociation only, so that LLVM may
#: vectorise the sums over pairs (their order changes, by about 1e-16
#: relative); no assumption about NaN, infinity or reciprocals.
_PAIR_FASTMATH = {"reassoc", "nsz"}


@njit(cache=True, nogil=True, fastmath=_PAIR_FASTMATH, error_model="numpy", inline="always")
def _pairs_of_one_document(g_a, s_a, e_a, d_a, gain, score, expo, discount, c0, c1, g_acc, h_acc):
    """Pairs of the document at rank position ``a`` with every document ranked below it.

    The arrays are the rank-order slices from position ``a + 1`` on. Adds
    ``+/- lam`` and ``h`` of each pair into ``g_acc[b]``, ``h_acc[b]``
    (IN/OUT) and returns the contributions to document ``a`` (g, h) and
    ``sum of lam``. Kept apart, with whole arrays as the loop range, so
    that LLVM vectorises it (error_model="numpy": a division by 0 gives
    inf instead of raising, which a vector loop could not do; the
    denominators here are never 0). Inlined into its caller at Numba's
    level (it then takes the caller's compile flags): as a call, the slices
    and the tuple cost ~80 ns per document, 4x the loop itself on queries
    of 20 documents.
    """
    grad_a = 0.0
    hess_a = 0.0
    sum_lam = 0.0
    for b in range(gain.shape[0]):
        dg = g_a - gain[b]
        e_b = expo[b]
        e_sum = e_a + e_b
        r = (abs(dg) * abs(d_a - discount[b])) / ((c0 + c1 * (s_a - score[b])) * (e_sum * e_sum))
        a_is_hi = dg > 0.0
        t = (e_b if a_is_hi else e_a) * r
        lam = t * e_sum
        h = t * (e_a if a_is_hi else e_b)
        signed = lam if a_is_hi else -lam
        grad_a -= signed
        g_acc[b] += signed
        hess_a += h
        h_acc[b] += h
        sum_lam += lam
    return grad_a, hess_a, sum_lam


@njit(cache=True, nogil=True, fastmath=_PAIR_FASTMATH, error_model="numpy")
def _pairs_shared_exp(n_top, n_valid, sorted_score, sorted_gain, sorted_exp, discount, c0, c1, g_acc, h_acc):
    """Pair loop of one query when ``e = exp(sigma (s - s_max))`` is exact enough.

    Documents are in rank order (``sorted_*``, position ``p``); for a pair
    at positions ``a < b`` (so ``s_a >= s_b``) with gains ``G_a != G_b``::

        w   = |G_a - G_b| |D(a) - D(b)| / (c0 + c1 (s_a - s_b))
        rho = e_lo / (e_a + e_b)        (lo: the less relevant member)
        lam = w rho,   h = w rho (1 - rho) = w e_lo e_hi / (e_a + e_b)**2

    which is the module docstring's ``rho`` because ``e_lo / (e_a + e_b) =
    1 / (1 + exp(sigma (s_hi - s_lo)))``; ``(c0, c1)`` is ``(0.01, 1)`` with
    the |ds| normalisation and ``(1, 0)`` without (division by 1: exact).
    The common factors ``sigma / IDCG`` (of g) and ``sigma**2 / IDCG`` (of
    h) are left to the caller. Pairs with equal gains give ``w = 0`` and add
    exact zeros, so the loop has no branch and vectorises. One division per
    pair, no ``exp``.

    Accumulates ``-/+ lam`` into `g_acc` (more / less relevant member) and
    ``h`` into `h_acc` by position (IN/OUT); returns ``sum of lam``.
    """
    sum_lam = 0.0
    for a in range(n_top):
        grad_a, hess_a, lam_a = _pairs_of_one_document(
            sorted_gain[a], sorted_score[a], sorted_exp[a], discount[a], sorted_gain[a + 1:n_valid],
            sorted_score[a + 1:n_valid], sorted_exp[a + 1:n_valid], discount[a + 1:n_valid], c0, c1,
            g_acc[a + 1:n_valid], h_acc[a + 1:n_valid],
        )
        g_acc[a] += grad_a
        h_acc[a] += hess_a
        sum_lam += lam_a
    return sum_lam


@njit(**NJIT)
def _pairs_direct(n_top, n_valid, sorted_score, sorted_gain, discount, inverse_max_dcg, sigma, c0, c1, g_acc, h_acc):
    """Pair loop with ``rho`` from one ``exp`` per pair, for widely spread scores.

    ``rho = 1 / (1 + exp(x))`` and ``1 - rho = 1 / (1 + exp(-x))``, both
    from ``exp(-|x|) <= 1`` (no overflow, no cancellation in ``1 - rho``),
    ``x = sigma (s_hi - s_lo)``. Unlike `_pairs_shared_exp`, the factors
    ``sigma / IDCG`` and ``sigma**2 / IDCG`` are applied per pair: terms
    here may be subnormal, and scaling them after the sum would lose their
    few remaining digits. Accumulates into `g_acc`, `h_acc` by position
    (IN/OUT); returns ``S = sum over pairs of 2 lam``.
    """
    sigma2 = sigma * sigma
    sum_lambdas = 0.0
    for a in range(n_top):
        g_a = sorted_gain[a]
        s_a = sorted_score[a]
        d_a = discount[a]
        for b in range(a + 1, n_valid):
            dg = g_a - sorted_gain[b]
            if dg == 0.0:
                continue
            s_b = sorted_score[b]
            dz = abs(dg) * abs(d_a - discount[b]) * inverse_max_dcg
            dz /= c0 + c1 * abs(s_a - s_b)
            x = sigma * (s_a - s_b) if dg > 0.0 else sigma * (s_b - s_a)
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
            signed = lam if dg > 0.0 else -lam
            g_acc[a] -= signed
            g_acc[b] += signed
            h_acc[a] += h
            h_acc[b] += h
            sum_lambdas += 2.0 * lam
    return sum_lambdas


@njit(**NJIT)
def _sort_from_hint(score, hint, order, sorted_score, int_buf, float_buf):
    """Stable descending argsort of `score` into `order`, starting from the permutation `hint` (IN/OUT).

    The result is the unique order by (score descending, index ascending),
    whatever the starting permutation, i.e. exactly what
    `stable_argsort_desc` returns. Scores move little from one boosting
    iteration to the next, so the previous iteration's order (`hint`) is
    nearly sorted and insertion sort from it costs ``O(n + inversions)``
    with predictable branches; past a budget of ``8 n`` element moves the
    sort restarts with `stable_argsort_desc` (O(n log n)). `hint` receives
    the new order. A `hint` that is not a permutation of ``0 .. n-1`` is
    replaced by the identity first.

    `sorted_score` (OUT) receives ``score[order]``; `int_buf`, `float_buf`
    are scratch.
    """
    n = score.shape[0]
    for p in range(n):
        int_buf[p] = 0
    valid = True
    for p in range(n):
        h = hint[p]
        if h < 0 or h >= n or int_buf[h] != 0:
            valid = False
            break
        int_buf[h] = 1
    for p in range(n):
        i = hint[p] if valid else p
        order[p] = i
        sorted_score[p] = score[i]
    budget = 8 * n
    moves = 0
    for p in range(1, n):
        v = order[p]
        kv = sorted_score[p]
        j = p - 1
        while j >= 0 and (sorted_score[j] < kv or (sorted_score[j] == kv and order[j] > v)):
            order[j + 1] = order[j]
            sorted_score[j + 1] = sorted_score[j]
            j -= 1
        order[j + 1] = v
        sorted_score[j + 1] = kv
        moves += p - 1 - j
        if moves > budget:
            stable_argsort_desc(score, order, sorted_score, int_buf, float_buf)
            break
    for p in range(n):
        hint[p] = order[p]


@njit(**NJIT)
def _lambdarank_query_scratch(gain, score, discount, inverse_max_dcg, sigma, truncation_level, norm, grad, hess,
                              rank_hint, order, sorted_score, sorted_gain, sorted_exp, g_acc, h_acc, int_buf,
                              float_buf):
    """LambdaRank gradients and hessians of one query, on caller-owned scratch.

    Parameters
    ----------
    gain : ndarray of float64, shape (n,)
        ``G(y)`` per document (pairs with equal gains contribute exactly 0,
        so the labels themselves are not needed).
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
    rank_hint : ndarray of int32, shape (n,)
        IN/OUT: the documents in a previous call's rank order, replaced by
        this call's (see `_sort_from_hint`); it only changes the speed.
    order, int_buf : ndarray of int64, shape (>= n,)
    sorted_score, sorted_gain, sorted_exp, g_acc, h_acc, float_buf : ndarray of float64, shape (>= n,)
        Scratch (overwritten).

    One stable sort of the scores (descending, ties in input order, as
    LightGBM's std::stable_sort), then the pair loop on documents laid out
    in rank order, then one scatter back to input order. Queries without
    signal (``inverse_max_dcg == 0``, one document) return before the sort
    and leave `rank_hint` as it was.
    """
    n = score.shape[0]
    for i in range(n):
        grad[i] = 0.0
        hess[i] = 0.0
    if n <= 1 or inverse_max_dcg == 0.0:
        return
    _sort_from_hint(score, rank_hint, order[:n], sorted_score[:n], int_buf[:n], float_buf[:n])
    # Documents scored -inf sort last and take part in no pair.
    n_valid = n
    while n_valid > 0 and sorted_score[n_valid - 1] == -np.inf:
        n_valid -= 1
    if n_valid <= 1:
        return
    best_score = sorted_score[0]
    # LightGBM steps back over one trailing -inf score (and one only) when it
    # picks the worst score of the |ds| guard.
    worst_pos = n - 1
    if sorted_score[worst_pos] == -np.inf:
        worst_pos -= 1
    worst_score = sorted_score[worst_pos]
    # On equal scores (the first iteration) |ds| = 0 for every pair and the
    # normalisation would multiply dZ by 100; LightGBM skips it then.
    if norm and best_score != worst_score:
        c0, c1 = SCORE_DISTANCE_OFFSET, 1.0
    else:
        c0, c1 = 1.0, 0.0
    n_top = min(n_valid - 1, truncation_level)
    for p in range(n_valid):
        sorted_gain[p] = gain[order[p]]
        g_acc[p] = 0.0
        h_acc[p] = 0.0
    spread = sigma * (best_score - sorted_score[n_valid - 1])
    if spread <= MAX_EXP_SPREAD and best_score - sorted_score[n_valid - 1] <= 1e150:
        for p in range(n_valid):
            sorted_exp[p] = np.exp(sigma * (sorted_score[p] - best_score))
        sum_lam = _pairs_shared_exp(n_top, n_valid, sorted_score, sorted_gain, sorted_exp, discount, c0, c1,
                                    g_acc, h_acc)
        g_factor = sigma * inverse_max_dcg
        h_factor = sigma * g_factor
        # S = sum over pairs of 2 sigma rho dZ
        sum_lambdas = 2.0 * g_factor * sum_lam
    else:
        sum_lambdas = _pairs_direct(n_top, n_valid, sorted_score, sorted_gain, discount, inverse_max_dcg, sigma,
                                    c0, c1, g_acc, h_acc)
        g_factor = 1.0
        h_factor = 1.0
    if norm and sum_lambdas > 0.0:
        scale = np.log2(1.0 + sum_lambdas) / sum_lambdas
        g_factor *= scale
        h_factor *= scale
    for p in range(n_valid):
        i = order[p]
        grad[i] = g_acc[p] * g_factor
        hess[i] = h_acc[p] * h_factor


@njit(**NJIT)
def _lambdarank_query(y, gain, score, discount, inverse_max_dcg, sigma, truncation_level, norm, grad, hess):
    """LambdaRank g and h of one query (see the module docstring); allocates its own scratch.

    `y` (labels) is accepted for the callers' convenience and unused: pairs
    are told apart by their gains. See `_lambdarank_query_scratch`.
    """
    n = score.shape[0]
    ints = np.empty((2, n), dtype=np.int64)
    floats = np.empty((6, n), dtype=np.float64)
    hint = np.arange(n).astype(np.int32)
    _lambdarank_query_scratch(gain, score, discount, inverse_max_dcg, sigma, truncation_level, norm, grad, hess,
                              hint, ints[0], floats[0], floats[1], floats[2], floats[3], floats[4], ints[1],
                              floats[5])


#: Queries per block of the parallel loop; each block allocates its scratch once.
_QUERIES_PER_BLOCK = 64


@njit(**NJIT_PARALLEL)
def _lambdarank(gain, score, group_ptr, discount, inverse_max_dcg, sigma, truncation_level, norm, grad, hess,
                rank_hint):
    """Run `_lambdarank_query_scratch` over every query; writes `grad`, `hess` (OUT), updates `rank_hint`.

    Queries are processed in blocks (``prange``), each block with scratch
    sized to its longest query. Each query writes only its own rows and its
    arithmetic does not depend on the block, so the result does not depend
    on the number of threads.
    """
    n_queries = group_ptr.shape[0] - 1
    n_blocks = (n_queries + _QUERIES_PER_BLOCK - 1) // _QUERIES_PER_BLOCK
    for blk in prange(n_blocks):
        q0 = blk * _QUERIES_PER_BLOCK
        q1 = min(q0 + _QUERIES_PER_BLOCK, n_queries)
        m = 1
        for q in range(q0, q1):
            m = max(m, group_ptr[q + 1] - group_ptr[q])
        ints = np.empty((2, m), dtype=np.int64)
        floats = np.empty((6, m), dtype=np.float64)
        for q in range(q0, q1):
            a, b = group_ptr[q], group_ptr[q + 1]
            _lambdarank_query_scratch(
                gain[a:b], score[a:b], discount, inverse_max_dcg[q], sigma, truncation_level, norm,
                grad[a:b], hess[a:b], rank_hint[a:b], ints[0], floats[0], floats[1], floats[2], floats[3], floats[4], ints[1],
                floats[5],
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
        self.rank_hint_ = None

    def _identity_rank_hint(self):
        """Per query, the local indices 0 .. n_q - 1 (int32): the sort's first starting point."""
        ptr = self.group_ptr_
        return (np.arange(ptr[-1], dtype=np.int64) - np.repeat(ptr[:-1], np.diff(ptr))).astype(np.int32)

    def __getstate__(self):
        # The rank hint is a speed-up of the next call only: not worth its
        # 4 bytes per training row in a pickled model.
        state = self.__dict__.copy()
        state["rank_hint_"] = None
        return state

    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        # Per query, its documents in the last computed rank order (local
        # indices): the next sort starts from it (see `_sort_from_hint`).
        if getattr(self, "rank_hint_", None) is None:
            self.rank_hint_ = self._identity_rank_hint()
        _lambdarank(
            self.row_gain_, np.ascontiguousarray(raw_score, dtype=np.float64), self.group_ptr_,
            self.discount_, self.inverse_max_dcg_, self.sigmoid, self.lambdarank_truncation_level,
            self.lambdarank_norm, grad, hess, self.rank_hint_,
        )


__all__ = ["LambdaMART", "default_label_gain", "dcg_discount"]
