"""Learning to rank from position-biased clicks: IPW, DLA and Unbiased LambdaMART.

Data. Each query group is one displayed list: its rows carry a click label
``c`` (a click 0/1 of one session, or a click rate over many sessions that
saw the same list, with ``sample_weight`` = impressions; see
``ltr.unbiased`` for why the two are equivalent for the softmax losses) and a
1-based display ``position``. Examination is modelled per position (the
position-based model ``P(click) = theta_k * gamma_d``); ``propensity`` means
``theta_k / theta_1``.

Objectives (algorithms.md section 8):

``ipw``
    Fixed propensities ``P_k`` (``propensity=``); click ``c`` at position k
    weighs ``w_k = P_1 / P_k`` (optionally clipped). With ``propensity=None``
    every weight is 1: the naive baseline that takes clicks as labels.

``dla``
    Dual Learning Algorithm (Ai et al., SIGIR 2018) for boosted trees. The
    propensity logits ``e_k`` are learned with the ranker: after every tree
    the inverse-relevance-weighted (IRW) loss
    ``L_IRW(e) = -sum_q sum_i c_i v_i log softmax_q(e)_{pos(i)}`` with
    ``v_i = clip(exp(f(x_pivot) - f(x_i)), v_max)`` (``pivot`` = the top
    document of the list) is minimised exactly: its stationarity condition
    ``exp(e_k) = B_k / D_k(e)``, ``B_k = sum_{pos(i)=k} c_i v_i``,
    ``D_k = sum_q A_q m_qk / Z_q(e)`` (``A_q = sum_{i in q} c_i v_i``, ``m_qk``
    the number of rows of q at position k, ``Z_q = sum_{i in q} exp(e_pos(i))``)
    is iterated as a minorise-maximise fixed point. When every list shows the
    same positions ``D_k`` does not depend on k and one step gives the
    closed form ``e_k = log B_k - log B_1``. The new logits are damped,
    ``e = (1 - beta) e + beta e_new``.

``unbiased_lambdamart``
    Hu et al. (WWW 2019): LambdaMART whose pair (i more clicked, j less)
    is divided by ``t+_{pos(i)} t-_{pos(j)}``; after each round
    ``t+_k = (C+_k / C+_1)^(1/(1+p))``, ``t-_k = (C-_k / C-_1)^(1/(1+p))`` with
    ``C+_{pos(i)} += cost_ij / t-_{pos(j)}``, ``C-_{pos(j)} += cost_ij / t+_{pos(i)}``
    and ``cost_ij = dZ_ij log(1 + exp(-sigma (s_i - s_j)))``, as the authors' code.

Ranker losses of ``ipw`` and ``dla`` (``ranker_loss``):

``'softmax'`` (IPW softmax cross-entropy, DLA's own loss), per query with
``A = sum_i c_i w_i > 0`` and ``p = softmax(s)`` over the query::

    L = -sum_i c_i w_i log p_i,   g_i = A p_i - c_i w_i,
    h_i = A (p_i (1 - p_i) + hessian_floor)

(``h`` is the exact diagonal hessian when ``hessian_floor = 0``; the floor,
CatBoost's QuerySoftMax ``lambda``, keeps Newton steps finite when one
document takes all the probability.) The paper also divides by the batch
sum of ``A``; a global factor only rescales every leaf's gradient and
hessian alike, so it is left out (it would make ``min_child_weight`` and
``reg_lambda`` depend on the data size).

``'lambdarank'``: LightGBM's LambdaRank (section 1.1) on the debiased gains
``G_i = c_i w_pos(i)`` (linear in the click label), i.e. the pair (i, j)
weighs ``(G_i - G_j) |D(r_i) - D(r_j)|``: a click at position k counts
``w_k`` times (algorithms.md 8.1). The per-query normalisers (``1/IDCG`` and
LightGBM's ``log2(1 + S) / S``) are computed from the *unweighted* clicks:
computed from the weighted gains they would cancel the weight of a single
click. With every weight 1 the gradients are exactly LambdaMART's on the
click labels with linear gain; Unbiased LambdaMART uses the same rule.

``'yetirank'``: classic YetiRank (``ltr.objectives.yetirank``, CatBoost's
defaults: 10 random rankings per list with logistic noise, adjacent pairs
weighted ``0.15 decay^k``, ``decay = 0.85``) on the same debiased gains
``G_i = c_i w_pos(i)``: the pair (a, b) adjacent at rank k of a noisy ranking
weighs ``0.15 decay^k |G_a - G_b|`` in the logistic pair loss. With every
weight 1 it is exactly ``objective='yetirank'`` on the click labels (tested).
Lists with all clicks equal are inactive (see below), even when their
weighted gains differ. The rankings of list q at iteration t are drawn from
``mix_seed(seed, t, q + query_offset)``: deterministic for any thread count.

Lists whose click labels are all equal (no click, or every document clicked
at the same rate) get exactly zero gradient and hessian in every objective
here, as the ``Objective`` contract requires. For the pairwise losses this
is automatic. The IPW softmax loss of such a list is not constant: with
``c_i = c`` its minimiser is ``p_i ∝ w_pos(i)``, i.e. it teaches the ranker
the *display order* (the position weights), not a preference between
documents, which is exactly the position effect IPW is meant to remove; the
list is dropped from the ranker loss (and from its ``loss`` value). Such
lists still count in DLA's propensity (IRW) step, where the clicks at
each position are evidence about examination.
"""
import math

import numpy as np
from numba import njit, prange

from .._dtypes import NJIT, NJIT_PARALLEL
from . import register
from ._base import Objective
from ._ranking_common import CLASSIC, NOISE_LOGISTIC, queries_with_signal
from .yetirank import _yetirank

#: LightGBM's ``0.01f`` in ``dZ / (0.01 + |s_i - s_j|)``, promoted to double.
SCORE_DISTANCE_OFFSET = float(np.float32(0.01))

#: Queries are split into at most this many fixed chunks for per-position
#: accumulations: each chunk sums into its own row, rows are added in order,
#: so the result does not depend on the number of threads.
MAX_CHUNKS = 256

RANKER_LOSSES = ("softmax", "lambdarank", "yetirank")

#: Classic YetiRank settings of the ``'yetirank'`` ranker loss (CatBoost's defaults).
YETIRANK_PERMUTATIONS = 10
YETIRANK_DECAY = 0.85


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
def dcg_discount(n):
    """``D(r) = 1 / log2(r + 2)`` for ranks ``0 .. n-1``."""
    return 1.0 / np.log2(np.arange(max(int(n), 1), dtype=np.float64) + 2.0)


def _n_chunks(n_queries):
    return max(1, min(int(n_queries), MAX_CHUNKS))


@njit(**NJIT)
def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + np.exp(-x))
    e = np.exp(x)
    return e / (1.0 + e)


@njit(**NJIT)
def _all_equal(values):
    """True when every entry equals the first (a list whose clicks carry no preference)."""
    for i in range(1, values.shape[0]):
        if values[i] != values[0]:
            return False
    return True


@njit(**NJIT)
def _softplus(x):
    """``log(1 + exp(x))`` without overflow."""
    if x > 0:
        return x + np.log1p(np.exp(-x))
    return np.log1p(np.exp(x))


# ---------------------------------------------------------------------------
# IPW softmax cross-entropy
# ---------------------------------------------------------------------------
@njit(**NJIT)
def _ipw_softmax_query(score, clicks, weight, hessian_floor, grad, hess):
    """IPW softmax CE of one list: ``g = A p - c w``, ``h = A (p (1 - p) + floor)``.

    Parameters
    ----------
    score, clicks, weight : ndarray of float64, shape (n,)
        Raw scores, click labels and IPW weights ``w_pos(i)`` of the list.
    hessian_floor : float
    grad, hess : ndarray of float64, shape (n,)
        OUT (overwritten).
    """
    n = score.shape[0]
    for i in range(n):
        grad[i] = 0.0
        hess[i] = 0.0
    if n <= 1 or _all_equal(clicks):
        return
    total = 0.0
    for i in range(n):
        total += clicks[i] * weight[i]
    if total <= 0.0:
        return
    m = score[0]
    for i in range(1, n):
        if score[i] > m:
            m = score[i]
    z = 0.0
    for i in range(n):
        z += np.exp(score[i] - m)
    for i in range(n):
        p = np.exp(score[i] - m) / z
        grad[i] = total * p - clicks[i] * weight[i]
        hess[i] = total * (p * (1.0 - p) + hessian_floor)


