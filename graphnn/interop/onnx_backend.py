"""graphnn as an ONNX backend (``onnx.backend.base.Backend``): prepare an ONNX model once, run it on inputs.

    from graphnn.interop.onnx_backend import GraphnnBackend   # also: prepare, run_model, supports_device
    rep = GraphnnBackend.prepare(model, device="CPU")         # a ModelProto (checked and imported here)
    outputs = rep.run([x])                                    # a list, in the graph's output order

This is what ONNX's own test suite (``onnx.backend.test.BackendTest``) runs against; see
tests/interop/test_onnx_backend.py and tools/onnx_conformance.py. The model is imported as
``graphnn.interop.onnx_import`` imports files (the same checks, opset conversion, folding and batch rule),
and run by graphnn's executor. What an importer of files cannot know before values arrive is settled by
``run``:

- **inputs in weight positions** (a Conv's W, BatchNormalization's statistics, a Reshape's shape or a
  Gemm's B given as graph inputs): the importer asks for them (``NeedsConstant``); they are bound to the
  run's values, and the network is imported once per distinct set of such values (kept in a small cache);
- **sizes the graph leaves open** other than the batch's: fixed to the run's input shapes (imported once
  per set of shapes);
- **data types**: the network computes in float64 when an input or output is double or an integer type,
  else in float32; integer and bool inputs are fed as floats (never scaled), and each output is cast to
  the type the graph declares;
- **graphs imported without a batch axis** (the importer's batch rule): a leading axis of 1 is added to
  each input and taken from each output; an output is reshaped to the shape ONNX infers for it when that
  shape is static and holds as many values (an output whose batch of 1 ONNX squeezes away);
- **constant outputs** are returned as they are;
- **batch norms after convolutions** are folded into them (``fold_batchnorm=True``, the default: the backend
  runs inference), one node instead of two.

Only the CPU is supported.
"""

from collections import OrderedDict

import numpy as np

from graphnn.errors import GraphnnError
from graphnn.interop.onnx_common import require_onnx
from graphnn.interop.onnx_fold import BATCH, symbolic
from graphnn.interop.onnx_import import (
    SUPPORTED,
    NeedsConstant,
    bundle_of,
    fold_batchnorms,
    import_graph,
    read_model,
)
from graphnn.interop.onnx_read import DEFAULT_DOMAINS

try:  # the base classes, when onnx is installed (it is needed to read a model anyway)
    from onnx.backend.base import Backend, BackendRep
except ImportError:  # pragma: no cover
    Backend, BackendRep = object, object

CACHED = 8  # imported networks kept per prepared model (one per set of bound values and shapes)


def _np_type(onnx, elem_type):
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError):
        return None


class _Prepared:
    """One imported network: the importer's result, the Network, and how to feed and read it."""

    def __init__(self, read, importer, dtype):
        self.read, self.importer, self.dtype = read, importer, np.dtype(dtype)
        self.keep = frozenset(node for _, node, _ in importer.outputs if node is not None)
        self.network = _network(bundle_of(importer, read.proto), self.dtype) if self.keep else None


def _network(bundle, dtype):
    from graphnn.executor import Network

    return Network(bundle.model, bundle.weights, bundle.state, dtype)


