"""Per-sample normalisations, channels first: x: (N, C, ...) -> y: same shape.

``instance_norm`` (Ulyanov et al., 2016): each sample's each channel normalised over its own spatial
axes (M values), then scaled and shifted per channel; gamma, beta: (C,) trained weights.

    mu = mean(x[n, c]),  var = mean((x[n, c] - mu)^2),  xhat = (x - mu) / sqrt(var + epsilon),
    y = gamma[c] xhat + beta[c]
    dbeta = sum_{n, spatial} dy,   dgamma = sum dy xhat,
    dx = gamma / sqrt(var + epsilon) * (dy - mean(dy) - xhat mean(dy xhat))   (means per sample and channel)

``lrn``, local response normalisation across channels (Krizhevsky et al., 2012; Caffe's
ACROSS_CHANNELS, ONNX's LRN): each value divided by a power of the squares summed over ``size``
neighbouring channels, c - floor((size-1)/2) .. c + ceil((size-1)/2) (those that exist):

    s[c] = bias + alpha / size * sum_{c' near c} x[c']^2,    y = x s^-beta
    dx[c] = dy[c] s[c]^-beta - 2 alpha beta / size * x[c] sum_{c' : c near c'} dy[c'] x[c'] s[c']^(-beta-1)

ONNX: InstanceNormalization(x, gamma, beta, epsilon); LRN(size, alpha, beta, bias). Both import.
"""

import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import TRAINABLE_PROPERTIES, Op, object_schema
from graphnn.ops.registry import register


@register
class InstanceNorm(Op):
    name = "instance_norm"
    decayed_weights = ()
    params_schema = object_schema({
        "epsilon": {"type": "number", "exclusiveMinimum": 0, "default": 1e-5,
                    "description": "Added to the variance before its square root."},
        **TRAINABLE_PROPERTIES,
    })
    onnx_imports = ("InstanceNormalization",)
    examples = ({"params": {}, "inputs": [(2, 5)]}, {"params": {"epsilon": 0.01}, "inputs": [(3, 2, 3)]})

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        if len(shape) < 2:
            raise ShapeError(f"instance_norm needs channels and at least one spatial axis, (C, L, ...); got input "
                             f"shape {shape}")
        self.axes = tuple(range(2, len(shape) + 1))
        return shape

    def declare_weights(self):
        channels = self.in_shapes[0][0]
        return {"gamma": (channels,), "beta": (channels,)}

    def init_weights(self, rng, dtype):
        channels = self.in_shapes[0][0]
        return {"gamma": np.ones(channels, dtype), "beta": np.zeros(channels, dtype)}

    def per_channel(self, vector):
        return vector.reshape((1, -1) + (1,) * (len(self.in_shapes[0]) - 1))

    def forward(self, weights, xs, ctx):
        (x,) = xs
        xhat = x - x.mean(axis=self.axes, keepdims=True)
        var = np.mean(xhat * xhat, axis=self.axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.params["epsilon"])  # (N, C, 1, ...)
        xhat *= inv_std
        y = xhat * self.per_channel(weights["gamma"])
        y += self.per_channel(weights["beta"])
        return y, (xhat, inv_std)

    def backward(self, weights, cache, dy, needs, grads):
        xhat, inv_std = cache
        outer = (0,) + self.axes
        dy.sum(axis=outer, out=grads["beta"])
        np.sum(dy * xhat, axis=outer, out=grads["gamma"])
        if not needs[0]:
            return [None]
        dx = dy - dy.mean(axis=self.axes, keepdims=True)
        dx -= xhat * np.mean(dy * xhat, axis=self.axes, keepdims=True)
        dx *= inv_std * self.per_channel(weights["gamma"])
        return [dx]

    def flops(self):
        return 6 * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        inputs = [step.inputs[0], emit.weight(step, "gamma"), emit.weight(step, "beta")]
        emit.node("InstanceNormalization", inputs, step.name, step.name, epsilon=float(self.params["epsilon"]))

    @classmethod
    def import_onnx(cls, importer, node, a):
        x = importer.tensor(node, 0)
        gamma, beta = importer.constant(node, 1), importer.constant(node, 2)
        importer.add(node, "instance_norm", [x], {"gamma": gamma.reshape(-1), "beta": beta.reshape(-1)},
                     epsilon=float(a.get("epsilon", 1e-5)))


def window_sum(a, before, after):
    """s[:, c] = sum of a[:, c - before .. c + after] (channels that exist), a: (N, C, ...)."""
    channels = a.shape[1]
    total = np.zeros_like(a)
    for shift in range(-before, after + 1):
        low, high = max(0, -shift), min(channels, channels - shift)  # c such that c + shift exists
        if low < high:
            total[:, low:high] += a[:, low + shift:high + shift]
    return total


@register
class LRN(Op):
    name = "lrn"
    params_schema = object_schema({
        "size": {"type": "integer", "minimum": 1, "description": "Number of channels each sum runs over."},
        "alpha": {"type": "number", "default": 0.0001, "description": "Scale of the sum of squares."},
        "beta": {"type": "number", "default": 0.75, "description": "Exponent."},
        "bias": {"type": "number", "default": 1.0, "description": "Added to the scaled sum (Caffe's k)."},
    }, required=["size"])
    onnx_imports = ("LRN",)
    examples = ({"params": {"size": 3}, "inputs": [(4, 2, 2)]},
                {"params": {"size": 5, "alpha": 0.5, "beta": 0.6, "bias": 2.0}, "inputs": [(6, 2, 1)]})

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        if not shape:
            raise ShapeError(f"lrn needs a channel axis: input shape (C, ...); got {shape}")
        size = self.params["size"]
        self.before, self.after = (size - 1) // 2, size - 1 - (size - 1) // 2
        return shape

    def forward(self, weights, xs, ctx):
        (x,) = xs
        p = self.params
        scale = window_sum(x * x, self.before, self.after)
        scale *= p["alpha"] / p["size"]
        scale += p["bias"]  # s
        factor = scale ** -p["beta"]  # s^-beta
        return x * factor, (x, scale, factor)

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        x, scale, factor = cache
        p = self.params
        inner = dy * x * factor / scale  # dy x s^(-beta-1)
        dx = dy * factor
        dx -= (2 * p["alpha"] * p["beta"] / p["size"]) * x * window_sum(inner, self.after, self.before)
        return [dx]

    def flops(self):
        return (self.params["size"] + 5) * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        p = self.params
        emit.node("LRN", step.inputs, step.name, step.name, size=p["size"], alpha=float(p["alpha"]),
                  beta=float(p["beta"]), bias=float(p["bias"]))

    @classmethod
    def import_onnx(cls, importer, node, a):
        x = importer.tensor(node, 0)
        params = {key: float(a[key]) for key in ("alpha", "beta", "bias") if key in a}
        importer.add(node, "lrn", [x], size=int(a["size"]), **params)
