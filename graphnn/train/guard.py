"""The divergence guard: a run stops in the step where the loss or a gradient stops being a finite
number, with an error naming the node, its op and the pass. (The learning rate is checked where it is
computed: graphnn/train/lr_policies.py.)

    check_forward(network, result, iteration)              # after forward: is the objective finite?
    check_gradients(network, result, iteration)            # after backward: is every gradient finite?

The checks cost almost nothing while all is well: one float comparison after forward, and one dot
product over the parameter store's gradient buffer after backward. Only when a check fails is the
culprit searched for: forward values are walked in execution order to the first node whose output holds
NaN or infinity (and whether its weights already did); the executor's backward is run again, watched
node by node, to the first node whose weight gradient or the gradient it passed on is not finite. The
solver never sees a non-finite gradient, so weights stay finite, and snapshots with them.
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


def check_gradients(network, result, iteration):
    """Raise TrainingError naming the node where backward first produced NaN or infinity, if any weight
    gradient holds one. One dot product over the store's gradient buffer decides (NaN and infinity
    survive it; an overflow of g^2 alone makes it infinite too, which the exact check then clears); the
    search runs only when it is not finite."""
    grad_flat = network.store.grad_flat
    if math.isfinite(float(np.dot(grad_flat, grad_flat))) or _finite(grad_flat):
        return
    node, name = next((node, name) for node, arrays in network.store.trained_grads.items()
                      for name, g in arrays.items() if not _finite(g))
    step, what = _trace_backward(network, result) or (
        network.plan.by_name[node], f"the gradient of its weight {name} is not finite")
    raise TrainingError(f"backward pass: {what} at iteration {iteration}; {ADVICE}", node=step.name,
                        op=step.op.name)


class _Found(Exception):
    """Ends the diagnostic backward walk at the first non-finite gradient: args (step, what)."""


def _trace_backward(network, result):
    """(step, what) for the first node, in backward order, whose gradients hold NaN or infinity: the
    executor's backward is run again, watched after each node (it rewrites the store's gradients: the run
    stops here anyway). None if none is found or an op cannot run backward twice."""
    grads = network.store.grads

    def watch(step, dxs):
        for name, g in grads.get(step.name, {}).items():
            if not _finite(g):
                raise _Found(step, f"the gradient of its weight {name} holds {_what(g)}")
        for source, dx in zip(step.inputs, dxs):
            if dx is not None and not _finite(dx):
                raise _Found(step, f"the gradient it passes to input '{source}' holds {_what(dx)}")

    try:
        network.backward(result, watch=watch)
    except _Found as found:
        return found.args
    except Exception:  # noqa: BLE001 — only a diagnosis: the caller names the weight instead
        return None
    return None


def check_finite_arrays(groups, what):
    """TrainingError naming the first array of ``groups`` ({node: {name: array}}) holding NaN or infinity."""
    for node, arrays in groups.items():
        for name, array in arrays.items():
            if not _finite(array):
                raise TrainingError(f"{what} {name} holds {_what(array)}; refusing to save it", node=node)
