"""Symmetric (oblivious) growth of one tree, CatBoost's tree shape.

The tree is grown level by level. At each level one split (feature,
threshold, side of the missing values) is chosen for *all* the current
leaves: the one with the largest sum over the leaves of the Newton gain

    gain_l = score(G_L, H_L) + score(G_R, H_R) - score(G_l, H_l)

(the formula of `_splitting`, so L1/L2 regularisation means the same as
for leaf-wise trees). A leaf takes part in that sum, and is split, only
when the split is admissible for it: both children have at least
`min_child_samples` rows and `min_child_weight` hessian, and ``gain_l >
min_split_gain``. A leaf for which the level's split is not admissible is
carried to the next level unchanged (in CatBoost's oblivious tree it
would get an empty sibling; here it simply stays one leaf, and takes part
in the next level's choice). With ``min_child_samples=1`` the partition of
the training rows is exactly that of an oblivious tree of depth
`max_depth`; the tree has at most ``2 ** max_depth`` leaves.

A level is split when at least one leaf is; growth stops after
`max_depth` levels or at a level where no leaf can be split. Ties go to
the lower feature, then the higher threshold, then missing values left
(the order of `_splitting`).

The histograms are those of the leaf-wise grower: at every split the
smaller child's is built from its rows (`rowset.histogram`) and the
larger child's is the parent's minus it. The tree is an ordinary
`ltr.predictor.Tree` (nodes numbered in split order, leaves as in
LightGBM: a split leaf keeps its id for its left child), so prediction,
model files and the LightGBM export do not know how it was grown.
"""
import numpy as np
from numba import njit, prange

from ._dtypes import HIST_DTYPE, NJIT, NJIT_PARALLEL
from ._histogram import subtract_histograms
from ._splitting import leaf_output, leaf_score
from .predictor import Tree

#: Names accepted by ``grow_policy``.
GROW_POLICIES = ("leafwise", "symmetric")
#: Deepest symmetric tree (CatBoost's limit too): 2**16 leaves at most.
MAX_SYMMETRIC_DEPTH = 16

# Layout of the per-feature record of `level_best_split`.
_GAIN, _BIN, _MISSING_LEFT = range(3)


@njit(**NJIT)
def _node_left_sums(hist, f, b, missing_left, n_bins_f, missing_bin, g, h, c):
    """(G, H, count) of the left child of a node for threshold b of feature f.

    Sums the right part from the top bin down, exactly as `level_best_split`
    does, so the two agree to the last bit.
    """
    rg = 0.0
    rh = 0.0
    rc = 0.0
    if not missing_left:
        rg = hist[f, missing_bin, 0]
        rh = hist[f, missing_bin, 1]
        rc = hist[f, missing_bin, 2]
    for k in range(n_bins_f - 1, b, -1):
        rg += hist[f, k, 0]
        rh += hist[f, k, 1]
        rc += hist[f, k, 2]
    return g - rg, h - rh, c - rc


@njit(**NJIT)
def _node_gain(lg, lh, lc, g, h, c, parent_score, min_child_samples, min_child_weight, min_split_gain, alpha, lam):
    """Gain of splitting a node into (lg, lh, lc) and the rest; -inf when not admissible."""
    rg = g - lg
    rh = h - lh
    rc = c - lc
    if lc < min_child_samples or rc < min_child_samples or lh < min_child_weight or rh < min_child_weight:
        return -np.inf
    gain = leaf_score(lg, lh, alpha, lam) + leaf_score(rg, rh, alpha, lam) - parent_score
    if not gain > min_split_gain:
        return -np.inf
    return gain


@njit(**NJIT)
def _cosine_terms(g, c, lam):
    """A leaf's terms of the cosine score: (G v, W v^2) with v = G / (W + lambda), W its row count."""
    d = c + lam
    if d <= 0.0:
        return 0.0, 0.0
    v = g / d
    return g * v, c * v * v


