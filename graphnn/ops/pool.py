"""Pooling over 1, 2 or 3 spatial axes, channels first.   x: (N, C, L_1, ..., L_d) -> y: (N, C, o_1, ..., o_d),
each channel on its own (``maxpool1d/2d/3d``, ``avgpool1d/2d/3d``).

- ``maxpool``: y[n, c, p] = max_i xp[n, c, p*s + i*dil], xp padded with -inf; dx routes each dy to the
  position of its window's maximum (ties: the first in row-major order only).
- ``avgpool``: y = the window's sum / count, xp padded with zeros; count is the window size (padding
  counted: ``count_include_pad``, Caffe's and PyTorch's default) or the number of the window's taps that
  lie inside the input (ONNX's default); dx spreads dy / count over the window.
- ``global_avgpool``: (N, C, H, W) -> (N, C), y = mean over H and W; dx = dy / (H*W) everywhere.

Output size: o = floor((L + pad_begin + pad_end - dil*(k-1) - 1) / s) + 1, as PyTorch and Keras; with
``ceil_mode`` (Caffe's rule, ONNX's and PyTorch's option) the last partial window counts too, unless it
would start past the input and the begin padding. ``stride`` defaults to the kernel (windows that tile
the input); padding must be smaller than the kernel, and every window must hold at least one input value.

ONNX: MaxPool / AveragePool with pads [begin..., end...] (ceil_mode and dilations written when set,
AveragePool's dilations from opset 19; count_include_pad always); GlobalAveragePool followed by a Flatten named after the node, which gives (N, C).
MaxPool and AveragePool import through ``import_onnx`` (auto_pad resolved to pads).
"""

import itertools
import math

import numpy as np

from graphnn.errors import GraphnnError, ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.conv import (
    add_windows,
    as_tuple,
    by,
    check_fits,
    onnx_pads,
    onnx_window_pads,
    output_size,
    overlapping,
    pad,
    padding_param,
    padding_schema,
    resolve_padding,
    sizes_schema,
    spatial_input,
    unpad,
    window_targets,
    windows,
)
from graphnn.ops.registry import register


def taps_inside(size, kernel, stride, dilation, begin, out, low, high):
    """Per output position along one axis: how many of its window's taps p*s - begin + i*dil lie in [low, high)."""
    taps = np.arange(out)[:, None] * stride - begin + np.arange(kernel)[None, :] * dilation  # (o, k)
    return ((taps >= low) & (taps < high)).sum(axis=1)


def pool_schema(dims, average):
    properties = {
        "kernel": sizes_schema(dims, 1, "Window size"),
        "stride": sizes_schema(dims, 1, "Stride (default: the kernel size)"),
        "padding": padding_schema(dims, same=False, description="Padding"),
    }
    properties["dilation"] = sizes_schema(dims, 1, "Dilation (spacing of window taps)", default=1)
    properties["ceil_mode"] = {"type": "boolean", "default": False,
                               "description": "Round the output size up: a last partial window counts too."}
    if average:
        properties["count_include_pad"] = {
            "type": "boolean", "default": True,
            "description": "Divide by the window size, padding included (else by the taps inside the input)."}
    return object_schema(properties, required=["kernel"])


