"""Reading an ONNX graph safely: every node, attribute and tensor checked once, before anything uses it.

    read = ReadModel(onnx, proto, file, supported)   # checked, converted to opset >= 18, shapes inferred
    read.attributes[k]       # node k's attributes, typed as the ONNX schema declares them
    read.constants           # initializer name -> array (only those some node or output reads)
    read.shapes[name]        # ONNX's inferred shape of a tensor: a tuple of ints and None (unknown) entries

One reader per kind of value, so a malformed file fails in one place, with one line naming the file and the
ONNX node (``node 'conv1' (op Conv)``):

- **nodes**: an op type graphnn can import (``supported``) in the default domain; the input and output
  counts ONNX's schema gives the op at the model's opset; no required input left empty; at least one
  output; every tensor defined once (by one node, graph input or initializer).
- **attributes** (``read_attributes``): each one the schema declares for the op, of the type it declares
  (``alpha="abc"``, ``axis="1"`` and ``strides=2`` are refused, saying what was expected and what came);
  floats finite; strings UTF-8; required ones present; none twice.
- **tensors** (``tensor_array``): initializers and the values of Constant and ConstantOfShape nodes: a
  numeric ONNX data type (``data_type`` 999 or strings are refused), dims >= 0 within graphnn's limits,
  data that fills the dims exactly, no external data (nothing outside the file is ever opened), no NaN.
  The error names the tensor and the first node that reads it.

Then a model older than ``CONVERTED_OPSET`` is converted by ``onnx.version_converter`` (checked again
afterwards), so the importer and the ops' import hooks see opset 18 or newer, and ONNX's shape inference
(``onnx.shape_inference``, on a copy without the large initializers' data) gives every tensor's shape,
which the importer compares with what graphnn computes. Nothing in the file is executed.
"""

import math

import numpy as np

from graphnn.errors import GraphnnError, LimitError
from graphnn.interop.onnx_common import CONVERTED_OPSET, MIN_IMPORT_OPSET
from graphnn.model.limits import MAX_DIMENSIONS, MAX_NODES, MAX_TENSOR_ELEMENTS

DEFAULT_DOMAINS = ("", "ai.onnx")
SHAPE_ONLY_ELEMENTS = 64  # larger initializers reach shape inference as typed inputs without data
_SHOWN = 60  # characters of a bad value shown in an error


def node_label(node, index):
    """How errors name an ONNX node: its name, else its first output, else its position."""
    return node.name or next((name for name in node.output if name), None) or f"#{index}"


def _short(text):
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


