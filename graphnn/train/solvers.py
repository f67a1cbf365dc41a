"""Solvers: how a gradient becomes a weight update (Caffe's rules), on the parameter store's flat buffers.

For each weight w with gradient g, learning rate lr (times the node's ``lr_mult``) and weight decay
lambda (times ``decay_mult``; applied to weights, and to biases only with ``decay_biases``), in Caffe's
order (SGDSolver::ApplyUpdate: clip, normalize, regularize, update):

    g <- g * clip            where clip = min(1, clip_gradients / ||all g||_2)   (when clip_gradients is set)
    g <- g * (1 / iter_size)                                                     (when iter_size > 1)
    g <- g + lambda * w      (regularization_type L2)    or    g <- g + lambda * sign(w)   (L1)
    sgd:       v <- momentum * v + lr * g;                        w <- w - v
    nesterov:  v' <- momentum * v + lr * g;                       w <- w - ((1 + momentum) v' - momentum v)
    adagrad:   s <- s + g^2;                                      w <- w - lr * g / (sqrt(s) + delta)
    rmsprop:   s <- rms_decay * s + (1 - rms_decay) g^2;          w <- w - lr * g / (sqrt(s) + delta)
    adadelta:  s <- momentum s + (1 - momentum) g^2;  q = g * sqrt((u + delta) / (s + delta));
               u <- momentum u + (1 - momentum) q^2;              w <- w - lr * q
    adam:      m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;  t <- t + 1
               w <- w - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(s) + epsilon)

With iter_size > 1, g is the sum of iter_size passes' gradients (graphnn/train/loop.py adds them), and the
clip factor is that sum's norm, as in Caffe. Settings the section leaves out take their defaults from the
model schema's solver section (graphnn/model/schema.py). Caffe's Adam calls b1 ``momentum``, b2
``momentum2`` and epsilon ``delta``: an adam section may use either name (``adam_settings``); adagrad and
rmsprop refuse a momentum, as Caffe does.

The update runs on whole runs of the store's flat buffers (graphnn/params.py): weights that share their
learning rate and decay lie next to each other, so mlp784's six arrays are two runs and an update is a
few array operations per run, whatever the number of weights. Each run is taken in blocks of ``BLOCK``
elements, so that a block goes through every operation while it is still in the CPU cache. Every element
sees the same operations, in the same order and with the same scalars, as when each weight was updated
on its own, so the weights are bit-for-bit those of that form. The gradients are left as backward wrote
them: intermediate values go to scratch buffers, so that an sgd update with weight decay streams
through the same four arrays a hand-written loop does (weights, gradients, velocities, one temporary).
A rule's ``update(w, g, slots, lr, scratch, t)`` gets the gradient ``g`` (clipped and decayed; it may be
``scratch[0]`` itself) and its ``scratch`` buffers (``scratch`` of them: two, or three for adadelta).

The solver's memory is its slots (v; s; s and u; or m and s: one flat buffer each, laid out like the
weights) and t; ``state_dict()`` / ``load_state_dict()`` give and take it for snapshots.
"""

import math

import numpy as np

from graphnn.errors import GraphnnError, SchemaError
from graphnn.model.schema import ADAM_CAFFE_NAMES, SOLVER, with_defaults

BLOCK = 1 << 17  # elements: 512 KiB of float32 per array


class SGD:
    """v <- momentum v + lr g;  w <- w - v."""

    slots = ("v",)
    scratch = 2

    def __init__(self, settings):
        self.momentum = settings["momentum"]

    def update(self, w, g, slots, lr, scratch, t):
        (v,), d = slots, scratch[0]
        np.multiply(g, lr, out=d)
        v *= self.momentum
        v += d
        w -= v


class Nesterov:
    """v' <- momentum v + lr g;  w <- w - ((1 + momentum) v' - momentum v), as Caffe computes it:
    w += momentum v, then w -= (1 + momentum) v'."""

    slots = ("v",)
    scratch = 2

    def __init__(self, settings):
        self.momentum = settings["momentum"]

    def update(self, w, g, slots, lr, scratch, t):
        (v,), (d, e) = slots, scratch
        np.multiply(v, self.momentum, out=e)
        w += e
        v *= self.momentum
        np.multiply(g, lr, out=d)
        v += d
        np.multiply(v, 1 + self.momentum, out=e)
        w -= e


def refuse_momentum(settings):
    """Caffe's AdaGrad and RMSProp have no momentum: a section that sets one is refused, not ignored."""
    if settings["momentum"]:
        raise SchemaError(f"{settings['type']} has no momentum (got {settings['momentum']}); leave it out",
                          path="/train/solver/momentum")


class AdaGrad:
    """s <- s + g^2;  w <- w - lr g / (sqrt(s) + delta)."""

    slots = ("s",)
    scratch = 2

    def __init__(self, settings):
        refuse_momentum(settings)
        self.delta = settings["delta"]

    def accumulate(self, s, g, e):
        """s <- s + g^2 (e: scratch)."""
        np.multiply(g, g, out=e)
        s += e

    def update(self, w, g, slots, lr, scratch, t):
        (s,), e = slots, scratch[1]
        self.accumulate(s, g, e)
        np.sqrt(s, out=e)
        e += self.delta
        np.divide(g, e, out=e)
        e *= lr
        w -= e


