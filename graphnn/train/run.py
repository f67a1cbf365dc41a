"""A whole training run as one object: settings, data, the Trainer, the run folder, snapshots and resume,
stop signals and data-parallel training. ``graphnn run`` is a thin face of it, and so is Python:

    from graphnn.model import load_model
    from graphnn.train.run import Run

    summary = Run(load_model("models/mlp784.json"), {"iterations": 200}, out="runs/mlp").train()
    summary = Run.resume("runs/mlp").train()     # after a stop: on from runs/mlp/snapshot.gnn, bit for bit

    # data-parallel: the same lines on every rank of `mpiexec -n K python script.py` (docs/distributed.md)
    from graphnn.train.distributed import connect
    world = connect()
    with world.guard():                           # an error on one rank ends every rank
        Run(load_model("models/mlp784.json"), out="runs/mlp", world=world).train()

``train()`` writes the run folder (graphnn/train/rundir.py) and returns its summary. Ctrl-C or SIGTERM
stops it at the end of the iteration with a snapshot and raises signals.Interrupted; a run that stops
being finite raises TrainingError. Every rank trains; rank 0 alone writes the folder and reports.
"""

import os

import numpy as np

from graphnn.datasets.split import load_data
from graphnn.errors import GraphnnError, TrainingError, WriteError
from graphnn.train import snapshots
from graphnn.train.feeding import check_fields
from graphnn.train.loop import Trainer, load_test_sets
from graphnn.train.rundir import RunDirectory, claim
from graphnn.train.settings import check_trainable, recorded_overrides, resolve_settings
from graphnn.train.signals import Interrupted, stop_signals


