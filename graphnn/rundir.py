"""What a run leaves in its output folder:

- ``model.gnn``     the trained network (graphnn.bundle), with the run's settings and test metrics;
- ``metrics.jsonl`` one JSON object per logged step ({"phase": "train"|"test", "iteration", ...});
- ``summary.json``  {"test": {"accuracy", "loss", "samples"}, "train": {"iterations", "samples_per_s",
                    "seconds"}, "seed", "graphnn_version", ...};
- ``loss.svg``      training (and test) loss against iteration.
"""

import json
from pathlib import Path

from graphnn import __version__
from graphnn.atomic import write_atomic
from graphnn.bundle import Bundle, save_bundle
from graphnn.plot import line_chart_svg


class RunDirectory:
    """Writes a run's outputs; metrics are appended as they come."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.records = []
        self._metrics = open(self.folder / "metrics.jsonl", "w", encoding="utf-8")

    def log(self, record):
        self.records.append(record)
        self._metrics.write(json.dumps(record) + "\n")
        self._metrics.flush()

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
        save_bundle(self.folder / "model.gnn", Bundle(trainer.model, network.weights, network.state, metadata))
        write_atomic(self.folder / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
        series = {phase: [(r["iteration"], r["loss"]) for r in self.records if r["phase"] == phase]
                  for phase in ("train", "test")}
        chart = line_chart_svg({f"{k} loss": v for k, v in series.items() if v}, f"{trainer.model.name}: loss",
                               "iteration", "loss")
        (self.folder / "loss.svg").write_text(chart, encoding="utf-8")
        return summary
