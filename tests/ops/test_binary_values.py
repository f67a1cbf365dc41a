"""binary through the public path (model document -> Network): each function by hand, broadcasting
against the batch kept apart, a constant operand (either side), gradients summed over broadcast axes,
and forward and backward against PyTorch.

    y = f(a, b) on numpy-broadcast sample shapes;  da = dy df/da summed over the axes a was repeated along
"""

import numpy as np
import pytest

from graphnn.errors import ModelInvalid
from graphnn.model import model_from_dict
from tests.ops.public_path import run, squared_error, torch_or_skip

A = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])  # (N=2, 3)
B = np.array([[2.0, 2.0, -1.0], [0.25, 5.0, -1.5]])


def binary(inputs, target, **params):
    nodes, feeds = squared_error("y", target)
    node = {"name": "y", "op": "binary", "inputs": list(inputs), **params}
    return run([node] + nodes, inputs, feeds)


CASES = {  # function: (y, da, db) for dy = 1
    "add": (A + B, np.ones_like(A), np.ones_like(B)),
    "sub": (A - B, np.ones_like(A), -np.ones_like(B)),
    "mul": (A * B, B, A),
    "div": (A / B, 1 / B, -A / B ** 2),
    "max": (np.maximum(A, B), (A >= B) * 1.0, (A < B) * 1.0),
    "min": (np.minimum(A, B), (A <= B) * 1.0, (A > B) * 1.0),
}


@pytest.mark.parametrize("function", sorted(CASES))
def test_each_function_by_hand(function):
    y, da, db = CASES[function]
    out = binary({"a": A, "b": B}, y - len(A), function=function)  # dy = (y - t) / N = 1
    np.testing.assert_allclose(out.values["y"], y, rtol=1e-15)
    np.testing.assert_allclose(out.input_grads["a"], da, rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["b"], db, rtol=1e-14)


def test_pow_by_hand():
    a, b = np.array([[2.0, 9.0, 0.5]]), np.array([[3.0, 0.5, -1.0]])
    out = binary({"a": a, "b": b}, np.zeros((1, 3)), function="pow")
    y = np.array([[8.0, 3.0, 2.0]])
    np.testing.assert_allclose(out.values["y"], y, rtol=1e-15)
    np.testing.assert_allclose(out.input_grads["a"], y * b * a ** (b - 1), rtol=1e-14)  # dy = y
    np.testing.assert_allclose(out.input_grads["b"], y * y * np.log(a), rtol=1e-14)


def test_pow_of_a_non_positive_base_has_no_exponent_gradient():
    out = binary({"a": np.array([[-2.0, 0.0]]), "b": np.array([[2.0, 3.0]])}, np.zeros((1, 2)), function="pow")
    assert out.values["y"].tolist() == [[4.0, 0.0]]
    assert out.input_grads["b"].tolist() == [[0.0, 0.0]]


def test_broadcasting_keeps_the_batch_apart_and_sums_the_gradient():
    """a (N, 3) against b (N, 2, 3): every sample's a is repeated over b's first axis, never over the batch."""
    a = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    b = np.arange(12.0).reshape(2, 2, 3)
    out = binary({"a": a, "b": b}, np.zeros((2, 2, 3)), function="add")
    np.testing.assert_array_equal(out.values["y"], a[:, None, :] + b)
    dy = (a[:, None, :] + b) / 2
    np.testing.assert_allclose(out.input_grads["a"], dy.sum(axis=1))
    np.testing.assert_allclose(out.input_grads["b"], dy)


def test_size_one_axes_broadcast_both_ways():
    a, b = np.arange(6.0).reshape(2, 3, 1), np.arange(8.0).reshape(2, 1, 4)  # samples (3, 1) and (1, 4)
    out = binary({"a": a, "b": b}, np.zeros((2, 3, 4)), function="mul")
    np.testing.assert_array_equal(out.values["y"], a * b)
    dy = a * b / 2
    np.testing.assert_allclose(out.input_grads["a"], (dy * b).sum(axis=2, keepdims=True))
    np.testing.assert_allclose(out.input_grads["b"], (dy * a).sum(axis=1, keepdims=True))


