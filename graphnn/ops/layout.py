"""Layout: the same values, moved (the batch, axis 0, stays where it is; axes are counted from it).

- ``transpose``: y = x with its sample axes permuted: y.shape[i] = x.shape[perm[i - 1]] for axes i >= 1
  (perm is a permutation of 1..r);                                    dx = dy permuted back.
- ``squeeze``:   the size-1 ``axes`` removed (default: every size-1 axis);   dx = dy reshaped back.
- ``unsqueeze``: size-1 axes inserted so that they are ``axes`` of the output;   dx = dy reshaped back.
- ``slice``:     x[..., start:end:step, ...] on each of ``axes`` (Python's rules: negative positions count
  from the end, out-of-range ones are clamped; ``steps`` default 1);   dx = zeros with dy in the slice.

ONNX: Transpose(perm with 0 first), Squeeze(x, axes), Unsqueeze(x, axes), Slice(x, starts, ends, axes,
steps). Imported from those, and Split as one slice per output.
"""

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.onnx_hooks import ints
from graphnn.ops.registry import register

AXIS = {"type": "integer", "minimum": 1}
AXES = {"type": "array", "items": AXIS, "minItems": 1, "uniqueItems": True}


def check_axes(axes, rank, what="axes"):
    """Raise ShapeError unless every axis in ``axes`` is one of 1..rank."""
    bad = [axis for axis in axes if axis > rank]
    if bad:
        raise ShapeError(f"{what} {list(axes)}: axis {bad[0]} does not exist in a sample of {rank} axes")


class _Reshaping(Op):
    """An op whose output is its input reshaped (squeeze, unsqueeze): a view both ways."""

    def forward(self, weights, xs, ctx):
        (x,) = xs
        return x.reshape((len(x),) + self.out_shape), None

    def backward(self, weights, cache, dy, needs, grads):
        return [dy.reshape((len(dy),) + self.in_shapes[0]) if needs[0] else None]

    def export_onnx(self, emit, step):
        if not self.axes:  # nothing to remove (ONNX's Squeeze without axes would squeeze the batch too)
            emit.node("Identity", step.inputs, step.name, step.name)
            return
        axes = emit.constant(f"{step.name}.axes", np.asarray(self.axes, np.int64))
        emit.node(self.onnx_type, [step.inputs[0], axes], step.name, step.name)


@register
class Transpose(Op):
    name = "transpose"
    params_schema = object_schema({
        "perm": {"type": "array", "items": AXIS, "minItems": 1, "uniqueItems": True,
                 "description": "Output axis i (i >= 1) is input axis perm[i - 1]; a permutation of 1..r."},
    }, required=["perm"])
    onnx_imports = ("Transpose",)
    examples = ({"params": {"perm": [2, 1]}, "inputs": [(2, 3)]},
                {"params": {"perm": [2, 3, 1]}, "inputs": [(2, 3, 4)]})

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        perm = self.params["perm"]
        if sorted(perm) != list(range(1, len(shape) + 1)):
            raise ShapeError(f"perm {perm} is not a permutation of the sample axes 1..{len(shape)} of input "
                             f"shape {shape}")
        return tuple(shape[axis - 1] for axis in perm)

    def forward(self, weights, xs, ctx):
        (x,) = xs
        return x.transpose(0, *self.params["perm"]), None

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        return [dy.transpose(0, *(int(i) + 1 for i in np.argsort(self.params["perm"])))]

    def export_onnx(self, emit, step):
        emit.node("Transpose", step.inputs, step.name, step.name, perm=[0, *self.params["perm"]])

    @classmethod
    def import_onnx(cls, importer, node, a):
        x = importer.tensor(node, 0)
        rank = len(importer.onnx_shape(x))
        perm = list(a.get("perm", range(rank - 1, -1, -1)))
        if importer.batched:
            if perm[:1] != [0]:
                importer.batch_axis(f"perm {perm} moves the batch axis", node)
            perm = perm[1:]
        else:
            perm = [axis + 1 for axis in perm]
        importer.add(node, "transpose", [x], perm=perm)


