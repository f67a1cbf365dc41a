"""Testing a network on a dataset split: the objective and the primary accuracy over every sample.

    evaluate(network, split, batch_size)       # {"loss", "accuracy", "samples", "losses"}

is ``averages(totals(...))``: the sums over the samples, then divided by their count. A data-parallel run
(graphnn/train/distributed.py) adds up the ranks' totals of their parts of the set before dividing.
"""

from graphnn.model.limits import check_batch_size
from graphnn.train.feeding import feeds


def primary_loss(plan):
    """The loss node whose accuracy a run reports: the first loss in file order with the largest weight."""
    return max(plan.losses, key=lambda step: (step.op.params["loss_weight"], -step.index)).name


def totals(network, split, batch_size):
    """Sums over every sample of ``split``, in test mode: {"loss": objective x n, "correct": primary
    accuracy x n, "losses": {loss node: its loss x n}, "samples": n}, each term per batch of n samples."""
    plan = network.plan
    primary = primary_loss(plan)
    total_loss, correct, per_loss = 0.0, 0.0, {step.name: 0.0 for step in plan.losses}
    count = len(split.y)
    check_batch_size(min(batch_size, count), plan, network.dtype, "test batch size")  # before allocating
    for start in range(0, count, batch_size):
        batch = {"x": split.x[start:start + batch_size], "y": split.y[start:start + batch_size]}
        result = network.forward(feeds(plan, batch, network.dtype), train=False, keep=network.loss_values)
        size = len(batch["y"])
        total_loss += result.objective * size
        for name, value in result.losses.items():
            per_loss[name] += value * size
        correct += network.metrics(result)[primary]["accuracy"] * size
    return {"loss": total_loss, "correct": correct, "losses": per_loss, "samples": count}


def averages(sums):
    """{"loss", "accuracy", "samples", "losses"}: ``totals`` divided by the count of samples."""
    count = sums["samples"]
    return {"accuracy": sums["correct"] / count, "loss": sums["loss"] / count, "samples": count,
            "losses": {name: value / count for name, value in sums["losses"].items()}}


def evaluate(network, split, batch_size):
    """{"loss", "accuracy", "samples", "losses"} of ``network`` in test mode on all of ``split``."""
    return averages(totals(network, split, batch_size))
