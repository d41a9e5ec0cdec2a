"""The distributed boosting loop and the driver's side of the row set.

The loop is `_boosting.train` with the rows on workers: the grower, the
split finder, the feature and query sampling and the callbacks are the
single-process ones; only the row set differs. Per tree the driver sends

    start (gradients on every partition) + histogram of the root       1 batch
    per split: the split, then the histogram of the smaller child     1 batch
    finish (raw scores += tree)                                        sent with the next start

so a tree with L leaves costs about L batches, each answered by one
summed histogram.

`DistributedRowSet` answers the grower's questions. A split must return the
number of rows sent left before the workers have applied it; the row set
computes it from the count channel of the leaf's histogram (exact: counts are
integers in float64) and queues the split command with the next batch. The
workers' own counts come back with that batch and are checked against it.
"""
import logging

import numpy as np

from .._boosting import _STREAM_FEATURES, sample_features
from .._random import iteration_rng
from ..callbacks import CallbackEnv
from .._symmetric import make_grower
from ..predictor import Ensemble

logger = logging.getLogger("ltr")


class DistributedRowSet:
    """The grower's row set over the partitions of a backend (see `_rowset.LocalRowSet`)."""

    def __init__(self, backend, missing_bin):
        self.backend = backend
        self.missing_bin = missing_bin
        self.pending = []
        self.expected = []  # n_left of each queued split, in order
        self.counts = {}
        self.last_split = None

    def reset(self, backend):
        """Continue on another backend (after a worker loss): nothing queued, no tree in progress."""
        self.backend = backend
        self.pending = []
        self.expected = []
        self.counts = {}
        self.last_split = None

    def queue(self, name, *args):
        self.pending.append((name, args))

    def flush(self):
        """Send the queued commands; returns their results."""
        if not self.pending:
            return []
        commands, self.pending = self.pending, []
        results = self.backend.execute(commands)
        expected, self.expected = self.expected, []
        got = [r for (name, _), r in zip(commands, results) if name == "split"]
        for want, have in zip(expected, got):
            if int(have) != want:
                raise RuntimeError(f"workers sent {int(have)} rows left, the histogram says {want}")
        return results

    def start_tree(self, iteration, bag):
        self.queue("start_iteration", iteration, bag)
        self.counts = {}
        self.last_split = None

    def histogram(self, leaf, feature_mask, out):
        """Fill `out` for the features of `feature_mask` (the workers send only those)."""
        self.queue("histogram", leaf, feature_mask)
        hist = self.flush()[-1]
        if hist.shape[0] == out.shape[0]:
            out[:] = hist
        else:
            out[np.flatnonzero(feature_mask)] = hist
        counts = out[:, :, 2].copy()
        self.counts[leaf] = counts
        if self.last_split is not None:
            left, right, parent = self.last_split
            if leaf in (left, right):
                other = right if leaf == left else left
                self.counts[other] = parent - counts
            self.last_split = None

    def split(self, leaf, right_leaf, feature, bin_idx, missing_left):
        c = self.counts.pop(leaf)
        row = c[feature]
        # bin_idx < missing_bin always: the last value bin at most
        n_left = int(round(row[:bin_idx + 1].sum() + (row[self.missing_bin] if missing_left else 0.0)))
        self.queue("split", leaf, right_leaf, feature, bin_idx, missing_left)
        self.expected.append(n_left)
        self.last_split = (leaf, right_leaf, c)
        return n_left


