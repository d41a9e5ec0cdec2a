"""Position-propensity estimators for click logs without features.

When documents have no features (a raw click log such as the Yandex
relevance-prediction sample) relevance can be a free parameter per
(query, document) pair. Two estimators of the position-based model
``P(click | k, d) = theta_k * gamma_d`` are provided, both relying on the
same document being shown at several positions (ranking changes between
sessions):

* :func:`estimate_propensity_em`: maximum likelihood by EM (Chuklin,
  Markov and de Rijke, "Click Models for Web Search", 2015, ch. 4), on click
  and impression counts per (document, position) cell.
* :func:`estimate_propensity_dla`: DLA's two losses with free per-document
  relevance. Both steps are the exact minimise-maximise updates of a
  softmax cross-entropy with varying choice sets, so each is closed form:
  relevance ``exp(f_d) = sum_{s, d in s} c_sd w_pos / sum_{s, d in s} A_s / Z_s``
  (IPW step), then the IRW step of the ``dla`` objective
  (``ltr.objectives.unbiased``).

:func:`ctr_propensity` is the naive CTR-per-position ratio, biased by the
relevance of what the ranker puts at each position.
"""
from dataclasses import dataclass

import numpy as np

from .._query import make_layout
from ._simulation import _check_positions


@dataclass
class PropensityEstimate:
    """Result of a propensity estimator.

    Attributes
    ----------
    propensity : ndarray, shape (n_positions,)
        ``theta_k / theta_1``.
    examination : ndarray or None
        Absolute ``theta_k`` where the model identifies it (EM), else None.
    relevance : ndarray, shape (n_items,)
        Per-item relevance: ``gamma_d`` (EM) or ``exp(f_d)`` up to a
        per-query factor (DLA).
    n_iter : int
    converged : bool
    history : list of ndarray
        ``propensity`` after each iteration.
    """

    propensity: np.ndarray
    examination: object
    relevance: np.ndarray
    n_iter: int
    converged: bool
    history: list


def _prepare(click, position, item, weight, n_positions):
    click = np.asarray(click, dtype=np.float64)
    if click.ndim != 1:
        raise ValueError(f"click must be 1-dimensional, got shape {click.shape}")
    n = click.shape[0]
    if np.any(~np.isfinite(click)) or np.any(click < 0):
        raise ValueError("click must hold non-negative click indicators or counts")
    pos = _check_positions(position, n)
    item = np.asarray(item)
    if item.shape != (n,):
        raise ValueError(f"item must have one entry per impression ({n}), got shape {item.shape}")
    _, item_idx = np.unique(item, return_inverse=True)
    if weight is None:
        weight = np.ones(n)
    else:
        weight = np.asarray(weight, dtype=np.float64)
        if weight.shape != (n,) or np.any(~np.isfinite(weight)) or np.any(weight < 0):
            raise ValueError("weight must be one non-negative number per impression")
    k = int(pos.max()) if n_positions is None else int(n_positions)
    if k < 1:
        raise ValueError(f"n_positions must be >= 1, got {n_positions}")
    bins = np.minimum(pos, k) - 1
    return click, bins, item_idx.astype(np.int64), weight, k


def ctr_propensity(click, position, *, weight=None, n_positions=None):
    """Click-through rate per position divided by the CTR at position 1.

    Parameters
    ----------
    click : array-like, shape (n_impressions,)
        Clicks (0/1), click rates or counts.
    position : array-like of int, shape (n_impressions,)
        1-based display rank.
    weight : array-like or None
        Impressions per row when `click` holds rates.
    n_positions : int or None
        Positions beyond it are pooled into the last one.

    Returns
    -------
    ndarray, shape (n_positions,)
    """
    click, bins, _, weight, k = _prepare(click, position, np.zeros(len(click)), weight, n_positions)
    clicks = np.bincount(bins, weights=click * weight, minlength=k)
    shown = np.bincount(bins, weights=weight, minlength=k)
    ctr = np.divide(clicks, shown, out=np.zeros(k), where=shown > 0)
    if ctr[0] <= 0:
        raise ValueError("no click at position 1: the CTR ratio is undefined")
    return ctr / ctr[0]


