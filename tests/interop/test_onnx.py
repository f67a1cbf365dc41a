"""ONNX export and import, checked against onnxruntime.

Every registered op (on each of its declared examples) and every model in models/ is exported, passes
``onnx.checker.check_model(full_check=True)``, and gives in onnxruntime the outputs graphnn's own forward
gives; export -> import -> forward gives the original outputs again; a trained mlp784 has the same test
accuracy in onnxruntime as in graphnn. Needs the optional extra: pip install 'graphnn[onnx]'.
"""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

onnx = pytest.importorskip("onnx", reason="the ONNX tests need 'onnx': pip install 'graphnn[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the ONNX tests need onnxruntime: pip install graphnn[onnx]")

from onnx import TensorProto, helper, numpy_helper

from graphnn import ops
from graphnn.cli import main
from graphnn.errors import GraphnnError
from graphnn.executor import Network
from graphnn.interop import onnx_import
from graphnn.interop.onnx_export import network_to_onnx
from graphnn.interop.onnx_import import onnx_to_bundle
from graphnn.io.bundle import Bundle, load_bundle, save_bundle
from graphnn.model import load_model, model_from_dict
from graphnn.ops.activation import Activation
from graphnn.ops.base import Op
from graphnn.ops.registry import exportable
from graphnn.train.feeding import feeds

# the zoo's ImageNet networks are compared with onnxruntime once each, at batch 1, in tests/interop/test_zoo_onnx.py
MODELS = [path for path in sorted(Path(__file__).resolve().parents[2].glob("models/*.json"))
          if '"shape": [3, 224, 224]' not in path.read_text()]
EXAMPLES = [(name, index) for name in ops.names() if not (ops.get(name).is_input or ops.get(name).is_metric)
            for index in range(len(ops.get(name).examples))]  # metrics (accuracy) are left out of exports
RTOL, ATOL = 1e-5, 1e-6
BATCH = 3


def example_network(name, index):
    """A tiny graph around one example of op ``name``: data inputs -> the op (as node 'y'), random weights."""
    op_class = ops.get(name)
    example = op_class.examples[index]
    nodes = [{"name": f"x{k}", "op": "data", "shape": list(shape)}
             for k, shape in enumerate(example["inputs"])]
    if op_class.is_loss:
        nodes[1]["field"] = "y"
    nodes.append({"name": "y", "op": name, "inputs": [node["name"] for node in nodes], **example["params"]})
    model = model_from_dict({"format": "graphnn/1", "name": f"{name}{index}", "nodes": nodes})
    return randomised(Network.initialise(model))


def randomised(network, seed=0, scale=1.0):
    """Weights drawn from N(0, scale^2) (a zero bias would hide a lost bias), positive running variances."""
    rng = np.random.default_rng(seed)
    for arrays in network.weights.values():
        for array in arrays.values():
            array[...] = rng.normal(scale=scale, size=array.shape)
    for arrays in network.state.values():
        for key, array in arrays.items():
            variance = key == "running_var"
            array[...] = rng.uniform(0.5, 1.5, array.shape) if variance else rng.normal(size=array.shape)
    return network


def random_feeds(proto, seed=1):
    """N(0, 1) samples for every graph input."""
    rng = np.random.default_rng(seed)
    shapes = {value.name: tuple(d.dim_value for d in value.type.tensor_type.shape.dim[1:])
              for value in proto.graph.input}
    return {name: rng.normal(size=(BATCH,) + shape).astype(np.float32) for name, shape in shapes.items()}


def model_network(path):
    """A model's network with weights at its own fillers' scale (N(0, 1) weights on 784 inputs would give
    outputs near 30 whose float32 rounding exceeds the tolerance) and random biases and statistics."""
    network = Network.initialise(load_model(path), seed=0)
    fresh = {node: {key: array.copy() for key, array in arrays.items()}
             for node, arrays in network.weights.items()}
    randomised(network, scale=0.1)
    for node, arrays in fresh.items():
        for key, array in arrays.items():
            if array.ndim > 1:
                network.weights[node][key][...] = array
    return network


