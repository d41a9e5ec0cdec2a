"""YetiRank (Gulin et al., 2011) and its metric-driven form YetiLoss (Lyzhin et al., 2023).

Every boosting iteration and for every query, ``P`` random rankings are drawn
by sorting noisy scores ``s_i + eps_i`` (stable sort, descending). Each
ranking adds weights to pairs of documents; the weights, averaged over the
``P`` rankings, weight a pairwise logistic loss whose gradient and diagonal
hessian train the next tree::

    c_ab   = (1/P) sum_rankings w_ab(ranking)       a more relevant than b
    L      = sum_ab c_ab log(1 + exp(-(s_a - s_b)))
    rho    = sigmoid(s_b - s_a)
    g_a   -= c_ab rho,          g_b += c_ab rho
    h_a   += c_ab rho (1-rho),  h_b += c_ab rho (1-rho)

Pair weights ``w_ab`` of one ranking ``pi`` (0-based positions ``k < m``):

* classic: adjacent positions only, ``w = 0.15 decay^k |y_a - y_b|`` for
  ``(a, b) = (pi_k, pi_k+1)`` (0.15 is CatBoost's constant);
* metric modes (YetiLoss): for ``k < top`` and ``m`` among the next
  ``num_neighbors`` positions, ``w = |M(pi) - M(pi with k, m swapped)|``
  for the target metric ``M`` (DCG, NDCG, MRR, ERR or MAP, all cut at
  ``top``). Every change is exact and costs O(1) from running sums.

Since the loss is linear in ``c_ab``, each ranking's pairs are applied to g
and h as soon as they are found: no pair matrix is stored. A query of ``n``
documents costs O(P (n log n + n num_neighbors)) time and O(n) memory.
"""
import numpy as np
from numba import njit, prange

from .._dtypes import NJIT, NJIT_PARALLEL
from .._random import mix_seed
from . import register
from ._base import Objective
from ._ranking_common import (
    CLASSIC,
    DCG,
    ERR,
    MAP,
    METRIC_CODES,
    MRR,
    NDCG,
    NOISE_GAUSS,
    NOISE_LOGISTIC,
    NOISE_NONE,
    check_choice,
    check_int,
    check_metric_labels,
    check_real,
    check_top,
    document_gains,
    fill_noise,
    is_int,
    position_weights,
    query_normalisers,
    queries_with_signal,
    resolved_max_grade,
    resolved_top,
    sigmoid_pair,
    stable_argsort_desc,
)

#: CatBoost multiplies classic YetiRank pair weights by this constant (its
#: source says "like in GPU"). It only rescales g and h together, so with
#: Newton leaves it matters through ``reg_lambda`` and ``min_child_weight``.
CLASSIC_PAIR_WEIGHT = 0.15

#: Scores of a query within this range of their maximum have ``exp(s - max)``
#: far from underflow (exp(-600) ~ 1e-261), so ratios of them are exact.
_EXP_RANGE = 600.0

_NOISE_CODES = {"logistic": NOISE_LOGISTIC, "gumbel": NOISE_LOGISTIC, "gauss": NOISE_GAUSS, "gaussian": NOISE_GAUSS}


# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------
# Inlined at the Numba level, so that the `exp_score is None` test below is
# resolved at compile time.
@njit(inline="always", **NJIT)
def _emit_pair(ia, ib, weight, y, score, exp_score, grad, hess, dense, pair_weight):
    """Add one weighted pair: pairwise logistic g/h (or, if `dense`, the weight to `pair_weight`).

    The document with the larger label wins; pairs with equal labels are
    ignored. ``pair_weight[winner, loser]`` accumulates in dense mode.
    `exp_score` holds ``exp(s - max(s))`` of the query, so that
    ``rho = sigmoid(s_lose - s_win) = e_lose / (e_win + e_lose)`` costs a
    division instead of an ``exp`` per pair; it is None when the query's
    scores span more than `_EXP_RANGE` (the terms could underflow), and the
    overflow-free logistic formula is used instead.
    """
    if y[ia] > y[ib]:
        win, lose = ia, ib
    elif y[ia] < y[ib]:
        win, lose = ib, ia
    else:
        return
    if dense:
        pair_weight[win, lose] += weight
        return
    if exp_score is None:
        rho, one_minus_rho = sigmoid_pair(score[win] - score[lose])
    else:
        e_win = exp_score[win]
        e_lose = exp_score[lose]
        inv = 1.0 / (e_win + e_lose)
        rho = e_lose * inv
        one_minus_rho = e_win * inv
    lam = weight * rho
    h = lam * one_minus_rho
    grad[win] -= lam
    grad[lose] += lam
    hess[win] += h
    hess[lose] += h


