"""Thread-count control for the Numba kernels."""
import contextlib
import os

import numba


def resolve_n_jobs(n_jobs):
    """scikit-learn convention: None or -1 = all cores, -2 = all but one, k = k threads."""
    max_threads = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        return max_threads
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None or -1 for all cores")
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs) if max_threads > 0 else 1
    return max(1, min(n_jobs, max_threads))


@contextlib.contextmanager
def numba_threads(n_jobs):
    """Run the enclosed kernels on `n_jobs` threads, restoring the previous setting after."""
    previous = numba.get_num_threads()
    numba.set_num_threads(min(resolve_n_jobs(n_jobs), numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(previous)
