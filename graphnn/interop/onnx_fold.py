"""Constant folding at import: an ONNX node whose inputs are all known becomes a constant, not a graphnn node.

Model-zoo files make their weights with ConstantOfShape; PyTorch's dynamic-batch exports compute reshape
targets with Shape -> Gather -> Unsqueeze -> Concat. The importer evaluates such nodes here, in NumPy,
when every input is a constant (an initializer, a Constant, or an earlier folded result), and ``Shape`` of
any tensor whose shape it knows. ``FOLDERS`` maps each ONNX op type that can be folded to a function
``(inputs, attributes) -> [outputs]`` following the ONNX operator's definition (opset 18 and newer).

**The batch size is left open.** graphnn's networks take any batch, so ``Shape`` of a batched tensor is an
object array whose first entry is ``BATCH``, e.g. ``[BATCH, 3, 32, 32]``. Ops that move entries around
(Gather, Slice, Concat, Unsqueeze, Squeeze, Reshape, Identity, Cast to an integer type) carry ``BATCH``
along, so a Reshape target ``[BATCH, -1]`` keeps the batch (PyTorch's ``x.view(x.size(0), -1)``).
Arithmetic on ``BATCH`` and a constant whose size depends on it are refused (``FoldError``).

Sizes are checked before anything is allocated: a folded tensor has at most ``limit`` elements (the
importer's remaining budget), whatever ConstantOfShape, Expand, Tile, Range or broadcasting ask for.
"""

import math

import numpy as np


class FoldError(Exception):
    """A node that cannot be folded; the message says why (the importer adds the file and node)."""


class _Batch:
    """The batch size inside a folded shape tensor: kept in place, never computed with."""

    def __repr__(self):
        return "N"

    def _refuse(self, *args):
        raise FoldError("computes with the batch size, which a graphnn network leaves open")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __neg__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = __int__ = __float__ = _refuse


BATCH = _Batch()


def symbolic(array):
    """Whether ``array`` holds the batch size (an object array with a BATCH entry)."""
    return isinstance(array, np.ndarray) and array.dtype == object


def settle(array):
    """An object array without BATCH entries as int64; anything else as it is."""
    if symbolic(array) and not any(value is BATCH for value in array.flat):
        return array.astype(np.int64)
    return array


def _size(shape, limit, what):
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        raise FoldError(f"{what} has a negative size in shape {shape}")
    if math.prod(shape) > limit:
        raise FoldError(f"{what} of shape {shape} has {math.prod(shape):,} elements; the import budget left is "
                        f"{limit:,}")
    return shape


def _ints(array, what):
    """A 1-D integer constant as a list of Python ints (refusing floats: a shape [0.5, 4.5] is an error)."""
    array = np.asarray(array)
    if symbolic(array):
        raise FoldError(f"{what} depends on the batch size")
    if array.dtype.kind not in "iu":
        raise FoldError(f"{what} must be integers; got {array.dtype} {array.reshape(-1)[:8].tolist()}")
    return [int(value) for value in array.reshape(-1)]


def _axis(axis, rank, what="axis"):
    if not -rank <= axis < max(rank, 1):
        raise FoldError(f"{what} {axis} is out of range for rank {rank}")
    return axis % rank if rank else 0


NUMPY_TYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
               9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64, 16: np.float32}


def _numpy_type(to):
    if to not in NUMPY_TYPES:
        raise FoldError(f"cannot cast to ONNX data type {to}")
    return NUMPY_TYPES[to]


# --- the folders: (inputs, attributes, limit) -> list of outputs ------------------------------------------

def constant_of_shape(xs, a, limit):
    shape = _size(_ints(xs[0], "the shape"), limit, "ConstantOfShape's output")
    value = a.get("value")
    value = np.zeros(1, np.float32) if value is None else value
    if value.size != 1:
        raise FoldError(f"value must hold one element; it has shape {value.shape}")
    return [np.full(shape, value.reshape(-1)[0], value.dtype)]