class _Pool(Op):
    """What max and average pooling share: parameters, geometry, shape inference, FLOPs, ONNX."""

    dims = 2
    average = False

    def infer_shape(self, in_shapes):
        in_shape = spatial_input(self.name, in_shapes, self.dims)
        size = in_shape[1:]
        self.kernel = as_tuple(self.params["kernel"], self.dims)
        self.stride = as_tuple(self.params.get("stride", self.params["kernel"]), self.dims)
        self.dilation = as_tuple(self.params.get("dilation", 1), self.dims)
        self.pads = resolve_padding(self.params["padding"], size, self.kernel, self.stride, self.dilation)
        ceil = self.params["ceil_mode"]
        out = []
        for n, k, s, d, (begin, end) in zip(size, self.kernel, self.stride, self.dilation, self.pads):
            o = output_size(n, k, s, d, begin + end, ceil)
            out.append(o - 1 if ceil and (o - 1) * s >= n + begin else o)  # the last window starts inside
        self.out_size = tuple(out)
        if any(b >= k or e >= k for (b, e), k in zip(self.pads, self.kernel)):
            begins, ends = by(b for b, _ in self.pads), by(e for _, e in self.pads)
            padding = begins if begins == ends else f"{begins} (begin), {ends} (end)"
            raise ShapeError(f"padding {padding} must be smaller than the kernel {by(self.kernel)}")
        check_fits(in_shape, self.kernel, self.dilation, self.pads)
        # the buffer the windows read: the padding, plus what a ceil_mode window reaches past it
        self.buffer_pads = tuple((b, max(e, (o - 1) * s + d * (k - 1) + 1 - n - b))
                                 for n, k, s, d, o, (b, e) in zip(size, self.kernel, self.stride, self.dilation,
                                                                  self.out_size, self.pads))
        inside = [taps_inside(n, k, s, d, b, o, 0, n) for n, k, s, d, o, (b, _) in
                  zip(size, self.kernel, self.stride, self.dilation, self.out_size, self.pads)]
        if any(not counts.all() for counts in inside):
            raise ShapeError(f"a window of kernel {by(self.kernel)} with these strides, dilations and padding "
                             f"holds no value of input shape {in_shape}")
        self.counts = None  # the divisor of each output position (average), when not the window size
        if self.average:
            if self.params["count_include_pad"]:
                inside = [taps_inside(n, k, s, d, b, o, -b, n + e) for n, k, s, d, o, (b, e) in
                          zip(size, self.kernel, self.stride, self.dilation, self.out_size, self.pads)]
            counts = math.prod(np.ix_(*inside))
            if (counts != math.prod(self.kernel)).any():
                self.counts = counts.astype(np.float64)
        return in_shape[:1] + self.out_size

    def flops(self):
        return math.prod(self.kernel) * math.prod(self.out_shape)

    def window_view(self, x, pad_value):
        """Read-only view (N, C, k..., o...) of every window of x padded with pad_value."""
        return windows(pad(x, self.buffer_pads, pad_value), self.kernel, self.stride, self.dilation, self.out_size)

    def offsets(self):
        """The kernel offsets (d-tuples) in row-major order."""
        return itertools.product(*(range(k) for k in self.kernel))

    def gradient_buffer(self, n, dtype):
        """Zeros of the padded input's shape (N, C, Lp...): what backward adds the windows' parts into."""
        (c, *size) = self.in_shapes[0]
        return np.zeros((n, c, *(s + b + e for s, (b, e) in zip(size, self.buffer_pads))), dtype)

    def scatter(self, n, part, dtype):
        """dx (N, C, L...) = sum over kernel offsets i of part(i) (N, C, o...) put back in place."""
        dxp = self.gradient_buffer(n, dtype)
        return unpad(add_windows(dxp, self.kernel, self.stride, self.dilation, self.out_size, part),
                     self.buffer_pads)

    def export_onnx(self, emit, step):
        attributes, pads = dict(self.onnx_attributes), self.pads
        if self.params["ceil_mode"]:
            attributes["ceil_mode"] = 1
            size = self.in_shapes[0][1:]
            if self.out_size != tuple(output_size(n, k, s, d, b + e, True) for n, k, s, d, (b, e) in
                                      zip(size, self.kernel, self.stride, self.dilation, self.pads)):
                # ONNX's shape inference keeps a last window that starts past the input (onnxruntime drops
                # it, as graphnn): write the same windows in floor mode, the end padding reaching the last one
                del attributes["ceil_mode"]
                pads = self.buffer_pads
                if any(e >= k for (_, e), k in zip(pads, self.kernel)) or (
                        self.average and self.params["count_include_pad"] and pads != self.pads):
                    raise GraphnnError("ceil_mode here drops a last window that ONNX's shape inference keeps, and "
                                       "no padding in floor mode gives the same windows", node=step.name, op=self.name)
        if any(d != 1 for d in self.dilation):
            attributes["dilations"] = list(self.dilation)
            if self.average and getattr(emit, "opset", 17) < 19:
                raise GraphnnError("AveragePool takes dilations from opset 19 on; export with opset 19 or newer",
                                   node=step.name, op=self.name)
        if self.average:
            attributes["count_include_pad"] = int(self.params["count_include_pad"])
        emit.node(self.onnx_type, step.inputs, step.name, step.name, kernel_shape=list(self.kernel),
                  strides=list(self.stride), pads=onnx_pads(pads), **attributes)

    @classmethod
    def import_onnx(cls, importer, node, a):
        """MaxPool / AveragePool -> {max,avg}pool{d}d by the input's rank; pads resolved."""
        x = importer.tensor(node, 0)
        in_shape = importer.shapes[x]
        dims, kernel = len(in_shape) - 1, [int(k) for k in a.get("kernel_shape", [])]
        if dims not in (1, 2, 3) or len(kernel) != dims:
            importer.fail(f"kernel_shape {kernel} on input shape (N, {', '.join(map(str, in_shape))}): graphnn "
                          "pools over 1, 2 or 3 spatial axes", node)
        stride, dilation = list(a.get("strides", [1] * dims)), list(a.get("dilations", [1] * dims))
        if a.get("storage_order", 0):
            importer.fail("storage_order=1 (column-major indices) is not supported", node)
        pads = onnx_window_pads(importer, node, a, in_shape[1:], kernel, stride, dilation)
        params = {"kernel": kernel, "stride": stride, "padding": padding_param(pads)}
        if a.get("ceil_mode", 0):
            params["ceil_mode"] = True
        average = node.op_type == "AveragePool"
        params["dilation"] = dilation
        if average and (any(b or e for b, e in pads) or params.get("ceil_mode")):
            params["count_include_pad"] = bool(a.get("count_include_pad", 0))
        importer.add(node, f"{'avg' if average else 'max'}pool{dims}d", [x], **params)


