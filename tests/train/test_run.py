"""The run object (graphnn/train/run.py) from Python: a whole run into its folder, stopped by a signal and
resumed from the folder alone bit for bit, refusals on resume, data-parallel through a World, and the
Trainer's own state_dict round trip."""

import json
import os
import signal
import weakref

import numpy as np
import pytest

from graphnn.errors import GraphnnError
from graphnn.model import load_model, model_from_dict
from graphnn.train.distributed import DataParallel, World
from graphnn.train.loop import SingleProcess
from graphnn.train.run import Run
from graphnn.train.signals import Interrupted
from tests.helpers import model_document, write_data, write_model

FOLDER_FILES = {"model.gnn", "metrics.jsonl", "summary.json", "loss.svg", "snapshot.gnn"}


def test_a_run_trains_tests_and_writes_its_folder(tmp_path):
    model = load_model(write_model(tmp_path, write_data(tmp_path)))
    run = Run(model, {"iterations": 30}, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # built, not yet written
    records = []
    summary = run.train(log=records.append)
    assert isinstance(run.trainer.strategy, SingleProcess)
    assert {path.name for path in (tmp_path / "run").iterdir()} == FOLDER_FILES
    assert summary["train"]["iterations"] == 30 and summary["test"]["samples"] == 60
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == records and records[-1]["phase"] == "test"


def test_a_run_frees_its_training_samples_before_the_final_test(tmp_path, monkeypatch):
    """Its peak memory is the larger of training's and testing's, not their sum; a Trainer that may run on
    keeps them."""
    model = load_model(write_model(tmp_path, write_data(tmp_path)))
    run = Run(model, {"iterations": 10}, out=tmp_path / "run")
    samples, count = weakref.ref(run.trainer.train_split.x), len(run.trainer.train_split)
    alive_at_test = []
    test = run.trainer.test
    monkeypatch.setattr(run.trainer, "test", lambda: alive_at_test.append(samples() is not None) or test())
    assert run.train()["test"]["samples"] == 60
    assert alive_at_test == [False] and samples() is None
    assert len(run.trainer.train_split) == count and run.trainer.batcher.state_dict()["samples"] == count
    trainer = Run(model, {"iterations": 10}, out=tmp_path / "other").trainer
    trainer.run()
    trainer.settings.iterations = 20
    trainer.run()  # on from where it stopped, with its samples
    assert trainer.iteration == 20 and len(trainer.train_split.x) == len(trainer.train_split)


def stop_at(iteration):
    """A log that sends this process SIGINT once the record of ``iteration`` arrives."""
    def log(record):
        if record["phase"] == "train" and record["iteration"] == iteration:
            os.kill(os.getpid(), signal.SIGINT)
    return log


def test_a_stopped_run_resumes_from_its_folder_alone_bit_identical(tmp_path):
    data = write_data(tmp_path)
    path = write_model(tmp_path, data, solver={"type": "adam"}, display_interval=5)
    Run(load_model(path), out=tmp_path / "full").train()
    with pytest.raises(Interrupted) as raised:
        Run(load_model(path), out=tmp_path / "stopped").train(log=stop_at(25))
    assert raised.value.iteration == 25 and raised.value.exit_code == 130
    resumed = Run.resume(tmp_path / "stopped")  # the model and settings come from the snapshot
    assert resumed.trainer.iteration == 25
    resumed.train()
    assert (tmp_path / "stopped" / "model.gnn").read_bytes() == (tmp_path / "full" / "model.gnn").read_bytes()


def test_resume_refuses_other_settings_and_a_folder_without_snapshot(tmp_path):
    path = write_model(tmp_path, write_data(tmp_path), iterations=10)
    Run(load_model(path), out=tmp_path / "run").train()
    with pytest.raises(GraphnnError) as raised:
        Run.resume(tmp_path / "run", load_model(path), {"lr": 0.5})
    assert "/lr/base_lr" in str(raised.value) and str(tmp_path / "run" / "snapshot.gnn") in str(raised.value)
    Run.resume(tmp_path / "run", load_model(path), {"snapshot_interval": 3})  # changes no number: accepted
    with pytest.raises(GraphnnError, match="no snapshot"):
        Run.resume(tmp_path / "nowhere")


def test_a_model_without_a_train_section_is_refused_before_data_loads(tmp_path):
    document = model_document(tmp_path / "absent.npz")
    del document["train"]
    with pytest.raises(GraphnnError) as raised:
        Run(model_from_dict(document))
    assert raised.value.path == "/train"


def test_a_data_parallel_run_on_one_rank_writes_what_a_single_process_does(tmp_path):
    document = model_document(write_data(tmp_path), batchnorm=False, dtype="float64")
    document["nodes"] = [node for node in document["nodes"] if node["op"] != "dropout"]  # masks are per rank
    document["nodes"][-2]["inputs"] = ["act"]
    single = Run(model_from_dict(document), out=tmp_path / "single")
    lines = []
    parallel = Run(model_from_dict(document), out=tmp_path / "parallel", world=World(), report=lines.append)
    assert isinstance(parallel.trainer.strategy, DataParallel)
    assert lines[0].startswith("distributed: 1 ranks (rank 0 pid ")
    single.train(), parallel.train()
    for name in ("model.gnn", "summary.json"):
        expected, found = ((tmp_path / run / name).read_bytes() for run in ("single", "parallel"))
        if name == "summary.json":
            expected, found = (json.loads(text)["test"] for text in (expected, found))
        assert found == expected, name


def test_a_trainer_continues_from_another_trainers_state_dict(tmp_path):
    document = model_document(write_data(tmp_path), solver={"type": "nesterov", "momentum": 0.9})
    full, first, second = (Run(model_from_dict(document)).trainer for _ in range(3))
    full.run()

    class Enough(Exception):
        pass

    def stop_after_17(trainer):
        if trainer.iteration == 17:
            raise Enough

    with pytest.raises(Enough):
        first.run(checkpoint=stop_after_17)
    second.load_state_dict(json.loads(json.dumps(first.state_dict(), default=np.ndarray.tolist)) | {
        "solver": first.solver.state_dict()})  # plain JSON but for the solver's arrays
    for groups, source in ((second.network.weights, first.network.weights), (second.network.state, first.network.state)):
        for node, arrays in source.items():
            for name, array in arrays.items():
                groups[node][name][...] = array
    assert second.iteration == 17
    second.run()
    for node, arrays in full.network.weights.items():
        for name, array in arrays.items():
            np.testing.assert_array_equal(second.network.weights[node][name], array, err_msg=f"{node}/{name}")
