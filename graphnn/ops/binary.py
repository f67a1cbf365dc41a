"""Element-wise binary functions with broadcasting:   y = f(a, b),   a, b: (N, ...) -> y: (N, broadcast shape).

    add  a + b     da = dy,                db = dy
    sub  a - b     da = dy,                db = -dy
    mul  a * b     da = dy b,              db = dy a
    div  a / b     da = dy / b,            db = -dy y / b
    max  max(a, b) da = dy [a >= b],       db = dy [a < b]      (a tie goes to a)
    min  min(a, b) da = dy [a <= b],       db = dy [a > b]
    pow  a ^ b     da = dy b a^(b-1),      db = dy y log(a)  (0 where a <= 0)

The operands are the node's two inputs, or its one input and a ``constant`` written in the node (a
number or nested lists, e.g. ``{"op": "binary", "function": "sub", "inputs": ["x"], "constant": [0.5,
0.25, 0.125]}``; it is not trained). The input is a and the constant b, unless ``constant_first``
(e.g. 1 - x, 2 / x, 2 ^ x).

Broadcasting is numpy's, on the shapes of one sample: the shapes are aligned at their last axes, a
missing or size-1 axis is repeated, and the batch axis stays apart (a (3,) input and a (2, 3) input
give (N, 2, 3); the constant never meets the batch). The gradient of an operand is dy summed over the
axes it was repeated along.

ONNX: Add, Sub, Mul, Div, Max, Min, Pow; a computed operand of fewer axes is first Unsqueezed after the
batch (ONNX aligns whole tensors, batch included), the constant is an initializer. Imported from Add,
Sub, Mul, Div, Pow, Max, Min (a MatMul's bias Add still becomes the fc's bias, before this): two
computed inputs of one shape give ``add`` / ``multiply`` as before, a Max of computed inputs of one shape
``maximum``, anything else ``binary``.
"""

import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.onnx_hooks import plain_array
from graphnn.ops.registry import register

FUNCTIONS = ("add", "sub", "mul", "div", "max", "min", "pow")
ONNX = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "max": "Max", "min": "Min", "pow": "Pow"}
FORWARD = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "max": np.maximum,
           "min": np.minimum, "pow": np.power}


