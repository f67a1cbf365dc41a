"""Protobuf's text format as Caffe writes it (graphnn/interop/caffe_text.py) and the field checks of
graphnn/interop/caffe_fields.py: every form Caffe's files use parses; every malformed input is one located
ModelSyntaxError/SchemaError/LimitError, found without reading on (linear, nesting and sizes limited)."""

import math

import pytest

from graphnn.errors import GraphnnError, LimitError, ModelSyntaxError, SchemaError
from graphnn.interop import caffe_fields, caffe_text
from graphnn.model.limits import MAX_JSON_DEPTH, MAX_MODEL_BYTES


def net(text):
    return caffe_fields.decode(caffe_text.parse(text, "net.prototxt"), "NetParameter", "", "net.prototxt",
                               caffe_fields.layer_context)


def test_the_forms_caffe_writes():
    text = """# a comment
name: 'quoted once'   # single quotes
input: "data"
input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }
layer {
  name: "conv1" type: "Convolution"; bottom: "data", top: "conv1"
  param: { lr_mult: 1 } param < lr_mult: 2.f decay_mult: 0 >
  convolution_param: { num_output: 0x10 kernel_size: [3, 3] stride: 1 weight_filler { type: "xavier" } }
  include: [{ phase: TRAIN }, { phase: 1 stage: "a" }]
}
layers { name: "old" type: RELU bottom: "conv1" top: "conv1" }
"""
    values = net(text)
    assert values["name"] == "quoted once" and values["input"] == ["data"]
    assert values["input_shape"][0]["dim"] == [1, 3, 8, 8]
    layer = values["layer"][0]
    assert (layer["name"], layer["type"], layer["bottom"], layer["top"]) == ("conv1", "Convolution", ["data"],
                                                                             ["conv1"])
    assert [(spec["lr_mult"], spec["decay_mult"]) for spec in layer["param"]] == [(1.0, 1.0), (2.0, 0.0)]
    conv = layer["convolution_param"]
    assert conv["num_output"] == 16 and conv["kernel_size"] == [3, 3] and conv["stride"] == [1]
    assert conv["bias_term"] is True and conv["group"] == 1  # Caffe's defaults
    assert conv["weight_filler"]["type"] == "xavier" and conv["weight_filler"]["variance_norm"] == "FAN_IN"
    assert [rule["phase"] for rule in layer["include"]] == ["TRAIN", "TEST"]
    assert layer["include"][1]["stage"] == ["a"]
    assert values["layers"][0]["type"] == "RELU"
    assert not layer["convolution_param"].has("pad") and layer["convolution_param"]["pad"] == []


@pytest.mark.parametrize("written, value", [
    ('"a\\tb"', "a\tb"), ("'it\\'s'", "it's"), ('"\\x41\\101\\n"', "AA\n"), ('"con" "cat"  \'ed\'', "concated"),
    ('"\\\\"', "\\"), ('"\\""', '"'), ('"\u00e9t\u00e9"', "\u00e9t\u00e9"),
])
def test_strings(written, value):
    assert net(f"name: {written}")["name"] == value


@pytest.mark.parametrize("written, value", [
    ("1e-4", 1e-4), ("-.5", -0.5), ("2.", 2.0), ("3f", 3.0), ("0x10", 16.0), ("inf", math.inf), ("-inf", -math.inf),
])
def test_floats(written, value):
    assert net(f"layer {{ dropout_param {{ dropout_ratio: {written} }} }}")["layer"][0]["dropout_param"][
        "dropout_ratio"] == value


