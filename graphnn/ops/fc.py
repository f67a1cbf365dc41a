"""Fully connected: y = x.reshape(N, -1) @ W + b.   x: (N, ...) -> y: (N, units); W: (D, units), b: (units,).

Backward: dW = x2.T @ dy,  db = sum_n dy,  dx = dy @ W.T  (reshaped back to x's shape).
"""

import math

from graphnn.ops.base import FILLER_SCHEMA, TRAINABLE_PROPERTIES, Op, fill, object_schema
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
    )

    def infer_shape(self, in_shapes):
        return (self.params["units"],)

    def weight_shapes(self, in_shapes):
        n_in, units = math.prod(in_shapes[0]), self.params["units"]
        shapes = {"W": (n_in, units)}
        if self.params["bias"]:
            shapes["b"] = (units,)
        return shapes

    def init_weights(self, in_shapes, rng, dtype):
        n_in, units = math.prod(in_shapes[0]), self.params["units"]
        weights = {"W": fill(self.params["init"], (n_in, units), n_in, units, rng, dtype)}
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

    def backward(self, weights, cache, dy):
        x_shape, x2 = cache
        grads = {"W": x2.T @ dy}  # (D, N) @ (N, U) -> (D, U)
        if "b" in weights:
            grads["b"] = dy.sum(axis=0)
        if not self.input_grads[0]:
            return [None], grads
        dx = dy @ weights["W"].T  # (N, U) @ (U, D) -> (N, D)
        return [dx.reshape(x_shape)], grads

    def flops(self, in_shapes, out_shape):
        return 2 * math.prod(in_shapes[0]) * self.params["units"]
