"""Each learning-rate policy against values computed by hand from Caffe's formulas."""

import itertools
import math

import numpy as np
import pytest

from graphnn.model.schema import LEARNING_RATE, with_defaults
from graphnn.train.lr_policies import POLICIES, learning_rate, multistep_changes

CASES = [
    ({"policy": "fixed", "base_lr": 0.1}, 500, 0.1),
    ({"policy": "step", "base_lr": 0.1, "gamma": 0.5, "step_size": 100}, 250, 0.1 * 0.25),
    ({"policy": "step", "base_lr": 0.1, "gamma": 0.5, "step_size": 100}, 99, 0.1),
    ({"policy": "exp", "base_lr": 0.2, "gamma": 0.99}, 3, 0.2 * 0.970299),
    ({"policy": "inv", "base_lr": 0.1, "gamma": 0.0005, "power": 0.75}, 0, 0.1),
    ({"policy": "inv", "base_lr": 0.1, "gamma": 0.0005, "power": 0.75}, 799, 0.1 * 1.3995 ** -0.75),
    ({"policy": "multistep", "base_lr": 1.0, "gamma": 0.1, "steps": [10, 20]}, 9, 1.0),
    ({"policy": "multistep", "base_lr": 1.0, "gamma": 0.1, "steps": [10, 20]}, 10, 0.1),
    ({"policy": "multistep", "base_lr": 1.0, "gamma": 0.1, "steps": [10, 20]}, 25, 0.01),
    ({"policy": "poly", "base_lr": 0.1, "power": 2.0}, 250, 0.1 * 0.75 ** 2),
    ({"policy": "poly", "base_lr": 0.1, "power": 1.0, "max_iter": 100}, 100, 0.0),
    ({"policy": "sigmoid", "base_lr": 0.1, "gamma": -0.01, "step_size": 200}, 200, 0.05),
    ({"policy": "sigmoid", "base_lr": 0.1, "gamma": -0.01, "step_size": 200}, 300, 0.1 / (1 + math.e)),
    ({"policy": "cosine", "base_lr": 0.1}, 0, 0.1),
    ({"policy": "cosine", "base_lr": 0.1}, 500, 0.05),
    ({"policy": "cosine", "base_lr": 0.1, "min_lr": 0.01}, 1000, 0.01),
]


@pytest.mark.parametrize("section,iteration,expected", CASES)
def test_policy_matches_hand_computed_value(section, iteration, expected):
    assert learning_rate(with_defaults(section, LEARNING_RATE), iteration, max_iter=1000) == pytest.approx(expected, rel=1e-4, abs=1e-12)


def test_seed_schedule_first_and_last_iterations():
    """The seed: base_lr 0.1, inv, gamma 0.0005, power 0.75, 800 iterations."""
    section = {"policy": "inv", "base_lr": 0.1, "gamma": 0.0005, "power": 0.75}
    rates = [learning_rate(section, i, 800) for i in range(800)]
    assert rates[0] == 0.1
    assert rates[-1] == pytest.approx(0.07772, abs=1e-5)
    assert all(a > b for a, b in itertools.pairwise(rates))


def test_the_schema_takes_the_policies_and_their_required_settings_from_the_registry():
    assert LEARNING_RATE["properties"]["policy"]["enum"] == list(POLICIES)
    required = {rule["if"]["properties"]["policy"]["const"]: rule["then"]["required"]
                for rule in LEARNING_RATE["allOf"]}
    assert required == {name: list(policy.needs) for name, policy in POLICIES.items() if policy.needs}
    assert all(policy.rate.__doc__ for policy in POLICIES.values())  # each formula is written down


def caffe_rate(section, it, max_iter):
    """SGDSolver::GetLearningRate written out, multistep by its running count, in float64 (Caffe's Dtype is
    usually float32: its rates are these to float32 rounding, amplified by gamma^it for exp)."""
    f = np.float64
    base_lr, gamma, power = f(section["base_lr"]), f(section.get("gamma", 0)), f(section.get("power", 0))
    policy = section["policy"]
    if policy == "fixed":
        return base_lr
    if policy == "step":
        return base_lr * gamma ** (it // section["step_size"])
    if policy == "exp":
        return base_lr * gamma ** f(it)
    if policy == "inv":
        return base_lr * (f(1) + gamma * f(it)) ** -power
    if policy == "multistep":
        current = 0
        for i in range(it + 1):  # Caffe's current_step_, one increment at most per iteration
            if current < len(section["steps"]) and i >= section["steps"][current]:
                current += 1
        return base_lr * gamma ** current
    if policy == "poly":
        return base_lr * (f(1) - f(it) / f(max_iter)) ** power
    return base_lr * (f(1) / (f(1) + np.exp(-gamma * (f(it) - f(section["step_size"])))))


CAFFE_SECTIONS = [
    {"policy": "fixed", "base_lr": 0.01},
    {"policy": "step", "base_lr": 0.01, "gamma": 0.1, "step_size": 37},
    {"policy": "exp", "base_lr": 0.01, "gamma": 0.999},
    {"policy": "inv", "base_lr": 0.01, "gamma": 0.0001, "power": 0.75},  # Caffe's LeNet solver
    {"policy": "multistep", "base_lr": 0.01, "gamma": 0.5, "steps": [20, 50, 120]},
    {"policy": "multistep", "base_lr": 0.01, "gamma": 0.5, "steps": [20, 20, 20, 90, 40]},  # repeated, unsorted
    {"policy": "poly", "base_lr": 0.01, "power": 0.9},
    {"policy": "poly", "base_lr": 0.01, "power": 2.0, "max_iter": 150},
    {"policy": "sigmoid", "base_lr": 0.01, "gamma": -0.05, "step_size": 100},
]


@pytest.mark.parametrize("section", CAFFE_SECTIONS, ids=lambda section: section["policy"])
def test_every_caffe_policy_matches_caffes_get_learning_rate(section):
    full = with_defaults(section, LEARNING_RATE)
    horizon = section.get("max_iter", 200)
    for it in range(horizon + 1):  # poly past its max_iter is 0 here (Caffe never goes past max_iter)
        ours = learning_rate(full, it, 200)
        assert ours == pytest.approx(float(caffe_rate(section, it, horizon)), rel=1e-13, abs=1e-300), it


def test_multistep_passes_one_step_per_iteration_in_order_as_caffe():
    assert multistep_changes([20, 50, 120]) == [20, 50, 120]
    assert multistep_changes([20, 20, 20, 90, 40]) == [20, 21, 22, 90, 91]
    section = with_defaults({"policy": "multistep", "base_lr": 1.0, "gamma": 0.5, "steps": [20, 20]}, LEARNING_RATE)
    assert [learning_rate(section, it, 100) for it in (19, 20, 21)] == [1.0, 0.5, 0.25]
