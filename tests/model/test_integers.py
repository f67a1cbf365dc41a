"""Integer-valued floats (issue 14, class 3): ``"units": 10.0``, ``"shape": [784.0]``, ``"seed": 3e0``.

JSON Schema counts 10.0 as an integer; graphnn does not (validate.Validator): wherever a schema asks for an
integer, a number written with a fraction or an exponent is refused at its JSON path, in every section.

The variants are generated, not listed: every place where the schema admits integers but no other numbers
(found by walking the schema beside the document), in every model file under models/ and in a small model
round each example of each registered op, each respelt in several ways (all of them in mlp784 and lenet,
one per place in turn elsewhere).
"""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn import ops
from graphnn.cli import main
from graphnn.errors import ModelInvalid
from graphnn.model import model_from_dict, model_from_text, schema
from graphnn.model.builder import Graph

ROOT = Path(__file__).resolve().parents[2]
MODEL_FILES = sorted((ROOT / "models").glob("*.json"))
SPELLINGS = {"fraction": "{v}.0", "exponent": "{v}e0", "negative exponent": "{ten_v}e-1",  # each equal to v
             "both": "{v}.00E+0"}
MARK = "__integer_here__"


def _number_types(node_schema):
    """The JSON types ``node_schema`` allows (None: any), looking through oneOf/anyOf/allOf branches."""
    if not isinstance(node_schema, dict):
        return None
    types = node_schema.get("type")
    found = {types} if isinstance(types, str) else set(types) if types else None
    for key in ("oneOf", "anyOf"):
        if key in node_schema:
            branches = [_number_types(branch) for branch in node_schema[key]]
            union = None if None in branches else set().union(*branches)
            found = union if found is None else found & union if union is not None else found
    if "const" in node_schema and found is None:
        found = {"integer"} if type(node_schema["const"]) is int else None
    return found


def integer_paths(node_schema, value, path=()):
    """Paths in ``value`` of the ints that ``node_schema`` admits as integers only (not as numbers)."""
    if not isinstance(node_schema, dict):
        return []
    if type(value) is int:
        types = _number_types(node_schema)
        return [path] if types is not None and "integer" in types and "number" not in types else []
    branches = [node_schema] + node_schema.get("oneOf", []) + node_schema.get("anyOf", []) \
        + node_schema.get("allOf", [])
    found = []
    for branch in branches:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in branch.get("properties", {}):
                    found += integer_paths(branch["properties"][key], item, path + (key,))
        elif isinstance(value, list) and isinstance(branch.get("items"), dict):
            for index, item in enumerate(value):
                found += integer_paths(branch["items"], item, path + (index,))
    return sorted(set(found), key=str)


def document_integer_paths(document):
    """Every integer-only place in a model document: its sections' and each node's op's parameters."""
    found = [p for p in integer_paths(schema.envelope_schema(), document) if p[0] not in ("nodes", "blocks")]
    lists = [(("nodes",), document["nodes"])] + [(("blocks", name, "nodes"), block["nodes"])
                                                 for name, block in document.get("blocks", {}).items()]
    for where, nodes in lists:
        for index, node in enumerate(nodes):
            if "block" in node:  # a node that uses a block: its repeat count, when written as a number
                found += [where + (index, "repeat")] if type(node.get("repeat")) is int else []
            else:
                found += [where + (index,) + p for p in integer_paths(ops.get(node["op"]).params_schema, node)]
    return found


def _head(graph, last, classes=2):
    flat = graph.flatten(last, name="flat_head")
    label = graph.data("label_head", [], field="y")
    graph.loss(graph.fc(flat, classes, name="fc_head"), label, "softmax_cross_entropy", name="loss_head")
    graph.set_train(data={"path": "data.npz", "limit": 100}, batch_size=8, iterations=3, seed=1,
                    solver={"type": "sgd"}, lr={"policy": "step", "base_lr": 0.1, "gamma": 0.5, "step_size": 2},
                    test_interval=2, display_interval=1, snapshot_interval=3)
    graph.set_test(data={"dataset": "mnist", "split": "test", "limit": 10}, batch_size=5)


def op_example_documents():
    """(id, document): a valid model round each example of each body op, with train and test sections."""
    found = []
    for name in ops.names():
        op_class = ops.get(name)
        if op_class.is_loss or op_class.is_metric:  # their scalar output feeds nothing
            continue
        for number, example in enumerate(op_class.examples):
            graph = Graph(f"example_{name}")
            inputs = [graph.data(f"x{i}", list(shape)) for i, shape in enumerate(example["inputs"])]
            if op_class.is_input:
                last = graph.data("probe", **example["params"])
            else:
                last = graph.node(name, inputs, "probe", **json.loads(json.dumps(example["params"])))
            _head(graph, last)
            found.append((f"{name}-{number}", graph.to_dict()))
    return found