class ReadModel:
    """An ONNX ModelProto, checked (see the module docstring), converted and shape-inferred."""

    def __init__(self, onnx, proto, file, supported):
        self.onnx, self.file, self.supported = onnx, file, supported
        self._schemas, self._allowed = {}, {}  # (op type, opset) -> OpSchema; allowed input types
        self.large = []  # initializers kept out of a converted model (see convert)
        self.original_opset = self.opset_of(proto)
        self.opset = self.original_opset
        self.check(proto)
        if self.opset < CONVERTED_OPSET:
            proto = self.convert(proto)
            self.opset = self.opset_of(proto)
            self.check(proto)
        self.proto, self.graph = proto, proto.graph
        self.initialized = {tensor.name for tensor in self.initializers()}  # not graph inputs to feed
        self.constants = {}
        wanted = {name for node in self.graph.node for name in node.input} | {v.name for v in self.graph.output}
        for tensor in self.initializers():
            if tensor.name in wanted:
                self.constants[tensor.name] = self.tensor_array(tensor, self.reader_of(tensor.name))
        self.shapes, self.types = self.infer_shapes()

    # --- errors ---------------------------------------------------------------------------------------

    def fail(self, message, node=None, index=None):
        where = {} if node is None else {"node": node_label(node, index), "op": node.op_type or "?"}
        raise GraphnnError(message, file=self.file, **where)

    def reader_of(self, tensor):
        """(node, index) of the first node reading ``tensor``, or (None, None)."""
        index = self._readers.get(tensor)
        return (None, None) if index is None else (self._graph.node[index], index)

    # --- the graph ------------------------------------------------------------------------------------

    def opset_of(self, proto):
        versions = {}
        for entry in proto.opset_import:
            versions[entry.domain] = entry.version
        version = versions.get("", versions.get("ai.onnx"))
        newest = self.onnx.defs.onnx_opset_version()
        if version is None:
            raise GraphnnError("the model imports no opset of the default ONNX domain", file=self.file)
        if not MIN_IMPORT_OPSET <= version <= newest:
            raise GraphnnError(f"the model uses opset {version}; graphnn imports opsets {MIN_IMPORT_OPSET} to "
                               f"{newest} (the newest the installed onnx knows)", file=self.file)
        return version

    def check(self, proto):
        """Every node, attribute and initializer of ``proto`` as the module docstring says."""
        self._graph = graph = proto.graph
        if len(graph.node) > MAX_NODES:
            raise LimitError(f"{len(graph.node):,} nodes; the limit is {MAX_NODES:,}", file=self.file)
        if graph.sparse_initializer:
            raise GraphnnError("sparse initializers are not supported", file=self.file)
        defined = set()
        for value in list(graph.input) + list(graph.initializer):
            defined.add(value.name)
        self._readers = {}  # tensor -> index of the first node reading it
        for index, node in enumerate(graph.node):
            for name in node.input:
                self._readers.setdefault(name, index)
        self.attributes = [self.check_node(node, index, defined) for index, node in enumerate(graph.node)]
        for tensor in graph.initializer:
            self.check_tensor(tensor, self.reader_of(tensor.name))

    def schema(self, node, index):
        if node.domain not in DEFAULT_DOMAINS or node.op_type not in self.supported:
            domain = f" (domain {node.domain})" if node.domain not in DEFAULT_DOMAINS else ""
            self.fail(f"ONNX op {node.op_type}{domain} has no graphnn equivalent; graphnn imports "
                      f"{', '.join(sorted(self.supported))}", node, index)
        key = (node.op_type, self.opset)
        if key not in self._schemas:
            try:
                self._schemas[key] = self.onnx.defs.get_schema(node.op_type, self.opset, "")
            except self.onnx.defs.SchemaError:
                self.fail(f"ONNX has no op {node.op_type} in opset {self.opset}", node, index)
        return self._schemas[key]

    def schema_of(self, node):
        """The ONNX schema of a checked node (at the opset the importer reads)."""
        return self._schemas[(node.op_type, self.opset)]

    def allowed_types(self, schema, formal):
        """The type strings ('tensor(int64)', ...) ONNX allows for one formal input of ``schema``."""
        key = (schema.name, schema.since_version, formal.name)
        if key not in self._allowed:
            constraints = {c.type_param_str: set(c.allowed_type_strs) for c in schema.type_constraints}
            self._allowed[key] = constraints.get(formal.type_str, {formal.type_str})
        return self._allowed[key]

    def type_string(self, dtype):
        """ONNX's name of a NumPy dtype as a tensor type: float32 -> 'tensor(float)'."""
        try:
            kind = self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
        except (KeyError, TypeError, ValueError):
            return f"tensor({dtype})"
        return f"tensor({self.onnx.TensorProto.DataType.Name(kind).lower()})"

    def check_node(self, node, index, defined):
        schema = self.schema(node, index)
        op = f"ONNX {node.op_type} (opset {self.opset})"
        for what, names, low, high in (("input", node.input, schema.min_input, schema.max_input),
                                       ("output", node.output, schema.min_output, schema.max_output)):
            if not low <= len(names) <= high:
                allowed = str(low) if low == high else f"{low} to {high}" if high < 2**30 else f"{low} or more"
                self.fail(f"has {len(names)} {what}s; {op} takes {allowed}", node, index)
        optional = self.onnx.defs.OpSchema.FormalParameterOption.Optional
        for position, name in enumerate(node.input):
            formal = schema.inputs[min(position, len(schema.inputs) - 1)]
            if not name and formal.option != optional:
                self.fail(f"input {position} ({formal.name}) is required but empty", node, index)
        if not any(node.output):
            self.fail("has no output names", node, index)
        for name in node.output:
            if name and name in defined:
                self.fail(f"output '{_short(name)}' is already defined (an ONNX graph defines each tensor once)",
                          node, index)
            defined.add(name)
        return self.read_attributes(node, index, schema)

    def convert(self, proto):
        """``proto`` converted to CONVERTED_OPSET; the converter sees the large initializers as typed graph
        inputs without data (it copies the model twice), and they are put back afterwards."""
        light, large = self.light_copy(proto)
        try:
            converted = self.onnx.version_converter.convert_version(light, CONVERTED_OPSET)
        except Exception as error:  # noqa: BLE001 — the converter raises RuntimeError, ValueError or its own
            if "param instead of an int" not in str(error):
                raise self.conversion_error(error) from None
            converted = self.convert_with_sizes(light)  # some adapters (opset 6's broadcasting) need sizes
        listed = {value.name for value in proto.graph.input}
        added = {tensor.name for tensor in large} - listed
        inputs = [value for value in converted.graph.input if value.name not in added]
        del converted.graph.input[:]
        converted.graph.input.extend(inputs)
        self.large = large  # kept beside the converted model (copying them into it costs seconds)
        return converted

    def initializers(self):
        """Every initializer of the model read: the converted model's and those kept beside it."""
        return list(self.graph.initializer) + self.large

    def copy(self, proto):
        duplicate = self.onnx.ModelProto()
        duplicate.CopyFrom(proto)
        return duplicate

    def conversion_error(self, error):
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return GraphnnError(f"cannot convert opset {self.opset} to {CONVERTED_OPSET} with onnx.version_converter: "
                            f"{text[:200]}", file=self.file)

    def convert_with_sizes(self, light):
        """Convert with each open size of the graph's inputs and outputs set to 1 (the adapters check
        ranks and sizes, and write nothing that depends on them), then give the inputs and outputs their
        own types back; the value infos the converter wrote for size 1 are dropped."""
        sized = self.copy(light)
        for value in list(sized.graph.input) + list(sized.graph.output):
            for dim in value.type.tensor_type.shape.dim:
                if not dim.HasField("dim_value"):
                    dim.dim_value = 1
        try:
            converted = self.onnx.version_converter.convert_version(sized, CONVERTED_OPSET)
        except Exception as error:  # noqa: BLE001 — as in convert
            raise self.conversion_error(error) from None
        for values, originals in ((converted.graph.input, light.graph.input),
                                  (converted.graph.output, light.graph.output)):
            types = {value.name: value.type for value in originals}
            for value in values:
                if value.name in types:
                    value.type.CopyFrom(types[value.name])
        del converted.graph.value_info[:]
        return converted

    def light_copy(self, proto, extra=()):
        """(a copy of ``proto`` whose initializers of more than SHAPE_ONLY_ELEMENTS elements are typed graph
        inputs without data, those initializers). IR 3 models get every initializer listed as an input."""
        onnx = self.onnx
        light = onnx.ModelProto()
        for field in ("ir_version", "producer_name", "producer_version", "domain", "model_version",
                      "doc_string"):
            setattr(light, field, getattr(proto, field))
        light.opset_import.extend(proto.opset_import)
        light.functions.extend(proto.functions)
        graph, source = light.graph, proto.graph
        graph.name, graph.doc_string = source.name, source.doc_string
        graph.node.extend(source.node)
        graph.input.extend(source.input)
        graph.output.extend(source.output)
        graph.value_info.extend(source.value_info)
        listed = {value.name for value in source.input}
        large = []
        for tensor in list(source.initializer) + list(extra):
            if math.prod(tensor.dims) <= SHAPE_ONLY_ELEMENTS:
                graph.initializer.append(tensor)
                if light.ir_version < 4 and tensor.name not in listed:
                    graph.input.append(onnx.helper.make_tensor_value_info(tensor.name, tensor.data_type,
                                                                          list(tensor.dims)))
            else:
                large.append(tensor)
                if tensor.name not in listed:
                    graph.input.append(onnx.helper.make_tensor_value_info(tensor.name, tensor.data_type,
                                                                          list(tensor.dims)))
        return light, large

    def infer_shapes(self):
        """({tensor: shape}, {tensor: ONNX element type}) from ONNX's shape inference, run on a copy whose
        large initializers are typed inputs without data; empty where inference says nothing."""
        onnx = self.onnx
        light, _ = self.light_copy(self.proto, self.large)
        try:
            inferred = onnx.shape_inference.infer_shapes(light, check_type=False, strict_mode=False,
                                                         data_prop=True)
        except Exception:  # noqa: BLE001 — shape inference is advice: the importer works without it
            inferred = light
        shapes, types = {}, {}
        values = list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output)
        for value in values:
            tensor_type = value.type.tensor_type
            if not value.type.HasField("tensor_type"):
                continue
            if tensor_type.elem_type:
                types[value.name] = tensor_type.elem_type
            if tensor_type.HasField("shape"):
                shapes[value.name] = tuple(d.dim_value if d.HasField("dim_value") else None
                                           for d in tensor_type.shape.dim)
        return shapes, types

    # --- attributes -----------------------------------------------------------------------------------

    def read_attributes(self, node, index, schema):
        """{name: value} of the node's attributes, each checked against the op's ONNX schema."""
        declared, values = schema.attributes, {}
        for attribute in node.attribute:
            name = attribute.name
            if name in values:
                self.fail(f"attribute {_short(name)} is given twice", node, index)
            if attribute.ref_attr_name:
                self.fail(f"attribute {_short(name)} refers to a function attribute; the main graph has none",
                          node, index)
            if name not in declared:
                known = ", ".join(sorted(declared)) or "none"
                self.fail(f"ONNX {node.op_type} (opset {self.opset}) has no attribute '{_short(name)}'; its "
                          f"attributes: {known}", node, index)
            expected = int(declared[name].type.value)
            if attribute.type != expected:
                self.fail(f"attribute {name} must be {self.kind(expected)}; got {self.show(attribute)}",
                          node, index)
            values[name] = self.attribute_value(attribute, node, index)
        missing = sorted(name for name, spec in declared.items() if spec.required and name not in values)
        if missing:
            self.fail(f"the required attribute {', '.join(missing)} is missing", node, index)
        return values

    def kind(self, attribute_type):
        A = self.onnx.AttributeProto
        return {A.FLOAT: "a float", A.INT: "an integer", A.STRING: "a string", A.TENSOR: "a tensor",
                A.GRAPH: "a graph", A.FLOATS: "a list of floats", A.INTS: "a list of integers",
                A.STRINGS: "a list of strings", A.TENSORS: "a list of tensors", A.GRAPHS: "a list of graphs",
                A.SPARSE_TENSOR: "a sparse tensor", A.TYPE_PROTO: "a type"}.get(attribute_type, "a value")

    def show(self, attribute):
        """What an attribute of the wrong type holds, for the error: "the string 'abc'", "the integer 2"."""
        A = self.onnx.AttributeProto
        kind = attribute.type
        if kind == A.STRING:
            return f"the string {_short(repr(attribute.s.decode('utf-8', 'replace')))}"
        if kind == A.INT:
            return f"the integer {attribute.i}"
        if kind == A.FLOAT:
            return f"the float {attribute.f!r}"
        if kind in (A.INTS, A.FLOATS):
            values = list(attribute.ints if kind == A.INTS else attribute.floats)
            return f"the list {_short(repr(values))}"
        if kind == A.STRINGS:
            return f"the list {_short(repr([v.decode('utf-8', 'replace') for v in attribute.strings]))}"
        if kind == A.UNDEFINED:
            return "an attribute without a type"
        return self.kind(kind)

    def attribute_value(self, attribute, node, index):
        A = self.onnx.AttributeProto
        kind, name = attribute.type, attribute.name
        if kind == A.FLOAT:
            return self.finite(attribute.f, name, node, index)
        if kind == A.INT:
            return int(attribute.i)
        if kind == A.STRING:
            return self.text(attribute.s, name, node, index)
        if kind == A.FLOATS:
            return [self.finite(value, name, node, index) for value in attribute.floats]
        if kind == A.INTS:
            return [int(value) for value in attribute.ints]
        if kind == A.STRINGS:
            return [self.text(value, name, node, index) for value in attribute.strings]
        if kind == A.TENSOR:
            return self.tensor_array(attribute.t, (node, index), what=f"attribute {name}")
        self.fail(f"attribute {name} is {self.kind(kind)}; graphnn reads numbers, strings and tensors", node, index)

    def finite(self, value, name, node, index):
        if not math.isfinite(value):
            self.fail(f"attribute {name} must be a finite number; got {value}", node, index)
        return float(value)

    def text(self, data, name, node, index):
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self.fail(f"attribute {name} is not UTF-8 text: {_short(repr(data))}", node, index)

    # --- tensors --------------------------------------------------------------------------------------

    NUMERIC = ("FLOAT", "DOUBLE", "FLOAT16", "BFLOAT16", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16",
               "UINT32", "UINT64", "BOOL")

    def check_tensor(self, tensor, reader, what=None):
        """Refuse a tensor graphnn cannot read (see the module docstring) before any of its data is used."""
        onnx = self.onnx
        node, index = reader
        label = what or f"tensor '{_short(tensor.name)}'"
        if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
            self.fail(f"{label} keeps its data in an external file; graphnn reads self-contained .onnx files "
                      "only", node, index)
        if tensor.HasField("segment"):
            self.fail(f"{label} is stored in segments; graphnn reads whole tensors", node, index)
        names = {number: name for name, number in onnx.TensorProto.DataType.items()}
        kind = names.get(tensor.data_type)
        if kind not in self.NUMERIC:
            shown = kind or f"{tensor.data_type}, which is not an ONNX data type"
            self.fail(f"{label} has data type {shown}; graphnn reads tensors of numbers "
                      f"({', '.join(self.NUMERIC).lower()})", node, index)
        dims = tuple(tensor.dims)
        if any(d < 0 for d in dims) or len(dims) > MAX_DIMENSIONS + 1 or math.prod(dims) > MAX_TENSOR_ELEMENTS:
            self.fail(f"{label} has shape {dims}; graphnn needs sizes >= 0, at most {MAX_DIMENSIONS + 1} "
                      f"dimensions and {MAX_TENSOR_ELEMENTS:,} elements", node, index)

    def tensor_array(self, tensor, reader, what=None):
        """The tensor as an array (bfloat16 as float32), after ``check_tensor``; NaN is refused."""
        self.check_tensor(tensor, reader, what)
        node, index = reader
        label = what or f"tensor '{_short(tensor.name)}'"
        dtype = np.dtype(self.onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type))
        dims = tuple(tensor.dims)
        if tensor.HasField("raw_data"):
            raw = tensor.raw_data  # one copy out of protobuf; the array is a read-only view of it
            if len(raw) != math.prod(dims) * dtype.itemsize:
                self.fail(f"{label} holds {len(raw):,} bytes of data; its shape {dims} and type {dtype} need "
                          f"{math.prod(dims) * dtype.itemsize:,}", node, index)
            array = np.frombuffer(raw, dtype.newbyteorder("<")).reshape(dims)
        else:
            try:
                array = self.onnx.numpy_helper.to_array(tensor)
            except (ValueError, TypeError) as error:  # typed data that does not fill the dims
                self.fail(f"{label} cannot be read: {_short(str(error))}", node, index)
        if array.dtype.kind not in "fiub":  # bfloat16 (ml_dtypes)
            array = array.astype(np.float32)
        if array.dtype.kind == "f" and np.isnan(array).any():
            self.fail(f"{label} holds NaN", node, index)
        return array
