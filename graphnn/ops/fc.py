"""Fully connected: y = x.reshape(N, -1) @ W + b.   x: (N, ...) -> y: (N, units); W: (D, units), b: (units,).

Backward: dW = x2.T @ dy,  db = sum_n dy,  dx = dy @ W.T  (reshaped back to x's shape).
ONNX: Gemm(x, W, b), after a Flatten when a sample has more than one axis.
"""

import math

import numpy as np

from graphnn.ops.base import TRAINABLE_PROPERTIES, Op, object_schema
from graphnn.ops.fillers import FILLER_SCHEMA, fill
from graphnn.ops.registry import register


@register
class FullyConnected(Op):
    name = "fc"
    params_schema = object_schema({
        "units": {"type": "integer", "minimum": 1, "description": "Number of outputs."},
        "bias": {"type": "boolean", "default": True, "description": "Add a learned bias b."},
        "init": {**FILLER_SCHEMA, "default": "xavier"},
        "bias_init": {**FILLER_SCHEMA, "default": "constant"},
        **TRAINABLE_PROPERTIES,
    }, required=["units"])

    examples = (
        {"params": {"units": 3}, "inputs": [(4,)]},
        {"params": {"units": 2, "bias": False, "init": "msra"}, "inputs": [(2, 3)]},
        {"params": {"units": 2, "init": {"type": "gaussian", "std": 0.5},
                    "bias_init": {"type": "constant", "value": 0.1}}, "inputs": [(3,)]},
    )

    def infer_shape(self, in_shapes):
        return (self.params["units"],)

    def declare_weights(self):
        n_in, units = math.prod(self.in_shapes[0]), self.params["units"]
        return {"W": (n_in, units), "b": (units,)} if self.params["bias"] else {"W": (n_in, units)}

    def init_weights(self, rng, dtype):
        n_in, units = self.weight_shapes["W"]
        weights = {"W": fill(self.params["init"], (n_in, units), n_in, units, rng, dtype, outputs_axis=1)}
        if self.params["bias"]:
            weights["b"] = fill(self.params["bias_init"], (units,), n_in, units, rng, dtype)
        return weights

    def forward(self, weights, xs, ctx):
        (x,) = xs
        x2 = x.reshape(len(x), -1)  # (N, D)
        y = x2 @ weights["W"]  # (N, D) @ (D, U) -> (N, U)
        if "b" in weights:
            y += weights["b"]
        return y, (x.shape, x2)

    def backward(self, weights, cache, dy, needs, grads):
        x_shape, x2 = cache
        np.matmul(x2.T, dy, out=grads["W"])  # (D, N) @ (N, U) -> (D, U)
        if "b" in grads:
            dy.sum(axis=0, out=grads["b"])
        if not needs[0]:
            return [None]
        dx = dy @ weights["W"].T  # (N, U) @ (U, D) -> (N, D)
        return [dx.reshape(x_shape)]

    def flops(self):
        return 2 * math.prod(self.in_shapes[0]) * self.params["units"]

    def export_onnx(self, emit, step):
        (x,) = step.inputs
        if len(self.in_shapes[0]) != 1:
            flat = emit.fresh(f"{step.name}.flatten")
            emit.node("Flatten", [x], flat, flat, axis=1)
            x = flat
        inputs = [x, emit.weight(step, "W")] + ([emit.weight(step, "b")] if "b" in self.weight_shapes else [])
        emit.node("Gemm", inputs, step.name, step.name)
