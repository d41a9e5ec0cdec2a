"""Download, checksum and unpack helpers shared by the ``fetch_*.py`` scripts.

Standard library only (urllib, hashlib, zipfile, tarfile), so the scripts run
before anything else is installed.

Checksums
---------
* Where a SHA-256 has been published, :func:`verify` checks against it and
  the script names the source next to the value.
* Every file verified or downloaded is also recorded in ``SHA256SUMS``
  (``sha256sum`` format) in the destination directory. A later run compares
  against that record, so a file that changes after the first download is
  detected even when no published value exists ("record on first download,
  verify after").
"""
import hashlib
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

CHUNK = 1 << 20
RECORD = "SHA256SUMS"
USER_AGENT = "ltr-fetch/1 (+https://github.com/; learning-to-rank data fetcher)"


class FetchError(RuntimeError):
    """A download, checksum or unpack step failed; the message says what to do."""


def sha256_file(path, *, progress=False):
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    path = Path(path)
    total = path.stat().st_size
    done = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(CHUNK)
            if not block:
                break
            h.update(block)
            done += len(block)
            if progress and total > 64 * CHUNK and done % (256 * CHUNK) < CHUNK:
                _say(f"  hashing {path.name}: {done / total:5.1%}", end="\r")
    if progress and total > 64 * CHUNK:
        _say(" " * 60, end="\r")
    return h.hexdigest()


def git_blob_sha1(path):
    """SHA-1 of ``path`` as git stores it (``blob <size>\\0`` + content)."""
    path = Path(path)
    h = hashlib.sha1()
    h.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _say(msg, end="\n"):
    print(msg, end=end, file=sys.stderr, flush=True)


def read_record(directory):
    """{relative name: sha256} from ``directory/SHA256SUMS`` (empty if absent)."""
    record = Path(directory) / RECORD
    out = {}
    if record.is_file():
        for line in record.read_text().splitlines():
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                out[parts[1].lstrip("*")] = parts[0]
    return out


def write_record(directory, name, digest):
    """Add or replace ``name`` in ``directory/SHA256SUMS``."""
    record = read_record(directory)
    record[name] = digest
    lines = [f"{d}  {n}" for n, d in sorted(record.items())]
    (Path(directory) / RECORD).write_text("\n".join(lines) + "\n")


def verify(path, *, root, expected_sha256=None, source=None):
    """Check ``path`` against a published value and the local record; record it.

    Parameters
    ----------
    path : Path
        The file.
    root : Path
        Directory holding ``SHA256SUMS``; the file is recorded under its path
        relative to ``root``.
    expected_sha256 : str, optional
        Published value.
    source : str, optional
        Where the published value comes from (quoted in errors).

    Returns
    -------
    digest : str
    """
    path = Path(path)
    root = Path(root)
    try:
        name = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:  # a file outside the destination (e.g. --archive): keyed by its name
        name = path.name
    digest = sha256_file(path, progress=True)
    if expected_sha256 is not None and digest != expected_sha256.lower():
        raise FetchError(
            f"{path}: SHA-256 {digest} does not match the published {expected_sha256}"
            + (f" ({source})" if source else "")
            + ". The download is corrupt or the file was changed upstream; delete it and retry, "
            "or check the data set's page."
        )
    recorded = read_record(root).get(name)
    if recorded is not None and recorded != digest:
        raise FetchError(
            f"{path}: SHA-256 {digest} differs from the value recorded when it was first fetched "
            f"({recorded}, in {root / RECORD}). The file changed since; delete it (and its line in "
            f"{RECORD}) to fetch it again."
        )
    if recorded is None:
        write_record(root, name, digest)
        how = "matches the published value" if expected_sha256 else "no published value; recorded for later runs"
        _say(f"  {name}: sha256 {digest} ({how})")
    else:
        _say(f"  {name}: sha256 OK")
    return digest


