"""Check and unpack the Yahoo! Learning to Rank Challenge data (C14), downloaded by hand.

Yahoo distributes the data only through Yahoo Webscope after registration
and acceptance of its terms (non-commercial research use), so there is no
download URL to script:

1. Request "C14 - Yahoo! Learning to Rank Challenge" at
   https://webscope.sandbox.yahoo.com/catalog.php?datatype=c and download
   ``dataset.tgz``.
2. Run::

       python datasets/fetch_yahoo.py DEST --archive dataset.tgz

   It unpacks ``dataset.tgz`` (which contains ``ltrc_yahoo.tar.bz2``) and
   that inner archive into DEST, and checks that the six expected files are
   there: ``set1.{train,valid,test}.txt`` (699 features) and
   ``set2.{train,valid,test}.txt`` (700 features). ``--archive`` may also be
   ``ltrc_yahoo.tar.bz2`` itself.

No checksum is published; the archive and files are recorded in
``DEST/SHA256SUMS`` on the first run and verified on later runs.

Load a split (features are numbered from 1; give the width so that all
splits agree)::

    from ltr.datasets import load_svmlight
    X, y, qid = load_svmlight("DEST/set1.train.txt", n_features=699, cache_dir="DEST/.cache")
"""
import argparse
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fetch import FetchError, unpack, verify  # noqa: E402

EXPECTED = [f"set{s}.{part}.txt" for s in (1, 2) for part in ("train", "valid", "test")]


def _find_inner(dest):
    """The inner ``ltrc_yahoo.tar.bz2`` under ``dest``, if unpacked there."""
    for path in dest.rglob("ltrc_yahoo.tar.bz2"):
        return path
    return None


def main(argv=None):
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description="Check and unpack the Yahoo! LTR Challenge data (manual download).")
    parser.add_argument("dest", type=Path, help="directory to unpack into")
    parser.add_argument("--archive", type=Path, help="dataset.tgz or ltrc_yahoo.tar.bz2 downloaded from Webscope")
    args = parser.parse_args(argv)
    dest = args.dest
    try:
        if args.archive is None:
            missing = [n for n in EXPECTED if not any(dest.rglob(n))] if dest.is_dir() else EXPECTED
            if missing:
                raise FetchError(
                    "the Yahoo! LTR data needs a manual download (registration at Yahoo Webscope, "
                    "https://webscope.sandbox.yahoo.com/catalog.php?datatype=c, data set C14). "
                    "Download dataset.tgz, then run: python datasets/fetch_yahoo.py DEST --archive dataset.tgz"
                )
        else:
            if not args.archive.is_file():
                raise FetchError(f"no such file: {args.archive}")
            dest.mkdir(parents=True, exist_ok=True)
            verify(args.archive, root=dest, source="recorded on first use")
            unpack(args.archive, dest)
            inner = _find_inner(dest)
            if inner is not None and args.archive.name != "ltrc_yahoo.tar.bz2":
                verify(inner, root=dest, source="recorded on first use")
                unpack(inner, inner.parent)
        for name in EXPECTED:
            hits = list(dest.rglob(name))
            if not hits:
                raise FetchError(f"{name} not found under {dest} after unpacking")
            verify(hits[0], root=dest, source="recorded on first use")
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("done: e.g. ltr.datasets.load_svmlight(<path of set1.train.txt>, n_features=699)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
