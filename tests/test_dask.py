"""Distributed training (ltr.dask) against single-process training.

Two layers:

- no cluster: the partition logic, the loader and the reduction protocol run
  in this process (`InProcessBackend`), and models are compared with
  `LambdaRanker` on the same data;
- one `LocalCluster(n_workers=2, processes=True)` for the module: the same
  comparisons through real Dask actors, dask arrays and DataFrames, lazy
  predict, and a worker killed mid-training.

"Same model" means: identical bin thresholds, identical tree structure
(features, threshold bins, missing directions) and leaf values within 1e-9
(histograms are sums added in another order, nothing else differs).
"""
import os
import signal
import sys

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import cloudpickle  # noqa: E402
import dask.array as da  # noqa: E402

from ltr import LambdaRanker  # noqa: E402
from ltr._random import mix_seed, resolve_seed  # noqa: E402
from ltr.callbacks import Callback  # noqa: E402
from ltr._canonical import hash_sample, row_hashes  # noqa: E402
from ltr.dask import DaskLambdaRanker, WorkerLostError  # noqa: E402
from ltr.dask._loader import (PartitionPlan, as_dask_inputs, assign_partitions, partition_payloads,  # noqa: E402
                              plan_partitions)
from ltr.dask._partition import (Partition, PartitionStateError, WorkerPartitions,  # noqa: E402
                                 check_objective_supported, combine, reduce_partition_statistics)
from ltr.dask._reduce import InProcessBackend, payload_nbytes, reduction_tree  # noqa: E402
from ltr.dask._training import DistributedRowSet  # noqa: E402
from ltr.objectives import Objective  # noqa: E402

# The toy objectives below are defined here; workers receive them by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

LEAF_TOL = 1e-9
# One kernel thread everywhere: models do not depend on it, and the CI machine is shared.


# ----------------------------------------------------------------------------------------------------------------
# Data and toy objectives
# ----------------------------------------------------------------------------------------------------------------
def make_data(n_queries=300, n_features=10, seed=0, missing=0.0):
    """Queries of 2..29 rows, graded labels 0..4, one low-cardinality feature, a fraction of NaN."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 30, n_queries)
    n = int(sizes.sum())
    X = rng.normal(size=(n, n_features))
    X[rng.random((n, n_features)) < missing] = np.nan
    X[:, n_features - 1] = rng.integers(0, 5, n)
    y = np.clip(np.round(np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) + rng.normal(0, 0.5, n)), 0, 4)
    qid = np.repeat(np.arange(n_queries) * 7 + 3, sizes)  # ids need not be 0..n-1
    position = np.concatenate([np.arange(1, s + 1) for s in sizes])
    return X, y, qid, sizes, position


class NoisyQueryRegression(Objective):
    """Stochastic toy objective: squared error plus noise drawn per (seed, iteration, global query)."""

    name = "test_noisy_query_regression"
    is_ranking = True
    is_stochastic = True
    supports_query_offset = True
    query_offset_ = 0

    def __init__(self, noise=0.3):
        super().__init__()
        self.noise = noise

    def get_params(self):
        return {"noise": self.noise}

    def _gradient_hessian(self, raw, grad, hess, iteration):
        ptr = self.group_ptr_
        for q in range(ptr.shape[0] - 1):
            a, b = ptr[q], ptr[q + 1]
            rng = np.random.default_rng(int(mix_seed(np.uint64(self.seed_), np.int64(iteration),
                                                     np.int64(q + self.query_offset_))))
            grad[a:b] = raw[a:b] - self.y_[a:b] + self.noise * rng.standard_normal(b - a)
            hess[a:b] = 1.0


class PositionReweighted(Objective):
    """DLA-shaped toy: per-position weights learned from sums over all queries.

    Setup: start score = global mean label, weights from global per-position
    label means (partition statistics). After each tree: weights from global
    per-position residual sums, in two dependent rounds of reductions.
    """

    name = "test_position_reweighted"
    is_ranking = True
    n_positions = 40

    def get_params(self):
        return {}

    def _local_setup_stats(self):
        pos = np.clip(self.position_.astype(np.int64), 1, self.n_positions) - 1
        return {"y_sum": ("sum", np.array([self.y_.sum()])), "n": ("sum", np.array([float(self.y_.shape[0])])),
                "pos_y": ("sum", np.bincount(pos, weights=self.y_, minlength=self.n_positions)),
                "pos_n": ("sum", np.bincount(pos, minlength=self.n_positions).astype(np.float64)),
                "y_max": ("max", np.array([self.y_.max()]))}

    def _setup(self):
        self._pos = np.clip(self.position_.astype(np.int64), 1, self.n_positions) - 1
        # Single process: the local statistics are the global ones.
        self.set_global_statistics({k: v for k, (op, v) in self._local_setup_stats().items()})

    def partition_statistics(self):
        return self._local_setup_stats()

    def set_global_statistics(self, stats):
        self.mean_ = float(stats["y_sum"][0] / stats["n"][0])
        self.w_ = (stats["pos_y"] + 1.0) / (stats["pos_n"] + 1.0) / (stats["y_max"][0] + 1.0) + 0.5

    def init_score(self):
        return self.mean_

    def _gradient_hessian(self, raw, grad, hess, iteration):
        w = self.w_[self._pos]
        grad[:] = w * (raw - self.y_)
        hess[:] = w

    # After each tree: two rounds of reductions (the second depends on the first's result), as DLA's
    # fixed-point iterations do.
    def _residual_sums(self, raw):
        r = np.abs(raw - self.y_)
        return np.concatenate([np.bincount(self._pos, weights=r, minlength=self.n_positions),
                               np.bincount(self._pos, minlength=self.n_positions).astype(np.float64)])

    def _spread(self, raw, centre):
        return np.bincount(self._pos, weights=(np.abs(raw - self.y_) - centre[self._pos]) ** 2,
                           minlength=self.n_positions)

    def after_iteration_distributed(self, iteration, reduce):
        k = self.n_positions
        sums = reduce("_residual_sums")
        centre = sums[:k] / np.maximum(sums[k:], 1.0)
        spread = reduce("_spread", centre)
        update = 0.5 * self.w_ + 0.5 * (sums[k:] + 1.0) / (sums[:k] + 1.0 + spread) / 4.0
        self.apply_update(update, iteration)
        return update

    def apply_update(self, update, iteration):
        self.w_ = np.array(update, dtype=np.float64)

    def after_iteration(self, raw, iteration):
        self.after_iteration_distributed(iteration, lambda name, *args: getattr(self, name)(raw, *args))

    def state(self):
        return {"w": self.w_.tolist(), "mean": self.mean_}

    def set_state(self, state):
        if state:
            self.w_ = np.asarray(state["w"], dtype=np.float64)
            self.mean_ = state["mean"]


class GlobalMeanNoProtocol(Objective):
    """Starts from the mean label but exposes no partition statistics: must be refused."""

    name = "test_global_mean"
    is_ranking = False

    def init_score(self):
        return float(self.y_.mean())

    def _gradient_hessian(self, raw, grad, hess, iteration):
        grad[:] = raw - self.y_
        hess[:] = 1.0


# ----------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------
def fit_in_process(est, X, y, sizes, n_parts, n_workers, position=None, weight=None):
    """DaskLambdaRanker's training on an in-process backend (queries cut evenly into partitions)."""
    plan, workers = _in_process_workers(X, y, sizes, n_parts, n_workers, weight=weight, position=position)
    est._validate_params()
    objective = est._make_objective()
    iteration_stats = check_objective_supported(objective)
    est.n_features_in_ = X.shape[1]
    return est._fit_backend(InProcessBackend(workers), plan, X.shape[0], X.shape[1], resolve_seed(est.random_state),
                            objective, None, iteration_stats, [], None, None, None)


