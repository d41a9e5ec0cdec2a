"""Tests of the listwise cross-entropy objectives: 'softmax', 'sigmoid_softmax' and 'rcr'.

What is checked, and against what:
- `loss` against a plain-NumPy reference written from the paper's definitions;
- gradients against central finite differences of `loss`;
- hessians: exact ones ('softmax', 'sigmoid_softmax') against finite
  differences of the gradient; RCR's Gauss-Newton hessian against its
  closed form (and >= 0), and the exact RCR diagonal (kernel flag) against
  finite differences, including a case where it is negative;
- the shared minimiser of RCR's two parts, and the biased minimiser of the
  naive mix, on small examples with known E[y];
- weights as multiplicities, degenerate queries, label rules, parameters.
"""
import itertools

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit, log_expit, logit

from ltr.objectives import get_objective
from ltr.objectives._base import new_grad_hess
from ltr.objectives.listwise import (
    TRANSFORM_EXP,
    TRANSFORM_SIGMOID,
    SigmoidSoftmaxCE,
    SoftmaxCE,
    _list_ce_mix_gradient_hessian,
)
from ltr.objectives.pointwise import Logistic
from ltr.objectives.rcr import RegressionCompatibleRanking

OBJECTIVES = [
    ("softmax", {}),
    ("softmax", {"list_target": "raw"}),
    ("sigmoid_softmax", {"alpha": 0.7}),
    ("rcr", {"rcr_alpha": 0.8}),
    ("rcr", {"rcr_alpha": 0.8, "list_target": "raw"}),
    ("rcr", {"rcr_alpha": 1.0}),
]


def make(name, **params):
    obj = get_objective(name)
    return type(obj)(**params)


def case(seed=0, weighted=False, rates=False):
    """Queries of sizes 5, 1, 4, 3, 6, 2: one single row, one without relevant docs, one all equally relevant."""
    rng = np.random.default_rng(seed)
    sizes = [5, 1, 4, 3, 6, 2]
    group_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(group_ptr[-1])
    y = rng.uniform(0, 1, n) if rates else rng.integers(0, 2, n).astype(np.float64)
    y[group_ptr[2] : group_ptr[3]] = [0.0, 1.0, 0.0, 1.0]
    y[group_ptr[3] : group_ptr[4]] = 0.0  # no relevant document
    y[group_ptr[5] : group_ptr[6]] = 0.4 if rates else 1.0  # all equally relevant
    w = rng.uniform(0.5, 2.0, n) if weighted else None
    s = rng.normal(0.0, 2.0, n)
    return y, group_ptr, w, s


def grad_hess(obj, s):
    g, h = new_grad_hess(s.shape[0])
    obj.gradient_hessian(s, g, h)
    return g, h


def fd_gradient(f, s, eps=1e-6):
    out = np.empty_like(s)
    for i in range(s.shape[0]):
        e = np.zeros_like(s)
        e[i] = eps
        out[i] = (f(s + e) - f(s - e)) / (2 * eps)
    return out


def exact_grad_hess(obj, s):
    """Weighted g and the exact diagonal hessian from the kernel (exact_hessian=True)."""
    g, h = new_grad_hess(s.shape[0])
    _list_ce_mix_gradient_hessian(
        s, obj.target_, obj._w, obj.group_ptr_, obj.alpha_, obj._transform, obj.list_target == "raw", True, g, h
    )
    return g * obj._w, h * obj._w


# ---------------------------------------------------------------------------
# Plain NumPy reference of the loss, written from the paper's definitions
# ---------------------------------------------------------------------------
def reference_loss(y, group_ptr, w, s, alpha, transform, raw_targets):
    w = np.ones_like(y) if w is None else w
    sigmoid_ce = -(y * log_expit(s) + (1 - y) * log_expit(-s))
    total = (1 - alpha) * np.sum(w * sigmoid_ce)
    for q in range(len(group_ptr) - 1):
        sl = slice(group_ptr[q], group_ptr[q + 1])
        yq, wq, sq = y[sl], w[sl], s[sl]
        c = np.sum(wq * yq)
        if len(np.unique(yq[wq > 0])) < 2:
            continue  # one row, or all labels equal: no ranking signal, no list term
        tq = yq if raw_targets else yq / c
        big_t = np.exp(sq) if transform == "exp" else expit(sq)
        p = big_t / np.sum(wq * big_t)
        total += alpha * -np.sum(wq * tq * np.log(p))
    return total


