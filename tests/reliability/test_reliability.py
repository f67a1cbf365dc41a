"""Reliability and safety: hostile and damaged files are refused in one line without running anything,
snapshots hold every number a run carries and resume it exactly, and the divergence guard names the node,
op and pass where training stopped being finite.

The end-to-end tests with real signals and kills are in test_reliability_resume.py; the helpers here
(a small synthetic dataset and model) serve both.
"""

import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from graphnn.errors import BundleError, GraphnnError, ModelInvalid, TrainingError
from graphnn.io import bundle
from graphnn.model import load_model, model_from_dict
from graphnn.train import snapshots
from graphnn.train.run import prepare_run

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "import sys; from graphnn.cli import main; sys.exit(main())"]


# ----- a small synthetic run --------------------------------------------------------------------------

def write_data(folder, samples=240, features=12, classes=3, seed=0, scale=1.0):
    """A .npz with x_train/y_train/x_test/y_test: ``features`` floats per sample, labels from the first
    ``classes`` features (learnable in a few hundred steps)."""
    rng = np.random.default_rng(seed)
    x = np.clip(rng.standard_normal((samples, features)) * scale, -3e38, 3e38).astype(np.float32)
    y = x[:, :classes].argmax(axis=1)
    split = samples * 3 // 4
    path = Path(folder) / "data.npz"
    np.savez(path, x_train=x[:split], y_train=y[:split], x_test=x[split:], y_test=y[split:])
    return path


def model_document(data_path, units=16, batchnorm=True, activation="tanh", **train):
    """A small MLP with batch norm (state), dropout (the generator) and a test set."""
    nodes = [{"name": "x", "op": "data", "shape": [12]}, {"name": "y", "op": "data", "shape": [], "field": "y"},
             {"name": "fc1", "op": "fc", "inputs": ["x"], "units": units}]
    last = "fc1"
    if batchnorm:
        nodes.append({"name": "bn", "op": "batchnorm", "inputs": [last]})
        last = "bn"
    if activation:
        nodes.append({"name": "act", "op": "activation", "inputs": [last], "function": activation})
        last = "act"
    nodes += [{"name": "drop", "op": "dropout", "inputs": [last], "ratio": 0.25},
              {"name": "fc2", "op": "fc", "inputs": ["drop"], "units": 3},
              {"name": "loss", "op": "loss", "inputs": ["fc2", "y"], "function": "softmax_cross_entropy"}]
    section = {"data": {"path": str(data_path)}, "batch_size": 16, "iterations": 60, "seed": 3,
               "display_interval": 7, "test_interval": 25,
               "solver": {"type": "sgd", "momentum": 0.9, "weight_decay": 0.001},
               "lr": {"policy": "inv", "base_lr": 0.05, "gamma": 0.001, "power": 0.75}}
    section.update(train)
    return {"format": "graphnn/1", "name": "tiny", "nodes": nodes, "train": section,
            "test": {"data": {"path": str(data_path)}, "batch_size": 20}}


def write_model(folder, data_path, name="tiny.json", **options):
    path = Path(folder) / name
    path.write_text(json.dumps(model_document(data_path, **options), indent=1))
    return path


def make_trainer(folder, overrides=None, **options):
    data = write_data(folder)
    return prepare_run(model_from_dict(model_document(data, **options)), overrides or {})


def without_elapsed(records):
    return [{key: value for key, value in record.items() if key != "elapsed"} for record in records]


