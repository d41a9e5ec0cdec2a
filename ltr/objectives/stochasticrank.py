"""StochasticRank (Ustimenko & Prokhorenkova, ICML 2020), as CatBoost's ``StochasticRank``.

It ascends the Gaussian-smoothed ranking metric ``E_z[M(s + sigma z)]``,
``z ~ N(0, I)``, of each query. Per query of ``n >= 2`` documents:

1. Tie shift: ``t_i = s_i - sigma mu y_i``, then ``t -= mean(t)``.
2. Monte-Carlo estimate, ``num_estimations`` times: draw ``z``, rank the
   documents by ``u = t + sigma z`` (stable, descending; ``v_r`` the noisy
   score at position ``r``). For document ``i`` at position ``p`` the other
   noisy scores are fixed boundaries, and its own noisy score is integrated
   out exactly: ``i`` lands in slot ``c`` with the probability of its score
   falling between the neighbours of that slot, which changes ``M`` by
   ``dM(p -> c)``. The derivative in its mean is::

       d_i = sum_{c != p} dM(p -> c) [phi(lower_c) - phi(upper_c)]
           = sum_{r != p} phi(v_r) [dM(p -> r') - dM(p -> r' + 1)] ,  r' = r (r < p), r - 1 (r > p)

   where phi is the normal density with mean ``m_i = t_i + sigma (sum(z) -
   z_i)/(n-1)`` and standard deviation ``sigma' = sigma sqrt(n/(n-1))``.
   Given the others' noise relative to their own mean, document ``i``'s
   score relative to that mean is exactly ``N(m_i, sigma'^2)``; conditioning
   on less than all the other draws lowers the variance (CatBoost's
   centring correction). The second form (summation by parts) shows each
   term is the change of ``M`` when ``i`` passes one neighbour, which is
   O(1): ``(G_i - G_j)(w_r' - w_r'+1)`` for DCG, with running products for
   ERR and a first-relevant test for MRR. Terms where ``|v_r - m_i| >
   39 sigma'`` are skipped: their density underflows to exactly 0.0.
   ``d`` is averaged over the estimations.
3. Centring: ``d -= mean(d)`` (the derivative through ``t``'s centring).
4. Scale-free acceleration, if ``n > 2``: ``c = s - mean(s)``,
   ``d -= lambda (d . c) / (||c|| + nu)^2 c``, which removes most of the
   component along the scores, the direction that only rescales them.
5. ``g = -d`` (``d`` is an ascent direction), ``h = 1``.
"""
import numpy as np
from numba import njit, prange

from .._dtypes import NJIT, NJIT_PARALLEL
from .._random import mix_seed
from . import register
from ._base import Objective
from ._ranking_common import (
    DCG,
    ERR,
    METRIC_CODES,
    MRR,
    NDCG,
    check_choice,
    check_int,
    check_metric_labels,
    check_real,
    check_top,
    document_gains,
    position_weights,
    query_normalisers,
    queries_with_signal,
    random_normal,
    resolved_max_grade,
    resolved_top,
    stable_argsort_desc,
)

#: A normal density more than this many standard deviations from its mean is
#: exactly 0.0 in float64 (exp(-0.5 * 39**2) underflows), so skipping those
#: terms changes nothing.
_DENSITY_CUTOFF = 39.0

_INV_SQRT_2PI = 0.3989422804014327

_METRICS = {"ndcg": NDCG, "dcg": DCG, "mrr": MRR, "err": ERR}


# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------
@njit(**NJIT)
def _first_at_or_below(v, x):
    """Smallest r with ``v[r] <= x`` for `v` non-increasing (len(v) if none)."""
    lo = 0
    hi = v.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if v[mid] <= x:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(**NJIT)
def _first_below(v, x):
    """Smallest r with ``v[r] < x`` for `v` non-increasing (len(v) if none)."""
    lo = 0
    hi = v.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if v[mid] < x:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(**NJIT)
