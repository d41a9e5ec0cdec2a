"""Split finding and row partitioning kernels.

Gain follows the Newton step with L1/L2 regularisation (as LightGBM):

    T(G) = sign(G) * max(|G| - alpha, 0)
    score(G, H) = T(G)^2 / (H + lambda)
    gain = score(G_L, H_L) + score(G_R, H_R) - score(G, H)
    leaf value = -T(G) / (H + lambda)

A split is admissible when both children have at least `min_child_samples`
rows and `min_child_weight` hessian, and its gain exceeds `min_split_gain`.
Missing values (the last bin) are tried on both sides; the side chosen is
stored as `missing_left`. Ties in gain go to the lower feature index, then
the higher threshold (LightGBM scans thresholds from the top), then to
sending missing values left (LightGBM's order too). "Missing left, no value
left" is not a candidate: it is "all values left, missing right" mirrored.
"""
import numpy as np
from numba import njit, prange

from ._dtypes import NJIT, NJIT_DIV, NJIT_PARALLEL, NJIT_PARALLEL_DIV
from ._histogram import subtract_feature

# Layout of the float64 split record returned per feature / per node.
GAIN, FEATURE, BIN, MISSING_LEFT, LEFT_G, LEFT_H, LEFT_C = range(7)
SPLIT_RECORD_SIZE = 7
NO_GAIN = -np.inf
#: A threshold whose gain provably misses the best so far by this relative margin (far above the
#: few ulps of rounding of either side of the comparison) is rejected without computing its gain.
SCREEN_MARGIN = 1.0 - 1e-10


@njit(**NJIT)
def threshold_l1(g, alpha):
    if g > alpha:
        return g - alpha
    if g < -alpha:
        return g + alpha
    return 0.0


@njit(**NJIT_DIV)
def leaf_score(g, h, alpha, lam):
    d = h + lam
    if d <= 0.0:
        # only a node whose rows all have zero hessian (no ranking signal)
        return 0.0
    t = threshold_l1(g, alpha)
    return t * t / d


@njit(**NJIT_DIV)
def leaf_output(g, h, alpha, lam):
    """Newton leaf value -T(G) / (H + lambda); 0 for a leaf with no curvature at all."""
    d = h + lam
    if d <= 0.0:
        return 0.0
    return -threshold_l1(g, alpha) / d


@njit(**NJIT_DIV)
def _best_split_one_feature(hist, f, n_bins_f, missing_bin, sum_g, sum_h, sum_c,
                            min_child_samples, min_child_weight, alpha, lam, parent_score, out):
    """Best threshold of feature f; writes (gain, bin, missing_left, left g/h/c) into out.

    Thresholds are scanned from the top bin down, the right child being the
    suffix of bins above the threshold (plus the missing rows when they go
    right); the first threshold of largest gain wins. Returns that gain.

    Without L1 (``alpha = 0``) and with positive divisors ``h + lambda``
    (``min_child_weight > 0`` or ``lambda > 0``), the usual case, the scan
    is branch-free: every threshold's admissibility is one mask, and a
    candidate is screened without dividing,

        gain > best  iff  lg^2 dr + rg^2 dl > (best + parent) dl dr,
        dl = lh + lambda, dr = rh + lambda,

    with a relative margin (`SCREEN_MARGIN`) far above the rounding of
    either side: a candidate it rejects has a floating-point gain below the
    best too, so only the few that may win compute their gain, with the same
    two divisions as `leaf_score`. Otherwise `_scan_general` runs. Both pick
    the same threshold as evaluating every one with `leaf_score` (tested).
    """
    if not (alpha == 0.0 and (min_child_weight > 0.0 or lam > 0.0)):
        return _scan_general(hist, f, n_bins_f, missing_bin, sum_g, sum_h, sum_c, min_child_samples,
                             min_child_weight, alpha, lam, parent_score, out)
    best = NO_GAIN
    miss_g = hist[f, missing_bin, 0]
    miss_h = hist[f, missing_bin, 1]
    miss_c = hist[f, missing_bin, 2]
    n_dirs = 2 if miss_c > 0 else 1
    for d in range(n_dirs):
        # LightGBM order: missing left first; missing right wins only if strictly better.
        missing_left = d == 0 if n_dirs == 2 else False
        rg = 0.0
        rh = 0.0
        rc = 0.0
        if not missing_left:
            rg = miss_g
            rh = miss_h
            rc = miss_c
        # threshold b: left = bins 0..b (+ missing if missing_left); b from n_bins_f-2 down to 0,
        # plus b = n_bins_f - 1 (all values left, missing right) when missing goes right.
        top = n_bins_f - 1 if (miss_c > 0 and not missing_left) else n_bins_f - 2
        bar = NO_GAIN  # (best + parent_score) * SCREEN_MARGIN
        missing_right = not missing_left
        for b in range(n_bins_f - 1, -1, -1):
            lc = sum_c - rc
            lg = sum_g - rg
            lh = sum_h - rh
            dl = lh + lam
            dr = rh + lam
            # Missing left with no value left (left = the missing rows only) is the partition of
            # "all values left, missing right" mirrored; only the missing-right encoding is a
            # candidate, so the choice never rests on rounding (distributed sums differ in it).
            ok = ((b <= top) & (lc >= min_child_samples) & (rc >= min_child_samples)
                  & (lh >= min_child_weight) & (rh >= min_child_weight)
                  & (missing_right | (lc - miss_c > 0.0))
                  & (lg * lg * dr + rg * rg * dl > bar * (dl * dr)))
            if ok:
                gain = lg * lg / dl + rg * rg / dr - parent_score
                if gain > best:
                    best = gain
                    bar = (best + parent_score) * SCREEN_MARGIN
                    out[GAIN] = gain
                    out[BIN] = b
                    out[MISSING_LEFT] = 1.0 if missing_left else 0.0
                    out[LEFT_G] = lg
                    out[LEFT_H] = lh
                    out[LEFT_C] = lc
            rg += hist[f, b, 0]
            rh += hist[f, b, 1]
            rc += hist[f, b, 2]
    return best


