"""Losses: a prediction and a label in, one scalar out (a sum over the batch divided by the batch size N).

- ``softmax_cross_entropy`` (Caffe's SoftmaxWithLoss), x: (N, C), label (N, C) of non-negative weights
  t (one-hot rows, probabilities, or any soft labels) or class indices (N,):
      L = -1/N sum_n sum_c t_nc log p_nc,   p = softmax(x) via log-sum-exp;
      dL/dx_nc = (p_nc * sum_k t_nk - t_nc) / N   (= (p - t) / N when each row sums to 1, as one-hot rows do).
  Fused: with s = x - max_c x and e = exp(s), one exp gives both log p = s - log sum_c e and
  p = e / sum_c e, which backward reuses; class indices are never expanded to one-hot rows (log p and
  p - t are indexed per row instead). The only loss that reports an accuracy (graphnn/train/evaluate.py).
- ``least_squares`` (Caffe's EuclideanLoss), x and t of one shape, any (class indices are taken one-hot
  for x: (N, C)):   L = 1/(2N) sum_n ||x_n - t_n||^2;   dL/dx = (x - t) / N,  dL/dt = (t - x) / N (both
  inputs get their gradient when they need one: the label may be computed, e.g. an autoencoder's code).
- ``sigmoid_cross_entropy`` (Caffe's SigmoidCrossEntropyLoss), x and targets t in [0, 1] of one shape, any:
      L = -1/N sum [t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))]
        = 1/N sum [max(x, 0) - x t + log(1 + e^-|x|)]      (stable for any x)
      dL/dx = (sigmoid(x) - t) / N,   dL/dt = -x / N.
  N is the batch size: Caffe's default normalization for this loss (BATCH_SIZE), not the count of values.

The executor minimises ``sum(loss_weight * L)`` over all loss nodes; a loss of weight 0 is computed and
reported but trains nothing (Caffe's monitored losses, graphnn/params.py). ``FUNCTIONS`` is the one list of
loss functions, each with the activation that turns a prediction into what the label is compared with
(``graphnn predict``'s probabilities, ONNX export ``--softmax``, the importer's ``--loss``).
"""

import functools
import math

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.activation import FUNCTIONS as ACTIVATIONS
from graphnn.ops.activation import softmax_parts
from graphnn.ops.base import LOSS_PROPERTIES, Op, object_schema
from graphnn.ops.registry import register
from graphnn.ops.sums import row_sums

FUNCTIONS = {"softmax_cross_entropy": "softmax", "least_squares": "identity",  # loss -> its output activation
             "sigmoid_cross_entropy": "sigmoid"}


def one_hot(indices, classes, dtype):
    """Class indices (N,) -> one-hot rows (N, classes): rows of the identity matrix."""
    return _identity(classes, np.dtype(dtype)).take(indices.astype(np.intp, copy=False), axis=0)


@functools.lru_cache(maxsize=16)
def _identity(classes, dtype):
    """The read-only identity matrix (classes, classes), made once per size and dtype."""
    matrix = np.eye(classes, dtype=dtype)
    matrix.flags.writeable = False
    return matrix


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
        {"params": {"function": "sigmoid_cross_entropy"}, "inputs": [(4,), (4,)]},
        {"params": {"function": "sigmoid_cross_entropy", "loss_weight": 0.0}, "inputs": [(3,), (3,)]},
    )

    def infer_shape(self, in_shapes):
        prediction, label = in_shapes
        function = self.params["function"]
        if function == "softmax_cross_entropy" and len(prediction) != 1:
            raise ShapeError(f"prediction must be (C,) per sample; got {prediction}")
        indices = () if function != "sigmoid_cross_entropy" and len(prediction) == 1 else None
        if label not in (indices, prediction):
            raise ShapeError(f"prediction has shape {prediction} but label has shape {label}; expected {prediction}"
                             + (" (one-hot) or () (class indices)" if indices == () else ""))
        return ()

    def forward(self, weights, xs, ctx):
        x, label = xs
        n = len(x)
        function = self.params["function"]
        if function == "softmax_cross_entropy":
            p, total, shifted = softmax_parts(x, axis=1)  # (N, C), (N, 1) in [1, C], (N, C)
            p /= total  # softmax(x)
            log_total = np.log(total)
            if label.ndim == 1:
                label = label.astype(np.intp, copy=False)
                loss = (log_total.sum() - shifted[np.arange(n), label].sum()) / n  # -1/N sum_n log p[n, label_n]
                return np.asarray(loss, x.dtype), (p, label, None)
            # -1/N sum t (shifted - log total) = (sum_n T_n log total_n - sum t shifted) / N, T_n = sum_c t_nc
            label_sums = row_sums(label)
            loss = (np.dot(label_sums, log_total[:, 0]) - np.vdot(label, shifted)) / n
            return np.asarray(loss, x.dtype), (p, label, label_sums)
        if function == "sigmoid_cross_entropy":
            terms = np.log1p(np.exp(-np.abs(x)))
            terms += np.maximum(x, 0)
            terms -= x * label
            return np.asarray(terms.sum() / n, x.dtype), (x, label)
        indices = label.ndim == 1 and x.ndim == 2
        diff = x - (one_hot(label, x.shape[1], x.dtype) if indices else label)
        return np.asarray((diff * diff).sum() / (2 * n), x.dtype), (diff, indices)

    def backward(self, weights, cache, dy, needs, grads):
        first, label = cache[:2]
        n = len(first)
        function = self.params["function"]
        if function == "least_squares":  # first = x - t; label: whether t is class indices (no gradient)
            return [first * (dy / n) if needs[0] else None, first * (-dy / n) if needs[1] and not label else None]
        if function == "sigmoid_cross_entropy":  # first = x
            dx = None
            if needs[0]:
                dx = ACTIVATIONS["sigmoid"].forward(first, {})[0]
                dx -= label
                dx *= dy / n
            return [dx, first * (-dy / n) if needs[1] else None]
        if not needs[0]:
            return [None, None]
        if label.ndim == 1:  # class indices: p - t subtracts 1 at each row's class
            dx = first.copy()
            dx[np.arange(n), label] -= 1
        else:  # p * sum(t) - t: p - t for rows that sum to 1, right for any other label weights too
            dx = first * cache[2][:, None]
            dx -= label
        dx *= dy / n
        return [dx, None]

    def probabilities(self, x):
        """What the label is compared with: softmax(x), sigmoid(x), or x itself for least squares."""
        return ACTIVATIONS[FUNCTIONS[self.params["function"]]].forward(x, {"axis": 1})[0]

    def metrics_reported(self):
        return ("accuracy",) if self.params["function"] == "softmax_cross_entropy" else ()

    def metrics(self, xs):
        """softmax_cross_entropy's accuracy: the share of samples whose largest prediction is the labelled
        class; the other losses report none (they are not classifications)."""
        if not self.metrics_reported():
            return {}
        x, label = xs
        truth = label if label.ndim == 1 else label.argmax(axis=1)
        return {"accuracy": np.count_nonzero(x.argmax(axis=1) == truth) / len(truth)}

    def flops(self):
        return 6 * math.prod(self.in_shapes[0])
