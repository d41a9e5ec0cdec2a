"""Symmetric (oblivious) trees, ``grow_policy='symmetric'`` (``ltr._symmetric``).

* one tree equals a brute-force plain-Python oblivious-tree builder (every
  level tries every (feature, threshold, missing side) on every leaf's rows);
* the trees are oblivious: all the nodes split at one level share one test,
  and a tree has at most ``2 ** max_depth`` leaves;
* models are deterministic (threads, save / load / continue) and export to
  LightGBM with the same scores;
* bad parameters raise the errors of ``docs/errors.md``.
"""
import json

import numpy as np
import pytest

from ltr import LambdaRanker
from ltr._rowset import LocalRowSet
from ltr._symmetric import SymmetricTreeGrower
from ltr._validation import LTRValueError
from ltr.binning import BinMapper
from ltr.grower import TreeParams
from ltr.predictor import Ensemble


def _score(g, h, alpha, lam):
    if h + lam <= 0:
        return 0.0
    t = np.sign(g) * max(abs(g) - alpha, 0.0)
    return t * t / (h + lam)


def _value(g, h, alpha, lam):
    if h + lam <= 0:
        return 0.0
    return -np.sign(g) * max(abs(g) - alpha, 0.0) / (h + lam)


def _cos(gs, cs, lam):
    """CatBoost's cosine score of leaves with gradient sums `gs` and row counts `cs`."""
    v = [gl / (cl + lam) for gl, cl in zip(gs, cs)]
    den = sum(cl * vl * vl for cl, vl in zip(cs, v))
    return sum(gl * vl for gl, vl in zip(gs, v)) / np.sqrt(den) if den > 0 else 0.0


def _brute_force(Xb, g, h, n_bins_nm, missing_bin, p, score_function="newton"):
    """Oblivious tree by enumeration: (list of level splits, leaf value of every row)."""
    leaves = [np.arange(Xb.shape[0])]
    levels = []
    for _ in range(p.max_depth):
        active = [i for i, r in enumerate(leaves) if len(r) >= max(2, 2 * p.min_child_samples)]
        best, best_key = -np.inf, None
        for f in range(Xb.shape[1]):
            if n_bins_nm[f] < 1:
                continue
            any_missing = any(np.any(Xb[leaves[i], f] == missing_bin) for i in active)
            for ml in ([True, False] if any_missing else [False]):
                top = n_bins_nm[f] - 1 if (any_missing and not ml) else n_bins_nm[f] - 2
                for b in range(top, -1, -1):
                    total, n_split = 0.0, 0
                    after = {i: [(g[r].sum(), len(r))] for i, r in enumerate(leaves)}  # leaves after the split
                    for i in active:
                        r = leaves[i]
                        col = Xb[r, f]
                        left = np.where(col == missing_bin, ml, col <= b)
                        lc, rc = left.sum(), (~left).sum()
                        lg, lh = g[r][left].sum(), h[r][left].sum()
                        rg, rh = g[r][~left].sum(), h[r][~left].sum()
                        if lc < p.min_child_samples or rc < p.min_child_samples:
                            continue
                        if lh < p.min_child_weight or rh < p.min_child_weight:
                            continue
                        gain = (_score(lg, lh, p.reg_alpha, p.reg_lambda) + _score(rg, rh, p.reg_alpha, p.reg_lambda)
                                - _score(g[r].sum(), h[r].sum(), p.reg_alpha, p.reg_lambda))
                        if gain > p.min_split_gain:
                            total += gain
                            n_split += 1
                            after[i] = [(lg, lc), (rg, rc)]
                    if score_function == "cosine":
                        parts = [t for i in range(len(leaves)) for t in after[i]]
                        total = _cos([t[0] for t in parts], [t[1] for t in parts], p.reg_lambda)
                    if n_split and total > best:
                        best, best_key = total, (f, b, ml)
        if best_key is None:
            break
        levels.append(best_key)
        f, b, ml = best_key
        for i in active:
            r = leaves[i]
            col = Xb[r, f]
            left = np.where(col == missing_bin, ml, col <= b)
            lg, lh = g[r][left].sum(), h[r][left].sum()
            rg, rh = g[r][~left].sum(), h[r][~left].sum()
            ok = (left.sum() >= p.min_child_samples and (~left).sum() >= p.min_child_samples
                  and lh >= p.min_child_weight and rh >= p.min_child_weight)
            gain = (_score(lg, lh, p.reg_alpha, p.reg_lambda) + _score(rg, rh, p.reg_alpha, p.reg_lambda)
                    - _score(g[r].sum(), h[r].sum(), p.reg_alpha, p.reg_lambda))
            if ok and gain > p.min_split_gain:
                leaves[i] = r[left]
                leaves.append(r[~left])
    out = np.empty(Xb.shape[0])
    for r in leaves:
        out[r] = _value(g[r].sum(), h[r].sum(), p.reg_alpha, p.reg_lambda) * p.learning_rate
    return levels, out


