"""graphnn: neural networks as data.

A network is a JSON model file: a DAG of named nodes, validated, ordered with networkx, run forward in
topological order and backward in reverse, trained with Caffe-style solvers, and saved with its
weights in one file.

    import graphnn
    model = graphnn.load_model("models/mlp784.json")      # or graphnn.Graph("name") ... .build()
    history = model.fit(x, y, epochs=1, validation_split=0.1)
    model.save("mlp.gnn"); graphnn.load("mlp.gnn").predict(x)

``dir(graphnn)`` lists the public API; each name is imported on first use, so that ``import graphnn``
(and the ``graphnn`` command) stays fast.
"""

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY = {
    "Model": "graphnn.api", "History": "graphnn.api", "load_model": "graphnn.api", "load": "graphnn.api",
    "Graph": "graphnn.model.builder", "Network": "graphnn.executor",
    "Bundle": "graphnn.io.bundle", "load_bundle": "graphnn.io.bundle", "save_bundle": "graphnn.io.bundle",
    "GraphnnError": "graphnn.errors", "ModelInvalid": "graphnn.errors",
}
_SUBMODULES = ("callbacks", "datasets", "ops", "viz")


def __getattr__(name):
    """Import the public API on first use."""
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"graphnn.{name}")
    raise AttributeError(f"module 'graphnn' has no attribute {name!r}")


def __dir__():
    return sorted({"__version__", *_LAZY, *_SUBMODULES})
