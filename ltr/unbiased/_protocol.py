"""The semi-synthetic click-log protocol of the DLA paper, as one function.

1. Train a *production ranker* on a small random fraction of the labelled
   queries (the paper: SVMrank on 1 % of Yahoo! LTR).
2. Rank every query's documents with it and keep the top ``top_k``: the
   displayed list of that query, identical in every session.
3. Draw ``n_sessions`` sessions, each one a uniformly random query, and
   sample their clicks from a click model (:func:`simulate_clicks` models).

Memory. A session is one row of a ``(n_sessions, top_k)`` uint8 click
matrix plus its list index: ten million impressions take about 10 MB.
Features are never repeated per session: :meth:`ClickLog.aggregated` gives
one row per displayed (query, document, position) with its click count and
impression count, and :meth:`ClickLog.sessions` gives row indices into the
displayed rows when a per-session table is wanted (LightGBM / XGBoost).

Equivalence used by the click-rate formulation. All sessions of a query see
the same list, so a loss that is linear in the clicks of each session, like
the IPW softmax cross-entropy of DLA, summed over the ``n_q`` sessions of
query ``q``, equals ``n_q`` times the same loss evaluated on the click rates
``C_qk / n_q``::

    sum_s L(c_s) = L(sum_s c_s) = n_q * L(C_q / n_q)

So training on the aggregated rows with ``y = click rate`` and
``sample_weight = impressions`` gives exactly the gradients of training on
every session (tested in ``tests/test_unbiased_objectives.py``). Pairwise
lambda losses are not linear in the clicks (IDCG and the pair set depend
on them); on aggregated rows they optimise NDCG with the click rates as
graded labels instead.
"""
from dataclasses import dataclass, field

import numpy as np

from .._dtypes import PTR_DTYPE
from .._query import make_layout
from .._random import iteration_rng, resolve_seed
from ._simulation import (
    CLICK_MODELS,
    _check_eta,
    _check_examination,
    _check_stop,
    _simulate_sessions,
    click_probability,
)

PRODUCTION_RANKERS = ("lambdamart", "linear")


@dataclass
class ClickTable:
    """Training rows built from a click log (what ``fit`` needs).

    Attributes
    ----------
    rows : ndarray of int64
        Index of each row into :attr:`ClickLog.X` (the displayed rows).
    X : ndarray, shape (n_rows, n_features)
        Features, ``ClickLog.X[rows]``.
    y : ndarray of float64
        Click rate (aggregated) or click 0/1 (sessions).
    sample_weight : ndarray of float64
        Impressions of the row's list (aggregated) or ones (sessions).
    qid : ndarray of int64
        Query id (aggregated: one displayed list per query) or session id.
    position : ndarray of int64
        1-based display rank.
    y_true : ndarray
        True relevance grade (for skylines and evaluation only).
    """

    rows: np.ndarray
    X: np.ndarray
    y: np.ndarray
    sample_weight: np.ndarray
    qid: np.ndarray
    position: np.ndarray
    y_true: np.ndarray

    def __len__(self):
        return int(self.rows.shape[0])