def assert_same_model(single, dist, X, structure=True):
    """Same bins; same trees: structure (unless `structure=False`) and leaf values within LEAF_TOL.

    With ``structure=False`` a tree may encode a split differently when two
    encodings are exact ties (see `assert_same_functions`).
    """
    if not structure:
        return assert_same_functions(single, dist, X)
    a, b = single.booster_, dist.booster_
    for f, (s, t) in enumerate(zip(a.bin_mapper.thresholds_, b.bin_mapper.thresholds_)):
        np.testing.assert_array_equal(s, t, err_msg=f"bin thresholds of feature {f}")
    assert a.n_trees == b.n_trees
    assert a.init_score == b.init_score
    for i, (ta, tb) in enumerate(zip(a.trees, b.trees)):
        for field in ("split_feature", "threshold_bin", "missing_left", "left_child", "right_child"):
            np.testing.assert_array_equal(getattr(ta, field), getattr(tb, field), err_msg=f"tree {i} {field}")
        np.testing.assert_array_equal(ta.leaf_count, tb.leaf_count, err_msg=f"tree {i} leaf counts")
        np.testing.assert_allclose(tb.leaf_value, ta.leaf_value, rtol=0, atol=LEAF_TOL, err_msg=f"tree {i}")
    np.testing.assert_allclose(dist.predict(X), single.predict(X), rtol=0, atol=1e-8)


def assert_same_functions(single, dist, X):
    """Same bins; every tree gives every training row the same value (within LEAF_TOL).

    Two encodings of one split tie exactly in gain and are broken by rounding
    noise, which differs between one histogram and a sum of partial ones:
    "missing values right, all values left" equals "missing left, threshold
    below the lowest value present"; thresholds inside a run of empty bins are
    equivalent. Such trees partition the training rows identically.
    """
    a, b = single.booster_, dist.booster_
    for f, (s, t) in enumerate(zip(a.bin_mapper.thresholds_, b.bin_mapper.thresholds_)):
        np.testing.assert_array_equal(s, t, err_msg=f"bin thresholds of feature {f}")
    assert a.n_trees == b.n_trees and a.init_score == b.init_score
    Xb = a.bin_mapper.transform(np.asarray(X, dtype=np.float64))
    ea, eb = a._ensemble(), b._ensemble()
    for i in range(a.n_trees):
        va = ea.predict_binned(Xb, a.bin_mapper.missing_bin_, 0.0, i, i + 1)
        vb = eb.predict_binned(Xb, b.bin_mapper.missing_bin_, 0.0, i, i + 1)
        np.testing.assert_allclose(vb, va, rtol=0, atol=LEAF_TOL, err_msg=f"tree {i} on the training rows")


