"""Listwise cross-entropy objectives: softmax CE and the naive sigmoid + softmax mix.

Both, and the regression-compatible objective of ``rcr.py``, are instances
of one family (Bai et al., CIKM 2023, Definitions 1 and 2): a pointwise
sigmoid cross-entropy plus a listwise cross-entropy ``ListCE(T)`` whose
list distribution is built from a positive transform ``T`` of the scores,

    L = (1 - alpha) * sum_i w_i SigmoidCE(s_i, y_i) + alpha * sum_q ListCE_q(T)

    ListCE_q(T) = - sum_{i in q} w_i t_i log p_i,
    p_i = T(s_i) / sum_{j in q} w_j T(s_j),
    t_i = y_i / C_q  with  C_q = sum_{j in q} w_j y_j      (the paper's targets)
    SigmoidCE(s, y) = -y log sigmoid(s) - (1 - y) log(1 - sigmoid(s)).

``T = exp`` gives the softmax cross-entropy of ListNet (``objective='softmax'``
with ``alpha = 1``; ``'sigmoid_softmax'`` for the naive mix), ``T = sigmoid``
gives RCR. Row weights enter the list distribution as multiplicities, so a
row of weight 2 is exactly a row given twice.

Gradient and hessian (derivation in ``rcr.py``'s module docstring): with
``u = log T(s)``, ``u'`` and ``u''`` its derivatives and ``T_q = sum_i w_i t_i``
(1 for the paper's targets),

    dListCE/ds_k   = w_k u'_k (T_q p_k - t_k)
    d2ListCE/ds_k2 = w_k [u'_k^2 T_q p_k (1 - w_k p_k) + u''_k (T_q p_k - t_k)]

For ``T = exp`` (``u' = 1``, ``u'' = 0``) the diagonal above is exact and
non-negative. For ``T = sigmoid`` the second term can be negative and RCR
keeps only the first (Gauss-Newton) term.

Degenerate queries (the rule shared by the three objectives). The list term
is computed only for a query with at least two rows (of positive weight)
whose labels are not all equal; such a query always has a relevant document
(``C_q > 0``). A query with one row, with no relevant document, or whose
labels are all equal (e.g. all relevant, or one click rate repeated) says
nothing about the order of its documents: its list term is dropped, in
`loss` as in the gradient, so ``'softmax'`` gives it exactly zero gradient
and hessian (the `Objective` contract shared with LambdaMART and the
pairwise objectives). The pointwise sigmoid CE of ``'rcr'`` and
``'sigmoid_softmax'`` is not a ranking signal and keeps training every row,
degenerate queries included: that is what calibrates the scores. With fixed
labels nothing is lost: at the calibrated point ``sig(s_i) = y_i`` an
all-equal query's list term is already at its minimum (equal shares).
For sampled labels, see the note on expected compatibility in ``rcr.py``.
"""
import numbers

import numpy as np
from numba import njit, prange

from .._dtypes import NJIT, NJIT_PARALLEL
from . import register
from ._base import Objective

#: Codes of the list transform ``T`` understood by the kernels.
TRANSFORM_EXP = 0
TRANSFORM_SIGMOID = 1

_LIST_TARGETS = ("normalized", "raw")


# ---------------------------------------------------------------------------
# Scalar helpers (stable forms; never exp of a large positive number)
# ---------------------------------------------------------------------------
@njit(**NJIT)
def _sigmoid(s):
    if s >= 0.0:
        return 1.0 / (1.0 + np.exp(-s))
    e = np.exp(s)
    return e / (1.0 + e)


@njit(**NJIT)
def _softplus(s):
    """log(1 + exp(s))."""
    if s > 0.0:
        return s + np.log1p(np.exp(-s))
    return np.log1p(np.exp(s))


