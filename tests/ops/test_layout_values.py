"""transpose, squeeze, unsqueeze and slice through the public path (model document -> Network): the same
values moved, the gradient moved back; against PyTorch's permute, squeeze, unsqueeze and slicing.
Axes count the batch as axis 0, which never moves."""

import numpy as np
import pytest

from graphnn.errors import ModelInvalid
from graphnn.model import model_from_dict
from tests.ops.public_path import run, squared_error, torch_or_skip

X = np.arange(24.0).reshape(2, 3, 4) / 4 - 2  # (N=2, 3, 4)


def layout(op, x, target, **params):
    nodes, feeds = squared_error("y", target)
    return run([{"name": "y", "op": op, "inputs": ["x"], **params}] + nodes, {"x": x}, feeds)


def test_transpose_moves_sample_axes_only():
    x = np.arange(24.0).reshape(2, 3, 4, 1)
    out = layout("transpose", x, np.zeros((2, 4, 1, 3)), perm=[2, 3, 1])
    np.testing.assert_array_equal(out.values["y"], x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(out.input_grads["x"], x / 2)  # dy = y / N, moved back


@pytest.mark.parametrize("params,in_shape,out_shape", [
    ({}, (1, 3, 1), (3,)),
    ({"axes": [3]}, (1, 3, 1), (1, 3)),
    ({"axes": [1, 3]}, (1, 3, 1), (3,)),
    ({}, (2, 3), (2, 3)),  # nothing of size 1: unchanged
])
def test_squeeze(params, in_shape, out_shape):
    x = np.arange(2.0 * np.prod(in_shape)).reshape((2,) + in_shape)
    out = layout("squeeze", x, np.zeros((2,) + out_shape), **params)
    np.testing.assert_array_equal(out.values["y"], x.reshape((2,) + out_shape))
    np.testing.assert_array_equal(out.input_grads["x"], x / 2)


@pytest.mark.parametrize("axes,out_shape", [([1], (1, 3, 4)), ([3], (3, 4, 1)), ([4, 1], (1, 3, 4, 1)),
                                            ([2, 3], (3, 1, 1, 4))])
def test_unsqueeze_puts_new_axes_where_the_output_has_them(axes, out_shape):
    out = layout("unsqueeze", X, np.zeros((2,) + out_shape), axes=axes)
    np.testing.assert_array_equal(out.values["y"], X.reshape((2,) + out_shape))
    np.testing.assert_array_equal(out.input_grads["x"], X / 2)


@pytest.mark.parametrize("params,index", [
    ({"axes": [2], "starts": [1], "ends": [3]}, np.s_[:, :, 1:3]),
    ({"axes": [1, 2], "starts": [-2, 0], "ends": [100, -1]}, np.s_[:, -2:, 0:-1]),
    ({"axes": [2], "starts": [0], "ends": [4], "steps": [2]}, np.s_[:, :, 0:4:2]),
    ({"axes": [2], "starts": [-1], "ends": [-100], "steps": [-1]}, np.s_[:, :, ::-1]),
    ({"axes": [1], "starts": [2], "ends": [0], "steps": [-2]}, np.s_[:, 2:0:-2]),
])
def test_slice_by_pythons_rules(params, index):
    expected = X[index]
    out = layout("slice", X, np.zeros(expected.shape), **params)
    np.testing.assert_array_equal(out.values["y"], expected)
    dx = np.zeros_like(X)
    dx[index] = expected / 2
    np.testing.assert_array_equal(out.input_grads["x"], dx)


@pytest.mark.parametrize("node,words", [
    ({"op": "transpose", "perm": [1, 3]}, "not a permutation"),
    ({"op": "squeeze", "axes": [1]}, "size 1"),
    ({"op": "squeeze", "axes": [3]}, "does not exist"),
    ({"op": "unsqueeze", "axes": [4]}, "does not exist"),
    ({"op": "slice", "axes": [1], "starts": [2], "ends": [2]}, "empty"),
    ({"op": "slice", "axes": [1, 2], "starts": [0], "ends": [1, 1]}, "one entry per sliced axis"),
])
def test_bad_parameters_are_located(node, words):
    document = {"format": "graphnn/1", "nodes": [{"name": "x", "op": "data", "shape": [3, 4]},
                                                 {"name": "y", "inputs": ["x"], **node}]}
    with pytest.raises(ModelInvalid) as caught:
        model_from_dict(document)
    assert any(error.node == "y" and words in str(error) for error in caught.value.errors), \
        [str(error) for error in caught.value.errors]


def test_layout_ops_match_torch():
    torch = torch_or_skip()
    x = np.random.default_rng(0).normal(size=(2, 3, 1, 4))
    cases = [("transpose", {"perm": [3, 1, 2]}, lambda a: a.permute(0, 3, 1, 2)),
             ("squeeze", {"axes": [2]}, lambda a: a.squeeze(2)),
             ("unsqueeze", {"axes": [2]}, lambda a: a.unsqueeze(2)),
             ("slice", {"axes": [1, 3], "starts": [1, 0], "ends": [3, 4], "steps": [1, 3]}, lambda a: a[:, 1:3, :, 0:4:3])]
    for op, params, function in cases:
        tx = torch.tensor(x, requires_grad=True)
        ty = function(tx)
        t = np.random.default_rng(1).normal(size=ty.shape)
        out = layout(op, x, t, **params)
        (((ty - torch.tensor(t)) ** 2).sum() / (2 * len(x))).backward()
        np.testing.assert_array_equal(out.values["y"], ty.detach().numpy(), err_msg=op)
        np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-15, err_msg=op)