def _smoothed_metric_sample(t, z, gain, pos_weight, metric, top, sigma, order, buf, u, v, key_buf, cascade, d,
                            weight):
    """Add ``weight * d_i`` of one noise draw `z` to `d` (OUT, accumulated); see the module docstring.

    Parameters
    ----------
    t : ndarray of float64, shape (n,)
        Shifted, centred scores.
    z : ndarray of float64, shape (n,)
        Standard normal draws.
    gain : ndarray of float64, shape (n,)
        DCG gain (DCG, NDCG), relevance indicator (MRR) or stop probability (ERR).
    pos_weight : ndarray of float64, shape (>= n + 1,)
        Metric position weights, 0 from `top` on (times ``1/IDCG`` for NDCG
        is applied by the caller through `weight`).
    metric : int
        DCG, NDCG, MRR or ERR.
    order, buf, u, v, key_buf, cascade : ndarray, shape (n,)
        Scratch space (``v`` receives the sorted noisy scores).
    """
    n = t.shape[0]
    z_sum = 0.0
    for i in range(n):
        z_sum += z[i]
        u[i] = t[i] + sigma * z[i]
    stable_argsort_desc(u, order, v, buf, key_buf)
    if metric == ERR:
        cascade[0] = 1.0
        for r in range(1, n):
            cascade[r] = cascade[r - 1] * (1.0 - gain[order[r - 1]])
    first_rel = n
    second_rel = n
    if metric == MRR:
        for r in range(n):
            if gain[order[r]] > 0.0:
                if first_rel == n:
                    first_rel = r
                else:
                    second_rel = r
                    break

    sd = sigma * np.sqrt(n / (n - 1.0))
    inv_sd = 1.0 / sd
    half_width = _DENSITY_CUTOFF * sd
    factor = weight * inv_sd * _INV_SQRT_2PI
    last = min(n - 1, top)  # the largest r whose neighbour swap can change M
    for p in range(n):
        i = order[p]
        mean = t[i] + sigma * (z_sum - z[i]) / (n - 1.0)
        # Boundaries with a non-zero density: positions lo .. hi.
        lo = _first_at_or_below(v, mean + half_width)
        hi = _first_below(v, mean - half_width) - 1
        g_i = gain[i]
        acc = 0.0
        if metric == DCG or metric == NDCG or metric == MRR:
            # MRR: passing a neighbour matters only while no other relevant
            # document is above it; `limit` is the first such position.
            limit = last
            if metric == MRR:
                other_first = first_rel if first_rel != p else second_rel
                limit = min(limit, other_first)
            for r in range(lo, min(p, hi + 1, limit + 1)):
                dg = g_i - gain[order[r]]
                if dg != 0.0:
                    x = (v[r] - mean) * inv_sd
                    acc += np.exp(-0.5 * x * x) * dg * (pos_weight[r] - pos_weight[r + 1])
            for r in range(max(p + 1, lo), min(hi, limit) + 1):
                dg = g_i - gain[order[r]]
                if dg != 0.0:
                    x = (v[r] - mean) * inv_sd
                    acc += np.exp(-0.5 * x * x) * dg * (pos_weight[r - 1] - pos_weight[r])
        else:  # ERR
            for r in range(lo, min(p, hi + 1, last + 1)):
                dg = g_i - gain[order[r]]
                if dg != 0.0:
                    x = (v[r] - mean) * inv_sd
                    acc += np.exp(-0.5 * x * x) * cascade[r] * dg * (pos_weight[r] - pos_weight[r + 1])
            # Below p the cascade above the pair skips document i itself.
            p_above = cascade[p]
            for r in range(p + 1, min(hi, last) + 1):
                if p_above == 0.0:
                    break
                j = order[r]
                if r >= lo:
                    dg = g_i - gain[j]
                    if dg != 0.0:
                        x = (v[r] - mean) * inv_sd
                        acc += np.exp(-0.5 * x * x) * p_above * dg * (pos_weight[r - 1] - pos_weight[r])
                p_above *= 1.0 - gain[j]
        d[i] += acc * factor


