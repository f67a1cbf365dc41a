"""conv2d through the public path (model document -> Network): a case worked by hand, then strided,
padded, dilated and grouped cases against PyTorch (the naive loops at op level are in test_conv.py).

    y[n, f, p, q] = b[f] + sum_{c, i, j} W[f, c, i, j] x[n, c, p*s + i*d, q*s + j*d]   (x zero-padded)
    dW[f, c, i, j] = sum_{n, p, q} dy[n, f, p, q] x[n, c, p*s + i*d, q*s + j*d],  db[f] = sum dy[:, f],
    dx = the sum of W placed at every output position, scaled by dy there.
"""

import numpy as np
import pytest

from tests.ops.public_path import run, squared_error, torch_or_skip

X = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # 1 2 3 / 4 5 6 / 7 8 9
W = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])  # y[p, q] = x[p, q] - x[p + 1, q + 1] + b


def conv(x, weights, target, **params):
    nodes, feeds = squared_error("conv", target)
    node = {"name": "conv", "op": "conv2d", "inputs": ["x"], **params}
    return run([node] + nodes, {"x": x}, feeds, {"conv": weights})


def test_conv2d_by_hand():
    t = np.array([[[[-3.5, -2.5], [-4.5, -3.5]]]])  # dy = y - t = [[0, -1], [1, 0]] (N = 1)
    out = conv(X, {"W": W, "b": np.array([0.5])}, t, filters=1, kernel=2)
    assert out.values["conv"].tolist() == [[[[-3.5, -3.5], [-3.5, -3.5]]]]  # every x[p, q] - x[p+1, q+1] is -4
    assert out.weight_grads["conv"]["W"].tolist() == [[[[2.0, 2.0], [2.0, 2.0]]]]  # e.g. -x[0, 1] + x[1, 0]
    assert out.weight_grads["conv"]["b"].tolist() == [0.0]
    assert out.input_grads["x"].tolist() == [[[[0.0, -1.0, 0.0], [1.0, 0.0, 1.0], [0.0, -1.0, 0.0]]]]


def test_conv2d_padding_by_hand():
    """A 1x1 kernel of 2 with one pixel of zero padding: the input doubled inside a frame of b."""
    out = conv(X, {"W": np.full((1, 1, 1, 1), 2.0), "b": np.array([1.0])}, np.zeros((1, 1, 5, 5)),
               filters=1, kernel=1, padding=1)
    expected = np.ones((5, 5))
    expected[1:4, 1:4] += 2 * X[0, 0]
    np.testing.assert_array_equal(out.values["conv"][0, 0], expected)
    np.testing.assert_array_equal(out.input_grads["x"], 2 * (2 * X + 1))  # dy inside the frame, times W


CASES = [  # graphnn parameters, torch keywords, input shape
    ({"filters": 3, "kernel": 3, "stride": 2, "padding": 1}, {"stride": 2, "padding": 1}, (2, 2, 5, 5)),
    ({"filters": 2, "kernel": [2, 3], "dilation": 2}, {"dilation": 2}, (2, 1, 6, 7)),
    ({"filters": 4, "kernel": 2, "groups": 2, "stride": [1, 2]}, {"groups": 2, "stride": (1, 2)}, (1, 4, 4, 5)),
]


@pytest.mark.parametrize("params,torch_kwargs,in_shape", CASES)
def test_conv2d_matches_torch(params, torch_kwargs, in_shape):
    torch = torch_or_skip()
    rng = np.random.default_rng(3)
    x = rng.standard_normal(in_shape)
    kh, kw = (params["kernel"],) * 2 if isinstance(params["kernel"], int) else params["kernel"]
    w = rng.standard_normal((params["filters"], in_shape[1] // params.get("groups", 1), kh, kw))
    b = rng.standard_normal(params["filters"])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, **torch_kwargs)
    t = rng.standard_normal(ty.shape)
    out = conv(x, {"W": w, "b": b}, t, **params)
    (((ty - torch.tensor(t)) ** 2).sum() / (2 * len(x))).backward()
    np.testing.assert_allclose(out.values["conv"], ty.detach().numpy(), rtol=1e-12, atol=1e-13)
    for ours, theirs in ((out.input_grads["x"], tx), (out.weight_grads["conv"]["W"], tw),
                         (out.weight_grads["conv"]["b"], tb)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-12, atol=1e-13)