@dataclass
class ClickLog:
    """A simulated click log over fixed displayed lists.

    Attributes
    ----------
    X : ndarray, shape (n_shown, n_features)
        Features of the displayed rows, list by list, in display order.
    doc_index : ndarray of int64, shape (n_shown,)
        Row of each displayed document in the input ``X``.
    qid : ndarray, shape (n_shown,)
        Original query id of each displayed row.
    position : ndarray of int64, shape (n_shown,)
        1-based display rank.
    y_true : ndarray, shape (n_shown,)
        True grade of each displayed row.
    list_ptr : ndarray of int64, shape (n_lists + 1,)
        Displayed rows of list (query) l are ``list_ptr[l]:list_ptr[l + 1]``.
    session_list : ndarray of int64, shape (n_sessions,)
        The list each session saw.
    session_clicks : ndarray of uint8, shape (n_sessions, top_k)
        ``session_clicks[s, k]``: click at position ``k + 1`` (0 past the list).
    examination : ndarray of float64 or None
        True PBM examination probability per position (None for the cascade).
    production_ranker : object
        The ranker that produced the lists (has ``predict``).
    production_queries : ndarray
        Query ids it was trained on.
    """

    X: np.ndarray
    doc_index: np.ndarray
    qid: np.ndarray
    position: np.ndarray
    y_true: np.ndarray
    list_ptr: np.ndarray
    session_list: np.ndarray
    session_clicks: np.ndarray
    examination: object
    production_ranker: object
    production_queries: np.ndarray
    model: str = "pbm"
    params: dict = field(default_factory=dict)

    @property
    def n_sessions(self):
        return int(self.session_list.shape[0])

    @property
    def n_lists(self):
        return int(self.list_ptr.shape[0] - 1)

    @property
    def top_k(self):
        return int(self.session_clicks.shape[1])

    def true_propensity(self):
        """True examination relative to position 1 (PBM only; None for the cascade)."""
        if self.examination is None:
            return None
        return self.examination / self.examination[0]

    def impressions(self):
        """Number of sessions that displayed each row, shape (n_shown,)."""
        per_list = np.bincount(self.session_list, minlength=self.n_lists).astype(np.float64)
        return np.repeat(per_list, np.diff(self.list_ptr))

    def clicks(self):
        """Click count of each displayed row, shape (n_shown,)."""
        counts = np.zeros((self.n_lists, self.top_k), dtype=np.float64)
        for k in range(self.top_k):
            counts[:, k] = np.bincount(self.session_list, weights=self.session_clicks[:, k], minlength=self.n_lists)
        slot_list = np.repeat(np.arange(self.n_lists), np.diff(self.list_ptr))
        return counts[slot_list, self.position - 1]

    def aggregated(self):
        """One row per displayed (query, document, position) with at least one impression.

        ``y`` is the click rate and ``sample_weight`` the impression count, the
        click-rate formulation explained in the module docstring.
        """
        imp = self.impressions()
        rows = np.flatnonzero(imp > 0)
        clicks = self.clicks()[rows]
        return ClickTable(
            rows=rows,
            X=self.X[rows],
            y=clicks / imp[rows],
            sample_weight=imp[rows],
            qid=np.asarray(self.qid)[rows],
            position=self.position[rows],
            y_true=self.y_true[rows],
        )

    def sessions(self, drop_unclicked=True, materialize_X=False):
        """One row per impression, one query group per session.

        Parameters
        ----------
        drop_unclicked : bool, default=True
            Leave out sessions without a click. They carry no gradient for
            any of the click objectives (nor for LightGBM's and XGBoost's
            lambdarank), so this only saves memory.
        materialize_X : bool, default=False
            Fill ``X`` with the repeated feature rows (memory: rows x features);
            otherwise ``X`` is None and ``rows`` indexes :attr:`X`.
        """
        sessions = np.arange(self.n_sessions)
        if drop_unclicked:
            sessions = sessions[self.session_clicks.any(axis=1)]
        lists = self.session_list[sessions]
        starts = self.list_ptr[lists]
        lengths = self.list_ptr[lists + 1] - starts
        total = int(lengths.sum())
        session_of_row = np.repeat(np.arange(sessions.shape[0]), lengths)
        offset = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        rows = np.repeat(starts, lengths) + offset
        y = self.session_clicks[sessions[session_of_row], offset].astype(np.float64)
        return ClickTable(
            rows=rows,
            X=self.X[rows] if materialize_X else None,
            y=y,
            sample_weight=np.ones(total),
            qid=sessions[session_of_row].astype(np.int64),
            position=(offset + 1).astype(np.int64),
            y_true=self.y_true[rows],
        )


# ---------------------------------------------------------------------------
# Production ranker
# ---------------------------------------------------------------------------
class LinearScorer:
    """Least-squares linear ranker ``s = X w + b`` (ridge), a stand-in for SVMrank.

    Parameters
    ----------
    alpha : float
        Ridge penalty on ``w``.
    """

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def fit(self, X, y):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        mean = X.mean(axis=0)
        Xc = np.nan_to_num(X - mean)
        A = Xc.T @ Xc + self.alpha * np.eye(X.shape[1])
        self.coef_ = np.linalg.solve(A, Xc.T @ (y - y.mean()))
        self.intercept_ = float(y.mean() - np.nan_to_num(mean) @ self.coef_)
        return self

    def predict(self, X):
        return np.nan_to_num(np.asarray(X, dtype=np.float64)) @ self.coef_ + self.intercept_


