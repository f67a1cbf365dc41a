"""Solvers: how a gradient becomes a weight update (Caffe's rules), on the parameter store's flat buffers.

For each weight w with gradient g, learning rate lr (times the node's ``lr_mult``) and weight decay
lambda (times ``decay_mult``; applied to weights, and to biases only with ``decay_biases``):

    g <- g * clip            where clip = min(1, clip_gradients / ||all g||_2)   (when clip_gradients is set)
    g <- g + lambda * w
    sgd:       v <- momentum * v + lr * g;                        w <- w - v
    nesterov:  v' <- momentum * v + lr * g;                       w <- w - ((1 + momentum) v' - momentum v)
    adam:      m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;  t <- t + 1
               w <- w - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(s) + epsilon)

Settings the section leaves out take their defaults from the model schema's solver section
(graphnn/model/schema.py). Caffe's Adam calls b1 ``momentum`` and b2 ``momentum2``; here they are ``beta1``
and ``beta2``, and an adam section with a momentum other than 0 is refused rather than silently ignored.

The update runs on whole runs of the store's flat buffers (graphnn/params.py): weights that share their
learning rate and decay lie next to each other, so mlp784's six arrays are two runs and an update is a
few array operations per run, whatever the number of weights. Each run is taken in blocks of ``BLOCK``
elements, so that a block goes through every operation while it is still in the CPU cache. Every element
sees the same operations, in the same order and with the same scalars, as when each weight was updated
on its own, so the weights are bit-for-bit those of that form. The gradients are left as backward wrote
them: intermediate values go to two scratch buffers, so that an sgd update with weight decay streams
through the same four arrays a hand-written loop does (weights, gradients, velocities, one temporary).
A rule's ``update(w, g, slots, lr, d, e, t)`` gets the gradient ``g`` (clipped and decayed; it may be
``d`` itself) and the scratch buffers ``d`` and ``e``.

The solver's memory is its slots (v, or m and s: one flat buffer each, laid out like the weights) and t;
``state_dict()`` / ``load_state_dict()`` give and take it for snapshots.
"""

import math

import numpy as np

from graphnn.errors import GraphnnError, SchemaError
from graphnn.model.schema import SOLVER, with_defaults

BLOCK = 1 << 17  # elements: 512 KiB of float32 per array


class SGD:
    """v <- momentum v + lr g;  w <- w - v."""

    slots = ("v",)

    def __init__(self, settings):
        self.momentum = settings["momentum"]

    def update(self, w, g, slots, lr, d, e, t):
        (v,) = slots
        np.multiply(g, lr, out=d)
        v *= self.momentum
        v += d
        w -= v


class Nesterov:
    """v' <- momentum v + lr g;  w <- w - ((1 + momentum) v' - momentum v), as Caffe computes it:
    w += momentum v, then w -= (1 + momentum) v'."""

    slots = ("v",)

    def __init__(self, settings):
        self.momentum = settings["momentum"]

    def update(self, w, g, slots, lr, d, e, t):
        (v,) = slots
        np.multiply(v, self.momentum, out=e)
        w += e
        v *= self.momentum
        np.multiply(g, lr, out=d)
        v += d
        np.multiply(v, 1 + self.momentum, out=e)
        w -= e


class Adam:
    """m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;
    w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(s) + eps)."""

    slots = ("m", "s")

    def __init__(self, settings):
        self.beta1, self.beta2, self.epsilon = settings["beta1"], settings["beta2"], settings["epsilon"]

    def update(self, w, g, slots, lr, d, e, t):
        m, s = slots
        m *= self.beta1
        np.multiply(g, 1 - self.beta1, out=e)
        m += e
        s *= self.beta2
        np.multiply(g, g, out=e)
        e *= 1 - self.beta2
        s += e
        correction = math.sqrt(1 - self.beta2 ** t) / (1 - self.beta1 ** t)
        np.sqrt(s, out=e)
        e += self.epsilon
        np.multiply(m, lr * correction, out=d)  # g is no longer needed: d may have held it
        d /= e
        w -= d


RULES = {"sgd": SGD, "nesterov": Nesterov, "adam": Adam}
SLOTS = {name: rule.slots for name, rule in RULES.items()}  # the names of each rule's slots


