"""ONNX import costs (issue 14, classes 5 and 6).

- A million-node file is refused from its protobuf wire format before protobuf builds a Python object
  per node (graphnn/interop/onnx_wire.py): generated variants put the nodes in one graph field or
  several (protobuf merges them), or fill the graph or the model with other repeated entries; each is
  refused in memory near the file's own size. The wire counts agree with protobuf on real models, and
  no bytes make the counter fail.
- Nodes sharing one name get unique names in linear time (unique_name resumes each base's numbering):
  a scaling test by ratio, and the names are the ones the plain rule gives.
"""

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

onnx = pytest.importorskip("onnx", reason="the ONNX tests need 'onnx': pip install 'graphnn[onnx]'")

from onnx import TensorProto, helper

from graphnn.interop.onnx_import import onnx_to_bundle
from graphnn.interop.onnx_wire import graph_counts
from graphnn.model.limits import MAX_NODES, MAX_ONNX_ENTRIES
from tests.helpers import ROOT, assert_grows_linearly, varint

MB = 1 << 20


def field(number, payload):
    """A length-delimited protobuf field."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


NODE = field(1, b"x") + field(2, b"y") + field(4, b"Relu")  # NodeProto: input, output, op_type
OPSET = field(8, field(1, b"") + b"\x10\x11")  # opset_import: domain "", version 17


def model_bytes(kind, count):
    """ModelProto bytes with ``count`` repeated entries of one ``kind``, built without protobuf."""
    if kind == "nodes in one graph":
        return OPSET + field(7, field(1, NODE) * count)
    if kind == "nodes in many graph fields":  # protobuf merges a message field written more than once
        return OPSET + field(7, field(1, NODE) * (count // 2)) + field(7, field(1, NODE) * (count - count // 2))
    if kind == "initializers":
        return OPSET + field(7, field(5, field(8, b"w")) * count)
    if kind == "value infos":
        return OPSET + field(7, field(13, field(1, b"v")) * count)
    if kind == "metadata":
        return OPSET + field(14, field(1, b"k") + field(2, b"v")) * count
    raise ValueError(kind)


KINDS = ["nodes in one graph", "nodes in many graph fields", "initializers", "value infos", "metadata"]


MEASURE = """
import resource, sys
from graphnn.errors import LimitError
from graphnn.interop.onnx_import import load_onnx
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_onnx(sys.argv[1])
except LimitError as error:
    print(error)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


@pytest.mark.parametrize("kind", KINDS)
def test_a_file_of_a_million_entries_is_refused_before_protobuf_parses_it(tmp_path, kind):
    """Measured in a fresh process (protobuf's memory is not Python's, so tracemalloc cannot see it)."""
    path = tmp_path / "big.onnx"
    path.write_bytes(model_bytes(kind, 1_000_000))
    size = path.stat().st_size
    result = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    message, grown_kb = result.stdout.splitlines()
    assert str(path) in message and "the limit is" in message
    assert int(grown_kb) * 1024 < size + 16 * MB, f"{int(grown_kb) / 1024:.0f} MB to refuse a {size / MB:.0f} MB file"


@pytest.mark.parametrize("kind", KINDS)
def test_the_counts_match_protobuf_and_the_limits_are_exact(kind):
    for count in (0, 3, 1000):
        data = model_bytes(kind, count)
        proto = onnx.load_model_from_string(data)
        counts = graph_counts(data, MAX_NODES, MAX_ONNX_ENTRIES)
        assert counts["nodes"] == len(proto.graph.node)
        entries = len(proto.graph.node) + len(proto.graph.initializer) + len(proto.graph.value_info)
        assert counts["graph entries"] == entries
    at_limit = model_bytes("nodes in one graph", MAX_NODES)
    assert graph_counts(at_limit, MAX_NODES, MAX_ONNX_ENTRIES)["nodes"] == MAX_NODES
    assert graph_counts(model_bytes("nodes in one graph", MAX_NODES + 1), MAX_NODES, MAX_ONNX_ENTRIES)["nodes"] \
        == MAX_NODES + 1


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(data=st.binary(max_size=200) | st.builds(lambda k, n, cut: model_bytes(k, n)[:cut],
                                                   st.sampled_from(KINDS), st.integers(0, 50), st.integers(0, 400)))
def test_no_bytes_make_the_counter_fail(data):
    counts = graph_counts(data, MAX_NODES, MAX_ONNX_ENTRIES)
    assert counts is None or set(counts) == {"nodes", "graph entries", "model entries"}


def chain_sharing_one_name(n):
    """n Relu nodes in a chain, all named "relu"."""
    nodes = [helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name="relu") for i in range(n)]
    graph = helper.make_graph(nodes, "same", [helper.make_tensor_value_info("t0", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info(f"t{n}", TensorProto.FLOAT, [1, 4])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_nodes_sharing_one_name_get_the_plain_rules_names():
    bundle = onnx_to_bundle(chain_sharing_one_name(5))
    names = [node["name"] for node in bundle.model.document["nodes"]]
    assert names[1:] == ["relu", "relu_2", "relu_3", "relu_4", "relu_5"]


def test_importing_nodes_that_share_one_name_grows_linearly():
    assert_grows_linearly(chain_sharing_one_name, onnx_to_bundle, 600, runs=2)
