"""fc through the public path (model document -> Network), known values by hand:
y = x.reshape(N, -1) @ W + b;   dW = x2.T @ dy,  db = sum_n dy,  dx = (dy @ W.T) reshaped to x's shape."""

import numpy as np
import pytest

from tests.ops.public_path import run, squared_error, torch_or_skip

X = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]])  # (N=2, D=3)
W = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]])  # (D, U=2)
B = np.array([0.25, -0.5])
T = np.array([[1.0, 0.0], [0.0, 1.0]])


def fc_case(x, weights, target, **params):
    nodes, feeds = squared_error("fc", target)
    node = {"name": "fc", "op": "fc", "inputs": ["x"], "units": target.shape[1], **params}
    return run([node] + nodes, {"x": x}, feeds, {"fc": weights})


def test_fc_forward_and_backward():
    out = fc_case(X, {"W": W, "b": B}, T)
    y = np.array([[1 + 1 + 0 + 0.25, -1 + 4 - 1 - 0.5], [0.5 + 0 + 0 + 0.25, -0.5 + 0 + 3 - 0.5]])  # by hand
    np.testing.assert_allclose(out.values["fc"], y, rtol=1e-15)
    np.testing.assert_allclose(out.values["fc"], X @ W + B, rtol=1e-15)
    dy = (y - T) / 2
    assert np.isclose(out.objective, ((y - T) ** 2).sum() / (2 * 2), rtol=1e-14)
    np.testing.assert_allclose(out.weight_grads["fc"]["W"], X.T @ dy, rtol=1e-14)
    np.testing.assert_allclose(out.weight_grads["fc"]["b"], dy.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], dy @ W.T, rtol=1e-14)


def test_fc_without_bias_flattens_its_input_and_reshapes_the_gradient_back():
    x = np.arange(12.0).reshape(2, 2, 3) / 4  # (N, 2, 3) -> D = 6
    w = np.linspace(-1, 1, 6 * 2).reshape(6, 2)
    out = fc_case(x, {"W": w}, T, bias=False)
    assert set(out.weight_grads["fc"]) == {"W"}
    y = x.reshape(2, 6) @ w
    dy = (y - T) / 2
    np.testing.assert_allclose(out.values["fc"], y, rtol=1e-14)
    np.testing.assert_allclose(out.weight_grads["fc"]["W"], x.reshape(2, 6).T @ dy, rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], (dy @ w.T).reshape(2, 2, 3), rtol=1e-14)


def test_fc_matches_torch():
    torch = torch_or_skip()
    out = fc_case(X, {"W": W, "b": B}, T)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (X, W, B))
    ty = torch.nn.functional.linear(tx, tw.T, tb)
    loss = ((ty - torch.tensor(T)) ** 2).sum() / (2 * len(X))
    loss.backward()
    np.testing.assert_allclose(out.values["fc"], ty.detach().numpy(), rtol=1e-14)
    assert np.isclose(out.objective, loss.item(), rtol=1e-14)
    for ours, theirs in ((out.input_grads["x"], tx), (out.weight_grads["fc"]["W"], tw), (out.weight_grads["fc"]["b"], tb)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_fc_axis_keeps_the_leading_axes_and_matches_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(2, 3, 2, 2)), rng.normal(size=(4, 5)), rng.normal(size=5)
    target = rng.normal(size=(2, 3, 5))
    nodes, feeds = squared_error("fc", target)
    out = run([{"name": "fc", "op": "fc", "inputs": ["x"], "units": 5, "axis": 2}] + nodes, {"x": x}, feeds,
              weights={"fc": {"W": w, "b": b}})
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    y = tx.reshape(2, 3, 4) @ tw + tb
    (((y - torch.tensor(target)) ** 2).sum() / 4).backward()
    np.testing.assert_allclose(out.values["fc"], y.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(out.weight_grads["fc"]["W"], tw.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(out.weight_grads["fc"]["b"], tb.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
def test_fc_axis_exports_as_reshape_and_matmul(bias):
    ort = pytest.importorskip("onnxruntime")
    from graphnn.executor import Network
    from graphnn.interop.onnx_export import network_to_onnx
    from graphnn.model import model_from_dict

    document = {"format": "graphnn/1", "nodes": [
        {"name": "x", "op": "data", "shape": [3, 2, 2]},
        {"name": "fc", "op": "fc", "inputs": ["x"], "units": 5, "axis": 3, "bias": bias,
         "bias_init": {"type": "constant", "value": 0.5}}]}
    network = Network.initialise(model_from_dict(document))
    assert network.plan.by_name["fc"].out_shape == (3, 2, 5)
    x = np.random.default_rng(0).normal(size=(4, 3, 2, 2)).astype(np.float32)
    session = ort.InferenceSession(network_to_onnx(network).SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], network.forward({"x": x}).values["fc"], rtol=1e-5,
                               atol=1e-6)
