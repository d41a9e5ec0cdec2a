import numba
import numpy as np

from ltr._histogram import build_histogram, build_histogram_naive, subtract_histograms


def _data(n=3000, f=13, bins=256, seed=0):
    rng = np.random.default_rng(seed)
    Xb = rng.integers(0, bins, size=(n, f)).astype(np.uint8)
    g = rng.normal(size=n)
    h = rng.random(n)
    return Xb, g, h


def _build(Xb, rows, g, h, mask=None):
    hist = np.zeros((Xb.shape[1], 256, 3))
    mask = np.ones(Xb.shape[1], np.uint8) if mask is None else mask
    build_histogram(Xb, rows, g, h, np.flatnonzero(mask).astype(np.int32), hist, numba.get_num_threads())
    return hist


def test_matches_naive_kernel():
    Xb, g, h = _data()
    rows = np.sort(np.random.default_rng(1).choice(len(g), 1000, replace=False)).astype(np.int32)
    ref = np.zeros((Xb.shape[1], 256, 3))
    build_histogram_naive(Xb, rows, g, h, ref)
    np.testing.assert_allclose(_build(Xb, rows, g, h), ref, rtol=0, atol=1e-12)


def test_counts_and_sums():
    Xb, g, h = _data(n=500, f=3, bins=4)
    rows = np.arange(500, dtype=np.int32)
    hist = _build(Xb, rows, g, h)
    for f in range(3):
        assert hist[f, :, 2].sum() == 500
        np.testing.assert_allclose(hist[f, :, 0].sum(), g.sum())
        for b in range(4):
            sel = Xb[:, f] == b
            np.testing.assert_allclose(hist[f, b, 0], g[sel].sum())


def test_subtraction_gives_the_sibling():
    Xb, g, h = _data()
    rng = np.random.default_rng(2)
    left = np.sort(rng.choice(len(g), 1200, replace=False)).astype(np.int32)
    right = np.setdiff1d(np.arange(len(g)), left).astype(np.int32)
    parent = _build(Xb, np.arange(len(g), dtype=np.int32), g, h)
    hl = _build(Xb, left, g, h)
    out = np.empty_like(parent)
    subtract_histograms(parent, hl, out)
    np.testing.assert_allclose(out, _build(Xb, right, g, h), atol=1e-9)


def test_masked_features_are_zero():
    Xb, g, h = _data(f=20)
    mask = np.zeros(20, np.uint8)
    mask[[3, 11]] = 1
    hist = _build(Xb, np.arange(len(g), dtype=np.int32), g, h, mask)
    hist_sentinel = np.full((20, 256, 3), 7.0)
    build_histogram(Xb, np.arange(len(g), dtype=np.int32), g, h, np.array([3, 11], np.int32), hist_sentinel, 3)
    # features outside the list are not touched
    assert np.all(hist_sentinel[[0, 1, 2, 4, 19]] == 7.0)
    assert hist[3, :, 2].sum() == len(g) and hist[11, :, 2].sum() == len(g)


def test_chunk_and_sub_block_edges():
    # row counts and feature counts that do not divide the chunk and sub-block sizes
    for n, f in ((1, 1), (255, 31), (257, 33), (1000, 65)):
        Xb, g, h = _data(n=n, f=f)
        rows = np.arange(n, dtype=np.int32)
        ref = np.zeros((f, 256, 3))
        build_histogram_naive(Xb, rows, g, h, ref)
        np.testing.assert_allclose(_build(Xb, rows, g, h), ref, rtol=0, atol=1e-12)


def test_bit_identical_for_any_thread_count():
    Xb, g, h = _data(n=20000, f=40)
    rows = np.arange(len(g), dtype=np.int32)
    prev = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = _build(Xb, rows, g, h)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        b = _build(Xb, rows, g, h)
    finally:
        numba.set_num_threads(prev)
    assert np.array_equal(a, b)


def test_row_blocks_are_summed_in_block_order():
    # a node large enough for several row blocks: the result equals, bit for bit,
    # the naive histogram of each block added in block order, whatever the thread count
    from ltr._histogram import MIN_BLOCK_ROWS, histogram_blocks

    n = 2 * MIN_BLOCK_ROWS + 1000
    Xb, g, h = _data(n=n, f=6)
    rows = np.sort(np.random.default_rng(3).choice(n, n - 500, replace=False)).astype(np.int32)
    n_blocks = histogram_blocks(rows.shape[0], 6, 256)
    assert n_blocks == 2
    size = (rows.shape[0] + n_blocks - 1) // n_blocks
    expected = np.zeros((6, 256, 3))
    part = np.zeros((6, 256, 3))
    for k in range(n_blocks):
        build_histogram_naive(Xb, rows[k * size:(k + 1) * size], g, h, part)
        expected += part
    prev = numba.get_num_threads()
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            assert np.array_equal(_build(Xb, rows, g, h), expected)
            # the feature-subset path (features[k] != k) sums in the same order
            sub = _build(Xb, rows, g, h, np.array([1, 0, 1, 1, 0, 1], np.uint8))
            assert np.array_equal(sub[[0, 2, 3, 5]], expected[[0, 2, 3, 5]])
    finally:
        numba.set_num_threads(prev)


def test_scratch_kernel_reuses_a_larger_buffer():
    from ltr._histogram import build_histogram_with_scratch, histogram_scratch_size

    Xb, g, h = _data(n=5000, f=9)
    rows = np.arange(0, 5000, 3, dtype=np.int32)
    feats = np.arange(9, dtype=np.int32)
    scratch = np.full(histogram_scratch_size(5000, 9, 256) + 17, np.nan)
    out = np.zeros((9, 256, 3))
    build_histogram_with_scratch(Xb, rows, g, h, feats, out, scratch, 2)
    ref = np.zeros((9, 256, 3))
    build_histogram_naive(Xb, rows, g, h, ref)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)
    assert np.array_equal(out[..., 2], ref[..., 2])


def test_four_lane_histogram_equals_three_lane_bit_for_bit():
    """The in-place path (4-wide histogram, one row block) and the scratch path give the same sums."""
    from ltr._histogram import MIN_BLOCK_ROWS

    Xb, g, h = _data(n=2 * MIN_BLOCK_ROWS + 300, f=11, seed=4)
    rng = np.random.default_rng(9)
    prev = numba.get_num_threads()
    try:
        for n_rows in (7, 300, 5000, 2 * MIN_BLOCK_ROWS + 100):  # the last has two row blocks: scratch path
            rows = np.sort(rng.choice(Xb.shape[0], n_rows, replace=False)).astype(np.int32)
            for mask in (np.ones(11, np.uint8), (rng.random(11) < 0.5).astype(np.uint8)):
                feats = np.flatnonzero(mask).astype(np.int32)
                ref = np.zeros((11, 256, 3))
                build_histogram(Xb, rows, g, h, feats, ref, 2)
                for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
                    numba.set_num_threads(threads)
                    wide = np.full((11, 256, 4), np.nan)  # stale values must be overwritten, lane 3 included
                    build_histogram(Xb, rows, g, h, feats, wide, threads)
                    assert np.array_equal(wide[feats, :, :3], ref[feats])
                    if n_rows < MIN_BLOCK_ROWS:
                        assert np.all(wide[feats, :, 3] == 0.0)
                        assert np.all(np.isnan(wide[np.flatnonzero(mask == 0)]))  # other features untouched
    finally:
        numba.set_num_threads(prev)
