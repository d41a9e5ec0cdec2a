"""What one data partition does during distributed training (no Dask in here).

A partition is a block of whole queries in global grouped order: its rows
are the global rows ``row_offset .. row_offset + n_rows`` and its queries the
global queries ``query_offset .. query_offset + n_queries``. It keeps its raw
features until the bins are known, its labels, and its own objective
instance set up on its own queries.

`WorkerPartitions` holds the partitions that live on one worker as one block
of binned rows with raw scores, gradients and a `LocalRowSet`, and runs the
command batches sent by the driver (see `_reduce.py`). Every command does
what single-process training does on the same rows, so per-row quantities
(gradients, raw scores, the leaf of a row) are bit-identical to
single-process training; only the order in which histogram sums are added
differs. It is the object that becomes a Dask actor, and it runs just as
well in the driver's process (the in-process backend of the unit tests).
"""
import copy
import time

import numpy as np

from .._boosting import _STREAM_ROWS, sample_queries
from .._dtypes import G_H_DTYPE, IDX_DTYPE, PTR_DTYPE, X_BINNED_DTYPE
from .._canonical import canonical_order, row_hashes
from .._random import iteration_rng, splitmix64
from .._rowset import LocalRowSet
from .._validation import check_objective_labels
from .._threads import numba_threads
from ..objectives import Objective
from ..objectives._base import reduce_statistics
from ..predictor import Ensemble


class PartitionStateError(RuntimeError):
    """A worker's training state is not the one the driver expects (lost or replayed)."""


def _as_float_matrix(X, index):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"partition {index}: X must be 2-dimensional, got shape {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        if X.dtype.kind not in "biuf":
            raise ValueError(f"X must hold numbers, got dtype {X.dtype}")
        X = X.astype(np.float64)
    if np.isinf(X).any():
        raise ValueError("Input X contains infinity (NaN is allowed and means missing)")
    return np.ascontiguousarray(X)