@njit(**NJIT_PARALLEL)
def _ipw_softmax(raw, clicks, weight, group_ptr, hessian_floor, grad, hess):
    n_queries = group_ptr.shape[0] - 1
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        _ipw_softmax_query(raw[a:b], clicks[a:b], weight[a:b], hessian_floor, grad[a:b], hess[a:b])


@njit(**NJIT_PARALLEL)
def _ipw_softmax_loss(raw, clicks, weight, row_weight, group_ptr):
    """``sum_q rw_q * (-sum_i c_i w_i log p_i)``; ``rw_q`` = row weight of the list's first row."""
    n_queries = group_ptr.shape[0] - 1
    out = np.zeros(n_queries)
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        if b - a <= 1 or _all_equal(clicks[a:b]):
            continue
        m = raw[a]
        for i in range(a + 1, b):
            m = max(m, raw[i])
        z = 0.0
        for i in range(a, b):
            z += np.exp(raw[i] - m)
        log_z = m + np.log(z)
        s = 0.0
        for i in range(a, b):
            s += clicks[i] * weight[i] * (log_z - raw[i])
        out[q] = row_weight[a] * s
    return out.sum()


# ---------------------------------------------------------------------------
# LambdaRank with debiased gains and per-position pair factors
# ---------------------------------------------------------------------------
@njit(**NJIT)
def _inverse_idcg_query(gain, discount, truncation_level):
    n = gain.shape[0]
    k = min(truncation_level, n)
    if k <= 0:
        return 0.0
    g = np.sort(gain)
    idcg = 0.0
    for r in range(k):
        idcg += g[n - 1 - r] * discount[r]
    return 1.0 / idcg if idcg > 0.0 else 0.0


@njit(**NJIT_PARALLEL)
def _inverse_idcg(gain, group_ptr, discount, truncation_level):
    n_queries = group_ptr.shape[0] - 1
    out = np.zeros(n_queries)
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        out[q] = _inverse_idcg_query(gain[a:b], discount, truncation_level)
    return out


@njit(**NJIT)
def _debiased_lambda_query(
    score, gain, base_gain, inverse_idcg, bins, t_plus, t_minus, row_weight,
    discount, sigma, truncation_level, norm, track_cost, grad, hess, cost_plus, cost_minus,
):
    """LambdaRank gradients of one list with debiased gains and pair factors.

    For every pair (i, j) of LightGBM's pair set (ranks ``a < b`` in model
    order, ``a < truncation_level``, ``gain`` different; i has the larger
    ``gain``)::

        dZ    = (G_i - G_j) |D(r_i) - D(r_j)| / IDCG      [/ (0.01 + |ds|) if norm]
        f     = 1 / (t+[bin_i] t-[bin_j])
        g_i  -= sigma rho dZ f,  g_j += sigma rho dZ f,   rho = sigmoid(-sigma ds)
        h_i, h_j += sigma^2 rho (1 - rho) dZ f
        S    += 2 sigma rho dZ_base        (dZ with base_gain, |G_i - G_j| -> |Gb_i - Gb_j|)

    then ``g, h *= log2(1 + S) / S`` when norm. With ``track_cost``, adds
    ``cost = dZ softplus(-sigma ds) (rw_i + rw_j) / 2`` to
    ``cost_plus[bin_i] / t-[bin_j]`` and ``cost_minus[bin_j] / t+[bin_i]``.

    Parameters
    ----------
    score, gain, base_gain : ndarray of float64, shape (n,)
    inverse_idcg : float
        ``1 / IDCG@k`` of ``base_gain``; 0 means no signal.
    bins : ndarray of int64, shape (n,)
        0-based position bin of each row.
    t_plus, t_minus : ndarray of float64, shape (n_bins,)
    row_weight : ndarray of float64, shape (n,)
        Weights of the rows in the cost (impressions).
    discount : ndarray of float64, shape (>= n,)
    grad, hess : OUT, shape (n,)
    cost_plus, cost_minus : INOUT, shape (n_bins,)
    """
    n = score.shape[0]
    for i in range(n):
        grad[i] = 0.0
        hess[i] = 0.0
    if n <= 1 or inverse_idcg == 0.0 or _all_equal(base_gain):
        return
    order = np.argsort(-score, kind="mergesort")
    best = score[order[0]]
    worst_pos = n - 1
    if score[order[worst_pos]] == -np.inf:
        worst_pos -= 1
    worst = score[order[worst_pos]]
    by_distance = norm and best != worst
    sigma2 = sigma * sigma
    total = 0.0
    n_top = min(n - 1, truncation_level)
    for a in range(n_top):
        ia = order[a]
        if score[ia] == -np.inf:
            break
        for b in range(a + 1, n):
            ib = order[b]
            if score[ib] == -np.inf:
                break
            if gain[ia] == gain[ib]:
                continue
            if gain[ia] > gain[ib]:
                i, j, ri, rj = ia, ib, a, b
            else:
                i, j, ri, rj = ib, ia, b, a
            ds = score[i] - score[j]
            pair_discount = abs(discount[ri] - discount[rj]) * inverse_idcg
            dz = (gain[i] - gain[j]) * pair_discount
            dz_base = abs(base_gain[i] - base_gain[j]) * pair_discount
            if by_distance:
                dist = SCORE_DISTANCE_OFFSET + abs(ds)
                dz /= dist
                dz_base /= dist
            rho = _sigmoid(-sigma * ds)
            factor = 1.0 / (t_plus[bins[i]] * t_minus[bins[j]])
            lam = sigma * rho * dz * factor
            h = sigma2 * rho * (1.0 - rho) * dz * factor
            grad[i] -= lam
            grad[j] += lam
            hess[i] += h
            hess[j] += h
            total += 2.0 * sigma * rho * dz_base
            if track_cost:
                cost = dz * _softplus(-sigma * ds) * 0.5 * (row_weight[i] + row_weight[j])
                cost_plus[bins[i]] += cost / t_minus[bins[j]]
                cost_minus[bins[j]] += cost / t_plus[bins[i]]
    if norm and total > 0.0:
        scale = np.log2(1.0 + total) / total
        for i in range(n):
            grad[i] *= scale
            hess[i] *= scale


@njit(**NJIT_PARALLEL)
def _debiased_lambdas(
    raw, gain, base_gain, inverse_idcg, bins, t_plus, t_minus, row_weight, group_ptr,
    discount, sigma, truncation_level, norm, track_cost, grad, hess, cost_plus, cost_minus,
):
    """Driver of :func:`_debiased_lambda_query` over fixed chunks of queries.

    ``cost_plus`` / ``cost_minus`` have shape (n_chunks, n_bins): chunk c
    writes row c only.
    """
    n_queries = group_ptr.shape[0] - 1
    n_chunks = cost_plus.shape[0]
    for c in prange(n_chunks):
        q0 = c * n_queries // n_chunks
        q1 = (c + 1) * n_queries // n_chunks
        for q in range(q0, q1):
            a, b = group_ptr[q], group_ptr[q + 1]
            _debiased_lambda_query(
                raw[a:b], gain[a:b], base_gain[a:b], inverse_idcg[q], bins[a:b], t_plus, t_minus,
                row_weight[a:b], discount, sigma, truncation_level, norm, track_cost,
                grad[a:b], hess[a:b], cost_plus[c], cost_minus[c],
            )