def run_onnxruntime(proto, inputs):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs)))


def check_export(network, softmax):
    """Export, check the file fully, and compare onnxruntime's outputs with graphnn's; returns the proto."""
    proto = network_to_onnx(network, softmax=softmax)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 17
    for value in list(proto.graph.input) + list(proto.graph.output):
        assert value.type.tensor_type.shape.dim[0].dim_param == "N"  # the batch is dynamic
    inputs = random_feeds(proto)
    results = run_onnxruntime(proto, inputs)
    for name, value in results.items():
        step = network.plan.by_name.get(name)
        if step is not None and step.op.is_loss:  # --softmax: probabilities of the loss's prediction
            logits = network.forward(inputs, until=step.inputs[0]).values[step.inputs[0]]
            expected = np.exp(logits - logits.max(axis=1, keepdims=True))
            expected /= expected.sum(axis=1, keepdims=True)
        else:
            original = name.removesuffix(".output")  # a loss read a data node: the export passed it on
            expected = network.forward(inputs, until=original).values[original]
        np.testing.assert_allclose(value, expected, rtol=RTOL, atol=ATOL, err_msg=name)
    return proto


def check_round_trip(network, softmax):
    """export -> import gives the same nodes (names and ops) and the same forward outputs."""
    proto = network_to_onnx(network, softmax=softmax)
    functions = {step.op.params["function"] for step in network.plan.losses}
    loss = "softmax_cross_entropy" if softmax and functions == {"softmax_cross_entropy"} else None
    imported = onnx_to_bundle(onnx.load_model_from_string(proto.SerializeToString()), loss=loss).network()
    kept = {(s.name, s.op.name) for s in network.plan.steps if not s.op.is_loss and not s.op.is_input}
    assert kept <= {(s.name, s.op.name) for s in imported.plan.steps}
    inputs = random_feeds(proto)
    names = [output.name for output in proto.graph.output if output.name in imported.plan.by_name]
    got = {name: imported.forward(inputs, until=name).values[name] for name in names
           if not imported.plan.by_name[name].op.is_loss}
    for name, value in got.items():
        original = name.removesuffix(".output")  # a loss read a data node: the export passed it on
        expected = network.forward(inputs, until=original).values[original]
        np.testing.assert_allclose(value, expected, rtol=1e-6, atol=1e-7, err_msg=name)
    return imported


def test_every_registered_op_has_an_onnx_form():
    handled = {"data", "loss", "accuracy"}  # inputs, outputs (left out, or a Softmax with --softmax), metrics
    assert set(ops.names()) - handled <= set(exportable())


@pytest.mark.parametrize("name,index", EXAMPLES)
@pytest.mark.parametrize("softmax", [False, True], ids=["plain", "softmax"])
def test_op_example_matches_onnxruntime(name, index, softmax):
    check_export(example_network(name, index), softmax)


@pytest.mark.parametrize("name,index", EXAMPLES)
def test_op_example_round_trips(name, index):
    network = example_network(name, index)
    imported = check_round_trip(network, softmax=True)
    if network.plan.losses and network.plan.losses[0].op.params["function"] == "softmax_cross_entropy":
        assert imported.plan.by_name["y"].op.name == "loss"  # --softmax, then --loss: the loss is back


@pytest.mark.parametrize("path", MODELS, ids=[path.stem for path in MODELS])
@pytest.mark.parametrize("softmax", [False, True], ids=["plain", "softmax"])
def test_model_matches_onnxruntime(path, softmax):
    network = model_network(path)
    proto = check_export(network, softmax)
    labels = [s.name for s in network.plan.inputs if s.op.params["field"] == "y"]
    assert labels and not {value.name for value in proto.graph.input} & set(labels)  # labels are dropped
    names = {node.name for node in proto.graph.node}
    assert {s.name for s in network.plan.steps if not s.op.is_input and not s.op.is_loss} <= names
    if softmax:
        assert [output.name for output in proto.graph.output] == [s.name for s in network.plan.losses]


