"""Testing a network on a dataset split: the objective and the primary accuracy over every sample."""

from graphnn.train.feeding import feeds


def primary_loss(plan):
    """The loss node whose accuracy a run reports: the first loss in file order with the largest weight."""
    return max(plan.losses, key=lambda step: (step.op.params["loss_weight"], -step.index)).name


def evaluate(network, split, batch_size):
    """{"loss", "accuracy", "samples", "losses"} of ``network`` in test mode on all of ``split``."""
    plan = network.plan
    primary = primary_loss(plan)
    total_loss, correct, per_loss = 0.0, 0.0, {step.name: 0.0 for step in plan.losses}
    count = len(split.y)
    for start in range(0, count, batch_size):
        batch = {"x": split.x[start:start + batch_size], "y": split.y[start:start + batch_size]}
        result = network.forward(feeds(plan, batch, network.dtype), train=False)
        size = len(batch["y"])
        total_loss += result.objective * size
        for name, value in result.losses.items():
            per_loss[name] += value * size
        correct += network.metrics(result)[primary]["accuracy"] * size
    return {"accuracy": correct / count, "loss": total_loss / count, "samples": count,
            "losses": {name: value / count for name, value in per_loss.items()}}
