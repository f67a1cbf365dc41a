"""Inverted dropout: in training y = x * m / (1 - ratio), m ~ Bernoulli(1 - ratio) drawn from the run's
seeded generator; at test time y = x.   x: (N, ...) -> y: same shape.   dx = dy * m / (1 - ratio).
"""

import math

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

    def backward(self, weights, cache, dy):
        return [dy if cache is None else dy * cache], {}

    def flops(self, in_shapes, out_shape):
        return math.prod(out_shape)
