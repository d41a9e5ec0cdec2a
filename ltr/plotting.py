"""Plots of model behaviour. Needs matplotlib (``pip install ltr[plot]``), imported only when a plot is drawn."""
import numpy as np


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "ltr.plotting needs matplotlib; install it with `pip install matplotlib` or `pip install ltr[plot]`"
        ) from None
    return plt


def plot_reliability(y_true, y_prob, *, n_bins=10, strategy="quantile", sample_weight=None, ax=None):
    """Reliability diagram: observed frequency against mean predicted probability per bin.

    Draws the diagonal of perfect calibration and one line per model; the
    legend gives each model's expected calibration error on the same bins
    (`ltr.metrics.expected_calibration_error`).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels in [0, 1] (binary relevance or rates).
    y_prob : array-like of shape (n_samples,) or dict of str -> array-like
        Predicted probabilities (e.g. ``LambdaRanker.predict_proba(X)``), or
        a mapping from a model name to its predictions, drawn in the mapping's
        order.
    n_bins : int, default=10
        Number of bins (empty ones are dropped).
    strategy : {'quantile', 'uniform'}, default='quantile'
        Equal-mass or equal-width bins (see `ltr.metrics.reliability_curve`).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure and Axes when None.

    Returns
    -------
    ax : matplotlib Axes
        ``ax.lines[0]`` is the diagonal, then one line per model, whose data
        are ``reliability_curve``'s ``(mean_predicted, observed_frequency)``.
    """
    from .metrics._calibration import expected_calibration_error, reliability_curve

    if isinstance(y_prob, dict):
        if not y_prob:
            raise ValueError("y_prob is an empty dict; give at least one model's predictions")
        curves = list(y_prob.items())
    else:
        curves = [(None, y_prob)]
    # compute everything first, so that bad input raises before a figure is made
    drawn = []
    for name, p in curves:
        mean_pred, obs_freq, _ = reliability_curve(
            y_true, p, n_bins=n_bins, strategy=strategy, sample_weight=sample_weight
        )
        ece = expected_calibration_error(y_true, p, n_bins=n_bins, strategy=strategy, sample_weight=sample_weight)
        label = f"ECE {ece:.4f}" if name is None else f"{name} (ECE {ece:.4f})"
        drawn.append((label, mean_pred, obs_freq))

    plt = _import_pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0.0, 1.0], [0.0, 1.0], linestyle="--", color="0.5", linewidth=1, label="perfectly calibrated")
    for label, mean_pred, obs_freq in drawn:
        ax.plot(np.asarray(mean_pred), np.asarray(obs_freq), marker="o", markersize=4, label=label)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"Reliability ({strategy} bins, n_bins={n_bins})")
    ax.legend(loc="upper left", fontsize="small")
    return ax


__all__ = ["plot_reliability"]
