"""scale (Caffe's Scale layer) through the public path: y = x * W + b with W spanning axes axis ..
axis + num_axes - 1 and broadcast over the rest; dW = sum dy x, db = sum dy, dx = dy W. Against PyTorch."""

import numpy as np
import pytest

from tests.ops.public_path import run, squared_error, torch_or_skip

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 3, 2, 2))
T = RNG.normal(size=(2, 3, 2, 2))


def scaled(w, b=None, **params):
    nodes, feeds = squared_error("s", T)
    node = {"name": "s", "op": "scale", "inputs": ["x"], "bias": b is not None, **params}
    weights = {"s": {"W": w, **({"b": b} if b is not None else {})}}
    return run([node] + nodes, {"x": X}, feeds, weights=weights)


@pytest.mark.parametrize("params,span", [({}, (3,)), ({"axis": 2}, (2,)), ({"axis": 2, "num_axes": -1}, (2, 2)),
                                         ({"num_axes": 0}, ()), ({"num_axes": 3}, (3, 2, 2))])
def test_scale_matches_torch_on_every_span(params, span):
    torch = torch_or_skip()
    w, b = RNG.normal(size=span), RNG.normal(size=span)
    out = scaled(w, b, **params)
    axis = params.get("axis", 1)
    view = (1,) * axis + span + (1,) * (X.ndim - axis - len(span))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (X, w, b))
    y = tx * tw.reshape(view) + tb.reshape(view)
    (((y - torch.tensor(T)) ** 2).sum() / (2 * 2)).backward()
    np.testing.assert_allclose(out.values["s"], y.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(out.weight_grads["s"]["W"], tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(out.weight_grads["s"]["b"], tb.grad.numpy(), rtol=1e-12)


def test_per_channel_scale_by_hand_and_its_defaults():
    out = scaled(np.array([2.0, 0.0, -1.0]))
    np.testing.assert_array_equal(out.values["s"], X * np.array([2.0, 0.0, -1.0])[None, :, None, None])
    assert set(out.weight_grads["s"]) == {"W"}
    from graphnn.executor import Network
    from graphnn.model import model_from_dict

    document = {"format": "graphnn/1", "nodes": [{"name": "x", "op": "data", "shape": [3, 2]},
                                                 {"name": "s", "op": "scale", "inputs": ["x"], "bias": True}]}
    network = Network.initialise(model_from_dict(document))
    assert network.weights["s"]["W"].tolist() == [1, 1, 1] and network.weights["s"]["b"].tolist() == [0, 0, 0]


def test_a_span_past_the_input_is_a_located_error():
    from graphnn.errors import GraphnnError

    with pytest.raises(GraphnnError, match=r"node 's'.*axis 2 with num_axes 4 reaches past input shape"):
        scaled(np.ones(2), axis=2, num_axes=4)


@pytest.mark.parametrize("params", [{"axis": 2, "num_axes": -1, "bias": True}, {"axis": 3}, {"bias": True}])
def test_onnx_export_matches_onnxruntime(params):
    ort = pytest.importorskip("onnxruntime")
    from graphnn.executor import Network
    from graphnn.interop.onnx_export import network_to_onnx
    from graphnn.model import model_from_dict

    document = {"format": "graphnn/1", "nodes": [{"name": "x", "op": "data", "shape": [3, 2, 2]},
                                                 {"name": "s", "op": "scale", "inputs": ["x"], **params}]}
    network = Network.initialise(model_from_dict(document))
    for array in network.weights["s"].values():
        array[...] = RNG.normal(size=array.shape)
    x = X.astype(np.float32)
    session = ort.InferenceSession(network_to_onnx(network).SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    np.testing.assert_allclose(network.forward({"x": x}).values["s"], expected, rtol=1e-6, atol=1e-6)