def _tree_levels(tree):
    """The (feature, bin, missing_left) of each depth, checking every node of a depth has the same one."""
    by_depth = {}
    stack = [(0, 0)] if tree.n_leaves > 1 else []
    while stack:
        k, d = stack.pop()
        by_depth.setdefault(d, set()).add((int(tree.split_feature[k]), int(tree.threshold_bin[k]),
                                           bool(tree.missing_left[k])))
        for child in (tree.left_child[k], tree.right_child[k]):
            if child >= 0:
                stack.append((child, d + 1))
    return by_depth


def _grow(Xb, g, h, bm, p, score_function="newton"):
    grower = SymmetricTreeGrower(Xb.shape[1], bm, p, score_function)
    rowset = LocalRowSet(Xb, bm.missing_bin_)
    rowset.start_tree(np.arange(Xb.shape[0], dtype=np.int32), g, h)
    return grower.grow(rowset, np.ones(Xb.shape[1], dtype=np.uint8))


CASES = [
    dict(max_depth=3, min_child_samples=1),
    dict(max_depth=6, min_child_samples=1),
    dict(max_depth=4, min_child_samples=7, min_child_weight=2.0, reg_lambda=1.5),
    dict(max_depth=5, min_child_samples=2, reg_alpha=0.3, min_split_gain=0.05),
]


@pytest.mark.parametrize("score_function", ["newton", "cosine"])
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_symmetric_tree_matches_brute_force(case, seed, score_function):
    rng = np.random.default_rng(seed)
    n, n_features = 150, 4
    X = rng.normal(size=(n, n_features))
    X[:, 2] = np.round(X[:, 2])  # few distinct values
    X[rng.random(X.shape) < 0.1] = np.nan
    bm = BinMapper(max_bin=12, seed=0).fit(X)
    Xb = bm.transform(X)
    g = rng.normal(size=n) + np.nan_to_num(X[:, 0])
    h = rng.uniform(0.1, 1.0, size=n)
    p = TreeParams(learning_rate=0.3, **CASES[case])
    tree = _grow(Xb, g, h, bm, p, score_function)
    levels, expected = _brute_force(Xb, g, h, bm.n_bins_non_missing_, bm.missing_bin_, p, score_function)
    got = np.zeros(n)
    Ensemble([tree]).predict_binned(Xb, bm.missing_bin_, 0.0, 0, 1, out=got, add=True)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    by_depth = _tree_levels(tree)
    # every node of a depth applies one test, the level's (a leaf carried over unsplit takes a later
    # level's test one depth higher, so a depth may hold the tests of two consecutive levels only then)
    assert tree.n_leaves <= 2 ** p.max_depth
    assert len(by_depth) <= len(levels)
    used = set().union(*by_depth.values()) if by_depth else set()
    assert used == set(levels)
    if p.min_child_samples == 1 and tree.n_leaves == 2 ** len(levels):
        assert [by_depth[d] for d in range(len(levels))] == [{lv} for lv in levels]


def test_complete_tree_on_spread_data():
    """On data where every split cuts every leaf, the tree is a complete oblivious tree."""
    rng = np.random.default_rng(3)
    n = 4000
    X = rng.uniform(size=(n, 6))
    bm = BinMapper(max_bin=64, seed=0).fit(X)
    Xb = bm.transform(X)
    g = X @ rng.normal(size=6) + 0.1 * rng.normal(size=n)
    h = np.ones(n)
    tree = _grow(Xb, g, h, bm, TreeParams(max_depth=4, min_child_samples=1))
    assert tree.n_leaves == 16
    by_depth = _tree_levels(tree)
    assert all(len(by_depth[d]) == 1 for d in range(4))


def _data(n_queries=30, docs=10, n_features=5, seed=0):
    rng = np.random.default_rng(seed)
    n = n_queries * docs
    X = rng.normal(size=(n, n_features))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = np.clip(np.floor(np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 1]) + rng.normal(0, 0.5, n) + 1), 0, 4)
    qid = np.repeat(np.arange(n_queries), docs)
    return X, y, qid


PARAMS = dict(grow_policy="symmetric", max_depth=4, min_child_samples=2, learning_rate=0.2, subsample=0.8,
              subsample_freq=1, colsample_bytree=0.7, random_state=7)
#: CatBoost's structure search: cosine score and split-score noise
COSINE_NOISE = dict(score_function="cosine", random_strength=1.0)


def _json(model):
    d = model.booster_.to_dict()
    d.pop("params")
    return json.dumps(d, sort_keys=True)