def broadcast(op_name, shapes):
    """numpy's broadcast of sample shapes, or a ShapeError naming them."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"input shapes {' and '.join(map(str, shapes))} do not broadcast together "
                         f"({op_name} aligns their last axes)") from None


def aligned(array, rank):
    """array (N, *s) seen as (N, 1, ..., 1, *s) with ``rank`` sample axes (a view)."""
    return array.reshape((len(array),) + (1,) * (rank - array.ndim + 1) + array.shape[1:])


def reduce_to(grad, shape):
    """grad (N, *out) summed over the axes a sample of ``shape`` was broadcast along: (N, *shape)."""
    rank = grad.ndim - 1
    padded = (1,) * (rank - len(shape)) + tuple(shape)
    axes = tuple(axis + 1 for axis, (size, out) in enumerate(zip(padded, grad.shape[1:])) if size == 1 and out != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape((len(grad),) + tuple(shape))


@register
class Binary(Op):
    name = "binary"
    n_inputs = (1, 2)
    params_schema = object_schema({
        "function": {"enum": list(FUNCTIONS)},
        "constant": {"type": ["number", "array"], "items": {"type": ["number", "array"]},
                     "description": "The second operand, when the node has one input: a number or nested lists "
                                    "(not trained)."},
        "constant_first": {"type": "boolean", "default": False,
                           "description": "The constant is the first operand: f(constant, x)."},
    }, required=["function"])
    onnx_imports = ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min")
    examples = (
        {"params": {"function": "add", "constant": [1.0, -2.0, 0.5]}, "inputs": [(2, 3)]},
        {"params": {"function": "sub"}, "inputs": [(2, 3), (3,)]},
        {"params": {"function": "mul"}, "inputs": [(3, 1), (1, 4)]},
        {"params": {"function": "div"}, "inputs": [(2, 3), (2, 1)]},
        {"params": {"function": "max"}, "inputs": [(3,), (2, 3)]},
        {"params": {"function": "min", "constant": 0.0}, "inputs": [(4,)]},
        {"params": {"function": "pow", "constant": 2.0}, "inputs": [(2, 2)]},
        {"params": {"function": "pow", "constant": 1.5, "constant_first": True}, "inputs": [(3,)]},
        {"params": {"function": "sub", "constant": [[1.0], [2.0]], "constant_first": True}, "inputs": [(3,)]},
        {"params": {"function": "div", "constant": [2.0, -4.0]}, "inputs": [(3, 2)]},
    )

    def infer_shape(self, in_shapes):
        with_constant = "constant" in self.params
        if len(in_shapes) != (1 if with_constant else 2):
            raise ShapeError(f"{'one input and a constant' if with_constant else 'two inputs (or one and a constant)'}"
                             f" expected; got {len(in_shapes)} input{'s' * (len(in_shapes) != 1)}")
        if with_constant:
            try:
                constant = np.asarray(self.params["constant"], np.float64)
            except ValueError:
                raise ShapeError("constant is not a number or a rectangular array of numbers") from None
            shapes = [in_shapes[0], constant.shape][::-1 if self.params["constant_first"] else 1]
        else:
            constant, shapes = None, list(in_shapes)
        self.operand_shapes = tuple(tuple(shape) for shape in shapes)  # (a's, b's) sample shapes
        out = broadcast("binary", self.operand_shapes)
        self.constant = None if constant is None else constant.reshape((1,) * (len(out) + 1 - constant.ndim)
                                                                        + constant.shape)  # (1, ..., *c)
        if self.constant is not None:
            self.constant.flags.writeable = False
        return out

    def operands(self, xs):
        """(a, b), each (N or 1, ...) with the output's number of axes."""
        rank = len(self.out_shape)
        if self.constant is None:
            return aligned(xs[0], rank), aligned(xs[1], rank)
        x, c = aligned(xs[0], rank), self.constant.astype(xs[0].dtype, copy=False)
        return (c, x) if self.params["constant_first"] else (x, c)

    def forward(self, weights, xs, ctx):
        a, b = self.operands(xs)
        y = FORWARD[self.params["function"]](a, b)
        return y, (a, b, y)

    def backward(self, weights, cache, dy, needs, grads):
        a, b, y = cache
        function = self.params["function"]
        computed = (0, 1) if self.constant is None else ((1,) if self.params["constant_first"] else (0,))
        wanted = {operand for operand, need in zip(computed, needs) if need}
        local = {}
        if function == "add":
            local = {0: dy, 1: dy}
        elif function == "sub":
            local = {0: dy, 1: -dy if 1 in wanted else None}
        elif function == "mul":
            local = {0: dy * b if 0 in wanted else None, 1: dy * a if 1 in wanted else None}
        elif function == "div":
            local = {0: dy / b if 0 in wanted else None, 1: -dy * y / b if 1 in wanted else None}
        elif function in ("max", "min"):
            first = a >= b if function == "max" else a <= b
            local = {0: dy * first, 1: dy * ~first}
        elif function == "pow":
            local[0] = dy * b * np.power(a, b - 1) if 0 in wanted else None
            if 1 in wanted:
                positive = a > 0
                local[1] = dy * y * np.where(positive, np.log(np.where(positive, a, 1)), 0)
        shapes = self.operand_shapes
        return [reduce_to(local[operand], shapes[operand]) if operand in wanted else None for operand in computed]

    def flops(self):
        return (10 if self.params["function"] == "pow" else 1) * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        rank, inputs = len(self.out_shape), list(step.inputs)
        for index, (source, shape) in enumerate(zip(step.inputs, self.in_shapes)):
            if len(shape) < rank:  # ONNX aligns whole tensors: the batch must stay the first axis
                axes = emit.constant(f"{step.name}.axes{index}", np.arange(1, rank - len(shape) + 1, dtype=np.int64))
                inputs[index] = emit.fresh(f"{step.name}.unsqueezed{index}")
                emit.node("Unsqueeze", [source, axes], inputs[index], inputs[index])
        if self.constant is not None:
            constant = emit.constant(f"{step.name}.constant", np.asarray(self.params["constant"], np.float32))
            inputs = [constant] + inputs if self.params["constant_first"] else inputs + [constant]
        emit.node(ONNX[self.params["function"]], inputs, step.name, step.name)

    @classmethod
    def import_onnx(cls, importer, node, a):
        """Add, Sub, Mul, Div, Pow, Max, Min (Max, Min: of any number of inputs); constants may be operands."""
        function = {value: key for key, value in ONNX.items()}[node.op_type]
        constant_at = [index for index in range(len(node.input)) if importer.is_constant(node, index)]
        constants = [np.asarray(importer.constant(node, index)) for index in constant_at]
        sources = [importer.tensor(node, index) for index in range(len(node.input)) if index not in constant_at]
        if function == "max" and not constants and len(sources) > 1 and \
                len({importer.shapes[source] for source in sources}) == 1:
            importer.add(node, "maximum", sources)  # computed inputs of one shape: one node (graphnn/ops/merge.py)
            return
        if len(node.input) != 2:  # Max or Min of one or several: the constants folded into one, the rest chained
            if len(constants) > 1:
                constants = [FORWARD[function].reduce(np.broadcast_arrays(*constants))]
            if len(sources) + len(constants) == 1:
                importer.add(node, "activation", sources, function="identity")
                return
            sources = chain(importer, node, function, sources, last=not constants)
            if not constants:
                return
            constant_at = [1]
        if constants:
            constant, x = constants[0], sources[0]
            rank = len(importer.shapes[x])
            if importer.batched and constant.ndim > rank:  # ONNX's leading 1 of the constant stands for the batch
                if constant.ndim > rank + 1 or constant.shape[0] != 1:
                    importer.batch_axis(f"the constant of shape {constant.shape} reaches across the batch axis of "
                                        f"input shape {importer.describe(x)}", node)
                constant = constant[0]
            importer.add(node, "binary", [x], function=function, constant=plain_array(constant),
                         **({"constant_first": True} if constant_at == [0] else {}))
            return
        same_rank(importer, node, sources)
        if importer.shapes[sources[0]] == importer.shapes[sources[1]] and function in ("add", "mul"):
            importer.add(node, "add" if function == "add" else "multiply", sources)
        else:
            importer.add(node, "binary", sources, function=function)


def same_rank(importer, node, sources):
    """Batched, ONNX aligns whole tensors: operands of different ranks would meet the batch axis."""
    if importer.batched and len({len(importer.shapes[source]) for source in sources}) > 1:
        importer.batch_axis(f"inputs of shapes {' and '.join(importer.describe(s) for s in sources)}: ONNX "
                            "broadcasts one's batch axis against another axis of the other", node)


def chain(importer, node, function, sources, last):
    """Fold computed ``sources`` into one by binary ``function`` nodes; the last takes the ONNX node's
    name when ``last``. Returns [the folded node]."""
    from graphnn.interop.onnx_import import sanitize

    folded = sources[0]
    for index, source in enumerate(sources[1:], start=1):
        final = last and index == len(sources) - 1
        name = None if final else importer.unique(sanitize(f"{node.name or node.output[0]}.{index}"))
        same_rank(importer, node, [folded, source])
        folded = importer.add(node, "binary", [folded, source], name=name, function=function)["name"]
    return [folded]