class Partition:
    """Training state of one block of whole queries.

    Parameters
    ----------
    index : int
        Position of the partition in global query order.
    X : ndarray (n_rows, n_features)
        Raw features, rows grouped by query in global order.
    y, weight, position : ndarray or None
    group_sizes : ndarray of int64
        Rows of each query of the partition, in order.
    row_offset, query_offset : int
        Global index of the first row and of the first query.
    """

    def __init__(self, index, X, y, weight, position, group_sizes, row_offset, query_offset):
        self.index = int(index)
        self.X = _as_float_matrix(X, index)
        n = self.X.shape[0]
        self.y = np.ascontiguousarray(np.asarray(y, dtype=np.float64).ravel())
        if self.y.shape[0] != n:
            raise ValueError(f"partition {index}: y has {self.y.shape[0]} rows but X has {n}")
        self.weight = None if weight is None else np.ascontiguousarray(np.asarray(weight, dtype=np.float64).ravel())
        if self.weight is not None:
            if self.weight.shape[0] != n:
                raise ValueError(f"sample_weight has {self.weight.shape[0]} rows in partition {index}, X has {n}")
            if not np.all(np.isfinite(self.weight)) or np.any(self.weight < 0):
                raise ValueError("sample_weight must be finite and non-negative")
        self.position = None if position is None else np.asarray(position).ravel()
        if self.position is not None and self.position.shape[0] != n:
            raise ValueError(f"position has {self.position.shape[0]} rows in partition {index}, X has {n}")
        sizes = np.asarray(group_sizes, dtype=PTR_DTYPE)
        if sizes.sum() != n:
            raise ValueError(f"partition {index}: query sizes sum to {sizes.sum()} but it has {n} rows")
        self.group_ptr = np.concatenate(([0], np.cumsum(sizes))).astype(PTR_DTYPE)
        self.row_offset = int(row_offset)
        self.query_offset = int(query_offset)
        self.n_rows = n
        self.n_queries = sizes.shape[0]
        # Canonical order inside each query (as `_canonical.canonical_layout`): by content hash, then
        # by input order. The hash also chooses the binning sample.
        # Raw X keeps its order (binning reorders it, no copy); the 1-d columns are reordered now.
        self.hashes = row_hashes(self.X, self.y, self.weight, self.position)
        self.order = canonical_order(np.repeat(np.arange(self.n_queries, dtype=np.int64), sizes), self.hashes)
        self.y = self.y[self.order]
        if self.weight is not None:
            self.weight = self.weight[self.order]
        if self.position is not None:
            self.position = self.position[self.order]

    # -- binning ------------------------------------------------------------------
    def sample_rows(self, threshold, seed):
        """Raw rows whose sample key is below `threshold`, and those equal to it (None: every row).

        The sample is a set of rows: its order does not matter to the bins.
        """
        if threshold is None:
            return self.X, self.X[:0]
        keys = sample_keys(self.hashes, seed)
        return self.X[keys < threshold], self.X[keys == threshold]

    # -- objective ----------------------------------------------------------------
    def setup_objective(self, objective, seed):
        """Set up a private copy of `objective` on this partition's queries.

        Stochastic objectives draw query q's randomness from (seed, iteration,
        global query index): ``query_offset_`` tells them where this
        partition's queries start.
        """
        obj = copy.deepcopy(objective)
        obj.query_offset_ = self.query_offset
        check_objective_labels(obj, self.y)  # the objective's range, raised as a LabelError
        obj.setup(self.y, self.group_ptr, sample_weight=self.weight, seed=seed, position=self.position)
        obj.query_offset_ = self.query_offset
        self.objective = obj
        stats = getattr(obj, "partition_statistics", None)
        return {self.index: {
            "degenerate": int(getattr(obj, "n_degenerate_queries_", 0)),
            "statistics": stats() if stats is not None else None,
        }}

    def bag_rows(self, chosen_queries):
        """Local rows (increasing) of the chosen global queries that are in this partition."""
        lo = np.searchsorted(chosen_queries, self.query_offset, side="left")
        hi = np.searchsorted(chosen_queries, self.query_offset + self.n_queries, side="left")
        local = chosen_queries[lo:hi] - self.query_offset
        starts, ends = self.group_ptr[local], self.group_ptr[local + 1]
        lengths = ends - starts
        offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        return np.arange(int(lengths.sum()), dtype=np.int64) + offsets


def sample_keys(hashes, seed):
    """The keys `_canonical.hash_sample` ranks rows by: the binning sample is the `size` smallest."""
    mixed = hashes ^ np.uint64(splitmix64(np.uint64(seed)))
    return mixed * np.uint64(0x9E3779B97F4A7C15)  # wraps mod 2**64, as in hash_sample


