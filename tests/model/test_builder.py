"""The graph builder writes exactly the model file format: builder -> JSON -> load -> JSON is a fixed
point, every model file turns back into a builder unchanged, and an invalid graph is never saved."""

import inspect
from pathlib import Path

import pytest

from graphnn import ops
from graphnn.errors import ModelInvalid
from graphnn.model import load_model, model_from_text
from graphnn.model.builder import Graph
from graphnn.model.writer import dumps

MODEL_FILES = sorted((Path(__file__).resolve().parents[2] / "models").glob("*.json"))


def skip_connection_graph():
    g = Graph("skips", description="Two paths, a skip connection and a reshape.")
    image = g.data("image", shape=[2, 6])
    label = g.data("label", shape=[3], field="y")
    flat = g.flatten(image)
    left = g.relu(g.fc(flat, 8, init="msra"))
    right = g.sigmoid(g.fc(flat, 8, bias=False))
    both = g.concat(left, right)
    joined = g.add(g.fc(both, 12), flat)
    grid = g.reshape(g.dropout(joined, 0.25), [3, 4])
    g.loss(g.fc(grid, 3, init={"type": "gaussian", "std": 0.1}), label, "softmax_cross_entropy")
    g.set_train(data={"dataset": "mnist"}, batch_size=8, epochs=1.5,
                solver={"type": "adam"}, lr={"policy": "step", "base_lr": 0.01, "gamma": 0.5, "step_size": 10})
    g.set_test(data={"dataset": "mnist", "split": "test"})
    return g


def test_builder_json_load_json_is_a_fixed_point(tmp_path):
    g = skip_connection_graph()
    text = g.to_json()
    model = model_from_text(text)
    assert dumps(model.document) == text
    assert model.document == g.to_dict()
    assert Graph.from_dict(model.document).to_json() == text
    path = tmp_path / "skips.json"
    g.save(path)
    assert path.read_text() == text
    assert Graph.load(path).to_json() == text


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda path: path.name)
def test_model_files_round_trip_through_the_builder(path):
    model = load_model(path)
    assert Graph.from_dict(model.document).to_dict() == model.document
    assert Graph.load(path).to_json() == path.read_text(), "model files are kept in the canonical layout"


def test_models_folder_has_a_branching_model():
    names = {path.stem for path in MODEL_FILES}
    assert {"mlp784", "branchy"} <= names
    ops = {node["op"] for node in load_model(MODEL_FILES[0].parent / "branchy.json").nodes}
    assert {"add", "concat"} <= ops


def test_auto_names_count_per_op_and_skip_taken_names():
    g = Graph("names")
    x = g.data("x", shape=[4])
    assert g.fc(x, 3) == "fc1"
    assert g.fc(x, 3, name="fc3") == "fc3"
    assert g.fc(x, 3) == "fc4"  # fc2 would be the count, fc3 is taken
    assert g.relu("fc1") == "activation1"
    assert g.tanh("fc3") == "activation2"
    assert g.add("activation1", "activation2") == "add1"
    assert [node["name"] for node in g.to_dict()["nodes"]] == ["x", "fc1", "fc3", "fc4", "activation1",
                                                                "activation2", "add1"]


def test_nodes_carry_only_what_was_given():
    g = Graph("plain")
    x = g.data("x", shape=[4])
    g.concat(g.fc(x, 2), g.fc(x, 2, bias=False))
    nodes = g.to_dict()["nodes"]
    assert nodes[0] == {"name": "x", "op": "data", "shape": [4], "field": "x"}
    assert nodes[1] == {"name": "fc1", "op": "fc", "inputs": ["x"], "units": 2}
    assert nodes[3] == {"name": "concat1", "op": "concat", "inputs": ["fc1", "fc2"]}


def test_to_dict_is_a_copy():
    g = skip_connection_graph()
    document = g.to_dict()
    document["nodes"][0]["shape"].append(1)
    document["train"]["solver"]["type"] = "sgd"
    assert g.to_dict()["nodes"][0]["shape"] == [2, 6]
    assert g.to_dict()["train"]["solver"]["type"] == "adam"


