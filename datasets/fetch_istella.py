"""Download and check the Istella learning-to-rank data sets (Istella LETOR, Istella-S, Istella-X).

Usage::

    python datasets/fetch_istella.py s DEST        # Istella-S LETOR (sample, ~450 MB)
    python datasets/fetch_istella.py letor DEST    # Istella LETOR ("full", ~1.3 GB)
    python datasets/fetch_istella.py x DEST        # Istella-X (~4.7 GB)
    python datasets/fetch_istella.py s DEST --archive istella-s-letor.tar.gz

Unpacked layouts and how to load them:

* ``s``: ``DEST/sample/{train,vali,test}.txt`` -> ``load_letor_fold("DEST/sample")``
* ``letor``: ``DEST/full/{train,test}.txt`` (no validation file) ->
  ``load_letor_fold("DEST/full")`` (``fold.valid`` is None)
* ``x``: ``DEST/{train,vali,test}.txt`` -> ``load_letor_fold("DEST")``

Checksums: archive SHA-256 and sizes from TensorFlow Datasets'
``tensorflow_datasets/ranking/istella/checksums.tsv`` (commit
90b66237ad09), which agree with rjagerman/pytorchltr's
``pytorchltr/datasets/svmrank/istella*.py``; the unpacked files' SHA-256
from pytorchltr. Not re-computed by us (no copy available offline).
"""
import argparse
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fetch import FetchError, fetch_archive  # noqa: E402

SOURCE = "TFDS ranking/istella/checksums.tsv and rjagerman/pytorchltr"

ARCHIVES = {
    "letor": {
        "url": "http://library.istella.it/dataset/istella-letor.tar.gz",
        "name": "istella-letor.tar.gz",
        "size": 1288401248,
        "sha256": "d45899d9a6a0e48afb250aac7ee3dc50e73e263687f15761d754515cd8284e0b",
    },
    "s": {
        "url": "http://library.istella.it/dataset/istella-s-letor.tar.gz",
        "name": "istella-s-letor.tar.gz",
        "size": 472129615,
        "sha256": "41b21116a3650cc043dbe16f02ee39f4467f9405b37fdbcc9a6a05e230a38981",
    },
    "x": {
        "url": "http://quickrank.isti.cnr.it/istella-datasets-mirror/istella-X.tar.gz",
        "name": "istella-X.tar.gz",
        "size": 4743657398,
        "sha256": "e67be60d1c6a68983a669e4de9df2c395914717b2017cb3b68a97eb89f2ea763",
    },
}

FILES = {
    "letor": {
        "full/train.txt": "8b08ca4c36281e408bfa026303461a6162398a1eec22fb79db0709c76bf6d189",
        "full/test.txt": "4b34523af8e030718f0216bcae0a35caee1e34e5198ff3e76c08a75db61aac65",
    },
    "s": {
        "sample/train.txt": "5cda4187b88b597ca6fa98d6cd3a6d7551ba69ffff700eae63a59fbc8af385b8",
        "sample/test.txt": "2cd1a4f46fa21ea2489073979b5e5913146d1e451f1d6e268bc4e472d39da5d7",
        "sample/vali.txt": "f225dd95772fa65dc685351ff2643945fbd9a9c0e874aa1c538d485595e7c890",
    },
    "x": {
        "train.txt": "710378b3536a2156ae0747f0683e2e811e992e7a12014408ff93fbb1ea5a3340",
        "test.txt": "c2b808bae0ccbc40df9519b6a3906a297c8207eb273304c22d506a8612fa9eef",
        "vali.txt": "9de516e2e0dfd0e0a29cf4b233df8e22f2b547f260f7881c7dc1c7237101ee7e",
    },
}

LOAD_HINT = {"letor": "full", "s": "sample", "x": ""}


def main(argv=None):
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description="Download and check Istella LETOR / Istella-S / Istella-X.")
    parser.add_argument("which", choices=sorted(ARCHIVES))
    parser.add_argument("dest", type=Path, help="directory to unpack into")
    parser.add_argument("--archive", type=Path, help="use this .tar.gz instead of downloading")
    parser.add_argument("--no-unpack", action="store_true", help="only download and verify the archive")
    parser.add_argument("--skip-file-check", action="store_true", help="do not hash the unpacked files")
    args = parser.parse_args(argv)
    try:
        fetch_archive(ARCHIVES[args.which], args.dest, archive=args.archive, source=SOURCE,
                      files=FILES[args.which], files_source="rjagerman/pytorchltr",
                      unpack_it=not args.no_unpack, check_unpacked=not args.skip_file_check)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("Data set page: http://quickrank.isti.cnr.it/istella-dataset/", file=sys.stderr)
        return 1
    where = args.dest / LOAD_HINT[args.which]
    print(f"done: load with ltr.datasets.load_letor_fold({str(where)!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
