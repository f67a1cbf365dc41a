"""Pooling, NCHW.   x: (N, C, H, W) -> y: (N, C, Ho, Wo), each channel on its own.

- ``maxpool2d``: y[n, c, p, q] = max_{i, j} xp[n, c, p*sh + i, q*sw + j], xp padded with -inf;
  dx routes each dy to the position of its window's maximum (ties: the first in row-major order only).
- ``avgpool2d``: y = the window's mean, xp padded with zeros that count in the mean (Caffe's and
  PyTorch's default, count_include_pad); dx spreads dy / (kh*kw) over the window.
- ``global_avgpool``: (N, C, H, W) -> (N, C), y = mean over H and W; dx = dy / (H*W) everywhere.

Output size: floor, as PyTorch and Keras (not Caffe's ceil): Ho = floor((H + 2*ph - kh) / sh) + 1, so
every window lies inside the padded input. ``stride`` defaults to the kernel (windows that tile the
input); padding must be smaller than the kernel, so every window holds at least one real pixel.

ONNX: MaxPool / AveragePool (floor mode, count_include_pad=1) with pads [top, left, bottom, right];
GlobalAveragePool followed by a Flatten named after the node, which gives (N, C).
"""

import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.conv import (
    add_windows,
    check_fits,
    int_or_pair,
    output_size,
    pad,
    pair,
    spatial_input,
    unpad,
    windows,
)
from graphnn.ops.registry import register

NO_DILATION = (1, 1)


class _Pool2D(Op):
    """What max and average pooling share: parameters, geometry, shape inference, FLOPs."""

    params_schema = object_schema({
        "kernel": int_or_pair(1, "Window size"),
        "stride": int_or_pair(1, "Stride (default: the kernel size)"),
        "padding": int_or_pair(0, "Padding on each side", default=0),
    }, required=["kernel"])

    examples = (
        {"params": {"kernel": 2}, "inputs": [(2, 4, 4)]},
        {"params": {"kernel": 3, "stride": 2, "padding": 1}, "inputs": [(1, 5, 5)]},
        {"params": {"kernel": [2, 3], "stride": [1, 2]}, "inputs": [(1, 3, 5)]},
    )

    def infer_shape(self, in_shapes):
        in_shape = spatial_input(self.name, in_shapes)
        self.kernel = pair(self.params["kernel"])
        self.stride = pair(self.params.get("stride", self.params["kernel"]))
        ph, pw = pair(self.params["padding"])
        self.pads = (ph, ph, pw, pw)  # (top, bottom, left, right)
        self.out_hw = tuple(output_size(n, k, s, 1, 2 * p)
                            for n, k, s, p in zip(in_shape[1:], self.kernel, self.stride, (ph, pw)))
        if ph >= self.kernel[0] or pw >= self.kernel[1]:
            raise ShapeError(f"padding {ph}x{pw} must be smaller than the kernel {self.kernel[0]}x{self.kernel[1]}")
        check_fits(in_shape, self.kernel, NO_DILATION, self.pads)
        return in_shape[:1] + self.out_hw

    def flops(self):
        return self.kernel[0] * self.kernel[1] * math.prod(self.out_shape)

    def window_view(self, x, pad_value):
        """Read-only view (N, C, kh, kw, Ho, Wo) of every window of x padded with pad_value."""
        return windows(pad(x, self.pads, pad_value), self.kernel, self.stride, NO_DILATION, self.out_hw)

    def scatter(self, n, part, dtype):
        """dx (N, C, H, W) = sum over kernel offsets (i, j) of part(i, j) (N, C, Ho, Wo) put back in place."""
        (c, h, w), (top, bottom, left, right) = self.in_shapes[0], self.pads
        dxp = np.zeros((n, c, h + top + bottom, w + left + right), dtype)
        return unpad(add_windows(dxp, self.kernel, self.stride, NO_DILATION, self.out_hw, part), self.pads)

    def export_onnx(self, emit, step):
        top, bottom, left, right = self.pads
        emit.node(self.onnx_type, step.inputs, step.name, step.name, kernel_shape=list(self.kernel),
                  strides=list(self.stride), pads=[top, left, bottom, right], **self.onnx_attributes)


@register
class MaxPool2D(_Pool2D):
    name = "maxpool2d"
    onnx_type, onnx_attributes = "MaxPool", {}

    def forward(self, weights, xs, ctx):
        (x,) = xs
        kernel, view = self.kernel, self.window_view(x, -np.inf)
        y = view[:, :, 0, 0].copy()  # (N, C, Ho, Wo)
        arg_type = np.min_scalar_type(kernel[0] * kernel[1] - 1)
        argmax = np.zeros(y.shape, arg_type)  # row-major offset i*kw + j of each window's maximum
        for offset in range(1, kernel[0] * kernel[1]):
            candidate = view[:, :, offset // kernel[1], offset % kernel[1]]
            # offsets grow, so a strictly larger candidate's offset is the largest seen: max() records it
            np.maximum(argmax, np.multiply(candidate > y, offset, dtype=arg_type), out=argmax)
            np.maximum(y, candidate, out=y)
        return y, argmax

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        argmax, kw = cache, self.kernel[1]
        return [self.scatter(len(dy), lambda i, j: dy * (argmax == i * kw + j), dy.dtype)]


@register
class AvgPool2D(_Pool2D):
    name = "avgpool2d"
    onnx_type, onnx_attributes = "AveragePool", {"count_include_pad": 1}

    def forward(self, weights, xs, ctx):
        (x,) = xs
        kernel, view = self.kernel, self.window_view(x, 0.0)
        y = view[:, :, 0, 0].copy()  # (N, C, Ho, Wo)
        for offset in range(1, kernel[0] * kernel[1]):
            y += view[:, :, offset // kernel[1], offset % kernel[1]]
        y *= 1.0 / (kernel[0] * kernel[1])
        return y, None

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        share = dy * (1.0 / (self.kernel[0] * self.kernel[1]))
        return [self.scatter(len(dy), lambda i, j: share, dy.dtype)]


@register
class GlobalAvgPool(Op):
    name = "global_avgpool"
    examples = ({"params": {}, "inputs": [(3, 2, 3)]},)

    def infer_shape(self, in_shapes):
        return spatial_input("global_avgpool", in_shapes)[:1]

    def forward(self, weights, xs, ctx):
        (x,) = xs
        return x.mean(axis=(2, 3)), None  # (N, C, H, W) -> (N, C)

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        h, w = self.in_shapes[0][1:]
        dx = np.empty((len(dy),) + self.in_shapes[0], dy.dtype)
        dx[...] = (dy * (1.0 / (h * w)))[:, :, None, None]
        return [dx]

    def flops(self):
        return math.prod(self.in_shapes[0])

    def export_onnx(self, emit, step):
        pooled = emit.fresh(f"{step.name}.pool")
        emit.node("GlobalAveragePool", step.inputs, pooled, pooled)
        emit.node("Flatten", [pooled], step.name, step.name, axis=1)
