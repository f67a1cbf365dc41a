"""Solvers: how a gradient becomes a weight update (Caffe's rules, in place on the weight arrays).

For each weight w with gradient g, learning rate lr (times the node's ``lr_mult``) and weight decay
lambda (times ``decay_mult``; applied to weights, and to biases only with ``decay_biases``):

    g <- g * clip            where clip = min(1, clip_gradients / ||all g||_2)   (when clip_gradients is set)
    g <- g + lambda * w
    sgd:       v <- momentum * v + lr * g;                        w <- w - v
    nesterov:  v' <- momentum * v + lr * g;                       w <- w - ((1 + momentum) v' - momentum v)
    adam:      m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;  t <- t + 1
               w <- w - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(s) + epsilon)

The solver's state (v, or m and s, and t) is kept per weight as ``state[node][weight][slot]`` so that a
snapshot can save and restore it exactly.

A large weight is updated in blocks of ``BLOCK`` elements: each block goes through every operation above
while it is still in the CPU cache, instead of each operation streaming the whole array through memory.
Every element still sees the same operations in the same order, so the result is bit-for-bit the same.
"""

import math

import numpy as np

DEFAULTS = {"momentum": 0.0, "weight_decay": 0.0, "decay_biases": False, "beta1": 0.9, "beta2": 0.999,
            "epsilon": 1e-8, "clip_gradients": None}
SLOTS = {"sgd": ("v",), "nesterov": ("v",), "adam": ("m", "s")}
BLOCK = 1 << 17  # elements: 512 KiB of float32 per array


def blocks(arrays):
    """Matching flat views of equally shaped ``arrays``, BLOCK elements at a time; the arrays themselves
    when they are small or not all C-contiguous (a flat view of those would be a copy)."""
    size = arrays[0].size
    if size <= BLOCK or not all(array.flags.c_contiguous for array in arrays):
        return [arrays]
    flat = [array.reshape(-1) for array in arrays]
    return [[array[start:start + BLOCK] for array in flat] for start in range(0, size, BLOCK)]


class Solver:
    """Applies one update per call of ``step``; ``state`` and ``t`` hold everything it remembers."""

    def __init__(self, section, plan):
        self.type = section["type"]
        self.settings = {**DEFAULTS, **section}
        self.plan = plan
        self.state = {}
        self.t = 0
        self._update = getattr(self, "_" + self.type)
        self._slots = SLOTS[self.type]
        self._scale_cache = {}

    def state_dict(self):
        """Everything the solver remembers: ``{"t": updates so far, "slots": {node: {weight: {slot: array}}}}``.
        The arrays are the solver's own (a snapshot writes them at once; copy them to keep them)."""
        return {"t": self.t, "slots": self.state}

    def load_state_dict(self, state):
        """Continue from ``state_dict()``'s data (the arrays are copied)."""
        self.t = state["t"]
        self.state = {node: {name: {slot: np.array(array) for slot, array in slots.items()}
                             for name, slots in weights.items()} for node, weights in state["slots"].items()}

    def _scales(self, node, name):
        """(lr multiplier, decay) for one weight; they depend only on the plan, so are worked out once."""
        scales = self._scale_cache.get((node, name))
        if scales is None:
            op = self.plan.by_name[node].op
            decayed = name in op.decayed_weights or self.settings["decay_biases"]
            decay = self.settings["weight_decay"] * op.params.get("decay_mult", 1.0) if decayed else 0.0
            scales = self._scale_cache[node, name] = (op.params.get("lr_mult", 1.0), decay)
        return scales

    def _clip_factor(self, grads):
        limit = self.settings["clip_gradients"]
        if not limit:
            return 1.0
        norm = math.sqrt(sum(float(np.vdot(g, g)) for arrays in grads.values() for g in arrays.values()))
        return min(1.0, limit / norm) if norm > 0 else 1.0

    def step(self, weights, grads, lr):
        """Update ``weights`` in place from ``grads`` (which this call may overwrite)."""
        clip = self._clip_factor(grads)
        self.t += 1
        for node, node_grads in grads.items():
            node_state = self.state.setdefault(node, {})
            for name, g in node_grads.items():
                w = weights[node][name]
                lr_mult, decay = self._scales(node, name)
                slots = node_state.get(name)
                if slots is None or len(slots) < len(self._slots):
                    slots = node_state.setdefault(name, {})
                    for slot in self._slots:
                        if slot not in slots:
                            slots[slot] = np.zeros_like(w)
                if w.size <= BLOCK:
                    self._apply(w, g, slots, lr * lr_mult, decay, clip)
                    continue
                for w_block, g_block, *slot_blocks in blocks([w, g, *(slots[slot] for slot in self._slots)]):
                    self._apply(w_block, g_block, dict(zip(self._slots, slot_blocks)), lr * lr_mult, decay, clip)

    def _apply(self, w, g, slots, lr, decay, clip):
        """Clip, decay and update one weight (or one block of it)."""
        if clip != 1.0:
            g *= clip
        if decay:
            g += decay * w
        self._update(w, g, slots, lr)

    def _sgd(self, w, g, slots, lr):
        v = slots["v"]
        v *= self.settings["momentum"]
        g *= lr
        v += g
        w -= v

    def _nesterov(self, w, g, slots, lr):
        momentum, v = self.settings["momentum"], slots["v"]
        w += momentum * v
        v *= momentum
        g *= lr
        v += g
        w -= (1 + momentum) * v

    def _adam(self, w, g, slots, lr):
        b1, b2 = self.settings["beta1"], self.settings["beta2"]
        m, s = slots["m"], slots["s"]
        m *= b1
        m += (1 - b1) * g
        s *= b2
        s += (1 - b2) * (g * g)
        correction = math.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        w -= (lr * correction) * m / (np.sqrt(s) + self.settings["epsilon"])
