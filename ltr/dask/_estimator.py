"""`DaskLambdaRanker`: `LambdaRanker` trained on data held by a Dask cluster."""
import copy
import inspect
import time
from numbers import Integral

import numpy as np
from sklearn.base import _clone_parametrized
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._random import resolve_seed
from .._threads import numba_threads
from .._validation import check_tree_shape
from .. import _boosting
from ..binning import DEFAULT_SUBSAMPLE, BinMapper
from ..booster import Booster
from ..callbacks import Callback, EarlyStopping, LogEvaluation
from ..grower import TreeParams
from ..ranker import LambdaRanker
from . import _training
from ._loader import _is_dask, as_dask_inputs, assign_partitions, partition_payloads, plan_partitions
from ._partition import check_objective_supported, reduce_partition_statistics
from ._reduce import ActorBackend, WorkerActor


def _predict_block(block, booster, num_iteration):
    return booster.predict(np.asarray(block), num_iteration=num_iteration)


def _predict_frame(frame, booster, num_iteration):
    import pandas as pd

    return pd.Series(booster.predict(frame.to_numpy(dtype=np.float64), num_iteration=num_iteration),
                     index=frame.index, dtype=np.float64)


class DaskLambdaRanker(LambdaRanker):
    """`LambdaRanker` trained data-parallel on a Dask cluster.

    Rows stay on the workers, partitioned by query (a query never spans two
    partitions; the input is repartitioned when needed). Each worker bins its
    rows with thresholds computed on the same row sample single-process
    training uses, computes gradients on its own queries and histograms of
    its rows; histograms are summed over a binary tree of workers and the
    driver chooses every split. The fitted model is an ordinary
    ``LambdaRanker`` model: ``save_model`` / ``LambdaRanker.load_model`` /
    ``predict`` work locally, and `to_local` returns a plain ``LambdaRanker``.

    For the same data and ``random_state`` the bins and trees equal those of
    ``LambdaRanker`` (split gains are sums added in another order, so leaf
    values agree to ~1e-12 and a split can differ only on an exact tie).

    Every registered objective is supported. Quantities an objective takes
    from all the rows are reduced over the partitions with the code one
    process uses: start scores and label scales (``regression``, ``binary``,
    ``rcr``, ``sigmoid_softmax``) and the number of display positions
    (``ipw``, ``dla``, ``unbiased_lambdamart``) through
    ``partition_statistics`` / ``set_global_statistics``; the per-tree
    updates of ``dla`` (IRW propensity step) and ``unbiased_lambdamart``
    (t+/t-) through ``after_iteration_distributed`` / ``apply_update``;
    stochastic objectives (``yetirank``, ``stochasticrank``) seed query q
    by its global index. See benchmarks/README.md, "Objectives: what is
    reduced".

    Parameters
    ----------
    client : distributed.Client or None, default=None
        The cluster to train on; None uses the current default client.
    worker_retries : int, default=0
        Worker losses to survive. After a loss the partitions are rebuilt on
        the workers still alive (from the input's task graph), their scores
        recomputed from the trees built so far, and the interrupted iteration
        run again: the model equals an uninterrupted run's. With 0, a loss
        raises `WorkerLostError`.
    **params
        Every ``LambdaRanker`` parameter, with the same meaning. ``n_jobs`` is
        the number of kernel threads per worker (None: the worker's
        ``nthreads``) and on the driver.

    Notes
    -----
    Inputs: ``X`` a dask array or dask DataFrame (or in-memory data, which is
    scattered); ``y``, ``qid``, ``sample_weight``, ``position`` dask arrays or
    Series with the same rows (or in-memory arrays); ``group`` in-memory query
    sizes. ``eval_set`` is evaluated on the driver (in-memory or computed).

    Per boosting iteration the driver exchanges ``num_leaves - 1`` batches
    with the workers, each answered by one histogram of
    ``n_features * (max_bin + 1) * 3`` float64 per link of the reduction
    tree (see benchmarks/README.md, "Distributed training: scaling model").

    A worker lost during training raises `WorkerLostError` naming the worker
    and its partitions (no model is returned), unless ``worker_retries``
    allows rebuilding the partitions elsewhere. A loss is noticed at the
    next batch, at the latest after ``distributed.comm.timeouts.connect``
    (Dask's connection timeout).

    Attributes
    ----------
    booster_, objective_, n_features_in_, feature_names_in_, n_iter_, best_iteration_, best_score_, evals_result_
        As ``LambdaRanker``.
    n_partitions_ : int
        Query-aligned partitions the data was cut into.
    n_workers_ : int
        Workers that held partitions.
    training_traffic_ : list of dict
        Per iteration: batches exchanged, bytes over the reduction tree
        (``up``: results, ``down``: commands, ``driver_in``/``driver_out``)
        and ``seconds`` the driver waited for the workers.
    worker_busy_seconds_ : list of float
        Per worker, seconds spent computing during the boosting loop (since
        the last rebuild after a worker loss).
    n_worker_losses_ : int
        Worker losses survived (see ``worker_retries``).
    """

    def __init__(self, objective="lambdamart", *, client=None, worker_retries=0, **params):
        # Every LambdaRanker parameter is accepted as is; the signature scikit-learn reads (get_params,
        # clone) is LambdaRanker's plus the two below (set after the class).
        super().__init__(objective, **params)
        self.client = client
        self.worker_retries = worker_retries

    _parameter_constraints = {**LambdaRanker._parameter_constraints, "client": "no_validation",
                              "worker_retries": [Interval(Integral, 0, None, closed="left")]}

    def __sklearn_clone__(self):
        # A Client cannot be deep-copied: the clone shares it.
        client, self.client = self.client, None
        try:
            new = _clone_parametrized(self)
        finally:
            self.client = client
        new.client = client
        return new

    def __getstate__(self):
        state = dict(self.__dict__)
        state["client"] = None
        state.pop("training_traffic_", None)
        state.pop("worker_busy_seconds_", None)
        state.pop("_global_stats", None)
        return state

    def _get_client(self):
        if self.client is not None:
            return self.client
        from distributed import default_client

        try:
            return default_client()
        except ValueError:
            raise ValueError("DaskLambdaRanker needs a Dask client: pass client= or create a "
                             "distributed.Client first") from None

    def _params_for_file(self):
        params = super()._params_for_file()
        params.pop("client", None)
        params.pop("worker_retries", None)
        return params

    # -- fit ------------------------------------------------------------------------------------------------------
    def fit(self, X, y, *, qid=None, group=None, sample_weight=None, position=None, eval_set=None, eval_qid=None,
            eval_group=None, callbacks=None, init_model=None):
        """Fit on the cluster. Arguments as `LambdaRanker.fit` (see the class notes for dask inputs)."""
        self._validate_params()
        check_tree_shape(self.grow_policy, self.max_depth, self.score_function, self.random_strength)
        if self.random_strength:
            raise ValueError("DaskLambdaRanker does not support random_strength > 0 (the noise scale needs every "
                             "worker's gradients); train with LambdaRanker or set random_strength=0")
        if self.propensity_estimation != "joint" or self.cross_fit_params is not None:
            from .._validation import LTRValueError

            raise LTRValueError("propensity_estimation='cross_fit' is not available in distributed training: "
                                "estimate the propensities with ltr.unbiased.estimate_propensity_cross_fit on a "
                                "sample, then fit unbiased='ipw' with propensity=...")
        client = self._get_client()
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:
            raise RuntimeError("the Dask cluster has no workers")
        X, y, qid, w, pos, names = as_dask_inputs(X, y, qid, sample_weight, position, len(workers))
        n_samples, n_features = int(X.shape[0]), int(X.shape[1])
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.n_features_in_ = n_features

        seed = resolve_seed(self.random_state)
        init_booster = self._init_booster(init_model)
        objective = self._make_objective()
        if init_booster is not None:
            if objective.name != init_booster.objective.name:
                raise ValueError(f"init_model was trained with objective {init_booster.objective.name!r}, "
                                 f"not {objective.name!r}")
            if init_booster.n_features != n_features:
                raise ValueError(f"init_model has {init_booster.n_features} features, X has {n_features}")
            objective.set_state(init_booster.objective.state())
        iteration_stats = check_objective_supported(objective)
        callbacks = list(callbacks or [])
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks must be ltr.callbacks.Callback instances, got {type(cb).__name__}")

        # Read the input once: the query plan and the partitions both need it. The original collections stay
        # the source of a rebuild after a worker loss.
        source = (X, y, qid, w, pos)
        if qid is not None:
            kept = [i for i, a in enumerate(source) if a is not None]
            persisted = list(source)
            for i, a in zip(kept, client.persist([source[i] for i in kept])):
                persisted[i] = a
            X, y, qid, w, pos = persisted
            del persisted
        plan, already_sorted = plan_partitions(client, X, qid, group, len(workers))
        backend = self._place(client, workers, plan, partition_payloads(plan, already_sorted, X, y, qid, w, pos))
        del X, y, qid, w, pos  # release the persisted input: the workers hold their partitions now
        payloads = partition_payloads(plan, already_sorted, *source)
        template = copy.deepcopy(objective)  # as the partitions first receive it (recovery sets it up again)
        live = {"backend": backend}

        def recover(booster, lost):
            live["backend"].close()
            new = self._recover(client, plan, payloads, booster, template, seed, lost)
            live["backend"] = new
            return new

        try:
            return self._fit_backend(backend, plan, n_samples, n_features, seed, objective, init_booster,
                                     iteration_stats, callbacks, eval_set, eval_qid, eval_group,
                                     recover=recover if self.worker_retries else None)
        finally:
            live["backend"].close()

    def _fit_backend(self, backend, plan, n_samples, n_features, seed, objective, init_booster, iteration_stats,
                     callbacks, eval_set, eval_qid, eval_group, recover=None):
        """Everything after the partitions are on the workers (any backend)."""
        with numba_threads(self.n_jobs):
            booster = self._prepare(backend, plan, n_samples, n_features, seed, objective, init_booster)
            eval_sets = self._prepare_eval_sets(*self._local_eval_sets(eval_set, eval_qid, eval_group),
                                                booster.bin_mapper)
            metrics = self._metrics() if eval_sets else []
            early = None
            if self.early_stopping_rounds is not None:
                if not eval_sets:
                    raise ValueError("early_stopping_rounds needs an eval_set")
                early = EarlyStopping(self.early_stopping_rounds, metric=metrics[0][0])
                callbacks.append(early)
            if self.verbose and eval_sets:
                callbacks.append(LogEvaluation(period=int(self.verbose)))
            tree_params = TreeParams(num_leaves=self.num_leaves, max_depth=self.max_depth,
                                     min_child_samples=self.min_child_samples,
                                     min_child_weight=self.min_child_weight, min_split_gain=self.min_split_gain,
                                     reg_alpha=self.reg_alpha, reg_lambda=self.reg_lambda,
                                     learning_rate=self.learning_rate)
            sampling = _boosting.SamplingParams(self.subsample, self.subsample_freq, self.colsample_bytree)
            n_before = booster.n_trees
            busy0 = backend.execute([("busy_seconds", ())])[0]
            history = []
            live = [backend]
            self.n_worker_losses_ = 0

            def recover_and_track(b, lost):
                self.n_worker_losses_ += 1
                live[0] = recover(b, lost)
                return live[0]

            evals_result, _ = _training.train(backend, booster, tree_params, self.n_estimators, seed, sampling,
                                              plan.group_sizes.shape[0], iteration_stats, eval_sets, metrics,
                                              callbacks, history=history,
                                              recover=None if recover is None else recover_and_track,
                                              max_retries=self.worker_retries, grow_policy=self.grow_policy,
                                              score_function=self.score_function)
            if live[0] is not backend:  # rebuilt after a worker loss: its clocks started at zero
                backend = live[0]
                busy0 = dict.fromkeys(range(backend.n_workers), 0.0)
            busy = backend.execute([("busy_seconds", ())])[0]

        self.booster_ = booster
        self.objective_ = booster.objective
        self.n_iter_ = booster.n_trees - n_before
        self.evals_result_ = evals_result
        self.n_partitions_ = plan.n_partitions
        self.n_workers_ = backend.n_workers
        self.training_traffic_ = history
        self.worker_busy_seconds_ = [busy[r] - busy0[r] for r in range(backend.n_workers)]
        if early is not None and early.best_iteration is not None:
            self.best_iteration_ = early.best_iteration + 1
            self.best_score_ = early.best_score
            booster.best_iteration = self.best_iteration_
        else:
            self.best_iteration_ = None
            self.best_score_ = {d: {m: v[-1] for m, v in ms.items()} for d, ms in evals_result.items()}
        return self

    def _place(self, client, workers, plan, payloads):
        """Compute the partitions, place them, and create one actor per worker that holds some."""
        from distributed import wait

        futures = client.compute(payloads)
        wait(futures)
        for f in futures:
            if f.status == "error":
                f.result()  # raises the partition's error (bad qid, infinite values, ...)
        who_has = client.who_has(futures)
        holders = [set(who_has.get(f.key, ())) for f in futures]
        owner = assign_partitions(plan, holders, workers)
        used = [a for a in workers if a in owner]
        actor_futures, parts = [], []
        for rank, addr in enumerate(used):
            mine = [p for p in range(plan.n_partitions) if owner[p] == addr]
            parts.append(mine)
            actor_futures.append(client.submit(WorkerActor, rank, [futures[p] for p in mine], self.n_jobs,
                                               workers=[addr], allow_other_workers=False, actor=True, pure=False))
        wait(actor_futures)
        actors = []
        for f in actor_futures:
            if f.status == "error":
                f.result()
            actors.append(f.result())
        del futures
        return ActorBackend(client, actors, used, parts, actor_futures)

    def _recover(self, client, plan, payloads, booster, template, seed, lost, wait_seconds=30.0):
        """A new backend on the live workers, in the state training had before the current iteration."""
        deadline = time.monotonic() + wait_seconds
        while True:
            workers = sorted(a for a in client.scheduler_info()["workers"] if a != lost.address)
            if workers:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("no Dask worker left to continue training on") from lost
            time.sleep(0.5)
        backend = self._place(client, workers, plan, payloads)
        # The learned state (DLA's propensities, Unbiased LambdaMART's t+/t-) is given before the set-up, as
        # when continuing from a saved model, so everything derived from it (IPW row weights) is rebuilt.
        resumed = copy.deepcopy(template)
        resumed.set_state(booster.objective.state())
        commands = [("set_bins", (booster.bin_mapper,)), ("setup_objective", (resumed, seed))]
        if getattr(self, "_global_stats", None) is not None:
            commands.append(("set_global_statistics", (self._global_stats,)))
        commands += [("init_scores", (booster.init_score, list(booster.trees)))]
        backend.execute(commands)
        return backend

    def _prepare(self, backend, plan, n_samples, n_features, seed, objective, init_booster):
        """Bins, objectives and raw scores on the workers; the empty booster on the driver."""
        if init_booster is not None:
            bin_mapper = init_booster.bin_mapper
        else:
            sample = self._bin_sample(backend, plan, n_samples, seed)
            bin_mapper = BinMapper(max_bin=self.max_bin, subsample=None, seed=seed & 0xFFFFFFFF).fit(sample)
            del sample
        backend.execute([("set_bins", (bin_mapper,))])

        setup = backend.execute([("setup_objective", (objective, seed))])[0]
        stats = [setup[p]["statistics"] for p in range(plan.n_partitions)]
        commands = []
        self._global_stats = None
        if any(s is not None for s in stats):
            global_stats = reduce_partition_statistics(stats)
            objective.set_global_statistics(global_stats)
            commands.append(("set_global_statistics", (global_stats,)))
            self._global_stats = global_stats
        commands.append(("objective_summary", ()))
        summary = backend.execute(commands)[-1]
        init0, state0 = summary[0]
        for p in range(plan.n_partitions):
            if summary[p][0] != init0 or summary[p][1] != state0:
                raise ValueError(
                    f"objective {objective.name!r} computes its start score or state from all the data "
                    f"(partition 0: {init0!r}, {state0!r}; partition {p}: {summary[p][0]!r}, {summary[p][1]!r}) "
                    "but does not provide partition_statistics / set_global_statistics; it cannot be trained "
                    "distributed")
        objective.set_state(state0)
        n_degenerate = sum(setup[p]["degenerate"] for p in range(plan.n_partitions))
        objective.n_degenerate_queries_ = n_degenerate
        if objective.is_ranking and n_degenerate and self.verbose:
            print(f"[ltr] {n_degenerate} of {plan.group_sizes.shape[0]} queries have one document "
                  "or equal labels: they contribute no gradient")

        if init_booster is not None:
            init_score, trees = init_booster.init_score, list(init_booster.trees)
        else:
            init_score, trees = init0, []
        backend.execute([("init_scores", (init_score, trees))])
        names = list(self.feature_names_in_) if hasattr(self, "feature_names_in_") else None
        booster = Booster(bin_mapper, objective, init_score, n_features, feature_names=names, trees=trees)
        booster.params = self._params_for_file()
        return booster

    @staticmethod
    def _bin_sample(backend, plan, n_samples, seed, size=DEFAULT_SUBSAMPLE):
        """The raw rows single-process training bins on: the `size` smallest sample keys (all rows if fewer).

        Two batches: every worker sends its `size` smallest keys, the driver
        finds the global threshold, every worker sends its rows below it and
        at it (rows sharing a key have the same content: any of them will do).
        """
        threshold, n_equal = None, 0
        if n_samples > size:
            keys = np.concatenate(list(backend.execute([("sample_keys", (size, seed))])[0].values()))
            threshold = np.partition(keys, size - 1)[size - 1]
            n_equal = size - int(np.count_nonzero(keys < threshold))
        pieces = backend.execute([("sample_rows", (threshold, seed))])[0]
        below = [pieces[p][0] for p in range(plan.n_partitions)]
        if threshold is None:
            return np.concatenate(below)
        at = np.concatenate([pieces[p][1] for p in range(plan.n_partitions)])[:n_equal]
        return np.concatenate(below + [at])

    def _local_eval_sets(self, eval_set, eval_qid, eval_group):
        """Eval sets as in-memory arrays (dask collections are computed: they are evaluated on the driver)."""
        import dask

        def local(a):
            return dask.compute(a)[0] if _is_dask(a) else a

        if eval_set is None:
            return eval_set, eval_qid, eval_group
        if isinstance(eval_set, tuple) and len(eval_set) == 2 and not isinstance(eval_set[0], tuple):
            eval_set = [eval_set]
        eval_set = [tuple(local(a) for a in pair) if isinstance(pair, (tuple, list)) else pair for pair in eval_set]
        if eval_qid is not None:
            eval_qid = [local(q) for q in eval_qid]
        if eval_group is not None:
            eval_group = [local(g) for g in eval_group]
        return eval_set, eval_qid, eval_group

    # -- predict ----------------------------------------------------------------------------------------------------
    def predict(self, X, num_iteration=None):
        """Scores of the rows of X; lazy (a dask array / Series) when X is a dask collection."""
        check_is_fitted(self, "booster_")
        if num_iteration is None:
            num_iteration = self.best_iteration_
        if not _is_dask(X):
            return super().predict(X, num_iteration=num_iteration)
        booster = self.booster_
        if hasattr(X, "map_partitions") and hasattr(X, "columns"):
            if len(X.columns) != self.n_features_in_:
                raise ValueError(f"X has {len(X.columns)} features, but the model was fitted with "
                                 f"{self.n_features_in_}")
            if hasattr(self, "feature_names_in_") and list(X.columns) != list(self.feature_names_in_):
                raise ValueError("X's column names differ from those seen in fit")
            return X.map_partitions(_predict_frame, booster, num_iteration, meta=(None, "f8"))
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have shape (n, {self.n_features_in_}), got {X.shape}")
        if len(X.chunks[1]) != 1:
            X = X.rechunk({1: X.shape[1]})
        return X.map_blocks(_predict_block, booster, num_iteration, drop_axis=1, dtype=np.float64,
                            meta=np.empty((0,), dtype=np.float64))

    def score(self, X, y, *, qid=None, group=None):
        """Mean NDCG@10 over the queries (dask inputs are computed)."""
        import dask

        from ..metrics import ndcg_score

        scores = self.predict(X)
        scores, y, qid = (dask.compute(a)[0] if _is_dask(a) else a for a in (scores, y, qid))
        opts = {} if self.label_gain is None else {"gain": np.asarray(self.label_gain, dtype=np.float64)}
        return float(ndcg_score(np.asarray(y), np.asarray(scores), qid=None if qid is None else np.asarray(qid),
                                group=group, k=10, **opts))

    def to_local(self):
        """A plain fitted `LambdaRanker` with the same model (no Dask needed to use it)."""
        check_is_fitted(self, "booster_")
        params = self.get_params(deep=False)
        params.pop("client")
        params.pop("worker_retries")
        est = LambdaRanker(**params)
        for attr in ("booster_", "objective_", "n_features_in_", "feature_names_in_", "n_iter_", "evals_result_",
                     "best_iteration_", "best_score_"):
            if hasattr(self, attr):
                setattr(est, attr, getattr(self, attr))
        return est


def _signature():
    """LambdaRanker's __init__ signature plus `client` and `worker_retries` (keyword-only)."""
    base = inspect.signature(LambdaRanker.__init__)
    extra = [inspect.Parameter("client", inspect.Parameter.KEYWORD_ONLY, default=None),
             inspect.Parameter("worker_retries", inspect.Parameter.KEYWORD_ONLY, default=0)]
    return base.replace(parameters=list(base.parameters.values()) + extra)


DaskLambdaRanker.__init__.__signature__ = _signature()
