"""ltr.plotting.plot_metric and plot_importance (Agg backend; the drawn data are checked, not pixels)."""
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ltr import LambdaRanker  # noqa: E402
from ltr.plotting import plot_importance, plot_metric  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def ranking_data(n_queries=30, docs=10, n_features=6, seed=0):
    rng = np.random.default_rng(seed)
    n = n_queries * docs
    X = rng.normal(size=(n, n_features))
    y = np.clip(np.round(X[:, 0] + 0.3 * X[:, 2] + rng.normal(scale=0.5, size=n)), 0, 3)
    return X, y, np.repeat(np.arange(n_queries), docs)


@pytest.fixture(scope="module")
def fitted():
    X, y, qid = ranking_data()
    Xv, yv, qv = ranking_data(n_queries=15, seed=1)
    Xt, yt, qt = ranking_data(n_queries=15, seed=2)
    est = LambdaRanker(n_estimators=30, num_leaves=5, min_child_samples=5, random_state=0, eval_at=(3, 10),
                       early_stopping_rounds=4)
    est.fit(X, y, qid=qid, eval_set=[(Xt, yt), (Xv, yv)], eval_qid=[qt, qv])
    return est


def test_plot_metric_draws_every_eval_set_and_the_best_iteration(fitted):
    ax = plot_metric(fitted)
    evals = fitted.evals_result_
    assert list(evals) == ["valid_0", "valid_1"]
    curves, best = ax.lines[:2], ax.lines[2]
    for line, name in zip(curves, evals):
        assert line.get_label() == name
        np.testing.assert_array_equal(line.get_ydata(), evals[name]["ndcg@3"])  # first metric by default
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, len(evals[name]["ndcg@3"]) + 1))
    assert fitted.best_iteration_ is not None
    assert list(best.get_xdata()) == [fitted.best_iteration_] * 2
    assert ax.get_ylabel() == "ndcg@3"


def test_plot_metric_chosen_metric_set_and_axes(fitted):
    fig, ax = plt.subplots()
    out = plot_metric(fitted, "ndcg@10", dataset_names=["valid_1"], ax=ax, title="t", ylabel="NDCG")
    assert out is ax
    assert len(ax.lines) == 2  # one curve + the best-iteration marker
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), fitted.evals_result_["valid_1"]["ndcg@10"])
    assert ax.get_title() == "t" and ax.get_ylabel() == "NDCG"


def test_plot_metric_from_a_recorded_dict():
    evals = {"train": {"map": [0.1, 0.2, 0.3]}, "valid": {"map": [0.1, 0.15, 0.12]}}
    ax = plot_metric(evals)
    assert len(ax.lines) == 2  # no best-iteration line for a plain dict
    np.testing.assert_array_equal(ax.lines[1].get_ydata(), [0.1, 0.15, 0.12])


def test_plot_metric_errors(fitted):
    X, y, qid = ranking_data()
    no_eval = LambdaRanker(n_estimators=2, random_state=0).fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="eval_set"):
        plot_metric(no_eval)
    with pytest.raises(ValueError, match="not fitted"):
        plot_metric(LambdaRanker())
    with pytest.raises(TypeError, match="evals_result"):
        plot_metric([1, 2, 3])
    with pytest.raises(ValueError, match="'map' was not recorded"):
        plot_metric(fitted, "map")
    with pytest.raises(ValueError, match="no evaluation set named 'test'"):
        plot_metric(fitted, dataset_names=["test"])
    assert plt.get_fignums() == []  # bad input raises before a figure is made


def test_plot_importance_bars_are_the_importances(fitted):
    ax = plot_importance(fitted, max_num_features=3)
    imp = fitted.booster_.feature_importance("split", num_iteration=fitted.best_iteration_)
    top = np.argsort(-imp, kind="stable")[:3]
    widths = [p.get_width() for p in ax.patches]
    assert widths == sorted(widths)  # least important at the bottom
    np.testing.assert_array_equal(widths[::-1], imp[top])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[::-1] == [f"Column_{i}" for i in top]
    assert ax.get_xlabel() == "number of splits"


def test_plot_importance_gain_names_and_zero_features():
    pd = pytest.importorskip("pandas")
    X, y, qid = ranking_data(n_features=4)
    X[:, 3] = 1.0  # constant: never split on
    frame = pd.DataFrame(X, columns=["bm25", "pagerank", "clicks", "constant"])
    est = LambdaRanker(n_estimators=5, num_leaves=4, min_child_samples=5, random_state=0).fit(frame, y, qid=qid)
    ax = plot_importance(est, importance_type="gain", max_num_features=None)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "constant" not in labels
    gain = dict(zip(frame.columns, est.booster_.feature_importance("gain")))
    np.testing.assert_allclose([p.get_width() for p in ax.patches], [gain[n] for n in labels])
    ax2 = plot_importance(est.booster_, ignore_zero=False, max_num_features=0)
    assert len(ax2.patches) == 4
    assert ax2.get_yticklabels()[0].get_text() == "constant"


def test_plot_importance_errors():
    with pytest.raises(ValueError, match="not fitted"):
        plot_importance(LambdaRanker())
    with pytest.raises(TypeError, match="LambdaRanker"):
        plot_importance({"a": 1})
    X, y, qid = ranking_data()
    est = LambdaRanker(n_estimators=2, random_state=0).fit(X, y, qid=qid)
    with pytest.raises(ValueError, match="importance_type"):
        plot_importance(est, importance_type="cover")
    with pytest.raises(ValueError, match="max_num_features"):
        plot_importance(est, max_num_features=-1)
    stump = LambdaRanker("regression", n_estimators=2, min_child_samples=10_000, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="no feature has a non-zero importance"):
        plot_importance(stump)


def test_missing_matplotlib_gives_a_clear_message(monkeypatch, fitted):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # makes the import fail
    with pytest.raises(ImportError, match="pip install ltr\\[plot\\]"):
        plot_metric(fitted)
    with pytest.raises(ImportError, match="needs matplotlib"):
        plot_importance(fitted)
