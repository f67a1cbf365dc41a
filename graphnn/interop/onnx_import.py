"""Import an ONNX model into graphnn: a model document and its weights, as a Bundle.

    bundle = import_onnx("model.onnx")                        # Bundle(model, weights, state, metadata)
    import_file("model.onnx", "model.json")                   # model.json (+ model.gnn when it has weights)

Reading executes nothing: the file's size is checked against ``MAX_ONNX_BYTES``, its bytes are parsed as
protobuf (``onnx.load_model_from_string``, which never follows external-data paths), tensors that keep
their data in external files are refused, and every tensor's element count is checked before it is
converted to an array.

ONNX (opset 13 and newer, default domain) -> graphnn:

    Gemm (transA=0; alpha, beta, transB folded)   fc (W = alpha * B or alpha * B.T, b = beta * C)
    MatMul by a constant [+ Add of a constant]    fc (the Add becomes the bias)
    Relu, Tanh, Sigmoid, Identity                 activation relu, tanh, sigmoid, identity
    LeakyRelu(alpha), Softmax(axis)               activation leaky_relu (negative_slope), softmax (axis)
    Dropout (inference)                           dropout (ratio)
    Add, Sum (computed inputs, equal shapes)      add
    Concat(axis), Flatten(axis=1), Reshape        concat, flatten, reshape (batch kept: 0 or -1 first)
    Conv (2-D)                                    conv2d (symmetric pads, or SAME_UPPER as "same")
    MaxPool, AveragePool (2-D, floor)             maxpool2d, avgpool2d (count_include_pad=1 if padded)
    GlobalAveragePool [+ Flatten]                 global_avgpool [+ reshape to (C, 1, 1) if not flattened]
    BatchNormalization (inference)                batchnorm (running statistics as state)
    Constant                                      a constant (weights, shapes, ratios)
    an op type a graphnn op lists in onnx_imports that op (e.g. Mul -> multiply), by its import_onnx

Graph inputs become data nodes (field "x"); their leading dimension is the batch. Node names come from
the ONNX node names (or output names), with characters graphnn does not allow replaced by "_". Any
other operator, attribute value or layout is a GraphnnError naming the ONNX node and its op_type.

``loss`` adds a loss on every graph output, reading class indices from a new data node ``label``
(field "y"); with ``softmax_cross_entropy`` an output that is a Softmax over axis 1 is replaced by the
loss (the inverse of ``graphnn export --softmax``).
"""

import math
import re
from collections import Counter
from pathlib import Path

import jsonschema
import numpy as np

from graphnn import ops
from graphnn.errors import GraphnnError, LimitError, ShapeError
from graphnn.interop.onnx_common import MIN_IMPORT_OPSET, require_onnx
from graphnn.interop.onnx_wire import check_counts
from graphnn.io.regular import require_regular_file
from graphnn.model import schema
from graphnn.model.limits import MAX_DIMENSIONS, MAX_NAME_LENGTH, MAX_NODES, MAX_TENSOR_ELEMENTS
from graphnn.model.names import unique_name
from graphnn.model.validate import describe
from graphnn.ops.base import defaults
from graphnn.ops.conv import same_padding
from graphnn.ops.loss import FUNCTIONS as LOSS_FUNCTIONS

MAX_ONNX_BYTES = 2**31 - 1  # protobuf cannot parse a larger message
ACTIVATIONS = {"Relu": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid", "Identity": "identity"}
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.\-]")


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


def _plain(value):
    """A parameter as the model file would say it: a float32 attribute's shortest decimal (0.2, not
    0.20000000298023224), a [height, width] pair of equal sizes as one number."""
    if isinstance(value, float):
        return float(np.format_float_positional(np.float32(value), unique=True, trim="0"))
    if isinstance(value, list) and len(value) == 2 and value[0] == value[1] and isinstance(value[0], int):
        return value[0]
    return value


