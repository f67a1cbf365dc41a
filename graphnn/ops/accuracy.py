"""Accuracy (Caffe's Accuracy layer): a prediction and a label in, the batch's share of correct samples out.

    x: (N, C) scores, label: (N,) class indices or (N, C) one-hot rows  ->  y: () the accuracy of the batch
    x: (N, C, *S) scores per position, label: (N, *S) class indices: every position is a sample (Caffe's
    Accuracy along axis 1 of a score map)
    a sample is correct when fewer than ``top_k`` classes score strictly more than its labelled class
    (Caffe's rule: with top_k 1, a tie with the best score counts as correct);
    samples labelled ``ignore_label`` count neither way (an all-ignored batch has accuracy 0).

A metric node: reported with the losses in training and test output (as "accuracy", or "accuracy_top5" for
top_k 5), never trained (no gradient flows through it). Not exported to ONNX (like the losses).
"""

import numpy as np

from graphnn.errors import ShapeError
from graphnn.ops.base import Op, object_schema
from graphnn.ops.registry import register


@register
class Accuracy(Op):
    name = "accuracy"
    n_inputs = 2
    is_metric = True
    params_schema = object_schema({
        "top_k": {"type": "integer", "minimum": 1, "default": 1,
                  "description": "Correct when the labelled class is among the k best scores."},
        "ignore_label": {"type": "integer", "description": "Samples with this label are left out."},
    })
    examples = ({"params": {}, "inputs": [(4,), ()]}, {"params": {"top_k": 2}, "inputs": [(5,), (5,)]},
                {"params": {"ignore_label": 0}, "inputs": [(3,), ()]}, {"params": {}, "inputs": [(3, 2, 2), (2, 2)]})

    def infer_shape(self, in_shapes):
        prediction, label = in_shapes
        if not prediction:
            raise ShapeError(f"prediction must be (C,) or (C, ...) per sample; got {prediction}")
        if label not in (prediction[1:], prediction if len(prediction) == 1 else None):
            raise ShapeError(f"prediction has shape {prediction} but label has shape {label}; expected "
                             f"{prediction[1:]} (class indices)" + (f" or {prediction} (one-hot)" if len(prediction) == 1
                                                                   else ""))
        if self.params["top_k"] > prediction[0]:
            raise ShapeError(f"top_k {self.params['top_k']} is more than the {prediction[0]} classes")
        return ()

    def metrics_reported(self):
        """("accuracy",) for top_k 1, else ("accuracy_topK",)."""
        k = self.params["top_k"]
        return ("accuracy" if k == 1 else f"accuracy_top{k}",)

    def accuracy(self, x, label):
        if x.ndim > 2:  # a score map: each position one sample
            x, label = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1]), label.reshape(-1)
        truth = label.astype(np.intp, copy=False) if label.ndim == 1 else label.argmax(axis=1)
        kept = np.ones(len(truth), bool) if "ignore_label" not in self.params else truth != self.params["ignore_label"]
        rows = np.flatnonzero(kept)
        if not len(rows):
            return 0.0
        scores = x[rows, truth[rows]][:, None]
        better = np.count_nonzero(x[rows] > scores, axis=1)
        return np.count_nonzero(better < self.params["top_k"]) / len(rows)

    def forward(self, weights, xs, ctx):
        x, label = xs
        return np.asarray(self.accuracy(x, label), x.dtype), None

    def backward(self, weights, cache, dy, needs, grads):
        return [None, None]  # reported, never trained

    def metrics(self, xs):
        return dict.fromkeys(self.metrics_reported(), self.accuracy(*xs))

    def flops(self):
        return self.in_shapes[0][0]
