"""The parameter store: a network's weights, their gradients, its running state and the solver's slots,
each in ONE flat contiguous buffer laid out once from the plan; the per-node dicts are views into them.

    store = ParameterStore(plan, "float32")
    store.weights["fc1"]["W"]             # (784, 50): a view of store.weight_flat
    store.grads["fc1"]["W"]               # the same place in store.grad_flat
    store.state["bn"]["running_mean"]     # a view of store.state_flat
    v_flat, v = store.slot()              # a zeroed buffer laid out like the trained weights, and its views

Whole-network work is then one array operation instead of one per weight: the solver updates a few
segments, gradient clipping is one dot product over ``grad_flat``, the divergence guard another, the MPI
allreduce one call in place.

Layout. The solver treats a weight by four things: whether backward reaches it at all (``trained``: its
node leads to a loss through inputs that need a gradient), its node's ``lr_mult`` and ``decay_mult``, and
whether it is one of its op's ``decayed_weights``
(the multipliers are per weight: a node may give its W and its b different ones, as Caffe's ``param``s do). Weights sharing all four form a *segment*; segments
lie in the order their first weight appears in the plan, weights within a segment in plan order (and in
their op's declared order within a node), so mlp784's six arrays make two segments,
``[fc1.W fc2.W fc3.W][fc1.b fc2.b fc3.b]``. Trained segments come first; weights backward never reaches
follow them, outside every segment, and the solver never touches them (their gradient is never written,
so it stays zero). Solver slots cover the trained part only. Running state is in plan order.
"""

import math
from dataclasses import dataclass

import numpy as np


def trained_nodes(plan):
    """Names of the steps backward reaches: the losses of non-zero weight (a loss of weight 0 is only
    reported, as Caffe's monitored losses), and every step feeding a reached step through an input that
    needs a gradient (``step.needs``). Only their weights get gradients."""
    reached = set()
    for step in reversed(plan.steps):
        if (step.op.is_loss and step.op.loss_weight > 0) or step.name in reached:
            reached.add(step.name)
            reached.update(source for source, needed in zip(step.inputs, step.needs) if needed)
    return reached


@dataclass(frozen=True)
class Segment:
    """A contiguous run ``[start, stop)`` of the trained weights that the solver treats alike."""

    start: int
    stop: int
    lr_mult: float
    decay_mult: float
    decayed: bool  # whether these are weights of the ops' ``decayed_weights`` (else biases and the like)


class ParameterStore:
    """Flat buffers for weights, gradients, running state and solver slots, with per-node views."""

    def __init__(self, plan, dtype):
        self.dtype = np.dtype(dtype)
        trained = trained_nodes(plan)
        groups = {}  # (trained, lr_mult, decay_mult, decayed) -> [(node, name, shape)], in first-seen order
        for step in plan.steps:
            op = step.op
            for name, shape in op.weight_shapes.items():
                key = (True, *op.multipliers[name], name in op.decayed_weights) if step.name in trained \
                    else (False,)
                groups.setdefault(key, []).append((step.name, name, shape))
        offsets, offset = {}, 0
        self.segments = []
        for key in sorted(groups, key=lambda key: not key[0]):  # stable: trained segments first
            start = offset
            for node, name, shape in groups[key]:
                offsets[node, name] = offset
                offset += math.prod(shape)
            if key[0]:
                self.segments.append(Segment(start, offset, *key[1:]))
        self.size = offset
        self.trained_size = self.segments[-1].stop if self.segments else 0
        self._places = {  # node -> {name: (offset, shape)}, in plan order and each op's declared order
            step.name: {name: (offsets[step.name, name], shape) for name, shape in step.weight_shapes.items()}
            for step in plan.steps if step.weight_shapes}
        self.weight_flat = np.zeros(self.size, self.dtype)
        self.grad_flat = np.zeros(self.size, self.dtype)
        self.weights = self.views(self.weight_flat)
        self.grads = self.views(self.grad_flat)
        self.trained_grads = {node: arrays for node, arrays in self.grads.items() if node in trained}
        state_places, offset = {}, 0
        for step in plan.steps:
            for name, shape in step.op.state_shapes.items():
                state_places.setdefault(step.name, {})[name] = (offset, shape)
                offset += math.prod(shape)
        self.state_flat = np.zeros(offset, self.dtype)
        self.state = _views(self.state_flat, state_places)

    def views(self, flat):
        """``{node: {name: view}}`` of a buffer laid out like ``weight_flat`` (or like its trained part)."""
        return _views(flat, self._places)

    def slot(self):
        """A new zeroed buffer for a solver slot, over the trained weights: (flat, {node: {name: view}})."""
        flat = np.zeros(self.trained_size, self.dtype)
        return flat, self.views(flat)

    def load(self, weights, state):
        """Copy ``{node: {name: array}}`` weights and state (e.g. a bundle's) into the store."""
        for views, arrays in ((self.weights, weights), (self.state, state)):
            for node, named in arrays.items():
                for name, array in named.items():
                    views[node][name][...] = array


def _views(flat, places):
    """Views of ``flat`` at ``places`` ({node: {name: (offset, shape)}}), but for places beyond its end."""
    views = {}
    for node, named in places.items():
        for name, (offset, shape) in named.items():
            size = math.prod(shape)
            if offset + size <= flat.size:
                views.setdefault(node, {})[name] = flat[offset:offset + size].reshape(shape)
    return views
