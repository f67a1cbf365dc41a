"""Pooling through the public path (model document -> Network), worked by hand, and against PyTorch:

    maxpool2d       y = the window's maximum; dx = dy at that maximum (the first one in row-major order)
    avgpool2d       y = the window's mean, padding zeros counted; dx = dy / (kh*kw) over the window
    global_avgpool  y = the mean over H and W; dx = dy / (H*W) everywhere
"""

import numpy as np
import pytest

from tests.ops.public_path import run, squared_error, torch_or_skip

X = np.array([[[[1.0, 2.0, 5.0, 6.0],
                [3.0, 4.0, 7.0, 8.0],
                [0.0, -1.0, 2.0, 2.0],
                [-2.0, -3.0, 1.0, 0.0]]]])  # (1, 1, 4, 4); the bottom-right window ties at 2


def pool(op, x, target, **params):
    nodes, feeds = squared_error("pool", target)
    return run([{"name": "pool", "op": op, "inputs": ["x"], **params}] + nodes, {"x": x}, feeds)


def test_maxpool_by_hand():
    out = pool("maxpool2d", X, np.full((1, 1, 2, 2), -1.0), kernel=2)
    assert out.values["pool"].tolist() == [[[[4.0, 8.0], [0.0, 2.0]]]]
    dx = np.zeros((4, 4))
    dx[1, 1], dx[1, 3], dx[2, 0], dx[2, 2] = 5.0, 9.0, 1.0, 3.0  # dy = y + 1 at each maximum; the tie: its first
    np.testing.assert_array_equal(out.input_grads["x"][0, 0], dx)


def test_avgpool_by_hand():
    out = pool("avgpool2d", X, np.zeros((1, 1, 2, 2)), kernel=2)
    y = np.array([[2.5, 6.5], [-1.5, 1.25]])
    assert out.values["pool"][0, 0].tolist() == y.tolist()
    np.testing.assert_array_equal(out.input_grads["x"][0, 0], np.kron(y / 4, np.ones((2, 2))))


def test_avgpool_counts_the_padding_in_the_mean():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # padded by 1 and cut into 2x2 windows with stride 2
    out = pool("avgpool2d", x, np.zeros((1, 1, 2, 2)), kernel=2, stride=2, padding=1)
    assert out.values["pool"][0, 0].tolist() == [[1 / 4, (2 + 3) / 4], [(4 + 7) / 4, (5 + 6 + 8 + 9) / 4]]
    dy = out.values["pool"][0, 0]
    window = [0, 1, 1]  # the window each row (and column) of x lies in: padded rows 1, 2, 3
    np.testing.assert_array_equal(out.input_grads["x"][0, 0], dy[np.ix_(window, window)] / 4)


def test_global_avgpool_by_hand():
    x = np.concatenate([X[:, :, :2, :2], X[:, :, 2:, 2:]], axis=1)  # (1, 2, 2, 2): channels 1 2 3 4 and 2 2 1 0
    out = pool("global_avgpool", x, np.array([[0.5, 0.0]]))
    assert out.values["pool"].tolist() == [[2.5, 1.25]]
    np.testing.assert_array_equal(out.input_grads["x"], np.array([2.0, 1.25]).reshape(1, 2, 1, 1) / 4 * np.ones((1, 2, 2, 2)))


@pytest.mark.parametrize("op", ["maxpool2d", "avgpool2d", "global_avgpool"])
def test_pooling_matches_torch(op):
    torch = torch_or_skip()
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 5))  # no ties
    tx = torch.tensor(x, requires_grad=True)
    params = {} if op == "global_avgpool" else {"kernel": 3, "stride": 2, "padding": 1}
    ty = {"maxpool2d": lambda a: torch.nn.functional.max_pool2d(a, 3, 2, 1),
          "avgpool2d": lambda a: torch.nn.functional.avg_pool2d(a, 3, 2, 1),
          "global_avgpool": lambda a: a.mean(dim=(2, 3))}[op](tx)
    t = np.random.default_rng(5).standard_normal(ty.shape)
    out = pool(op, x, t, **params)
    (((ty - torch.tensor(t)) ** 2).sum() / (2 * len(x))).backward()
    np.testing.assert_allclose(out.values["pool"], ty.detach().numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-13, atol=1e-15)
