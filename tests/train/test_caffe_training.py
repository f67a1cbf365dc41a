"""Caffe's solver semantics in a run (graphnn/train/loop.py): iter_size accumulates gradients over passes,
average_loss smooths the displayed loss, test_initialization tests before the first iteration, a test set's
iterations tests on its first batches, further test sets are tested at the same points; and every one of
them resumes from a snapshot bit for bit."""

import json

import numpy as np
import pytest

from graphnn.errors import BundleError
from graphnn.io import bundle
from graphnn.model.load import model_from_dict
from graphnn.train import snapshots
from graphnn.train.evaluate import evaluate
from graphnn.train.run import Run
from tests.helpers import model_document, run_until, without_elapsed, write_data


def document(data, **train):
    """The helpers' small model without dropout and batch norm (so that passes and batches are the same
    arithmetic however the samples are grouped)."""
    doc = model_document(data, batchnorm=False, **train)
    doc["nodes"] = [node for node in doc["nodes"] if node["name"] != "drop"]
    next(node for node in doc["nodes"] if node["name"] == "fc2")["inputs"] = ["act"]
    return doc


def trainer_of(doc, overrides=None):
    return Run(model_from_dict(doc), overrides).trainer


def test_iter_size_is_one_update_from_the_mean_gradient_of_its_passes(tmp_path):
    data = write_data(tmp_path)
    sgd = {"type": "sgd", "weight_decay": 0.001}
    passes = trainer_of(document(data, batch_size=8, iterations=6, solver=sgd | {"iter_size": 3}))
    whole = trainer_of(document(data, batch_size=24, iterations=6, solver=sgd))
    records = {"passes": [], "whole": []}
    passes.run(records["passes"].append)
    whole.run(records["whole"].append)
    for node, arrays in whole.network.weights.items():
        for name, array in arrays.items():
            np.testing.assert_allclose(passes.network.weights[node][name], array, rtol=1e-5, atol=1e-6)
    assert passes.batcher.state_dict() == whole.batcher.state_dict()  # 3 batches of 8 per iteration
    for mine, theirs in zip(records["passes"], records["whole"], strict=True):
        assert mine["phase"] == theirs["phase"] and mine["iteration"] == theirs["iteration"]
        assert mine.get("epoch") == theirs.get("epoch")
        assert mine["loss"] == pytest.approx(theirs["loss"], rel=1e-5)  # the mean of the passes' losses


def test_average_loss_displays_the_mean_of_the_last_iterations(tmp_path):
    trainer = trainer_of(document(write_data(tmp_path), average_loss=4, display_interval=5, iterations=22))
    losses, records = [], []
    trainer.run(records.append, callback=lambda t: losses.append(t.step_metrics[0]))
    train = [record for record in records if record["phase"] == "train"]
    assert [record["iteration"] for record in train] == [5, 10, 15, 20, 22]
    for record in train:
        last = losses[max(0, record["iteration"] - 4):record["iteration"]]
        assert record["loss"] == pytest.approx(sum(last) / len(last), rel=1e-12)


def test_test_initialization_and_test_iterations(tmp_path):
    data = write_data(tmp_path)
    doc = document(data, test_initialization=True, iterations=30, test_interval=10)
    doc["test"] = {"data": {"path": str(data)}, "batch_size": 20, "iterations": 2}
    trainer = trainer_of(doc)
    fresh = evaluate(trainer.network, trainer.test_split, 20)
    assert fresh["samples"] == 40  # 2 batches of 20 of the 60 test samples
    records = []
    trainer.run(records.append)
    tests = [record for record in records if record["phase"] == "test"]
    assert [record["iteration"] for record in tests] == [0, 10, 20, 30]
    assert tests[0]["loss"] == fresh["loss"] and tests[0]["accuracy"] == fresh["accuracy"]


def test_further_test_sets_are_tested_with_the_first(tmp_path):
    data = write_data(tmp_path)
    doc = document(data, iterations=20, test_interval=10)
    doc["test"]["also"] = [{"name": "on-train", "data": {"path": str(data), "split": "train"}, "batch_size": 30,
                            "iterations": 3}]
    trainer = trainer_of(doc)
    records = []
    trainer.run(records.append)
    phases = [(record["phase"], record["iteration"]) for record in records if record["phase"] != "train"]
    assert phases == [("test", 10), ("test/on-train", 10), ("test", 20), ("test/on-train", 20)]
    name, split, batch_size = trainer.test_sets[0]
    assert (name, len(split), batch_size) == ("test/on-train", 90, 30)
    final = evaluate(trainer.network, split, 30)
    assert records[-1]["loss"] == final["loss"] and records[-1]["accuracy"] == final["accuracy"]


SOLVERS = [
    {"type": "adagrad", "weight_decay": 0.001, "regularization_type": "L1", "iter_size": 3},
    {"type": "rmsprop", "rms_decay": 0.9, "iter_size": 2, "clip_gradients": 1.0},
    {"type": "adadelta", "momentum": 0.95, "delta": 1e-6, "iter_size": 2},
    {"type": "adam", "momentum": 0.9, "momentum2": 0.99, "delta": 1e-7},
]


