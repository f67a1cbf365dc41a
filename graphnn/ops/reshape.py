"""Reshapes: the same values, another shape (the batch dimension is kept).

- ``reshape``: x: (N, ...) -> (N, *shape); one entry of ``shape`` may be -1 (inferred).
- ``flatten``: x: (N, ...) -> (N, prod(...)).
dx = dy reshaped back to x's shape.   ONNX: Reshape to (-1, *resolved shape); Flatten(axis=1).
"""

import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.registry import register


class _Reshaping(Op):
    def forward(self, weights, xs, ctx):
        (x,) = xs
        return x.reshape((len(x),) + self.out_shape), None

    def backward(self, weights, cache, dy, needs, grads):
        return [dy.reshape((len(dy),) + self.in_shapes[0]) if needs[0] else None]


@register
class Reshape(_Reshaping):
    name = "reshape"
    params_schema = object_schema({
        "shape": {"type": "array", "maxItems": 8,
                  "items": {"type": "integer", "anyOf": [{"minimum": 1}, {"const": -1}]},
                  "description": "Target shape without the batch; at most one -1."},
    }, required=["shape"])
    examples = ({"params": {"shape": [3, -1]}, "inputs": [(6,)]}, {"params": {"shape": [4]}, "inputs": [(2, 2)]})

    def infer_shape(self, in_shapes):
        size = math.prod(in_shapes[0])
        target = list(self.params["shape"])
        if target.count(-1) > 1:
            raise ShapeError(f"at most one -1 allowed in shape {tuple(target)}")
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            if size % known:
                raise ShapeError(f"cannot reshape {in_shapes[0]} ({size} values) to {tuple(target)}")
            target[target.index(-1)] = size // known
        if math.prod(target) != size:
            raise ShapeError(f"cannot reshape {in_shapes[0]} ({size} values) to {tuple(target)} ({math.prod(target)} values)")
        return tuple(target)

    def export_onnx(self, emit, step):
        shape = emit.constant(f"{step.name}.shape", np.asarray((-1,) + self.out_shape, np.int64))
        emit.node("Reshape", [step.inputs[0], shape], step.name, step.name)


@register
class Flatten(_Reshaping):
    name = "flatten"
    examples = ({"params": {}, "inputs": [(2, 3)]},)

    def infer_shape(self, in_shapes):
        return (math.prod(in_shapes[0]),)

    def export_onnx(self, emit, step):
        emit.node("Flatten", step.inputs, step.name, step.name, axis=1)