def train(backend, booster, tree_params, n_estimators, seed, sampling, n_queries, iteration_stats=False,
          eval_sets=(), metrics=(), callbacks=(), history=None, recover=None, max_retries=0, grow_policy="leafwise",
          score_function="newton"):
    """Add `n_estimators` trees to `booster`, the rows being on the backend's workers.

    Mirrors `_boosting.train`; the workers already hold binned partitions with
    objectives set up and raw scores initialised.

    Parameters
    ----------
    iteration_stats : bool
        The objective updates learned state after each tree from all the
        data (DLA): the driver's objective runs
        ``after_iteration_distributed(iteration, reduce)``, each ``reduce``
        a batch summing a method of the partitions' objectives, and the
        update it returns is sent to every partition.
    history : list or None
        If given, receives one dict per iteration with the traffic counted
        during that iteration (benchmarks; a tree's "finish" command travels
        with the next iteration's first batch and is counted there).
    recover : callable(booster, WorkerLostError) -> backend, or None
        Called when a worker is lost: returns a new backend whose workers
        hold every partition with raw scores of the trees in `booster` and
        the objective state of `booster.objective`. The interrupted iteration
        is then run again; every random choice depends on (seed, iteration)
        only, so the model is the one an uninterrupted run builds.
    max_retries : int
        Worker losses survived before `WorkerLostError` propagates.

    Returns
    -------
    evals_result : dict
    stopped_early : bool
    """
    from ._reduce import WorkerLostError

    objective = booster.objective
    n_features = booster.n_features
    grower = make_grower(n_features, booster.bin_mapper, tree_params, grow_policy, score_function)
    rowset = DistributedRowSet(backend, booster.bin_mapper.missing_bin_)
    missing_bin = booster.bin_mapper.missing_bin_
    eval_raw = [booster.predict_binned(es.X_binned) if booster.trees
                else np.full(es.X_binned.shape[0], booster.init_score) for es in eval_sets]

    begin = booster.n_trees
    end = begin + n_estimators
    evals_result = {es.name: {name: [] for name, _, _ in metrics} for es in eval_sets}
    higher = {name: hib for name, _, hib in metrics}
    env = CallbackEnv(booster=booster, iteration=begin, begin_iteration=begin, end_iteration=end,
                      evals_result=evals_result, higher_is_better=higher)
    for cb in callbacks:
        cb.before_training(env)

    use_bagging = sampling.subsample < 1.0 and sampling.subsample_freq > 0
    stopped = False
    retries = 0
    it = begin
    while it < end:
        before = rowset.backend.traffic.snapshot()
        state_before = objective.state()
        try:
            tree = _one_tree(rowset, grower, booster, objective, it, seed, sampling, use_bagging, n_queries,
                             n_features, iteration_stats)
        except WorkerLostError as exc:
            if recover is None or retries >= max_retries:
                raise
            retries += 1
            logger.warning("%s; retrying iteration %d on the remaining workers (%d/%d)", exc, it, retries,
                           max_retries)
            booster.truncate(it)  # a tree of the interrupted iteration may already be in
            objective.set_state(state_before)
            rowset.reset(recover(booster, exc))
            continue
        if history is not None:
            after = rowset.backend.traffic.snapshot()
            history.append({k: after[k] - before[k] for k in after})

        ens = Ensemble([tree])  # one-tree ensemble: incremental score updates, as `_boosting.train`
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
        it += 1
        if any([cb.after_iteration(env) for cb in callbacks]):
            stopped = True
            break
    # The last tree's "finish" is not sent: the workers' scores are not needed any more.
    rowset.pending = []
    return evals_result, stopped


def _one_tree(rowset, grower, booster, objective, it, seed, sampling, use_bagging, n_queries, n_features,
              iteration_stats):
    """Grow tree `it` on the workers and add it to `booster` (its score update is queued)."""
    bag = None
    if use_bagging:
        refresh = it - (it % sampling.subsample_freq)
        bag = (int(seed), int(refresh), float(sampling.subsample), int(n_queries))
    mask = sample_features(n_features, sampling.colsample_bytree, iteration_rng(seed, it, _STREAM_FEATURES))
    rowset.start_tree(it, bag)
    tree = grower.grow(rowset, mask)
    booster.add_tree(tree)
    rowset.queue("finish_tree", tree, it)
    if iteration_stats:
        def reduce(name, *args):
            rowset.queue("objective_reduce", name, args)  # the first one also carries "finish_tree"
            return rowset.flush()[-1]

        update = objective.after_iteration_distributed(it, reduce)
        rowset.queue("objective_apply", update, it)
    return tree