#: Values of `level_best_split`'s `score_kind`.
SCORE_NEWTON, SCORE_COSINE = 0, 1
#: Names accepted by ``score_function``.
SCORE_FUNCTIONS = {"newton": SCORE_NEWTON, "cosine": SCORE_COSINE}


@njit(**NJIT_PARALLEL)
def level_best_split(pool, slots, node_g, node_h, node_c, n_bins_non_missing, missing_bin, feature_mask,
                     min_child_samples, min_child_weight, min_split_gain, alpha, lam, score_kind, base_num,
                     base_den, noise, out):
    """Best common split of the nodes of one level.

    Parameters
    ----------
    pool : ndarray (n_slots, n_features, n_bins, 3)
        Histograms; node ``i`` has ``pool[slots[i]]``.
    slots : ndarray of int64 (n_nodes,)
    node_g, node_h, node_c : ndarray of float64 (n_nodes,)
        Sums of the nodes.
    score_kind : int
        `SCORE_NEWTON`: the sum of the admissible nodes' Newton gains.
        `SCORE_COSINE`: CatBoost's cosine score of the whole tree after the
        split, ``sum_l G_l v_l / sqrt(sum_l W_l v_l^2)`` over every leaf,
        ``v_l = G_l / (W_l + lam)``, ``W_l`` the row count (the gradient step's
        leaf values; CatBoost's default structure score).
    base_num, base_den : float
        Cosine terms summed over all the current leaves (before the split).
    noise : ndarray of float64 (n_features, 2, n_bins) or (0, 2, 0)
        Added to the score of each candidate (feature, missing side, bin):
        ``random_strength``'s split-score noise, drawn by the caller.
    out : ndarray of float64 (3,), OUT
        (score, bin, missing_left) of the best split.

    Returns
    -------
    int
        The feature of the best split, -1 when no split is admissible for
        any node (a node's split is admissible under the rules of
        `_node_gain`, whatever the score).
    """
    n_nodes = slots.shape[0]
    n_features = pool.shape[1]
    n_bins = pool.shape[2]
    has_noise = noise.shape[0] > 0
    parent_score = np.empty(n_nodes)
    parent_num = np.empty(n_nodes)
    parent_den = np.empty(n_nodes)
    for i in range(n_nodes):
        parent_score[i] = leaf_score(node_g[i], node_h[i], alpha, lam)
        parent_num[i], parent_den[i] = _cosine_terms(node_g[i], node_c[i], lam)
    per_feature = np.full((n_features, 3), -np.inf)
    for f in prange(n_features):
        nb = n_bins_non_missing[f]
        if not feature_mask[f] or nb < 1:
            continue
        any_missing = False
        for i in range(n_nodes):
            if pool[slots[i], f, missing_bin, 2] > 0:
                any_missing = True
        total = np.empty(n_bins)
        num = np.empty(n_bins)
        den = np.empty(n_bins)
        n_split = np.empty(n_bins, dtype=np.int64)
        n_dirs = 2 if any_missing else 1
        for d in range(n_dirs):
            # missing left first; missing right wins only if strictly better (as `_splitting`)
            missing_left = d == 0 and any_missing
            # b = nb - 1 (all values left) is a split only when missing rows go right
            top = nb - 1 if (any_missing and not missing_left) else nb - 2
            total[:] = 0.0
            num[:] = base_num
            den[:] = base_den
            n_split[:] = 0
            for i in range(n_nodes):
                hist = pool[slots[i]]
                g = node_g[i]
                h = node_h[i]
                c = node_c[i]
                rg = 0.0
                rh = 0.0
                rc = 0.0
                if not missing_left:
                    rg = hist[f, missing_bin, 0]
                    rh = hist[f, missing_bin, 1]
                    rc = hist[f, missing_bin, 2]
                for b in range(nb - 1, -1, -1):
                    if b <= top:
                        gain = _node_gain(g - rg, h - rh, c - rc, g, h, c, parent_score[i], min_child_samples,
                                          min_child_weight, min_split_gain, alpha, lam)
                        if gain > -np.inf:
                            total[b] += gain
                            n_split[b] += 1
                            if score_kind == SCORE_COSINE:
                                ln, ld = _cosine_terms(g - rg, c - rc, lam)
                                rn, rd = _cosine_terms(rg, rc, lam)
                                num[b] += ln + rn - parent_num[i]
                                den[b] += ld + rd - parent_den[i]
                    rg += hist[f, b, 0]
                    rh += hist[f, b, 1]
                    rc += hist[f, b, 2]
            for b in range(top, -1, -1):
                if n_split[b] == 0:
                    continue
                if score_kind == SCORE_COSINE:
                    score = num[b] / np.sqrt(den[b]) if den[b] > 0.0 else 0.0
                else:
                    score = total[b]
                if has_noise:
                    score += noise[f, d, b]
                if score > per_feature[f, _GAIN]:
                    per_feature[f, _GAIN] = score
                    per_feature[f, _BIN] = b
                    per_feature[f, _MISSING_LEFT] = 1.0 if missing_left else 0.0
    best_f = -1
    best = -np.inf
    for f in range(n_features):
        if per_feature[f, _GAIN] > best:
            best = per_feature[f, _GAIN]
            best_f = f
    out[:] = -np.inf
    if best_f >= 0:
        out[:] = per_feature[best_f]
    return best_f


