"""2-D convolution (cross-correlation, as in Caffe and PyTorch), NCHW.

    x: (N, C, H, W),  W: (F, C/g, kh, kw),  b: (F,)  ->  y: (N, F, Ho, Wo)
    y[n, f, p, q] = b[f] + sum_{c, i, j} W[f, c, i, j] * xp[n, g(f)*C/g + c, p*sh + i*dh, q*sw + j*dw]

where xp is x zero-padded, g(f) is the group of filter f (groups split channels and filters into g
independent convolutions) and Ho = floor((H + pad_top + pad_bottom - dh*(kh-1) - 1) / sh) + 1 (Wo alike).
``padding`` is a number, [ph, pw], ``"valid"`` (no padding) or ``"same"`` (TensorFlow's rule: Ho =
ceil(H / sh), the odd padding pixel at the bottom/right).

im2col: the input, padded and transposed to (C, Hp, Wp, N) in one copy, is seen through a strided view
of every window (no copy), copied once into the column matrix cols (g, K = C/g*kh*kw, Ho*Wo*N), and one
(batched over groups) matrix product gives y:

    y = W (g, F/g, K) @ cols (g, K, Ho*Wo*N);   dW = dy @ cols.T;   dcols = W.T @ dy;
    dx = col2im(dcols): each kernel offset (i, j) adds its slice of dcols into the padded gradient.

Keeping the batch as the last axis inside the op makes the innermost runs of the im2col copy and of the
col2im additions Wo*N long instead of Wo, which makes both several times faster for small images.

ONNX: Conv with explicit pads [top, left, bottom, right] ("same" resolved as here).
The helpers here (``pair``, ``pad``, ``windows``, ``add_windows``) serve the pooling ops too, and
``same_padding`` the ONNX importer (SAME_UPPER / SAME_LOWER).
"""

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from graphnn.errors import ShapeError
from graphnn.ops.base import TRAINABLE_PROPERTIES, Op, object_schema, reshaped
from graphnn.ops.fillers import FILLER_SCHEMA, fill
from graphnn.ops.registry import register


def int_or_pair(minimum, what, **extra):
    """Schema of a size written as one integer or [for height, for width], each >= ``minimum``."""
    whole = {"type": "integer", "minimum": minimum}
    return {"description": f"{what}: an integer or [height, width], each >= {minimum}.",
            "oneOf": [whole, {"type": "array", "items": whole, "minItems": 2, "maxItems": 2}], **extra}


def pair(value):
    """An int or a 2-list as (height, width)."""
    return (value, value) if isinstance(value, int) else tuple(value)


def spatial_input(op_name, in_shapes):
    """(C, H, W) of a single image-shaped input, or a ShapeError that shows what came in."""
    (shape,) = in_shapes
    if len(shape) != 3:
        raise ShapeError(f"{op_name} expects (channels, height, width) per sample; got input shape {shape}")
    return shape