def max_leaf_difference(single, dist):
    return max(float(np.abs(ta.leaf_value - tb.leaf_value).max())
               for ta, tb in zip(single.booster_.trees, dist.booster_.trees))


# ----------------------------------------------------------------------------------------------------------------
# Pieces, no cluster
# ----------------------------------------------------------------------------------------------------------------
def test_reduction_tree_is_a_binary_heap():
    assert reduction_tree(1) == (0, [])
    assert reduction_tree(5) == (0, [(1, [(3, []), (4, [])]), (2, [])])

    def ranks(node):
        return [node[0]] + [r for c in node[1] for r in ranks(c)]

    assert sorted(ranks(reduction_tree(13))) == list(range(13))


def test_combine_and_payload_size():
    assert combine(None, 3) == 3 and combine(2, None) == 2 and combine(2, 3) == 5
    np.testing.assert_array_equal(combine(np.ones(3), np.ones(3)), 2 * np.ones(3))
    assert combine({0: "a"}, {1: "b"}) == {0: "a", 1: "b"}
    hist = np.zeros((10, 256, 3))
    assert payload_nbytes([hist, None, 5]) == hist.nbytes + 8


def test_reduce_partition_statistics():
    stats = reduce_partition_statistics([{"s": ("sum", [1.0, 2.0]), "m": ("max", 3.0)}, None,
                                         {"s": ("sum", [10.0, 20.0]), "m": ("max", 1.0)}])
    np.testing.assert_array_equal(stats["s"], [11.0, 22.0])
    assert float(stats["m"]) == 3.0
    with pytest.raises(ValueError, match="unknown reduction"):
        reduce_partition_statistics([{"s": ("median", 1.0)}])


def _in_process_workers(X, y, sizes, n_parts, n_workers, weight=None, position=None):
    qs = np.linspace(0, len(sizes), n_parts + 1).astype(np.int64)
    plan = PartitionPlan(query_start=qs, group_sizes=np.asarray(sizes), query_ids=np.arange(len(sizes)))
    ptr = plan.group_ptr

    def cut(a, p):
        return None if a is None else a[ptr[qs[p]]:ptr[qs[p + 1]]]

    payloads = [(p, cut(X, p), cut(y, p), cut(weight, p), cut(position, p), plan.sizes(p), ptr[qs[p]], qs[p])
                for p in range(n_parts)]
    return plan, [WorkerPartitions(r, [payloads[p] for p in range(n_parts) if p % n_workers == r], 1)
                  for r in range(n_workers)]


def _sorted_rows(a):
    a = np.nan_to_num(a, nan=-999.0)
    return a[np.lexsort(a.T[::-1])]


@pytest.mark.parametrize("size", [300, 5000])
def test_bin_sample_is_the_rows_single_process_bins_on(size):
    """Distributed selection of the smallest sample keys = `hash_sample` on the whole data (duplicates too)."""
    X, y, qid, sizes, _ = make_data(n_queries=100, n_features=4, missing=0.05)
    X[10:20] = X[0]  # identical rows share a key
    y[10:20] = y[0]
    plan, workers = _in_process_workers(X, y, sizes, n_parts=5, n_workers=2)
    seed = 987654321987
    sample = DaskLambdaRanker._bin_sample(InProcessBackend(workers), plan, X.shape[0], seed, size=size)
    rows = hash_sample(row_hashes(X, y), size, seed)
    expected = X if rows is None else X[rows]
    assert sample.shape == expected.shape
    np.testing.assert_array_equal(_sorted_rows(sample), _sorted_rows(expected))


def test_partition_puts_rows_in_canonical_order():
    """Inside a query, rows sorted by content hash (as single-process training), whatever the input order."""
    X, y, qid, sizes, position = make_data(n_queries=6, n_features=3)
    perm = np.concatenate([np.random.default_rng(q).permutation(np.arange(a, b)) for q, (a, b) in
                           enumerate(zip(np.cumsum(sizes) - sizes, np.cumsum(sizes)))])
    a = Partition(0, X, y, None, position, sizes, 0, 0)
    b = Partition(0, X[perm], y[perm], None, position[perm], sizes, 0, 0)
    np.testing.assert_array_equal(a.X[a.order], b.X[b.order])
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.position, b.position)
    h = row_hashes(a.X[a.order], a.y, a.position)
    ptr = np.concatenate(([0], np.cumsum(sizes)))
    assert all(np.all(np.diff(h[s:e].astype(np.float64)) >= 0) for s, e in zip(ptr[:-1], ptr[1:]))


def test_partition_validates_its_rows():
    X = np.arange(20, dtype=np.float64).reshape(10, 2)
    with pytest.raises(ValueError, match="query sizes sum to 4"):
        Partition(0, X[:5], np.zeros(5), None, None, [2, 2], 0, 0)
    with pytest.raises(ValueError, match="infinity"):
        Partition(0, np.full((2, 2), np.inf), np.zeros(2), None, None, [2], 0, 0)
    with pytest.raises(ValueError, match="non-negative"):
        Partition(0, X[:2], np.zeros(2), np.array([1.0, -1.0]), None, [2], 0, 0)


