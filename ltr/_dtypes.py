"""Every dtype and compile option the kernels share, with the reason for each.

Kernels import their types from here so that no module picks its own
precision or Numba policy.
"""
import numpy as np

#: Binned feature matrix. 255 value bins plus one bin for missing values fit
#: in a byte, which keeps the binned copy of 1M x 136 rows at 136 MB.
X_BINNED_DTYPE = np.uint8

#: Raw feature matrix as the kernels see it. float64 so that thresholds
#: computed at fit time compare exactly with the values given to predict.
X_DTYPE = np.float64

#: Gradients and hessians. float64: lambda gradients of well separated pairs
#: are tiny and sums over millions of rows lose them in float32.
G_H_DTYPE = np.float64

#: Histogram sums (gradient, hessian, count). float64 for the same reason as
#: scikit-learn's HGB: the larger sibling is computed by subtraction, which
#: cancels catastrophically in float32. Count is kept in the same array (exact
#: up to 2**53) so that one array reduction sums a histogram across workers.
HIST_DTYPE = np.float64

#: Raw scores (sum of the trees' outputs).
Y_DTYPE = np.float64

#: Row indices. int32 addresses 2**31 rows, far beyond one process's memory
#: for binned data, and halves the memory traffic of partitions.
IDX_DTYPE = np.int32

#: Offsets of the queries (CSR style). int64: sums of query sizes may exceed
#: int32 on click logs.
PTR_DTYPE = np.int64

#: The largest number of bins a feature may have, including the missing bin.
MAX_BINS = 256

# Numba option sets. `cache=True` everywhere so that a new process reuses the
# compiled machine code; `nogil` so that kernels may run in Python threads
# (Dask workers). fastmath only for accumulation loops, never for gains,
# comparisons or metrics, where reassociation changes decisions.
NJIT = dict(cache=True, nogil=True)
NJIT_PARALLEL = dict(cache=True, nogil=True, parallel=True)
# Split finding divides twice per candidate threshold. Numba's default
# error model tests every float division for a zero divisor (to raise
# ZeroDivisionError), a branch that more than doubles the cost of the scan;
# the kernels guard their divisors themselves, so IEEE semantics are used.
NJIT_DIV = dict(NJIT, error_model="numpy")
NJIT_PARALLEL_DIV = dict(NJIT_PARALLEL, error_model="numpy")
