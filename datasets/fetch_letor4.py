"""Download and check LETOR 4.0 MQ2007 / MQ2008 (supervised ranking, QueryLevelNorm).

Usage::

    python datasets/fetch_letor4.py mq2008 DEST
    python datasets/fetch_letor4.py mq2007 DEST --archive MQ2007.rar

The archives are RAR files: unpacking needs ``unrar``, ``7z`` or ``bsdtar``
(libarchive). Afterwards load a fold with
``ltr.datasets.load_letor_fold("DEST/MQ2008", fold=1)`` (``Fold1..Fold5``
directories; ``S1..S5.txt`` partitions work the same way).

Sources: Microsoft Research's LETOR 4.0 page links the archives through
OneDrive (no stable direct URL); XGBoost's examples mirror ``MQ2008.rar``
at the URL below. No checksum of the archives is published, so the first
download is recorded in ``DEST/SHA256SUMS`` and later runs verify against it.

The unpacked MQ2008 partitions are checked against SHA-256 values computed
by us on the copies in ``shared/datasets/mq2008`` (LETOR MQ2008
QueryLevelNorm S1..S5, taken byte for byte from the public repository
hurshprasad/active-learning-elo-letor; S4 and S5 are byte-identical to
dmlc/xgboost's ``demo/rank`` vali/test copies of Fold1). Under the standard
protocol Fold k's ``vali.txt`` and ``test.txt`` are single partitions, so
they are checked too. MQ2007 files are only recorded.
"""
import argparse
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fetch import FetchError, fetch_archive  # noqa: E402

ARCHIVES = {
    "mq2008": {
        "url": "https://s3-us-west-2.amazonaws.com/xgboost-examples/MQ2008.rar",
        "name": "MQ2008.rar",
    },
    "mq2007": {
        # Only reachable through the LETOR 4.0 page (OneDrive): manual download.
        "url": None,
        "name": "MQ2007.rar",
    },
}

#: SHA-256 of MQ2008 S1..S5 (QueryLevelNorm), computed on shared/datasets/mq2008.
MQ2008_PARTITIONS = {
    1: "f754c61c4a5e2a14b330af767f12d1e88bab336219ae4f6f91a774f8f68b078e",
    2: "2104c4f23f0119e0b0726bd80d1170822f37f63639879b0cf8fb43a301517903",
    3: "ec7a1b9db068aa6d5e8c4d42d5f7b2a727543b9c1f79c30bed746568fb87ed03",
    4: "971ab752d71d7b019c1c512d7ba4a05b1198bdeeda57a10dd69c62f3ac47dbb9",
    5: "ce33aa98a1cc42847008f2d4280c30a52b6c8491206893cbc97e412ccb97426b",
}
#: Standard protocol: (validation, test) partition of each fold.
_FOLD_VALI_TEST = {1: (4, 5), 2: (5, 1), 3: (1, 2), 4: (2, 3), 5: (3, 4)}


def mq2008_expected_files(prefix="MQ2008"):
    """{relative path: sha256} for the MQ2008 files whose content is known."""
    out = {}
    for k, digest in MQ2008_PARTITIONS.items():
        out[f"{prefix}/S{k}.txt"] = digest
    for fold, (vali, test) in _FOLD_VALI_TEST.items():
        out[f"{prefix}/Fold{fold}/vali.txt"] = MQ2008_PARTITIONS[vali]
        out[f"{prefix}/Fold{fold}/test.txt"] = MQ2008_PARTITIONS[test]
    return out


def main(argv=None):
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description="Download and check LETOR 4.0 MQ2007 / MQ2008.")
    parser.add_argument("which", choices=sorted(ARCHIVES))
    parser.add_argument("dest", type=Path, help="directory to unpack into")
    parser.add_argument("--archive", type=Path, help="use this .rar instead of downloading")
    parser.add_argument("--no-unpack", action="store_true", help="only download and record the archive")
    args = parser.parse_args(argv)
    files = mq2008_expected_files() if args.which == "mq2008" else None
    try:
        fetch_archive(ARCHIVES[args.which], args.dest, archive=args.archive,
                      source="recorded on first download (no published checksum)", files=files,
                      files_source="SHA-256 of shared/datasets/mq2008 (LETOR 4.0 MQ2008 QueryLevelNorm)",
                      unpack_it=not args.no_unpack)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("LETOR 4.0 page: https://www.microsoft.com/en-us/research/project/letor-learning-rank-information-retrieval/letor-4-0/",
              file=sys.stderr)
        return 1
    name = "MQ2008" if args.which == "mq2008" else "MQ2007"
    print(f"done: load with ltr.datasets.load_letor_fold({str(args.dest / name)!r}, fold=1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
