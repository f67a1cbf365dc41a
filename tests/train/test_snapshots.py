"""Snapshots (graphnn/train/snapshots.py) hold every number a run carries and resume it exactly: a
resumed trainer matches one never stopped; a snapshot holds the solver state, the generator and the data
position; resuming refuses another model or other settings, inconsistent metadata and non-finite values;
stale temporary files are removed and a fresh run replaces an old snapshot."""

import os

import numpy as np
import pytest

from graphnn.errors import BundleError, GraphnnError, TrainingError
from graphnn.io import bundle
from graphnn.train import snapshots
from tests.helpers import (
    cli,
    make_trainer,
    run_until,
    trained_with_snapshot,
    without_elapsed,
    write_data,
    write_model,
)


@pytest.fixture
def trained(tmp_path):
    """A trainer after 20 iterations and its snapshot file."""
    return trained_with_snapshot(tmp_path)


@pytest.mark.parametrize("solver", [{"type": "sgd", "momentum": 0.9}, {"type": "nesterov", "momentum": 0.8},
                                    {"type": "adam", "weight_decay": 0.01, "clip_gradients": 5.0}])
def test_a_resumed_trainer_matches_one_never_stopped(tmp_path, solver):
    full_records = []
    full = make_trainer(tmp_path, solver=solver)
    full.run(full_records.append)
    for stop_at in (1, 24, 59):  # the first step, mid-window just before a test, the step before the last
        folder = tmp_path / f"stop{stop_at}"
        records = []
        run_until(make_trainer(tmp_path, solver=solver), folder, stop_at, records)
        resumed = make_trainer(tmp_path, solver=solver)
        info = snapshots.restore(resumed, snapshots.read(folder))
        records = records[:info["records"]]
        resumed.run(records.append)
        assert without_elapsed(records) == without_elapsed(full_records)
        for node, arrays in full.network.weights.items():
            for name, array in arrays.items():
                assert resumed.network.weights[node][name].tobytes() == array.tobytes(), (node, name)
        assert resumed.network.state["bn"]["running_mean"].tobytes() == full.network.state["bn"]["running_mean"].tobytes()
        assert resumed.solver.t == full.solver.t
        resumed.elapsed = full.elapsed = 0.0  # wall clock: the one number that may differ
        assert bundle.to_bytes(snapshots.capture(resumed, 0)) == bundle.to_bytes(snapshots.capture(full, 0))


def test_a_snapshot_holds_solver_state_generator_and_data_position(trained):
    trainer, path = trained
    saved = snapshots.read(path.parent)
    info = saved.metadata["snapshot"]
    assert info["iteration"] == 20 and info["solver_t"] == 20
    assert info["rng"] == trainer.rng.bit_generator.state
    assert info["batcher"] == trainer.batcher.state_dict()
    assert sorted(saved.extra) == sorted(f"extra/solver/{node}/{name}/v" for node, arrays in
                                         trainer.network.weights.items() for name in arrays)
    assert info["settings"]["iterations"] == 20 and "data_dir" not in info["settings"]


def test_resume_refuses_another_model_or_settings(trained, tmp_path):
    _, path = trained
    saved = snapshots.read(path.parent)
    other_model = make_trainer(tmp_path, iterations=20, units=17)
    with pytest.raises(GraphnnError) as raised:
        snapshots.restore(other_model, saved, file="snap.gnn")
    assert "/nodes/2/units" in str(raised.value) and "16" in str(raised.value) and "17" in str(raised.value)
    other_settings = make_trainer(tmp_path, overrides={"batch_size": 8}, iterations=20)
    with pytest.raises(GraphnnError) as raised:
        snapshots.restore(other_settings, saved, file="snap.gnn")
    assert "/batch_size" in str(raised.value)
    same = make_trainer(tmp_path, overrides={"snapshot_interval": 5, "data_dir": "/elsewhere"}, iterations=20)
    snapshots.restore(same, saved)  # where data is looked for and how often snapshots are written change nothing


def test_inconsistent_snapshot_metadata_is_refused(trained, tmp_path):
    trainer, _ = trained
    good = snapshots.capture(trainer, 0)
    for key, value in (("iteration", -1), ("rng", "seed"), ("window", [1.0]), ("format", "x"), ("records", True),
                       ("batcher", None)):
        broken = bundle.from_bytes(bundle.to_bytes(good))
        broken.metadata["snapshot"][key] = value
        with pytest.raises(BundleError):
            snapshots.verify(broken)
    broken = bundle.from_bytes(bundle.to_bytes(good))
    broken.extra["extra/solver/fc1/W/m"] = broken.extra.pop("extra/solver/fc1/W/v")  # an adam slot in an sgd run
    with pytest.raises(BundleError):
        snapshots.verify(broken)
    restored = make_trainer(tmp_path, iterations=20)
    broken = bundle.from_bytes(bundle.to_bytes(good))
    broken.metadata["snapshot"]["rng"] = {"bit_generator": "MT19937", "state": 5}
    with pytest.raises(BundleError):
        snapshots.restore(restored, snapshots.verify(broken))


def test_stale_temporary_files_are_removed_and_the_snapshot_kept(trained, tmp_path):
    _, path = trained
    stale = tmp_path / ".snapshot.gnn.abc123.tmp"
    stale.write_bytes(b"half a snapshot")
    snapshots.Checkpointer(tmp_path, directory=None)
    assert not stale.exists() and path.exists()


def test_a_snapshot_never_holds_non_finite_values(trained):
    trainer, path = trained
    before = path.read_bytes()
    trainer.solver.state["fc1"]["W"]["v"][0, 0] = np.inf
    with pytest.raises(TrainingError) as raised:
        snapshots.write(path.parent, trainer, 0)
    assert raised.value.node == "fc1"
    assert path.read_bytes() == before
    trainer.solver.state["fc1"]["W"]["v"][0, 0] = 0.0
    trainer.network.weights["fc2"]["b"][1] = np.nan
    with pytest.raises(TrainingError):
        snapshots.write(path.parent, trainer, 0)
    assert path.read_bytes() == before


def test_fresh_run_replaces_an_old_snapshot(tmp_path):
    os.makedirs(tmp_path / "run")
    (tmp_path / "run" / "snapshot.gnn").write_bytes(b"an older run's snapshot")
    data = write_data(tmp_path)
    model = write_model(tmp_path, data, iterations=5)
    refused = cli("run", model, "--out", tmp_path / "run")  # never silently: it says how to go on (class 9)
    assert refused.returncode == 2 and "--overwrite" in refused.stderr and "--resume" in refused.stderr
    assert (tmp_path / "run" / "snapshot.gnn").read_bytes() == b"an older run's snapshot"
    result = cli("run", model, "--out", tmp_path / "run", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert snapshots.read(tmp_path / "run").metadata["snapshot"]["iteration"] == 5