def cast(xs, a, limit):
    (x,) = xs
    target = _numpy_type(a.get("to", 1))
    if symbolic(x):
        if np.dtype(target).kind not in "iu":
            raise FoldError("casts the batch size to a non-integer type")
        return [x]
    return [x.astype(target)]


def reshape(xs, a, limit):
    x, shape = xs[0], _ints(xs[1], "the target shape")
    target = [x.shape[i] if d == 0 and not a.get("allowzero", 0) and i < x.ndim else d
              for i, d in enumerate(shape)]
    if target.count(-1) > 1:
        raise FoldError(f"target shape {shape} has more than one -1")
    return [x.reshape(target)]


def flatten(xs, a, limit):
    (x,) = xs
    axis = _axis(a.get("axis", 1), x.ndim + 1)
    return [x.reshape(math.prod(x.shape[:axis]), -1)]


def squeeze(xs, a, limit):
    x = xs[0]
    if len(xs) > 1 and xs[1] is not None:
        axes = tuple(_axis(d, x.ndim) for d in _ints(xs[1], "axes"))
    else:
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    if any(x.shape[i] != 1 for i in axes):
        raise FoldError(f"cannot squeeze axes {list(axes)} of shape {x.shape}")
    return [x.reshape([d for i, d in enumerate(x.shape) if i not in axes])]


def unsqueeze(xs, a, limit):
    x, axes = xs[0], _ints(xs[1], "axes")
    rank = x.ndim + len(axes)
    axes = sorted(_axis(d, rank) for d in axes)
    shape = list(x.shape)
    for axis in axes:
        shape.insert(axis, 1)
    return [x.reshape(shape)]


def concat(xs, a, limit):
    xs = [x for x in xs if x is not None]
    if "axis" not in a:
        raise FoldError("the attribute axis is missing")
    axis = _axis(a["axis"], xs[0].ndim)
    if any(x.ndim != xs[0].ndim for x in xs):
        raise FoldError(f"inputs of ranks {[x.ndim for x in xs]} cannot be joined")
    dtype = object if any(symbolic(x) for x in xs) else np.result_type(*xs)
    try:
        return [np.concatenate([x.astype(dtype) for x in xs], axis=axis)]
    except ValueError as error:
        raise FoldError(str(error)) from None


def gather(xs, a, limit):
    x, indices = xs
    index = np.asarray(_ints(indices, "indices"), np.int64).reshape(indices.shape)
    axis = _axis(a.get("axis", 0), x.ndim)
    size = x.shape[axis]
    if ((index < -size) | (index >= size)).any():
        raise FoldError(f"indices {index.reshape(-1)[:8].tolist()} are out of range for size {size}")
    _size(x.shape[:axis] + index.shape + x.shape[axis + 1:], limit, "Gather's output")
    return [np.take(x, index % size if size else index, axis=axis)]


def slice_op(xs, a, limit):
    x, starts, ends = xs[0], _ints(xs[1], "starts"), _ints(xs[2], "ends")
    axes = _ints(xs[3], "axes") if len(xs) > 3 and xs[3] is not None else list(range(len(starts)))
    steps = _ints(xs[4], "steps") if len(xs) > 4 and xs[4] is not None else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise FoldError("starts, ends, axes and steps must have one entry per sliced axis")
    index = [slice(None)] * x.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        axis = _axis(axis, x.ndim)
        index[axis] = python_slice(start, end, step, x.shape[axis])
    return [x[tuple(index)]]


def python_slice(start, end, step, size):
    """ONNX Slice's (start, end, step) on an axis of ``size``, clamped as ONNX says, as a Python slice."""
    if step == 0:
        raise FoldError("a slice step of 0")
    start, end = (start + size if start < 0 else start), (end + size if end < 0 else end)
    if step > 0:
        return slice(min(max(start, 0), size), min(max(end, 0), size), step)
    start, end = min(max(start, -1), size - 1), min(max(end, -1), size - 1)
    return slice(start, None if end < 0 else end, step)  # end -1: down to index 0 inclusive


def transpose(xs, a, limit):
    (x,) = xs
    perm = a.get("perm", list(range(x.ndim))[::-1])
    if sorted(perm) != list(range(x.ndim)):
        raise FoldError(f"perm {perm} is not a permutation of the axes of rank {x.ndim}")
    return [np.transpose(x, perm)]


