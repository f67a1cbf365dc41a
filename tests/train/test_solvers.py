"""Solver updates against hand-computed values, and the flat-buffer update against the per-weight formulas
bit for bit."""

import math

import numpy as np
import pytest

from graphnn.errors import SchemaError
from graphnn.model.builder import Graph
from graphnn.model.schema import SOLVER, with_defaults
from graphnn.params import ParameterStore
from graphnn.train import solvers
from graphnn.train.solvers import Solver


def fc_plan(**node_params):
    g = Graph("s")
    x = g.data("x", [2])
    y = g.data("y", [], field="y")
    g.loss(g.node("fc", [x], "fc", units=1, **node_params), y, "least_squares")
    return g.build().plan


def fc_store(plan=None, dtype="float64"):
    """A store with the one-node plan's weights W = [[1], [-2]], b = [0.5]."""
    store = ParameterStore(plan or fc_plan(), dtype)
    store.weights["fc"]["W"][...] = [[1.0], [-2.0]]
    store.weights["fc"]["b"][...] = [0.5]
    return store


def set_grads(store, W=((0.1,), (0.2,)), b=(0.3,)):
    store.grads["fc"]["W"][...] = W
    store.grads["fc"]["b"][...] = b


def test_sgd_momentum_and_decay_exactly_as_caffe():
    store = fc_store()
    solver = Solver({"type": "sgd", "momentum": 0.9, "weight_decay": 0.01}, store)
    w = store.weights
    set_grads(store)
    solver.step(lr=0.1)
    # v = 0.1 * (g + 0.01 w); biases are not decayed
    np.testing.assert_allclose(w["fc"]["W"], [[1 - 0.1 * 0.11], [-2 - 0.1 * 0.18]])
    np.testing.assert_allclose(w["fc"]["b"], [0.5 - 0.03])
    v_w = solver.state["fc"]["W"]["v"].copy()
    solver.step(lr=0.1)
    expected_v = 0.9 * v_w + 0.1 * (np.array([[0.1], [0.2]]) + 0.01 * np.array([[1 - 0.011], [-2 - 0.018]]))
    np.testing.assert_allclose(solver.state["fc"]["W"]["v"], expected_v)


def test_decay_biases_and_multipliers():
    store = fc_store(fc_plan(lr_mult=2.0, decay_mult=0.5))
    solver = Solver({"type": "sgd", "weight_decay": 0.1, "decay_biases": True}, store)
    set_grads(store)
    solver.step(lr=0.1)
    # lr 0.1 * 2, decay 0.1 * 0.5
    np.testing.assert_allclose(store.weights["fc"]["W"], [[1 - 0.2 * (0.1 + 0.05)], [-2 - 0.2 * (0.2 - 0.1)]])
    np.testing.assert_allclose(store.weights["fc"]["b"], [0.5 - 0.2 * (0.3 + 0.025)])


def test_nesterov_matches_caffe_update():
    store = fc_store()
    solver = Solver({"type": "nesterov", "momentum": 0.5}, store)
    set_grads(store)
    solver.step(lr=1.0)  # v = g; w -= 1.5 v
    np.testing.assert_allclose(store.weights["fc"]["b"], [0.5 - 1.5 * 0.3])
    solver.step(lr=1.0)  # v' = 0.5 g + g = 1.5 g; w -= 1.5 v' - 0.5 v
    np.testing.assert_allclose(store.weights["fc"]["b"], [0.5 - 0.45 - (1.5 * 0.45 - 0.5 * 0.3)])


def test_adam_first_steps():
    store = fc_store()
    solver = Solver({"type": "adam"}, store)
    set_grads(store)
    solver.step(lr=0.01)
    # after one step the bias-corrected update is lr * g / (|g| + eps) = lr * sign(g)
    np.testing.assert_allclose(store.weights["fc"]["W"], [[1 - 0.01], [-2 - 0.01]], rtol=1e-6)
    set_grads(store, b=(-0.3,))
    solver.step(lr=0.01)
    m = 0.9 * 0.1 * 0.3 + 0.1 * -0.3
    s = 0.999 * 0.001 * 0.09 + 0.001 * 0.09
    update = 0.01 * np.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2) * m / (np.sqrt(s) + 1e-8)
    np.testing.assert_allclose(store.weights["fc"]["b"], [0.5 - 0.01 - update], rtol=1e-6)


