import numpy as np
import pytest

from ltr._splitting import (BIN, FEATURE, GAIN, LEFT_C, MISSING_LEFT, SPLIT_RECORD_SIZE, find_best_split,
                            leaf_output, leaf_score, partition_rows)


def _hist_from(Xb, g, h, n_bins=8):
    hist = np.zeros((Xb.shape[1], n_bins, 3))
    for f in range(Xb.shape[1]):
        for i in range(len(g)):
            hist[f, Xb[i, f]] += (g[i], h[i], 1)
    return hist


def _brute_force(Xb, g, h, n_bins_nm, missing_bin, min_c, min_h, alpha, lam):
    G, H = g.sum(), h.sum()
    best = (-np.inf, None)
    parent = leaf_score(G, H, alpha, lam)
    for f in range(Xb.shape[1]):
        for b in range(n_bins_nm[f]):
            for ml in (True, False):
                is_miss = Xb[:, f] == missing_bin
                left = np.where(is_miss, ml, Xb[:, f] <= b)
                if left.sum() < min_c or (~left).sum() < min_c:
                    continue
                if h[left].sum() < min_h or h[~left].sum() < min_h:
                    continue
                gain = leaf_score(g[left].sum(), h[left].sum(), alpha, lam) + leaf_score(g[~left].sum(), h[~left].sum(), alpha, lam) - parent
                if gain > best[0] + 1e-12:
                    best = (gain, (f, b, ml, left))
    return best


def test_best_split_matches_brute_force():
    rng = np.random.default_rng(0)
    for trial in range(30):
        n, F, missing_bin = 60, 3, 7
        Xb = rng.integers(0, 5, size=(n, F)).astype(np.uint8)
        Xb[rng.random((n, F)) < 0.15] = missing_bin
        g = rng.normal(size=n)
        h = rng.random(n) + 0.1
        nbins = np.full(F, 5, dtype=np.int32)
        alpha, lam = [(0.0, 0.0), (0.3, 1.0)][trial % 2]
        hist = _hist_from(Xb, g, h)
        rec = np.empty(SPLIT_RECORD_SIZE)
        gain = find_best_split(hist, nbins, missing_bin, np.ones(F, np.uint8), g.sum(), h.sum(), float(n),
                               5, 1e-3, alpha, lam, rec)
        ref_gain, ref = _brute_force(Xb, g, h, nbins, missing_bin, 5, 1e-3, alpha, lam)
        np.testing.assert_allclose(gain, ref_gain, rtol=1e-10)
        # the chosen split must achieve the same gain on the raw rows
        f, b, ml = int(rec[FEATURE]), int(rec[BIN]), bool(rec[MISSING_LEFT])
        left = np.where(Xb[:, f] == missing_bin, ml, Xb[:, f] <= b)
        assert left.sum() == rec[LEFT_C]


def test_no_admissible_split():
    hist = np.zeros((1, 4, 3))
    hist[0, 0] = (1.0, 1.0, 3)
    hist[0, 1] = (-1.0, 1.0, 3)
    rec = np.empty(SPLIT_RECORD_SIZE)
    gain = find_best_split(hist, np.array([2], np.int32), 3, np.ones(1, np.uint8), 0.0, 2.0, 6.0, 4, 1e-3, 0.0, 0.0, rec)
    assert gain == -np.inf


def test_l1_and_l2_in_leaf_output():
    assert leaf_output(-5.0, 2.0, 0.0, 0.0) == 2.5
    assert leaf_output(-5.0, 2.0, 1.0, 2.0) == 1.0
    assert leaf_output(0.5, 2.0, 1.0, 0.0) == 0.0


def test_partition_is_stable():
    rng = np.random.default_rng(1)
    Xb = rng.integers(0, 6, size=(100, 2)).astype(np.uint8)
    Xb[::9, 1] = 255
    rows = np.arange(100, dtype=np.int32)
    buf = np.empty(100, np.int32)
    mid = partition_rows(Xb, rows, 10, 90, 1, 2, True, 255, buf)
    left = [i for i in range(10, 90) if Xb[i, 1] <= 2 or Xb[i, 1] == 255]
    right = [i for i in range(10, 90) if not (Xb[i, 1] <= 2 or Xb[i, 1] == 255)]
    assert mid == 10 + len(left)
    assert rows[10:mid].tolist() == left and rows[mid:90].tolist() == right
    assert rows[:10].tolist() == list(range(10))