@njit(**NJIT_PARALLEL)
def _ipw_softmax_scale_terms(raw, clicks, weight, row_weight, group_ptr, scale, out):
    """Loss, first and second derivative of the IPW softmax loss of ``scale * raw`` in ``scale``.

    Per list with ``A = sum c w`` and ``p = softmax(scale * s)``:
    ``L = sum c w (log Z - scale s)``, ``dL = sum (A p - c w) s``,
    ``d2L = A Var_p(s) >= 0`` (the loss is convex in ``scale``). Each term is
    multiplied by the row weight of the list's first row.

    Parameters
    ----------
    out : OUT, shape (n_chunks, 3)
    """
    n_queries = group_ptr.shape[0] - 1
    n_chunks = out.shape[0]
    for c in prange(n_chunks):
        out[c, 0] = 0.0
        out[c, 1] = 0.0
        out[c, 2] = 0.0
        q0 = c * n_queries // n_chunks
        q1 = (c + 1) * n_queries // n_chunks
        for q in range(q0, q1):
            a, b = group_ptr[q], group_ptr[q + 1]
            if b - a <= 1 or _all_equal(clicks[a:b]):
                continue
            total = 0.0
            for i in range(a, b):
                total += clicks[i] * weight[i]
            if total <= 0.0:
                continue
            m = scale * raw[a]
            for i in range(a + 1, b):
                m = max(m, scale * raw[i])
            z = 0.0
            for i in range(a, b):
                z += np.exp(scale * raw[i] - m)
            log_z = m + np.log(z)
            mean = 0.0
            second = 0.0
            loss = 0.0
            for i in range(a, b):
                p = np.exp(scale * raw[i] - log_z)
                mean += p * raw[i]
                second += p * raw[i] * raw[i]
                loss += clicks[i] * weight[i] * (log_z - scale * raw[i])
            d1 = 0.0
            for i in range(a, b):
                d1 += clicks[i] * weight[i] * (mean - raw[i])
            rw = row_weight[a]
            out[c, 0] += rw * loss
            out[c, 1] += rw * d1
            out[c, 2] += rw * total * max(second - mean * mean, 0.0)


def fit_relevance_scale(raw, clicks, weight, row_weight, group_ptr, start=1.0, max_iter=50, tol=1e-8):
    """``argmin_tau`` of the IPW softmax loss of ``tau * raw`` (``tau > 0``), by safeguarded Newton.

    Returns `start` unchanged when no list has a click.
    """
    out = np.zeros((_n_chunks(group_ptr.shape[0] - 1), 3))

    def terms(t):
        _ipw_softmax_scale_terms(raw, clicks, weight, row_weight, group_ptr, t, out)
        return out.sum(axis=0)

    return newton_relevance_scale(terms, start, max_iter, tol)


def newton_relevance_scale(terms, start=1.0, max_iter=50, tol=1e-8):
    """The safeguarded Newton iterations of `fit_relevance_scale` over ``terms(tau) -> (loss, d1, d2)``.

    `terms` may sum the three numbers over data partitions (distributed
    training): the iterations only need those sums.
    """
    tau = max(float(start), 1e-6)
    loss, d1, d2 = terms(tau)
    if loss == 0.0 and d1 == 0.0:
        return tau
    for _ in range(max_iter):
        if d2 <= 0.0:
            break
        step = d1 / d2
        new = tau - step
        if new <= 0.0:
            new = tau / 4.0
        new_loss, new_d1, new_d2 = terms(new)
        halvings = 0
        while new_loss > loss and halvings < 30:
            new = 0.5 * (new + tau)
            new_loss, new_d1, new_d2 = terms(new)
            halvings += 1
        converged = abs(new - tau) <= tol * max(1.0, tau)
        tau, loss, d1, d2 = new, new_loss, new_d1, new_d2
        if converged:
            break
    return tau


@njit(**NJIT)
def _isotonic_sorted(target, weight):
    """Weighted least-squares non-decreasing fit (pool adjacent violators) of `target`, already sorted."""
    n = target.shape[0]
    level = np.empty(n)
    mass = np.empty(n)
    width = np.empty(n, dtype=np.int64)
    m = 0
    for i in range(n):
        level[m] = target[i]
        mass[m] = weight[i]
        width[m] = 1
        m += 1
        while m > 1 and level[m - 2] > level[m - 1]:
            tot = mass[m - 2] + mass[m - 1]
            if tot > 0:
                level[m - 2] = (level[m - 2] * mass[m - 2] + level[m - 1] * mass[m - 1]) / tot
            else:
                level[m - 2] = 0.5 * (level[m - 2] + level[m - 1])
            mass[m - 2] = tot
            width[m - 2] += width[m - 1]
            m -= 1
    out = np.empty(n)
    i = 0
    for b in range(m):
        for _ in range(width[b]):
            out[i] = level[b]
            i += 1
    return out


def isotonic_relevance(raw, target, weight):
    """``R = g(raw)`` with ``g`` non-decreasing, fitted to `target` by weighted least squares.

    Rows with equal scores share one value (ties are pooled first). Used as
    DLA's relevance model for rankers whose scores have no probabilistic
    scale (LambdaRank): ``g`` maps a score to the IPW-debiased click rate.
    """
    order = np.argsort(raw, kind="mergesort")
    r = raw[order]
    t = target[order]
    w = weight[order]
    # pool equal scores so that g is a function of the score
    starts = np.flatnonzero(np.concatenate(([True], r[1:] != r[:-1])))
    wsum = np.add.reduceat(w, starts)
    tsum = np.add.reduceat(t * w, starts)
    mean = np.divide(tsum, wsum, out=np.zeros_like(tsum), where=wsum > 0)
    fitted = _isotonic_sorted(np.ascontiguousarray(mean), np.ascontiguousarray(wsum))
    out = np.empty_like(raw)
    out[order] = np.repeat(fitted, np.diff(np.append(starts, r.shape[0])))
    return out


def fit_isotonic_pooled(pooled):
    """Isotonic relevance from per-partition pools ``{key: [scores, sum w t, sum w]}`` (`DLA.isotonic_pool`).

    Equal scores of different partitions are pooled again, so the fit is
    `isotonic_relevance` on all the rows. Returns the distinct scores
    (sorted) and ``g`` at each.
    """
    parts = np.concatenate([np.asarray(pooled[k], dtype=np.float64) for k in sorted(pooled)], axis=1)
    order = np.argsort(parts[0], kind="mergesort")
    r, tsum, wsum = parts[0][order], parts[1][order], parts[2][order]
    if not r.size:
        return r, r
    starts = np.flatnonzero(np.concatenate(([True], r[1:] != r[:-1])))
    if starts.shape[0] != r.shape[0]:
        tsum, wsum = np.add.reduceat(tsum, starts), np.add.reduceat(wsum, starts)
    mean = np.divide(tsum, wsum, out=np.zeros_like(tsum), where=wsum > 0)
    return r[starts], _isotonic_sorted(np.ascontiguousarray(mean), np.ascontiguousarray(wsum))


# ---------------------------------------------------------------------------
# DLA: inverse relevance weighting (IRW) step
# ---------------------------------------------------------------------------
@njit(**NJIT_PARALLEL)
def _irw_numerators(raw, counts, bins, group_ptr, log_v_max, numer, list_mass):
    """``B_k`` (per chunk) and ``A_q`` of the IRW loss.

    ``v_i = exp(min(f_pivot - f_i, log_v_max))``, pivot = first row of the
    list with the smallest position bin.

    Parameters
    ----------
    counts : ndarray of float64
        Click counts ``c_i`` (label times impressions).
    numer : OUT, shape (n_chunks, n_bins)
    list_mass : OUT, shape (n_queries,)
    """
    n_queries = group_ptr.shape[0] - 1
    n_chunks = numer.shape[0]
    for c in prange(n_chunks):
        for k in range(numer.shape[1]):
            numer[c, k] = 0.0
        q0 = c * n_queries // n_chunks
        q1 = (c + 1) * n_queries // n_chunks
        for q in range(q0, q1):
            a, b = group_ptr[q], group_ptr[q + 1]
            pivot = a
            for i in range(a + 1, b):
                if bins[i] < bins[pivot]:
                    pivot = i
            mass = 0.0
            for i in range(a, b):
                if counts[i] > 0.0:
                    d = raw[pivot] - raw[i]
                    if d > log_v_max:
                        d = log_v_max
                    v = np.exp(d)
                    numer[c, bins[i]] += counts[i] * v
                    mass += counts[i] * v
            list_mass[q] = mass


@njit(**NJIT_PARALLEL)
def _irw_denominators(list_mass, bins, group_ptr, exp_logits, denom):
    """``D_k = sum_q A_q m_qk / Z_q`` per chunk; ``Z_q = sum_{i in q} exp(e_bin(i))``."""
    n_queries = group_ptr.shape[0] - 1
    n_chunks = denom.shape[0]
    for c in prange(n_chunks):
        for k in range(denom.shape[1]):
            denom[c, k] = 0.0
        q0 = c * n_queries // n_chunks
        q1 = (c + 1) * n_queries // n_chunks
        for q in range(q0, q1):
            if list_mass[q] <= 0.0:
                continue
            a, b = group_ptr[q], group_ptr[q + 1]
            z = 0.0
            for i in range(a, b):
                z += exp_logits[bins[i]]
            r = list_mass[q] / z
            for i in range(a, b):
                denom[c, bins[i]] += r


