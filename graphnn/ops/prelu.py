"""Parametric ReLU (He et al., 2015) with a trained slope:   x: (N, C, ...) -> y: same shape.

    y = x if x >= 0 else a x,    dx = dy if x >= 0 else a dy,    da = dy x [x < 0] summed over the axes a is repeated along

The slope a is (C,), one per channel (axis 1, the default); (1,), one for all (``shared``); or of any
``slope_shape`` that broadcasts against a sample as numpy aligns shapes, at their last axes (e.g. [1, W]:
one per column; the whole sample shape: one per element). It starts at 0.25 (``init``) and gets no
weight decay (decaying it toward 0 pushes PReLU toward ReLU).

ONNX: PRelu(x, slope), the slope shaped to broadcast over a sample ((C, 1, ..., 1) per channel);
imported from PRelu, whatever slope shape broadcasts over a sample (and a (C,) slope that does not, as
PRelu before opset 7 meant it: one per channel).
"""

import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import TRAINABLE_PROPERTIES, Op, object_schema
from graphnn.ops.binary import reduce_to
from graphnn.ops.fillers import FILLER_SCHEMA, fill
from graphnn.ops.registry import register


@register
class PReLU(Op):
    name = "prelu"
    decayed_weights = ()
    params_schema = object_schema({
        "shared": {"type": "boolean", "default": False, "description": "One slope for every channel."},
        "slope_shape": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1,
                        "description": "The slope's shape, broadcast against a sample from its last axes "
                                       "(default: one per channel, or one with shared)."},
        "init": {**FILLER_SCHEMA, "default": {"type": "constant", "value": 0.25}},
        **TRAINABLE_PROPERTIES,
    })
    onnx_imports = ("PRelu",)
    examples = ({"params": {}, "inputs": [(3, 2, 2)]}, {"params": {"shared": True}, "inputs": [(4,)]},
                {"params": {"init": {"type": "gaussian", "std": 0.5}}, "inputs": [(2, 3)]},
                {"params": {"slope_shape": [2, 1, 3]}, "inputs": [(2, 4, 3)]})

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        if "slope_shape" in self.params:
            if self.params["shared"]:
                raise ShapeError("shared and slope_shape say two things; give one")
            slope = tuple(self.params["slope_shape"])
            if len(slope) > len(shape) or any(s not in (1, d) for s, d in zip(slope[::-1], shape[::-1])):
                raise ShapeError(f"slope_shape {list(slope)} does not broadcast against input shape {shape}")
            self.slope_shape, self.slope_view = slope, (1,) * (len(shape) - len(slope) + 1) + slope
        elif self.params["shared"]:
            self.slope_shape, self.slope_view = (1,), (1,)
        elif not shape:
            raise ShapeError(f"prelu with a slope per channel needs a channel axis; got input shape {shape}")
        else:
            self.slope_shape, self.slope_view = (shape[0],), (1, shape[0]) + (1,) * (len(shape) - 1)
        return shape

    def declare_weights(self):
        return {"slope": self.slope_shape}

    def init_weights(self, rng, dtype):
        size = math.prod(self.slope_shape)
        return {"slope": fill(self.params["init"], self.slope_shape, size, size, rng, dtype)}

    def forward(self, weights, xs, ctx):
        (x,) = xs
        negative = x < 0
        return np.where(negative, x * weights["slope"].reshape(self.slope_view), x), (x, negative)

    def backward(self, weights, cache, dy, needs, grads):
        x, negative = cache
        contribution = np.where(negative, dy * x, 0)  # (N, ...)
        view = self.slope_view
        grads["slope"][...] = reduce_to(contribution, view[1:]).sum(axis=0).reshape(self.slope_shape) \
            if len(view) > 1 else contribution.sum()
        if not needs[0]:
            return [None]
        return [np.where(negative, dy * weights["slope"].reshape(view), dy)]

    def flops(self):
        return 2 * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        slope = np.asarray(emit.weights[step.name]["slope"], np.float32).reshape(self.slope_view[1:] or (1,))
        emit.node("PRelu", [step.inputs[0], emit.constant(f"{step.name}.slope", slope)], step.name, step.name)

    @classmethod
    def import_onnx(cls, importer, node, a):
        x = importer.tensor(node, 0)
        slope, shape = np.asarray(importer.constant(node, 1)), importer.shapes[x]
        if slope.size == 1:
            importer.add(node, "prelu", [x], {"slope": slope.reshape(1)}, shared=True)
            return
        if importer.batched and slope.ndim > len(shape):  # ONNX's leading 1s stand for the batch
            if any(size != 1 for size in slope.shape[:slope.ndim - len(shape)]):
                importer.batch_axis(f"slope of shape {slope.shape} varies along the batch axis", node)
            slope = slope.reshape(slope.shape[slope.ndim - len(shape):])
        view = (1,) * (len(shape) - slope.ndim) + slope.shape
        legacy = slope.ndim == 1 and shape and slope.size == shape[0] != shape[-1]  # PRelu-6: (C,) is per channel
        if shape and (legacy or view == (shape[0],) + (1,) * (len(shape) - 1)):
            importer.add(node, "prelu", [x], {"slope": slope.reshape(-1)})  # one per channel
            return
        importer.add(node, "prelu", [x], {"slope": slope}, slope_shape=list(slope.shape))
