"""Calibration metrics (ltr.metrics._calibration) and ltr.plotting.plot_reliability.

References: scikit-learn's log_loss, brier_score_loss and calibration_curve
where their conventions match (binary labels, no weights for the curve),
hand-computed values, and repeated rows for integer weights.
"""
import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
from sklearn.metrics import log_loss as sk_log_loss

from ltr.metrics._calibration import brier_score, expected_calibration_error, log_loss, reliability_curve


def binary_case(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.01, 0.99, n)
    y = (rng.uniform(size=n) < p ** 1.3).astype(np.float64)  # deliberately miscalibrated
    w = rng.integers(1, 4, n).astype(np.float64)
    return y, p, w


# ---------------------------------------------------------------------------
# log loss and Brier score
# ---------------------------------------------------------------------------
def test_log_loss_and_brier_match_sklearn_on_binary_labels():
    y, p, w = binary_case()
    assert log_loss(y, p) == pytest.approx(sk_log_loss(y, p), rel=1e-12)
    assert log_loss(y, p, sample_weight=w) == pytest.approx(sk_log_loss(y, p, sample_weight=w), rel=1e-12)
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p), rel=1e-12)
    assert brier_score(y, p, sample_weight=w) == pytest.approx(brier_score_loss(y, p, sample_weight=w), rel=1e-12)


def test_rates_are_the_expected_loss_of_bernoulli_outcomes():
    rng = np.random.default_rng(1)
    rate = rng.uniform(size=50)
    p = rng.uniform(0.05, 0.95, 50)
    # a rate y is the mixture y * (label 1) + (1 - y) * (label 0)
    y2 = np.concatenate([np.ones(50), np.zeros(50)])
    p2 = np.concatenate([p, p])
    w2 = np.concatenate([rate, 1 - rate])
    assert log_loss(rate, p) == pytest.approx(sk_log_loss(y2, p2, sample_weight=w2), rel=1e-12)
    # the Brier score of a rate is the squared error to the rate
    assert brier_score(rate, p) == pytest.approx(np.mean((p - rate) ** 2), rel=1e-12)


def test_log_loss_clipping_and_hand_values():
    assert log_loss([1, 0], [0.5, 0.5]) == pytest.approx(np.log(2))
    assert log_loss([1, 0], [1.0, 0.0], eps=0) == 0.0
    assert log_loss([1], [0.0], eps=1e-15) == pytest.approx(-np.log(1e-15))
    assert np.isfinite(log_loss([1], [0.0]))  # 'auto' clips at machine epsilon
    assert brier_score([1, 0, 0.5], [0.5, 0.5, 0.5]) == pytest.approx(0.25 * 2 / 3)


# ---------------------------------------------------------------------------
# Reliability curve and ECE
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["quantile", "uniform"])
@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
def test_reliability_curve_matches_sklearn_calibration_curve(strategy, n_bins):
    y, p, _ = binary_case(seed=2)
    mean_pred, obs, counts = reliability_curve(y, p, n_bins=n_bins, strategy=strategy)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    np.testing.assert_allclose(mean_pred, prob_pred, rtol=1e-12)
    np.testing.assert_allclose(obs, prob_true, rtol=1e-12)
    assert counts.sum() == len(y) and counts.dtype.kind == "i"
    if strategy == "quantile":  # continuous predictions: equal mass
        assert counts.max() - counts.min() <= 1


def test_reliability_curve_with_ties_and_empty_bins_matches_sklearn():
    p = np.array([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.7, 0.9, 0.9, 0.2])
    y = np.array([0, 0, 1, 0, 0, 0, 1, 1, 0, 0], dtype=float)
    for strategy in ("quantile", "uniform"):
        mean_pred, obs, counts = reliability_curve(y, p, n_bins=4, strategy=strategy)
        prob_true, prob_pred = calibration_curve(y, p, n_bins=4, strategy=strategy)
        np.testing.assert_allclose(mean_pred, prob_pred)
        np.testing.assert_allclose(obs, prob_true)
        assert counts.sum() == len(p)


