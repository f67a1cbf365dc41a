"""Pooling, NCHW.   x: (N, C, H, W) -> y: (N, C, Ho, Wo), each channel on its own.

- ``maxpool2d``: y[n, c, p, q] = max_{i, j} xp[n, c, p*sh + i, q*sw + j], xp padded with -inf;
  dx routes each dy to the position of its window's maximum (ties: the first in row-major order only).
- ``avgpool2d``: y = the window's mean, xp padded with zeros that count in the mean (Caffe's and
  PyTorch's default, count_include_pad); dx spreads dy / (kh*kw) over the window.
- ``global_avgpool``: (N, C, H, W) -> (N, C), y = mean over H and W; dx = dy / (H*W) everywhere.

Output size: floor, as PyTorch and Keras (not Caffe's ceil): Ho = floor((H + 2*ph - kh) / sh) + 1, so
every window lies inside the padded input. ``stride`` defaults to the kernel (windows that tile the
input); padding must be smaller than the kernel, so every window holds at least one real pixel.
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

    def geometry(self, in_shape):
        """(kernel, stride, pads, (Ho, Wo)); pads = (top, bottom, left, right)."""
        kernel = pair(self.params["kernel"])
        stride = pair(self.params.get("stride", self.params["kernel"]))
        ph, pw = pair(self.params["padding"])
        pads = (ph, ph, pw, pw)
        out_hw = tuple(output_size(n, k, s, 1, 2 * p) for n, k, s, p in zip(in_shape[1:], kernel, stride, (ph, pw)))
        return kernel, stride, pads, out_hw

    def infer_shape(self, in_shapes):
        in_shape = spatial_input(self.name, in_shapes)
        kernel, _, pads, out_hw = self.geometry(in_shape)
        if pads[0] >= kernel[0] or pads[2] >= kernel[1]:
            raise ShapeError(f"padding {pads[0]}x{pads[2]} must be smaller than the kernel {kernel[0]}x{kernel[1]}")
        check_fits(in_shape, kernel, NO_DILATION, pads)
        return in_shape[:1] + out_hw

    def flops(self, in_shapes, out_shape):
        kh, kw = pair(self.params["kernel"])
        return kh * kw * math.prod(out_shape)

    def window_view(self, x, pad_value):
        """(kernel, read-only view (N, C, kh, kw, Ho, Wo) of every window of x padded with pad_value)."""
        kernel, stride, pads, out_hw = self.geometry(x.shape[1:])
        return kernel, windows(pad(x, pads, pad_value), kernel, stride, NO_DILATION, out_hw)

    def scatter(self, x_shape, part, dtype):
        """dx (N, C, H, W) = sum over kernel offsets (i, j) of part(i, j) (N, C, Ho, Wo) put back in place."""
        kernel, stride, pads, out_hw = self.geometry(x_shape[1:])
        dxp = np.zeros(x_shape[:2] + (x_shape[2] + 2 * pads[0], x_shape[3] + 2 * pads[2]), dtype)
        return unpad(add_windows(dxp, kernel, stride, NO_DILATION, out_hw, part), pads)


@register
class MaxPool2D(_Pool2D):
    name = "maxpool2d"

    def forward(self, weights, xs, ctx):
        (x,) = xs
        kernel, view = self.window_view(x, -np.inf)
        y = view[:, :, 0, 0].copy()  # (N, C, Ho, Wo)
        arg_type = np.min_scalar_type(kernel[0] * kernel[1] - 1)
        argmax = np.zeros(y.shape, arg_type)  # row-major offset i*kw + j of each window's maximum
        for offset in range(1, kernel[0] * kernel[1]):
            candidate = view[:, :, offset // kernel[1], offset % kernel[1]]
            # offsets grow, so a strictly larger candidate's offset is the largest seen: max() records it
            np.maximum(argmax, np.multiply(candidate > y, offset, dtype=arg_type), out=argmax)
            np.maximum(y, candidate, out=y)
        return y, (x.shape, argmax)

    def backward(self, weights, cache, dy):
        x_shape, argmax = cache
        kw = pair(self.params["kernel"])[1]
        return [self.scatter(x_shape, lambda i, j: dy * (argmax == i * kw + j), dy.dtype)], {}


@register
class AvgPool2D(_Pool2D):
    name = "avgpool2d"

    def forward(self, weights, xs, ctx):
        (x,) = xs
        kernel, view = self.window_view(x, 0.0)
        y = view[:, :, 0, 0].copy()  # (N, C, Ho, Wo)
        for offset in range(1, kernel[0] * kernel[1]):
            y += view[:, :, offset // kernel[1], offset % kernel[1]]
        y *= 1.0 / (kernel[0] * kernel[1])
        return y, x.shape

    def backward(self, weights, cache, dy):
        kh, kw = pair(self.params["kernel"])
        share = dy * (1.0 / (kh * kw))
        return [self.scatter(cache, lambda i, j: share, dy.dtype)], {}


@register
class GlobalAvgPool(Op):
    name = "global_avgpool"
    examples = ({"params": {}, "inputs": [(3, 2, 3)]},)

    def infer_shape(self, in_shapes):
        return spatial_input("global_avgpool", in_shapes)[:1]

    def forward(self, weights, xs, ctx):
        (x,) = xs
        return x.mean(axis=(2, 3)), x.shape  # (N, C, H, W) -> (N, C)

    def backward(self, weights, cache, dy):
        h, w = cache[2:]
        dx = np.empty(cache, dy.dtype)
        dx[...] = (dy * (1.0 / (h * w)))[:, :, None, None]
        return [dx], {}

    def flops(self, in_shapes, out_shape):
        return math.prod(in_shapes[0])
