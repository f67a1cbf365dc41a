"""A hand-written NumPy MLP: the practical ceiling for a NumPy framework on these workloads.

Layers ``sizes = [784, h1, ..., 10]``, tanh between them, softmax cross-entropy on the last, momentum SGD
with weight decay on the weights (Caffe's rule: v = m v + lr (g + wd W); W -= v), float32. Buffers are
allocated once and written in place with ``out=``; nothing here is specific to a graph.
"""

from itertools import pairwise

import numpy as np


class NumpyMLP:
    def __init__(self, sizes, batch_size, seed=0, dtype=np.float32, weights=None):
        """``weights``: [(W, b), ...] to start from (copied); else graphnn's xavier,
        U(-a, a) with a = sqrt(6 / (fan_in + fan_out + 1)), and zero biases."""
        rng = np.random.default_rng(seed)
        self.dtype = np.dtype(dtype)
        if weights is not None:
            self.W = [np.array(w, dtype) for w, _ in weights]
            self.b = [np.array(b, dtype) for _, b in weights]
        else:
            self.W = []
            for m, n in pairwise(sizes):
                bound = np.sqrt(6 / (m + n + 1))
                self.W.append(rng.uniform(-bound, bound, (m, n)).astype(dtype))
            self.b = [np.zeros(n, dtype) for n in sizes[1:]]
        self.vW = [np.zeros_like(w) for w in self.W]
        self.vb = [np.zeros_like(b) for b in self.b]
        self.gW = [np.empty_like(w) for w in self.W]
        self.gb = [np.empty_like(b) for b in self.b]
        self.sizes = sizes
        self._buffers(batch_size)

    def _buffers(self, n):
        self.n = n
        self.x = np.empty((n, self.sizes[0]), self.dtype)
        self.a = [np.empty((n, s), self.dtype) for s in self.sizes[1:]]  # layer outputs (tanh'd, last: logits)
        self.d = [np.empty((n, s), self.dtype) for s in self.sizes[1:]]  # dL/d(pre-activation)
        self.rows = np.arange(n)

    def _load(self, images):
        """uint8 (N, ...) -> float32 (N, D) in [0, 1], in the preallocated buffer."""
        if len(images) != self.n:
            self._buffers(len(images))
        np.multiply(images.reshape(self.n, -1), self.dtype.type(1 / 255), out=self.x)
        return self.x

    def forward(self, images):
        h = self._load(images)
        last = len(self.W) - 1
        for i, (w, b, out) in enumerate(zip(self.W, self.b, self.a)):
            np.matmul(h, w, out=out)
            out += b
            if i < last:
                np.tanh(out, out=out)
            h = out
        return h  # logits (N, C)

    def train_step(self, images, labels, lr, momentum, weight_decay):
        """One SGD step on a batch; returns the mean cross-entropy."""
        logits = self.forward(images)
        n = self.n
        # softmax cross-entropy, fused: p = softmax(z); L = -mean log p[y]; dz = (p - onehot) / n
        p = self.d[-1]
        np.subtract(logits, logits.max(axis=1, keepdims=True), out=p)
        np.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
        rows = self.rows
        loss = -float(np.log(p[rows, labels]).mean())
        p[rows, labels] -= 1
        p *= 1 / n
        for i in range(len(self.W) - 1, -1, -1):
            d = self.d[i]
            below = self.a[i - 1] if i else self.x
            np.matmul(below.T, d, out=self.gW[i])
            np.sum(d, axis=0, out=self.gb[i])
            if i:
                dh = self.d[i - 1]
                np.matmul(d, self.W[i].T, out=dh)
                # tanh' = 1 - y^2, with y the layer's output
                dh *= 1 - below * below
        for w, g, v in zip(self.W, self.gW, self.vW):
            g += weight_decay * w
            v *= momentum
            g *= lr
            v += g
            w -= v
        for b, g, v in zip(self.b, self.gb, self.vb):
            v *= momentum
            g *= lr
            v += g
            b -= v
        return loss

    def predict(self, images):
        return self.forward(images).argmax(axis=1)