def test_worker_refuses_out_of_order_steps():
    X, y, _, sizes, _ = make_data(n_queries=5)
    w = WorkerPartitions(0, [(0, X, y, None, None, sizes, 0, 0)])
    w.run(1, [])
    with pytest.raises(PartitionStateError, match="expected training step 2 but got 1"):
        w.run(1, [])


def test_objective_support_checks():
    class Unseeded(NoisyQueryRegression):
        supports_query_offset = False

    class AfterIterationOnly(Objective):
        name = "x"

        def after_iteration(self, raw, iteration):
            pass

    with pytest.raises(ValueError, match="supports_query_offset"):
        check_objective_supported(Unseeded())
    with pytest.raises(ValueError, match="after_iteration_distributed"):
        check_objective_supported(AfterIterationOnly())
    assert check_objective_supported(PositionReweighted()) is True
    assert check_objective_supported(NoisyQueryRegression()) is False


def test_rowset_checks_the_workers_split_counts():
    class Backend:
        n_workers = 1

        def execute(self, commands):
            return [7 if name == "split" else np.zeros((1, 4, 3)) for name, _ in commands]

    rs = DistributedRowSet(Backend(), missing_bin=3)
    hist = np.zeros((1, 4, 3))
    rs.start_tree(0, None)
    rs.counts[0] = np.array([[2.0, 3.0, 4.0, 1.0]])
    assert rs.split(0, 1, 0, 1, True) == 2 + 3 + 1
    with pytest.raises(RuntimeError, match="sent 7 rows left, the histogram says 6"):
        rs.histogram(1, np.ones(1, dtype=np.uint8), hist)


def test_loader_groups_shuffled_queries_like_single_process():
    """Range shuffle: partitions are whole queries, concatenated they are the stable sort by qid."""
    X, y, qid, sizes, _ = make_data(n_queries=60, n_features=3)
    perm = np.random.default_rng(3).permutation(len(y))
    X, y, qid = X[perm], y[perm], qid[perm]
    order = np.argsort(qid, kind="stable")
    with dask.config.set(scheduler="synchronous"):
        Xd, yd, qd, w, pos, _ = as_dask_inputs(da.from_array(X, chunks=(97, 3)), y, qid, None, None, 2)
        plan, already_sorted = plan_partitions(None, Xd, qd, None, 2)
        assert not already_sorted
        payloads = dask.compute(*partition_payloads(plan, already_sorted, Xd, yd, qd, w, pos))
    np.testing.assert_array_equal(np.concatenate([p[1] for p in payloads]), X[order])
    np.testing.assert_array_equal(np.concatenate([p[2] for p in payloads]), y[order])
    np.testing.assert_array_equal(np.concatenate([p[5] for p in payloads]),
                                  np.bincount(np.unique(qid, return_inverse=True)[1]))
    assert [p[7] for p in payloads] == list(plan.query_start[:-1])


def test_loader_moves_chunk_boundaries_to_query_boundaries():
    X, y, qid, sizes, _ = make_data(n_queries=40, n_features=2)
    with dask.config.set(scheduler="synchronous"):
        Xd, yd, qd, w, pos, _ = as_dask_inputs(da.from_array(X, chunks=(50, 2)), y, da.from_array(qid, chunks=50),
                                               None, None, 2)
        plan, already_sorted = plan_partitions(None, Xd, qd, None, 2)
        assert already_sorted
        payloads = dask.compute(*partition_payloads(plan, already_sorted, Xd, yd, qd, w, pos))
    ptr = np.concatenate(([0], np.cumsum(sizes)))
    for p in payloads:
        assert p[6] in ptr  # every partition starts at a query boundary
        assert abs(p[6] - 50 * p[0]) < 30  # near the original chunk boundary
    np.testing.assert_array_equal(np.concatenate([p[1] for p in payloads]), X)


def test_assign_partitions_keeps_data_in_place_and_balances():
    plan = PartitionPlan(query_start=np.arange(5), group_sizes=np.array([10, 10, 10, 10]), query_ids=np.arange(4))
    owner = assign_partitions(plan, [{"a"}, {"a"}, {"a"}, {"b"}], ["a", "b"])
    assert owner.count("a") == 2 and owner.count("b") == 2 and owner[3] == "b"


@pytest.mark.parametrize("params", [
    dict(),
    dict(subsample=0.6, subsample_freq=2, colsample_bytree=0.7, reg_alpha=0.01, reg_lambda=0.5, max_depth=4),
])
def test_in_process_lambdamart_equals_single_process(params):
    X, y, qid, sizes, _ = make_data(n_queries=150)
    params = dict(n_jobs=1, n_estimators=8, num_leaves=15, min_child_samples=5, random_state=3, **params)
    single = LambdaRanker(**params).fit(X, y, qid=qid)
    dist = fit_in_process(DaskLambdaRanker(**params), X, y, sizes, n_parts=5, n_workers=3)
    assert_same_model(single, dist, X)


