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


# --- the unary functions -------------------------------------------------------------------------------

SELU_ALPHA, SELU_GAMMA = 1.6732632423543772, 1.0507009873554805
POSITIVE = np.array([[0.25, 1.0, 4.0, 9.0, 2.0], [0.5, 3.0, 1.5, 0.125, 7.0]])  # log and sqrt need x > 0

UNARY = {  # function: (params, input, y(x), dy/dx(x, y))
    "neg": ({}, X, lambda x: -x, lambda x, y: -np.ones_like(x)),
    "abs": ({}, X + 0.125, np.abs, lambda x, y: np.sign(x)),
    "exp": ({}, X, np.exp, lambda x, y: y),
    "log": ({}, POSITIVE, np.log, lambda x, y: 1 / x),
    "sqrt": ({}, POSITIVE, np.sqrt, lambda x, y: 0.5 / y),
    "elu": ({"alpha": 0.5}, X, lambda x: np.where(x > 0, x, 0.5 * (np.exp(x) - 1)),
            lambda x, y: np.where(x > 0, 1.0, 0.5 * np.exp(x))),
    "selu": ({}, X, lambda x: SELU_GAMMA * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1)),
             lambda x, y: SELU_GAMMA * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(x))),
    "softplus": ({}, X, lambda x: np.log(1 + np.exp(x)), lambda x, y: sigmoid(x)),
    "clip": ({"min": -1.0, "max": 1.0}, X, lambda x: np.minimum(np.maximum(x, -1), 1),
             lambda x, y: ((x >= -1) & (x <= 1)) * 1.0),
}


