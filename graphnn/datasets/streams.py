"""Reading dataset files whose content may be gzip-compressed, with every failure as a DataError.

A file is gzip when it starts with the gzip magic ``1f 8b``, whatever its name; otherwise it is read raw.
Checksums are always of the *uncompressed* content, since the same data gzips to different bytes.
"""

import gzip
import hashlib
import io
import zipfile
import zlib
from contextlib import contextmanager

from graphnn.errors import DataError
from graphnn.io.regular import require_regular_file

GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20


@contextmanager
def reading(name):
    """Turn the errors of opening, decompressing and parsing ``name`` into one DataError naming it."""
    try:
        yield
    except DataError as error:
        raise error.located(file=str(name)) from None
    except (OSError, EOFError, ValueError, zlib.error, zipfile.BadZipFile,
            NotImplementedError, RuntimeError) as error:  # zipfile: unsupported method, encrypted member
        raise DataError(f"cannot read: {error}", file=str(name)) from None


def is_gzip(head):
    return head[:2] == GZIP_MAGIC


def open_content(source):
    """A binary stream of the uncompressed content of ``source``: a path, or bytes already in memory."""
    if isinstance(source, (bytes, bytearray)):
        raw = io.BytesIO(source)
        return gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip(source) else raw
    with open(source, "rb") as probe:
        head = probe.read(2)
    return gzip.open(source, "rb") if is_gzip(head) else open(source, "rb")


def read_exact(stream, count, what):
    """Exactly ``count`` bytes from ``stream``, or a DataError saying the file is truncated."""
    data = stream.read(count)
    if len(data) != count:
        raise DataError(f"truncated: expected {count} bytes of {what}, found {len(data)}")
    return data


def content_sha256(source, max_bytes, name):
    """SHA-256 (hex) and size of the uncompressed content of ``source`` (a path or bytes, called ``name`` in
    errors); refuses content longer than ``max_bytes``."""
    digest, size = hashlib.sha256(), 0
    if not isinstance(source, (bytes, bytearray)):
        require_regular_file(source, DataError)
    with reading(name), open_content(source) as stream:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise DataError(f"content is larger than the expected {max_bytes} bytes")
            digest.update(chunk)
    return digest.hexdigest(), size


def stored_length(path):
    """The uncompressed length the file at ``path`` holds, without reading it: ``(length, modulus)``.

    Raw files: their size, modulus None. Gzip files: the length their trailer records, which is only
    kept modulo 2**32, so ``modulus`` is 2**32.
    """
    with open(path, "rb") as handle:
        head = handle.read(2)
        if not is_gzip(head):
            return handle.seek(0, 2), None
        if handle.seek(0, 2) < 18:
            raise DataError("truncated gzip file (shorter than a gzip header and trailer)")
        handle.seek(-4, 2)
        return int.from_bytes(handle.read(4), "little"), 2**32


def read_into(stream, buffer, what):
    """Fill ``buffer`` (a writable array or memoryview) from ``stream`` in chunks; DataError if it runs short."""
    view = memoryview(buffer).cast("B")
    filled = 0
    while filled < len(view):
        count = stream.readinto(view[filled:filled + CHUNK])
        if not count:
            raise DataError(f"truncated: expected {len(view)} bytes of {what}, found {filled}")
        filled += count
