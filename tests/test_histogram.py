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
