"""ltr LambdaMART against LightGBM lambdarank: every figure of the performance targets, in one run.

Both libraries train on the same generated MSLR-WEB30K-shaped data (136
features, ~120 documents per query, graded labels 0-4, NaNs present), given
as the same NumPy array, with the same settings and the same number of
threads. Every measurement runs in a fresh process, so peak memory is
attributable to one fit. Four parts, each printing one table:

fit
    Fit time (median of --repeats runs), peak memory of ``fit`` (RSS growth
    above the loaded data) and test NDCG@10, at --rows (100k and 1M) rows x
    136 features, --trees (100) trees, 255 bins, --leaves (31 and 255).
predict
    Throughput in rows/s predicting --predict-rows (1M) rows with models of
    --predict-trees (100 and 500) trees and --leaves leaves, trained on
    --predict-train-rows (100k) rows; median of --repeats predictions in
    one process, after one untimed prediction.
growth
    Time per tree at --growth-rows (100k, 300k, 1M, 3M) rows, --growth-trees
    (20) trees, 31 leaves, one run per size; time per tree should grow no
    faster than the row count.
startup
    ``import ltr`` and ``from ltr import LambdaRanker`` times, the first fit
    of a new process with an empty Numba cache (cold) and with a warm cache
    (median of --repeats processes), and a later fit in the same process: the
    start-up overhead is first minus later.

    python benchmarks/bench_vs_lightgbm.py                       # everything (~30 min on a quiet 2-core machine)
    python benchmarks/bench_vs_lightgbm.py --parts predict startup
    python benchmarks/bench_vs_lightgbm.py --quick               # small sizes, one repeat: a smoke run

Generated data is cached as .npy under $LTR_BENCH_CACHE (default
/tmp/ltr-bench-data); the 3M-row set takes 2.3 GB there.
"""
import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, generated_data, peak_rss_mb, rss_mb, run_isolated  # noqa: E402

HERE = Path(__file__).resolve()
PARTS = ("fit", "predict", "growth", "startup")
LIBS = ("ltr", "lightgbm")


# ---------------------------------------------------------------------------
# Model construction (one place, so every part uses the same settings)
# ---------------------------------------------------------------------------
def _qid_to_group(q):
    return np.bincount(np.unique(q, return_inverse=True)[1])


def _fit(lib, X, y, q, n_estimators, num_leaves, threads):
    if lib == "ltr":
        from ltr import LambdaRanker

        model = LambdaRanker(n_estimators=n_estimators, learning_rate=0.1, num_leaves=num_leaves,
                             min_child_samples=20, max_bin=255, n_jobs=threads, random_state=0)
        return model.fit(X, y, qid=q)
    import lightgbm as lgb

    model = lgb.LGBMRanker(objective="lambdarank", n_estimators=n_estimators, learning_rate=0.1,
                           num_leaves=num_leaves, min_child_samples=20, max_bin=255, n_jobs=threads,
                           random_state=0, verbose=-1)
    return model.fit(X, y, group=_qid_to_group(q))


def _warm_up(lib, X, y, q):
    """Load (or compile) ltr's kernels on a tiny problem, so that fit time is not start-up time."""
    if lib == "ltr":
        from ltr import LambdaRanker

        LambdaRanker(n_estimators=2, num_leaves=4, min_child_samples=1).fit(X[:2000], y[:2000], qid=q[:2000])


def _load(paths, names):
    return {k: np.load(paths[k]) for k in names}


# ---------------------------------------------------------------------------
# Workers (each runs in a fresh process and prints one JSON line)
# ---------------------------------------------------------------------------
def fit_worker(lib, paths, n_estimators, num_leaves, threads):
    d = _load(paths, ["X_train", "y_train", "q_train"])
    X, y, q = d["X_train"], d["y_train"], d["q_train"]
    _warm_up(lib, X, y, q)
    base = rss_mb()
    with Timer() as t_fit:
        model = _fit(lib, X, y, q, n_estimators, num_leaves, threads)
    peak = peak_rss_mb()
    from ltr.metrics import ndcg_score

    t = _load(paths, ["X_test", "y_test", "q_test"])
    ndcg = float(ndcg_score(t["y_test"], model.predict(t["X_test"]), qid=t["q_test"], k=10))
    return {"fit_s": t_fit.seconds, "peak_mb": peak - base, "ndcg10": ndcg}


