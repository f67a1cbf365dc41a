"""Inverted dropout: in training y = x * m / (1 - ratio), m ~ Bernoulli(1 - ratio) drawn from the run's
seeded generator; at test time y = x.   x: (N, ...) -> y: same shape.   dx = dy * m / (1 - ratio).

ONNX: Dropout with its ratio (at inference, training_mode absent: the identity).
"""

import math

import numpy as np

from graphnn.ops.base import Op, object_schema
from graphnn.ops.registry import register


@register
class Dropout(Op):
    name = "dropout"
    params_schema = object_schema({
        "ratio": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.5,
                  "description": "Probability of dropping each element in training."},
    })

    examples = ({"params": {"ratio": 0.3}, "inputs": [(6,)]},)

    def infer_shape(self, in_shapes):
        return in_shapes[0]

    def forward(self, weights, xs, ctx):
        (x,) = xs
        ratio = self.params["ratio"]
        if not ctx.train or ratio == 0:
            return x, None
        scaled_mask = (ctx.rng.random(x.shape) >= ratio).astype(x.dtype)
        scaled_mask *= 1.0 / (1.0 - ratio)
        return x * scaled_mask, scaled_mask

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        return [dy if cache is None else dy * cache]

    def flops(self):
        return math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        ratio = emit.constant(f"{step.name}.ratio", np.asarray(self.params["ratio"], np.float32))
        emit.node("Dropout", [step.inputs[0], ratio], step.name, step.name)