@pytest.mark.parametrize("extra", [{}, COSINE_NOISE], ids=["newton", "cosine_noise"])
@pytest.mark.parametrize("objective", ["lambdamart", "yetirank", "stochasticrank"])
def test_symmetric_models_are_deterministic(objective, extra, tmp_path):
    X, y, qid = _data()
    params = {**PARAMS, **extra}
    one = LambdaRanker(objective, n_estimators=10, n_jobs=1, **params).fit(X, y, qid=qid)
    two = LambdaRanker(objective, n_estimators=10, n_jobs=2, **params).fit(X, y, qid=qid)
    assert _json(one) == _json(two)
    assert max(t.n_leaves for t in one.booster_.trees) > 2
    first = LambdaRanker(objective, n_estimators=4, n_jobs=1, **params).fit(X, y, qid=qid)
    path = tmp_path / "first.json"
    first.save_model(path)
    rest = LambdaRanker(objective, n_estimators=6, n_jobs=2, **params).fit(X, y, qid=qid, init_model=path)
    assert _json(rest) == _json(one)
    path2 = tmp_path / "all.json"
    one.save_model(path2)
    loaded = LambdaRanker.load_model(path2)
    assert loaded.get_params()["grow_policy"] == "symmetric"
    assert np.array_equal(loaded.predict(X), one.predict(X))
    if extra:  # the noise depends on the seed (the test can fail)
        other = LambdaRanker(objective, n_estimators=10, n_jobs=1, **{**params, "subsample": 1.0,
                                                                      "colsample_bytree": 1.0}).fit(X, y, qid=qid)
        other2 = LambdaRanker(objective, n_estimators=10, n_jobs=1, **{**params, "subsample": 1.0,
                                                                       "colsample_bytree": 1.0,
                                                                       "random_state": 8}).fit(X, y, qid=qid)
        assert _json(other) != _json(other2)


def test_random_strength_noise_scale():
    from ltr._symmetric import split_noise_sigma

    g = np.array([3.0, -4.0])
    assert split_noise_sigma(0.0, g, 100, 0, 0.1) == 0.0
    # rms(g) = sqrt(12.5); L = 100 at iteration 0 -> m = 100 / 101
    assert split_noise_sigma(2.0, g, 100, 0, 0.1) == pytest.approx(2 * np.sqrt(12.5) * 100 / 101)
    # fades once iteration * learning_rate passes log(n_rows)
    assert split_noise_sigma(1.0, g, 100, 100, 0.1) < 0.01 * split_noise_sigma(1.0, g, 100, 0, 0.1)


def test_symmetric_differs_from_leafwise_and_learns():
    X, y, qid = _data(n_queries=60)
    sym = LambdaRanker(grow_policy="symmetric", max_depth=3, n_estimators=20, min_child_samples=1,
                       random_state=0, n_jobs=1).fit(X, y, qid=qid)
    leaf = LambdaRanker(max_depth=3, num_leaves=8, n_estimators=20, min_child_samples=1, random_state=0,
                        n_jobs=1).fit(X, y, qid=qid)
    assert _json(sym) != _json(leaf)
    assert all(t.n_leaves <= 8 for t in sym.booster_.trees)
    const = LambdaRanker(n_estimators=1, learning_rate=1e-9, random_state=0, n_jobs=1).fit(X, y, qid=qid)
    assert sym.score(X, y, qid=qid) > const.score(X, y, qid=qid) + 0.02


def test_symmetric_model_exports_to_lightgbm():
    lgb = pytest.importorskip("lightgbm")
    from ltr.export import to_lightgbm_text

    X, y, qid = _data()
    est = LambdaRanker(n_estimators=8, n_jobs=1, **PARAMS).fit(X, y, qid=qid)
    theirs = lgb.Booster(model_str=to_lightgbm_text(est)).predict(X, raw_score=True)
    np.testing.assert_array_equal(theirs, est.predict(X))


def test_bad_grow_policy_params():
    X, y, qid = _data(n_queries=4)
    with pytest.raises(ValueError, match="'grow_policy' parameter of LambdaRanker must be a str among"):
        LambdaRanker(grow_policy="oblivious").fit(X, y, qid=qid)
    with pytest.raises(LTRValueError, match=r"grow_policy='symmetric' grows max_depth levels: pass 1 <= max_depth "
                                            r"<= 16 \(CatBoost's default is 6\), got max_depth=-1"):
        LambdaRanker(grow_policy="symmetric").fit(X, y, qid=qid)
    with pytest.raises(LTRValueError, match="got max_depth=17"):
        LambdaRanker(grow_policy="symmetric", max_depth=17).fit(X, y, qid=qid)
    with pytest.raises(LTRValueError, match="got max_depth=0"):
        LambdaRanker(grow_policy="symmetric", max_depth=0).fit(X, y, qid=qid)
    with pytest.raises(LTRValueError, match=r"^score_function='cosine' is for symmetric trees: pass "
                                            r"grow_policy='symmetric'"):
        LambdaRanker(score_function="cosine").fit(X, y, qid=qid)
    with pytest.raises(LTRValueError, match=r"^random_strength=1.0 is for symmetric trees"):
        LambdaRanker(random_strength=1.0).fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="'score_function' parameter of LambdaRanker must be a str among"):
        LambdaRanker(grow_policy="symmetric", max_depth=3, score_function="l2").fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="'random_strength' parameter of LambdaRanker must be a float"):
        LambdaRanker(grow_policy="symmetric", max_depth=3, random_strength=-1.0).fit(X, y, qid=qid)
