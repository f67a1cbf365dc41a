"""The executor: a plan plus weights, run forward in topological order and backward in reverse.

    net = Network.initialise(model, seed=0, dtype="float32")
    result = net.forward({"image": x, "label": y}, train=True, rng=rng)
    grads = net.backward(result)          # {node: {weight: dL/dweight}}

The objective is ``sum(loss_weight * loss)`` over the loss nodes. A node read by several consumers
receives the sum of their gradients.

Both passes take an optional ``timings`` dict: each node's seconds in that pass are added to
``timings[node]`` (``graphnn time`` uses it; the training loop passes nothing and pays nothing).
"""

import time
from dataclasses import dataclass, field

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import ForwardContext


@dataclass
class ForwardResult:
    """Everything one forward pass produced: node outputs, backward caches, losses and metrics."""

    values: dict
    caches: dict
    losses: dict = field(default_factory=dict)  # loss node -> float

    @property
    def objective(self):
        return sum(self.losses.values())


class Network:
    """A model's plan with its weights (trained) and state (e.g. running statistics, not trained)."""

    def __init__(self, model, weights, state, dtype="float32"):
        self.model = model
        self.plan = model.plan
        self.dtype = np.dtype(dtype)
        self.weights = weights
        self.state = state
        # worked out once: the plan never changes, and every pass needs them
        self._backward_steps = [step for step in reversed(self.plan.steps) if not step.op.is_input]
        self._loss_weights = {step.name: step.op.loss_weight for step in self.plan.losses}
        self._metric_steps = self.plan.losses

    @classmethod
    def initialise(cls, model, seed=0, dtype="float32"):
        """Fresh weights from each op's fillers, drawn in plan order from one generator seeded by ``seed``."""
        rng = np.random.default_rng(seed)
        dtype = np.dtype(dtype)
        weights = {step.name: step.op.init_weights(rng, dtype) for step in model.plan.steps if step.weight_shapes}
        state = {step.name: step.op.init_state(dtype) for step in model.plan.steps if step.op.state_shapes}
        return cls(model, weights, state, dtype)

    def astype(self, dtype):
        """This network with weights and state converted to ``dtype``."""
        convert = {node: {key: array.astype(dtype) for key, array in arrays.items()} for node, arrays in self.weights.items()}
        state = {node: {key: array.astype(dtype) for key, array in arrays.items()} for node, arrays in self.state.items()}
        return Network(self.model, convert, state, dtype)

    def _fed(self, step, feeds):
        if step.name not in feeds:
            raise ShapeError(f"no value fed for data node '{step.name}'", node=step.name)
        value = np.asarray(feeds[step.name])
        if value.shape[1:] != step.out_shape:
            raise ShapeError(f"fed value has sample shape {value.shape[1:]}; expected {step.out_shape}", node=step.name)
        return value if value.dtype.kind in "iu" else value.astype(self.dtype, copy=False)

    def forward(self, feeds, train=False, rng=None, until=None, timings=None):
        """Run every step (or those needed for node ``until``). ``feeds`` maps data nodes to arrays.

        Training mode needs ``rng`` (a numpy Generator) for dropout masks: runs stay seeded.
        """
        if train and rng is None:
            raise TypeError("forward(train=True) needs rng=numpy.random.default_rng(seed) for dropout")
        values, caches, losses = {}, {}, {}
        steps = self.plan.steps if until is None else self.plan.steps_until(until)
        weights, state, no_weights = self.weights, self.state, {}
        for step in steps:
            started = time.perf_counter() if timings is not None else 0.0
            name, op = step.name, step.op
            if op.is_input:
                values[name] = self._fed(step, feeds)
            else:
                ctx = ForwardContext(train, rng, state.get(name, {}))
                xs = [values[source] for source in step.inputs]
                values[name], caches[name] = op.forward(weights.get(name, no_weights), xs, ctx)
                if op.is_loss:
                    losses[name] = float(values[name]) * self._loss_weights[name]
            if timings is not None:
                timings[step.name] = timings.get(step.name, 0.0) + time.perf_counter() - started
        return ForwardResult(values, caches, losses)

    def metrics(self, result):
        """Per loss node, its metrics (e.g. accuracy) on the batch of ``result``."""
        return {step.name: step.op.metrics([result.values[s] for s in step.inputs]) for step in self._metric_steps}

    def backward(self, result, timings=None):
        """Gradients of the objective with respect to every weight: {node: {weight: array}}."""
        pending = {name: np.asarray(weight, self.dtype) for name, weight in self._loss_weights.items()}
        weights, caches, no_weights = self.weights, result.caches, {}
        grads = {}
        for step in self._backward_steps:
            dy = pending.pop(step.name, None)
            if dy is None:
                continue
            started = time.perf_counter() if timings is not None else 0.0
            node_weights = weights.get(step.name, no_weights)
            node_grads = {key: np.empty_like(weight) for key, weight in node_weights.items()}
            dxs = step.op.backward(node_weights, caches[step.name], dy, step.needs, node_grads)
            if node_grads:
                grads[step.name] = node_grads
            for source, dx in zip(step.inputs, dxs):
                if dx is not None:
                    pending[source] = dx if source not in pending else pending[source] + dx
            if timings is not None:
                timings[step.name] = timings.get(step.name, 0.0) + time.perf_counter() - started
        return grads
