"""Calibration metrics: log loss, Brier score, expected calibration error, reliability curves.

They judge predicted probabilities of relevance ``p`` (``predict_proba`` of a
calibrated objective) against labels ``y`` in [0, 1]: binary relevance or
observed rates (clicks / impressions), optionally with row weights. They
ignore the query structure: calibration is a property of every prediction,
wherever it is ranked.

Conventions
-----------
Rates
    Labels may be any value in [0, 1]. The log loss of a rate is the
    expected log loss under Bernoulli(y) outcomes; the Brier score is the
    squared error to the rate (the expected Brier score minus ``y (1 - y)``,
    which does not depend on the prediction). The "observed frequency" of a
    bin is the (weighted) mean label.
Binning (ECE and the reliability curve)
    ``strategy='quantile'`` (equal mass, the default of
    `expected_calibration_error`): the edges are the quantiles
    ``0, 1/n_bins, ..., 1`` of the predictions, computed like
    ``sklearn.calibration.calibration_curve`` (``np.percentile``, linear
    interpolation) without weights, and as weighted quantiles (inverted
    CDF, numpy's only weighted method) with ``sample_weight``.
    ``strategy='uniform'``: edges ``0, 1/n_bins, ..., 1``. Either way a
    prediction equal to an inner edge goes to the lower bin (as in
    scikit-learn), identical predictions always share a bin (so tied
    predictions can leave a quantile bin empty, and the bins are then only
    roughly of equal mass) and empty bins are dropped.
"""
import numbers

import numpy as np

from .._validation import LabelError, LTRValueError, as_numeric_1d, check_finite, check_n_entries, check_sample_weight

_STRATEGIES = ("quantile", "uniform")


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------
def _check_1d(name, a, error=LTRValueError):
    """`a` as finite 1-d float64 (the rules of ``ltr._validation``)."""
    arr = as_numeric_1d(a, name, error=error)
    check_finite(arr, name, error=error)
    return arr


def _check_inputs(y_true, y_prob, sample_weight):
    """Validated float64 arrays ``(y, p, w)``; ``w`` is None without weights."""
    y = _check_1d("y_true", y_true, LabelError)
    p = _check_1d("y_prob", y_prob)
    check_n_entries(p.shape[0], y.shape[0], "y_prob", what="y_true", item="probability")
    if y.shape[0] == 0:
        raise LTRValueError("y_true and y_prob are empty")
    if np.any((y < 0) | (y > 1)):
        raise LabelError("y_true must lie in [0, 1] (binary labels or rates); map graded labels first")
    if np.any((p < 0) | (p > 1)):
        raise LTRValueError("y_prob must lie in [0, 1]; pass probabilities (predict_proba), not raw scores")
    w = check_sample_weight(sample_weight, y.shape[0], what="y_true")
    return y, p, w


def _check_binning(n_bins, strategy):
    if isinstance(n_bins, (bool, np.bool_)) or not isinstance(n_bins, numbers.Integral):
        raise TypeError(f"n_bins must be an integer, got {n_bins!r}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be one of {_STRATEGIES}, got {strategy!r}")
    return int(n_bins)


# ---------------------------------------------------------------------------
# Pointwise scores
# ---------------------------------------------------------------------------
def log_loss(y_true, y_prob, *, sample_weight=None, eps="auto"):
    """Mean negative log-likelihood of Bernoulli predictions (cross-entropy).

    ``LogLoss = sum_i w_i [-y_i log p_i - (1 - y_i) log(1 - p_i)] / sum_i w_i``

    with ``p`` clipped to ``[eps, 1 - eps]``. Equals
    ``sklearn.metrics.log_loss`` on binary labels; also accepts rates.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels in [0, 1].
    y_prob : array-like of shape (n_samples,)
        Predicted probabilities in [0, 1].
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights.
    eps : float or 'auto', default='auto'
        Clipping of ``p``; 'auto' is the float64 machine epsilon (as in
        scikit-learn).

    Returns
    -------
    float
    """
    y, p, w = _check_inputs(y_true, y_prob, sample_weight)
    if eps == "auto":
        eps = float(np.finfo(np.float64).eps)
    elif not (isinstance(eps, numbers.Real) and 0 <= eps < 0.5):
        raise ValueError(f"eps must be 'auto' or a number in [0, 0.5), got {eps!r}")
    p = np.clip(p, eps, 1.0 - eps)
    # y log p with 0 log 0 = 0, so that eps=0 works for exact 0/1 predictions
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(y > 0, y * np.log(p), 0.0)
        neg = np.where(y < 1, (1.0 - y) * np.log1p(-p), 0.0)
    return float(-np.average(pos + neg, weights=w))


