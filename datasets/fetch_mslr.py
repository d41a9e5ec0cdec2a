"""Download and check MSLR-WEB10K or MSLR-WEB30K (Microsoft Learning to Rank data sets).

Usage::

    python datasets/fetch_mslr.py 30k DEST            # download, verify, unzip into DEST
    python datasets/fetch_mslr.py 30k DEST --archive MSLR-WEB30K.zip   # use a file downloaded by hand

Afterwards::

    from ltr.datasets import load_letor_fold
    fold = load_letor_fold("DEST", fold=1, cache_dir="DEST/.cache")

Checksums: the SHA-256 and size of each zip are published in two independent
places that agree -- TensorFlow Datasets' ``tensorflow_datasets/ranking/
mslr_web/checksums.tsv`` (commit 90b66237ad09) and rjagerman/pytorchltr's
``pytorchltr/datasets/svmrank/mslr{10,30}k.py`` -- which also lists the
SHA-256 of every unpacked ``Fold*/{train,vali,test}.txt`` (checked here
too). They were not re-computed by us (no copy of the data was available
offline); a mismatch stops the script with a message.
"""
import argparse
from pathlib import Path
import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fetch import FetchError, fetch_archive  # noqa: E402

SOURCE = "TFDS ranking/mslr_web/checksums.tsv and rjagerman/pytorchltr"

ARCHIVES = {
    "10k": {
        "url": "https://api.onedrive.com/v1.0/shares/s!AtsMfWUz5l8nbOIoJ6Ks0bEMp78/root/content",
        "name": "MSLR-WEB10K.zip",
        "size": 1234144912,
        "sha256": "2902142ea33f18c59414f654212de5063033b707d5c3939556124b1120d3a0ba",
    },
    "30k": {
        "url": "https://api.onedrive.com/v1.0/shares/s!AtsMfWUz5l8nbXGPBlwD1rnFdBY/root/content",
        "name": "MSLR-WEB30K.zip",
        "size": 3849406307,
        "sha256": "08cb7977e1d5cbdeb57a9a2537a0923dbca6d46a76db9a6afc69e043c85341ae",
    },
}

