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

``region: "within_channel"`` (Caffe's WITHIN_CHANNEL) sums over a size x ... x size window of each channel's
own spatial neighbours instead (zero beyond the edges; an odd size, centred), scaled by the window's size:

    s[c, p] = bias + alpha / size^d * sum_{p' near p} x[c, p']^2   (d spatial axes),    y = x s^-beta
    dx = dy s^-beta - 2 alpha beta / size^d * x * sum_{p' near p} dy x s^(-beta-1) [at p']

(Caffe ignores its k there: write bias 1.)

ONNX: InstanceNormalization(x, gamma, beta, epsilon); LRN(size, alpha, beta, bias). Both import. A
within-channel lrn exports as its formula: Mul, AveragePool (padding counted), Mul, Add, Pow, Mul.
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


def window_sum(a, before, after, axis=1):
    """s[..., c, ...] = sum of a[..., c - before .. c + after, ...] along ``axis`` (positions that exist)."""
    size = a.shape[axis]
    total = np.zeros_like(a)
    for shift in range(-before, after + 1):
        low, high = max(0, -shift), min(size, size - shift)  # c such that c + shift exists
        if low < high:
            into = [slice(None)] * a.ndim
            into[axis] = slice(low, high)
            source = list(into)
            source[axis] = slice(low + shift, high + shift)
            total[tuple(into)] += a[tuple(source)]
    return total


@register
class LRN(Op):
    name = "lrn"
    params_schema = object_schema({
        "size": {"type": "integer", "minimum": 1, "description": "Number of channels each sum runs over."},
        "alpha": {"type": "number", "default": 0.0001, "description": "Scale of the sum of squares."},
        "beta": {"type": "number", "default": 0.75, "description": "Exponent."},
        "bias": {"type": "number", "default": 1.0, "description": "Added to the scaled sum (Caffe's k)."},
        "region": {"enum": ["across_channels", "within_channel"], "default": "across_channels",
                   "description": "Sum over neighbouring channels, or over each channel's spatial neighbours "
                                  "(Caffe's norm_region)."},
    }, required=["size"])
    onnx_imports = ("LRN",)
    examples = ({"params": {"size": 3}, "inputs": [(4, 2, 2)]},
                {"params": {"size": 5, "alpha": 0.5, "beta": 0.6, "bias": 2.0}, "inputs": [(6, 2, 1)]})
    # within_channel: tests/ops/test_normalization_values.py (its ONNX form imports back as its formula's ops)

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        if not shape:
            raise ShapeError(f"lrn needs a channel axis: input shape (C, ...); got {shape}")
        size = self.params["size"]
        self.axes = (1,)  # the axes the window runs along, and the count of values it covers
        if self.params["region"] == "within_channel":
            if len(shape) < 2 or size % 2 == 0:
                raise ShapeError(f"a within_channel lrn needs an odd size and spatial axes, (C, H, ...); got size "
                                 f"{size} and input shape {shape}")
            self.axes = tuple(range(2, len(shape) + 1))
        self.count = size ** len(self.axes)
        self.before, self.after = (size - 1) // 2, size - 1 - (size - 1) // 2
        return shape

    def windowed(self, a, backward=False):
        """The window sum of ``a`` (its adjoint when ``backward``: the mirrored window)."""
        before, after = (self.after, self.before) if backward else (self.before, self.after)
        for axis in self.axes:
            a = window_sum(a, before, after, axis)
        return a

    def forward(self, weights, xs, ctx):
        (x,) = xs
        p = self.params
        scale = self.windowed(x * x)
        scale *= p["alpha"] / self.count
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
        dx -= (2 * p["alpha"] * p["beta"] / self.count) * x * self.windowed(inner, backward=True)
        return [dx]

    def flops(self):
        return (self.params["size"] * len(self.axes) + 5) * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        p = self.params
        if p["region"] == "across_channels":
            emit.node("LRN", step.inputs, step.name, step.name, size=p["size"], alpha=float(p["alpha"]),
                      beta=float(p["beta"]), bias=float(p["bias"]))
            return
        (x,) = step.inputs

        def node(op_type, inputs, suffix, **attributes):
            output = emit.fresh(f"{step.name}.{suffix}")
            emit.node(op_type, inputs, output, output, **attributes)
            return output

        def number(key, value):
            return emit.constant(f"{step.name}.{key}", np.float32(value))

        dims, pad = len(self.axes), self.before
        mean = node("AveragePool", [node("Mul", [x, x], "square")], "mean", kernel_shape=[p["size"]] * dims,
                    pads=[pad] * (2 * dims), count_include_pad=1)
        scale = node("Add", [node("Mul", [mean, number("alpha", p["alpha"])], "scaled"), number("bias", p["bias"])],
                     "scale")
        factor = node("Pow", [scale, number("beta", -p["beta"])], "factor")
        emit.node("Mul", [x, factor], step.name, step.name)

    @classmethod
    def import_onnx(cls, importer, node, a):
        x = importer.tensor(node, 0)
        params = {key: float(a[key]) for key in ("alpha", "beta", "bias") if key in a}
        importer.add(node, "lrn", [x], size=int(a["size"]), **params)
