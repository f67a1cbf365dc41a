"""pad through the public path (model document -> Network): the three modes by hand on one axis, the
gradient folded back onto the input, several axes, and against PyTorch's F.pad (constant, reflect,
replicate)."""

import numpy as np
import pytest

from graphnn.errors import ModelInvalid
from graphnn.model import model_from_dict
from tests.ops.public_path import run, squared_error, torch_or_skip

X = np.array([[1.0, 2.0, 3.0]])  # (N=1, 3)


def pad(x, target, **params):
    nodes, feeds = squared_error("y", target)
    return run([{"name": "y", "op": "pad", "inputs": ["x"], **params}] + nodes, {"x": x}, feeds)


@pytest.mark.parametrize("mode,params,y,dx", [
    # dy = y - t with t = y - [1, 2, ..., 7]: dy = position + 1, summed onto the input positions read
    ("constant", {}, [0, 0, 1, 2, 3, 0, 0], [3, 4, 5]),
    ("constant", {"value": -1.5}, [-1.5, -1.5, 1, 2, 3, -1.5, -1.5], [3, 4, 5]),
    ("reflect", {}, [3, 2, 1, 2, 3, 2, 1], [3 + 7, 2 + 4 + 6, 1 + 5]),
    ("edge", {}, [1, 1, 1, 2, 3, 3, 3], [1 + 2 + 3, 4, 5 + 6 + 7]),
    ("wrap", {}, [2, 3, 1, 2, 3, 1, 2], [3 + 6, 1 + 4 + 7, 2 + 5]),
])
def test_modes_by_hand(mode, params, y, dx):
    y = np.array([y], float)
    out = pad(X, y - np.arange(1.0, 8.0), pads=[[2, 2]], mode=mode, **params)
    np.testing.assert_array_equal(out.values["y"], y)
    np.testing.assert_array_equal(out.input_grads["x"], [dx])


def test_several_axes_each_its_own_pads():
    x = np.arange(12.0).reshape(2, 2, 3)
    out = pad(x, np.zeros((2, 3, 5)), pads=[[1, 0], [0, 2]], mode="edge")
    expected = np.pad(x, ((0, 0), (1, 0), (0, 2)), mode="edge")
    np.testing.assert_array_equal(out.values["y"], expected)
    dx = np.zeros_like(x)  # each output position adds dy = y / N to the position it copies
    source_rows, source_cols = [0, 0, 1], [0, 1, 2, 2, 2]
    for i, r in enumerate(source_rows):
        for j, c in enumerate(source_cols):
            dx[:, r, c] += expected[:, i, j] / 2
    np.testing.assert_allclose(out.input_grads["x"], dx)


@pytest.mark.parametrize("params,words", [
    ({"pads": [[1, 1]]}, "2 axes"),
    ({"pads": [[0, 0], [3, 0]], "mode": "reflect"}, "smaller than the axes"),
])
def test_bad_pads_are_located(params, words):
    document = {"format": "graphnn/1", "nodes": [{"name": "x", "op": "data", "shape": [2, 3]},
                                                 {"name": "y", "op": "pad", "inputs": ["x"], **params}]}
    with pytest.raises(ModelInvalid) as caught:
        model_from_dict(document)
    assert any(error.node == "y" and words in str(error) for error in caught.value.errors), \
        [str(error) for error in caught.value.errors]


@pytest.mark.parametrize("mode,torch_mode", [("constant", "constant"), ("reflect", "reflect"), ("edge", "replicate")])
def test_pad_matches_torch(mode, torch_mode):
    torch = torch_or_skip()
    x = np.random.default_rng(2).normal(size=(2, 3, 4, 5))
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.pad(tx, (2, 1, 0, 3), mode=torch_mode)  # last axis (2, 1), the one before (0, 3)
    t = np.random.default_rng(3).normal(size=ty.shape)
    out = pad(x, t, pads=[[0, 0], [0, 3], [2, 1]], mode=mode)
    (((ty - torch.tensor(t)) ** 2).sum() / (2 * len(x))).backward()
    np.testing.assert_array_equal(out.values["y"], ty.detach().numpy())
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-14, atol=1e-16)
