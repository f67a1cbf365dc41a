"""NumPy ``.npz`` archives: arrays ``x`` and ``y`` (the file is one split), or ``x_train``, ``y_train``,
``x_test``, ``y_test``. Read with ``allow_pickle=False``: object arrays are refused, never unpickled."""

import math
import tokenize
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from graphnn.datasets.idx import MAX_DATA_BYTES
from graphnn.datasets.streams import reading
from graphnn.errors import DataError
from graphnn.io.regular import require_regular_file


def read_npz(path, split):
    """(samples, labels) of ``split`` from the .npz file ``path``."""
    with open_archive(path) as archive:
        return tuple(load_member(archive, key) for key in pick_keys(set(archive.files), split))


def read_samples_npz(path):
    """The array ``x`` of the .npz file ``path``, or its only array (samples without labels)."""
    with open_archive(path) as archive:
        names = archive.files
        if "x" not in names and len(names) != 1:
            raise DataError(f"has arrays {sorted(names)}; expected x, or a single array")
        return load_member(archive, "x" if "x" in names else names[0])


@contextmanager
def open_archive(path):
    """The open .npz archive at ``path``; errors become DataError naming the file."""
    path = Path(path)
    with reading(path):
        require_regular_file(path, DataError)
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError("holds a single array (.npy); expected a .npz archive")
        with archive:
            yield archive


def load_member(archive, key):
    """One array of an open archive. Its .npy header is read first and checked against the member's
    real length, so a header that claims more than the file holds allocates nothing."""
    members = {info.filename: info for info in archive.zip.infolist()}
    name = f"{key}.npy" if f"{key}.npy" in members else key
    size = members[name].file_size
    if size > MAX_DATA_BYTES:
        raise DataError(f"array {key!r} is {size} bytes; the limit is {MAX_DATA_BYTES}")
    with archive.zip.open(name) as stream:
        try:
            version = np.lib.format.read_magic(stream)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(stream)
        except (ValueError, SyntaxError, TypeError, EOFError, OSError, tokenize.TokenError, zipfile.BadZipFile,
                zlib.error) as error:  # the ways numpy and zipfile report a bad header
            raise DataError(f"array {key!r} has a bad .npy header: {error}") from None
        header_length = stream.tell()
    if dtype.hasobject:
        raise DataError(f"array {key!r} holds Python objects; only numbers are read")
    claimed = math.prod(shape) * dtype.itemsize
    if header_length + claimed != size:
        raise DataError(f"array {key!r} claims shape {shape} ({claimed:,} bytes) but its member holds "
                        f"{size - header_length:,} bytes of data")
    return archive[key]


def pick_keys(names, split):
    """('x', 'y') or ('x_<split>', 'y_<split>'), whichever the archive holds."""
    for keys in (("x", "y"), (f"x_{split}", f"y_{split}")):
        if set(keys) <= names:
            return keys
    raise DataError(f"has arrays {sorted(names)}; expected x and y, or x_{split} and y_{split}")
