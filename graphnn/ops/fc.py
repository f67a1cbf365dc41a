"""Fully connected: y = x.reshape(N, -1) @ W + b.   x: (N, ...) -> y: (N, units); W: (D, units), b: (units,).

With ``axis`` k (Caffe's InnerProduct axis; default 1) the axes before k are kept and the rest flattened:
x: (N, d_1, ..., d_r) -> y: (N, d_1, ..., d_{k-1}, units), D = d_k * ... * d_r, one W for every leading index.

Backward: dW = x2.T @ dy,  db = sum dy,  dx = dy @ W.T  (x2, dy seen as (rows, D) and (rows, units); dx
reshaped back to x's shape).
ONNX: Gemm(x, W, b), after a Flatten when a sample has more than one axis; with axis > 1, Reshape to
(N, d_1, ..., d_{k-1}, D), MatMul by W and Add b.
"""

import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import TRAINABLE_PROPERTIES, Op, object_schema
from graphnn.ops.fillers import FILLER_SCHEMA, fill
from graphnn.ops.registry import register
from graphnn.ops.sums import column_sums


@register
class FullyConnected(Op):
    name = "fc"
    params_schema = object_schema({
        "units": {"type": "integer", "minimum": 1, "description": "Number of outputs."},
        "axis": {"type": "integer", "minimum": 1, "default": 1,
                 "description": "First axis flattened into the inputs, counting the batch as axis 0; the axes "
                                "before it are kept (Caffe's InnerProduct axis)."},
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
        (shape,) = in_shapes
        axis = self.params["axis"]
        if axis > max(len(shape), 1):
            raise ShapeError(f"fc axis {axis} does not exist in input shape {shape}")
        return shape[:axis - 1] + (self.params["units"],)

    def declare_weights(self):
        n_in, units = math.prod(self.in_shapes[0][self.params["axis"] - 1:]), self.params["units"]
        return {"W": (n_in, units), "b": (units,)} if self.params["bias"] else {"W": (n_in, units)}

    def init_weights(self, rng, dtype):
        n_in, units = self.weight_shapes["W"]
        weights = {"W": fill(self.params["init"], (n_in, units), n_in, units, rng, dtype, outputs_axis=1)}
        if self.params["bias"]:
            weights["b"] = fill(self.params["bias_init"], (units,), n_in, units, rng, dtype)
        return weights

    def forward(self, weights, xs, ctx):
        (x,) = xs
        n_in = len(weights["W"])
        x2 = x.reshape(-1, n_in)  # (N, D), or (N * leading, D)
        y = x2 @ weights["W"]  # (N, D) @ (D, U) -> (N, U)
        if "b" in weights:
            y += weights["b"]
        return y.reshape((len(x),) + self.out_shape), (x.shape, x2)

    def backward(self, weights, cache, dy, needs, grads):
        x_shape, x2 = cache
        dy = dy.reshape(len(x2), -1)
        np.matmul(x2.T, dy, out=grads["W"])  # (D, N) @ (N, U) -> (D, U)
        if "b" in grads:
            column_sums(dy, out=grads["b"])
        if not needs[0]:
            return [None]
        dx = dy @ weights["W"].T  # (N, U) @ (U, D) -> (N, D)
        return [dx.reshape(x_shape)]

    def flops(self):
        return 2 * math.prod(self.in_shapes[0]) * self.params["units"]

    def export_onnx(self, emit, step):
        (x,) = step.inputs
        if len(self.out_shape) > 1:  # axis > 1: a MatMul per leading index
            rows = emit.fresh(f"{step.name}.rows")
            shape = (-1,) + self.out_shape[:-1] + (len(emit.weights[step.name]["W"]),)
            emit.node("Reshape", [x, emit.constant(f"{step.name}.shape", np.asarray(shape, np.int64))], rows, rows)
            if "b" not in self.weight_shapes:
                emit.node("MatMul", [rows, emit.weight(step, "W")], step.name, step.name)
                return
            product = emit.fresh(f"{step.name}.product")
            emit.node("MatMul", [rows, emit.weight(step, "W")], product, product)
            emit.node("Add", [product, emit.weight(step, "b")], step.name, step.name)
            return
        if len(self.in_shapes[0]) != 1:
            flat = emit.fresh(f"{step.name}.flatten")
            emit.node("Flatten", [x], flat, flat, axis=1)
            x = flat
        inputs = [x, emit.weight(step, "W")] + ([emit.weight(step, "b")] if "b" in self.weight_shapes else [])
        emit.node("Gemm", inputs, step.name, step.name)