def predict_worker(lib, train_paths, predict_path, n_predict, n_estimators, num_leaves, threads, repeats):
    d = _load(train_paths, ["X_train", "y_train", "q_train"])
    X, y, q = d["X_train"], d["y_train"], d["q_train"]
    _warm_up(lib, X, y, q)
    model = _fit(lib, X, y, q, n_estimators, num_leaves, threads)
    del d, X, y, q
    Xp = np.load(predict_path, mmap_mode="r")[:n_predict]
    Xp = np.ascontiguousarray(Xp)
    model.predict(Xp[:1000])  # compile / load the predictor
    times = []
    for _ in range(repeats):
        with Timer() as t:
            model.predict(Xp)
        times.append(t.seconds)
    s = statistics.median(times)
    return {"predict_s": s, "rows": int(Xp.shape[0]), "rows_per_s": Xp.shape[0] / s,
            "n_trees": int(n_estimators)}


def growth_worker(lib, paths, n_estimators, num_leaves, threads):
    d = _load(paths, ["X_train", "y_train", "q_train"])
    X, y, q = d["X_train"], d["y_train"], d["q_train"]
    _warm_up(lib, X, y, q)
    with Timer() as t_fit:
        _fit(lib, X, y, q, n_estimators, num_leaves, threads)
    return {"fit_s": t_fit.seconds, "rows": int(X.shape[0]), "s_per_tree": t_fit.seconds / n_estimators}


def startup_worker():
    t0 = time.perf_counter()
    import ltr  # noqa: F401

    t_import = time.perf_counter() - t0
    with Timer() as t_estimator:
        from ltr import LambdaRanker
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 20))
    y = rng.integers(0, 5, 5000).astype(float)
    q = np.repeat(np.arange(100), 50)

    def one_fit():
        LambdaRanker(n_estimators=5, random_state=0).fit(X, y, qid=q, eval_set=[(X, y)], eval_qid=[q]).predict(X)

    with Timer() as first:
        one_fit()
    with Timer() as later:
        one_fit()
    return {"import_s": t_import, "estimator_import_s": t_estimator.seconds, "first_s": first.seconds,
            "later_s": later.seconds}


def import_worker():
    """`import ltr` alone, then `from ltr import LambdaRanker`, in a fresh process."""
    t0 = time.perf_counter()
    import ltr  # noqa: F401

    t1 = time.perf_counter()
    from ltr import LambdaRanker  # noqa: F401

    return {"import_s": t1 - t0, "estimator_import_s": time.perf_counter() - t0}


WORKERS = {"fit": fit_worker, "predict": predict_worker, "growth": growth_worker, "startup": startup_worker,
           "import": import_worker}


def _run(kind, *args, env=None):
    return run_isolated(HERE, ["--worker", kind, json.dumps(list(args))], env)


def _median_runs(kind, repeats, *args):
    runs = [_run(kind, *args) for _ in range(repeats)]
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def _paths(n_rows):
    return {k: str(v) for k, v in generated_data(n_rows).items()}


# ---------------------------------------------------------------------------
# Parts
# ---------------------------------------------------------------------------
def part_fit(args):
    print(f"## fit: {args.trees} trees, 255 bins, {args.threads} threads, median of {args.repeats} runs")
    header = (f"{'rows':>9} {'leaves':>6} | {'fit ltr':>8} {'fit lgb':>8} {'ratio':>6} | {'MB ltr':>7} {'MB lgb':>7}"
              f" {'ratio':>6} | {'ndcg ltr':>8} {'ndcg lgb':>8}")
    print(header)
    print("-" * len(header))
    for n_rows in args.rows:
        paths = _paths(n_rows)
        for leaves in args.leaves:
            a, b = (_median_runs("fit", args.repeats, lib, paths, args.trees, leaves, args.threads) for lib in LIBS)
            print(f"{n_rows:>9} {leaves:>6} | {a['fit_s']:>8.2f} {b['fit_s']:>8.2f} {a['fit_s'] / b['fit_s']:>6.2f} | "
                  f"{a['peak_mb']:>7.0f} {b['peak_mb']:>7.0f} {a['peak_mb'] / max(b['peak_mb'], 1):>6.2f} | "
                  f"{a['ndcg10']:>8.4f} {b['ndcg10']:>8.4f}", flush=True)
    print("fit in seconds; MB = peak RSS growth during fit above the loaded data; ratio = ltr / LightGBM "
          "(target <= 1).\n")


def part_predict(args):
    print(f"## predict: {args.predict_rows} rows, models trained on {args.predict_train_rows} rows, "
          f"{args.threads} threads, median of {args.repeats} predictions")
    header = (f"{'trees':>6} {'leaves':>6} | {'s ltr':>7} {'s lgb':>7} | {'rows/s ltr':>11} {'rows/s lgb':>11}"
              f" {'ltr/lgb':>7}")
    print(header)
    print("-" * len(header))
    train = _paths(args.predict_train_rows)
    source = _paths(max(args.predict_rows, args.predict_train_rows))["X_train"]
    for trees in args.predict_trees:
        for leaves in args.leaves:
            a, b = (_run("predict", lib, train, source, args.predict_rows, trees, leaves, args.threads, args.repeats)
                    for lib in LIBS)
            print(f"{trees:>6} {leaves:>6} | {a['predict_s']:>7.2f} {b['predict_s']:>7.2f} | "
                  f"{a['rows_per_s']:>11.3g} {b['rows_per_s']:>11.3g} {a['rows_per_s'] / b['rows_per_s']:>7.2f}",
                  flush=True)
    print("ltr/lgb = throughput ratio (target >= 1).\n")


