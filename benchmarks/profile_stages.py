"""Where the time of a fit goes: wall and CPU milliseconds per tree for each stage.

Wraps the kernels the tree engine calls (histograms, partitions, split
finding, histogram subtraction, leaf values, objective gradients) with
timers, fits `LambdaRanker` on generated MSLR-shaped data and prints one row
per stage. A profiling helper, not a benchmark of record: the wrappers add a
few microseconds per call.

    python benchmarks/profile_stages.py --rows 1000000 --leaves 31 --trees 10 --n-jobs 1
    python benchmarks/profile_stages.py --quick
"""
import argparse
import collections
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # PYTHONPATH wins: profile another checkout

from _common import generated_data  # noqa: E402

import ltr._rowset as rowset_module  # noqa: E402
import ltr.grower as grower_module  # noqa: E402
from ltr import LambdaRanker  # noqa: E402
from ltr.objectives._base import Objective  # noqa: E402

WALL = collections.defaultdict(float)
CPU = collections.defaultdict(float)


def _wrap(owner, name, key):
    original = getattr(owner, name)

    def timed(*args, **kwargs):
        t, c = time.perf_counter(), time.process_time()
        out = original(*args, **kwargs)
        WALL[key] += time.perf_counter() - t
        CPU[key] += time.process_time() - c
        return out

    setattr(owner, name, timed)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--leaves", type=int, default=31)
    ap.add_argument("--trees", type=int, default=10)
    ap.add_argument("--n-jobs", type=int, default=None)
    ap.add_argument("--quick", action="store_true", help="100k rows, 5 trees")
    args = ap.parse_args()
    if args.quick:
        args.rows, args.trees = 100_000, 5
    data = generated_data(args.rows)
    X, y, q = (np.load(data[k]) for k in ("X_train", "y_train", "q_train"))

    for name in ("build_histogram", "build_histogram_with_scratch", "partition_rows", "partition_rows_column", "add_leaf_values"):
        if hasattr(rowset_module, name):
            _wrap(rowset_module, name, name)
    _wrap(grower_module, "find_best_split", "find_best_split")
    for name in ("subtract_histograms", "subtract_and_find_splits"):
        if hasattr(grower_module, name):
            _wrap(grower_module, name, name)
    _wrap(Objective, "gradient_hessian", "gradient_hessian")
    _wrap(grower_module.TreeGrower, "grow", "grow (total)")
    # time the kernels one call at a time: the Python growth loop (the compiled one grows the same trees)
    grower_module.TreeGrower.use_compiled = False

    # compile everything first on a small fit
    LambdaRanker(n_estimators=2, num_leaves=args.leaves, n_jobs=args.n_jobs).fit(X[:20000], y[:20000], qid=q[:20000])
    WALL.clear()
    CPU.clear()
    t, c = time.perf_counter(), time.process_time()
    LambdaRanker(n_estimators=args.trees, num_leaves=args.leaves, n_jobs=args.n_jobs).fit(X, y, qid=q)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"rows={X.shape[0]} leaves={args.leaves} trees={args.trees} n_jobs={args.n_jobs}: "
          f"fit wall {wall:.2f} s, CPU {cpu:.2f} s")
    print(f"| {'stage':22s} | wall ms/tree | CPU ms/tree |")
    print("| --- | --- | --- |")
    for key in sorted(WALL, key=lambda k: -WALL[k]):
        print(f"| {key:22s} | {WALL[key] / args.trees * 1e3:12.1f} | {CPU[key] / args.trees * 1e3:11.1f} |")


if __name__ == "__main__":
    main()
