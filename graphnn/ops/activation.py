"""Element-wise activations (and softmax), stable for large |x|.   x: (N, ...) -> y: same shape.

- sigmoid:    y = 1 / (1 + e^-x) = (1 + tanh(x/2)) / 2       dy/dx = y (1 - y)
- tanh:       y = tanh(x)                                    dy/dx = 1 - y^2
- relu:       y = max(x, 0)                                  dy/dx = 1 if x >= 0 else 0  (1 at x = 0)
- leaky_relu: y = x if x >= 0 else a x                       dy/dx = 1 if x >= 0 else a
- softmax:    y_i = e^(x_i - max x) / sum_j e^(x_j - max x)  along ``axis``;  dx = y (dy - sum(dy y))
- identity:   y = x

``softmax`` and ``softmax_parts`` below are graphnn's one softmax: the loss and ``graphnn predict`` use them too.
ONNX: Sigmoid, Tanh, Relu, LeakyRelu(alpha), Softmax(axis), Identity.
"""

import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.registry import register

FUNCTIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softmax", "identity")
ONNX = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "leaky_relu": "LeakyRelu", "softmax": "Softmax",
        "identity": "Identity"}
FLOPS_PER_ELEMENT = {"identity": 0, "relu": 1, "leaky_relu": 2, "sigmoid": 4, "tanh": 4, "softmax": 5}


def softmax_parts(x, axis):
    """(e, total, shifted): shifted = x - max x and e = exp(shifted), along ``axis``, and total = sum e
    (keepdims, in [1, size]). softmax = e / total and log softmax = shifted - log(total), from one exp."""
    shifted = x - x.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e, e.sum(axis=axis, keepdims=True), shifted


def softmax(x, axis=1):
    """y = e^(x - max x) / sum e^(x - max x) along ``axis``."""
    e, total, _ = softmax_parts(x, axis)
    e /= total
    return e


@register
class Activation(Op):
    name = "activation"
    params_schema = object_schema({
        "function": {"enum": list(FUNCTIONS)},
        "negative_slope": {"type": "number", "default": 0.01, "description": "Slope a of leaky_relu for x < 0."},
        "axis": {"type": "integer", "minimum": 1, "default": 1,
                 "description": "Softmax axis, counting the batch as axis 0."},
    }, required=["function"])

    examples = tuple({"params": {"function": f}, "inputs": [(5,)]} for f in FUNCTIONS) + (
        {"params": {"function": "softmax", "axis": 1}, "inputs": [(3, 2)]},
        {"params": {"function": "leaky_relu", "negative_slope": 0.2}, "inputs": [(2, 3)]},
    )

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        if self.params["function"] == "softmax" and not 1 <= self.params["axis"] <= len(shape):
            raise ShapeError(f"softmax axis {self.params['axis']} does not exist in input shape {shape}")
        return shape

    def forward(self, weights, xs, ctx):
        (x,) = xs
        function = self.params["function"]
        if function == "sigmoid":
            y = np.tanh(x * 0.5)
            y += 1.0
            y *= 0.5
            return y, y
        if function == "tanh":
            y = np.tanh(x)
            return y, y
        if function == "relu":
            return np.maximum(x, 0), x >= 0
        if function == "leaky_relu":
            negative = x < 0
            return np.where(negative, x * self.params["negative_slope"], x), negative
        if function == "softmax":
            y = softmax(x, self.params["axis"])
            return y, y
        return x, None

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        function = self.params["function"]
        if function == "sigmoid":  # dy * y * (1 - y), one temporary fewer than written out
            dx = dy * cache
            dx *= 1 - cache
            return [dx]
        if function == "tanh":  # dy * (1 - y^2)
            dx = cache * cache
            np.subtract(1, dx, out=dx)
            dx *= dy
            return [dx]
        if function == "relu":
            return [dy * cache]
        if function == "leaky_relu":
            return [np.where(cache, dy * self.params["negative_slope"], dy)]
        if function == "softmax":
            y = cache
            return [y * (dy - (dy * y).sum(axis=self.params["axis"], keepdims=True))]
        return [dy]

    def flops(self):
        return FLOPS_PER_ELEMENT[self.params["function"]] * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        function = self.params["function"]
        attributes = {"leaky_relu": {"alpha": float(self.params["negative_slope"])},
                      "softmax": {"axis": self.params["axis"]}}.get(function, {})
        emit.node(ONNX[function], step.inputs, step.name, step.name, **attributes)
