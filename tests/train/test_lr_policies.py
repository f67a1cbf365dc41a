"""Each learning-rate policy against values computed by hand from Caffe's formulas."""

import itertools
import math

import pytest

from graphnn.model.schema import LEARNING_RATE, with_defaults
from graphnn.train.lr_policies import POLICIES, learning_rate

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