class GraphnnRep(BackendRep):
    """A prepared ONNX model: ``run(inputs)`` -> the graph's outputs, in order (see the module docstring)."""

    def __init__(self, model, device="CPU", fold_batchnorm=True):
        self.onnx = require_onnx()
        self.fold = fold_batchnorm
        if not GraphnnBackend.supports_device(device):
            raise GraphnnError(f"graphnn runs on the CPU; got device {device!r}")
        self.model = model
        initializers = {tensor.name for tensor in model.graph.initializer}
        self.input_names = [value.name for value in model.graph.input if value.name not in initializers]
        self.output_names = [value.name for value in model.graph.output]
        self.read = read_model(model)  # checks and converts once; an unsupported model fails here
        self.bound = set()  # graph inputs that nodes take as constants: bound to each run's values
        self.cache = OrderedDict()
        self.open_sizes = self.read_open_sizes()
        if not self.open_sizes:
            try:
                self.prepared({})
            except NeedsConstant:
                pass  # known at the first run

    def read_open_sizes(self):
        """Whether some graph input leaves a size other than its leading one open (or has no shape)."""
        for value in self.model.graph.input:
            if value.name not in self.input_names:
                continue
            tensor_type = value.type.tensor_type
            if not tensor_type.HasField("shape"):
                return True
            if any(not d.HasField("dim_value") for d in tensor_type.shape.dim[1:]):
                return True
        return False

    # --- importing, per set of bound values and shapes --------------------------------------------------

    def dtype(self, read):
        TP = self.onnx.TensorProto
        exact = {TP.DOUBLE, TP.INT8, TP.INT16, TP.INT32, TP.INT64, TP.UINT8, TP.UINT16, TP.UINT32, TP.UINT64}
        initialized = {tensor.name for tensor in read.graph.initializer}  # read or not (an unread one may be
        # listed as a graph input too, IR version 3 style: an int64 shape there is no integer input)
        types = [value.type.tensor_type.elem_type for value in list(read.graph.input) + list(read.graph.output)
                 if value.name not in read.constants and value.name not in initialized
                 or value.name in self.input_names]
        return np.float64 if exact & set(types) else np.float32

    def key(self, values):
        parts = []
        for name in sorted(self.bound):
            array = values[name]
            parts.append((name, array.dtype.str, array.shape, array.tobytes()))
        if self.open_sizes:
            parts.extend((name, values[name].shape) for name in self.input_names if name in values)
        return tuple(parts)

    def prepared(self, values):
        for _ in range(len(self.input_names) + 1):
            key = self.key(values)
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
            try:
                read = self.read if not self.open_sizes else read_model(self.fixed(values))
                bound = {name: values[name] for name in self.bound}
                importer = import_graph(read, bound=bound)
                if self.fold:
                    fold_batchnorms(importer)
            except NeedsConstant as needed:
                if needed.tensor in self.bound or needed.tensor not in values:
                    if not values:
                        raise
                    raise GraphnnError(f"input '{needed.tensor}' must be given: a node takes its value as a "
                                       "constant") from None
                self.bound.add(needed.tensor)
                continue
            prepared = _Prepared(read, importer, self.dtype(read))
            self.cache[key] = prepared
            while len(self.cache) > CACHED:
                self.cache.popitem(last=False)
            return prepared
        raise GraphnnError("the graph's inputs cannot be bound")  # pragma: no cover

    def fixed(self, values):
        """A copy of the model whose graph inputs have the shapes of the run's ``values``."""
        model = self.onnx.ModelProto()
        model.CopyFrom(self.model)
        for value in model.graph.input:
            if value.name in values:
                shape = value.type.tensor_type.shape
                shape.ClearField("dim")
                for size in values[value.name].shape:
                    shape.dim.add().dim_value = size
        return model

    # --- running --------------------------------------------------------------------------------------

    def run(self, inputs, **kwargs):
        """The graph's outputs for ``inputs`` (a list in graph-input order, or a dict by name)."""
        if isinstance(inputs, dict):
            values = {name: np.asarray(array) for name, array in inputs.items()}
        else:
            inputs = [inputs] if isinstance(inputs, np.ndarray) else list(inputs)
            if len(inputs) > len(self.input_names):
                raise GraphnnError(f"{len(inputs)} inputs given; the graph takes {len(self.input_names)}")
            values = {name: np.asarray(array) for name, array in zip(self.input_names, inputs)}
        prepared = self.prepared(values)
        importer, network = prepared.importer, prepared.network
        feeds = {}
        for name, node in importer.inputs.items():
            if name not in values:
                raise GraphnnError(f"no value given for graph input '{name}'")
            array = values[name].astype(prepared.dtype)
            feeds[node] = array if importer.batched else array[None]
        result = network.forward(feeds, keep=prepared.keep) if prepared.keep else None
        batch = next((len(array) for array in feeds.values()), None) if importer.batched else None
        outputs = []
        for name, node, constant in importer.outputs:
            if node is None and symbolic(constant):  # a shape that holds the batch size: this run's
                constant = np.array([batch if entry is BATCH else entry for entry in constant.flat],
                                    np.int64).reshape(constant.shape)
            value = constant if node is None else result.values[node]
            if node is not None and not importer.batched:
                value = value[0]
            outputs.append(self.as_declared(prepared.read, name, np.asarray(value)))
        return outputs

    def as_declared(self, read, name, value):
        """``value`` in the type (and, when static, the shape) ONNX gives output ``name``."""
        shape = read.shapes.get(name)
        if shape is not None and None not in shape and value.shape != shape and value.size == int(np.prod(shape)):
            value = value.reshape(shape)
        elem_type = read.types.get(name)
        dtype = _np_type(self.onnx, elem_type) if elem_type else None
        if dtype is not None and dtype.kind in "fiubV" and value.dtype != dtype:  # V: bfloat16 (ml_dtypes)
            value = value.astype(dtype)
        return value


class GraphnnBackend(Backend):
    """ONNX's backend interface over graphnn's importer and executor."""

    @classmethod
    def is_compatible(cls, model, device="CPU", **kwargs):
        """Whether every node is an op type graphnn imports, in the default domain, at an opset it reads."""
        onnx = require_onnx()
        from graphnn.interop.onnx_common import MIN_IMPORT_OPSET

        versions = {entry.domain: entry.version for entry in model.opset_import}
        version = versions.get("", versions.get("ai.onnx"))
        if version is None or not MIN_IMPORT_OPSET <= version <= onnx.defs.onnx_opset_version():
            return False
        return cls.supports_device(device) and all(
            node.domain in DEFAULT_DOMAINS and node.op_type in SUPPORTED for node in model.graph.node)

    @classmethod
    def prepare(cls, model, device="CPU", fold_batchnorm=True, **kwargs):
        """A GraphnnRep of ``model``; ``fold_batchnorm`` (inference): batch norms after convolutions become
        part of them (onnx_import.fold_batchnorms)."""
        return GraphnnRep(model, device, fold_batchnorm=fold_batchnorm)

    @classmethod
    def run_model(cls, model, inputs, device="CPU", **kwargs):
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node, inputs, device="CPU", outputs_info=None, **kwargs):
        """One node on ``inputs`` (graph inputs in the node's input order), as a one-node model."""
        onnx = require_onnx()
        helper = onnx.helper
        arrays = [np.asarray(x) for x in inputs]
        graph_inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                        for name, a in zip(node.input, arrays) if name]
        graph = helper.make_graph([node], "node", graph_inputs,
                                  [helper.make_empty_tensor_value_info(name) for name in node.output if name])
        opset = kwargs.get("opset_version", onnx.defs.onnx_opset_version())
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        return cls.prepare(model, device).run([a for name, a in zip(node.input, arrays) if name])

    @classmethod
    def supports_device(cls, device):
        return str(device).split(":")[0].upper() == "CPU"


prepare = GraphnnBackend.prepare
run_model = GraphnnBackend.run_model
run_node = GraphnnBackend.run_node
supports_device = GraphnnBackend.supports_device
is_compatible = GraphnnBackend.is_compatible