@njit(**NJIT)
def _log_transform(s, transform):
    """``u = log T(s)`` and its first two derivatives ``u'``, ``u''``.

    exp: ``(s, 1, 0)``. sigmoid: ``log sigmoid(s) = -softplus(-s)``,
    ``u' = 1 - sigmoid(s) = sigmoid(-s)``, ``u'' = -sigmoid(s) sigmoid(-s)``.
    """
    if transform == TRANSFORM_EXP:
        return s, 1.0, 0.0
    one_minus_sig = _sigmoid(-s)
    return -_softplus(-s), one_minus_sig, -_sigmoid(s) * one_minus_sig


@njit(**NJIT)
def _has_list_signal(y, w, a, b):
    """True when the list term of query rows a:b carries a ranking signal.

    The rows that count are those with ``w > 0`` (a zero weight is an absent
    row). The list term needs two of them with different labels: a query
    with one such row, or whose labels are all equal (all irrelevant, or all
    equally relevant), says nothing about the order of its documents, so
    its list term is dropped and it gets exactly zero list gradient and
    hessian, as from every other ranking objective. Since labels are
    non-negative, two different labels imply a relevant document
    (``C_q = sum w y > 0``).
    """
    first = -1.0
    found = False
    for i in range(a, b):
        if w[i] > 0.0:
            if not found:
                first = y[i]
                found = True
            elif y[i] != first:
                return True
    return False


@njit(**NJIT)
def _log_partition(raw, w, a, b, transform):
    """``(m, S)`` with ``sum_j w_j T(s_j) = exp(m) * S`` over rows with ``w > 0``.

    ``m`` is the largest ``log T(s_j)`` so that every exponential is <= 1.
    """
    m = -np.inf
    for j in range(a, b):
        if w[j] > 0.0:
            u, du, d2u = _log_transform(raw[j], transform)
            if u > m:
                m = u
    s_sum = 0.0
    for j in range(a, b):
        if w[j] > 0.0:
            u, du, d2u = _log_transform(raw[j], transform)
            s_sum += w[j] * np.exp(u - m)
    return m, s_sum


# ---------------------------------------------------------------------------
# Gradient / hessian kernels
# ---------------------------------------------------------------------------
@njit(**NJIT)
def _list_ce_mix_query(raw, y, w, a, b, alpha, transform, raw_targets, exact_hessian, grad, hess):
    """Gradient and hessian per unit row weight of one query (rows a:b) (OUT: grad, hess).

    Writes ``g_k / w_k`` and ``h_k / w_k`` of
    ``(1 - alpha) * sum SigmoidCE + alpha * ListCE(T)`` into ``grad[a:b]``,
    ``hess[a:b]``; the caller multiplies by the row weights. ``w`` is used
    only inside the list distribution (multiplicities). ``exact_hessian``
    adds the ``u''`` term of the diagonal (tests only for ``T = sigmoid``;
    it is identically zero for ``T = exp``).
    """
    beta = 1.0 - alpha
    for i in range(a, b):
        if beta != 0.0:
            sig = _sigmoid(raw[i])
            grad[i] = beta * (sig - y[i])
            hess[i] = beta * sig * (1.0 - sig)
        else:
            grad[i] = 0.0
            hess[i] = 0.0
    if alpha == 0.0 or not _has_list_signal(y, w, a, b):
        return
    c = 0.0
    for i in range(a, b):
        c += w[i] * y[i]
    if raw_targets:
        t_scale, t_total = 1.0, c
    else:
        t_scale, t_total = 1.0 / c, 1.0
    m, s_sum = _log_partition(raw, w, a, b, transform)
    for i in range(a, b):
        if w[i] <= 0.0:
            # contributes nothing (its gradient is multiplied by 0) and may
            # lie far above the partition's maximum: skip its exponential
            continue
        u, du, d2u = _log_transform(raw[i], transform)
        p = np.exp(u - m) / s_sum
        resid = t_total * p - y[i] * t_scale
        grad[i] += alpha * du * resid
        h = du * du * t_total * p * (1.0 - w[i] * p)
        if exact_hessian:
            h += d2u * resid
        hess[i] += alpha * h