def expand(xs, a, limit):
    x, shape = xs[0], _ints(xs[1], "the shape")
    try:
        out = np.broadcast_shapes(x.shape, tuple(shape))
    except ValueError:
        raise FoldError(f"shape {x.shape} does not broadcast to {shape}") from None
    _size(out, limit, "Expand's output")
    return [np.array(np.broadcast_to(x, out))]


def tile(xs, a, limit):
    x, repeats = xs[0], _ints(xs[1], "repeats")
    if len(repeats) != x.ndim:
        raise FoldError(f"repeats {repeats} must have one entry per axis of rank {x.ndim}")
    _size([d * r for d, r in zip(x.shape, repeats)], limit, "Tile's output")
    return [np.tile(x, repeats)]


def range_op(xs, a, limit):
    start, stop, delta = (np.asarray(x).reshape(-1)[0] for x in xs)
    if delta == 0:
        raise FoldError("Range with delta 0")
    count = max(math.ceil((stop - start) / delta), 0)
    _size([count], limit, "Range's output")
    return [(start + np.arange(count) * delta).astype(np.result_type(*xs))]


def shape_of(x, a):
    """ONNX Shape(start, end) of a tensor of shape ``x`` (a tuple that may hold BATCH)."""
    rank = len(x)
    start, end = a.get("start", 0), a.get("end", rank)
    start, end = (start + rank if start < 0 else start), (end + rank if end < 0 else end)
    picked = list(x)[min(max(start, 0), rank):min(max(end, 0), rank)]
    return settle(np.array(picked, dtype=object).reshape(len(picked)))


