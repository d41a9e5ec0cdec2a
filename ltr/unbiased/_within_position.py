"""Position propensities from a relevance model fitted on within-position contrasts.

Why. When every session of a query shows the same list, a document is only
ever seen at one position, so its clicks identify ``theta_k * gamma_d`` and
nothing more: the propensities are identified only through the assumption
that relevance is one function of the features, ``gamma_d = gamma(x_d)``.
The cross-fitted DLA of :mod:`._cross_fit` fits that function to
IPW-debiased clicks ``c / P_k`` with the *current* propensities and
iterates. Its fixed point is biased: the features partly reveal the position
a document was shown at (they drove the production ranker), so an error in
``P_k`` carries over into the out-of-fold relevance of the documents shown
at ``k``, which the next IRW step reads back as propensity. The relevance
model's own error is amplified by ``1 / (1 - rho)``, ``rho`` the share of a
position-wise target shift that the features carry over (measured: about
0.5 on the benchmark's generated data).

What. Fit the relevance model so that it never depends on the propensities.
Among the rows shown at the same position ``k`` (in different lists) the
expected clicks are ``N_i theta_k gamma(x_i)``: ``theta_k`` is a common
factor, so comparing rows *within* a position needs no propensity at all.
The relevance model is the Poisson log-likelihood with a free offset per
position, profiled out::

    log E[C_i] = log N_i + F(x_i) + b_{k(i)}
    b_k = log sum_{i at k} C_i - log sum_{i at k} N_i exp(F(x_i))

(``C`` clicks, ``N`` impressions). Given ``F`` the offsets are the exact
maximisers, and then every position's score equations sum to zero: the
gradients ``N_i exp(F_i + b_k) - C_i`` have zero sum within each position,
so boosting fits only the variation of relevance among documents shown at
the same position, never a position effect. (This is the Poisson-multinomial
equivalence: the same ``F`` as a softmax over all the rows of a position.)
``F`` is comparable *across* positions because it is one function of the
features; that is the identifying assumption above, used once instead of
being iterated.

Steps:

1. split the queries into ``n_folds`` folds;
2. per fold, fit ``F`` on the other folds (:class:`WithinPositionPoisson`,
   a boosted tree model) and score this fold's rows (out-of-fold ``F``,
   so a list's own clicks never shape its relevance);
3. the position-based model on all the rows with ``F`` fixed, a free
   offset per displayed list (``list_offsets=True``) and a free
   propensity per position::

       E[C_i] = N_i theta_k exp(F_i + a_q)

   fitted by its exact alternating maximisation (Poisson; each step is
   closed form): ``a_q = log(C_q / sum_{i in q} N_i theta_k e^{F_i})``,
   ``theta_k = C_k / sum_{i at k} N_i e^{F_i + a_q}``. The list offset
   absorbs what the features miss about a query's overall relevance
   level and the different levels of the fold models; with it only the
   relative relevance inside a list matters, as in DLA's IRW step.

No iteration between propensities and relevance, so no fixed point to be
biased towards, and ``n_folds`` tree models in all.

What remains. The error is now the relevance model's error averaged over
the documents shown at each position. Measured with the benchmark's data
(``bench_unbiased.py``) it is a few percent on the generated data
(MSLR-shaped, ~1000 lists per position) and larger on MQ2008, where each
position holds ~470 documents whose grades the 46 features predict
poorly: fitting the same out-of-fold models to the *true* attractiveness
instead of the clicks still leaves 12-16 % at single positions there.
"""
import numpy as np

from .._query import make_layout
from .._random import resolve_seed
from ..objectives._base import Objective
from ._propensity import PropensityEstimate
from ._simulation import _check_positions


def position_offsets(raw, clicks, weight, bins, n_bins):
    """The profiled offsets ``b_k = log sum_k w y - log sum_k w exp(raw)`` (``-inf`` where a bin has no click).

    Computed with the largest raw score of each bin subtracted, so large
    scores do not overflow.
    """
    shift = np.full(n_bins, -np.inf)
    np.maximum.at(shift, bins, raw)
    shift = np.where(np.isfinite(shift), shift, 0.0)
    den = np.bincount(bins, weights=weight * np.exp(raw - shift[bins]), minlength=n_bins)
    num = np.bincount(bins, weights=weight * clicks, minlength=n_bins)
    out = np.full(n_bins, -np.inf)
    ok = (num > 0) & (den > 0)
    out[ok] = np.log(num[ok]) - np.log(den[ok]) - shift[ok]
    return out