@njit(**NJIT_PARALLEL)
def _list_ce_mix_gradient_hessian(raw, y, w, group_ptr, alpha, transform, raw_targets, exact_hessian, grad, hess):
    """Per-query driver of `_list_ce_mix_query` over ``prange(n_queries)`` (OUT: grad, hess)."""
    n_queries = group_ptr.shape[0] - 1
    for q in prange(n_queries):
        _list_ce_mix_query(
            raw, y, w, group_ptr[q], group_ptr[q + 1], alpha, transform, raw_targets, exact_hessian, grad, hess
        )


# ---------------------------------------------------------------------------
# Loss kernels
# ---------------------------------------------------------------------------
@njit(**NJIT)
def _list_ce_mix_loss_query(raw, y, w, a, b, alpha, transform, raw_targets):
    """Weighted loss ``(1 - alpha) sum w SigmoidCE + alpha ListCE(T)`` of one query."""
    beta = 1.0 - alpha
    total = 0.0
    if beta != 0.0:
        point = 0.0
        for i in range(a, b):
            # SigmoidCE(s, y) = softplus(s) - y s
            point += w[i] * (_softplus(raw[i]) - y[i] * raw[i])
        total += beta * point
    if alpha == 0.0 or not _has_list_signal(y, w, a, b):
        return total
    c = 0.0
    for i in range(a, b):
        c += w[i] * y[i]
    t_scale = 1.0 if raw_targets else 1.0 / c
    m, s_sum = _log_partition(raw, w, a, b, transform)
    log_z = m + np.log(s_sum)
    lst = 0.0
    for i in range(a, b):
        if w[i] > 0.0 and y[i] != 0.0:
            u, du, d2u = _log_transform(raw[i], transform)
            lst -= w[i] * y[i] * t_scale * (u - log_z)
    return total + alpha * lst


@njit(**NJIT_PARALLEL)
def _list_ce_mix_loss(raw, y, w, group_ptr, alpha, transform, raw_targets):
    """Per-query losses (summed by the caller in a fixed order)."""
    n_queries = group_ptr.shape[0] - 1
    out = np.zeros(n_queries, dtype=np.float64)
    for q in prange(n_queries):
        out[q] = _list_ce_mix_loss_query(raw, y, w, group_ptr[q], group_ptr[q + 1], alpha, transform, raw_targets)
    return out


# ---------------------------------------------------------------------------
# Label handling shared with rcr.py
# ---------------------------------------------------------------------------
def check_label_scale(label_scale):
    if label_scale is None:
        return None
    if isinstance(label_scale, (bool, np.bool_)) or not isinstance(label_scale, numbers.Real):
        raise TypeError(f"label_scale must be a positive number or None, got {label_scale!r}")
    label_scale = float(label_scale)
    if not (np.isfinite(label_scale) and label_scale > 0):
        raise ValueError(f"label_scale must be a positive finite number, got {label_scale!r}")
    return label_scale


def validate_unit_labels(name, y, label_scale):
    """Labels usable by a sigmoid term: non-negative, and <= label_scale when it is given."""
    if np.any(y < 0):
        raise ValueError(f"objective {name!r} needs non-negative labels (binary, rates in [0, 1] or grades)")
    if label_scale is not None and np.any(y > label_scale):
        raise ValueError(
            f"objective {name!r}: labels go up to {float(np.max(y))!r}, above label_scale={label_scale!r}"
        )


def unit_label_scale(y, label_scale):
    """The divisor mapping labels into [0, 1] (the documented graded-label rule).

    Labels already in [0, 1] are used as they are (divisor 1) unless
    `label_scale` is given; otherwise graded labels are divided by the largest
    training label.
    """
    if label_scale is not None:
        return float(label_scale)
    top = float(np.max(y)) if y.size else 0.0
    return top if top > 1.0 else 1.0