@njit(**NJIT)
def _add_ranking_pairs(order, y, gain, score, exp_score, mode, query_scale, pos_weight, decay, top, num_neighbors,
                       weight_scale, grad, hess, dense, pair_weight):
    """Find the weighted pairs of one (noisy) ranking and add them (see `_emit_pair`).

    Parameters
    ----------
    order : ndarray of int64, shape (n,)
        Documents by noisy score, best first.
    y : ndarray of float64, shape (n,)
        Labels (orient the pairs).
    gain : ndarray of float64, shape (n,)
        What the target metric sums per document: DCG gain, relevance
        indicator (MRR, MAP), stop probability (ERR); unused by classic.
    score : ndarray of float64, shape (n,)
        Current (noise-free) raw scores.
    exp_score : ndarray of float64, shape (n,), or None
        ``exp(score - max(score))``; None selects the exp-free path (see
        `_emit_pair`).
    mode : int
        CLASSIC, DCG, NDCG, MRR, ERR or MAP.
    query_scale : float
        Metric normaliser of the query (``1/IDCG``, ``1/min(R, top)``, 1).
    pos_weight : ndarray of float64, shape (>= n + 1,)
        Position weights, 0 from ``top`` on: discounts (DCG, NDCG) or
        reciprocal ranks (MRR, ERR, MAP).
    decay : float
        Classic mode: the weight of pair ``k`` is multiplied by ``decay**k``.
    top, num_neighbors : int
        Metric modes: positions ``k < top``; partners ``m <= k + num_neighbors``
        (every later position if ``num_neighbors < 0``).
    weight_scale : float
        ``1 / P``.
    grad, hess, pair_weight :
        OUT, accumulated into (see `_emit_pair`).
    """
    n = order.shape[0]
    if mode == CLASSIC:
        c = CLASSIC_PAIR_WEIGHT * weight_scale
        for k in range(n - 1):
            ia = order[k]
            ib = order[k + 1]
            dy = abs(y[ia] - y[ib])
            if dy > 0.0 and c > 0.0:
                _emit_pair(ia, ib, c * dy, y, score, exp_score, grad, hess, dense, pair_weight)
            c *= decay
        return

    k_end = min(top, n)
    scale = query_scale * weight_scale
    if mode == DCG or mode == NDCG:
        # swap of positions k < m: (G_a - G_b)(D(k) - D(m)).
        for k in range(k_end):
            ia = order[k]
            g_a = gain[ia]
            d_k = pos_weight[k]
            m_end = n if num_neighbors < 0 else min(n, k + num_neighbors + 1)
            for m in range(k + 1, m_end):
                ib = order[m]
                w = abs((g_a - gain[ib]) * (d_k - pos_weight[m])) * scale
                if w > 0.0:
                    _emit_pair(ia, ib, w, y, score, exp_score, grad, hess, dense, pair_weight)
    elif mode == MRR:
        # f, f2: first and second relevant positions (n if none). Only a swap
        # that moves a relevant document above f, or the one at f down,
        # changes the reciprocal rank.
        f = n
        f2 = n
        for r in range(n):
            if gain[order[r]] > 0.0:
                if f == n:
                    f = r
                else:
                    f2 = r
                    break
        k_end = min(k_end, f + 1)
        for k in range(k_end):
            ia = order[k]
            m_end = n if num_neighbors < 0 else min(n, k + num_neighbors + 1)
            for m in range(k + 1, m_end):
                ib = order[m]
                rel_b = gain[ib] > 0.0
                if k < f:
                    # a is irrelevant; a relevant b (at or below f) becomes first.
                    if not rel_b:
                        continue
                    w = pos_weight[k] - pos_weight[f]
                else:
                    # k == f: the first relevant goes down to m; the new first
                    # relevant is m or the next relevant one, f2.
                    if rel_b:
                        continue
                    w = pos_weight[f] - pos_weight[min(m, f2)]
                w *= scale
                if w > 0.0:
                    _emit_pair(ia, ib, w, y, score, exp_score, grad, hess, dense, pair_weight)
    elif mode == MAP:
        # AP@top = sum over relevant r < top of prec@(r+1), times query_scale.
        # Swap k < m, one of them relevant, C relevant above k, B relevant and
        # S = sum of 1/(r+1) strictly between: the change is
        # (C+1)/(k+1) + S - (C+1+B)/(m+1) (each 1/(r+1) being 0 from top on).
        n_above = 0
        for k in range(k_end):
            ia = order[k]
            rel_a = gain[ia] > 0.0
            n_between = 0
            rr_between = 0.0
            m_end = n if num_neighbors < 0 else min(n, k + num_neighbors + 1)
            for m in range(k + 1, m_end):
                ib = order[m]
                rel_b = gain[ib] > 0.0
                if rel_a != rel_b:
                    delta = (n_above + 1) * pos_weight[k] + rr_between - (n_above + 1 + n_between) * pos_weight[m]
                    w = abs(delta) * scale
                    if w > 0.0:
                        _emit_pair(ia, ib, w, y, score, exp_score, grad, hess, dense, pair_weight)
                if rel_b:
                    n_between += 1
                    rr_between += pos_weight[m]
            if rel_a:
                n_above += 1
    elif mode == ERR:
        # ERR = sum_r RR(r) R_r prod_{q<r} (1 - R_q). Swapping k < m changes it by
        # P_k (R_b - R_a) (RR(k) - mid - p_mid RR(m)), P_k the cascade product
        # above k, p_mid the one strictly between, mid the ERR terms between.
        p_above = 1.0
        for k in range(k_end):
            ia = order[k]
            r_a = gain[ia]
            mid = 0.0
            p_mid = 1.0
            m_end = n if num_neighbors < 0 else min(n, k + num_neighbors + 1)
            for m in range(k + 1, m_end):
                ib = order[m]
                r_b = gain[ib]
                if r_a != r_b:
                    w = abs(p_above * (r_a - r_b) * (pos_weight[k] - mid - p_mid * pos_weight[m])) * scale
                    if w > 0.0:
                        _emit_pair(ia, ib, w, y, score, exp_score, grad, hess, dense, pair_weight)
                mid += p_mid * pos_weight[m] * r_b
                p_mid *= 1.0 - r_b
            p_above *= 1.0 - r_a