@njit(**NJIT_DIV)
def _scan_general(hist, f, n_bins_f, missing_bin, sum_g, sum_h, sum_c,
                  min_child_samples, min_child_weight, alpha, lam, parent_score, out):
    """`_best_split_one_feature` with L1 or possibly zero divisors: every gain through `leaf_score`.

    Exact shortcuts: a threshold whose next bin up is empty gives the same
    partition and sums as the one above it, which wins the tie, so it is
    skipped; the right count only grows as the threshold falls and the left
    count only shrinks, so the scan starts once the right child is large
    enough and stops once the left one is too small.
    """
    best = NO_GAIN
    miss_g = hist[f, missing_bin, 0]
    miss_h = hist[f, missing_bin, 1]
    miss_c = hist[f, missing_bin, 2]
    n_dirs = 2 if miss_c > 0 else 1
    for d in range(n_dirs):
        missing_left = d == 0 if n_dirs == 2 else False
        rg = 0.0
        rh = 0.0
        rc = 0.0
        if not missing_left:
            rg = miss_g
            rh = miss_h
            rc = miss_c
        top = n_bins_f - 1 if (miss_c > 0 and not missing_left) else n_bins_f - 2
        for b in range(n_bins_f - 1, -1, -1):
            if b <= top and rc >= min_child_samples and (b == top or hist[f, b + 1, 2] != 0.0):
                lc = sum_c - rc
                if lc < min_child_samples or (missing_left and lc - miss_c <= 0.0):
                    break
                lg = sum_g - rg
                lh = sum_h - rh
                if lh >= min_child_weight and rh >= min_child_weight:
                    gain = leaf_score(lg, lh, alpha, lam) + leaf_score(rg, rh, alpha, lam) - parent_score
                    if gain > best:
                        best = gain
                        out[GAIN] = gain
                        out[BIN] = b
                        out[MISSING_LEFT] = 1.0 if missing_left else 0.0
                        out[LEFT_G] = lg
                        out[LEFT_H] = lh
                        out[LEFT_C] = lc
            rg += hist[f, b, 0]
            rh += hist[f, b, 1]
            rc += hist[f, b, 2]
    return best


