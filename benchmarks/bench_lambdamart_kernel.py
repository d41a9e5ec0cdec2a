"""Throughput of the LambdaMART gradient kernel (g and h for every row, one call).

Synthetic queries of equal size with MSLR-like labels (mostly 0, few 4) and
normal scores, so the |ds| normalisation and the sigmoid run on every pair.
Before every call the scores move by ``--drift`` times a standard normal
draw per document (untimed), as one boosting iteration moves them: the
kernel starts each query's sort from the previous call's order, so calls
on unchanged scores would flatter it (``--drift 0`` measures that case,
``--drift 10`` a reshuffle each call). Compile time is excluded (one
warm-up call); the median wall time and the minimum CPU time of
`--repeat` calls are reported, for 1 thread and for all Numba threads.
Wall time depends on what else runs on the machine; the process CPU time
(summed over threads) does much less, so CPU ms and Mrows per CPU-second
are the figures to compare across runs.

    python benchmarks/bench_lambdamart_kernel.py            # 1M rows
    python benchmarks/bench_lambdamart_kernel.py --quick    # 200k rows, fewer cases
"""
import argparse
import statistics
import time

import numba
import numpy as np

from ltr.objectives import get_objective
from ltr.objectives._base import new_grad_hess

LABEL_PROBABILITIES = [0.5, 0.3, 0.15, 0.04, 0.01]


def _data(n_rows, query_size, seed=0):
    rng = np.random.default_rng(seed)
    n_queries = max(1, n_rows // query_size)
    n = n_queries * query_size
    y = rng.choice(len(LABEL_PROBABILITIES), size=n, p=LABEL_PROBABILITIES).astype(np.float64)
    score = rng.normal(size=n)
    group_ptr = np.arange(n_queries + 1, dtype=np.int64) * query_size
    return y, score, group_ptr


def _n_pairs(y, score, group_ptr, k):
    """Pairs the kernel evaluates: top-k member, different labels (a Python count on a sample of queries)."""
    total = 0
    n_queries = len(group_ptr) - 1
    sample = range(0, n_queries, max(1, n_queries // 50))
    for q in sample:
        a, b = group_ptr[q], group_ptr[q + 1]
        ranked = y[a:b][np.argsort(-score[a:b], kind="stable")]
        for i in range(min(k, b - a - 1)):
            total += int(np.sum(ranked[i + 1:] != ranked[i]))
    return total * n_queries / len(sample)


def bench(n_rows, query_size, k, threads, repeat, drift):
    y, score, group_ptr = _data(n_rows, query_size)
    rng = np.random.default_rng(1)
    obj = get_objective("lambdamart", lambdarank_truncation_level=k)
    obj.setup(y, group_ptr)
    grad, hess = new_grad_hess(len(y))
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        obj.gradient_hessian(score, grad, hess)  # compile / load from cache
        times, cpu = [], []
        for _ in range(repeat):
            if drift:
                score = score + drift * rng.normal(size=score.shape[0])
            t0, c0 = time.perf_counter(), time.process_time()
            obj.gradient_hessian(score, grad, hess)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    finally:
        numba.set_num_threads(previous)
    t = statistics.median(times)
    c = min(cpu)
    pairs = _n_pairs(y, score, group_ptr, k)
    return dict(rows=len(y), query_size=query_size, k=k, threads=threads, ms=1e3 * t, cpu_ms=1e3 * c,
                mrows=len(y) / t / 1e6, mpairs=pairs / t / 1e6,
                mrows_cpu=len(y) / c / 1e6)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200k rows and three cases")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--drift", type=float, default=0.05,
                        help="standard deviation of the score change between calls (default 0.05)")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="Numba thread counts to run (default: 1 and all)")
    args = parser.parse_args(argv)
    n_rows = args.rows or (200_000 if args.quick else 1_000_000)
    cases = [(120, 30), (120, 10), (20, 30)] if args.quick else [
        (120, 30), (120, 10), (120, 120), (20, 30), (1000, 30)]
    thread_counts = args.threads or sorted({1, numba.config.NUMBA_NUM_THREADS})
    print(f"score drift between calls: {args.drift}")
    header = (f"{'rows':>9} {'docs/q':>6} {'k':>4} {'thr':>3} {'wall ms':>8} {'Mrows/s':>8} {'Mpairs/s':>9}"
              f" {'min cpu ms':>10} {'Mrows/cpu-s':>11}")
    print(header)
    print("-" * len(header))
    for query_size, k in cases:
        for threads in thread_counts:
            r = bench(n_rows, query_size, k, threads, args.repeat, args.drift)
            print(f"{r['rows']:>9} {r['query_size']:>6} {r['k']:>4} {r['threads']:>3} {r['ms']:>8.1f} "
                  f"{r['mrows']:>8.2f} {r['mpairs']:>9.1f} {r['cpu_ms']:>10.1f} {r['mrows_cpu']:>11.2f}")


if __name__ == "__main__":
    main()
