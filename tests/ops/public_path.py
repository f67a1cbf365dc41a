"""Known-value tests run ops the way a user does: a tiny model document -> ``model_from_dict`` ->
``Network`` with fixed weights -> forward and backward. No op method is called directly.

The executor returns gradients for weights only, so each differentiable input is made a weight: a
bias-free fc fed the identity matrix (batch N, N features) outputs exactly its W, so W holds the input
and dL/dW is dL/dinput. An input of more than one axis is that fc's output reshaped.

``squared_error(node, target)`` closes a graph whose output is not a loss: L = 1/(2N) sum (y - t)^2,
so the gradient reaching the node is dy = (y - t) / N, which the tests write out by hand.
"""

import math
from dataclasses import dataclass

import numpy as np

from graphnn.executor import Network
from graphnn.model import model_from_dict

IDENTITY = "identity"  # the data node fed the identity matrix


@dataclass
class Outcome:
    values: dict  # node -> forward output
    objective: float  # sum(loss_weight * loss)
    input_grads: dict  # differentiable input -> dL/dinput, the input's shape
    weight_grads: dict  # node -> {weight: dL/dweight}
    network: Network


def _probe(name, array):
    """Nodes whose output is ``array`` (N, ...), and the fc that holds it as W."""
    fc = name if array.ndim == 2 else f"{name}_flat"
    nodes = [{"name": fc, "op": "fc", "inputs": [IDENTITY], "units": math.prod(array.shape[1:]), "bias": False}]
    if array.ndim != 2:
        nodes.append({"name": name, "op": "reshape", "inputs": [fc], "shape": list(array.shape[1:])})
    return nodes, fc


def squared_error(node, target):
    """(nodes, feeds) of a least_squares loss on ``node``'s output (flattened first when it has more than
    one axis per sample) against ``target``."""
    target = np.asarray(target, np.float64)
    flat = target.reshape(len(target), -1)
    source, nodes = node, []
    if target.ndim != 2:
        source = f"{node}_flat"
        nodes.append({"name": source, "op": "flatten", "inputs": [node]})
    nodes += [{"name": f"{node}_target", "op": "data", "shape": [flat.shape[1]], "field": "y"},
              {"name": f"{node}_loss", "op": "loss", "inputs": [source, f"{node}_target"],
               "function": "least_squares"}]
    return nodes, {f"{node}_target": flat}


def run(nodes, inputs, feeds=None, weights=None, state=None, train=False, seed=0):
    """Forward and backward, in float64, of a model whose ``nodes`` read the differentiable ``inputs``
    ({name: array (N, ...)}) and the data nodes of ``feeds`` ({name: array}, fed as they are; they must
    be among ``nodes``). ``weights`` and ``state`` ({node: {name: array}}) are set before the pass;
    ``train`` runs training mode with ``numpy.random.default_rng(seed)``."""
    batch = len(next(iter(inputs.values())))
    document_nodes = [{"name": IDENTITY, "op": "data", "shape": [batch]}]
    holders = {}
    for name, array in inputs.items():
        array = np.asarray(array, np.float64)
        assert len(array) == batch, "every differentiable input has the same batch"
        probe, holders[name] = _probe(name, array)
        document_nodes += probe
    model = model_from_dict({"format": "graphnn/1", "name": "values", "nodes": document_nodes + list(nodes)})
    network = Network.initialise(model, seed=0, dtype="float64")
    for name, array in inputs.items():
        network.weights[holders[name]]["W"][...] = np.asarray(array, np.float64).reshape(batch, -1)
    for source, target in (weights or {}, network.weights), (state or {}, network.state):
        for node, arrays in source.items():
            for key, array in arrays.items():
                target[node][key][...] = array
    feeds = {IDENTITY: np.eye(batch), **(feeds or {})}
    result = network.forward(feeds, train=train, rng=np.random.default_rng(seed) if train else None)
    grads = {node: {key: np.array(array) for key, array in arrays.items()}
             for node, arrays in network.backward(result).items()}
    input_grads = {name: grads.pop(holders[name])["W"].reshape(np.shape(inputs[name])) for name in inputs}
    return Outcome({node: np.array(value) for node, value in result.values.items()}, result.objective,
                   input_grads, grads, network)


def torch_or_skip():
    """The torch module, or a skip saying why the comparison did not run."""
    import pytest

    return pytest.importorskip("torch", reason="the comparison with PyTorch needs torch (the bench extra)")