def download(url, dest, *, root, expected_sha256=None, expected_size=None, source=None, timeout=60):
    """Download ``url`` to ``dest`` (resumable by re-running), then :func:`verify` it.

    An existing complete file is verified instead of downloaded again. Network
    failures raise :class:`FetchError` with instructions for a manual download.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and (expected_size is None or dest.stat().st_size == expected_size):
        _say(f"{dest} exists; verifying")
        verify(dest, root=root, expected_sha256=expected_sha256, source=source)
        return dest
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    _say(f"downloading {url}\n  -> {dest}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = getattr(response, "status", 200)
            if offset and status != 206:
                offset = 0  # server ignored the range: start over
            total = response.headers.get("Content-Length")
            total = int(total) + offset if total is not None else expected_size
            mode = "ab" if offset else "wb"
            done = offset
            started = time.time()
            with open(part, mode) as out:
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    out.write(block)
                    done += len(block)
                    if total:
                        rate = (done - offset) / max(time.time() - started, 1e-6) / 1e6
                        _say(f"  {done / 1e6:9.1f} / {total / 1e6:.1f} MB ({rate:.1f} MB/s)", end="\r")
            _say("")
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(
            f"could not download {url}: {reason}.\n"
            f"If this machine is offline or the link moved, download the file by hand (see "
            f"datasets/README.md), then run this script again with --archive PATH."
        ) from None
    if expected_size is not None and part.stat().st_size != expected_size:
        raise FetchError(
            f"{part}: got {part.stat().st_size} bytes, expected {expected_size}; run again to resume"
        )
    part.replace(dest)
    verify(dest, root=root, expected_sha256=expected_sha256, source=source)
    return dest


def _safe_members(names, dest):
    dest = Path(dest).resolve()
    for name in names:
        target = (dest / name).resolve()
        if target != dest and dest not in target.parents:
            raise FetchError(f"archive member {name!r} would be written outside {dest}; refusing to unpack")


def unpack(archive, dest):
    """Unpack a zip, tar(.gz/.bz2/.xz) or rar archive into ``dest``."""
    archive = Path(archive)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    _say(f"unpacking {archive} -> {dest}")
    if name.endswith(".zip"):
        with zipfile.ZipFile(archive) as z:
            _safe_members(z.namelist(), dest)
            z.extractall(dest)
    elif name.endswith((".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz")):
        with tarfile.open(archive) as t:
            _safe_members(t.getnames(), dest)
            try:
                t.extractall(dest, filter="data")
            except TypeError:  # Python < 3.12 without the filter argument
                t.extractall(dest)
    elif name.endswith(".rar"):
        for tool, args in (("unrar", ["x", "-o+", str(archive), str(dest) + "/"]),
                           ("7z", ["x", "-y", f"-o{dest}", str(archive)]),
                           ("bsdtar", ["-xf", str(archive), "-C", str(dest)])):
            exe = shutil.which(tool)
            if exe:
                result = subprocess.run([exe] + args, capture_output=True, text=True)
                if result.returncode != 0:
                    raise FetchError(f"{tool} failed on {archive}:\n{result.stderr or result.stdout}")
                return dest
        raise FetchError(
            f"{archive} is a RAR archive and none of unrar, 7z or bsdtar (libarchive) is installed. "
            "Install one (e.g. 'apt-get install unar' / 'libarchive-tools' / 'p7zip-full') or unpack it by hand "
            f"into {dest}."
        )
    else:
        raise FetchError(f"do not know how to unpack {archive}")
    return dest


def check_files(root, expected, *, source):
    """Verify the unpacked files listed in ``expected`` ({relative path: sha256}) that exist."""
    root = Path(root)
    found = 0
    for rel, digest in expected.items():
        path = root / rel
        if path.is_file():
            verify(path, root=root, expected_sha256=digest, source=source)
            found += 1
    if not found:
        raise FetchError(f"none of the expected files ({', '.join(sorted(expected)[:4])}, ...) found under {root}")
    return found


def fetch_archive(spec, dest, *, archive=None, source=None, files=None, files_source=None, unpack_it=True,
                  check_unpacked=True):
    """Download (or take ``archive``), verify, unpack and check one data-set archive.

    ``spec`` has ``url`` (may be None when only a manual download exists),
    ``name`` and optionally ``size`` and ``sha256``.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    if archive is not None:
        archive = Path(archive)
        if not archive.is_file():
            raise FetchError(f"no such file: {archive}")
        verify(archive, root=dest, expected_sha256=spec.get("sha256"), source=source)
    else:
        if not spec.get("url"):
            raise FetchError(f"{spec['name']} cannot be downloaded automatically; pass --archive PATH")
        archive = download(spec["url"], dest / spec["name"], root=dest, expected_sha256=spec.get("sha256"),
                           expected_size=spec.get("size"), source=source)
    if unpack_it:
        unpack(archive, dest)
        if files and check_unpacked:
            check_files(dest, files, source=files_source or source)
    return archive
