"""Blocks (graphnn/model/blocks.py): expansion into path-named nodes, chains, arguments, and errors that name
the instance, the block, the node in the block, the JSON path in the block's definition and the line and
column. The tests assert where an error points and which values it names, not its wording (except the one
line the issue gives as the example)."""

import copy
import json
import time

import numpy as np
import pytest

from graphnn.errors import GraphError, LimitError, ModelInvalid, SchemaError, ShapeError
from graphnn.executor import Network
from graphnn.io.bundle import Bundle, load_bundle, save_bundle
from graphnn.model import load_model, model_from_dict, model_from_text
from graphnn.model.blocks import MAX_BLOCK_DEPTH
from graphnn.model.builder import Graph
from graphnn.model.limits import MAX_NODES
from graphnn.model.writer import dumps
from tests.helpers import assert_grows_linearly


def conv(name, source, filters, **params):
    return {"name": name, "op": "conv2d", "inputs": [source], "filters": filters, "kernel": 3, "padding": 1,
            "bias": False, **params}


def bottleneck():
    """A small residual block: its parameters are a number (width), a number with a default (stride)."""
    return {"doc": "two convolutions and the input", "inputs": ["x"], "outputs": ["out"],
            "params": {"width": {"type": "integer"}, "stride": {"type": "integer", "default": 1}},
            "nodes": [conv("conv1", "x", "$width", stride="$stride"),
                      {"name": "bn1", "op": "batchnorm", "inputs": ["conv1"]},
                      {"name": "relu1", "op": "activation", "inputs": ["bn1"], "function": "relu"},
                      conv("conv2", "relu1", "$width"),
                      {"name": "sum", "op": "add", "inputs": ["conv2", "x"]},
                      {"name": "out", "op": "activation", "inputs": ["sum"], "function": "relu"}]}


def document(*uses, blocks=None):
    """A model: image (4x8x8) -> ``uses`` (each reads the one before) -> pool -> fc -> loss."""
    nodes = [{"name": "image", "op": "data", "shape": [4, 8, 8]},
             {"name": "label", "op": "data", "shape": [], "field": "y"}]
    source = "image"
    for use in uses:
        nodes.append({"inputs": [source], **use})
        source = use["name"]
    nodes += [{"name": "pool", "op": "global_avgpool", "inputs": [source]},
              {"name": "fc", "op": "fc", "inputs": ["pool"], "units": 3},
              {"name": "loss", "op": "loss", "inputs": ["fc", "label"], "function": "softmax_cross_entropy"}]
    return {"format": "graphnn/1", "name": "blocks", "blocks": blocks or {"bottleneck": bottleneck()}, "nodes": nodes}


def errors_of(doc):
    """The errors of ``doc`` written in the canonical layout (so that lines and columns are known)."""
    with pytest.raises(ModelInvalid) as caught:
        model_from_text(dumps(doc), file="res.json")
    return caught.value.errors


def line_of(doc, text):
    """1-based line of the first line of ``doc``'s canonical text that holds ``text``."""
    return next(number for number, line in enumerate(dumps(doc).splitlines(), 1) if text in line)


def test_instances_expand_into_path_named_nodes():
    model = model_from_dict(document({"name": "stem", "block": "bottleneck", "args": {"width": 4}},
                                     {"name": "stage2", "block": "bottleneck", "repeat": 3, "args": {"width": 4}}))
    names = [step.name for step in model.plan.steps]
    assert "stem.conv1" in names and "stem.out" in names
    assert [name for name in names if name.endswith(".conv1")] == \
        ["stem.conv1", "stage2.block1.conv1", "stage2.block2.conv1", "stage2.block3.conv1"]
    by_name = model.plan.by_name
    assert by_name["stem.conv1"].inputs == ["image"]
    assert by_name["stage2.block1.conv1"].inputs == ["stem.out"]  # an instance is read as its output
    assert by_name["stage2.block2.sum"].inputs == ["stage2.block2.conv2", "stage2.block1.out"]  # chained
    assert by_name["pool"].inputs == ["stage2.block3.out"]  # a chain is read as its last instance
    assert model.nodes[0] == model.document["nodes"][0]  # plain nodes at the top are as written
    assert "$width" in json.dumps(model.document)  # the document stays as written
    assert model.plan.parameter_count() == 4 * (2 * 4 * 4 * 9 + 8) + 4 * 3 + 3


