"""dropout through the public path (model document -> Network). Training: y = x * m / (1 - ratio), m a
0/1 mask with P(m = 1) = 1 - ratio, drawn from the generator passed to forward; dx = dy * m / (1 - ratio).
Evaluation (and ratio 0): y = x, dx = dy. The mask is read back from y (no x is 0), so no test depends
on how the mask is drawn."""

import numpy as np

from tests.ops.public_path import run, squared_error

X = np.random.default_rng(5).uniform(0.5, 2.0, (4, 500)) * np.where(np.arange(500) % 2, 1, -1)  # no zeros
T = np.full((4, 500), 0.25)


def dropout(x, train, seed=0, **params):
    nodes, feeds = squared_error("drop", T)
    node = {"name": "drop", "op": "dropout", "inputs": ["x"], **params}
    return run([node] + nodes, {"x": x}, feeds, train=train, seed=seed)


def test_training_drops_about_ratio_and_scales_the_rest():
    out = dropout(X, train=True, ratio=0.25)
    y = out.values["drop"]
    kept = y != 0
    assert abs(1 - kept.mean() - 0.25) < 0.05  # 2000 draws: 5 standard deviations is 0.048
    np.testing.assert_allclose(y[kept], X[kept] / 0.75, rtol=1e-15)
    dy = (y - T) / len(X)
    np.testing.assert_allclose(out.input_grads["x"], np.where(kept, dy / 0.75, 0.0), rtol=1e-15)


def test_the_mask_comes_from_the_generator():
    first, again = dropout(X, train=True, seed=1, ratio=0.5), dropout(X, train=True, seed=1, ratio=0.5)
    other = dropout(X, train=True, seed=2, ratio=0.5)
    np.testing.assert_array_equal(first.values["drop"], again.values["drop"])
    assert not np.array_equal(first.values["drop"] != 0, other.values["drop"] != 0)


def test_evaluation_and_ratio_zero_pass_values_and_gradients_through():
    for out in (dropout(X, train=False, ratio=0.25), dropout(X, train=True, ratio=0.0)):
        np.testing.assert_array_equal(out.values["drop"], X)
        np.testing.assert_allclose(out.input_grads["x"], (X - T) / len(X), rtol=1e-15)
