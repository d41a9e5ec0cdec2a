"""Helpers shared by the benchmark scripts: data caching and isolated timed runs."""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CACHE = Path(os.environ.get("LTR_BENCH_CACHE", Path(tempfile.gettempdir()) / "ltr-bench-data"))


def generated_data(n_rows, n_features=136, seed=0, test_fraction=0.2):
    """MSLR-shaped train/test data from ltr.datasets.make_ranking, cached as .npy files."""
    from ltr.datasets import make_ranking

    CACHE.mkdir(parents=True, exist_ok=True)
    stem = CACHE / f"rank_{n_rows}_{n_features}_{seed}"
    names = ["X_train", "y_train", "q_train", "X_test", "y_test", "q_test"]
    if not all((stem.parent / f"{stem.name}_{k}.npy").exists() for k in names):
        n_total = int(n_rows / (1 - test_fraction))
        X, y, qid = make_ranking(n_samples=n_total, n_features=n_features, random_state=seed)
        n_queries = np.unique(qid).size
        cut_q = np.unique(qid)[int(n_queries * (1 - test_fraction))]
        tr = qid < cut_q
        parts = dict(X_train=X[tr], y_train=y[tr], q_train=qid[tr], X_test=X[~tr], y_test=y[~tr], q_test=qid[~tr])
        for k, v in parts.items():
            np.save(stem.parent / f"{stem.name}_{k}.npy", np.ascontiguousarray(v))
    return {k: stem.parent / f"{stem.name}_{k}.npy" for k in names}


def rss_mb():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_isolated(script, args, env=None):
    """Run `script --worker ...` in a fresh process and return its JSON result."""
    cmd = [sys.executable, str(script)] + [str(a) for a in args]
    e = dict(os.environ)
    e.update(env or {})
    out = subprocess.run(cmd, capture_output=True, text=True, env=e)
    if out.returncode != 0:
        raise RuntimeError(f"worker failed: {' '.join(cmd)}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


class Timer:
    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
