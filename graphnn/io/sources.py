"""What a command may be pointed at: a model file (.json), a bundle (.gnn) or a run folder (its model.gnn).

    source = load_source("runs/lenet")     # Source(kind="run", path="runs/lenet", model=..., bundle=...)
"""

from dataclasses import dataclass
from pathlib import Path

from graphnn.errors import GraphnnError
from graphnn.io.bundle import MAGIC, load_bundle
from graphnn.io.regular import require_regular_file
from graphnn.model import load_model


@dataclass
class Source:
    kind: str  # "model", "bundle" or "run"
    path: str
    model: object
    bundle: object = None  # the Bundle of a bundle or run folder

    def network(self, seed=0, dtype="float32"):
        """The bundle's network, or a model file's with fresh weights drawn from ``seed``."""
        from graphnn.executor import Network

        return self.bundle.network() if self.bundle is not None else Network.initialise(self.model, seed, dtype)

    def require_bundle(self, what):
        """The bundle; GraphnnError when this is a model file (``what`` names the option or argument)."""
        if self.bundle is None:
            raise GraphnnError(f"{what} takes a bundle (.gnn) or a run folder, not a model file", file=self.path)
        return self.bundle


def is_bundle_file(path):
    """Whether ``path`` (a regular file) is a bundle: named .gnn or starting with the bundle's magic bytes."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            return path.suffix == ".gnn" or file.read(len(MAGIC)) == MAGIC
    except OSError:
        return path.suffix == ".gnn"  # reading it will say what is wrong


def load_source(path):
    """The Source at ``path``; GraphnnError (located) when it is none of the three or does not load."""
    path = Path(path)
    if path.is_dir():
        bundle_path = path / "model.gnn"
        if not bundle_path.exists():
            raise GraphnnError("not a run folder: it has no model.gnn (written by `graphnn run` when training "
                               "ends)", file=str(path))
        bundle = load_bundle(bundle_path)
        return Source("run", str(path), bundle.model, bundle)
    if not path.exists():
        raise GraphnnError("no such file or folder", file=str(path))
    require_regular_file(path)
    if is_bundle_file(path):
        bundle = load_bundle(path)
        return Source("bundle", str(path), bundle.model, bundle)
    return Source("model", str(path), load_model(path))