def combine(a, b):
    """Reduction of two command results: sums for numbers and arrays, union for dicts."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict):
        out = dict(a)
        out.update(b)
        return out
    return a + b


def _chosen_queries(bag):
    """Global ids of the queries in the bag (sorted), or None without bagging."""
    if bag is None:
        return None
    seed, refresh, fraction, n_queries = bag
    # Every query as a one-row "query": sample_queries then returns query ids,
    # exactly as `_boosting.train` draws them.
    one_row_queries = np.arange(n_queries + 1, dtype=PTR_DTYPE)
    ids = sample_queries(one_row_queries, fraction, iteration_rng(seed, refresh, _STREAM_ROWS))
    return ids.astype(np.int64)


class WorkerPartitions:
    """The partitions held by one worker, as one block of rows, driven by command batches.

    The worker's partitions are concatenated (in partition order) into one
    binned matrix with one raw-score, gradient and hessian array and one
    `LocalRowSet`, so a histogram or a split is one kernel call per worker
    whatever the number of partitions. Each partition keeps its own objective
    on its slice of the block (objectives work per query and a query never
    spans two partitions).

    A command is ``(name, args)``; `run` executes a batch and returns one
    result per command. Every batch carries a step number; a worker refuses a
    batch whose step is not the next one, so a state recreated after a worker
    loss (or a batch replayed twice) raises instead of training a wrong model.
    """

    def __init__(self, rank, payloads, n_jobs=None):
        self.rank = int(rank)
        self.partitions = sorted((Partition(*p) for p in payloads), key=lambda p: p.index)
        sizes = [p.n_rows for p in self.partitions]
        self.bounds = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        self.n_rows = int(self.bounds[-1])
        self.step = 0
        self.busy_seconds = 0.0
        self.n_jobs = n_jobs
        self._bag_key = None
        self._bag_rows = None

    def describe(self):
        return {"rank": self.rank, "partitions": [p.index for p in self.partitions], "rows": self.n_rows}

    def _threads(self):
        n_jobs = self.n_jobs
        if n_jobs is None:
            try:
                from distributed import get_worker

                n_jobs = get_worker().state.nthreads
            except (ImportError, ValueError):
                n_jobs = None
        return numba_threads(n_jobs)

    def run(self, step, commands):
        """Execute a batch; returns one result per command."""
        if step != self.step + 1:
            raise PartitionStateError(
                f"worker rank {self.rank} expected training step {self.step + 1} but got {step}: its state "
                "was lost (worker restarted) or a step was replayed"
            )
        self.step = step
        t0 = time.perf_counter()
        try:
            with self._threads():
                return [getattr(self, "cmd_" + name)(*args) for name, args in commands]
        finally:
            self.busy_seconds += time.perf_counter() - t0

    def cmd_busy_seconds(self):
        """Seconds this worker spent executing batches (profiling)."""
        return {self.rank: self.busy_seconds}

    def _slices(self):
        for p, a, b in zip(self.partitions, self.bounds[:-1], self.bounds[1:]):
            yield p, slice(int(a), int(b))

    # -- set-up commands --------------------------------------------------------------
    def cmd_sample_keys(self, size, seed):
        """The `size` smallest binning-sample keys of this worker's rows (all if fewer)."""
        keys = np.concatenate([sample_keys(p.hashes, seed) for p in self.partitions])
        if keys.shape[0] > size:
            keys = np.partition(keys, size - 1)[:size]
        return {self.rank: keys}

    def cmd_sample_rows(self, threshold, seed):
        return {p.index: p.sample_rows(threshold, seed) for p in self.partitions}

    def cmd_set_bins(self, bin_mapper):
        """Bin every partition into one block (raw features dropped) and allocate the buffers."""
        self.X_binned = np.empty((self.n_rows, bin_mapper.n_features_), dtype=X_BINNED_DTYPE)
        for p, sl in self._slices():
            self.X_binned[sl] = bin_mapper.transform(p.X, row_order=p.order)
            p.X = p.order = p.hashes = None
        self.missing_bin = bin_mapper.missing_bin_
        self.rowset = LocalRowSet(self.X_binned, self.missing_bin)
        self.grad = np.zeros(self.n_rows, dtype=G_H_DTYPE)
        self.hess = np.zeros(self.n_rows, dtype=G_H_DTYPE)
        self.hist = np.zeros((bin_mapper.n_features_, bin_mapper.n_bins, 3), dtype=np.float64)

    def cmd_setup_objective(self, objective, seed):
        out = {}
        for p in self.partitions:
            out.update(p.setup_objective(objective, seed))
        return out

    def cmd_set_global_statistics(self, stats):
        for p in self.partitions:
            p.objective.set_global_statistics(stats)

    def cmd_objective_summary(self):
        """Init score and learned state of every partition's objective: they must agree."""
        return {p.index: (float(p.objective.init_score()), p.objective.state()) for p in self.partitions}

    def cmd_init_scores(self, init_score, trees):
        """Raw scores before the first new tree: init score plus the trees of an init model."""
        self.raw = np.full(self.n_rows, float(init_score), dtype=np.float64)
        if trees:
            Ensemble(trees).predict_binned(self.X_binned, self.missing_bin, float(init_score), out=self.raw)

    # -- boosting commands --------------------------------------------------------------
    def cmd_start_iteration(self, iteration, bag):
        """Gradients at the current raw scores; the tree's rows (all, or the bag's queries)."""
        for p, sl in self._slices():
            p.objective.gradient_hessian(self.raw[sl], self.grad[sl], self.hess[sl], iteration)
        if bag is None:
            rows = np.arange(self.n_rows, dtype=IDX_DTYPE)
        else:
            key = (bag[0], bag[1])
            if key != self._bag_key:
                chosen = _chosen_queries(bag)
                self._bag_rows = np.concatenate(
                    [p.bag_rows(chosen) + a for p, a in zip(self.partitions, self.bounds[:-1])]).astype(IDX_DTYPE)
                self._bag_key = key
            rows = self._bag_rows.copy()
        self.bagged = bag is not None
        self.rowset.start_tree(rows, self.grad, self.hess)

    def cmd_histogram(self, leaf, feature_mask):
        """The leaf's histogram over this worker's rows, for the features of the mask only (compact)."""
        self.rowset.histogram(leaf, feature_mask, self.hist)
        if feature_mask.all():
            return self.hist
        return self.hist[np.flatnonzero(feature_mask)]

    def cmd_split(self, leaf, right_leaf, feature, bin_idx, missing_left):
        return self.rowset.split(leaf, right_leaf, feature, bin_idx, missing_left)

    def cmd_finish_tree(self, tree, iteration):
        """raw += tree(x) for every row (rows outside the bag are predicted, as in `_boosting.train`)."""
        if self.bagged:
            Ensemble([tree]).predict_binned(self.X_binned, self.missing_bin, 0.0, 0, 1, out=self.raw, add=True)
        else:
            self.rowset.add_leaf_values(tree.leaf_value, self.raw)

    def cmd_objective_reduce(self, name, args):
        """Sum over this worker's partitions of ``objective.<name>(raw_score, *args)`` (global updates)."""
        out = None
        for p, sl in self._slices():
            out = combine(out, getattr(p.objective, name)(self.raw[sl], *args))
        return out

    def cmd_objective_apply(self, update, iteration):
        """Every partition's objective takes the update the driver computed from the reductions."""
        for p in self.partitions:
            p.objective.apply_update(update, iteration)


