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

Caffe's BatchNorm is ``affine: false`` (no gamma and beta: y = xhat; Caffe follows it with a Scale layer,
graphnn/ops/scale.py) with ``running_average: "normalized"``: its running statistics are weighted means of
every batch's, normalised by the sum of the weights (a state ``weight_sum``, w):
    w <- momentum * w + 1,   running <- running + (value - running) / w      (value: mu, or the unbiased var)
so that the first batch sets them and none of the initial values lingers (the exponential average starts
from mean 0 and variance 1 and forgets them at the rate momentum^t). ``use_global_stats`` (Caffe's): true
normalises by the running statistics in training too (and leaves them alone: dx = dy * gamma /
sqrt(running_var + eps)); false by the batch's in testing too; absent, batch statistics in training and
running ones in testing.
ONNX: BatchNormalization (inference mode) with the running statistics from the state (gamma 1 and beta 0
without affine).
"""

import math

import numpy as np

from graphnn.errors import GraphnnError, ShapeError
from graphnn.ops.base import TRAINABLE_PROPERTIES, Op, object_schema
from graphnn.ops.registry import register
from graphnn.ops.sums import channel_dots, channel_sums


@register
class BatchNorm(Op):
    name = "batchnorm"
    decayed_weights = ()
    params_schema = object_schema({
        "momentum": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.9,
                     "description": "Share of the old running statistics kept at each training step."},
        "epsilon": {"type": "number", "exclusiveMinimum": 0, "default": 1e-5,
                    "description": "Added to the variance before its square root."},
        "affine": {"type": "boolean", "default": True,
                   "description": "Learn gamma and beta (false: y = xhat, Caffe's BatchNorm)."},
        "running_average": {"enum": ["exponential", "normalized"], "default": "exponential",
                            "description": "How the running statistics follow the batches: an exponential "
                                           "average from mean 0 and variance 1, or Caffe's normalized one."},
        "use_global_stats": {"type": "boolean",
                             "description": "true: the running statistics in training too; false: the batch's "
                                            "in testing too; absent: batch in training, running in testing."},
        **TRAINABLE_PROPERTIES,
    })

    examples = (
        {"params": {}, "inputs": [(3,)]},
        {"params": {"momentum": 0.8, "epsilon": 0.001}, "inputs": [(2, 3, 2)]},
        {"params": {"affine": False, "running_average": "normalized", "momentum": 0.999}, "inputs": [(2, 2, 2)]},
        {"params": {"use_global_stats": True, "affine": False}, "inputs": [(3, 2)]},
    )  # use_global_stats false (batch statistics at inference too) has no ONNX form: tests/ops/test_batchnorm_values.py

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        if not shape:
            raise ShapeError(f"batchnorm needs a channel axis: input shape (C,) or (C, H, W); got {shape}")
        return shape

    def declare_weights(self):
        channels = self.in_shapes[0][0]
        return {"gamma": (channels,), "beta": (channels,)} if self.params["affine"] else {}

    def init_weights(self, rng, dtype):
        channels = self.in_shapes[0][0]
        return {"gamma": np.ones(channels, dtype), "beta": np.zeros(channels, dtype)} if self.params["affine"] else {}

    def declare_state(self):
        channels = self.in_shapes[0][0]
        normalized = self.params["running_average"] == "normalized"
        return {"running_mean": (channels,), "running_var": (channels,), **({"weight_sum": (1,)} if normalized else {})}

    def init_state(self, dtype):
        channels = self.in_shapes[0][0]
        state = {"running_mean": np.zeros(channels, dtype), "running_var": np.ones(channels, dtype)}
        if self.params["running_average"] == "normalized":
            state["weight_sum"] = np.zeros(1, dtype)
        return state

    def batch_statistics(self, train):
        """Whether this pass normalises by the batch's statistics (else by the running ones)."""
        use_global = self.params.get("use_global_stats")
        return train if use_global is None else not use_global

    def update(self, state, mean, var, count):
        """Fold one training batch's mean and (biased) variance of ``count`` values per channel into the state."""
        momentum = self.params["momentum"]
        unbiased = var * (count / max(count - 1, 1))
        if self.params["running_average"] == "normalized":
            state["weight_sum"] *= momentum
            state["weight_sum"] += 1
            share = 1 / state["weight_sum"]
            for key, value in (("running_mean", mean), ("running_var", unbiased)):
                state[key] += (value - state[key]) * share
            return
        for key, value in (("running_mean", mean), ("running_var", unbiased)):
            state[key] *= momentum
            state[key] += (1 - momentum) * value

    @staticmethod
    def _layout(x):
        """(x as (N, C, P): P values per sample and channel; the shape that broadcasts a (C,) vector
        against x)."""
        n, channels = x.shape[:2]
        return x.reshape(n, channels, -1), (1, channels) + (1,) * (x.ndim - 2)

    def forward(self, weights, xs, ctx):
        (x,) = xs
        x3, per_channel = self._layout(x)
        count = x3.shape[0] * x3.shape[2]
        batch_statistics = self.batch_statistics(ctx.train)
        if batch_statistics:
            mean = channel_sums(x3) / count  # (C,)
            centred = x - mean.reshape(per_channel)
            var = channel_dots(centred, centred) / count
            if ctx.train:
                self.update(ctx.state, mean, var, count)
        else:
            mean, var = ctx.state["running_mean"], ctx.state["running_var"]
            centred = x - mean.reshape(per_channel)
        inv_std = 1.0 / np.sqrt(var + self.params["epsilon"])  # (C,)
        scale = weights["gamma"] * inv_std if self.params["affine"] else inv_std
        y = centred * scale.reshape(per_channel)  # gamma * xhat
        if self.params["affine"]:
            y += weights["beta"].reshape(per_channel)
        return y, (centred, inv_std, batch_statistics)

    def backward(self, weights, cache, dy, needs, grads):
        centred, inv_std, batch_statistics = cache  # xhat = centred * inv_std
        dy3, per_channel = self._layout(dy)
        affine = self.params["affine"]
        if affine:
            dbeta = channel_sums(dy3, out=grads["beta"])
            dgamma = np.multiply(channel_dots(dy, centred), inv_std, out=grads["gamma"])  # sum dy * xhat
        if not needs[0]:
            return [None]
        scale = weights["gamma"] * inv_std if affine else inv_std
        if not batch_statistics:
            return [dy * scale.reshape(per_channel)]
        if not affine:
            dbeta, dgamma = channel_sums(dy3), channel_dots(dy, centred) * inv_std
        count = dy3.shape[0] * dy3.shape[2]
        # gamma / sigma * (dy - dbeta / M - xhat * dgamma / M), with xhat = centred / sigma
        dx = dy * scale.reshape(per_channel)
        dx -= centred * (scale * inv_std * dgamma / count).reshape(per_channel)
        dx -= (scale * dbeta / count).reshape(per_channel)
        return [dx]

    def flops(self):
        return 4 * math.prod(self.out_shape)  # subtract, scale, multiply by gamma, add beta

    def export_onnx(self, emit, step):
        if self.params.get("use_global_stats") is False:
            raise GraphnnError("use_global_stats false normalises by each batch's own statistics at inference too; "
                               "ONNX's BatchNormalization (inference) uses the running ones", node=step.name,
                               op=self.name)
        channels = self.in_shapes[0][0]
        affine = [emit.weight(step, "gamma"), emit.weight(step, "beta")] if self.params["affine"] else \
            [emit.constant(f"{step.name}.gamma", np.ones(channels, np.float32)),
             emit.constant(f"{step.name}.beta", np.zeros(channels, np.float32))]
        inputs = [step.inputs[0], *affine,
                  emit.weight(step, "running_mean", emit.state), emit.weight(step, "running_var", emit.state)]
        emit.node("BatchNormalization", inputs, step.name, step.name, epsilon=float(self.params["epsilon"]),
                  momentum=float(self.params["momentum"]))