def test_missing_only_left_is_encoded_as_missing_right():
    """{missing} vs {values} has two encodings; only "all values left, missing right" is a candidate.

    Missing-left with an empty value side (threshold below the lowest value
    present) is the same partition mirrored; which of the two won used to
    rest on rounding, which differs between one histogram and a sum of
    partial histograms (distributed training).
    """
    missing_bin = 7
    hist = np.zeros((1, 8, 3))
    hist[0, 1] = (2.0, 2.0, 4)  # bin 0 empty: "missing left, threshold 0" leaves only missing rows left
    hist[0, 2] = (2.0, 2.0, 4)
    hist[0, missing_bin] = (-4.0, 2.0, 4)
    rec = np.empty(SPLIT_RECORD_SIZE)
    gain = find_best_split(hist, np.array([3], np.int32), missing_bin, np.ones(1, np.uint8), 0.0, 6.0, 12.0,
                           1, 1e-3, 0.0, 0.0, rec)
    assert gain == pytest.approx(4.0 * 4.0 / 4.0 + 4.0 * 4.0 / 2.0)
    assert rec[MISSING_LEFT] == 0.0 and rec[BIN] == 2 and rec[LEFT_C] == 8


def _partition_reference(col, rows, start, end, bin_idx, missing_left, missing_bin):
    seg = rows[start:end]
    b = col[seg]
    left = np.where(b == missing_bin, missing_left, b <= bin_idx)
    return np.concatenate([rows[:start], seg[left], seg[~left], rows[end:]]), start + int(left.sum())


def test_column_partition_matches_stable_reference_serial_and_parallel():
    import numba

    from ltr._splitting import PARALLEL_PARTITION_ROWS, partition_rows_column
    from ltr.binning import to_column_major

    rng = np.random.default_rng(5)
    n = 3 * PARALLEL_PARTITION_ROWS + 123
    Xb = rng.integers(0, 256, size=(n, 3)).astype(np.uint8)
    Xc = to_column_major(Xb)
    assert Xc.shape == (3, n) and np.array_equal(Xc, Xb.T)
    rows0 = np.sort(rng.choice(n, n - 5000, replace=False)).astype(np.int32)  # a node: increasing rows
    for start, end in ((0, rows0.shape[0]), (7, 300), (5, rows0.shape[0] - 9)):
        for bin_idx, missing_left in ((100, True), (100, False), (0, False), (254, True)):
            expected, mid_expected = _partition_reference(Xc[1], rows0, start, end, bin_idx, missing_left, 255)
            for threads in (1, 2, 3):
                rows = rows0.copy()
                buf = np.empty(n, np.int32)
                mid = partition_rows_column(Xc[1], rows, start, end, bin_idx, missing_left, 255, buf, threads)
                assert mid == mid_expected
                assert np.array_equal(rows, expected)
    # the row-major kernel agrees
    rows = rows0.copy()
    mid = partition_rows(Xb, rows, 0, rows.shape[0], 1, 100, True, 255, np.empty(n, np.int32))
    expected, mid_expected = _partition_reference(Xc[1], rows0, 0, rows0.shape[0], 100, True, 255)
    assert mid == mid_expected and np.array_equal(rows, expected)


def _scan_reference(hist, f, n_bins_f, missing_bin, G, H, C, min_c, min_h, alpha, lam):
    """Every threshold of feature f evaluated in the kernel's order, no shortcut (plain Python)."""
    parent = leaf_score(G, H, alpha, lam)
    best, rec = -np.inf, None
    mg, mh, mc = hist[f, missing_bin]
    dirs = (True, False) if mc > 0 else (False,)
    for missing_left in dirs:
        top = n_bins_f - 1 if (mc > 0 and not missing_left) else n_bins_f - 2
        for b in range(top, -1, -1):
            right = hist[f, b + 1:n_bins_f].sum(axis=0) if b + 1 < n_bins_f else np.zeros(3)
            # the kernel accumulates from the top bin down: same order here
            rg, rh, rc = (0.0, 0.0, 0.0) if missing_left else (mg, mh, mc)
            for k in range(n_bins_f - 1, b, -1):
                rg, rh, rc = rg + hist[f, k, 0], rh + hist[f, k, 1], rc + hist[f, k, 2]
            assert np.isclose(rc - (0 if missing_left else mc), right[2])
            lg, lh, lc = G - rg, H - rh, C - rc
            if missing_left and lc - mc <= 0:
                continue
            if lc < min_c or rc < min_c or lh < min_h or rh < min_h:
                continue
            gain = leaf_score(lg, lh, alpha, lam) + leaf_score(rg, rh, alpha, lam) - parent
            if gain > best:
                best, rec = gain, (b, missing_left, lg, lh, lc)
    return best, rec