@pytest.mark.parametrize("text, where, words", [
    ('name: "abc', (1, 7), "unterminated string"),
    ('name: "a\nb"', (1, 7), "unterminated string"),
    ('name: "\\q"', (1, 8), "bad escape"),
    ("layer { name: 'x'", (1, 18), "expected '}'"),
    ("layer { name: 'x' } }", (1, 21), "expected a field name"),
    ("name 'x'", (1, 6), "expected ':' or '{'"),
    ("input_dim: [1 2]", (1, 15), "',' or ']'"),
    ("name: @", (1, 7), "unexpected character"),
    ("name:", (1, 6), "expected a value"),
    ("input_dim: 1" + "0" * 100, (1, 12), "a number of 101 characters"),
])
def test_syntax_errors(text, where, words):
    with pytest.raises(ModelSyntaxError) as caught:
        caffe_text.parse(text, "net.prototxt")
    assert (caught.value.line, caught.value.column) == where
    assert words in str(caught.value) and str(caught.value).startswith(f"net.prototxt:{where[0]}:{where[1]}: ")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text, where, words", [
    ('layer {\n  name: "conv2"\n  type: "Convolution"\n  convolution_param {\n    kernal_size: 5\n  }\n}', (5, 5),
     "layer 'conv2' (Convolution): unknown field 'kernal_size' (did you mean 'kernel_size'?)"),
    ("nmae: 'x'", (1, 1), "unknown field 'nmae' (did you mean 'name'?)"),
    ("name: 'a' name: 'b'", (1, 11), "field 'name' is given twice (first at 1:1)"),
    ("name: ['a', 'b']", (1, 1), "takes one value, not a list"),
    ("layer { name: 'p' type: 'Pooling' pooling_param { pool: MAXX } }", (1, 57), "(did you mean MAX?)"),
    ("layer { name: 'c' convolution_param { num_output: -5 } }", (1, 51), "an integer from 0 to 4,294,967,295"),
    ("layer { name: 'c' convolution_param { num_output: 4294967296 } }", (1, 51), "(uint32)"),
    ("input_dim: 1.5", (1, 12), "an integer"),
    ("force_backward: 2", (1, 17), "true or false"),
    ("name: x", (1, 7), "a string in quotes"),
    ("layer: 3", (1, 1), "is a message"),
    ("name { }", (1, 1), "takes a value, not a message"),
    ("layers { type: 999 }", (1, 16), "one of NONE"),
])
def test_field_errors(text, where, words):
    with pytest.raises(SchemaError) as caught:
        net(text)
    assert (caught.value.line, caught.value.column) == where
    assert words in str(caught.value)


def test_enum_by_number_and_v1_numbers():
    values = net("layer { include { phase: 1 } pooling_param { pool: 1 } } layers { type: 4 } layers { type: 14 }")
    assert values["layer"][0]["include"][0]["phase"] == "TEST"
    assert values["layer"][0]["pooling_param"]["pool"] == "AVE"
    assert [layer["type"] for layer in values["layers"]] == ["CONVOLUTION", "INNER_PRODUCT"]


def test_nesting_limit():
    deep = "layer { " * (MAX_JSON_DEPTH + 1) + "}" * (MAX_JSON_DEPTH + 1)
    with pytest.raises(LimitError, match="nested more than"):
        caffe_text.parse(deep, "net.prototxt")
    fine = "state { " * 1 + "}"
    caffe_text.parse(fine, "net.prototxt")


def test_size_limit(tmp_path):
    big = tmp_path / "big.prototxt"
    with open(big, "wb") as handle:
        handle.truncate(MAX_MODEL_BYTES + 1)
    with pytest.raises(LimitError, match="bytes; the limit"):
        caffe_text.read(big)


def test_not_utf8():
    with pytest.raises(ModelSyntaxError, match="not UTF-8") as caught:
        caffe_text.parse(b'name: "ok"\nname: "\xff"', "net.prototxt")
    assert caught.value.line == 2


def test_many_fields_parse():
    """A long file (30,000 fields) parses; the cost is linear (one regular expression per token)."""
    text = "input_dim: 1\n" * 30_000
    assert len(caffe_text.parse(text).fields) == 30_000


def test_unreadable(tmp_path):
    with pytest.raises(GraphnnError, match="cannot read the file"):
        caffe_text.read(tmp_path / "absent.prototxt")
    with pytest.raises(GraphnnError, match="a folder"):
        caffe_text.read(tmp_path)
