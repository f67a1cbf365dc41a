"""One split of a dataset in memory, and ``load_split``, which turns a model file's data section into one.

A relative data ``path`` is taken from the folder of the file that holds the model: the model file for
``graphnn check`` and ``graphnn run``, the bundle for ``graphnn test`` (``data_root``). A run writes its
bundle and snapshots with such paths re-expressed from the run folder (``rebased``), so that they still
name the same files.

    train = load_data(model, "train", data_dir=None)      # the model's train data, a Split

Samples stay as stored: uint8 images are not converted to float here (60000x28x28 uint8 is 47 MB, as
float32 188 MB); they are scaled per batch when fed (graphnn/train/feeding.py). Labels become class indices.
"""

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graphnn.errors import DataError

SPLITS = ("train", "test")
SECTIONS = ("train", "test")  # the model file's sections that name data
MAX_CLASSES = 1_000_000  # class indices at or above this are refused (and so never overflow int64)


@dataclass
class Split:
    """``x``: samples (N, ...), uint8 or float; ``y``: class indices (N,) int64; ``num_classes``; ``source``:
    where the data was found (a folder or file)."""

    x: np.ndarray
    y: np.ndarray
    num_classes: int
    source: str

    def __len__(self):
        return len(self.y)

    def head(self, count):
        """The first ``count`` samples (views, no copy)."""
        return Split(self.x[:count], self.y[:count], self.num_classes, self.source)


def load_split(spec, split=None, data_dir=None, root=None, report=None):
    """The Split a data section describes: ``{"dataset": "mnist"|"fashion-mnist"}`` or ``{"path": FILE}``,
    with optional ``"split"`` ('train'/'test'; default the ``split`` argument) and ``"limit"``.

    ``data_dir`` is looked in first for a named dataset (see lookup.py); a relative ``path`` is taken
    relative to ``root`` (the model file's folder; default the current one). ``report`` hears about
    downloads. Every failure is a DataError.
    """
    split = spec.get("split", split)
    if split not in SPLITS:
        raise DataError(f"split must be 'train' or 'test'; got {split!r}")
    if "dataset" in spec:
        from graphnn.datasets.catalog import get_dataset
        from graphnn.datasets.named import load_named

        x, y, source = load_named(spec["dataset"], split, data_dir=data_dir, report=report)
        result = make_split(x, y, source, get_dataset(spec["dataset"]).num_classes)
    elif "path" in spec:
        path = Path(root or ".") / spec["path"]
        result = make_split(*read_path(path, split), str(path))
    else:
        raise DataError("a data section needs 'dataset' (a named dataset) or 'path' (a file or folder)")
    limit = spec.get("limit")
    return result.head(limit) if limit else result


def data_root(model):
    """The folder a model's relative data paths are taken from: that of the file it was read from (the
    current folder for a model made in memory)."""
    return Path(model.file).parent if model.file else Path(".")


def missing_path(model, section, document_path=""):
    """A DataError when the ``path`` of ``section``'s data names nothing, else None: located in the model's
    file at ``{document_path}/{section}/data/path`` (``document_path``: where the model sits in its file,
    e.g. "/model" in a bundle)."""
    path = ((model.document.get(section) or {}).get("data") or {}).get("path")
    if path is None or (data_root(model) / path).exists():
        return None
    return DataError(f"no such file or folder: {data_root(model) / path}", file=model.file,
                     path=f"{document_path}/{section}/data/path")


def load_data(model, section, data_dir=None, report=None, document_path=""):
    """The Split that the model's ``section`` ("train" or "test") reads, with the split its schema names
    when the section names none. See ``load_split`` for ``data_dir`` and ``report``; a missing ``path`` is
    ``missing_path``'s DataError, and so is a train section without data (only Model.fit, given arrays,
    trains one)."""
    from graphnn.model.schema import TEST, TRAIN, with_defaults

    if "data" not in (model.document.get(section) or {}):
        raise DataError(f"the {section} section names no data to read; add its 'data' (a dataset or a path), "
                        "or give Model.fit the arrays", file=model.file, path=f"{document_path}/{section}")
    missing = missing_path(model, section, document_path)
    if missing is not None:
        raise missing
    from graphnn.datasets.transforms import register_root

    schema = {"train": TRAIN, "test": TEST}[section]["properties"]["data"]
    spec = with_defaults(model.document[section]["data"], schema)
    register_root(model)  # the data nodes' mean files are taken from the same folder
    return load_split(spec, data_dir=data_dir, root=data_root(model), report=report)


