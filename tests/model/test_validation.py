"""Invalid model files: each error is reported with the node, JSON path and line/column it names.

Every fixture in tests/fixtures/invalid/ has a row in EXPECTED; inputs too big to check in (file size,
node count) are generated here. The tests assert where an error points and which values it names,
not its exact wording.
"""

import json
import re
from pathlib import Path

import pytest

from graphnn import ops
from graphnn.errors import GraphError, LimitError, ModelInvalid, ModelSyntaxError, SchemaError, ShapeError
from graphnn.model import load_model, model_from_text
from graphnn.model.limits import MAX_MODEL_BYTES, MAX_NODES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "invalid"

# fixture -> one row per error, in file order: (class, node, JSON path, line, column or None)
EXPECTED = {
    "syntax_error": [(ModelSyntaxError, None, None, 8, 5)],
    "duplicate_key": [(ModelSyntaxError, None, "/nodes/2/units", 7, 66)],
    "nan": [(ModelSyntaxError, None, None, 10, 116)],
    "schema_errors": [
        (SchemaError, None, "/format", 2, 13),
        (SchemaError, "fc1", "/nodes/2/units", 7, 63),
        (SchemaError, "fc1", "/nodes/2/init", 7, 75),
        (SchemaError, "act1", "/nodes/3/function", 8, 73),
        (SchemaError, "fc2", "/nodes/4/bias", 9, 73),
        (SchemaError, None, "/train/batch_size", 16, 19),
        (SchemaError, None, "/test/batch_size", 30, 19),
    ],
    "unknown_op": [(GraphError, "act1", "/nodes/3/op", 8, 28)],
    "unknown_input": [(GraphError, "fc2", "/nodes/4/inputs/0", 9, 44)],
    "cycle": [(GraphError, "a", "/nodes/2/inputs", 7, None)],
    "wrong_input_count": [(GraphError, "fc1", "/nodes/2/inputs", 7, None)],
    "duplicate_name": [(GraphError, "fc1", "/nodes/3/name", 8, None)],
    "loss_as_input": [(GraphError, "fc3", "/nodes/6/inputs/0", 11, None)],
    "shape_mismatch": [(ShapeError, "sum", "/nodes/4", 9, None)],
    "shape_mismatch_loss": [(ShapeError, "loss", "/nodes/5", 10, None)],
    "name_too_long": [(LimitError, None, "/nodes/3/name", 8, None)],
    "too_deep": [(LimitError, None, None, 4, 81)],
    "too_many_parameters": [(LimitError, None, None, None, None)],
}

# fixture -> values its messages must name
NAMED = {
    "schema_errors": ["-4", "'tanh'"],  # the bad value; the suggestion for "tahn"
    "unknown_op": ["'activaton'", "'activation'", *ops.names()],  # the op, the suggestion, every known op
    "unknown_input": ["'act2'", "'act1'"],
    "cycle": ["a -> b -> a"],
    "shape_mismatch": ["(5,)", "(4,)"],
    "shape_mismatch_loss": ["(4,)", "(3,)"],
    "duplicate_name": ["/nodes/2"],  # where the name is first used
    "loss_as_input": ["'loss'"],
    "name_too_long": ["129", "128"],
    "too_deep": ["65", "64"],
    "too_many_parameters": ["1200120003", "1000000000"],
}


def errors_of(load):
    """The errors a loader raises, checking each renders as one line."""
    with pytest.raises(ModelInvalid) as raised:
        load()
    for error in raised.value.errors:
        assert "\n" not in str(error)
    return raised.value.errors


def where(error):
    return type(error), error.node, error.path, error.line, error.column


def digits(text):
    """``text`` without thousands separators, so numbers can be found in any grouping."""
    return re.sub(r"(?<=\d),(?=\d{3})", "", text)


def test_every_fixture_has_an_expectation():
    assert sorted(path.stem for path in FIXTURES.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_errors_are_located(name):
    path = FIXTURES / f"{name}.json"
    errors = errors_of(lambda: load_model(path))
    got = [where(error) for error in errors]
    want = [(kind, node, json_path, line, column if column is not None else error.column)
            for (kind, node, json_path, line, column), error in zip(EXPECTED[name], errors)]
    assert got == want
    assert all(error.file == str(path) for error in errors)
    assert all(str(error).startswith(f"{path}:") for error in errors)


@pytest.mark.parametrize("name", sorted(NAMED))
def test_messages_name_the_values(name):
    message = digits("\n".join(map(str, errors_of(lambda: load_model(FIXTURES / f"{name}.json")))))
    for value in NAMED[name]:
        assert value in message


def test_schema_errors_name_the_op():
    errors = errors_of(lambda: load_model(FIXTURES / "schema_errors.json"))
    assert [error.op for error in errors if error.node] == ["fc", "fc", "activation", "fc"]


def test_model_invalid_summarises_the_rest():
    with pytest.raises(ModelInvalid) as raised:
        load_model(FIXTURES / "schema_errors.json")
    assert "/format" in str(raised.value) and "6 more errors" in str(raised.value)


def test_text_without_a_file_is_located_by_line():
    text = (FIXTURES / "unknown_input.json").read_text()
    (error,) = errors_of(lambda: model_from_text(text))
    assert (error.file, error.line, error.node) == (None, 9, "fc2")


def test_file_over_the_size_limit(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:  # sparse: no bytes are written
        handle.truncate(MAX_MODEL_BYTES + 1)
    (error,) = errors_of(lambda: load_model(path))
    assert isinstance(error, LimitError) and error.file == str(path)
    assert str(MAX_MODEL_BYTES + 1) in digits(str(error)) and str(MAX_MODEL_BYTES) in digits(str(error))


def test_too_many_nodes():
    nodes = [{"name": "x", "op": "data", "shape": [1]}]
    nodes += [{"name": f"n{i}", "op": "activation", "inputs": ["x"], "function": "relu"} for i in range(MAX_NODES)]
    text = '{\n  "format": "graphnn/1",\n  "nodes": ' + json.dumps(nodes) + "\n}\n"
    (error,) = errors_of(lambda: model_from_text(text))
    assert isinstance(error, LimitError)
    assert (error.node, error.path, error.line) == (None, "/nodes", 3)
    assert str(MAX_NODES + 1) in digits(str(error)) and str(MAX_NODES) in digits(str(error))


def test_missing_file(tmp_path):
    (error,) = errors_of(lambda: load_model(tmp_path / "absent.json"))
    assert error.file == str(tmp_path / "absent.json")


@pytest.mark.parametrize("text,line,column", [
    ('{"format": "graphnn/1",\n "nodes": [Infinity]}', 2, 12),
    ('{"format": "graphnn/1", "name": "NaN [[", "nodes": [-Infinity]}', 1, 53),
    ('{"format": "graphnn/1",\n\n "nodes": [}', 3, 12),
    ('', 1, 1),
])
def test_syntax_errors_give_line_and_column(text, line, column):
    (error,) = errors_of(lambda: model_from_text(text, file="m.json"))
    assert isinstance(error, ModelSyntaxError)
    assert (error.file, error.line, error.column) == ("m.json", line, column)