def _random_hist(rng, F, n_bins, missing_bin, n_rows):
    hist = np.zeros((F, n_bins, 3))
    for f in range(F):
        n_used = rng.integers(1, n_bins - 1)
        bins = rng.integers(0, n_used, n_rows)  # the upper bins stay empty
        bins[rng.random(n_rows) < 0.5] = rng.integers(0, n_used)  # duplicates: ties and empty bins
        if f % 2:
            bins[rng.random(n_rows) < 0.2] = missing_bin
        g = np.round(rng.normal(size=n_rows), 1)  # rounded: exact gain ties between thresholds
        h = rng.choice([0.0, 0.5, 1.0], n_rows)
        for i in range(n_rows):
            hist[f, bins[i]] += (g[i], h[i], 1.0)
    return hist


@pytest.mark.parametrize("alpha, lam, min_h", [(0.0, 0.0, 1e-3), (0.0, 1.0, 0.0), (0.5, 0.0, 1e-3), (0.0, 0.0, 0.0),
                                           (0.0, 0.0, 3.0), (0.5, 1.0, 3.0)])
@pytest.mark.parametrize("min_c", [1, 5, 20])
def test_split_scan_shortcuts_change_nothing(alpha, lam, min_h, min_c):
    """Skipped empty-bin thresholds, the count cut-offs and the plain score give the full scan's record."""
    rng = np.random.default_rng(min_c * 7 + int(lam * 3) + int(alpha * 10))
    n_bins, missing_bin, F = 24, 23, 6
    nb = np.full(F, 20, dtype=np.int32)
    for trial in range(15):
        hist = _random_hist(rng, F, n_bins, missing_bin, int(rng.integers(2, 120)))
        G, H, C = hist[0, :, 0].sum(), hist[0, :, 1].sum(), hist[0, :, 2].sum()
        rec = np.empty(SPLIT_RECORD_SIZE)
        gain = find_best_split(hist, nb, missing_bin, np.ones(F, np.uint8), G, H, C, min_c, min_h, alpha, lam, rec)
        ref = [_scan_reference(hist, f, 20, missing_bin, G, H, C, min_c, min_h, alpha, lam) for f in range(F)]
        gains = [r[0] for r in ref]
        assert gain == max(gains)  # bit for bit
        if np.isfinite(gain):
            f = int(np.argmax(gains))  # first maximum: the lowest feature wins ties
            b, ml, lg, lh, lc = ref[f][1]
            assert (rec[FEATURE], rec[BIN], rec[MISSING_LEFT], rec[LEFT_C]) == (f, b, float(ml), lc)
            assert (rec[4], rec[5]) == (lg, lh)


@pytest.mark.parametrize("can", [(1, 1), (1, 0), (0, 1)])
def test_fused_children_equal_subtraction_then_two_searches(can):
    from ltr._histogram import subtract_histograms
    from ltr._splitting import subtract_and_find_splits

    rng = np.random.default_rng(sum(can))
    n_bins, missing_bin, F = 24, 23, 7
    nb = np.full(F, 20, dtype=np.int32)
    mask = np.ones(F, np.uint8)
    mask[3] = 0
    for trial in range(10):
        small = _random_hist(rng, F, n_bins, missing_bin, 40)
        parent = small + _random_hist(rng, F, n_bins, missing_bin, 90)
        args = (5, 1e-3, 0.1 * (trial % 2), 0.5 * (trial % 3))
        # reference: subtraction, then one search per child
        large_ref = np.empty_like(parent)
        subtract_histograms(parent, small, large_ref)
        sums = np.array([[small[0, :, k].sum() for k in range(3)], [large_ref[0, :, k].sum() for k in range(3)]])
        refs = []
        for k, hist in enumerate((small, large_ref)):
            rec = np.empty(SPLIT_RECORD_SIZE)
            find_best_split(hist, nb, missing_bin, mask, *sums[k], *args, rec)
            refs.append(rec if can[k] else np.full(SPLIT_RECORD_SIZE, -np.inf))
        large = parent.copy()
        out = np.empty((2, SPLIT_RECORD_SIZE))
        subtract_and_find_splits(large, small, nb, missing_bin, mask, sums, np.array(can, np.uint8), *args, out)
        np.testing.assert_array_equal(out[0], refs[0])
        np.testing.assert_array_equal(out[1], refs[1])
        if can[1]:
            np.testing.assert_array_equal(large[mask == 1], large_ref[mask == 1])
        else:
            np.testing.assert_array_equal(large, parent)  # never read: not computed