class RMSProp(AdaGrad):
    """s <- rms_decay s + (1 - rms_decay) g^2;  w <- w - lr g / (sqrt(s) + delta): AdaGrad with a decaying s."""

    def __init__(self, settings):
        super().__init__(settings)
        self.decay = settings["rms_decay"]

    def accumulate(self, s, g, e):
        """s <- rms_decay s + (1 - rms_decay) g^2 (e: scratch)."""
        np.multiply(g, g, out=e)
        e *= 1 - self.decay
        s *= self.decay
        s += e


class AdaDelta:
    """s <- momentum s + (1 - momentum) g^2;  q = g sqrt((u + delta) / (s + delta));
    u <- momentum u + (1 - momentum) q^2;  w <- w - lr q."""

    slots = ("s", "u")
    scratch = 3

    def __init__(self, settings):
        self.momentum, self.delta = settings["momentum"], settings["delta"]

    def update(self, w, g, slots, lr, scratch, t):
        (s, u), (d, e, f) = slots, scratch
        np.multiply(g, g, out=e)
        e *= 1 - self.momentum
        s *= self.momentum
        s += e
        np.add(u, self.delta, out=e)
        np.add(s, self.delta, out=f)
        e /= f
        np.sqrt(e, out=e)
        np.multiply(g, e, out=d)  # q; g is no longer needed: d may have held it
        np.multiply(d, d, out=e)
        e *= 1 - self.momentum
        u *= self.momentum
        u += e
        d *= lr
        w -= d


def adam_settings(settings):
    """(beta1, beta2, epsilon) of a complete adam section: Caffe's ``momentum``, ``momentum2`` and ``delta``
    where the section sets them (to other than their schema default), else beta1, beta2 and epsilon.
    SchemaError when a section sets both names of one setting to different values."""
    chosen = []
    for caffe, ours in ADAM_CAFFE_NAMES.items():
        value, default = settings.get(caffe), SOLVER["properties"][caffe].get("default")
        if value is None or value == default:
            chosen.append(settings[ours])
            continue
        if settings[ours] != SOLVER["properties"][ours]["default"] and settings[ours] != value:
            raise SchemaError(f"adam's {ours} is set twice: {ours} {settings[ours]} and Caffe's {caffe} {value}; "
                              "give one", path=f"/train/solver/{caffe}")
        chosen.append(value)
    return chosen


class Adam:
    """m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;
    w <- w - lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(s) + eps)."""

    slots = ("m", "s")
    scratch = 2

    def __init__(self, settings):
        self.beta1, self.beta2, self.epsilon = adam_settings(settings)

    def update(self, w, g, slots, lr, scratch, t):
        (m, s), (d, e) = slots, scratch
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


RULES = {"sgd": SGD, "nesterov": Nesterov, "adagrad": AdaGrad, "rmsprop": RMSProp, "adadelta": AdaDelta,
         "adam": Adam}
SLOTS = {name: rule.slots for name, rule in RULES.items()}  # the names of each rule's slots


class Solver:
    """Applies one update of the store's weights from its gradients per call of ``step``."""

    def __init__(self, section, store):
        self.type = section["type"]
        self.settings = with_defaults(section, SOLVER)
        self.l1 = self.settings["regularization_type"] == "L1"
        self.normalization = 1 / self.settings["iter_size"]  # Caffe's Normalize: the sum of passes to their mean
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
        scratch = [np.empty(min(store.trained_size, BLOCK), store.dtype) for _ in range(self.rule.scratch)]
        self._blocks = []  # per block of each run: views of weights, gradients, slots, scratch; lr_mult, decay
        for run_start, run_stop, lr_mult, decay in self._runs(store.segments):
            for start in range(run_start, run_stop, BLOCK):
                stop = min(start + BLOCK, run_stop)
                self._blocks.append((store.weight_flat[start:stop], store.grad_flat[start:stop],
                                     [flat[start:stop] for flat in self._slot_flats],
                                     tuple(buffer[:stop - start] for buffer in scratch), lr_mult, decay))

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
        clip, normalization, l1 = self.clip_factor(), self.normalization, self.l1
        self.t += 1
        update, t = self.rule.update, self.t
        for w, g, slots, scratch, lr_mult, decay in self._blocks:
            d, e = scratch[0], scratch[1]
            if clip != 1.0 or normalization != 1.0:  # g * clip * (1 / iter_size), one product each, in d or e
                scaled = e if decay else d  # the rule's g is d or the gradient: e is the rule's to overwrite
                if clip != 1.0:
                    np.multiply(g, clip, out=scaled)
                    if normalization != 1.0:
                        scaled *= normalization
                else:
                    np.multiply(g, normalization, out=scaled)
                g = scaled
            if decay:  # d <- g + decay * w (L2) or g + decay * sign(w) (L1): the gradient the rule sees
                if l1:
                    np.sign(w, out=d)
                    d *= decay
                else:
                    np.multiply(w, decay, out=d)
                np.add(g, d, out=d)
                g = d
            update(w, g, slots, lr * lr_mult, scratch, t)
