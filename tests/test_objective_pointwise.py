"""Pointwise objectives: gradients and hessians vs finite differences of their loss."""
import numpy as np
import pytest

from ltr.objectives import get_objective
from ltr.objectives._base import new_grad_hess
from ltr.objectives.pointwise import Logistic, SquaredError


def _data(name, rng, n=25):
    if name == "regression":
        return rng.normal(size=n) * 3.0
    y = (rng.random(n) < 0.4).astype(float)
    y[:3] = [0.25, 0.5, 1.0]  # click rates are valid labels too
    return y


def _setup(name, y, weight=None):
    obj = get_objective(name)
    obj.validate_labels(y)
    obj.setup(y, np.array([0, len(y)]), sample_weight=weight)
    return obj


def _grad_hess(obj, raw):
    g, h = new_grad_hess(len(raw))
    obj.gradient_hessian(raw, g, h)
    return g, h


@pytest.mark.parametrize("name", ["regression", "binary"])
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_and_hessian_match_finite_differences(name, weighted):
    rng = np.random.default_rng(0)
    y = _data(name, rng)
    w = rng.uniform(0.2, 3.0, len(y)) if weighted else None
    obj = _setup(name, y, w)
    raw = rng.normal(size=len(y)) * 2.0
    raw[:2] = [15.0, -15.0]  # saturated logistic
    g, h = _grad_hess(obj, raw)
    eps = 1e-5
    g_fd = np.empty_like(g)
    h_fd = np.empty_like(h)
    for i in range(len(raw)):
        step = np.zeros_like(raw)
        step[i] = eps
        lp, l0, lm = obj.loss(raw + step), obj.loss(raw), obj.loss(raw - step)
        g_fd[i] = (lp - lm) / (2 * eps)
        # hessian from the gradient (one more derivative of an analytic g is
        # better conditioned than a second difference of the loss)
        gp, _ = _grad_hess(obj, raw + step)
        gm, _ = _grad_hess(obj, raw - step)
        h_fd[i] = (gp[i] - gm[i]) / (2 * eps)
        # the second difference of the loss agrees too, more loosely
        assert abs((lp - 2 * l0 + lm) / eps**2 - h[i]) <= 1e-3 * max(1.0, abs(h[i])) + 1e-2
    np.testing.assert_allclose(g, g_fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(h, h_fd, rtol=1e-6, atol=1e-8)
    assert np.all(h >= 0)


def test_closed_forms():
    y = np.array([0.0, 1.0, 0.5])
    raw = np.array([0.0, 2.0, -1.0])
    g, h = _grad_hess(_setup("regression", y), raw)
    np.testing.assert_array_equal(g, raw - y)
    np.testing.assert_array_equal(h, np.ones(3))
    g, h = _grad_hess(_setup("binary", y), raw)
    p = 1 / (1 + np.exp(-raw))
    np.testing.assert_allclose(g, p - y, rtol=1e-15)
    np.testing.assert_allclose(h, p * (1 - p), rtol=1e-15)


def test_logistic_extreme_scores_are_finite():
    y = np.array([0.0, 1.0, 0.0, 1.0])
    raw = np.array([800.0, -800.0, -800.0, 800.0])
    obj = _setup("binary", y)
    g, h = _grad_hess(obj, raw)
    np.testing.assert_array_equal(g, [1.0, -1.0, 0.0, 0.0])
    assert np.all(np.isfinite(h)) and np.all(h >= 0)
    np.testing.assert_allclose(obj.loss(raw), 1600.0)


@pytest.mark.parametrize("name", ["regression", "binary"])
@pytest.mark.parametrize("weighted", [False, True])
def test_init_score_minimises_constant_model(name, weighted):
    # The best constant c has sum_i w_i g_i(c) = 0.
    rng = np.random.default_rng(1)
    y = _data(name, rng, n=40)
    w = rng.uniform(0.2, 3.0, len(y)) if weighted else None
    obj = _setup(name, y, w)
    c = obj.init_score()
    assert isinstance(c, float)
    g, _ = _grad_hess(obj, np.full(len(y), c))
    assert abs(g.sum()) < 1e-12 * len(y)
    for d in (-1e-3, 1e-3):
        assert obj.loss(np.full(len(y), c + d)) > obj.loss(np.full(len(y), c))


def test_init_score_values():
    y = np.array([0.0, 1.0, 1.0, 1.0])
    w = np.array([3.0, 1.0, 1.0, 1.0])
    assert _setup("regression", y).init_score() == pytest.approx(0.75)
    assert _setup("regression", y, w).init_score() == pytest.approx(0.5)
    assert _setup("binary", y).init_score() == pytest.approx(np.log(3.0))
    assert _setup("binary", y, w).init_score() == pytest.approx(0.0)
    # All-negative labels: finite (clipped) log-odds, not -inf.
    c = _setup("binary", np.zeros(5)).init_score()
    assert np.isfinite(c) and c < -30


def test_sample_weight_multiplies_g_and_h():
    rng = np.random.default_rng(2)
    for name in ("regression", "binary"):
        y = _data(name, rng)
        w = rng.uniform(0.0, 2.0, len(y))
        raw = rng.normal(size=len(y))
        g, h = _grad_hess(_setup(name, y), raw)
        gw, hw = _grad_hess(_setup(name, y, w), raw)
        np.testing.assert_allclose(gw, g * w, rtol=1e-15, atol=0)
        np.testing.assert_allclose(hw, h * w, rtol=1e-15, atol=0)


@pytest.mark.parametrize("y", [[0.0, 1.5], [0.0, -0.1], [np.nan, 1.0], [0.0, np.inf]])
def test_binary_rejects_labels_outside_unit_interval(y):
    with pytest.raises(ValueError, match="label|NaN"):
        Logistic().validate_labels(np.array(y))


def test_binary_accepts_rates_and_regression_any_finite_label():
    Logistic().validate_labels(np.array([0.0, 0.3, 1.0]))
    SquaredError().validate_labels(np.array([-5.0, 0.3, 100.0]))
    with pytest.raises(ValueError, match="NaN"):
        SquaredError().validate_labels(np.array([0.0, np.nan]))


def test_registry_and_transform():
    assert isinstance(get_objective("l2"), SquaredError)
    assert isinstance(get_objective("logistic"), Logistic)
    assert not SquaredError.is_ranking and not Logistic.is_ranking
    assert Logistic.produces_probabilities
    np.testing.assert_allclose(Logistic().transform(np.array([0.0, 50.0, -50.0])), [0.5, 1.0, 0.0], atol=1e-15)
    with pytest.raises(ValueError, match="probabilities"):
        SquaredError().transform(np.zeros(2))