@njit(**NJIT)
def _yetirank_query(y, gain, score, query_scale, pos_weight, seed, permutations, mode, decay, top, num_neighbors,
                    noise, noise_power, grad, hess, dense, pair_weight):
    """YetiRank g and h of one query, accumulated into `grad`, `hess` (or `pair_weight` if `dense`).

    Ranking ``p`` sorts ``score + noise`` where the noise is draws
    ``p n .. p n + n - 1`` of the query's stream `seed`. Without noise all
    rankings are equal, so one is computed with weight 1.
    """
    n = y.shape[0]
    noisy = np.empty(n, dtype=np.float64)
    sorted_noisy = np.empty(n, dtype=np.float64)
    key_buf = np.empty(n, dtype=np.float64)
    order = np.empty(n, dtype=np.int64)
    buf = np.empty(n, dtype=np.int64)
    exp_score = np.empty(n, dtype=np.float64)
    s_max = score[0]
    s_min = score[0]
    for i in range(1, n):
        s_max = max(s_max, score[i])
        s_min = min(s_min, score[i])
    for i in range(n):
        exp_score[i] = np.exp(score[i] - s_max)
    n_rankings = permutations if noise != NOISE_NONE else 1
    weight_scale = 1.0 / n_rankings
    for p in range(n_rankings):
        fill_noise(seed, p * n, noise, noise_power, noisy)
        for i in range(n):
            noisy[i] += score[i]
        stable_argsort_desc(noisy, order, sorted_noisy, buf, key_buf)
        if s_max - s_min <= _EXP_RANGE:
            _add_ranking_pairs(order, y, gain, score, exp_score, mode, query_scale, pos_weight, decay, top,
                               num_neighbors, weight_scale, grad, hess, dense, pair_weight)
        else:
            _add_ranking_pairs(order, y, gain, score, None, mode, query_scale, pos_weight, decay, top,
                               num_neighbors, weight_scale, grad, hess, dense, pair_weight)


