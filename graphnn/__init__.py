"""graphnn: neural networks as data.

A network is a JSON model file: a DAG of named nodes, validated, ordered with networkx, run forward in
topological order and backward in reverse, trained with Caffe-style solvers, and saved with its
weights in one file.
"""

__version__ = "0.1.0"


def __getattr__(name):
    """Import the public API on first use, so that ``import graphnn`` stays fast for the CLI."""
    lazy = {"Graph": "graphnn.model.builder", "load_model": "graphnn.model", "load_bundle": "graphnn.io.bundle",
            "save_bundle": "graphnn.io.bundle", "Network": "graphnn.executor", "Bundle": "graphnn.io.bundle"}
    if name in lazy:
        import importlib

        return getattr(importlib.import_module(lazy[name]), name)
    raise AttributeError(f"module 'graphnn' has no attribute {name!r}")
