"""Unbiased learning to rank from click logs: click simulation and propensity tools.

* :func:`simulate_clicks`: position-based or cascade clicks for labelled rows.
* :func:`make_click_log`: the semi-synthetic protocol of the DLA paper
  (production ranker on a few labelled queries, top-k lists, many sessions),
  returning a compact :class:`ClickLog`.
* :func:`true_propensity`, :func:`click_probability`: the simulator's parameters.
* :func:`estimate_propensity_em`, :func:`estimate_propensity_dla`,
  :func:`ctr_propensity`: propensities from a feature-less click log.
* :func:`estimate_propensity_within_position`: a cross-fitted relevance
  model trained on within-position contrasts, then the position-based
  model (the default of :func:`estimate_propensity_cross_fit`), for logs
  where each query always shows the same list;
  :func:`estimate_propensity_cross_fit` with ``method='dla'`` iterates DLA
  with out-of-fold relevance instead.

The learning objectives themselves (``'ipw'``, ``'dla'``,
``'unbiased_lambdamart'``) live in :mod:`ltr.objectives.unbiased`.
"""
from ._propensity import (
    PropensityEstimate,
    ctr_propensity,
    estimate_propensity_dla,
    estimate_propensity_em,
    relative_error,
)
from ._cross_fit import estimate_propensity_cross_fit
from ._within_position import estimate_propensity_within_position
from ._protocol import ClickLog, ClickTable, LinearScorer, make_click_log
from ._simulation import EYE_TRACKING_EXAMINATION, click_probability, simulate_clicks, true_propensity

__all__ = [
    "EYE_TRACKING_EXAMINATION",
    "ClickLog",
    "ClickTable",
    "LinearScorer",
    "PropensityEstimate",
    "click_probability",
    "ctr_propensity",
    "estimate_propensity_cross_fit",
    "estimate_propensity_dla",
    "estimate_propensity_em",
    "estimate_propensity_within_position",
    "make_click_log",
    "relative_error",
    "simulate_clicks",
    "true_propensity",
]
