"""Every opset from 6 to the newest the installed onnx knows imports, and computes the same function.

One network (Conv, BatchNormalization, Relu, MaxPool, Pad, AveragePool, Clip, ReduceMean, Squeeze,
Unsqueeze, Flatten, Gemm, Split, Sum, LeakyRelu, Dropout, Reshape, Sigmoid, Concat, Softmax) is written in
the form each opset defines: attributes that later became inputs (Pad's pads, Clip's bounds, Squeeze's and
Unsqueeze's axes, Split's sizes, ReduceMean's axes), and the attributes old opsets required (``is_test``,
Gemm's ``broadcast``). Below opset 18 the importer converts the model (``onnx.version_converter``); from 18
on it reads it as it is. Each import must give the outputs of the opset-17 model in onnxruntime; onnxruntime
also runs each opset's own file where it supports that opset, which checks the forms written here.
"""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the ONNX tests need 'onnx': pip install 'graphnn[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the ONNX tests need onnxruntime: pip install graphnn[onnx]")

from onnx import TensorProto, helper, numpy_helper

from graphnn.interop.onnx_common import CONVERTED_OPSET
from graphnn.interop.onnx_import import onnx_to_bundle

NEWEST = onnx.defs.onnx_opset_version()
OPSETS = list(range(6, NEWEST + 1))
BATCH = 3


def network(opset):
    """The test network in opset ``opset``'s forms."""
    rng = np.random.default_rng(0)
    inits, nodes = [], []

    def const(name, array, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(array, dtype), name))
        return name

    def ints_input(name, values, attribute, node_inputs, since):
        """``values`` as input (from opset ``since``) or as attribute ``attribute`` (before)."""
        if opset >= since:
            node_inputs.append(const(name, values, np.int64))
            return {}
        return {attribute: list(values)}

    def node(op, inputs, outputs, **attributes):
        nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0], **attributes))

    old = {"is_test": 1} if opset < 7 else {}
    node("Conv", ["x", const("w", rng.normal(0, 0.3, (4, 3, 3, 3))), const("wb", rng.normal(0, 0.1, 4))], ["conv"],
         kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    node("BatchNormalization", ["conv", const("s", rng.uniform(0.5, 1.5, 4)), const("bb", rng.normal(0, 0.1, 4)),
                                const("m", rng.normal(0, 0.1, 4)), const("v", rng.uniform(0.5, 1.5, 4))],
         ["bn"], epsilon=1e-3, **old)
    node("Relu", ["bn"], ["relu"])
    node("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2])
    pad_inputs = ["pool"]
    pad = ints_input("pads", [0, 0, 1, 1, 0, 0, 1, 1], "pads", pad_inputs, 11)
    node("Pad", pad_inputs, ["padded"], mode="constant", **pad)
    node("AveragePool", ["padded"], ["avg"], kernel_shape=[3, 3], strides=[1, 1])
    if opset >= 11:
        node("Clip", ["avg", const("lo", -0.5), const("hi", 0.8)], ["clip"])
    else:
        node("Clip", ["avg"], ["clip"], min=-0.5, max=0.8)
    mean_inputs = ["clip"]
    node("ReduceMean", mean_inputs, ["mean"], keepdims=1, **ints_input("mean_axes", [2, 3], "axes", mean_inputs, 18))
    squeeze_inputs = ["mean"]
    node("Squeeze", squeeze_inputs, ["squeezed"], **ints_input("squeeze_axes", [2, 3], "axes", squeeze_inputs, 13))
    unsqueeze_inputs = ["squeezed"]
    node("Unsqueeze", unsqueeze_inputs, ["unsqueezed"],
         **ints_input("unsqueeze_axes", [2], "axes", unsqueeze_inputs, 13))
    node("Flatten", ["unsqueezed"], ["flat"], axis=1)
    node("Gemm", ["flat", const("g", rng.normal(0, 0.5, (4, 6))), const("gc", rng.normal(0, 0.1, 6))], ["fc"],
         **({"broadcast": 1} if opset < 7 else {}))
    split_inputs = ["fc"]
    node("Split", split_inputs, ["left", "right"], axis=1,
         **ints_input("split", [3, 3], "split", split_inputs, 13))
    node("Sum", ["left", "right", "left"], ["sum"])
    node("LeakyRelu", ["sum"], ["leaky"], alpha=0.2)
    node("Dropout", ["leaky"], ["dropped"], **old)
    node("Reshape", ["right", const("shape3", [0, 3, 1], np.int64)], ["column"])
    node("Sigmoid", ["column"], ["sigmoid"])
    node("Reshape", ["sigmoid", const("shape_flat", [0, -1], np.int64)], ["row"])
    node("Concat", ["dropped", "row"], ["joined"], axis=1)
    node("Softmax", ["joined"], ["y"], axis=1)
    graph = helper.make_graph(nodes, f"opset{opset}",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6])], inits)
    ir = 3 if opset < 8 else None  # the IR version of the onnx release that opset came with, for old ones
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if ir is not None:
        model.ir_version = ir
        model.graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in inits)
    return model


def run_onnxruntime(model, x):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


X = np.random.default_rng(1).normal(size=(BATCH, 3, 8, 8)).astype(np.float32)
EXPECTED = run_onnxruntime(network(17), X)


def test_the_reference_computes_something_that_varies():
    assert EXPECTED.shape == (BATCH, 6) and np.ptp(EXPECTED) > 0.01


@pytest.mark.parametrize("opset", OPSETS)
def test_every_opset_imports_and_computes_the_same(opset):
    model = network(opset)
    onnx.checker.check_model(model)
    bundle = onnx_to_bundle(model, file=f"opset{opset}.onnx")
    assert bundle.metadata["imported_from"]["opset"] == opset
    network_ = bundle.network()
    output = network_.plan.steps[-1].name
    got = network_.forward({"x": X}, keep=[output]).values[output]
    np.testing.assert_allclose(got, EXPECTED, rtol=1e-5, atol=1e-6)
    try:
        own = run_onnxruntime(model, X)
    except Exception as error:  # noqa: BLE001 — onnxruntime's own opset range: nothing more to check
        pytest.skip(f"onnxruntime does not run opset {opset}: {str(error).splitlines()[0][:80]}")
    np.testing.assert_allclose(own, EXPECTED, rtol=1e-5, atol=1e-6)  # the forms written above are right


def test_old_opsets_are_converted_and_new_ones_read_as_they_are():
    from graphnn.interop.onnx_import import read_model

    for opset in (6, CONVERTED_OPSET - 1, CONVERTED_OPSET, NEWEST):
        read = read_model(network(opset))
        assert read.original_opset == opset
        assert read.opset == max(opset, CONVERTED_OPSET)