def test_first_changes_the_first_instance_of_a_chain():
    blocks = {"bottleneck": bottleneck(), "down": bottleneck()}
    blocks["down"]["nodes"][4] = {"name": "sum", "op": "add", "inputs": ["conv2", "short"]}
    blocks["down"]["nodes"].insert(4, conv("short", "x", "$width", stride="$stride", kernel=1, padding=0))
    model = model_from_dict(document({"name": "stage", "block": "bottleneck", "repeat": 2, "args": {"width": 6},
                                      "first": {"block": "down", "args": {"stride": 2}}}, blocks=blocks))
    shapes = model.plan.shapes
    assert shapes["stage.block1.conv1"] == (6, 4, 4) and shapes["stage.block2.out"] == (6, 4, 4)
    assert "stage.block1.short" in shapes and "stage.block2.short" not in shapes
    chain = model.expansion.items[2]
    assert (chain.path, chain.block, chain.count) == ("stage", "bottleneck", 2)
    assert [(instance.path, instance.block) for instance in chain.items] == \
        [("stage.block1", "down"), ("stage.block2", "bottleneck")]


def test_parameters_are_numbers_names_and_shapes_anywhere_in_a_node():
    blocks = {"view": {"inputs": ["x", "y"], "outputs": ["out"],
                       "params": {"rows": {"type": "integer"}, "source": {"type": "name", "default": "x"},
                                  "shape": {"type": "shape", "default": [12]}},
                       "nodes": [{"name": "flat", "op": "reshape", "inputs": ["$source"], "shape": ["$rows", -1]},
                                 {"name": "out", "op": "add", "inputs": ["flat", "y2"]},
                                 {"name": "y2", "op": "reshape", "inputs": ["y1"], "shape": ["$rows", -1]},
                                 {"name": "y1", "op": "reshape", "inputs": ["y"], "shape": "$shape"}]}}
    nodes = [{"name": "a", "op": "data", "shape": [2, 6]}, {"name": "b", "op": "data", "shape": [12]},
             {"name": "v", "block": "view", "inputs": ["a", "b"], "args": {"rows": 3}},
             {"name": "w", "block": "view", "inputs": ["a", "b"], "args": {"rows": 4, "source": "y", "shape": [2, 6]}}]
    model = model_from_dict({"format": "graphnn/1", "blocks": blocks, "nodes": nodes})
    assert model.plan.shapes["v.flat"] == (3, 4) and model.plan.by_name["v.flat"].inputs == ["a"]
    assert model.plan.shapes["w.flat"] == (4, 3) and model.plan.by_name["w.flat"].inputs == ["b"]


def test_blocks_nest_and_several_outputs_are_read_by_name():
    blocks = {"bottleneck": bottleneck(),
              "pair": {"inputs": ["x"], "outputs": ["inner", "side"], "params": {"width": {}},
                       "nodes": [{"name": "inner", "block": "bottleneck", "inputs": ["x"], "args": {"width": "$width"}},
                                 {"name": "side", "op": "activation", "inputs": ["x"], "function": "tanh"}]}}
    doc = document({"name": "p", "block": "pair", "args": {"width": 4}}, blocks=blocks)
    doc["nodes"][3]["inputs"] = ["p.inner"]
    doc["nodes"].insert(3, {"name": "both", "op": "add", "inputs": ["p.inner", "p.side"]})
    model = model_from_dict(doc)
    assert model.plan.by_name["both"].inputs == ["p.inner.out", "p.side"]
    assert model.plan.by_name["p.inner.conv1"].inputs == ["image"]
    doc["nodes"][3]["inputs"] = ["p", "p.side"]
    (error,) = errors_of(doc)
    assert isinstance(error, GraphError) and error.path == "/nodes/3/inputs/0" and "p.inner" in error.message


