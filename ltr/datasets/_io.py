"""Reading whole files (plain or compressed) into a byte array, and writing.

The parsers work on one contiguous ``uint8`` array (``np.frombuffer`` on the
decompressed content), so this module's only job is to get the bytes there
with as few copies as possible and to name the source in error messages.
"""
import bz2
import gzip
import lzma
import os
from pathlib import Path

import numpy as np

#: Suffix -> opener for compressed files (read and write).
_COMPRESSORS = {".gz": gzip, ".bz2": bz2, ".xz": lzma, ".lzma": lzma}


def compression_of(path):
    """Compression module for a path by its suffix, or None for plain files."""
    return _COMPRESSORS.get(Path(path).suffix.lower())


def describe_source(source):
    """Human-readable name of a source for error messages."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return name
    return f"<{type(source).__name__}>"


def read_bytes(source):
    """Whole content of ``source`` as a read-only ``uint8`` array.

    Parameters
    ----------
    source : str, os.PathLike, bytes-like or binary file object
        A path (``.gz``, ``.bz2``, ``.xz``/``.lzma`` are decompressed by
        suffix), raw bytes, or an object with a ``read()`` method returning
        bytes.

    Returns
    -------
    buf : ndarray of uint8
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no such file: {path}")
        comp = compression_of(path)
        if comp is None:
            # One read straight into the array, no intermediate bytes object.
            return np.fromfile(path, dtype=np.uint8)
        with comp.open(path, "rb") as f:
            data = f.read()
        return np.frombuffer(data, dtype=np.uint8)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return np.frombuffer(source, dtype=np.uint8)
    if hasattr(source, "read"):
        data = source.read()
        if isinstance(data, str):
            raise TypeError(f"{describe_source(source)} is opened in text mode; open it in binary mode ('rb')")
        return np.frombuffer(data, dtype=np.uint8)
    raise TypeError(
        "expected a path, bytes or a binary file object, got " f"{type(source).__name__}"
    )


def iter_blocks(path, block_size):
    """Yield successive decompressed blocks (bytes) of a file, gz/bz2/xz aware."""
    comp = compression_of(path)
    opener = comp.open if comp is not None else open
    with opener(path, "rb") as f:
        while True:
            block = f.read(block_size)
            if not block:
                return
            yield block


def open_for_writing(path, compresslevel=9):
    """Binary writer for ``path``, compressing by suffix.

    gzip output has its header timestamp set to 0 and no file name, so the
    same content always gives the same bytes.
    """
    path = Path(path)
    comp = compression_of(path)
    if comp is gzip:
        raw = open(path, "wb")
        return _OwningGzip(raw, compresslevel)
    if comp is bz2:
        return bz2.open(path, "wb", compresslevel=compresslevel)
    if comp is lzma:
        return lzma.open(path, "wb")
    return open(path, "wb")


class _OwningGzip(gzip.GzipFile):
    """GzipFile with mtime 0 and no embedded name that closes its raw file."""

    def __init__(self, raw, compresslevel):
        self._raw = raw
        super().__init__(filename="", mode="wb", fileobj=raw, compresslevel=compresslevel, mtime=0)

    def close(self):
        try:
            super().close()
        finally:
            self._raw.close()


def line_of(buf, pos):
    """1-based line number and text of the line containing byte ``pos``."""
    pos = int(min(max(pos, 0), len(buf)))
    line_no = int(np.count_nonzero(buf[:pos] == 10)) + 1
    start = pos
    while start > 0 and buf[start - 1] != 10:
        start -= 1
    stop = pos
    n = len(buf)
    while stop < n and buf[stop] != 10:
        stop += 1
    text = bytes(buf[start:stop]).rstrip(b"\r")
    if len(text) > 160:
        text = text[:157] + b"..."
    return line_no, text.decode("utf-8", errors="replace")


__all__ = ["read_bytes", "iter_blocks", "open_for_writing", "describe_source", "line_of", "compression_of"]
