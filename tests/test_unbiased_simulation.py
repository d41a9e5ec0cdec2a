"""Click simulators: click rates match the models, determinism, input errors."""
import numba
import numpy as np
import pytest

from ltr.unbiased import EYE_TRACKING_EXAMINATION, click_probability, simulate_clicks, true_propensity


def binomial_ok(clicks, p, z=4.5):
    """Empirical rate of `clicks` within z standard errors of p."""
    n = clicks.size
    return abs(clicks.mean() - p) <= z * np.sqrt(p * (1 - p) / n) + 1e-12


def test_true_propensity_values():
    theta = true_propensity(10, eta=2.0, relative=False)
    np.testing.assert_allclose(theta, EYE_TRACKING_EXAMINATION**2)
    rel = true_propensity(10, eta=2.0)
    np.testing.assert_allclose(rel, (EYE_TRACKING_EXAMINATION / 0.68) ** 2)
    assert rel[0] == 1.0
    np.testing.assert_allclose(true_propensity(3, eta=0.0), np.ones(3))
    np.testing.assert_allclose(true_propensity(2, propensity=[0.5, 0.25]), [1.0, 0.5])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_positions=11), "only 10 positions"),
        (dict(n_positions=0), "n_positions"),
        (dict(eta=-1.0), "eta"),
        (dict(propensity=[0.5, 0.0]), "propensity"),
        (dict(propensity=[1.5]), "propensity"),
    ],
)
def test_true_propensity_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        true_propensity(**kwargs)


def test_click_probability_formula():
    p = click_probability([0, 1, 2, 3, 4], eps_minus=0.1, eps_plus=1.0, max_grade=4)
    np.testing.assert_allclose(p, 0.1 + 0.9 * np.array([0, 1, 3, 7, 15]) / 15)
    np.testing.assert_allclose(click_probability([0, 2], 0.2, 0.8, max_grade=2), [0.2, 0.8])
    with pytest.raises(ValueError, match="integer relevance grades"):
        click_probability([0.5])
    with pytest.raises(ValueError, match="integer relevance grades"):
        click_probability([5], max_grade=4)
    with pytest.raises(ValueError, match="eps_minus"):
        click_probability([1], eps_minus=0.5, eps_plus=0.4)


@pytest.mark.parametrize("eta", [1.0, 2.0])
def test_pbm_click_rate_per_position_and_grade(eta):
    rng = np.random.default_rng(0)
    n = 400_000
    y = rng.integers(0, 5, n)
    pos = rng.integers(1, 11, n)
    clicks = simulate_clicks(y, None, pos, model="pbm", eta=eta, random_state=1)
    theta = EYE_TRACKING_EXAMINATION**eta
    attract = click_probability(np.arange(5))
    assert clicks.dtype == np.int8 and set(np.unique(clicks)) <= {0, 1}
    for k in range(1, 11):
        for g in range(5):
            cell = clicks[(pos == k) & (y == g)]
            assert binomial_ok(cell, theta[k - 1] * attract[g]), (k, g, cell.mean(), theta[k - 1] * attract[g])


def test_pbm_custom_curve_and_noise():
    n = 200_000
    y = np.zeros(n, dtype=int)
    pos = np.where(np.arange(n) % 2 == 0, 1, 2)
    clicks = simulate_clicks(y, None, pos, propensity=[0.9, 0.3], eta=1.0, eps_minus=0.5, random_state=3)
    assert binomial_ok(clicks[pos == 1], 0.45)
    assert binomial_ok(clicks[pos == 2], 0.15)


def _cascade_lists(n_sessions, grades, rng, shuffle_rows=True):
    """n_sessions copies of one list with `grades` at positions 1..len, rows optionally shuffled."""
    m = len(grades)
    y = np.tile(grades, n_sessions)
    pos = np.tile(np.arange(1, m + 1), n_sessions)
    qid = np.repeat(np.arange(n_sessions), m)
    if shuffle_rows:
        perm = rng.permutation(y.size)
        y, pos, qid = y[perm], pos[perm], qid[perm]
    return y, pos, qid


