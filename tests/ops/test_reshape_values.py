"""reshape and flatten through the public path (model document -> Network): the same values in another
shape (the batch kept), and the gradient is dy reshaped back to the input's shape."""

import numpy as np

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