@pytest.mark.parametrize("function", sorted(UNARY))
def test_unary_functions(function):
    params, x, forward, derivative = UNARY[function]
    out = activation(x, T, function=function, **params)
    y = forward(x)
    np.testing.assert_allclose(out.values["act"], y, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(out.input_grads["x"], derivative(x, y) * (y - T) / len(x), rtol=1e-12, atol=1e-300)


def test_unary_known_points():
    """erf(0) = 0 and erf' (0) = 2/sqrt(pi); gelu(0) = 0 with slope 1/2; softplus(0) = log 2; clip with one
    bound leaves the other side alone; log_softmax of equal values is -log(size)."""
    zero = np.zeros((1, 1))
    erf = activation(zero, -np.ones((1, 1)), function="erf")
    assert erf.values["act"][0, 0] == 0.0 and erf.input_grads["x"][0, 0] == pytest.approx(2 / np.sqrt(np.pi))
    gelu = activation(zero, -np.ones((1, 1)), function="gelu")
    assert gelu.values["act"][0, 0] == 0.0 and gelu.input_grads["x"][0, 0] == 0.5
    assert activation(zero, zero, function="softplus").values["act"][0, 0] == pytest.approx(np.log(2), rel=1e-15)
    clipped = activation(np.array([[-5.0, 5.0]]), np.zeros((1, 2)), function="clip", max=2.0)
    assert clipped.values["act"].tolist() == [[-5.0, 2.0]]
    assert clipped.input_grads["x"].tolist() == [[-5.0, 0.0]]  # dy = y - t passes below the bound only
    flat = activation(np.zeros((1, 4)), np.zeros((1, 4)), function="log_softmax")
    np.testing.assert_allclose(flat.values["act"], np.full((1, 4), -np.log(4)), rtol=1e-15)


def test_gelu_exact_and_tanh_approximation():
    from scipy.special import erf

    out = activation(X, T, function="gelu")
    phi = 0.5 * (1 + erf(X / np.sqrt(2)))
    np.testing.assert_allclose(out.values["act"], X * phi, rtol=1e-14)
    pdf = np.exp(-X * X / 2) / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(out.input_grads["x"], (phi + X * pdf) * (X * phi - T) / len(X), rtol=1e-12)
    approximate = activation(X, T, function="gelu", approximate="tanh").values["act"]
    u = np.sqrt(2 / np.pi) * (X + 0.044715 * X ** 3)
    np.testing.assert_allclose(approximate, 0.5 * X * (1 + np.tanh(u)), rtol=1e-14)
    assert np.abs(approximate - X * phi).max() < 1e-3


@pytest.mark.parametrize("axis", sorted(SOFTMAX_CASES))
def test_log_softmax_along_an_axis(axis):
    x, t = SOFTMAX_CASES[axis]
    out = activation(x, t, function="log_softmax", axis=axis)
    y = np.log(softmax(x, axis=axis))
    np.testing.assert_allclose(out.values["act"], y, rtol=1e-13)
    dy = (y - t) / len(x)
    np.testing.assert_allclose(out.input_grads["x"], dy - np.exp(y) * dy.sum(axis=axis, keepdims=True), rtol=1e-12,
                               atol=1e-16)


def test_functions_outside_the_contract_examples_pass_the_gradient_check():
    """log and sqrt need positive inputs and gelu exports as its formula, so the registry-wide contract
    examples leave them out: their gradients are checked here, at op level, against central differences."""
    from graphnn import ops
    from tests.gradcheck import check_op_gradients

    for params, x in (({"function": "log"}, POSITIVE), ({"function": "sqrt"}, POSITIVE),
                      ({"function": "gelu"}, X), ({"function": "gelu", "approximate": "tanh"}, X)):
        op = ops.get("activation")("act", params, [x.shape[1:]])
        assert check_op_gradients(op, {}, [x.copy()]) == x.size, params


def test_large_inputs_stay_finite_in_the_new_functions():
    x = np.array([[-800.0, 800.0, 0.0]])
    for function in ("softplus", "elu", "selu", "log_softmax", "gelu", "erf"):
        out = activation(x, np.zeros((1, 3)), function=function)
        assert np.isfinite(out.values["act"]).all() and np.isfinite(out.input_grads["x"]).all(), function
    assert activation(x, x, function="softplus").values["act"].tolist() == [[0.0, 800.0, np.log(2)]]


@pytest.mark.parametrize("function", ["neg", "abs", "exp", "log", "sqrt", "elu", "selu", "softplus", "erf",
                                      "gelu", "gelu_tanh", "clip", "log_softmax"])
def test_unary_functions_match_torch(function):
    torch = torch_or_skip()
    F = torch.nn.functional
    x = POSITIVE if function in ("log", "sqrt") else X + 0.125
    params = {"gelu_tanh": {"approximate": "tanh"}, "clip": {"min": -0.5, "max": 1.0},
              "elu": {"alpha": 0.7}}.get(function, {})
    out = activation(x, T, function="gelu" if function == "gelu_tanh" else function, **params)
    tx = torch.tensor(x, requires_grad=True)
    ty = {"neg": torch.neg, "abs": torch.abs, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
          "elu": lambda a: F.elu(a, 0.7), "selu": F.selu, "softplus": F.softplus, "erf": torch.erf,
          "gelu": F.gelu, "gelu_tanh": lambda a: F.gelu(a, approximate="tanh"),
          "clip": lambda a: torch.clamp(a, -0.5, 1.0), "log_softmax": lambda a: F.log_softmax(a, dim=1)}[function](tx)
    (((ty - torch.tensor(T)) ** 2).sum() / (2 * len(x))).backward()
    np.testing.assert_allclose(out.values["act"], ty.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_with_min_above_max_gives_max_as_onnx():
    out = activation(X, np.zeros_like(X), function="clip", min=2.0, max=1.0)
    np.testing.assert_array_equal(out.values["act"], np.ones_like(X))
    np.testing.assert_array_equal(out.input_grads["x"], np.zeros_like(X))


def test_softmax_parts_shift_by_exactly_the_row_maxima():
    """The row maxima of a matrix come from argmax (faster than max along a short axis): the same values,
    ties, infinities and NaN included, for float32 and float64, against max along any axis."""
    from graphnn.ops.activation import softmax_parts

    rng = np.random.default_rng(4)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal((50, 7)).astype(dtype)
        x[3, [1, 4]] = x[3].max() + 1  # a tie
        x[5, 2], x[6, :] = np.nan, -np.inf
        x[7, 0] = np.inf
        for matrix, axis in ((x, 1), (x, -1), (x, 0), (x.T, 1), (x.reshape(5, 10, 7), 2)):
            with np.errstate(invalid="ignore"):
                _, _, shifted = softmax_parts(matrix, axis)
                expected = matrix - matrix.max(axis=axis, keepdims=True)
            np.testing.assert_array_equal(shifted, expected)
            assert shifted.dtype == dtype
