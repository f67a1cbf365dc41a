"""What a run leaves in its output folder:

- ``model.gnn``     the trained network (graphnn.io.bundle), with the run's settings and test metrics; its
                    model's relative data paths are re-expressed from this folder (graphnn/datasets/split.py),
                    so that ``graphnn test`` finds the run's test data;
- ``metrics.jsonl`` one JSON object per logged step ({"phase": "train"|"test", "iteration", ...});
- ``snapshot.gnn``  the training state to resume from (graphnn/train/snapshots.py);
- ``summary.json``  {"test": {"accuracy", "loss", "samples"}, "train": {"iterations", "samples_per_s",
                    "seconds"}, "seed", "graphnn_version", ...};
- ``loss.svg``      training (and test) loss against iteration.
"""

import json
import os
from pathlib import Path

from graphnn import __version__
from graphnn.datasets.split import rebased
from graphnn.errors import GraphnnError
from graphnn.io.atomic import write_atomic
from graphnn.io.bundle import Bundle, save_bundle
from graphnn.io.regular import require_regular_file
from graphnn.model import jsontext
from graphnn.viz.plot import line_chart_svg


class RunDirectory:
    """Writes a run's outputs; metrics are appended as they come.

    ``RunDirectory(folder, keep=N)`` resumes a run: the first N records of metrics.jsonl (those its
    snapshot counted) are kept and later ones, written after the snapshot, are dropped.
    """

    def __init__(self, folder, keep=None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "metrics.jsonl"
        if os.path.lexists(path):  # a named pipe there would block open() forever
            require_regular_file(path)
        self.records = []
        if keep is not None:  # replaced atomically, so a kill now cannot lose the records the snapshot counts
            lines, self.records = self._kept_lines(path, keep)
            write_atomic(path, "".join(line + "\n" for line in lines).encode())
        self._metrics = open(path, "a" if keep is not None else "w", encoding="utf-8")  # noqa: SIM115 (closed by close())

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
        self.records.append(record)
        self._metrics.write(json.dumps(record) + "\n")
        self._metrics.flush()

    def sync(self):
        """Make the records written so far durable (before a snapshot that counts them)."""
        self._metrics.flush()
        os.fsync(self._metrics.fileno())

    def close(self):
        self._metrics.close()

    def finish(self, trainer, test_metrics):
        """Write the bundle, summary and loss curve once training ended."""
        self.close()
        settings = trainer.settings
        samples = trainer.iteration * settings.batch_size
        summary = {
            "model": trainer.model.name,
            "test": None if test_metrics is None else
            {key: test_metrics[key] for key in ("accuracy", "loss", "samples")},
            "train": {"iterations": trainer.iteration, "batch_size": settings.batch_size,
                      "seconds": trainer.seconds, "samples_per_s": samples / trainer.seconds if trainer.seconds else 0.0},
            "seed": settings.seed, "dtype": settings.dtype, "graphnn_version": __version__,
        }
        metadata = {"training": {"iterations": trainer.iteration, "seed": settings.seed, "dtype": settings.dtype},
                    "test": summary["test"]}
        network = trainer.network
        model = rebased(trainer.model, self.folder)
        save_bundle(self.folder / "model.gnn", Bundle(model, network.weights, network.state, metadata))
        write_atomic(self.folder / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
        series = {phase: [(r["iteration"], r["loss"]) for r in self.records if r["phase"] == phase]
                  for phase in ("train", "test")}
        chart = line_chart_svg({f"{k} loss": v for k, v in series.items() if v}, f"{trainer.model.name}: loss",
                               "iteration", "loss")
        (self.folder / "loss.svg").write_text(chart, encoding="utf-8")
        return summary
