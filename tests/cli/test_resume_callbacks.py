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


MUTATIONS = {  # the snapshot's callbacks state, changed: each is refused in one located line
    "not a dict": lambda s: s.__setitem__("callbacks", "x"),
    "callbacks not a list": lambda s: s["callbacks"].__setitem__("callbacks", 5),
    "an item not an object": lambda s: s["callbacks"]["callbacks"].__setitem__(0, "x"),
    "a callback missing": lambda s: s["callbacks"]["callbacks"].pop(),
    "sums short": lambda s: s["callbacks"].__setitem__("sums", [1.0, 2.0]),
    "sums of text": lambda s: s["callbacks"].__setitem__("sums", ["a", 0.0, 1]),
    "negative epoch": lambda s: s["callbacks"].__setitem__("epoch", -1),
    "a negative lr": lambda s: s["callbacks"].__setitem__("base_lr", -1.0),
    "state a list": lambda s: s["callbacks"]["callbacks"][0].__setitem__("state", []),
    "best as text": lambda s: s["callbacks"]["callbacks"][0]["state"].__setitem__("best", "low"),
    "wait a float": lambda s: s["callbacks"]["callbacks"][1]["state"].__setitem__("wait", 1.5),
    "csv columns of numbers": lambda s: s["callbacks"]["callbacks"][2]["state"].__setitem__("fields", [1, 2]),
    "csv longer than the file": lambda s: s["callbacks"]["callbacks"][2]["state"].__setitem__("size", 10**12),
}


@pytest.fixture(scope="module")
def stopped(tmp_path_factory, mnist_dir):
    """(the model file, a run folder stopped by SIGINT at iteration 25 with the file's callbacks)."""
    folder = tmp_path_factory.mktemp("stopped")
    document = json.loads(MLP.read_text())
    document["train"].update(data={"dataset": "mnist", "split": "train", "limit": 1000}, epochs=4)
    document["train"].pop("iterations")
    document["train"]["callbacks"] = [
        {"type": "early_stopping", "monitor": "val_loss", "patience": 10, "restore_best_weights": True},
        {"type": "reduce_lr_on_plateau", "monitor": "val_loss", "factor": 0.5, "patience": 0},
        {"type": "csv_logger", "path": "epochs.csv"}]
    document["test"] = {"data": {"dataset": "mnist", "split": "test", "limit": 300}, "batch_size": 300}
    path = folder / "model.json"
    path.write_text(json.dumps(document))
    run = Run(load_model(path), {"data_dir": str(mnist_dir)}, out=str(folder / "run"))
    with pytest.raises(Interrupted):
        run.train(callbacks=[StopAt(25)])
    return path, folder / "run"


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_damaged_callback_state_is_refused_in_one_line(name, stopped, mnist_dir, tmp_path):
    import shutil

    from graphnn.io.bundle import load_bundle, save_bundle

    model, original = stopped
    folder = tmp_path / "run"
    shutil.copytree(original, folder)
    bundle = load_bundle(folder / "snapshot.gnn")
    metadata = json.loads(json.dumps(bundle.metadata))
    MUTATIONS[name](metadata["snapshot"])
    save_bundle(folder / "snapshot.gnn", type(bundle)(bundle.model, bundle.weights, bundle.state, metadata,
                                                       bundle.extra))
    result = CliRunner().invoke(main, ["run", str(model), "--data-dir", str(mnist_dir), "--resume", str(folder)])
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert f"error: {folder / 'snapshot.gnn'}: at /metadata/snapshot/callbacks" in result.output, result.output


def test_a_callback_array_that_is_no_weight_is_refused(stopped, mnist_dir, tmp_path):
    import shutil

    import numpy as np

    from graphnn.io.bundle import load_bundle, save_bundle

    model, original = stopped
    folder = tmp_path / "run"
    shutil.copytree(original, folder)
    bundle = load_bundle(folder / "snapshot.gnn")
    extra = {**bundle.extra, "extra/callbacks/0.weights/nowhere/W": np.zeros(3, np.float32)}
    save_bundle(folder / "snapshot.gnn", type(bundle)(bundle.model, bundle.weights, bundle.state, bundle.metadata,
                                                       extra))
    result = CliRunner().invoke(main, ["run", str(model), "--data-dir", str(mnist_dir), "--resume", str(folder)])
    assert result.exit_code == 2 and "callback state 'extra/callbacks/0.weights/nowhere/W' does not match" in \
        result.output, result.output