@register
class Squeeze(_Reshaping):
    name, onnx_type = "squeeze", "Squeeze"
    params_schema = object_schema({
        "axes": {**AXES, "description": "The size-1 axes to remove, counting the batch as axis 0 (default: every "
                                        "size-1 axis)."},
    })
    onnx_imports = ("Squeeze",)
    examples = ({"params": {}, "inputs": [(1, 3, 1)]}, {"params": {"axes": [3]}, "inputs": [(2, 1, 1)]})

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        axes = self.params.get("axes")
        if axes is None:
            axes = [axis for axis, size in enumerate(shape, start=1) if size == 1]
        check_axes(axes, len(shape))
        if any(shape[axis - 1] != 1 for axis in axes):
            raise ShapeError(f"axes {axes} of input shape {shape} do not all have size 1")
        self.axes = tuple(sorted(axes))
        return tuple(size for axis, size in enumerate(shape, start=1) if axis not in self.axes)

    @classmethod
    def import_onnx(cls, importer, node, a):
        x = importer.tensor(node, 0)
        axes = ints(importer, node, 1, "axes", a)
        params = {} if axes is None else {"axes": [importer.to_axis(node, axis, x) for axis in axes]}
        importer.add(node, "squeeze", [x], **params)


@register
class Unsqueeze(_Reshaping):
    name, onnx_type = "unsqueeze", "Unsqueeze"
    params_schema = object_schema({
        "axes": {**AXES, "description": "Where the new size-1 axes are in the output, counting the batch as axis 0."},
    }, required=["axes"])
    onnx_imports = ("Unsqueeze",)
    examples = ({"params": {"axes": [1]}, "inputs": [(3,)]}, {"params": {"axes": [3, 1]}, "inputs": [(2, 3)]})

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        self.axes = tuple(sorted(self.params["axes"]))
        rank = len(shape) + len(self.axes)
        check_axes(self.axes, rank)
        sizes = iter(shape)
        return tuple(1 if axis in self.axes else next(sizes) for axis in range(1, rank + 1))

    @classmethod
    def import_onnx(cls, importer, node, a):
        x = importer.tensor(node, 0)
        axes = ints(importer, node, 1, "axes", a) or []
        rank = len(importer.onnx_shape(x)) + len(axes)  # axes count in the output
        resolved = []
        for axis in axes:
            if not -rank <= axis < rank:
                importer.fail(f"axes {axes}: {axis} is out of range for the rank-{rank} output", node)
            axis %= rank
            if importer.batched and axis == 0:
                importer.batch_axis(f"axes {axes} put a new axis before the batch", node)
            resolved.append(axis if importer.batched else axis + 1)
        importer.add(node, "unsqueeze", [x], axes=resolved)


