"""Every example runs, in its --quick mode, as a user would run it, and writes only to --output."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "examples"

# each example is a fresh Python process (imports, cached kernels): ~5-15 s apiece
pytestmark = pytest.mark.slow


def run_example(name, tmp_path, extra=()):
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="Agg")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    done = subprocess.run([sys.executable, str(EXAMPLES / name), "--quick", "--output", str(out), *extra],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert list(cwd.iterdir()) == []  # nothing written to the working directory
    # a ranker fitted without qid warns that everything is one query: the examples must route qid
    assert "treated as one query" not in done.stderr
    return done.stdout, out


def test_quickstart(tmp_path):
    pytest.importorskip("lightgbm")
    stdout, out = run_example("quickstart.py", tmp_path)
    assert "test NDCG@10: 0." in stdout
    assert "identical predictions" in stdout
    assert "max |difference| = 0" in stdout  # LightGBM export predicts the same scores
    assert sorted(p.name for p in out.iterdir()) == ["model.json", "model_lightgbm.txt"]


def test_grid_search_pipeline(tmp_path):
    stdout, out = run_example("grid_search_pipeline.py", tmp_path)
    assert stdout.count("NDCG@10") >= 3
    assert "best: {'rank__num_leaves'" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["grid_search_results.csv"]


def test_early_stopping_plots(tmp_path):
    pytest.importorskip("matplotlib")
    stdout, out = run_example("early_stopping_plots.py", tmp_path)
    assert "best iteration:" in stdout
    figure = out / "early_stopping.png"
    assert sorted(p.name for p in out.iterdir()) == ["early_stopping.png"]
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_calibrated_ranking(tmp_path):
    pytest.importorskip("matplotlib")
    stdout, out = run_example("calibrated_ranking.py", tmp_path)
    lines = {line.split()[0]: line.split()[1:] for line in stdout.splitlines() if line.split()}
    for objective in ("binary", "sigmoid_softmax", "rcr"):
        assert float(lines[objective][0]) > 0  # log loss of the calibrated objectives is printed
    assert "not probabilities" in stdout  # softmax has no predict_proba
    assert sorted(p.name for p in out.iterdir()) == ["reliability.png"]


def test_unbiased_clicks(tmp_path):
    stdout, out = run_example("unbiased_clicks.py", tmp_path)
    assert "DLA                        NDCG@10 on true labels: 0." in stdout
    assert sorted(p.name for p in out.iterdir()) == ["propensities.csv"]
    table = np.genfromtxt(out / "propensities.csv", delimiter=",", names=True)
    assert table["position"].tolist() == list(range(1, 11))
    np.testing.assert_allclose(table["true"][0], 1.0)
    for column in ("dla", "cross_fit"):
        assert table[column][0] == pytest.approx(1.0) and np.all(table[column] > 0)
    # the cross-fitted estimate is the closer one, even on this tiny log
    err = {c: np.abs(np.log(table[c] / table["true"])).max() for c in ("dla", "cross_fit")}
    assert err["cross_fit"] < err["dla"]


def test_yandex_propensities(tmp_path, shared_datasets):
    pytest.importorskip("matplotlib")
    stdout, out = run_example("yandex_propensities.py", tmp_path, extra=("--data", str(shared_datasets)))
    assert "Yandex sample (train)" in stdout
    rows = [line for line in stdout.splitlines() if line.startswith("| ") and line.split("|")[1].strip().isdigit()]
    assert len(rows) == 10 and rows[0].split("|")[2].strip() == "1.000"
    assert sorted(p.name for p in out.iterdir()) == ["yandex_propensities.png"]


def test_yandex_propensities_skips_without_data(tmp_path):
    stdout, out = run_example("yandex_propensities.py", tmp_path, extra=("--data", str(tmp_path / "missing")))
    assert "[skip]" in stdout