@njit(**NJIT)
def _stochasticrank_query(y, gain, score, query_scale, pos_weight, seed, metric, top, sigma, num_estimations, mu,
                          nu, lam, grad, hess):
    """StochasticRank g (= minus the ascent direction) and h = 1 of one query; writes `grad`, `hess` (OUT).

    Estimation ``e`` uses the standard normal draws ``e n .. e n + n - 1``
    of the query's stream `seed`.
    """
    n = y.shape[0]
    t = np.empty(n, dtype=np.float64)
    z = np.empty(n, dtype=np.float64)
    order = np.empty(n, dtype=np.int64)
    buf = np.empty(n, dtype=np.int64)
    u = np.empty(n, dtype=np.float64)
    v = np.empty(n, dtype=np.float64)
    key_buf = np.empty(n, dtype=np.float64)
    cascade = np.empty(n, dtype=np.float64)
    d = np.zeros(n, dtype=np.float64)

    t_mean = 0.0
    for i in range(n):
        t[i] = score[i] - sigma * mu * y[i]
        t_mean += t[i]
    t_mean /= n
    for i in range(n):
        t[i] -= t_mean

    weight = query_scale / num_estimations
    for e in range(num_estimations):
        for i in range(n):
            z[i] = random_normal(seed, e * n + i)
        _smoothed_metric_sample(t, z, gain, pos_weight, metric, top, sigma, order, buf, u, v, key_buf, cascade, d,
                                weight)

    d_mean = 0.0
    for i in range(n):
        d_mean += d[i]
    d_mean /= n
    for i in range(n):
        d[i] -= d_mean

    if n > 2:
        s_mean = 0.0
        for i in range(n):
            s_mean += score[i]
        s_mean /= n
        dot = 0.0
        norm2 = 0.0
        for i in range(n):
            c = score[i] - s_mean
            dot += d[i] * c
            norm2 += c * c
        denom = np.sqrt(norm2) + nu
        k = lam * dot / (denom * denom)
        for i in range(n):
            d[i] -= k * (score[i] - s_mean)

    for i in range(n):
        grad[i] = -d[i]
        hess[i] = 1.0


@njit(**NJIT_PARALLEL)
def _stochasticrank(y, gain, score, group_ptr, active, query_scale, pos_weight, seed, iteration, query_offset, metric,
                    top, sigma, num_estimations, mu, nu, lam, grad, hess):
    """StochasticRank g and h of every query (``prange``); writes `grad`, `hess` (OUT).

    Query ``q`` draws its noise from ``mix_seed(seed, iteration, q + query_offset)``
    (``query_offset``: global index of this block's first query, 0 on one
    machine, so Dask partitions draw what one process would); queries without
    signal get g = h = 0.
    """
    n_queries = group_ptr.shape[0] - 1
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        if not active[q]:
            for i in range(a, b):
                grad[i] = 0.0
                hess[i] = 0.0
            continue
        _stochasticrank_query(
            y[a:b], gain[a:b], score[a:b], query_scale[q], pos_weight, mix_seed(seed, iteration, q + query_offset), metric, top,
            sigma, num_estimations, mu, nu, lam, grad[a:b], hess[a:b],
        )