def estimate_propensity_em(
    click, position, item, *, weight=None, n_positions=None, max_iter=5000, tol=1e-8, init=0.5
):
    """Position-based click model fitted by expectation-maximisation.

    Per (item d, position k) cell with ``C`` clicks out of ``N`` impressions
    and current ``theta_k``, ``gamma_d``, an unclicked impression was
    examined with probability ``theta (1 - gamma) / (1 - theta gamma)`` and
    attractive with probability ``(1 - theta) gamma / (1 - theta gamma)``;
    the M-step averages these (clicked impressions count 1 for both) over the
    impressions of each position and of each item.

    Parameters
    ----------
    click : array-like, shape (n_impressions,)
        Clicks 0/1 (or click rates with `weight` = impressions).
    position : array-like of int
        1-based display rank.
    item : array-like
        Document id of each impression (use one id per (query, document)).
    weight : array-like or None
    n_positions : int or None
    max_iter : int, default=5000
    tol : float, default=1e-8
        Stop when no log-propensity moves by more than `tol` in an iteration.
        (Item parameters of documents almost always shown at one position
        are weakly identified and keep drifting long after the propensities
        have settled.)
    init : float, default=0.5
        Starting value of every ``theta`` and ``gamma``.

    Returns
    -------
    PropensityEstimate
    """
    click, bins, item_idx, weight, k = _prepare(click, position, item, weight, n_positions)
    n_items = int(item_idx.max()) + 1 if item_idx.size else 0
    # aggregate impressions into (item, position) cells
    cell = item_idx * k + bins
    uniq, cell_idx = np.unique(cell, return_inverse=True)
    c = np.bincount(cell_idx, weights=click * weight)
    n = np.bincount(cell_idx, weights=weight)
    cell_item = uniq // k
    cell_bin = uniq % k
    shown_pos = np.bincount(cell_bin, weights=n, minlength=k)
    shown_item = np.bincount(cell_item, weights=n, minlength=n_items)
    theta = np.full(k, float(init))
    gamma = np.full(n_items, float(init))
    history = []
    converged = False
    it = 0
    eps = 1e-12
    for it in range(1, int(max_iter) + 1):
        th = theta[cell_bin]
        ga = gamma[cell_item]
        denom = np.maximum(1.0 - th * ga, eps)
        unclicked = n - c
        exam = c + unclicked * th * (1.0 - ga) / denom
        attr = c + unclicked * (1.0 - th) * ga / denom
        new_theta = np.divide(np.bincount(cell_bin, weights=exam, minlength=k), shown_pos,
                              out=theta.copy(), where=shown_pos > 0)
        new_gamma = np.divide(np.bincount(cell_item, weights=attr, minlength=n_items), shown_item,
                              out=gamma.copy(), where=shown_item > 0)
        new_theta = np.clip(new_theta, eps, 1.0)
        new_gamma = np.clip(new_gamma, 0.0, 1.0)
        delta = np.max(np.abs(np.log(new_theta / new_theta[0]) - np.log(theta / theta[0])))
        theta, gamma = new_theta, new_gamma
        history.append(theta / theta[0])
        if delta <= tol:
            converged = True
            break
    return PropensityEstimate(theta / theta[0], theta, gamma, it, converged, history)


