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

from graphnn.model.limits import check_batch_size
from graphnn.train.feeding import feeds


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
    per_node = network.metrics(result)
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
    for start in range(0, count, batch_size):
        batch = {"x": split.x[start:start + batch_size], "y": split.y[start:start + batch_size]}
        result = network.forward(feeds(plan, batch, network.dtype), train=False, keep=network.loss_values)
        size = len(batch["y"])
        total_loss += result.objective * size
        for name in per_loss:
            per_loss[name] += float(result.values[name]) * size
        for name, value in batch_metrics(network, result, reported).items():
            per_metric[name] += value * size
    correct = per_metric.pop("accuracy", 0.0)
    return {"loss": total_loss, "correct": correct, "losses": per_loss, "metrics": per_metric, "samples": count,
            "reported": list(reported)}


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
    return batch_metrics(network, result, {"accuracy": reported["accuracy"]})["accuracy"] if "accuracy" in reported \
        else 0.0
