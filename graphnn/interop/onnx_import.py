"""Import an ONNX model into graphnn: a model document and its weights, as a Bundle.

    bundle = import_onnx("model.onnx")                        # Bundle(model, weights, state, metadata)
    import_file("model.onnx", "model.json")                   # model.json (+ model.gnn when it has weights)

**Reading executes nothing.** The file's size is checked against ``MAX_ONNX_BYTES`` and its node and entry
counts from the wire format, its bytes are parsed as protobuf (``onnx.load_model_from_string``, which never
follows external-data paths), and ``onnx_read.ReadModel`` checks every node, attribute and tensor (types,
counts, data types, NaN; external data refused) before anything uses them, converts opsets 6 to 17 to
opset 18 (``onnx.version_converter``) and runs ONNX's shape inference. Every error is one line naming the
file and the ONNX node.

**The walk.** Nodes are taken in file order. A node whose inputs are all constants (initializers,
Constant nodes, earlier folded results) is folded into a constant (``onnx_fold``: ConstantOfShape, Shape,
Gather, Unsqueeze, Concat, Cast, Reshape, Slice, arithmetic, ...); ``Shape`` of a computed tensor folds too,
its batch entry left open. Any other node goes to its handler: a graphnn op that lists the ONNX type in
``onnx_imports`` imports it with its ``import_onnx`` (graphnn/ops/*), else one of the built-in handlers of
``HANDLERS``. After each node, the shape graphnn computes for every output is compared with ONNX's inferred
shape; a difference is an error naming the node.

    Gemm, MatMul by a constant [+ Add of one]     fc when A's rows are samples (W = alpha * B or alpha * B.T,
                                                  b = beta * C; the Add becomes the bias); otherwise (any
                                                  rank, transA, a C per row or computed) reshape + conv2d
                                                  with a (1, K) kernel per column of B + transpose
    Relu, Tanh, Sigmoid, Identity                 activation relu, tanh, sigmoid, identity
    LeakyRelu(alpha), Softmax(axis)               activation leaky_relu (negative_slope), softmax (axis)
    Dropout (inference; a mask output: x ** 0)    dropout (ratio)
    Add, Sum (computed inputs, equal shapes)      add (Sum with constants: through the op importing Add)
    Concat(axis), Flatten, Reshape                concat, flatten, reshape (batch kept: 0, -1 or N first)
    GlobalAveragePool [+ Flatten]                 global_avgpool [+ reshape to (C, 1, 1)]; 1-D, 3-D: reduce
    BatchNormalization (inference)                batchnorm (running statistics as state); with mean 0, var 1
                                                  and epsilon 0 (graphnn's scale exports so): scale
    Cast, CastLike to a float type                activation identity (graphnn computes in floats)
    Expand, Gather, Tile of a computed tensor     binary mul by ones; slices (+ concat, reshape); concat
    Constant                                      a constant (weights, shapes, ratios)

A graph input with a size-0 axis holds no values: it is the empty constant it must be, and the nodes reading
it are folded. Integer and bool graph inputs become (float) data nodes. ``fold_batchnorms`` (for inference:
graphnn.interop.onnx_backend) merges each batchnorm into the convolution before it.

**The batch rule.** graphnn's data nodes hold samples: axis 0 of every tensor is the batch. An ONNX graph
is imported *batched* (ONNX axis 0 of every tensor is graphnn's batch, of any size) when its data inputs
share their leading dimension (one symbol, one size, or unknown) and no node reaches across that axis: an
``axis`` of 0 (Softmax, Concat, a reduction, ...), a Reshape or Flatten that merges or fixes it, a
constant operand that varies along it, an output shape ONNX's inference gives without it (but for a
batch fixed at 1 that ONNX squeezes away, as ``x.squeeze()`` at batch 1 does: that tensor's ONNX axes
then count from graphnn's axis 1, and the backend gives outputs ONNX's shapes). Otherwise
(``BatchAxisError``, or a scalar input) the graph is imported again *unbatched*, with batch-1 semantics:
each data node's shape is the whole ONNX tensor, graphnn's batch is one more leading axis of size 1, and
ONNX axis k is graphnn axis k + 1 (``graphnn.interop.onnx_backend`` adds and removes that axis). Ops that
need a batch of samples (Conv, pooling, normalisations, LRN) refuse an unbatched graph. When both
attempts fail, the error of the one that got further through the graph is reported. The bundle records
the rule taken (metadata ``imported_from.batched``); an unbatched model's description says so too.

**For import hooks** (``Op.import_onnx(importer, node, attributes)``; ``attributes`` are typed and
checked already, only those the node sets): ``importer.tensor(node, i)`` is the graphnn node computing
input i; ``importer.constant(node, i, required=True)`` its value (a graph input there raises
``NeedsConstant``, which the backend answers by binding the input's value); ``importer.is_constant(node,
i)``; ``importer.shapes[x]`` a graphnn node's sample shape and ``importer.onnx_shape(x)`` its ONNX shape
(None for the batch); ``importer.axis(node, attributes, x, default)`` / ``importer.to_axis(node, value, x)``
an ONNX axis of x's tensor as a graphnn axis (batch = 0), a ``BatchAxisError`` when it is the batch;
``importer.batched``; ``importer.add(node, op, inputs, weights=None, state=None, name=None, output=0,
**params)`` appends a graphnn node computing ONNX output ``output``; ``importer.fail(message, node)``.

Node names come from the ONNX node names (or output names), with characters graphnn does not allow
replaced by "_". ``loss`` adds a loss on every graph output, reading class indices from a new data node
``label`` (field "y"); with ``softmax_cross_entropy`` an output that is a Softmax over axis 1 is replaced
by the loss (the inverse of ``graphnn export --softmax``).
"""

import itertools
import math
import re
from collections import Counter
from pathlib import Path

import jsonschema
import numpy as np

from graphnn import ops
from graphnn.errors import GraphnnError, LimitError, ShapeError
from graphnn.interop.onnx_common import require_onnx
from graphnn.interop.onnx_fold import BATCH, FOLDERS, FoldError, fold, shape_of, symbolic
from graphnn.interop.onnx_read import ReadModel, node_label
from graphnn.interop.onnx_wire import check_counts
from graphnn.io.regular import require_regular_file
from graphnn.model import schema
from graphnn.model.limits import MAX_DIMENSIONS, MAX_NAME_LENGTH, MAX_PARAMETERS, MAX_TENSOR_ELEMENTS
from graphnn.model.names import unique_name
from graphnn.model.validate import describe
from graphnn.ops.base import defaults
from graphnn.ops.conv import same_padding
from graphnn.ops.loss import FUNCTIONS as LOSS_FUNCTIONS

MAX_ONNX_BYTES = 2**31 - 1  # protobuf cannot parse a larger message
MAX_FOLDED_ELEMENTS = MAX_PARAMETERS  # all constants folded at import, together (ConstantOfShape weights)
ACTIVATIONS = {"Relu": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "Identity": "identity"}
BATCHED_OPS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
               "GlobalMaxPool", "GlobalLpPool", "BatchNormalization", "InstanceNormalization", "LRN",
               "MaxUnpool", "MaxRoiPool", "Upsample", "Resize"}  # they need axis 0 to be a batch of samples
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.\-]")


class BatchAxisError(GraphnnError):
    """A node of a graph imported batched reaches across ONNX axis 0, graphnn's batch: the importer tries
    again without a batch axis (see the batch rule in the module docstring)."""


class NeedsConstant(GraphnnError):
    """A node needs the value of graph input ``tensor`` (a weight, a shape) where graphnn takes a constant.
    An importer of files reports it; ``graphnn.interop.onnx_backend`` binds the input's value and imports
    again."""

    def __init__(self, message, tensor, **where):
        super().__init__(message, **where)
        self.tensor = tensor