def estimate_propensity_dla(
    click, position, item, session, *, weight=None, n_positions=None,
    max_propensity_weight=None, max_relevance_weight=None, max_iter=1000, tol=1e-7,
):
    """DLA with a free relevance parameter per item, by alternating exact steps.

    Each session is one displayed list. Step 1 (IPW): with IPW weights
    ``w_k = min(P_1 / P_k, max_propensity_weight)``, one minorise-maximise
    step of the IPW softmax loss in the per-item logits ``f``. Step 2
    (IRW): the exact IRW step of the ``dla`` objective at scores ``f``
    (no damping). Stops when no log-propensity moves by more than `tol`.

    Parameters
    ----------
    click, position, item : array-like, shape (n_impressions,)
        As for :func:`estimate_propensity_em`.
    session : array-like, shape (n_impressions,)
        Session id: the rows of a session form one list.
    weight : array-like or None
        Multiplicity of each row (e.g. several identical sessions merged).
    n_positions : int or None
    max_propensity_weight, max_relevance_weight : float or None
        Clips of the IPW and IRW weights (none by default: with free
        relevance there is no model error for the clip to contain).
    max_iter : int, default=1000
    tol : float, default=1e-7

    Returns
    -------
    PropensityEstimate
        ``relevance`` holds ``exp(f_d)``, comparable within a query only.
    """
    from ..objectives.unbiased import irw_statistics, solve_irw

    click, bins, item_idx, weight, k = _prepare(click, position, item, weight, n_positions)
    layout = make_layout(click.shape[0], qid=np.asarray(session))
    to_g = layout.to_grouped
    click, bins, item_idx, weight = (np.ascontiguousarray(to_g(a)) for a in (click, bins, item_idx, weight))
    group_ptr = layout.group_ptr
    sizes = np.diff(group_ptr)
    session_of_row = np.repeat(np.arange(sizes.shape[0]), sizes)
    counts = click * weight
    n_items = int(item_idx.max()) + 1
    clicked_items = np.bincount(item_idx, weights=counts, minlength=n_items) > 0
    f = np.zeros(n_items)
    logits = np.zeros(k)
    history = []
    converged = False
    it = 0
    for it in range(1, int(max_iter) + 1):
        # IPW step on the free relevance logits (items never clicked: relevance 0)
        w = np.exp(logits[0] - logits)
        if max_propensity_weight is not None:
            w = np.minimum(w, max_propensity_weight)
        cw = counts * w[bins]
        mass = np.bincount(session_of_row, weights=cw, minlength=sizes.shape[0])
        rel = np.where(clicked_items, np.exp(f - f[clicked_items].max()), 0.0)
        z = np.bincount(session_of_row, weights=rel[item_idx], minlength=sizes.shape[0])
        ratio = np.divide(mass, z, out=np.zeros_like(mass), where=(mass > 0) & (z > 0))
        numer = np.bincount(item_idx, weights=cw, minlength=n_items)
        denom = np.bincount(item_idx, weights=ratio[session_of_row] * weight, minlength=n_items)
        ok = clicked_items & (denom > 0)
        new_f = np.full(n_items, -np.inf)
        new_f[ok] = np.log(numer[ok]) - np.log(denom[ok])
        new_f[ok] -= new_f[ok].max()
        # IRW step at the new relevance
        score = np.where(np.isfinite(new_f), new_f, -1e300)[item_idx]
        b_k, a_q = irw_statistics(score, counts, bins, group_ptr, k, max_relevance_weight)
        new_logits, _ = solve_irw(b_k, a_q, bins, group_ptr, logits)
        de = np.max(np.abs(new_logits - logits))
        f = np.where(ok, new_f, f)
        logits = new_logits
        history.append(np.exp(logits - logits[0]))
        if de <= tol:
            converged = True
            break
    relevance = np.where(clicked_items, np.exp(f), 0.0)
    return PropensityEstimate(np.exp(logits - logits[0]), None, relevance, it, converged, history)


def relative_error(estimated, true):
    """``|estimated / true - 1|`` elementwise."""
    estimated = np.asarray(estimated, dtype=np.float64)
    true = np.asarray(true, dtype=np.float64)
    if estimated.shape != true.shape:
        raise ValueError(f"estimated has shape {estimated.shape} but true has {true.shape}")
    return np.abs(estimated / true - 1.0)
