"""Reshapes: the same values, another shape (the batch dimension is kept; axes count it as axis 0).

- ``reshape``: x: (N, ...) -> (N, *shape); one entry of ``shape`` may be -1 (inferred), an entry 0 keeps the
  input's size at that position (Caffe's); with ``axis`` and ``num_axes`` (Caffe's) ``shape`` replaces only
  the input axes axis .. axis + num_axes - 1 (num_axes -1: to the end; 0: inserts ``shape`` before ``axis``).
- ``flatten``: x: (N, d_1, ..., d_r) -> (N, d_1, ..., d_{a-1}, d_a * ... * d_e, d_{e+1}, ..., d_r) for
  ``axis`` a and ``end_axis`` e (Caffe's; defaults 1 and -1, the last: (N, prod(...))).
dx = dy reshaped back to x's shape.   ONNX: Reshape to (-1, *resolved shape); a whole flatten is Flatten(axis=1).
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
                  "items": {"type": "integer", "minimum": -1},
                  "description": "Target shape without the batch; at most one -1 (inferred); 0 keeps the input's "
                                 "size at that position."},
        "axis": {"type": "integer", "minimum": 1, "default": 1,
                 "description": "First input axis that shape replaces, counting the batch as axis 0."},
        "num_axes": {"type": "integer", "minimum": -1, "default": -1,
                     "description": "How many input axes shape replaces (-1: all from axis; 0: none, an insert)."},
    }, required=["shape"])
    examples = ({"params": {"shape": [3, -1]}, "inputs": [(6,)]}, {"params": {"shape": [4]}, "inputs": [(2, 2)]},
                {"params": {"shape": [0, -1]}, "inputs": [(2, 3, 2)]},
                {"params": {"shape": [2, 2], "axis": 2, "num_axes": 1}, "inputs": [(3, 4, 2)]})

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        p = self.params
        start = p["axis"] - 1
        stop = len(shape) if p["num_axes"] == -1 else start + p["num_axes"]
        if start > len(shape) or stop > len(shape):
            raise ShapeError(f"axis {p['axis']} and num_axes {p['num_axes']} are not axes of input shape {shape}")
        replaced = shape[start:stop]
        size = math.prod(replaced)
        target = list(p["shape"])
        if target.count(-1) > 1:
            raise ShapeError(f"at most one -1 allowed in shape {tuple(target)}")
        for index, dim in enumerate(target):
            if dim == 0:
                if index >= len(replaced):
                    raise ShapeError(f"shape {tuple(target)}: entry {index} is 0 (keep the input's size) but the "
                                     f"reshaped part {replaced} of input shape {shape} has no axis {index}")
                target[index] = replaced[index]
        known = math.prod(d for d in target if d != -1)
        if -1 in target:
            if known == 0 or size % known:
                raise ShapeError(f"cannot reshape {replaced} ({size} values) to {tuple(p['shape'])}")
            target[target.index(-1)] = size // known
        if math.prod(target) != size:
            raise ShapeError(f"cannot reshape {replaced} ({size} values) to {tuple(p['shape'])} "
                             f"({math.prod(target)} values)")
        return shape[:start] + tuple(target) + shape[stop:]

    def export_onnx(self, emit, step):
        shape = emit.constant(f"{step.name}.shape", np.asarray((-1,) + self.out_shape, np.int64))
        emit.node("Reshape", [step.inputs[0], shape], step.name, step.name)


@register
class Flatten(_Reshaping):
    name = "flatten"
    params_schema = object_schema({
        "axis": {"type": "integer", "minimum": 1, "default": 1,
                 "description": "First axis flattened, counting the batch as axis 0."},
        "end_axis": {"type": "integer", "default": -1,
                     "description": "Last axis flattened (negative: from the end; -1 the last)."},
    })
    examples = ({"params": {}, "inputs": [(2, 3)]}, {"params": {"axis": 1, "end_axis": -1}, "inputs": [(2, 3, 4)]})
    # a partial flatten exports as Reshape (and imports back as reshape): tests/ops/test_reshape_values.py

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        start, end = self.params["axis"], self.params["end_axis"]
        if not shape and (start, end) == (1, -1):
            return (1,)  # a scalar per sample: one value
        end = end + len(shape) + 1 if end < 0 else end
        if not 1 <= start <= end <= len(shape):
            raise ShapeError(f"axis {start} to end_axis {self.params['end_axis']} are not axes of input shape {shape}")
        return shape[:start - 1] + (math.prod(shape[start - 1:end]),) + shape[end:]

    def export_onnx(self, emit, step):
        if len(self.out_shape) == 1:
            emit.node("Flatten", step.inputs, step.name, step.name, axis=1)
            return
        shape = emit.constant(f"{step.name}.shape", np.asarray((-1,) + self.out_shape, np.int64))
        emit.node("Reshape", [step.inputs[0], shape], step.name, step.name)
