"""Finding a named dataset's files. Each file is looked for, as NAME or NAME.gz, in order:

1. ``data_dir`` (the ``--data-dir`` option), in DIR/<dataset>/ and then DIR itself;
2. ``$GRAPHNN_DATA``, the same way;
3. the user cache, ``$XDG_CACHE_HOME/graphnn/<dataset>`` (default ``~/.cache/graphnn/<dataset>``);
4. the system folder ``/usr/share/datasets/<dataset>`` (where Debian's dataset-* packages install);
5. a download into the user cache (graphnn/datasets/download.py), unless ``$GRAPHNN_OFFLINE`` is set.

Finding only looks at names; the checksum is verified when a file is read (``named.py``), so a damaged
file is an error, never silently used. When a file is found nowhere, one DataError lists every place
tried, why it failed, and how to supply the files.
"""

import os
from dataclasses import dataclass
from pathlib import Path

from graphnn.datasets.catalog import get_dataset
from graphnn.errors import DataError

SYSTEM_ROOT = Path("/usr/share/datasets")


@dataclass(frozen=True)
class Found:
    """Where one file was found: its path and the place, e.g. ``user cache`` or ``download <url>``."""

    path: Path
    place: str


def cache_root():
    """The user cache folder: ``$XDG_CACHE_HOME/graphnn``, or ``~/.cache/graphnn``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache") / "graphnn"


def offline():
    """True when ``$GRAPHNN_OFFLINE`` is set to anything but '' or '0': nothing is downloaded."""
    return os.environ.get("GRAPHNN_OFFLINE", "") not in ("", "0")


def places(name, data_dir):
    """(place, root or None when not set, folders to look in), in lookup order."""
    result = []
    for place, root in (("--data-dir", data_dir), ("$GRAPHNN_DATA", os.environ.get("GRAPHNN_DATA"))):
        root = Path(root).expanduser() if root else None
        result.append((place, root, [root / name, root] if root else []))
    for place, folder in (("user cache", cache_root() / name), ("system folder", SYSTEM_ROOT / name)):
        result.append((place, folder, [folder]))
    return result


def find_in(folder, file_name):
    """``folder/file_name`` or ``folder/file_name.gz``, whichever is a file first; None if neither."""
    for candidate in (folder / file_name, folder / f"{file_name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def locate(name, files=None, data_dir=None, report=None):
    """{file name: Found} for ``files`` (DataFiles; default: all) of the dataset ``name``.

    Looks in the places above in order, then downloads what is still missing; ``report`` (a function of
    one string) hears about downloads. Raises DataError listing what was tried when a file is found nowhere.
    """
    dataset = get_dataset(name)
    wanted = list(files or dataset.files)
    found, tried = {}, []
    for place, root, folders in places(name, data_dir):
        missing = [file for file in wanted if file.name not in found]
        if not missing:
            break
        if root is None:
            tried.append(f"{place}: not set")
            continue
        for file in missing:
            path = next(filter(None, (find_in(folder, file.name) for folder in folders)), None)
            if path is not None:
                found[file.name] = Found(path, place)
        still = [file for file in missing if file.name not in found]
        if still:
            tried.append(f"{place} {root}: {absent(root, still)}")
    missing = [file for file in wanted if file.name not in found]
    if missing and offline():
        tried.append("download: off ($GRAPHNN_OFFLINE is set)")
    elif missing:
        from graphnn.datasets.download import download

        found.update(download(dataset, missing, cache_root() / name, tried, report or (lambda line: None)))
    missing = [file.name for file in wanted if file.name not in found]
    if missing:
        raise DataError(f"dataset {name!r}: cannot find {', '.join(missing)}. Tried: {'; '.join(tried)}. "
                        f"To supply the files, put {', '.join(f.name for f in dataset.files)} (raw or .gz) "
                        "in a folder and pass --data-dir DIR or set GRAPHNN_DATA=DIR")
    return {file.name: found[file.name] for file in wanted}


def absent(root, missing):
    """Why ``root`` did not provide ``missing``, in a few words."""
    if not root.is_dir():
        return "no such folder"
    return "has no " + ", ".join(f"{file.name}[.gz]" for file in missing)
