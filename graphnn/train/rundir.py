"""What a run leaves in its output folder:

- ``model.gnn``     the trained network (graphnn.io.bundle), with the run's settings and test metrics; its
                    model's relative data paths are re-expressed from this folder (graphnn/datasets/split.py),
                    so that ``graphnn test`` finds the run's test data;
- ``metrics.jsonl`` one JSON object per logged step ({"phase": "train"|"test"|"test/NAME" (a further test set),
                    "iteration", ...});
- ``snapshot.gnn``  the training state to resume from (graphnn/train/snapshots.py);
- ``summary.json``  {"test": {"accuracy", "loss", "samples"}, "train": {"iterations", "samples_per_s",
                    "seconds"}, "seed", "graphnn_version", ...};
- ``loss.svg``      loss and accuracy against iteration: training as a line, the tests as marked points.

Every JSON document here goes through one rule (graphnn/io/jsonsafe.py): a NaN or infinite metric is
written as null with a ``"non_finite"`` note, so a test loss that overflowed never loses the trained model.

A run folder belongs to one run. A new run refuses a folder that holds another run's results or snapshot
(``claim``: exit 2, saying to resume it, write elsewhere or pass ``--force``/``--overwrite``). When the folder cannot be
written (disk full, read-only, a folder where a file goes), the run stops with a WriteError (exit 1) that
says what was kept: the folder's own snapshot when it holds the trained state, else a rescue folder
(``rescue``: a snapshot and the metrics in a new folder under the temporary directory) to resume from.
"""

import errno
import os
import tempfile
from pathlib import Path

from graphnn import __version__
from graphnn.datasets.split import rebased
from graphnn.errors import GraphnnError, InputError, WriteError
from graphnn.io.atomic import write_atomic
from graphnn.io.bundle import Bundle, save_bundle
from graphnn.io.inside import open_for_writing
from graphnn.io.jsonsafe import dumps, noted
from graphnn.io.regular import require_regular_file
from graphnn.model import jsontext
from graphnn.viz.plot import training_chart_svg

RESULTS = ("snapshot.gnn", "model.gnn", "metrics.jsonl", "summary.json")


class FolderInUse(InputError):
    """The output folder holds another run's results or snapshot. Fix: ``--resume FOLDER`` to continue that
    run, another ``--out``, or ``--force``/``--overwrite`` (``Run.overwrite = True``) to replace it. A folder
    another run is training into now is refused too (graphnn/train/run.py ``lock_folder``)."""


def claim(folder, overwrite=False):
    """Refuse to start a new run in ``folder`` when it holds another run's files (FolderInUse), unless
    ``overwrite``; a snapshot there is then deleted (it is not the new run's)."""
    folder = Path(folder)
    found = [name for name in RESULTS if os.path.lexists(folder / name)]
    if found and not overwrite:
        what = "a snapshot to resume from" if "snapshot.gnn" in found else "another run's results"
        raise FolderInUse(f"already holds {what} ({', '.join(found)}); continue it with --resume {folder}, "
                          f"choose another --out, or pass --force (--overwrite) to replace it", file=str(folder))
    path = folder / "snapshot.gnn"
    if overwrite and os.path.lexists(path):
        try:
            path.unlink()
        except OSError as error:
            raise _write_error(path, error, "nothing was trained yet") from None


def _write_error(path, error, kept, folder=None):
    reason = error.strerror or str(error)
    if isinstance(error, IsADirectoryError) or error.errno == errno.EISDIR:
        reason = "a folder is in its place"
    return WriteError(f"cannot write {path}: {reason}; {kept}", kept=folder)