def check_alpha(name, alpha, param="alpha"):
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"{param} of objective {name!r} must be a number in [0, 1], got {alpha!r}")
    alpha = float(alpha)
    if not (0.0 <= alpha <= 1.0):
        raise ValueError(f"{param} of objective {name!r} must lie in [0, 1], got {alpha!r}")
    return alpha


def check_list_target(list_target):
    if list_target not in _LIST_TARGETS:
        raise ValueError(f"list_target must be one of {_LIST_TARGETS}, got {list_target!r}")
    return list_target


# ---------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------
class ListCEMixture(Objective):
    """Shared machinery of ``(1 - alpha) * SigmoidCE + alpha * ListCE(T)``.

    Subclasses set ``_transform`` (``TRANSFORM_EXP`` or ``TRANSFORM_SIGMOID``),
    ``_exact_hessian`` and the ``alpha_`` / ``list_target`` / ``label_scale``
    attributes in their constructor. Training labels are divided by
    ``label_scale_`` (see `unit_label_scale`) when the pointwise term needs them
    in [0, 1].
    """

    is_ranking = True
    _transform = TRANSFORM_EXP
    _exact_hessian = True
    _maps_labels = True

    # -- data ---------------------------------------------------------------
    def validate_labels(self, y):
        super().validate_labels(y)
        validate_unit_labels(self.name, y, self.label_scale)

    def _setup(self):
        if self._maps_labels:
            self.label_scale_ = unit_label_scale(self.y_, self.label_scale)
            self.target_ = self.y_ / self.label_scale_ if self.label_scale_ != 1.0 else self.y_
        else:
            self.label_scale_ = 1.0
            self.target_ = self.y_
        self.target_ = np.ascontiguousarray(self.target_, dtype=np.float64)
        self._w = np.ones_like(self.y_) if self.weight_ is None else self.weight_

    def init_score(self):
        if self.alpha_ == 1.0:
            return 0.0  # pure listwise: shift-invariant, nothing to calibrate
        p = float(np.average(self.target_, weights=self._w)) if self._w.sum() > 0 else 0.5
        p = min(max(p, 1e-15), 1 - 1e-15)
        return float(np.log(p / (1 - p)))

    # -- training -----------------------------------------------------------
    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        _list_ce_mix_gradient_hessian(
            raw_score,
            self.target_,
            self._w,
            self.group_ptr_,
            self.alpha_,
            self._transform,
            self.list_target == "raw",
            self._exact_hessian,
            grad,
            hess,
        )

    def loss(self, raw_score):
        """Exact weighted loss (see the module docstring), summed over queries."""
        raw_score = np.ascontiguousarray(raw_score, dtype=np.float64)
        per_query = _list_ce_mix_loss(
            raw_score, self.target_, self._w, self.group_ptr_, self.alpha_, self._transform, self.list_target == "raw"
        )
        return float(np.sum(per_query))

    # -- state --------------------------------------------------------------
    def state(self):
        return {"label_scale": getattr(self, "label_scale_", None)}

    def set_state(self, state):
        if state.get("label_scale") is not None:
            self.label_scale_ = float(state["label_scale"])