def load_onnx(path):
    """Parse an ONNX file into a ModelProto after checking its size; nothing in it is executed."""
    onnx = require_onnx()
    from google.protobuf.message import DecodeError

    path = str(path)
    size = require_regular_file(path).st_size  # a named pipe would block reading forever
    try:
        if size > MAX_ONNX_BYTES:
            raise LimitError(f"file is {size:,} bytes; the limit is {MAX_ONNX_BYTES:,}", file=path)
        data = Path(path).read_bytes()
    except OSError as error:
        raise GraphnnError(f"cannot read the file: {error.strerror}", file=path) from None
    check_counts(data, path)
    try:
        return onnx.load_model_from_string(data)
    except (DecodeError, ValueError) as error:
        raise GraphnnError(f"not an ONNX model: {error}", file=path) from None


def sanitize(text):
    """A graphnn node name made from an ONNX name: '/fc1/Gemm' -> 'fc1_Gemm', '3' -> '_3'."""
    name = _NOT_NAME.sub("_", text.strip("/")) or "node"
    if not re.match(r"[A-Za-z_]", name):
        name = "_" + name
    return name[:MAX_NAME_LENGTH]


def _accepts_integer(spec):
    """Whether a parameter's schema takes a plain integer (conv's kernel: an integer or [height, width])."""
    kinds = spec.get("type")
    if kinds == "integer" or (isinstance(kinds, list) and "integer" in kinds):
        return True
    return any(_accepts_integer(option) for option in spec.get("oneOf", []) + spec.get("anyOf", []))


def _plain(value, spec=None):
    """A parameter as the model file would say it: a float32 attribute's shortest decimal (0.2, not
    0.20000000298023224), a [height, width] pair of equal sizes as one number where the schema takes one."""
    if isinstance(value, (float, np.floating)):
        return float(np.format_float_positional(np.float32(value), unique=True, trim="0"))
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, list) and len(value) == 2 and value[0] == value[1] and isinstance(value[0], int) and \
            (spec is None or _accepts_integer(spec)):
        return value[0]
    return value


