"""MNIST for the contenders other than graphnn, read straight from the IDX files as uint8 arrays
(graphnn reads the same folder through its own ``graphnn.datasets.load_split``).

    train, test = load_mnist()       # each a Split with .x (N, 28, 28) uint8, .y (N,) uint8, .num_classes

The folder is ``$GRAPHNN_DATA/mnist``, else ``shared/data/mnist`` beside or inside the repository, else
Debian's ``/usr/share/datasets/mnist``.
"""

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


@dataclass
class Split:
    x: np.ndarray  # (N, 28, 28) uint8
    y: np.ndarray  # (N,) uint8 class indices
    num_classes: int = 10


def _folders():
    if os.environ.get("GRAPHNN_DATA"):
        yield Path(os.environ["GRAPHNN_DATA"]) / "mnist"
    yield REPO.parent / "shared" / "data" / "mnist"
    yield REPO / "shared" / "data" / "mnist"
    yield Path("/usr/share/datasets/mnist")


def _read_idx(path):
    """An IDX file (raw or .gz) as an array: magic (0, 0, type, ndim), ndim big-endian sizes, then data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        data = bytearray(stream.read())  # writable, so torch.from_numpy takes views of it
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def mnist_dir():
    """The first folder that holds the four MNIST IDX files (raw or .gz)."""
    for folder in _folders():
        if all((folder / name).exists() or (folder / (name + ".gz")).exists() for pair in FILES.values()
               for name in pair):
            return folder
    raise FileNotFoundError(f"MNIST files not found in: {', '.join(map(str, _folders()))}; "
                            "set GRAPHNN_DATA to a folder holding mnist/")


def _path(folder, name):
    return folder / name if (folder / name).exists() else folder / (name + ".gz")


def load_mnist():
    """(train Split, test Split) read from ``mnist_dir()``."""
    folder = mnist_dir()
    return tuple(Split(_read_idx(_path(folder, images)), _read_idx(_path(folder, labels)))
                 for images, labels in FILES.values())
