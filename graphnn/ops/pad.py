"""Padding of the sample axes:   x: (N, L_1, ..., L_r) -> y: (N, L_1 + b_1 + e_1, ..., L_r + b_r + e_r).

``pads`` gives [begin, end] for each sample axis; ``mode`` says what the new positions hold:

- ``constant``: ``value`` (default 0)                  [1 2 3] padded (2, 2) -> [0 0 1 2 3 0 0]
- ``reflect``:  the input mirrored, the edge not repeated  -> [3 2 1 2 3 2 1]   (each pad < L)
- ``edge``:     the edge value repeated                    -> [1 1 1 2 3 3 3]
- ``wrap``:     the input repeated around                  -> [2 3 1 2 3 1 2]

Each output position reads one input position (or the constant), so dx[j] = the sum of dy over the
output positions that read j: the middle of dy, plus (reflect, edge, wrap) the pads folded back onto it.

ONNX: Pad(x, pads [0, b_1, ..., b_r, 0, e_1, ..., e_r], value) with mode (wrap from opset 19); imported
from Pad (pads, constant_value and axes inputs; a batch axis left unpadded).
"""

import numpy as np

from graphnn.errors import GraphnnError, ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.onnx_hooks import ints, optional_input
from graphnn.ops.registry import register

MODES = ("constant", "reflect", "edge", "wrap")


def sources(size, begin, end, mode):
    """For each output position along one axis, the input position it reads (-1: the constant)."""
    positions = np.arange(-begin, size + end)
    if mode == "constant":
        return np.where((positions >= 0) & (positions < size), positions, -1)
    if mode == "edge":
        return np.clip(positions, 0, size - 1)
    if mode == "wrap":
        return np.mod(positions, size)
    period = 2 * (size - 1)  # reflect: ... 2 1 [0 1 2 ... L-1] L-2 ...
    if period == 0:
        return np.zeros_like(positions)
    folded = np.mod(positions, period)
    return np.where(folded < size, folded, period - folded)


@register
class Pad(Op):
    name = "pad"
    params_schema = object_schema({
        "pads": {"type": "array", "minItems": 1,
                 "items": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2},
                 "description": "[begin, end] for each sample axis, in order."},
        "mode": {"enum": list(MODES), "default": "constant"},
        "value": {"type": "number", "default": 0.0, "description": "What constant padding holds."},
    }, required=["pads"])
    onnx_imports = ("Pad",)
    examples = (
        {"params": {"pads": [[1, 2]]}, "inputs": [(3,)]},
        {"params": {"pads": [[0, 0], [1, 1], [2, 0]], "value": 1.5}, "inputs": [(2, 2, 3)]},
        {"params": {"pads": [[2, 1], [0, 2]], "mode": "reflect"}, "inputs": [(3, 3)]},
        {"params": {"pads": [[1, 0], [3, 2]], "mode": "edge"}, "inputs": [(2, 2)]},
    )

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        pads, mode = [tuple(p) for p in self.params["pads"]], self.params["mode"]
        if len(pads) != len(shape):
            raise ShapeError(f"pads {self.params['pads']} give {len(pads)} [begin, end] pairs; input shape {shape} "
                             f"has {len(shape)} axes")
        if mode == "reflect" and any(max(p) >= size for p, size in zip(pads, shape) if max(p)):
            raise ShapeError(f"reflect pads {self.params['pads']} must be smaller than the axes of input shape {shape}")
        self.pads = tuple(pads)
        self.sources = tuple(sources(size, begin, end, mode) for size, (begin, end) in zip(shape, pads))
        return tuple(size + begin + end for size, (begin, end) in zip(shape, pads))

    def forward(self, weights, xs, ctx):
        (x,) = xs
        mode = self.params["mode"]
        if mode == "constant":
            return np.pad(x, ((0, 0), *self.pads), constant_values=self.params["value"]), None
        return np.pad(x, ((0, 0), *self.pads), mode=mode), None  # numpy's reflect and edge are ONNX's

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        if self.params["mode"] == "constant":
            return [dy[(slice(None),) + tuple(slice(b, b + size) for (b, _), size in
                                              zip(self.pads, self.in_shapes[0]))].copy()]
        dx = dy
        for axis, (size, index) in enumerate(zip(self.in_shapes[0], self.sources), start=1):
            folded = np.zeros(dx.shape[:axis] + (size,) + dx.shape[axis + 1:], dy.dtype)
            np.add.at(np.moveaxis(folded, axis, 0), index, np.moveaxis(dx, axis, 0))
            dx = folded
        return [dx]

    def export_onnx(self, emit, step):
        pads = [0] + [b for b, _ in self.pads] + [0] + [e for _, e in self.pads]
        inputs = [step.inputs[0], emit.constant(f"{step.name}.pads", np.asarray(pads, np.int64))]
        if self.params["mode"] == "constant" and self.params["value"] != 0:
            inputs.append(emit.constant(f"{step.name}.value", np.float32(self.params["value"])))
        if self.params["mode"] == "wrap" and getattr(emit, "opset", 17) < 19:
            raise GraphnnError("Pad's mode wrap needs opset 19 or newer", node=step.name, op=self.name)
        emit.node("Pad", inputs, step.name, step.name, mode=self.params["mode"])

    @classmethod
    def import_onnx(cls, importer, node, a):
        x = importer.tensor(node, 0)
        mode = a.get("mode", "constant")
        if mode not in MODES:
            importer.fail(f"mode {mode!r} is not supported; graphnn pads {', '.join(MODES)}", node)
        pads = ints(importer, node, 1, "pads", a)
        rank = len(importer.onnx_shape(x))
        axes = ints(importer, node, 3, "axes", a) or list(range(rank))
        if len(pads) != 2 * len(axes):
            importer.fail(f"pads {pads}: expected {2 * len(axes)} values for axes {axes}", node)
        if min(pads) < 0:
            importer.fail(f"pads {pads}: negative pads (cropping) are not supported", node)
        per_axis = {axis % rank: (begin, end) for axis, begin, end in zip(axes, pads[:len(axes)], pads[len(axes):])}
        if importer.batched and per_axis.pop(0, (0, 0)) != (0, 0):
            importer.batch_axis(f"pads {pads} pad the batch axis", node)
        offset = 0 if importer.batched else 1
        sample = range(1, len(importer.shapes[x]) + 1)
        params = {"pads": [list(per_axis.get(axis - offset, (0, 0))) for axis in sample]}
        value = optional_input(importer, node, 2)
        if value is None:
            value = a.get("value")
        if mode == "constant" and value is not None and float(np.asarray(value).reshape(-1)[0]) != 0:
            params["value"] = float(np.asarray(value, np.float64).reshape(-1)[0])
        importer.add(node, "pad", [x], mode=mode, **params)