def test_in_process_with_missing_values_same_trees():
    """With NaNs: the same trees too ("missing left, no value left" is not a split candidate, see
    `ltr._splitting`, so no choice between two encodings of one partition rests on rounding)."""
    X, y, qid, sizes, _ = make_data(n_queries=150, missing=0.05)
    params = dict(n_jobs=1, n_estimators=8, num_leaves=15, min_child_samples=5, random_state=3, subsample=0.6,
                  subsample_freq=2, colsample_bytree=0.7, reg_alpha=0.01, reg_lambda=0.5, max_depth=4)
    single = LambdaRanker(**params).fit(X, y, qid=qid)
    dist = fit_in_process(DaskLambdaRanker(**params), X, y, sizes, n_parts=5, n_workers=3)
    assert_same_model(single, dist, X)


def test_in_process_eval_set_early_stopping_and_column_sampling_traffic():
    """Driver-side evaluation and early stopping as LambdaRanker; with colsample only used features travel."""
    X, y, qid, sizes, _ = make_data(n_queries=150)
    Xv, yv, qv, _, _ = make_data(n_queries=40, seed=9)
    params = dict(n_jobs=1, n_estimators=30, num_leaves=7, random_state=2, colsample_bytree=0.5,
                  early_stopping_rounds=3, learning_rate=0.5)
    single = LambdaRanker(**params).fit(X, y, qid=qid, eval_set=[(Xv, yv)], eval_qid=[qv])
    est = DaskLambdaRanker(**params)
    est._validate_params()
    plan, workers = _in_process_workers(X, y, sizes, n_parts=3, n_workers=2)
    objective = est._make_objective()
    est.n_features_in_ = X.shape[1]
    dist = est._fit_backend(InProcessBackend(workers), plan, X.shape[0], X.shape[1], 2, objective, None, False, [],
                            [(Xv, yv)], [qv], None)
    assert single.best_iteration_ == dist.best_iteration_ and single.n_iter_ == dist.n_iter_ < 30
    np.testing.assert_allclose(dist.evals_result_["valid_0"]["ndcg@10"], single.evals_result_["valid_0"]["ndcg@10"],
                               rtol=0, atol=1e-12)
    assert_same_model(single, dist, X)
    hist_bytes = 5 * 256 * 3 * 8  # half of the 10 features
    up = np.mean([t["up"] for t in dist.training_traffic_[1:]])
    batches = np.mean([t["batches"] for t in dist.training_traffic_[1:]])
    assert 0.95 * batches * 2 * hist_bytes <= up <= 1.05 * batches * 2 * hist_bytes


def test_in_process_continued_training_equals_single_process():
    """init_model: bins and trees of the first model kept, new trees equal single-process continuation."""
    X, y, qid, sizes, _ = make_data(n_queries=120)
    params = dict(n_jobs=1, n_estimators=3, num_leaves=7, random_state=4)
    first = LambdaRanker(**params).fit(X, y, qid=qid)
    single = LambdaRanker(**params).fit(X, y, qid=qid, init_model=first)
    est = DaskLambdaRanker(**params)
    est._validate_params()
    plan, workers = _in_process_workers(X, y, sizes, n_parts=3, n_workers=2)
    objective = est._make_objective()
    objective.set_state(first.booster_.objective.state())
    est.n_features_in_ = X.shape[1]
    dist = est._fit_backend(InProcessBackend(workers), plan, X.shape[0], X.shape[1], 4, objective, first.booster_,
                            False, [], None, None, None)
    assert dist.booster_.n_trees == 6 and dist.n_iter_ == 3
    assert_same_model(single, dist, X)


def test_in_process_stochastic_objective_uses_global_query_index():
    X, y, qid, sizes, _ = make_data(n_queries=120)
    params = dict(n_jobs=1, n_estimators=8, num_leaves=7, random_state=11)
    single = LambdaRanker(NoisyQueryRegression(), **params).fit(X, y, qid=qid)
    dist = fit_in_process(DaskLambdaRanker(NoisyQueryRegression(), **params), X, y, sizes, n_parts=4, n_workers=2)
    assert_same_model(single, dist, X)


def test_in_process_reductions_of_a_dla_shaped_objective():
    """Start score, setup statistics and the per-tree update are reduced over partitions."""
    X, y, qid, sizes, position = make_data(n_queries=150)
    params = dict(n_jobs=1, n_estimators=8, num_leaves=7, random_state=0)
    single = LambdaRanker(PositionReweighted(), **params).fit(X, y, qid=qid, position=position)
    dist = fit_in_process(DaskLambdaRanker(PositionReweighted(), **params), X, y, sizes, n_parts=4, n_workers=2,
                          position=position)
    assert_same_model(single, dist, X)
    np.testing.assert_allclose(dist.objective_.w_, single.objective_.w_, rtol=1e-12)


def _registered_objectives():
    from ltr.objectives import available_objectives

    return available_objectives()


def assert_same_state(single, dist, rtol=1e-7, atol=1e-8):
    """The learned objective states (propensities, label scale, ...) agree, key by key.

    DLA's are the output of iterative solvers (Newton on tau, stopped at a
    relative step of 1e-8; IRW fixed point at 1e-10) fed sums added in
    another order: they agree to about the solvers' tolerances.
    """
    a, b = single.objective_.state(), dist.objective_.state()
    assert sorted(a) == sorted(b)
    for key in a:
        if a[key] is None or isinstance(a[key], str):
            assert a[key] == b[key], key
            continue
        va, vb = a[key], b[key]
        if isinstance(va, list) and va and isinstance(va[0], list):  # a history: one vector per tree
            assert len(va) == len(vb), key
            va, vb = np.concatenate([np.atleast_1d(v) for v in va]), np.concatenate([np.atleast_1d(v) for v in vb])
        np.testing.assert_allclose(np.asarray(vb, dtype=np.float64), np.asarray(va, dtype=np.float64), rtol=rtol,
                                   atol=atol, err_msg=key)