PARAMS_TO_REF = {
    "softmax": lambda o: (1.0, "exp"),
    "sigmoid_softmax": lambda o: (o.alpha_, "exp"),
    "rcr": lambda o: (o.alpha_, "sigmoid"),
}


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name,params", OBJECTIVES)
def test_loss_matches_plain_reference(name, params, weighted):
    for rates in (False, True):
        y, gp, w, s = case(1, weighted, rates)
        obj = make(name, **params).setup(y, gp, w)
        alpha, transform = PARAMS_TO_REF[name](obj)
        ref = reference_loss(y, gp, w, s, alpha, transform, obj.list_target == "raw")
        assert obj.loss(s) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("name,params", OBJECTIVES)
def test_gradient_matches_finite_differences(name, params, weighted):
    for seed, rates in [(0, False), (2, True)]:
        y, gp, w, s = case(seed, weighted, rates)
        obj = make(name, **params).setup(y, gp, w)
        g, _ = grad_hess(obj, s)
        np.testing.assert_allclose(g, fd_gradient(obj.loss, s), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    "name,params", [("softmax", {}), ("softmax", {"list_target": "raw"}), ("sigmoid_softmax", {"alpha": 0.3})]
)
def test_exact_hessian_matches_finite_differences_of_gradient(name, params, weighted):
    y, gp, w, s = case(3, weighted, rates=True)
    obj = make(name, **params).setup(y, gp, w)
    _, h = grad_hess(obj, s)
    fd_h = np.array([fd_gradient(lambda x: grad_hess(obj, x)[0][i], s)[i] for i in range(len(s))])
    np.testing.assert_allclose(h, fd_h, rtol=1e-6, atol=1e-7)
    assert np.all(h >= 0)