BASES = [(path.name, json.loads(path.read_text())) for path in MODEL_FILES] + op_example_documents()
EVERY_SPELLING = {"mlp784.json", "lenet.json"}


def _set(document, path, value):
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


def _get(document, path):
    for part in path:
        document = document[part]
    return document


def variants():
    """(id, text, JSON pointer) of every base document with one integer respelt as a float: in the small
    model files (mlp784, lenet) every spelling at every place, elsewhere one spelling per place, in turn."""
    found = []
    for base_id, document in BASES:
        in_turn = base_id not in EVERY_SPELLING
        for number, path in enumerate(document_integer_paths(document)):
            value = _get(document, path)
            spellings = list(SPELLINGS.items())
            for kind, spelling in [spellings[number % len(spellings)]] if in_turn else spellings:
                copy = json.loads(json.dumps(document))
                _set(copy, path, MARK)
                text = json.dumps(copy, indent=1).replace(f'"{MARK}"', spelling.format(v=value, ten_v=10 * value))
                pointer = "".join(f"/{part}" for part in path)
                found.append((f"{base_id}{pointer}:{kind}", text, pointer))
    return found


VARIANTS = variants()


def test_the_bases_are_valid_and_the_generator_finds_every_kind_of_place():
    for base_id, document in BASES:
        model_from_dict(json.loads(json.dumps(document)))  # raises if a base is not valid
    pointers = {pointer.split("/", 3)[-1] if pointer.startswith("/nodes/") else pointer
                for _, _, pointer in VARIANTS}
    for expected in ("units", "shape/0", "kernel", "stride", "filters", "/train/seed", "/train/batch_size",
                     "/train/iterations", "/train/lr/step_size", "/train/data/limit", "/test/batch_size"):
        assert expected in pointers, f"no variant at {expected}"
    assert len(VARIANTS) > 1000
    assert {variant[0].rsplit(":", 1)[1] for variant in VARIANTS} == set(SPELLINGS)


@pytest.mark.parametrize("case", VARIANTS, ids=lambda case: case[0])
def test_an_integer_written_as_a_float_is_refused_where_it_stands(case):
    _, text, pointer = case
    with pytest.raises(ModelInvalid) as caught:
        model_from_text(text, file="m.json")
    errors = caught.value.errors
    # at the value itself, or at the oneOf that holds it ("an integer or [height, width]")
    (error,) = [error for error in errors if error.path and (pointer + "/").startswith(error.path + "/")]
    message = str(error)
    assert "\n" not in message and message.startswith("m.json:")
    assert "must be an integer" in message or "does not fit" in message, message
    if pointer.startswith("/nodes/"):
        assert "node '" in message


@settings(max_examples=150, deadline=None, database=None, derandomize=True)
@given(data=st.data())
def test_any_set_of_integers_written_as_floats_is_refused_and_each_is_reported(data):
    _, document = data.draw(st.sampled_from(BASES))
    paths = document_integer_paths(document)
    chosen = data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique=True))
    copy = json.loads(json.dumps(document))
    for path in chosen:
        value = _get(copy, path)
        _set(copy, path, float(value) if data.draw(st.booleans()) else value * 1.0)
    with pytest.raises(ModelInvalid) as caught:
        model_from_dict(copy)
    reported = [error.path for error in caught.value.errors]
    for path in chosen:
        pointer = "".join(f"/{part}" for part in path)
        assert any((pointer + "/").startswith(where + "/") for where in reported), (pointer, reported)


def test_floats_stay_allowed_where_numbers_are(tmp_path):
    document = json.loads((ROOT / "models" / "mlp784.json").read_text())
    document["train"]["lr"]["base_lr"] = 1  # an int where a number is asked for: still a number
    document["train"]["solver"]["momentum"] = 0.0
    model_from_dict(document)


@pytest.mark.parametrize("text, where", [('"units": 50.0', "/nodes/2/units"), ('"batch_size": 100.0', "/train/batch_size"),
                                         ('"iterations": 800.0', "/train/iterations")])
def test_check_says_so_in_one_line_and_exits_2(tmp_path, text, where):
    source = (ROOT / "models" / "mlp784.json").read_text()
    original = text.replace(".0", "")
    assert original in source
    path = tmp_path / "m.json"
    path.write_text(source.replace(original, text, 1))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2, result.output
    assert "must be an integer; got " in result.output and "Traceback" not in result.output
    assert f"at {where}: must be an integer; got {text.split()[-1]}" in result.output


@pytest.mark.parametrize("option", ["--batch-size", "--iterations", "--seed", "--test-interval"])
@pytest.mark.parametrize("value", ["10.0", "1e1", "10.5"])
def test_integer_options_refuse_floats(option, value):
    result = CliRunner().invoke(main, ["run", str(ROOT / "models" / "mlp784.json"), option, value])
    assert result.exit_code == 2 and "not a valid integer" in result.output, result.output