def test_ece_hand_computed():
    # uniform bins of width 0.5: bin 1 = {0.1, 0.2, 0.4}, bin 2 = {0.6, 0.9}
    p = np.array([0.1, 0.2, 0.4, 0.6, 0.9])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    # bin 1: mean p 0.7/3, freq 1/3; bin 2: mean p 0.75, freq 1
    expected = 3 / 5 * abs(0.7 / 3 - 1 / 3) + 2 / 5 * abs(0.75 - 1.0)
    assert expected_calibration_error(y, p, n_bins=2, strategy="uniform") == pytest.approx(expected)
    # equal mass, 5 bins on 5 distinct predictions: one row per bin
    assert expected_calibration_error(y, p, n_bins=5) == pytest.approx(np.mean(np.abs(p - y)))
    # a single bin: |mean p - mean y|
    assert expected_calibration_error(y, p, n_bins=1) == pytest.approx(abs(p.mean() - y.mean()))
    # a prediction on an inner edge goes to the lower bin (as in scikit-learn)
    assert expected_calibration_error([1.0, 0.0], [0.5, 0.75], n_bins=2, strategy="uniform") == pytest.approx(
        0.5 * 0.5 + 0.5 * 0.75
    )


def test_ece_agrees_with_reliability_curve_and_is_zero_when_calibrated():
    y, p, w = binary_case(seed=3)
    for strategy in ("quantile", "uniform"):
        for weights in (None, w):
            mean_pred, obs, counts = reliability_curve(y, p, n_bins=15, strategy=strategy, sample_weight=weights)
            ece = expected_calibration_error(y, p, n_bins=15, strategy=strategy, sample_weight=weights)
            assert ece == pytest.approx(np.sum(counts * np.abs(mean_pred - obs)) / np.sum(counts), rel=1e-12)
    # predictions equal to the observed rate of their (tied) group: ECE 0
    p_cal = np.repeat([0.2, 0.5, 0.8], 10)
    y_cal = np.concatenate([[1] * 2 + [0] * 8, [1] * 5 + [0] * 5, [1] * 8 + [0] * 2]).astype(float)
    assert expected_calibration_error(y_cal, p_cal, n_bins=3) == pytest.approx(0.0, abs=1e-15)
    assert expected_calibration_error(y_cal, p_cal, n_bins=10, strategy="uniform") == pytest.approx(0.0, abs=1e-15)


def test_integer_weights_equal_repeated_rows():
    y, p, w = binary_case(n=300, seed=4)
    rep = np.repeat(np.arange(len(y)), w.astype(int))
    assert log_loss(y, p, sample_weight=w) == pytest.approx(log_loss(y[rep], p[rep]), rel=1e-12)
    assert brier_score(y, p, sample_weight=w) == pytest.approx(brier_score(y[rep], p[rep]), rel=1e-12)
    # uniform bins do not depend on the weights
    a = reliability_curve(y, p, n_bins=7, strategy="uniform", sample_weight=w)
    b = reliability_curve(y[rep], p[rep], n_bins=7, strategy="uniform")
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-12)
    # weighted equal-mass edges are the weighted (inverted-CDF) quantiles:
    # those of the repeated rows under the same quantile rule
    edges = np.quantile(p[rep], np.linspace(0, 1, 8), method="inverted_cdf")
    ids = np.searchsorted(edges[1:-1], p[rep], side="left")
    keep = np.bincount(ids, minlength=7) > 0
    exp_pred = np.bincount(ids, weights=p[rep], minlength=7)[keep] / np.bincount(ids, minlength=7)[keep]
    exp_obs = np.bincount(ids, weights=y[rep], minlength=7)[keep] / np.bincount(ids, minlength=7)[keep]
    mean_pred, obs, counts = reliability_curve(y, p, n_bins=7, sample_weight=w)
    np.testing.assert_allclose(mean_pred, exp_pred, rtol=1e-12)
    np.testing.assert_allclose(obs, exp_obs, rtol=1e-12)
    assert counts.sum() == pytest.approx(w.sum())


def test_zero_weight_rows_are_ignored():
    y, p, w = binary_case(n=200, seed=5)
    w0 = w.copy()
    w0[::3] = 0.0
    keep = w0 > 0
    assert log_loss(y, p, sample_weight=w0) == pytest.approx(log_loss(y[keep], p[keep], sample_weight=w0[keep]))
    assert expected_calibration_error(y, p, sample_weight=w0, strategy="uniform") == pytest.approx(
        expected_calibration_error(y[keep], p[keep], sample_weight=w0[keep], strategy="uniform")
    )