def irw_statistics(raw, counts, bins, group_ptr, n_bins, max_relevance_weight=None):
    """Numerators ``B_k`` and list masses ``A_q`` of the IRW loss (see module docstring)."""
    n_queries = group_ptr.shape[0] - 1
    numer = np.zeros((_n_chunks(n_queries), n_bins))
    mass = np.zeros(n_queries)
    log_v_max = 700.0 if max_relevance_weight is None else math.log(max_relevance_weight)
    _irw_numerators(raw, counts, bins, group_ptr, log_v_max, numer, mass)
    return numer.sum(axis=0), mass


def solve_irw(numer, mass, bins, group_ptr, init_logits, max_iter=100, tol=1e-10):
    """Minimise the IRW loss over the propensity logits given ``B_k`` and ``A_q``.

    Positions without clicks (``B_k = 0``) keep their logit from
    `init_logits`: the loss only decreases as their logit goes to minus
    infinity, which would make their IPW weight infinite. Returns the logits
    normalised to ``e_1 = 0`` and the number of fixed-point iterations.
    """
    denom = np.zeros((_n_chunks(group_ptr.shape[0] - 1), numer.shape[0]))

    def denominators(exp_logits):
        _irw_denominators(mass, bins, group_ptr, exp_logits, denom)
        return denom.sum(axis=0)

    return solve_irw_fixed_point(numer, denominators, init_logits, max_iter, tol)


def solve_irw_fixed_point(numer, denominators, init_logits, max_iter=100, tol=1e-10):
    """The fixed-point iterations of `solve_irw` over ``denominators(exp(e - shift)) -> D``.

    `denominators` may sum ``D_k`` over data partitions (distributed
    training): each iteration needs only that sum and ``B_k``.
    """
    n_bins = numer.shape[0]
    active = numer > 0
    logits = np.array(init_logits, dtype=np.float64)
    if not active.any():
        return logits - logits[0], 0
    log_numer = np.log(np.where(active, numer, 1.0))
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        shift = logits[active].max()
        d = denominators(np.exp(logits - shift))
        new = logits.copy()
        new[active] = log_numer[active] - np.log(d[active]) + shift
        # The fixed point is defined up to a common shift of the active logits;
        # pin the first active one so that the inactive ones keep their place.
        first = np.argmax(active)
        new[active] -= new[first] - logits[first]
        delta = np.max(np.abs(new - logits))
        logits = new
        if delta <= tol:
            break
    ref = logits[0] if active[0] else logits[np.argmax(active)]
    return logits - ref, n_iter


# ---------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------
def _check_positive(name, value, allow_none=False):
    if value is None and allow_none:
        return None
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


class _ClickObjective(Objective):
    """Shared pieces: click labels, display positions, LambdaRank settings."""

    is_ranking = True
    estimator_params = ("sigmoid", "lambdarank_truncation_level", "lambdarank_norm")

    def _init_lambdarank(self, sigmoid, lambdarank_truncation_level, lambdarank_norm):
        self.sigmoid = _check_positive("sigmoid", sigmoid)
        level = int(lambdarank_truncation_level)
        if level < 1:
            raise ValueError(f"lambdarank_truncation_level must be >= 1, got {lambdarank_truncation_level}")
        self.lambdarank_truncation_level = level
        self.lambdarank_norm = bool(lambdarank_norm)

    def _lambdarank_params(self):
        return dict(
            sigmoid=self.sigmoid,
            lambdarank_truncation_level=self.lambdarank_truncation_level,
            lambdarank_norm=self.lambdarank_norm,
        )

    def validate_labels(self, y):
        super().validate_labels(y)
        if np.any(y < 0):
            raise ValueError(
                f"objective {self.name!r} takes click labels (0/1 clicks, click rates or click counts), "
                "which cannot be negative"
            )

    def _setup_positions(self, n_positions=None):
        """Check ``self.position_`` and map it to 0-based bins ``self.bins_``."""
        if self.position_ is None:
            raise ValueError(
                f"objective {self.name!r} needs the display positions of the training rows: "
                "pass position= to fit (the 1-based rank at which each row was shown)"
            )
        pos = np.asarray(self.position_)
        if pos.shape != self.y_.shape:
            raise ValueError(
                f"position must have one entry per training row ({self.y_.shape[0]}), got shape {pos.shape}"
            )
        if pos.dtype.kind == "f":
            if not np.all(np.isfinite(pos)) or np.any(pos != np.round(pos)):
                raise ValueError("position must hold whole numbers (1-based display ranks)")
        elif pos.dtype.kind not in "iu":
            raise ValueError(f"position must hold integers (1-based display ranks), got dtype {pos.dtype}")
        pos = pos.astype(np.int64)
        if pos.size and pos.min() < 1:
            raise ValueError(f"position must be 1-based (the top result is 1), got a minimum of {pos.min()}")
        max_pos = int(pos.max()) if pos.size else 1
        if n_positions is None:  # distributed training: the largest position over all partitions
            n_positions = getattr(self, "_global_n_positions", None)
        n_bins = max_pos if n_positions is None else int(n_positions)
        self.n_positions_ = n_bins
        self.bins_ = np.ascontiguousarray(np.minimum(pos, n_bins) - 1)
        self.row_weight_ = self.weight_ if self.weight_ is not None else np.ones_like(self.y_)
        self.counts_ = self.y_ * self.row_weight_
        self.discount_ = dcg_discount(int(np.diff(self.group_ptr_).max()) if self.group_ptr_.shape[0] > 1 else 1)
        if getattr(self, "ranker_loss", None) == "yetirank":
            self._yeti_active = queries_with_signal(self.y_, self.group_ptr_)
            self._yeti_scale = np.ones(self.group_ptr_.shape[0] - 1)
            self._yeti_pos_weight = np.zeros(int(np.diff(self.group_ptr_).max(initial=1)) + 1)

    # -- global quantities (distributed training, see Objective.partition_statistics) --
    def _n_positions_given(self):
        """The number of position bins fixed by a parameter, or None (the largest position in the data)."""
        return getattr(self, "n_positions", None)

    def partition_statistics(self):
        """The largest display position (when it sets the number of position bins)."""
        if self._n_positions_given() is not None:
            return None
        pos = np.asarray(self.position_)
        return {"max_position": ("max", float(pos.max()) if pos.size else 1.0)}

    def set_global_statistics(self, stats):
        """Position bins over all the rows; the per-position state is rebuilt when they differ from the local ones."""
        if "max_position" in stats:
            self._global_n_positions = int(stats["max_position"])
        if hasattr(self, "bins_") and self._needs_global_setup(stats):
            self._setup()

    def _needs_global_setup(self, stats):
        return getattr(self, "_global_n_positions", None) not in (None, self.n_positions_)

    def _base_inverse_idcg(self):
        return _inverse_idcg(self.y_, self.group_ptr_, self.discount_, self.lambdarank_truncation_level)

    is_stochastic = False
    supports_query_offset = True

    def _yetirank_gradients(self, raw_score, gain, grad, hess, iteration):
        """Classic YetiRank g, h on the debiased gains `gain` (module docstring).

        Active lists are those whose *click labels* differ, so that a list
        with equal clicks gets zero g and h whatever its position weights.
        """
        _yetirank(
            gain, gain, np.ascontiguousarray(raw_score, dtype=np.float64), self.group_ptr_, self._yeti_active,
            self._yeti_scale, self._yeti_pos_weight, np.uint64(self.seed_), np.int64(iteration),
            np.int64(self.query_offset_), YETIRANK_PERMUTATIONS, CLASSIC, YETIRANK_DECAY, 0, 1,
            NOISE_LOGISTIC, 1.0, grad, hess,
        )

    def _lambdas(self, raw_score, gain, t_plus, t_minus, grad, hess, track_cost=False):
        n_chunks = _n_chunks(self.group_ptr_.shape[0] - 1)
        cost_plus = np.zeros((n_chunks, t_plus.shape[0]))
        cost_minus = np.zeros((n_chunks, t_plus.shape[0]))
        _debiased_lambdas(
            raw_score, gain, self.y_, self.inverse_idcg_, self.bins_, t_plus, t_minus, self.row_weight_,
            self.group_ptr_, self.discount_, self.sigmoid, self.lambdarank_truncation_level,
            self.lambdarank_norm, track_cost, grad, hess, cost_plus, cost_minus,
        )
        return cost_plus.sum(axis=0), cost_minus.sum(axis=0)