class RunDirectory:
    """Writes a run's outputs; metrics are appended as they come.

    ``RunDirectory(folder, keep=N)`` resumes a run: the first N records of metrics.jsonl (those its
    snapshot counted) are kept and later ones, written after the snapshot, are dropped.
    """

    callbacks = None  # the run's callbacks.Epochs (graphnn/train/run.py sets it): a rescue snapshot keeps their state

    def __init__(self, folder, keep=None):
        self.folder = Path(folder)
        self.failure = None  # the first WriteError of a metrics line, raised by sync() and finish()
        path = self.folder / "metrics.jsonl"
        nothing = "nothing was trained yet" if keep is None else "the snapshot in the folder is unchanged"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise _write_error(self.folder, error, nothing) from None
        if os.path.lexists(path) and not path.is_dir():  # a named pipe there would block open() forever
            require_regular_file(path)
        self.records = []
        try:
            if keep is not None:  # replaced atomically, so a kill now cannot lose the records the snapshot counts
                lines, self.records = self._kept_lines(path, keep)
                write_atomic(path, "".join(line + "\n" for line in lines).encode())
            self._metrics = open_for_writing(path, "a" if keep is not None else "w", encoding="utf-8")  # a link: replaced
        except OSError as error:
            raise _write_error(path, error, nothing) from None

    @staticmethod
    def _kept_lines(path, keep):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()[:keep]
            records = [jsontext.load_json(line) for line in lines]  # nesting limited: no RecursionError
        except (OSError, UnicodeDecodeError) as error:
            raise GraphnnError(f"cannot read the metrics the snapshot counts: {error}", file=str(path)) from None
        except GraphnnError as error:
            raise GraphnnError(f"cannot read the metrics the snapshot counts: {error.message}",
                               file=str(path)) from None
        if len(lines) != keep:
            raise GraphnnError(f"holds {len(lines)} records; the snapshot counts {keep}", file=str(path))
        return lines, records

    @property
    def count(self):
        """Records written so far."""
        return len(self.records)

    def log(self, record):
        """Append ``record`` (kept in memory in any case). A write that fails is remembered, not raised here,
        in the middle of an iteration: sync() and finish() raise it, where the state can be saved whole."""
        self.records.append(record)
        if self.failure is not None:
            return
        try:
            self._metrics.write(dumps(record) + "\n")
            self._metrics.flush()
        except OSError as error:
            self.failure = _write_error(self.folder / "metrics.jsonl", error, "")

    def sync(self):
        """Make the records written so far durable (before a snapshot that counts them); raises the WriteError
        of a metrics line that could not be written."""
        if self.failure is None:
            try:
                self._metrics.flush()
                os.fsync(self._metrics.fileno())
            except OSError as error:
                self.failure = _write_error(self.folder / "metrics.jsonl", error, "")
        if self.failure is not None:
            raise self.failure

    def close(self):
        try:
            self._metrics.close()
        except OSError as error:
            if self.failure is None:
                self.failure = _write_error(self.folder / "metrics.jsonl", error, "")

    def finish(self, trainer, test_metrics):
        """Write the bundle, summary and loss curve once training ended (an OSError or a metrics line that
        could not be written raises; Run.train then says what was kept)."""
        self.close()
        if self.failure is not None:
            raise self.failure
        settings = trainer.settings
        samples = trainer.iteration * settings.samples_per_iteration
        summary = {
            "model": trainer.model.name,
            "test": None if test_metrics is None else
            {key: test_metrics[key] for key in ("accuracy", "loss", "samples")},
            "train": {"iterations": trainer.iteration, "batch_size": settings.batch_size,
                      "seconds": trainer.seconds, "samples_per_s": samples / trainer.seconds if trainer.seconds else 0.0},
            "seed": settings.seed, "dtype": settings.dtype, "graphnn_version": __version__,
        }
        metadata = noted({"training": {"iterations": trainer.iteration, "seed": settings.seed, "dtype": settings.dtype},
                          "test": summary["test"]})
        network = trainer.network
        model = rebased(trainer.model, self.folder)
        save_bundle(self.folder / "model.gnn", Bundle(model, network.weights, network.state, metadata))
        write_atomic(self.folder / "summary.json", (dumps(summary, indent=2) + "\n").encode())
        chart = training_chart_svg(self.records, trainer.model.name)
        write_atomic(self.folder / "loss.svg", chart.encode("utf-8"))
        return summary

    def rescue(self, trainer, error, last_snapshot=None):
        failure = self._rescue(trainer, error, last_snapshot)
        failure.rescued = True  # said what was kept: not to be rescued again
        return failure

    def _rescue(self, trainer, error, last_snapshot=None):
        """The WriteError to raise when writing the folder failed with ``error`` (an OSError or WriteError)
        at the end of an iteration or after training, saying what was kept: the folder's own snapshot when
        it holds this state and its metrics are whole, else a rescue folder (a snapshot and the metrics, in
        a new folder under the temporary directory), else the folder's last snapshot, else nothing."""
        from graphnn.train import snapshots

        first = self.failure or (error if isinstance(error, WriteError) else None)
        if first is None:
            target = getattr(error, "filename2", None) or getattr(error, "filename", None)  # os.replace: 2 is the target
            first = _write_error(target or self.folder, error, "")
        cause = first.message.rstrip("; ")
        iteration = trainer.iteration
        if last_snapshot == iteration and self.failure is None and (self.folder / snapshots.SNAPSHOT).is_file():
            return WriteError(f"{cause}; the trained state of iteration {iteration} is kept in "
                              f"{self.folder / snapshots.SNAPSHOT}", kept=str(self.folder))
        try:
            place = Path(tempfile.mkdtemp(prefix=f"graphnn-rescue-{trainer.model.name[:40]}-"))
            write_atomic(place / "metrics.jsonl", "".join(dumps(r) + "\n" for r in self.records).encode())
            snapshots.write(place, trainer, len(self.records), self.callbacks)
        except (OSError, GraphnnError):
            if last_snapshot is not None and (self.folder / snapshots.SNAPSHOT).is_file():
                return WriteError(f"{cause}; only the last snapshot, of iteration {last_snapshot}, is kept in "
                                  f"{self.folder / snapshots.SNAPSHOT} (nothing could be written elsewhere)",
                                  kept=str(self.folder) if self.failure is None else None)
            return WriteError(f"{cause}; nothing could be kept: the weights of iteration {iteration} are lost "
                              "(nothing could be written elsewhere either)")
        return WriteError(f"{cause}; the training state of iteration {iteration} is saved in {place}",
                          kept=str(place))