@njit(**NJIT)
def level_node_splits(pool, slots, node_g, node_h, node_c, f, b, missing_left, n_bins_f, missing_bin,
                      min_child_samples, min_child_weight, min_split_gain, alpha, lam, out):
    """For each node, the gain (-inf: not split) and left sums of the level's split; `out` (n_nodes, 4), OUT."""
    for i in range(slots.shape[0]):
        hist = pool[slots[i]]
        lg, lh, lc = _node_left_sums(hist, f, b, missing_left, n_bins_f, missing_bin, node_g[i], node_h[i],
                                     node_c[i])
        ps = leaf_score(node_g[i], node_h[i], alpha, lam)
        out[i, 0] = _node_gain(lg, lh, lc, node_g[i], node_h[i], node_c[i], ps, min_child_samples,
                               min_child_weight, min_split_gain, alpha, lam)
        out[i, 1] = lg
        out[i, 2] = lh
        out[i, 3] = lc


class _Node:
    __slots__ = ("g", "h", "c", "slot", "parent", "side")

    def __init__(self, g, h, c, slot, parent, side):
        self.g, self.h, self.c = g, h, c
        self.slot = slot
        self.parent, self.side = parent, side


class SymmetricTreeGrower:
    """Grows symmetric trees from a row set's histograms (same interface as `grower.TreeGrower`).

    Parameters
    ----------
    n_features : int
    bin_mapper : BinMapper
    params : grower.TreeParams
        ``max_depth`` (1 to 16) is the number of levels; ``num_leaves`` is
        not used (a symmetric tree has up to ``2 ** max_depth`` leaves).
    score_function : {'newton', 'cosine'}
        How a level's candidates are compared (see `level_best_split`):
        'newton', the summed Newton gain (the leaf-wise grower's); 'cosine',
        CatBoost's default structure score (gradients and row counts, L2
        ``reg_lambda``). Leaf values are Newton steps either way.
    """

    def __init__(self, n_features, bin_mapper, params, score_function="newton"):
        if not 1 <= params.max_depth <= MAX_SYMMETRIC_DEPTH:
            raise ValueError(f"grow_policy='symmetric' needs 1 <= max_depth <= {MAX_SYMMETRIC_DEPTH}, "
                             f"got max_depth={params.max_depth}")
        if score_function not in SCORE_FUNCTIONS:
            raise ValueError(f"score_function must be one of {tuple(SCORE_FUNCTIONS)}, got {score_function!r}")
        self.bin_mapper = bin_mapper
        self.params = params
        self.score_kind = SCORE_FUNCTIONS[score_function]
        self.n_features = n_features
        self.n_bins_non_missing = bin_mapper.n_bins_non_missing_
        self.missing_bin = bin_mapper.missing_bin_
        # Histogram slots, grown on demand (a deep tree on few rows needs far fewer than 2**(depth-1)).
        self.pool = np.zeros((1, n_features, bin_mapper.n_bins, 3), dtype=HIST_DTYPE)
        self.best = np.empty(3, dtype=np.float64)
        self._no_noise = np.zeros((0, 2, 0))

    def _slot(self, k):
        if k >= self.pool.shape[0]:
            grown = np.zeros((max(k + 1, 2 * self.pool.shape[0]),) + self.pool.shape[1:], dtype=HIST_DTYPE)
            grown[:self.pool.shape[0]] = self.pool
            self.pool = grown
        return self.pool[k]

    def _splittable(self, node):
        return node.c >= 2 * self.params.min_child_samples and node.c >= 2

    def grow(self, rowset, feature_mask, noise=None):
        """Grow one tree on the rows of `rowset` (already started with `start_tree`); returns the Tree.

        `noise` is None or ``(rng, sigma)``: every candidate split's score at
        every level gets ``sigma * N(0, 1)`` added, the draws taken from
        `rng` (a ``numpy.random.Generator``) level after level.
        """
        p = self.params
        root = self._slot(0)
        rowset.histogram(0, feature_mask, root)
        root = self.pool[0]
        used = np.flatnonzero(feature_mask)
        f0 = used[0] if used.size else 0
        leaves = [_Node(float(root[f0, :, 0].sum()), float(root[f0, :, 1].sum()), float(root[f0, :, 2].sum()),
                        0, -1, 0)]
        nodes = {k: [] for k in ("split_feature", "threshold_bin", "threshold", "missing_left", "left_child",
                                 "right_child", "split_gain", "internal_value", "internal_weight", "internal_count")}
        alpha, lam, lr = p.reg_alpha, p.reg_lambda, p.learning_rate
        free_slots = []
        next_slot = 1
        for level in range(p.max_depth):
            active = [i for i, lf in enumerate(leaves) if self._splittable(lf) and lf.slot >= 0]
            if not active:
                break
            slots = np.array([leaves[i].slot for i in active], dtype=np.int64)
            g = np.array([leaves[i].g for i in active])
            h = np.array([leaves[i].h for i in active])
            c = np.array([leaves[i].c for i in active])
            base_num = base_den = 0.0
            if self.score_kind == SCORE_COSINE:
                for lf in leaves:
                    t = _cosine_terms(lf.g, lf.c, lam)
                    base_num += t[0]
                    base_den += t[1]
            draws = self._no_noise
            if noise is not None and noise[1] > 0.0:
                draws = noise[0].standard_normal((self.n_features, 2, self.pool.shape[2])) * noise[1]
            feature = level_best_split(self.pool, slots, g, h, c, self.n_bins_non_missing, self.missing_bin,
                                       feature_mask, p.min_child_samples, p.min_child_weight, p.min_split_gain,
                                       alpha, lam, self.score_kind, base_num, base_den, draws, self.best)
            if feature < 0:
                break
            bin_idx, miss_left = int(self.best[_BIN]), bool(self.best[_MISSING_LEFT])
            per_node = np.empty((len(active), 4))
            level_node_splits(self.pool, slots, g, h, c, feature, bin_idx, miss_left,
                              self.n_bins_non_missing[feature], self.missing_bin, p.min_child_samples,
                              p.min_child_weight, p.min_split_gain, alpha, lam, per_node)
            threshold = self.bin_mapper.bin_upper_bound(feature, bin_idx)
            last_level = level == p.max_depth - 1
            for j, leaf_id in enumerate(active):
                gain = per_node[j, 0]
                if not gain > -np.inf:
                    continue
                leaf = leaves[leaf_id]
                right_id = len(leaves)
                n_left = rowset.split(leaf_id, right_id, feature, bin_idx, miss_left)
                lg, lh, lc = per_node[j, 1], per_node[j, 2], per_node[j, 3]
                if int(lc) != n_left:
                    raise RuntimeError(f"partition sent {n_left} rows left, the histogram says {int(lc)}")
                k = len(nodes["split_feature"])
                nodes["split_feature"].append(feature)
                nodes["threshold_bin"].append(bin_idx)
                nodes["threshold"].append(threshold)
                nodes["missing_left"].append(1 if miss_left else 0)
                nodes["left_child"].append(~leaf_id)
                nodes["right_child"].append(~right_id)
                nodes["split_gain"].append(float(gain))
                nodes["internal_value"].append(leaf_output(leaf.g, leaf.h, alpha, lam) * lr)
                nodes["internal_weight"].append(leaf.h)
                nodes["internal_count"].append(int(leaf.c))
                if leaf.parent >= 0:
                    nodes["left_child" if leaf.side == 0 else "right_child"][leaf.parent] = k
                left = _Node(lg, lh, lc, -1, k, 0)
                right = _Node(leaf.g - lg, leaf.h - lh, leaf.c - lc, -1, k, 1)
                leaves[leaf_id] = left
                leaves.append(right)
                if last_level or not (self._splittable(left) or self._splittable(right)):
                    free_slots.append(leaf.slot)
                    continue
                # Smaller child from its rows, larger one by subtraction in the parent's slot.
                small_id, small, large = (leaf_id, left, right) if left.c <= right.c else (right_id, right, left)
                if free_slots:
                    new_slot = free_slots.pop()
                else:
                    new_slot = next_slot
                    next_slot += 1
                    self._slot(new_slot)
                rowset.histogram(small_id, feature_mask, self.pool[new_slot])
                subtract_histograms(self.pool[leaf.slot], self.pool[new_slot], self.pool[leaf.slot])
                small.slot, large.slot = new_slot, leaf.slot

        leaf_value = np.array([leaf_output(lf.g, lf.h, alpha, lam) * lr for lf in leaves], dtype=np.float64)
        return Tree(
            **{k: np.asarray(v) for k, v in nodes.items()},
            leaf_value=leaf_value,
            leaf_weight=np.array([lf.h for lf in leaves]),
            leaf_count=np.array([int(lf.c) for lf in leaves]),
        )