@pytest.mark.parametrize("path", MODELS, ids=[path.stem for path in MODELS])
def test_model_round_trips(path):
    check_round_trip(model_network(path), softmax=True)


def test_cli_bundle_to_onnx_to_model_file_and_bundle(tmp_path):
    network = model_network("models/lenet.json")
    save_bundle(tmp_path / "lenet.gnn", Bundle(network.model, network.weights, network.state))
    runner = CliRunner()
    result = runner.invoke(main, ["export", str(tmp_path / "lenet.gnn"), "-o", str(tmp_path / "lenet.onnx"),
                                  "--softmax"])
    assert result.exit_code == 0, result.output
    assert "outputs loss [N, 10]" in result.output
    result = runner.invoke(main, ["import", str(tmp_path / "lenet.onnx"), "-o", str(tmp_path / "back.json"),
                                  "--loss", "softmax_cross_entropy"])
    assert result.exit_code == 0, result.output
    back = load_bundle(tmp_path / "back.gnn")
    assert load_model(tmp_path / "back.json").document["nodes"] == back.model.nodes
    assert [(s.name, s.op.name) for s in back.model.plan.steps if s.op.name != "data"] == \
        [(s.name, s.op.name) for s in network.plan.steps if s.op.name != "data"]
    x = {"image": np.random.default_rng(2).random((4, 1, 28, 28), dtype=np.float32)}
    np.testing.assert_array_equal(back.network().forward(x, until="fc2").values["fc2"],
                                  network.forward(x, until="fc2").values["fc2"])


def test_export_of_a_model_file_uses_fresh_weights_from_the_seed(tmp_path):
    runner = CliRunner()
    for seed in ("0", "0", "1"):
        result = runner.invoke(main, ["export", "models/mlp784.json", "-o", str(tmp_path / f"m{seed}.onnx"),
                                      "--seed", seed, "--force"])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "m0.onnx").read_bytes() != (tmp_path / "m1.onnx").read_bytes()
    proto = onnx.load(str(tmp_path / "m0.onnx"))
    expected = Network.initialise(load_model("models/mlp784.json"), seed=0).weights["fc1"]["W"]
    weights = {tensor.name: numpy_helper.to_array(tensor) for tensor in proto.graph.initializer}
    np.testing.assert_array_equal(weights["fc1.W"], expected)


def test_trained_mlp784_has_the_same_test_accuracy_in_onnxruntime(mnist_dir):
    from graphnn.train.run import Run

    trainer = Run(load_model("models/mlp784.json"), {"iterations": 200, "data_dir": str(mnist_dir),
                                                     "test_interval": 0}).trainer
    accuracy = trainer.run()["accuracy"]
    assert accuracy > 0.8
    split = trainer.test_split
    proto = network_to_onnx(trainer.network, softmax=True)
    x = feeds(trainer.model.plan, {"x": split.x, "y": split.y}, np.float32)["image"]
    probabilities = run_onnxruntime(proto, {"image": x})["loss"]
    assert np.mean(probabilities.argmax(axis=1) == split.y) == pytest.approx(accuracy, abs=1e-12)


# --- importing graphs as other tools write them -------------------------------------------------------

def onnx_model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, [constant(name, a) for name, a in initializers])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def constant(name, array):
    """An initializer: int64 when named 'shape' (a Reshape target), float32 otherwise."""
    return numpy_helper.from_array(np.asarray(array, np.int64 if name == "shape" else np.float32), name)