def _check_ranker_loss(ranker_loss):
    if ranker_loss not in RANKER_LOSSES:
        raise ValueError(f"ranker_loss must be one of {RANKER_LOSSES}, got {ranker_loss!r}")
    return ranker_loss


def _propensity_weights(logits, max_weight):
    """``w_k = exp(e_1 - e_k)``, clipped at `max_weight` when given."""
    w = np.exp(logits[0] - logits)
    if max_weight is not None:
        w = np.minimum(w, max_weight)
    return np.ascontiguousarray(w)


@register
class IPW(_ClickObjective):
    """Inverse propensity weighting with known propensities.

    Parameters
    ----------
    propensity : array-like of float or None
        Examination probability per position (position 1 first), absolute or
        relative to position 1 (only ratios matter). ``None``: every weight 1,
        i.e. clicks taken as relevance labels (the naive baseline).
    ranker_loss : {'lambdarank', 'softmax', 'yetirank'}, default='lambdarank'
        See the module docstring.
    max_propensity_weight : float or None, default=None
        Clip the weights ``P_1 / P_k`` at this value (trades bias for variance).
    hessian_floor : float, default=0.01
        Softmax loss only: added to ``p (1 - p)`` in the hessian.
    sigmoid, lambdarank_truncation_level, lambdarank_norm
        LambdaRank settings (taken from the estimator).
    """

    name = "ipw"
    aliases = ("click_ipw",)

    def __init__(
        self, propensity=None, ranker_loss="lambdarank", max_propensity_weight=None, hessian_floor=0.01,
        sigmoid=1.0, lambdarank_truncation_level=30, lambdarank_norm=True,
    ):
        super().__init__()
        if propensity is not None:
            p = np.asarray(propensity, dtype=np.float64)
            if p.ndim != 1 or p.shape[0] == 0 or not np.all(np.isfinite(p)) or np.any(p <= 0):
                raise ValueError("propensity must be a non-empty 1-d array of positive numbers, one per position")
            propensity = p / p[0]
        self.propensity = propensity
        self.ranker_loss = _check_ranker_loss(ranker_loss)
        self.is_stochastic = self.ranker_loss == "yetirank"
        self.max_propensity_weight = _check_positive("max_propensity_weight", max_propensity_weight, allow_none=True)
        self.hessian_floor = float(hessian_floor)
        if self.hessian_floor < 0:
            raise ValueError(f"hessian_floor must be >= 0, got {hessian_floor}")
        self._init_lambdarank(sigmoid, lambdarank_truncation_level, lambdarank_norm)

    def get_params(self):
        return dict(
            propensity=None if self.propensity is None else [float(v) for v in self.propensity],
            ranker_loss=self.ranker_loss,
            max_propensity_weight=self.max_propensity_weight,
            hessian_floor=self.hessian_floor,
            **self._lambdarank_params(),
        )

    def _setup(self):
        n_positions = None if self.propensity is None else self.propensity.shape[0]
        if self.propensity is not None and self.position_ is not None:
            top = int(np.max(self.position_)) if len(self.position_) else 1
            if top > n_positions:
                raise ValueError(
                    f"position goes up to {top} but propensity has {n_positions} values: give one per position"
                )
        self._setup_positions(n_positions)
        p = np.ones(self.n_positions_) if self.propensity is None else self.propensity
        self.propensity_ = p.copy()
        self.weights_ = _propensity_weights(np.log(p), self.max_propensity_weight)
        self.inverse_idcg_ = self._base_inverse_idcg()
        self.row_ipw_ = np.ascontiguousarray(self.weights_[self.bins_])

    def _n_positions_given(self):
        return None if self.propensity is None else self.propensity.shape[0]

    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        if self.ranker_loss == "softmax":
            _ipw_softmax(raw_score, self.y_, self.row_ipw_, self.group_ptr_, self.hessian_floor, grad, hess)
        elif self.ranker_loss == "yetirank":
            self._yetirank_gradients(raw_score, np.ascontiguousarray(self.y_ * self.row_ipw_), grad, hess, iteration)
        else:
            ones = np.ones(self.n_positions_)
            self._lambdas(raw_score, np.ascontiguousarray(self.y_ * self.row_ipw_), ones, ones, grad, hess)

    def loss(self, raw_score):
        if self.ranker_loss != "softmax":
            return super().loss(raw_score)
        return float(_ipw_softmax_loss(raw_score, self.y_, self.row_ipw_, self.row_weight_, self.group_ptr_))

    def state(self):
        return {"propensity": [float(v) for v in self.propensity_]} if hasattr(self, "propensity_") else {}

    def set_state(self, state):
        # The propensities are fixed inputs; a loaded model reports the ones it was trained with.
        if state and "propensity" in state:
            self.propensity_ = np.asarray([float(v) for v in state["propensity"]], dtype=np.float64)


