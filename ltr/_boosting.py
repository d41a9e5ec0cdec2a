"""The boosting loop, with no scikit-learn in it.

    raw = init_score (+ trees of an init model)
    for each iteration m:
        g, h = objective.gradient_hessian(raw)
        rows = all rows, or a subsample of whole queries
        tree = grow(rows, g, h, feature subsample)       # leaf values scaled by learning_rate
        raw += tree(x)
        objective.after_iteration(raw)                    # e.g. DLA's propensity update
        evaluate the metrics on the evaluation sets; callbacks may stop

Every random choice comes from (seed, iteration): a model trained in one
call equals one trained in two calls that continue from the saved first part.
"""
import logging
from dataclasses import dataclass

import numpy as np

from ._dtypes import IDX_DTYPE
from ._random import iteration_rng
from .booster import Booster
from .callbacks import CallbackEnv
from ._rowset import LocalRowSet
from ._symmetric import make_grower, split_noise_sigma
from .grower import TreeParams
from .predictor import Ensemble

logger = logging.getLogger("ltr")

# Streams of iteration_rng, one per kind of random choice.
_STREAM_ROWS = 1
_STREAM_FEATURES = 2
_STREAM_SPLIT_NOISE = 3


@dataclass
class EvalSet:
    """A binned evaluation set with its labels and query offsets."""

    name: str
    X_binned: np.ndarray
    y: np.ndarray
    group_ptr: np.ndarray


@dataclass
class SamplingParams:
    subsample: float = 1.0
    subsample_freq: int = 0
    colsample_bytree: float = 1.0


def sample_queries(group_ptr, fraction, rng):
    """Rows (int32, increasing) of a random subset of round(fraction * n_queries) queries."""
    n_queries = group_ptr.shape[0] - 1
    k = max(1, int(round(fraction * n_queries)))
    chosen = np.sort(rng.choice(n_queries, size=k, replace=False))
    starts, ends = group_ptr[chosen], group_ptr[chosen + 1]
    lengths = ends - starts
    # rows = concatenation of ranges starts[i]:ends[i]
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return (np.arange(lengths.sum(), dtype=np.int64) + offsets).astype(IDX_DTYPE)


def sample_features(n_features, fraction, rng):
    mask = np.zeros(n_features, dtype=np.uint8)
    if fraction >= 1.0:
        mask[:] = 1
        return mask
    k = max(1, int(round(fraction * n_features)))
    mask[rng.choice(n_features, size=k, replace=False)] = 1
    return mask


def train(X_binned, y, group_ptr, booster, tree_params: TreeParams, n_estimators, seed, sampling=SamplingParams(),
          eval_sets=(), metrics=(), callbacks=(), grow_policy="leafwise", score_function="newton",
          random_strength=0.0):
    """Add `n_estimators` trees to `booster` (whose objective is already set up).

    Parameters
    ----------
    X_binned : ndarray of uint8 (n_samples, n_features), grouped row order
    y : ndarray of float64, grouped
    group_ptr : ndarray of int64
    booster : Booster
        Empty or holding the trees of an init model; modified in place.
    metrics : list of (name, callable(y, score, group_ptr) -> float, higher_is_better)
    callbacks : list of Callback
    grow_policy : {'leafwise', 'symmetric'}
        Tree shape (`grower.TreeGrower` or `_symmetric.SymmetricTreeGrower`).
    score_function, random_strength
        Symmetric trees only: the structure score and the split-score noise
        (``_symmetric.split_noise_sigma``; drawn from (seed, iteration)).

    Returns
    -------
    evals_result : dict {set name: {metric: [value per iteration]}}
    stopped_early : bool
    """
    objective = booster.objective
    n_samples, n_features = X_binned.shape
    rowset = LocalRowSet(X_binned, booster.bin_mapper.missing_bin_)
    grower = make_grower(n_features, booster.bin_mapper, tree_params, grow_policy, score_function,
                         hist_width=rowset.HIST_WIDTH)
    missing_bin = booster.bin_mapper.missing_bin_

    raw = booster.predict_binned(X_binned) if booster.trees else np.full(n_samples, booster.init_score)
    eval_raw = [booster.predict_binned(es.X_binned) if booster.trees else np.full(es.X_binned.shape[0], booster.init_score)
                for es in eval_sets]
    grad = np.zeros(n_samples, dtype=np.float64)
    hess = np.zeros(n_samples, dtype=np.float64)

    begin = booster.n_trees
    end = begin + n_estimators
    evals_result = {es.name: {name: [] for name, _, _ in metrics} for es in eval_sets}
    higher = {name: hib for name, _, hib in metrics}
    env = CallbackEnv(booster=booster, iteration=begin, begin_iteration=begin, end_iteration=end,
                      evals_result=evals_result, higher_is_better=higher)
    for cb in callbacks:
        cb.before_training(env)

    use_bagging = sampling.subsample < 1.0 and sampling.subsample_freq > 0
    bag_rows = None
    stopped = False
    for it in range(begin, end):
        objective.gradient_hessian(raw, grad, hess, it)
        if use_bagging:
            if bag_rows is None or (it % sampling.subsample_freq) == 0:
                # the bag of iteration `it` depends only on the last refresh iteration
                refresh = it - (it % sampling.subsample_freq)
                bag_rows = sample_queries(group_ptr, sampling.subsample, iteration_rng(seed, refresh, _STREAM_ROWS))
            rows = bag_rows.copy()
        else:
            rows = np.arange(n_samples, dtype=IDX_DTYPE)
        mask = sample_features(n_features, sampling.colsample_bytree, iteration_rng(seed, it, _STREAM_FEATURES))
        rowset.start_tree(rows, grad, hess)
        if random_strength > 0.0:
            sigma = split_noise_sigma(random_strength, grad[rows], n_samples, it, tree_params.learning_rate)
            tree = grower.grow(rowset, mask, noise=(iteration_rng(seed, it, _STREAM_SPLIT_NOISE), sigma))
        else:
            tree = grower.grow(rowset, mask)
        booster.add_tree(tree)
        # A one-tree ensemble updates scores incrementally (no re-concatenation of all trees).
        ens = Ensemble([tree])
        if use_bagging:
            # rows outside the bag were not partitioned: predict them all
            ens.predict_binned(X_binned, missing_bin, 0.0, 0, 1, out=raw, add=True)
        else:
            rowset.add_leaf_values(tree.leaf_value, raw)
        objective.after_iteration(raw, it)

        evaluation = {}
        for es, er in zip(eval_sets, eval_raw):
            ens.predict_binned(es.X_binned, missing_bin, 0.0, 0, 1, out=er, add=True)
            evaluation[es.name] = {}
            for name, fn, _ in metrics:
                v = float(fn(es.y, er, es.group_ptr))
                evaluation[es.name][name] = v
                evals_result[es.name][name].append(v)
        env.iteration = it
        env.evaluation = evaluation
        if any([cb.after_iteration(env) for cb in callbacks]):
            stopped = True
            break
    return evals_result, stopped
