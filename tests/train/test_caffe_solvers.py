"""Each solver against a NumPy transcription of Caffe's update (SGDSolver::ApplyUpdate: ClipGradients, then per
learnable blob Normalize, Regularize and ComputeUpdateValue, then Net::Update), step by step on random
gradients, with weight decay (L2 and L1), per-weight lr_mult and decay_mult, clipping and iter_size."""

import math

import numpy as np
import pytest

from graphnn.errors import SchemaError
from graphnn.model.builder import Graph
from graphnn.model.schema import SOLVER, SOLVER_TYPES, with_defaults
from graphnn.params import ParameterStore
from graphnn.train import solvers
from graphnn.train.solvers import Solver


def caffe_plan():
    """fc1 (W: lr_mult 2, decay_mult 0.5; b: lr_mult 1, decay_mult 0) -> tanh -> fc2 (lr_mult 0.5) -> loss."""
    g = Graph("caffe")
    x = g.data("x", [5])
    h = g.node("fc", [x], "fc1", units=4, lr_mult={"W": 2.0, "b": 1.0}, decay_mult={"W": 0.5, "b": 0.0})
    h = g.node("activation", [h], "act", function="tanh")
    g.loss(g.node("fc", [h], "fc2", units=3, lr_mult=0.5), g.data("y", [], field="y"))
    return g.build().plan


class CaffeTranscription:
    """Caffe's solvers written out per learnable blob, in the order Caffe's CPU code runs its operations
    (caffe_cpu_axpby(a, x, b, y) is y = a x + b y)."""

    def __init__(self, settings, blobs):
        self.p = with_defaults(settings, SOLVER)
        self.blobs = blobs  # [(w, lr_mult, decay_mult)]
        self.history = [np.zeros_like(w) for w, _, _ in blobs]
        self.history2 = [np.zeros_like(w) for w, _, _ in blobs]  # adadelta's and adam's second history
        self.iter = 0

    def apply_update(self, diffs, rate):
        p = self.p
        clip = p.get("clip_gradients")
        if clip is not None:  # ClipGradients, on the accumulated (not yet normalized) gradients
            norm = math.sqrt(sum(float(np.sum(d.astype(np.float64) ** 2)) for d in diffs))
            if norm > clip:
                diffs = [d * (clip / norm) for d in diffs]
        for i, ((w, lr_mult, decay_mult), diff) in enumerate(zip(self.blobs, diffs)):
            if p["iter_size"] != 1:  # Normalize
                diff = diff * (1 / p["iter_size"])
            local_decay = p["weight_decay"] * decay_mult  # Regularize
            if local_decay:
                diff = diff + local_decay * (np.sign(w) if p["regularization_type"] == "L1" else w)
            w -= self.update_value(i, diff, rate * lr_mult)  # ComputeUpdateValue, then Blob::Update
        self.iter += 1

    def update_value(self, i, g, local_rate):
        p, h, h2 = self.p, self.history, self.history2
        kind, momentum, delta = p["type"], p["momentum"], p["delta"]
        if kind == "sgd":
            h[i][...] = local_rate * g + momentum * h[i]
            return h[i].copy()
        if kind == "nesterov":
            before = h[i].copy()
            h[i][...] = local_rate * g + momentum * h[i]
            return (1 + momentum) * h[i] + (-momentum) * before
        if kind == "adagrad":
            h[i] += g ** 2
            return local_rate * (g / (np.sqrt(h[i]) + delta))
        if kind == "rmsprop":
            h[i][...] = (1 - p["rms_decay"]) * g ** 2 + p["rms_decay"] * h[i]
            return local_rate * (g / (np.sqrt(h[i]) + delta))
        if kind == "adadelta":
            h[i][...] = (1 - momentum) * g ** 2 + momentum * h[i]
            g = g * np.sqrt((delta + h2[i]) / (delta + h[i]))
            h2[i][...] = (1 - momentum) * g ** 2 + momentum * h2[i]
            return local_rate * g
        beta1, beta2 = p.get("momentum") or p["beta1"], p.get("momentum2", p["beta2"])  # adam, Caffe's names
        t = self.iter + 1
        correction = math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        h[i][...] = (1 - beta1) * g + beta1 * h[i]
        h2[i][...] = (1 - beta2) * g ** 2 + beta2 * h2[i]
        return (local_rate * correction) * (h[i] / (np.sqrt(h2[i]) + p["delta"]))


