"""Feature binning: raw values -> uint8 bin indices.

Every feature gets at most ``max_bin`` value bins, delimited by thresholds
computed on a subsample: the midpoints between consecutive distinct values
when a feature has at most ``max_bin`` of them (exact bins), otherwise
midpoint quantiles. Bin ``max_bin`` is reserved for missing values (NaN), so
with the default ``max_bin=255`` a bin index fits in a byte.

A value ``x`` falls in bin ``b = #{thresholds < x}``; hence ``x <= t[b]``
exactly when ``bin(x) <= b``, and a split on bin ``b`` is the same as the
raw-value test ``x <= t[b]`` used at prediction time.
"""
import numpy as np
from numba import njit, prange
from scipy import sparse

from ._dtypes import MAX_BINS, NJIT, NJIT_PARALLEL, X_BINNED_DTYPE

#: Rows used to compute the thresholds (as scikit-learn's HGB and pygbm).
DEFAULT_SUBSAMPLE = 200_000


def _feature_thresholds(values, max_bin):
    """Thresholds of one feature from its non-missing sample values (sorted unique upper bounds)."""
    distinct = np.unique(values)
    if distinct.size <= 1:
        return np.empty(0, dtype=np.float64)
    if distinct.size <= max_bin:
        lo, hi = distinct[:-1], distinct[1:]
    else:
        # Quantiles of the sample; 'midpoint' keeps thresholds between data
        # values so no training value sits exactly on a threshold by chance.
        q = np.percentile(values, np.linspace(0, 100, max_bin + 1)[1:-1], method="midpoint")
        q = np.unique(q)
        # Snap to midpoints between the distinct values that bracket each quantile.
        idx = np.searchsorted(distinct, q, side="left")
        idx = np.unique(np.clip(idx, 1, distinct.size - 1))
        lo, hi = distinct[idx - 1], distinct[idx]
    mid = lo + (hi - lo) / 2.0
    # Guard: with adjacent floats the midpoint may round onto `hi`, which would
    # put `hi` in the lower bin.
    mid = np.where(mid >= hi, lo, mid)
    return np.unique(mid)


@njit(**NJIT_PARALLEL)
def _map_to_bins(X, thresholds, offsets, missing_bin, out):
    """Bin a dense block. X (n, F) float; out (n, F) uint8 (OUT)."""
    n, n_features = X.shape
    for i in prange(n):
        for f in range(n_features):
            x = X[i, f]
            if np.isnan(x):
                out[i, f] = missing_bin
                continue
            lo = offsets[f]
            hi = offsets[f + 1]
            # binary search: number of thresholds < x
            a, b = lo, hi
            while a < b:
                m = (a + b) >> 1
                if thresholds[m] < x:
                    a = m + 1
                else:
                    b = m
            out[i, f] = a - lo


class BinMapper:
    """Learn per-feature bin thresholds and map features to uint8 bins.

    Parameters
    ----------
    max_bin : int, default 255
        Maximum number of bins for non-missing values (2..255). Bin index
        ``max_bin`` holds missing values.
    subsample : int or None, default 200_000
        Number of rows drawn to compute thresholds (None: all rows).
    seed : int
        Seed of the row subsample.

    Attributes
    ----------
    thresholds_ : list of ndarray
        Per feature, the sorted bin upper bounds (``n_bins_non_missing_[f] - 1`` values).
    n_bins_non_missing_ : ndarray of int32, shape (n_features,)
    missing_bin_ : int
        Bin index of missing values (= max_bin).
    has_missing_ : ndarray of bool, shape (n_features,)
        Whether the feature had NaNs in the fitting sample.
    """

    def __init__(self, max_bin=255, subsample=DEFAULT_SUBSAMPLE, seed=0):
        if not 2 <= int(max_bin) <= MAX_BINS - 1:
            raise ValueError(f"max_bin must be in [2, {MAX_BINS - 1}], got {max_bin}")
        self.max_bin = int(max_bin)
        self.subsample = subsample
        self.seed = seed

    def fit(self, X):
        n_samples, n_features = X.shape
        rng = np.random.default_rng(self.seed)
        if self.subsample is not None and n_samples > self.subsample:
            rows = np.sort(rng.choice(n_samples, self.subsample, replace=False))
            sample = X[rows]
        else:
            sample = X
        # Keep the sample in its own dtype (a float32 copy of 200k x 136 is 109 MB,
        # float64 would double it); columns are converted one at a time.
        sample = sample.toarray() if sparse.issparse(sample) else np.asarray(sample)
        self.thresholds_ = []
        self.has_missing_ = np.zeros(n_features, dtype=bool)
        for f in range(n_features):
            col = sample[:, f].astype(np.float64)
            nan = np.isnan(col)
            self.has_missing_[f] = bool(nan.any())
            self.thresholds_.append(_feature_thresholds(col[~nan], self.max_bin))
        self._finish()
        return self

    def _finish(self):
        self.n_features_ = len(self.thresholds_)
        self.n_bins_non_missing_ = np.array([t.size + 1 for t in self.thresholds_], dtype=np.int32)
        self.missing_bin_ = self.max_bin
        self._offsets = np.zeros(self.n_features_ + 1, dtype=np.int64)
        self._offsets[1:] = np.cumsum([t.size for t in self.thresholds_])
        self._flat = (
            np.concatenate(self.thresholds_).astype(np.float64) if self._offsets[-1] else np.zeros(0, dtype=np.float64)
        )

    @property
    def n_bins(self):
        """Histogram width: value bins plus the missing bin."""
        return self.max_bin + 1

    def transform(self, X, chunk_rows=65536):
        """Binned copy of X, C-contiguous uint8 of shape (n_samples, n_features)."""
        n_samples, n_features = X.shape
        if n_features != self.n_features_:
            raise ValueError(f"X has {n_features} features, the bin mapper was fitted with {self.n_features_}")
        out = np.empty((n_samples, n_features), dtype=X_BINNED_DTYPE)
        if sparse.issparse(X):
            X = X.tocsr()
            for a in range(0, n_samples, chunk_rows):
                block = X[a : a + chunk_rows].toarray().astype(np.float64, copy=False)
                _map_to_bins(block, self._flat, self._offsets, self.missing_bin_, out[a : a + chunk_rows])
        else:
            X = np.asarray(X)
            if X.dtype not in (np.float32, np.float64):
                X = X.astype(np.float64)
            if not X.flags.c_contiguous:
                X = np.ascontiguousarray(X)
            _map_to_bins(X, self._flat, self._offsets, self.missing_bin_, out)
        return out

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def bin_upper_bound(self, feature, bin_idx):
        """Raw threshold of a split ``bin <= bin_idx`` on `feature`."""
        t = self.thresholds_[feature]
        return float(t[bin_idx]) if bin_idx < t.size else float("inf")

    # -- serialisation --------------------------------------------------------
    def to_dict(self):
        return {
            "max_bin": self.max_bin,
            "thresholds": [t.tolist() for t in self.thresholds_],
            "has_missing": self.has_missing_.tolist(),
        }

    @classmethod
    def from_dict(cls, d):
        bm = cls(max_bin=d["max_bin"])
        bm.thresholds_ = [np.asarray(t, dtype=np.float64) for t in d["thresholds"]]
        bm.has_missing_ = np.asarray(d["has_missing"], dtype=bool)
        bm._finish()
        return bm