@pytest.mark.parametrize("name", _registered_objectives())
def test_every_registered_objective_trains_exactly(name):
    """Every registered objective (aliases included) gives single-process training's model over partitions.

    Binary labels with display positions suit every objective (graded, click
    and probability ones). No objective may be refused.
    """
    X, y, qid, sizes, position = make_data(n_queries=60, n_features=6)
    y = (y >= 2).astype(np.float64)
    params = dict(n_jobs=1, n_estimators=3, num_leaves=7, random_state=6, min_child_samples=5)
    single = LambdaRanker(name, **params).fit(X, y, qid=qid, position=position)
    dist = fit_in_process(DaskLambdaRanker(name, **params), X, y, sizes, n_parts=3, n_workers=2, position=position)
    assert_same_model(single, dist, X)
    assert_same_state(single, dist)


def _skewed_data():
    """Graded labels with the top grade only in the last queries, shown further down, and row weights.

    Local and global statistics then differ: the largest label (label_scale_),
    the largest position (number of propensities), the mean label, the
    clicks per position.
    """
    X, y, qid, sizes, position = make_data(n_queries=90, n_features=6, seed=3)
    y = np.minimum(y, 3.0)
    tail = int(np.sum(sizes[-30:]))
    y[-tail:] = np.where(y[-tail:] == 3.0, 4.0, y[-tail:])
    position = position.copy()
    position[-tail:] += 10  # the last queries were shown further down
    w = np.random.default_rng(5).uniform(0.5, 2.0, y.shape[0])
    return X, y, qid, sizes, position, w


_SETUP_FROM_ALL_DATA = ("regression", "binary_rates", "rcr_graded", "sigmoid_softmax_graded", "ipw_softmax",
                        "dla_softmax_ctr_init", "dla_lambdarank_isotonic")


def _global_statistics_cases():
    from ltr.objectives.unbiased import DLA, IPW, UnbiasedLambdaMART

    return {
        "regression": ("regression", False),
        "binary_rates": ("binary", True),
        "rcr_graded": ("rcr", False),
        "sigmoid_softmax_graded": ("sigmoid_softmax", False),
        "ipw_given_propensity": (IPW(propensity=1.0 / np.arange(1, 40)), True),
        "ipw_softmax": (IPW(ranker_loss="softmax"), True),
        "dla_softmax_ctr_init": (DLA(propensity_init="ctr"), True),
        "dla_lambdarank_isotonic": (DLA(ranker_loss="lambdarank"), True),
        "dla_fixed_tau_n_positions": (DLA(relevance_model=1.0, n_positions=8, update_every=2), True),
        "unbiased_lambdamart_12": (UnbiasedLambdaMART(n_positions=12), True),
    }


@pytest.mark.parametrize("case", sorted(_global_statistics_cases()))
def test_global_statistics_and_updates_reduced_over_partitions(case):
    """Start scores, label scales, position counts, CTR starts and per-tree propensity updates from all the data.

    The data is skewed so that every partition's own statistics differ from
    the global ones (a partition computing them locally would be caught).
    """
    objective, unit = _global_statistics_cases()[case]
    X, y, qid, sizes, position, w = _skewed_data()
    if unit:
        y = y / 4.0  # click rates
    params = dict(n_jobs=1, n_estimators=4, num_leaves=7, random_state=2, min_child_samples=5)
    single = LambdaRanker(objective, **params).fit(X, y, qid=qid, position=position, sample_weight=w)
    dist = fit_in_process(DaskLambdaRanker(objective, **params), X, y, sizes, n_parts=3, n_workers=2,
                          position=position, weight=w)
    # the weighted label sums are added per partition: the start score may differ in the last bit
    assert dist.booster_.init_score == pytest.approx(single.booster_.init_score, rel=1e-14, abs=1e-15)
    dist.booster_.init_score = single.booster_.init_score
    assert_same_model(single, dist, X)
    assert_same_state(single, dist)
    if case in _SETUP_FROM_ALL_DATA:  # the first partition alone would start elsewhere
        from ltr.objectives import get_objective

        a = int(np.sum(sizes[:30]))
        first = get_objective(objective)
        first.setup(y[:a], np.concatenate(([0], np.cumsum(sizes[:30]))), sample_weight=w[:a], position=position[:a])
        assert first.init_score() != single.booster_.init_score or first.state() != single.objective_.state()


def test_objective_with_global_setup_but_no_protocol_is_refused():
    X, y, qid, sizes, _ = make_data(n_queries=40)
    with pytest.raises(ValueError, match="partition_statistics"):
        fit_in_process(DaskLambdaRanker(GlobalMeanNoProtocol(), n_estimators=2, n_jobs=1), X, y, sizes, n_parts=3,
                       n_workers=2)