def _finite(value):
    """Whether a parameter value (numbers, strings, lists of them) holds no NaN or infinity."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_finite(item) for item in value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    return True


def transposed(matrix, block=256):
    """``matrix.T`` as a C-contiguous copy, made block by block (a 25088 x 4096 matrix: 0.3 s, not 2 s)."""
    out = np.empty(matrix.shape[::-1], matrix.dtype)
    for i in range(0, matrix.shape[0], block):
        for j in range(0, matrix.shape[1], block):
            out[j:j + block, i:i + block] = matrix[i:i + block, j:j + block].T
    return out


_VALIDATORS = {}  # op name -> jsonschema validator of one node of that op


def _validator(op_class):
    if op_class.name not in _VALIDATORS:
        _VALIDATORS[op_class.name] = jsonschema.Draft202012Validator(schema.node_params_schema(op_class))
    return _VALIDATORS[op_class.name]


class _Importer:
    """Walks the ONNX graph in order, turning each node into graphnn nodes with their weights."""

    def __init__(self, read, *, batched, bound=None):
        self.read, self.onnx, self.file = read, read.onnx, read.file
        self.graph = read.graph
        self.batched = batched
        self.constants = {**read.constants, **(bound or {})}  # ONNX tensor -> array
        self.source = {}  # ONNX tensor -> the graphnn node computing it
        self.inputs = {}  # ONNX graph input -> its data node
        self.leading = {}  # data node -> the leading dimension its ONNX input declares (symbol, size, None)
        self.batch = None  # (input, leading dimension) of the first data input a node reads
        self.deferred = {}  # ONNX tensor of a GlobalAveragePool -> (its ONNX node, the pooled graphnn node)
        self.shapes = {}  # graphnn node -> shape of one sample
        self.nodes, self.weights, self.state = [], {}, {}
        self.taken, self.numbers = set(), {}  # unique_name's memory: names given, and where each base's numbering stopped
        self.fc_from_matmul = {}  # ONNX tensor -> fc node made from a MatMul (an Add may give it a bias)
        self.flattened = {}  # ONNX tensor of a Flatten read only by a Gemm or MatMul -> the unflattened node
        self.uses = Counter(name for node in self.graph.node for name in node.input if name)
        self.fc_readers = {node.input[0] for node in self.graph.node
                           if node.op_type in ("Gemm", "MatMul") and node.input}
        self.output_names = {output.name for output in self.graph.output}
        self.uses.update(self.output_names)
        self.budget = MAX_FOLDED_ELEMENTS
        self.index, self.current = -1, None  # the ONNX node being imported (how far the walk got)
        self.squeezed = set()  # graphnn nodes whose ONNX tensor lost the fixed batch of 1 (x.squeeze())
        self.outputs = []  # per graph output: (ONNX name, graphnn node or None, constant or None)

    # --- errors, names, tensors ---------------------------------------------------------------------

    def where(self, node):
        if node is None:
            return {"file": self.file}
        index = self.index if node is self.current else None
        return {"file": self.file, "node": node_label(node, index), "op": node.op_type}

    def fail(self, message, node=None, error=GraphnnError):
        raise error(message, **self.where(node))

    def batch_axis(self, message, node=None):
        """Refuse what needs ONNX axis 0 of a batched graph (the importer then tries it unbatched)."""
        self.fail(message, node, BatchAxisError)

    def unique(self, base):
        return unique_name(base, self.taken, limit=MAX_NAME_LENGTH, numbers=self.numbers)

    def attributes(self, node):
        """The node's checked attributes (see onnx_read.ReadModel.read_attributes)."""
        if node is self.current:
            return self.read.attributes[self.index]
        return self.read.attributes[list(self.graph.node).index(node)]

    def tensor(self, node, index):
        """The graphnn node computing input ``index`` of ``node``."""
        name = node.input[index] if index < len(node.input) else ""
        if name in self.deferred:
            self.materialize(name)
        if name in self.source:
            if name in self.inputs:
                self.use_input(name, node)
            return self.source[name]
        if name in self.constants:
            self.fail(f"input {index} ('{name}') is a constant; graphnn needs a computed tensor there", node)
        self.fail(f"input {index} ('{name}') is not a graph input or the output of an earlier node", node)

    def is_constant(self, node, index):
        name = node.input[index] if index < len(node.input) else ""
        return name in self.constants

    def constant(self, node, index, required=True, batch=False):
        """Input ``index`` of ``node`` as an array; None when it is absent and not ``required``. With
        ``batch``, a shape that holds the open batch size (an object array with a BATCH entry) is allowed."""
        name = node.input[index] if index < len(node.input) else ""
        if name in self.constants:
            value = self.constants[name]
            if symbolic(value) and not batch:
                self.fail(f"input {index} ('{name}') depends on the batch size; graphnn needs a constant there",
                          node)
            return value
        if not name and not required:
            return None
        message = f"input {index} ('{name or 'absent'}') must be a constant (an initializer or Constant)"
        if name in self.inputs:
            raise NeedsConstant(f"{message}; it is a graph input", name, **self.where(node))
        self.fail(message, node)

    def onnx_shape(self, x):
        """The ONNX shape of graphnn node ``x``'s tensor: (None, *sample) batched, the sample unbatched or
        when ONNX squeezed a fixed batch of 1 away (``squeezed``)."""
        return ((None,) if self.batched and x not in self.squeezed else ()) + tuple(self.shapes[x])

    def describe(self, x):
        return "(" + ", ".join(["N"] * self.batched + [str(d) for d in self.shapes[x]]) + ")"

    def to_axis(self, node, axis, x, what="axis"):
        """ONNX axis ``axis`` (negative counts from the end) of graphnn node ``x``'s tensor as a graphnn axis
        (the batch is graphnn axis 0); a BatchAxisError when it is the batch of a batched graph."""
        rank = len(self.onnx_shape(x))
        if not -rank <= axis < rank:
            self.fail(f"{what} {axis} is out of range for a rank-{rank} tensor", node)
        axis %= rank
        if x in self.squeezed:
            return axis + 1
        if self.batched and axis == 0:
            self.batch_axis(f"{what} {axis} of a rank-{rank} tensor: graphnn needs an axis after the batch "
                            "(axis 0)", node)
        return axis if self.batched else axis + 1

    def axis(self, node, a, x, default):
        """The attribute ``axis`` (else ``default``) as a graphnn axis, by ``to_axis``."""
        axis = a.get("axis", default)
        if axis is None:
            self.fail("the attribute axis is missing", node)
        return self.to_axis(node, axis, x)

    # --- graphnn nodes ------------------------------------------------------------------------------

    def add(self, node, op, inputs, weights=None, state=None, name=None, output=0, **params):
        """Append a graphnn node computed from ONNX ``node``; its output ``output`` now maps to it."""
        name = name or self.unique(sanitize(node.name or node.output[output] or node.output[0]))
        inputs = self.distinct(inputs)
        op_class = ops.get(op)
        implied = defaults(op_class.params_schema)
        properties = op_class.params_schema.get("properties", {})
        params = {key: _plain(value, properties.get(key, {})) for key, value in params.items()}
        params = {key: value for key, value in params.items() if key not in implied or implied[key] != value}
        for key, value in params.items():
            if not _finite(value):
                self.fail(f"{op} parameter {key} must be finite; got {value}", node)
        for group in (weights or {}), (state or {}):
            for key, array in group.items():
                if np.asarray(array).dtype.kind == "f" and not np.isfinite(array).all():
                    self.fail(f"{op} {key} holds infinite values", node)
        document = {"name": name, "op": op, **({"inputs": list(inputs)} if inputs else {}), **params}
        error = next(iter(_validator(op_class).iter_errors(document)), None)
        if error is not None:
            self.fail(f"{op} parameter {'/'.join(map(str, error.absolute_path))}: {describe(error)}", node)
        try:
            self.shapes[name] = op_class(name, params, [self.shapes[s] for s in inputs]).out_shape
        except ShapeError as error:
            self.fail(f"as graphnn {op}: {error.message}", node)
        if len(self.shapes[name]) > MAX_DIMENSIONS:
            self.fail(f"as graphnn {op}: shape {self.shapes[name]} has more than {MAX_DIMENSIONS} dimensions",
                      node)
        self.nodes.append(document)
        if weights:
            self.weights[name] = weights
        if state:
            self.state[name] = state
        self.source[node.output[output]] = name
        return document

    def distinct(self, inputs):
        """graphnn names each input once: a repeat (ONNX Add(x, x)) reads an identity copy instead."""
        seen, result = set(), []
        for source in inputs:
            if source in seen:
                copy = self.unique(f"{source}.copy")
                self.nodes.append({"name": copy, "op": "activation", "inputs": [source],
                                   "function": "identity"})
                self.shapes[copy] = self.shapes[source]
                source = copy
            seen.add(source)
            result.append(source)
        return result

    def materialize(self, tensor):
        """A GlobalAveragePool not followed by a Flatten: global_avgpool, then back to (C, 1, 1)."""
        node, source = self.deferred.pop(tensor)
        pooled_name = self.unique(sanitize(f"{node.name or tensor}.pool"))
        pooled = self.add(node, "global_avgpool", [source], name=pooled_name)
        channels = self.shapes[pooled["name"]][0]
        self.add(node, "reshape", [pooled["name"]], shape=[channels, 1, 1])

    # --- graph inputs and the batch -----------------------------------------------------------------

    def data_input(self, value):
        tensor_type = value.type.tensor_type
        where = {"file": self.file, "node": value.name, "op": "graph input"}
        TP = self.onnx.TensorProto
        numeric = (TP.FLOAT, TP.DOUBLE, TP.FLOAT16, TP.BFLOAT16, TP.INT8, TP.INT16, TP.INT32, TP.INT64,
                   TP.UINT8, TP.UINT16, TP.UINT32, TP.UINT64, TP.BOOL)
        if not value.type.HasField("tensor_type") or tensor_type.elem_type not in numeric:
            kind = TP.DataType.Name(tensor_type.elem_type) if tensor_type.elem_type in TP.DataType.values() \
                else "not a tensor"
            raise GraphnnError(f"element type {kind}; graphnn's data nodes take tensors of numbers", **where)
        dims = list(tensor_type.shape.dim)
        if self.batched and not dims:
            raise BatchAxisError("a scalar has no batch axis", **where)
        if len(dims) > MAX_DIMENSIONS + self.batched:
            raise GraphnnError(f"rank {len(dims)}: graphnn takes at most {MAX_DIMENSIONS} axes besides the batch",
                               **where)
        sizes = [dim.dim_value for dim in dims if dim.HasField("dim_value")]
        if any(size < 0 or size > MAX_TENSOR_ELEMENTS for size in sizes):
            raise GraphnnError(f"shape {sizes}: sizes must be from 0 to {MAX_TENSOR_ELEMENTS:,}", **where)
        if dims and all(dim.HasField("dim_value") for dim in dims) and 0 in [dim.dim_value for dim in dims]:
            dtype = self.onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
            self.constants[value.name] = np.zeros([dim.dim_value for dim in dims], dtype)  # no values: known
            return
        shape = []
        for axis, dim in enumerate(dims[1:] if self.batched else dims, start=int(self.batched)):
            if not dim.HasField("dim_value") or dim.dim_value < 1:
                raise GraphnnError(f"axis {axis} has no fixed size ({dim.dim_param or '?'}); graphnn needs "
                                   f"every size{' but the batch' * self.batched}'s", **where)
            shape.append(dim.dim_value)
        name = self.unique(sanitize(value.name))
        self.nodes.append({"name": name, "op": "data", "shape": shape, "field": "x"})
        self.shapes[name] = tuple(shape)
        self.source[value.name] = name
        self.inputs[value.name] = name
        if self.batched:
            first = dims[0]
            self.leading[value.name] = first.dim_param or (first.dim_value if first.HasField("dim_value") else None)

    def use_input(self, name, node):
        """Batched, the data inputs nodes read must share their leading (batch) dimension."""
        if not self.batched:
            return
        leading = self.leading[name]
        if self.batch is None or (self.batch[1] is None and leading is not None):
            self.batch = (name, leading)
        elif leading is not None and leading != self.batch[1]:
            self.batch_axis(f"graph inputs '{self.batch[0]}' and '{name}' have leading dimensions "
                            f"{self.batch[1]} and {leading}: no common batch axis", node)

    @property
    def batch_size(self):
        """The batch size the graph inputs fix (an int), or None (open, or unbatched)."""
        if self.batched and self.batch is not None and isinstance(self.batch[1], int):
            return self.batch[1]
        fixed = {value for value in self.leading.values() if isinstance(value, int)}
        return fixed.pop() if len(fixed) == 1 else None

    # --- checks around every node ---------------------------------------------------------------------

    def check_constant_types(self, node):
        """Each constant input of ``node`` has a data type ONNX's schema allows there (a float Reshape
        shape [0.5, 4.5] is refused, not truncated)."""
        schema = self.read.schema_of(node)
        for index, name in enumerate(node.input):
            if name not in self.constants:
                continue
            formal = schema.inputs[min(index, len(schema.inputs) - 1)]
            allowed = self.read.allowed_types(schema, formal)
            value = self.constants[name]
            kind = "tensor(int64)" if symbolic(value) else self.read.type_string(value.dtype)
            if allowed and kind not in allowed:
                shown = value.reshape(-1)[:6].tolist()
                self.fail(f"input {index} ('{name}') is a {kind} {shown}; ONNX {node.op_type} takes "
                          f"{' or '.join(sorted(allowed)) if len(allowed) < 4 else formal.type_str} there", node)

    def verify(self, node):
        """Each output graphnn computes for ``node`` has the shape ONNX's shape inference gives it."""
        for name in node.output:
            if name not in self.source or self.read.shapes.get(name) is None:
                continue
            expected, sample = self.read.shapes[name], self.shapes[self.source[name]]
            if self.batched:
                if len(expected) == len(sample) and self.batch_size == 1 and \
                        all(e in (None, s) for e, s in zip(expected, sample)):
                    self.squeezed.add(self.source[name])  # ONNX squeezed the batch of 1 away (x.squeeze())
                    continue
                self.squeezed.discard(self.source[name])
                fits = len(expected) == len(sample) + 1 and all(e in (None, s) for e, s in zip(expected[1:], sample))
                leading = expected[0] if expected else None
                if not fits or (leading is not None and leading != self.batch_size):
                    shown = "(" + ", ".join("?" if d is None else str(d) for d in expected) + ")"
                    self.batch_axis(f"output '{name}': ONNX's shape inference gives {shown}, graphnn computes "
                                    f"{self.describe(self.source[name])} (batch N)", node)
            elif len(expected) != len(sample) or any(e not in (None, s) for e, s in zip(expected, sample)):
                self.fail(f"output '{name}': ONNX's shape inference gives {expected}, graphnn computes "
                          f"{tuple(sample)}", node)

    # --- folding ------------------------------------------------------------------------------------

    def reads_empty(self, node):
        """Whether the data input of ``node`` is a constant with a size-0 axis (graphnn's tensors have none)."""
        data = node.input[0] if node.input else ""  # an empty list of axes or sizes is a plain parameter
        return node.op_type in FOLDERS and data in self.constants and not symbolic(self.constants[data]) and \
            self.constants[data].size == 0

    def foldable(self, node):
        if node.op_type == "CastLike" and node.input[0] in self.constants:
            return True  # the second input gives only its type
        return node.op_type in FOLDERS and all(not name or name in self.constants for name in node.input)

    def fold(self, node, a):
        if node.op_type == "CastLike" and node.input[1] not in self.constants:
            to = self.read.types.get(node.input[1], self.onnx.TensorProto.FLOAT)
            node_type, xs, a = "Cast", [self.constants[node.input[0]]], {"to": to}
        else:
            node_type, xs = node.op_type, [self.constants[name] if name else None for name in node.input]
        try:
            results = fold(node_type, xs, a, self.budget, outputs=len(node.output))
        except FoldError as error:
            self.fail(f"cannot fold: {error}", node)
        for name, value in zip(node.output, results):
            if name and value is not None:
                self.budget -= value.size
                self.constants[name] = value

    def shape_op(self, node, a):
        """Shape (and Size) of a computed tensor: known here, but for the batch size, left open."""
        x = self.tensor(node, 0)
        shape = ((BATCH,) if self.batched else ()) + tuple(self.shapes[x])
        if node.op_type == "Size":
            if self.batched:
                self.fail("Size of a batched tensor depends on the batch size, which graphnn leaves open", node)
            self.constants[node.output[0]] = np.array(math.prod(shape), np.int64)
        else:
            self.constants[node.output[0]] = shape_of(shape, a)

    # --- one handler per ONNX op_type -----------------------------------------------------------------

    def fc(self, node, w, b, name=None):
        """An fc node for a Gemm or MatMul: input 0 times ``w`` (D, units), plus ``b``."""
        source = node.input[0]
        if source in self.flattened:  # a Flatten only this node reads: graphnn's fc flattens by itself
            x = self.flattened.pop(source)
            size = math.prod(self.shapes[x])
        else:
            x = self.tensor(node, 0)
            size = self.shapes[x][0] if len(self.shapes[x]) == 1 else None
        if size is None or w.ndim != 2 or w.shape[0] != size:
            self.fail(f"multiplies input shape {self.describe(x)} by weights {w.shape}; graphnn's fc needs "
                      "(N, D) @ (D, units)", node)
        weights = {"W": w} if b is None else {"W": w, "b": self.bias(node, b, w.shape[1])}
        no_bias = {} if b is not None else {"bias": False}
        return self.add(node, "fc", [x], weights, name=name, units=int(w.shape[1]), **no_bias)

    def bias(self, node, c, units):
        try:
            return np.broadcast_to(c, (1, units)).reshape(units).copy()
        except ValueError:
            self.fail(f"bias of shape {c.shape} does not broadcast to one value per unit ({units})", node)

    def gemm(self, node, a):
        """Gemm: fc when A's rows are samples (A (N, D), transA=0, C one value per unit); otherwise, without a
        batch axis, the general product below and C added by the binary op."""
        w = self.constant(node, 1)
        if w.ndim != 2:
            self.fail(f"B has shape {w.shape}; expected a matrix", node)
        w = transposed(w) if a.get("transB", 0) else w
        if a.get("alpha", 1.0) != 1.0:
            w = w * np.asarray(a["alpha"], w.dtype)
        computed_c = len(node.input) > 2 and node.input[2] and node.input[2] in self.source and \
            node.input[2] not in self.inputs
        c = None if computed_c else self.constant(node, 2, required=False)
        if computed_c:  # C computed by an earlier node: the product, then beta * C added to it
            if self.batched and not a.get("transA", 0) and node.input[0] not in self.flattened:
                product = self.fc(node, w, None, name=self.unique(f"{self.base(node)}.product"))["name"]
            else:
                if self.batched:
                    self.batch_axis("transA=1: A's rows are not samples here", node)
                x = self.tensor(node, 0)
                if a.get("transA", 0):
                    x = self.add(node, "transpose", [x], name=self.unique(f"{self.base(node)}.A_T"), perm=[2, 1])["name"]
                product = self.matmul_by_constant(node, x, w, last=False)
            addend = self.tensor(node, 2)
            if a.get("beta", 1.0) != 1.0:
                addend = self.add(node, "binary", [addend], name=self.unique(f"{self.base(node)}.beta"),
                                  function="mul", constant=float(a["beta"]))["name"]
            same = self.shapes[product] == self.shapes[addend]
            self.add(node, "add" if same else "binary", [product, addend], **({} if same else {"function": "add"}))
            return
        if c is not None and a.get("beta", 1.0) != 1.0:
            c = c * np.asarray(a["beta"], c.dtype)
        row_bias = c is None or c.ndim < 2 or c.shape[0] == 1
        if node.input[0] in self.flattened or (self.batched and not a.get("transA", 0) and row_bias):
            self.fc(node, w, c)
            return
        if self.batched:
            self.batch_axis("transA=1 or a C that varies along A's rows: A's rows are not samples here", node)
        x = self.tensor(node, 0)
        if len(self.shapes[x]) != 2:
            self.fail(f"A has shape {self.describe(x)}; expected a matrix", node)
        if a.get("transA", 0):
            x = self.add(node, "transpose", [x], name=self.unique(f"{self.base(node)}.A_T"), perm=[2, 1])["name"]
        product = self.matmul_by_constant(node, x, w, last=c is None)
        if c is not None:
            self.add(node, "binary", [product], function="add", constant=np.asarray(c, np.float64).tolist())

    def matmul(self, node, a):
        w = self.constant(node, 1)
        x = self.tensor(node, 0) if node.input[0] not in self.flattened else None
        if x is None or (w.ndim == 2 and len(self.shapes[x]) == 1):
            self.fc_from_matmul[node.output[0]] = self.fc(node, w, None)
            return
        self.matmul_by_constant(node, x, w)

    def base(self, node):
        return sanitize(node.name or node.output[0])

    def matmul_by_constant(self, node, x, w, last=True):
        """ONNX MatMul of the computed ``x`` (..., M, K) by the constant ``w`` (..., K, P), NumPy's rules (1-D
        operands, broadcast leading axes), as graphnn ops: x seen as (1, rows, K), or as (groups, M, K) when
        w has a matrix per leading index; a conv2d with kernel (1, K) and a filter per column of w (per
        group); the result's axes put back. ``last``: this node gives the ONNX output (else it is named
        '.product' and returned, for a bias to follow)."""
        base = self.base(node)
        shape = list(self.shapes[x])
        drop_first = not self.batched and len(shape) == 1  # ONNX (K,) @ ...: a row of one
        drop_last = w.ndim == 1  # ... @ (K,): a column of one
        if drop_first:
            x = self.add(node, "reshape", [x], name=self.unique(f"{base}.row"), shape=[1] + shape)["name"]
            shape = [1] + shape
        if drop_last:
            w = w[:, None]
        if len(shape) < 2:
            self.batch_axis(f"multiplies {self.describe(x)} by {w.shape}: the product runs over the batch", node)
        *lead, m, k = shape
        *groups, k_w, p = w.shape
        if k_w != k:
            self.fail(f"multiplies input shape {self.describe(x)} by {w.shape}: {k} and {k_w} differ", node)
        onnx_lead = ([None] if self.batched else []) + lead
        if len(groups) > len(onnx_lead):
            if self.batched:
                self.batch_axis(f"w of shape {w.shape} has more leading axes than {self.describe(x)}", node)
            shape = [1] * (len(groups) - len(onnx_lead)) + shape  # x's leading axes of size 1, as NumPy adds
            x = self.add(node, "reshape", [x], name=self.unique(f"{base}.lead"), shape=shape)["name"]
            *lead, m, k = shape
            onnx_lead = list(lead)
        groups = [1] * (len(onnx_lead) - len(groups)) + groups
        if self.batched:
            if groups[0] != 1:
                self.batch_axis(f"w of shape {w.shape} varies along the batch axis", node)
            groups = groups[1:]
        try:
            out_lead = list(np.broadcast_shapes(tuple(lead), tuple(groups)))
        except ValueError:
            self.fail(f"leading axes {lead} and {groups} do not broadcast", node)
        if out_lead != lead:  # x's size-1 leading axes broadcast against w's: expand x first
            ones = np.ones(out_lead + [m, k]).tolist()
            x = self.add(node, "binary", [x], name=self.unique(f"{base}.expanded"), function="mul",
                         constant=ones)["name"]
        w = w.reshape(groups + [k, p])  # the batch's entry (1) dropped
        count = math.prod(out_lead)
        per_group = any(size > 1 for size in groups)
        w = np.broadcast_to(w, out_lead + [k, p]) if per_group else w.reshape(k, p)
        rows = m if per_group else count * m
        g = count if per_group else 1
        kernel = np.ascontiguousarray(np.swapaxes(w.reshape(g, k, p) if per_group else w.reshape(1, k, p), 1, 2))
        kernel = kernel.reshape(g * p, 1, 1, k)  # filter g*P + j: column j of group g's matrix
        seen = self.add(node, "reshape", [x], name=self.unique(f"{base}.rows"), shape=[g, rows, k])["name"]
        conv = self.add(node, "conv2d", [seen], {"W": kernel}, name=self.unique(f"{base}.conv"), filters=g * p,
                        kernel=[1, k], groups=g, bias=False)["name"]  # (g*P, rows, 1)
        split = self.add(node, "reshape", [conv], name=self.unique(f"{base}.split"), shape=[g, p, rows])["name"]
        turned = self.add(node, "transpose", [split], name=self.unique(f"{base}.turned"), perm=[1, 3, 2])["name"]
        out = out_lead + ([] if drop_first else [m]) + ([] if drop_last else [p])  # NumPy drops the added axes
        name = None if last else self.unique(f"{base}.product")
        return self.add(node, "reshape", [turned], name=name, shape=out)["name"]

    def fuse_bias(self, node):
        """MatMul + Add of a constant (the MatMul read by nothing else): the bias of one fc."""
        if node.op_type != "Add" or len(node.input) != 2:
            return False
        for computed, constant in (node.input, node.input[::-1]):
            fc = self.fc_from_matmul.get(computed)
            if fc is None or constant not in self.constants or self.uses[computed] != 1:
                continue
            c = self.constants[constant]
            if symbolic(c) or c.size != fc["units"] and c.size != 1 or c.ndim > 2 or \
                    (c.ndim == 2 and c.shape[0] != 1):
                return False
            fc.pop("bias")
            self.weights[fc["name"]]["b"] = self.bias(node, c, fc["units"])
            self.source[node.output[0]] = fc["name"]
            return True
        return False

    def add_op(self, node, a):
        names = list(node.input)
        constant = [name for name in names if name in self.constants]
        if constant and node.op_type == "Sum" and len(constant) < len(names) and "Add" in _CLAIMED:
            self.sum_with_constants(node, [name for name in names if name not in self.constants], constant)
        elif constant:
            self.fail(f"adds the constant '{constant[0]}'; graphnn's add takes computed inputs of equal "
                      "shape (a bias right after a MatMul is folded into fc)", node)
        elif len(names) == 1:
            self.source[node.output[0]] = self.tensor(node, 0)
        else:
            self.add(node, "add", [self.tensor(node, i) for i in range(len(names))])

    def sum_with_constants(self, node, computed, constants):
        """Sum of computed tensors and constants: the constants summed here, then one Add (the op that
        imports Add takes a constant operand)."""
        total = self.constants[constants[0]]
        for name in constants[1:]:
            total = total + self.constants[name]
        if len(computed) > 1:
            partial = self.add(node, "add", [self.source_of(node, name) for name in computed],
                               name=self.unique(sanitize(f"{node.name or node.output[0]}.computed")))["name"]
        else:
            partial = self.source_of(node, computed[0])
        folded = f"{node.output[0]}.constants"
        self.constants[folded] = total
        self.source[f"{node.output[0]}.computed"] = partial
        addition = self.onnx.helper.make_node("Add", [f"{node.output[0]}.computed", folded], list(node.output[:1]),
                                              name=node.name)
        HANDLERS["Add"](self, addition, {})

    def source_of(self, node, name):
        return self.tensor(node, list(node.input).index(name))

    def activation(self, node, a):
        self.add(node, "activation", [self.tensor(node, 0)], function=ACTIVATIONS[node.op_type])

    def identity(self, node, a):
        self.add(node, "activation", [self.tensor(node, 0)], function="identity")

    def leaky_relu(self, node, a):
        self.add(node, "activation", [self.tensor(node, 0)], function="leaky_relu",
                 negative_slope=float(a.get("alpha", 0.01)))

    def softmax(self, node, a):
        x = self.tensor(node, 0)
        self.add(node, "activation", [x], function="softmax", axis=self.axis(node, a, x, -1))

    def dropout(self, node, a):
        """Inference Dropout (or training_mode with ratio 0): dropout (the identity at inference); a mask
        output that something reads is all true: x ** 0, computed beside it."""
        ratio = self.constant(node, 1, required=False)
        training = self.constant(node, 2, required=False)
        ratio = 0.5 if ratio is None else float(np.asarray(ratio).reshape(-1)[0])
        if training is not None and bool(np.asarray(training).reshape(-1)[0]) and ratio != 0:
            self.fail("training_mode is true; graphnn imports inference graphs", node)
        x = self.tensor(node, 0)
        self.add(node, "dropout", [x], ratio=ratio)
        if len(node.output) > 1 and node.output[1] and self.uses[node.output[1]]:
            self.add(node, "binary", [x], name=self.unique(f"{self.base(node)}.mask"), output=1, function="pow",
                     constant=0.0)

    def concat(self, node, a):
        xs = [self.tensor(node, i) for i in range(len(node.input))]
        self.add(node, "concat", xs, axis=self.axis(node, a, xs[0], None))

    def flatten(self, node, a):
        name = node.input[0]
        if name in self.deferred and self.uses[name] == 1 and a.get("axis", 1) == 1:
            _, source = self.deferred.pop(name)  # GlobalAveragePool + Flatten: one global_avgpool
            self.add(node, "global_avgpool", [source])
            return
        x = self.tensor(node, 0)
        shape = self.onnx_shape(x)
        rank = len(shape)
        axis = a.get("axis", 1)
        if not -rank <= axis <= rank:
            self.fail(f"axis {axis} is out of range for a rank-{rank} tensor", node)
        axis = axis + rank if axis < 0 else axis
        if self.batched:
            if axis != 1:
                self.batch_axis(f"axis {a.get('axis', 1)} merges the batch (axis 0) with other axes", node)
            if self.uses[node.output[0]] == 1 and node.output[0] in self.fc_readers:
                self.flattened[node.output[0]] = x
            else:
                self.add(node, "flatten", [x])
        else:
            self.add(node, "reshape", [x], shape=[math.prod(shape[:axis]), math.prod(shape[axis:])])

    def reshape(self, node, a):
        name = node.input[0]
        target = self.constant(node, 1, batch=True)
        if target.dtype != object and target.dtype.kind not in "iu":
            self.fail(f"the target shape must be integers; got {target.dtype} {target.reshape(-1)[:8].tolist()}",
                      node)
        target = [BATCH if d is BATCH else int(d) for d in target.reshape(-1)]
        if a.get("allowzero", 0) and 0 in target:
            self.fail(f"target shape {target} with allowzero=1 makes an empty tensor", node)
        if BATCH in target[1:]:
            self.batch_axis(f"target shape {target} moves the batch size away from axis 0", node)
        if self.batched:
            if name in self.deferred and self.uses[name] == 1 and target and target[0] in (0, -1, BATCH):
                channels = self.shapes[self.deferred[name][1]][0]  # GlobalAveragePool + Reshape to (N, C)?
                if self.copy_zeros(node, target[1:], (channels, 1, 1)) in ([channels], [-1]):
                    _, source = self.deferred.pop(name)
                    self.add(node, "global_avgpool", [source])
                    return
            x = self.tensor(node, 0)
            if not target or (target[0] not in (0, -1, BATCH) and target[0] != self.batch_size):
                self.batch_axis(f"target shape {target} fixes the batch size; expected 0, -1 or N first", node)
            rest = self.copy_zeros(node, target[1:], self.shapes[x])
            if target[0] == -1 and (-1 in rest or math.prod(rest) != math.prod(self.shapes[x])):
                self.batch_axis(f"target shape {target} merges the batch with other axes", node)
            self.add(node, "reshape", [x], shape=rest)
        else:
            x = self.tensor(node, 0)
            self.add(node, "reshape", [x], shape=self.copy_zeros(node, target, self.shapes[x]) or [1])

    def copy_zeros(self, node, shape, in_shape):
        """ONNX Reshape's 0 entries ("copy this axis") replaced by the input's sizes (batch not counted)."""
        if any(d == 0 and i >= len(in_shape) for i, d in enumerate(shape)):
            self.fail(f"target shape copies an axis that the input shape {tuple(in_shape)} lacks", node)
        return [in_shape[i] if d == 0 else d for i, d in enumerate(shape)]

    def spatial(self, node, x, what):
        if len(self.shapes[x]) != 3:
            self.fail(f"input has shape {self.describe(x)}; graphnn's {what} is 2-D (N, C, H, W)", node)
        return self.shapes[x]

    def pads(self, node, a, in_shape, kernel, stride, dilation):
        """(top, left, bottom, right) from ``pads`` or ``auto_pad``."""
        auto = a.get("auto_pad", "NOTSET")
        if auto in ("NOTSET", ""):
            pads = list(a.get("pads", [0, 0, 0, 0]))
            if len(pads) != 4:
                self.fail(f"pads {pads}: expected 4 values for 2-D", node)
            return tuple(pads)
        if auto == "VALID":
            return (0, 0, 0, 0)
        begin, end = [], []
        for axis in zip(in_shape[1:], kernel, stride, dilation):
            small, large = same_padding(*axis)
            begin.append(small if auto == "SAME_UPPER" else large)
            end.append(large if auto == "SAME_UPPER" else small)
        return tuple(begin + end)

    def window(self, node, a, in_shape, kernel, conv):
        """graphnn's (stride, dilation, padding) for a Conv or pooling node."""
        stride = tuple(a.get("strides", [1, 1]))
        dilation = tuple(a.get("dilations", [1, 1]))
        top, left, bottom, right = self.pads(node, a, in_shape, kernel, stride, dilation)
        if top == bottom and left == right:
            padding = top if top == left else [top, left]
        elif conv and (top, left, bottom, right) == self.pads(node, {"auto_pad": "SAME_UPPER"}, in_shape,
                                                               kernel, stride, dilation):
            padding = "same"  # TensorFlow's rule, as graphnn's "same": the odd pixel at the bottom/right
        else:
            self.fail(f"asymmetric pads (top {top}, left {left}, bottom {bottom}, right {right}) are not "
                      "supported; graphnn pads both sides alike (or convolves 'same', SAME_UPPER)", node)
        return list(stride), list(dilation), padding

    def conv(self, node, a):
        x = self.tensor(node, 0)
        in_shape = self.spatial(node, x, "conv2d")
        w = self.constant(node, 1)
        if w.ndim != 4 or a.get("kernel_shape", list(w.shape[2:])) != list(w.shape[2:]):
            self.fail(f"weights of shape {w.shape} do not fit kernel_shape {a.get('kernel_shape')}", node)
        b = self.constant(node, 2, required=False)
        stride, dilation, padding = self.window(node, a, in_shape, w.shape[2:], conv=True)
        weights = {"W": w} if b is None else {"W": w, "b": b}
        self.add(node, "conv2d", [x], weights, filters=int(w.shape[0]), kernel=list(w.shape[2:]),
                 stride=stride, padding=padding, dilation=dilation, groups=int(a.get("group", 1)),
                 **({} if b is not None else {"bias": False}))

    def pool(self, node, a):
        x = self.tensor(node, 0)
        in_shape = self.spatial(node, x, "pooling")
        kernel = list(a.get("kernel_shape", []))
        stride, dilation, padding = self.window(node, a, in_shape, kernel, conv=False)
        if dilation != [1, 1]:
            self.fail(f"dilations {dilation} are not supported in pooling", node)
        if a.get("ceil_mode", 0):
            top, left, bottom, right = self.pads(node, a, in_shape, kernel, stride, dilation)
            spans = (in_shape[1] + top + bottom - kernel[0], in_shape[2] + left + right - kernel[1])
            if any(span % s for span, s in zip(spans, stride)):
                self.fail("ceil_mode=1 gives a larger output here than graphnn's floor pooling", node)
        op = "maxpool2d" if node.op_type == "MaxPool" else "avgpool2d"
        if op == "avgpool2d" and padding not in (0, [0, 0]) and not a.get("count_include_pad", 0):
            self.fail("count_include_pad=0 with padding: graphnn's average counts the padded zeros", node)
        self.add(node, op, [x], kernel=kernel, stride=stride, padding=padding)

    def global_average_pool(self, node, a):
        """2-D: graphnn's global_avgpool (deferred: a Flatten or Reshape after it makes one node); any other
        number of spatial axes: a mean over them, kept (reduce)."""
        x = self.tensor(node, 0)
        if len(self.shapes[x]) == 3:
            self.deferred[node.output[0]] = (node, x)
        elif len(self.shapes[x]) >= 2 and "reduce" in ops.names():
            self.add(node, "reduce", [x], function="mean", axes=list(range(2, len(self.shapes[x]) + 1)))
        else:
            self.fail(f"input has shape {self.describe(x)}; expected (N, C, spatial axes...)", node)

    def batch_normalization(self, node, a):
        if a.get("training_mode", 0):
            self.fail("training_mode=1; graphnn imports inference graphs", node)
        x = self.tensor(node, 0)
        gamma, beta, mean, var = (self.constant(node, i) for i in range(1, 5))
        if float(a.get("epsilon", 1e-5)) == 0 and not np.any(mean) and np.all(var == 1):
            # normalising by nothing: a per-channel scale and bias (graphnn's scale exports so)
            self.add(node, "scale", [x], {"W": gamma.reshape(-1), "b": beta.reshape(-1)}, bias=True)
            return
        self.add(node, "batchnorm", [x], {"gamma": gamma, "beta": beta},
                 {"running_mean": mean, "running_var": var}, epsilon=float(a.get("epsilon", 1e-5)),
                 momentum=float(a.get("momentum", 0.9)))

    def cast(self, node, a):
        """Cast of a computed tensor to a float type: graphnn computes in floats, so the same values."""
        TP = self.onnx.TensorProto
        to = a.get("to") if node.op_type == "Cast" else None
        if node.op_type == "CastLike":
            like = self.constant(node, 1, required=False)
            to = TP.FLOAT if like is None or like.dtype.kind == "f" else None
        if to not in (TP.FLOAT, TP.DOUBLE, TP.FLOAT16, TP.BFLOAT16):
            self.fail("a cast of a computed tensor to a non-float type: graphnn computes in floats", node)
        self.add(node, "activation", [self.tensor(node, 0)], function="identity")

    def reciprocal(self, node, a):
        self.add(node, "binary", [self.tensor(node, 0)], function="div", constant=1.0, constant_first=True)

    def expand(self, node, a):
        """Expand of a computed tensor to a constant shape: a product with ones of the broadcast shape."""
        x = self.tensor(node, 0)
        target = [d for d in self.constant(node, 1, batch=True).reshape(-1)]
        shape = self.onnx_shape(x)
        rank = max(len(shape), len(target))
        target = [1] * (rank - len(target)) + target
        if self.batched and len(target) == rank:
            leading = target.pop(0)
            if not (leading is BATCH or leading == 1 or leading == self.batch_size):
                self.batch_axis(f"shape {target} expands the batch axis to {leading}", node)
        target = [int(d) for d in target]
        if math.prod(target) > 1 << 16:
            self.fail(f"expands to {target}: graphnn writes the ones as a constant, of at most 65,536 values", node)
        self.add(node, "binary", [x], function="mul", constant=np.ones(target).tolist())

    def gather(self, node, a):
        """Gather from a computed tensor with constant indices: a slice (indices in a progression) or slices
        joined, then reshaped to the indices' shape."""
        x = self.tensor(node, 0)
        indices = self.constant(node, 1)
        if indices.dtype.kind not in "iu":
            self.fail(f"indices must be integers; got {indices.dtype}", node)
        axis = self.axis(node, a, x, 0)
        size = self.shapes[x][axis - 1]
        flat = [int(i) for i in indices.reshape(-1)]
        if not flat or any(not -size <= i < size for i in flat):
            self.fail(f"indices {flat[:8]} are out of range for an axis of size {size}", node)
        flat = [i % size for i in flat]
        step = flat[1] - flat[0] if len(flat) > 1 else 1
        if step and all(b - a == step for a, b in itertools.pairwise(flat)):
            end = flat[-1] + (1 if step > 0 else -1)
            pieces = [(flat[0], end if end >= 0 else -size - 1, step)]
        elif len(flat) <= 64:
            pieces = [(i, i + 1, 1) for i in flat]
        else:
            self.fail(f"{len(flat)} scattered indices: graphnn gathers at most 64 as slices", node)
        base = sanitize(node.name or node.output[0])
        parts = [self.add(node, "slice", [x], name=self.unique(f"{base}.{k}" if len(pieces) > 1 else base),
                          axes=[axis], starts=[start], ends=[end], steps=[step])["name"]
                 for k, (start, end, step) in enumerate(pieces)]
        if len(parts) > 1:
            self.add(node, "concat", parts, name=self.unique(f"{base}.joined"), axis=axis)
        joined = self.source[node.output[0]]
        out = list(self.shapes[x][:axis - 1]) + list(indices.shape) + list(self.shapes[x][axis:])
        if tuple(out) != tuple(self.shapes[joined]):
            self.add(node, "reshape", [joined], name=self.unique(f"{base}.shaped"), shape=out)

    def tile(self, node, a):
        """Tile of a computed tensor: its copies joined along each repeated axis."""
        x = self.tensor(node, 0)
        repeats = [int(r) for r in self.constant(node, 1).reshape(-1)]
        shape = self.onnx_shape(x)
        if len(repeats) != len(shape) or min(repeats, default=1) < 1:
            self.fail(f"repeats {repeats} must have one entry >= 1 per axis of {len(shape)}", node)
        if self.batched and repeats[0] != 1:
            self.batch_axis(f"repeats {repeats} repeat the batch axis", node)
        if sum(repeats) - len(repeats) > 64:
            self.fail(f"repeats {repeats}: graphnn joins at most 64 copies", node)
        current, base = x, sanitize(node.name or node.output[0])
        for onnx_axis, count in enumerate(repeats):
            if count > 1:
                current = self.add(node, "concat", [current] * count, name=self.unique(f"{base}.{onnx_axis}"),
                                   axis=self.to_axis(node, onnx_axis, x))["name"]
        if current == x:
            self.add(node, "activation", [x], function="identity")

    def fold_only(self, node, a):
        computed = next(i for i, name in enumerate(node.input) if name and name not in self.constants)
        self.fail(f"ONNX {node.op_type} is imported only when all its inputs are constants (it is then folded); "
                  f"input {computed} ('{node.input[computed]}') is computed", node)

    def constant_op(self, node, a):
        if "value" in a:
            value = a["value"]
        elif "value_float" in a or "value_floats" in a:
            value = np.asarray(a.get("value_float", a.get("value_floats")), np.float32)
        elif "value_int" in a or "value_ints" in a:
            value = np.asarray(a.get("value_int", a.get("value_ints")), np.int64)
        else:
            self.fail(f"only numeric constants are supported; got attributes {', '.join(a) or 'none'}", node)
        self.constants[node.output[0]] = value

    # --- the whole graph ----------------------------------------------------------------------------

    def run(self, loss):
        for value in self.graph.input:
            if value.name not in self.constants and value.name not in self.read.initialized:
                self.data_input(value)
        for index, node in enumerate(self.graph.node):
            self.index, self.current = index, node
            a = self.read.attributes[self.index]
            self.check_constant_types(node)
            if self.reads_empty(node):
                for index, name in enumerate(node.input):
                    if name and name not in self.constants:
                        if name in self.inputs:
                            raise NeedsConstant(f"input {index} ('{name}') must be a constant: the node reads an "
                                                "empty tensor, so it is folded", name, **self.where(node))
                        self.fail(f"reads an empty tensor and the computed '{name}': graphnn's shapes are >= 1",
                                  node)
            if self.foldable(node):
                self.fold(node, a)
                continue
            if node.op_type in ("Shape", "Size"):
                self.shape_op(node, a)
                continue
            if not self.batched and node.op_type in BATCHED_OPS:
                self.fail(f"ONNX {node.op_type} needs axis 0 to be a batch of samples, and this graph is imported "
                          "without one (see the batch rule of graphnn.interop.onnx_import)", node)
            try:
                if not self.fuse_bias(node):
                    HANDLERS.get(node.op_type, _Importer.fold_only)(self, node, a)
            except FoldError as error:  # the open batch size met where a number is needed
                self.fail(str(error), node)
            self.verify(node)
            for extra in node.output[1:]:
                if extra and self.uses[extra] and extra not in self.source and extra not in self.constants:
                    self.fail(f"its extra output '{extra}' is used; graphnn computes only the first output",
                              node)
        self.index = len(self.graph.node)
        for value in self.graph.output:
            if value.name in self.deferred:
                self.materialize(value.name)
            if value.name in self.source:
                self.outputs.append((value.name, self.source[value.name], None))
            elif value.name in self.constants:
                self.outputs.append((value.name, None, self.constants[value.name]))
            else:
                self.fail(f"graph output '{value.name}' is not computed by any node")
        if loss:
            self.add_losses([node for _, node, _ in self.outputs if node is not None], loss)

    def add_losses(self, outputs, function):
        label = self.unique("label")
        self.nodes.append({"name": label, "op": "data", "shape": [], "field": "y"})
        read = {source for node in self.nodes for source in node.get("inputs", [])}
        for output in outputs:
            node = next(node for node in self.nodes if node["name"] == output)
            name = self.unique("loss")
            if (LOSS_FUNCTIONS[function] == "softmax" and node["op"] == "activation" and output not in read
                    and node["function"] == "softmax" and len(self.shapes[output]) == 1):
                self.nodes.remove(node)  # the loss applies the softmax itself
                name, output = node["name"], node["inputs"][0]
            if len(self.shapes[output]) != 1:
                raise GraphnnError(f"output '{output}' has sample shape {self.shapes[output]}; a loss needs "
                                   "(C,)", file=self.file, node=output)
            self.nodes.append({"name": name, "op": "loss", "inputs": [output, label], "function": function})