@pytest.mark.parametrize("function,constant,first,y,dx", [
    ("sub", 1.0, True, 1.0 - A, -np.ones_like(A)),  # 1 - x
    ("div", 2.0, True, 2.0 / A, -2.0 / A ** 2),  # 2 / x
    ("pow", 2.0, False, A ** 2, 2 * A),  # x^2
    ("pow", 2.0, True, 2.0 ** A, 2.0 ** A * np.log(2.0)),  # 2^x
    ("max", 0.0, False, np.maximum(A, 0), (A >= 0) * 1.0),  # relu
    ("add", [0.5, 1.0, -1.0], False, A + [0.5, 1.0, -1.0], np.ones_like(A)),  # a bias per feature
])
def test_a_constant_operand(function, constant, first, y, dx):
    out = binary({"x": A}, y - len(A), function=function, constant=constant, constant_first=first)
    np.testing.assert_allclose(out.values["y"], y, rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], dx, rtol=1e-14)
    assert "y" not in out.weight_grads and not out.network.weights.get("y")  # the constant is not trained


def test_a_constant_with_more_axes_than_the_input():
    c = [[1.0], [2.0]]  # (2, 1) against samples (3,): y is (N, 2, 3)
    out = binary({"x": A}, np.zeros((2, 2, 3)), function="mul", constant=c)
    np.testing.assert_array_equal(out.values["y"], A[:, None, :] * np.array(c))
    np.testing.assert_allclose(out.input_grads["x"], (A[:, None, :] * np.array(c) / 2 * np.array(c)).sum(axis=1))


def test_float32_keeps_its_type_with_a_float64_constant():
    from graphnn.executor import Network

    model = model_from_dict({"format": "graphnn/1", "nodes": [
        {"name": "x", "op": "data", "shape": [3]},
        {"name": "y", "op": "binary", "inputs": ["x"], "function": "div", "constant": 3.0}]})
    net = Network.initialise(model, dtype="float32")
    y = net.forward({"x": np.ones((2, 3), np.float32)}).values["y"]
    assert y.dtype == np.float32 and y[0, 0] == np.float32(1 / 3)


@pytest.mark.parametrize("nodes,words", [
    ([{"name": "y", "op": "binary", "inputs": ["x", "z"], "function": "add", "constant": 1.0}], "one input"),
    ([{"name": "y", "op": "binary", "inputs": ["x"], "function": "add"}], "two inputs"),
    ([{"name": "y", "op": "binary", "inputs": ["x", "z"], "function": "mul"}], "do not broadcast"),
    ([{"name": "y", "op": "binary", "inputs": ["x"], "function": "add", "constant": [[1.0], [2.0, 3.0]]}],
     "rectangular"),
    ([{"name": "y", "op": "binary", "inputs": ["x"], "function": "add", "constant": [1.0, 2.0]}],
     "do not broadcast"),
])
def test_bad_operands_are_located(nodes, words):
    document = {"format": "graphnn/1", "nodes": [{"name": "x", "op": "data", "shape": [3]},
                                                 {"name": "z", "op": "data", "shape": [4]}] + nodes}
    with pytest.raises(ModelInvalid) as caught:
        model_from_dict(document)
    assert any(error.node == "y" and words in str(error) for error in caught.value.errors), \
        [str(error) for error in caught.value.errors]


TORCH = {"add": "add", "sub": "sub", "mul": "mul", "div": "div", "max": "maximum", "min": "minimum", "pow": "pow"}


@pytest.mark.parametrize("function", sorted(TORCH))
def test_binary_matches_torch(function):
    torch = torch_or_skip()
    rng = np.random.default_rng(7)
    a = rng.uniform(0.5, 2.0, (3, 2, 1, 4))  # positive: pow's exponent gradient needs log(a)
    b = rng.uniform(0.5, 2.0, (3, 5, 1)) * rng.choice([-1, 1], (3, 5, 1))
    out = binary({"a": a, "b": b}, np.zeros((3, 2, 5, 4)), function=function)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    ty = getattr(torch, TORCH[function])(ta, tb[:, None, :, :])  # torch aligns the batch only by hand
    ((ty ** 2).sum() / (2 * len(a))).backward()
    np.testing.assert_allclose(out.values["y"], ty.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(out.input_grads["a"], ta.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.input_grads["b"], tb.grad.numpy(), rtol=1e-12, atol=1e-14)
