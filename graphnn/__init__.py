"""graphnn: neural networks as data.

A network is a JSON model file: a DAG of named nodes, validated, ordered with networkx, run forward in
topological order and backward in reverse, trained with Caffe-style solvers, and saved with its
weights in one file.
"""

__version__ = "0.1.0"
