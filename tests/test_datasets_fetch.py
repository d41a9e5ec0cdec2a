"""Fetch helpers (datasets/_fetch.py) offline: file:// downloads, checksums, records, unpacking."""
import hashlib
import importlib.util
import io
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "datasets"))
fetch = importlib.import_module("_fetch")


def _load_script(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "datasets" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def archive(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    path = src / "data.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("Fold1/train.txt", "1 qid:1 1:1\n")
        z.writestr("Fold1/vali.txt", "0 qid:2 1:2\n")
    return path


def test_download_verify_and_record(tmp_path, archive):
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    dest = tmp_path / "dest"
    out = fetch.download(archive.as_uri(), dest / "data.zip", root=dest, expected_sha256=digest,
                         expected_size=archive.stat().st_size)
    assert out.read_bytes() == archive.read_bytes()
    assert fetch.read_record(dest) == {"data.zip": digest}
    # a second run verifies instead of downloading
    fetch.download("file:///nonexistent", dest / "data.zip", root=dest, expected_sha256=digest,
                   expected_size=archive.stat().st_size)


def test_published_checksum_mismatch(tmp_path, archive):
    dest = tmp_path / "dest"
    with pytest.raises(fetch.FetchError, match="does not match the published"):
        fetch.download(archive.as_uri(), dest / "data.zip", root=dest, expected_sha256="0" * 64, source="test")


def test_record_on_first_download_then_verify(tmp_path, archive):
    dest = tmp_path / "dest"
    fetch.download(archive.as_uri(), dest / "data.zip", root=dest)  # nothing published: recorded
    assert "data.zip" in fetch.read_record(dest)
    (dest / "data.zip").write_bytes(b"changed")
    with pytest.raises(fetch.FetchError, match="differs from the value recorded"):
        fetch.verify(dest / "data.zip", root=dest)


def test_offline_message(tmp_path):
    with pytest.raises(fetch.FetchError, match="download the file by hand"):
        fetch.download("http://nonexistent.invalid/data.zip", tmp_path / "x.zip", root=tmp_path, timeout=5)


def test_unpack_and_check_files(tmp_path, archive):
    dest = tmp_path / "dest"
    fetch.unpack(archive, dest)
    assert (dest / "Fold1" / "train.txt").read_text() == "1 qid:1 1:1\n"
    expected = {"Fold1/train.txt": hashlib.sha256(b"1 qid:1 1:1\n").hexdigest(), "Fold9/x.txt": "0" * 64}
    assert fetch.check_files(dest, expected, source="test") == 1
    with pytest.raises(fetch.FetchError, match="does not match"):
        fetch.check_files(dest, {"Fold1/vali.txt": "1" * 64}, source="test")


def test_unpack_refuses_path_traversal(tmp_path):
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as t:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        t.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(fetch.FetchError, match="outside"):
        fetch.unpack(bad, tmp_path / "dest")
    assert not (tmp_path / "escape.txt").exists()


def test_scripts_with_local_archive(tmp_path, archive, capsys):
    mslr = _load_script("fetch_mslr")
    # wrong archive for the published checksum: clean failure, exit code 1
    assert mslr.main(["10k", str(tmp_path / "m"), "--archive", str(archive)]) == 1
    assert "does not match the published" in capsys.readouterr().err
    letor4 = _load_script("fetch_letor4")
    files = letor4.mq2008_expected_files()
    assert files["MQ2008/Fold1/test.txt"] == letor4.MQ2008_PARTITIONS[5]
    assert files["MQ2008/Fold3/vali.txt"] == letor4.MQ2008_PARTITIONS[1]
    yahoo = _load_script("fetch_yahoo")
    assert yahoo.main([str(tmp_path / "y")]) == 1
    assert "manual download" in capsys.readouterr().err


def test_mq2008_partition_checksums(shared_datasets):
    letor4 = _load_script("fetch_letor4")
    for k, digest in letor4.MQ2008_PARTITIONS.items():
        assert hashlib.sha256((shared_datasets / "mq2008" / f"S{k}.txt").read_bytes()).hexdigest() == digest
