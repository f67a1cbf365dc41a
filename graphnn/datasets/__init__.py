"""graphnn's datasets: readers (IDX, .mat, .npz), the named datasets mnist and fashion-mnist (found,
downloaded and verified by SHA-256), splits kept as uint8 in memory, and wrap-around shuffled batches.

    split = load_split({"dataset": "mnist", "split": "train"}, data_dir="~/data")
    batcher = Batcher(split, batch_size=100, seed=0)
    batch = batcher.next()          # {"x": (100, 28, 28) uint8, "y": (100,) int64}

Every failure is a ``graphnn.errors.DataError`` that names the file and what was expected.
"""

from graphnn.datasets.batcher import Batcher
from graphnn.datasets.catalog import DATASETS, get_dataset
from graphnn.datasets.idx import read_idx, read_idx_folder
from graphnn.datasets.lookup import cache_root, locate
from graphnn.datasets.matfile import read_mat
from graphnn.datasets.named import load_named, verify_dataset
from graphnn.datasets.npzfile import read_npz
from graphnn.datasets.split import Split, load_split


def load(name, split="train", data_dir=None, report=None):
    """``(x, y)`` of a named dataset's split: images (N, 28, 28) uint8 and class indices (N,) int64, found,
    downloaded and verified as ``graphnn run`` finds them (``data_dir`` first)."""
    data = load_split({"dataset": name, "split": split}, data_dir=data_dir, report=report)
    return data.x, data.y


__all__ = ["DATASETS", "Batcher", "Split", "cache_root", "get_dataset", "load", "load_named", "load_split", "locate",
           "read_idx", "read_idx_folder", "read_mat", "read_npz", "verify_dataset"]