@njit(**NJIT_PARALLEL_DIV)
def find_best_split(hist, n_bins_non_missing, missing_bin, feature_mask, sum_g, sum_h, sum_c,
                    min_child_samples, min_child_weight, alpha, lam, out):
    """Best split of a node over all features; `out` (OUT) is a split record.

    Returns the gain (``-inf`` when no admissible split exists).
    """
    n_features = hist.shape[0]
    per_feature = np.full((n_features, SPLIT_RECORD_SIZE), NO_GAIN)
    parent_score = leaf_score(sum_g, sum_h, alpha, lam)
    for f in prange(n_features):
        per_feature[f, GAIN] = NO_GAIN
        if feature_mask[f] and n_bins_non_missing[f] >= 1:
            _best_split_one_feature(hist, f, n_bins_non_missing[f], missing_bin, sum_g, sum_h, sum_c,
                                    min_child_samples, min_child_weight, alpha, lam, parent_score,
                                    per_feature[f])
    return _reduce_features(per_feature, out)


@njit(**NJIT)
def _reduce_features(per_feature, out):
    """Copy the best of the per-feature records (lowest feature on ties) into `out`; return its gain."""
    best_f = -1
    best = NO_GAIN
    for f in range(per_feature.shape[0]):
        if per_feature[f, GAIN] > best:
            best = per_feature[f, GAIN]
            best_f = f
    out[:] = NO_GAIN
    if best_f >= 0:
        for k in range(SPLIT_RECORD_SIZE):
            out[k] = per_feature[best_f, k]
        out[FEATURE] = best_f
    return best


@njit(**NJIT_PARALLEL_DIV)
def subtract_and_find_splits(large, small, n_bins_non_missing, missing_bin, feature_mask, sums, can_split,
                             min_child_samples, min_child_weight, alpha, lam, out):
    """The two children of a split in one pass: sibling subtraction, then both best splits.

    Parameters
    ----------
    large : ndarray, shape (n_features, n_bins, 3)
        The parent's histogram on entry; the larger child's on exit,
        ``large - small`` computed as in `subtract_histograms` (only for the
        features of `feature_mask`, and only when that child can split:
        otherwise its histogram is never read).
    small : ndarray, shape (n_features, n_bins, 3)
        The smaller child's histogram, built from its rows.
    sums : ndarray, shape (2, 3)
        (sum g, sum h, count) of [small, large].
    can_split : ndarray of uint8, shape (2,)
        Whether [small, large] may be split at all (depth, size).
    out : ndarray, shape (2, SPLIT_RECORD_SIZE) (OUT)
        The best split record of [small, large], as `find_best_split`;
        gain ``-inf`` for none.

    Notes
    -----
    Equivalent to `subtract_histograms` followed by `find_best_split` on
    each child, with the same arithmetic in the same order (bit-identical
    records), in one parallel region over the features instead of three:
    a feature's slice of the larger child is searched while it is still in
    cache, and a tree of 255 leaves launches 508 fewer parallel regions.
    """
    n_features = large.shape[0]
    per_feature = np.empty((2, n_features, SPLIT_RECORD_SIZE))
    score_small = leaf_score(sums[0, 0], sums[0, 1], alpha, lam)
    score_large = leaf_score(sums[1, 0], sums[1, 1], alpha, lam)
    for f in prange(n_features):
        per_feature[0, f, GAIN] = NO_GAIN
        per_feature[1, f, GAIN] = NO_GAIN
        if not feature_mask[f]:
            continue
        if can_split[1]:
            subtract_feature(large, small, large, f)
        if n_bins_non_missing[f] >= 1:
            if can_split[0]:
                _best_split_one_feature(small, f, n_bins_non_missing[f], missing_bin, sums[0, 0], sums[0, 1],
                                        sums[0, 2], min_child_samples, min_child_weight, alpha, lam, score_small,
                                        per_feature[0, f])
            if can_split[1]:
                _best_split_one_feature(large, f, n_bins_non_missing[f], missing_bin, sums[1, 0], sums[1, 1],
                                        sums[1, 2], min_child_samples, min_child_weight, alpha, lam, score_large,
                                        per_feature[1, f])
    _reduce_features(per_feature[0], out[0])
    _reduce_features(per_feature[1], out[1])