@register
class SoftmaxCE(ListCEMixture):
    """Listwise softmax cross-entropy (ListNet top-1), the paper's ``SoftmaxCE``.

    Per query ``q`` with labels ``y >= 0`` and row weights ``w``:

        L_q = - sum_i w_i t_i log p_i,    p_i = exp(s_i) / sum_j w_j exp(s_j),

    with ``t_i = y_i / sum_j w_j y_j`` (``list_target='normalized'``, eq. 3 of
    Bai et al. 2023, the default) or ``t_i = y_i`` (``list_target='raw'``, which
    is CatBoost's ``QuerySoftMax`` with ``beta=1``, ``lambda=0``). With
    ``T_q = sum_i w_i t_i``: ``g_i = w_i (T_q p_i - t_i)`` and the exact
    diagonal hessian ``h_i = w_i T_q p_i (1 - w_i p_i) >= 0``. This is the plain
    softmax CE of the RCR paper, without QuerySoftMax's ``lambda`` hessian floor
    (the tree's ``min_child_weight`` and ``reg_lambda`` bound the leaf values).

    The loss is invariant to adding a constant to every score of a query, so
    the scores are not probabilities (`transform` raises). Queries with one
    row or whose labels are all equal (none relevant, or all equally
    relevant) carry no ranking signal: they add nothing to the loss and get
    ``g = h = 0`` exactly (CatBoost's QuerySoftMax would still pull an
    all-relevant query's scores together; we follow the `Objective`
    contract shared by every ranking loss).

    Parameters
    ----------
    list_target : {'normalized', 'raw'}, default='normalized'
        Targets ``y / sum(w y)`` per query (the paper) or the raw labels
        (queries with more relevant documents weigh more).
    """

    name = "softmax"
    aliases = ("softmax_ce", "listnet")
    produces_probabilities = False
    _transform = TRANSFORM_EXP
    _exact_hessian = True
    _maps_labels = False

    def __init__(self, list_target="normalized"):
        super().__init__()
        self.list_target = check_list_target(list_target)
        self.alpha_ = 1.0
        self.label_scale = None

    def get_params(self):
        return {"list_target": self.list_target}

    def state(self):
        return {}

    def set_state(self, state):
        pass


@register
class SigmoidSoftmaxCE(ListCEMixture):
    """The naive multi-objective mix ``(1 - alpha) SigmoidCE + alpha SoftmaxCE``.

    Eq. 5 of Bai et al. (CIKM 2023), after Yan et al. (KDD 2022): the sum of
    the pointwise logistic loss of ``'binary'`` and the listwise softmax CE of
    ``'softmax'`` on the same raw score,

        L = (1 - alpha) sum_i w_i SigmoidCE(s_i, y_i) + alpha sum_q SoftmaxCE_q.

    ``g`` and ``h`` are the weighted sums of both parts' (both hessians exact).
    The two parts pull the scores towards different minimisers (SigmoidCE:
    ``s_i = logit(E[y_i])``; SoftmaxCE: ``s_i = log E[y_i] + c_q`` for any
    ``c_q``), so for ``0 < alpha < 1`` ``sigmoid(s)`` is biased away from
    ``E[y]``. It is kept as the paper's baseline; ``produces_probabilities`` is
    True because its ``sigmoid(raw)`` is meant to be read as a probability,
    but expect worse calibration than ``'binary'`` or ``'rcr'``.

    Labels: binary, rates in [0, 1], or non-negative grades, which are divided
    by `label_scale` (default: the largest training label when it exceeds 1).
    The model starts from ``logit(mean(y))``. Queries with one row or whose
    labels are all equal get only the pointwise part (module docstring).

    Parameters
    ----------
    alpha : float in [0, 1], default=0.5
        Weight of the listwise term.
    list_target : {'normalized', 'raw'}, default='normalized'
        Listwise targets, as in ``'softmax'``.
    label_scale : float or None, default=None
        Divisor mapping graded labels into [0, 1].
    """

    name = "sigmoid_softmax"
    aliases = ("sigmoid_softmax_ce",)
    produces_probabilities = True
    _transform = TRANSFORM_EXP
    _exact_hessian = True
    _maps_labels = True

    def __init__(self, alpha=0.5, list_target="normalized", label_scale=None):
        super().__init__()
        self.alpha = alpha
        self.alpha_ = check_alpha(self.name, alpha)
        self.list_target = check_list_target(list_target)
        self.label_scale = check_label_scale(label_scale)

    def get_params(self):
        return {"alpha": self.alpha_, "list_target": self.list_target, "label_scale": self.label_scale}

    def transform(self, raw_score):
        """``sigmoid(raw)``: the (biased, see the class docstring) probability of relevance."""
        from scipy.special import expit

        return expit(raw_score)
