"""Click models: turn relevance labels and display positions into clicks.

Two models, as in the DLA paper's simulation protocol (Ai et al., SIGIR
2018) and the cascade test recipe of LightGBM's position-bias tests:

* **Position-based model (PBM).** A document shown at position ``k`` is
  examined with probability ``theta_k = rho_k ** eta`` and, once examined,
  clicked with probability ``P(c | y)``; clicks at different positions are
  independent::

      P(click | k, y) = theta_k * P(c | y)
      P(c | y)        = eps_minus + (eps_plus - eps_minus) * (2**y - 1) / (2**max_grade - 1)

  ``rho`` defaults to the eye-tracking examination probabilities used by the
  DLA paper (:data:`EYE_TRACKING_EXAMINATION`); ``eta`` sets the severity of
  the bias (``eta = 0``: no bias).

* **Cascade model.** The user scans the list from position 1. At each
  examined position the document is clicked with probability ``P(c | y)``;
  after a click the session ends with probability ``stop_after_click``
  (1 = the classic cascade model of Craswell et al., 2008), after a skip
  with probability ``stop_after_skip``. The examination probability of a
  position then depends on the documents above it, so there is no constant
  per-position propensity.

Every random draw is a counter-based uniform derived from
``(seed, impression or session, slot)`` with ``ltr._random.mix_seed``, so
the clicks depend only on the seed and the data, never on the number of
threads.
"""
import numpy as np
from numba import njit, prange

from .._dtypes import NJIT, NJIT_PARALLEL, PTR_DTYPE
from .._random import mix_seed

#: Examination probabilities of positions 1..10 measured by eye tracking
#: (Joachims et al., 2005), as used by the DLA paper's click simulator.
EYE_TRACKING_EXAMINATION = np.array([0.68, 0.61, 0.48, 0.34, 0.28, 0.20, 0.11, 0.10, 0.08, 0.06])

CLICK_MODELS = ("pbm", "cascade")

#: 2**-53: maps the top 53 bits of a uint64 to a double in [0, 1).
_INV_2_53 = 1.0 / 9007199254740992.0


@njit(**NJIT)
def counter_uniform(seed, a, b):
    """A uniform draw in [0, 1) that depends only on ``(seed, a, b)``."""
    return np.float64(mix_seed(seed, a, b) >> np.uint64(11)) * _INV_2_53


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------
def true_propensity(n_positions=10, eta=1.0, propensity=None, relative=True):
    """The examination probabilities ``theta_k = rho_k ** eta`` of the PBM.

    Parameters
    ----------
    n_positions : int, default=10
        Number of positions (1..n_positions).
    eta : float, default=1.0
        Severity of the position bias; 0 removes it.
    propensity : array-like of float or None
        ``rho`` per position (position 1 first), values in (0, 1]. Defaults to
        :data:`EYE_TRACKING_EXAMINATION`.
    relative : bool, default=True
        Divide by ``theta_1``: the examination probability relative to the
        top position, which is what click logs identify and what the fitted
        ``propensity_`` of the unbiased objectives reports.

    Returns
    -------
    ndarray of float64, shape (n_positions,)
    """
    rho = _check_examination(propensity, "propensity")
    n_positions = int(n_positions)
    if n_positions < 1:
        raise ValueError(f"n_positions must be >= 1, got {n_positions}")
    if n_positions > rho.shape[0]:
        raise ValueError(
            f"n_positions={n_positions} but the examination curve has only {rho.shape[0]} positions; "
            "pass propensity= with one value per position"
        )
    eta = _check_eta(eta)
    theta = rho[:n_positions] ** eta
    return theta / theta[0] if relative else theta


def click_probability(y, eps_minus=0.1, eps_plus=1.0, max_grade=4):
    """``P(c | y)``: the click probability of an examined document of grade ``y``.

    ``eps_minus + (eps_plus - eps_minus) * (2**y - 1) / (2**max_grade - 1)``:
    ``eps_minus`` is the rate of noise clicks on irrelevant documents,
    ``eps_plus`` the click rate of the most relevant grade.

    Parameters
    ----------
    y : array-like of int
        Grades in ``0..max_grade``.
    eps_minus, eps_plus : float
        ``0 <= eps_minus <= eps_plus <= 1``.
    max_grade : int
        The highest grade.

    Returns
    -------
    ndarray of float64, same shape as `y`
    """
    y = _check_grades(y, max_grade)
    eps_minus, eps_plus = _check_noise(eps_minus, eps_plus)
    return eps_minus + (eps_plus - eps_minus) * (np.exp2(y) - 1.0) / (2.0 ** int(max_grade) - 1.0)


