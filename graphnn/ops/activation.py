"""Element-wise activations and unary functions (and softmax), stable for large |x|.   x: (N, ...) -> y: same shape.

- sigmoid:     y = 1 / (1 + e^-x) = (1 + tanh(x/2)) / 2          dy/dx = y (1 - y)
- tanh:        y = tanh(x)                                       dy/dx = 1 - y^2
- relu:        y = max(x, 0)                                     dy/dx = 1 if x >= 0 else 0  (1 at x = 0)
- leaky_relu:  y = x if x >= 0 else a x                          dy/dx = 1 if x >= 0 else a
- elu:         y = x if x > 0 else alpha (e^x - 1)               dy/dx = 1 if x > 0 else y + alpha
- selu:        y = gamma (x if x > 0 else alpha (e^x - 1))       dy/dx = gamma if x > 0 else y + gamma alpha
- softplus:    y = log(1 + e^x) = max(x, 0) + log(1 + e^-|x|)   dy/dx = sigmoid(x)
- gelu:        y = x Phi(x) = x (1 + erf(x / sqrt 2)) / 2        dy/dx = Phi(x) + x phi(x)
               (approximate "tanh": y = x (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3))
- erf:         y = erf(x)                                        dy/dx = 2 / sqrt(pi) e^(-x^2)
- neg, abs:    y = -x, |x|                                       dy/dx = -1, sign(x)
- exp, log:    y = e^x, log x (x > 0)                            dy/dx = y, 1 / x
- sqrt:        y = sqrt(x) (x >= 0)                              dy/dx = 1 / (2 y)
- clip:        y = min(max(x, min), max) (absent bound: none)    dy/dx = 1 if min <= x <= max else 0
               (min > max gives max everywhere, as ONNX's Clip)
- softmax:     y_i = e^(x_i - max x) / sum_j e^(x_j - max x)  along ``axis``;  dx = y (dy - sum(dy y))
- log_softmax: y = x - max x - log sum e^(x - max x)  along ``axis``;         dx = dy - e^y sum(dy)
- identity:    y = x

Each function is one row of ``FUNCTIONS``: its forward (x -> y and what backward needs), its backward,
its FLOPs per element and its ONNX form; ``IN_PLACE`` holds the forwards that inference may run in their
input's array (relu, tanh, sigmoid, identity: the same bits; see ``Op.overwritable``). ``softmax`` and ``softmax_parts`` below are graphnn's one
softmax: the loss and ``graphnn predict`` use them too.
ONNX: Sigmoid, Tanh, Relu, LeakyRelu(alpha), Elu(alpha), Selu(alpha, gamma), Softplus, Erf, Neg, Abs, Exp,
Log, Sqrt, Clip(x, min, max), Softmax(axis), LogSoftmax(axis), Identity; gelu as its formula in Div, Erf,
Add and Mul (ONNX's Gelu needs opset 20), imported from Gelu.
"""

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.onnx_hooks import optional_input, plain_float
from graphnn.ops.registry import register

SELU_ALPHA, SELU_GAMMA = 1.6732632423543772, 1.0507009873554805  # Klambauer et al.; PyTorch's and ONNX's
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def softmax_parts(x, axis):
    """(e, total, shifted): shifted = x - max x and e = exp(shifted), along ``axis``, and total = sum e
    (keepdims, in [1, size]). softmax = e / total and log softmax = shifted - log(total), from one exp."""
    shifted = x - _maxima(x, axis)
    e = np.exp(shifted)
    return e, e.sum(axis=axis, keepdims=True), shifted


def _maxima(x, axis):
    """x.max(axis, keepdims=True). For rows of a C-contiguous matrix, the entries ``argmax`` picks (the
    first maximum, a NaN where one is): the same values, and several times faster than NumPy's ``max``
    along a short last axis (100 rows of 10: 3 against 10 us)."""
    if x.ndim != 2 or axis not in (1, -1) or not x.flags.c_contiguous or x.size == 0:
        return x.max(axis=axis, keepdims=True)
    index = x.argmax(axis=1)
    index += np.arange(0, x.size, x.shape[1])
    return x.take(index)[:, None]


