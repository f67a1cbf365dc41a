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

A run's snapshot (graphnn/train/snapshots.py) keeps its callbacks' state, so that a resumed run (``graphnn
run --resume``, ``Model.fit(..., resume=True)``) goes on exactly as one never stopped: the epoch in progress
(its loss and accuracy sums), the learning rate ReduceLROnPlateau set, and each callback's
``state_dict()`` (JSON data: EarlyStopping's best value and wait, ModelCheckpoint's best, CSVLogger's rows
written, History's curves) with its ``state_arrays()`` (EarlyStopping's best weights). A callback of your
own keeps state by defining those two and ``load_state_dict(state, arrays)``; a plain callable keeps none.
Resuming checks that the run has the snapshot's callbacks, of the same types in the same order.
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

    def state_dict(self):
        """What a snapshot keeps of this callback, as JSON data (numbers, strings, lists, dicts)."""
        return {}

    def state_arrays(self):
        """Arrays a snapshot keeps of this callback: {"weights/NODE/NAME" or "state/NODE/NAME": array}."""
        return {}

    def load_state_dict(self, state, arrays):
        """Go on from ``state_dict()`` and ``state_arrays()`` as a snapshot kept them (a GraphnnError, located
        by its ``path`` in ``state``, when they are not this callback's)."""


def expect(state, key, kind, *, optional=False):
    """``state[key]`` when it is of ``kind`` (a type or tuple of types; never a bool for a number), else a
    GraphnnError at /key: what a callback's load_state_dict checks a snapshot's values with."""
    value = state.get(key) if isinstance(state, dict) else None
    if value is None and optional:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds) \
            or (isinstance(value, int) and not isinstance(value, bool) and int in kinds and value < 0):
        names = " or ".join("a non-negative integer" if k is int else "a " + k.__name__ for k in kinds)
        raise GraphnnError(f"must be {names}; got {value!r:.60}", path=f"/{key}")
    return value


def json_number(value):
    """``value`` as a float for JSON, None when it is not finite (JSON has no infinity)."""
    value = float(value)
    return value if math.isfinite(value) else None


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

    def _monitor_state(self):
        return {"best": json_number(self.best)}

    def _load_monitor_state(self, state):
        best = expect(state, "best", (int, float), optional=True)
        self.best = (math.inf if self.lower else -math.inf) if best is None else float(best)


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

    def state_dict(self):
        return {**self._monitor_state(), "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch}

    def state_arrays(self):
        if self._best_arrays is None:
            return {}
        weights, state = self._best_arrays
        return {f"{group}/{node}/{name}": array for group, arrays in (("weights", weights), ("state", state))
                for node, named in arrays.items() for name, array in named.items()}

    def load_state_dict(self, state, arrays):
        self._load_monitor_state(state)
        self.wait = expect(state, "wait", int)
        self.best_epoch = expect(state, "best_epoch", int, optional=True)
        self.stopped_epoch = expect(state, "stopped_epoch", int, optional=True)
        if not arrays:
            self._best_arrays = None
            return
        best = ({}, {})
        for key, array in arrays.items():
            group, node, name = key.split("/")
            best[group == "state"].setdefault(node, {})[name] = array
        self._best_arrays = best

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

    def state_dict(self):
        return self._monitor_state()

    def load_state_dict(self, state, arrays):
        self._load_monitor_state(state)

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

    def state_dict(self):  # the learning rate it set is kept by the run (Epochs.state_dict)
        return {**self._monitor_state(), "wait": self.wait}

    def load_state_dict(self, state, arrays):
        self._load_monitor_state(state)
        self.wait = expect(state, "wait", int)

    def __repr__(self):
        return f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.factor}, patience={self.patience})"


