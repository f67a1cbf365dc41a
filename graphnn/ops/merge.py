"""Merges: several inputs in, one out.

- ``add``:    y = x_1 + ... + x_k, all of one shape;            dx_i = dy
- ``concat``: y = [x_1, ..., x_k] joined along ``axis`` (the batch is axis 0; the rest must agree);
              dx_i = the slice of dy that x_i filled

ONNX: Add (two inputs) or Sum; Concat(axis).
"""

import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.registry import register


def equal_shapes(op_name, in_shapes):
    """The one shape all inputs share, or a ShapeError naming the first that differs."""
    first = in_shapes[0]
    for index, shape in enumerate(in_shapes[1:], start=1):
        if shape != first:
            raise ShapeError(f"input 0 has shape {first} but input {index} has shape {shape}; "
                             f"{op_name} needs equal shapes")
    return first


@register
class Add(Op):
    name = "add"
    n_inputs = (2, None)
    examples = ({"params": {}, "inputs": [(3,), (3,)]}, {"params": {}, "inputs": [(2, 2), (2, 2), (2, 2)]})

    def infer_shape(self, in_shapes):
        return equal_shapes("add", in_shapes)

    def forward(self, weights, xs, ctx):
        y = xs[0] + xs[1]
        for x in xs[2:]:
            y += x
        return y, None

    def backward(self, weights, cache, dy, needs, grads):
        return [dy if need else None for need in needs]

    def flops(self):
        return (len(self.in_shapes) - 1) * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        emit.node("Add" if len(step.inputs) == 2 else "Sum", step.inputs, step.name, step.name)


@register
class Concat(Op):
    name = "concat"
    n_inputs = (2, None)
    params_schema = object_schema({
        "axis": {"type": "integer", "minimum": 1, "default": 1,
                 "description": "Axis to join along, counting the batch as axis 0."},
    })
    examples = ({"params": {}, "inputs": [(3,), (2,)]}, {"params": {"axis": 2}, "inputs": [(2, 1), (2, 3)]})

    def infer_shape(self, in_shapes):
        axis = self.params["axis"] - 1
        first = in_shapes[0]
        if axis >= len(first):
            raise ShapeError(f"concat axis {axis + 1} does not exist in input shape {first}")
        for index, shape in enumerate(in_shapes[1:], start=1):
            if len(shape) != len(first) or any(a != b for i, (a, b) in enumerate(zip(first, shape)) if i != axis):
                raise ShapeError(f"input 0 has shape {first} but input {index} has shape {shape}; "
                                 f"they must agree except on axis {axis + 1}")
        return first[:axis] + (sum(shape[axis] for shape in in_shapes),) + first[axis + 1:]

    def forward(self, weights, xs, ctx):
        return np.concatenate(xs, axis=self.params["axis"]), None

    def backward(self, weights, cache, dy, needs, grads):
        ends = np.cumsum([shape[self.params["axis"] - 1] for shape in self.in_shapes])[:-1]
        return [part if need else None for part, need in zip(np.split(dy, ends, axis=self.params["axis"]), needs)]

    def export_onnx(self, emit, step):
        emit.node("Concat", step.inputs, step.name, step.name, axis=self.params["axis"])
