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
import numpy as np

from .._boosting import _STREAM_FEATURES, sample_features
from .._random import iteration_rng
from ..callbacks import CallbackEnv
from ..grower import TreeGrower
from ..predictor import Ensemble


class DistributedRowSet:
    """The grower's row set over the partitions of a backend (see `_rowset.LocalRowSet`)."""

    def __init__(self, backend, missing_bin):
        self.backend = backend
        self.missing_bin = missing_bin
        self.pending = []
        self.expected = []  # n_left of each queued split, in order
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
        n_left = row[:bin_idx + 1].sum() + (row[self.missing_bin] if missing_left and bin_idx < self.missing_bin else 0.0)
        n_left = int(round(n_left))
        self.queue("split", leaf, right_leaf, feature, bin_idx, missing_left)
        self.expected.append(n_left)
        self.last_split = (leaf, right_leaf, c)
        return n_left


def train(backend, booster, tree_params, n_estimators, seed, sampling, n_queries, iteration_stats=False,
          eval_sets=(), metrics=(), callbacks=(), history=None):
    """Add `n_estimators` trees to `booster`, the rows being on the backend's workers.

    Mirrors `_boosting.train`; the workers already hold binned partitions with
    objectives set up and raw scores initialised.

    Parameters
    ----------
    iteration_stats : bool
        The objective updates state after each tree from a sum over queries
        (DLA): the sums of every partition are reduced, applied to the
        driver's objective and broadcast to the partitions.
    history : list or None
        If given, receives one dict per iteration with the traffic counted
        during that iteration (benchmarks; a tree's "finish" command travels
        with the next iteration's first batch and is counted there).

    Returns
    -------
    evals_result : dict
    stopped_early : bool
    """
    objective = booster.objective
    n_features = booster.n_features
    grower = TreeGrower(n_features, booster.bin_mapper, tree_params)
    rowset = DistributedRowSet(backend, booster.bin_mapper.missing_bin_)
    missing_bin = booster.bin_mapper.missing_bin_
    eval_raw = [booster.predict_binned(es.X_binned) if booster.trees else np.full(es.X_binned.shape[0], booster.init_score)
                for es in eval_sets]

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
    try:
        for it in range(begin, end):
            before = backend.traffic.snapshot()
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
                rowset.queue("iteration_statistics", it)
                stats = rowset.flush()[-1]
                objective.apply_iteration_statistics(stats, it)
                rowset.queue("apply_iteration_statistics", stats, it)
            if history is not None:
                after = backend.traffic.snapshot()
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
            if any([cb.after_iteration(env) for cb in callbacks]):
                stopped = True
                break
        rowset.flush()
    finally:
        rowset.pending = []
    return evals_result, stopped