class Run:
    """One run of ``model``: its ``settings``, its ``trainer`` and its ``folder``.

    ``overrides``: changes to the model's train section (graphnn/train/settings.py). ``out``: the run
    folder (default runs/<model name>), which only ``train()`` writes. ``world``: a distributed.World to
    train data-parallel on. ``report(line)`` hears what rank 0 has to say before training (dataset
    downloads, the ranks and the batch split).

    In memory (what ``Model.fit`` hands over, graphnn/api.py): ``train`` and ``test``, Splits
    (graphnn/datasets/split.py) to use instead of the data the model's sections name (with ``train``
    given, the test section's data is read only when ``test`` is given too); ``network``, a Network to go
    on training instead of fresh weights; ``callbacks`` (graphnn/train/callbacks.py), called at every
    epoch's end with the epoch's metrics and those of ``validation``, a Split. The train section's own
    ``callbacks`` come first; with them and no ``validation``, the test data is evaluated as validation.
    """

    overwrite = False  # whether a new run may replace another run's results or snapshot in its folder

    def __init__(self, model, overrides=None, out=None, *, world=None, report=None, train=None, test=None,
                 network=None, callbacks=(), validation=None):
        from graphnn.train.callbacks import from_model
        from graphnn.train.distributed import DataParallel

        check_trainable(model)
        self.model, self.world = model, world
        self.folder = out or f"runs/{model.name}"
        self.leader = world is None or world.leader  # the process that writes the folder and reports
        self.report = report if self.leader else None
        self.resumed = None  # the snapshot's metadata, for a resumed run
        self._callback_state = (None, {})  # the callbacks' state a resumed run's snapshot kept
        overrides = overrides or {}
        data_dir = overrides.get("data_dir")
        test_sets = []  # the test section's further sets (its "also"), read with its own data
        if train is None:
            train = load_data(model, "train", data_dir, self.report)
            test = load_data(model, "test", data_dir, self.report) if model.test else None
            test_sets = load_test_sets(model, data_dir, self.report)
        self.settings = resolve_settings(model, overrides, train_size=len(train))
        strategy = DataParallel(world, self.report) if world is not None else None
        self.trainer = Trainer(model, self.settings, train, test, network=network, strategy=strategy,
                               test_sets=test_sets)
        if validation is not None:
            check_fields(model.plan, validation)
        written = from_model(model, self.folder)  # the train section's own callbacks (graphnn run's too)
        if written and validation is None:
            validation = test  # what they watch as val_loss and val_accuracy: the test data (on every rank)
        written = [callback for callback in written if self.leader or not callback.writes_files]  # files: rank 0's
        self.callbacks, self.validation = written + list(callbacks), validation

    @classmethod
    def resume(cls, folder, model=None, overrides=None, *, world=None, report=None, **memory):
        """The run whose snapshot is in ``folder``, restored to continue where the snapshot left it.

        ``model`` and ``overrides`` default to the snapshot's own (its model, and the settings it recorded);
        when given, they must give the snapshot's model and settings (a difference is refused, naming the
        first one), but for ``data_dir`` and ``snapshot_interval``, which change no number. ``memory``: the
        in-memory data and callbacks of ``Run(...)`` (``train``, ``test``, ``callbacks``, ``validation``),
        which must be the stopped run's; the callbacks go on from the state the snapshot kept.
        """
        from graphnn.train import distributed

        saved = snapshots.read(folder) if world is None else distributed.read_snapshot(world, folder)
        file = str(snapshots.snapshot_path(folder))
        if model is None:
            model = saved.model  # read from the snapshot: its relative data paths are from the run folder
            try:
                overrides = {**recorded_overrides(saved.metadata["snapshot"]["settings"]), **(overrides or {})}
            except GraphnnError as error:
                raise error.located(file=file, path="/metadata/snapshot/settings" + (error.path or "")) from None
        run = cls(model, overrides, folder, world=world, report=report, **memory)
        run.resumed = snapshots.restore(run.trainer, saved, file=file)
        run._callback_state = snapshots.callback_state(saved)
        note = snapshots.thread_note(saved)  # another BLAS thread count: not bit-identical, said in one line
        if note is not None and run.report is not None:
            run.report(note)
        return run

    def start_from(self, bundle, ignore_mismatch=False, source=None):
        """Fine-tuning (``graphnn run --weights``): this new run's network starts from ``bundle``'s weights and
        state, matched by node name (graphnn/train/finetune.py: a shape mismatch is a ShapeError unless
        ``ignore_mismatch``); returns the WeightMatch saying what was loaded, new and dropped."""
        from graphnn.train.finetune import load_matching

        if self.resumed is not None:
            raise GraphnnError("a resumed run goes on from its snapshot's weights; start a new run to fine-tune")
        return load_matching(self.trainer.network, bundle, ignore_mismatch, source)

    def train(self, log=None, callbacks=()):
        """Train to the last iteration, test, and write the run folder; returns the summary (None on ranks
        other than 0). ``log(record)`` hears every metrics record as it is written (on rank 0);
        ``callbacks`` join the run's own for this training (e.g. the progress bar, graphnn/train/progress.py).
        The folder is locked while it trains: a second run into it at the same time is refused (FolderInUse)."""
        lock = lock_folder(self.folder) if self.leader else None
        try:
            return self._train(log, callbacks)
        finally:
            if lock is not None:
                os.close(lock)  # the lock goes with the descriptor (and with the process, however it ends)

    def _train(self, log, callbacks):
        from graphnn.train.callbacks import Epochs

        trainer, folder, strategy = self.trainer, self.folder, self.trainer.strategy
        epochs, (state, arrays) = None, self._callback_state
        if self.callbacks or callbacks or self.validation is not None or state is not None:
            epochs = Epochs(self.callbacks, self.validation, display=callbacks, settings=trainer.settings)
            if state is not None:  # resumed: the callbacks go on as the snapshot left them
                try:
                    epochs.load_state_dict(state, arrays)
                except GraphnnError as error:  # located in the snapshot's callbacks section
                    error.path = "/metadata/snapshot/callbacks" + (error.path or "")
                    raise error.located(file=str(snapshots.snapshot_path(folder))) from None
        directory = None
        if self.leader and self.resumed is not None:
            directory = RunDirectory(folder, keep=self.resumed["records"])
        elif self.leader:
            claim(folder, self.overwrite)  # another run's results or snapshot there: refused unless overwrite
            directory = RunDirectory(folder)
        if directory is not None:
            directory.callbacks = epochs  # a rescue snapshot keeps their state too

        def record(entry):
            if directory is not None:
                directory.log(entry)
                if log is not None:
                    log(entry)

        # the divergence guard reports NaN and overflow, naming the node: numpy's own warnings would be noise
        with stop_signals() as stop, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            stop = strategy.agree_on(stop)  # every rank stops after the same iteration
            checkpoint = snapshots.Checkpointer(folder, directory, stop, epochs) if self.leader else strategy.follow
            hook = checkpoint
            if self.world is None:  # after the last snapshot, a stop signal ends the final test and save at once
                def hook(trainer):
                    checkpoint(trainer)
                    if checkpoint.last == trainer.iteration and \
                            (trainer.iteration == trainer.settings.iterations or trainer.stopping):
                        stop.urgent = (trainer.iteration, snapshots.snapshot_path(folder))
            try:
                test_metrics = trainer.run(record, hook, epochs, final=True)
                self._stop_after_final_test(stop, checkpoint)
                if directory is not None:
                    try:
                        return directory.finish(trainer, test_metrics)
                    except (OSError, WriteError) as error:
                        raise directory.rescue(trainer, error, checkpoint.last) from None
                return None
            except Interrupted as stopped:
                if self.world is not None and stopped.iteration is not None:
                    self.world.barrier()  # ranks > 0 wait until rank 0 has written the snapshot
                if directory is not None:
                    directory.close()
                raise
            except TrainingError as error:
                if error.path is not None:  # a setting's JSON path (/train/lr): in the model file
                    error.located(file=self.model.file)
                if self.leader and checkpoint.last is not None:
                    error.message += f" (the last snapshot, of iteration {checkpoint.last}, is in {folder})"
                raise
            except (OSError, WriteError) as error:  # the folder cannot be written: save the state elsewhere
                if directory is None or getattr(error, "rescued", False):
                    raise
                directory.close()
                raise directory.rescue(trainer, error, checkpoint.last) from None

    def _stop_after_final_test(self, stop, checkpoint):
        """Raise Interrupted when a stop signal came during the final test (after the last snapshot). On one
        process the handler already raises once that snapshot is written (``stop.urgent``); data-parallel,
        the collective test runs to its end and the ranks then agree on whether any of them was signalled;
        from then on, a signal to rank 0 while it writes the folder stops it at once, as on one process."""
        trainer, folder = self.trainer, self.folder
        signum = stop.signal
        if self.world is not None:
            local = trainer.strategy.local_stop
            signum = trainer.strategy.final_signal()
            if self.leader and signum is None:
                local.urgent = (trainer.iteration, snapshots.snapshot_path(folder))
                signum = local.signal  # one that came between the agreement and the line above
        if signum is not None:
            done = self.world is not None or checkpoint.last == trainer.iteration  # rank 0 wrote it at the end
            raise Interrupted(signum, trainer.iteration, snapshots.snapshot_path(folder) if done else None)


def lock_folder(folder):
    """A descriptor of ``folder`` (made if need be) holding an exclusive flock on it (no lock file is left
    behind; os.close releases it); FolderInUse when another run holds it. Without fcntl (Windows) nothing
    is locked: None."""
    try:
        import fcntl
    except ImportError:
        return None
    from pathlib import Path

    from graphnn.train.rundir import FolderInUse

    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as error:
        raise WriteError(f"cannot write {folder}: {error.strerror or error}; nothing was trained yet") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        raise FolderInUse("another graphnn run is training into this folder now; wait for it to end, or choose "
                          "another --out", file=str(folder)) from None
    return descriptor
