"""Callbacks: code a run calls as it trains, in Keras's style, for ``Model.fit`` and ``graphnn run`` alike.

    from graphnn.callbacks import EarlyStopping, ModelCheckpoint
    model.fit(x, y, epochs=20, validation_split=0.1,
              callbacks=[EarlyStopping("val_loss", patience=2, restore_best_weights=True),
                         ModelCheckpoint("best.gnn", save_best_only=True),
                         lambda epoch, logs: print(epoch, logs)])

A run (graphnn/train/run.py) hands its callbacks to ``Epochs``, the Trainer's per-iteration hook, which
averages each iteration's loss and accuracy over the epoch and, at the end of every epoch (and after the
last iteration, for a partial one), evaluates the validation split and calls ``on_epoch_end(epoch, logs)``
with ``logs = {"loss", "accuracy"[, "val_loss", "val_accuracy"], "lr", "iteration"}``. An epoch ends when
``iteration * batch_size`` passes a multiple of the training set's size. Every callback has ``trainer``
(graphnn/train/loop.py) set before training: ``trainer.stop()`` ends the run after this iteration,
``trainer.network`` holds the weights, ``trainer.settings.lr["base_lr"]`` scales the learning rate.

A plain callable is called as ``callable(epoch, logs)``. A model file lists callbacks in its train section,
for ``graphnn run`` (and ``fit``): ``"callbacks": [{"type": "early_stopping", "monitor": "val_loss",
"patience": 2}, {"type": "csv_logger", "path": "epochs.csv"}]``, paths taken from the run folder and the
test data watched as validation.
"""

import copy
import csv
import math
from pathlib import Path

from graphnn.errors import GraphnnError


class Callback:
    """Override what you need; every method does nothing here."""

    trainer = None
    writes_files = False  # True: only rank 0 of a data-parallel run keeps it (every rank computes the same logs)

    def on_train_begin(self, logs=None):
        pass

    def on_iteration_end(self, trainer):
        """After every iteration: ``trainer.step_metrics`` is (loss, accuracy) of its batch."""

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self, logs=None):
        pass


class LambdaCallback(Callback):
    """A callable ``function(epoch, logs)`` as a Callback."""

    def __init__(self, function):
        self.function = function

    def on_epoch_end(self, epoch, logs):
        self.function(epoch, logs)

    def __repr__(self):
        return f"LambdaCallback({self.function!r})"


def as_callback(item):
    if isinstance(item, Callback):
        return item
    if callable(item):
        return LambdaCallback(item)
    raise TypeError(f"a callback is a graphnn.callbacks.Callback or a callable(epoch, logs); got {item!r}")


class _Monitor:
    """What the monitoring callbacks share: the monitored value, whether lower is better, and ``better``."""

    def _init_monitor(self, monitor, mode, min_delta):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'; got {mode!r}")
        self.monitor, self.min_delta = monitor, abs(min_delta)
        self.lower = mode == "min" or (mode == "auto" and "acc" not in monitor)
        self.best = math.inf if self.lower else -math.inf

    def _value(self, logs):
        if self.monitor not in logs:
            raise GraphnnError(f"{type(self).__name__} monitors {self.monitor!r}, which the run does not report; "
                               f"it reports {', '.join(sorted(logs))}" +
                               (" (val_* needs validation_split or validation_data)" if
                                self.monitor.startswith("val_") else ""))
        return logs[self.monitor]

    def _better(self, value):
        return value < self.best - self.min_delta if self.lower else value > self.best + self.min_delta


class EarlyStopping(Callback, _Monitor):
    """Stop when ``monitor`` has not improved (by more than ``min_delta``) for ``patience`` epochs; with
    ``restore_best_weights``, the network ends with the weights of its best epoch."""

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto", restore_best_weights=False):
        self._init_monitor(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = patience, restore_best_weights
        self.wait, self.stopped_epoch, self.best_epoch, self._best_arrays = 0, None, None, None

    def on_epoch_end(self, epoch, logs):
        value = self._value(logs)
        if self._better(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                network = self.trainer.network
                self._best_arrays = (copy.deepcopy(network.weights), copy.deepcopy(network.state))
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop()

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self._best_arrays is not None:
            self.trainer.network.store.load(*self._best_arrays)

    def __repr__(self):
        return f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience})"


class ModelCheckpoint(Callback, _Monitor):
    """Save the network as a bundle (.gnn) at ``path`` after every epoch, or with ``save_best_only`` after
    each epoch that improves ``monitor``. ``path`` may hold ``{epoch}``."""

    writes_files = True  # a data-parallel run keeps it on rank 0 (graphnn/train/run.py)

    def __init__(self, path, monitor="val_loss", save_best_only=False, mode="auto"):
        self._init_monitor(monitor, mode, 0.0)
        self.path, self.save_best_only = str(path), save_best_only

    def on_epoch_end(self, epoch, logs):
        from graphnn.io.bundle import Bundle, save_bundle

        if self.save_best_only:
            value = self._value(logs)
            if not self._better(value):
                return
            self.best = value
        trainer = self.trainer
        metadata = {"training": {"iterations": trainer.iteration, "seed": trainer.settings.seed,
                                 "dtype": trainer.settings.dtype}, "epoch": {"epoch": epoch, **logs}}
        path = Path(self.path.format(epoch=epoch))
        path.parent.mkdir(parents=True, exist_ok=True)
        save_bundle(path, Bundle(trainer.model, trainer.network.weights, trainer.network.state, metadata))

    def __repr__(self):
        return f"ModelCheckpoint({self.path!r}, save_best_only={self.save_best_only})"


