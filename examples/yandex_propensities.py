"""Position propensities from a real click log without features (Yandex sample).

The Yandex relevance-prediction sample (WSCD 2012) logs, for 20 queries,
every session's ten displayed URLs and its clicks. There are no features,
so the relevance of each (query, URL) pair is a free parameter, and the
examination probability per position is identified because the ranking of a
query changes between sessions (the same URL appears at several positions).

Estimators (``ltr.unbiased``):
    pbm_em     maximum likelihood of the position-based model by EM
    dla        DLA's IPW / IRW steps with free per-document relevance
    ctr        click-through rate per position / CTR at position 1 (naive:
               it mixes the examination curve with the relevance that the
               engine puts at each position)

They are printed next to the Baidu-ULTR curves of Hager et al. (SIGIR 2024,
``../shared/datasets/position_bias_reference``), estimated on another search
engine's log by intervention harvesting, and plotted.

Usage
    python examples/yandex_propensities.py [--split train|test|all] [--quick] [--output DIR] [--out PLOT.png]

The plot goes to DIR/yandex_propensities.png (--output), to PLOT.png
(--out), or to a temporary folder. Without the shared data sets the example
says so and exits cleanly. --quick (for CI) uses the training split and
caps the EM and DLA iterations.
"""
import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ltr.unbiased import ctr_propensity, estimate_propensity_dla, estimate_propensity_em  # noqa: E402

DATA = REPO.parent / "shared" / "datasets"
BAIDU = ("ctr", "pivot_one", "adjacent_chain", "global_all_pairs")


def load_baidu(folder, n_positions=10):
    curves = {}
    for name in BAIDU:
        path = folder / f"baidu_ultr_{name}.csv"
        if not path.exists():
            continue
        table = np.genfromtxt(path, delimiter=",", names=True)
        pos = table["position"].astype(int)
        values = table[name]
        curves[f"baidu_{name}"] = np.array([values[pos == k][0] if np.any(pos == k) else np.nan
                                            for k in range(1, n_positions + 1)])
    return curves


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="the shared datasets folder")
    ap.add_argument("--out", type=Path, default=None, help="where to save the plot (PNG)")
    ap.add_argument("--split", choices=("train", "test", "all"), default="all")
    ap.add_argument("--output", type=Path, default=None, help="folder for the plot")
    ap.add_argument("--quick", action="store_true", help="training split, capped iterations (for CI)")
    args = ap.parse_args(argv)
    if args.quick:
        args.split = "train"

    path = args.data / "yandex_relpred_click_sample" / "impressions.npz"
    if not path.exists():
        print(f"[skip] the Yandex click sample is not at {path}: nothing to do")
        return None
    npz = np.load(path)
    keep = np.ones(npz["click"].shape[0], dtype=bool)
    if args.split != "all":
        keep = npz["split"] == (0 if args.split == "train" else 1)
    click, position, session = npz["click"][keep], npz["position"][keep], npz["session"][keep]
    # one relevance parameter per (query, URL): the same URL may answer two queries
    item = npz["query"][keep].astype(np.int64) * (1 << 40) + npz["url"][keep]
    n_items = np.unique(item).size
    print(f"Yandex sample ({args.split}): {np.unique(session).size} sessions, {click.size} impressions, "
          f"{n_items} (query, URL) pairs, CTR {click.mean():.3f}")

    iters = dict(max_iter=30) if args.quick else {}
    em = estimate_propensity_em(click, position, item, **iters)
    dla = estimate_propensity_dla(click, position, item, session, **iters)
    curves = {
        "pbm_em": em.propensity,
        "dla": dla.propensity,
        "ctr": ctr_propensity(click, position),
    }
    print(f"EM: {em.n_iter} iterations (converged: {em.converged}); "
          f"DLA: {dla.n_iter} iterations (converged: {dla.converged})")
    curves.update(load_baidu(args.data / "position_bias_reference"))

    names = list(curves)
    print("\nExamination propensity relative to position 1\n")
    print("| position | " + " | ".join(names) + " |")
    print("|" + "---|" * (len(names) + 1))
    for k in range(10):
        print(f"| {k + 1} | " + " | ".join(f"{curves[n][k]:.3f}" for n in names) + " |")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    pos = np.arange(1, 11)
    for n in names:
        style = "-o" if not n.startswith("baidu") else "--"
        ax.plot(pos, curves[n], style, label=n, linewidth=2 if n in ("pbm_em", "dla") else 1)
    ax.set_xlabel("position")
    ax.set_ylabel("propensity relative to position 1")
    ax.set_xticks(pos)
    ax.set_ylim(0, 1.05)
    ax.set_title("Position bias: Yandex click log (ours) vs Baidu-ULTR (Hager et al. 2024)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if args.out is not None:
        out = args.out
    else:
        out = (args.output or Path(tempfile.mkdtemp(prefix="ltr_yandex_"))) / "yandex_propensities.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"\nplot saved to {out}")
    return curves


if __name__ == "__main__":
    main()
