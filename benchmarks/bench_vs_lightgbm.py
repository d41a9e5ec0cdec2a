"""ltr LambdaMART against LightGBM lambdarank: fit time, predict time, peak memory, NDCG@10.

Both libraries train on the same generated MSLR-WEB30K-shaped data (136
features, ~120 documents per query, graded labels 0-4, NaNs present) with
the same settings and the same number of threads. Every measurement runs in
a fresh process, so peak memory is attributable to one fit, and each figure
is the median over --repeats runs. Numba's compile time is measured apart:
the first fit in a process with an empty cache (cold), with a warm cache,
and a later fit in the same process.

    python benchmarks/bench_vs_lightgbm.py                 # 100k and 1M rows, 31 and 255 leaves
    python benchmarks/bench_vs_lightgbm.py --quick         # 20k rows, a smoke run
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, generated_data, peak_rss_mb, rss_mb, run_isolated  # noqa: E402

HERE = Path(__file__).resolve()


def worker(lib, data, n_estimators, num_leaves, threads, predict_trees):
    d = {k: np.load(v) for k, v in json.loads(data).items()}
    base = rss_mb()
    X, y, q = d["X_train"], d["y_train"], d["q_train"]
    if lib == "ltr":
        from ltr import LambdaRanker

        # warm the JIT on a tiny problem first so compile time is not counted as fit time
        LambdaRanker(n_estimators=2, num_leaves=4, min_child_samples=1).fit(X[:2000], y[:2000], qid=q[:2000])
        base = rss_mb()
        model = LambdaRanker(n_estimators=n_estimators, learning_rate=0.1, num_leaves=num_leaves,
                             min_child_samples=20, max_bin=255, n_jobs=threads, random_state=0)
        with Timer() as t_fit:
            model.fit(X, y, qid=q)
        peak = peak_rss_mb()
        predict = model.predict
    else:
        import lightgbm as lgb

        model = lgb.LGBMRanker(objective="lambdarank", n_estimators=n_estimators, learning_rate=0.1,
                               num_leaves=num_leaves, min_child_samples=20, max_bin=255, n_jobs=threads,
                               random_state=0, verbose=-1)
        group = np.bincount(np.unique(q, return_inverse=True)[1])
        with Timer() as t_fit:
            model.fit(X, y, group=group)
        peak = peak_rss_mb()
        predict = model.predict
    from ltr.metrics import ndcg_score

    Xt = d["X_test"]
    scores = predict(Xt)
    ndcg = float(ndcg_score(d["y_test"], scores, qid=d["q_test"], k=10))
    # predict throughput on the training rows (the larger set)
    with Timer() as t_pred:
        predict(X)
    return {"fit_s": t_fit.seconds, "predict_s": t_pred.seconds, "predict_rows": len(X),
            "peak_mb": peak - base, "ndcg10": ndcg}


def compile_times():
    """Cold (empty cache) and warm first-fit times in fresh processes, and a later fit's time."""
    cache = tempfile.mkdtemp(prefix="ltr-numba-cache-")
    try:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = run_isolated(HERE, ["--compile-worker"], env)
        warm = run_isolated(HERE, ["--compile-worker"], env)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return cold, warm


def compile_worker():
    with Timer() as t_import:
        import ltr  # noqa: F401
    with Timer() as t_estimator:
        from ltr import LambdaRanker
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 20))
    y = rng.integers(0, 5, 5000).astype(float)
    q = np.repeat(np.arange(100), 50)
    with Timer() as first:
        LambdaRanker(n_estimators=5, random_state=0).fit(X, y, qid=q, eval_set=[(X, y)], eval_qid=[q]).predict(X)
    with Timer() as later:
        LambdaRanker(n_estimators=5, random_state=0).fit(X, y, qid=q, eval_set=[(X, y)], eval_qid=[q]).predict(X)
    return {"import_s": t_import.seconds, "estimator_import_s": t_estimator.seconds, "first_s": first.seconds,
            "later_s": later.seconds}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--leaves", type=int, nargs="+", default=[31, 255])
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="20k rows, 31 leaves, 20 trees, 1 repeat")
    ap.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--compile-worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        lib, data, trees, leaves, threads = args.worker
        print(json.dumps(worker(lib, data, int(trees), int(leaves), int(threads), None)))
        return
    if args.compile_worker:
        print(json.dumps(compile_worker()))
        return
    if args.quick:
        args.rows, args.leaves, args.trees, args.repeats = [20_000], [31], 20, 1

    cold, warm = compile_times()
    print(f"import ltr: {warm['import_s']:.2f} s; from ltr import LambdaRanker (numba, scikit-learn): "
          f"{warm['estimator_import_s']:.2f} s")
    print(f"first fit, empty Numba cache: {cold['first_s']:.1f} s (a later fit in that process: {cold['later_s']:.2f} s)")
    print(f"first fit, warm Numba cache:  {warm['first_s']:.2f} s (a later fit in that process: {warm['later_s']:.2f} s;"
          f" start-up overhead {warm['first_s'] - warm['later_s']:.2f} s)")
    print()
    header = (f"{'rows':>9} {'leaves':>6} | {'fit ltr':>8} {'fit lgb':>8} {'ratio':>6} | {'pred ltr':>8} {'pred lgb':>8}"
              f" {'ratio':>6} | {'MB ltr':>7} {'MB lgb':>7} {'ratio':>6} | {'ndcg ltr':>8} {'ndcg lgb':>8}")
    print(header)
    print("-" * len(header))
    for n_rows in args.rows:
        paths = {k: str(v) for k, v in generated_data(n_rows).items()}
        for leaves in args.leaves:
            res = {}
            for lib in ("ltr", "lightgbm"):
                runs = [run_isolated(HERE, ["--worker", lib, json.dumps(paths), args.trees, leaves, args.threads])
                        for _ in range(args.repeats)]
                res[lib] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            a, b = res["ltr"], res["lightgbm"]
            print(f"{n_rows:>9} {leaves:>6} | {a['fit_s']:>8.2f} {b['fit_s']:>8.2f} {a['fit_s'] / b['fit_s']:>6.2f} | "
                  f"{a['predict_s']:>8.2f} {b['predict_s']:>8.2f} {a['predict_s'] / b['predict_s']:>6.2f} | "
                  f"{a['peak_mb']:>7.0f} {b['peak_mb']:>7.0f} {a['peak_mb'] / max(b['peak_mb'], 1):>6.2f} | "
                  f"{a['ndcg10']:>8.4f} {b['ndcg10']:>8.4f}", flush=True)
    print("\nfit/predict in seconds (median of runs), MB = peak RSS growth during fit; ratio = ltr / LightGBM.")


if __name__ == "__main__":
    main()
