"""The ops' own ONNX import hooks (``onnx_imports`` + ``import_onnx``): small ONNX graphs as other tools
write them, imported and run by graphnn, against onnxruntime; each case names the graphnn ops it must
become. Also graphnn exports that the registry-wide tests leave out (log, sqrt, gelu) against onnxruntime.
Needs the optional extra: pip install 'graphnn[onnx]'."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the ONNX tests need 'onnx': pip install 'graphnn[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the ONNX tests need onnxruntime: pip install graphnn[onnx]")

from onnx import TensorProto, helper, numpy_helper

from graphnn.errors import GraphnnError
from graphnn.executor import Network
from graphnn.interop.onnx_export import network_to_onnx
from graphnn.interop.onnx_import import onnx_to_bundle
from graphnn.model import model_from_dict

R = np.random.default_rng(11)
RTOL, ATOL = 1e-5, 1e-5


def node(op_type, inputs, outputs=("y",), **attributes):
    return helper.make_node(op_type, list(inputs), list(outputs), name=outputs[0], **attributes)


def ints(*values):
    return np.asarray(values, np.int64)


CASES = {  # name: (nodes, {input: shape with batch}, {initializer: array}, graphnn ops (in order), opset)
    "conv1d_asymmetric": ([node("Conv", ["x", "w", "b"], pads=[2, 1], strides=[2])], {"x": (2, 3, 9)},
                          {"w": R.normal(size=(4, 3, 3)), "b": R.normal(size=4)}, ["conv1d"], 18),
    "conv3d_same_lower": ([node("Conv", ["x", "w"], auto_pad="SAME_LOWER", strides=[2, 1, 2], group=2)],
                          {"x": (1, 4, 4, 3, 5)}, {"w": R.normal(size=(2, 2, 2, 3, 3))}, ["conv3d"], 18),
    "conv2d_asymmetric": ([node("Conv", ["x", "w"], pads=[1, 0, 0, 2], dilations=[2, 1])], {"x": (2, 2, 6, 5)},
                          {"w": R.normal(size=(3, 2, 2, 3))}, ["conv2d"], 18),
    "conv_transpose_pads": ([node("ConvTranspose", ["x", "w", "b"], strides=[2, 2], pads=[1, 0, 0, 1],
                                  output_padding=[1, 0])], {"x": (2, 3, 3, 4)},
                            {"w": R.normal(size=(3, 2, 3, 3)), "b": R.normal(size=2)}, ["conv_transpose2d"], 18),
    "conv_transpose_output_shape": ([node("ConvTranspose", ["x", "w"], strides=[3], output_shape=[10],
                                          group=2)], {"x": (2, 4, 4)}, {"w": R.normal(size=(4, 1, 3))},
                                    ["conv_transpose1d"], 18),
    "conv_transpose_output_shape_larger": ([node("ConvTranspose", ["x", "w"], strides=[3, 2], output_shape=[10, 8])],
                                           {"x": (1, 1, 3, 3)}, {"w": R.normal(size=(1, 2, 3, 3))},
                                           ["conv_transpose2d"], 18),
    "conv_transpose3d": ([node("ConvTranspose", ["x", "w"], strides=[1, 2, 1], dilations=[2, 1, 1])],
                         {"x": (1, 2, 2, 3, 2)}, {"w": R.normal(size=(2, 3, 2, 2, 2))}, ["conv_transpose3d"], 18),
    "maxpool_ceil_asymmetric": ([node("MaxPool", ["x"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 0, 1],
                                      ceil_mode=1)], {"x": (2, 3, 6, 5)}, {}, ["maxpool2d"], 18),
    "maxpool1d_dilated": ([node("MaxPool", ["x"], kernel_shape=[3], dilations=[2], strides=[1])], {"x": (2, 2, 8)},
                          {}, ["maxpool1d"], 18),
    "maxpool3d_same_upper": ([node("MaxPool", ["x"], kernel_shape=[2, 2, 2], strides=[2, 2, 2],
                                   auto_pad="SAME_UPPER")], {"x": (1, 2, 3, 5, 4)}, {}, ["maxpool3d"], 18),
    "avgpool_exclude_pad": ([node("AveragePool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
                            {"x": (2, 2, 5, 6)}, {}, ["avgpool2d"], 18),
    "avgpool1d_ceil": ([node("AveragePool", ["x"], kernel_shape=[3], strides=[2], ceil_mode=1,
                             count_include_pad=1, pads=[1, 1])], {"x": (2, 2, 8)}, {}, ["avgpool1d"], 18),
    "avgpool_dilated_opset_19": ([node("AveragePool", ["x"], kernel_shape=[2, 2], dilations=[2, 1], pads=[1, 0, 1, 1],
                                       strides=[1, 2])], {"x": (2, 2, 5, 6)}, {}, ["avgpool2d"], 19),
    "global_max_pool": ([node("GlobalMaxPool", ["x"])], {"x": (2, 3, 4, 5)}, {}, ["reduce"], 18),
    "sub_div_pow_constants": ([node("Sub", ["c", "x"], ["s"]), node("Div", ["s", "d"], ["q"]),
                               node("Pow", ["q", "p"], ["y"])], {"x": (3, 4)},
                              {"c": np.float32(1.0), "d": R.uniform(1, 2, (1, 4)), "p": np.float32(2.0)},
                              ["binary", "binary", "binary"], 18),
    "add_channel_constant": ([node("Add", ["x", "b"])], {"x": (2, 3, 2, 2)}, {"b": R.normal(size=(1, 3, 1, 1))},
                             ["binary"], 18),
    "mul_equal_shapes_and_broadcast": ([node("Mul", ["x", "x2"], ["m"]), node("Mul", ["m", "z"])],
                                       {"x": (2, 3), "x2": (2, 3), "z": (2, 1)}, {}, ["multiply", "binary"], 18),
    "max_min_variadic": ([node("Max", ["x", "c", "z", "c2"], ["m"]), node("Min", ["m", "x"])],
                         {"x": (2, 4), "z": (2, 4)}, {"c": np.float32(-0.5), "c2": R.normal(size=4)},
                         ["binary", "binary", "binary"], 18),
    "unary_chain": ([node("Neg", ["x"], ["a"]), node("Abs", ["a"], ["b"]), node("Sqrt", ["b"], ["c"]),
                     node("Log", ["c"], ["d"]), node("Exp", ["d"], ["e"]), node("Elu", ["e"], ["f"], alpha=0.5),
                     node("Selu", ["f"], ["g"]), node("Softplus", ["g"], ["h"]), node("Erf", ["h"], ["i"]),
                     node("Clip", ["i", "lo"], ["j"]), node("LogSoftmax", ["j"], axis=1)],
                    {"x": (3, 5)}, {"lo": np.float32(0.9)}, ["activation"] * 11, 18),
    "gelu_opset_20": ([node("Gelu", ["x"], ["g"]), node("Gelu", ["g"], approximate="tanh")], {"x": (2, 6)}, {},
                      ["activation", "activation"], 20),
    "transpose_squeeze_unsqueeze": ([node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
                                     node("Squeeze", ["t", "a1"], ["s"]), node("Unsqueeze", ["s", "a2"])],
                                    {"x": (2, 3, 1, 4)}, {"a1": ints(3), "a2": ints(-1, 1)},
                                    ["transpose", "squeeze", "unsqueeze"], 18),
    "slice_negative_steps": ([node("Slice", ["x", "st", "en", "ax", "sp"])], {"x": (2, 5, 6)},
                             {"st": ints(-1, 0, 0), "en": ints(-100, 5, 2**62), "ax": ints(2, 1, 0),
                              "sp": ints(-2, 2, 1)}, ["slice"], 18),
    "split_uneven_then_concat": ([node("Split", ["x"], ["p", "q", "r"], axis=2, num_outputs=3),
                                  node("Concat", ["r", "p"], ["y"], axis=2)], {"x": (2, 3, 7)}, {},
                                 ["slice", "slice", "concat"], 18),
    "split_sizes": ([node("Split", ["x", "sizes"], ["p", "q"], axis=-1), node("Sub", ["q", "p"])],
                    {"x": (2, 4)}, {"sizes": ints(2, 2)}, ["slice", "slice", "binary"], 18),
    "pad_reflect_edge_constant": ([node("Pad", ["x", "p1"], ["a"], mode="reflect"),
                                   node("Pad", ["a", "p2"], ["b"], mode="edge"),
                                   node("Pad", ["b", "p3", "v"], mode="constant")], {"x": (2, 3, 4)},
                                  {"p1": ints(0, 1, 2, 0, 2, 0), "p2": ints(0, 0, 1, 0, 3, 0),
                                   "p3": ints(0, 1, 1, 0, 0, 2), "v": np.float32(0.5)}, ["pad"] * 3, 18),
    "pad_wrap_opset_19": ([node("Pad", ["x", "p"], mode="wrap")], {"x": (2, 3, 4)}, {"p": ints(0, 2, 1, 0, 1, 3)},
                          ["pad"], 19),
    "prelu_slope_per_element": ([node("PRelu", ["x", "s"], ["p"]), node("PRelu", ["p", "s2"])], {"x": (2, 3, 4)},
                                {"s": R.uniform(0, 1, (3, 4)), "s2": R.uniform(0, 1, (4,))}, ["prelu", "prelu"], 18),
    "pad_axes_input": ([node("Pad", ["x", "p", "", "ax"], mode="edge")], {"x": (2, 3, 4)},
                       {"p": ints(1, 2), "ax": ints(-1)}, ["pad"], 18),
    "reductions": ([node("ReduceMean", ["x", "a1"], ["m"], keepdims=0),
                    node("ReduceSum", ["m", "a2"], ["s"], keepdims=0),
                    node("ReduceMax", ["x", "a1"], ["mx"], keepdims=0), node("ReduceMin", ["mx", "a2"], ["mn"],
                                                                            keepdims=0),
                    node("Add", ["s", "mn"])], {"x": (2, 3, 4, 5)}, {"a1": ints(2), "a2": ints(-1)},
                   ["reduce"] * 4 + ["add"], 18),
    "reduce_noop_with_empty_axes": ([node("ReduceSum", ["x"], ["s"], noop_with_empty_axes=1), node("Relu", ["s"])],
                                    {"x": (2, 3)}, {}, ["activation", "activation"], 18),
    "instance_norm_lrn_prelu": ([node("InstanceNormalization", ["x", "g", "b"], ["n"], epsilon=1e-3),
                                 node("LRN", ["n"], ["l"], size=3, alpha=0.2, beta=0.6, bias=1.5),
                                 node("PRelu", ["l", "slope"], ["p"]), node("PRelu", ["p", "one"])],
                                {"x": (2, 4, 3, 3)}, {"g": R.uniform(0.5, 2, 4), "b": R.normal(size=4),
                                                      "slope": R.uniform(0, 1, (4, 1, 1)), "one": np.float32(0.3)},
                                ["instance_norm", "lrn", "prelu", "prelu"], 18),
}


def onnx_model(nodes, inputs, initializers, opset):
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", *shape[1:]])
                     for name, shape in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.asarray(a, np.int64 if np.asarray(a).dtype.kind == "i" else np.float32), name)
         for name, a in initializers.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9)


def onnxruntime_outputs(proto, feeds):
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


@pytest.mark.parametrize("case", CASES)
def test_import_matches_onnxruntime(case):
    nodes, inputs, initializers, expected_ops, opset = CASES[case]
    proto = onnx_model(nodes, inputs, initializers, opset)
    rng = np.random.default_rng(12)
    feeds = {name: rng.normal(size=shape).astype(np.float32) for name, shape in inputs.items()}
    (expected,) = onnxruntime_outputs(proto, feeds)
    network = onnx_to_bundle(proto).network()
    assert [s.op.name for s in network.plan.steps if not s.op.is_input] == expected_ops
    last = network.plan.steps[-1].name
    got = network.forward(feeds).values[last]
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_constants_import_as_the_shortest_decimals():
    nodes = [node("Sub", ["x", "c"])]
    proto = onnx_model(nodes, {"x": (2, 3)}, {"c": np.asarray([0.1, 0.2, 0.7], np.float32)}, 18)
    document = onnx_to_bundle(proto).model.document
    y = next(n for n in document["nodes"] if n["op"] == "binary")
    assert y["constant"] == [0.1, 0.2, 0.7] and y["function"] == "sub" and "constant_first" not in y


def test_a_batch_varying_constant_is_not_taken_as_one_sample():
    """x (N, 3) + c (2, 3): ONNX broadcasts c against the batch, so graphnn may not treat N as a batch of
    samples there (the importer then reads the graph without a batch axis, or refuses it)."""
    proto = onnx_model([node("Add", ["x", "c"])], {"x": (2, 3)}, {"c": R.normal(size=(2, 3))}, 18)
    try:
        bundle = onnx_to_bundle(proto)
    except GraphnnError as error:  # refused: fine, as long as it says where
        assert error.node
        return
    assert bundle.metadata["imported_from"].get("batched") is False


@pytest.mark.parametrize("params,x", [({"function": "log"}, np.abs), ({"function": "sqrt"}, np.abs),
                                      ({"function": "gelu"}, lambda a: a),
                                      ({"function": "gelu", "approximate": "tanh"}, lambda a: a)])
def test_exports_the_contract_examples_leave_out(params, x):
    model = model_from_dict({"format": "graphnn/1", "name": "m", "nodes": [
        {"name": "x", "op": "data", "shape": [5]}, {"name": "y", "op": "activation", "inputs": ["x"], **params}]})
    network = Network.initialise(model)
    proto = network_to_onnx(network)
    onnx.checker.check_model(proto, full_check=True)
    feeds = {"x": x(np.random.default_rng(13).normal(size=(3, 5))).astype(np.float32) + 0.01}
    (expected,) = onnxruntime_outputs(proto, feeds)
    np.testing.assert_allclose(network.forward(feeds).values["y"], expected, rtol=RTOL, atol=ATOL)
    if params["function"] != "gelu":  # gelu comes back as its formula in binary and activation nodes
        back = onnx_to_bundle(onnx.load_model_from_string(proto.SerializeToString())).network()
        assert back.plan.by_name["y"].op.params["function"] == params["function"]


def test_an_opset_6_prelu_slope_of_one_per_channel():
    """Before opset 7, PRelu's (C,) slope was one per channel (no broadcasting rule); onnxruntime no longer
    runs PRelu-6, so the expected values are written out."""
    slope = np.array([0.1, 0.2, 0.3], np.float32)
    proto = onnx_model([node("PRelu", ["x", "s"])], {"x": (2, 3, 4)}, {"s": slope}, 6)
    proto.ir_version = 3
    network = onnx_to_bundle(proto).network()
    x = np.random.default_rng(14).normal(size=(2, 3, 4)).astype(np.float32)
    y = network.forward({"x": x}).values[network.plan.steps[-1].name]
    np.testing.assert_allclose(y, np.where(x < 0, x * slope[:, None], x), rtol=1e-6)