def test_the_issue_example_line():
    """An argument that breaks a parameter of a node in the third instance of a chain."""
    blocks = {"bottleneck": bottleneck(),
              "stage": {"inputs": ["x"], "outputs": ["block"], "params": {"width": {}},
                        "nodes": [{"name": "block", "block": "bottleneck", "inputs": ["x"], "repeat": 3,
                                   "args": {"width": "$width"}, "first": {"args": {"width": 4}}}]}}
    doc = document({"name": "stage2", "block": "stage", "args": {"width": 0}}, blocks=blocks)
    errors = errors_of(doc)
    assert [(e.instance, e.block, e.node, e.path) for e in errors] == [
        ("stage2.block.block2", "bottleneck", "conv1", "/blocks/bottleneck/nodes/0/filters"),
        ("stage2.block.block2", "bottleneck", "conv2", "/blocks/bottleneck/nodes/3/filters")]  # once, for the first
    line = line_of(doc, '"name": "conv2"')
    column = dumps(doc).splitlines()[line - 1].index('"$width"') + 1
    assert str(errors[1]) == (f"res.json:{line}:{column}: in stage2.block.block2 (block 'bottleneck'), node 'conv2' "
                              "(op conv2d) at /blocks/bottleneck/nodes/3/filters: must be >= 1; got 0")


def bad(change):
    doc = document({"name": "stage2", "block": "bottleneck", "repeat": 2, "args": {"width": 4}})
    change(doc, doc["blocks"]["bottleneck"], doc["nodes"][2])
    return doc, errors_of(doc)