CASES = [
    {"type": "sgd", "momentum": 0.9, "weight_decay": 0.01, "decay_biases": True},
    {"type": "sgd", "momentum": 0.9, "weight_decay": 0.01, "regularization_type": "L1", "decay_biases": True},
    {"type": "nesterov", "momentum": 0.8, "weight_decay": 0.001, "decay_biases": True},
    {"type": "adagrad", "weight_decay": 0.0005, "delta": 1e-6, "decay_biases": True},
    {"type": "adagrad", "weight_decay": 0.002, "regularization_type": "L1", "decay_biases": True, "iter_size": 3},
    {"type": "rmsprop", "rms_decay": 0.95, "weight_decay": 0.0005, "decay_biases": True},
    {"type": "adadelta", "momentum": 0.95, "delta": 1e-6, "weight_decay": 0.0005, "decay_biases": True},
    {"type": "adadelta", "momentum": 0.9, "delta": 1e-7, "iter_size": 2},
    {"type": "adam", "momentum": 0.9, "momentum2": 0.99, "delta": 1e-7, "weight_decay": 0.001, "decay_biases": True},
    {"type": "rmsprop", "rms_decay": 0.98, "clip_gradients": 0.5, "iter_size": 2, "decay_biases": True,
     "weight_decay": 0.01},
]
EXACT = {"sgd", "adagrad", "rmsprop", "adadelta"}  # the same operations in the same order: the same bits


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("settings", CASES, ids=lambda case: "-".join(f"{v}" for v in case.values()))
@pytest.mark.parametrize("block", [solvers.BLOCK, 5])
def test_each_solver_is_caffes_update_step_by_step(settings, dtype, block, monkeypatch):
    monkeypatch.setattr(solvers, "BLOCK", block)  # 5: runs split into blocks that straddle weights
    plan = caffe_plan()
    store = ParameterStore(plan, dtype)
    rng = np.random.default_rng(7)
    store.weight_flat[...] = rng.normal(size=store.size)
    blobs = []
    for step in plan.steps:
        for name in step.op.weight_shapes:
            lr_mult, decay_mult = step.op.multipliers[name]
            decayed = name in step.op.decayed_weights or settings.get("decay_biases", False)
            blobs.append((store.weights[step.name][name].copy(), lr_mult, decay_mult if decayed else 0.0))
    caffe = CaffeTranscription(settings, blobs)
    solver = Solver(settings, store)
    grads = [store.grads[step.name][name] for step in plan.steps for name in step.op.weight_shapes]
    exact = settings["type"] in EXACT and "clip_gradients" not in settings
    for it in range(5):
        store.grad_flat[...] = rng.normal(size=store.size) * settings.get("iter_size", 1)  # an accumulated sum
        rate = 0.01 * (1 + it)
        caffe.apply_update([g.copy() for g in grads], rate)
        solver.step(rate)
        ours = [store.weights[step.name][name] for step in plan.steps for name in step.op.weight_shapes]
        for (theirs, _, _), mine in zip(caffe.blobs, ours):
            if exact:
                np.testing.assert_array_equal(mine, theirs, err_msg=f"step {it}")
            else:
                np.testing.assert_allclose(mine, theirs, rtol=2e-6 if dtype == "float32" else 1e-13,
                                           atol=1e-7 if dtype == "float32" else 1e-15, err_msg=f"step {it}")


def test_the_schema_lists_every_rule_and_each_rule_its_slots():
    assert SOLVER_TYPES == list(solvers.RULES)
    assert solvers.SLOTS == {"sgd": ("v",), "nesterov": ("v",), "adagrad": ("s",), "rmsprop": ("s",),
                             "adadelta": ("s", "u"), "adam": ("m", "s")}


@pytest.mark.parametrize("kind", ["adagrad", "rmsprop"])
def test_adagrad_and_rmsprop_refuse_a_momentum_as_caffe_does(kind):
    store = ParameterStore(caffe_plan(), "float64")
    with pytest.raises(SchemaError) as raised:
        Solver({"type": kind, "momentum": 0.9}, store)
    assert raised.value.path == "/train/solver/momentum" and kind in str(raised.value)


def test_l1_decay_adds_decay_times_the_sign():
    store = ParameterStore(caffe_plan(), "float64")
    store.weight_flat[...] = np.linspace(-1, 1, store.size)
    w = store.weights["fc2"]["W"]  # lr_mult 0.5, decay_mult 1
    expected = w - 0.5 * 0.1 * np.sign(w)
    solver = Solver({"type": "sgd", "weight_decay": 0.1, "regularization_type": "L1", "decay_biases": True}, store)
    solver.step(1.0)  # zero gradients: the update is lr * lr_mult * decay * decay_mult * sign(w)
    np.testing.assert_array_equal(w, expected)


@pytest.mark.parametrize("kind", SOLVER_TYPES)
def test_every_solver_minimises_a_quadratic(kind):
    store = ParameterStore(caffe_plan(), "float64")
    store.weight_flat[...] = np.random.default_rng(3).normal(size=store.size)
    settings = {"type": kind, "momentum": 0.5} if kind in ("sgd", "nesterov") else {"type": kind}
    if kind == "adadelta":
        settings |= {"momentum": 0.9, "delta": 1e-4}
    lr = {"adadelta": 1.0, "adagrad": 0.5}.get(kind, 0.05)
    solver = Solver(settings, store)
    start = float(np.abs(store.weight_flat).max())
    for _ in range(400):
        np.multiply(store.weight_flat, 2, out=store.grad_flat)
        solver.step(lr)
    assert float(np.abs(store.weight_flat).max()) < start / 4
