"""Learning-rate policies, with Caffe's formulas. ``it`` is the iteration (0-based), ``max_iter`` the
horizon (the run's iterations unless the section sets ``max_iter``):

- fixed:     base_lr
- step:      base_lr * gamma ^ floor(it / step_size)
- exp:       base_lr * gamma ^ it
- inv:       base_lr * (1 + gamma * it) ^ (-power)
- multistep: base_lr * gamma ^ (number of steps s with it >= s)
- poly:      base_lr * (1 - it / max_iter) ^ power
- sigmoid:   base_lr / (1 + exp(-gamma * (it - step_size)))
- cosine:    min_lr + (base_lr - min_lr) * (1 + cos(pi * it / max_iter)) / 2
"""

import math


def learning_rate(section, it, max_iter):
    """The learning rate at iteration ``it`` for an ``lr`` section of a model file."""
    policy, base = section["policy"], section["base_lr"]
    gamma, power = section.get("gamma"), section.get("power")
    horizon = section.get("max_iter", max_iter)
    if policy == "fixed":
        return base
    if policy == "step":
        return base * gamma ** (it // section["step_size"])
    if policy == "exp":
        return base * gamma ** it
    if policy == "inv":
        return base * (1 + gamma * it) ** (-power)
    if policy == "multistep":
        return base * gamma ** sum(it >= step for step in section["steps"])
    if policy == "poly":
        return base * max(0.0, 1 - it / horizon) ** power
    if policy == "sigmoid":
        return base / (1 + math.exp(min(700.0, -gamma * (it - section["step_size"]))))
    if policy == "cosine":
        floor = section.get("min_lr", 0.0)
        return floor + (base - floor) * (1 + math.cos(math.pi * min(it, horizon) / horizon)) / 2
    raise ValueError(f"unknown lr policy {policy!r}")
