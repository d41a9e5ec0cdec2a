"""A parse cache that only ever writes where the caller points it.

Each entry is one uncompressed ``.npy``-per-array directory::

    <cache_dir>/<source name>.<key>/
        meta.json        source path, options, stamp, array names
        <array>.npy      one file per array (np.load reads them at disk speed)

The *key* hashes the absolute source path, the reader and its options and the
cache format version, so different options never collide and a re-parse of
the same source overwrites its entry instead of piling up copies. The
*stamp* identifies the source's content cheaply: size, modification time
(ns) and the SHA-256 of its first and last MiB. A changed stamp means a
stale entry, which is re-parsed and replaced. (A same-size in-place edit of
the middle of a file that also restores the modification time would go
unnoticed; hashing the whole file would cost as much as parsing it.)

Entries are written to a temporary directory next to the final one and
renamed into place, so a crash never leaves a half-written entry behind.
"""
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

#: Bump when the layout or the meaning of cached arrays changes.
FORMAT_VERSION = 1
_EDGE = 1 << 20


def source_stamp(path):
    """Cheap identity of a file's content: size, mtime_ns, hash of its ends."""
    path = Path(path)
    st = path.stat()
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read(_EDGE))
        if st.st_size > 2 * _EDGE:
            f.seek(st.st_size - _EDGE)
        h.update(f.read(_EDGE))
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "edges_sha256": h.hexdigest()}


def entry_dir(cache_dir, source, kind, options):
    """Directory of the cache entry for ``source`` read by ``kind`` with ``options``."""
    source = Path(source).resolve()
    material = json.dumps(
        {"source": str(source), "kind": kind, "options": options, "version": FORMAT_VERSION},
        sort_keys=True, default=str,
    )
    key = hashlib.sha256(material.encode("utf-8")).hexdigest()[:16]
    return Path(cache_dir) / f"{source.name}.{key}"


def load(cache_dir, source, kind, options):
    """Cached arrays (dict) for ``source``, or None when absent or stale."""
    entry = entry_dir(cache_dir, source, kind, options)
    meta_path = entry / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return None
    if meta.get("version") != FORMAT_VERSION or meta.get("stamp") != source_stamp(source):
        return None
    arrays = {}
    for name in meta["arrays"]:
        arr_path = entry / f"{name}.npy"
        if not arr_path.is_file():
            return None
        arrays[name] = np.load(arr_path, allow_pickle=False)
    return arrays


def store(cache_dir, source, kind, options, arrays):
    """Write ``arrays`` as the cache entry for ``source`` (atomically replaced)."""
    entry = entry_dir(cache_dir, source, kind, options)
    entry.parent.mkdir(parents=True, exist_ok=True)
    stamp = source_stamp(source)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", dir=entry.parent))
    try:
        for name, arr in arrays.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
        meta = {
            "version": FORMAT_VERSION,
            "source": str(Path(source).resolve()),
            "kind": kind,
            "options": options,
            "stamp": stamp,
            "arrays": sorted(arrays),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
        if entry.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{entry.name}.old.", dir=entry.parent))
            os.replace(entry, old / "entry")
            os.replace(tmp, entry)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, entry)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return entry