def check_objective_supported(objective):
    """Raise if `objective` cannot be trained exactly over partitions; True if it updates global state.

    Every registered objective passes; the checks guard user-defined ones.
    Distributed training needs (a) stochastic objectives to draw query q's
    randomness from its global index (``query_offset_``), (b) an objective
    that updates learned state after each tree from all the data (DLA) to
    express that update through reductions: ``after_iteration_distributed(
    iteration, reduce) -> update`` runs on the driver, where ``reduce(name,
    *args)`` is the sum over all partitions of ``objective.<name>(raw_score,
    *args)``, and ``apply_update(update, iteration)`` brings every
    partition's objective to the driver's state.
    """
    cls = type(objective)
    if objective.is_stochastic and not getattr(objective, "supports_query_offset", False):
        raise ValueError(
            f"objective {objective.name!r} draws random numbers per query but does not declare "
            "supports_query_offset: in distributed training every partition would repeat the same random "
            "streams. Its kernels must seed query q with mix_seed(seed, iteration, q + self.query_offset_)."
        )
    overrides_after = cls.after_iteration is not Objective.after_iteration
    distributed = callable(getattr(objective, "after_iteration_distributed", None)) and callable(
        getattr(objective, "apply_update", None))
    if overrides_after and not distributed:
        raise ValueError(
            f"objective {objective.name!r} updates learned state after every tree (after_iteration) from all "
            "the data, but does not express that update through reductions (after_iteration_distributed / "
            "apply_update); it cannot be trained distributed"
        )
    return distributed


def reduce_partition_statistics(per_partition):
    """Combine ``{name: (op, value)}`` dicts of every partition (op: 'sum', 'max' or 'min').

    The objectives' own rule (`ltr.objectives._base.reduce_statistics`): one
    process reduces its single dict with it, so both paths agree.
    """
    return reduce_statistics(per_partition)