class _Importer:
    """Walks the ONNX graph in order, turning each node into graphnn nodes with their weights."""

    def __init__(self, onnx, proto, file):
        self.onnx, self.proto, self.file = onnx, proto, file
        self.graph = proto.graph
        self.constants = {}  # ONNX tensor -> array
        self.source = {}  # ONNX tensor -> the graphnn node computing it
        self.deferred = {}  # ONNX tensor of a GlobalAveragePool -> (its ONNX node, the pooled graphnn node)
        self.shapes = {}  # graphnn node -> shape of one sample
        self.nodes, self.weights, self.state = [], {}, {}
        self.taken, self.numbers = set(), {}  # names given, and the last number given per base (unique_name)
        self.fixed_batch = set()  # fixed leading sizes of graph inputs: a Reshape may give them as the batch
        self.fc_from_matmul = {}  # ONNX tensor -> fc node made from a MatMul (an Add may give it a bias)
        self.flattened = {}  # ONNX tensor of a Flatten read only by a Gemm or MatMul -> the unflattened node
        self.uses = Counter(name for node in self.graph.node for name in node.input if name)
        self.fc_readers = {node.input[0] for node in self.graph.node
                           if node.op_type in ("Gemm", "MatMul") and node.input}
        self.uses.update(output.name for output in self.graph.output)

    # --- errors, names, tensors ---------------------------------------------------------------------

    def fail(self, message, node=None):
        where = {} if node is None else {"node": node.name or node.output[0], "op": node.op_type}
        raise GraphnnError(message, file=self.file, **where)

    def unique(self, base):
        return unique_name(base, self.taken, limit=MAX_NAME_LENGTH, numbers=self.numbers)

    def array(self, tensor, node=None):
        """A TensorProto as an array, its size checked first; external data is refused."""
        if tensor.data_location == self.onnx.TensorProto.EXTERNAL:
            self.fail(f"tensor '{tensor.name}' keeps its data in an external file; graphnn reads "
                      "self-contained .onnx files only", node)
        count = math.prod(tensor.dims)
        if len(tensor.dims) > MAX_DIMENSIONS or count > MAX_TENSOR_ELEMENTS:
            self.fail(f"tensor '{tensor.name}' has shape {tuple(tensor.dims)}; the limits are "
                      f"{MAX_DIMENSIONS} dimensions and {MAX_TENSOR_ELEMENTS:,} elements", node)
        try:
            array = self.onnx.numpy_helper.to_array(tensor)
        except (ValueError, TypeError) as error:  # raw_data that does not fit dims, an unknown data type
            self.fail(f"tensor '{tensor.name}' cannot be read: {error}", node)
        if array.dtype.kind not in "fiub":
            self.fail(f"tensor '{tensor.name}' has data type {array.dtype}; expected numbers", node)
        return array

    def attributes(self, node):
        values = {}
        for attribute in node.attribute:
            value = self.onnx.helper.get_attribute_value(attribute)
            values[attribute.name] = value.decode() if isinstance(value, bytes) else value
        return values

    def tensor(self, node, index):
        """The graphnn node computing input ``index`` of ``node``."""
        name = node.input[index] if index < len(node.input) else ""
        if name in self.deferred:
            self.materialize(name)
        if name in self.source:
            return self.source[name]
        if name in self.constants:
            self.fail(f"input {index} ('{name}') is a constant; graphnn needs a computed tensor there", node)
        self.fail(f"input {index} ('{name}') is not a graph input or the output of an earlier node", node)

    def constant(self, node, index, required=True):
        """Input ``index`` of ``node`` as an array; None when it is absent and not ``required``."""
        name = node.input[index] if index < len(node.input) else ""
        if name in self.constants:
            return self.constants[name]
        if not name and not required:
            return None
        self.fail(f"input {index} ('{name or 'absent'}') must be a constant (an initializer or Constant)",
                  node)

    # --- graphnn nodes ------------------------------------------------------------------------------

    def add(self, node, op, inputs, weights=None, state=None, name=None, **params):
        """Append a graphnn node computed from ONNX ``node``; its output tensor now maps to it."""
        name = name or self.unique(sanitize(node.name or node.output[0]))
        inputs = self.distinct(inputs)
        op_class = ops.get(op)
        implied = defaults(op_class.params_schema)
        params = {key: _plain(value) for key, value in params.items()
                  if key not in implied or implied[key] != _plain(value)}
        document = {"name": name, "op": op, **({"inputs": list(inputs)} if inputs else {}), **params}
        validator = jsonschema.Draft202012Validator(schema.node_params_schema(op_class))
        error = next(iter(validator.iter_errors(document)), None)
        if error is not None:
            self.fail(f"{op} parameter {'/'.join(map(str, error.absolute_path))}: {describe(error)}", node)
        try:
            self.shapes[name] = op_class(name, params, [self.shapes[s] for s in inputs]).out_shape
        except ShapeError as error:
            self.fail(f"as graphnn {op}: {error.message}", node)
        self.nodes.append(document)
        if weights:
            self.weights[name] = weights
        if state:
            self.state[name] = state
        self.source[node.output[0]] = name
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

    # --- one handler per ONNX op_type -----------------------------------------------------------------

    def fc(self, node, w, b):
        """An fc node for a Gemm or MatMul: input 0 times ``w`` (D, units), plus ``b``."""
        name = node.input[0]
        if name in self.flattened:  # a Flatten only this node reads: graphnn's fc flattens by itself
            x = self.flattened.pop(name)
            size = math.prod(self.shapes[x])
        else:
            x = self.tensor(node, 0)
            size = self.shapes[x][0] if len(self.shapes[x]) == 1 else None
        if size is None or w.ndim != 2 or w.shape[0] != size:
            shape = ", ".join(map(str, self.shapes[x]))
            self.fail(f"multiplies input shape (N, {shape}) by weights {w.shape}; graphnn's fc needs "
                      "(N, D) @ (D, units)", node)
        weights = {"W": w} if b is None else {"W": w, "b": self.bias(node, b, w.shape[1])}
        no_bias = {} if b is not None else {"bias": False}
        return self.add(node, "fc", [x], weights, units=int(w.shape[1]), **no_bias)

    def bias(self, node, c, units):
        try:
            return np.broadcast_to(c, (1, units)).reshape(units).copy()
        except ValueError:
            self.fail(f"bias of shape {c.shape} does not broadcast to one value per unit ({units})", node)

    def gemm(self, node, a):
        if a.get("transA", 0):
            self.fail("transA=1 is not supported (graphnn's fc multiplies samples in rows)", node)
        w = self.constant(node, 1)
        if w.ndim != 2:
            self.fail(f"B has shape {w.shape}; expected a matrix", node)
        w = (w.T if a.get("transB", 0) else w) * np.asarray(a.get("alpha", 1.0), w.dtype)
        c = self.constant(node, 2, required=False)
        self.fc(node, w, None if c is None else c * np.asarray(a.get("beta", 1.0), c.dtype))

    def matmul(self, node, a):
        fc = self.fc(node, self.constant(node, 1), None)
        self.fc_from_matmul[node.output[0]] = fc

    def add_op(self, node, a):
        names = list(node.input)
        constant = [name for name in names if name in self.constants]
        computed = [name for name in names if name not in self.constants]
        fc = self.fc_from_matmul.get(computed[0]) if len(names) == 2 and len(constant) == 1 else None
        if fc is not None and self.uses[computed[0]] == 1:  # MatMul + Add: the bias of one fc
            fc.pop("bias")
            self.weights[fc["name"]]["b"] = self.bias(node, self.constants[constant[0]], fc["units"])
            self.source[node.output[0]] = fc["name"]
        elif constant:
            self.fail(f"adds the constant '{constant[0]}'; graphnn's add takes computed inputs of equal "
                      "shape (a bias right after a MatMul is folded into fc)", node)
        elif len(names) == 1:
            self.add(node, "activation", [self.tensor(node, 0)], function="identity")
        else:
            self.add(node, "add", [self.tensor(node, i) for i in range(len(names))])

    def activation(self, node, a):
        self.add(node, "activation", [self.tensor(node, 0)], function=ACTIVATIONS[node.op_type])

    def identity(self, node, a):
        if node.input[0] in self.constants:
            self.constants[node.output[0]] = self.constants[node.input[0]]
        else:
            self.activation(node, a)

    def leaky_relu(self, node, a):
        self.add(node, "activation", [self.tensor(node, 0)], function="leaky_relu",
                 negative_slope=float(a.get("alpha", 0.01)))

    def axis(self, node, a, x, default):
        """The attribute ``axis`` counted from the batch (axis 0), which it must not be."""
        rank = len(self.shapes[x]) + 1
        axis = a.get("axis", default)
        if axis is None:
            self.fail("the attribute axis is missing", node)
        axis = axis + rank if axis < 0 else axis
        if not 1 <= axis < rank:
            self.fail(f"axis {a.get('axis', default)} of a rank-{rank} tensor: graphnn needs an axis after "
                      "the batch (axis 0)", node)
        return axis

    def softmax(self, node, a):
        x = self.tensor(node, 0)
        self.add(node, "activation", [x], function="softmax", axis=self.axis(node, a, x, -1))

    def dropout(self, node, a):
        ratio = self.constant(node, 1, required=False)
        training = self.constant(node, 2, required=False)
        if training is not None and bool(training):
            self.fail("training_mode is true; graphnn imports inference graphs", node)
        self.add(node, "dropout", [self.tensor(node, 0)], ratio=0.5 if ratio is None else float(ratio))

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
        if self.axis(node, a, x, 1) != 1:
            self.fail(f"axis {a['axis']}: graphnn flattens everything after the batch (axis 1)", node)
        if self.uses[node.output[0]] == 1 and node.output[0] in self.fc_readers:
            self.flattened[node.output[0]] = x
        else:
            self.add(node, "flatten", [x])

    def reshape(self, node, a):
        name = node.input[0]
        target = [int(d) for d in self.constant(node, 1).reshape(-1)]
        if not target or (a.get("allowzero", 0) and 0 in target):
            self.fail(f"target shape {target} is not supported (empty, or zeros with allowzero=1)", node)
        if target[0] not in (0, -1) and target[0] not in self.fixed_batch:
            self.fail(f"target shape {target} fixes the batch size; expected 0 or -1 first", node)
        if target[0] == -1 and -1 in target[1:]:
            self.fail(f"target shape {target} has two -1 entries", node)
        if name in self.deferred and self.uses[name] == 1:  # GlobalAveragePool + Reshape to (N, C)?
            channels = self.shapes[self.deferred[name][1]][0]
            if self.copy_zeros(node, target[1:], (channels, 1, 1)) in ([channels], [-1]):
                _, source = self.deferred.pop(name)
                self.add(node, "global_avgpool", [source])
                return
        x = self.tensor(node, 0)
        self.add(node, "reshape", [x], shape=self.copy_zeros(node, target[1:], self.shapes[x]))

    def copy_zeros(self, node, shape, in_shape):
        """ONNX Reshape's 0 entries ("copy this axis") replaced by the input's sizes (batch not counted)."""
        if any(d == 0 and i >= len(in_shape) for i, d in enumerate(shape)):
            self.fail(f"target shape copies an axis that the input shape (N, {in_shape}) lacks", node)
        return [in_shape[i] if d == 0 else d for i, d in enumerate(shape)]

    def spatial(self, node, x, what):
        if len(self.shapes[x]) != 3:
            self.fail(f"input has shape (N, {', '.join(map(str, self.shapes[x]))}); graphnn's {what} is 2-D "
                      "(N, C, H, W)", node)
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
        x = self.tensor(node, 0)
        self.spatial(node, x, "global_avgpool")
        self.deferred[node.output[0]] = (node, x)

    def batch_normalization(self, node, a):
        if a.get("training_mode", 0):
            self.fail("training_mode=1; graphnn imports inference graphs", node)
        gamma, beta, mean, var = (self.constant(node, i) for i in range(1, 5))
        self.add(node, "batchnorm", [self.tensor(node, 0)], {"gamma": gamma, "beta": beta},
                 {"running_mean": mean, "running_var": var}, epsilon=float(a.get("epsilon", 1e-5)),
                 momentum=float(a.get("momentum", 0.9)))

    def constant_op(self, node, a):
        if "value" in a:
            value = self.array(a["value"], node)
        elif "value_float" in a or "value_floats" in a:
            value = np.asarray(a.get("value_float", a.get("value_floats")), np.float32)
        elif "value_int" in a or "value_ints" in a:
            value = np.asarray(a.get("value_int", a.get("value_ints")), np.int64)
        else:
            self.fail(f"only numeric constants are supported; got attributes {', '.join(a)}", node)
        self.constants[node.output[0]] = value

    # --- the whole graph ----------------------------------------------------------------------------

    def run(self, loss):
        self.check_opset()
        if len(self.graph.node) > MAX_NODES:
            raise LimitError(f"{len(self.graph.node):,} nodes; the limit is {MAX_NODES:,}", file=self.file)
        if self.graph.sparse_initializer:
            self.fail("sparse initializers are not supported")
        for tensor in self.graph.initializer:
            self.constants[tensor.name] = self.array(tensor)
        for value in self.graph.input:
            if value.name not in self.constants:
                self.data_input(value)
        for node in self.graph.node:
            handler = HANDLERS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
            if handler is None:
                domain = f" (domain {node.domain})" if node.domain not in ("", "ai.onnx") else ""
                self.fail(f"ONNX op {node.op_type}{domain} has no graphnn equivalent; graphnn imports "
                          f"{', '.join(sorted(HANDLERS))}", node)
            handler(self, node, self.attributes(node))
            for extra in node.output[1:]:
                if extra and self.uses[extra]:
                    self.fail(f"its extra output '{extra}' is used; graphnn computes only the first output",
                              node)
        outputs = []
        for value in self.graph.output:
            if value.name in self.deferred:
                self.materialize(value.name)
            if value.name not in self.source:
                self.fail(f"graph output '{value.name}' is not computed by any node")
            outputs.append(self.source[value.name])
        if loss:
            self.add_losses(outputs, loss)

    def check_opset(self):
        versions = {entry.domain: entry.version for entry in self.proto.opset_import}
        version = versions.get("", versions.get("ai.onnx"))
        if version is None or version < MIN_IMPORT_OPSET:
            raise GraphnnError(f"the model uses opset {version}; graphnn imports opset {MIN_IMPORT_OPSET} "
                               "and newer (convert it with onnx.version_converter)", file=self.file)

    def data_input(self, value):
        tensor_type = value.type.tensor_type
        where = {"file": self.file, "node": value.name, "op": "graph input"}
        if tensor_type.elem_type not in (self.onnx.TensorProto.FLOAT, self.onnx.TensorProto.DOUBLE):
            raise GraphnnError(f"element type {self.onnx.TensorProto.DataType.Name(tensor_type.elem_type)}; "
                               "graphnn's data nodes take float or double", **where)
        dims = tensor_type.shape.dim
        if not dims or len(dims) > MAX_DIMENSIONS + 1:
            raise GraphnnError(f"rank {len(dims)}: expected a batch axis and at most {MAX_DIMENSIONS} more",
                               **where)
        if dims[0].HasField("dim_value"):
            self.fixed_batch.add(dims[0].dim_value)
        shape = []
        for axis, dim in enumerate(dims[1:], start=1):
            if not dim.HasField("dim_value") or dim.dim_value < 1:
                raise GraphnnError(f"axis {axis} has no fixed size ({dim.dim_param or '?'}); graphnn needs "
                                   "every size but the batch's", **where)
            shape.append(dim.dim_value)
        name = self.unique(sanitize(value.name))
        self.nodes.append({"name": name, "op": "data", "shape": shape, "field": "x"})
        self.shapes[name] = tuple(shape)
        self.source[value.name] = name

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
}
_CLAIMED = {}  # ONNX op type -> the registered op whose import_onnx imports it
for _op in ops.names():  # ONNX op types that registered ops import themselves (Op.onnx_imports); an op's
    for _onnx_type in ops.get(_op).onnx_imports:  # own import replaces the importer's built-in handler
        if _onnx_type in _CLAIMED:
            raise ValueError(f"op '{_op}' imports ONNX {_onnx_type}, which op '{_CLAIMED[_onnx_type]}' already imports")
        _CLAIMED[_onnx_type] = _op
        HANDLERS[_onnx_type] = ops.get(_op).import_onnx


def onnx_to_bundle(proto, *, loss=None, file=None, name=None):
    """A Bundle (model, weights, state, metadata) from an ONNX ModelProto; see the module docstring."""
    from graphnn.io.bundle import Bundle
    from graphnn.model import model_from_dict

    onnx = require_onnx()
    if loss not in (None, *LOSS_FUNCTIONS):
        raise GraphnnError(f"loss must be one of {', '.join(LOSS_FUNCTIONS)}; got {loss!r}")
    importer = _Importer(onnx, proto, file)
    importer.run(loss)
    document = {"format": schema.FORMAT,
                "name": sanitize(name or proto.graph.name or (Path(file).stem if file else "imported")),
                "nodes": importer.nodes}
    if proto.doc_string:
        document["description"] = proto.doc_string
    model = model_from_dict(document, file=file)
    arrays = [array for group in (importer.weights, importer.state) for node in group.values()
              for array in node.values()]
    dtype = np.float64 if arrays and all(a.dtype == np.float64 for a in arrays) else np.float32
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
    metadata = {"imported_from": {"file": Path(file).name if file else None, "producer": producer}}
    return Bundle(model, weights, state, metadata)


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