# ---------------------------------------------------------------------------
# Objective
# ---------------------------------------------------------------------------
@register
class StochasticRank(Objective):
    """StochasticRank: Monte-Carlo gradient of the Gaussian-smoothed ranking metric.

    For each query it estimates the gradient of ``E_z[M(s + sigma z)]``
    (``z ~ N(0, I)``, ``M`` = NDCG, DCG, MRR or ERR cut at `top`) with
    `num_estimations` noise draws, integrating each document's own noise
    out exactly, then centres it and removes the scale direction
    (scale-free acceleration); see the module docstring for every step.
    This is CatBoost's ``StochasticRank:metric=...`` with one correction:
    CatBoost's centring term omits the factor ``sigma`` (its code adds
    ``(sum(z) - sigma z_i)/(n-1)`` to the mean); both agree at the default
    ``sigma=1``.

    **Newton step.** The smoothed metric is not concave and its Monte-Carlo
    hessian would be far noisier than the gradient, so, like CatBoost
    (gradient leaf estimation), we use ``h = 1`` on every document of a
    query with signal: the leaf value ``-sum g / (n_leaf + reg_lambda)`` is
    the mean ascent direction of the leaf, i.e. functional gradient ascent.
    (CatBoost's step has the same form, sum over the leaf divided by the
    number of documents plus ``l2_leaf_reg=3``, but also counts documents
    of queries without signal, which get ``h = 0`` here. Counting them,
    i.e. ``h = 1`` on those rows, was measured and not adopted: mean test
    NDCG@10 +0.001 on MQ2008 and -0.011 on LightGBM's example with the
    default trees, +0.007 and -0.001 with depth-6 trees (5 folds x 1 seed,
    3 seeds; 300 trees, learning rate 0.03).)

    **Small leaves need an L2 penalty.** With one draw per query
    (``num_estimations=1``, CatBoost's default) each document's ascent
    direction carries Monte-Carlo noise, which a leaf of a few rows fits.
    ltr's default ``min_child_samples=20`` keeps leaves large enough; with
    deeper trees and small leaves set ``reg_lambda`` (CatBoost's
    ``l2_leaf_reg=3`` is the same penalty): depth 6, 64 leaves,
    ``min_child_samples=1``, mean test NDCG@10 on MQ2008 0.7738 ->
    0.7785 and on LightGBM's example 0.728 -> 0.759 with ``reg_lambda=3``
    (5 folds x 1 seed, 1 seed; over 5 seeds the penalised model scores
    0.7770 and 0.7473; at the default shape it changes little,
    0.7790 -> 0.7780 and 0.765 -> 0.758). More draws do not replace it
    (``num_estimations=4`` with ``reg_lambda=3``: 0.7737 and 0.734).

    **Against CatBoost.** The gradient is CatBoost's estimator step for step
    (tie shift, centring, the others' mean noise in the mean with variance
    ``sigma^2 n/(n-1)``, the slot densities, centring of ``d``, scale-free
    acceleration with ``(||c|| + nu)^2``), checked against CatBoost
    1.2.10's source and, in the tests, against a finite difference of the
    smoothed metric. What differed was the boosting around it: CatBoost grows
    symmetric depth-6 trees with the cosine split score, samples rows (MVS,
    0.8) and perturbs split scores (``random_strength=1``). Its
    row sampling and random split scores alone are worth 0.004 on MQ2008
    (0.7878 -> 0.7841 with ``bootstrap_type='No', random_strength=0``);
    ltr's query bagging (``subsample=0.8``) does not reproduce that gain.
    The tree shape was most of the gap: with CatBoost's trees
    (``grow_policy='symmetric', max_depth=6, min_child_samples=1,
    reg_lambda=3``) mean test NDCG@10 is 0.7843 on MQ2008 (5 folds x 5
    seeds) and 0.7588 on LightGBM's example (5 seeds), against 0.7770 and
    0.7473 for leaf-wise depth-6 trees; adding CatBoost's structure search
    (``score_function='cosine', random_strength=1``) gives 0.7859 and
    0.7642, CatBoost 0.7873 and 0.7642 (300 trees, learning rate 0.03;
    ``benchmarks/bench_objectives.py``).

    **Learning rate.** The ascent direction is small (on MQ2008 ``sum|g| /
    sum h`` is about 0.01, against about 2 for LambdaMART and YetiRank), and
    the ranking only depends on the direction of the scores, so the
    learning rate sets how fast the scores grow relative to the smoothing
    ``sigma``; a small one keeps the model smooth for longer.
    ``learning_rate=0.03`` with 100 to 300 trees works best in our runs
    (MQ2008, 5 folds, mean test NDCG@10 at 100 trees: 0.780 at 0.03, 0.774
    at 0.1, 0.750 at 1.0; LightGBM's example: 0.772 at 300 trees with 0.03),
    i.e. the same or a smaller rate than for LambdaMART, not a larger one.

    Queries of one document or whose metric gains are all equal get zero g
    and h. Row weights multiply g and h afterwards. The initial score is 0.
    Randomness is drawn from ``mix_seed(seed, iteration, query)``: the model
    does not depend on the number of threads and resumed training repeats a
    single run. Memory is O(n) per query. Time per estimation is O(n log n)
    plus one O(1) term per document and neighbouring position within
    ``top`` positions and 39 ``sigma'`` in score: O(n min(n, top)) when all
    scores of a query lie within a few ``sigma`` (early iterations), less
    as they spread. Set `top` (e.g. 10 to 30) for queries of thousands of
    documents.

    Parameters
    ----------
    metric : {'ndcg', 'dcg', 'mrr', 'err'}, default='ndcg'
        Target metric (case-insensitive).
    top : int or None, default=None
        Metric cut-off; None = the whole list (CatBoost's default).
    gain : {'exp', 'linear'}, default='exp'
        DCG / NDCG gain ``2**y - 1`` or ``y`` (CatBoost's default is linear,
        ``type=Base``).
    denominator : {'log', 'position'}, default='log'
        DCG / NDCG discount ``1/log2(r+2)`` or ``1/(r+1)``.
    max_grade : float or None, default=None
        ERR: stop probability ``(2**y - 1)/2**max_grade``; None = largest
        training label. MRR counts ``y > 0`` as relevant.
    sigma : float, default=1.0
        Standard deviation of the smoothing noise, > 0.
    num_estimations : int, default=1
        Monte-Carlo draws per query and iteration, >= 1.
    mu : float, default=0.0
        Tie shift ``t = s - sigma mu y`` (>= 0): ties count pessimistically.
    nu : float, default=0.01
        Scale-free acceleration regulariser, > 0.
    lambda_ : float, default=1.0
        Scale-free acceleration strength, >= 0 (0 disables it); ``lambda``
        (CatBoost's name) is accepted too.
    """

    name = "stochasticrank"
    is_ranking = True
    is_stochastic = True
    supports_query_offset = True
    produces_probabilities = False
    estimator_params = ()

    def __init__(self, metric="ndcg", top=None, gain="exp", denominator="log", max_grade=None, sigma=1.0,
                 num_estimations=1, mu=0.0, nu=0.01, lambda_=1.0, **kwargs):
        super().__init__()
        if kwargs:
            unknown = sorted(set(kwargs) - {"lambda"})
            if unknown:
                raise TypeError(f"StochasticRank got unexpected parameter(s) {unknown}")
            lambda_ = kwargs["lambda"]
        self.metric = check_choice("metric", metric, _METRICS)
        self.top = check_top(top)
        self.gain = check_choice("gain", gain, {"exp", "linear"})
        self.denominator = check_choice("denominator", denominator, {"log", "position"})
        self.max_grade = None if max_grade is None else check_real("max_grade", max_grade, 0.0, low_open=True)
        self.sigma = check_real("sigma", sigma, 0.0, low_open=True)
        self.num_estimations = check_int("num_estimations", num_estimations, 1)
        self.mu = check_real("mu", mu, 0.0)
        self.nu = check_real("nu", nu, 0.0, low_open=True)
        self.lambda_ = check_real("lambda_", lambda_, 0.0)

    def get_params(self):
        return {
            "metric": self.metric,
            "top": self.top,
            "gain": self.gain,
            "denominator": self.denominator,
            "max_grade": self.max_grade,
            "sigma": self.sigma,
            "num_estimations": self.num_estimations,
            "mu": self.mu,
            "nu": self.nu,
            "lambda_": self.lambda_,
        }

    @property
    def _metric_code(self):
        return METRIC_CODES[self.metric]

    def validate_labels(self, y):
        super().validate_labels(y)
        check_metric_labels(f"stochasticrank metric={self.metric!r}", y, self._metric_code, self.gain == "exp",
                            self.max_grade)

    def _setup(self):
        metric = self._metric_code
        sizes = np.diff(self.group_ptr_)
        n_max = int(sizes.max()) if sizes.size else 0
        self._top = resolved_top(self.top, n_max)
        max_grade = resolved_max_grade(self.max_grade, self.y_) if self.y_.size else 1.0
        self._gain = np.ascontiguousarray(document_gains(self.y_, metric, self.gain == "exp", max_grade))
        self._pos_weight = position_weights(n_max, metric, self._top, self.denominator == "log")
        self._query_scale = query_normalisers(self._gain, self.group_ptr_, metric, self._top,
                                              self.denominator == "log")
        self._active = queries_with_signal(self._gain, self.group_ptr_) & (self._query_scale > 0)
        self.n_active_queries_ = int(self._active.sum())

    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        _stochasticrank(
            self.y_, self._gain, np.ascontiguousarray(raw_score, dtype=np.float64), self.group_ptr_, self._active,
            self._query_scale, self._pos_weight, np.uint64(self.seed_), np.int64(iteration),
            np.int64(self.query_offset_), self._metric_code,
            self._top, self.sigma, self.num_estimations, self.mu, self.nu, self.lambda_, grad, hess,
        )
