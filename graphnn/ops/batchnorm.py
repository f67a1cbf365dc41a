"""Batch normalisation (Ioffe & Szegedy, 2015), per channel: axis 1, the first after the batch.

    x: (N, C) or (N, C, H, W) (any (N, C, ...)) -> y: same shape; gamma, beta: (C,) trained weights;
    running_mean, running_var: (C,) state, saved with the network but not trained.

Statistics run over every axis but the channel's: (N,) for (C,) samples, (N, H, W) for (C, H, W),
M values per channel.

Training (batch statistics):
    mu = mean(x),  var = mean((x - mu)^2),  xhat = (x - mu) / sqrt(var + epsilon),  y = gamma * xhat + beta
    running_mean <- momentum * running_mean + (1 - momentum) * mu
    running_var  <- momentum * running_var  + (1 - momentum) * var * M / (M - 1)    (unbiased)
    dbeta = sum dy,  dgamma = sum dy * xhat,
    dx = gamma / sqrt(var + epsilon) * (dy - dbeta / M - xhat * dgamma / M)
Test: the same y with running_mean/running_var in place of mu/var; dx = dy * gamma / sqrt(running_var + eps).

``momentum`` is the share of the old running value kept (Keras's convention; PyTorch's momentum=0.1
is momentum 0.9 here). gamma and beta get no weight decay unless the solver sets ``decay_biases``.
ONNX: BatchNormalization (inference mode) with the running statistics from the state.
"""

import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import TRAINABLE_PROPERTIES, Op, object_schema
from graphnn.ops.registry import register


@register
class BatchNorm(Op):
    name = "batchnorm"
    decayed_weights = ()
    params_schema = object_schema({
        "momentum": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.9,
                     "description": "Share of the old running statistics kept at each training step."},
        "epsilon": {"type": "number", "exclusiveMinimum": 0, "default": 1e-5,
                    "description": "Added to the variance before its square root."},
        **TRAINABLE_PROPERTIES,
    })

    examples = (
        {"params": {}, "inputs": [(3,)]},
        {"params": {"momentum": 0.8, "epsilon": 0.001}, "inputs": [(2, 3, 2)]},
    )

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        if not shape:
            raise ShapeError(f"batchnorm needs a channel axis: input shape (C,) or (C, H, W); got {shape}")
        return shape

    def declare_weights(self):
        channels = self.in_shapes[0][0]
        return {"gamma": (channels,), "beta": (channels,)}

    def init_weights(self, rng, dtype):
        channels = self.in_shapes[0][0]
        return {"gamma": np.ones(channels, dtype), "beta": np.zeros(channels, dtype)}

    def declare_state(self):
        channels = self.in_shapes[0][0]
        return {"running_mean": (channels,), "running_var": (channels,)}

    def init_state(self, dtype):
        channels = self.in_shapes[0][0]
        return {"running_mean": np.zeros(channels, dtype), "running_var": np.ones(channels, dtype)}

    @staticmethod
    def _layout(x):
        """(axes statistics run over, shape that broadcasts a (C,) vector against x)."""
        axes = (0,) + tuple(range(2, x.ndim))
        return axes, (1, x.shape[1]) + (1,) * (x.ndim - 2)

    def forward(self, weights, xs, ctx):
        (x,) = xs
        axes, per_channel = self._layout(x)
        state = ctx.state
        if ctx.train:
            mean = x.mean(axis=axes)  # (C,)
            xhat = x - mean.reshape(per_channel)
            var = np.mean(xhat * xhat, axis=axes)
            count = x.size // x.shape[1]
            momentum = self.params["momentum"]
            for key, value in (("running_mean", mean), ("running_var", var * (count / max(count - 1, 1)))):
                state[key] *= momentum
                state[key] += (1 - momentum) * value
        else:
            mean, var = state["running_mean"], state["running_var"]
            xhat = x - mean.reshape(per_channel)
        inv_std = 1.0 / np.sqrt(var + self.params["epsilon"])  # (C,)
        xhat *= inv_std.reshape(per_channel)
        y = xhat * weights["gamma"].reshape(per_channel)
        y += weights["beta"].reshape(per_channel)
        return y, (xhat, inv_std, ctx.train)

    def backward(self, weights, cache, dy, needs, grads):
        xhat, inv_std, batch_statistics = cache
        axes, per_channel = self._layout(dy)
        dbeta = dy.sum(axis=axes, out=grads["beta"])
        dgamma = np.sum(dy * xhat, axis=axes, out=grads["gamma"])
        if not needs[0]:
            return [None]
        scale = (weights["gamma"] * inv_std).reshape(per_channel)
        if not batch_statistics:
            return [dy * scale]
        count = dy.size // dy.shape[1]
        dx = dy - (dbeta / count).reshape(per_channel)
        dx -= xhat * (dgamma / count).reshape(per_channel)
        dx *= scale
        return [dx]

    def flops(self):
        return 4 * math.prod(self.out_shape)  # subtract, scale, multiply by gamma, add beta

    def export_onnx(self, emit, step):
        inputs = [step.inputs[0], emit.weight(step, "gamma"), emit.weight(step, "beta"),
                  emit.weight(step, "running_mean", emit.state), emit.weight(step, "running_var", emit.state)]
        emit.node("BatchNormalization", inputs, step.name, step.name, epsilon=float(self.params["epsilon"]),
                  momentum=float(self.params["momentum"]))