def test_cascade_classic_click_rates():
    rng = np.random.default_rng(0)
    grades = np.array([1, 4, 0, 2, 3])
    y, pos, qid = _cascade_lists(60_000, grades, rng)
    clicks = simulate_clicks(y, qid, pos, model="cascade", random_state=7)
    a = click_probability(grades)
    expected = a * np.concatenate(([1.0], np.cumprod(1 - a)[:-1]))
    for k in range(5):
        assert binomial_ok(clicks[pos == k + 1], expected[k]), (k, clicks[pos == k + 1].mean(), expected[k])
    # classic cascade: at most one click per session
    per_session = np.bincount(qid, weights=clicks)
    assert per_session.max() == 1


def test_cascade_stop_probabilities():
    rng = np.random.default_rng(1)
    grades = np.array([2, 0, 3, 1])
    y, pos, qid = _cascade_lists(60_000, grades, rng, shuffle_rows=False)
    a = click_probability(grades)
    # never stopping: every position is examined
    clicks = simulate_clicks(y, qid, pos, model="cascade", stop_after_click=0.0, random_state=2)
    for k in range(4):
        assert binomial_ok(clicks[pos == k + 1], a[k])
    # stop after a skip with probability 0.5, never after a click
    clicks = simulate_clicks(y, qid, pos, model="cascade", stop_after_click=0.0, stop_after_skip=0.5, random_state=2)
    reach = np.concatenate(([1.0], np.cumprod(a + (1 - a) * 0.5)[:-1]))
    for k in range(4):
        assert binomial_ok(clicks[pos == k + 1], reach[k] * a[k])


def test_simulation_is_deterministic_and_thread_independent():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 5, 50_000)
    pos = np.tile(np.arange(1, 11), 5_000)
    qid = np.repeat(np.arange(5_000), 10)
    for model in ("pbm", "cascade"):
        a = simulate_clicks(y, qid, pos, model=model, random_state=11)
        b = simulate_clicks(y, qid, pos, model=model, random_state=11)
        np.testing.assert_array_equal(a, b)
        c = simulate_clicks(y, qid, pos, model=model, random_state=12)
        assert not np.array_equal(a, c)
        before = numba.get_num_threads()
        try:
            numba.set_num_threads(1)
            d = simulate_clicks(y, qid, pos, model=model, random_state=11)
        finally:
            numba.set_num_threads(before)
        np.testing.assert_array_equal(a, d)


def test_cascade_result_in_caller_row_order():
    # Two sessions whose rows are interleaved: row order must not matter.
    y = np.array([4, 4, 0, 0])
    pos = np.array([1, 1, 2, 2])
    qid = np.array([0, 1, 0, 1])
    clicks = simulate_clicks(y, qid, pos, model="cascade", eps_minus=0.0, random_state=0)
    np.testing.assert_array_equal(clicks, [1, 1, 0, 0])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(position=[0, 1]), "1-based"),
        (dict(position=[1]), "one entry per row"),
        (dict(position=[1.5, 2]), "whole numbers"),
        (dict(position=None), "position is required"),
        (dict(position=[1, 11]), "examination curve has 10"),
        (dict(position=[1, 2], model="ubm"), "model must be one of"),
        (dict(position=[1, 2], model="cascade"), "needs qid"),
        (dict(position=[1, 1], model="cascade", qid=[0, 0]), "repeats within a session"),
        (dict(position=[1, 2], model="cascade", qid=[0, 0], stop_after_click=2.0), "stop_after_click"),
    ],
)
def test_simulate_clicks_errors(kwargs, match):
    kwargs = dict(kwargs)
    position = kwargs.pop("position")
    qid = kwargs.pop("qid", None)
    with pytest.raises(ValueError, match=match):
        simulate_clicks([1, 0], qid, position, **kwargs)