def make_grower(n_features, bin_mapper, params, grow_policy="leafwise", score_function="newton", hist_width=3):
    """The grower of `grow_policy` ('leafwise': `grower.TreeGrower`; 'symmetric': `SymmetricTreeGrower`).

    `hist_width` is the row set's histogram width (`LocalRowSet.HIST_WIDTH`) for the leaf-wise grower's
    pool; the symmetric grower keeps 3-lane histograms, which every row set fills.
    """
    if grow_policy == "symmetric":
        return SymmetricTreeGrower(n_features, bin_mapper, params, score_function)
    if grow_policy == "leafwise":
        if score_function != "newton":
            raise ValueError(f"score_function={score_function!r} needs grow_policy='symmetric'")
        from .grower import TreeGrower

        return TreeGrower(n_features, bin_mapper, params, hist_width=hist_width)
    raise ValueError(f"grow_policy must be one of {GROW_POLICIES}, got {grow_policy!r}")


def split_noise_sigma(random_strength, grad, n_rows, iteration, learning_rate):
    """CatBoost's scale of the split-score noise of one tree.

    ``random_strength * sqrt(mean(g**2)) * m`` with the model-length factor
    ``m = L / (1 + L)``, ``L = exp(log(n_rows) - iteration * learning_rate)``:
    close to 1 while ``iteration * learning_rate`` is well below
    ``log(n_rows)``, then fading.
    """
    if random_strength <= 0.0 or grad.shape[0] == 0:
        return 0.0
    left = np.exp(np.log(max(n_rows, 1)) - iteration * learning_rate)
    return float(random_strength * np.sqrt(np.mean(grad * grad)) * left / (1.0 + left))
