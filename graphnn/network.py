"""The executor: a plan plus weights, run forward in topological order and backward in reverse.

    net = Network.initialise(model, seed=0, dtype="float32")
    result = net.forward({"image": x, "label": y}, train=True, rng=rng)
    grads = net.backward(result)          # {node: {weight: dL/dweight}}

The objective is ``sum(loss_weight * loss)`` over the loss nodes. A node read by several consumers
receives the sum of their gradients.
"""

from dataclasses import dataclass, field

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import ForwardContext

DTYPES = ("float32", "float64")


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

    @classmethod
    def initialise(cls, model, seed=0, dtype="float32"):
        """Fresh weights from each op's fillers, drawn in plan order from one generator seeded by ``seed``."""
        rng = np.random.default_rng(seed)
        dtype = np.dtype(dtype)
        weights = {step.name: step.op.init_weights(step.in_shapes, rng, dtype) for step in model.plan.steps
                   if step.weight_shapes}
        state = {step.name: step.op.init_state(step.in_shapes, dtype) for step in model.plan.steps
                 if step.op.state_shapes(step.in_shapes)}
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

    def forward(self, feeds, train=False, rng=None, until=None):
        """Run every step (or those needed for node ``until``). ``feeds`` maps data nodes to arrays."""
        values, caches, losses = {}, {}, {}
        steps = self.plan.steps if until is None else self.plan.steps_until(until)
        for step in steps:
            if step.op.is_input:
                values[step.name] = self._fed(step, feeds)
                continue
            ctx = ForwardContext(train=train, rng=rng, state=self.state.get(step.name, {}))
            xs = [values[source] for source in step.inputs]
            values[step.name], caches[step.name] = step.op.forward(self.weights.get(step.name, {}), xs, ctx)
            if step.op.is_loss:
                losses[step.name] = float(values[step.name]) * step.op.params["loss_weight"]
        return ForwardResult(values, caches, losses)

    def metrics(self, result):
        """Per loss node, its metrics (e.g. accuracy) on the batch of ``result``."""
        return {step.name: step.op.metrics([result.values[s] for s in step.inputs])
                for step in self.plan.losses if hasattr(step.op, "metrics")}

    def backward(self, result):
        """Gradients of the objective with respect to every weight: {node: {weight: array}}."""
        pending = {step.name: np.asarray(step.op.params["loss_weight"], self.dtype) for step in self.plan.losses}
        grads = {}
        for step in reversed(self.plan.steps):
            dy = pending.pop(step.name, None)
            if dy is None or step.op.is_input:
                continue
            dxs, grads[step.name] = step.op.backward(self.weights.get(step.name, {}), result.caches[step.name], dy)
            for source, dx in zip(step.inputs, dxs):
                if dx is not None:
                    pending[source] = dx if source not in pending else pending[source] + dx
        return {node: g for node, g in grads.items() if g}
