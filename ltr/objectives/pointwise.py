"""Pointwise objectives: squared error and logistic loss.

They ignore the query structure. They validate the tree engine on its own
(against LightGBM's ``regression`` / ``binary``) and are the calibrated
baseline of the ranking objectives.
"""
import numpy as np
from numba import njit, prange

from .._dtypes import NJIT_PARALLEL
from . import register
from ._base import Objective


def _weighted_label_sums(obj):
    """``{'wy': sum w y, 'w': sum w}`` of these rows (w = 1 without weights), as partition statistics."""
    if obj.weight_ is None:
        return {"wy": ("sum", float(np.sum(obj.y_))), "w": ("sum", float(obj.y_.shape[0]))}
    return {"wy": ("sum", float(np.dot(obj.weight_, obj.y_))), "w": ("sum", float(np.sum(obj.weight_)))}


def weighted_mean_label(stats):
    """``sum w y / sum w`` from the reduced statistics (0 when the weights sum to 0)."""
    w = float(stats["w"])
    return float(stats["wy"]) / w if w > 0 else 0.0


@njit(**NJIT_PARALLEL)
def _squared_error_kernel(y, raw, grad, hess):
    for i in prange(y.shape[0]):
        grad[i] = raw[i] - y[i]
        hess[i] = 1.0


@njit(**NJIT_PARALLEL)
def _logistic_kernel(y, raw, grad, hess):
    for i in prange(y.shape[0]):
        s = raw[i]
        # stable sigmoid
        if s >= 0:
            p = 1.0 / (1.0 + np.exp(-s))
        else:
            e = np.exp(s)
            p = e / (1.0 + e)
        grad[i] = p - y[i]
        hess[i] = p * (1.0 - p)


@register
class SquaredError(Objective):
    """Squared error ``L = 1/2 sum_i w_i (s_i - y_i)^2``: ``g = s - y``, ``h = 1``.

    Starts from the (weighted) mean label, like LightGBM's ``boost_from_average``.
    """

    name = "regression"
    aliases = ("squared_error", "l2")
    is_ranking = False

    def init_score(self):
        return self.init_score_

    def partition_statistics(self):
        return _weighted_label_sums(self)

    def set_global_statistics(self, stats):
        """Start score: the weighted mean label of all the rows."""
        self.init_score_ = weighted_mean_label(stats)

    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        _squared_error_kernel(self.y_, raw_score, grad, hess)

    def loss(self, raw_score):
        w = 1.0 if self.weight_ is None else self.weight_
        return float(0.5 * np.sum(w * (raw_score - self.y_) ** 2))


@register
class Logistic(Objective):
    """Logistic loss on labels in [0, 1] (binary labels or click rates).

    ``L = sum_i w_i [softplus(s_i) - y_i s_i]``, ``g = sigmoid(s) - y``,
    ``h = sigmoid(s) (1 - sigmoid(s))``; ``sigmoid(raw)`` is a probability.
    """

    name = "binary"
    aliases = ("logistic", "pointwise_logistic")
    is_ranking = False
    produces_probabilities = True

    def validate_labels(self, y):
        super().validate_labels(y)
        if np.any((y < 0) | (y > 1)):
            raise ValueError("objective 'binary' needs labels in [0, 1] (binary relevance or click rates)")

    def init_score(self):
        return self.init_score_

    def partition_statistics(self):
        return _weighted_label_sums(self)

    def set_global_statistics(self, stats):
        """Start score: ``logit`` of the weighted mean label of all the rows (clipped to [1e-15, 1 - 1e-15])."""
        p = min(max(weighted_mean_label(stats), 1e-15), 1 - 1e-15)
        self.init_score_ = float(np.log(p / (1 - p)))

    def _gradient_hessian(self, raw_score, grad, hess, iteration):
        _logistic_kernel(self.y_, raw_score, grad, hess)

    def loss(self, raw_score):
        w = 1.0 if self.weight_ is None else self.weight_
        return float(np.sum(w * (np.logaddexp(0.0, raw_score) - self.y_ * raw_score)))

    def transform(self, raw_score):
        from scipy.special import expit

        return expit(raw_score)
