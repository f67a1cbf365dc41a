"""IDX files (the MNIST format), raw or gzip-compressed.

Layout, big-endian: two zero bytes, a dtype code, the number of dimensions d, d uint32 sizes, then the
values in C order. MNIST's training images::

    00 00 08 03   00 00 ea 60   00 00 00 1c   00 00 00 1c   <60000*28*28 uint8 values>
    magic: uint8, 3 dims        60000         28            28

Everything is checked before the data is allocated: the magic, the dtype code, 1 <= d <= 9, every size
>= 1, a total under MAX_DATA_BYTES, and that the file holds exactly that much (for gzip, the length its
trailer records). The SHA-256 of the uncompressed bytes is computed in the same pass.
"""

import hashlib
import math
import re
import struct
from pathlib import Path

import numpy as np

from graphnn.datasets.streams import open_content, read_exact, read_into, reading, stored_length
from graphnn.errors import DataError
from graphnn.io.regular import require_regular_file
from graphnn.model.limits import MAX_DIMENSIONS

DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
MAX_IDX_DIMENSIONS = MAX_DIMENSIONS + 1  # the sample dimension and a sample's own
MAX_DATA_BYTES = 2**31  # one data file, uncompressed


def read_idx(path, sha256=None, expected="the expected file"):
    """The array stored in the IDX file ``path`` (raw or .gz), read-only, in native byte order.

    With ``sha256``, the uncompressed content must have that SHA-256 (hex), else DataError; ``expected``
    names the file it should be, for that message.
    """
    path = Path(path)
    digest = hashlib.sha256()
    with reading(path):
        require_regular_file(path, DataError)
        length, modulus = stored_length(path)
        with open_content(path) as stream:
            header = read_exact(stream, 4, "IDX header")
            dtype, ndim = parse_magic(header)
            sizes_bytes = read_exact(stream, 4 * ndim, "IDX dimension sizes")
            shape = struct.unpack(f">{ndim}I", sizes_bytes)
            nbytes = data_bytes(shape, dtype)
            check_length(len(header) + len(sizes_bytes) + nbytes, length, modulus)
            data = np.empty(nbytes, np.uint8)
            read_into(stream, data, f"data for shape {shape}")
            if stream.read(1):
                raise DataError(f"has bytes after the {nbytes} bytes of data its header declares")
    digest.update(header)
    digest.update(sizes_bytes)
    digest.update(data)
    if sha256 is not None and digest.hexdigest() != sha256:
        raise DataError(f"SHA-256 of the uncompressed content is {digest.hexdigest()}, but {expected} has "
                        f"{sha256}: a damaged or different file; delete it or supply a good copy",
                        file=str(path))
    array = data.view(dtype).reshape(shape)
    if not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
    array.flags.writeable = False
    return array


def parse_magic(header):
    """(dtype, number of dimensions) from the 4-byte magic; DataError saying what was expected."""
    if header[:2] != b"\x00\x00":
        raise DataError(f"not an IDX file: expected magic 00 00 <dtype> <ndim>, got {header.hex(' ')}")
    if header[2] not in DTYPES:
        codes = ", ".join(f"0x{code:02x}" for code in DTYPES)
        raise DataError(f"unknown IDX dtype code 0x{header[2]:02x}; expected one of {codes}")
    if not 1 <= header[3] <= MAX_IDX_DIMENSIONS:
        raise DataError(f"IDX header declares {header[3]} dimensions; expected 1 to {MAX_IDX_DIMENSIONS}")
    return DTYPES[header[2]], header[3]


def data_bytes(shape, dtype):
    """Bytes of data that ``shape`` declares; DataError for a zero size or a total over MAX_DATA_BYTES."""
    for axis, size in enumerate(shape):
        if size < 1:
            raise DataError(f"IDX dimension {axis} has size {size}; expected >= 1")
    total = math.prod(shape) * dtype.itemsize
    if total > MAX_DATA_BYTES:
        raise DataError(f"IDX header declares shape {shape}, {total} bytes; the limit is {MAX_DATA_BYTES}")
    return total


def check_length(expected, length, modulus):
    """The file's real length (``stored_length``) must be the length its header declares."""
    if modulus is None and length != expected:
        raise DataError(f"header declares {expected} bytes in all but the file has {length} "
                        f"({'truncated' if length < expected else 'extra bytes at the end'})")
    if modulus is not None and length != expected % modulus:
        raise DataError(f"header declares {expected} bytes in all but the gzip trailer records "
                        f"{length} (truncated or damaged)")


IDX_NAME = re.compile(r"^(train|t10k|test)-(images|labels)-idx\d-ubyte(\.gz)?$")
IDX_PREFIXES = {"train": ("train",), "test": ("t10k", "test")}


def read_idx_folder(folder, split):
    """(images, labels) of ``split`` from a folder of IDX files named like MNIST's, e.g.
    ``train-images-idx3-ubyte[.gz]`` and ``t10k-labels-idx1-ubyte[.gz]`` (``test-`` also accepted)."""
    folder = Path(folder)
    pair = []
    for kind in ("images", "labels"):
        matches = sorted(entry for entry in folder.iterdir() if entry.is_file() and (m := IDX_NAME.match(entry.name))
                         and m[1] in IDX_PREFIXES[split] and m[2] == kind)
        if len(matches) != 1:
            found = ", ".join(entry.name for entry in matches) or "none"
            raise DataError(f"expected one IDX file of {split} {kind}, named like "
                            f"{IDX_PREFIXES[split][0]}-{kind}-idx{3 if kind == 'images' else 1}-ubyte[.gz]; "
                            f"found {found}", file=str(folder))
        pair.append(read_idx(matches[0]))
    return tuple(pair)
