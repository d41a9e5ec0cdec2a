"""Evaluation metrics for rankings (``ltr.metrics``).

Ranking metrics take ``(y_true, y_score)`` with ``qid`` (one id per row, any
order) or ``group`` (query sizes) and return the mean over queries, or the
per-query values with ``per_query=True``. The training loop evaluates
validation sets with the same code through `parse_metric` / `evaluate`, so
``evals_result_`` and these functions agree exactly.
"""
from ._ranking import (
    METRIC_OPTIONS,
    Metric,
    dcg_score,
    err_score,
    evaluate,
    map_score,
    mrr_score,
    ndcg_score,
    parse_metric,
    precision_score,
)

from ._calibration import brier_score, expected_calibration_error, log_loss, reliability_curve  # noqa: E402

__all__ = [
    "log_loss",
    "brier_score",
    "expected_calibration_error",
    "reliability_curve",
    "Metric",
    "METRIC_OPTIONS",
    "parse_metric",
    "evaluate",
    "ndcg_score",
    "dcg_score",
    "map_score",
    "mrr_score",
    "err_score",
    "precision_score",
]
