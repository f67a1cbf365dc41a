"""Losses: a prediction and a label in, one scalar out (the mean over the batch).

- ``softmax_cross_entropy`` (Caffe's SoftmaxWithLoss), x: (N, C), label one-hot/probabilities (N, C) or
  class indices (N,):   L = -1/N sum_n sum_c t_nc log p_nc,  p = softmax(x) via log-sum-exp;
  dL/dx = (p - t) / N.
- ``least_squares`` (the seed's LeastSquareError, Caffe's EuclideanLoss), x and t of one shape (class
  indices are taken one-hot):   L = 1/(2N) sum_n ||x_n - t_n||^2;   dL/dx = (x - t) / N.

The executor minimises ``sum(loss_weight * L)`` over all loss nodes.
"""

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.registry import register


def one_hot(indices, classes, dtype):
    """Class indices (N,) -> one-hot rows (N, classes)."""
    rows = np.zeros((len(indices), classes), dtype)
    rows[np.arange(len(indices)), indices.astype(np.intp, copy=False)] = 1
    return rows


@register
class Loss(Op):
    name = "loss"
    n_inputs = 2
    is_loss = True
    params_schema = object_schema({
        "function": {"enum": ["softmax_cross_entropy", "least_squares"]},
        "loss_weight": {"type": "number", "minimum": 0, "default": 1.0,
                        "description": "Weight of this loss in the objective sum(loss_weight * loss)."},
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
        target = one_hot(label, classes, x.dtype) if label.ndim == 1 else label
        if self.params["function"] == "softmax_cross_entropy":
            shifted = x - x.max(axis=1, keepdims=True)
            log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            log_p = shifted - log_sum  # (N, C)
            loss = -(target * log_p).sum() / n
            return np.asarray(loss, x.dtype), (np.exp(log_p), target)
        diff = x - target
        return np.asarray((diff * diff).sum() / (2 * n), x.dtype), (diff, None)

    def backward(self, weights, cache, dy):
        first, target = cache
        n = len(first)
        if self.params["function"] == "softmax_cross_entropy":
            dx = (first - target) * (dy / n)
        else:
            dx = first * (dy / n)
        return [dx, None], {}

    def metrics(self, xs):
        """Accuracy: the share of samples whose largest prediction is the labelled class."""
        x, label = xs
        truth = label if label.ndim == 1 else label.argmax(axis=1)
        return {"accuracy": float(np.mean(x.argmax(axis=1) == truth))}

    def flops(self, in_shapes, out_shape):
        return 6 * in_shapes[0][0]
