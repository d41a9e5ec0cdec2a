"""Distributed training on Dask: 2 local workers against one process, and the bytes each iteration moves.

Both trainings use the same MSLR-shaped data (136 features, ~120 documents
per query, graded labels, 2% NaN), the same settings and the same two cores:
one process with 2 kernel threads, or a `LocalCluster` of 2 worker processes
with 1 thread each. The Dask data are generated on the workers chunk by chunk
(the driver never holds them); the single-process baseline computes the same
chunks locally.

Reported per configuration: setup time (loading, repartition, bins,
objective set-up; the Dask data are generated and persisted before the
clock starts), median seconds per iteration, batches (driver <->
workers round trips) per iteration, and bytes per iteration: the payload
carried over the links of the reduction tree (histograms up, commands down),
the driver's share, and the same messages as Dask serialises them
(``distributed.protocol.serialize_bytelist``) for one iteration. The model
check compares the two models' predictions.

    nice python benchmarks/bench_dask.py            # 1M rows x 136 features, 20 trees of 31 leaves
    python benchmarks/bench_dask.py --quick         # 100k rows x 40 features, 5 trees
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_chunk(chunk, n_rows, n_features, seed, mean_query=120):
    """One chunk of MSLR-shaped rows: whole queries, ids starting at chunk * 10**6, labels 0..4."""
    rng = np.random.default_rng([seed, chunk])
    sizes = []
    while sum(sizes) < n_rows:
        sizes.append(int(rng.integers(mean_query // 6, 2 * mean_query - mean_query // 6)))
    sizes[-1] -= sum(sizes) - n_rows
    if sizes[-1] <= 0:
        sizes.pop()
        sizes[-1] += n_rows - sum(sizes)
    qid = np.repeat(chunk * 10**6 + np.arange(len(sizes)), sizes)
    X = rng.normal(size=(n_rows, n_features))
    X[:, : n_features // 4] = np.round(X[:, : n_features // 4] * 3)  # low-cardinality features
    w = rng.normal(size=8) / np.sqrt(8)
    score = X[:, :8] @ w + 0.3 * np.sin(3 * X[:, 8]) + rng.normal(0, 0.5, n_rows)
    y = np.digitize(score, [0.0, 0.6, 1.2, 1.8]).astype(np.float64)
    X[rng.random(X.shape) < 0.02] = np.nan
    return X, y, qid


def dask_data(n_rows, n_features, n_chunks, seed):
    import dask
    import dask.array as da

    step = n_rows // n_chunks
    sizes = [step] * (n_chunks - 1) + [n_rows - step * (n_chunks - 1)]
    parts = [dask.delayed(make_chunk)(c, s, n_features, seed) for c, s in enumerate(sizes)]
    X = da.concatenate([da.from_delayed(p[0], (s, n_features), np.float64) for p, s in zip(parts, sizes)])
    y = da.concatenate([da.from_delayed(p[1], (s,), np.float64) for p, s in zip(parts, sizes)])
    q = da.concatenate([da.from_delayed(p[2], (s,), np.int64) for p, s in zip(parts, sizes)])
    return X, y, q, sizes


class IterationClock:
    """Callback recording the wall time at the end of every iteration."""

    def __init__(self):
        from ltr.callbacks import Callback

        clock = self

        class _CB(Callback):
            def before_training(self, env):
                clock.times = [time.perf_counter()]

            def after_iteration(self, env):
                clock.times.append(time.perf_counter())
                return False

        self.callback = _CB()
        self.times = []

    def per_iteration(self, how="median"):
        """Seconds per iteration, the first (JIT, caches) left out."""
        d = np.diff(self.times)
        d = d[1:] if d.size > 2 else d
        return float(statistics.median(d) if how == "median" else np.mean(d))


def fmt_bytes(b):
    for unit in ("B", "KB", "MB", "GB"):
        if abs(b) < 1024 or unit == "GB":
            return f"{b:.1f} {unit}" if unit != "B" else f"{int(b)} B"
        b /= 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100k rows x 40 features, 5 trees")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--features", type=int, default=None)
    ap.add_argument("--trees", type=int, default=None)
    ap.add_argument("--leaves", type=int, default=31)
    ap.add_argument("--chunks", type=int, default=8, help="input chunks of the dask arrays")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    n_rows = args.rows or (100_000 if args.quick else 1_000_000)
    n_features = args.features or (40 if args.quick else 136)
    n_trees = args.trees or (5 if args.quick else 20)

    import dask
    from distributed import Client, LocalCluster

    from ltr import LambdaRanker
    from ltr.dask import DaskLambdaRanker
    from ltr.dask._reduce import ActorBackend

    params = dict(n_estimators=n_trees, num_leaves=args.leaves, learning_rate=0.1, random_state=args.seed,
                  min_child_samples=20)
    X_d, y_d, q_d, _ = dask_data(n_rows, n_features, args.chunks, args.seed)

    # -- one process, 2 threads ------------------------------------------------------------------------
    with dask.config.set(scheduler="synchronous"):
        X, y, q = dask.compute(X_d, y_d, q_d)
    LambdaRanker(n_estimators=2, num_leaves=4, min_child_samples=1).fit(X[:3000], y[:3000], qid=q[:3000])  # JIT
    single_rows = []
    for threads in (2, 1):
        clock = IterationClock()
        t0 = time.perf_counter()
        single = LambdaRanker(n_jobs=threads, **params).fit(X, y, qid=q, callbacks=[clock.callback])
        total = time.perf_counter() - t0
        single_rows.append((f"1 process x {threads} thread" + ("s" if threads > 1 else ""),
                            total - (clock.times[-1] - clock.times[0]), clock.per_iteration()))
    n_queries = np.unique(q).size
    check_rows = np.random.default_rng(0).choice(n_rows, min(n_rows, 50_000), replace=False)
    X_check = X[check_rows]
    single_pred = single.predict(X_check)
    del X, y, q

    # -- 2 worker processes x 1 thread ----------------------------------------------------------------
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        # warm the workers' JIT (cached kernels are loaded, not compiled) on a small problem
        Xw, yw, qw, _ = dask_data(4000, n_features, 2, 99)
        DaskLambdaRanker(client=client, n_estimators=2, num_leaves=4, min_child_samples=1).fit(Xw, yw, qid=qw)

        def transfer_total():
            return sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total).values())

        # generate the data on the workers first: its cost is not training
        from distributed import wait

        t0 = time.perf_counter()
        X_d, y_d, q_d = client.persist([X_d, y_d, q_d])
        wait([X_d, y_d, q_d])
        generation = time.perf_counter() - t0
        moved0 = transfer_total()
        clock = IterationClock()
        t0 = time.perf_counter()
        dist = DaskLambdaRanker(client=client, n_jobs=1, **params).fit(X_d, y_d, qid=q_d,
                                                                       callbacks=[clock.callback])
        dist_total = time.perf_counter() - t0
        moved = transfer_total() - moved0
        dist_iter = clock.per_iteration()
        dist_iter_mean = clock.per_iteration("mean")
        dist_setup = dist_total - (clock.times[-1] - clock.times[0])
        traffic = dist.training_traffic_[1:] or dist.training_traffic_
        busy_per_iter = max(dist.worker_busy_seconds_) / dist.n_iter_
        # the same messages as Dask serialises them, on a short second fit
        ActorBackend.measure_serialized = True
        try:
            short = DaskLambdaRanker(client=client, n_jobs=1, **dict(params, n_estimators=3)).fit(X_d, y_d, qid=q_d)
        finally:
            ActorBackend.measure_serialized = False
        wire = {k: float(np.mean([t[k + "_serialized"] for t in short.training_traffic_[1:]]))
                for k in ("up", "down", "driver_in", "driver_out")}
        n_workers = dist.n_workers_
        n_parts = dist.n_partitions_

    diff = float(np.abs(dist.predict(X_check) - single_pred).max())
    hist_bytes = n_features * 256 * 3 * 8
    mean = {k: float(np.mean([t[k] for t in traffic])) for k in traffic[0]}

    print(f"data: {n_rows:,} rows x {n_features} features, {n_queries:,} queries; {n_trees} trees of "
          f"{args.leaves} leaves; 2 cores (machine load at start {os.getloadavg()[0]:.1f})")
    print()
    print(f"| {'configuration':<34} | {'setup s':>8} | {'s / iteration':>13} | {'batches / it':>12} |")
    print(f"|{'-' * 36}|{'-' * 10}|{'-' * 15}|{'-' * 14}|")
    for label, setup, per_it in single_rows:
        print(f"| {label:<34} | {setup:>8.2f} | {per_it:>13.3f} | {'-':>12} |")
    print(f"| {f'Dask: {n_workers} workers x 1 thread, {n_parts} parts':<34} | {dist_setup:>8.2f} | "
          f"{dist_iter:>13.3f} | {mean['batches']:>12.1f} |")
    wait = mean["seconds"]
    print()
    print(f"Dask iteration breakdown (means): {dist_iter_mean:.3f} s = driver {dist_iter_mean - wait:.3f} s "
          "(split finding, "
          f"subtraction) + waiting for batches {wait:.3f} s, of which the busiest worker computes "
          f"{busy_per_iter:.3f} s; the rest, {(wait - busy_per_iter) / mean['batches'] * 1e3:.1f} ms per batch, is "
          "messaging and scheduling latency")
    print()
    print(f"bytes per iteration (histogram = {n_features} x 256 x 3 x 8 B = {fmt_bytes(hist_bytes)}):")
    print(f"| {'what':<44} | {'payload model':>14} | {'Dask-serialised':>15} |")
    print(f"|{'-' * 46}|{'-' * 16}|{'-' * 17}|")
    rows = [("results (histograms) up, all tree links", "up"), ("commands down, all tree links", "down"),
            ("driver receives", "driver_in"), ("driver sends", "driver_out")]
    for label, k in rows:
        print(f"| {label:<44} | {fmt_bytes(mean[k]):>14} | {fmt_bytes(wire[k]):>15} |")
    print(f"| {'model: batches x links x histogram':<44} | "
          f"{fmt_bytes(mean['batches'] * n_workers * hist_bytes):>14} | {'':>15} |")
    print()
    print(f"loading: {fmt_bytes(moved)} moved between workers (Dask transfer counters: repartition, placement); "
          f"data generated on the workers beforehand in {generation:.1f} s (not in setup)")
    print(f"model check: max |prediction difference| on {len(check_rows):,} rows = {diff:.2e}")


if __name__ == "__main__":
    main()
