"""The divergence guard: a run stops in the step where the loss or a gradient stops being a finite
number, with an error naming the node, its op and the pass. (The learning rate is checked where it is
computed: graphnn/train/lr_policies.py.)

    check_forward(network, result, iteration)              # after forward: is the objective finite?
    check_gradients(network, result, grads, iteration)     # after backward: is every gradient finite?

The checks cost almost nothing while all is well: one float comparison after forward, and one sum per
weight gradient after backward. Only when a check fails is the culprit searched for: forward values are
walked in execution order to the first node whose output holds NaN or infinity (and whether its weights
already did); backward is walked again in reverse order to the first node that passed a non-finite
gradient on. The solver never sees a non-finite gradient, so weights stay finite, and snapshots with them.
"""

import math

import numpy as np

from graphnn.errors import TrainingError

ADVICE = "lower the learning rate, clip gradients (solver.clip_gradients) or check the data"


def _finite(array):
    array = np.asarray(array)
    return array.dtype.kind not in "fc" or bool(np.isfinite(array).all())


def _what(array):
    array = np.asarray(array)
    return "NaN" if np.isnan(array).any() else "infinity"


def check_forward(network, result, iteration):
    """Raise TrainingError naming the first node whose forward output is not finite, if the objective is not."""
    loss = result.objective
    if math.isfinite(loss):
        return loss
    for step in network.plan.steps:
        value = result.values.get(step.name)
        if value is None or _finite(value):
            continue
        weights = network.weights.get(step.name, {})
        broken = [name for name, array in weights.items() if not _finite(array)]
        cause = f"; its weights {', '.join(broken)} already were (an earlier update overflowed)" if broken else ""
        raise TrainingError(f"forward pass: output holds {_what(value)} at iteration {iteration} (the loss is "
                            f"{loss}){cause}; {ADVICE}", node=step.name, op=step.op.name)
    culprit = next((step for step in network.plan.losses if not math.isfinite(result.losses.get(step.name, 0.0))),
                   network.plan.losses[0])
    raise TrainingError(f"forward pass: the loss is {loss} at iteration {iteration}; {ADVICE}",
                        node=culprit.name, op=culprit.op.name)


def check_gradients(network, result, grads, iteration):
    """Raise TrainingError naming the node where backward first produced NaN or infinity, if any gradient
    holds one. One sum per gradient decides; the search runs only when a sum is not finite."""
    for node, arrays in grads.items():
        for name, g in arrays.items():
            if not math.isfinite(float(g.sum())) and not _finite(g):
                step, what = _trace_backward(network, result) or (
                    network.plan.by_name[node], f"the gradient of its weight {name} is not finite")
                raise TrainingError(f"backward pass: {what} at iteration {iteration}; {ADVICE}", node=step.name,
                                    op=step.op.name)


def _trace_backward(network, result):
    """(step, what) for the first node, in backward order, whose gradients hold NaN or infinity: backward
    is run again with a check after each node. None if none is found or an op cannot run backward twice."""
    pending = {step.name: np.asarray(step.op.loss_weight, network.dtype) for step in network.plan.losses}
    try:
        for step in reversed(network.plan.steps):
            dy = pending.pop(step.name, None)
            if dy is None or step.op.is_input:
                continue
            weights = network.weights.get(step.name, {})
            weight_grads = {key: np.empty_like(weight) for key, weight in weights.items()}
            dxs = step.op.backward(weights, result.caches[step.name], dy, step.needs, weight_grads)
            for name, g in weight_grads.items():
                if not _finite(g):
                    return step, f"the gradient of its weight {name} holds {_what(g)}"
            for source, dx in zip(step.inputs, dxs):
                if dx is not None and not _finite(dx):
                    return step, f"the gradient it passes to input '{source}' holds {_what(dx)}"
                if dx is not None:
                    pending[source] = dx if source not in pending else pending[source] + dx
    except Exception:  # noqa: BLE001 — only a diagnosis: the caller names the weight instead
        return None
    return None


def check_finite_arrays(groups, what):
    """TrainingError naming the first array of ``groups`` ({node: {name: array}}) holding NaN or infinity."""
    for node, arrays in groups.items():
        for name, array in arrays.items():
            if not _finite(array):
                raise TrainingError(f"{what} {name} holds {_what(array)}; refusing to save it", node=node)