def softmax(x, axis=1):
    """y = e^(x - max x) / sum e^(x - max x) along ``axis``."""
    e, total, _ = softmax_parts(x, axis)
    e /= total
    return e


def erf(x):
    from scipy.special import erf as scipy_erf  # imported on first use: `graphnn --help` stays quick

    return scipy_erf(x)


class Function(NamedTuple):
    forward: Callable  # (x, params) -> (y, cache)
    backward: Callable  # (dy, cache, params) -> dx
    flops: int  # per element
    onnx: str  # the ONNX op type (attributes: onnx_attributes)


def _sigmoid(x, p):
    y = np.tanh(x * 0.5)
    y += 1.0
    y *= 0.5
    return y, y


def _sigmoid_grad(dy, y, p):  # dy * y * (1 - y), one temporary fewer than written out
    dx = dy * y
    dx *= 1 - y
    return dx


def _tanh(x, p):
    y = np.tanh(x)
    return y, y


def _tanh_grad(dy, y, p):  # dy * (1 - y^2)
    dx = y * y
    np.subtract(1, dx, out=dx)
    dx *= dy
    return dx


def _leaky_relu(x, p):
    negative = x < 0
    return np.where(negative, x * p["negative_slope"], x), negative


def _elu(x, p, alpha=None, scale=1.0):
    """scale * (x if x > 0 else alpha (e^x - 1)); the cache: (positive, y)."""
    alpha = p.get("alpha", 1.0) if alpha is None else alpha
    positive = x > 0
    y = np.where(positive, x, np.expm1(np.minimum(x, 0)) * alpha)
    if scale != 1.0:
        y *= scale
    return y, (positive, y, alpha * scale, scale)


def _elu_grad(dy, cache, p):
    positive, y, negative_offset, scale = cache
    return dy * np.where(positive, scale, y + negative_offset)


def _selu(x, p):
    return _elu(x, p, p.get("alpha", SELU_ALPHA), p.get("gamma", SELU_GAMMA))


def _softplus(x, p):
    y = np.log1p(np.exp(-np.abs(x)))
    y += np.maximum(x, 0)
    return y, x


def _softplus_grad(dy, x, p):
    return dy * _sigmoid(x, p)[0]


def _gelu(x, p):
    if p["approximate"] == "tanh":
        t = np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x ** 3))
        return 0.5 * x * (1 + t), (x, t)
    phi = 0.5 * (1 + erf(x * (1 / math.sqrt(2))))  # Phi(x), the normal distribution function
    return x * phi, (x, phi)


def _gelu_grad(dy, cache, p):
    x, t = cache
    if p["approximate"] == "tanh":
        du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)
    return dy * (t + x * np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi)))


def _clip(x, p):
    low, high = p.get("min", -np.inf), p.get("max", np.inf)
    return np.clip(x, low, high), (x >= low) & (x <= high)


def _log_softmax(x, p):
    _, total, shifted = softmax_parts(x, p["axis"])
    y = shifted - np.log(total)
    return y, y


def _log_softmax_grad(dy, y, p):
    return dy - np.exp(y) * dy.sum(axis=p["axis"], keepdims=True)


def _softmax(x, p):
    y = softmax(x, p["axis"])
    return y, y


def _softmax_grad(dy, y, p):
    return y * (dy - (dy * y).sum(axis=p["axis"], keepdims=True))


def _sqrt(x, p):
    y = np.sqrt(x)
    return y, y