def _fit_production_ranker(kind, X, y, qid, params, seed):
    if kind == "linear":
        return LinearScorer(**(params or {})).fit(X, y)
    from ..ranker import LambdaRanker

    kw = dict(n_estimators=100, learning_rate=0.1, num_leaves=15, min_child_samples=5, random_state=int(seed % (2**31)))
    kw.update(params or {})
    return LambdaRanker(**kw).fit(X, y, qid=qid)


def _production_scores(production_ranker, X):
    if hasattr(production_ranker, "predict"):
        return np.asarray(production_ranker.predict(X), dtype=np.float64)
    if callable(production_ranker):
        return np.asarray(production_ranker(X), dtype=np.float64)
    raise TypeError(
        "production_ranker must be 'lambdamart', 'linear', a fitted estimator with predict(X), "
        "or a callable X -> scores"
    )


def _top_k_lists(scores, group_ptr, top_k):
    """Grouped row indices of each query's top_k by score (descending, ties in input order)."""
    lengths = np.minimum(np.diff(group_ptr), top_k)
    list_ptr = np.concatenate(([0], np.cumsum(lengths))).astype(PTR_DTYPE)
    shown = np.empty(int(list_ptr[-1]), dtype=np.int64)
    for q in range(group_ptr.shape[0] - 1):
        a, b = group_ptr[q], group_ptr[q + 1]
        order = np.argsort(-scores[a:b], kind="stable")[: lengths[q]]
        shown[list_ptr[q] : list_ptr[q + 1]] = a + order
    return shown, list_ptr