HANDLERS = {  # ONNX op_type -> the _Importer method that converts it
    "Gemm": _Importer.gemm,
    "MatMul": _Importer.matmul,
    "Add": _Importer.add_op,
    "Sum": _Importer.add_op,
    "Relu": _Importer.activation,
    "Tanh": _Importer.activation,
    "Sigmoid": _Importer.activation,
    "Identity": _Importer.identity,
    "LeakyRelu": _Importer.leaky_relu,
    "Softmax": _Importer.softmax,
    "Dropout": _Importer.dropout,
    "Concat": _Importer.concat,
    "Flatten": _Importer.flatten,
    "Reshape": _Importer.reshape,
    "Conv": _Importer.conv,
    "MaxPool": _Importer.pool,
    "AveragePool": _Importer.pool,
    "GlobalAveragePool": _Importer.global_average_pool,
    "BatchNormalization": _Importer.batch_normalization,
    "Constant": _Importer.constant_op,
    "Cast": _Importer.cast,
    "CastLike": _Importer.cast,
    "Reciprocal": _Importer.reciprocal,
    "Expand": _Importer.expand,
    "Gather": _Importer.gather,
    "Tile": _Importer.tile,
}
_CLAIMED = {}  # ONNX op type -> the registered op whose import_onnx imports it
for _op in ops.names():  # ONNX op types that registered ops import themselves (Op.onnx_imports); an op's
    for _onnx_type in ops.get(_op).onnx_imports:  # own import replaces the importer's built-in handler
        if _onnx_type in _CLAIMED:
            raise ValueError(f"op '{_op}' imports ONNX {_onnx_type}, which op '{_CLAIMED[_onnx_type]}' already imports")
        _CLAIMED[_onnx_type] = _op
        HANDLERS[_onnx_type] = ops.get(_op).import_onnx
