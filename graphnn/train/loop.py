"""Training: the loop that turns a model's ``train`` section into trained weights.

    settings = resolve_settings(model, {"iterations": 100})      # graphnn/train/settings.py
    trainer = Trainer(model, settings, train_split, test_split)
    trainer.run(log=print)          # log receives one record per display interval and per test

Each iteration: take the next batch (wrap-around, reshuffled each epoch from the run's seed), run forward in
training mode, backward in reverse order, and let the solver update the weights at this iteration's
learning rate. With the solver's ``iter_size`` N > 1 (Caffe's gradient accumulation), an iteration is N
such passes over N batches; their gradients are summed (the solver scales the sum by 1/N) and the
iteration's loss and accuracy are their means.

Tests: the test section's set (its first ``iterations`` batches, or all of it) every ``test_interval``
iterations, before the first with ``test_initialization``, and after the last; its further sets (``also``,
Caffe's several test nets) at the same points, logged as phase ``test/NAME``. The displayed train loss is
the display interval's mean, or with ``average_loss`` N the mean of the last N iterations' (Caffe's
smoothed loss). The divergence guard (graphnn/train/guard.py) stops the run in the step where the loss or a
gradient stops being finite. Everything the loop carries from one iteration to the next is the Trainer's
``state_dict()`` (with the network's weights and state), so that graphnn/train/snapshots.py can save it
and resume it exactly.

How the work is spread is the trainer's ``strategy``: ``SingleProcess`` (the default) trains on the whole
batch here; ``DataParallel`` (graphnn/train/distributed.py) gives each rank its slice of the batch and its
dropout generator, and averages gradients, loss and accuracy over the ranks before the update.
"""

import time
from collections import deque
from dataclasses import replace

import numpy as np

from graphnn.errors import GraphnnError
from graphnn.executor import Network
from graphnn.train.evaluate import batch_accuracy, evaluate, reported_metrics
from graphnn.train.feeding import check_fields, feeds
from graphnn.train.guard import check_forward, check_gradients
from graphnn.train.lr_policies import checked_learning_rate
from graphnn.train.solvers import Solver


class SingleProcess:
    """The default strategy, and the contract every strategy keeps: the Trainer calls ``setup`` once when
    it is built, ``shard`` and ``average`` in every step, ``evaluate`` to test; a Run (graphnn/train/run.py)
    asks ``agree_on`` for the stop request all processes share."""

    def setup(self, trainer):
        """Called by the Trainer it is handed to, at the end of its construction."""
        self.trainer = trainer

    def shard(self, batch):
        """(this process's part of the global ``batch``, the dropout generator for this step)."""
        return batch, self.trainer.rng

    def average(self, network, grads, loss, accuracy):
        """(gradients, loss, accuracy) of the global batch, from this process's."""
        return grads, loss, accuracy

    def evaluate(self, network, split, batch_size):
        return evaluate(network, split, batch_size)

    def agree_on(self, stop):
        """The StopRequest (graphnn/train/signals.py) the run obeys, from this process's."""
        return stop