@register
class DLA(_ClickObjective):
    """Dual Learning Algorithm: the ranker and the position propensities learned together.

    After every ``update_every`` trees the propensity logits take an exact,
    damped IRW step (module docstring); the next trees are fitted with the
    IPW weights ``w_k = min(P_1 / P_k, max_propensity_weight)``.

    Parameters
    ----------
    ranker_loss : {'softmax', 'lambdarank', 'yetirank'}, default='softmax'
        'softmax' is the paper's IPW softmax cross-entropy; 'lambdarank'
        uses IPW-weighted LambdaRank gradients, 'yetirank' classic YetiRank
        on the IPW-weighted gains (module docstring).
    max_propensity_weight : float or None, default=10.0
        Clip of the IPW weights (the Baidu-ULTR study clips at 10).
    max_relevance_weight : float or None, default=10.0
        Clip of the IRW weights ``v = R_1 / R_k``.
    relevance_model : {'auto', 'softmax', 'isotonic'} or float, default='auto'
        The relevance model ``R`` whose ratios ``v = R_pivot / R_i`` the IRW
        step uses; the IRW step needs relevance *ratios*, and the raw scores
        of a boosted model are not calibrated as such:

        * 'softmax': ``R = softmax(tau f)`` with ``tau > 0`` refitted before
          every update by minimising the IPW softmax loss of ``tau f`` (one
          convex parameter, Newton; boosting with shrinkage compresses the
          scores).
        * 'isotonic': ``R = g(f)``, ``g`` the non-decreasing least-squares fit
          of the IPW-debiased click rates ``c_i w_pos(i)`` on the scores
          (pool adjacent violators): for LambdaRank scores, which have no
          probabilistic scale at all.
        * a float: ``R = softmax(tau f)`` with that fixed ``tau`` (1.0 is the
          paper's choice).
        * 'auto': 'softmax' with ``ranker_loss='softmax'`` or ``'yetirank'``
          (a logistic pair loss: ``exp(f)`` ratios are Bradley-Terry odds),
          'isotonic' with ``'lambdarank'``.

        None of them changes the ranking.
    propensity_damping : float in (0, 1], default=0.5
        ``beta`` in ``e = (1 - beta) e + beta e_new``.
    update_every : int, default=1
        Trees between two propensity updates.
    propensity_init : {'ones', 'ctr'}, default='ones'
        Start from no correction, or from the per-position CTR ratio.
    n_positions : int or None
        Number of propensity parameters; positions beyond it share the last
        one. Default: the largest position in the data.
    irw_max_iter, irw_tol
        Fixed-point iterations of the IRW step (1 suffices when all lists
        show the same positions).
    hessian_floor : float, default=0.01
        Softmax loss only.
    sigmoid, lambdarank_truncation_level, lambdarank_norm
        LambdaRank settings (taken from the estimator).

    Attributes
    ----------
    propensity_ : ndarray, shape (n_positions,)
        Current estimate of ``theta_k / theta_1``.
    propensity_history_ : list of ndarray
        The estimate after each tree (one entry per ``after_iteration`` call).
    relevance_scale_ : float or None
        The ``tau`` of the last update (None with the isotonic model).

    Notes
    -----
    When every session of a query shows the same list (a deterministic
    production ranker), the propensities are identified only because the
    features do not determine the display position exactly: a flexible
    ranker can partly learn the production ranker's ordering and absorb the
    position effect, and the IRW step then reads back propensities closer to
    the weights it was given. Measured on simulated clicks (benchmarks/
    bench_unbiased.py, README tables): none of the rankers stays within
    10 % there; at eta = 1 the largest error over positions 1-10 is 18-24 %
    (lambdarank, softmax) and 45 % (yetirank) on the generated data, 100-200 %
    on MQ2008. Two more
    limits: clipping the IPW weights leaves a position effect in the ranker's
    targets beyond the clip, which pulls the estimate towards
    ``1 / max_propensity_weight`` (severe bias, e.g. eta = 2, where true
    weights reach 128); and without the clip, the few heavily weighted clicks
    at low positions are overfitted. Randomised or changing rankings (the
    same document at several positions) identify the propensities directly.

    Measured on the benchmark's generated data (1000 queries, 2M sessions,
    300 trees), the in-sample estimate is off by up to 18-45 % at eta = 1
    and by more than 300 % at eta = 2; on MQ2008 by 100-200 % and
    300-350 % (benchmarks/README.md). For the propensities use
    ``LambdaRanker(unbiased='dla', propensity_estimation='cross_fit')``
    (``ltr.unbiased.estimate_propensity_cross_fit``, then an IPW ranker with
    those propensities): by default its relevance model is fitted on other
    queries, from contrasts between documents shown at the same position
    (``ltr.unbiased._within_position``); ``method='dla'`` runs these IPW
    and IRW steps with out-of-fold rankers (``ltr.unbiased._cross_fit``).
    Neither reaches 10 % everywhere; the measured errors are in
    benchmarks/README.md.
    """

    name = "dla"

    def __init__(
        self, ranker_loss="softmax", max_propensity_weight=10.0, max_relevance_weight=10.0,
        relevance_model="auto", propensity_damping=0.5, update_every=1, propensity_init="ones", n_positions=None,
        irw_max_iter=100, irw_tol=1e-10, hessian_floor=0.01,
        sigmoid=1.0, lambdarank_truncation_level=30, lambdarank_norm=True,
    ):
        super().__init__()
        self.ranker_loss = _check_ranker_loss(ranker_loss)
        self.is_stochastic = self.ranker_loss == "yetirank"
        self.max_propensity_weight = _check_positive("max_propensity_weight", max_propensity_weight, allow_none=True)
        self.max_relevance_weight = _check_positive("max_relevance_weight", max_relevance_weight, allow_none=True)
        if relevance_model not in ("auto", "softmax", "isotonic"):
            if isinstance(relevance_model, str):
                raise ValueError(
                    "relevance_model must be 'auto', 'softmax', 'isotonic' or a positive float, "
                    f"got {relevance_model!r}"
                )
            relevance_model = _check_positive("relevance_model", relevance_model)
        self.relevance_model = relevance_model
        beta = float(propensity_damping)
        if not (0.0 < beta <= 1.0):
            raise ValueError(f"propensity_damping must be in (0, 1], got {propensity_damping}")
        self.propensity_damping = beta
        self.update_every = int(update_every)
        if self.update_every < 1:
            raise ValueError(f"update_every must be >= 1, got {update_every}")
        if propensity_init not in ("ones", "ctr"):
            raise ValueError(f"propensity_init must be 'ones' or 'ctr', got {propensity_init!r}")
        self.propensity_init = propensity_init
        if n_positions is not None and int(n_positions) < 1:
            raise ValueError(f"n_positions must be >= 1, got {n_positions}")
        self.n_positions = None if n_positions is None else int(n_positions)
        self.irw_max_iter = int(irw_max_iter)
        self.irw_tol = float(irw_tol)
        self.hessian_floor = float(hessian_floor)
        if self.hessian_floor < 0:
            raise ValueError(f"hessian_floor must be >= 0, got {hessian_floor}")
        self._init_lambdarank(sigmoid, lambdarank_truncation_level, lambdarank_norm)
        self._restored = None

    def get_params(self):
        return dict(
            ranker_loss=self.ranker_loss,
            max_propensity_weight=self.max_propensity_weight,
            max_relevance_weight=self.max_relevance_weight,
            relevance_model=self.relevance_model,
            propensity_damping=self.propensity_damping,
            update_every=self.update_every,
            propensity_init=self.propensity_init,
            n_positions=self.n_positions,
            irw_max_iter=self.irw_max_iter,
            irw_tol=self.irw_tol,
            hessian_floor=self.hessian_floor,
            **self._lambdarank_params(),
        )

    def _setup(self):
        self._setup_positions(self.n_positions)
        k = self.n_positions_
        if self._restored is not None:
            logits = np.asarray(self._restored["logits"], dtype=np.float64)
            if logits.shape[0] != k:
                raise ValueError(
                    f"the saved DLA state has {logits.shape[0]} positions but the data needs {k}; "
                    "pass n_positions= to match"
                )
            history = [np.asarray(h, dtype=np.float64) for h in self._restored.get("propensity_history", [])]
        elif self.propensity_init == "ctr":
            clicks, shown = self._position_click_sums()
            ctr = np.where(shown > 0, clicks / np.maximum(shown, 1e-300), 0.0)
            ok = ctr > 0
            logits = np.zeros(k)
            if ok[0]:
                logits[ok] = np.log(ctr[ok] / ctr[0])
            history = []
        else:
            logits = np.zeros(k)
            history = []
        self.logits_ = logits
        self.propensity_ = np.exp(logits - logits[0])
        self.propensity_history_ = history
        self.irw_iterations_ = 0
        restored_scale = None if self._restored is None else self._restored.get("relevance_scale")
        mode = self._relevance_mode()
        if mode == "isotonic":
            self.relevance_scale_ = None
        elif mode == "softmax":
            self.relevance_scale_ = float(1.0 if restored_scale is None else restored_scale)
        else:
            self.relevance_scale_ = float(mode)
        self.inverse_idcg_ = self._base_inverse_idcg()
        self._ones = np.ones(k)
        self._refresh_weights()

    def _position_click_sums(self):
        """Clicks and impressions per position bin: of all the rows when distributed training gave them."""
        k = self.n_positions_
        sums = getattr(self, "_global_click_sums", None)
        if sums is not None:
            return tuple(np.pad(a, (0, max(k - a.shape[0], 0)))[:k] for a in sums)
        return (np.bincount(self.bins_, weights=self.counts_, minlength=k),
                np.bincount(self.bins_, weights=self.row_weight_, minlength=k))

    def partition_statistics(self):
        """The largest position (see `_ClickObjective`) and, with ``propensity_init='ctr'``, clicks and
        impressions per position (positions beyond `n_positions` in its last bin)."""
        stats = super().partition_statistics() or {}
        if self.propensity_init == "ctr" and self._restored is None:
            pos = np.asarray(self.position_).astype(np.int64)
            if self.n_positions is not None:
                pos = np.minimum(pos, self.n_positions)
            stats["ctr_clicks"] = ("sum", np.bincount(pos - 1, weights=self.counts_))
            stats["ctr_shown"] = ("sum", np.bincount(pos - 1, weights=self.row_weight_))
        return stats or None

    def _needs_global_setup(self, stats):
        if "ctr_clicks" in stats:
            self._global_click_sums = (np.asarray(stats["ctr_clicks"]), np.asarray(stats["ctr_shown"]))
            return True
        return super()._needs_global_setup(stats)

    def _refresh_weights(self):
        self.weights_ = _propensity_weights(self.logits_, self.max_propensity_weight)
        self.row_ipw_ = np.ascontiguousarray(self.weights_[self.bins_])

    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        if self.ranker_loss == "softmax":
            _ipw_softmax(raw_score, self.y_, self.row_ipw_, self.group_ptr_, self.hessian_floor, grad, hess)
        elif self.ranker_loss == "yetirank":
            self._yetirank_gradients(raw_score, np.ascontiguousarray(self.y_ * self.row_ipw_), grad, hess, iteration)
        else:
            gain = np.ascontiguousarray(self.y_ * self.row_ipw_)
            self._lambdas(raw_score, gain, self._ones, self._ones, grad, hess)

    def loss(self, raw_score):
        if self.ranker_loss != "softmax":
            return super().loss(raw_score)
        return float(_ipw_softmax_loss(raw_score, self.y_, self.row_ipw_, self.row_weight_, self.group_ptr_))

    def irw_loss(self, raw_score, logits):
        """``L_IRW(e)`` at the current ranker scores (tests and diagnostics)."""
        logits = np.asarray(logits, dtype=np.float64)
        total = 0.0
        log_v_max = 700.0 if self.max_relevance_weight is None else math.log(self.max_relevance_weight)
        gp = self.group_ptr_
        for q in range(gp.shape[0] - 1):
            a, b = gp[q], gp[q + 1]
            bins = self.bins_[a:b]
            pivot = a + int(np.argmin(bins))
            log_z = np.logaddexp.reduce(logits[bins])
            for i in range(a, b):
                if self.counts_[i] > 0:
                    v = math.exp(min(raw_score[pivot] - raw_score[i], log_v_max))
                    total -= self.counts_[i] * v * (logits[self.bins_[i]] - log_z)
        return total

    def _relevance_mode(self):
        if self.relevance_model == "auto":
            # YetiRank's pair loss is logistic in score differences (Bradley-Terry),
            # so exp(tau f) is a relevance ratio as for the softmax loss.
            return "isotonic" if self.ranker_loss == "lambdarank" else "softmax"
        return self.relevance_model

    def relevance_log_scores(self, raw_score):
        """``log R`` up to a per-list constant: what the IRW step exponentiates.

        Refits the relevance model's parameter (``tau`` or ``g``) at `raw_score`.
        """
        mode = self._relevance_mode()
        if mode == "isotonic":
            rel = isotonic_relevance(raw_score, self.y_ * self.row_ipw_, self.row_weight_)
            return np.log(np.maximum(rel, 1e-300))
        if mode == "softmax":
            self.relevance_scale_ = fit_relevance_scale(
                raw_score, self.y_, self.row_ipw_, self.row_weight_, self.group_ptr_, start=self.relevance_scale_
            )
        return np.ascontiguousarray(self.relevance_scale_ * raw_score)

    def update_propensity(self, raw_score):
        """One damped IRW step at the ranker scores `raw_score`; returns the new propensity."""
        self._update_propensity_reduced(lambda name, *args: getattr(self, name)(raw_score, *args))
        return self.propensity_

    def after_iteration(self, raw_score, iteration):
        self.after_iteration_distributed(iteration, lambda name, *args: getattr(self, name)(raw_score, *args))

    # -- the IRW step as sums over queries (one process, or the partitions of distributed training) --------
    # ``reduce(name, *args)`` is the sum over all data partitions of ``self.<name>(raw_score, *args)``; with
    # one process it calls the method once on all the rows. Every method below works on whole queries.
    def _update_propensity_reduced(self, reduce):
        """The damped IRW step from reductions only (see `update_propensity`)."""
        mode = self._relevance_mode()
        if mode == "isotonic":
            knots, levels = fit_isotonic_pooled(reduce("isotonic_pool"))
            relevance = ("isotonic", knots, levels)
        else:
            if mode == "softmax":  # refit tau: each Newton step sums (loss, d1, d2) over the queries
                self.relevance_scale_ = newton_relevance_scale(
                    lambda t: reduce("relevance_scale_terms", float(t)), start=self.relevance_scale_)
            relevance = ("scale", float(self.relevance_scale_))
        numer = np.asarray(reduce("irw_numerators", relevance), dtype=np.float64)
        new, self.irw_iterations_ = solve_irw_fixed_point(
            numer, lambda e: np.asarray(reduce("irw_denominators", np.ascontiguousarray(e)), dtype=np.float64),
            self.logits_, self.irw_max_iter, self.irw_tol,
        )
        beta = self.propensity_damping
        logits = (1.0 - beta) * (self.logits_ - self.logits_[0]) + beta * new
        self.logits_ = logits - logits[0]
        self.propensity_ = np.exp(self.logits_)
        if hasattr(self, "bins_"):  # the driver of distributed training holds no rows
            self._refresh_weights()

    def after_iteration_distributed(self, iteration, reduce):
        """DLA's update after tree `iteration` from reductions; returns it for `apply_update`."""
        if (int(iteration) + 1) % self.update_every == 0:
            self._update_propensity_reduced(reduce)
        self.propensity_history_.append(self.propensity_.copy())
        return {"logits": self.logits_.copy(), "relevance_scale": self.relevance_scale_,
                "irw_iterations": int(getattr(self, "irw_iterations_", 0))}

    def apply_update(self, update, iteration):
        """Take the propensities the driver computed (`after_iteration_distributed`)."""
        self.logits_ = np.array(update["logits"], dtype=np.float64)
        self.propensity_ = np.exp(self.logits_ - self.logits_[0])
        self.relevance_scale_ = update["relevance_scale"]
        self.irw_iterations_ = update["irw_iterations"]
        self._refresh_weights()
        self.propensity_history_.append(self.propensity_.copy())

    def relevance_scale_terms(self, raw_score, tau):
        """``(loss, d1, d2)`` of the IPW softmax loss of ``tau * raw`` on these queries (`fit_relevance_scale`)."""
        out = np.zeros((_n_chunks(self.group_ptr_.shape[0] - 1), 3))
        _ipw_softmax_scale_terms(raw_score, self.y_, self.row_ipw_, self.row_weight_, self.group_ptr_, tau, out)
        return out.sum(axis=0)

    def isotonic_pool(self, raw_score):
        """These rows pooled by distinct score: ``{query_offset_: [scores, sum w t, sum w]}`` (t = click x IPW).

        A gather rather than a fixed-size sum: ``3 x (distinct scores)`` numbers.
        """
        order = np.argsort(raw_score, kind="mergesort")
        r = raw_score[order]
        t = (self.y_ * self.row_ipw_)[order]
        w = self.row_weight_[order]
        starts = np.flatnonzero(np.concatenate(([True], r[1:] != r[:-1]))) if r.size else np.zeros(0, np.int64)
        if not r.size:
            return {int(self.query_offset_): np.zeros((3, 0))}
        return {int(self.query_offset_): np.stack([r[starts], np.add.reduceat(t * w, starts),
                                                    np.add.reduceat(w, starts)])}

    def irw_numerators(self, raw_score, relevance):
        """``B_k`` of these queries; keeps their list masses ``A_q`` for `irw_denominators`."""
        if relevance[0] == "isotonic":
            knots, levels = relevance[1], relevance[2]
            rel = levels[np.searchsorted(knots, raw_score)]  # every score is a knot
            log_rel = np.log(np.maximum(rel, 1e-300))
        else:
            log_rel = np.ascontiguousarray(relevance[1] * raw_score)
        numer, self._irw_mass = irw_statistics(log_rel, self.counts_, self.bins_, self.group_ptr_, self.n_positions_,
                                               self.max_relevance_weight)
        return numer

    def irw_denominators(self, raw_score, exp_logits):
        """``D_k`` of these queries at ``exp(e - shift)`` (after `irw_numerators`)."""
        denom = np.zeros((_n_chunks(self.group_ptr_.shape[0] - 1), self.n_positions_))
        _irw_denominators(self._irw_mass, self.bins_, self.group_ptr_, exp_logits, denom)
        return denom.sum(axis=0)

    def state(self):
        if not hasattr(self, "logits_"):
            return dict(self._restored) if self._restored is not None else {}
        return {
            "propensity": [float(v) for v in self.propensity_],
            "logits": [float(v) for v in self.logits_],
            "relevance_scale": None if self.relevance_scale_ is None else float(self.relevance_scale_),
            "propensity_history": [[float(v) for v in h] for h in self.propensity_history_],
        }

    def set_state(self, state):
        if not state:
            return
        if "logits" not in state:
            raise ValueError("a DLA state needs 'logits' (as saved by state())")
        self._restored = {
            "logits": [float(v) for v in state["logits"]],
            "relevance_scale": state.get("relevance_scale"),
            "propensity_history": [list(map(float, h)) for h in state.get("propensity_history", [])],
        }
        self.logits_ = np.asarray(self._restored["logits"], dtype=np.float64)
        self.propensity_ = np.exp(self.logits_ - self.logits_[0])
        self.propensity_history_ = [np.asarray(h) for h in self._restored["propensity_history"]]
        scale = self._restored["relevance_scale"]
        self.relevance_scale_ = None if scale is None else float(scale)


