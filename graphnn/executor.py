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
backward, releasing every other value once its last reader has run (predict and evaluation use it); an
op that can compute its output in an input's array (``Op.overwritable``: relu, add) is told to
(``ForwardContext.overwrite``) when it reads that value last and nothing else refers to the array — not
a fed array, a kept value, a weight or a view — so a pass of element-wise nodes makes no new arrays;
and an element-wise node that is a convolution's only reader runs inside it (``ForwardContext.epilogue``),
on each block of the convolution's output while that block is in cache.
``forward_pieces(pieces, keep)`` runs a large test batch in pieces up to what the losses and metrics read,
and those once on the joined batch (evaluation: a pass over 10,000 MNIST images holds 14 MB, not 40).

Both passes take an optional ``timings`` dict: each node's seconds in that pass are added to
``timings[node]`` (``graphnn time`` uses it; the training loop passes nothing and pays nothing).
``backward`` also takes ``watch``, called as ``watch(step, dxs)`` after each node's backward (the
divergence guard's diagnosis uses it).
"""

import math
import sys
import time
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from graphnn.allocator import keep_freed_memory
from graphnn.errors import ShapeError
from graphnn.ops.base import ForwardContext
from graphnn.params import ParameterStore, trained_nodes
from graphnn.train.feeding import node_value


def _reference_counts(values, name):
    """(references to ``values[name]``, references to the array it views, or 0), as counted from here."""
    value = values[name]
    base = value.base
    return sys.getrefcount(value), 0 if base is None else sys.getrefcount(base)


_ALONE = _reference_counts({"probe": np.empty(1).reshape(1)}, "probe")  # a value that only ``values`` holds


def _sole_reference(values, name):
    """Whether ``values[name]`` is a writeable array that owns its memory, or views one that nothing else
    views, and that nothing but ``values`` refers to (no other view, cache or caller): then its last
    reader may overwrite it."""
    value = values[name]
    if type(value) is not np.ndarray or not value.flags.writeable:
        return False
    base = value.base
    if base is not None and (type(base) is not np.ndarray or base.base is not None):
        return False
    del value, base
    held, base_held = _reference_counts(values, name)
    return held <= _ALONE[0] and base_held <= _ALONE[1]


class _Scheduled(NamedTuple):
    """One forward step as a pass runs it (see ``Network._schedule``), with what the pass reads of it
    worked out once: a pass of a small network is mostly this bookkeeping."""

    step: object
    name: str
    inputs: tuple
    op: object  # its op; None for a data node (its value is fed)
    weights: dict
    loss_weight: object  # the op's loss weight for a loss node, else None
    released: tuple  # values released once it has run
    overwritable: tuple  # input positions it may overwrite
    epilogue: object  # an element-wise function its op applies to its output, or None
    fused: bool  # its producer applies it: the step's value is its input's


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
        keep_freed_memory()  # a pass's large arrays serve the next pass (graphnn/allocator.py)
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
        self._backward_steps = [(step, step.name, tuple(step.inputs), step.op, step.needs,
                                 self.weights.get(step.name, {}), self.store.grads.get(step.name, {}))
                                for step in reversed(self.plan.steps)
                                if step.name in trained and not step.op.is_input]
        self._loss_gradients = {}  # loss node -> d objective / d loss: its loss weight, a read-only 0-d array
        for step in self.plan.losses:
            self._loss_gradients[step.name] = np.asarray(step.op.loss_weight, self.dtype)
            self._loss_gradients[step.name].flags.writeable = False
        self._reporting = [step for step in self.plan.steps if step.op.is_loss or step.op.is_metric]
        self._contexts = (None, None, {})  # (train, rng, {node: ForwardContext}) of the last pass

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
        value = feeds.get(step.name)
        if value is None:
            raise ShapeError(f"no value fed for data node '{step.name}'", node=step.name)
        if type(value) is np.ndarray and value.dtype == self.dtype and value.shape[1:] == step.op.out_shape:
            return value  # already what node_value makes of it (the training loop's feeds)
        value = np.asarray(value)
        if value.shape[1:] != step.out_shape and value.ndim >= 1 and step.op.params["field"] != "y" and \
                math.prod(value.shape[1:]) == math.prod(step.out_shape):
            value = value.reshape((len(value),) + step.out_shape)  # e.g. (N, 28, 28) images for a [784] node
        if value.shape[1:] != step.out_shape:
            raise ShapeError(f"fed value has sample shape {value.shape[1:]}; expected {step.out_shape}", node=step.name)
        return node_value(step, value, self.dtype)

    def _schedule(self, targets, keep):
        """The forward steps needed for the nodes ``targets`` (a frozenset; None: every step), each with the
        names of the values that are released once it has run (those whose last reader it is, unless
        ``keep`` (a frozenset; None: keep everything) names them) and the positions of its inputs that it
        may overwrite when nothing else refers to them at the time (``_sole_reference``): values computed
        by an op, released by this step, among those its op names (``Op.overwritable``)."""
        schedule = self._schedules.get((targets, keep))
        if schedule is None:
            needed = None if targets is None else set(targets)
            for step in reversed(self.plan.steps) if needed is not None else ():
                if step.name in needed:
                    needed.update(step.inputs)
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
            computed = {step.name for step, _, _ in steps if not step.op.is_input}
            overwritable = [tuple(position for position in step.op.overwritable()
                                  if step.inputs[position] in computed and step.inputs[position] in names)
                            for (step, _, _), names in zip(steps, released)]
            epilogues, fused = self._fusions(steps, keep)
            schedule = [_Scheduled(step, step.name, tuple(step.inputs), None if step.op.is_input else step.op,
                                   weights, step.op.loss_weight if step.op.is_loss else None, tuple(names), positions,
                                   epilogues.get(step.name), step.name in fused)
                        for (step, weights, _), names, positions in zip(steps, released, overwritable)]
            self._schedules[targets, keep] = schedule
        return schedule

    @staticmethod
    def _fusions(steps, keep):
        """At inference (``keep`` given): ({producer: epilogue}, {consumers it applies}) for each element-wise
        node (``Op.in_place_function``) that is the only reader of a producer that ``applies_epilogue`` and
        whose value is not kept: the producer applies it to its output while it is in cache."""
        if keep is None:
            return {}, frozenset()
        readers, producers = {}, {step.name: step for step, _, _ in steps}
        for step, _, _ in steps:
            for source in step.inputs:
                readers[source] = readers.get(source, 0) + 1
        epilogues = {}
        for step, _, _ in steps:
            function = step.op.in_place_function()
            source = producers.get(step.inputs[0]) if len(step.inputs) == 1 else None
            if function is not None and source is not None and source.op.applies_epilogue and \
                    readers[source.name] == 1 and source.name not in keep and source.name not in epilogues:
                epilogues[source.name] = (function, step.name)
        return {name: function for name, (function, _) in epilogues.items()}, \
            frozenset(consumer for _, consumer in epilogues.values())

    def _contexts_for(self, train, rng):
        """{node: ForwardContext} of a pass in mode ``train`` with generator ``rng``: made again only when
        these change (a context holds what a pass knows, never what it computed)."""
        last_train, last_rng, contexts = self._contexts
        if last_train is not train or last_rng is not rng:
            contexts = {step.name: ForwardContext(train, rng, state) for step, _, state in self._forward_steps}
            self._contexts = (train, rng, contexts)
        return contexts

    def forward(self, feeds, train=False, rng=None, until=None, timings=None, keep=None):
        """Run every step (or those needed for node ``until``). ``feeds`` maps data nodes to arrays.

        Training mode needs ``rng`` (a numpy Generator) for dropout masks: runs stay seeded.
        ``keep`` (node names), for inference: the result holds only those nodes' values and nothing for
        backward; every other value is released as soon as the last step reading it has run, so a pass
        holds a few activations at a time instead of all of them and their caches.
        """
        return self._run(feeds, bool(train), rng, None if until is None else frozenset((until,)), timings,
                         None if keep is None else frozenset(keep))

    def _run(self, feeds, train, rng, targets, timings, keep):
        if train and rng is None:
            raise TypeError("forward(train=True) needs rng=numpy.random.default_rng(seed) for dropout")
        values, caches, losses = {}, {}, {}
        contexts = self._contexts_for(train, rng)
        keeps_caches = keep is None
        for step, name, inputs, op, weights, loss_weight, released, overwritable, epilogue, fused \
                in self._schedule(targets, keep):
            started = time.perf_counter() if timings is not None else 0.0
            if op is None:
                values[name] = self._fed(step, feeds)
            elif fused:  # its producer applied it (the producer's epilogue): the value is the producer's
                values[name] = values[inputs[0]]
            else:
                context = contexts[name] if epilogue is None else replace(contexts[name], epilogue=epilogue)
                for position in overwritable:
                    if _sole_reference(values, inputs[position]):
                        context = replace(context, overwrite=position)
                        break
                values[name], cache = op.forward(weights, [values[source] for source in inputs], context)
                if keeps_caches:
                    caches[name] = cache
                if loss_weight is not None:
                    losses[name] = float(values[name]) * loss_weight
                del cache
            for dead in released:
                del values[dead]
            if timings is not None:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        return ForwardResult(values, caches, losses)

    def forward_pieces(self, pieces, keep):
        """``forward(feeds, keep=keep)`` in test mode of the batch that ``pieces`` make up (an iterable of
        feeds: consecutive slices of one batch along axis 0), holding one piece's values at a time. Each
        piece runs up to the values the loss and metric nodes read (and those ``keep`` names); these are
        joined along axis 0, and the loss and metric nodes run once on the joined batch: their means and
        sums are the whole batch's, taken in one reduction as in a single pass. Every other op computes a
        sample's output from that sample alone, so the result is a single pass's wherever a matrix product
        gives a row the same bits for any number of rows (OpenBLAS does for pieces that are not small: see
        graphnn/train/evaluate.py's PIECE_ROWS)."""
        keep = frozenset(keep)
        heads = {step.name for step in self._reporting}  # no node reads them (graphnn/model/rules.py)
        read = frozenset(source for step in self._reporting for source in step.inputs) | (keep - heads)
        parts = []
        for piece in pieces:
            parts.append(self._run(piece, False, None, read, None, read).values)
            del piece  # before the next piece is made: one piece's feeds alive at a time
        values = {name: parts[0][name] if len(parts) == 1 else np.concatenate([part[name] for part in parts])
                  for name in read}
        del parts
        contexts, losses = self._contexts_for(False, None), {}
        for step, weights, _ in self._forward_steps:
            if step.name in heads:
                values[step.name], _ = step.op.forward(weights, [values[source] for source in step.inputs],
                                                       contexts[step.name])
                if step.op.is_loss:
                    losses[step.name] = float(values[step.name]) * step.op.loss_weight
        return ForwardResult({name: values[name] for name in keep}, {}, losses)

    @property
    def loss_values(self):
        """The nodes whose values the losses and ``metrics`` read: every loss and metric node (accuracy) and
        their inputs (what evaluation passes as ``forward``'s ``keep``)."""
        return frozenset(name for step in self._reporting for name in (step.name, *step.inputs))

    def metrics(self, result, nodes=None):
        """Per loss and metric node (or only those ``nodes`` names), its metrics (e.g. accuracy) on the batch
        of ``result``."""
        return {step.name: step.op.metrics([result.values[source] for source in step.inputs])
                for step in self._reporting if nodes is None or step.name in nodes}

    def backward(self, result, timings=None, watch=None):
        """Gradients of the objective with respect to every weight backward reaches, written into the
        store's gradient views: {node: {weight: view}} (the same arrays every call)."""
        if self._backward_steps and not result.caches:
            raise TypeError("backward needs a forward pass that kept its caches (forward without keep=...)")
        pending = dict(self._loss_gradients)
        caches = result.caches
        for step, name, inputs, op, needs, weights, grads in self._backward_steps:
            dy = pending.pop(name, None)
            if dy is None:  # no consumer passed a gradient back: nothing to learn here this time
                for grad in grads.values():
                    grad.fill(0)
                continue
            started = time.perf_counter() if timings is not None else 0.0
            dxs = op.backward(weights, caches[name], dy, needs, grads)
            for source, dx in zip(inputs, dxs):
                if dx is not None:
                    pending[source] = dx if source not in pending else pending[source] + dx
            if watch is not None:
                watch(step, dxs)
            if timings is not None:
                timings[name] = timings.get(name, 0.0) + time.perf_counter() - started
        return self.store.trained_grads
