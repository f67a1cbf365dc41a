"""Convolution (cross-correlation, as in Caffe and PyTorch) over 1, 2 or 3 spatial axes, channels first.

    conv1d: x (N, C, L)        conv2d: x (N, C, H, W)        conv3d: x (N, C, D, H, W)
    W: (F, C/g, k_1, ..., k_d),  b: (F,)  ->  y: (N, F, o_1, ..., o_d)
    y[n, f, p] = b[f] + sum_{c, i} W[f, c, i] * xp[n, g(f)*C/g + c, p*s + i*dil]     (p, i, s, dil: d-tuples)

where xp is x zero-padded, g(f) is the group of filter f (groups split channels and filters into g
independent convolutions) and o = floor((L + pad_begin + pad_end - dil*(k-1) - 1) / s) + 1 on each axis.
``padding`` is a number (every side), [p_1, ..., p_d] (both sides of each axis), [[begin_1, end_1], ...,
[begin_d, end_d]] (each side on its own), ``"valid"`` (none) or ``"same"`` (TensorFlow's rule: o =
ceil(L / s), the odd padding pixel at the end).

im2col: the input, padded, is seen through a strided view of every window (no copy) and copied once into
the column matrix cols (g, K = C/g*prod(k), N*P), P = prod(o), whose columns run over the images and then
their positions, so that each image's (K, P) block is a matrix of its own; one product per image writes
y straight into the output's (N, F, o...) layout, and the bias is added in place:

    y[n] = W (g, F/g, K) @ cols[:, :, n] (g, K, P);   dW = sum_n dy[n] @ cols[:, :, n].T;
    dcols[n] = W.T @ dy[n];   dx = col2im(dcols): each kernel offset adds its slice of dcols into the
    padded gradient.

A 1x1 convolution with stride 1 and no padding needs no copy: x itself holds each image's columns.
The bias, and at inference the executor's epilogue (a following relu it alone feeds, see ForwardContext),
are applied to each block of the output as soon as its product is written (each image, for a 1x1
convolution with an epilogue), while the block is still in cache.
When an output row is short (o_d < SHORT_ROW) the copies' innermost runs would be short too, so the op
keeps the batch as the last axis inside instead: cols (g, K, P*N), one product y (F, P*N), moved to
(N, F, o...) at the end, and dW = dy (g, F/g, P*N) @ cols.T in one product; the im2col copy and the
col2im additions then run o_d*N long. Training keeps
the whole batch's cols for dW; inference (ctx.train False) builds them about COLUMN_BYTES at a time (a
few images, or bands of one image's output rows, each written into its rows of the output while the
columns are still in cache), and a backward after it rebuilds them from x.

Transposed convolution (``conv_transpose1d/2d/3d``, ONNX ConvTranspose, PyTorch ConvTranspose) is the
adjoint of that map, W: (C, F/g, k...):  y = crop(col2im(W.T @ x)) + b, whose full size per axis is
(L-1)*s + dil*(k-1) + 1 + output_padding and which ``padding`` (no "same") crops from both ends:
o = (L-1)*s - pad_begin - pad_end + dil*(k-1) + 1 + output_padding.  Backward: cols = im2col(dy padded
back), dx = W @ cols, dW = x @ cols.T.

ONNX: Conv / ConvTranspose with explicit pads [begin_1, ..., begin_d, end_1, ..., end_d] ("same"
resolved as here); both import through ``import_onnx`` (auto_pad, output_shape resolved to pads).
The helpers here (``as_tuple``, ``pad``, ``windows``, ``add_windows``, ``resolve_padding``) serve the
pooling ops too, and ``same_padding`` the ONNX importer (SAME_UPPER / SAME_LOWER).
"""

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from graphnn.errors import ShapeError
from graphnn.ops.base import TRAINABLE_PROPERTIES, Op, object_schema, reshaped
from graphnn.ops.fillers import FILLER_SCHEMA, fill
from graphnn.ops.registry import register
from graphnn.ops.sums import channel_sums

COLUMN_BYTES = 8 << 20  # inference builds conv's column matrix for about this many bytes at a time
SHORT_ROW = 16  # outputs per row below which conv keeps the batch as the last axis inside the op
AXES = {1: "length", 2: "height, width", 3: "depth, height, width"}


def sizes_schema(dims, minimum, what, **extra):
    """Schema of a size written as one integer or one per spatial axis, each >= ``minimum``."""
    whole = {"type": "integer", "minimum": minimum}
    return {"description": f"{what}: an integer or [{AXES[dims]}], each >= {minimum}.",
            "oneOf": [whole, {"type": "array", "items": whole, "minItems": dims, "maxItems": dims}], **extra}


