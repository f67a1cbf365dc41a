"""Reductions over sample axes:   x: (N, ...) -> y: (N, ...) with ``axes`` reduced (kept as size 1 with
``keepdims``, else removed); ``axes`` default to every sample axis, counted from the batch (axis 0).

    sum   y = sum_A x                 dx = dy (repeated over A)
    mean  y = sum_A x / |A|           dx = dy / |A|
    max   y = max_A x                 dx = dy / k at the k positions that reach the maximum, 0 elsewhere
    min   y = min_A x                 (ties share dy equally, as PyTorch's amax and amin)

ONNX: ReduceSum, ReduceMean, ReduceMax, ReduceMin (axes as an input, or an attribute before opset 18 but
for ReduceSum), keepdims; imported from those and from GlobalMaxPool (max over every axis after the
channels, kept).
"""

import math

import numpy as np

from graphnn.ops.base import Op, object_schema
from graphnn.ops.layout import AXES, check_axes
from graphnn.ops.onnx_hooks import ints
from graphnn.ops.registry import register

FUNCTIONS = ("sum", "mean", "max", "min")
ONNX = {"sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin"}


@register
class Reduce(Op):
    name = "reduce"
    params_schema = object_schema({
        "function": {"enum": list(FUNCTIONS)},
        "axes": {**AXES, "description": "The axes reduced, counting the batch as axis 0 (default: every sample axis)."},
        "keepdims": {"type": "boolean", "default": True, "description": "Keep each reduced axis, of size 1."},
    }, required=["function"])
    onnx_imports = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "GlobalMaxPool")
    examples = (
        {"params": {"function": "sum"}, "inputs": [(2, 3)]},
        {"params": {"function": "mean", "axes": [2], "keepdims": False}, "inputs": [(2, 3)]},
        {"params": {"function": "max", "axes": [1, 3]}, "inputs": [(2, 3, 4)]},
        {"params": {"function": "min", "axes": [2], "keepdims": False}, "inputs": [(3, 4, 2)]},
    )

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        axes = self.params.get("axes", list(range(1, len(shape) + 1)))
        check_axes(axes, len(shape))
        self.axes = tuple(sorted(axes))
        self.kept = tuple(1 if axis in self.axes else size for axis, size in enumerate(shape, start=1))
        if self.params["keepdims"]:
            return self.kept
        return tuple(size for axis, size in enumerate(shape, start=1) if axis not in self.axes)

    def forward(self, weights, xs, ctx):
        (x,) = xs
        function, keepdims = self.params["function"], self.params["keepdims"]
        y = getattr(np, {"sum": "sum", "mean": "mean", "max": "amax", "min": "amin"}[function])(
            x, axis=self.axes, keepdims=True)
        cache = None
        if function in ("max", "min"):
            reaching = x == y
            cache = reaching / reaching.sum(axis=self.axes, keepdims=True).astype(x.dtype)  # each one's share
        return (y if keepdims else y.reshape((len(x),) + self.out_shape)), cache

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        dy = dy.reshape((len(dy),) + self.kept)
        function, shape = self.params["function"], (len(dy),) + self.in_shapes[0]
        if function == "sum":
            return [np.broadcast_to(dy, shape).copy()]
        if function == "mean":
            return [np.broadcast_to(dy * (1.0 / math.prod(self.in_shapes[0][a - 1] for a in self.axes)), shape).copy()]
        return [dy * cache]

    def flops(self):
        return math.prod(self.in_shapes[0])

    def export_onnx(self, emit, step):
        function, attributes, inputs = self.params["function"], {"keepdims": int(self.params["keepdims"])}, [
            step.inputs[0]]
        if function == "sum" or getattr(emit, "opset", 17) >= 18:
            inputs.append(emit.constant(f"{step.name}.axes", np.asarray(self.axes, np.int64)))
        else:
            attributes["axes"] = list(self.axes)
        emit.node(ONNX[function], inputs, step.name, step.name, **attributes)

    @classmethod
    def import_onnx(cls, importer, node, a):
        x = importer.tensor(node, 0)
        rank = len(importer.onnx_shape(x))
        if node.op_type == "GlobalMaxPool":
            importer.add(node, "reduce", [x], function="max", axes=list(range(2, rank)) if importer.batched
                         else list(range(3, rank + 1)))
            return
        function = {value: key for key, value in ONNX.items()}[node.op_type]
        axes = ints(importer, node, 1, "axes", a) or []
        if not axes and a.get("noop_with_empty_axes", 0):
            importer.add(node, "activation", [x], function="identity")
            return
        axes = axes or list(range(rank))
        if importer.batched and any(axis % rank == 0 for axis in axes):
            importer.batch_axis(f"axes {axes or 'all'} reduce over the batch axis", node)
        axes = [importer.to_axis(node, axis, x) for axis in axes]
        importer.add(node, "reduce", [x], function=function, axes=sorted(set(axes)),
                     keepdims=bool(a.get("keepdims", 1)))