class CSVLogger(Callback):
    """One CSV row per epoch: ``epoch`` and every value of its logs. A resumed run appends to the file it
    was writing, cut back to the rows its snapshot counted."""

    writes_files = True

    def __init__(self, path, append=False):
        self.path, self.append, self._writer, self._file = Path(path), append, None, None
        self._fields = None  # the columns, once the first row is written

    def _open(self, mode):
        from graphnn.io.inside import open_for_writing

        self._file = open_for_writing(self.path, mode, newline="", encoding="utf-8")  # a link there: replaced
        self._writer = csv.DictWriter(self._file, self._fields)

    def on_epoch_end(self, epoch, logs):
        if self._writer is None:
            exists = self.append and self.path.exists() and self.path.stat().st_size
            self._fields = ["epoch", *logs]
            self._open("a" if self.append else "w")
            if not exists:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **logs})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None

    def state_dict(self):
        return {"fields": self._fields, "size": None if self._file is None else self._file.tell()}

    def load_state_dict(self, state, arrays):
        fields, size = expect(state, "fields", list, optional=True), expect(state, "size", int, optional=True)
        if fields is None or size is None:
            return  # no row written yet: it starts as a new one does
        if not all(isinstance(field, str) for field in fields):
            raise GraphnnError(f"must be a list of column names; got {fields!r:.60}", path="/fields")
        held = self.path.stat().st_size if self.path.is_file() else None
        if held is None or held < size:
            found = "is missing" if held is None else f"holds {held} bytes"
            raise GraphnnError(f"CSVLogger cannot go on: {self.path} {found}; the snapshot counted {size} written "
                               "(put the file back, or start a new run)", path="/size")
        with open(self.path, "r+b") as file:
            file.truncate(size)  # rows written after the snapshot: the resumed run writes them again
        self._fields = fields
        self._open("a")

    def __repr__(self):
        return f"CSVLogger({str(self.path)!r})"


def from_model(model, folder):
    """The callbacks of ``model``'s train section (``"callbacks": [{"type": "early_stopping", ...}]``, declared
    in graphnn/model/schema.py), their paths taken from the run ``folder``."""
    from graphnn.io.inside import inside

    made = []
    for index, spec in enumerate((model.train or {}).get("callbacks", ())):
        spec = dict(spec)
        kind = _FROM_FILE[spec.pop("type")]
        if "path" in spec:  # relative, no '..', only {epoch} (graphnn/io/inside.py)
            spec["path"] = str(inside(folder, spec["path"], file=model.file, path=f"/train/callbacks/{index}/path"))
        made.append(kind(**spec))
    return made