def cli(*args):
    """Run ``graphnn ARGS`` in this process (click's test runner; an exception other than a GraphnnError
    would propagate); returns a CompletedProcess with its exit code and output."""
    from click.testing import CliRunner

    from graphnn.cli import main

    result = CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def cli_process(*args, timeout=120):
    """Run ``graphnn ARGS`` in a fresh interpreter, as a user would; returns the CompletedProcess."""
    return subprocess.run(CLI + [str(arg) for arg in args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, check=False)


def assert_one_line_error(result, *words):
    """A failed command: non-zero exit, stderr one line starting "error:", no traceback, naming ``words``."""
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    for word in words:
        assert str(word) in lines[0], (word, lines[0])
    return lines[0]


# ----- code cannot be reached from a file -------------------------------------------------------------

HOSTILE_OPS = ["os.system", "__import__", "__class__", "__builtins__", "eval", "exec", "builtins.exec",
               "subprocess.Popen", "graphnn.ops.fc.FC", "fc.__class__", "__subclasses__", "pickle.loads",
               "importlib.import_module", "fc.__init__.__globals__"]
HOSTILE_PARAMS = ["__class__", "__init__", "__dict__", "__reduce__", "__globals__", "__import__", "params", "op.__class__"]


def hostile_documents(data_path):
    """Model documents that name Python objects wherever a file names something."""
    base = model_document(data_path, batchnorm=False)
    documents = []
    for op in HOSTILE_OPS:
        document = json.loads(json.dumps(base))
        document["nodes"][2]["op"] = op
        documents.append(document)
    for key in HOSTILE_PARAMS:
        document = json.loads(json.dumps(base))
        document["nodes"][2][key] = "os.system('touch /tmp/graphnn-pwned')"
        documents.append(document)
    for where, value in ((("nodes", 3, "function"), "__import__"), (("nodes", 2, "init"), "os.system"),
                         (("nodes", 2, "init"), {"type": "__class__"}), (("nodes", 6, "function"), "eval"),
                         (("train", "solver", "type"), "__class__"), (("train", "lr", "policy"), "__import__"),
                         (("train", "data", "dataset"), "os"),
                         (("__class__",), "x"), (("train", "__init__"), 1)):
        document = json.loads(json.dumps(base))
        target = document
        for part in where[:-1]:
            target = target[part]
        target[where[-1]] = value
        documents.append(document)
    return documents


def test_a_data_field_is_a_key_never_an_attribute(tmp_path):
    """``field`` is free text in the schema; it is only ever a key of the batch dict, refused at run time."""
    document = model_document(write_data(tmp_path))
    document["nodes"][0]["field"] = "__dict__"
    with pytest.raises(GraphnnError) as raised:
        prepare_run(model_from_dict(document), {})
    assert raised.value.node == "x" and "__dict__" in str(raised.value)


def test_hostile_names_are_refused_with_a_location(tmp_path):
    for document in hostile_documents(tmp_path / "data.npz"):
        path = tmp_path / "hostile.json"
        path.write_text(json.dumps(document))
        with pytest.raises(ModelInvalid) as raised:
            load_model(path)
        assert len(str(raised.value).splitlines()) == 1
        assert all(error.path is not None for error in raised.value.errors), str(raised.value)


AUDIT_SCRIPT = r"""
import json, sys
from pathlib import Path
from graphnn.io.bundle import load_bundle
from graphnn.errors import GraphnnError
from graphnn.model import load_model

def load(path):
    try:
        (load_bundle if path.endswith(".gnn") else load_model)(path)
        return "loaded"
    except GraphnnError as error:
        return type(error).__name__

warm = [load(path) for path in sys.argv[1:3]]  # a valid and an invalid file: every lazy import happens now
events = []
WATCHED = ("import", "exec", "compile", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn",
           "os.spawn", "pickle.find_class", "ctypes.dlopen", "marshal.loads", "builtins.input", "os.remove")
sys.addaudithook(lambda event, args: events.append([event, str(args)[:80]]) if event in WATCHED else None)
outcomes = [load(path) for path in sys.argv[3:]]
print(json.dumps({"warm": warm, "outcomes": outcomes, "events": events}))
"""


def test_loading_hostile_files_imports_and_runs_nothing(tmp_path):
    """Audit events, in a fresh interpreter so the hook does not outlive the test: loading hostile model
    files and a bundle carrying one triggers no import, exec, compile, process or unpickling event."""
    data = write_data(tmp_path)
    valid = write_model(tmp_path, data, name="valid.json")
    unknown = json.loads(valid.read_text())
    unknown["nodes"][2]["op"] = "fcc"
    (tmp_path / "unknown.json").write_text(json.dumps(unknown))
    paths = []
    for index, document in enumerate(hostile_documents(data)):
        paths.append(tmp_path / f"hostile{index}.json")
        paths[-1].write_text(json.dumps(document))
    paths.append(tmp_path / "hostile.gnn")
    paths[-1].write_bytes(bundle_with_model(hostile_documents(data)[0]))
    result = subprocess.run([sys.executable, "-c", AUDIT_SCRIPT, str(valid), str(tmp_path / "unknown.json")]
                            + [str(path) for path in paths], capture_output=True, text=True, timeout=120, cwd=ROOT,
                            check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["warm"] == ["loaded", "ModelInvalid"]
    assert report["outcomes"] == ["ModelInvalid"] * (len(paths) - 1) + ["ModelInvalid"]
    assert report["events"] == []
    assert not Path("/tmp/graphnn-pwned").exists()


def bundle_with_model(document):
    """Bundle bytes (correct checksum, no tensors) whose header carries ``document`` as its model."""
    return bundle.join_parts({"format": bundle.FORMAT, "model": document, "metadata": {}, "tensors": []}, [])


# ----- damaged and oversized files --------------------------------------------------------------------

@pytest.fixture
def trained(tmp_path):
    """A trainer after 20 iterations and its snapshot file."""
    trainer = make_trainer(tmp_path, iterations=20)
    trainer.run()
    return trainer, snapshots.write(tmp_path, trainer, 0)


def test_truncated_and_bit_flipped_snapshots_are_named(trained, tmp_path):
    _, path = trained
    data = path.read_bytes()
    damaged = tmp_path / "damaged.gnn"
    cases = [data[:size] for size in (len(data) - 1, len(data) - 33, len(data) // 2, 100, 17, 0)]
    for position in (3, 12, 40, len(data) // 3, len(data) // 2, len(data) - 300, len(data) - 5):
        flipped = bytearray(data)
        flipped[position] ^= 0x04
        cases.append(bytes(flipped))
    for case in cases:
        damaged.write_bytes(case)
        with pytest.raises(BundleError) as raised:
            snapshots.verify(bundle.load_bundle(damaged))
        message = str(raised.value)
        assert message.startswith(str(damaged)) and len(message.splitlines()) == 1
        assert any(word in message for word in ("checksum", "truncated", "magic", "header")), message


def test_a_claim_of_1e11_elements_is_refused_quickly_without_allocating(trained, tmp_path):
    _, path = trained
    header, blobs = bundle.split_parts(path.read_bytes())
    for shape in ([10**11], [10**5, 10**6], [10**9]):  # over the element limit, and under it but over the file
        header["tensors"][0]["shape"] = shape
        crafted = tmp_path / "claims.gnn"
        crafted.write_bytes(bundle.join_parts(header, blobs))
        tracemalloc.start()
        started = time.perf_counter()
        with pytest.raises(BundleError) as raised:
            bundle.load_bundle(crafted)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert seconds < 1.0 and peak < 10 * crafted.stat().st_size, (seconds, peak)
        assert "/tensors/0" in str(raised.value) or "bytes" in str(raised.value)


def _limit_cases(tmp_path):
    document = model_document(tmp_path / "data.npz", batchnorm=False)
    text = json.dumps(document)
    many = dict(document, nodes=[dict(document["nodes"][0], name=f"n{i}") for i in range(10_001)])
    long_name = json.loads(json.dumps(document))
    long_name["nodes"][2]["name"] = "n" * 129
    huge = json.loads(json.dumps(document))
    huge["nodes"][0]["shape"] = [100_000, 100_000]
    params = json.loads(json.dumps(document))
    params["nodes"][2]["units"] = 10**8  # each tensor under its limit, the sum over the network's
    return [("size", b" " * (16 * 1024 * 1024 + 1), ["16,777,217", "16,777,216"]),
            ("depth", ('{"a":' * 65 + "1" + "}" * 65).encode(), ["65", "64"]),
            ("nodes", json.dumps(many).encode(), ["10,001", "10,000"]),
            ("name", json.dumps(long_name).encode(), ["129", "128", "/nodes/2/name"]),
            ("elements", json.dumps(huge).encode(), ["10,000,000,000", "2,000,000,000", "node 'x'"]),
            ("parameters", json.dumps(params).encode(), ["1,600,000,003 parameters", "1,000,000,000"]),
            ("integer digits", text.replace('"units": 16', '"units": 1' + "0" * 4300).encode(), ["4,301", "4,300"])]


def test_limits_are_reported_with_value_and_limit(tmp_path):
    for what, data, words in _limit_cases(tmp_path):
        path = tmp_path / f"{what}.json"
        path.write_bytes(data)
        started = time.perf_counter()
        with pytest.raises(ModelInvalid) as raised:
            load_model(path)
        assert time.perf_counter() - started < 5, what
        message = str(raised.value)
        assert len(message.splitlines()) == 1 and str(path) in message, message
        assert all(word in message for word in words), (what, message)


def test_model_files_that_never_end_are_refused(tmp_path):
    with pytest.raises(ModelInvalid) as raised:
        load_model("/dev/zero")
    assert "limit" in str(raised.value)


def test_cli_names_the_file_and_place_in_one_line(tmp_path):
    data = write_data(tmp_path)
    model = write_model(tmp_path, data)
    broken = tmp_path / "broken.json"
    broken.write_text(model.read_text().replace('"units": 16', '"units": 1e400'))
    line = assert_one_line_error(cli_process("check", broken), broken, "1e400")  # a real process: no traceback
    assert f"{broken}:" in line and ":" in line.split(str(broken))[1]  # file:line:column
    damaged = tmp_path / "damaged.gnn"
    damaged.write_bytes(b"\x89GNN\r\n\x1a\n" + b"\x00" * 50)
    assert_one_line_error(cli("test", damaged), damaged)
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(hostile_documents(data)[1]))
    assert_one_line_error(cli("run", hostile, "--out", tmp_path / "run"), hostile, "/nodes/2/op", "__import__")


# ----- snapshots --------------------------------------------------------------------------------------

class _Stop(Exception):
    pass


def run_until(trainer, folder, stop_at, records):
    """Train ``trainer`` to iteration ``stop_at``, write its snapshot there and stop, as a signal would."""
    def checkpoint(t):
        if t.iteration == stop_at:
            snapshots.write(folder, t, len(records))
            raise _Stop

    with pytest.raises(_Stop):
        trainer.run(records.append, checkpoint)


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
    assert info["batcher"] == trainer.batcher.position()
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


# ----- the divergence guard ---------------------------------------------------------------------------

def test_forward_overflow_names_the_first_node_that_produced_it(tmp_path):
    data = write_data(tmp_path, scale=1e39)  # finite samples (clipped to 3e38) whose sums overflow float32
    trainer = prepare_run(model_from_dict(model_document(data, batchnorm=False, activation=None)), {})
    with pytest.raises(TrainingError) as raised:
        trainer.run()
    error = raised.value
    assert (error.node, error.op) == ("fc1", "fc") and "forward" in str(error) and "iteration 0" in str(error)


def test_non_finite_weights_are_named_as_the_cause(tmp_path):
    trainer = make_trainer(tmp_path, batchnorm=False)
    trainer.network.weights["fc2"]["W"][0, 0] = np.nan
    with pytest.raises(TrainingError) as raised:
        trainer.run()
    assert raised.value.node == "fc2" and "weights W" in str(raised.value)


def test_a_non_finite_gradient_stops_the_step_before_the_update(tmp_path):
    trainer = make_trainer(tmp_path)
    act = trainer.model.plan.by_name["act"].op
    healthy = act.backward

    def poisoned(weights, cache, dy):
        dxs, grads = healthy(weights, cache, dy)
        return [np.full_like(dxs[0], np.inf)], grads

    act.backward = poisoned
    before = {node: {k: a.copy() for k, a in arrays.items()} for node, arrays in trainer.network.weights.items()}
    with pytest.raises(TrainingError) as raised:
        trainer.run()
    error = raised.value
    assert (error.node, error.op) == ("act", "activation") and "backward" in str(error) and "'bn'" in str(error)
    for node, arrays in before.items():  # the solver never ran
        for name, array in arrays.items():
            assert np.array_equal(trainer.network.weights[node][name], array)


def test_a_failing_lr_policy_is_a_training_error(tmp_path):
    trainer = make_trainer(tmp_path, lr={"policy": "exp", "base_lr": 0.1, "gamma": 1e300})
    with pytest.raises(TrainingError) as raised:
        trainer.run()
    assert raised.value.path == "/train/lr" and "iteration 2" in str(raised.value)


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


def test_divergence_in_the_cli_is_one_line_naming_node_and_last_snapshot(tmp_path):
    data = write_data(tmp_path, scale=1e39)
    model = write_model(tmp_path, data, batchnorm=False, activation=None)
    line = assert_one_line_error(cli("run", model, "--out", tmp_path / "run"), "node 'fc1' (op fc)", "forward")
    assert "snapshot" not in line  # none was written before iteration 0
    assert not (tmp_path / "run" / "snapshot.gnn").exists()


def test_epochs_that_overflow_are_refused(tmp_path):
    with pytest.raises(GraphnnError) as raised:
        make_trainer(tmp_path, overrides={"epochs": 1e308})
    assert raised.value.path == "/train/epochs"


def test_fresh_run_replaces_an_old_snapshot(tmp_path):
    os.makedirs(tmp_path / "run")
    (tmp_path / "run" / "snapshot.gnn").write_bytes(b"an older run's snapshot")
    data = write_data(tmp_path)
    result = cli("run", write_model(tmp_path, data, iterations=5), "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert snapshots.read(tmp_path / "run").metadata["snapshot"]["iteration"] == 5