def test_params_cover_lambdaranker_and_clone_shares_the_client():
    from sklearn.base import clone

    base = set(LambdaRanker().get_params())
    mine = set(DaskLambdaRanker().get_params())
    assert mine == base | {"client", "worker_retries"}
    sentinel = object()
    est = DaskLambdaRanker(client=sentinel, num_leaves=7)
    cloned = clone(est)
    assert cloned.client is sentinel and cloned.num_leaves == 7


# ----------------------------------------------------------------------------------------------------------------
# On a two-process LocalCluster
# ----------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client():
    with dask.config.set({"distributed.comm.timeouts.connect": "5s"}):
        cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                           dashboard_address=None, silence_logs=40)
        cl = distributed.Client(cluster)
        try:
            yield cl
        finally:
            cl.close()
            cluster.close()


@pytest.fixture(scope="module")
def data():
    return make_data(n_queries=300, n_features=12, seed=7)


def test_cluster_lambdamart_same_bins_and_trees(client, data, tmp_path):
    X, y, qid, sizes, _ = data
    params = dict(n_jobs=1, n_estimators=8, num_leaves=15, min_child_samples=5, random_state=42)
    single = LambdaRanker(**params).fit(X, y, qid=qid)
    # chunks cut through queries: the loader moves the boundaries
    dist = DaskLambdaRanker(client=client, **params).fit(
        da.from_array(X, chunks=(1100, 12)), da.from_array(y, chunks=1100), qid=da.from_array(qid, chunks=1100))
    assert dist.n_workers_ == 2 and dist.n_partitions_ >= 2
    assert_same_model(single, dist, X)
    # an ordinary model: saved, loaded and used without Dask
    path = tmp_path / "m.json"
    dist.save_model(path)
    loaded = LambdaRanker.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X), dist.predict(X))
    assert type(dist.to_local()) is LambdaRanker
    # traffic: about one histogram per batch per link of the tree
    hist_bytes = 12 * 256 * 3 * 8
    per_iter = np.mean([h["up"] for h in dist.training_traffic_[1:]])
    batches = np.mean([h["batches"] for h in dist.training_traffic_[1:]])
    assert batches <= params["num_leaves"] + 1
    assert 0.9 * batches * 2 * hist_bytes <= per_iter <= 1.1 * batches * 2 * hist_bytes


def test_cluster_stochastic_objective_same_trees(client, data):
    X, y, qid, sizes, _ = data
    params = dict(n_jobs=1, n_estimators=6, num_leaves=7, random_state=5, subsample=0.7, subsample_freq=1)
    single = LambdaRanker(NoisyQueryRegression(), **params).fit(X, y, qid=qid)
    dist = DaskLambdaRanker(NoisyQueryRegression(), client=client, **params).fit(
        da.from_array(X, chunks=(900, 12)), da.from_array(y, chunks=900), qid=da.from_array(qid, chunks=900))
    assert_same_model(single, dist, X)


def test_cluster_yetirank_same_bins_and_trees(client, data):
    """YetiRank (stochastic: query q's noise from mix_seed(seed, iteration, q + query_offset_)): the same trees."""
    X, y, qid, sizes, _ = data
    params = dict(n_jobs=1, n_estimators=6, num_leaves=7, random_state=5, subsample=0.8, subsample_freq=1)
    single = LambdaRanker("yetirank", **params).fit(X, y, qid=qid)
    dist = DaskLambdaRanker("yetirank", client=client, **params).fit(
        da.from_array(X, chunks=(900, 12)), da.from_array(y, chunks=900), qid=da.from_array(qid, chunks=900))
    assert dist.n_partitions_ >= 4  # queries of several partitions draw from global query indices
    assert_same_model(single, dist, X)