def tensor(name, *shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", *shape])


R = np.random.default_rng(5)
IMPORT_CASES = {
    "matmul_add": ([helper.make_node("MatMul", ["x", "w"], ["h"], name="/fc/MatMul"),
                    helper.make_node("Add", ["h", "b"], ["y"], name="/fc/Add")],
                   [tensor("x", 4)], [("w", R.normal(size=(4, 3))), ("b", R.normal(size=3))], ["fc"]),
    "gemm_transb_alpha_beta": ([helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1, alpha=0.5,
                                                 beta=2.0)],
                               [tensor("x", 4)], [("w", R.normal(size=(3, 4))), ("b", R.normal(size=(1, 3)))],
                               ["fc"]),
    "flatten_gemm": ([helper.make_node("Flatten", ["x"], ["f"], axis=1),
                      helper.make_node("Gemm", ["f", "w"], ["y"])],
                     [tensor("x", 2, 3, 3)], [("w", R.normal(size=(18, 2)))], ["fc"]),
    "reshape_zero_and_minus_one": ([helper.make_node("Reshape", ["x", "shape"], ["y"])], [tensor("x", 2, 6)],
                                   [("shape", [0, 0, -1, 2])], ["reshape"]),
    "global_avgpool_flatten": ([helper.make_node("GlobalAveragePool", ["x"], ["p"]),
                                helper.make_node("Flatten", ["p"], ["y"], name="gap")],
                               [tensor("x", 3, 4, 4)], [], ["global_avgpool"]),
    "global_avgpool_alone": ([helper.make_node("GlobalAveragePool", ["x"], ["y"], name="gap")],
                             [tensor("x", 3, 4, 4)], [], ["global_avgpool", "reshape"]),
    "conv_same_upper": ([helper.make_node("Conv", ["x", "w", "b"], ["y"], auto_pad="SAME_UPPER",
                                          strides=[2, 2])],
                        [tensor("x", 2, 6, 7)], [("w", R.normal(size=(4, 2, 3, 3))), ("b", R.normal(size=4))],
                        ["conv2d"]),
    "conv_grouped_dilated": ([helper.make_node("Conv", ["x", "w"], ["y"], group=2, dilations=[2, 1],
                                               pads=[1, 0, 1, 0])],
                             [tensor("x", 4, 7, 5)], [("w", R.normal(size=(2, 2, 3, 2)))], ["conv2d"]),
    "avgpool_padded": ([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                         pads=[1, 1, 1, 1], count_include_pad=1)], [tensor("x", 2, 5, 5)], [],
                       ["avgpool2d"]),
    "maxpool_ceil_that_fits": ([helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2],
                                                 ceil_mode=1)], [tensor("x", 2, 4, 6)], [], ["maxpool2d"]),
    "sum_three_leaky_softmax": ([helper.make_node("Sum", ["x", "x", "x"], ["s"]),
                                 helper.make_node("LeakyRelu", ["s"], ["l"]),
                                 helper.make_node("Softmax", ["l"], ["y"])],
                                [tensor("x", 2, 3)], [],
                                ["activation", "activation", "add", "activation", "activation"]),  # x copies
    "batchnorm_constant_dropout": ([helper.make_node("Constant", [], ["ratio"], value_float=0.25),
                                    helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["n"],
                                                     epsilon=1e-3),
                                    helper.make_node("Dropout", ["n", "ratio"], ["y"])],
                                   [tensor("x", 3, 2)],
                                   [("g", R.normal(size=3)), ("b", R.normal(size=3)), ("m", R.normal(size=3)),
                                    ("v", R.uniform(0.5, 2, 3))],
                                   ["batchnorm", "dropout"]),
    "concat_negative_axis": ([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Tanh", ["x"], ["t"]),
                              helper.make_node("Concat", ["r", "t"], ["y"], axis=-1)],
                             [tensor("x", 2, 3)], [], ["activation", "activation", "concat"]),
}