class WithinPositionPoisson(Objective):
    """Poisson log-likelihood of click counts with a profiled offset per display position.

    Rows are (displayed document, position) pairs with click rate ``y_i``
    and impressions ``w_i`` (``sample_weight``); ``position`` is required.
    With ``b`` from :func:`position_offsets` at the current scores ``s``::

        L = sum_i w_i [exp(s_i + b_k(i)) - y_i (s_i + b_k(i))]
        g_i = w_i (exp(s_i + b_k(i)) - y_i),   h_i = w_i exp(s_i + b_k(i))

    (``dL/db_k = 0`` at the profiled ``b``, so these are also the gradients
    of the profile likelihood.) The gradients of each position sum to zero:
    the trees learn relevance differences between documents shown at the
    same position only. Not registered by name: an internal model of
    :func:`estimate_propensity_within_position`.

    Parameters
    ----------
    n_positions : int
        Positions beyond it share the last offset.
    """

    name = "within_position_poisson"
    is_ranking = False

    def __init__(self, n_positions=10):
        super().__init__()
        self.n_positions = int(n_positions)

    def get_params(self):
        return {"n_positions": self.n_positions}

    def validate_labels(self, y):
        super().validate_labels(y)
        if np.any(np.asarray(y) < 0):
            raise ValueError("within-position Poisson needs non-negative click rates")

    def _setup(self):
        if self.position_ is None:
            raise ValueError("the within-position Poisson objective needs position=")
        self.bins_ = np.ascontiguousarray(np.minimum(np.asarray(self.position_, dtype=np.int64),
                                                     self.n_positions) - 1)
        self.row_weight_ = np.ones_like(self.y_) if self.weight_ is None else self.weight_

    def offsets(self, raw_score):
        """``b_k`` at `raw_score` (grouped row order)."""
        return position_offsets(raw_score, self.y_, self.row_weight_, self.bins_, self.n_positions)

    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        b = self.offsets(raw_score)
        # a position without any click: b = -inf, mu = 0 and its rows have y = 0 (no gradient)
        mu = np.exp(np.minimum(raw_score + b[self.bins_], 700.0))
        grad[:] = mu - self.y_
        hess[:] = mu  # the base class multiplies both by the impressions

    def loss(self, raw_score):
        b = self.offsets(raw_score)
        eta = raw_score + b[self.bins_]
        ok = np.isfinite(eta)
        w = self.row_weight_[ok]
        return float(np.sum(w * (np.exp(eta[ok]) - self.y_[ok] * eta[ok])))


def fit_list_pbm(log_relevance, clicks, weight, bins, list_index, n_bins, n_lists=None, max_iter=2000, tol=1e-10):
    """Position-based model ``E[C_i] = w_i theta_k exp(f_i + a_q)`` with `f` fixed, by exact alternating steps.

    Poisson maximum likelihood in the list offsets ``a_q`` and the
    propensities ``theta_k`` (module docstring, step 3). Each step is the
    closed-form maximiser of one block given the other, so the likelihood
    never decreases. Returns ``(theta / theta_1, n_iter, converged)``;
    a position without any click has no information and is NaN.
    """
    n_lists = int(list_index.max()) + 1 if n_lists is None else int(n_lists)
    counts = clicks * weight
    c_list = np.bincount(list_index, weights=counts, minlength=n_lists)
    c_pos = np.bincount(bins, weights=counts, minlength=n_bins)
    # the scale of f within a list does not matter (a_q absorbs it): centre by the list maximum
    top = np.full(n_lists, -np.inf)
    np.maximum.at(top, list_index, log_relevance)
    rel = weight * np.exp(log_relevance - top[list_index])
    theta = np.where(c_pos > 0, 1.0, 0.0)
    clicked = c_list > 0
    converged = False
    it = 0
    for it in range(1, int(max_iter) + 1):
        den_list = np.bincount(list_index, weights=rel * theta[bins], minlength=n_lists)
        a = np.divide(c_list, den_list, out=np.zeros(n_lists), where=clicked & (den_list > 0))
        den_pos = np.bincount(bins, weights=rel * a[list_index], minlength=n_bins)
        new = np.divide(c_pos, den_pos, out=np.zeros(n_bins), where=(c_pos > 0) & (den_pos > 0))
        ref = new[np.argmax(new > 0)]
        new = new / ref if ref > 0 else new
        ok = (new > 0) & (theta > 0)
        delta = np.max(np.abs(np.log(new[ok] / theta[ok]))) if ok.any() else 0.0
        theta = new
        if delta <= tol:
            converged = True
            break
    out = np.where(theta > 0, theta, np.nan)
    return out / out[0], it, converged