class Epochs:
    """The Trainer's per-iteration hook that turns iterations into epochs for ``callbacks``.

    ``validation``: a Split evaluated at each epoch's end (``val_loss``, ``val_accuracy``). ``display``:
    callbacks for this training only (the progress bar), whose state a snapshot does not keep.
    ``settings``: the run's (graphnn/train/settings.py); ReduceLROnPlateau changes its base learning rate."""

    def __init__(self, callbacks, validation=None, display=(), settings=None):
        self.kept = [as_callback(item) for item in callbacks]
        self.callbacks = self.kept + [as_callback(item) for item in display]
        self.validation, self.settings = validation, settings
        self.start_lr = settings.lr["base_lr"] if settings is not None else None  # before any callback changed it
        self.sums = [0.0, 0.0, 0]
        self.epoch = None  # epochs completed so far
        self.logs = {}  # the last epoch's
        self.begun = False

    def begin(self, trainer):
        self.begun = True
        for callback in self.callbacks:
            callback.trainer = trainer
        if self.epoch is None:  # a resumed run has it from its snapshot
            self.epoch = self._epochs_done(trainer)
        for callback in self.callbacks:
            callback.on_train_begin({})

    @staticmethod
    def _epochs_done(trainer):
        return trainer.iteration * trainer.settings.samples_per_iteration // len(trainer.train_split.y)

    def __call__(self, trainer):
        if not self.begun:
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
        logs = {"loss": float(loss_sum / count)}
        if "accuracy" in trainer.reported:  # a regression reports no accuracy (graphnn/train/evaluate.py)
            logs["accuracy"] = float(accuracy_sum / count)
        if self.validation is not None:
            metrics = trainer.strategy.evaluate(trainer.network, self.validation, trainer.settings.test_batch_size)
            logs["val_loss"] = float(metrics["loss"])
            if metrics["accuracy"] is not None:
                logs["val_accuracy"] = float(metrics["accuracy"])
        from graphnn.train.lr_policies import checked_learning_rate

        logs.update(lr=checked_learning_rate(trainer.settings, max(trainer.iteration - 1, 0)),
                    iteration=trainer.iteration)
        self.sums = [0.0, 0.0, 0]
        self.logs = logs
        for callback in self.callbacks:
            callback.on_epoch_end(self.epoch - 1, logs)  # epochs are numbered from 0, as Keras does

    # snapshots (graphnn/train/snapshots.py)
    def state_dict(self):
        """{"epoch", "sums", "logs", "base_lr", "callbacks": [{"type", "state"}, ...]}: JSON data."""
        loss_sum, accuracy_sum, count = self.sums
        return {"epoch": self.epoch, "sums": [float(loss_sum), float(accuracy_sum), int(count)],
                "logs": {key: json_number(value) for key, value in self.logs.items()},
                "base_lr": None if self.settings is None else self.settings.lr["base_lr"],
                "callbacks": [{"type": type(callback).__name__, "state": callback.state_dict()}
                              for callback in self.kept]}

    def state_arrays(self):
        """{"INDEX.GROUP/NODE/NAME": array}: the kept callbacks' arrays (GROUP/NODE/NAME: their own keys)."""
        return {f"{index}.{key}": array for index, callback in enumerate(self.kept)
                for key, array in callback.state_arrays().items()}

    def load_state_dict(self, state, arrays):
        """Go on from ``state_dict()`` and ``state_arrays()`` as a snapshot kept them; a GraphnnError located in
        ``state`` when they are not this run's (other callbacks, values of the wrong kind)."""
        saved = [item.get("type") if isinstance(item, dict) else None for item in expect(state, "callbacks", list)]
        ours = [type(callback).__name__ for callback in self.kept]
        if saved != ours:
            raise GraphnnError(f"cannot resume: the snapshot was made with callbacks [{', '.join(map(str, saved))}], "
                               f"this run has [{', '.join(ours)}]", path="/callbacks")
        epoch = expect(state, "epoch", int, optional=True)
        sums = expect(state, "sums", list)
        if len(sums) != 3 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in sums) \
                or not all(math.isfinite(v) for v in sums[:2]) or type(sums[2]) is not int or sums[2] < 0:
            raise GraphnnError(f"must be [loss sum, accuracy sum, count]; got {sums!r:.60}", path="/sums")
        logs = expect(state, "logs", dict)
        base_lr = expect(state, "base_lr", (int, float), optional=True)
        for index, (callback, item) in enumerate(zip(self.kept, state["callbacks"])):
            mine = {key[len(f"{index}."):]: array for key, array in arrays.items() if key.startswith(f"{index}.")}
            try:
                callback.load_state_dict(expect(item, "state", dict), mine)
            except GraphnnError as error:
                error.path = f"/callbacks/{index}/state" + (error.path or "")
                raise
        self.epoch, self.sums, self.logs = epoch, [float(sums[0]), float(sums[1]), sums[2]], logs
        if base_lr is not None and self.settings is not None:
            if not math.isfinite(base_lr) or base_lr <= 0:
                raise GraphnnError(f"must be a positive learning rate; got {base_lr!r}", path="/base_lr")
            self.settings.lr["base_lr"] = float(base_lr)


_FROM_FILE = {"early_stopping": EarlyStopping, "model_checkpoint": ModelCheckpoint,
              "reduce_lr_on_plateau": ReduceLROnPlateau, "csv_logger": CSVLogger}
