"""reshape and flatten through the public path (model document -> Network): the same values in another
shape (the batch kept), and the gradient is dy reshaped back to the input's shape."""

import numpy as np
import pytest

from tests.ops.public_path import run, squared_error, torch_or_skip

X = np.arange(12.0).reshape(2, 6) - 5  # (N=2, 6)


def reshaping(node, x, target):
    nodes, feeds = squared_error("r", target)
    return run([{"name": "r", "inputs": ["x"], **node}] + nodes, {"x": x}, feeds)


def test_reshape_with_an_inferred_axis():
    t = np.ones((2, 3, 2))
    out = reshaping({"op": "reshape", "shape": [3, -1]}, X, t)
    assert out.values["r"].shape == (2, 3, 2)
    assert out.values["r"][1].tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    np.testing.assert_array_equal(out.input_grads["x"], ((X.reshape(2, 3, 2) - t) / 2).reshape(2, 6))


def test_flatten():
    x = X.reshape(2, 2, 3)
    t = np.zeros((2, 6))
    out = reshaping({"op": "flatten"}, x, t)
    assert out.values["r"].tolist() == X.tolist()
    np.testing.assert_array_equal(out.input_grads["x"], (X / 2).reshape(2, 2, 3))


def test_reshape_matches_torch():
    torch = torch_or_skip()
    t = np.linspace(-1, 1, 12).reshape(2, 2, 3)
    out = reshaping({"op": "reshape", "shape": [2, 3]}, X, t)
    tx = torch.tensor(X, requires_grad=True)
    ty = tx.reshape(2, 2, 3)
    (((ty - torch.tensor(t)) ** 2).sum() / 4).backward()
    np.testing.assert_array_equal(out.values["r"], ty.detach().numpy())
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-15)


def shape_of(op, in_shape, **params):
    from graphnn.model import model_from_dict

    document = {"format": "graphnn/1", "nodes": [{"name": "x", "op": "data", "shape": list(in_shape)},
                                                 {"name": "r", "op": op, "inputs": ["x"], **params}]}
    return model_from_dict(document).plan.by_name["r"].out_shape


@pytest.mark.parametrize("params,expected", [
    ({"shape": [0, -1]}, (2, 12)), ({"shape": [0, 0, 2, 2]}, (2, 3, 2, 2)), ({"shape": [-1, 0]}, (8, 3)),
    ({"shape": [2, 2], "axis": 3, "num_axes": 1}, (2, 3, 2, 2)), ({"shape": [1], "axis": 2, "num_axes": 0}, (2, 1, 3, 4)),
    ({"shape": [-1], "axis": 2}, (2, 12)), ({"shape": [0, 3, -1], "num_axes": 2}, (2, 3, 1, 4)),
])
def test_caffe_reshape_keeps_zeros_and_replaces_only_its_span(params, expected):
    assert shape_of("reshape", (2, 3, 4), **params) == expected


@pytest.mark.parametrize("params,expected", [
    ({}, (24,)), ({"axis": 2}, (2, 12)), ({"axis": 1, "end_axis": 2}, (6, 4)), ({"axis": 2, "end_axis": -2}, (2, 3, 4)),
    ({"axis": 3, "end_axis": 3}, (2, 3, 4)), ({"end_axis": -2}, (6, 4))])
def test_flatten_between_axis_and_end_axis(params, expected):
    assert shape_of("flatten", (2, 3, 4), **params) == expected


def test_partial_flatten_and_caffe_reshape_move_values_and_gradients_as_numpy():
    x = np.arange(2 * 2 * 3 * 4, dtype=np.float64).reshape(2, 2, 3, 4)
    for op, params, shape in (("flatten", {"axis": 2}, (2, 2, 12)), ("reshape", {"shape": [0, -1, 2]}, (2, 2, 6, 2))):
        target = np.ones((2,) + shape[1:])
        nodes, feeds = squared_error("r", target)
        out = run([{"name": "r", "op": op, "inputs": ["x"], **params}] + nodes, {"x": x}, feeds)
        np.testing.assert_array_equal(out.values["r"], x.reshape(shape))
        np.testing.assert_array_equal(out.input_grads["x"], ((x.reshape(shape) - target) / 2).reshape(x.shape))


@pytest.mark.parametrize("op,params,message", [
    ("reshape", {"shape": [0, 0, 0, 0]}, "entry 3 is 0"), ("reshape", {"shape": [5, -1]}, "cannot reshape"),
    ("reshape", {"shape": [2], "axis": 3, "num_axes": 2}, "are not axes of input shape"),
    ("flatten", {"axis": 3, "end_axis": 2}, "are not axes of input shape")])
def test_bad_spans_are_located_errors(op, params, message):
    from graphnn.errors import GraphnnError

    with pytest.raises(GraphnnError, match=f"node 'r'.*{message}"):
        shape_of(op, (2, 3, 4), **params)


def test_partial_flatten_exports_as_reshape():
    ort = pytest.importorskip("onnxruntime")
    from graphnn.executor import Network
    from graphnn.interop.onnx_export import network_to_onnx
    from graphnn.model import model_from_dict

    document = {"format": "graphnn/1", "nodes": [{"name": "x", "op": "data", "shape": [2, 3, 4]},
                                                 {"name": "r", "op": "flatten", "inputs": ["x"], "axis": 2}]}
    network = Network.initialise(model_from_dict(document))
    x = np.random.default_rng(0).normal(size=(3, 2, 3, 4)).astype(np.float32)
    session = ort.InferenceSession(network_to_onnx(network).SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(session.run(None, {"x": x})[0], x.reshape(3, 2, 12))