def _check_examination(propensity, name):
    if propensity is None:
        return EYE_TRACKING_EXAMINATION.copy()
    rho = np.asarray(propensity, dtype=np.float64)
    if rho.ndim != 1 or rho.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array with one value per position, got shape {rho.shape}")
    if not np.all(np.isfinite(rho)) or np.any(rho <= 0) or np.any(rho > 1):
        raise ValueError(f"{name} must hold examination probabilities in (0, 1]")
    return rho


def _check_eta(eta):
    eta = float(eta)
    if not np.isfinite(eta) or eta < 0:
        raise ValueError(f"eta must be a finite number >= 0, got {eta}")
    return eta


def _check_noise(eps_minus, eps_plus):
    eps_minus, eps_plus = float(eps_minus), float(eps_plus)
    if not (0.0 <= eps_minus <= eps_plus <= 1.0):
        raise ValueError(f"need 0 <= eps_minus <= eps_plus <= 1, got eps_minus={eps_minus}, eps_plus={eps_plus}")
    return eps_minus, eps_plus


def _check_grades(y, max_grade):
    max_grade = int(max_grade)
    if max_grade < 1:
        raise ValueError(f"max_grade must be >= 1, got {max_grade}")
    y = np.asarray(y, dtype=np.float64)
    if not np.all(np.isfinite(y)) or np.any(y != np.round(y)) or np.any(y < 0) or np.any(y > max_grade):
        raise ValueError(f"y must hold integer relevance grades in 0..{max_grade} (max_grade={max_grade})")
    return y


def _check_positions(position, n, name="position"):
    if position is None:
        raise ValueError(f"{name} is required: the 1-based display rank of each row")
    pos = np.asarray(position)
    if pos.ndim != 1 or pos.shape[0] != n:
        raise ValueError(f"{name} must be 1-d with one entry per row ({n}), got shape {pos.shape}")
    if pos.dtype.kind == "f":
        if not np.all(np.isfinite(pos)) or np.any(pos != np.round(pos)):
            raise ValueError(f"{name} must hold whole numbers (1-based display ranks)")
    elif pos.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers (1-based display ranks), got dtype {pos.dtype}")
    pos = pos.astype(np.int64)
    if n and pos.min() < 1:
        raise ValueError(f"{name} must be 1-based: the top result has position 1, got a minimum of {pos.min()}")
    return pos


def _check_stop(p, name):
    p = float(p)
    if not (0.0 <= p <= 1.0):
        raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    return p


# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------
@njit(**NJIT_PARALLEL)
def _pbm_clicks(click_prob, seed, out):
    """One independent Bernoulli(click_prob[i]) draw per impression i."""
    for i in prange(click_prob.shape[0]):
        out[i] = 1 if counter_uniform(seed, i, 0) < click_prob[i] else 0


@njit(**NJIT_PARALLEL)
def _cascade_clicks(attract, order, group_ptr, stop_after_click, stop_after_skip, seed, out):
    """Cascade sessions, one per query; rows of query q in `order[a:b]` are in display order.

    Draw ``(row, 0)`` decides the click, draw ``(row, 1)`` whether the user
    stops after this row.
    """
    n_queries = group_ptr.shape[0] - 1
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        stopped = False
        for t in range(a, b):
            i = order[t]
            if stopped:
                out[i] = 0
                continue
            clicked = counter_uniform(seed, i, 0) < attract[i]
            out[i] = 1 if clicked else 0
            stop = stop_after_click if clicked else stop_after_skip
            if stop > 0.0 and counter_uniform(seed, i, 1) < stop:
                stopped = True


@njit(**NJIT_PARALLEL)
def _simulate_sessions(session_list, list_ptr, attract, theta, cascade, stop_after_click, stop_after_skip, seed, out):
    """Clicks of many sessions over fixed displayed lists.

    Parameters
    ----------
    session_list : ndarray of int64, shape (n_sessions,)
        Which displayed list each session sees.
    list_ptr : ndarray of int64, shape (n_lists + 1,)
        Slots of list l are ``list_ptr[l]:list_ptr[l + 1]``, in display order.
    attract : ndarray of float64, shape (n_slots,)
        ``P(c | y)`` of the document in each slot.
    theta : ndarray of float64, shape (>= max list length,)
        PBM examination probability per position (unused by the cascade).
    cascade : bool
    out : ndarray of uint8, shape (n_sessions, top_k)
        OUT: ``out[s, k]`` = click of session s at position k + 1 (0 beyond the list).
    """
    n_sessions = session_list.shape[0]
    width = out.shape[1]
    for s in prange(n_sessions):
        lst = session_list[s]
        a, b = list_ptr[lst], list_ptr[lst + 1]
        for k in range(width):
            out[s, k] = 0
        if cascade:
            for k in range(b - a):
                clicked = counter_uniform(seed, s, 2 * k) < attract[a + k]
                if clicked:
                    out[s, k] = 1
                stop = stop_after_click if clicked else stop_after_skip
                if stop > 0.0 and counter_uniform(seed, s, 2 * k + 1) < stop:
                    break
        else:
            for k in range(b - a):
                if counter_uniform(seed, s, 2 * k) < theta[k] * attract[a + k]:
                    out[s, k] = 1


