"""Parametric ReLU (He et al., 2015) with a trained slope:   x: (N, C, ...) -> y: same shape.

    y = x if x >= 0 else a x,   a: (C,) one slope per channel (axis 1), or (1,) one for all (``shared``)
    dx = dy if x >= 0 else a dy,    da = sum over every other axis of dy x [x < 0]

The slopes start at 0.25 (``init``) and get no weight decay (decaying them toward 0 pushes PReLU toward
ReLU). ONNX: PRelu(x, slope) with the slope shaped (C, 1, ..., 1) to broadcast over a sample (or (1,));
imported from PRelu when its slope is one value or one per channel.
"""

import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import TRAINABLE_PROPERTIES, Op, object_schema
from graphnn.ops.fillers import FILLER_SCHEMA, fill
from graphnn.ops.registry import register


@register
class PReLU(Op):
    name = "prelu"
    decayed_weights = ()
    params_schema = object_schema({
        "shared": {"type": "boolean", "default": False, "description": "One slope for every channel."},
        "init": {**FILLER_SCHEMA, "default": {"type": "constant", "value": 0.25}},
        **TRAINABLE_PROPERTIES,
    })
    onnx_imports = ("PRelu",)
    examples = ({"params": {}, "inputs": [(3, 2, 2)]}, {"params": {"shared": True}, "inputs": [(4,)]},
                {"params": {"init": {"type": "gaussian", "std": 0.5}}, "inputs": [(2, 3)]})

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        if not shape and not self.params["shared"]:
            raise ShapeError(f"prelu with a slope per channel needs a channel axis; got input shape {shape}")
        return shape

    def declare_weights(self):
        return {"slope": (1,) if self.params["shared"] else (self.in_shapes[0][0],)}

    def init_weights(self, rng, dtype):
        shape = self.weight_shapes["slope"]
        return {"slope": fill(self.params["init"], shape, shape[0], shape[0], rng, dtype)}

    def broadcastable(self, slope):
        """(1,) or (C,) as (1, 1 or C, 1, ...), to multiply a batch."""
        return slope.reshape((1,) + (-1,) * bool(self.in_shapes[0]) + (1,) * max(len(self.in_shapes[0]) - 1, 0))

    def forward(self, weights, xs, ctx):
        (x,) = xs
        negative = x < 0
        return np.where(negative, x * self.broadcastable(weights["slope"]), x), (x, negative)

    def backward(self, weights, cache, dy, needs, grads):
        x, negative = cache
        contribution = np.where(negative, dy * x, 0)
        if self.params["shared"]:
            grads["slope"][...] = contribution.sum()
        else:
            np.sum(contribution, axis=(0, *range(2, x.ndim)), out=grads["slope"])
        if not needs[0]:
            return [None]
        return [np.where(negative, dy * self.broadcastable(weights["slope"]), dy)]

    def flops(self):
        return 2 * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        slope = np.asarray(emit.weights[step.name]["slope"], np.float32)
        if not self.params["shared"]:
            slope = slope.reshape((-1,) + (1,) * (len(self.in_shapes[0]) - 1))
        emit.node("PRelu", [step.inputs[0], emit.constant(f"{step.name}.slope", slope)], step.name, step.name)

    @classmethod
    def import_onnx(cls, importer, node, a):
        x = importer.tensor(node, 0)
        slope, shape = np.asarray(importer.constant(node, 1)), importer.shapes[x]
        channel_axis = 1 if importer.batched else 0  # where the channels are, in ONNX's tensor (batch first)
        rank = len(importer.onnx_shape(x))
        if slope.size == 1:
            importer.add(node, "prelu", [x], {"slope": slope.reshape(1)}, shared=True)
            return
        expected = tuple(shape[0] if axis == channel_axis else 1 for axis in range(rank)) if shape else None
        if expected is None or slope.ndim > rank or (1,) * (rank - slope.ndim) + slope.shape != expected:
            importer.fail(f"slope of shape {slope.shape} on input {importer.describe(x)}: graphnn's prelu takes "
                          "one slope or one per channel (axis 1)", node)
        importer.add(node, "prelu", [x], {"slope": slope.reshape(-1)})
