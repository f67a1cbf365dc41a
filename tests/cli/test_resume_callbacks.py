"""``graphnn run --resume`` of a run whose model file lists callbacks goes on as if never stopped: early
stopping with best weights, an lr lowered on plateau, a CSV log and a best-only checkpoint give the same
files as the run never stopped (graphnn/train/snapshots.py keeps the callbacks' state)."""

import json
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphnn.cli import main
from graphnn.model import load_model
from graphnn.train.callbacks import Callback
from graphnn.train.run import Run
from graphnn.train.signals import Interrupted

MLP = Path(__file__).resolve().parents[2] / "models" / "mlp784.json"


class StopAt(Callback):
    """SIGINT to this process after iteration ``at``, as Ctrl-C: a snapshot, then Interrupted."""

    def __init__(self, at):
        self.at = at

    def on_iteration_end(self, trainer):
        if trainer.iteration == self.at:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def model_file(tmp_path):
    document = json.loads(MLP.read_text())
    document["train"].update(data={"dataset": "mnist", "split": "train", "limit": 1000}, epochs=4)
    document["train"].pop("iterations")
    document["train"]["callbacks"] = [
        {"type": "early_stopping", "monitor": "val_loss", "patience": 10, "restore_best_weights": True},
        {"type": "reduce_lr_on_plateau", "monitor": "val_loss", "factor": 0.5, "patience": 0, "min_delta": 10.0},
        {"type": "csv_logger", "path": "epochs.csv"},
        {"type": "model_checkpoint", "monitor": "val_accuracy", "path": "best.gnn", "save_best_only": True}]
    document["test"] = {"data": {"dataset": "mnist", "split": "test", "limit": 300}, "batch_size": 300}
    path = tmp_path / "callbacks.json"
    path.write_text(json.dumps(document))
    return path


def test_resume_with_callbacks_is_the_run_never_stopped(model_file, mnist_dir, tmp_path):
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    options = ["--data-dir", str(mnist_dir)]
    result = CliRunner().invoke(main, ["run", str(model_file), *options, "--out", str(whole)])
    assert result.exit_code == 0, result.output
    run = Run(load_model(model_file), {"data_dir": str(mnist_dir)}, out=str(stopped))
    with pytest.raises(Interrupted):
        run.train(callbacks=[StopAt(25)])  # in the third epoch, after the lr was halved once
    assert len((stopped / "epochs.csv").read_text().splitlines()) == 3  # header and two epochs
    result = CliRunner().invoke(main, ["run", str(model_file), *options, "--resume", str(stopped)])
    assert result.exit_code == 0, result.output
    rows = (whole / "epochs.csv").read_text().splitlines()
    assert len(rows) == 5 and float(rows[4].split(",")[-2]) < float(rows[2].split(",")[-2]) / 3  # lr halved twice
    for name in ("epochs.csv", "best.gnn", "model.gnn"):
        assert (stopped / name).read_bytes() == (whole / name).read_bytes(), name