@pytest.mark.parametrize(
    "call",
    [log_loss, brier_score, expected_calibration_error, reliability_curve],
)
def test_bad_input_raises(call):
    with pytest.raises(ValueError, match="y_prob must lie in"):
        call([0, 1], [0.5, 1.5])
    with pytest.raises(ValueError, match="y_true must lie in"):
        call([0, 2], [0.5, 0.5])
    with pytest.raises(ValueError, match="y_prob has 2 entries but y_true has 3 rows"):
        call([0, 1, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match="NaN"):
        call([0, 1], [0.5, np.nan])
    with pytest.raises(ValueError, match="empty"):
        call([], [])
    with pytest.raises(ValueError, match="1-dimensional"):
        call(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-negative"):
        call([0, 1], [0.5, 0.5], sample_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match="sample_weight is zero for every row"):
        call([0, 1], [0.5, 0.5], sample_weight=[0.0, 0.0])
    with pytest.raises(ValueError, match="sample_weight has 1 entries but y_true has 2 rows"):
        call([0, 1], [0.5, 0.5], sample_weight=[1.0])


def test_bad_binning_raises():
    with pytest.raises(ValueError, match="strategy"):
        expected_calibration_error([0, 1], [0.2, 0.8], strategy="kmeans")
    with pytest.raises(ValueError, match="n_bins"):
        reliability_curve([0, 1], [0.2, 0.8], n_bins=0)
    with pytest.raises(TypeError, match="n_bins"):
        reliability_curve([0, 1], [0.2, 0.8], n_bins=2.5)
    with pytest.raises(ValueError, match="eps"):
        log_loss([0, 1], [0.2, 0.8], eps=0.7)


# ---------------------------------------------------------------------------
# plot_reliability (Agg backend)
# ---------------------------------------------------------------------------
@pytest.fixture
def agg():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg", force=True)
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_reliability_draws_one_line_per_model(agg):
    from ltr.plotting import plot_reliability

    y, p, _ = binary_case(seed=6)
    models = {"rcr": p, "binary": np.clip(p * 0.8, 0, 1)}
    ax = plot_reliability(y, models, n_bins=8)
    assert len(ax.lines) == 3
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [0, 1])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0, 1])
    for line, (name, probs) in zip(ax.lines[1:], models.items()):
        mean_pred, obs, _ = reliability_curve(y, probs, n_bins=8)
        np.testing.assert_allclose(line.get_xdata(), mean_pred)
        np.testing.assert_allclose(line.get_ydata(), obs)
        ece = expected_calibration_error(y, probs, n_bins=8)
        assert line.get_label() == f"{name} (ECE {ece:.4f})"
    assert [t.get_text() for t in ax.get_legend().get_texts()][1:] == [ln.get_label() for ln in ax.lines[1:]]


def test_plot_reliability_single_array_and_given_axes(agg):
    from ltr.plotting import plot_reliability

    y, p, w = binary_case(seed=7)
    fig, ax = agg.subplots()
    out = plot_reliability(y, p, n_bins=5, strategy="uniform", sample_weight=w, ax=ax)
    assert out is ax and len(ax.lines) == 2
    mean_pred, obs, _ = reliability_curve(y, p, n_bins=5, strategy="uniform", sample_weight=w)
    np.testing.assert_allclose(ax.lines[1].get_xdata(), mean_pred)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), obs)
    assert ax.lines[1].get_label().startswith("ECE ")
    fig.canvas.draw()  # renders without error


def test_plot_reliability_bad_input(agg):
    from ltr.plotting import plot_reliability

    with pytest.raises(ValueError, match="empty dict"):
        plot_reliability([0, 1], {})
    n_figs = len(agg.get_fignums())
    with pytest.raises(ValueError, match="y_prob must lie in"):
        plot_reliability([0, 1], {"raw scores": [-1.0, 2.0]})
    assert len(agg.get_fignums()) == n_figs  # no figure left behind


def test_import_ltr_plotting_does_not_import_matplotlib():
    import subprocess
    import sys

    code = "import sys, ltr.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
