"""Merges: several inputs in, one out (Caffe's Eltwise SUM is ``add``, PROD ``multiply`` (multiply.py), MAX
``maximum``; its Concat is ``concat``).

- ``add``:     y = x_1 + ... + x_k, all of one shape;            dx_i = dy
               with ``coeff`` [c_1, ..., c_k] (Caffe's): y = c_1 x_1 + ... + c_k x_k;  dx_i = c_i dy
- ``maximum``: y = max(x_1, ..., x_k) element-wise, all of one shape; dx_i = dy where x_i is the first
               input reaching the maximum, else 0 (Caffe's Eltwise MAX: ties go to the earliest input)
- ``concat``:  y = [x_1, ..., x_k] joined along ``axis`` (the batch is axis 0; the rest must agree);
               dx_i = the slice of dy that x_i filled

ONNX: Add (two inputs) or Sum, after a Mul by each coefficient; Max; Concat(axis).
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
    params_schema = object_schema({
        "coeff": {"type": "array", "items": {"type": "number"}, "minItems": 2,
                  "description": "One coefficient per input: y = sum c_i x_i (Caffe's Eltwise SUM coeff); "
                                 "absent: all 1."},
    })
    examples = ({"params": {}, "inputs": [(3,), (3,)]}, {"params": {}, "inputs": [(2, 2), (2, 2), (2, 2)]},
                {"params": {"coeff": [1.0, -1.0]}, "inputs": [(3,), (3,)]},
                {"params": {"coeff": [0.5, 2.0, -3.0]}, "inputs": [(2, 2), (2, 2), (2, 2)]})

    def infer_shape(self, in_shapes):
        coeff = self.params.get("coeff")
        if coeff is not None and len(coeff) != len(in_shapes):
            raise ShapeError(f"coeff {coeff} has {len(coeff)} entries for {len(in_shapes)} inputs; give one per input")
        return equal_shapes("add", in_shapes)

    def forward(self, weights, xs, ctx):
        coeff = self.params.get("coeff")
        into = ctx.overwrite if ctx is not None and all(x.dtype == xs[0].dtype for x in xs) else None
        if coeff is None:  # the first two added either way round (the same bits), the rest in order
            y = np.add(xs[0], xs[1], out=xs[into] if into is not None else None)
            for x in xs[2:]:
                y += x
            return y, None
        y = np.multiply(xs[0], coeff[0], out=xs[0] if into == 0 else None)
        for c, x in zip(coeff[1:], xs[1:]):
            y += c * x
        return y, None

    def overwritable(self):
        """The first two inputs (either is added to the other), or with ``coeff`` the first (scaled first)."""
        return (0,) if "coeff" in self.params else (0, 1)

    def backward(self, weights, cache, dy, needs, grads):
        coeff = self.params.get("coeff")
        if coeff is None:
            return [dy if need else None for need in needs]
        return [dy * c if need else None for c, need in zip(coeff, needs)]

    def flops(self):
        scaled = len(self.in_shapes) if "coeff" in self.params else 0
        return (len(self.in_shapes) - 1 + scaled) * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        inputs = list(step.inputs)
        if "coeff" in self.params:
            for index, (source, c) in enumerate(zip(step.inputs, self.params["coeff"])):
                factor = emit.constant(f"{step.name}.coeff{index}", np.asarray(c, np.float32))
                inputs[index] = emit.fresh(f"{step.name}.scaled{index}")
                emit.node("Mul", [source, factor], inputs[index], inputs[index])
        emit.node("Add" if len(inputs) == 2 else "Sum", inputs, step.name, step.name)


@register
class Maximum(Op):
    name = "maximum"
    n_inputs = (2, None)
    examples = ({"params": {}, "inputs": [(3,), (3,)]}, {"params": {}, "inputs": [(2, 2), (2, 2), (2, 2)]})

    def infer_shape(self, in_shapes):
        return equal_shapes("maximum", in_shapes)

    def forward(self, weights, xs, ctx):
        y = xs[0].copy()
        winner = np.zeros(y.shape, np.intp)  # the first input reaching the maximum, per element
        for index, x in enumerate(xs[1:], start=1):
            larger = x > y
            np.copyto(y, x, where=larger)
            winner[larger] = index
        return y, winner

    def backward(self, weights, cache, dy, needs, grads):
        return [np.where(cache == index, dy, 0).astype(dy.dtype, copy=False) if need else None
                for index, need in enumerate(needs)]

    def flops(self):
        return (len(self.in_shapes) - 1) * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        emit.node("Max", step.inputs, step.name, step.name)


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
