"""Cross-fitted DLA: position propensities from out-of-fold relevance.

This module is ``estimate_propensity_cross_fit(method='dla')``; the
default ``method='within_position'`` is in :mod:`._within_position`, which
explains why it replaced this one as the default (the fixed point below).

Why. Under the usual click-log protocol every session of a query shows the
same list (a deterministic production ranker), so the display position of a
document is nearly a function of its features. The ``dla`` objective
re-estimates the propensities after every tree from the scores of the very
trees that were fitted to those clicks: the trees memorise each list's
position effect (the clicked top rows score high *because* they were shown
on top) and the inverse-relevance-weighted (IRW) step then reads back
propensities pulled towards the weights it was given (1 at the start). This
is a self-confirming fixed point, not a noise problem: more sessions do not
remove it.

What. The same two DLA steps (algorithms.md 8.1), with the relevance used in
the IRW step of a query coming from a ranker that never saw that query's
clicks (cross-fitting over queries, as in double machine learning):

1. split the queries into ``n_folds`` folds;
2. round r, with the current propensities ``P`` (``P = 1`` at the start):

   * IPW step: for each fold, fit a ranker with IPW weights ``P_1 / P_k``
     on the *other* folds and score this fold's rows (out-of-fold scores);
   * relevance model: on each fold, ``R = g(f_oof)``, ``g`` the
     non-decreasing least-squares fit of the IPW-debiased click rates
     ``c_i w_pos(i)`` on the out-of-fold scores (``relevance_model=
     'isotonic'``, the default), or ``R = softmax(tau f_oof)`` with ``tau``
     fitted by the IPW softmax loss (``'softmax'``, DLA's own model);
   * IRW step: the exact minimiser of the IRW loss at ``R``
     (``ltr.objectives.unbiased.solve_irw``), no clip on ``v = R_1 / R_k``
     by default, damped by ``damping``.

The out-of-fold rankers are fitted without a clip on the IPW weights by
default: a clip ``w_max`` leaves the position effect beyond it in the
ranker's targets, so the IRW step then reads the propensities back towards
``1 / w_max`` (at eta = 2 the true weights reach 128).

Bias that remains (measured on ``benchmarks/bench_unbiased.py`` data). The
out-of-fold relevance misses the part of the relevance that the production
ranker saw and the out-of-fold model does not: given the same out-of-fold
score, a document shown higher is on average more relevant. Iterated to its
fixed point, the estimate therefore *under*-states the low positions,
while the in-sample estimate over-states them. On the generated data set
of the benchmark (seed 0, 1000 queries, 2M sessions, eta = 1, 100-tree
out-of-fold rankers), the largest error over positions 1-10 after rounds
1, 2, 3, 4 is +114 %, +31 %, +6 %, -12 % (3 folds), and about -16 % after
6 rounds (2 folds): the rounds contract towards the fixed point from
above by a factor of about 3 per round. On MQ2008 (fold 1, about 470
lists of 9 documents, 3 folds) the contraction is slower (a factor of
about 2): +231 %, +110 %, +55 %, +32 %, +14 %, +12 % after rounds 1-6 at
eta = 1, then the largest error grows again to about 20 % by round 10
(eta = 2: +686 %, +159 %, +49 %, +12 %, +12 %, then about 25 %).

Number of rounds. ``n_rounds='auto'`` (the default) iterates to the
estimator's fixed point and stops at the first round that moves no
log-propensity by more than the click counts resolve (``max(tol, 2 se_k)``),
at most ``max_rounds``. A fixed small number of rounds can land closer to
the truth by stopping between the two biases (3 rounds on the generated
data), but which round does so depends on the data set (2-3 there, 4-9 on
MQ2008) and cannot be read from the clicks, so it is not the default.
Measured with the default (``bench_unbiased.py``, 2M sessions, 3 folds;
the figures are in benchmarks/README.md): the largest error over positions
1-10 on MQ2008 is 16-19 % (mean of the five folds' per-position errors;
15-27 % in single folds, positions 5-10, all under-stated), while the exact
IRW step at the *true* relevance on the same clicks is within 1.3 %
(eta = 1) and 5.7 % (eta = 2): the error is the relevance model's bias,
not sampling noise. More folds move the fixed point towards the truth at a
proportional cost (MQ2008 fold 1, eta = 1, 10 rounds: 25 % with 3 folds,
15 % with 5 folds, 3x the time); smaller out-of-fold trees (7 leaves)
move it away (28 %).
"""
import numpy as np

from .._query import make_layout
from .._random import resolve_seed
from ._propensity import PropensityEstimate
from ._simulation import _check_positions

RELEVANCE_MODELS = ("isotonic", "softmax")


def _fold_of_queries(n_queries, n_folds, seed):
    """Balanced random fold index per query (a permutation of 0..n_folds-1 repeated)."""
    rng = np.random.default_rng(seed)
    folds = np.arange(n_queries) % n_folds
    rng.shuffle(folds)
    return folds