SUPPORTED = frozenset(HANDLERS) | frozenset(FOLDERS) | {"Shape", "Size"}  # every ONNX op type the importer takes


CONVOLUTIONS = ("conv1d", "conv2d", "conv3d")


def fold_batchnorms(importer):
    """For inference only: each batchnorm that reads a convolution nothing else reads becomes part of it,
    W' = W * s, b' = (b - running_mean) * s + beta with s = gamma / sqrt(running_var + epsilon) per filter;
    the convolution takes the batchnorm's name (so what read it still does). The network computes the same
    outputs (up to rounding) in one node instead of two, but its batch norms no longer train."""
    by_name = {node["name"]: node for node in importer.nodes}
    readers = Counter(source for node in importer.nodes for source in node.get("inputs", []))
    outputs = {node for _, node, _ in importer.outputs}
    renamed = {}
    for bn in [node for node in importer.nodes if node["op"] == "batchnorm"]:
        conv = by_name.get(bn["inputs"][0])
        if conv is None or conv["op"] not in CONVOLUTIONS or readers[conv["name"]] != 1 or conv["name"] in outputs \
                or conv.get("groups", 1) < 1:
            continue
        weights, stats = importer.weights[conv["name"]], importer.state[bn["name"]]
        gamma, beta = (np.asarray(importer.weights[bn["name"]][key], np.float64) for key in ("gamma", "beta"))
        epsilon = bn.get("epsilon", defaults(ops.get("batchnorm").params_schema)["epsilon"])
        scale = gamma / np.sqrt(np.asarray(stats["running_var"], np.float64) + epsilon)
        w = np.asarray(weights["W"])
        bias = np.asarray(weights.get("b", np.zeros(len(w))), np.float64)
        folded = {"W": (w * scale.reshape((-1,) + (1,) * (w.ndim - 1))).astype(w.dtype),
                  "b": ((bias - np.asarray(stats["running_mean"], np.float64)) * scale + beta).astype(w.dtype)}
        importer.nodes.remove(bn)
        del importer.weights[bn["name"]], importer.state[bn["name"]]
        conv.pop("bias", None)  # a bias now, whatever it had
        importer.weights.pop(conv["name"])
        renamed[conv["name"]] = bn["name"]
        importer.shapes[bn["name"]] = importer.shapes.pop(conv["name"])
        conv["name"] = bn["name"]
        importer.weights[bn["name"]] = folded
    if renamed:
        for tensor, node in importer.source.items():
            importer.source[tensor] = renamed.get(node, node)
        importer.outputs = [(name, renamed.get(node, node), constant) for name, node, constant in importer.outputs]
    return len(renamed)


