"""Export a graphnn network to ONNX (opset 17 by default): standard operators only, weights as initializers.

    proto = network_to_onnx(bundle.network(), softmax=True)   # an onnx.ModelProto
    export_file("mlp.gnn", "mlp.onnx")                         # a bundle (or a model .json) to a file

What the file holds:

- every data node that feeds the network becomes a graph input of shape ``["N", *shape]`` (float32;
  the batch ``N`` is symbolic); data nodes used only as loss labels are left out;
- every other node keeps its name: the ONNX node and its output tensor are named after it, and its
  shape is recorded (``value_info``); helper tensors (an fc's flatten, constant inputs) get fresh names;
- weights become float32 initializers named ``NODE.WEIGHT``; batch-norm running statistics likewise;
- loss nodes are left out and the predictions they read become graph outputs; with ``softmax=True`` a
  ``softmax_cross_entropy`` loss is replaced by a ``Softmax`` (axis 1) over its prediction that carries
  the loss node's name, so the file outputs probabilities. Nodes nothing consumes are outputs too.

Each graphnn op maps to ONNX operators as written in ``EXPORTERS``; an op without an entry is an error
naming the node.
"""

import numpy as np

from graphnn import __version__
from graphnn.errors import GraphnnError
from graphnn.interop.onnx_common import BATCH, OPSET, require_onnx
from graphnn.model.names import unique_name

ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu", "identity": "Identity"}


class _Emitter:
    """Collects the ONNX nodes and initializers of one graph, handing out unused tensor names."""

    def __init__(self, onnx, plan, weights, state):
        self.onnx, self.plan, self.weights, self.state = onnx, plan, weights, state
        self.nodes, self.initializers = [], []
        self.taken = {step.name for step in plan.steps}

    def fresh(self, base):
        """``base``, or ``base_2``, ``base_3``, ... if that name is taken; the name is then taken."""
        return unique_name(base, self.taken)

    def constant(self, name, array):
        """Add an initializer under a fresh name derived from ``name``; returns that name."""
        name = self.fresh(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def weight(self, step, key, source=None):
        """Add node ``step``'s weight (or running statistic) ``key`` as a float32 initializer."""
        arrays = self.weights if source is None else source
        return self.constant(f"{step.name}.{key}", np.asarray(arrays[step.name][key], np.float32))

    def node(self, op_type, inputs, output, name, **attributes):
        node = self.onnx.helper.make_node(op_type, list(inputs), [output], name=name, **attributes)
        self.nodes.append(node)


def _fc(emit, step):
    """fc: Gemm(x, W, b); an input with more than one axis per sample is flattened first."""
    (x,) = step.inputs
    if len(step.in_shapes[0]) != 1:
        flat = emit.fresh(f"{step.name}.flatten")
        emit.node("Flatten", [x], flat, flat, axis=1)
        x = flat
    inputs = [x, emit.weight(step, "W")]
    if "b" in emit.weights[step.name]:
        inputs.append(emit.weight(step, "b"))
    emit.node("Gemm", inputs, step.name, step.name)


def _activation(emit, step):
    params = step.op.params
    function = params["function"]
    if function == "leaky_relu":
        emit.node("LeakyRelu", step.inputs, step.name, step.name, alpha=float(params["negative_slope"]))
    elif function == "softmax":
        emit.node("Softmax", step.inputs, step.name, step.name, axis=params["axis"])
    else:
        emit.node(ACTIVATIONS[function], step.inputs, step.name, step.name)


def _dropout(emit, step):
    """dropout: ONNX Dropout with its ratio; at inference (training_mode absent: false) it is the identity."""
    ratio = emit.constant(f"{step.name}.ratio", np.asarray(step.op.params["ratio"], np.float32))
    emit.node("Dropout", [step.inputs[0], ratio], step.name, step.name)


def _add(emit, step):
    emit.node("Add" if len(step.inputs) == 2 else "Sum", step.inputs, step.name, step.name)


def _concat(emit, step):
    emit.node("Concat", step.inputs, step.name, step.name, axis=step.op.params["axis"])


def _reshape(emit, step):
    """reshape: Reshape to the resolved shape, with -1 for the batch."""
    shape = emit.constant(f"{step.name}.shape", np.asarray((-1,) + step.out_shape, np.int64))
    emit.node("Reshape", [step.inputs[0], shape], step.name, step.name)


def _flatten(emit, step):
    emit.node("Flatten", step.inputs, step.name, step.name, axis=1)


def _conv2d(emit, step):
    """conv2d: Conv with explicit pads [top, left, bottom, right] ("same" resolved the way graphnn does)."""
    kernel, stride, dilation, (top, bottom, left, right), _ = step.op.geometry(step.in_shapes[0])
    inputs = [step.inputs[0], emit.weight(step, "W")]
    if "b" in emit.weights[step.name]:
        inputs.append(emit.weight(step, "b"))
    emit.node("Conv", inputs, step.name, step.name, kernel_shape=list(kernel), strides=list(stride),
              dilations=list(dilation), pads=[top, left, bottom, right], group=step.op.params["groups"])


def _pool(op_type, **attributes):
    """maxpool2d, avgpool2d: MaxPool / AveragePool, floor mode; the average counts the padding."""
    def export(emit, step):
        kernel, stride, (top, bottom, left, right), _ = step.op.geometry(step.in_shapes[0])
        emit.node(op_type, step.inputs, step.name, step.name, kernel_shape=list(kernel), strides=list(stride),
                  pads=[top, left, bottom, right], **attributes)
    return export


def _global_avgpool(emit, step):
    """global_avgpool: GlobalAveragePool gives (N, C, 1, 1); a Flatten named after the node gives (N, C)."""
    pooled = emit.fresh(f"{step.name}.pool")
    emit.node("GlobalAveragePool", step.inputs, pooled, pooled)
    emit.node("Flatten", [pooled], step.name, step.name, axis=1)


def _batchnorm(emit, step):
    """batchnorm: BatchNormalization in inference mode with the running statistics from the state."""
    inputs = [step.inputs[0], emit.weight(step, "gamma"), emit.weight(step, "beta"),
              emit.weight(step, "running_mean", emit.state), emit.weight(step, "running_var", emit.state)]
    emit.node("BatchNormalization", inputs, step.name, step.name, epsilon=float(step.op.params["epsilon"]),
              momentum=float(step.op.params["momentum"]))


# graphnn op -> function(emitter, step) writing the ONNX nodes whose last output is the tensor step.name.
# data and loss nodes are handled by the graph itself (inputs, outputs, --softmax).
EXPORTERS = {
    "fc": _fc,
    "activation": _activation,
    "dropout": _dropout,
    "add": _add,
    "concat": _concat,
    "reshape": _reshape,
    "flatten": _flatten,
    "conv2d": _conv2d,
    "maxpool2d": _pool("MaxPool"),
    "avgpool2d": _pool("AveragePool", count_include_pad=1),
    "global_avgpool": _global_avgpool,
    "batchnorm": _batchnorm,
}


def _consumers(plan):
    """node -> [(consumer step, input index)]."""
    consumers = {step.name: [] for step in plan.steps}
    for step in plan.steps:
        for index, source in enumerate(step.inputs):
            consumers[source].append((step, index))
    return consumers


def _tensor_info(onnx, name, shape):
    return onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [BATCH, *shape])