class Trainer:
    """Owns a run's network, solver, batcher, dropout generator and strategy (how the work is spread)."""

    def __init__(self, model, settings, train_split, test_split=None, network=None, strategy=None, test_sets=()):
        """``test_sets``: [(name, Split)] of the test section's further sets, in its order (``load_test_sets``)."""
        from graphnn.datasets import Batcher

        check_fields(model.plan, train_split)
        for split in [test_split, *(split for _, split in test_sets)]:
            if split is not None:
                check_fields(model.plan, split)
        self.model = model
        self.settings = settings
        self.network = network or Network.initialise(model, seed=settings.seed, dtype=settings.dtype)
        try:
            self.solver = Solver(settings.solver, self.network.store)
        except GraphnnError as error:
            raise error.located(file=model.file)
        self.batcher = Batcher(train_split, settings.batch_size, seed=settings.seed, shuffle=settings.shuffle)
        self.rng = np.random.default_rng([settings.seed, 1])  # dropout masks
        self.feed_buffers = {}  # the fed batch's float samples, written again by every step (feeding.feeds)
        self.train_split = train_split
        self.test_split = _first_batches(test_split, settings.test_iterations, settings.test_batch_size)
        self.test_sets = [(f"test/{name}", _first_batches(split, entry["iterations"], entry["batch_size"]),
                           entry["batch_size"]) for (name, split), entry in zip(test_sets, settings.test_sets)]
        self.iteration = 0
        self.window = [0.0, 0.0, 0]  # loss sum, accuracy sum and iterations since the last train record
        self.recent = deque(maxlen=settings.average_loss) if settings.average_loss else None  # last losses
        passes = settings.solver["iter_size"]
        self.accumulated = np.empty_like(self.network.store.grad_flat) if passes > 1 else None  # gradient sum
        self.elapsed = 0.0  # seconds trained before this process (restored from a snapshot)
        self.seconds = 0.0  # seconds trained in all, once run() returns
        self.reported = reported_metrics(model.plan)  # {metric: node}; no "accuracy": the records say None
        self.step_metrics = None  # (loss, accuracy) of the last iteration, for the callbacks
        self.last_losses = None  # with several losses: {loss: its own value} in the last iteration (this rank's)
        self.stopping = False  # set by stop(): the run ends after the current iteration
        self.strategy = strategy if strategy is not None else SingleProcess()
        self.strategy.setup(self)

    def state_dict(self):
        """What the loop carries from one iteration to the next, besides the network's weights and state:
        {"iteration", "window", "elapsed", "rng" (the dropout generator's bit_generator.state), "batcher",
        "solver", "recent" (the last iterations' losses with average_loss, else None)}; the solver's arrays are
        its own (see Solver.state_dict)."""
        return {"iteration": self.iteration, "window": list(self.window), "elapsed": self.elapsed,
                "rng": self.rng.bit_generator.state, "batcher": self.batcher.state_dict(),
                "solver": self.solver.state_dict(), "recent": None if self.recent is None else list(self.recent)}

    def load_state_dict(self, state):
        """Continue from ``state_dict()``'s data. A batcher position that is not this run's is a DataError
        located at /batcher; a generator state numpy refuses, a ValueError."""
        try:
            self.batcher.load_state_dict(state["batcher"])
        except GraphnnError as error:
            raise error.located(path="/batcher")
        self.rng.bit_generator.state = state["rng"]
        self.solver.load_state_dict(state["solver"])
        self.iteration = state["iteration"]
        loss_sum, accuracy_sum, count = state["window"]
        self.window = [loss_sum, accuracy_sum, int(count)]
        self.elapsed = state["elapsed"]
        if self.recent is not None:
            self.recent.clear()
            self.recent.extend(state.get("recent") or ())

    def stop(self):
        """End the run after the current iteration (early stopping): its records are logged, and the final
        test runs as after the last iteration."""
        self.stopping = True

    def test(self):
        return self.strategy.evaluate(self.network, self.test_split, self.settings.test_batch_size)

    def _test_all(self, log, started):
        """Test on every set and log each; returns the test section's own set's metrics (None without it)."""
        metrics = None
        if self.test_split is not None:
            metrics = self.test()
            log({"phase": "test", "iteration": self.iteration, **_short(metrics),
                 "elapsed": time.perf_counter() - started})
        for phase, split, batch_size in self.test_sets:
            log({"phase": phase, "iteration": self.iteration,
                 **_short(self.strategy.evaluate(self.network, split, batch_size)),
                 "elapsed": time.perf_counter() - started})
        return metrics

    def run(self, log=lambda record: None, checkpoint=None, callback=None, final=False):
        """Train until ``settings.iterations`` (or ``stop()``); returns the final test metrics (or None without
        a test set).

        ``final``: no further ``run()`` follows (a Run's training, graphnn/train/run.py): the training samples
        are released once the last iteration has trained (their labels stay), before its snapshot and the
        final test, so that the run's peak memory is the larger of training's and testing's, not their sum.

        ``callback(trainer)``, when given, is called at the end of every iteration, after its records are
        logged (graphnn/train/callbacks.py: epochs, early stopping, the progress bar; it may call ``stop()``);
        ``checkpoint(trainer)`` after it (graphnn/train/snapshots.py uses it to write snapshots and to stop on
        a signal).
        """
        settings, plan = self.settings, self.model.plan
        started = time.perf_counter() - self.elapsed
        samples_per_epoch = len(self.train_split.y)
        passes = settings.solver["iter_size"]
        if settings.test_initialization and self.iteration == 0:
            self._test_all(log, started)
        while self.iteration < settings.iterations and not self.stopping:
            lr = checked_learning_rate(settings, self.iteration)
            loss_sum = accuracy_sum = 0.0
            for index in range(passes):
                batch, rng = self.strategy.shard(self.batcher.next())
                result = self.network.forward(feeds(plan, batch, self.network.dtype, rng, self.feed_buffers),
                                              train=True, rng=rng)
                loss = check_forward(self.network, result, self.iteration)
                grads = self.network.backward(result)
                accuracy = batch_accuracy(self.network, result, self.reported)
                if len(plan.losses) > 1:  # each loss's own value, as Caffe displays its net's outputs
                    self.last_losses = {step.name: float(result.values[step.name]) for step in plan.losses}
                grads, loss, accuracy = self.strategy.average(self.network, grads, loss, accuracy)
                check_gradients(self.network, result, self.iteration)
                if self.accumulated is not None:
                    self._accumulate(index, passes)
                    loss_sum += loss
                    accuracy_sum += accuracy
            if self.accumulated is not None:  # the passes' means, as Caffe's loss /= iter_size
                loss, accuracy = loss_sum / passes, accuracy_sum / passes
            self.solver.step(lr)
            self.iteration += 1
            self.step_metrics = (loss, accuracy)
            if self.recent is not None:
                self.recent.append(loss)
            self.window[0] += loss
            self.window[1] += accuracy
            self.window[2] += 1
            last = self.iteration == settings.iterations
            if final and last:  # before the records, callbacks and the last snapshot, which do not need them
                self._release_samples()
            if self.iteration % settings.display_interval == 0 or last:
                self._log_window(log, lr, samples_per_epoch, started)
            if settings.test_interval and self.iteration % settings.test_interval == 0 and not last:
                self._test_all(log, started)
            self.elapsed = time.perf_counter() - started
            if callback is not None:
                callback(self)
            if self.stopping and not last and self.window[2]:  # stopped early: the window in progress is logged
                self._log_window(log, lr, samples_per_epoch, started)
            if checkpoint is not None:
                checkpoint(self)
        self.seconds = time.perf_counter() - started
        if final and len(self.train_split.x):  # no iteration ran here, or one stopped early: not released yet
            self._release_samples()
        return self._test_all(log, started)

    def _release_samples(self):
        """Drop this trainer's references to the training samples (another holder, such as an in-memory
        Split a caller passed, keeps them alive); the labels and the batcher's position stay."""
        samples = self.train_split
        self.train_split = self.batcher.split = replace(samples, x=np.empty((0, *samples.x.shape[1:]), samples.x.dtype))

    def _accumulate(self, index, passes):
        """Add pass ``index``'s gradients (in the store) to the sum; after the last pass the store holds the
        sum of all ``passes``: g1 + g2 + ... in that order, as Caffe's diffs accumulate."""
        gradients = self.network.store.grad_flat
        if index == 0:
            np.copyto(self.accumulated, gradients)
        elif index < passes - 1:
            self.accumulated += gradients
        else:
            gradients += self.accumulated

    def _log_window(self, log, lr, samples_per_epoch, started):
        """Log the display window's mean loss (or with average_loss the last iterations') and mean accuracy as one
        train record, and start a new window."""
        window_loss, window_accuracy, window = self.window
        loss = window_loss / window if self.recent is None else sum(self.recent) / len(self.recent)
        log({"phase": "train", "iteration": self.iteration,
             "epoch": self.iteration * self.settings.samples_per_iteration / samples_per_epoch,
             "loss": loss, "accuracy": window_accuracy / window if "accuracy" in self.reported else None,
             "lr": lr, **({"losses": self.last_losses} if self.last_losses else {}),
             "elapsed": time.perf_counter() - started})
        self.window = [0.0, 0.0, 0]