def split(xs, a, limit, outputs):
    x = xs[0]
    axis = _axis(a.get("axis", 0), x.ndim)
    if len(xs) > 1 and xs[1] is not None:
        sizes = _ints(xs[1], "split")
    else:
        parts = a.get("num_outputs", outputs)
        step = -(-x.shape[axis] // parts)
        sizes = [min(step, x.shape[axis] - i * step) for i in range(parts)]
    if sum(sizes) != x.shape[axis] or min(sizes, default=0) < 0:
        raise FoldError(f"split sizes {sizes} do not add up to the axis' size {x.shape[axis]}")
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def reduce_with(function):
    def fold(xs, a, limit):
        x = xs[0]
        axes = _ints(xs[1], "axes") if len(xs) > 1 and xs[1] is not None else a.get("axes")
        if not axes:
            if a.get("noop_with_empty_axes", 0):
                return [x]
            axes = list(range(x.ndim))
        axes = tuple(_axis(d, x.ndim) for d in axes)
        extra = {}
        if function in (np.max, np.min) and x.size == 0:  # the empty set: ONNX's -inf (+inf), or its type's
            info = np.finfo(x.dtype) if x.dtype.kind == "f" else np.iinfo(x.dtype) if x.dtype.kind in "iu" else None
            low = -np.inf if x.dtype.kind == "f" else info.min if info is not None else False
            high = np.inf if x.dtype.kind == "f" else info.max if info is not None else True
            extra = {"initial": low if function is np.max else high}
        return [np.asarray(function(x, axis=axes, keepdims=bool(a.get("keepdims", 1)), **extra)).astype(x.dtype)]
    return fold


def divide(a, b):
    if np.result_type(a, b).kind in "iu":
        if (np.asarray(b) == 0).any():
            raise FoldError("integer division by zero")
        return np.trunc(np.true_divide(a, b)).astype(np.result_type(a, b))
    return np.divide(a, b)


def elementwise(function):
    def fold(xs, a, limit):
        xs = [x for x in xs if x is not None]
        try:
            out = np.broadcast_shapes(*(np.shape(x) for x in xs))
        except ValueError:
            raise FoldError(f"shapes {[x.shape for x in xs]} do not broadcast") from None
        _size(out, limit, "the result")
        with np.errstate(all="ignore"):
            result = xs[0]
            for x in xs[1:] or [None]:
                result = function(result) if x is None else function(result, x)
        return [np.asarray(result)]
    return fold


def where(xs, a, limit):
    condition, x, y = xs
    _size(np.broadcast_shapes(condition.shape, x.shape, y.shape), limit, "Where's output")
    return [np.where(condition.astype(bool), x, y)]


STRUCTURAL = {"Cast", "CastLike", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Gather", "Slice",
              "Identity", "Shape", "Size", "Split"}  # ops that carry BATCH entries along

FOLDERS = {
    "ConstantOfShape": constant_of_shape,
    "Cast": cast,
    "CastLike": lambda xs, a, limit: cast(xs[:1], {"to": {np.dtype(t): k for k, t in NUMPY_TYPES.items()}.get(
        xs[1].dtype, 1)}, limit),
    "Reshape": reshape,
    "Flatten": flatten,
    "Squeeze": squeeze,
    "Unsqueeze": unsqueeze,
    "Concat": concat,
    "Gather": gather,
    "Slice": slice_op,
    "Transpose": transpose,
    "Expand": expand,
    "Tile": tile,
    "Range": range_op,
    "Identity": lambda xs, a, limit: [xs[0]],
    "Dropout": lambda xs, a, limit: [xs[0], np.ones(xs[0].shape, bool)],
    "Shape": lambda xs, a, limit: [shape_of(xs[0].shape, a)],
    "Size": lambda xs, a, limit: [np.array(xs[0].size, np.int64)],
    "Add": elementwise(np.add), "Sub": elementwise(np.subtract), "Mul": elementwise(np.multiply),
    "Div": elementwise(divide), "Pow": elementwise(lambda a, b: np.power(a, b).astype(a.dtype)),
    "Max": elementwise(np.maximum), "Min": elementwise(np.minimum), "Sum": elementwise(np.add),
    "Mean": lambda xs, a, limit: [elementwise(np.add)(xs, a, limit)[0] / np.asarray(len(xs), xs[0].dtype)],
    "Neg": elementwise(np.negative), "Abs": elementwise(np.abs), "Sqrt": elementwise(np.sqrt),
    "Exp": elementwise(np.exp), "Log": elementwise(np.log), "Floor": elementwise(np.floor),
    "Ceil": elementwise(np.ceil), "Reciprocal": elementwise(np.reciprocal), "Sign": elementwise(np.sign),
    "Relu": elementwise(lambda x: np.maximum(x, np.zeros((), x.dtype))),
    "Sigmoid": elementwise(lambda x: (1 / (1 + np.exp(-x))).astype(x.dtype)),
    "Tanh": elementwise(np.tanh),
    "Equal": elementwise(np.equal), "Less": elementwise(np.less), "Greater": elementwise(np.greater),
    "LessOrEqual": elementwise(np.less_equal), "GreaterOrEqual": elementwise(np.greater_equal),
    "And": elementwise(np.logical_and), "Or": elementwise(np.logical_or), "Xor": elementwise(np.logical_xor),
    "Not": elementwise(np.logical_not),
    "Where": where,
    "Split": split,
    "ReduceSum": reduce_with(np.sum), "ReduceMean": reduce_with(np.mean), "ReduceMax": reduce_with(np.max),
    "ReduceMin": reduce_with(np.min), "ReduceProd": reduce_with(np.prod),
}


def fold(op_type, xs, attributes, limit, outputs=1):
    """The outputs of ONNX ``op_type`` on the constant inputs ``xs`` (None for an absent optional input);
    FoldError when they cannot be computed or would exceed ``limit`` elements."""
    if op_type not in STRUCTURAL and any(symbolic(x) for x in xs if x is not None):
        raise FoldError("computes with the batch size, which a graphnn network leaves open")
    try:
        function = FOLDERS[op_type]
        results = function(xs, attributes, limit, outputs) if op_type == "Split" else function(xs, attributes, limit)
    except FoldError:
        raise
    except (ValueError, TypeError, IndexError) as error:  # inputs that do not fit the op
        raise FoldError(f"cannot be computed on its constant inputs: {error}") from None
    return [settle(np.asarray(result)) if result is not None else None for result in results]