@njit(**NJIT)
def partition_rows(X_binned, rows, start, end, feature, bin_idx, missing_left, missing_bin, buffer):
    """Stable in-place partition of rows[start:end]: left child first.

    Returns the index where the right child starts. Stability keeps rows in
    increasing order inside every node, which keeps the histogram pass's
    reads of X_binned moving forward through memory.
    """
    n_left = start
    n_right = 0
    for j in range(start, end):
        i = rows[j]
        b = X_binned[i, feature]
        if b == missing_bin:
            go_left = missing_left
        else:
            go_left = b <= bin_idx
        if go_left:
            rows[n_left] = i
            n_left += 1
        else:
            buffer[n_right] = i
            n_right += 1
    for k in range(n_right):
        rows[n_left + k] = buffer[k]
    return n_left


#: Below this many rows a partition runs on one thread (the parallel one makes three passes).
PARALLEL_PARTITION_ROWS = 1 << 16


@njit(**NJIT)
def _goes_left(b, bin_idx, missing_left, missing_bin):
    if b == missing_bin:
        return missing_left
    return b <= bin_idx


@njit(**NJIT)
def _scatter_block(column, rows, a, e, bin_idx, missing_left, missing_bin, left_out, lo, right_out, ro):
    """Copy rows[a:e] in order: left-going rows to left_out[lo:], the others to right_out[ro:].

    Returns the end of the left run in `left_out`.
    """
    for j in range(a, e):
        i = rows[j]
        if _goes_left(column[i], bin_idx, missing_left, missing_bin):
            left_out[lo] = i
            lo += 1
        else:
            right_out[ro] = i
            ro += 1
    return lo


@njit(**NJIT_PARALLEL)
def partition_rows_column(column, rows, start, end, bin_idx, missing_left, missing_bin, buffer, n_threads):
    """`partition_rows` reading the split feature's bins from its own column.

    Parameters
    ----------
    column : ndarray of uint8, shape (n_samples,)
        Bins of the split feature (a row of the column-major copy of the
        binned matrix): consecutive rows of a node are a few bytes apart
        instead of one matrix row (n_features bytes) apart.
    rows, start, end, bin_idx, missing_left, missing_bin, buffer
        As in `partition_rows`; `buffer` needs ``end - start`` elements.
    n_threads : int
        Blocks of a large node are partitioned in parallel. The stable
        partition is unique, so the result does not depend on it.

    Returns
    -------
    int
        The index where the right child starts.

    Notes
    -----
    Parallel version (nodes of PARALLEL_PARTITION_ROWS rows or more): each
    block counts its left rows; a prefix sum gives every block where its
    left rows and its right rows start; each block then copies its rows
    there in order (into `buffer`), and `buffer` is copied back. Rows
    keep their order inside each child, as in the serial partition.
    """
    n = end - start
    if n < PARALLEL_PARTITION_ROWS or n_threads <= 1:
        # left rows compacted in place (never ahead of the read), right rows via `buffer`
        n_left = _scatter_block(column, rows, start, end, bin_idx, missing_left, missing_bin, rows, start,
                                buffer, 0)
        for k in range(end - n_left):
            rows[n_left + k] = buffer[k]
        return n_left
    n_blocks = 4 * n_threads
    size = (n + n_blocks - 1) // n_blocks
    left_count = np.zeros(n_blocks + 1, dtype=np.int64)
    for blk in prange(n_blocks):
        a = start + blk * size
        e = min(a + size, end)
        c = 0
        for j in range(a, e):
            if _goes_left(column[rows[j]], bin_idx, missing_left, missing_bin):
                c += 1
        left_count[blk + 1] = c
    for blk in range(n_blocks):
        left_count[blk + 1] += left_count[blk]  # exclusive prefix sums of the left counts
    total_left = left_count[n_blocks]
    for blk in prange(n_blocks):
        a = start + blk * size
        e = min(a + size, end)
        _scatter_block(column, rows, a, e, bin_idx, missing_left, missing_bin, buffer, left_count[blk],
                       buffer, total_left + (a - start) - left_count[blk])
    for j in prange(n):
        rows[start + j] = buffer[j]
    return start + total_left


@njit(**NJIT_PARALLEL)
def add_leaf_values(rows, leaf_start, leaf_end, leaf_values, raw_score):
    """raw_score[rows[leaf_start[l]:leaf_end[l]]] += leaf_values[l] for every leaf l."""
    for l in prange(leaf_values.shape[0]):
        v = leaf_values[l]
        for j in range(leaf_start[l], leaf_end[l]):
            raw_score[rows[j]] += v