def _first_batches(split, batches, batch_size):
    """``split``'s first ``batches`` x ``batch_size`` samples (all of it when that is more, or ``batches`` None)."""
    if split is None or batches is None or batches * batch_size >= len(split):
        return split
    return split.head(batches * batch_size)


def load_test_sets(model, data_dir=None, report=None):
    """[(name, Split)] of the test section's further sets (``also``), for the Trainer's ``test_sets``; a
    ``path`` that names nothing is a DataError located at /test/also/INDEX/data/path in the model's file."""
    from graphnn.datasets.split import data_root, load_split
    from graphnn.errors import DataError
    from graphnn.model.schema import TEST, with_defaults

    schema, root, sets = TEST["properties"]["also"]["items"]["properties"]["data"], data_root(model), []
    for index, entry in enumerate((model.test or {}).get("also", ())):
        path = entry["data"].get("path")
        if path is not None and not (root / path).exists():
            raise DataError(f"no such file or folder: {root / path}", file=model.file,
                            path=f"/test/also/{index}/data/path")
        sets.append((entry["name"], load_split(with_defaults(entry["data"], schema), data_dir=data_dir, root=root,
                                               report=report)))
    return sets


def _short(metrics):
    """A test record's metrics: the loss, the accuracy (None without one), the other metrics (accuracy_top5),
    and each loss's own value when there are several (a loss of weight 0 is reported so)."""
    losses = metrics.get("losses", {})
    return {"loss": metrics["loss"], "accuracy": metrics["accuracy"], **metrics.get("metrics", {}),
            **({"losses": losses} if len(losses) > 1 else {})}