def read_model(proto, file=None):
    """``proto`` checked, converted and shape-inferred (onnx_read.ReadModel)."""
    return ReadModel(require_onnx(), proto, file, SUPPORTED)


def import_graph(read, *, loss=None, bound=None):
    """The finished _Importer of a ReadModel: tried batched, then unbatched (see the batch rule)."""
    attempts = []
    for batched in (True, False):
        importer = _Importer(read, batched=batched, bound=bound)
        try:
            importer.run(loss)
            return importer
        except (NeedsConstant, LimitError):
            raise
        except GraphnnError as error:  # batched: any error may come from reading axis 0 as the batch
            attempts.append((importer.index, error))
    furthest = max(attempts, key=lambda attempt: attempt[0])[1]  # the batched attempt on a tie
    raise GraphnnError(furthest.message, file=furthest.file, node=furthest.node, op=furthest.op) from None


def bundle_of(importer, proto, *, file=None, name=None):
    """The Bundle (model, weights, state, metadata) an _Importer made."""
    from graphnn.io.bundle import Bundle
    from graphnn.model import model_from_dict

    document = {"format": schema.FORMAT,
                "name": sanitize(name or proto.graph.name or (Path(file).stem if file else "imported")),
                "nodes": importer.nodes}
    description = [proto.doc_string] if proto.doc_string else []
    if not importer.batched:
        description.append("Imported from ONNX without a batch axis: each data node's shape is a whole ONNX "
                           "tensor, fed as a batch of one.")
    if description:
        document["description"] = " ".join(description)
    model = model_from_dict(document, file=file)
    arrays = [array for group in (importer.weights, importer.state) for node in group.values()
              for array in node.values()]
    dtype = np.float64 if arrays and all(np.asarray(a).dtype == np.float64 for a in arrays) else np.float32
    weights, state = ({node: {key: np.ascontiguousarray(a, dtype) for key, a in group.items()}
                       for node, group in source.items()} for source in (importer.weights, importer.state))
    for step in model.plan.steps:
        expected = {**step.weight_shapes, **step.op.state_shapes}
        found = {**weights.get(step.name, {}), **state.get(step.name, {})}
        for key, shape in expected.items():
            if key not in found or found[key].shape != tuple(shape):
                got = found[key].shape if key in found else "nothing"
                raise GraphnnError(f"{key} must have shape {tuple(shape)}; the ONNX model gives {got}",
                                   file=file, node=step.name, op=step.op.name)
    producer = " ".join(filter(None, (proto.producer_name, proto.producer_version))) or "unknown"
    metadata = {"imported_from": {"file": Path(file).name if file else None, "producer": producer,
                                  "opset": importer.read.original_opset, "batched": importer.batched}}
    return Bundle(model, weights, state, metadata)