class _MaxPool(_Pool):
    onnx_type, onnx_attributes = "MaxPool", {}

    def forward(self, weights, xs, ctx):
        (x,) = xs
        train = ctx is not None and ctx.train
        y, argmax = self.maxima(x, track=train)
        return y, (x, argmax)  # inference tracks no argmax: a backward after it finds them again from x

    def maxima(self, x, track=True):
        """y (N, C, o...), each window's maximum, and (with ``track``) argmax, the row-major offset of the
        first tap that holds it (None without)."""
        view, lead = self.window_view(x, -np.inf), (slice(None),) * 2
        offsets = list(self.offsets())
        y = view[lead + offsets[0]].copy()  # (N, C, o...)
        if not track:
            for offset in offsets[1:]:
                np.maximum(y, view[lead + offset], out=y)
            return y, None
        arg_type = np.min_scalar_type(len(offsets) - 1)
        argmax = np.zeros(y.shape, arg_type)
        larger, marked = np.empty(y.shape, bool), np.empty(y.shape, arg_type)
        for index, offset in enumerate(offsets[1:], start=1):
            candidate = view[lead + offset]
            np.greater(candidate, y, out=larger)  # strictly: of tied maxima, the first offset is kept
            # offsets grow, so a strictly larger candidate's offset is the largest seen: max() records it
            np.maximum(argmax, np.multiply(larger, index, out=marked, dtype=arg_type), out=argmax)
            np.maximum(y, candidate, out=y)
        return y, argmax

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        x, argmax = cache
        if argmax is None:
            argmax = self.maxima(x)[1]
        dxp = self.gradient_buffer(len(dy), dy.dtype)
        overlap, here = overlapping(self.kernel, self.stride, self.dilation), np.empty(argmax.shape, bool)
        for index, target in enumerate(window_targets(dxp, self.kernel, self.stride, self.dilation, self.out_size)):
            np.equal(argmax, index, out=here)  # dx[window tap] += dy where that tap held the maximum
            if overlap:
                target += dy * here
            else:  # each pixel in one window: written once
                np.multiply(dy, here, out=target)
        return [unpad(dxp, self.buffer_pads)]