@register
class Slice(Op):
    name = "slice"
    params_schema = object_schema({
        "axes": {**AXES, "description": "The axes sliced, counting the batch as axis 0."},
        "starts": {"type": "array", "items": {"type": "integer"}, "minItems": 1,
                   "description": "First position on each axis (negative: from the end)."},
        "ends": {"type": "array", "items": {"type": "integer"}, "minItems": 1,
                 "description": "Position after the last on each axis (negative: from the end; clamped)."},
        "steps": {"type": "array", "items": {"type": "integer", "not": {"const": 0}}, "minItems": 1,
                  "description": "Step on each axis (default 1; negative: backwards)."},
    }, required=["axes", "starts", "ends"])
    onnx_imports = ("Slice", "Split")
    examples = ({"params": {"axes": [1], "starts": [1], "ends": [3]}, "inputs": [(4,)]},
                {"params": {"axes": [2, 1], "starts": [0, -2], "ends": [-1, 100], "steps": [2, 1]},
                 "inputs": [(3, 5)]},
                {"params": {"axes": [2], "starts": [-1], "ends": [-100], "steps": [-2]}, "inputs": [(2, 4)]})

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        p = self.params
        axes, steps = p["axes"], p.get("steps", [1] * len(p["axes"]))
        if not len(axes) == len(p["starts"]) == len(p["ends"]) == len(steps):
            raise ShapeError(f"axes {axes}, starts {p['starts']}, ends {p['ends']} and steps {steps} must have "
                             "one entry per sliced axis")
        check_axes(axes, len(shape))
        index, out = [slice(None)] * (len(shape) + 1), list(shape)
        for axis, start, end, step in zip(axes, p["starts"], p["ends"], steps):
            start, end, step = slice(start, end, step).indices(shape[axis - 1])
            out[axis - 1] = len(range(start, end, step))
            if not out[axis - 1]:
                raise ShapeError(f"slice {p['starts']}:{p['ends']} of axis {axis} (size {shape[axis - 1]}) of "
                                 f"input shape {shape} is empty")
            index[axis] = slice(start, end if end >= 0 else None, step)
        self.index = tuple(index)
        return tuple(out)

    def forward(self, weights, xs, ctx):
        (x,) = xs
        return x[self.index], None

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        dx = np.zeros((len(dy),) + self.in_shapes[0], dy.dtype)
        dx[self.index] = dy
        return [dx]

    def export_onnx(self, emit, step):
        p = self.params
        inputs = [emit.constant(f"{step.name}.{key}", np.asarray(p.get(key, [1] * len(p["axes"])), np.int64))
                  for key in ("starts", "ends", "axes", "steps")]
        emit.node("Slice", [step.inputs[0], *inputs], step.name, step.name)

    @classmethod
    def import_onnx(cls, importer, node, a):
        if node.op_type == "Split":
            return split(importer, node, a)
        x = importer.tensor(node, 0)
        starts, ends = ints(importer, node, 1, "starts", a), ints(importer, node, 2, "ends", a)
        axes = ints(importer, node, 3, "axes", a) or list(range(len(starts)))
        steps = ints(importer, node, 4, "steps", a) or [1] * len(starts)
        kept = {"axes": [], "starts": [], "ends": [], "steps": []}
        rank = len(importer.onnx_shape(x))
        for axis, start, end, step in zip(axes, starts, ends, steps):
            if importer.batched and axis % rank == 0 and (start, step) == (0, 1) and end >= 2**31 - 1:
                continue  # the whole batch: nothing to slice
            for key, value in zip(kept, (importer.to_axis(node, axis, x), start, end, step)):
                kept[key].append(value)
        if not kept["axes"]:
            importer.add(node, "activation", [x], function="identity")
            return
        if set(kept["steps"]) == {1}:
            del kept["steps"]
        importer.add(node, "slice", [x], **kept)


def split(importer, node, a):
    """ONNX Split: one slice node per used output, along ``axis``."""
    from graphnn.interop.onnx_import import sanitize

    x = importer.tensor(node, 0)
    axis = importer.axis(node, a, x, 0)
    size = importer.shapes[x][axis - 1]
    sizes = ints(importer, node, 1, "split", a)
    if sizes is None:
        count = int(a.get("num_outputs", len(node.output)))
        chunk = -(-size // count)
        sizes = [min(chunk, size - k * chunk) for k in range(count)]
    if sum(sizes) != size or len(sizes) != len(node.output) or min(sizes) < 0:
        importer.fail(f"split sizes {sizes} do not cut axis {axis} (size {size}) into {len(node.output)} outputs",
                      node)
    start = 0
    for output, (name, length) in enumerate(zip(node.output, sizes)):
        if name and length and importer.uses[name]:  # an output nothing reads would become a graph output
            base = f"{node.name}.{output}" if node.name else name
            importer.add(node, "slice", [x], name=importer.unique(sanitize(base)), output=output, axes=[axis],
                         starts=[start], ends=[start + length])
        start += length