FUNCTIONS = {
    "sigmoid": Function(_sigmoid, _sigmoid_grad, 4, "Sigmoid"),
    "tanh": Function(_tanh, _tanh_grad, 4, "Tanh"),
    "relu": Function(lambda x, p: (np.maximum(x, 0), x >= 0), lambda dy, mask, p: dy * mask, 1, "Relu"),
    "leaky_relu": Function(_leaky_relu, lambda dy, negative, p: np.where(negative, dy * p["negative_slope"], dy),
                           2, "LeakyRelu"),
    "softmax": Function(_softmax, _softmax_grad, 5, "Softmax"),
    "identity": Function(lambda x, p: (x, None), lambda dy, cache, p: dy, 0, "Identity"),
    "log_softmax": Function(_log_softmax, _log_softmax_grad, 5, "LogSoftmax"),
    "elu": Function(_elu, _elu_grad, 4, "Elu"),
    "selu": Function(_selu, _elu_grad, 5, "Selu"),
    "softplus": Function(_softplus, _softplus_grad, 5, "Softplus"),
    "gelu": Function(_gelu, _gelu_grad, 8, "Gelu"),
    "erf": Function(lambda x, p: (erf(x), x), lambda dy, x, p: dy * (2 / math.sqrt(math.pi)) * np.exp(-x * x), 4,
                    "Erf"),
    "neg": Function(lambda x, p: (-x, None), lambda dy, cache, p: -dy, 1, "Neg"),
    "abs": Function(lambda x, p: (np.abs(x), np.sign(x)), lambda dy, sign, p: dy * sign, 1, "Abs"),
    "exp": Function(lambda x, p: (np.exp(x),) * 2, lambda dy, y, p: dy * y, 2, "Exp"),
    "log": Function(lambda x, p: (np.log(x), x), lambda dy, x, p: dy / x, 2, "Log"),
    "sqrt": Function(_sqrt, lambda dy, y, p: dy / (2 * y), 2, "Sqrt"),
    "clip": Function(_clip, lambda dy, inside, p: dy * inside, 2, "Clip"),
}
def _sigmoid_in_place(x, p):  # the steps of _sigmoid, in x
    np.multiply(x, 0.5, out=x)
    np.tanh(x, out=x)
    x += 1.0
    x *= 0.5
    return x


IN_PLACE = {  # function -> (x, params) -> x holding the forward's y (the same bits), for inference
    "relu": lambda x, p: np.maximum(x, 0, out=x),
    "tanh": lambda x, p: np.tanh(x, out=x),
    "sigmoid": _sigmoid_in_place,
    "identity": lambda x, p: x,
}
AXIS_FUNCTIONS = ("softmax", "log_softmax")
ONNX = {function.onnx: name for name, function in FUNCTIONS.items()}


