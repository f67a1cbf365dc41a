"""The Python API (graphnn/api.py) on MNIST, in short runs: fit/evaluate/predict/save/load, the callbacks,
the reprs, and that fit is the same run as ``graphnn run``."""

import csv
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphnn
from graphnn.callbacks import CSVLogger, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from graphnn.errors import DataError, GraphnnError

ROOT = Path(__file__).resolve().parents[1]
MLP = ROOT / "models" / "mlp784.json"


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    """(x, y, x_test, y_test): 2,000 training and 500 test images, uint8 (N, 28, 28), class indices."""
    x, y = graphnn.datasets.load("mnist", "train", data_dir=mnist_dir)
    x_test, y_test = graphnn.datasets.load("mnist", "test", data_dir=mnist_dir)
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    return x[:2000], y[:2000], x_test[:500], y_test[:500]


def test_dir_lists_the_public_api_and_import_stays_light():
    names = dir(graphnn)
    for name in ("Graph", "Model", "History", "load", "load_model", "Network", "Bundle", "callbacks", "datasets"):
        assert name in names
    assert not [name for name in names if name.startswith("_") and name != "__version__"]
    code = "import sys, graphnn; dir(graphnn); print('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_fit_evaluate_predict_save_load(mnist, tmp_path):
    x, y, x_test, y_test = mnist
    model = graphnn.load_model(MLP)
    assert isinstance(model, graphnn.Model) and "untrained" in repr(model)
    history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(values) == 2 for values in history.history.values()) and history.epoch == [0, 1]
    assert history.history["iteration"] == [15, 30]  # 1,500 training samples, batches of 100
    assert history.history["loss"][1] < history.history["loss"][0]
    assert all(type(value) is float for value in history.history["val_accuracy"])
    metrics = model.evaluate(x_test, y_test)
    assert metrics["samples"] == 500 and 0.5 < metrics["accuracy"] <= 1 and metrics["loss"] > 0
    probabilities = model.predict(x_test)
    assert probabilities.shape == (500, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    assert (model.predict_classes(x_test) == y_test).mean() == pytest.approx(metrics["accuracy"])
    model.save(tmp_path / "mlp.gnn")
    loaded = graphnn.load(tmp_path / "mlp.gnn")
    assert "trained" in repr(loaded) and "untrained" not in repr(loaded)
    np.testing.assert_array_equal(loaded.predict(x_test), probabilities)
    assert loaded.evaluate(x_test, y_test) == metrics
    history = loaded.fit(x, y, iterations=5, verbose=0)  # continues from the loaded weights
    assert history.history["iteration"] == [5]


def test_uint8_and_scaled_floats_indices_and_one_hot_train_alike(mnist):
    x, y, x_test, _ = mnist
    floats = x.astype(np.float32) * np.float32(1 / 255)  # what feeding does with uint8 images
    first = graphnn.load_model(MLP).fit(x, y, iterations=20, verbose=0)
    second_model = graphnn.load_model(MLP)
    second = second_model.fit(floats.reshape(len(x), 784), np.eye(10)[y], iterations=20, verbose=0)
    assert first.history == second.history
    np.testing.assert_array_equal(second_model.predict(x_test), second_model.predict(x_test.reshape(-1, 784)))


def test_fit_without_arrays_is_the_run_of_graphnn_run(mnist_dir, tmp_path):
    from click.testing import CliRunner

    from graphnn.cli import main

    model = graphnn.load_model(MLP)
    model.fit(iterations=20, data_dir=str(mnist_dir), verbose=0, run_dir=tmp_path / "fit")
    result = CliRunner().invoke(main, ["run", str(MLP), "--iterations", "20", "--data-dir", str(mnist_dir),
                                       "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    cli = graphnn.load(tmp_path / "cli" / "model.gnn")
    for node, weights in cli.network.weights.items():
        for name, array in weights.items():
            np.testing.assert_array_equal(model.network.weights[node][name], array)
    assert (tmp_path / "fit" / "model.gnn").exists() and (tmp_path / "fit" / "metrics.jsonl").exists()


def test_callbacks(mnist, tmp_path):
    x, y, x_test, y_test = mnist
    model = graphnn.load_model(MLP)
    seen = []
    stopper = EarlyStopping("val_accuracy", patience=0, min_delta=1.0, restore_best_weights=True)
    reducer = ReduceLROnPlateau("loss", factor=0.5, patience=0, min_delta=10.0)
    history = model.fit(x, y, epochs=4, validation_data=(x_test, y_test), verbose=0,
                        callbacks=[stopper, reducer, CSVLogger(tmp_path / "log.csv"),
                                   ModelCheckpoint(tmp_path / "best.gnn", monitor="val_accuracy", save_best_only=True),
                                   ModelCheckpoint(tmp_path / "epoch{epoch}.gnn"),
                                   lambda epoch, logs: seen.append((epoch, logs["val_loss"]))])
    # nothing improves by 1.0: the first epoch is the best, the second stops the run
    assert history.epoch == [0, 1] and stopper.stopped_epoch == 1 and [epoch for epoch, _ in seen] == [0, 1]
    assert reducer.trainer.settings.lr["base_lr"] == 0.05  # halved after the second epoch (the model's 0.1)
    rows = list(csv.DictReader((tmp_path / "log.csv").read_text(encoding="utf-8").splitlines()))
    assert [row["epoch"] for row in rows] == ["0", "1"] and float(rows[1]["val_loss"]) == seen[1][1]
    first = graphnn.load(tmp_path / "epoch0.gnn")  # epoch 0's weights, which restore_best_weights put back
    np.testing.assert_array_equal(first.predict(x_test), model.predict(x_test))
    best = graphnn.load(tmp_path / "best.gnn")  # the epoch of the best val_accuracy
    assert best.evaluate(x_test, y_test)["accuracy"] == max(history.history["val_accuracy"])
    assert model.evaluate(x_test, y_test)["accuracy"] == pytest.approx(history.history["val_accuracy"][0])
    assert (tmp_path / "epoch0.gnn").exists() and (tmp_path / "epoch1.gnn").exists()
    with pytest.raises(GraphnnError, match="val_loss needs|reports"):
        graphnn.load_model(MLP).fit(x, y, iterations=3, verbose=0, callbacks=[EarlyStopping("val_loss")])


def test_reprs_and_notebook_views(mnist, tmp_path):
    x, y, _, _ = mnist
    g = graphnn.Graph("tiny")
    image = g.data("image", shape=[784])
    label = g.data("label", shape=[], field="y")
    g.loss(g.fc(image, 10), label)
    assert repr(g) == "<graphnn.Graph 'tiny': 4 nodes>"
    model = graphnn.load_model(MLP)
    history = model.fit(x, y, iterations=40, verbose=0)
    model.save(tmp_path / "m.gnn")
    bundle = graphnn.load_bundle(tmp_path / "m.gnn")
    for shown in (model, model.network, bundle, history):
        text = repr(shown)
        assert len(text) < 200 and "array" not in text and "\n" not in text, text
    html = model._repr_html_()
    assert "<table>" in html and "fc1" in html and "<svg" in html and "42,310" in html
    assert "<svg" in bundle._repr_html_() and history._repr_html_().count("<svg") == 2
    page = model.visualise()  # the visualiser's page with the trained weights' statistics
    assert page._repr_html_().startswith("<iframe") and len(repr(page)) < 100
    assert page.save(tmp_path / "m.html").read_text(encoding="utf-8") == page.html and "histogram" in page.html
    lines = []
    model.summary(print_fn=lines.append)
    from graphnn.model.summary import format_table, summary_table

    assert lines == [format_table(summary_table(model))] and lines[0].splitlines()[0].split() == \
        ["node", "op", "inputs", "output", "params", "flops"]


def test_forward_takes_images_as_predict_does(mnist):
    _, _, x_test, _ = mnist
    model = graphnn.load_model(MLP)
    values = model.network.forward({"image": x_test[:7]}, until="fc3", keep=["fc3"]).values["fc3"]
    scaled = model.network.forward({"image": x_test[:7].reshape(7, 784).astype(np.float32) * np.float32(1 / 255)},
                                   until="fc3", keep=["fc3"]).values["fc3"]
    np.testing.assert_array_equal(values, scaled)
    probabilities = model.predict(x_test[:7])
    np.testing.assert_allclose(probabilities, model.plan.by_name["loss"].op.probabilities(values), rtol=1e-6)


def test_fit_refusals(mnist):
    x, y, _, _ = mnist
    g = graphnn.Graph("untrainable")
    g.loss(g.fc(g.data("image", shape=[784]), 10), g.data("label", shape=[], field="y"))
    with pytest.raises(GraphnnError, match="no 'train' section naming data"):  # with x and y it trains (FIT_TRAIN)
        g.build().fit(verbose=0)
    model = graphnn.load_model(MLP)
    with pytest.raises(DataError, match="784 values"):
        model.fit(x[:, :20], y, iterations=1, verbose=0)
    with pytest.raises(TypeError, match="both x and y"):
        model.fit(x, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.5, verbose=0)


def test_progress_on_a_terminal_keeps_its_last_line(mnist, tmp_path):
    from graphnn.train.progress import Progress
    from graphnn.train.run import Run

    x, y, x_test, y_test = mnist
    model = graphnn.load_model(MLP)
    stream = io.StringIO()
    run = Run(model, {"iterations": 30}, out=None, train=model._split(x, y, "x"),
              test=model._split(x_test, y_test, "x"))
    progress = Progress(30, 100, stream=stream, tty=True)
    progress.redraw = 0.0  # every iteration
    run.folder = str(tmp_path / "run")
    run.train(log=progress, callbacks=[progress])
    text = stream.getvalue()
    frames = text.split("\r\033[K")
    assert "iteration 1/30" in frames[1] and "ETA" in frames[1] and "samples/s (average)" in frames[1]
    assert "samples/s (recent)" in frames[2]
    last_bar, test_line = frames[-1].splitlines()
    assert "iteration 30/30" in last_bar and "epoch 1.50" in last_bar  # the bar stays, the test line below
    assert test_line.startswith("iteration 30: test accuracy")
    piped = io.StringIO()
    plain = Progress(30, 100, stream=piped, tty=False)
    plain({"phase": "train", "iteration": 10, "loss": 1.0, "accuracy": 0.5, "lr": 0.1, "elapsed": 1.0})
    assert piped.getvalue() == \
        "iteration 10/30  loss 1.0000  accuracy 0.500  lr 0.1  1,000 samples/s (average)  ETA 0:02\n"


def test_the_builder_refuses_a_bad_node_at_the_call_that_adds_it():
    g = graphnn.Graph("located")
    x = g.data("image", shape=[1, 28, 28])
    with pytest.raises(graphnn.ModelInvalid) as raised:
        g.conv2d(x, filters=-4, kernel=3, name="c1")
    assert [(error.node, error.path) for error in raised.value.errors] == [("c1", "/nodes/1/filters")]
    with pytest.raises(graphnn.ModelInvalid, match="did you mean 'conv2d'"):
        g.node("convv2d", [x])
    assert len(g.nodes) == 1  # nothing bad was added: the graph still builds once it is finished
    g.loss(g.fc(g.flatten(g.conv2d(x, filters=4, kernel=3)), 10), g.data("label", shape=[], field="y"))
    assert len(g.build().plan.steps) == 6


def test_callbacks_from_the_model_file_work_in_graphnn_run(mnist_dir, tmp_path):
    import json

    from click.testing import CliRunner

    from graphnn.cli import main

    document = json.loads(MLP.read_text())
    document["train"].update(data={"dataset": "mnist", "split": "train", "limit": 1000}, epochs=5)
    document["train"].pop("iterations")
    document["train"]["callbacks"] = [
        {"type": "early_stopping", "monitor": "val_accuracy", "patience": 0, "min_delta": 1.0},
        {"type": "csv_logger", "path": "epochs.csv"}]
    document["test"] = {"data": {"dataset": "mnist", "split": "test", "limit": 500}, "batch_size": 500}
    path = tmp_path / "stopping.json"
    path.write_text(json.dumps(document))
    result = CliRunner().invoke(main, ["run", str(path), "--data-dir", str(mnist_dir), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "run" / "epochs.csv").read_text(encoding="utf-8").splitlines()))
    assert [row["epoch"] for row in rows] == ["0", "1"] and "val_accuracy" in rows[0]  # stopped after epoch 1
    assert "trained mlp784: 20 iterations" in result.output
    bad = dict(document, train=dict(document["train"], callbacks=[{"type": "csv_logger", "patience": 3}]))
    path.write_text(json.dumps(bad))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2 and "/train/callbacks/0" in result.output, result.output


class StopAt(graphnn.callbacks.Callback):
    """Sends this process SIGINT (as Ctrl-C does) after iteration ``at``: the run writes a snapshot and stops."""

    def __init__(self, at=None):
        self.at = at

    def on_iteration_end(self, trainer):
        import os
        import signal

        if trainer.iteration == self.at:
            os.kill(os.getpid(), signal.SIGINT)


def _callbacks(folder):
    return [EarlyStopping("val_loss", patience=10, restore_best_weights=True),
            ReduceLROnPlateau("val_loss", factor=0.5, patience=0, min_delta=10.0),  # halves the lr every epoch
            CSVLogger(folder / "log.csv"), ModelCheckpoint(folder / "best.gnn", save_best_only=True)]


def test_a_resumed_fit_goes_on_as_if_never_stopped(mnist, tmp_path):
    """Stopped by SIGINT in the middle of its third epoch and resumed, a fit with early stopping (best
    weights kept), an lr that ReduceLROnPlateau lowers, a CSV log and a checkpoint ends exactly as one
    never stopped: the same History, weights, CSV file and best checkpoint."""
    from graphnn.train.signals import Interrupted

    x, y, x_test, _ = mnist
    arguments = {"epochs": 4, "validation_split": 0.25, "verbose": 0}
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    whole.mkdir()
    stopped.mkdir()
    reference = graphnn.load_model(MLP)
    expected = reference.fit(x, y, callbacks=[*_callbacks(whole), StopAt()], run_dir=whole / "run", **arguments)
    lr = expected.history["lr"]
    assert lr[2] < lr[1] / 1.9 and lr[3] < lr[2] / 1.9  # the reducer halved it after epochs 1 and 2 (policy inv)
    with pytest.raises(Interrupted):
        graphnn.load_model(MLP).fit(x, y, callbacks=[*_callbacks(stopped), StopAt(37)], run_dir=stopped / "run",
                                    **arguments)
    assert len(list(csv.DictReader((stopped / "log.csv").read_text().splitlines()))) == 2  # two epochs done, the lr halved once
    model = graphnn.load_model(MLP)
    history = model.fit(x, y, callbacks=[*_callbacks(stopped), StopAt()], run_dir=stopped / "run", resume=True,
                        **arguments)
    assert history.history == expected.history and history.epoch == [0, 1, 2, 3]
    assert (stopped / "log.csv").read_bytes() == (whole / "log.csv").read_bytes()
    assert (stopped / "best.gnn").read_bytes() == (whole / "best.gnn").read_bytes()
    np.testing.assert_array_equal(model.predict(x_test), reference.predict(x_test))
    assert (stopped / "run" / "model.gnn").read_bytes() == (whole / "run" / "model.gnn").read_bytes()


def test_resuming_with_other_callbacks_or_a_damaged_state_is_refused(mnist, tmp_path):
    import json

    from graphnn.io.bundle import load_bundle, save_bundle
    from graphnn.train.signals import Interrupted

    x, y, _, _ = mnist
    arguments = {"epochs": 3, "validation_split": 0.25, "verbose": 0, "run_dir": tmp_path / "run"}
    with pytest.raises(Interrupted):
        graphnn.load_model(MLP).fit(x, y, callbacks=[*_callbacks(tmp_path), StopAt(20)], **arguments)
    with pytest.raises(GraphnnError) as raised:
        graphnn.load_model(MLP).fit(x, y, callbacks=[EarlyStopping(), StopAt()], resume=True, **arguments)
    message = str(raised.value)
    assert "snapshot.gnn: at /metadata/snapshot/callbacks/callbacks: cannot resume: the snapshot was made with callbacks " \
           "[History, EarlyStopping, ReduceLROnPlateau, CSVLogger, ModelCheckpoint, StopAt]" in message, message
    path = tmp_path / "run" / "snapshot.gnn"
    bundle = load_bundle(path)
    state = json.loads(json.dumps(bundle.metadata))
    state["snapshot"]["callbacks"]["callbacks"][1]["state"]["wait"] = -3
    save_bundle(path, type(bundle)(bundle.model, bundle.weights, bundle.state, state, bundle.extra))
    with pytest.raises(GraphnnError, match=r"at /metadata/snapshot/callbacks/callbacks/1/state/wait: must be a "
                                           r"non-negative integer; got -3"):
        graphnn.load_model(MLP).fit(x, y, callbacks=[*_callbacks(tmp_path), StopAt()], resume=True, **arguments)


def test_fit_on_a_model_without_a_train_section(mnist, tmp_path):
    """Keras's compile/fit defaults (graphnn/model/schema.py FIT_TRAIN): batches of 32, one epoch, Adam at
    0.001; solver= and the usual arguments change them; the model saved and loaded predicts the same."""
    x, y, x_test, y_test = mnist
    g = graphnn.Graph("plain")
    g.loss(g.fc(g.activation(g.fc(g.data("image", shape=[784]), 64), function="relu"), 10),
           g.data("label", shape=[], field="y"))
    model = g.build()
    assert model.train is None
    history = model.fit(x, y, verbose=0)
    assert history.history["iteration"] == [63] and history.history["lr"] == [0.001]  # ceil(2000 / 32)
    assert model.evaluate(x_test, y_test)["accuracy"] > 0.7
    model.save(tmp_path / "plain.gnn")
    np.testing.assert_array_equal(graphnn.load(tmp_path / "plain.gnn").predict(x_test), model.predict(x_test))
    sgd = g.build().fit(x, y, epochs=2, batch_size=100, lr=0.1, solver={"type": "sgd", "momentum": 0.9}, verbose=0)
    assert sgd.history["iteration"] == [20, 40] and sgd.history["lr"] == [0.1, 0.1]
    from graphnn.train.signals import Interrupted

    few, labels = x[:640], y[:640]  # 20 iterations an epoch
    whole = g.build().fit(few, labels, epochs=2, verbose=0, callbacks=[StopAt()])
    with pytest.raises(Interrupted):  # stopped in its second epoch, then resumed: the same run
        g.build().fit(few, labels, epochs=2, verbose=0, callbacks=[StopAt(30)], run_dir=tmp_path / "plain")
    again = g.build().fit(few, labels, epochs=2, verbose=0, callbacks=[StopAt()], run_dir=tmp_path / "plain",
                          resume=True)
    assert again.history == whole.history
    with pytest.raises(graphnn.errors.SchemaError, match=r"at /train/solver/type"):
        g.build().fit(x, y, solver="adamw", verbose=0)
    with pytest.raises(ValueError, match="solver= is for a model without a train section"):
        graphnn.load_model(MLP).fit(x, y, solver="adam", verbose=0)


def test_a_fit_rescued_from_an_unwritable_run_folder_resumes_with_its_callbacks(mnist, tmp_path, monkeypatch):
    """The run folder's metrics file stops taking writes mid-run (a full disk): the run stops with a WriteError
    naming a rescue folder, whose snapshot keeps the callbacks' state; resumed from there it ends as the run
    never stopped."""
    import errno
    import os

    from graphnn.errors import WriteError
    from graphnn.train import rundir

    x, y, _, _ = mnist
    arguments = {"epochs": 3, "validation_split": 0.25, "verbose": 0}
    expected = graphnn.load_model(MLP).fit(x, y, callbacks=[EarlyStopping("val_loss", patience=5,
                                                                          restore_best_weights=True)], **arguments)
    real_open = rundir.open_for_writing

    class Full:
        def __init__(self, handle):
            self.handle, self.writes = handle, 0

        def write(self, text):
            self.writes += 1
            if self.writes > 2:  # the third display record, iteration 30 (past the first epoch's end, 15)
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.handle.write(text)

        def __getattr__(self, name):
            return getattr(self.handle, name)

    monkeypatch.setattr(rundir, "open_for_writing", lambda path, mode, **options: Full(real_open(path, mode, **options)))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with pytest.raises(WriteError) as raised:
        graphnn.load_model(MLP).fit(x, y, callbacks=[EarlyStopping("val_loss", patience=5, restore_best_weights=True)],
                                    run_dir=tmp_path / "run", **arguments)
    monkeypatch.undo()
    kept = Path(raised.value.kept)
    assert kept.name.startswith("graphnn-rescue-") and (kept / "snapshot.gnn").is_file()
    model = graphnn.load_model(MLP)
    history = model.fit(x, y, callbacks=[EarlyStopping("val_loss", patience=5, restore_best_weights=True)],
                        run_dir=kept, resume=True, **arguments)
    assert history.history == expected.history and history.epoch == [0, 1, 2]