def test_save_refuses_an_invalid_graph(tmp_path):
    g = Graph("broken")
    x = g.data("x", shape=[4])
    g.fc(x, 3, name="fc1")
    g.add("fc1", x, name="sum")  # (3,) + (4,)
    g.fc("fc9", 2, name="out")  # no such node
    path = tmp_path / "broken.json"
    with pytest.raises(ModelInvalid) as raised:
        g.save(path)
    assert not path.exists()
    assert [(error.node, error.path) for error in raised.value.errors] == [("out", "/nodes/3/inputs/0")]
    g.nodes.pop()
    with pytest.raises(ModelInvalid) as raised:
        g.save(path)
    assert [(error.node, error.path) for error in raised.value.errors] == [("sum", "/nodes/2")]
    assert not path.exists()


@pytest.mark.parametrize("op,index", [(op, index) for op in ops.names() for index in range(len(ops.get(op).examples))])
def test_every_registered_op_has_a_builder_method(op, index):
    """Written by hand or generated from the registry, ``Graph.<op>(*inputs, name=..., **params)`` adds
    a node of that op with those parameters, and the graph builds."""
    example = ops.get(op).examples[index]
    g = Graph("one")
    inputs = [g.data(f"x{k}", shape=list(shape), field="y" if ops.get(op).is_loss and k else "x")
              for k, shape in enumerate(example["inputs"])]
    name = getattr(g, op)(*inputs, name="n", **example["params"]) if inputs else g.data("n", **example["params"])
    assert name == "n"
    node = g.to_dict()["nodes"][-1]
    assert node["op"] == op and node.get("inputs", []) == inputs
    params = {key: value for key, value in node.items() if key not in ("name", "op", "inputs")}
    shapes = [tuple(shape) for shape in example["inputs"]]
    assert ops.get(op)("n", params, shapes).params == ops.get(op)("n", example["params"], shapes).params
    assert g.build().plan.by_name["n"].out_shape == ops.get(op)("n", example["params"], shapes).out_shape


def test_generated_methods_take_inputs_then_keyword_parameters():
    g = Graph("convnet")
    x = g.data("image", shape=[1, 8, 8])
    y = g.data("label", shape=[], field="y")
    c = g.conv2d(x, filters=4, kernel=3, padding="same")
    p = g.maxpool2d(g.batchnorm(c, momentum=0.8), kernel=2)
    g.loss(g.fc(g.global_avgpool(p), 3), y)
    assert g.to_dict()["nodes"][2:5] == [
        {"name": "conv2d1", "op": "conv2d", "inputs": ["image"], "filters": 4, "kernel": 3, "padding": "same"},
        {"name": "batchnorm1", "op": "batchnorm", "inputs": ["conv2d1"], "momentum": 0.8},
        {"name": "maxpool2d1", "op": "maxpool2d", "inputs": ["batchnorm1"], "kernel": 2}]
    assert g.build().plan.by_name["maxpool2d1"].out_shape == (4, 4, 4)
    signature = inspect.signature(Graph.conv2d)
    assert list(signature.parameters)[:5] == ["self", "inputs", "name", "filters", "kernel"]
    assert repr(signature.parameters["stride"].default) == "1"
    assert "filters: Number of output channels F." in Graph.conv2d.__doc__


def test_generated_methods_name_a_missing_or_unknown_parameter():
    g = Graph("bad")
    x = g.data("image", shape=[1, 8, 8])
    with pytest.raises(TypeError, match=r"Graph.conv2d\(\): missing a required argument: 'filters'"):
        g.conv2d(x, kernel=3)
    with pytest.raises(TypeError, match=r"Graph.maxpool2d\(\): got an unexpected keyword argument 'strides'"):
        g.maxpool2d(x, kernel=2, strides=2)
    assert len(g.nodes) == 1
