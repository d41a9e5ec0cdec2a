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