@register
class Activation(Op):
    name = "activation"
    params_schema = object_schema({
        "function": {"enum": list(FUNCTIONS)},
        "negative_slope": {"type": "number", "default": 0.01, "description": "Slope a of leaky_relu for x < 0."},
        "axis": {"type": "integer", "minimum": 1, "default": 1,
                 "description": "Softmax and log_softmax axis, counting the batch as axis 0."},
        "alpha": {"type": "number", "description": f"elu's alpha (default 1) or selu's (default {SELU_ALPHA})."},
        "gamma": {"type": "number", "description": f"selu's scale (default {SELU_GAMMA})."},
        "min": {"type": "number", "description": "clip's lower bound (default: none)."},
        "max": {"type": "number", "description": "clip's upper bound (default: none)."},
        "approximate": {"enum": ["none", "tanh"], "default": "none",
                        "description": 'gelu: exact ("none", with erf) or the tanh approximation.'},
    }, required=["function"])
    onnx_imports = ("LogSoftmax", "Elu", "Selu", "Softplus", "Gelu", "Erf", "Neg", "Abs", "Exp", "Log", "Sqrt",
                    "Clip")

    examples = tuple({"params": {"function": f}, "inputs": [(5,)]}
                     for f in FUNCTIONS if f not in ("log", "sqrt", "gelu")) + (  # log, sqrt: x > 0 (values tests)
        {"params": {"function": "softmax", "axis": 1}, "inputs": [(3, 2)]},
        {"params": {"function": "leaky_relu", "negative_slope": 0.2}, "inputs": [(2, 3)]},
        {"params": {"function": "log_softmax", "axis": 2}, "inputs": [(3, 4)]},
        {"params": {"function": "elu", "alpha": 0.5}, "inputs": [(2, 3)]},
        {"params": {"function": "selu", "alpha": 1.5, "gamma": 2.0}, "inputs": [(4,)]},
        {"params": {"function": "clip", "min": -0.5, "max": 0.75}, "inputs": [(2, 4)]},
        {"params": {"function": "clip", "max": 0.25}, "inputs": [(3,)]},
    )

    def infer_shape(self, in_shapes):
        (shape,) = in_shapes
        function = self.params["function"]
        if function in AXIS_FUNCTIONS and not 1 <= self.params["axis"] <= len(shape):
            raise ShapeError(f"{function} axis {self.params['axis']} does not exist in input shape {shape}")
        return shape

    def forward(self, weights, xs, ctx):
        (x,) = xs
        if ctx is not None and ctx.overwrite == 0 and x.dtype.kind == "f":
            return IN_PLACE[self.params["function"]](x, self.params), None
        return FUNCTIONS[self.params["function"]].forward(x, self.params)

    def overwritable(self):
        return (0,) if self.params["function"] in IN_PLACE else ()

    def in_place_function(self):
        function, params = IN_PLACE.get(self.params["function"]), self.params
        return None if function is None else lambda x: function(x, params)

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None]
        return [FUNCTIONS[self.params["function"]].backward(dy, cache, self.params)]

    def flops(self):
        return FUNCTIONS[self.params["function"]].flops * math.prod(self.out_shape)

    def export_onnx(self, emit, step):
        function, p, (x,) = self.params["function"], self.params, step.inputs
        if function == "gelu":
            return self.export_gelu(emit, step)
        attributes = {"leaky_relu": {"alpha": float(p["negative_slope"])},
                      "elu": {"alpha": float(p.get("alpha", 1.0))},
                      "selu": {"alpha": float(p.get("alpha", SELU_ALPHA)), "gamma": float(p.get("gamma", SELU_GAMMA))},
                      "softmax": {"axis": p["axis"]}, "log_softmax": {"axis": p["axis"]}}.get(function, {})
        inputs = [x]
        if function == "clip":
            inputs += [emit.constant(f"{step.name}.{key}", np.float32(p[key])) if key in p else ""
                       for key in ("min", "max")]
            while inputs[-1] == "":
                inputs.pop()
        emit.node(FUNCTIONS[function].onnx, inputs, step.name, step.name, **attributes)

    def export_gelu(self, emit, step):
        """x (1 + erf(x / sqrt 2)) / 2, or x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2."""
        (x,) = step.inputs

        def node(op_type, inputs, suffix=None):
            output = step.name if suffix is None else emit.fresh(f"{step.name}.{suffix}")
            emit.node(op_type, inputs, output, output)
            return output

        def number(key, value):
            return emit.constant(f"{step.name}.{key}", np.float32(value))

        if self.params["approximate"] == "tanh":
            cube = node("Mul", [node("Mul", [x, x], "square"), x], "cube")
            inner = node("Add", [x, node("Mul", [cube, number("c", 0.044715)], "scaled_cube")], "inner")
            curve = node("Tanh", [node("Mul", [inner, number("k", SQRT_2_OVER_PI)], "u")], "tanh")
        else:
            curve = node("Erf", [node("Div", [x, number("sqrt2", math.sqrt(2))], "scaled")], "erf")
        half = node("Mul", [x, number("half", 0.5)], "half_x")
        node("Mul", [half, node("Add", [curve, number("one", 1.0)], "one_plus")])

    @classmethod
    def import_onnx(cls, importer, node, a):
        x = importer.tensor(node, 0)
        function, params = ONNX[node.op_type], {}
        if function in AXIS_FUNCTIONS:
            params["axis"] = importer.axis(node, a, x, -1)
        elif function in ("elu", "selu"):
            params.update({key: plain_float(a[key]) for key in ("alpha", "gamma") if key in a})
        elif function == "gelu":
            params["approximate"] = a.get("approximate", "none")
        elif function == "clip":
            bounds = {"min": optional_input(importer, node, 1), "max": optional_input(importer, node, 2)}
            for key, value in bounds.items():
                value = a.get(key) if value is None else value
                if value is not None:
                    params[key] = plain_float(np.asarray(value).reshape(()))
        unknown = set(a) - {"axis", "alpha", "gamma", "approximate", "min", "max"}
        if unknown:
            importer.fail(f"attributes {', '.join(sorted(unknown))} are not supported by graphnn's {function}", node)
        importer.add(node, "activation", [x], function=function, **params)