def test_cluster_shuffled_dataframe_weights_and_lazy_predict(client, data):
    import pandas as pd

    dd = pytest.importorskip("dask.dataframe")
    X, y, qid, sizes, position = data
    perm = np.random.default_rng(0).permutation(len(y))
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    cols = [f"f{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X[perm], columns=cols)
    params = dict(n_jobs=1, n_estimators=4, num_leaves=7, random_state=1)
    single = LambdaRanker(**params).fit(frame, y[perm], qid=qid[perm], sample_weight=w[perm])
    ddf = dd.from_pandas(frame, npartitions=3)
    dist = DaskLambdaRanker(client=client, **params).fit(
        ddf, dd.from_pandas(pd.Series(y[perm]), npartitions=3), qid=dd.from_pandas(pd.Series(qid[perm]), npartitions=3),
        sample_weight=w[perm])
    assert list(dist.feature_names_in_) == cols
    assert_same_model(single, dist, frame)
    lazy = dist.predict(ddf)
    assert isinstance(lazy, dd.Series)
    y_series = dd.from_pandas(pd.Series(y[perm]), npartitions=3)
    assert dist.score(ddf, y_series, qid=qid[perm]) == pytest.approx(single.score(frame, y[perm], qid=qid[perm]),
                                                                      abs=1e-12)
    np.testing.assert_array_equal(lazy.compute().to_numpy(), dist.predict(frame))
    lazy_arr = dist.predict(da.from_array(X, chunks=(700, 12)))
    assert isinstance(lazy_arr, da.Array)
    np.testing.assert_array_equal(lazy_arr.compute(), dist.booster_.predict(X))


@pytest.mark.parametrize("name", ["dla", "unbiased_lambdamart", "rcr"])
def test_cluster_global_objectives_same_trees_and_state(client, data, name):
    """DLA (IRW step: Newton on tau and fixed-point rounds, each a reduction), Unbiased LambdaMART (t+/t-
    from summed pair costs) and RCR (start score and label scale from all the rows) through real actors."""
    X, y, qid, sizes, position = data
    y = y / 4.0  # click rates / relevance probabilities
    position = position + 10 * (np.arange(len(y)) > len(y) // 2)  # global largest position in one partition
    params = dict(n_jobs=1, n_estimators=4, num_leaves=7, random_state=0)
    single = LambdaRanker(name, **params).fit(X, y, qid=qid, position=position)
    dist = DaskLambdaRanker(name, client=client, **params).fit(
        da.from_array(X, chunks=(1000, 12)), da.from_array(y, chunks=1000), qid=da.from_array(qid, chunks=1000),
        position=da.from_array(position, chunks=1000))
    assert dist.n_workers_ == 2
    assert_same_model(single, dist, X)
    assert_same_state(single, dist)


def test_cluster_dla_shaped_objective(client, data):
    """A user-defined objective with two dependent rounds of reductions per tree (protocol, not registry)."""
    X, y, qid, sizes, position = data
    params = dict(n_jobs=1, n_estimators=3, num_leaves=7, random_state=0)
    single = LambdaRanker(PositionReweighted(), **params).fit(X, y, qid=qid, position=position)
    dist = DaskLambdaRanker(PositionReweighted(), client=client, **params).fit(
        da.from_array(X, chunks=(1000, 12)), da.from_array(y, chunks=1000), qid=da.from_array(qid, chunks=1000),
        position=da.from_array(position, chunks=1000))
    assert_same_model(single, dist, X)


def test_cluster_bad_input_names_the_problem(client, data):
    X, y, qid, sizes, _ = data
    bad = X.copy()
    bad[5, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        DaskLambdaRanker(client=client, n_estimators=2, n_jobs=1).fit(da.from_array(bad, chunks=(1000, 12)), y, qid=qid)
    with pytest.raises(ValueError, match="y has"):
        DaskLambdaRanker(client=client, n_estimators=2, n_jobs=1).fit(
            da.from_array(X, chunks=(1000, 12)), y[:-1], qid=qid)
    qbad = qid.astype(np.float64)
    qbad[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DaskLambdaRanker(client=client, n_estimators=2, n_jobs=1).fit(da.from_array(X, chunks=(1000, 12)), y, qid=qbad)


class _KillWorker(Callback):
    def __init__(self, pid, at):
        self.pid, self.at = pid, at
        self.done = False

    def after_iteration(self, env):
        if env.iteration == self.at and not self.done:
            self.done = True
            os.kill(self.pid, signal.SIGKILL)
        return False


def _two_workers(client):
    client.wait_for_workers(2, timeout=60)
    pids = client.run(os.getpid)
    return pids, sorted(pids)


def test_cluster_worker_killed_mid_training_is_retried_exactly(client, data):
    """The root worker dies after tree 2; training continues on the other one and builds the same model."""
    X, y, qid, sizes, _ = data
    params = dict(n_jobs=1, n_estimators=6, num_leaves=7, random_state=0)
    single = LambdaRanker(**params).fit(X, y, qid=qid)
    pids, workers = _two_workers(client)
    dist = DaskLambdaRanker(client=client, worker_retries=1, **params).fit(
        da.from_array(X, chunks=(1000, 12)), y, qid=qid, callbacks=[_KillWorker(pids[workers[0]], 2)])
    assert dist.n_worker_losses_ == 1
    assert_same_model(single, dist, X)


def test_cluster_dla_worker_killed_mid_training_is_retried_exactly(client, data):
    """The propensities learned before the loss are restored on the rebuilt partitions (IPW weights too)."""
    X, y, qid, sizes, position = data
    y = y / 4.0
    params = dict(n_jobs=1, n_estimators=5, num_leaves=7, random_state=0)
    single = LambdaRanker("dla", **params).fit(X, y, qid=qid, position=position)
    pids, workers = _two_workers(client)
    dist = DaskLambdaRanker("dla", client=client, worker_retries=1, **params).fit(
        da.from_array(X, chunks=(1000, 12)), y, qid=qid, position=position,
        callbacks=[_KillWorker(pids[workers[1]], 2)])
    assert dist.n_worker_losses_ == 1
    assert_same_model(single, dist, X)
    assert_same_state(single, dist)


def test_cluster_worker_killed_mid_training_raises(client, data):
    """Without retries a lost (non-root) worker is a clear error naming it; no model."""
    X, y, qid, sizes, _ = data
    pids, workers = _two_workers(client)
    child = workers[1]  # rank 1: not the root of the reduction tree
    est = DaskLambdaRanker(client=client, n_estimators=20, num_leaves=7, random_state=0, n_jobs=1)
    with pytest.raises(WorkerLostError, match="was lost during training") as info:
        est.fit(da.from_array(X, chunks=(1000, 12)), y, qid=qid, callbacks=[_KillWorker(pids[child], 2)])
    assert info.value.address == child and info.value.partitions
    assert not hasattr(est, "booster_")