def brier_score(y_true, y_prob, *, sample_weight=None):
    """Mean squared error of the probabilities, ``sum_i w_i (p_i - y_i)^2 / sum_i w_i``.

    Equals ``sklearn.metrics.brier_score_loss`` on binary labels; also
    accepts rates.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels in [0, 1].
    y_prob : array-like of shape (n_samples,)
        Predicted probabilities in [0, 1].
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights.

    Returns
    -------
    float
    """
    y, p, w = _check_inputs(y_true, y_prob, sample_weight)
    return float(np.average((p - y) ** 2, weights=w))


# ---------------------------------------------------------------------------
# Binned calibration
# ---------------------------------------------------------------------------
def _bin_edges(p, w, n_bins, strategy):
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    q = np.linspace(0.0, 1.0, n_bins + 1)
    if w is None:
        return np.percentile(p, q * 100.0)
    return np.quantile(p, q, weights=w, method="inverted_cdf")


def _binned(y, p, w, n_bins, strategy):
    """Per non-empty bin: (sum of w*p, sum of w*y, sum of w, count)."""
    edges = _bin_edges(p, w, n_bins, strategy)
    bin_ids = np.searchsorted(edges[1:-1], p, side="left")
    weight = np.ones_like(p) if w is None else w
    sum_p = np.bincount(bin_ids, weights=weight * p, minlength=n_bins)
    sum_y = np.bincount(bin_ids, weights=weight * y, minlength=n_bins)
    sum_w = np.bincount(bin_ids, weights=weight, minlength=n_bins)
    count = np.bincount(bin_ids, minlength=n_bins)
    keep = sum_w > 0
    return sum_p[keep], sum_y[keep], sum_w[keep], count[keep]


def reliability_curve(y_true, y_prob, *, n_bins=10, strategy="quantile", sample_weight=None):
    """Data of a reliability diagram: mean prediction vs observed frequency per bin.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels in [0, 1] (binary or rates).
    y_prob : array-like of shape (n_samples,)
        Predicted probabilities in [0, 1].
    n_bins : int, default=10
        Number of bins before empty ones are dropped.
    strategy : {'quantile', 'uniform'}, default='quantile'
        Equal-mass bins or equal-width bins on [0, 1] (see the module
        docstring for the exact edges).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights.

    Returns
    -------
    mean_predicted : ndarray of shape (n_nonempty_bins,)
        Weighted mean of ``y_prob`` in each bin.
    observed_frequency : ndarray of shape (n_nonempty_bins,)
        Weighted mean of ``y_true`` in each bin (the fraction of relevant
        documents for binary labels).
    counts : ndarray of shape (n_nonempty_bins,)
        Number of rows (int) in each bin, or the sum of their weights (float)
        with `sample_weight`.

    Notes
    -----
    Without weights, ``observed_frequency`` and ``mean_predicted`` equal
    ``sklearn.calibration.calibration_curve(y_true, y_prob, n_bins=n_bins,
    strategy=strategy)`` (which returns them in the other order).
    """
    y, p, w = _check_inputs(y_true, y_prob, sample_weight)
    n_bins = _check_binning(n_bins, strategy)
    sum_p, sum_y, sum_w, count = _binned(y, p, w, n_bins, strategy)
    counts = count if w is None else sum_w
    return sum_p / sum_w, sum_y / sum_w, counts


def expected_calibration_error(y_true, y_prob, *, n_bins=15, strategy="quantile", sample_weight=None):
    """Expected calibration error: the mass-weighted gap between prediction and outcome per bin.

    ``ECE = sum_b (W_b / W) |mean_b(p) - mean_b(y)|``

    where ``W_b`` is the (weighted) number of rows in bin ``b`` and the means
    are weighted means over the bin. Equal-mass bins by default (less
    sensitive to where the predictions concentrate than equal-width bins).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels in [0, 1] (binary or rates).
    y_prob : array-like of shape (n_samples,)
        Predicted probabilities in [0, 1].
    n_bins : int, default=15
        Number of bins.
    strategy : {'quantile', 'uniform'}, default='quantile'
        Equal-mass or equal-width bins (module docstring).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights.

    Returns
    -------
    float
        In [0, 1]; 0 for perfectly calibrated bins.
    """
    y, p, w = _check_inputs(y_true, y_prob, sample_weight)
    n_bins = _check_binning(n_bins, strategy)
    sum_p, sum_y, sum_w, _ = _binned(y, p, w, n_bins, strategy)
    return float(np.sum(np.abs(sum_p - sum_y)) / np.sum(sum_w))


__all__ = ["log_loss", "brier_score", "expected_calibration_error", "reliability_curve"]