@njit(**NJIT_PARALLEL)
def _yetirank(y, gain, score, group_ptr, active, query_scale, pos_weight, seed, iteration, query_offset,
              permutations, mode, decay, top, num_neighbors, noise, noise_power, grad, hess):
    """YetiRank g and h of every query (``prange``); writes `grad`, `hess` (OUT).

    Query ``q``'s noise comes from ``mix_seed(seed, iteration, q + query_offset)``
    (``query_offset``: the global index of this block's first query, 0 on one
    machine) and each query writes only its rows: the result does not depend
    on the number of threads, on the order in which queries run, or on how
    the queries are split over Dask partitions.
    """
    n_queries = group_ptr.shape[0] - 1
    unused = np.zeros((1, 1), dtype=np.float64)
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        for i in range(a, b):
            grad[i] = 0.0
            hess[i] = 0.0
        if not active[q]:
            continue
        _yetirank_query(
            y[a:b], gain[a:b], score[a:b], query_scale[q], pos_weight, mix_seed(seed, iteration, q + query_offset), permutations,
            mode, decay, top, num_neighbors, noise, noise_power, grad[a:b], hess[a:b], False, unused,
        )


# ---------------------------------------------------------------------------
# Objective
# ---------------------------------------------------------------------------
@register
class YetiRank(Objective):
    """YetiRank pairwise objective with random rankings; metric-driven with `mode` (YetiLoss).

    Each iteration, for each query, `permutations` rankings are drawn by
    sorting the scores plus i.i.d. noise (stable sort, descending). Each
    ranking gives weights to pairs of documents with different labels
    (``a`` the more relevant)::

        classic:      w_ab = 0.15 decay^k |y_a - y_b|   adjacent positions k, k+1
        metric modes: w_ab = |M(pi) - M(pi with positions k and m swapped)|,
                      k < top, k < m <= k + num_neighbors

    The weights averaged over the rankings, ``c_ab``, weight the pairwise
    logistic loss ``sum c_ab log(1 + exp(s_b - s_a))``; with
    ``rho = sigmoid(s_b - s_a)`` the gradient and (diagonal) hessian are::

        g_a -= c_ab rho,  g_b += c_ab rho,  h_a += c_ab rho (1 - rho),  h_b += the same

    This is CatBoost's ``YetiRank`` (classic) and ``YetiRank:mode=...``
    ("YetiLoss", Lyzhin et al., ICML 2023), with these documented choices:

    * noise is added in score space. ``'logistic'`` (default) adds
      ``noise_power * log(u / (1 - u))``, which is what CatBoost's "Gumbel"
      noise (``exp(s)`` times ``u/(1-u)``) does; ``'gauss'`` adds
      ``N(0, noise_power**2)``; None ranks by the scores themselves.
      CatBoost applies ``noise_power`` to Gaussian noise only.
    * metric weights are the exact metric changes, also when
      ``num_neighbors > 1``. With the default ``num_neighbors=1`` they equal
      CatBoost's for DCG, NDCG, MRR and ERR; CatBoost's MAP weight is a
      heuristic (a running sum of reciprocal ranks), ours the change of
      AP@top with denominator ``min(n_relevant, top)``.
    * MRR and MAP count documents with ``y > 0`` as relevant; ERR uses the
      stop probability ``(2**y - 1) / 2**max_grade`` (CatBoost uses the
      labels themselves, which must then lie in [0, 1]).
    * DCG and NDCG use the gain ``2**y - 1`` by default (``gain='exp'``,
      like LightGBM's NDCG); CatBoost's default is ``y`` (``gain='linear'``).

    Against CatBoost (``benchmarks/bench_objectives.py``, 300 trees,
    learning rate 0.03, mean test NDCG@10 over MQ2008 5 folds x 5 seeds /
    LightGBM's example x 5 seeds): ltr's default leaf-wise trees 0.7832 /
    0.7524; CatBoost's tree shape (``grow_policy='symmetric',
    max_depth=6, min_child_samples=1``) 0.7851 / 0.7665; with CatBoost's
    structure search too (``score_function='cosine', random_strength=1``)
    0.7878 / 0.7565; CatBoost's ``YetiRank`` 0.7869 / 0.7596. MRR of
    ``mode='mrr'`` on binarised MQ2008: 0.7452 symmetric, 0.7485 with the
    cosine score and noise, CatBoost's ``YetiRank:mode=MRR`` 0.7475.

    Randomness: ranking ``p`` of query ``q`` at boosting iteration ``t`` is
    drawn from ``mix_seed(seed, t, q)``, so the model does not depend on
    the number of threads and resumed training reproduces a single run.
    Row weights multiply g and h afterwards (with one weight per query this
    is CatBoost's query weight). Queries whose labels (metric modes: whose
    metric gains) are all equal get zero g and h. The initial score is 0.

    Cost per query of ``n`` documents: O(P (n log n + n * num_neighbors))
    time, O(n) memory; the pair weights are never stored.

    Parameters
    ----------
    permutations : int, default=10
        ``P`` >= 1, random rankings per query and iteration.
    decay : float, default=0.85
        In [0, 1]; classic mode only.
    mode : {'classic', 'ndcg', 'dcg', 'mrr', 'err', 'map'}, default='classic'
        Pair weight rule (case-insensitive).
    top : int or None, default=None
        Metric modes: only positions ``k < top`` start pairs and the metric is
        cut at ``top``. None = the whole list (CatBoost's default).
    num_neighbors : int, default=1
        Metric modes: each position ``k`` pairs with the next
        ``num_neighbors`` positions; -1 or None = all later positions
        (O(n * top) per ranking).
    noise : {'logistic', 'gauss', None}, default='logistic'
        Noise added to the scores; 'gumbel' is accepted for 'logistic'.
    noise_power : float, default=1.0
        Scale of the noise, > 0.
    gain : {'exp', 'linear'}, default='exp'
        DCG / NDCG modes: gain ``2**y - 1`` or ``y``.
    denominator : {'log', 'position'}, default='log'
        DCG / NDCG modes: discount ``1/log2(r+2)`` or ``1/(r+1)``.
    max_grade : float or None, default=None
        ERR mode: the label of a certainly relevant document; None = the
        largest training label.

    Attributes
    ----------
    n_active_queries_ : int
        Queries that carry a training signal (set by ``setup``).
    """

    name = "yetirank"
    is_ranking = True
    is_stochastic = True
    supports_query_offset = True
    produces_probabilities = False
    estimator_params = ()
    default_mode = "classic"

    def __init__(self, permutations=10, decay=0.85, mode=None, top=None, num_neighbors=1, noise="logistic",
                 noise_power=1.0, gain="exp", denominator="log", max_grade=None):
        super().__init__()
        mode = self.default_mode if mode is None else mode
        self.permutations = check_int("permutations", permutations, 1)
        self.decay = check_real("decay", decay, 0.0, 1.0)
        self.mode = check_choice("mode", mode, METRIC_CODES)
        self.top = check_top(top)
        if num_neighbors is None or (is_int(num_neighbors) and num_neighbors == -1):
            self.num_neighbors = None if num_neighbors is None else -1
        else:
            self.num_neighbors = check_int("num_neighbors", num_neighbors, 1)
        if noise is None or (isinstance(noise, str) and noise.lower() in ("none", "no")):
            self.noise = None
        else:
            if not isinstance(noise, str) or noise.lower() not in _NOISE_CODES:
                raise ValueError(f"noise must be 'logistic', 'gauss' or None, got {noise!r}")
            self.noise = "gauss" if _NOISE_CODES[noise.lower()] == NOISE_GAUSS else "logistic"
        self.noise_power = check_real("noise_power", noise_power, 0.0, low_open=True)
        self.gain = check_choice("gain", gain, {"exp", "linear"})
        self.denominator = check_choice("denominator", denominator, {"log", "position"})
        self.max_grade = None if max_grade is None else check_real("max_grade", max_grade, 0.0, low_open=True)
        if self.mode == "classic":
            if self.top is not None or self.num_neighbors != 1:
                raise ValueError(
                    "top and num_neighbors apply to the metric modes (mode='ndcg', 'dcg', 'mrr', 'err', 'map'); "
                    "classic YetiRank weighs adjacent pairs with decay"
                )
        elif self.decay != 0.85:
            raise ValueError(f"decay applies to mode='classic' only; mode={self.mode!r} weighs pairs by metric change")

    def get_params(self):
        return {
            "permutations": self.permutations,
            "decay": self.decay,
            "mode": self.mode,
            "top": self.top,
            "num_neighbors": self.num_neighbors,
            "noise": self.noise,
            "noise_power": self.noise_power,
            "gain": self.gain,
            "denominator": self.denominator,
            "max_grade": self.max_grade,
        }

    # -- data ---------------------------------------------------------------
    @property
    def _mode_code(self):
        return METRIC_CODES[self.mode]

    @property
    def _noise_code(self):
        return {None: NOISE_NONE, "logistic": NOISE_LOGISTIC, "gauss": NOISE_GAUSS}[self.noise]

    def validate_labels(self, y):
        super().validate_labels(y)
        check_metric_labels(f"{self.name} mode={self.mode!r}", y, self._mode_code, self.gain == "exp", self.max_grade)

    def _setup(self):
        mode = self._mode_code
        sizes = np.diff(self.group_ptr_)
        n_max = int(sizes.max()) if sizes.size else 0
        self._top = resolved_top(self.top, n_max)
        self._num_neighbors = -1 if self.num_neighbors in (None, -1) else int(self.num_neighbors)
        max_grade = resolved_max_grade(self.max_grade, self.y_) if self.y_.size else 1.0
        self._gain = np.ascontiguousarray(document_gains(self.y_, mode, self.gain == "exp", max_grade))
        self._pos_weight = position_weights(n_max, mode, self._top, self.denominator == "log")
        self._query_scale = query_normalisers(self._gain, self.group_ptr_, mode, self._top, self.denominator == "log")
        signal = self.y_ if mode == CLASSIC else self._gain
        self._active = queries_with_signal(signal, self.group_ptr_) & (self._query_scale > 0)
        self.n_active_queries_ = int(self._active.sum())

    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        _yetirank(
            self.y_, self._gain, np.ascontiguousarray(raw_score, dtype=np.float64), self.group_ptr_, self._active,
            self._query_scale, self._pos_weight, np.uint64(self.seed_), np.int64(iteration),
            np.int64(self.query_offset_), self.permutations,
            self._mode_code, self.decay, self._top, self._num_neighbors, self._noise_code, self.noise_power,
            grad, hess,
        )

    def _query_seed(self, query, iteration):
        """The seed of query `query`'s random stream at boosting iteration `iteration`."""
        return np.uint64(mix_seed(np.uint64(self.seed_), np.int64(iteration), np.int64(query + self.query_offset_)))

    def pair_weights(self, raw_score, query, iteration=0):
        """Averaged pair weights ``c_ab`` of one query as a dense matrix (inspection, tests).

        Parameters
        ----------
        raw_score : ndarray of float64, shape (n_samples,)
            Scores of all training rows (grouped order).
        query : int
            Query index.
        iteration : int
            Boosting iteration (selects the random rankings).

        Returns
        -------
        ndarray of float64, shape (n, n)
            ``W[a, b]`` is the weight of "a above b" (row weights not applied);
            ``n`` is the size of the query, so use it on small queries only.
        """
        a, b = int(self.group_ptr_[query]), int(self.group_ptr_[query + 1])
        n = b - a
        out = np.zeros((n, n), dtype=np.float64)
        if not self._active[query]:
            return out
        dummy = np.zeros(n, dtype=np.float64)
        _yetirank_query(
            self.y_[a:b], self._gain[a:b], np.ascontiguousarray(raw_score[a:b], dtype=np.float64),
            float(self._query_scale[query]), self._pos_weight, self._query_seed(query, iteration),
            self.permutations, self._mode_code, self.decay, self._top, self._num_neighbors, self._noise_code,
            self.noise_power, dummy, dummy.copy(), True, out,
        )
        return out


@register
class YetiLoss(YetiRank):
    """Metric-driven YetiRank: `YetiRank` with ``mode='ndcg'`` by default.

    ``objective='yetiloss'`` is ``objective='yetirank'`` with
    ``objective_params={'mode': 'ndcg'}``; every parameter of `YetiRank`
    applies (pass ``mode='mrr'``, ``'map'``, ... for other metrics).
    """

    name = "yetiloss"
    default_mode = "ndcg"