class _AvgPool(_Pool):
    onnx_type, onnx_attributes = "AveragePool", {}
    average = True

    def forward(self, weights, xs, ctx):
        (x,) = xs
        view = self.window_view(x, 0.0)
        offsets = list(self.offsets())
        y = view[(slice(None),) * 2 + offsets[0]].copy()  # (N, C, o...)
        for offset in offsets[1:]:
            y += view[(slice(None),) * 2 + offset]
        if self.counts is None:
            y *= 1.0 / math.prod(self.kernel)
        else:
            y /= self.counts.astype(y.dtype)
        return y, None

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        share = dy * (1.0 / math.prod(self.kernel)) if self.counts is None else dy / self.counts.astype(dy.dtype)
        return [self.scatter(len(dy), lambda offset: share, dy.dtype)]


@register
class MaxPool1D(_MaxPool):
    name, dims = "maxpool1d", 1
    params_schema = pool_schema(1, average=False)
    examples = (
        {"params": {"kernel": 2}, "inputs": [(2, 5)]},
        {"params": {"kernel": 3, "stride": 2, "padding": [[1, 0]], "dilation": 2, "ceil_mode": True},
         "inputs": [(1, 8)]},
    )


@register
class MaxPool2D(_MaxPool):
    name, dims = "maxpool2d", 2
    params_schema = pool_schema(2, average=False)
    onnx_imports = ("MaxPool",)  # any number of spatial axes: import_onnx picks maxpool1d, 2d or 3d
    examples = (
        {"params": {"kernel": 2}, "inputs": [(2, 4, 4)]},
        {"params": {"kernel": 3, "stride": 2, "padding": 1}, "inputs": [(1, 5, 5)]},
        {"params": {"kernel": [2, 3], "stride": [1, 2]}, "inputs": [(1, 3, 5)]},
        {"params": {"kernel": 2, "stride": 2, "ceil_mode": True, "padding": [[0, 1], [1, 0]]},
         "inputs": [(1, 5, 4)]},
        {"params": {"kernel": 2, "stride": 1, "dilation": [2, 1]}, "inputs": [(2, 4, 3)]},
    )


@register
class MaxPool3D(_MaxPool):
    name, dims = "maxpool3d", 3
    params_schema = pool_schema(3, average=False)
    examples = (
        {"params": {"kernel": 2}, "inputs": [(1, 2, 4, 4)]},
        {"params": {"kernel": [1, 2, 2], "stride": [1, 2, 1], "padding": [0, 1, 0], "ceil_mode": True},
         "inputs": [(2, 2, 3, 3)]},
    )


@register
class AvgPool1D(_AvgPool):
    name, dims = "avgpool1d", 1
    params_schema = pool_schema(1, average=True)
    examples = (
        {"params": {"kernel": 2}, "inputs": [(2, 5)]},
        {"params": {"kernel": 3, "stride": 2, "padding": 1, "count_include_pad": False, "ceil_mode": True},
         "inputs": [(1, 6)]},
    )


@register
class AvgPool2D(_AvgPool):
    name, dims = "avgpool2d", 2
    params_schema = pool_schema(2, average=True)
    onnx_imports = ("AveragePool",)  # any number of spatial axes: import_onnx picks avgpool1d, 2d or 3d
    examples = (
        {"params": {"kernel": 2}, "inputs": [(2, 4, 4)]},
        {"params": {"kernel": 3, "stride": 2, "padding": 1}, "inputs": [(1, 5, 5)]},
        {"params": {"kernel": [2, 3], "stride": [1, 2]}, "inputs": [(1, 3, 5)]},
        {"params": {"kernel": 3, "stride": 2, "padding": [[1, 0], [0, 1]], "count_include_pad": False},
         "inputs": [(1, 5, 4)]},
        {"params": {"kernel": 2, "stride": 2, "ceil_mode": True}, "inputs": [(2, 3, 5)]},
    )


@register
class AvgPool3D(_AvgPool):
    name, dims = "avgpool3d", 3
    params_schema = pool_schema(3, average=True)
    examples = (
        {"params": {"kernel": 2}, "inputs": [(1, 2, 4, 4)]},
        {"params": {"kernel": [2, 2, 1], "stride": 1, "padding": [1, 0, 0], "count_include_pad": False},
         "inputs": [(2, 2, 2, 3)]},
    )


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
