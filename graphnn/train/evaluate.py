"""Testing a network on a dataset split: the objective and the reported metrics over every sample.

    evaluate(network, split, batch_size)       # {"loss", "accuracy", "samples", "losses", "metrics"}

is ``averages(totals(...))``: the sums over the samples, then divided by their count. A data-parallel run
(graphnn/train/distributed.py) adds up the ranks' totals of their parts of the set before dividing.

What a run reports (``reported_metrics``): each metric name once ("accuracy", "accuracy_top5"), from the
first accuracy node that gives it, else from the primary loss when it reports one (softmax_cross_entropy).
"accuracy" is None for a network that reports none (a regression: least squares, sigmoid cross-entropy);
"losses" holds each loss node's own value (unweighted: a loss of weight 0 is reported too); "metrics" the
other metrics (accuracy_top5, ...).
"""

import math
from itertools import pairwise

import numpy as np

from graphnn.model.limits import check_batch_size
from graphnn.train.feeding import feeds

# A test batch runs in equal pieces of at least PIECE_ROWS samples, as many as PIECE_BYTES of values (every
# node's output) hold. A product's row can differ in its last bits with its place in the product (OpenBLAS
# picks kernels by the rows' positions: mlp784's logits for 5,000 MNIST images differ from a single pass's
# in 416 rows with pieces of 2,500, in 2,742 with pieces of 1,000, by at most 4.2e-7); the reported numbers,
# means over the batch, absorb so few such differences: with pieces of 2,500 they are the single pass's
# (tests/train/test_evaluate.py), where pieces of 500 already changed one loss in its last bit (branchy, two
# threads).
PIECE_BYTES = 8 * 2**20
PIECE_ROWS = 2500


def primary_loss(plan):
    """The loss node whose accuracy a run reports: the first loss in file order with the largest weight."""
    return max(plan.losses, key=lambda step: (step.op.params["loss_weight"], -step.index)).name


def reported_metrics(plan):
    """{metric name: the node that reports it}, in the order they are shown: accuracy nodes in file order,
    then the losses, the primary first (see the module docstring)."""
    primary = primary_loss(plan) if plan.losses else None
    steps = sorted((step for step in plan.steps if step.op.is_metric or step.op.is_loss),
                   key=lambda step: (not step.op.is_metric, step.name != primary, step.index))
    found = {}
    for step in steps:
        for name in step.op.metrics_reported():
            found.setdefault(name, step.name)
    return found


def batch_metrics(network, result, reported):
    """{metric name: value} of one pass's batch, for ``reported`` ({name: node}, ``reported_metrics``)."""
    per_node = network.metrics(result, set(reported.values()))
    return {name: per_node[node][name] for name, node in reported.items()}


def totals(network, split, batch_size):
    """Sums over every sample of ``split``, in test mode: {"loss": objective x n, "correct": accuracy x n
    (0 without one), "losses": {loss node: its loss x n}, "metrics": {other metric: value x n}, "samples": n,
    "reported": the metric names}, each term per batch of n samples."""
    plan = network.plan
    reported = reported_metrics(plan)
    total_loss, per_loss = 0.0, {step.name: 0.0 for step in plan.losses}
    per_metric = dict.fromkeys(reported, 0.0)
    count = len(split.y)
    check_batch_size(min(batch_size, count), plan, network.dtype, "test batch size")  # before allocating
    rows = piece_rows(plan, network.dtype)
    for start in range(0, count, batch_size):
        stop = min(start + batch_size, count)
        pieces = (feeds(plan, {"x": split.x[first:last], "y": split.y[first:last]}, network.dtype)
                  for first, last in _spans(start, stop, rows))
        result = network.forward_pieces(pieces, keep=network.loss_values)
        size = stop - start
        total_loss += result.objective * size
        for name in per_loss:
            per_loss[name] += float(result.values[name]) * size
        for name, value in batch_metrics(network, result, reported).items():
            per_metric[name] += value * size
    correct = per_metric.pop("accuracy", 0.0)
    return {"loss": total_loss, "correct": correct, "losses": per_loss, "metrics": per_metric, "samples": count,
            "reported": list(reported)}


def piece_rows(plan, dtype):
    """The samples of one piece of a test batch, at least (see PIECE_BYTES). The loss and metric nodes still
    see the whole batch (``Network.forward_pieces``), so the reported numbers are a single pass's; a pass
    over 10,000 MNIST images in three pieces holds 14 MB instead of 40."""
    per_sample = sum(math.prod(step.out_shape) for step in plan.steps) * np.dtype(dtype).itemsize
    return max(PIECE_ROWS, PIECE_BYTES // per_sample)


def _spans(start, stop, rows):
    """(first, last) of the equal pieces, of at least ``rows`` each, that ``start`` to ``stop`` splits into."""
    pieces = max(1, (stop - start) // rows)
    bounds = [start + index * (stop - start) // pieces for index in range(pieces + 1)]
    return pairwise(bounds)


def averages(sums):
    """{"loss", "accuracy" (None without one), "samples", "losses", "metrics"}: ``totals`` divided by the
    count of samples."""
    count = sums["samples"]
    accuracy = sums["correct"] / count if "accuracy" in sums.get("reported", ("accuracy",)) else None
    return {"accuracy": accuracy, "loss": sums["loss"] / count, "samples": count,
            "losses": {name: value / count for name, value in sums["losses"].items()},
            "metrics": {name: value / count for name, value in sums.get("metrics", {}).items()}}


def evaluate(network, split, batch_size):
    """{"loss", "accuracy", "samples", "losses", "metrics"} of ``network`` in test mode on all of ``split``."""
    return averages(totals(network, split, batch_size))


def batch_accuracy(network, result, reported):
    """The accuracy of one pass's batch (``reported``: ``reported_metrics``), 0.0 for a network that reports
    none: the training loop sums it, and its records then say None."""
    node = reported.get("accuracy")
    return 0.0 if node is None else network.metrics(result, (node,))[node]["accuracy"]