# Unpacked files (from rjagerman/pytorchltr). Each partition appears in
# several folds, so equal hashes recur (e.g. Fold1/test = Fold2/vali = S5).
FILES = {
    "10k": {
        "Fold1/train.txt": "6eb3fae4e1186e1242a6520f53a98abdbcde5b926dd19a28e51239284b1d55dc",
        "Fold1/test.txt": "33fe002374a4fce58c4e12863e4eee74745d5672a26f3e4ddacc20ccfe7d6ba0",
        "Fold1/vali.txt": "e86fb3fe7e8a5f16479da7ce04f783ae85735f17f66016786c3ffc797dd9d4db",
        "Fold2/train.txt": "40e4a2fcc237d9c164cbb6a3f2fa91fe6cf7d46a419d2f73e21cf090285659eb",
        "Fold2/test.txt": "44add582ccd674cf63af24d3bf6e1074e87a678db77f00b44c37980a3010917a",
        "Fold2/vali.txt": "33fe002374a4fce58c4e12863e4eee74745d5672a26f3e4ddacc20ccfe7d6ba0",
        "Fold3/train.txt": "f13005ceb8de0db76c93b02ee4b2bded6f925097d3ab7938931e8d07aa72acd7",
        "Fold3/test.txt": "c0a5a3c6bd7790d0b4ff3d5e961d0c8c5f8ff149089ce492540fa63035801b7a",
        "Fold3/vali.txt": "44add582ccd674cf63af24d3bf6e1074e87a678db77f00b44c37980a3010917a",
        "Fold4/train.txt": "6c1677cf9b2ed491e26ac6b8c8ca7dfae9c1a375e2bce8cba6df36ab67ce5836",
        "Fold4/test.txt": "dc6083c24a5f0c03df3c91ad3eed7542694115b998acf046e51432cb7a22b848",
        "Fold4/vali.txt": "c0a5a3c6bd7790d0b4ff3d5e961d0c8c5f8ff149089ce492540fa63035801b7a",
        "Fold5/train.txt": "4249797a2f0f46bff279973f0fb055d4a78f67f337769eabd56e82332c044794",
        "Fold5/test.txt": "e86fb3fe7e8a5f16479da7ce04f783ae85735f17f66016786c3ffc797dd9d4db",
        "Fold5/vali.txt": "dc6083c24a5f0c03df3c91ad3eed7542694115b998acf046e51432cb7a22b848",
    },
    "30k": {
        "Fold1/train.txt": "40b8eee4d1221cf8205e81603441c1757dd024a3baac25a47756210b03c031d6",
        "Fold1/test.txt": "9a4668fd2615e6772d2e5c4d558d084b2daaf2405571eaf3e4d0526f4da096c7",
        "Fold1/vali.txt": "7647834b84c849a61e5cf3c999a2f72a4785613286fd972a5615e9fcb58f94d8",
        "Fold2/train.txt": "a6d12dc4cc8c2dd0743b58c49cad12bd0f6f1cbeda54b54a91e5b54e0b96e7ca",
        "Fold2/test.txt": "d192c023baebdae148d902d716aeebf3df2f2f1ce5aee12be4f0b8bb76a8c04a",
        "Fold2/vali.txt": "9a4668fd2615e6772d2e5c4d558d084b2daaf2405571eaf3e4d0526f4da096c7",
        "Fold3/train.txt": "3d0eb52a6702b2c48750a6de89e757cfac499c8ec1d38e3843cb531c059f2f74",
        "Fold3/test.txt": "ba2487a27c21dceea0b9afaadbb6b392d5f652eb0fb8649cbd201bb894c47c12",
        "Fold3/vali.txt": "d192c023baebdae148d902d716aeebf3df2f2f1ce5aee12be4f0b8bb76a8c04a",
        "Fold4/train.txt": "21e389656be3c2bfe92eb4fb898d2f30dc24990fc524aada7471b949f176778d",
        "Fold4/test.txt": "a7ba03d708ae6b21556a8a6859d52e37cc0dcb2cbff992c630ef6173bb02122a",
        "Fold4/vali.txt": "ba2487a27c21dceea0b9afaadbb6b392d5f652eb0fb8649cbd201bb894c47c12",
        "Fold5/train.txt": "a19da1799650b08c0dc3baaec6c590469ef1773148082e1a10b8504f2f5e9a8b",
        "Fold5/test.txt": "7647834b84c849a61e5cf3c999a2f72a4785613286fd972a5615e9fcb58f94d8",
        "Fold5/vali.txt": "a7ba03d708ae6b21556a8a6859d52e37cc0dcb2cbff992c630ef6173bb02122a",
    },
}


def main(argv=None):
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description="Download and check MSLR-WEB10K / MSLR-WEB30K.")
    parser.add_argument("which", choices=sorted(ARCHIVES))
    parser.add_argument("dest", type=Path, help="directory to unpack into (Fold1..Fold5 end up here)")
    parser.add_argument("--archive", type=Path, help="use this zip instead of downloading")
    parser.add_argument("--no-unpack", action="store_true", help="only download and verify the zip")
    parser.add_argument("--skip-file-check", action="store_true",
                        help="do not hash the unpacked files (several GB for 30k)")
    args = parser.parse_args(argv)
    spec = ARCHIVES[args.which]
    dest = args.dest
    try:
        fetch_archive(spec, dest, archive=args.archive, source=SOURCE, files=FILES[args.which],
                      files_source="rjagerman/pytorchltr", unpack_it=not args.no_unpack,
                      check_unpacked=not args.skip_file_check)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("Manual download: https://www.microsoft.com/en-us/research/project/mslr/", file=sys.stderr)
        return 1
    print(f"done: load with ltr.datasets.load_letor_fold({str(dest)!r}, fold=1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
