"""The parse cache: round trips, invalidation, and writing only where asked."""
import os

import numpy as np
import pytest

from ltr.datasets import _cache, _svmlight, dump_svmlight, load_svmlight


@pytest.fixture
def svm_file(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    X[rng.random(X.shape) < 0.3] = 0
    path = tmp_path / "src" / "data.svm"
    path.parent.mkdir()
    dump_svmlight(X, rng.integers(0, 5, 300), path, qid=np.repeat(np.arange(30), 10))
    return path


def _entries(cache_dir):
    return sorted(p.name for p in cache_dir.iterdir()) if cache_dir.exists() else []


def test_round_trip_dense_and_sparse(svm_file, tmp_path):
    cache = tmp_path / "cache"
    for dense in (True, False):
        ref = load_svmlight(svm_file, dense=dense)
        first = load_svmlight(svm_file, dense=dense, cache_dir=cache)
        second = load_svmlight(svm_file, dense=dense, cache_dir=cache)
        for a, b, c in zip(ref, first, second):
            if hasattr(a, "toarray"):
                a, b, c = a.toarray(), b.toarray(), c.toarray()
            assert np.array_equal(a, b) and np.array_equal(a, c)
    assert len(_entries(cache)) == 2  # one entry per option set


def test_second_load_does_not_parse(svm_file, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    X, y, qid = load_svmlight(svm_file, cache_dir=cache)

    def boom(*args, **kwargs):
        raise AssertionError("parsed although the cache is valid")

    monkeypatch.setattr(_svmlight, "parse_svmlight_bytes", boom)
    X2, y2, q2 = load_svmlight(svm_file, cache_dir=cache)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and np.array_equal(qid, q2)


def test_invalidated_when_the_source_changes(svm_file, tmp_path):
    cache = tmp_path / "cache"
    X, _, _ = load_svmlight(svm_file, cache_dir=cache)
    # Same size, new content, same mtime: only the content hash can notice.
    stat = svm_file.stat()
    data = bytearray(svm_file.read_bytes())
    i = data.index(b"1:") + 2
    data[i:i + 1] = b"7" if data[i:i + 1] != b"7" else b"8"
    svm_file.write_bytes(bytes(data))
    os.utime(svm_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    X2, _, _ = load_svmlight(svm_file, cache_dir=cache)
    assert not np.array_equal(X, X2)
    assert np.array_equal(X2, load_svmlight(svm_file)[0])
    # Touching the file (new mtime) also re-parses and replaces the single entry.
    os.utime(svm_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    X3, _, _ = load_svmlight(svm_file, cache_dir=cache)
    assert np.array_equal(X2, X3)
    assert len(_entries(cache)) == 1


def test_corrupt_entry_is_rebuilt(svm_file, tmp_path):
    cache = tmp_path / "cache"
    load_svmlight(svm_file, cache_dir=cache)
    entry = cache / _entries(cache)[0]
    (entry / "meta.json").write_text("{not json")
    X, _, _ = load_svmlight(svm_file, cache_dir=cache)
    assert np.array_equal(X, load_svmlight(svm_file)[0])


def test_nothing_written_without_cache_dir(svm_file, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    before = sorted(os.listdir(svm_file.parent))
    load_svmlight(svm_file)
    load_svmlight(svm_file, dense=False)
    assert sorted(os.listdir(svm_file.parent)) == before
    assert os.listdir(home) == []


def test_cache_needs_a_path():
    with pytest.raises(TypeError, match="cache_dir needs a file path"):
        load_svmlight(b"1 1:1\n", cache_dir="/tmp/never-created-ltr-cache")
    assert not os.path.exists("/tmp/never-created-ltr-cache")


def test_stamp_reads_only_the_edges(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(b"a" * (3 << 20))
    s1 = _cache.source_stamp(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] = ord("b")  # middle byte: outside the hashed edges
    path.write_bytes(bytes(data))
    os.utime(path, ns=(s1["mtime_ns"], s1["mtime_ns"]))
    assert _cache.source_stamp(path) == s1  # documented limitation
    data[5] = ord("b")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(s1["mtime_ns"], s1["mtime_ns"]))
    assert _cache.source_stamp(path) != s1