def estimate_propensity_within_position(
    X, click, qid, position, *, sample_weight=None, n_folds=3, list_offsets=True, n_positions=None,
    ranker_params=None, random_state=0,
):
    """Position propensities from a cross-fitted within-position relevance model (module docstring).

    Parameters
    ----------
    X : array-like, shape (n_rows, n_features)
    click : array-like, shape (n_rows,)
        Click labels: 0/1 per session, or click rates with `sample_weight`
        = impressions (``ClickLog.aggregated()``).
    qid : array-like, shape (n_rows,)
        List id: the rows of one displayed list (one session, or all the
        sessions of a query that always shows the same list).
    position : array-like of int, shape (n_rows,)
        1-based display rank.
    sample_weight : array-like or None
        Impressions per row.
    n_folds : int, default=3
        Query folds (>= 2) of the cross-fitting.
    list_offsets : bool, default=True
        A free relevance level per list in the final position-based model
        (only the relative relevance within a list matters). False pools
        all the rows of a fold with one level per fold model.
    n_positions : int or None
        Positions beyond it share the last parameter.
    ranker_params : dict or None
        ``LambdaRanker`` arguments of the relevance models (default: 100
        trees, learning rate 0.1, 31 leaves, one thread).
    random_state : int, default=0
        Seeds the fold split and the models.

    Returns
    -------
    PropensityEstimate
        ``propensity`` (position 1 = 1; NaN at a position without clicks),
        ``history`` one entry, ``n_iter`` the iterations of the final
        position-based fit, ``relevance`` the out-of-fold ``F`` per input row.
    """
    from .. import LambdaRanker

    if not hasattr(X, "tocsr"):
        X = np.asarray(X)
    click = np.asarray(click, dtype=np.float64)
    n = click.shape[0]
    if X.ndim != 2 or X.shape[0] != n:
        raise ValueError(f"X must be 2-dimensional with one row per click label ({n}), got shape {X.shape}")
    if np.any(~np.isfinite(click)) or np.any(click < 0):
        raise ValueError("click must hold non-negative click indicators, rates or counts")
    pos = _check_positions(position, n)
    weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if weight.shape != (n,) or np.any(~np.isfinite(weight)) or np.any(weight < 0):
        raise ValueError("sample_weight must be one non-negative number per row")
    if int(n_folds) < 2:
        raise ValueError(f"n_folds must be >= 2, got {n_folds}")
    n_folds = int(n_folds)
    k = int(pos.max()) if n_positions is None else int(n_positions)
    if k < 1:
        raise ValueError(f"n_positions must be >= 1, got {n_positions}")
    if not np.any(click[np.minimum(pos, k) == 1] * weight[np.minimum(pos, k) == 1] > 0):
        raise ValueError("no click at position 1: propensities relative to position 1 are undefined")

    layout = make_layout(n, qid=np.asarray(qid))
    to_g = layout.to_grouped
    Xg = to_g(X)
    yg, wg, posg = (np.ascontiguousarray(to_g(a)) for a in (click, weight, pos))
    posg = np.minimum(posg, k)
    group_ptr = layout.group_ptr
    n_lists = group_ptr.shape[0] - 1
    if n_lists < n_folds:
        raise ValueError(f"n_folds={n_folds} needs at least as many lists, got {n_lists}")
    bins = np.ascontiguousarray(posg - 1).astype(np.int64)
    list_index = np.repeat(np.arange(n_lists), np.diff(group_ptr))
    seed = resolve_seed(random_state)
    from ._cross_fit import _fold_of_queries

    fold_of_row = np.repeat(_fold_of_queries(n_lists, n_folds, seed), np.diff(group_ptr))
    params = dict(n_estimators=100, learning_rate=0.1, num_leaves=31, n_jobs=1)
    params.update(ranker_params or {})
    params["random_state"] = seed
    for key in ("objective", "unbiased", "objective_params"):
        params.pop(key, None)

    oof = np.zeros(n)
    for f in range(n_folds):
        rows = fold_of_row == f
        train = ~rows
        model = LambdaRanker(objective=WithinPositionPoisson(k), **params)
        model.fit(Xg[train], yg[train], sample_weight=wg[train], position=posg[train])
        oof[rows] = model.predict(Xg[rows])
    groups = list_index if list_offsets else fold_of_row
    propensity, n_iter, converged = fit_list_pbm(oof, yg, wg, bins, groups, k)
    relevance = np.empty(n)
    relevance[layout.order if layout.order is not None else np.arange(n)] = oof
    return PropensityEstimate(propensity, None, relevance, n_iter, converged, [propensity.copy()])
