"""Losses: a prediction and a label in, one scalar out (the mean over the batch).

- ``softmax_cross_entropy`` (Caffe's SoftmaxWithLoss), x: (N, C), label (N, C) of non-negative weights
  t (one-hot rows, probabilities, or any soft labels) or class indices (N,):
      L = -1/N sum_n sum_c t_nc log p_nc,   p = softmax(x) via log-sum-exp;
      dL/dx_nc = (p_nc * sum_k t_nk - t_nc) / N   (= (p - t) / N when each row sums to 1, as one-hot rows do).
  Fused: with s = x - max_c x and e = exp(s), one exp gives both log p = s - log sum_c e and
  p = e / sum_c e, which backward reuses; class indices are never expanded to one-hot rows (log p and
  p - t are indexed per row instead).
- ``least_squares`` (Caffe's EuclideanLoss), x and t of one shape (class
  indices are taken one-hot):   L = 1/(2N) sum_n ||x_n - t_n||^2;   dL/dx = (x - t) / N.

The executor minimises ``sum(loss_weight * L)`` over all loss nodes. ``FUNCTIONS`` is the one list of
loss functions, each with the activation that turns a prediction into what the label is compared with
(``graphnn predict``'s probabilities, ONNX export ``--softmax``, the importer's ``--loss``).
"""

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.activation import softmax, softmax_parts
from graphnn.ops.base import LOSS_PROPERTIES, Op, object_schema
from graphnn.ops.registry import register

FUNCTIONS = {"softmax_cross_entropy": "softmax", "least_squares": "identity"}  # loss -> its output activation


def one_hot(indices, classes, dtype):
    """Class indices (N,) -> one-hot rows (N, classes): rows of the identity matrix."""
    return np.eye(classes, dtype=dtype).take(indices.astype(np.intp, copy=False), axis=0)


@register
class Loss(Op):
    name = "loss"
    n_inputs = 2
    is_loss = True
    params_schema = object_schema({
        "function": {"enum": list(FUNCTIONS)},
        **LOSS_PROPERTIES,
    }, required=["function"])

    examples = (
        {"params": {"function": "softmax_cross_entropy"}, "inputs": [(4,), (4,)]},
        {"params": {"function": "softmax_cross_entropy", "loss_weight": 0.5}, "inputs": [(3,), ()]},
        {"params": {"function": "least_squares"}, "inputs": [(4,), (4,)]},
        {"params": {"function": "least_squares"}, "inputs": [(3,), ()]},
    )

    def infer_shape(self, in_shapes):
        prediction, label = in_shapes
        if len(prediction) != 1:
            raise ShapeError(f"prediction must be (C,) per sample; got {prediction}")
        if label not in ((), prediction):
            raise ShapeError(f"prediction has shape {prediction} but label has shape {label}; "
                             f"expected {prediction} (one-hot) or () (class indices)")
        return ()

    def forward(self, weights, xs, ctx):
        x, label = xs
        n, classes = x.shape
        indices = label.ndim == 1
        if self.params["function"] == "softmax_cross_entropy":
            p, total, shifted = softmax_parts(x, axis=1)  # (N, C), (N, 1) in [1, C], (N, C)
            p /= total  # softmax(x)
            log_total = np.log(total)
            if indices:
                label = label.astype(np.intp, copy=False)
                loss = (log_total.sum() - shifted[np.arange(n), label].sum()) / n  # -1/N sum_n log p[n, label_n]
            else:
                shifted -= log_total  # log p
                loss = -(label * shifted).sum() / n
            return np.asarray(loss, x.dtype), (p, label)
        target = one_hot(label, classes, x.dtype) if indices else label
        diff = x - target
        return np.asarray((diff * diff).sum() / (2 * n), x.dtype), (diff, None)

    def backward(self, weights, cache, dy, needs, grads):
        if not needs[0]:
            return [None, None]
        first, label = cache
        n = len(first)
        if self.params["function"] == "softmax_cross_entropy":
            if label.ndim == 1:  # class indices: p - t subtracts 1 at each row's class
                dx = first.copy()
                dx[np.arange(n), label] -= 1
            else:  # p * sum(t) - t: p - t for rows that sum to 1, right for any other label weights too
                dx = first * label.sum(axis=1, keepdims=True)
                dx -= label
            dx *= dy / n
        else:
            dx = first * (dy / n)
        return [dx, None]

    def probabilities(self, x):
        """What the label is compared with: softmax(x) for softmax_cross_entropy, x itself for least squares."""
        return softmax(x) if FUNCTIONS[self.params["function"]] == "softmax" else x

    def metrics(self, xs):
        """Accuracy: the share of samples whose largest prediction is the labelled class."""
        x, label = xs
        truth = label if label.ndim == 1 else label.argmax(axis=1)
        return {"accuracy": np.count_nonzero(x.argmax(axis=1) == truth) / len(truth)}

    def flops(self):
        return 6 * self.in_shapes[0][0]
