"""The executor: a plan plus a parameter store, run forward in topological order and backward in reverse.

    net = Network.initialise(model, seed=0, dtype="float32")
    result = net.forward({"image": x, "label": y}, train=True, rng=rng)
    grads = net.backward(result)          # {node: {weight: dL/dweight}}: views of net.store.grads

The objective is ``sum(loss_weight * loss)`` over the loss nodes. A node read by several consumers
receives the sum of their gradients. Weights, gradients and running state live in the network's
``ParameterStore`` (graphnn/params.py): ``net.weights`` and ``net.state`` are its per-node views, and
backward hands each op the views its weight gradients are written into, so a pass allocates no gradient
arrays and the gradients of the last backward stay readable until the next one.

Arrays fed to data nodes are converted as the training loop's batches are (graphnn/train/feeding.py:
samples reshaped to the node's shape when they hold as many values per sample, e.g. (N, 28, 28) for a
[784] node; uint8 images scaled to [0, 1] in the network's dtype, class indices kept as integers).

For inference, ``forward(..., keep=names)`` returns only those nodes' values and keeps nothing for
backward, releasing every other value once its last reader has run (predict and evaluation use it).

Both passes take an optional ``timings`` dict: each node's seconds in that pass are added to
``timings[node]`` (``graphnn time`` uses it; the training loop passes nothing and pays nothing).
``backward`` also takes ``watch``, called as ``watch(step, dxs)`` after each node's backward (the
divergence guard's diagnosis uses it).
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import ForwardContext
from graphnn.params import ParameterStore, trained_nodes
from graphnn.train.feeding import node_value


@dataclass
class ForwardResult:
    """Everything one forward pass produced: node outputs, backward caches, losses and metrics."""

    values: dict
    caches: dict
    losses: dict = field(default_factory=dict)  # loss node -> loss_weight * loss, a float

    @property
    def objective(self):
        return sum(self.losses.values())


class Network:
    """A model's plan with its parameter store: weights (trained) and state (e.g. running statistics)."""

    def __init__(self, model, weights=None, state=None, dtype="float32"):
        """A network of ``dtype`` whose weights and state are copies of ``weights`` and ``state``
        ({node: {name: array}}; zeros where they say nothing)."""
        self.model = model
        self.plan = model.plan
        self.dtype = np.dtype(dtype)
        self.store = ParameterStore(self.plan, self.dtype)
        self.store.load(weights or {}, state or {})
        self.weights, self.state = self.store.weights, self.store.state
        # worked out once: the plan never changes, and every pass needs them
        self._forward_steps = [(step, self.weights.get(step.name, {}), self.state.get(step.name, {}))
                               for step in self.plan.steps]
        self._schedules = {}  # (until, keep) -> the forward steps and what each releases (see _schedule)
        trained = trained_nodes(self.plan)
        self._backward_steps = [(step, self.weights.get(step.name, {}), self.store.grads.get(step.name, {}))
                                for step in reversed(self.plan.steps)
                                if step.name in trained and not step.op.is_input]
        self._loss_weights = {step.name: step.op.loss_weight for step in self.plan.losses}
        self._reporting = [step for step in self.plan.steps if step.op.is_loss or step.op.is_metric]

    def __repr__(self):
        return (f"<graphnn.Network {self.model.name!r}: {len(self.plan.steps)} nodes, "
                f"{self.plan.parameter_count():,} parameters, {self.dtype}>")

    @classmethod
    def initialise(cls, model, seed=0, dtype="float32"):
        """Fresh weights from each op's fillers, drawn in plan order from one generator seeded by ``seed``."""
        rng = np.random.default_rng(seed)
        dtype = np.dtype(dtype)
        weights = {step.name: step.op.init_weights(rng, dtype) for step in model.plan.steps
                   if step.weight_shapes}
        state = {step.name: step.op.init_state(dtype) for step in model.plan.steps if step.op.state_shapes}
        return cls(model, weights, state, dtype)

    def astype(self, dtype):
        """A copy of this network with weights and state in ``dtype``."""
        return Network(self.model, self.weights, self.state, dtype)

    def _fed(self, step, feeds):
        if step.name not in feeds:
            raise ShapeError(f"no value fed for data node '{step.name}'", node=step.name)
        value = np.asarray(feeds[step.name])
        if value.shape[1:] != step.out_shape and value.ndim >= 1 and step.op.params["field"] != "y" and \
                math.prod(value.shape[1:]) == math.prod(step.out_shape):
            value = value.reshape((len(value),) + step.out_shape)  # e.g. (N, 28, 28) images for a [784] node
        if value.shape[1:] != step.out_shape:
            raise ShapeError(f"fed value has sample shape {value.shape[1:]}; expected {step.out_shape}", node=step.name)
        return node_value(step, value, self.dtype)

    def _schedule(self, until, keep):
        """The forward steps for node ``until`` (None: every step), each with the names of the values that
        are released once it has run: those whose last reader it is, unless ``keep`` (a frozenset; None:
        keep everything) names them."""
        schedule = self._schedules.get((until, keep))
        if schedule is None:
            needed = None if until is None else {step.name for step in self.plan.steps_until(until)}
            steps = [entry for entry in self._forward_steps if needed is None or entry[0].name in needed]
            last_reader = {}  # node -> index of the last step that reads its value (itself when none does)
            for index, (step, _, _) in enumerate(steps):
                last_reader[step.name] = index
                for source in step.inputs:
                    last_reader[source] = index
            released = [[] for _ in steps]
            if keep is not None:
                for name, index in last_reader.items():
                    if name not in keep:
                        released[index].append(name)
            schedule = [(*entry, tuple(names)) for entry, names in zip(steps, released)]
            self._schedules[until, keep] = schedule
        return schedule

    def forward(self, feeds, train=False, rng=None, until=None, timings=None, keep=None):
        """Run every step (or those needed for node ``until``). ``feeds`` maps data nodes to arrays.

        Training mode needs ``rng`` (a numpy Generator) for dropout masks: runs stay seeded.
        ``keep`` (node names), for inference: the result holds only those nodes' values and nothing for
        backward; every other value is released as soon as the last step reading it has run, so a pass
        holds a few activations at a time instead of all of them and their caches.
        """
        if train and rng is None:
            raise TypeError("forward(train=True) needs rng=numpy.random.default_rng(seed) for dropout")
        keep = None if keep is None else frozenset(keep)
        values, caches, losses = {}, {}, {}
        for step, weights, state, released in self._schedule(until, keep):
            started = time.perf_counter() if timings is not None else 0.0
            name, op = step.name, step.op
            if op.is_input:
                values[name] = self._fed(step, feeds)
            else:
                xs = [values[source] for source in step.inputs]
                values[name], cache = op.forward(weights, xs, ForwardContext(train, rng, state))
                if keep is None:
                    caches[name] = cache
                if op.is_loss:
                    losses[name] = float(values[name]) * op.loss_weight
                del xs, cache
            for dead in released:
                del values[dead]
            if timings is not None:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        return ForwardResult(values, caches, losses)

    @property
    def loss_values(self):
        """The nodes whose values the losses and ``metrics`` read: every loss and metric node (accuracy) and
        their inputs (what evaluation passes as ``forward``'s ``keep``)."""
        return frozenset(name for step in self._reporting for name in (step.name, *step.inputs))

    def metrics(self, result):
        """Per loss and metric node, its metrics (e.g. accuracy) on the batch of ``result``."""
        return {step.name: step.op.metrics([result.values[source] for source in step.inputs])
                for step in self._reporting}

    def backward(self, result, timings=None, watch=None):
        """Gradients of the objective with respect to every weight backward reaches, written into the
        store's gradient views: {node: {weight: view}} (the same arrays every call)."""
        if self._backward_steps and not result.caches:
            raise TypeError("backward needs a forward pass that kept its caches (forward without keep=...)")
        pending = {name: np.asarray(weight, self.dtype) for name, weight in self._loss_weights.items()}
        caches = result.caches
        for step, weights, grads in self._backward_steps:
            dy = pending.pop(step.name, None)
            if dy is None:  # no consumer passed a gradient back: nothing to learn here this time
                for grad in grads.values():
                    grad.fill(0)
                continue
            started = time.perf_counter() if timings is not None else 0.0
            dxs = step.op.backward(weights, caches[step.name], dy, step.needs, grads)
            for source, dx in zip(step.inputs, dxs):
                if dx is not None:
                    pending[source] = dx if source not in pending else pending[source] + dx
            if watch is not None:
                watch(step, dxs)
            if timings is not None:
                timings[step.name] = timings.get(step.name, 0.0) + time.perf_counter() - started
        return self.store.trained_grads