@pytest.mark.parametrize("list_target", ["normalized", "raw"])
@pytest.mark.parametrize("weighted", [False, True])
def test_rcr_hessian_is_gauss_newton_and_exact_diagonal_matches_fd(weighted, list_target):
    alpha = 0.6
    y, gp, w, s = case(4, weighted, rates=False)
    obj = make("rcr", rcr_alpha=alpha, list_target=list_target).setup(y, gp, w)
    g, h = grad_hess(obj, s)

    # closed form of the documented Gauss-Newton hessian, computed independently
    ww = np.ones_like(y) if w is None else w
    sig = expit(s)
    expected = (1 - alpha) * ww * sig * (1 - sig)
    exact_expected = expected.copy()
    for q in range(len(gp) - 1):
        sl = slice(gp[q], gp[q + 1])
        c = np.sum(ww[sl] * y[sl])
        if len(np.unique(y[sl])) < 2:
            continue
        t = y[sl] if list_target == "raw" else y[sl] / c
        big_t = np.sum(ww[sl] * t)
        p = sig[sl] / np.sum(ww[sl] * sig[sl])
        gn = big_t * (1 - sig[sl]) ** 2 * p * (1 - ww[sl] * p)
        expected[sl] += alpha * ww[sl] * gn
        exact_expected[sl] += alpha * ww[sl] * (gn - sig[sl] * (1 - sig[sl]) * (big_t * p - t))
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-15)
    assert np.all(h >= 0)

    # the exact diagonal (kernel flag) is the finite difference of g ...
    g_exact, h_exact = exact_grad_hess(obj, s)
    np.testing.assert_allclose(g_exact, g, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(h_exact, exact_expected, rtol=1e-10, atol=1e-13)
    fd_h = np.array([fd_gradient(lambda x: grad_hess(obj, x)[0][i], s)[i] for i in range(len(s))])
    np.testing.assert_allclose(h_exact, fd_h, rtol=1e-6, atol=1e-7)
    # ... and differs from the Gauss-Newton one where the list term is active
    assert np.max(np.abs(h_exact - h)) > 1e-3


def test_rcr_exact_list_hessian_can_be_negative():
    # Pure list term (alpha=1): h_exact = (1-sig) p [(1-sig)(1-p) - sig] for an
    # irrelevant document (t = 0), negative once its sigmoid is large.
    y = np.array([1.0, 0.0, 0.0])
    gp = np.array([0, 3], dtype=np.int64)
    s = np.array([2.0, 3.0, 3.0])
    obj = make("rcr", rcr_alpha=1.0).setup(y, gp)
    _, h_exact = exact_grad_hess(obj, s)
    _, h = grad_hess(obj, s)
    fd_h1 = fd_gradient(lambda x: grad_hess(obj, x)[0][1], s)[1]
    assert h_exact[1] < 0
    assert h_exact[1] == pytest.approx(fd_h1, rel=1e-6)
    assert h[1] > 0


# ---------------------------------------------------------------------------
# Relations between the objectives
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name,key", [("rcr", "rcr_alpha"), ("sigmoid_softmax", "alpha")])
def test_alpha_zero_is_the_binary_objective(name, key):
    y, gp, w, s = case(5, weighted=True, rates=True)
    obj = make(name, **{key: 0.0}).setup(y, gp, w)
    ref = Logistic().setup(y, gp, w)
    g, h = grad_hess(obj, s)
    g_ref, h_ref = grad_hess(ref, s)
    np.testing.assert_allclose(g, g_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(h, h_ref, rtol=1e-13, atol=1e-15)
    assert obj.loss(s) == pytest.approx(ref.loss(s), rel=1e-12)
    assert obj.init_score() == pytest.approx(ref.init_score(), rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_naive_mix_is_the_weighted_sum_of_binary_and_softmax(weighted):
    alpha = 0.35
    y, gp, w, s = case(6, weighted, rates=False)
    mix = make("sigmoid_softmax", alpha=alpha).setup(y, gp, w)
    point = Logistic().setup(y, gp, w)
    lst = make("softmax").setup(y, gp, w)
    g, h = grad_hess(mix, s)
    gp_, hp = grad_hess(point, s)
    gl, hl = grad_hess(lst, s)
    np.testing.assert_allclose(g, (1 - alpha) * gp_ + alpha * gl, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h, (1 - alpha) * hp + alpha * hl, rtol=1e-12, atol=1e-15)
    assert mix.loss(s) == pytest.approx((1 - alpha) * point.loss(s) + alpha * lst.loss(s), rel=1e-12)


def test_rcr_with_alpha_one_is_list_ce_of_the_sigmoid():
    y, gp, w, s = case(7, weighted=False, rates=True)
    obj = make("rcr", rcr_alpha=1.0).setup(y, gp, w)
    ref = reference_loss(y, gp, None, s, 1.0, "sigmoid", False)
    assert obj.loss(s) == pytest.approx(ref, rel=1e-12)


def test_softmax_is_shift_invariant_per_query():
    y, gp, w, s = case(8, weighted=True, rates=True)
    obj = make("softmax").setup(y, gp, w)
    shifts = np.repeat(np.array([3.0, -7.0, 0.5, 11.0, -2.0, 40.0]), np.diff(gp))
    assert obj.loss(s + shifts) == pytest.approx(obj.loss(s), rel=1e-12)
    g, _ = grad_hess(obj, s)
    g_shift, _ = grad_hess(obj, s + shifts)
    np.testing.assert_allclose(g_shift, g, rtol=1e-9, atol=1e-12)
    for q in range(len(gp) - 1):
        assert abs(np.sum(g[gp[q] : gp[q + 1]])) < 1e-12  # normalized targets: T_q = 1


@pytest.mark.parametrize("name,params", OBJECTIVES)
def test_permuting_documents_permutes_gradients(name, params):
    y, gp, w, s = case(9, weighted=True, rates=True)
    rng = np.random.default_rng(0)
    perm = np.concatenate([gp[q] + rng.permutation(gp[q + 1] - gp[q]) for q in range(len(gp) - 1)])
    obj = make(name, **params).setup(y, gp, w)
    obj_p = make(name, **params).setup(y[perm], gp, w[perm])
    g, h = grad_hess(obj, s)
    g_p, h_p = grad_hess(obj_p, s[perm])
    np.testing.assert_allclose(g_p, g[perm], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h_p, h[perm], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name,params", OBJECTIVES)
def test_weight_two_equals_the_row_given_twice(name, params):
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.3, 0.0])
    gp = np.array([0, 4, 6], dtype=np.int64)
    s = np.array([0.4, -1.0, 2.0, 0.1, 0.7, -0.2])
    w = np.array([2.0, 1.0, 2.0, 1.0, 1.0, 2.0])
    obj = make(name, **params).setup(y, gp, w)
    dup = np.array([0, 0, 1, 2, 2, 3, 4, 5, 5])
    obj_d = make(name, **params).setup(y[dup], np.array([0, 6, 9], dtype=np.int64))
    assert obj.loss(s) == pytest.approx(obj_d.loss(s[dup]), rel=1e-12)
    g, h = grad_hess(obj, s)
    g_d, h_d = grad_hess(obj_d, s[dup])
    np.testing.assert_allclose(g, np.bincount(dup, weights=g_d), rtol=1e-12, atol=1e-15)
    # the list term's hessian is not additive over duplicates (p_k appears in
    # 1 - w_k p_k), so only the gradient and the loss are compared


@pytest.mark.parametrize("weighted", [False, True])
def test_degenerate_queries(weighted):
    """One row, no relevant document, all labels equal: no list term, exactly.

    'softmax' gives such queries exactly zero g and h at any scores (the
    Objective contract); 'rcr' and 'sigmoid_softmax' keep only their pointwise
    part there, which still trains every row (that is their calibration).
    """
    y, gp, w, s = case(10, weighted, rates=False)
    degenerate = [slice(gp[1], gp[2]), slice(gp[3], gp[4]), slice(gp[5], gp[6])]  # single, none, all relevant
    informative = slice(gp[2], gp[3])
    g, h = grad_hess(make("softmax").setup(y, gp, w), s)
    for sl in degenerate:
        assert np.all(g[sl] == 0.0) and np.all(h[sl] == 0.0)
    assert np.all(g[informative] != 0.0) and np.all(h[informative] > 0.0)
    g_b, h_b = grad_hess(Logistic().setup(y, gp, w), s)
    for name, params in [("rcr", {"rcr_alpha": 0.7}), ("rcr", {"rcr_alpha": 0.7, "list_target": "raw"}),
                         ("sigmoid_softmax", {"alpha": 0.7})]:
        obj = make(name, **params).setup(y, gp, w)
        g, h = grad_hess(obj, s)
        for sl in degenerate:
            np.testing.assert_allclose(g[sl], 0.3 * g_b[sl], rtol=1e-13, atol=0)
            np.testing.assert_allclose(h[sl], 0.3 * h_b[sl], rtol=1e-13, atol=0)
            assert np.all(g[sl] != 0.0) and np.all(h[sl] > 0.0)  # the pointwise part trains every row
        assert np.max(np.abs(g[informative] - 0.3 * g_b[informative])) > 1e-3


@pytest.mark.parametrize("name,params", [("softmax", {}), ("rcr", {"rcr_alpha": 1.0}),
                                         ("sigmoid_softmax", {"alpha": 1.0})])
def test_equal_positive_rates_and_zero_weight_rows_give_no_list_term(name, params):
    # equal positive rates; and a query whose only different label sits on a
    # zero-weight row (an absent row): both have no ranking signal
    y = np.array([0.4, 0.4, 0.4, 1.0, 1.0, 0.0, 0.3, 0.0])
    gp = np.array([0, 3, 6, 8], dtype=np.int64)
    w = np.array([1.0, 2.0, 1.0, 1.0, 2.0, 0.0, 1.0, 1.0])
    s = np.array([0.5, -1.0, 2.0, 0.3, -0.4, 9.0, 1.0, -1.0])
    obj = make(name, **params).setup(y, gp, w)
    g, h = grad_hess(obj, s)
    assert not g[:6].any() and not h[:6].any()
    assert g[6:].all() and h[6:].all()
    assert obj.loss(s) == pytest.approx(reference_loss(y, gp, w, s, 1.0, PARAMS_TO_REF[name](obj)[1], False),
                                        rel=1e-12)
    # the loss does not depend on the scores of those queries
    s2 = s.copy()
    s2[:6] += np.array([3.0, -2.0, 0.5, 1.0, -7.0, 2.0])
    assert obj.loss(s2) == obj.loss(s)


def test_extreme_scores_stay_finite():
    y, gp, w, _ = case(11, weighted=True, rates=True)
    s = np.where(np.arange(len(y)) % 2 == 0, 800.0, -800.0)
    for name, params in OBJECTIVES + [("sigmoid_softmax", {"alpha": 0.5})]:
        obj = make(name, **params).setup(y, gp, w)
        g, h = grad_hess(obj, s)
        assert np.all(np.isfinite(g)) and np.all(np.isfinite(h)) and np.all(h >= 0), name
        assert np.isfinite(obj.loss(s)), name


# ---------------------------------------------------------------------------
# Minimisers (Bai et al. 2023, Propositions 2-3 and Section 4.1)
# ---------------------------------------------------------------------------
RATES = np.array([0.1, 0.6, 0.3, 0.05, 0.8, 0.5, 0.2])
RATES_GP = np.array([0, 4, 7], dtype=np.int64)


def _minimise(obj, x0):
    def fun(x):
        g, _ = grad_hess(obj, x)
        return obj.loss(x), g

    res = minimize(fun, x0, jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000})
    assert res.success, res.message
    return res.x


def test_rcr_parts_share_their_minimiser():
    """With labels equal to E[y], sigmoid(s) = E[y] zeroes both parts' gradients."""
    s_star = logit(RATES)
    point = make("rcr", rcr_alpha=0.0).setup(RATES, RATES_GP)
    lst = make("rcr", rcr_alpha=1.0).setup(RATES, RATES_GP)
    g_point, _ = grad_hess(point, s_star)
    g_list, _ = grad_hess(lst, s_star)
    assert np.max(np.abs(g_point)) < 1e-15
    assert np.max(np.abs(g_list)) < 1e-15
    # and the full RCR loss, minimised numerically, lands there
    for alpha in (0.5, 0.9):
        obj = make("rcr", rcr_alpha=alpha).setup(RATES, RATES_GP)
        x = _minimise(obj, np.zeros_like(RATES))
        np.testing.assert_allclose(expit(x), RATES, atol=1e-6)


def test_rcr_minimiser_unchanged_by_queries_without_list_term():
    """A query of equal rates has no list term; RCR still calibrates it, and the others."""
    rates = np.concatenate([RATES, [0.3, 0.3, 0.3]])
    gp = np.append(RATES_GP, RATES_GP[-1] + 3)
    obj = make("rcr", rcr_alpha=0.9).setup(rates, gp)
    g, _ = grad_hess(obj, logit(rates))
    assert np.max(np.abs(g)) < 1e-15
    x = _minimise(obj, np.zeros_like(rates))
    np.testing.assert_allclose(expit(x), rates, atol=1e-6)


def test_naive_mix_minimiser_differs_from_expected_labels():
    s_star = logit(RATES)
    softmax = make("softmax").setup(RATES, RATES_GP)
    g_soft, _ = grad_hess(softmax, s_star)
    assert np.max(np.abs(g_soft)) > 0.05  # softmax CE is not at its minimum at logit(E[y])
    for alpha in (0.5, 0.9):
        obj = make("sigmoid_softmax", alpha=alpha).setup(RATES, RATES_GP)
        g_mix, _ = grad_hess(obj, s_star)
        assert np.max(np.abs(g_mix)) > 0.01
        x = _minimise(obj, np.zeros_like(RATES))
        g_min, _ = grad_hess(obj, x)
        assert np.max(np.abs(g_min)) < 1e-6  # a true stationary point ...
        assert np.max(np.abs(expit(x) - RATES)) > 0.02  # ... that is not calibrated
    # the pure list term of RCR also vanishes on any sigmoid proportional to E[y]:
    # alpha < 1 is what pins the scale (its minimiser set contains the calibrated point)
    lst = make("rcr", rcr_alpha=1.0).setup(RATES, RATES_GP)
    g_half, _ = grad_hess(lst, logit(RATES / 2))
    assert np.max(np.abs(g_half)) < 1e-15


def _expected_list_gradient(probs, list_target, s):
    """E over independent Bernoulli(probs) labels of the list-term gradient (exact enumeration)."""
    n = len(probs)
    gp = np.array([0, n], dtype=np.int64)
    total = np.zeros(n)
    for bits in itertools.product([0.0, 1.0], repeat=n):
        y = np.array(bits)
        weight = np.prod(np.where(y == 1, probs, 1 - probs))
        obj = make("rcr", rcr_alpha=1.0, list_target=list_target).setup(y, gp)
        g, _ = grad_hess(obj, s)
        total += weight * g
    return total


def test_compatibility_in_expectation_for_sampled_binary_labels():
    """For sampled 0/1 labels, 'raw' targets are compatible up to the dropped all-relevant lists.

    With ``t = y`` ('raw') the loss is linear in y, so over all label draws the
    expected list gradient at sigmoid(s) = E[y] would be exactly zero; the one
    draw whose list term is dropped (every label 1: no ranking signal) leaves
    a bias of exactly ``-P(all relevant) * g_all_relevant``, which vanishes as
    lists grow. With ``t = y / sum y`` the bias is larger, because
    E[y_i / sum y] != E[y_i] / sum E[y].
    """
    for probs in (np.array([0.2, 0.5, 0.7, 0.1]), np.array([0.05, 0.1, 0.2, 0.02, 0.3, 0.1])):
        s_star = logit(probs)
        n = len(probs)
        p_all = np.prod(probs)
        share = probs / probs.sum()
        g_all_relevant = (1 - probs) * (n * share - 1)  # raw-target list gradient when y = 1 everywhere
        raw = _expected_list_gradient(probs, "raw", s_star)
        np.testing.assert_allclose(raw, -p_all * g_all_relevant, rtol=1e-10, atol=1e-16)
        normalized = _expected_list_gradient(probs, "normalized", s_star)
        assert np.max(np.abs(normalized)) > 3 * np.max(np.abs(raw))


# ---------------------------------------------------------------------------
# Labels, parameters, probabilities
# ---------------------------------------------------------------------------
def test_graded_labels_are_divided_by_the_largest_label_or_label_scale():
    y = np.array([0.0, 1.0, 2.0, 0.0, 2.0])
    gp = np.array([0, 3, 5], dtype=np.int64)
    obj = make("rcr").setup(y, gp)
    assert obj.label_scale_ == 2.0
    np.testing.assert_array_equal(obj.target_, y / 2)
    obj4 = make("rcr", label_scale=4).setup(y, gp)
    np.testing.assert_array_equal(obj4.target_, y / 4)
    assert obj4.state() == {"label_scale": 4.0}
    restored = make("rcr", label_scale=4)
    restored.set_state(obj4.state())
    assert restored.label_scale_ == 4.0
    rates = np.array([0.0, 0.25, 1.0, 0.5, 0.0])
    obj_r = make("rcr").setup(rates, gp)
    assert obj_r.label_scale_ == 1.0
    np.testing.assert_array_equal(obj_r.target_, rates)
    # softmax uses graded labels as they are
    np.testing.assert_array_equal(make("softmax").setup(y, gp).target_, y)


@pytest.mark.parametrize("name", ["rcr", "sigmoid_softmax", "softmax"])
def test_bad_labels_raise(name):
    with pytest.raises(ValueError, match="non-negative"):
        make(name).validate_labels(np.array([0.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="NaN"):
        make(name).validate_labels(np.array([0.0, np.nan]))
    if name != "softmax":
        with pytest.raises(ValueError, match="label_scale"):
            make(name, label_scale=2).validate_labels(np.array([0.0, 3.0]))


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="rcr_alpha"):
        RegressionCompatibleRanking(rcr_alpha=1.5)
    with pytest.raises(TypeError, match="rcr_alpha"):
        RegressionCompatibleRanking(rcr_alpha="0.5")
    with pytest.raises(ValueError, match="alpha"):
        SigmoidSoftmaxCE(alpha=-0.1)
    with pytest.raises(ValueError, match="list_target"):
        SoftmaxCE(list_target="sum")
    with pytest.raises(ValueError, match="label_scale"):
        RegressionCompatibleRanking(label_scale=0)
    with pytest.raises(TypeError, match="label_scale"):
        RegressionCompatibleRanking(label_scale="4")


def test_registry_parameters_and_probability_flags():
    obj = get_objective("rcr", rcr_alpha=0.3, sigmoid=2.0)
    assert isinstance(obj, RegressionCompatibleRanking) and obj.alpha_ == 0.3
    assert obj.get_params() == {"rcr_alpha": 0.3, "list_target": "normalized", "label_scale": None}
    assert get_objective("rcr").alpha_ == 0.5
    assert obj.produces_probabilities and get_objective("sigmoid_softmax").produces_probabilities
    assert not get_objective("softmax").produces_probabilities
    raw = np.array([-3.0, 0.0, 2.5])
    np.testing.assert_allclose(obj.transform(raw), expit(raw))
    with pytest.raises(ValueError, match="does not produce calibrated probabilities"):
        get_objective("softmax").transform(raw)
    # transform keeps the input shape
    assert obj.transform(np.zeros((3, 2))).shape == (3, 2)


def test_init_score_is_logit_of_the_weighted_mean_label():
    y = np.array([0.0, 1.0, 2.0, 0.0, 2.0])
    gp = np.array([0, 3, 5], dtype=np.int64)
    w = np.array([1.0, 2.0, 1.0, 1.0, 3.0])
    obj = make("rcr").setup(y, gp, w)
    mean = np.average(y / 2, weights=w)
    assert obj.init_score() == pytest.approx(np.log(mean / (1 - mean)))
    assert make("sigmoid_softmax").setup(y, gp, w).init_score() == pytest.approx(obj.init_score())
    assert make("softmax").setup(y, gp, w).init_score() == 0.0


def test_kernel_transform_codes():
    # sanity of the codes the classes hand to the kernels
    assert SoftmaxCE._transform == TRANSFORM_EXP and SigmoidSoftmaxCE._transform == TRANSFORM_EXP
    assert RegressionCompatibleRanking._transform == TRANSFORM_SIGMOID
    assert not RegressionCompatibleRanking._exact_hessian and SoftmaxCE._exact_hessian


# ---------------------------------------------------------------------------
# Through the estimator (small data, no eval set)
# ---------------------------------------------------------------------------
def _small_ranking_data(seed=0, n_queries=40, size=10):
    rng = np.random.default_rng(seed)
    n = n_queries * size
    X = rng.normal(size=(n, 4))
    qid = np.repeat(np.arange(n_queries), size)
    p = expit(-1.0 + 1.5 * X[:, 0] + 0.5 * X[:, 1])
    y = (rng.uniform(size=n) < p).astype(np.float64)
    return X, y, qid


@pytest.mark.parametrize("objective,params", [("rcr", {"rcr_alpha": 0.7}), ("sigmoid_softmax", {"alpha": 0.5})])
def test_estimator_predict_proba_and_model_file(objective, params, tmp_path):
    from ltr import LambdaRanker

    X, y, qid = _small_ranking_data()
    model = LambdaRanker(objective=objective, objective_params=params, n_estimators=20, num_leaves=7,
                         random_state=0).fit(X, y, qid=qid)
    proba = model.predict_proba(X)
    assert proba.shape == (X.shape[0],)
    assert np.all((proba > 0) & (proba < 1))
    np.testing.assert_allclose(proba, expit(model.predict(X)))
    # trained from logit(mean y) with a pointwise term: the mean stays close to the base rate
    assert abs(proba.mean() - y.mean()) < 0.03
    path = tmp_path / "model.json"
    model.save_model(path)
    loaded = LambdaRanker.load_model(path)
    assert loaded.objective_.get_params() == model.objective_.get_params()
    np.testing.assert_allclose(loaded.predict_proba(X), proba, rtol=1e-12)


def test_estimator_graded_labels_and_softmax_has_no_probabilities(tmp_path):
    from ltr import LambdaRanker

    X, y, qid = _small_ranking_data(seed=1)
    graded = y * 2.0  # grades 0/2: divided by the largest label
    model = LambdaRanker(objective="rcr", objective_params={"label_scale": 4}, n_estimators=5,
                         random_state=0).fit(X, graded, qid=qid)
    assert model.objective_.label_scale_ == 4.0
    path = tmp_path / "graded.json"
    model.save_model(path)
    assert LambdaRanker.load_model(path).objective_.label_scale_ == 4.0
    soft = LambdaRanker(objective="softmax", n_estimators=5, random_state=0).fit(X, y, qid=qid)
    # the estimator hides predict_proba for objectives whose scores are not probabilities
    assert not hasattr(soft, "predict_proba") and hasattr(model, "predict_proba")
    with pytest.raises(AttributeError, match="predict_proba") as info:
        soft.predict_proba(X)
    assert "does not produce calibrated probabilities" in str(info.value.__cause__)
    with pytest.raises(ValueError, match="non-negative"):
        LambdaRanker(objective="rcr", n_estimators=2).fit(X, y - 1.0, qid=qid)


# ---------------------------------------------------------------------------
# The acceptance benchmark's --quick mode runs (few trees; figures not checked
# against the bars, only against what must hold by construction)
# ---------------------------------------------------------------------------
def _load_bench():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_calibration.py"
    spec = importlib.util.spec_from_file_location("bench_calibration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_bench_table(mean, out, title):
    names = [m[0] for m in _load_bench().MODELS]
    assert set(names) <= set(mean)
    for name in names:
        assert f"| {name} |" in out
        m = mean[name]
        assert 0 < m["logloss"] < 1 and 0 <= m["ece"] <= 1 and 0 < m["ndcg@10"] <= 1, (title, name)
    soft = mean["softmax"]
    # c = 0 is one of the shifts, so the best shift cannot do worse than none
    assert soft["logloss_shift_oracle"] <= soft["logloss"] + 1e-12
    assert soft["logloss_shift_oracle"] <= soft["logloss_shift_valid"] + 1e-12
    # a shift-invariant ranker's raw sigmoid is far from calibrated; RCR's is not
    assert mean["rcr a=0.5"]["logloss"] < soft["logloss"]
    assert "rcr a=0.5: log loss <= 1.02 x binary:" in out


def test_bench_calibration_quick_runs_on_click_data(capsys):
    bench = _load_bench()
    results = bench.main(["--quick", "--data", "clicks", "--n-estimators", "30", "--n-jobs", "1"])
    out = capsys.readouterr().out
    assert set(results) == {"clicks"}
    _check_bench_table(results["clicks"], out, "clicks")
    with pytest.raises(SystemExit):
        bench.main(["--data", "mq2007"])


def test_bench_calibration_quick_runs_on_mq2008(capsys, shared_datasets, monkeypatch):
    if not (shared_datasets / "mq2008").is_dir():
        pytest.skip("MQ2008 not in the shared data sets")
    bench = _load_bench()
    monkeypatch.setattr(bench, "DATA", shared_datasets)
    results = bench.main(["--quick", "--data", "mq2008", "--n-estimators", "30", "--n-jobs", "1"])
    _check_bench_table(results["mq2008"], capsys.readouterr().out, "mq2008")