def make_click_log(
    X,
    y,
    qid,
    *,
    production_ranker="lambdamart",
    production_fraction=0.01,
    production_params=None,
    top_k=10,
    n_sessions=100_000,
    model="pbm",
    eta=1.0,
    eps_minus=0.1,
    eps_plus=1.0,
    max_grade=4,
    propensity=None,
    stop_after_click=1.0,
    stop_after_skip=0.0,
    exclude_production_queries=False,
    random_state=None,
):
    """Simulate a click log from labelled data with the DLA paper's protocol.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of int, shape (n_samples,)
        True grades in ``0..max_grade``.
    qid : array-like, shape (n_samples,)
        Query id per row.
    production_ranker : {'lambdamart', 'linear'}, estimator or callable
        'lambdamart' trains ``ltr.LambdaRanker`` (``production_params`` override
        its settings), 'linear' a ridge least-squares scorer, both on
        ``production_fraction`` of the queries. A fitted estimator (anything
        with ``predict(X)``) or a callable ``X -> scores`` is used as is.
    production_fraction : float, default=0.01
        Fraction of the queries (at least one) labelled for the production ranker.
    production_params : dict or None
    top_k : int, default=10
        Length of the displayed lists (shorter queries show all documents).
    n_sessions : int, default=100_000
        Sessions to simulate; each picks a query uniformly at random.
    model, eta, eps_minus, eps_plus, max_grade, propensity, stop_after_click, stop_after_skip
        The click model, as in :func:`simulate_clicks`.
    exclude_production_queries : bool, default=False
        Leave the production ranker's training queries out of the log (the
        paper keeps them).
    random_state : int, RandomState, Generator or None

    Returns
    -------
    ClickLog
        Use :meth:`ClickLog.aggregated` (click rates + impressions) or
        :meth:`ClickLog.sessions` (one row per impression) to train.
    """
    if model not in CLICK_MODELS:
        raise ValueError(f"model must be one of {CLICK_MODELS}, got {model!r}")
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got shape {X.shape}")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have one grade per row of X ({X.shape[0]}), got shape {y.shape}")
    click_probability(y, eps_minus, eps_plus, max_grade)  # validates grades and noise
    top_k = int(top_k)
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    n_sessions = int(n_sessions)
    if n_sessions < 1:
        raise ValueError(f"n_sessions must be >= 1, got {n_sessions}")
    production_fraction = float(production_fraction)
    if not (0.0 < production_fraction <= 1.0):
        raise ValueError(f"production_fraction must be in (0, 1], got {production_fraction}")
    theta = None
    if model == "pbm":
        rho = _check_examination(propensity, "propensity")
        if rho.shape[0] < top_k:
            raise ValueError(f"the examination curve has {rho.shape[0]} positions but top_k={top_k}")
        theta = rho[:top_k] ** _check_eta(eta)
    stop_after_click = _check_stop(stop_after_click, "stop_after_click")
    stop_after_skip = _check_stop(stop_after_skip, "stop_after_skip")

    seed = resolve_seed(random_state)
    rng = iteration_rng(seed, 0, 0)
    layout = make_layout(X.shape[0], qid=qid)
    order = np.arange(X.shape[0]) if layout.order is None else layout.order
    group_ptr = layout.group_ptr
    n_queries = layout.n_queries

    # 1. production ranker on a random fraction of the queries
    n_prod = max(1, int(round(production_fraction * n_queries)))
    prod_q = np.sort(rng.choice(n_queries, size=n_prod, replace=False))
    if isinstance(production_ranker, str):
        if production_ranker not in PRODUCTION_RANKERS:
            raise ValueError(f"production_ranker must be one of {PRODUCTION_RANKERS}, an estimator or a callable")
        prod_rows = np.concatenate([order[group_ptr[q] : group_ptr[q + 1]] for q in prod_q])
        ranker = _fit_production_ranker(
            production_ranker, X[prod_rows], y[prod_rows], np.asarray(qid)[prod_rows], production_params, seed
        )
    else:
        ranker = production_ranker

    # 2. displayed lists: top_k of every query by production score
    scores = _production_scores(ranker, X)
    if scores.shape != (X.shape[0],):
        raise ValueError(f"the production ranker returned {scores.shape} scores for {X.shape[0]} rows")
    keep_q = np.arange(n_queries)
    if exclude_production_queries:
        keep_q = np.setdiff1d(keep_q, prod_q)
        if keep_q.size == 0:
            raise ValueError("exclude_production_queries=True leaves no query for the click log")
    sub_ptr = np.concatenate(([0], np.cumsum(np.diff(group_ptr)[keep_q]))).astype(PTR_DTYPE)
    sub_rows = np.concatenate([order[group_ptr[q] : group_ptr[q + 1]] for q in keep_q])
    shown_local, list_ptr = _top_k_lists(scores[sub_rows], sub_ptr, top_k)
    doc_index = sub_rows[shown_local]
    position = (np.arange(doc_index.shape[0]) - np.repeat(list_ptr[:-1], np.diff(list_ptr)) + 1).astype(np.int64)

    # 3. sessions
    attract = click_probability(y[doc_index], eps_minus, eps_plus, max_grade)
    session_list = rng.integers(0, keep_q.shape[0], size=n_sessions).astype(np.int64)
    clicks = np.zeros((n_sessions, top_k), dtype=np.uint8)
    _simulate_sessions(
        session_list,
        list_ptr,
        np.ascontiguousarray(attract),
        np.ones(top_k) if theta is None else np.ascontiguousarray(theta),
        model == "cascade",
        stop_after_click,
        stop_after_skip,
        np.uint64(seed ^ 0x5E55),
        clicks,
    )
    return ClickLog(
        X=X[doc_index],
        doc_index=doc_index,
        qid=np.asarray(qid)[doc_index],
        position=position,
        y_true=y[doc_index],
        list_ptr=list_ptr,
        session_list=session_list,
        session_clicks=clicks,
        examination=theta,
        production_ranker=ranker,
        production_queries=layout.query_ids[prod_q],
        model=model,
        params=dict(
            eta=eta, eps_minus=eps_minus, eps_plus=eps_plus, max_grade=max_grade, top_k=top_k,
            stop_after_click=stop_after_click, stop_after_skip=stop_after_skip,
            production_fraction=production_fraction,
        ),
    )
