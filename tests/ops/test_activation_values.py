"""activation through the public path (model document -> Network), each function's known values by hand,
forward and backward (dy = (y - t) / N from the squared error that closes the graph):

    sigmoid y = 1 / (1 + e^-x), dx = dy y (1 - y);    tanh y = tanh x, dx = dy (1 - y^2);
    relu y = max(x, 0), dx = dy [x >= 0];              leaky_relu y = x or a x, dx = dy or a dy;
    softmax y = e^x / sum e^x along axis, dx = y (dy - sum(dy y));    identity y = x, dx = dy.
"""

import numpy as np
import pytest

from tests.ops.public_path import run, squared_error, torch_or_skip

X = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0], [1.0, -1.0, 2.0, -3.0, 0.25]])  # (N=2, 5), a 0 for relu's kink
T = np.array([[0.0, 0.5, 1.0, -1.0, 2.0], [1.0, 0.0, 0.0, 1.0, -0.5]])


def activation(x, target, **params):
    nodes, feeds = squared_error("act", target)
    return run([{"name": "act", "op": "activation", "inputs": ["x"], **params}] + nodes, {"x": x}, feeds)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ELEMENTWISE = {  # function: (y(x), dy/dx(x, y))
    "sigmoid": (sigmoid, lambda x, y: y * (1 - y)),
    "tanh": (np.tanh, lambda x, y: 1 - y * y),
    "relu": (lambda x: np.maximum(x, 0), lambda x, y: (x >= 0).astype(float)),
    "leaky_relu": (lambda x: np.where(x >= 0, x, 0.01 * x), lambda x, y: np.where(x >= 0, 1.0, 0.01)),
    "identity": (lambda x: x, lambda x, y: np.ones_like(x)),
}


@pytest.mark.parametrize("function", sorted(ELEMENTWISE))
def test_elementwise_functions(function):
    forward, derivative = ELEMENTWISE[function]
    out = activation(X, T, function=function)
    y = forward(X)
    np.testing.assert_allclose(out.values["act"], y, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(out.input_grads["x"], derivative(X, y) * (y - T) / len(X), rtol=1e-13, atol=1e-300)


def test_known_points():
    """A few values to read: sigmoid(0) = 1/2, tanh(0) = 0, relu passes the gradient at 0, leaky_relu
    scales the negative side by its slope."""
    x = np.array([[0.0, -2.0]])
    y = activation(x, x, function="sigmoid").values["act"]
    assert y[0, 0] == 0.5 and np.isclose(y[0, 1], 1 / (1 + np.exp(2.0)), rtol=1e-15)
    assert activation(x, x, function="tanh").values["act"][0, 0] == 0.0
    relu = activation(x, np.array([[-1.0, -1.0]]), function="relu")
    assert relu.values["act"].tolist() == [[0.0, 0.0]]
    assert relu.input_grads["x"].tolist() == [[1.0, 0.0]]  # dy = (0 - (-1)) / 1 at x = 0, none at x = -2
    leaky = activation(x, np.zeros((1, 2)), function="leaky_relu", negative_slope=0.25)
    assert leaky.values["act"].tolist() == [[0.0, -0.5]]
    assert leaky.input_grads["x"].tolist() == [[0.0, 0.25 * -0.5]]


SOFTMAX_CASES = {  # axis: (x, t); axis 2 of (N, 3, 2) is a later axis than the features'
    1: (X, T),
    2: (np.arange(12.0).reshape(2, 3, 2) / 3 - 1, np.linspace(0, 1, 12).reshape(2, 3, 2)),
}


@pytest.mark.parametrize("axis", sorted(SOFTMAX_CASES))
def test_softmax_along_an_axis(axis):
    x, t = SOFTMAX_CASES[axis]
    out = activation(x, t, function="softmax", axis=axis)
    y = softmax(x, axis=axis)
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-15)
    np.testing.assert_allclose(out.values["act"], y, rtol=1e-14)
    dy = (y - t) / len(x)
    np.testing.assert_allclose(out.input_grads["x"], y * (dy - (dy * y).sum(axis=axis, keepdims=True)), rtol=1e-12,
                               atol=1e-16)


def test_large_inputs_stay_finite():
    x = np.array([[-800.0, 800.0, 0.0]])
    for function in ("sigmoid", "tanh", "softmax"):
        out = activation(x, np.zeros((1, 3)), function=function)
        assert np.isfinite(out.values["act"]).all() and np.isfinite(out.input_grads["x"]).all(), function
    np.testing.assert_allclose(activation(x, x, function="softmax").values["act"], [[0.0, 1.0, 0.0]], atol=1e-300)


@pytest.mark.parametrize("function", ["sigmoid", "tanh", "relu", "leaky_relu", "softmax", "identity"])
def test_activations_match_torch(function):
    torch = torch_or_skip()
    x = X + 0.125  # no input at 0: torch's relu passes no gradient there, graphnn's does
    out = activation(x, T, function=function)
    tx = torch.tensor(x, requires_grad=True)
    ty = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "identity": lambda a: a * 1,
          "leaky_relu": lambda a: torch.nn.functional.leaky_relu(a, 0.01),
          "softmax": lambda a: torch.softmax(a, dim=1)}[function](tx)
    (((ty - torch.tensor(T)) ** 2).sum() / (2 * len(x))).backward()
    np.testing.assert_allclose(out.values["act"], ty.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-12, atol=1e-16)
