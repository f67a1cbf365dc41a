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
  the loss node's name, so the file outputs probabilities. Nodes nothing consumes are outputs too. The
  losses (function, loss_weight, prediction, label) are recorded in the file's metadata for ``import``
  to put back (graphnn/interop/onnx_losses.py).

Each graphnn op writes its own ONNX form (``export_onnx`` in its module, given the emitter below); an
op without one is an error naming the node.
"""

import numpy as np

from graphnn import __version__
from graphnn.errors import GraphnnError
from graphnn.interop.onnx_common import BATCH, OPSET, require_onnx
from graphnn.interop.onnx_losses import add_metadata, loss_records
from graphnn.model.names import unique_name
from graphnn.ops.loss import FUNCTIONS as LOSS_FUNCTIONS


class Emitter:
    """Collects the ONNX nodes and initializers of one graph, handing out unused tensor names. An op's
    ``export_onnx(emit, step)`` calls ``emit.node`` (the last one writes the tensor ``step.name``),
    ``emit.weight`` for its weights, ``emit.constant`` for constant inputs and ``emit.fresh`` for the
    names of helper tensors."""

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
    emit = Emitter(onnx, plan, network.weights, network.state)
    consumers = _consumers(plan)
    inputs, outputs, shapes = [], {}, {}  # outputs: name -> shape, in order
    softmax_losses = set()  # losses exported as a Softmax output of their name
    for step in plan.steps:
        if step.op.is_input:
            uses = consumers[step.name]
            if uses and all((user.op.is_loss and index > 0) or user.op.is_metric for user, index in uses):
                continue  # a label: only losses and metrics (accuracy) read it
            inputs.append(_tensor_info(onnx, step.name, step.out_shape))
        elif step.op.is_metric:
            continue  # reported in training and testing, not part of the exported network
        elif step.op.is_loss:
            prediction = step.inputs[0]
            if softmax and LOSS_FUNCTIONS[step.op.params["function"]] == "softmax":
                emit.node("Softmax", [prediction], step.name, step.name, axis=1)
                softmax_losses.add(step.name)
                outputs.setdefault(step.name, plan.by_name[prediction].out_shape)
            else:
                outputs.setdefault(prediction, plan.by_name[prediction].out_shape)
        else:
            try:
                step.op.export_onnx(emit, step)
            except GraphnnError as error:
                raise error.located(file=file) from None
            shapes[step.name] = step.out_shape
            if not consumers[step.name]:
                outputs.setdefault(step.name, step.out_shape)
    if not outputs:
        raise GraphnnError("the network computes nothing to export (no node besides data and losses)",
                           file=file)
    graph_inputs = {info.name for info in inputs}
    carried = {}  # node -> the ONNX output carrying it, where that is another name
    for name in [name for name in outputs if name in graph_inputs]:  # a loss reads a data node: pass it on
        passed = emit.fresh(f"{name}.output")
        emit.node("Identity", [name], passed, passed)
        outputs[passed] = outputs.pop(name)
        carried[name] = passed
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
    add_metadata(onnx, proto, loss_records(plan, carried, softmax_losses))  # import puts the losses back
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
