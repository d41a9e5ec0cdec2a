"""Calibrated ranking: scores that rank well AND are probabilities (RCR).

    python examples/calibrated_ranking.py [--quick] [--output DIR]

Generates click-rate data with known click probabilities, trains four
objectives on the same rows (pointwise `binary`, listwise `softmax`, the
naive `sigmoid_softmax` mix, and `rcr`), and prints test log loss, expected
calibration error and NDCG@10. `predict_proba` of the calibrated objectives
gives probabilities; softmax scores are not probabilities (no predict_proba).
A reliability plot is saved to DIR (default: a temporary folder) when
matplotlib is installed.
"""
import argparse
import tempfile
from pathlib import Path

import numpy as np
from scipy.special import expit

from ltr import LambdaRanker
from ltr.metrics import expected_calibration_error, log_loss, ndcg_score


def click_rate_data(n_queries, docs, seed):
    rng = np.random.default_rng(seed)
    n = n_queries * docs
    X = rng.normal(size=(n, 8))
    qid = np.repeat(np.arange(n_queries), docs)
    p = expit(-2.0 + 1.2 * X[:, 0] + 0.8 * np.tanh(X[:, 1] * X[:, 2]) + 0.5 * X[:, 3])
    impressions = 20
    rate = rng.binomial(impressions, p) / impressions
    return X, rate, qid, p


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, few trees (for CI)")
    parser.add_argument("--output", type=Path, default=None, help="folder for the plot (default: a temporary one)")
    args = parser.parse_args(argv)
    out = args.output or Path(tempfile.mkdtemp(prefix="ltr-calibrated-"))
    out.mkdir(parents=True, exist_ok=True)

    n_queries, trees = (150, 30) if args.quick else (1500, 200)
    X, rate, qid, _ = click_rate_data(n_queries, 20, seed=0)
    Xt, rate_t, qid_t, p_true = click_rate_data(n_queries // 2, 20, seed=1)
    graded_t = np.round(4 * p_true)  # graded relevance for NDCG: the true probability in 5 grades

    probs = {}
    print(f"{'objective':<16} {'log loss':>9} {'ECE':>7} {'NDCG@10':>8}")
    for objective in ("binary", "softmax", "sigmoid_softmax", "rcr"):
        m = LambdaRanker(objective=objective, n_estimators=trees, learning_rate=0.1, num_leaves=15, random_state=0)
        m.fit(X, rate, qid=qid)
        scores = m.predict(Xt)
        ndcg = ndcg_score(graded_t, scores, qid=qid_t, k=10)
        if hasattr(m, "predict_proba"):
            p = m.predict_proba(Xt)
            probs[objective] = p
            print(f"{objective:<16} {log_loss(rate_t, p):>9.4f} {expected_calibration_error(rate_t, p):>7.4f} {ndcg:>8.4f}")
        else:
            print(f"{objective:<16} {'-':>9} {'-':>7} {ndcg:>8.4f}   (scores are not probabilities)")
    try:
        import matplotlib

        matplotlib.use("Agg")
        from ltr.plotting import plot_reliability

        ax = plot_reliability(rate_t, probs, n_bins=10)
        ax.figure.savefig(out / "reliability.png", dpi=100)
        print(f"reliability plot: {out / 'reliability.png'}")
    except ImportError:
        print("matplotlib not installed: no plot")


if __name__ == "__main__":
    main()
