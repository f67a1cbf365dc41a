"""fc through the public path (model document -> Network), known values by hand:
y = x.reshape(N, -1) @ W + b;   dW = x2.T @ dy,  db = sum_n dy,  dx = (dy @ W.T) reshaped to x's shape."""

import numpy as np

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
