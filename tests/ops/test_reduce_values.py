"""reduce through the public path (model document -> Network): sum, mean, max and min over axes with and
without keepdims, ties sharing the gradient, and against PyTorch's sum, mean, amax and amin."""

import numpy as np
import pytest

from graphnn.errors import ModelInvalid
from graphnn.model import model_from_dict
from tests.ops.public_path import run, squared_error, torch_or_skip

X = np.array([[[1.0, 5.0, 2.0], [4.0, 5.0, -1.0]]])  # (N=1, 2, 3); row 0's max 5 once, column 1's max 5 twice


def reduce(x, target, **params):
    nodes, feeds = squared_error("y", target)
    return run([{"name": "y", "op": "reduce", "inputs": ["x"], **params}] + nodes, {"x": x}, feeds)


def test_sum_and_mean_by_hand():
    out = reduce(X, np.zeros((1, 1, 3)), function="sum", axes=[1])
    assert out.values["y"].tolist() == [[[5.0, 10.0, 1.0]]]
    np.testing.assert_array_equal(out.input_grads["x"], np.broadcast_to([[[5.0, 10.0, 1.0]]], X.shape))
    out = reduce(X, np.zeros((1, 2)), function="mean", axes=[2], keepdims=False)
    assert out.values["y"].tolist() == [[8 / 3, 8 / 3]]
    np.testing.assert_allclose(out.input_grads["x"], np.full(X.shape, 8 / 9))


def test_every_sample_axis_by_default():
    out = reduce(X, np.zeros((1, 1, 1)), function="sum")
    assert out.values["y"].tolist() == [[[16.0]]]
    out = reduce(X, np.zeros((1,)), function="max", keepdims=False)
    assert out.values["y"].shape == (1,) and out.values["y"][0] == 5.0


def test_max_and_min_share_the_gradient_between_ties():
    out = reduce(X, np.zeros((1, 3)), function="max", axes=[1], keepdims=False)
    assert out.values["y"].tolist() == [[4.0, 5.0, 2.0]]
    dx = np.zeros_like(X)
    dx[0, 1, 0], dx[0, 0, 2] = 4.0, 2.0
    dx[0, :, 1] = 5.0 / 2  # a tie: each of the two 5s gets half of dy = 5
    np.testing.assert_array_equal(out.input_grads["x"], dx)
    out = reduce(X, np.zeros((1, 2, 1)), function="min", axes=[2])
    assert out.values["y"].tolist() == [[[1.0], [-1.0]]]
    np.testing.assert_array_equal(out.input_grads["x"], [[[1.0, 0, 0], [0, 0, -1.0]]])


def test_an_axis_that_does_not_exist_is_located():
    document = {"format": "graphnn/1", "nodes": [{"name": "x", "op": "data", "shape": [2, 3]},
                                                 {"name": "y", "op": "reduce", "inputs": ["x"], "function": "sum",
                                                  "axes": [3]}]}
    with pytest.raises(ModelInvalid) as caught:
        model_from_dict(document)
    assert any(error.node == "y" and "does not exist" in str(error) for error in caught.value.errors)


@pytest.mark.parametrize("function,torch_function", [("sum", "sum"), ("mean", "mean"), ("max", "amax"),
                                                     ("min", "amin")])
@pytest.mark.parametrize("keepdims", [True, False])
def test_reduce_matches_torch(function, torch_function, keepdims):
    torch = torch_or_skip()
    x = np.random.default_rng(4).normal(size=(3, 2, 4, 5))
    x[0, 1, 2, :2] = 9.0  # a tie in the max
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch, torch_function)(tx, dim=(1, 3), keepdim=keepdims)
    t = np.random.default_rng(5).normal(size=ty.shape)
    out = reduce(x, t, function=function, axes=[3, 1], keepdims=keepdims)
    (((ty - torch.tensor(t)) ** 2).sum() / (2 * len(x))).backward()
    np.testing.assert_allclose(out.values["y"], ty.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-13, atol=1e-16)