def onnx_to_bundle(proto, *, loss=None, file=None, name=None):
    """A Bundle (model, weights, state, metadata) from an ONNX ModelProto; see the module docstring."""
    from graphnn.interop.onnx_losses import restore_losses

    if loss not in (None, *LOSS_FUNCTIONS):
        raise GraphnnError(f"loss must be one of {', '.join(LOSS_FUNCTIONS)}; got {loss!r}")
    importer = import_graph(read_model(proto, file), loss=loss)
    if loss is None:  # the losses `graphnn export` recorded (graphnn/interop/onnx_losses.py)
        restore_losses(importer, proto)
    for onnx_name, node, _ in importer.outputs:
        if node is None:
            raise GraphnnError(f"graph output '{onnx_name}' is a constant; a graphnn network computes its "
                               "outputs", file=file)
    return bundle_of(importer, proto, file=file, name=name)


def import_onnx(path, *, loss=None, name=None):
    """Read an ONNX file (see ``load_onnx``) into a Bundle."""
    return onnx_to_bundle(load_onnx(path), loss=loss, file=str(path), name=name)


def import_file(source, destination, *, loss=None, name=None):
    """Import ``source`` and write ``destination``: a .gnn bundle, or a .json model file plus, when the
    network has weights or state, a bundle of the same stem beside it. Returns (bundle, written paths)."""
    from graphnn.io.atomic import write_atomic
    from graphnn.io.bundle import save_bundle
    from graphnn.model.writer import dumps

    destination = Path(destination)
    if destination.suffix not in (".gnn", ".json"):
        raise GraphnnError(f"output must end in .gnn (a bundle) or .json (a model file); got '{destination}'")
    bundle = import_onnx(source, loss=loss, name=name)
    written = []
    if destination.suffix == ".json":
        write_atomic(destination, dumps(bundle.model.document).encode())
        written.append(destination)
        destination = destination.with_suffix(".gnn")
    if destination.suffix == ".gnn" and (bundle.weights or bundle.state or not written):
        save_bundle(destination, bundle)
        written.append(destination)
    return bundle, written
