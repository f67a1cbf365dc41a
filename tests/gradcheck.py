"""Numerical gradient checking for ops, in float64, by central differences.

For an op with output y, the checked scalar is L = sum(y * R) for a fixed random R (for a loss, L = y).
Points where the one-sided differences disagree are kinks (relu at 0, max ties) and are skipped, as
Caffe's checker does.
"""

import numpy as np

from graphnn.ops.base import ForwardContext

BATCH = 3


def sample_inputs(op, in_shapes, rng, batch=BATCH):
    """Random float64 inputs; a loss's label is one-hot rows or class indices."""
    xs = [rng.normal(size=(batch,) + tuple(shape)) for shape in in_shapes]
    if op.is_loss:
        classes = in_shapes[0][0]
        indices = rng.integers(0, classes, size=batch)
        xs[1] = indices if in_shapes[1] == () else np.eye(classes)[indices]
    return xs


def differentiable(op, xs):
    return [i for i, x in enumerate(xs) if not (op.is_loss and i == 1) and x.dtype.kind == "f"]


def run_backward(op, weights, cache, dy, needs=None):
    """(dxs, grads) of ``op.backward`` with every input's gradient asked for (unless ``needs`` says
    otherwise) and fresh arrays for the weight gradients it writes."""
    grads = {key: np.full_like(weight, np.nan) for key, weight in weights.items()}  # NaN: unwritten shows
    needs = (True,) * len(op.in_shapes) if needs is None else needs
    return op.backward(weights, cache, dy, needs, grads), grads


def run_forward(op, weights, xs, state):
    ctx = ForwardContext(train=True, rng=np.random.default_rng(7), state={k: v.copy() for k, v in state.items()})
    return op.forward(weights, xs, ctx)


def numerical_gradient(f, array, eps=1e-6):
    """d f / d array by central differences, with NaN where the point is a kink."""
    grad = np.empty_like(array)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        up = f()
        flat[i] = original - eps
        down = f()
        flat[i] = original
        mid = f()
        right, left = (up - mid) / eps, (mid - down) / eps
        kink = abs(right - left) > 1e-3 * max(1.0, abs(right) + abs(left))
        out[i] = np.nan if kink else (up - down) / (2 * eps)
    return grad


def check_op_gradients(op, weights, xs, state=None, rtol=1e-5, atol=1e-7):
    """Assert backward's input and weight gradients match central differences; returns checked counts."""
    state = state or {}
    y, cache = run_forward(op, weights, xs, state)
    projection = np.random.default_rng(1).normal(size=np.shape(y))

    def scalar():
        value, _ = run_forward(op, weights, xs, state)
        return float(np.sum(value * projection))

    dxs, grads = run_backward(op, weights, cache, projection)
    checked = 0
    for i in differentiable(op, xs):
        expected = numerical_gradient(scalar, xs[i])
        mask = ~np.isnan(expected)
        np.testing.assert_allclose(np.asarray(dxs[i])[mask], expected[mask], rtol=rtol, atol=atol,
                                   err_msg=f"{op.name}: gradient of input {i}")
        checked += mask.sum()
    for key, weight in weights.items():
        expected = numerical_gradient(scalar, weight)
        mask = ~np.isnan(expected)
        np.testing.assert_allclose(grads[key][mask], expected[mask], rtol=rtol, atol=atol,
                                   err_msg=f"{op.name}: gradient of weight {key}")
        checked += mask.sum()
    return checked
