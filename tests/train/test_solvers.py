"""Solver updates against hand-computed values, on a one-node plan."""

import numpy as np
import pytest

from graphnn.model.builder import Graph
from graphnn.train.solvers import Solver


def fc_plan(**node_params):
    g = Graph("s")
    x = g.data("x", [2])
    y = g.data("y", [], field="y")
    g.loss(g.fc(x, 1, name="fc", **node_params), y, "least_squares")
    return g.build().plan


def weights():
    return {"fc": {"W": np.array([[1.0], [-2.0]]), "b": np.array([0.5])}}


def grads():
    return {"fc": {"W": np.array([[0.1], [0.2]]), "b": np.array([0.3])}}


def test_sgd_momentum_and_decay_exactly_as_caffe():
    solver = Solver({"type": "sgd", "momentum": 0.9, "weight_decay": 0.01}, fc_plan())
    w = weights()
    solver.step(w, grads(), lr=0.1)
    # v = 0.1 * (g + 0.01 w); biases are not decayed
    np.testing.assert_allclose(w["fc"]["W"], [[1 - 0.1 * 0.11], [-2 - 0.1 * 0.18]])
    np.testing.assert_allclose(w["fc"]["b"], [0.5 - 0.03])
    v_w = solver.state["fc"]["W"]["v"].copy()
    solver.step(w, grads(), lr=0.1)
    expected_v = 0.9 * v_w + 0.1 * (np.array([[0.1], [0.2]]) + 0.01 * np.array([[1 - 0.011], [-2 - 0.018]]))
    np.testing.assert_allclose(solver.state["fc"]["W"]["v"], expected_v)


def test_decay_biases_and_multipliers():
    solver = Solver({"type": "sgd", "weight_decay": 0.1, "decay_biases": True}, fc_plan(lr_mult=2.0, decay_mult=0.5))
    w = weights()
    solver.step(w, grads(), lr=0.1)
    # lr 0.1 * 2, decay 0.1 * 0.5
    np.testing.assert_allclose(w["fc"]["W"], [[1 - 0.2 * (0.1 + 0.05)], [-2 - 0.2 * (0.2 - 0.1)]])
    np.testing.assert_allclose(w["fc"]["b"], [0.5 - 0.2 * (0.3 + 0.025)])


def test_nesterov_matches_caffe_update():
    solver = Solver({"type": "nesterov", "momentum": 0.5}, fc_plan())
    w = weights()
    solver.step(w, grads(), lr=1.0)  # v = g; w -= 1.5 v
    np.testing.assert_allclose(w["fc"]["b"], [0.5 - 1.5 * 0.3])
    solver.step(w, grads(), lr=1.0)  # v' = 0.5 g + g = 1.5 g; w -= 1.5 v' - 0.5 v
    np.testing.assert_allclose(w["fc"]["b"], [0.5 - 0.45 - (1.5 * 0.45 - 0.5 * 0.3)])


def test_adam_first_steps():
    solver = Solver({"type": "adam"}, fc_plan())
    w = weights()
    solver.step(w, grads(), lr=0.01)
    # after one step the bias-corrected update is lr * g / (|g| + eps) = lr * sign(g)
    np.testing.assert_allclose(w["fc"]["W"], [[1 - 0.01], [-2 - 0.01]], rtol=1e-6)
    solver.step(w, {"fc": {"W": np.array([[0.1], [0.2]]), "b": np.array([-0.3])}}, lr=0.01)
    m = 0.9 * 0.1 * 0.3 + 0.1 * -0.3
    s = 0.999 * 0.001 * 0.09 + 0.001 * 0.09
    update = 0.01 * np.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2) * m / (np.sqrt(s) + 1e-8)
    np.testing.assert_allclose(w["fc"]["b"], [0.5 - 0.01 - update], rtol=1e-6)


def test_gradient_clipping_by_global_norm():
    solver = Solver({"type": "sgd", "clip_gradients": 0.1}, fc_plan())
    w = weights()
    g = grads()
    norm = np.sqrt(0.1 ** 2 + 0.2 ** 2 + 0.3 ** 2)
    solver.step(w, g, lr=1.0)
    np.testing.assert_allclose(w["fc"]["b"], [0.5 - 0.3 * 0.1 / norm])


@pytest.mark.parametrize("kind", ["sgd", "nesterov", "adam"])
def test_solvers_minimise_a_quadratic(kind):
    solver = Solver({"type": kind, "momentum": 0.5}, fc_plan())
    w = weights()
    for _ in range(300):
        solver.step(w, {"fc": {name: 2 * value.copy() for name, value in w["fc"].items()}}, lr=0.05)
    assert np.abs(w["fc"]["W"]).max() < 1e-2
