"""Learning-rate policies, with Caffe's formulas, each in the docstring of its function. ``it`` is the
iteration (0-based), ``horizon`` the section's ``max_iter`` or, without one, the run's iterations.

``POLICIES`` is the one list of policies: the model file's schema (graphnn/model/schema.py) takes its
``policy`` names and each policy's required settings from it.

    lr = checked_learning_rate(settings, iteration)     # the training loop, before each step
"""

import math
from typing import NamedTuple

from graphnn.errors import TrainingError


class Policy(NamedTuple):
    needs: tuple  # the settings of the lr section it requires besides base_lr
    rate: object  # rate(section, it, horizon) -> learning rate


POLICIES = {}


def policy(*needs):
    """Register the decorated ``rate(section, it, horizon)`` as the policy of its name."""
    def register(rate):
        POLICIES[rate.__name__] = Policy(needs, rate)
        return rate
    return register


@policy()
def fixed(section, it, horizon):
    """base_lr"""
    return section["base_lr"]


@policy("gamma", "step_size")
def step(section, it, horizon):
    """base_lr * gamma ^ floor(it / step_size)"""
    return section["base_lr"] * section["gamma"] ** (it // section["step_size"])


@policy("gamma")
def exp(section, it, horizon):
    """base_lr * gamma ^ it"""
    return section["base_lr"] * section["gamma"] ** it


@policy("gamma", "power")
def inv(section, it, horizon):
    """base_lr * (1 + gamma * it) ^ (-power)"""
    return section["base_lr"] * (1 + section["gamma"] * it) ** (-section["power"])


def multistep_changes(steps):
    """The iterations where Caffe's multistep passes each of ``steps``, in the list's order and at most one per
    iteration: t_k = max(s_k, t_(k-1) + 1) (a sorted list of distinct steps: the steps themselves)."""
    changes, last = [], -1
    for step in steps:
        last = max(step, last + 1)
        changes.append(last)
    return changes


@policy("gamma", "steps")
def multistep(section, it, horizon):
    """base_lr * gamma ^ (number of steps passed by it, Caffe's count: see ``multistep_changes``)"""
    return section["base_lr"] * section["gamma"] ** sum(it >= change for change in multistep_changes(section["steps"]))


@policy("power")
def poly(section, it, horizon):
    """base_lr * (1 - it / horizon) ^ power   (0 from the horizon on)"""
    return section["base_lr"] * max(0.0, 1 - it / horizon) ** section["power"]


@policy("gamma", "step_size")
def sigmoid(section, it, horizon):
    """base_lr / (1 + exp(-gamma * (it - step_size)))"""
    return section["base_lr"] / (1 + math.exp(min(700.0, -section["gamma"] * (it - section["step_size"]))))


@policy()
def cosine(section, it, horizon):
    """min_lr + (base_lr - min_lr) * (1 + cos(pi * it / horizon)) / 2   (min_lr from the horizon on)"""
    floor = section["min_lr"]
    return floor + (section["base_lr"] - floor) * (1 + math.cos(math.pi * min(it, horizon) / horizon)) / 2


def learning_rate(section, it, max_iter):
    """The learning rate at iteration ``it`` for a complete ``lr`` section (defaults filled in, as
    graphnn/train/settings.py gives it); ``max_iter`` is the horizon when the section sets none."""
    return POLICIES[section["policy"]].rate(section, it, section.get("max_iter", max_iter))


def checked_learning_rate(settings, iteration):
    """The lr policy's value at ``iteration``; TrainingError when it fails or is not a finite number >= 0."""
    where = {"path": "/train/lr"}
    try:
        lr = learning_rate(settings.lr, iteration, settings.iterations)
    except (ArithmeticError, ValueError) as error:
        raise TrainingError(f"the {settings.lr['policy']} lr policy fails at iteration {iteration}: {error}",
                            **where) from None
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr < 0:
        raise TrainingError(f"the {settings.lr['policy']} lr policy gives {lr!r} at iteration {iteration}; "
                            "a learning rate must be a finite number >= 0", **where)
    return lr


def schedule(settings, points=2000):
    """[(iteration, learning rate)] over the whole run of ``settings``: every iteration of a short run, else
    ``points`` evenly spread ones, each iteration where a step policy changes the rate (and the one before
    it) kept, and the last; what ``graphnn lr-plot`` draws. TrainingError as ``checked_learning_rate``."""
    last = settings.iterations - 1
    if settings.iterations <= points:
        iterations = set(range(settings.iterations))
    else:
        iterations = {round(k * last / (points - 1)) for k in range(points)}
        lr = settings.lr
        changes = multistep_changes(lr["steps"]) if lr["policy"] == "multistep" else \
            range(lr["step_size"], last + 1, lr["step_size"]) if lr["policy"] == "step" else ()
        for change in list(changes)[:points]:
            if 0 < change <= last:
                iterations.update((change - 1, change))
    return [(it, checked_learning_rate(settings, it)) for it in sorted(iterations)]