def test_adam_takes_caffes_names_and_refuses_two_values_for_one_setting():
    caffe = Solver({"type": "adam", "momentum": 0.8, "momentum2": 0.99, "delta": 1e-6}, fc_store()).rule
    ours = Solver({"type": "adam", "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6}, fc_store()).rule
    assert (caffe.beta1, caffe.beta2, caffe.epsilon) == (ours.beta1, ours.beta2, ours.epsilon) == (0.8, 0.99, 1e-6)
    with pytest.raises(SchemaError) as raised:
        Solver({"type": "adam", "momentum": 0.9, "beta1": 0.8}, fc_store())
    assert raised.value.path == "/train/solver/momentum"
    assert "beta1" in str(raised.value) and "0.9" in str(raised.value) and "\n" not in str(raised.value)
    assert Solver({"type": "adam", "momentum": 0.0}, fc_store()).rule.beta1 == 0.9  # the schema's default


def test_gradient_clipping_by_global_norm():
    store = fc_store()
    solver = Solver({"type": "sgd", "clip_gradients": 0.1}, store)
    set_grads(store)
    norm = np.sqrt(0.1 ** 2 + 0.2 ** 2 + 0.3 ** 2)
    solver.step(lr=1.0)
    np.testing.assert_allclose(store.weights["fc"]["b"], [0.5 - 0.3 * 0.1 / norm])


@pytest.mark.parametrize("kind", ["sgd", "nesterov", "adam"])
def test_solvers_minimise_a_quadratic(kind):
    store = fc_store()
    solver = Solver({"type": kind} | ({"momentum": 0.5} if kind != "adam" else {}), store)
    for _ in range(300):
        np.multiply(store.weight_flat, 2, out=store.grad_flat)
        solver.step(lr=0.05)
    assert np.abs(store.weights["fc"]["W"]).max() < 1e-2


# --- the flat update is the per-weight update, bit for bit ------------------------------------------

def three_layer_plan():
    """fc1 (lr_mult 2, decay_mult 0.5) -> fc2 -> fc3 (lr_mult 0), and a dead-end fc no loss depends on."""
    g = Graph("flat")
    x = g.data("x", [5])
    h = g.node("activation", [g.node("fc", [x], "fc1", units=4, lr_mult=2.0, decay_mult=0.5)], "act1",
               function="tanh")
    h = g.node("activation", [g.node("fc", [h], "fc2", units=3)], "act2", function="tanh")
    g.node("fc", [h], "unused", units=2)
    g.loss(g.node("fc", [h], "fc3", units=2, lr_mult=0.0), g.data("y", [], field="y"))
    return g.build().plan


def per_weight_update(kind, settings, w, g, slots, lr, decay, clip, t):
    """One weight's update written out as the docstring's formulas, in the order the operations run."""
    settings = with_defaults(settings, SOLVER)
    g = g * clip if clip != 1.0 else g.copy()
    if decay:
        g += decay * w
    momentum = settings["momentum"]
    if kind == "sgd":
        slots["v"] *= momentum
        slots["v"] += g * lr
        w -= slots["v"]
    elif kind == "nesterov":
        w += momentum * slots["v"]
        slots["v"] *= momentum
        slots["v"] += g * lr
        w -= (1 + momentum) * slots["v"]
    else:
        b1, b2 = settings["beta1"], settings["beta2"]
        slots["m"] *= b1
        slots["m"] += (1 - b1) * g
        slots["s"] *= b2
        slots["s"] += (1 - b2) * (g * g)
        correction = math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        w -= (lr * correction) * slots["m"] / (np.sqrt(slots["s"]) + settings["epsilon"])


@pytest.mark.parametrize("settings", [
    {"type": "sgd", "momentum": 0.9, "weight_decay": 0.01},
    {"type": "sgd", "momentum": 0.9, "weight_decay": 0.01, "decay_biases": True, "clip_gradients": 0.5},
    {"type": "nesterov", "momentum": 0.8, "weight_decay": 0.001},
    {"type": "adam", "weight_decay": 0.0005, "beta1": 0.8},
])
@pytest.mark.parametrize("block", [solvers.BLOCK, 7])
def test_flat_update_equals_the_per_weight_formulas_bit_for_bit(settings, block, monkeypatch):
    monkeypatch.setattr(solvers, "BLOCK", block)  # 7: runs split into blocks that straddle weights
    plan = three_layer_plan()
    store = ParameterStore(plan, "float32")
    rng = np.random.default_rng(0)
    store.weight_flat[...] = rng.normal(size=store.size)
    reference = {node: {name: array.copy() for name, array in arrays.items()} for node, arrays in store.weights.items()}
    slots = {node: {name: {slot: np.zeros_like(array) for slot in solvers.SLOTS[settings["type"]]}
                    for name, array in arrays.items()} for node, arrays in store.weights.items()}
    solver = Solver(settings, store)
    for t in range(1, 4):
        store.grad_flat[...] = rng.normal(size=store.size)
        for name in store.grads["unused"]:
            store.grads["unused"][name][...] = 0  # backward never reaches it: its gradient stays zero
        grads_before = store.grad_flat.copy()
        clip = solver.clip_factor()
        solver.step(lr=0.1)
        np.testing.assert_array_equal(store.grad_flat, grads_before)  # the solver leaves gradients alone
        for step in plan.steps:
            if step.name == "unused" or not step.weight_shapes:
                continue
            for name, w in reference[step.name].items():
                decayed = name in step.op.decayed_weights or settings.get("decay_biases", False)
                lr_mult, decay_mult = step.op.multipliers[name]
                decay = settings["weight_decay"] * decay_mult if decayed else 0.0
                per_weight_update(settings["type"], settings, w, store.grads[step.name][name],
                                  slots[step.name][name], 0.1 * lr_mult, decay, clip, t)
        for node, arrays in reference.items():
            for name, w in arrays.items():
                np.testing.assert_array_equal(store.weights[node][name], w, err_msg=f"{node}/{name} step {t}")
    assert "unused" not in solver.state  # no slots for a weight that gets no gradient


def test_clip_factor_is_the_global_norm():
    store = ParameterStore(three_layer_plan(), "float64")
    store.grad_flat[...] = np.random.default_rng(1).normal(size=store.size)
    solver = Solver({"type": "sgd", "clip_gradients": 0.5}, store)
    norm = math.sqrt(sum(float(np.vdot(g, g)) for arrays in store.grads.values() for g in arrays.values()))
    assert solver.clip_factor() == pytest.approx(0.5 / norm, rel=1e-12)


def test_state_dict_round_trip_continues_bit_for_bit():
    plan = three_layer_plan()
    rng = np.random.default_rng(2)
    gradients = [rng.normal(size=ParameterStore(plan, "float32").size) for _ in range(6)]
    settings = {"type": "adam", "weight_decay": 0.001}

    def trained(steps, start=None):
        store = ParameterStore(plan, "float32")
        store.weight_flat[...] = 0.5
        solver = Solver(settings, store)
        assert solver.state_dict() == {"t": 0, "slots": {}}  # nothing remembered before the first update
        if start is not None:
            store.weight_flat[...] = start[0]
            solver.load_state_dict(start[1])
        for g in gradients[solver.t:steps]:
            store.grad_flat[...] = g
            solver.step(lr=0.01)
        return store, solver

    full, _ = trained(6)
    half_store, half_solver = trained(3)
    state = half_solver.state_dict()
    assert state["t"] == 3 and set(state["slots"]["fc1"]["W"]) == {"m", "s"}
    saved = (half_store.weight_flat.copy(), {"t": state["t"], "slots": {
        node: {name: {slot: array.copy() for slot, array in slots.items()} for name, slots in weights.items()}
        for node, weights in state["slots"].items()}})
    resumed, _ = trained(6, saved)
    np.testing.assert_array_equal(resumed.weight_flat, full.weight_flat)


def test_a_run_with_adagrad_and_momentum_stops_at_once_naming_the_file(tmp_path):
    from graphnn.model import load_model
    from graphnn.train.run import Run
    from tests.helpers import write_data, write_model

    path = write_model(tmp_path, write_data(tmp_path), solver={"type": "adagrad", "momentum": 0.9})
    with pytest.raises(SchemaError) as raised:
        Run(load_model(path))
    assert raised.value.file == str(path) and raised.value.path == "/train/solver/momentum"
