"""Training: the loop that turns a model's ``train`` section into trained weights.

    settings = resolve_settings(model, {"iterations": 100})
    trainer = Trainer(model, settings)
    trainer.run(log=print)          # log receives one record per display interval and per test

Each iteration: take the next batch (wrap-around, reshuffled each epoch from the run's seed), run forward in
training mode, backward in reverse order, and let the solver update the weights at this iteration's
learning rate. The divergence guard (graphnn/train/guard.py) stops the run in the step where the loss or a
gradient stops being finite. Everything the loop carries from one iteration to the next lives on the
Trainer (weights, solver state, batcher position, dropout generator, the display window), so that
graphnn/train/snapshots.py can save it and resume it exactly.

In a data-parallel run (graphnn/train/distributed.py) ``parallel`` gives each rank its slice of the batch and
its dropout generator, and averages gradients, loss and accuracy over the ranks before the update.
"""

import math
import time
from dataclasses import dataclass

import numpy as np

from graphnn.errors import GraphnnError
from graphnn.executor import Network
from graphnn.train.evaluate import evaluate, primary_loss
from graphnn.train.feeding import check_fields, feeds
from graphnn.train.guard import check_forward, check_gradients, checked_learning_rate
from graphnn.train.solvers import Solver


@dataclass
class Settings:
    """Everything a run needs, from the model file with command-line overrides applied."""

    iterations: int
    batch_size: int
    seed: int
    dtype: str
    solver: dict
    lr: dict
    train_data: dict
    test_data: dict
    test_batch_size: int
    test_interval: int
    display_interval: int
    data_dir: str = None
    snapshot_interval: int = 0  # 0: snapshots only at the end and on a stop signal


def resolve_settings(model, overrides, train_size=None):
    """Settings from ``model.train``/``model.test`` and ``overrides`` (None values are ignored).

    ``epochs`` becomes ``ceil(epochs * train_size / batch_size)`` iterations.
    """
    overrides = {key: value for key, value in overrides.items() if value is not None}
    train, test = model.train, model.test
    if not train:
        raise GraphnnError("the model has no 'train' section", file=model.file, path="/train")
    if not model.plan.losses:
        raise GraphnnError("the model has no loss node to minimise", file=model.file, path="/nodes")
    batch_size = overrides.get("batch_size", train["batch_size"])
    epochs = overrides.get("epochs", None if "iterations" in overrides else train.get("epochs"))
    if epochs is not None:
        iterations = epochs * train_size / batch_size
        if not math.isfinite(iterations):
            raise GraphnnError(f"{epochs} epochs of {train_size} samples is too many iterations", file=model.file,
                               path="/train/epochs")
        iterations = math.ceil(iterations)
    else:
        iterations = overrides.get("iterations", train.get("iterations"))
    lr = dict(train["lr"])
    if "lr" in overrides:
        lr["base_lr"] = overrides["lr"]
    test = test or {}
    return Settings(
        iterations=iterations, batch_size=batch_size, seed=overrides.get("seed", train.get("seed", 0)),
        dtype=overrides.get("dtype", train.get("dtype", "float32")), solver=train["solver"], lr=lr,
        train_data=train["data"], test_data=test.get("data"), test_batch_size=test.get("batch_size", 1000),
        test_interval=overrides.get("test_interval", train.get("test_interval", 0)),
        display_interval=train.get("display_interval", 10), data_dir=overrides.get("data_dir"),
        snapshot_interval=overrides.get("snapshot_interval", train.get("snapshot_interval", 0)))


class Trainer:
    """Owns a run's network, solver, batcher and random generator."""

    def __init__(self, model, settings, train_split, test_split=None, network=None):
        from graphnn.datasets import Batcher

        check_fields(model.plan, train_split)
        if test_split is not None:
            check_fields(model.plan, test_split)
        self.model = model
        self.settings = settings
        self.network = network or Network.initialise(model, seed=settings.seed, dtype=settings.dtype)
        self.solver = Solver(settings.solver, model.plan)
        self.batcher = Batcher(train_split, settings.batch_size, seed=settings.seed)
        self.rng = np.random.default_rng([settings.seed, 1])  # dropout masks
        self.train_split, self.test_split = train_split, test_split
        self.iteration = 0
        self.window = [0.0, 0.0, 0]  # loss sum, accuracy sum and iterations since the last train record
        self.elapsed = 0.0  # seconds trained before this process (restored from a snapshot)
        self.primary = primary_loss(model.plan)
        self.parallel = None  # a distributed.DataParallel in a data-parallel run

    def test(self):
        if self.parallel is not None:  # each rank tests a part of the set; the sums are added
            return self.parallel.evaluate(self.network, self.test_split, self.settings.test_batch_size)
        return evaluate(self.network, self.test_split, self.settings.test_batch_size)

    def run(self, log=lambda record: None, checkpoint=None):
        """Train until ``settings.iterations``; returns the final test metrics (or None without a test set).

        ``checkpoint(trainer)``, when given, is called at the end of every iteration, after its records are
        logged (graphnn/train/snapshots.py uses it to write snapshots and to stop on a signal).
        """
        settings, plan = self.settings, self.model.plan
        started = time.perf_counter() - self.elapsed
        samples_per_epoch = len(self.train_split.y)
        while self.iteration < settings.iterations:
            lr = checked_learning_rate(settings, self.iteration)
            batch, rng = self.batcher.next(), self.rng
            if self.parallel is not None:  # this rank's slice of the global batch, and its dropout generator
                batch, rng = self.parallel.shard(batch), self.parallel.rng(self.iteration)
            result = self.network.forward(feeds(plan, batch, self.network.dtype), train=True, rng=rng)
            loss = check_forward(self.network, result, self.iteration)
            grads = self.network.backward(result)
            accuracy = self.network.metrics(result)[self.primary]["accuracy"]
            if self.parallel is not None:  # one allreduce: gradients, state, loss and accuracy averaged
                grads, loss, accuracy = self.parallel.average(self.network, grads, loss, accuracy)
            check_gradients(self.network, result, grads, self.iteration)
            self.solver.step(self.network.weights, grads, lr)
            self.iteration += 1
            self.window[0] += loss
            self.window[1] += accuracy
            self.window[2] += 1
            if self.iteration % settings.display_interval == 0 or self.iteration == settings.iterations:
                window_loss, window_accuracy, window = self.window
                log({"phase": "train", "iteration": self.iteration,
                     "epoch": self.iteration * settings.batch_size / samples_per_epoch,
                     "loss": window_loss / window, "accuracy": window_accuracy / window, "lr": lr,
                     "elapsed": time.perf_counter() - started})
                self.window = [0.0, 0.0, 0]
            if self.test_split is not None and settings.test_interval and self.iteration % settings.test_interval == 0 \
                    and self.iteration != settings.iterations:
                log({"phase": "test", "iteration": self.iteration, **_short(self.test()),
                     "elapsed": time.perf_counter() - started})
            self.elapsed = time.perf_counter() - started
            if checkpoint is not None:
                checkpoint(self)
        self.seconds = time.perf_counter() - started
        if self.test_split is None:
            return None
        final = self.test()
        log({"phase": "test", "iteration": self.iteration, **_short(final), "elapsed": time.perf_counter() - started})
        return final


def _short(metrics):
    return {"loss": metrics["loss"], "accuracy": metrics["accuracy"]}