class Solver:
    """Applies one update of the store's weights from its gradients per call of ``step``."""

    def __init__(self, section, store):
        self.type = section["type"]
        self.settings = with_defaults(section, SOLVER)
        if self.type == "adam" and self.settings["momentum"]:
            raise SchemaError(f"adam has no momentum (got {self.settings['momentum']}); Caffe's momentum and "
                              "momentum2 are beta1 and beta2 here", path="/train/solver/momentum")
        self.store = store
        self.rule = RULES[self.type](self.settings)
        self.t = 0
        flats = [store.slot() for _ in self.rule.slots]
        self._slot_flats = [flat for flat, _ in flats]
        self.state = {}  # node -> weight -> slot -> view of that slot's flat buffer
        for slot, (_, views) in zip(self.rule.slots, flats):
            for node, arrays in views.items():
                for name, view in arrays.items():
                    self.state.setdefault(node, {}).setdefault(name, {})[slot] = view
        scratch = [np.empty(min(store.trained_size, BLOCK), store.dtype) for _ in range(2)]
        self._blocks = []  # per block of each run: views of weights, gradients, slots, scratch; lr_mult, decay
        for run_start, run_stop, lr_mult, decay in self._runs(store.segments):
            for start in range(run_start, run_stop, BLOCK):
                stop = min(start + BLOCK, run_stop)
                self._blocks.append((store.weight_flat[start:stop], store.grad_flat[start:stop],
                                     [flat[start:stop] for flat in self._slot_flats],
                                     *(buffer[:stop - start] for buffer in scratch), lr_mult, decay))

    def _runs(self, segments):
        """[(start, stop, lr_mult, decay)]: neighbouring segments with the same lr_mult and decay merged."""
        runs = []
        for segment in segments:
            decayed = segment.decayed or self.settings["decay_biases"]
            decay = self.settings["weight_decay"] * segment.decay_mult if decayed else 0.0
            if runs and runs[-1][2:] == (segment.lr_mult, decay):
                runs[-1] = (runs[-1][0], segment.stop, segment.lr_mult, decay)
            else:
                runs.append((segment.start, segment.stop, segment.lr_mult, decay))
        return runs

    def state_dict(self):
        """Everything the solver remembers: ``{"t": updates so far, "slots": {node: {weight: {slot: array}}}}``
        (no slots before the first update). The arrays are views of the solver's buffers: copy them to keep
        them."""
        return {"t": self.t, "slots": self.state if self.t else {}}

    def load_state_dict(self, state):
        """Continue from ``state_dict()``'s data (copied in; slots it lacks start at zero)."""
        for flat in self._slot_flats:
            flat.fill(0)
        for node, weights in state["slots"].items():
            for name, slots in weights.items():
                for slot, array in slots.items():
                    target = self.state.get(node, {}).get(name, {}).get(slot)
                    if target is None:
                        raise GraphnnError(f"solver state for {name}/{slot}: the {self.type} solver keeps no "
                                           "such slot for this weight", node=node)
                    target[...] = array
        self.t = state["t"]

    def clip_factor(self):
        """min(1, clip_gradients / ||g||_2) over every gradient: one dot product; 1.0 without clipping."""
        limit = self.settings.get("clip_gradients")
        if not limit:
            return 1.0
        g = self.store.grad_flat
        norm = math.sqrt(float(np.dot(g, g)))
        return min(1.0, limit / norm) if norm > 0 else 1.0

    def step(self, lr):
        """Update the store's weights in place from its gradients (which are left unchanged)."""
        clip = self.clip_factor()
        self.t += 1
        update, t = self.rule.update, self.t
        for w, g, slots, d, e, lr_mult, decay in self._blocks:
            if decay:  # d <- g * clip + decay * w: the gradient the rule sees
                np.multiply(w, decay, out=d)
                if clip != 1.0:
                    np.multiply(g, clip, out=e)
                    g = e
                np.add(g, d, out=d)
                g = d
            elif clip != 1.0:
                np.multiply(g, clip, out=d)
                g = d
            update(w, g, slots, lr * lr_mult, d, e, t)