@pytest.mark.parametrize("case", IMPORT_CASES)
def test_import_matches_onnxruntime(case):
    nodes, inputs, initializers, expected_ops = IMPORT_CASES[case]
    proto = onnx_model(nodes, inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                       initializers)
    network = onnx_to_bundle(proto).network()
    assert [s.op.name for s in network.plan.steps if not s.op.is_input] == expected_ops
    x = np.random.default_rng(6).normal(size=(BATCH,) + network.plan.inputs[0].out_shape).astype(np.float32)
    expected = run_onnxruntime(proto, {"x": x})["y"]
    last = network.plan.steps[-1].name
    np.testing.assert_allclose(network.forward({"x": x}).values[last], expected, rtol=RTOL, atol=ATOL)


# --- errors: one line, naming the file and the node -----------------------------------------------------

def invoke(args):
    return CliRunner().invoke(main, args)


def test_unexportable_op_names_the_node(monkeypatch, tmp_path):
    monkeypatch.setattr(Activation, "export_onnx", Op.export_onnx)
    result = invoke(["export", "models/mlp784.json", "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2
    expected = ("error: models/mlp784.json: node 'act1' (op activation): op 'activation' has no ONNX "
                f"export; exportable ops: {', '.join(exportable())}")
    assert result.output.splitlines() == [expected]
    assert not (tmp_path / "m.onnx").exists()


def write(proto, path):
    path.write_bytes(proto.SerializeToString())
    return str(path)


@pytest.mark.parametrize("case,node,message", [
    ("unsupported_op", "c", "ONNX op Cos has no graphnn equivalent"),
    ("custom_domain", "c", "ONNX op Cos (domain com.example) has no graphnn equivalent"),
    ("weights_not_constant", "mm", "input 1 ('x') must be a constant"),
    ("conv_4d", "conv", "graphnn convolves over 1, 2 or 3 spatial axes"),
    ("maxpool_storage_order", "pool", "storage_order=1 (column-major indices) is not supported"),
    ("reshape_batch", "r", "fixes the batch size"),
    ("softmax_batch_axis", "s", "axis 0 of a rank-2 tensor"),
])
def test_import_error_names_the_onnx_node_and_op(tmp_path, case, node, message):
    x2, x4 = tensor("x", 4), tensor("x", 1, 5, 5)
    y = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    cases = {
        "unsupported_op": ([helper.make_node("Cos", ["x"], ["y"], name="c")], [x2], []),
        "custom_domain": ([helper.make_node("Cos", ["x"], ["y"], name="c", domain="com.example")], [x2], []),
        "weights_not_constant": ([helper.make_node("MatMul", ["x", "x"], ["y"], name="mm")], [x2], []),
        "conv_4d": ([helper.make_node("Conv", ["x", "w"], ["y"], name="conv")],
                    [tensor("x", 1, 3, 3, 3, 3)], [("w", np.ones((1, 1, 2, 2, 2, 2)))]),
        "maxpool_storage_order": ([helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[2, 2],
                                                    storage_order=1)], [x4], []),
        "reshape_batch": ([helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")], [x2],
                          [("shape", [2, -1])]),
        "softmax_batch_axis": ([helper.make_node("Softmax", ["x"], ["y"], name="s", axis=0)], [x2], []),
    }
    nodes, inputs, initializers = cases[case]
    graph = helper.make_graph(nodes, "g", inputs, y, [constant(name, array) for name, array in initializers])
    opsets = [helper.make_opsetid("", 17)]
    if case == "custom_domain":
        opsets.append(helper.make_opsetid("com.example", 1))
    path = write(helper.make_model(graph, opset_imports=opsets, ir_version=8), tmp_path / f"{case}.onnx")
    with pytest.raises(GraphnnError) as caught:
        onnx_import.import_onnx(path)
    assert caught.value.node == node and caught.value.file == path
    assert message in str(caught.value)
    result = invoke(["import", path, "-o", str(tmp_path / "out.json")])
    assert result.exit_code == 2 and len(result.output.splitlines()) == 1
    assert result.output.startswith(f"error: {path}: node '{node}' (op ")
    assert "Traceback" not in result.output and not (tmp_path / "out.json").exists()


def test_import_refuses_garbage_old_opsets_external_data_and_oversized_files(tmp_path, monkeypatch):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x89PNG not a model at all")
    with pytest.raises(GraphnnError, match="not an ONNX model"):
        onnx_import.import_onnx(garbage)
    y = [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]
    relu = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [tensor("x", 3)], y)
    old = write(helper.make_model(relu, opset_imports=[helper.make_opsetid("", 5)]), tmp_path / "old.onnx")
    with pytest.raises(GraphnnError, match=f"opset 5; graphnn imports opsets 6 to {onnx.defs.onnx_opset_version()}"):
        onnx_import.import_onnx(old)  # opsets 6 to 17 are converted (tests/interop/test_onnx_opsets.py)
    new = write(helper.make_model(relu, opset_imports=[helper.make_opsetid("", 999)]), tmp_path / "new.onnx")
    with pytest.raises(GraphnnError, match=r"opset 999; graphnn imports opsets 6 to \d+ \(the newest the installed onnx knows\)"):
        onnx_import.import_onnx(new)
    weight = numpy_helper.from_array(np.ones((3, 2), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="/etc/passwd")
    external = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g", [tensor("x", 3)], y,
                                 [weight])
    path = write(helper.make_model(external, opset_imports=[helper.make_opsetid("", 17)]),
                 tmp_path / "ext.onnx")
    with pytest.raises(GraphnnError, match="tensor 'w' keeps its data in an external file"):
        onnx_import.import_onnx(path)
    monkeypatch.setattr(onnx_import, "MAX_ONNX_BYTES", 10)
    with pytest.raises(GraphnnError, match="the limit is 10"):
        onnx_import.import_onnx(old)


def test_import_output_must_be_a_bundle_or_model_file(tmp_path):
    result = invoke(["import", "nothing.onnx", "-o", str(tmp_path / "model.txt")])
    assert result.exit_code == 2
    assert result.output.startswith("error: output must end in .gnn (a bundle) or .json (a model file)")


@pytest.mark.slow  # importing torch alone takes seconds
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_import_of_a_pytorch_export_matches_pytorch(tmp_path):
    torch = pytest.importorskip("torch", reason="needs PyTorch (the bench extra) to write a real ONNX file")
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn = nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4)
            self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
            self.fc_pooled, self.fc = nn.Linear(24, 6), nn.Linear(6, 10)

        def forward(self, x):
            x = nn.functional.max_pool2d(torch.relu(self.bn(self.conv1(x))), 2)
            y = self.conv2(x)
            mixed = torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1) \
                + self.fc_pooled(torch.flatten(nn.functional.avg_pool2d(y, 2), 1))
            return torch.softmax(self.fc(torch.tanh(mixed)), dim=1)

    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        net.bn.running_mean.uniform_(-1, 1)
        net.bn.running_var.uniform_(0.5, 2)
    x = torch.randn(BATCH, 1, 16, 16)
    path = tmp_path / "torch.onnx"
    torch.onnx.export(net, (x,), str(path), input_names=["image"], output_names=["prob"], opset_version=17,
                      dynamic_axes={"image": {0: "batch"}, "prob": {0: "batch"}}, dynamo=False)
    network = onnx_import.import_onnx(path).network()
    assert [s.op.name for s in network.plan.steps] == [
        "data", "conv2d", "activation", "maxpool2d", "conv2d", "global_avgpool", "avgpool2d", "fc", "add",
        "activation", "fc", "activation"]  # PyTorch folds the batch norm into conv1; GAP + Flatten: one node
    got = network.forward({"image": x.numpy()}).values[network.plan.steps[-1].name]
    np.testing.assert_allclose(got, net(x).detach().numpy(), rtol=RTOL, atol=ATOL)
