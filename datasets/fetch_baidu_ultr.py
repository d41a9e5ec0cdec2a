"""Fetch Baidu-ULTR: Hager et al.'s preprocessed tables (Hugging Face) or check the original release.

Usage::

    # Preprocessed reranking data (Hager et al., SIGIR 2024), CC BY-NC 4.0:
    python datasets/fetch_baidu_ultr.py hf uva-mlm-ctr DEST --list
    python datasets/fetch_baidu_ultr.py hf uva-mlm-ctr DEST --include "parts/validation*"
    python datasets/fetch_baidu_ultr.py hf baidu-mlm-ctr DEST --include "parts/*"

    # Original release (Zou et al., NeurIPS 2022; WSDM Cup 2023): manual step
    python datasets/fetch_baidu_ultr.py original DEST

``hf`` lists the data set's files through the Hugging Face API, downloads
the selected ones and checks each against the SHA-256 the Hub publishes for
it (the Git LFS object id; small non-LFS files are checked by their git blob
hash). Repositories: ``uva-mlm-ctr`` = philipphager/baidu-ultr_uva-mlm-ctr,
``baidu-mlm-ctr`` = philipphager/baidu-ultr_baidu-mlm-ctr, ``606k`` =
philipphager/baidu-ultr-606k. The click parts are large (embeddings); start
with ``--list``. Read the downloaded feather/parquet files with
``ltr.datasets.load_baidu_ultr_sessions`` after converting them to the
session-per-row layout with the repository's loader script
(``datasets.load_dataset(<repo>, name="clicks"|"annotations", ...)``, then
``.to_parquet(...)``) -- or pass the ``datasets.Dataset`` directly.

``original``: the starter kit (github.com/ChuXiaokai/baidu_ultr_dataset)
states that public download was withdrawn and that the data is available
from the authors on request. Place the files you receive (``part-*.gz``,
``annotation_data_0522.txt``, ``unigram_dict_0510_tokens.txt``) in DEST; this
command checks the layout and records their SHA-256 in ``DEST/SHA256SUMS``
on the first run (none are published) and verifies them afterwards. Read
them with ``ltr.datasets.load_baidu_ultr_clicklog`` /
``load_baidu_ultr_annotations``.
"""
import argparse
import fnmatch
import json
from pathlib import Path
import sys
import urllib.error
import urllib.request

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _fetch import USER_AGENT, FetchError, download, git_blob_sha1, read_record, verify  # noqa: E402

REPOS = {
    "uva-mlm-ctr": "philipphager/baidu-ultr_uva-mlm-ctr",
    "baidu-mlm-ctr": "philipphager/baidu-ultr_baidu-mlm-ctr",
    "606k": "philipphager/baidu-ultr-606k",
}
API = "https://huggingface.co/api/datasets/{repo}/tree/{revision}?recursive=true"
RESOLVE = "https://huggingface.co/datasets/{repo}/resolve/{revision}/{path}"


def list_files(repo, revision="main", timeout=60):
    """[(path, size, sha256 or None, git blob sha1)] of a Hugging Face data set."""
    url = API.format(repo=repo, revision=revision)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            entries = json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, TimeoutError, ValueError) as exc:
        raise FetchError(
            f"could not list {repo} on the Hugging Face Hub ({getattr(exc, 'reason', exc)}). "
            f"Offline? Download the files by hand from https://huggingface.co/datasets/{repo}"
        ) from None
    out = []
    for e in entries:
        if e.get("type") != "file":
            continue
        lfs = e.get("lfs") or {}
        out.append((e["path"], int(lfs.get("size", e.get("size", 0))), lfs.get("oid"), e.get("oid")))
    return out


def fetch_hf(which, dest, include, list_only, revision="main"):
    """List or download files of a Hugging Face data set, checked against the Hub's SHA-256."""
    repo = REPOS.get(which, which)
    files = list_files(repo, revision)
    if list_only or not include:
        for path, size, sha, _ in files:
            print(f"{size / 1e6:12.1f} MB  {path}{'' if sha else '  (not LFS)'}")
        if not include and not list_only:
            print("select files with --include PATTERN (glob, repeatable)", file=sys.stderr)
        return
    chosen = [f for f in files if any(fnmatch.fnmatch(f[0], pat) for pat in include)]
    if not chosen:
        raise FetchError(f"no file of {repo} matches {include}; use --list")
    for path, size, sha, blob in chosen:
        target = Path(dest) / path
        url = RESOLVE.format(repo=repo, revision=revision, path=path)
        if sha:
            download(url, target, root=dest, expected_sha256=sha, expected_size=size,
                     source=f"Hugging Face LFS object id of {repo}/{path}")
        else:
            download(url, target, root=dest, source="recorded on first download")
            if blob and git_blob_sha1(target) != blob:
                raise FetchError(f"{target}: git blob hash differs from the Hub's {blob}")


def check_original(dest):
    """Check and record a manually obtained copy of the original release."""
    dest = Path(dest)
    parts = sorted(dest.glob("part-*.gz")) if dest.is_dir() else []
    others = [dest / n for n in ("annotation_data_0522.txt", "unigram_dict_0510_tokens.txt") if (dest / n).is_file()]
    if not parts and not others:
        raise FetchError(
            "no Baidu-ULTR files in "
            f"{dest}. The original release is no longer publicly downloadable; request it from the authors "
            "(see https://github.com/ChuXiaokai/baidu_ultr_dataset), put part-*.gz and annotation_data_0522.txt "
            "there and run this command again to record their checksums."
        )
    recorded = read_record(dest)
    for path in parts + others:
        verify(path, root=dest, source="recorded on first use")
    print(f"{len(parts)} click-log parts, {len(others)} other files checked ({len(recorded)} previously recorded)")


def main(argv=None):
    """Command line entry point; returns the exit code."""
    parser = argparse.ArgumentParser(description="Fetch or check Baidu-ULTR data.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    hf = sub.add_parser("hf", help="Hager et al.'s preprocessed tables from the Hugging Face Hub")
    hf.add_argument("which", help=f"one of {sorted(REPOS)} or a full owner/name")
    hf.add_argument("dest", type=Path)
    hf.add_argument("--include", action="append", default=[], help="glob of repository paths to download")
    hf.add_argument("--list", action="store_true", help="only list the files")
    hf.add_argument("--revision", default="main")
    orig = sub.add_parser("original", help="check a manually obtained copy of the original release")
    orig.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "hf":
            fetch_hf(args.which, args.dest, args.include, args.list, args.revision)
        else:
            check_original(args.dest)
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