@register
class UnbiasedLambdaMART(_ClickObjective):
    """Unbiased LambdaMART (Hu, Wang, Peng, Li; WWW 2019): pairwise debiasing.

    Every LambdaRank pair (i more clicked than j) is divided by
    ``t+_{pos(i)} t-_{pos(j)}``; both bias vectors start at 1 and are
    re-estimated after each gradient pass from the pair costs (module
    docstring). ``t+`` is the estimated click propensity relative to
    position 1 and is reported as ``propensity_``.

    Parameters
    ----------
    n_positions : int or None
        Number of position bins (the authors use 12); positions beyond it
        share the last bin. Default: the largest position in the data.
    position_bias_regularization : float, default=1.0
        ``p`` of the Lp regulariser: ``t = (C_k / C_1) ** (1 / (1 + p))``.
        The default exponent 1/2 is that of the authors' configuration file
        and of XGBoost's ``lambdarank_bias_norm=1``; ``p = 0`` (the paper's
        table) lets the costs feed back on themselves and can drive ``t+``
        of the lower positions to 0.
    sigmoid, lambdarank_truncation_level, lambdarank_norm
        LambdaRank settings (taken from the estimator).

    Attributes
    ----------
    t_plus_, t_minus_ : ndarray, shape (n_positions,)
    propensity_ : ndarray
        Same as ``t_plus_``.
    propensity_history_ : list of ndarray
        ``t_plus_`` after each round.

    Notes
    -----
    Click rates versus sessions. The paper's pairs are (clicked i,
    unclicked j) *within one session*. A list shown ``n`` times with click
    rates ``r_i``, ``r_j`` (independent clicks, as in the position-based
    model) holds about ``n r_i (1 - r_j)`` sessions with i > j and
    ``n r_j (1 - r_i)`` with j > i. On aggregated rows (``y`` = click rate,
    ``sample_weight`` = impressions) LambdaRank sees one pair per
    (i, j) with the *net* weight ``n |r_i - r_j|``, the difference of the
    two: the crossing mass is lost, so ``C+`` and ``C-`` (hence ``t+`` and
    ``t-``) are not the paper's per-session accumulators, and ``t-`` in
    particular moves the other way (it grows with the position on rates,
    falls on sessions). Train on ``ClickLog.sessions()`` rows for the
    paper's estimator.

    Drift over the rounds. Neither form recovers the simulator's propensities
    under a deterministic production ranker, and both drift towards 1 as
    trees are added: the trees learn the production order from the features
    (position is nearly a function of them), the costs of the pairs that
    position explains shrink, and the bias estimates follow. Measured
    (``make_click_log``, 300 queries, 100k sessions, eta = 1, 60 trees,
    max ``|t+ / theta - 1|`` after trees 5 / 20 / 60): aggregated rates
    0.17 / 0.31 / 0.89, sessions 1.45 / 1.82 / 2.04. So the drift is not an
    artefact of the aggregation but the identification problem described
    in :class:`DLA` (Notes); for propensities use
    ``ltr.unbiased.estimate_propensity_cross_fit``.
    """

    name = "unbiased_lambdamart"
    aliases = ("unbiased_lambdarank",)

    def __init__(
        self, n_positions=None, position_bias_regularization=1.0,
        sigmoid=1.0, lambdarank_truncation_level=30, lambdarank_norm=True,
    ):
        super().__init__()
        if n_positions is not None and int(n_positions) < 1:
            raise ValueError(f"n_positions must be >= 1, got {n_positions}")
        self.n_positions = None if n_positions is None else int(n_positions)
        p = float(position_bias_regularization)
        if not np.isfinite(p) or p < 0:
            raise ValueError(f"position_bias_regularization must be >= 0, got {position_bias_regularization}")
        self.position_bias_regularization = p
        self._init_lambdarank(sigmoid, lambdarank_truncation_level, lambdarank_norm)
        self._restored = None

    def get_params(self):
        return dict(
            n_positions=self.n_positions,
            position_bias_regularization=self.position_bias_regularization,
            **self._lambdarank_params(),
        )

    def _setup(self):
        self._setup_positions(self.n_positions)
        k = self.n_positions_
        if self._restored is not None:
            self.t_plus_ = np.asarray(self._restored["t_plus"], dtype=np.float64)
            self.t_minus_ = np.asarray(self._restored["t_minus"], dtype=np.float64)
            if self.t_plus_.shape[0] != k:
                raise ValueError(f"the saved state has {self.t_plus_.shape[0]} position bins but the data needs {k}")
            self.propensity_history_ = [np.asarray(h) for h in self._restored.get("propensity_history", [])]
        else:
            self.t_plus_ = np.ones(k)
            self.t_minus_ = np.ones(k)
            self.propensity_history_ = []
        self.propensity_ = self.t_plus_
        self.inverse_idcg_ = self._base_inverse_idcg()
        self._cost_plus = np.zeros(k)
        self._cost_minus = np.zeros(k)

    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        # The costs of this pass re-estimate t+/t- in after_iteration, so the
        # next tree uses them (the authors update at the end of the gradient
        # pass, which is the same order).
        self._cost_plus, self._cost_minus = self._lambdas(
            raw_score, self.y_, self.t_plus_, self.t_minus_, grad, hess, track_cost=True
        )

    def _update_biases(self):
        """``t_k = (C_k / C_1) ** (1 / (1 + p))``; bins without cost keep their value."""
        expo = 1.0 / (1.0 + self.position_bias_regularization)
        for t, c in ((self.t_plus_, self._cost_plus), (self.t_minus_, self._cost_minus)):
            if c[0] > 0:
                ok = c > 0
                t[ok] = (c[ok] / c[0]) ** expo
        self.propensity_ = self.t_plus_

    def after_iteration(self, raw_score, iteration):
        self.after_iteration_distributed(iteration, lambda name, *args: getattr(self, name)(raw_score, *args))

    # -- distributed training (ltr.dask): the t+/t- update is a sum of pair costs over all queries --
    def pair_costs(self, raw_score):
        """``[C+, C-]`` of these rows' queries from the last gradient pass (a reduction term)."""
        return np.concatenate([self._cost_plus, self._cost_minus])

    def after_iteration_distributed(self, iteration, reduce):
        """Re-estimate t+/t- from the costs summed over every partition; returns the update.

        ``reduce(name)`` is the sum over the partitions of ``self.<name>(raw_score)``.
        """
        costs = np.asarray(reduce("pair_costs"), dtype=np.float64)
        k = costs.shape[0] // 2
        self._cost_plus, self._cost_minus = costs[:k].copy(), costs[k:].copy()
        self._update_biases()
        self.propensity_history_.append(self.t_plus_.copy())
        return {"t_plus": self.t_plus_.copy(), "t_minus": self.t_minus_.copy()}

    def apply_update(self, update, iteration):
        """Take the t+/t- the driver computed (`after_iteration_distributed`)."""
        self.t_plus_ = np.array(update["t_plus"], dtype=np.float64)
        self.t_minus_ = np.array(update["t_minus"], dtype=np.float64)
        self.propensity_ = self.t_plus_
        self.propensity_history_.append(self.t_plus_.copy())

    def state(self):
        if not hasattr(self, "t_plus_"):
            return dict(self._restored) if self._restored is not None else {}
        return {
            "propensity": [float(v) for v in self.t_plus_],
            "t_plus": [float(v) for v in self.t_plus_],
            "t_minus": [float(v) for v in self.t_minus_],
            "propensity_history": [[float(v) for v in h] for h in self.propensity_history_],
        }

    def set_state(self, state):
        if not state:
            return
        if "t_plus" not in state or "t_minus" not in state:
            raise ValueError("an unbiased_lambdamart state needs 't_plus' and 't_minus'")
        self._restored = {
            "t_plus": [float(v) for v in state["t_plus"]],
            "t_minus": [float(v) for v in state["t_minus"]],
            "propensity_history": [list(map(float, h)) for h in state.get("propensity_history", [])],
        }
        self.t_plus_ = np.asarray(self._restored["t_plus"])
        self.t_minus_ = np.asarray(self._restored["t_minus"])
        self.propensity_ = self.t_plus_
        self.propensity_history_ = [np.asarray(h) for h in self._restored["propensity_history"]]