@njit(**NJIT_PARALLEL)
def _display_order(position, group_ptr, order):
    """Rows of each query sorted by position (stable); returns 1 if a query repeats a position."""
    n_queries = group_ptr.shape[0] - 1
    bad = np.zeros(n_queries, dtype=np.int64)
    for q in prange(n_queries):
        a, b = group_ptr[q], group_ptr[q + 1]
        local = np.argsort(position[a:b], kind="mergesort")
        for t in range(b - a):
            order[a + t] = a + local[t]
        for t in range(a + 1, b):
            if position[order[t]] == position[order[t - 1]]:
                bad[q] = 1
    return bad.sum()


# ---------------------------------------------------------------------------
# Public function
# ---------------------------------------------------------------------------
def simulate_clicks(
    y,
    qid=None,
    position=None,
    *,
    model="pbm",
    eta=1.0,
    eps_minus=0.1,
    eps_plus=1.0,
    max_grade=4,
    propensity=None,
    stop_after_click=1.0,
    stop_after_skip=0.0,
    random_state=None,
):
    """Sample one click (0/1) per displayed row from a click model.

    Each query (``qid`` value) is one session: the user sees its rows at the
    given display positions. See the module docstring for the models.

    Parameters
    ----------
    y : array-like of int, shape (n_samples,)
        True relevance grades in ``0..max_grade``.
    qid : array-like, shape (n_samples,) or None
        Session (query) id per row; rows of a session need not be
        contiguous. Required by the cascade model; the PBM ignores it.
    position : array-like of int, shape (n_samples,)
        1-based display rank of each row.
    model : {'pbm', 'cascade'}, default='pbm'
    eta : float, default=1.0
        PBM bias severity: ``theta_k = propensity_k ** eta``.
    eps_minus, eps_plus : float, default=0.1, 1.0
        Click noise: click probability of an examined document of the lowest
        and of the highest grade.
    max_grade : int, default=4
    propensity : array-like of float or None
        PBM examination curve ``rho`` (position 1 first), at least
        ``max(position)`` values; default the eye-tracking curve of
        :data:`EYE_TRACKING_EXAMINATION` (10 positions).
    stop_after_click, stop_after_skip : float, default=1.0, 0.0
        Cascade model: probabilities of ending the session after a click and
        after an examined document that was not clicked.
    random_state : int, RandomState, Generator or None

    Returns
    -------
    clicks : ndarray of int8, shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from ltr.unbiased import simulate_clicks
    >>> y = np.array([2, 0, 1, 0, 4, 1])
    >>> qid = np.array([0, 0, 0, 1, 1, 1])
    >>> pos = np.array([1, 2, 3, 1, 2, 3])
    >>> clicks = simulate_clicks(y, qid, pos, eta=1.0, random_state=0)
    >>> clicks.shape
    (6,)
    """
    from .._random import resolve_seed

    if model not in CLICK_MODELS:
        raise ValueError(f"model must be one of {CLICK_MODELS}, got {model!r}")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got shape {y.shape}")
    n = y.shape[0]
    attract = click_probability(y, eps_minus, eps_plus, max_grade)
    pos = _check_positions(position, n)
    seed = np.uint64(resolve_seed(random_state))
    out = np.zeros(n, dtype=np.int8)
    if n == 0:
        return out
    if model == "pbm":
        rho = _check_examination(propensity, "propensity")
        if pos.max() > rho.shape[0]:
            raise ValueError(
                f"position goes up to {pos.max()} but the examination curve has {rho.shape[0]} positions; "
                "pass propensity= with one value per position"
            )
        theta = rho ** _check_eta(eta)
        _pbm_clicks(np.ascontiguousarray(theta[pos - 1] * attract), seed, out)
        return out

    if qid is None:
        raise ValueError("the cascade model needs qid= (which rows form one session)")
    from .._query import make_layout

    layout = make_layout(n, qid=qid)
    pos_grouped = np.ascontiguousarray(layout.to_grouped(pos))
    order = np.empty(n, dtype=np.int64)
    if _display_order(pos_grouped, layout.group_ptr, order) > 0:
        raise ValueError("position repeats within a session: each row of a qid must have its own display rank")
    grouped_rows = np.arange(n) if layout.order is None else layout.order
    out_grouped = np.zeros(n, dtype=np.int8)
    _cascade_clicks(
        np.ascontiguousarray(attract[grouped_rows]),
        order,
        layout.group_ptr.astype(PTR_DTYPE),
        _check_stop(stop_after_click, "stop_after_click"),
        _check_stop(stop_after_skip, "stop_after_skip"),
        seed,
        out_grouped,
    )
    return layout.to_caller(out_grouped)