def _relevance_log(oof, clicks, ipw, weight, group_ptr, rows_of_fold, model):
    """``log R`` per row (grouped order): the relevance model of the IRW step.

    The out-of-fold scores of different folds come from different rankers,
    so the isotonic map is fitted fold by fold. The softmax model's ``tau``
    is one number fitted on every list.
    """
    from ..objectives.unbiased import fit_relevance_scale, isotonic_relevance

    if model == "softmax":
        tau = fit_relevance_scale(np.ascontiguousarray(oof), clicks, ipw, weight, group_ptr)
        return np.ascontiguousarray(tau * oof)
    out = np.zeros_like(oof)
    for rows in rows_of_fold:
        rel = isotonic_relevance(oof[rows], clicks[rows] * ipw[rows], weight[rows])
        top = rel.max()
        # rows scored below every click get g = 0: a floor keeps v = R_1 / R_k finite
        out[rows] = np.log(np.maximum(rel, 1e-3 * top if top > 0 else 1.0))
    return np.ascontiguousarray(out)


METHODS = ("within_position", "dla")


def estimate_propensity_cross_fit(
    X, click, qid, position, *, method="within_position", sample_weight=None, n_folds=None, n_rounds="auto", max_rounds=10, tol=0.02,
    relevance_model="isotonic", ranker_loss="softmax", max_propensity_weight=None, max_relevance_weight=None,
    damping=1.0, n_positions=None, ranker_params=None, random_state=0,
):
    """Position propensities from cross-fitted relevance models.

    ``method='within_position'`` (the default) is
    :func:`ltr.unbiased.estimate_propensity_within_position`: one
    cross-fitted relevance model trained on within-position contrasts only,
    then the position-based model with that relevance fixed (no rounds).
    ``method='dla'`` iterates DLA's IPW and IRW steps with out-of-fold
    relevance (module docstring); it reaches a biased fixed point on logs
    whose lists never change, see ``ltr.unbiased._within_position``.

    Parameters
    ----------
    X : array-like, shape (n_rows, n_features)
    click : array-like, shape (n_rows,)
        Click labels: 0/1 per session, or click rates with `sample_weight`
        = impressions (``ClickLog.aggregated()``).
    qid : array-like, shape (n_rows,)
        List id: the rows of one displayed list.
    position : array-like of int, shape (n_rows,)
        1-based display rank.
    method : {'within_position', 'dla'}, default='within_position'
    sample_weight : array-like or None
        Impressions per row.
    n_folds : int or None, default=None
        Query folds (>= 2); None: 5 for 'within_position' (one model per
        fold, and more training data per model lowers its error), 3 for
        'dla' (each round fits one ranker per fold).
    n_rounds : int or 'auto', default='auto'
        ('dla' only) IPW / IRW rounds; each fits `n_folds` rankers. 'auto' iterates to
        the estimator's fixed point: it stops after the first round whose
        change is within the sampling noise of the click counts, i.e.
        ``|log P_k(r) - log P_k(r-1)| <= max(tol, 2 se_k)`` at every
        position, ``se_k = sqrt(1 / C_k + 1 / C_1)`` the relative standard
        error of a ratio of Poisson click counts (``C_k`` clicks at position
        k), or after `max_rounds` rounds (``converged`` is then False).
    max_rounds : int, default=10
        Cap of ``n_rounds='auto'``.
    tol : float, default=0.02
        Smallest change (in log-propensity) that ``n_rounds='auto'`` treats as
        movement, whatever the number of clicks.
    relevance_model : {'isotonic', 'softmax'}, default='isotonic'
    ranker_loss : {'softmax', 'lambdarank', 'yetirank'}, default='softmax'
        Loss of the out-of-fold IPW rankers (``objective='ipw'``).
    max_propensity_weight, max_relevance_weight : float or None
        Clips of the IPW weights of the rankers and of the IRW weights
        (none by default, see the module docstring).
    damping : float in (0, 1], default=1.0
        ``e = (1 - damping) e + damping e_new`` on the log-propensities.
    n_positions : int or None
        Positions beyond it share the last parameter.
    ranker_params : dict or None
        ``LambdaRanker`` arguments of the out-of-fold rankers (default:
        100 trees, learning rate 0.1, 31 leaves, one thread).
    random_state : int, default=0
        Seeds the fold split and the rankers.

    Returns
    -------
    PropensityEstimate
        ``propensity`` (position 1 = 1), ``history`` (one entry per round),
        ``relevance`` the out-of-fold scores of the last round (grouped
        row order is undone: one per input row).
    """
    from .. import LambdaRanker
    from ..objectives.unbiased import irw_statistics, solve_irw

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "within_position":
        from ._within_position import estimate_propensity_within_position

        dla_only = dict(n_rounds=(n_rounds, "auto"), max_rounds=(max_rounds, 10), tol=(tol, 0.02),
                        relevance_model=(relevance_model, "isotonic"), ranker_loss=(ranker_loss, "softmax"),
                        max_propensity_weight=(max_propensity_weight, None),
                        max_relevance_weight=(max_relevance_weight, None), damping=(damping, 1.0))
        changed = sorted(k for k, (v, d) in dla_only.items() if v != d)
        if changed:
            raise ValueError(f"{', '.join(changed)} only apply to method='dla'")
        return estimate_propensity_within_position(
            X, click, qid, position, sample_weight=sample_weight, n_folds=5 if n_folds is None else n_folds,
            n_positions=n_positions, ranker_params=ranker_params, random_state=random_state)
    if n_folds is None:
        n_folds = 3

    if not hasattr(X, "tocsr"):  # dense; a scipy sparse matrix is indexed by rows as it is
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
    auto = isinstance(n_rounds, str)
    if auto and n_rounds != "auto":
        raise ValueError(f"n_rounds must be a positive integer or 'auto', got {n_rounds!r}")
    if not auto and int(n_rounds) < 1:
        raise ValueError(f"n_rounds must be >= 1 or 'auto', got {n_rounds}")
    if int(max_rounds) < 1:
        raise ValueError(f"max_rounds must be >= 1, got {max_rounds}")
    if not (float(tol) >= 0.0):
        raise ValueError(f"tol must be >= 0, got {tol}")
    if relevance_model not in RELEVANCE_MODELS:
        raise ValueError(f"relevance_model must be one of {RELEVANCE_MODELS}, got {relevance_model!r}")
    if not (0.0 < float(damping) <= 1.0):
        raise ValueError(f"damping must be in (0, 1], got {damping}")
    n_folds, damping, tol = int(n_folds), float(damping), float(tol)
    n_rounds = int(max_rounds) if auto else int(n_rounds)
    k = int(pos.max()) if n_positions is None else int(n_positions)
    if k < 1:
        raise ValueError(f"n_positions must be >= 1, got {n_positions}")

    layout = make_layout(n, qid=np.asarray(qid))
    to_g = layout.to_grouped
    Xg = to_g(X)
    yg, wg, posg = (np.ascontiguousarray(to_g(a)) for a in (click, weight, pos))
    qg = np.ascontiguousarray(to_g(np.asarray(qid)))
    group_ptr = layout.group_ptr
    n_queries = group_ptr.shape[0] - 1
    if n_queries < n_folds:
        raise ValueError(f"n_folds={n_folds} needs at least as many queries, got {n_queries}")
    bins = np.ascontiguousarray(np.minimum(posg, k) - 1).astype(np.int64)
    counts = yg * wg
    seed = resolve_seed(random_state)
    fold_of_row = np.repeat(_fold_of_queries(n_queries, n_folds, seed), np.diff(group_ptr))
    rows_of_fold = [np.flatnonzero(fold_of_row == f) for f in range(n_folds)]
    params = dict(n_estimators=100, learning_rate=0.1, num_leaves=31, n_jobs=1)
    params.update(ranker_params or {})
    params["random_state"] = seed

    # sampling noise of log P_k: relative s.e. of the click-count ratio C_k / C_1 (Poisson)
    clicks_k = np.bincount(bins, weights=counts, minlength=k)
    with np.errstate(divide="ignore"):
        se = np.sqrt(1.0 / clicks_k + 1.0 / clicks_k[0]) if clicks_k[0] > 0 else np.full(k, np.inf)
    threshold = np.maximum(tol, 2.0 * se)

    logits = np.zeros(k)
    history = []
    oof = np.zeros(n)
    converged = False
    for _ in range(n_rounds):
        previous = logits.copy()
        propensity = np.exp(logits - logits[0])
        for f, rows in enumerate(rows_of_fold):
            train = fold_of_row != f
            model = LambdaRanker(
                objective="ipw",
                objective_params=dict(propensity=list(propensity), ranker_loss=ranker_loss,
                                      max_propensity_weight=max_propensity_weight),
                **params,
            )
            model.fit(Xg[train], yg[train], qid=qg[train], sample_weight=wg[train], position=np.minimum(posg[train], k))
            oof[rows] = model.predict(Xg[rows])
        ipw = np.exp(logits[0] - logits)
        if max_propensity_weight is not None:
            ipw = np.minimum(ipw, max_propensity_weight)
        log_rel = _relevance_log(oof, yg, np.ascontiguousarray(ipw[bins]), wg, group_ptr, rows_of_fold,
                                 relevance_model)
        numer, mass = irw_statistics(log_rel, counts, bins, group_ptr, k, max_relevance_weight)
        new, _ = solve_irw(numer, mass, bins, group_ptr, logits)
        logits = (1.0 - damping) * (logits - logits[0]) + damping * new
        logits = logits - logits[0]
        history.append(np.exp(logits))
        if auto and len(history) > 1 and np.all(np.abs(logits - previous) <= threshold):
            converged = True
            break
    relevance = np.empty(n)
    relevance[layout.order if layout.order is not None else np.arange(n)] = oof
    return PropensityEstimate(np.exp(logits), None, relevance, len(history), converged, history)