# what is changed -> (error class, instance, block, node, JSON path, values the message names)
CASES = {
    "unknown parameter": (lambda d, b, u: b["nodes"][3].update(filters="$widht"),
                          SchemaError, None, "bottleneck", "conv2", "/blocks/bottleneck/nodes/3/filters",
                          ["$widht", "width"]),
    "unknown argument": (lambda d, b, u: u["args"].update(widht=3),
                         SchemaError, None, None, "stage2", "/nodes/2/args/widht", ["widht", "width"]),
    "missing argument": (lambda d, b, u: u.update(args={}),
                         SchemaError, None, None, "stage2", "/nodes/2/args", ["width", "bottleneck"]),
    "argument of the wrong type": (lambda d, b, u: u["args"].update(width=[4]),
                                   SchemaError, None, None, "stage2", "/nodes/2/args/width", ["width", "[4]"]),
    "unknown block": (lambda d, b, u: u.update(block="bottleneks"),
                      GraphError, None, None, "stage2", "/nodes/2/block", ["bottleneks", "bottleneck"]),
    "a block that uses itself": (lambda d, b, u: b["nodes"].append(
        {"name": "again", "block": "bottleneck", "inputs": ["out"], "args": {"width": 4}}),
        GraphError, None, "bottleneck", "again", "/blocks/bottleneck/nodes/6/block", ["bottleneck -> bottleneck"]),
    "unknown input inside": (lambda d, b, u: b["nodes"][1].update(inputs=["conv9"]),
                             GraphError, "stage2.block1", "bottleneck", "bn1", "/blocks/bottleneck/nodes/1/inputs/0",
                             ["conv9", "did you mean"]),
    "unknown output": (lambda d, b, u: b.update(outputs=["outt"]),
                       GraphError, None, "bottleneck", None, "/blocks/bottleneck/outputs/0", ["outt", "out"]),
    "shapes inside": (lambda d, b, u: b["nodes"][3].update(filters=5),
                      ShapeError, "stage2.block1", "bottleneck", "sum", "/blocks/bottleneck/nodes/4", ["(5, 8, 8)"]),
    "bad parameter inside": (lambda d, b, u: b["nodes"][1].update(momentum=2),
                             SchemaError, "stage2.block1", "bottleneck", "bn1", "/blocks/bottleneck/nodes/1/momentum",
                             ["2"]),
    "unknown op inside": (lambda d, b, u: b["nodes"][1].update(op="batchnrom"),
                          GraphError, None, "bottleneck", "bn1", "/blocks/bottleneck/nodes/1/op", ["batchnorm"]),
    "name used twice in a block": (lambda d, b, u: b["nodes"][1].update(name="conv1"),
                                   GraphError, None, "bottleneck", "conv1", "/blocks/bottleneck/nodes/1/name",
                                   ["/blocks/bottleneck/nodes/0"]),
    "wrong number of inputs": (lambda d, b, u: u.update(inputs=["image", "label"]),
                               GraphError, None, None, "stage2", "/nodes/2/inputs", ["1 input", "2"]),
    "chain whose outputs cannot feed its inputs": (lambda d, b, u: b.update(outputs=["out", "sum"]),
                                                   GraphError, None, None, "stage2", "/nodes/2/repeat", ["2 outputs"]),
    "repeat from a parameter that is no count": (lambda d, b, u: d["blocks"].update(
        outer={"inputs": ["x"], "outputs": ["inner"], "params": {"n": {}},
               "nodes": [{"name": "inner", "block": "bottleneck", "inputs": ["x"], "repeat": "$n",
                          "args": {"width": 4}}]}) or u.update(block="outer", args={"n": 0}),
        SchemaError, "stage2.block1", "outer", "inner", "/blocks/outer/nodes/0/repeat", ["0"]),
    "op and block on one node": (lambda d, b, u: u.update(op="fc"),
                                 SchemaError, None, None, "stage2", "/nodes/2", ["op"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_error_names_where_it_is(case):
    change, kind, instance, block, node, path, named = CASES[case]
    _, errors = bad(change)
    assert len(errors) == 1, [str(e) for e in errors]
    (error,) = errors
    assert isinstance(error, kind)
    assert (error.instance, error.block, error.node, error.path) == (instance, block, node, path)
    assert error.file == "res.json" and error.line is not None
    text = str(error)
    assert text.startswith(f"res.json:{error.line}:{error.column}: ")
    assert all(value in text for value in named), text
    if block is not None:
        assert f"(block '{block}')" in text or f"in block '{block}'" in text
    if instance is not None:
        assert text.startswith(f"res.json:{error.line}:{error.column}: in {instance} (block '{block}'), ")


def test_a_cycle_through_an_instance_is_named_and_located():
    doc = document({"name": "stage", "block": "bottleneck", "args": {"width": 4}})
    doc["nodes"][2]["inputs"] = ["back"]
    doc["nodes"].insert(3, {"name": "back", "op": "activation", "inputs": ["stage"], "function": "relu"})
    (error,) = errors_of(doc)
    assert isinstance(error, GraphError) and "cycle" in error.message
    assert "stage.out -> back -> stage.conv1" in error.message
    assert error.line is not None and error.path.endswith("/inputs")


def test_a_name_that_stands_for_itself_through_an_instance():
    blocks = {"through": {"inputs": ["x"], "outputs": ["x"],
                          "nodes": [{"name": "unused", "op": "activation", "inputs": ["x"], "function": "relu"}]}}
    doc = document({"name": "p", "block": "through"}, blocks=blocks)
    doc["nodes"][2]["inputs"] = ["p"]
    errors = errors_of(doc)
    assert any(e.path == "/nodes/2/inputs/0" and "p -> p.x -> p" in e.message for e in errors), [str(e) for e in errors]


def test_an_error_shared_by_every_instance_is_reported_once():
    _, errors = bad(lambda d, b, u: u.update(repeat=50) or b["nodes"][1].update(epsilon=-1))
    assert len(errors) == 1 and errors[0].instance == "stage2.block1"


def test_names_from_instances_clash_with_top_level_names():
    doc = document({"name": "stage", "block": "bottleneck", "args": {"width": 4}})
    doc["nodes"].insert(3, {"name": "stage.conv1", "op": "activation", "inputs": ["stage"], "function": "relu"})
    (error,) = errors_of(doc)
    assert isinstance(error, GraphError) and "stage.conv1" in error.message
    assert error.path == "/nodes/3/name" and "conv1" in error.message


def test_schema_and_doc_are_allowed():
    doc = document({"name": "stage", "block": "bottleneck", "args": {"width": 4}, "doc": "one instance"})
    doc = {"$schema": "../schemas/model.schema.json", "doc": "why this network", **doc}
    doc["nodes"][0]["doc"] = "the image"
    doc["blocks"]["bottleneck"]["nodes"][0]["doc"] = "the first convolution"
    model = model_from_dict(doc)
    assert "doc" not in model.plan.by_name["image"].op.params
    assert "doc" not in model.plan.by_name["stage.conv1"].op.params
    assert dumps(model_from_text(dumps(doc)).document) == dumps(doc)
    assert dumps(doc).splitlines()[1].startswith('  "$schema"')


def test_weights_are_keyed_by_path_names_in_bundles(tmp_path):
    model = model_from_dict(document({"name": "stage2", "block": "bottleneck", "repeat": 2, "args": {"width": 4}}))
    network = Network.initialise(model, seed=0)
    assert network.weights["stage2.block2.conv1"]["W"].shape == (4, 4, 3, 3)
    assert set(network.state["stage2.block1.bn1"]) == {"running_mean", "running_var"}
    save_bundle(tmp_path / "b.gnn", Bundle(model, network.weights, network.state))
    back = load_bundle(tmp_path / "b.gnn")
    assert "$width" in json.dumps(back.model.document)  # the bundle holds the file as written
    np.testing.assert_array_equal(back.weights["stage2.block2.conv1"]["W"], network.weights["stage2.block2.conv1"]["W"])
    save_bundle(tmp_path / "c.gnn", back)
    assert (tmp_path / "b.gnn").read_bytes() == (tmp_path / "c.gnn").read_bytes()


def chain_of(n, inner=1):
    """A chain of n instances of a block of ``inner`` activations."""
    blocks = {"act": {"inputs": ["x"], "outputs": [f"a{inner - 1}"],
                      "nodes": [{"name": f"a{i}", "op": "activation", "inputs": ["x" if i == 0 else f"a{i - 1}"],
                                 "function": "relu"} for i in range(inner)]}}
    return {"format": "graphnn/1", "blocks": blocks,
            "nodes": [{"name": "x", "op": "data", "shape": [2]},
                      {"name": "c", "block": "act", "inputs": ["x"], "repeat": n}]}


def test_the_node_limit_applies_to_the_expanded_graph():
    model_from_dict(chain_of(MAX_NODES - 1))
    with pytest.raises(ModelInvalid) as caught:
        model_from_dict(chain_of(MAX_NODES))
    (error,) = caught.value.errors
    assert isinstance(error, LimitError) and f"{MAX_NODES:,}" in error.message
    assert (error.instance, error.path) == (f"c.block{MAX_NODES}", "/blocks/act/nodes/0")  # the node past the limit
    nested = {"format": "graphnn/1", "blocks": {"b0": chain_of(1)["blocks"]["act"] | {"outputs": ["a0"]}},
              "nodes": [{"name": "x", "op": "data", "shape": [2]}, {"name": "top", "block": "b9", "inputs": ["x"],
                                                                      "repeat": 100}]}
    for level in range(1, 10):  # each level 100 instances of the one below: 10^18 nodes, refused at once
        nested["blocks"][f"b{level}"] = {"inputs": ["x"], "outputs": ["c"], "nodes": [
            {"name": "c", "block": f"b{level - 1}", "inputs": ["x"], "repeat": 100}]}
    started = time.process_time()
    with pytest.raises(ModelInvalid) as caught:
        model_from_dict(nested)
    assert time.process_time() - started < 5
    assert isinstance(caught.value.errors[0], LimitError)


def test_blocks_nested_too_deep_are_refused():
    blocks = {"b0": chain_of(1)["blocks"]["act"] | {"outputs": ["a0"]}}
    for level in range(1, MAX_BLOCK_DEPTH + 2):
        blocks[f"b{level}"] = {"inputs": ["x"], "outputs": ["c"],
                               "nodes": [{"name": "c", "block": f"b{level - 1}", "inputs": ["x"]}]}
    doc = {"format": "graphnn/1", "blocks": blocks,
           "nodes": [{"name": "x", "op": "data", "shape": [2]},
                     {"name": "top", "block": f"b{MAX_BLOCK_DEPTH + 1}", "inputs": ["x"]}]}
    with pytest.raises(ModelInvalid) as caught:
        model_from_dict(doc)
    assert isinstance(caught.value.errors[0], LimitError) and str(MAX_BLOCK_DEPTH) in caught.value.errors[0].message


@pytest.mark.parametrize("shape", ["long chain", "wide block", "chains of a parameter"])
def test_expansion_grows_linearly(shape):
    def make(n):
        if shape == "long chain":
            return chain_of(n)
        if shape == "wide block":
            return chain_of(2, inner=n)
        doc = chain_of(1)
        doc["blocks"]["outer"] = {"inputs": ["x"], "outputs": ["c"], "params": {"n": {"type": "integer"}},
                                  "nodes": [{"name": "c", "block": "act", "inputs": ["x"], "repeat": "$n"}]}
        doc["nodes"][1] = {"name": "o", "block": "outer", "inputs": ["x"], "repeat": 20, "args": {"n": n // 20}}
        return doc

    def load(doc):
        try:
            model_from_dict(doc)
        except ModelInvalid:
            pass

    assert_grows_linearly(make, load, 500)


def basic_blocks(g):
    """ResNet-18's two blocks, written with the builder (the same JSON as models/resnet18.json)."""
    def convolution(b, name, x, width, stride=1, kernel=3, padding=1):
        return b.conv2d(x, name=name, filters=width, kernel=kernel, **({"stride": stride} if stride != 1 else {}),
                        **({"padding": padding} if padding else {}), bias=False, init="msra")

    def body(b, x, width, stride):
        h = b.relu(b.batchnorm(convolution(b, "conv1", x, width, stride), name="bn1"), name="relu1")
        return b.batchnorm(convolution(b, "conv2", h, width), name="bn2")

    @g.block(doc="torchvision's BasicBlock: two 3x3 convolutions with batch norm, plus the input (identity "
                 "shortcut).")
    def basic(b, x, *, width: int):
        return b.relu(b.add(body(b, x, width, 1), x, name="sum"), name="out")

    @g.block(doc="BasicBlock that changes the size: the first convolution has the stride, and the shortcut is a "
                 "strided 1x1 convolution with batch norm.")
    def basic_down(b, x, *, width: int, stride: int = 2):
        main = body(b, x, width, stride)
        short = b.batchnorm(convolution(b, "down", x, width, stride, kernel=1, padding=0), name="down_bn")
        return b.relu(b.add(main, short, name="sum"), name="out")

    return basic, basic_down


def test_the_builder_writes_resnet18_as_the_zoo_has_it():
    zoo = load_model("resnet18")
    g = Graph("resnet18", description=zoo.document["description"])
    basic, basic_down = basic_blocks(g)
    @g.block(doc="The stem: a 7x7 convolution with stride 2, batch norm, relu and a 3x3 max pool with stride 2 "
                 "(224 -> 56).")
    def stem(b, x, *, filters: int = 64):
        h = b.conv2d(x, name="conv", filters=filters, kernel=7, stride=2, padding=3, bias=False, init="msra")
        return b.maxpool2d(b.relu(b.batchnorm(h, name="bn"), name="relu"), name="pool", kernel=3, stride=2, padding=1)

    g.blocks = {"stem": g.blocks.pop("stem"), **g.blocks}  # the zoo file lists the stem first
    image = g.data("image", [3, 224, 224])
    label = g.data("label", [], field="y")
    h = basic(g, stem(g, image, name="stem"), name="stage1", repeat=2, width=64)
    for stage, width in ((2, 128), (3, 256), (4, 512)):
        h = g.use(basic, h, name=f"stage{stage}", repeat=2, width=width, first={"block": basic_down, "stride": 2})
    g.loss(g.fc(g.global_avgpool(h, name="pool"), 1000, name="fc"), label, name="loss")
    assert g.to_dict() == zoo.document
    assert g.to_json() == dumps(zoo.document)
    assert g.build().plan.parameter_count() == 11_689_512
    assert Graph.from_dict(zoo.document).to_json() == g.to_json()


def test_builder_blocks_take_names_and_shapes_and_give_several_outputs():
    g = Graph("two")
    x = g.data("x", [6])

    @g.block
    def split(b, x, *, units: int, scale=1.0):
        """A layer and its negation."""
        h = b.fc(x, units, name="h")
        return h, b.activation(h, "neg", name="minus")

    g.use(split, x, name="s", units=3)
    g.add("s.h", "s.minus", name="zero")
    block = g.to_dict()["blocks"]["split"]
    assert block == {"doc": "A layer and its negation.", "inputs": ["x"], "outputs": ["h", "minus"],
                     "params": {"units": {"type": "integer"}, "scale": {"default": 1.0}},
                     "nodes": [{"name": "h", "op": "fc", "inputs": ["x"], "units": "$units"},
                               {"name": "minus", "op": "activation", "inputs": ["h"], "function": "neg"}]}
    model = g.build()
    assert model.plan.by_name["zero"].inputs == ["s.h", "s.minus"]
    with pytest.raises(TypeError):
        g.block(lambda: "x")


def test_every_instance_copies_only_what_references_change():
    doc = document({"name": "stage2", "block": "bottleneck", "repeat": 2, "args": {"width": 4}})
    before = copy.deepcopy(doc)
    model = model_from_dict(doc)
    assert doc == before  # expansion never writes into the document
    conv1 = next(node for node in model.nodes if node["name"].endswith("block1.bn1"))
    assert conv1 == {"name": "stage2.block1.bn1", "op": "batchnorm", "inputs": ["stage2.block1.conv1"]}


def test_the_editor_schema_checks_blocks():
    import jsonschema

    from graphnn.model.schema import model_schema

    validator = jsonschema.Draft202012Validator(model_schema())
    doc = document({"name": "stage2", "block": "bottleneck", "repeat": 2, "args": {"width": 4}})
    doc["$schema"] = "../schemas/model.schema.json"
    assert list(validator.iter_errors(doc)) == []  # "$width" stands where an integer goes
    doc["blocks"]["bottleneck"]["nodes"][0]["kernel"] = ["$width", 3]  # and as an item of a list
    assert list(validator.iter_errors(doc)) == []
    for change in (lambda d: d["blocks"]["bottleneck"]["nodes"][0].update(filters=0),
                   lambda d: d["blocks"]["bottleneck"]["nodes"][0].update(filters="width"),
                   lambda d: d["blocks"]["bottleneck"].update(outputs=[]),
                   lambda d: d["blocks"]["bottleneck"].update(unknown=1),
                   lambda d: d["nodes"][2].update(op="fc"),
                   lambda d: d["nodes"][2].update(repeat="$n")):  # a parameter only inside a block
        bad = copy.deepcopy(doc)
        change(bad)
        assert list(validator.iter_errors(bad)), change


ODD = [None, True, 0, -1, 1, 2**63, 10**30, 0.5, "", "x", "$width", "$nope", "$", "stage1", "out", "x.y", [],
       ["$width"], [1, 2], {}, {"a": 1}, "a\nb", 1e308]


def _paths(value, path=()):
    yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield from _paths(item, path + (key,))


def test_mutated_block_models_fail_with_located_one_line_errors():
    """Values in the blocks and nodes of models/resnet18.json replaced, keys dropped, items repeated (seeded):
    loading succeeds or raises ModelInvalid whose every error is one line, never another exception."""
    import random

    base = load_model("resnet18").document
    places = [path for path in _paths(base) if path and path[0] in ("blocks", "nodes")]
    rng = random.Random(16)
    for _ in range(120):
        doc = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            path = rng.choice(places)
            try:
                parent = doc
                for key in path[:-1]:
                    parent = parent[key]
                choice = rng.random()
                if choice < 0.6:
                    parent[path[-1]] = copy.deepcopy(rng.choice(ODD))
                elif choice < 0.8 and isinstance(parent, dict):
                    parent.pop(path[-1])
                elif isinstance(parent, list):
                    parent.insert(path[-1], copy.deepcopy(rng.choice(parent)))
            except (KeyError, IndexError, TypeError):
                pass
        try:
            model_from_text(json.dumps(doc, indent=1), file="m.json")
        except ModelInvalid as invalid:
            assert all("\n" not in str(error) and error.path is not None or error.line is not None
                       for error in invalid.errors)