@pytest.mark.parametrize("solver", SOLVERS, ids=lambda solver: solver["type"])
def test_a_resumed_run_matches_one_never_stopped(tmp_path, solver):
    doc = model_document(write_data(tmp_path), solver=solver, average_loss=5, test_initialization=True,
                         lr={"policy": "step", "base_lr": 0.05 if solver["type"] != "adadelta" else 1.0,
                             "gamma": 0.5, "step_size": 20})
    doc["test"]["also"] = [{"name": "again", "data": doc["test"]["data"], "batch_size": 7, "iterations": 2}]
    full_records = []
    full = trainer_of(doc)
    full.run(full_records.append)
    for stop_at in (1, 24, 59):
        folder = tmp_path / f"stop{stop_at}"
        records = []
        run_until(trainer_of(doc), folder, stop_at, records)
        resumed = trainer_of(doc)
        info = snapshots.restore(resumed, snapshots.read(folder))
        assert len(info["recent"]) == min(stop_at, 5)
        records = records[:info["records"]]
        resumed.run(records.append)
        assert without_elapsed(records) == without_elapsed(full_records)
        resumed.elapsed = full.elapsed = 0.0  # wall clock: the one number that may differ
        assert bundle.to_bytes(snapshots.capture(resumed, 0)) == bundle.to_bytes(snapshots.capture(full, 0))


def test_a_snapshot_with_the_wrong_number_of_recent_losses_is_refused(tmp_path):
    doc = model_document(write_data(tmp_path), average_loss=5)
    folder = tmp_path / "run"
    run_until(trainer_of(doc), folder, 12, [])
    saved = snapshots.read(folder)
    saved.metadata["snapshot"]["recent"] = saved.metadata["snapshot"]["recent"][:3]
    with pytest.raises(BundleError) as raised:
        snapshots.restore(trainer_of(doc), saved)
    assert raised.value.path == "/metadata/snapshot/recent" and "5" in str(raised.value)


def test_a_snapshot_from_before_these_settings_resumes(tmp_path):
    """A snapshot whose settings record lacks every setting added for Caffe (as one written before them)."""
    doc = model_document(write_data(tmp_path))
    full_records, records = [], []
    full = trainer_of(doc)
    full.run(full_records.append)
    folder = tmp_path / "run"
    run_until(trainer_of(doc), folder, 30, records)
    saved = snapshots.read(folder)
    settings = saved.metadata["snapshot"]["settings"]
    for key in ("test_initialization", "average_loss", "test_iterations", "test_sets"):
        del settings[key]
    for key in ("delta", "rms_decay", "regularization_type", "iter_size"):
        del settings["solver"][key]
    resumed = trainer_of(doc)
    snapshots.restore(resumed, saved)
    resumed.run(records.append)
    assert without_elapsed(records) == without_elapsed(full_records)
    assert resumed.network.store.weight_flat.tobytes() == full.network.store.weight_flat.tobytes()


def test_a_further_test_sets_relative_path_is_rebased_for_the_run_folder(tmp_path):
    from graphnn.datasets.split import rebased
    from graphnn.model import load_model
    from tests.helpers import write_model

    (tmp_path / "models").mkdir()
    write_data(tmp_path / "models")
    path = write_model(tmp_path / "models", "data.npz")
    doc = json.loads(path.read_text())
    doc["test"]["also"] = [{"name": "again", "data": {"path": "data.npz"}}]
    path.write_text(json.dumps(doc))
    moved = rebased(load_model(path), tmp_path / "runs" / "tiny").document
    assert moved["test"]["also"][0]["data"]["path"] == "../../models/data.npz"
    assert moved["test"]["data"]["path"] == moved["train"]["data"]["path"] == "../../models/data.npz"


def test_an_epoch_counts_iter_size_batches_per_iteration(tmp_path):
    doc = document(write_data(tmp_path), batch_size=8, solver={"type": "sgd", "iter_size": 3})
    settings = Run(model_from_dict(doc), {"epochs": 1}).settings
    assert settings.samples_per_iteration == 24 and settings.iterations == 8  # ceil(180 / 24)


def test_graphnn_run_prints_and_records_every_test_set(tmp_path):
    from tests.helpers import cli

    doc = model_document(write_data(tmp_path), solver={"type": "rmsprop", "iter_size": 2}, average_loss=3,
                         test_initialization=True, iterations=40, test_interval=20)
    doc["test"] |= {"name": "held-out", "iterations": 2}
    doc["test"]["also"] = [{"name": "on-train", "data": {"path": doc["train"]["data"]["path"], "split": "train"},
                            "batch_size": 50, "iterations": 2}]
    (tmp_path / "m.json").write_text(json.dumps(doc))
    result = cli("run", tmp_path / "m.json", "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    for iteration in (0, 20, 40):
        assert f"iteration {iteration}: test accuracy" in result.stdout + result.stderr
        assert f"iteration {iteration}: test/on-train accuracy" in result.stdout + result.stderr
    assert "on 40 samples" in result.stdout  # the test set's first 2 batches of 20
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in records if r["iteration"] == 0] == ["test", "test/on-train"]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["test"]["samples"] == 40


def test_a_further_test_set_naming_no_file_is_a_located_error(tmp_path):
    from graphnn.errors import DataError
    from graphnn.model import load_model
    from tests.helpers import write_model

    path = write_model(tmp_path, write_data(tmp_path))
    doc = json.loads(path.read_text())
    doc["test"]["also"] = [{"name": "gone", "data": {"path": "nope.npz"}}]
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError) as raised:
        Run(load_model(path))
    assert raised.value.file == str(path) and raised.value.path == "/test/also/0/data/path"
    assert "nope.npz" in str(raised.value) and "\n" not in str(raised.value)