def part_growth(args):
    print(f"## growth: {args.growth_trees} trees, 31 leaves, {args.threads} threads, one run per size")
    header = (f"{'rows':>9} | {'s/tree ltr':>10} {'s/tree lgb':>10} {'ratio':>6} | {'x rows':>6} {'x ltr':>6}"
              f" {'x lgb':>6}")
    print(header)
    print("-" * len(header))
    first = None
    linear = {lib: True for lib in LIBS}
    for n_rows in args.growth_rows:
        paths = _paths(n_rows)
        a, b = (_run("growth", lib, paths, args.growth_trees, 31, args.threads) for lib in LIBS)
        if first is None:
            first = (a["rows"], a["s_per_tree"], b["s_per_tree"])
        x_rows = a["rows"] / first[0]
        x_a, x_b = a["s_per_tree"] / first[1], b["s_per_tree"] / first[2]
        # "no faster than linear", with 10% of slack for timing noise
        linear["ltr"] &= x_a <= 1.1 * x_rows
        linear["lightgbm"] &= x_b <= 1.1 * x_rows
        print(f"{n_rows:>9} | {a['s_per_tree']:>10.3f} {b['s_per_tree']:>10.3f} "
              f"{a['s_per_tree'] / b['s_per_tree']:>6.2f} | {x_rows:>6.1f} {x_a:>6.1f} {x_b:>6.1f}", flush=True)
    print(f"x = growth over the smallest size. Time per tree grows at most linearly (x <= 1.1 x rows): "
          f"ltr {'yes' if linear['ltr'] else 'NO'}, LightGBM {'yes' if linear['lightgbm'] else 'NO'}.\n")


def part_startup(args):
    print(f"## start-up: first fit of a new process (5 trees, 5000 rows), median of {args.repeats} processes")
    imports = [_run("import") for _ in range(args.repeats)]
    imp = statistics.median(r["import_s"] for r in imports)
    est = statistics.median(r["estimator_import_s"] for r in imports)
    cache = tempfile.mkdtemp(prefix="ltr-numba-cache-")
    try:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = _run("startup", env=env)
        warm_runs = [_run("startup", env=env) for _ in range(args.repeats)]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    warm = {k: statistics.median(r[k] for r in warm_runs) for k in warm_runs[0]}
    overhead = statistics.median(r["first_s"] - r["later_s"] for r in warm_runs)
    rows = [
        ("import ltr", imp, "target < 1 s"),
        ("from ltr import LambdaRanker", est, "numba, scikit-learn included"),
        ("first fit, empty Numba cache (cold)", cold["first_s"], "compile time, reported"),
        ("first fit, warm Numba cache", warm["first_s"], ""),
        ("later fit, same process", warm["later_s"], ""),
        ("start-up overhead (warm first - later)", overhead, "target <= 2 s"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'':<{width}} | {'seconds':>8} |")
    print("-" * (width + 14))
    for name, value, note in rows:
        print(f"{name:<{width}} | {value:>8.2f} | {note}")
    print()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    ap.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--leaves", type=int, nargs="+", default=[31, 255])
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--predict-rows", type=int, default=1_000_000)
    ap.add_argument("--predict-train-rows", type=int, default=100_000)
    ap.add_argument("--predict-trees", type=int, nargs="+", default=[100, 500])
    ap.add_argument("--growth-rows", type=int, nargs="+", default=[100_000, 300_000, 1_000_000, 3_000_000])
    ap.add_argument("--growth-trees", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 20k rows, 31 leaves, 20 trees, 1 repeat; predict 100k rows with 20 and 50 "
                         "trees; growth at 20k and 60k rows")
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        kind, worker_args = args.worker
        print(json.dumps(WORKERS[kind](*json.loads(worker_args))))
        return
    if args.quick:
        args.rows, args.leaves, args.trees, args.repeats = [20_000], [31], 20, 1
        args.predict_rows, args.predict_train_rows, args.predict_trees = 100_000, 20_000, [20, 50]
        args.growth_rows, args.growth_trees = [20_000, 60_000], 5
    print(f"# ltr vs LightGBM ({time.strftime('%Y-%m-%d %H:%M')}, parts: {' '.join(args.parts)})\n")
    for part in PARTS:  # fixed order, whatever the order on the command line
        if part in args.parts:
            {"fit": part_fit, "predict": part_predict, "growth": part_growth, "startup": part_startup}[part](args)


if __name__ == "__main__":
    main()