def padding_schema(dims, same=True, description="Zero padding"):
    """Schema of padding: a number, one per axis, a [begin, end] pair per axis, or "valid"/"same"."""
    count = {"type": "integer", "minimum": 0}
    words = '"valid" (none) or "same" (output size = ceil(input / stride))' if same else '"valid" (none)'
    return {"description": f"{description}: an integer (every side), [{AXES[dims]}] (both sides of each axis), "
                           f"[[begin, end], ...] (one pair per axis, each >= 0), {words}.",
            "oneOf": [count, {"type": "array", "items": count, "minItems": dims, "maxItems": dims},
                      {"type": "array", "minItems": dims, "maxItems": dims,
                       "items": {"type": "array", "items": count, "minItems": 2, "maxItems": 2}},
                      {"enum": ["same", "valid"] if same else ["valid"]}],
            "default": 0}


def as_tuple(value, dims):
    """An int or a list of ``dims`` ints as a ``dims``-tuple."""
    return (value,) * dims if isinstance(value, int) else tuple(value)


def pair(value):
    """An int or a 2-list as (height, width)."""
    return as_tuple(value, 2)


def spatial_input(op_name, in_shapes, dims=2):
    """(C, L_1, ..., L_d) of a single input with ``dims`` spatial axes, or a ShapeError that shows what came in."""
    (shape,) = in_shapes
    if len(shape) != dims + 1:
        raise ShapeError(f"{op_name} expects (channels, {AXES[dims]}) per sample; got input shape {shape}")
    return shape