class ReduceLROnPlateau(Callback, _Monitor):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for ``patience`` epochs,
    down to ``min_lr`` (the base rate the lr policy scales: graphnn/train/lr_policies.py)."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, min_delta=1e-4, mode="auto", min_lr=0.0):
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1); got {factor!r}")
        self._init_monitor(monitor, mode, min_delta)
        self.factor, self.patience, self.min_lr, self.wait = factor, patience, min_lr, 0

    def on_epoch_end(self, epoch, logs):
        value = self._value(logs)
        if self._better(value):
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait > self.patience:
            lr = self.trainer.settings.lr
            lr["base_lr"] = max(lr["base_lr"] * self.factor, self.min_lr)
            self.wait = 0

    def __repr__(self):
        return f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor}, patience={self.patience})"


class CSVLogger(Callback):
    """One CSV row per epoch: ``epoch`` and every value of its logs."""

    writes_files = True

    def __init__(self, path, append=False):
        self.path, self.append, self._writer, self._file = Path(path), append, None, None

    def on_epoch_end(self, epoch, logs):
        if self._writer is None:
            exists = self.append and self.path.exists() and self.path.stat().st_size
            self._file = open(self.path, "a" if self.append else "w", newline="", encoding="utf-8")  # noqa: SIM115
            self._writer = csv.DictWriter(self._file, ["epoch", *logs])
            if not exists:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **logs})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None

    def __repr__(self):
        return f"CSVLogger({str(self.path)!r})"


def from_model(model, folder):
    """The callbacks of ``model``'s train section (``"callbacks": [{"type": "early_stopping", ...}]``, declared
    in graphnn/model/schema.py), their paths taken from the run ``folder``."""
    made = []
    for spec in (model.train or {}).get("callbacks", ()):
        spec = dict(spec)
        kind = _FROM_FILE[spec.pop("type")]
        if "path" in spec:
            spec["path"] = str(Path(folder) / spec["path"])
        made.append(kind(**spec))
    return made


class Epochs:
    """The Trainer's per-iteration hook that turns iterations into epochs for ``callbacks``.

    ``validation``: a Split evaluated at each epoch's end (``val_loss``, ``val_accuracy``)."""

    def __init__(self, callbacks, validation=None):
        self.callbacks = [as_callback(item) for item in callbacks]
        self.validation = validation
        self.sums = [0.0, 0.0, 0]
        self.epoch = None  # epochs completed so far
        self.logs = {}  # the last epoch's

    def begin(self, trainer):
        for callback in self.callbacks:
            callback.trainer = trainer
        self.epoch = self._epochs_done(trainer)
        for callback in self.callbacks:
            callback.on_train_begin({})

    @staticmethod
    def _epochs_done(trainer):
        return trainer.iteration * trainer.settings.batch_size // len(trainer.train_split.y)

    def __call__(self, trainer):
        if self.epoch is None:
            self.begin(trainer)
        loss, accuracy = trainer.step_metrics
        self.sums[0] += loss
        self.sums[1] += accuracy
        self.sums[2] += 1
        for callback in self.callbacks:
            callback.on_iteration_end(trainer)
        done = self._epochs_done(trainer)
        last = trainer.iteration >= trainer.settings.iterations or trainer.stopping
        if done > self.epoch or last:  # an epoch ended; or the run did, in the middle of one
            self.epoch = max(done, self.epoch + 1)
            self._epoch_end(trainer)
        if trainer.iteration >= trainer.settings.iterations or trainer.stopping:
            for callback in self.callbacks:
                callback.on_train_end(self.logs)

    def _epoch_end(self, trainer):
        loss_sum, accuracy_sum, count = self.sums
        logs = {"loss": float(loss_sum / count), "accuracy": float(accuracy_sum / count)}
        if self.validation is not None:
            metrics = trainer.strategy.evaluate(trainer.network, self.validation, trainer.settings.test_batch_size)
            logs.update(val_loss=float(metrics["loss"]), val_accuracy=float(metrics["accuracy"]))
        from graphnn.train.lr_policies import checked_learning_rate

        logs.update(lr=checked_learning_rate(trainer.settings, max(trainer.iteration - 1, 0)),
                    iteration=trainer.iteration)
        self.sums = [0.0, 0.0, 0]
        self.logs = logs
        for callback in self.callbacks:
            callback.on_epoch_end(self.epoch - 1, logs)  # epochs are numbered from 0, as Keras does


_FROM_FILE = {"early_stopping": EarlyStopping, "model_checkpoint": ModelCheckpoint,
              "reduce_lr_on_plateau": ReduceLROnPlateau, "csv_logger": CSVLogger}
