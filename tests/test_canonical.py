import numpy as np
from scipy import sparse

from ltr._canonical import canonical_layout, hash_sample, row_hashes


def test_hash_follows_rows_and_ignores_storage():
    rng = np.random.default_rng(0)
    X = rng.random((300, 7))
    X[X < 0.5] = 0.0
    X[3, 1] = np.nan
    y = rng.integers(0, 3, 300).astype(float)
    perm = rng.permutation(300)
    h = row_hashes(X, y)
    np.testing.assert_array_equal(row_hashes(X[perm], y[perm]), h[perm])
    np.testing.assert_array_equal(row_hashes(sparse.csr_matrix(X), y), h)
    X2 = X.copy()
    X2[3, 1] = -np.nan  # another NaN bit pattern
    np.testing.assert_array_equal(row_hashes(X2, y), h)
    y2 = y.copy()
    y2[5] += 1
    assert row_hashes(X, y2)[5] != h[5]


def test_canonical_layout_is_permutation_free():
    rng = np.random.default_rng(1)
    X = rng.random((200, 4))
    y = rng.integers(0, 3, 200).astype(float)
    qid = rng.integers(0, 15, 200)
    perm = rng.permutation(200)
    a, _ = canonical_layout(X, y, qid=qid)
    b, _ = canonical_layout(X[perm], y[perm], qid=qid[perm])
    np.testing.assert_array_equal(X[a.order], X[perm][b.order])
    np.testing.assert_array_equal(a.group_ptr, b.group_ptr)
    # queries are contiguous and in ascending id order
    np.testing.assert_array_equal(qid[a.order], np.sort(qid))


def test_hash_sample_is_order_free():
    h = row_hashes(np.random.default_rng(2).random((1000, 3)))
    perm = np.random.default_rng(3).permutation(1000)
    s1 = hash_sample(h, 100, 5)
    s2 = hash_sample(h[perm], 100, 5)
    np.testing.assert_array_equal(np.sort(perm[s2]), s1)
    assert hash_sample(h, 5000, 5) is None
