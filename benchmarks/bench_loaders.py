"""Loader speed: ltr.datasets.load_svmlight vs sklearn.datasets.load_svmlight_file, and the cache.

Generates an MSLR-like svmlight file with ``make_ranking`` + ``dump_svmlight``
(136 features written out in full like MSLR's files, query ids, 1 % ``nan``),
then times

* ``ltr`` (dense float32 and CSR) and scikit-learn on the whole file, in MB/s
  of file text. scikit-learn is run with ``query_id=False`` on the whole file:
  with ``query_id=True`` its Cython loop grows the qid array with
  ``np.append`` once per line, which is quadratic in the number of rows; that
  mode is timed on a prefix (``--sklearn-qid-mb``) and reported separately.
* the cache: a load with ``cache_dir`` after the cache was written, against
  the uncached parse (the speed-up);
* ``make_ranking`` alone for 1M x 136 rows (``--generator-rows``).

Numba compilation is excluded (a warm-up parse of a small file comes first;
its time is reported). Each timing is the best of ``--repeat`` runs.

Usage::

    python benchmarks/bench_loaders.py             # 500 MB file
    python benchmarks/bench_loaders.py --quick     # 50 MB file
    python benchmarks/bench_loaders.py --size-mb 200 --dir /data/tmp --keep
"""
import argparse
import gc
import io
import os
from pathlib import Path
import shutil
import sys
import tempfile
import time

import numpy as np
from numba import get_num_threads

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ltr.datasets import dump_svmlight, load_svmlight, make_ranking  # noqa: E402


def generate(path, size_mb, seed=0):
    """Write an MSLR-like file of about ``size_mb`` MB; returns (rows, bytes)."""
    X, y, qid = make_ranking(40, random_state=seed)
    probe = io.BytesIO()
    dump_svmlight(X, y, probe, qid=qid, skip_zeros=False)
    bytes_per_row = len(probe.getvalue()) / X.shape[0]
    n_rows = int(size_mb * 1e6 / bytes_per_row)
    X, y, qid = make_ranking(n_samples=n_rows, random_state=seed)
    dump_svmlight(X, y, path, qid=qid, skip_zeros=False)
    return n_rows, path.stat().st_size


def best_of(fn, repeat):
    """(best wall seconds, CPU seconds of that run, result) over ``repeat`` runs.

    CPU time (all threads, user + system) is reported too: on a shared
    machine it shows the work done independently of how much of the CPU the
    process got.
    """
    best = None
    out = None
    for _ in range(repeat):
        out = None
        gc.collect()
        c = time.process_time()
        t = time.perf_counter()
        out = fn()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        if best is None or wall < best[0]:
            best = (wall, cpu)
    return best[0], best[1], out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 MB instead of 500 MB")
    parser.add_argument("--size-mb", type=float, default=None)
    parser.add_argument("--sklearn-qid-mb", type=float, default=None,
                        help="prefix size for scikit-learn with query_id=True (default: 20 MB, quick: 5 MB)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=None, help="where to write the file (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file and cache")
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--generator-rows", type=int, default=None,
                        help="rows for timing make_ranking alone (default 1,000,000; quick: 200,000)")
    args = parser.parse_args(argv)
    size_mb = args.size_mb or (50 if args.quick else 500)
    qid_mb = args.sklearn_qid_mb or (5 if args.quick else 20)
    gen_rows = args.generator_rows or (200_000 if args.quick else 1_000_000)

    work = Path(tempfile.mkdtemp(prefix="ltr-bench-", dir=args.dir))
    path = work / "mslr_like.svm"
    try:
        t = time.perf_counter()
        n_rows, n_bytes = generate(path, size_mb)
        print(f"generated {path} ({n_bytes / 1e6:.0f} MB, {n_rows} rows x 136) in {time.perf_counter() - t:.1f} s")
        mb = n_bytes / 1e6

        small = work / "warmup.svm"
        Xw, yw, qw = make_ranking(20, n_features=10, random_state=1)
        dump_svmlight(Xw, yw, small, qid=qw)
        t = time.perf_counter()
        load_svmlight(small)
        load_svmlight(small, dense=False)
        warm = time.perf_counter() - t
        print(f"warm-up (Numba compile or cache load): {warm:.2f} s")

        rows = []
        t_dense, c_dense, (X, y, qid) = best_of(lambda: load_svmlight(path), args.repeat)
        rows.append(("ltr load_svmlight, dense float32", mb, t_dense, c_dense))
        shape = X.shape
        del X, y, qid
        t_csr, c_csr, _ = best_of(lambda: load_svmlight(path, dense=False), args.repeat)
        rows.append(("ltr load_svmlight, CSR float32", mb, t_csr, c_csr))

        cache = work / "cache"
        t_write, c_write, _ = best_of(lambda: load_svmlight(path, cache_dir=cache), 1)
        t_cached, c_cached, _ = best_of(lambda: load_svmlight(path, cache_dir=cache), max(args.repeat, 3))
        rows.append(("ltr, first load with cache_dir (parse + write)", mb, t_write, c_write))
        rows.append(("ltr, cached load", mb, t_cached, c_cached))

        if not args.skip_sklearn:
            from sklearn.datasets import load_svmlight_file

            t_sk, c_sk, _ = best_of(lambda: load_svmlight_file(str(path), dtype=np.float32, query_id=False), 1)
            rows.append(("sklearn load_svmlight_file, query_id=False", mb, t_sk, c_sk))
            prefix = work / "prefix.svm"
            with open(path, "rb") as src, open(prefix, "wb") as dst:
                data = src.read(int(qid_mb * 1e6))
                dst.write(data[: data.rfind(b"\n") + 1])
            pmb = prefix.stat().st_size / 1e6
            t_skq, c_skq, _ = best_of(lambda: load_svmlight_file(str(prefix), dtype=np.float32, query_id=True), 1)
            rows.append((f"sklearn load_svmlight_file, query_id=True ({pmb:.0f} MB prefix)", pmb, t_skq, c_skq))
            t_op, c_op, _ = best_of(lambda: load_svmlight(prefix), args.repeat)
            rows.append((f"ltr load_svmlight, dense ({pmb:.0f} MB prefix)", pmb, t_op, c_op))

        make_ranking(n_samples=20000, random_state=0)  # warm the allocator
        t_gen, c_gen, _ = best_of(lambda: make_ranking(n_samples=gen_rows, random_state=0), 1)

        print()
        print(f"{'reader':58s} {'MB':>6s} {'wall s':>7s} {'MB/s':>8s} {'CPU s':>7s} {'MB/CPU-s':>9s}")
        for name, size, secs, cpu in rows:
            print(f"{name:58s} {size:6.0f} {secs:7.2f} {size / secs:8.1f} {cpu:7.2f} {size / max(cpu, 1e-9):9.1f}")
        print()
        print(f"X shape {shape}; Numba threads: {get_num_threads()}; load average {os.getloadavg()[0]:.1f}")
        print(f"make_ranking(n_samples={gen_rows}) x 136 float32: {t_gen:.2f} s wall, {c_gen:.2f} s CPU")
        print(f"cache speed-up (uncached dense parse / cached load): {t_dense / t_cached:.1f}x wall, "
              f"{c_dense / max(c_cached, 1e-9):.1f}x CPU")
        if not args.skip_sklearn:
            print(f"ltr dense vs sklearn (query_id=False), same file: {t_sk / t_dense:.1f}x faster (wall), "
                  f"{c_sk / c_dense:.1f}x less CPU")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
