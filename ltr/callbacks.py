"""Training callbacks: early stopping, logging, recording.

A callback is an object with ``before_training(env)`` and
``after_iteration(env) -> bool``; returning True stops training. ``env`` is a
`CallbackEnv` describing the state after the iteration.
"""
from dataclasses import dataclass, field


@dataclass
class CallbackEnv:
    """What a callback sees after an iteration.

    Attributes
    ----------
    booster : Booster
        The model so far.
    iteration : int
        0-based index of the tree just added (counting trees of an init model).
    begin_iteration, end_iteration : int
        The range of iterations of this call to fit.
    evaluation : dict
        ``{data_name: {metric_name: value}}`` for this iteration.
    evals_result : dict
        ``{data_name: {metric_name: [values so far]}}``.
    higher_is_better : dict
        ``{metric_name: bool}``.
    """

    booster: object
    iteration: int
    begin_iteration: int
    end_iteration: int
    evaluation: dict = field(default_factory=dict)
    evals_result: dict = field(default_factory=dict)
    higher_is_better: dict = field(default_factory=dict)


class Callback:
    """Base class: override the hooks you need."""

    def before_training(self, env):
        pass

    def after_iteration(self, env):
        return False


def should_stop(scores, rounds, higher_is_better, min_delta=0.0):
    """True when the best of `scores` is more than `rounds` iterations old.

    An improvement must beat the best so far by more than `min_delta`.
    """
    if len(scores) <= rounds:
        return False
    best_index = best_iteration(scores, higher_is_better, min_delta)
    return len(scores) - 1 - best_index >= rounds


def best_iteration(scores, higher_is_better, min_delta=0.0):
    """Index of the first score that no later score beats by more than `min_delta`."""
    best_i = 0
    best = scores[0]
    for i, s in enumerate(scores[1:], start=1):
        better = s > best + min_delta if higher_is_better else s < best - min_delta
        if better:
            best, best_i = s, i
    return best_i


class EarlyStopping(Callback):
    """Stop when `metric` on `data_name` has not improved for `rounds` iterations.

    Parameters
    ----------
    rounds : int
    metric : str or None
        Metric to watch; None watches the first metric recorded.
    data_name : str or None
        Evaluation set to watch; None watches the last one given to fit.
    min_delta : float
        Minimum improvement that counts.
    save_best : bool
        Keep only the trees up to the best iteration when training stops
        (``best_iteration_`` is set either way; predict uses it).
    """

    def __init__(self, rounds, metric=None, data_name=None, min_delta=0.0, save_best=False):
        if int(rounds) < 1:
            raise ValueError(f"early stopping rounds must be >= 1, got {rounds}")
        self.rounds = int(rounds)
        self.metric = metric
        self.data_name = data_name
        self.min_delta = float(min_delta)
        self.save_best = save_best
        self.best_iteration = None
        self.best_score = None

    def _series(self, env):
        if not env.evals_result:
            raise ValueError("early stopping needs at least one evaluation set (eval_set)")
        data = self.data_name if self.data_name is not None else list(env.evals_result)[-1]
        if data not in env.evals_result:
            raise ValueError(f"early stopping data {data!r} is not among the evaluation sets {list(env.evals_result)}")
        metrics = env.evals_result[data]
        metric = self.metric if self.metric is not None else next(iter(metrics))
        if metric not in metrics:
            raise ValueError(f"early stopping metric {metric!r} is not among the evaluated metrics {list(metrics)}")
        return data, metric, metrics[metric]

    def after_iteration(self, env):
        data, metric, scores = self._series(env)
        hib = env.higher_is_better.get(metric, True)
        bi = best_iteration(scores, hib, self.min_delta)
        self.best_iteration = env.begin_iteration + bi
        self.best_score = {data: {metric: scores[bi]}}
        return should_stop(scores, self.rounds, hib, self.min_delta)


class LogEvaluation(Callback):
    """Print the evaluation every `period` iterations (through `print_fn`)."""

    def __init__(self, period=1, print_fn=print):
        self.period = int(period)
        self.print_fn = print_fn

    def after_iteration(self, env):
        if self.period > 0 and env.evaluation and (env.iteration + 1) % self.period == 0:
            parts = [f"{d} {m}: {v:.6f}" for d, ms in env.evaluation.items() for m, v in ms.items()]
            self.print_fn(f"[{env.iteration + 1}]\t" + "\t".join(parts))
        return False


class RecordEvaluation(Callback):
    """Copy the evaluation history into the user's dict `result`."""

    def __init__(self, result):
        if not isinstance(result, dict):
            raise TypeError("RecordEvaluation needs a dict to record into")
        self.result = result

    def after_iteration(self, env):
        self.result.clear()
        for d, ms in env.evals_result.items():
            self.result[d] = {m: list(v) for m, v in ms.items()}
        return False