def data_sections(document):
    """The sections of a model document that name data: train, test and the test section's further sets."""
    test = document.get("test") or {}
    return [section for section in (document.get("train"), test, *test.get("also", ())) if section]


def rebased(model, folder):
    """``model`` as a file in ``folder`` holds it: each relative data path (and data node's mean file)
    re-expressed from ``folder`` so that it names the same file (``model`` itself when none changes)."""
    document, changed = json.loads(json.dumps(model.document)), False

    def moved(path):
        nonlocal changed
        if not isinstance(path, str) or Path(path).is_absolute():
            return path
        new = os.path.relpath(data_root(model) / path, folder)
        changed = changed or new != path
        return new

    for section in data_sections(document):
        if "path" in (section.get("data") or {}):
            section["data"]["path"] = moved(section["data"]["path"])
    for node in document["nodes"]:
        if node.get("op") == "data" and "mean_file" in (node.get("transform") or {}):
            node["transform"]["mean_file"] = moved(node["transform"]["mean_file"])
    if not changed:
        return model
    copied = copy.copy(model)
    copied.document = document
    return copied


def read_path(path, split):
    """(samples, labels) of ``split`` from a .npz or .mat file, a folder of IDX files, or a Caffe LMDB
    database (a folder holding data.mdb: one split, Datum records; graphnn/interop/caffe_lmdb.py)."""
    from graphnn.datasets.idx import read_idx_folder
    from graphnn.datasets.matfile import read_mat
    from graphnn.datasets.npzfile import read_npz

    if path.is_dir() and (path / "data.mdb").is_file():
        from graphnn.interop.caffe_lmdb import read_lmdb

        return read_lmdb(path)
    if path.is_dir():
        return read_idx_folder(path, split)
    if not path.exists():
        raise DataError("no such file or folder", file=str(path))
    readers = {".npz": read_npz, ".mat": read_mat}
    if path.suffix.lower() not in readers:
        raise DataError(f"unknown data file type {path.suffix!r}; expected a .npz or .mat file, or a folder "
                        "of IDX files", file=str(path))
    return readers[path.suffix.lower()](path, split)


def make_split(x, y, source, num_classes=None):
    """A checked Split: numeric samples, labels turned into class indices, as many labels as samples."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim < 1 or not (x.dtype == np.uint8 or np.issubdtype(x.dtype, np.floating)):
        raise DataError(f"samples must be a uint8 or floating-point array; got {x.dtype} of shape {x.shape}",
                        file=source)
    if x.dtype != np.uint8 and not np.isfinite(x).all():
        raise DataError("samples contain NaN or infinity", file=source)
    y, width = class_indices(y, source)
    if len(x) != len(y):
        raise DataError(f"{len(x)} samples but {len(y)} labels", file=source)
    if len(y) == 0:
        raise DataError("the split is empty", file=source)
    num_classes = num_classes or width or int(y.max()) + 1
    if y.max() >= num_classes:
        raise DataError(f"label {int(y.max())} is out of range for {num_classes} classes", file=source)
    return Split(x, y, num_classes, source)


def class_indices(y, source):
    """(class indices (N,) int64, one-hot width or None) from indices (N,) or (N, 1), or one-hot rows (N, C)."""
    if y.dtype == bool:
        y = y.astype(np.uint8)
    if not np.issubdtype(y.dtype, np.integer) and not np.issubdtype(y.dtype, np.floating):
        raise DataError(f"labels must be numbers; got {y.dtype}", file=source)
    if y.ndim == 2 and y.shape[1] > 1:
        if not (np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()):
            raise DataError(f"labels of shape {y.shape} must be one-hot rows (one 1, the rest 0)", file=source)
        return y.argmax(axis=1).astype(np.int64), y.shape[1]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"labels must be class indices (N,) or one-hot rows (N, C); got shape {y.shape}",
                        file=source)
    if len(y) and (not np.isfinite(y).all() or (y != np.round(y)).any() or y.min() < 0):
        raise DataError("labels must be non-negative whole numbers (class indices)", file=source)
    if len(y) and y.max() >= MAX_CLASSES:
        raise DataError(f"label {y.max():g} is not a class index: the limit is {MAX_CLASSES:,} classes", file=source)
    return y.astype(np.int64), None
