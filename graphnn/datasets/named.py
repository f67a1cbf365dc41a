"""Loading and verifying the named datasets (mnist, fashion-mnist): find each file, then read it and
check the SHA-256 of its uncompressed content in the same pass (once per load)."""

from graphnn.datasets.catalog import get_dataset
from graphnn.datasets.idx import read_idx
from graphnn.datasets.lookup import locate


def load_named(name, split, data_dir=None, report=None):
    """(images, labels, source) of ``split`` ('train' or 'test') of the named dataset, verified."""
    dataset = get_dataset(name)
    files = dataset.splits[split]
    found = locate(name, files, data_dir=data_dir, report=report)
    images, labels = (read_verified(dataset, file, found[file.name].path) for file in files)
    paths = [found[file.name].path for file in files]
    source = str(paths[0].parent) if paths[0].parent == paths[1].parent else ", ".join(map(str, paths))
    return images, labels, source


def verify_dataset(name, data_dir=None, report=None):
    """Find (or download) and verify every file of ``name``: a list of (DataFile, Found, array shape)."""
    found = locate(name, data_dir=data_dir, report=report)
    dataset = get_dataset(name)
    return [(file, found[file.name], read_verified(dataset, file, found[file.name].path).shape)
            for file in dataset.files]


def read_verified(dataset, file, path):
    """The array in ``path``, which must be ``file`` of ``dataset`` (its SHA-256 is checked while reading)."""
    return read_idx(path, sha256=file.sha256, expected=f"{dataset.name}'s {file.name}")
