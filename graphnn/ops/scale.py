"""Scale (Caffe's Scale layer): a trained multiplier per position of some axes, and an optional bias.

    x: (N, d_1, ..., d_r) -> y: same shape;  W (and b): the sizes of axes axis .. axis + num_axes - 1
    y = x * W + b, W and b broadcast over the other axes (axis 1, num_axes 1: one W and b per channel)
    dW = sum dy x,  db = sum dy (over the batch and the other axes),  dx = dy W

``axis`` counts the batch as axis 0 (Caffe's); ``num_axes`` -1 takes every axis from ``axis`` on, 0 gives a
single scalar W. Caffe pairs it with its BatchNorm (which has no gamma and beta): batchnorm with
``affine: false`` then scale with ``bias: true`` is PyTorch's and graphnn's batchnorm with gamma and beta.
W starts at 1 and b at 0 unless ``init`` / ``bias_init`` say otherwise.

ONNX: a per-channel scale (axis 1, num_axes 1) is BatchNormalization(x, W, b, mean 0, var 1, epsilon 0), which
imports back as scale (a real batch norm has epsilon > 0); any other is Mul (and Add) by W (and b)
reshaped to broadcast.
"""

import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import TRAINABLE_PROPERTIES, Op, object_schema
from graphnn.ops.fillers import FILLER_SCHEMA, fill
from graphnn.ops.registry import register


@register
class Scale(Op):
    name = "scale"
    params_schema = object_schema({
        "axis": {"type": "integer", "minimum": 1, "default": 1,
                 "description": "First axis W spans, counting the batch as axis 0."},
        "num_axes": {"type": "integer", "minimum": -1, "default": 1,
                     "description": "How many axes W spans from axis (-1: all the rest; 0: one scalar)."},
        "bias": {"type": "boolean", "default": False, "description": "Add a learned bias b (Caffe's bias_term)."},
        "init": {**FILLER_SCHEMA, "default": {"type": "constant", "value": 1.0}},
        "bias_init": {**FILLER_SCHEMA, "default": "constant"},
        **TRAINABLE_PROPERTIES,
    })
    examples = (
        {"params": {}, "inputs": [(3, 2, 2)]},
        {"params": {"bias": True}, "inputs": [(4,)]},
        {"params": {"bias": True, "init": {"type": "gaussian", "std": 0.5}, "lr_mult": {"W": 1, "b": 2}},
         "inputs": [(2, 3)]},
    )

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        axis, count = self.params["axis"], self.params["num_axes"]
        if axis > len(shape):
            raise ShapeError(f"scale axis {axis} does not exist in input shape {shape}")
        stop = len(shape) if count == -1 else axis - 1 + count
        if stop > len(shape):
            raise ShapeError(f"axis {axis} with num_axes {count} reaches past input shape {shape}")
        self.span = tuple(shape[axis - 1:stop])  # W's shape
        self.broadcast = (1,) * axis + self.span + (1,) * (len(shape) - stop)  # W seen against x (N, ...)
        self.others = tuple(i for i in range(len(shape) + 1) if not axis <= i < stop + 1)  # summed in backward
        return shape

    def declare_weights(self):
        return {"W": self.span, "b": self.span} if self.params["bias"] else {"W": self.span}

    def init_weights(self, rng, dtype):
        size = math.prod(self.span)
        fan_in, fan_out = size // self.span[0] if self.span else 1, size // self.span[1] if len(self.span) > 1 else size
        weights = {"W": fill(self.params["init"], self.span, fan_in, fan_out, rng, dtype)}
        if self.params["bias"]:
            weights["b"] = fill(self.params["bias_init"], self.span, fan_in, fan_out, rng, dtype)
        return weights

    def forward(self, weights, xs, ctx):
        (x,) = xs
        y = x * weights["W"].reshape(self.broadcast)
        if "b" in weights:
            y += weights["b"].reshape(self.broadcast)
        return y, x

    def backward(self, weights, cache, dy, needs, grads):
        x = cache
        grads["W"][...] = np.sum(dy * x, axis=self.others).reshape(self.span)
        if "b" in grads:
            grads["b"][...] = dy.sum(axis=self.others).reshape(self.span)
        return [dy * weights["W"].reshape(self.broadcast) if needs[0] else None]

    def flops(self):
        return (2 if self.params["bias"] else 1) * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        (x,) = step.inputs
        weight = emit.weights[step.name]
        if self.params["axis"] == 1 and self.params["num_axes"] == 1:
            channels = self.span[0]
            bias = weight["b"] if "b" in weight else np.zeros(channels)
            inputs = [x] + [emit.constant(f"{step.name}.{key}", np.asarray(value, np.float32))
                            for key, value in (("W", weight["W"]), ("b", bias), ("mean", np.zeros(channels)),
                                               ("var", np.ones(channels)))]
            emit.node("BatchNormalization", inputs, step.name, step.name, epsilon=0.0)
            return
        shape = self.broadcast[1:]
        factor = emit.constant(f"{step.name}.W", np.asarray(weight["W"], np.float32).reshape(shape))
        if "b" not in weight:
            emit.node("Mul", [x, factor], step.name, step.name)
            return
        scaled = emit.fresh(f"{step.name}.scaled")
        emit.node("Mul", [x, factor], scaled, scaled)
        bias = emit.constant(f"{step.name}.b", np.asarray(weight["b"], np.float32).reshape(shape))
        emit.node("Add", [scaled, bias], step.name, step.name)