def output_size(size, kernel, stride, dilation, pad_total, ceil=False):
    """Positions a (dilated) kernel takes along one axis; below 1 when it does not fit. With ``ceil``, a
    last partial window counts when it starts inside the input or the begin padding (ONNX's and PyTorch's
    ceil_mode; the caller checks that start)."""
    span = size + pad_total - dilation * (kernel - 1) - 1
    return (-(-span // stride) if ceil else span // stride) + 1


def same_padding(size, kernel, stride, dilation):
    """(before, after) zero padding of one axis that gives ceil(size / stride) outputs (TensorFlow's
    "same"); an odd pixel goes after (ONNX's SAME_UPPER; SAME_LOWER swaps the two)."""
    total = max((-(-size // stride) - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding, size, kernel, stride, dilation):
    """((begin, end), ...) per spatial axis from a ``padding`` parameter (see ``padding_schema``)."""
    dims = len(size)
    if padding == "same":
        return tuple(same_padding(*axis) for axis in zip(size, kernel, stride, dilation))
    if padding == "valid":
        return ((0, 0),) * dims
    if isinstance(padding, int):
        return ((padding, padding),) * dims
    return tuple((p, p) if isinstance(p, int) else tuple(p) for p in padding)


def onnx_pads(pads):
    """ONNX's pads attribute [begin_1, ..., begin_d, end_1, ..., end_d] from ((begin, end), ...)."""
    return [begin for begin, _ in pads] + [end for _, end in pads]


def by(sizes):
    """(3, 3) -> '3x3'."""
    return "x".join(map(str, sizes))


def check_fits(in_shape, kernel, dilation, pads):
    """Raise ShapeError unless the (dilated) kernel fits inside the padded input."""
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    padded = tuple(n + begin + end for n, (begin, end) in zip(in_shape[1:], pads))
    if any(s > p for s, p in zip(span, padded)):
        dilated = f" (dilated to {by(span)})" if span != tuple(kernel) else ""
        raise ShapeError(f"kernel {by(kernel)}{dilated} does not fit input shape {in_shape} padded to {by(padded)}")


def pad(x, pads, value=0.0, batch_last=False):
    """x (N, C, L_1, ..., L_d) padded by pads = ((begin, end), ...) with ``value``: (N, C, Lp_1, ...), x
    itself when there is no padding; with ``batch_last``, always a new contiguous (C, Lp_1, ..., N) array."""
    n, c, *size = x.shape
    dims = len(size)
    padded = tuple(s + begin + end for s, (begin, end) in zip(size, pads))
    inner = tuple(slice(begin, begin + s) for s, (begin, _) in zip(size, pads))
    padding = any(begin or end for begin, end in pads)
    if batch_last:
        x = x.transpose(*range(1, dims + 2), 0)  # (C, L_1, ..., L_d, N), a view
        shape, axis = (c, *padded, n), 1
    elif not padding:
        return x
    else:
        shape, axis = (n, c, *padded), 2
    xp = np.full(shape, value, x.dtype) if padding else np.empty(shape, x.dtype)
    xp[(slice(None),) * axis + inner] = x
    return xp


def unpad(dxp, pads, axis=2):
    """The part of a padded gradient that belongs to the unpadded input (a view); spatial axes start at ``axis``."""
    sizes = dxp.shape[axis:axis + len(pads)]
    return dxp[(slice(None),) * axis + tuple(slice(begin, size - end) for size, (begin, end) in zip(sizes, pads))]


def windows(xp, kernel, stride, dilation, out_size, axis=2):
    """Read-only view of every window of xp, whose d spatial axes start at ``axis``: they become
    (k_1, ..., k_d, o_1, ..., o_d). For xp (N, C, Hp, Wp), the view is (N, C, kh, kw, Ho, Wo) with
    view[n, c, i, j, p, q] = xp[n, c, p*sh + i*dh, q*sw + j*dw]. Nothing is copied."""
    dims = len(kernel)
    spatial = xp.strides[axis:axis + dims]
    shape = xp.shape[:axis] + tuple(kernel) + tuple(out_size) + xp.shape[axis + dims:]
    strides = (xp.strides[:axis] + tuple(s * d for s, d in zip(spatial, dilation))
               + tuple(s * t for s, t in zip(spatial, stride)) + xp.strides[axis + dims:])
    return as_strided(xp, shape, strides, writeable=False)


def window_targets(dxp, kernel, stride, dilation, out_size, axis=2):
    """For every kernel offset i (a d-tuple, in row-major order), the strided view of dxp that the
    windows' tap i covers, the spatial axes from ``axis``: view(i)[n, c, p] = dxp[n, c, p*s + i*dil]."""
    lead = (slice(None),) * axis
    for offset in itertools.product(*(range(k) for k in kernel)):
        yield dxp[lead + tuple(slice(i * d, i * d + s * (o - 1) + 1, s)
                               for i, d, s, o in zip(offset, dilation, stride, out_size))]


def overlapping(kernel, stride, dilation):
    """Whether windows share pixels (span > stride on some axis)."""
    return any(d * (k - 1) + 1 > s for k, s, d in zip(kernel, stride, dilation))


def add_windows(dxp, kernel, stride, dilation, out_size, part, axis=2):
    """col2im, the adjoint of ``windows``: for every kernel offset i (a d-tuple, in row-major order), with
    the spatial axes from ``axis``, e.g. for (N, C, Hp, Wp): dxp[n, c, p*s + i*dil] += part(i)[n, c, p].

    One vectorised addition per offset (prod(k) of them); overlapping windows accumulate. When windows do
    not overlap (span <= stride on every axis, e.g. 2x2 pooling with stride 2) each pixel is written
    once, so dxp must start at zero and parts are assigned rather than added."""
    overlap = overlapping(kernel, stride, dilation)
    offsets = itertools.product(*(range(k) for k in kernel))
    for offset, target in zip(offsets, window_targets(dxp, kernel, stride, dilation, out_size, axis)):
        if overlap:
            target += part(offset)
        else:
            target[...] = part(offset)
    return dxp


def batch_first(a, dims):
    """(C, L_1, ..., L_d, N) -> (N, C, L_1, ..., L_d), a view."""
    return a.transpose(dims + 1, *range(dims + 1))


def batch_last(a, dims):
    """(N, C, L_1, ..., L_d) -> (C, L_1, ..., L_d, N), a view."""
    return a.transpose(*range(1, dims + 2), 0)


def conv_schema(dims, transposed=False):
    properties = {
        "filters": {"type": "integer", "minimum": 1, "description": "Number of output channels F."},
        "kernel": sizes_schema(dims, 1, "Kernel size"),
        "stride": sizes_schema(dims, 1, "Stride", default=1),
        "padding": padding_schema(dims, same=not transposed,
                                  description="Padding cropped from the output" if transposed else "Zero padding"),
    }
    if transposed:
        properties["output_padding"] = sizes_schema(
            dims, 0, "Extra outputs at the end of each axis (smaller than the stride or the dilation)", default=0)
    properties.update({
        "dilation": sizes_schema(dims, 1, "Dilation (spacing of kernel taps)", default=1),
        "groups": {"type": "integer", "minimum": 1, "default": 1,
                   "description": "Split channels and filters into this many independent groups."},
        "bias": {"type": "boolean", "default": True, "description": "Add a learned bias b per filter."},
        "init": {**FILLER_SCHEMA, "default": "xavier"},
        "bias_init": {**FILLER_SCHEMA, "default": "constant"},
        **TRAINABLE_PROPERTIES,
    })
    return object_schema(properties, required=["filters", "kernel"])


class _Convolution(Op):
    """What convolution and transposed convolution share: geometry, weights, fillers, ONNX import."""

    dims = 2

    def geometry(self, in_shapes):
        """(C, L...) of the input; sets kernel, stride and dilation (d-tuples) and checks the groups."""
        in_shape = spatial_input(self.name, in_shapes, self.dims)
        channels, filters, groups = in_shape[0], self.params["filters"], self.params["groups"]
        if channels % groups or filters % groups:
            raise ShapeError(f"groups={groups} must divide both the input channels ({channels}, input shape "
                             f"{in_shape}) and filters ({filters})")
        self.kernel, self.stride, self.dilation = (as_tuple(self.params[key], self.dims)
                                                   for key in ("kernel", "stride", "dilation"))
        return in_shape

    def init_weights(self, rng, dtype):
        shape, groups = self.weight_shapes["W"], self.params["groups"]
        taps = math.prod(self.kernel)
        channels, filters = self.in_shapes[0][0], self.params["filters"]
        fan_in, fan_out = (filters // groups * taps, channels // groups * taps) if self.transposed else \
            (channels // groups * taps, filters // groups * taps)
        weights = {"W": fill(self.params["init"], shape, fan_in, fan_out, rng, dtype)}
        if self.params["bias"]:
            weights["b"] = fill(self.params["bias_init"], self.weight_shapes["b"], fan_in, fan_out, rng, dtype)
        return weights

    def flops(self):
        """2 * (multiply-adds per output value) * outputs; for the transposed op, per input value * inputs."""
        groups, taps = self.params["groups"], math.prod(self.kernel)
        if self.transposed:
            return 2 * (self.params["filters"] // groups) * taps * math.prod(self.in_shapes[0])
        return 2 * (self.in_shapes[0][0] // groups) * taps * math.prod(self.out_shape)

    def onnx_inputs(self, emit, step):
        return [step.inputs[0], emit.weight(step, "W")] + ([emit.weight(step, "b")] if "b" in self.weight_shapes
                                                           else [])

    @classmethod
    def import_onnx(cls, importer, node, a):
        """Conv / ConvTranspose -> conv{d}d / conv_transpose{d}d by the weights' rank; pads resolved."""
        x = importer.tensor(node, 0)
        w = importer.constant(node, 1)
        dims = w.ndim - 2
        in_shape = importer.shapes[x]
        if dims not in (1, 2, 3) or len(in_shape) != dims + 1:
            importer.fail(f"weights of shape {w.shape} on input shape (N, {', '.join(map(str, in_shape))}): "
                          "graphnn convolves over 1, 2 or 3 spatial axes", node)
        if list(a.get("kernel_shape", w.shape[2:])) != list(w.shape[2:]):
            importer.fail(f"weights of shape {w.shape} do not fit kernel_shape {a.get('kernel_shape')}", node)
        kernel, groups = [int(k) for k in w.shape[2:]], int(a.get("group", 1))
        stride, dilation = list(a.get("strides", [1] * dims)), list(a.get("dilations", [1] * dims))
        b = importer.constant(node, 2, required=False)
        weights = {"W": w} if b is None else {"W": w, "b": b}
        extra = {} if b is not None else {"bias": False}
        transposed = node.op_type == "ConvTranspose"
        if transposed:
            output_padding = list(a.get("output_padding", [0] * dims))
            pads = transposed_pads(importer, node, a, in_shape[1:], kernel, stride, dilation, output_padding)
            extra["output_padding"] = output_padding
            filters = int(w.shape[1]) * groups
        else:
            pads = onnx_window_pads(importer, node, a, in_shape[1:], kernel, stride, dilation)
            same = tuple(same_padding(*axis) for axis in zip(in_shape[1:], kernel, stride, dilation))
            if pads == same and any(begin != end for begin, end in pads):
                pads = "same"  # TensorFlow's rule, as graphnn's "same": the odd pixel at the end
            filters = int(w.shape[0])
        name = f"conv_transpose{dims}d" if transposed else f"conv{dims}d"
        importer.add(node, name, [x], weights, filters=filters, kernel=kernel, stride=stride,
                     padding=padding_param(pads), dilation=dilation, groups=groups, **extra)


def padding_param(pads):
    """The shortest ``padding`` parameter for ((begin, end), ...) (or "same")."""
    if pads == "same":
        return pads
    if all(begin == end for begin, end in pads):
        sides = [begin for begin, _ in pads]
        return sides[0] if len(set(sides)) == 1 else sides
    return [list(p) for p in pads]


def onnx_window_pads(importer, node, a, size, kernel, stride, dilation):
    """((begin, end), ...) of a Conv or pooling node from ``pads`` or ``auto_pad``."""
    dims, auto = len(size), a.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        pads = list(a.get("pads", [0] * 2 * dims))
        if len(pads) != 2 * dims or min(pads) < 0:
            importer.fail(f"pads {pads}: expected {2 * dims} values >= 0 for {dims} spatial axes", node)
        return tuple(zip(pads[:dims], pads[dims:]))
    if auto == "VALID":
        return ((0, 0),) * dims
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        importer.fail(f"auto_pad {auto!r} is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER", node)
    pads = tuple(same_padding(*axis) for axis in zip(size, kernel, stride, dilation))
    return pads if auto == "SAME_UPPER" else tuple((end, begin) for begin, end in pads)


def transposed_pads(importer, node, a, size, kernel, stride, dilation, output_padding):
    """((begin, end), ...) of a ConvTranspose from ``pads``, or from ``output_shape`` / ``auto_pad`` as
    the ONNX operator's definition gives them (a negative end padding becomes more ``output_padding``, which
    this updates)."""
    dims, auto = len(size), a.get("auto_pad", "NOTSET")
    target = a.get("output_shape")
    if target is None and auto in ("NOTSET", "", "VALID"):
        pads = list(a.get("pads", [0] * 2 * dims)) if auto in ("NOTSET", "") else [0] * 2 * dims
        if len(pads) != 2 * dims or min(pads) < 0:
            importer.fail(f"pads {pads}: expected {2 * dims} values >= 0 for {dims} spatial axes", node)
        return tuple(zip(pads[:dims], pads[dims:]))
    if target is None:
        target = [n * s for n, s in zip(size, stride)]
    target = list(target)[-dims:]
    pads = []
    for axis, (n, k, s, d, extra, out) in enumerate(zip(size, kernel, stride, dilation, output_padding, target)):
        total = s * (n - 1) + extra + (k - 1) * d + 1 - out
        begin, end = (total // 2, total - total // 2) if auto == "SAME_UPPER" else (total - total // 2, total // 2)
        if end < 0:  # an output larger than the full one: extra (bias-only) outputs at the end
            output_padding[axis], end = extra - end, 0
        if begin < 0:
            importer.fail(f"output_shape {target} needs outputs before the first of this ConvTranspose", node)
        pads.append((begin, end))
    return tuple(pads)


class _Conv(_Convolution):
    transposed = False
    applies_epilogue = True

    def infer_shape(self, in_shapes):
        in_shape = self.geometry(in_shapes)
        self.pads = resolve_padding(self.params["padding"], in_shape[1:], self.kernel, self.stride, self.dilation)
        check_fits(in_shape, self.kernel, self.dilation, self.pads)
        self.out_size = tuple(output_size(n, k, s, d, begin + end) for n, k, s, d, (begin, end) in
                              zip(in_shape[1:], self.kernel, self.stride, self.dilation, self.pads))
        self.pointwise = set(self.kernel + self.stride) == {1} and not any(b or e for b, e in self.pads)
        self.batch_last = not self.pointwise and self.out_size[-1] < SHORT_ROW
        self.column_bytes = in_shape[0] * math.prod(self.kernel) * math.prod(self.out_size)  # per image, / itemsize
        return (self.params["filters"],) + self.out_size

    def declare_weights(self):
        filters, channels = self.params["filters"], self.in_shapes[0][0]
        shapes = {"W": (filters, channels // self.params["groups"], *self.kernel)}
        if self.params["bias"]:
            shapes["b"] = (filters,)
        return shapes

    def forward(self, weights, xs, ctx):
        (x,) = xs
        n, filters, groups = len(x), self.params["filters"], self.params["groups"]
        w = weights["W"].reshape(groups, filters // groups, -1)  # (g, F/g, K/g)
        out = np.empty((n, *self.out_shape), x.dtype)
        train, cols = ctx is not None and ctx.train, None
        bias = weights["b"].reshape((filters,) + (1,) * self.dims) if "b" in weights else None
        epilogue = ctx.epilogue if ctx is not None else None

        def finish(block):  # the bias, then the epilogue, on a block of the output while it is in cache
            if bias is not None:
                block += bias
            if epilogue is not None:
                epilogue(block)

        if self.pointwise:  # 1x1, stride 1, no padding: x itself holds each image's column matrix (K, P)
            x_rows, out_rows = x.reshape(n, groups, w.shape[2], -1), out.reshape(n, groups, w.shape[1], -1)
            step = 1 if epilogue is not None else max(n, 1)  # with an epilogue, one image at a time
            for start in range(0, n, step):
                np.matmul(w, x_rows[start:start + step], out=out_rows[start:start + step])
                finish(out[start:start + step])
        elif train:  # the whole batch's columns, kept for dW
            cols = self.columns(self.padded(x))
            self.product(w, cols, out)
            finish(out)
        else:  # columns for at most about COLUMN_BYTES at a time: a few images, or bands of one image's rows
            chunk = self.chunk(x.itemsize)
            for start in range(0, n, chunk):
                xp, part = self.padded(x[start:start + chunk]), out[start:start + chunk]
                for band in self.bands(x.itemsize):
                    self.product(w, self.columns(xp, band), part[(slice(None),) * 2 + (band,)])
                    finish(part[(slice(None),) * 2 + (band,)])
        return out, (x, cols)  # a backward after inference rebuilds the columns from x

    def chunk(self, itemsize):
        """Images per block of inference columns."""
        return max(1, COLUMN_BYTES // (itemsize * self.column_bytes))

    def bands(self, itemsize):
        """Slices of the first output axis per block of inference columns: bands of rows when one image's
        columns exceed COLUMN_BYTES (batch first only; all rows otherwise)."""
        rows = self.out_size[0]
        if self.batch_last or itemsize * self.column_bytes <= COLUMN_BYTES:
            return [slice(0, rows)]
        step = max(1, COLUMN_BYTES * rows // (itemsize * self.column_bytes))
        return [slice(start, start + step) for start in range(0, rows, step)]

    def padded(self, x):
        """x (N, C, L...) zero-padded: (N, C, Lp...), or with ``batch_last`` (C, Lp..., N)."""
        return pad(x, self.pads, batch_last=self.batch_last)

    def columns(self, xp, band=slice(None)):
        """im2col of the padded input xp (``padded``) for the outputs ``band`` of the first output axis:
        cols (C, k..., N, o...) with cols[c, i, n, p] = xp[n, c, p*s + i*dil]; with ``batch_last``,
        (C, k..., o..., N)."""
        dims = self.dims
        if self.batch_last:
            return np.ascontiguousarray(windows(xp, self.kernel, self.stride, self.dilation, self.out_size, axis=1))
        view = windows(xp, self.kernel, self.stride, self.dilation, self.out_size)  # (N, C, k..., o...)
        view = view[(slice(None),) * (dims + 2) + (band,)]
        return np.ascontiguousarray(view.transpose(1, *range(2, dims + 2), 0, *range(dims + 2, 2 * dims + 2)))

    def product(self, w, cols, out):
        """out (n, F, o...) = W (g, F/g, K/g) @ cols of the same n images and outputs (``columns``'s layout);
        out may be a band of the output's rows."""
        n, (groups, per_group, depth) = len(out), w.shape
        if self.batch_last:  # one product (g, F/g, P*n), then the batch moved first
            y = w @ cols.reshape(groups, depth, -1)
            np.copyto(out, batch_first(y.reshape(groups * per_group, *out.shape[2:], n), self.dims))
        else:  # one product per image (g, F/g, K/g) @ (K/g, P), written where the image's output goes
            np.matmul(w, cols.reshape(groups, depth, n, -1).transpose(2, 0, 1, 3),
                      out=reshaped(out, (n, groups, per_group, -1)))

    def backward(self, weights, cache, dy, needs, grads):
        (x, cols), groups, filters, dims = cache, self.params["groups"], self.params["filters"], self.dims
        n, w = len(dy), weights["W"].reshape(groups, filters // groups, -1)
        if cols is None:
            cols = self.columns(self.padded(x))
        dy_rows = dy.reshape(n, groups, w.shape[1], -1)  # (N, g, F/g, P)
        grad_w = reshaped(grads["W"], w.shape)  # (g, F/g, K/g) view of grads["W"] (F, C/g, k...)
        if self.batch_last:  # one product over all positions and images: (g, F/g, P*N) @ (g, P*N, K/g)
            dy_m = np.ascontiguousarray(batch_last(dy, dims)).reshape(w.shape[:2] + (-1,))
            np.matmul(dy_m, cols.reshape(groups, w.shape[2], -1).transpose(0, 2, 1), out=grad_w)
        else:  # per image, (g, F/g, P) @ (g, P, K/g), summed over the images (dy is not copied)
            image_cols = cols.reshape(groups, w.shape[2], n, -1).transpose(2, 0, 3, 1)  # (N, g, P, K/g)
            np.sum(np.matmul(dy_rows, image_cols), axis=0, out=grad_w)
        if "b" in grads:
            channel_sums(dy.reshape(n, filters, -1), out=grads["b"])
        if not needs[0]:
            return [None]
        (channels, *size), kernel, out_size = self.in_shapes[0], self.kernel, self.out_size
        padded = tuple(s + begin + end for s, (begin, end) in zip(size, self.pads))
        if self.batch_last:  # dcols = W.T @ dy (g, K/g, P*N); col2im with rows o_d*N long
            dcols = (w.transpose(0, 2, 1) @ dy_m).reshape(channels, *kernel, *out_size, n)  # (C, k..., o..., N)
            dxp = add_windows(np.zeros((channels, *padded, n), dy.dtype), kernel, self.stride, self.dilation,
                              out_size, lambda offset: dcols[(slice(None),) + offset], axis=1)
            return [np.ascontiguousarray(batch_first(unpad(dxp, self.pads, axis=1), dims))]
        dcols = np.matmul(w.transpose(0, 2, 1), dy_rows)  # (g, K/g, F/g) @ (N, g, F/g, P) -> (N, g, K/g, P)
        if self.pointwise:
            return [dcols.reshape(n, channels, *size)]
        dcols = dcols.reshape(n, channels, *kernel, *out_size)  # (N, C, k..., o...)
        dxp = add_windows(np.zeros((n, channels, *padded), dy.dtype), kernel, self.stride, self.dilation,
                          out_size, lambda offset: dcols[(slice(None),) * 2 + offset])
        return [np.ascontiguousarray(unpad(dxp, self.pads))]

    def export_onnx(self, emit, step):
        emit.node("Conv", self.onnx_inputs(emit, step), step.name, step.name, kernel_shape=list(self.kernel),
                  strides=list(self.stride), dilations=list(self.dilation), pads=onnx_pads(self.pads),
                  group=self.params["groups"])


@register
class Conv1D(_Conv):
    name, dims = "conv1d", 1
    params_schema = conv_schema(1)
    examples = (
        {"params": {"filters": 2, "kernel": 3}, "inputs": [(1, 6)]},
        {"params": {"filters": 4, "kernel": 2, "stride": 2, "padding": [[1, 2]], "dilation": 2, "groups": 2},
         "inputs": [(2, 7)]},
    )


@register
class Conv2D(_Conv):
    name, dims = "conv2d", 2
    params_schema = conv_schema(2)
    onnx_imports = ("Conv",)  # any number of spatial axes: import_onnx picks conv1d, conv2d or conv3d
    examples = (
        {"params": {"filters": 2, "kernel": 3}, "inputs": [(1, 5, 5)]},
        {"params": {"filters": 3, "kernel": [2, 3], "stride": 2, "padding": 1}, "inputs": [(2, 5, 6)]},
        {"params": {"filters": 2, "kernel": 3, "padding": "same", "dilation": 2, "bias": False},
         "inputs": [(1, 6, 5)]},
        {"params": {"filters": 2, "kernel": 3, "stride": [2, 3], "padding": "same", "init": "msra"},
         "inputs": [(1, 6, 7)]},
        {"params": {"filters": 4, "kernel": 2, "groups": 2, "stride": [1, 2], "padding": [0, 1]},
         "inputs": [(4, 3, 4)]},
        {"params": {"filters": 2, "kernel": [2, 2], "padding": [[1, 0], [0, 2]]}, "inputs": [(1, 3, 3)]},
    )


@register
class Conv3D(_Conv):
    name, dims = "conv3d", 3
    params_schema = conv_schema(3)
    examples = (
        {"params": {"filters": 2, "kernel": 2}, "inputs": [(1, 3, 3, 3)]},
        {"params": {"filters": 2, "kernel": [1, 2, 2], "stride": [1, 2, 1], "padding": [[0, 1], [1, 0], [1, 1]],
                    "dilation": [2, 1, 1], "groups": 2}, "inputs": [(2, 3, 3, 2)]},
    )


class _ConvTranspose(_Convolution):
    transposed = True

    def infer_shape(self, in_shapes):
        in_shape = self.geometry(in_shapes)
        self.output_padding = as_tuple(self.params["output_padding"], self.dims)
        self.pads = resolve_padding(self.params["padding"], in_shape[1:], self.kernel, self.stride, self.dilation)
        for extra, s, d in zip(self.output_padding, self.stride, self.dilation):
            if extra >= max(s, d):
                raise ShapeError(f"output_padding {by(self.output_padding)} must be smaller than the stride "
                                 f"{by(self.stride)} or the dilation {by(self.dilation)}")
        self.full_size = tuple((n - 1) * s + d * (k - 1) + 1 + extra for n, k, s, d, extra in
                               zip(in_shape[1:], self.kernel, self.stride, self.dilation, self.output_padding))
        out_size = tuple(full - begin - end for full, (begin, end) in zip(self.full_size, self.pads))
        if min(out_size) < 1:
            raise ShapeError(f"padding {self.params['padding']} crops the whole output {by(self.full_size)} "
                             f"of input shape {in_shape}")
        return (self.params["filters"],) + out_size

    def declare_weights(self):
        filters, channels = self.params["filters"], self.in_shapes[0][0]
        shapes = {"W": (channels, filters // self.params["groups"], *self.kernel)}
        if self.params["bias"]:
            shapes["b"] = (filters,)
        return shapes

    def crop(self, full, axis):
        """The output's part of a full-size array whose spatial axes start at ``axis`` (a view)."""
        return full[(slice(None),) * axis + tuple(slice(begin, begin + size) for (begin, _), size in
                                                  zip(self.pads, self.out_shape[1:]))]

    def forward(self, weights, xs, ctx):
        (x,) = xs
        n, dims, (channels, *size) = len(x), self.dims, self.in_shapes[0]
        w, groups, filters = weights["W"], self.params["groups"], self.params["filters"]
        x_last = np.ascontiguousarray(batch_last(x, dims)).reshape(groups, channels // groups, -1)  # (g, C/g, LN)
        cols = w.reshape(groups, channels // groups, -1).transpose(0, 2, 1) @ x_last  # (g, F/g*K, LN)
        cols = cols.reshape(filters, *self.kernel, *size, n)  # (F, k..., L..., N)
        full = np.zeros((filters, *self.full_size, n), cols.dtype)
        add_windows(full, self.kernel, self.stride, self.dilation, size,
                    lambda offset: cols[(slice(None),) + offset], axis=1)
        y = batch_first(self.crop(full, 1), dims)  # (N, F, o...), a view
        out = np.empty(y.shape, y.dtype)
        if "b" in weights:
            np.add(y, weights["b"].reshape((filters,) + (1,) * dims), out=out)
        else:
            np.copyto(out, y)
        return out, x_last

    def backward(self, weights, cache, dy, needs, grads):
        x_last, w, groups, dims = cache, weights["W"], self.params["groups"], self.dims
        n, (channels, *size), filters = len(dy), self.in_shapes[0], self.params["filters"]
        full = np.zeros((filters, *self.full_size, n), dy.dtype)
        self.crop(full, 1)[...] = batch_last(dy, dims)
        view = windows(full, self.kernel, self.stride, self.dilation, size, axis=1)  # (F, k..., L..., N)
        cols = np.ascontiguousarray(view).reshape(groups, -1, math.prod(size) * n)  # (g, F/g*K, LN)
        # (g, C/g, LN) @ (g, LN, F/g*K) -> (g, C/g, F/g*K), written into grads["W"] (C, F/g, k...)
        np.matmul(x_last, cols.transpose(0, 2, 1), out=reshaped(grads["W"], (groups, channels // groups, -1)))
        if "b" in grads:
            channel_sums(dy.reshape(n, filters, -1), out=grads["b"])
        if not needs[0]:
            return [None]
        dx = w.reshape(groups, channels // groups, -1) @ cols  # (g, C/g, F/g*K) @ (g, F/g*K, LN)
        return [np.ascontiguousarray(batch_first(dx.reshape(channels, *size, n), dims))]

    def export_onnx(self, emit, step):
        emit.node("ConvTranspose", self.onnx_inputs(emit, step), step.name, step.name,
                  kernel_shape=list(self.kernel), strides=list(self.stride), dilations=list(self.dilation),
                  pads=onnx_pads(self.pads), output_padding=list(self.output_padding), group=self.params["groups"])


@register
class ConvTranspose1D(_ConvTranspose):
    name, dims = "conv_transpose1d", 1
    params_schema = conv_schema(1, transposed=True)
    examples = (
        {"params": {"filters": 2, "kernel": 3, "stride": 2}, "inputs": [(1, 4)]},
        {"params": {"filters": 4, "kernel": 2, "stride": 3, "padding": [[1, 0]], "output_padding": 1,
                    "dilation": 2, "groups": 2}, "inputs": [(2, 3)]},
    )


@register
class ConvTranspose2D(_ConvTranspose):
    name, dims = "conv_transpose2d", 2
    params_schema = conv_schema(2, transposed=True)
    onnx_imports = ("ConvTranspose",)  # any number of spatial axes: import_onnx picks 1-D, 2-D or 3-D
    examples = (
        {"params": {"filters": 2, "kernel": 3}, "inputs": [(1, 3, 3)]},
        {"params": {"filters": 3, "kernel": [3, 2], "stride": 2, "padding": 1, "output_padding": [1, 0]},
         "inputs": [(2, 3, 2)]},
        {"params": {"filters": 4, "kernel": 2, "stride": [2, 1], "padding": [[0, 1], [1, 0]], "groups": 2,
                    "dilation": [1, 2], "bias": False}, "inputs": [(2, 2, 3)]},
    )


@register
class ConvTranspose3D(_ConvTranspose):
    name, dims = "conv_transpose3d", 3
    params_schema = conv_schema(3, transposed=True)
    examples = (
        {"params": {"filters": 2, "kernel": 2, "stride": 2}, "inputs": [(1, 2, 2, 2)]},
        {"params": {"filters": 2, "kernel": [2, 1, 2], "stride": [1, 2, 2], "padding": [[0, 1], [0, 0], [1, 0]],
                    "output_padding": [0, 1, 0]}, "inputs": [(2, 2, 2, 2)]},
    )