def network_to_onnx(network, *, softmax=False, opset=OPSET, file=None):
    """The ONNX ModelProto of ``network`` (a graphnn Network) for inference; see the module docstring.

    Raises GraphnnError naming the node (and ``file``) when a node cannot be exported.
    """
    onnx = require_onnx()
    plan = network.plan
    emit = _Emitter(onnx, plan, network.weights, network.state)
    consumers = _consumers(plan)
    inputs, outputs, shapes = [], {}, {}  # outputs: name -> shape, in order
    for step in plan.steps:
        if step.op.is_input:
            uses = consumers[step.name]
            if uses and all(user.op.is_loss and index > 0 for user, index in uses):
                continue  # a label: only losses read it
            inputs.append(_tensor_info(onnx, step.name, step.out_shape))
        elif step.op.is_loss:
            prediction = step.inputs[0]
            if softmax and step.op.params["function"] == "softmax_cross_entropy":
                emit.node("Softmax", [prediction], step.name, step.name, axis=1)
                outputs.setdefault(step.name, plan.by_name[prediction].out_shape)
            else:
                outputs.setdefault(prediction, plan.by_name[prediction].out_shape)
        else:
            exporter = EXPORTERS.get(step.op.name)
            if exporter is None:
                raise GraphnnError(f"op '{step.op.name}' has no ONNX export; exportable ops: "
                                   f"{', '.join(sorted(EXPORTERS))}",
                                   file=file, node=step.name, op=step.op.name)
            exporter(emit, step)
            shapes[step.name] = step.out_shape
            if not consumers[step.name]:
                outputs.setdefault(step.name, step.out_shape)
    if not outputs:
        raise GraphnnError("the network computes nothing to export (no node besides data and losses)",
                           file=file)
    graph_inputs = {info.name for info in inputs}
    for name in [name for name in outputs if name in graph_inputs]:  # a loss reads a data node: pass it on
        passed = emit.fresh(f"{name}.output")
        emit.node("Identity", [name], passed, passed)
        outputs[passed] = outputs.pop(name)
    graph = onnx.helper.make_graph(
        emit.nodes, network.model.name, inputs,
        [_tensor_info(onnx, name, shape) for name, shape in outputs.items()],
        initializer=emit.initializers,
        value_info=[_tensor_info(onnx, name, shape) for name, shape in shapes.items() if name not in outputs])
    opsets = [onnx.helper.make_opsetid("", opset)]
    ir_version = onnx.helper.find_min_ir_version_for(opsets)  # the oldest that fits: more runtimes read it
    proto = onnx.helper.make_model(graph, opset_imports=opsets, producer_name="graphnn",
                                   producer_version=__version__, ir_version=ir_version)
    if network.model.document.get("description"):
        proto.doc_string = network.model.document["description"]
    return proto


def load_network(source, seed=0):
    """A Network from a bundle (.gnn: its weights) or a model file (.json: fresh weights from ``seed``)."""
    from graphnn.executor import Network
    from graphnn.io.bundle import load_bundle
    from graphnn.model import load_model

    if str(source).endswith(".json"):
        return Network.initialise(load_model(source), seed=seed, dtype="float32")
    return load_bundle(source).network()


def export_file(source, destination, *, softmax=False, seed=0, opset=OPSET):
    """Export the bundle or model file ``source`` to the ONNX file ``destination``; returns the ModelProto."""
    from graphnn.io.atomic import write_atomic

    proto = network_to_onnx(load_network(source, seed), softmax=softmax, opset=opset, file=str(source))
    write_atomic(destination, proto.SerializeToString())
    return proto