def output_size(size, kernel, stride, dilation, pad_total):
    """Positions a (dilated) kernel takes along one axis; below 1 when it does not fit."""
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def same_padding(size, kernel, stride, dilation):
    """(before, after) zero padding of one axis that gives ceil(size / stride) outputs (TensorFlow's
    "same"); an odd pixel goes after (ONNX's SAME_UPPER; SAME_LOWER swaps the two)."""
    total = max((-(-size // stride) - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def check_fits(in_shape, kernel, dilation, pads):
    """Raise ShapeError unless the (dilated) kernel fits inside the padded input."""
    _, h, w = in_shape
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padded = (h + pads[0] + pads[1], w + pads[2] + pads[3])
    if span[0] > padded[0] or span[1] > padded[1]:
        dilated = f" (dilated to {span[0]}x{span[1]})" if span != tuple(kernel) else ""
        raise ShapeError(f"kernel {kernel[0]}x{kernel[1]}{dilated} does not fit input shape {in_shape} "
                         f"padded to {padded[0]}x{padded[1]}")


def pad(x, pads, value=0.0, batch_last=False):
    """x (N, C, H, W) padded by pads = (top, bottom, left, right) with ``value``: (N, C, Hp, Wp), x itself
    when there is no padding; with ``batch_last``, always a new contiguous (C, Hp, Wp, N) array."""
    top, bottom, left, right = pads
    n, c, h, w = x.shape
    if batch_last:
        x = x.transpose(1, 2, 3, 0)  # (C, H, W, N), a view
        shape, axis = (c, h + top + bottom, w + left + right, n), 1
    elif not any(pads):
        return x
    else:
        shape, axis = (n, c, h + top + bottom, w + left + right), 2
    xp = np.full(shape, value, x.dtype) if any(pads) else np.empty(shape, x.dtype)
    xp[(slice(None),) * axis + (slice(top, top + h), slice(left, left + w))] = x
    return xp


def unpad(dxp, pads, axis=2):
    """The part of a padded gradient that belongs to the unpadded input (a view); the height axis is ``axis``."""
    top, bottom, left, right = pads
    height, width = dxp.shape[axis:axis + 2]
    return dxp[(slice(None),) * axis + (slice(top, height - bottom), slice(left, width - right))]


def windows(xp, kernel, stride, dilation, out_hw, axis=2):
    """Read-only view of every window of xp, whose height and width are axes ``axis`` and ``axis + 1``:
    they become (kh, kw, Ho, Wo). For xp (N, C, Hp, Wp), the view is (N, C, kh, kw, Ho, Wo) with
    view[n, c, i, j, p, q] = xp[n, c, p*sh + i*dh, q*sw + j*dw]. Nothing is copied."""
    sh, sw = xp.strides[axis:axis + 2]
    shape = xp.shape[:axis] + tuple(kernel) + tuple(out_hw) + xp.shape[axis + 2:]
    strides = (xp.strides[:axis] + (sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1])
               + xp.strides[axis + 2:])
    return as_strided(xp, shape, strides, writeable=False)


def add_windows(dxp, kernel, stride, dilation, out_hw, part, axis=2):
    """col2im, the adjoint of ``windows``: for every kernel offset (i, j), with height and width at axes
    ``axis`` and ``axis + 1``, e.g. for (N, C, Hp, Wp): dxp[n, c, p*sh + i*dh, q*sw + j*dw] += part(i, j)[n, c, p, q].

    One vectorised addition per offset (kh*kw of them); overlapping windows accumulate. When windows do
    not overlap (span <= stride, e.g. 2x2 pooling with stride 2) each pixel is written once, so dxp must
    start at zero and parts are assigned rather than added."""
    (ho, wo), (sh, sw), (dh, dw) = out_hw, stride, dilation
    overlap = dh * (kernel[0] - 1) + 1 > sh or dw * (kernel[1] - 1) + 1 > sw
    lead = (slice(None),) * axis
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            target = dxp[lead + (slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
                                 slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))]
            if overlap:
                target += part(i, j)
            else:
                target[...] = part(i, j)
    return dxp


@register
class Conv2D(Op):
    name = "conv2d"
    params_schema = object_schema({
        "filters": {"type": "integer", "minimum": 1, "description": "Number of output channels F."},
        "kernel": int_or_pair(1, "Kernel size"),
        "stride": int_or_pair(1, "Stride", default=1),
        "padding": {"description": 'Zero padding: an integer, [height, width] (each >= 0), "valid" (none) or '
                                   '"same" (output size = ceil(input / stride)).',
                    "oneOf": [{"type": "integer", "minimum": 0},
                              {"type": "array", "items": {"type": "integer", "minimum": 0},
                               "minItems": 2, "maxItems": 2},
                              {"enum": ["same", "valid"]}],
                    "default": 0},
        "dilation": int_or_pair(1, "Dilation (spacing of kernel taps)", default=1),
        "groups": {"type": "integer", "minimum": 1, "default": 1,
                   "description": "Split channels and filters into this many independent groups."},
        "bias": {"type": "boolean", "default": True, "description": "Add a learned bias b per filter."},
        "init": {**FILLER_SCHEMA, "default": "xavier"},
        "bias_init": {**FILLER_SCHEMA, "default": "constant"},
        **TRAINABLE_PROPERTIES,
    }, required=["filters", "kernel"])

    examples = (
        {"params": {"filters": 2, "kernel": 3}, "inputs": [(1, 5, 5)]},
        {"params": {"filters": 3, "kernel": [2, 3], "stride": 2, "padding": 1}, "inputs": [(2, 5, 6)]},
        {"params": {"filters": 2, "kernel": 3, "padding": "same", "dilation": 2, "bias": False},
         "inputs": [(1, 6, 5)]},
        {"params": {"filters": 2, "kernel": 3, "stride": [2, 3], "padding": "same", "init": "msra"},
         "inputs": [(1, 6, 7)]},
        {"params": {"filters": 4, "kernel": 2, "groups": 2, "stride": [1, 2], "padding": [0, 1]},
         "inputs": [(4, 3, 4)]},
    )

    def infer_shape(self, in_shapes):
        in_shape = spatial_input("conv2d", in_shapes)
        channels, filters, groups = in_shape[0], self.params["filters"], self.params["groups"]
        if channels % groups or filters % groups:
            raise ShapeError(f"groups={groups} must divide both the input channels ({channels}, input shape "
                             f"{in_shape}) and filters ({filters})")
        self.kernel, self.stride, self.dilation = (pair(self.params[key]) for key in ("kernel", "stride", "dilation"))
        padding, size = self.params["padding"], in_shape[1:]
        if padding == "same":
            (top, bottom), (left, right) = (same_padding(*axis) for axis in zip(size, self.kernel, self.stride,
                                                                                 self.dilation))
        else:
            top, left = (0, 0) if padding == "valid" else pair(padding)
            bottom, right = top, left
        self.pads = (top, bottom, left, right)
        check_fits(in_shape, self.kernel, self.dilation, self.pads)
        self.out_hw = tuple(output_size(n, k, s, d, total) for n, k, s, d, total in
                            zip(size, self.kernel, self.stride, self.dilation, (top + bottom, left + right)))
        return (filters,) + self.out_hw

    def declare_weights(self):
        filters, channels = self.params["filters"], self.in_shapes[0][0]
        shapes = {"W": (filters, channels // self.params["groups"], *self.kernel)}
        if self.params["bias"]:
            shapes["b"] = (filters,)
        return shapes

    def init_weights(self, rng, dtype):
        filters, per_group, kh, kw = self.weight_shapes["W"]
        fan_in, fan_out = per_group * kh * kw, filters // self.params["groups"] * kh * kw
        weights = {"W": fill(self.params["init"], self.weight_shapes["W"], fan_in, fan_out, rng, dtype)}
        if self.params["bias"]:
            weights["b"] = fill(self.params["bias_init"], self.weight_shapes["b"], fan_in, fan_out, rng, dtype)
        return weights

    def forward(self, weights, xs, ctx):
        (x,) = xs
        n, (ho, wo) = len(x), self.out_hw
        w, groups = weights["W"], self.params["groups"]
        filters = len(w)
        xp = pad(x, self.pads, batch_last=True)  # (C, Hp, Wp, N): batch last, so that rows of cols are long
        view = windows(xp, self.kernel, self.stride, self.dilation, (ho, wo), axis=1)  # (C, kh, kw, Ho, Wo, N)
        cols = np.ascontiguousarray(view).reshape(groups, -1, ho * wo * n)  # (g, K, Ho*Wo*N), K = C/g*kh*kw
        y = w.reshape(groups, filters // groups, -1) @ cols  # (g, F/g, K) @ (g, K, Ho*Wo*N)
        y = y.reshape(filters, ho, wo, n).transpose(3, 0, 1, 2)  # (N, F, Ho, Wo), a view
        out = np.empty(y.shape, y.dtype)
        if "b" in weights:
            np.add(y, weights["b"].reshape(filters, 1, 1), out=out)
        else:
            np.copyto(out, y)
        return out, cols

    def backward(self, weights, cache, dy, needs, grads):
        cols, w, groups = cache, weights["W"], self.params["groups"]
        filters = len(w)
        dy_last = np.ascontiguousarray(dy.transpose(1, 2, 3, 0)).reshape(groups, filters // groups, -1)
        # (g, F/g, HoWoN) @ (g, HoWoN, K) -> (g, F/g, K), written into grads["W"] (F, C/g, kh, kw)
        np.matmul(dy_last, cols.transpose(0, 2, 1), out=reshaped(grads["W"], (groups, filters // groups, -1)))
        if "b" in grads:
            dy_last.reshape(filters, -1).sum(axis=1, out=grads["b"])
        if not needs[0]:
            return [None]
        n, ((channels, h, wd), (top, bottom, left, right)) = len(dy), (self.in_shapes[0], self.pads)
        dcols = w.reshape(groups, filters // groups, -1).transpose(0, 2, 1) @ dy_last  # (g, K, F/g) @ (g, F/g, HoWoN)
        dcols = dcols.reshape(channels, *self.kernel, *self.out_hw, n)  # (C, kh, kw, Ho, Wo, N)
        dxp = np.zeros((channels, h + top + bottom, wd + left + right, n), dcols.dtype)
        add_windows(dxp, self.kernel, self.stride, self.dilation, self.out_hw, lambda i, j: dcols[:, i, j], axis=1)
        return [np.ascontiguousarray(unpad(dxp, self.pads, axis=1).transpose(3, 0, 1, 2))]

    def flops(self):
        kh, kw = self.kernel
        return 2 * (self.in_shapes[0][0] // self.params["groups"]) * kh * kw * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        top, bottom, left, right = self.pads
        inputs = [step.inputs[0], emit.weight(step, "W")] + ([emit.weight(step, "b")] if "b" in self.weight_shapes
                                                             else [])
        emit.node("Conv", inputs, step.name, step.name, kernel_shape=list(self.kernel), strides=list(self.stride),
                  dilations=list(self.dilation), pads=[top, left, bottom, right], group=self.params["groups"])
