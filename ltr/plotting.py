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


def _booster_of(model, what):
    """(booster, best_iteration) of a fitted LambdaRanker or a Booster."""
    from .booster import Booster

    if isinstance(model, Booster):
        return model, model.best_iteration
    booster = getattr(model, "booster_", None)
    if isinstance(booster, Booster):
        return booster, getattr(model, "best_iteration_", None)
    if hasattr(model, "get_params"):
        raise ValueError(f"{what}: this {type(model).__name__} is not fitted yet; call fit first")
    raise TypeError(f"{what} needs a fitted LambdaRanker or an ltr Booster, got {type(model).__name__}")


def plot_metric(model, metric=None, *, dataset_names=None, ax=None, title="Metric during training",
                xlabel="iteration", ylabel="auto", figsize=None, grid=True):
    """Learning curves: one evaluation metric per boosting iteration, one line per evaluation set.

    Parameters
    ----------
    model : LambdaRanker or dict
        A ranker fitted with ``eval_set`` (its ``evals_result_`` is drawn), or
        an ``evals_result`` dict ``{set name: {metric name: [value per iteration]}}``
        such as the one filled by `ltr.callbacks.RecordEvaluation`.
    metric : str or None, default=None
        The metric to draw (e.g. ``'ndcg@10'``); None takes the first metric
        recorded.
    dataset_names : list of str or None, default=None
        Evaluation sets to draw (default: all, in the order they were given to fit).
    ax : matplotlib Axes or None, default=None
        Where to draw; a new figure and Axes when None.
    title, xlabel : str
    ylabel : str, default='auto'
        'auto' uses the metric name.
    figsize : tuple or None
        Size of a new figure.
    grid : bool, default=True

    Returns
    -------
    ax : matplotlib Axes
        ``ax.lines`` holds one line per evaluation set, x = 1..n_iterations
        (the number of trees), y = the metric after that many trees. For a
        ranker stopped early, a dashed vertical line marks
        ``best_iteration_`` (it comes last in ``ax.lines``).
    """
    best = None
    if isinstance(model, dict):
        evals = model
    else:
        if not hasattr(model, "evals_result_"):
            if hasattr(model, "get_params"):
                raise ValueError(f"plot_metric: this {type(model).__name__} is not fitted yet; call fit first")
            raise TypeError(f"plot_metric needs a fitted LambdaRanker or an evals_result dict, "
                            f"got {type(model).__name__}")
        evals = model.evals_result_
        best = getattr(model, "best_iteration_", None)
    if not evals or not any(evals.values()):
        raise ValueError("plot_metric: no evaluation results to plot; fit with eval_set=[(X_valid, y_valid)] "
                         "(and eval_qid) to record them")
    names = list(evals) if dataset_names is None else list(dataset_names)
    missing = [n for n in names if n not in evals]
    if missing:
        raise ValueError(f"plot_metric: no evaluation set named {missing[0]!r}; recorded: {list(evals)}")
    if not names:
        raise ValueError("plot_metric: dataset_names is empty")
    recorded = list(evals[names[0]])
    if metric is None:
        if not recorded:
            raise ValueError(f"plot_metric: evaluation set {names[0]!r} recorded no metric")
        metric = recorded[0]
    curves = []
    for n in names:
        if metric not in evals[n]:
            raise ValueError(f"plot_metric: metric {metric!r} was not recorded on {n!r}; recorded: {list(evals[n])}")
        values = np.asarray(evals[n][metric], dtype=np.float64)
        if values.ndim != 1:
            raise ValueError(f"plot_metric: evals_result[{n!r}][{metric!r}] must be a list of numbers")
        curves.append((n, values))

    plt = _import_pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    for n, values in curves:
        ax.plot(np.arange(1, values.size + 1), values, label=n)
    if best is not None:
        ax.axvline(best, color="0.4", linestyle="--", linewidth=1, label=f"best iteration ({best})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(metric if ylabel == "auto" else ylabel)
    if title:
        ax.set_title(title)
    ax.grid(grid)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_importance(model, importance_type="split", max_num_features=20, *, ignore_zero=True, ax=None,
                    title="Feature importance", xlabel="auto", ylabel="feature", figsize=None, grid=True,
                    precision=3):
    """Horizontal bar chart of feature importances, the most important at the top.

    Parameters
    ----------
    model : LambdaRanker or Booster
        A fitted model. For a ranker stopped early, only the trees up to
        ``best_iteration_`` count (as in ``feature_importances_``).
    importance_type : {'split', 'gain'}, default='split'
        Number of splits on the feature, or the total gain of those splits.
    max_num_features : int or None, default=20
        Show at most this many features (None or 0: all).
    ignore_zero : bool, default=True
        Leave out features the model never splits on.
    ax : matplotlib Axes or None, default=None
    title, ylabel : str
    xlabel : str, default='auto'
        'auto' names the importance type.
    figsize : tuple or None
    grid : bool, default=True
    precision : int, default=3
        Decimals of the gain values written beside the bars.

    Returns
    -------
    ax : matplotlib Axes
        ``ax.patches`` holds the bars from the least to the most important
        shown feature (bottom to top); ``ax.get_yticklabels()`` their names.
    """
    booster, best = _booster_of(model, "plot_importance")
    if importance_type not in ("split", "gain"):
        raise ValueError(f"importance_type must be 'split' or 'gain', got {importance_type!r}")
    if max_num_features is not None and (not isinstance(max_num_features, (int, np.integer)) or max_num_features < 0):
        raise ValueError(f"max_num_features must be a non-negative integer or None, got {max_num_features!r}")
    importance = np.asarray(booster.feature_importance(importance_type, num_iteration=best), dtype=np.float64)
    names = booster.feature_names or [f"Column_{i}" for i in range(booster.n_features)]
    # Most important first; equal importances keep the feature order.
    order = np.argsort(-importance, kind="stable")
    if ignore_zero:
        order = order[importance[order] > 0]
    if max_num_features:
        order = order[:max_num_features]
    if order.size == 0:
        raise ValueError("plot_importance: no feature has a non-zero importance (the model has no split); "
                         "pass ignore_zero=False to draw them anyway")
    order = order[::-1]  # barh draws bottom-up
    values = importance[order]

    plt = _import_pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    ypos = np.arange(order.size)
    ax.barh(ypos, values, height=0.6, align="center")
    ax.set_yticks(ypos)
    ax.set_yticklabels([str(names[i]) for i in order])
    span = values.max() if values.size and values.max() > 0 else 1.0
    for y, v in zip(ypos, values):
        text = f"{int(v)}" if importance_type == "split" else f"{v:.{precision}f}"
        ax.text(v + 0.01 * span, y, text, va="center", fontsize="small")
    ax.set_xlim(0, span * 1.12)
    ax.set_xlabel(("number of splits" if importance_type == "split" else "total gain") if xlabel == "auto" else xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(grid, axis="x")
    return ax


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


__all__ = ["plot_metric", "plot_importance", "plot_reliability"]
