"""NumPy ``.npz`` archives: arrays ``x`` and ``y`` (the file is one split), or ``x_train``, ``y_train``,
``x_test``, ``y_test``. Read with ``allow_pickle=False``: object arrays are refused, never unpickled."""

from pathlib import Path

import numpy as np

from graphnn.datasets.idx import MAX_DATA_BYTES
from graphnn.datasets.streams import reading
from graphnn.errors import DataError


def read_npz(path, split):
    """(samples, labels) of ``split`` from the .npz file ``path``."""
    path = Path(path)
    with reading(path):
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise DataError("holds a single array (.npy); expected a .npz archive with x and y")
        with archive:
            keys = pick_keys(set(archive.files), split)
            members = {info.filename: info for info in archive.zip.infolist()}
            for key in keys:  # each member's declared length, before anything is allocated
                size = (members.get(f"{key}.npy") or members[key]).file_size
                if size > MAX_DATA_BYTES:
                    raise DataError(f"array {key!r} is {size} bytes; the limit is {MAX_DATA_BYTES}")
            return archive[keys[0]], archive[keys[1]]


def pick_keys(names, split):
    """('x', 'y') or ('x_<split>', 'y_<split>'), whichever the archive holds."""
    for keys in (("x", "y"), (f"x_{split}", f"y_{split}")):
        if set(keys) <= names:
            return keys
    raise DataError(f"has arrays {sorted(names)}; expected x and y, or x_{split} and y_{split}")
