"""The zoo: the model files that ship inside the package (graphnn/zoo/; a clone's models/ is a link to it).

    names()             -> ["branchy", "lenet", "mlp784", ..., "resnet50", ...]
    path("resnet50")    -> .../graphnn/zoo/resnet50.json
    find("resnet50")    -> (path, True) when no file "resnet50" exists here and the zoo has one
    find("my.json")     -> (Path("my.json"), False)

``load_model`` and the commands that read a model file (``graphnn check resnet18``, ``graphnn run mlp784``)
take a zoo name where no such file exists; the commands say so on stderr.
"""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent.parent / "zoo"


def names():
    """The zoo's model names, sorted."""
    return sorted(path.stem for path in FOLDER.glob("*.json"))


def path(name):
    """The file of zoo model ``name`` (a KeyError naming the known ones when there is none)."""
    found = FOLDER / f"{name}.json"
    if "/" in name or "\\" in name or not found.is_file():
        raise KeyError(f"no zoo model {name!r}; the zoo has: {', '.join(names())}")
    return found


def find(source):
    """(the path to read, whether it is a zoo model): ``source`` itself when it exists (or is a path with a
    folder), else the zoo model of that name (``resnet18`` or ``resnet18.json``), else ``source``."""
    source = Path(source)
    if source.exists() or source.parent != Path("."):
        return source, False
    name = source.name.removesuffix(".json")
    candidate = FOLDER / f"{name}.json"
    if name and candidate.is_file():
        return candidate, True
    return source, False
