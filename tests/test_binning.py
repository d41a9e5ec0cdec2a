import numpy as np
import pytest
from scipy import sparse

from ltr.binning import BinMapper


def test_few_distinct_values_get_exact_bins():
    X = np.array([[0.0], [1.0], [1.0], [5.0], [2.0]])
    bm = BinMapper(max_bin=255).fit(X)
    np.testing.assert_allclose(bm.thresholds_[0], [0.5, 1.5, 3.5])
    np.testing.assert_array_equal(bm.transform(X).ravel(), [0, 1, 1, 3, 2])


def test_bin_order_matches_raw_threshold_test():
    # x <= t[b]  <=>  bin(x) <= b, the identity prediction relies on
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 3))
    X[::7, 1] = np.round(X[::7, 1], 1)
    bm = BinMapper(max_bin=31).fit(X)
    Xb = bm.transform(X)
    for f in range(3):
        t = bm.thresholds_[f]
        for b in range(t.size):
            np.testing.assert_array_equal(X[:, f] <= t[b], Xb[:, f] <= b)


def test_many_values_are_capped_at_max_bin():
    rng = np.random.default_rng(1)
    X = rng.exponential(size=(20000, 2))
    bm = BinMapper(max_bin=63).fit(X)
    Xb = bm.transform(X)
    assert Xb.max() <= 62
    assert bm.n_bins_non_missing_.max() <= 63
    # quantile bins: roughly equal mass
    counts = np.bincount(Xb[:, 0], minlength=63)
    assert counts.min() > 0.5 * len(X) / 63


def test_missing_values_get_the_last_bin():
    X = np.array([[np.nan, 1.0], [2.0, np.nan], [3.0, 3.0]])
    bm = BinMapper(max_bin=7).fit(X)
    Xb = bm.transform(X)
    assert Xb[0, 0] == 7 and Xb[1, 1] == 7
    assert bm.has_missing_.tolist() == [True, True]


def test_all_nan_and_constant_columns():
    X = np.column_stack([np.full(10, np.nan), np.ones(10), np.arange(10.0)])
    bm = BinMapper().fit(X)
    assert bm.n_bins_non_missing_.tolist()[:2] == [1, 1]
    Xb = bm.transform(X)
    assert np.all(Xb[:, 0] == bm.missing_bin_) and np.all(Xb[:, 1] == 0)


def test_sparse_and_float32_inputs_bin_like_dense():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 5))
    X[rng.random(X.shape) < 0.6] = 0.0
    bm = BinMapper().fit(X)
    np.testing.assert_array_equal(bm.transform(sparse.csr_matrix(X)), bm.transform(X))
    bm32 = BinMapper().fit(X.astype(np.float32))
    np.testing.assert_array_equal(bm32.transform(X.astype(np.float32)), bm32.transform(X.astype(np.float32).astype(np.float64)))


def test_round_trip_dict():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 4))
    bm = BinMapper(max_bin=15).fit(X)
    bm2 = BinMapper.from_dict(bm.to_dict())
    np.testing.assert_array_equal(bm.transform(X), bm2.transform(X))


def test_bad_max_bin():
    with pytest.raises(ValueError, match="max_bin"):
        BinMapper(max_bin=256)


def test_quantile_thresholds_match_numpy_percentile():
    # The cumulative-count quantiles equal np.percentile(method='midpoint') before snapping.
    from ltr.binning import _feature_thresholds

    rng = np.random.default_rng(7)
    for values in (rng.normal(size=5000), np.round(rng.exponential(size=5000), 2), rng.integers(0, 400, 3000) * 1.0):
        max_bin = 63
        distinct = np.unique(values)
        q = np.unique(np.percentile(values, np.linspace(0, 100, max_bin + 1)[1:-1], method="midpoint"))
        idx = np.unique(np.clip(np.searchsorted(distinct, q, side="left"), 1, distinct.size - 1))
        lo, hi = distinct[idx - 1], distinct[idx]
        expected = np.unique(np.where(lo + (hi - lo) / 2 >= hi, lo, lo + (hi - lo) / 2))
        np.testing.assert_array_equal(_feature_thresholds(values, max_bin), expected)


def test_transform_with_row_order_matches_searchsorted():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(3000, 13)).astype(np.float32)
    X[:, 5] = np.round(X[:, 5])
    X[::3, 7] = np.nan
    X[:, 8] = 1.0
    bm = BinMapper(max_bin=63).fit(X[:1000])
    order = rng.permutation(3000)
    Xb = bm.transform(X, row_order=order)
    for f in range(13):
        col = X[order, f].astype(np.float64)
        ref = np.where(np.isnan(col), 63, np.searchsorted(bm.thresholds_[f], col, side="left"))
        np.testing.assert_array_equal(Xb[:, f], ref)
