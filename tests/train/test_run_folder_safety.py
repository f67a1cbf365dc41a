"""No trained work is lost or silently replaced (issue 14, classes 1, 2, 9, 11):

- a NaN or infinite metric is written as null with a note (graphnn/io/jsonsafe.py), in metrics.jsonl,
  summary.json and the bundle's metadata, and the trained model is saved;
- a run folder that cannot be written (disk full, read-only, a folder in a file's place), at every place a
  run writes, stops with one line and exit 1 saying where the trained state was kept, and resuming from
  there gives the same weights as a run never stopped;
- a new run refuses a folder holding another run's files (exit 2) unless --overwrite;
- a stop signal during the final test is honoured; a snapshot with a field out of range or its solver
  state removed (checksum recomputed) is refused; another BLAS thread count is said in one line.
"""

import errno
import json
import math
import os
import random
import signal
from pathlib import Path

import numpy as np
import pytest

from graphnn.errors import BundleError, GraphnnError, WriteError
from graphnn.io.bundle import Bundle, load_bundle, save_bundle
from graphnn.io.jsonsafe import dumps, json_safe
from graphnn.model import load_model
from graphnn.train import rundir, snapshots
from graphnn.train.loop import Trainer
from graphnn.train.run import Run
from tests.helpers import cli, model_document, write_data, write_model


def strict_loads(text):
    def refuse(constant):
        raise ValueError(f"{constant} in JSON")

    return json.loads(text, parse_constant=refuse)


def weights_of(path):
    bundle = load_bundle(path)
    return {f"{node}/{name}": array for node, arrays in bundle.weights.items() for name, array in arrays.items()}


def same_weights(a, b):
    wa, wb = weights_of(a), weights_of(b)
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny model (20 iterations, snapshots every 5) and the run folder of one never stopped."""
    folder = tmp_path_factory.mktemp("safety")
    data = write_data(folder)
    model = write_model(folder, data, iterations=20, snapshot_interval=5, test_interval=10)
    result = cli("run", model, "--out", folder / "reference")
    assert result.returncode == 0, result.stderr
    return folder, data, model, folder / "reference"


# ----- class 1: NaN and infinity in metrics -----------------------------------------------------------

def random_document(rng, depth=0):
    pick = rng.random()
    if depth > 3 or pick < 0.4:
        return rng.choice([math.nan, math.inf, -math.inf, 1.5, 0.0, -2, "x", None, True, 1e308, 5e-324,
                           np.float64("nan"), np.float32("inf"), np.float64(2.5)])
    if pick < 0.7:
        return [random_document(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{i}/~{i}": random_document(rng, depth + 1) for i in range(rng.randrange(4))}


@pytest.mark.parametrize("seed", range(300))
def test_every_document_is_written_as_strict_json_with_notes(seed):
    rng = random.Random(seed)
    document = {"phase": "test", "value": random_document(rng)}
    text = dumps(document)
    back = strict_loads(text)  # no NaN or Infinity literal
    cleaned, notes = json_safe(document)
    assert back == ({**cleaned, "non_finite": notes} if notes else cleaned)
    for where, what in notes.items():  # each note points at a null that was that value
        node = document
        for part in where.split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert what == ("nan" if math.isnan(node) else "inf" if node > 0 else "-inf")


@pytest.mark.parametrize("scale", [3e38, -3e38])
def test_a_non_finite_test_loss_keeps_the_trained_model(scale, tmp_path):
    data = write_data(tmp_path)
    arrays = dict(np.load(data))
    arrays["x_test"] = np.full_like(arrays["x_test"], scale)
    np.savez(tmp_path / "huge.npz", **arrays)
    document = model_document(data, batchnorm=False, activation=None, iterations=12, test_interval=5)
    document["test"]["data"]["path"] = str(tmp_path / "huge.npz")
    model = tmp_path / "m.json"
    model.write_text(json.dumps(document))
    result = cli("run", model, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "run"
    summary = strict_loads((folder / "summary.json").read_text())
    assert summary["test"]["loss"] is None and summary["non_finite"]["/test/loss"] in ("nan", "inf")
    records = [strict_loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    tests = [r for r in records if r["phase"] == "test"]
    assert len(tests) == 3 and all(r["loss"] is None and r["non_finite"]["/loss"] for r in tests)
    bundle = load_bundle(folder / "model.gnn")
    assert bundle.metadata["test"]["loss"] is None and "/test/loss" in bundle.metadata["non_finite"]
    assert bundle.metadata["training"]["iterations"] == 12
    assert cli("viz", folder, "-o", tmp_path / "v.html").returncode == 0
    # a resume of such a run (from its last snapshot) finishes the same way
    (folder / "model.gnn").unlink()
    resumed = cli("run", model, "--resume", folder)
    assert resumed.returncode == 0, resumed.stderr
    assert load_bundle(folder / "model.gnn").metadata["test"]["loss"] is None


# ----- class 2: a run folder that cannot be written ----------------------------------------------------

ERRNOS = [errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EIO, errno.EDQUOT]


class FailingFile:
    """A text file whose writes fail from the ``after``-th on."""

    def __init__(self, handle, after, code):
        self.handle, self.after, self.code, self.writes = handle, after, code, 0

    def write(self, text):
        self.writes += 1
        if self.writes > self.after:
            raise OSError(self.code, os.strerror(self.code))
        return self.handle.write(text)

    def __getattr__(self, name):
        return getattr(self.handle, name)


def break_writes(monkeypatch, place, code, after):
    """Make the run's writes to ``place`` fail with ``code``: the metrics file after ``after`` lines, the
    snapshot after ``after`` snapshots, model.gnn, summary.json or loss.svg."""
    if place == "metrics":
        real_open = rundir.open_for_writing

        def failing_open(path, mode, **options):
            handle = real_open(path, mode, **options)
            return FailingFile(handle, after, code) if str(path).endswith("metrics.jsonl") else handle

        monkeypatch.setattr(rundir, "open_for_writing", failing_open)
    elif place == "snapshot":
        real, count = snapshots.save_bundle, [0]

        def failing(path, bundle):
            count[0] += 1
            if count[0] > after and Path(path).parent.name == "run":
                raise OSError(code, os.strerror(code), str(path))
            return real(path, bundle)

        monkeypatch.setattr(snapshots, "save_bundle", failing)
    elif place == "model.gnn":
        def failing(path, bundle):
            raise OSError(code, os.strerror(code), str(path))

        monkeypatch.setattr(rundir, "save_bundle", failing)
    else:
        real_atomic = rundir.write_atomic

        def failing_atomic(path, data):
            if Path(path).name == place and Path(path).parent.name == "run":
                raise OSError(code, os.strerror(code), str(path))
            return real_atomic(path, data)

        monkeypatch.setattr(rundir, "write_atomic", failing_atomic)


PLACES = [("metrics", 0), ("metrics", 1), ("metrics", 3), ("snapshot", 0), ("snapshot", 2), ("model.gnn", 0),
          ("summary.json", 0), ("loss.svg", 0)]


@pytest.mark.parametrize("code", ERRNOS, ids=errno.errorcode.get)
@pytest.mark.parametrize(("place", "after"), PLACES)
def test_an_unwritable_run_folder_keeps_the_trained_state(place, after, code, setup, tmp_path, monkeypatch):
    _folder, _, model, reference = setup
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with monkeypatch.context() as patched:
        break_writes(patched, place, code, after)
        result = cli("run", model, "--out", tmp_path / "run")
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    line = lines[-1]
    assert line.startswith("error: cannot write ") and os.strerror(code) in line and "Traceback" not in result.stderr
    assert all(not other.startswith("error:") for other in lines[:-1])
    assert "resume with: graphnn run " in line, line
    kept = Path(line.split(" --resume ")[-1])
    assert kept.is_dir() and (kept / "snapshot.gnn").is_file()
    resumed = cli("run", model, "--resume", kept)
    assert resumed.returncode == 0, resumed.stderr
    assert same_weights(kept / "model.gnn", reference / "model.gnn")  # nothing trained was lost


def test_when_nothing_can_be_written_the_line_says_what_was_kept(setup, tmp_path, monkeypatch):
    _folder, _, model, _ = setup

    def no_room(*args, **options):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("tempfile.mkdtemp", no_room)
    break_writes(monkeypatch, "snapshot", errno.ENOSPC, 2)  # snapshots of iterations 5, 10 written; 15 fails
    result = cli("run", model, "--out", tmp_path / "run")
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert "only the last snapshot, of iteration 10, is kept in" in line and "--resume" in line


@pytest.mark.parametrize("name", ["model.gnn", "metrics.jsonl", "snapshot.gnn", "summary.json", "loss.svg"])
def test_a_folder_in_a_files_place_is_one_line(name, setup, tmp_path):
    _, _, model, reference = setup
    (tmp_path / "run" / name).mkdir(parents=True)
    (tmp_path / "run" / name / "inside").write_text("keep me")
    result = cli("run", model, "--out", tmp_path / "run", "--overwrite")
    assert result.returncode == 1, (result.stdout, result.stderr)
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: cannot write ") and "a folder is in its place" in line, line
    assert (tmp_path / "run" / name / "inside").read_text() == "keep me"
    if "nothing was trained yet" not in line:  # the trained state is kept and resumes to the same weights
        assert name not in ("metrics.jsonl", "snapshot.gnn")
        kept = Path(line.split(" --resume ")[-1])
        if kept != tmp_path / "run":
            assert cli("run", model, "--resume", kept).returncode == 0
            assert same_weights(kept / "model.gnn", reference / "model.gnn")


# ----- class 9: a folder holding another run -----------------------------------------------------------

@pytest.mark.parametrize("name", rundir.RESULTS)
@pytest.mark.parametrize("face", ["cli", "python"])
def test_a_folder_holding_another_run_is_refused_unless_overwrite(name, face, setup, tmp_path):
    _, _, model, _ = setup
    run_folder = tmp_path / "run"
    run_folder.mkdir()
    (run_folder / name).write_bytes(b"another run's work")
    if face == "cli":
        result = cli("run", model, "--out", run_folder)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        for word in ("--resume", "--out", "--overwrite", name):
            assert word in result.stderr
    else:
        with pytest.raises(rundir.FolderInUse):
            Run(load_model(model), out=run_folder).train()
    assert (run_folder / name).read_bytes() == b"another run's work"
    run = Run(load_model(model), out=run_folder)
    run.overwrite = True
    assert run.train()["train"]["iterations"] == 20


def test_two_runs_into_one_folder_and_a_rerun_after_a_stop(setup, tmp_path):
    _, _, model, _ = setup
    assert cli("run", model, "--out", tmp_path / "a").returncode == 0
    before = (tmp_path / "a" / "model.gnn").read_bytes()
    second = cli("run", model, "--out", tmp_path / "a", "--seed", "9")
    assert second.returncode == 2 and "wrote" not in second.stdout
    assert (tmp_path / "a" / "model.gnn").read_bytes() == before
    usage = cli("run", model, "--resume", tmp_path / "a", "--overwrite")
    assert usage.returncode == 2 and len(usage.stderr.strip().splitlines()) == 1


# ----- class 11: signals during the final test, snapshot fields, threads ---------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("when", ["start", "end"])
def test_a_signal_during_the_final_test_is_honoured(signum, when, setup, tmp_path, monkeypatch):
    _, _, model, reference = setup
    real_test = Trainer.test

    def test_then_signal(trainer):
        final = trainer.iteration == trainer.settings.iterations
        if final and when == "start":
            os.kill(os.getpid(), signum)
        metrics = real_test(trainer)
        if final and when == "end":
            os.kill(os.getpid(), signum)
        return metrics

    with monkeypatch.context() as patched:
        patched.setattr(Trainer, "test", test_then_signal)
        result = cli("run", model, "--out", tmp_path / "run")
    assert result.returncode == 128 + signum, (result.returncode, result.stderr)
    assert "resume with:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "model.gnn").exists()
    resumed = cli("run", model, "--resume", tmp_path / "run")
    assert resumed.returncode == 0, resumed.stderr
    assert same_weights(tmp_path / "run" / "model.gnn", reference / "model.gnn")
    records = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert records == [line for line in records]  # whole lines
    assert len(records) == len((reference / "metrics.jsonl").read_text().splitlines())


def tamperings():
    """(name, change(metadata, extra)) — each keeps the bundle valid (its checksum is recomputed)."""
    def field(key, value):
        def change(info, extra):
            info[key] = value
        return change

    def batcher(key, value):
        def change(info, extra):
            info["batcher"][key] = value
        return change

    def window(index, value):
        def change(info, extra):
            info["window"][index] = value
        return change

    def drop(count):
        def change(info, extra):
            for key in sorted(extra)[:count]:
                del extra[key]
        return change

    def threads(value):
        def change(info, extra):
            info["threads"] = value
        return change

    return [
        ("epoch 10**30", batcher("epoch", 10**30)), ("epoch +1", batcher("epoch", None)),
        ("cursor +1", batcher("cursor", 1)), ("elapsed -1e308", field("elapsed", -1e308)),
        ("elapsed 1e308", field("elapsed", 1e308)), ("elapsed -0.5", field("elapsed", -0.5)),
        ("solver_t 10**30", field("solver_t", 10**30)), ("solver_t 0", field("solver_t", 0)),
        ("window count -1", window(2, -1)), ("window accuracy -1", window(1, -1.0)),
        ("window accuracy > count", window(1, 1e9)), ("window count 10**30", window(2, 10**30)),
        ("no solver slots", drop(10**6)), ("one solver slot less", drop(1)), ("two slots less", drop(2)),
        ("threads text", threads("four")), ("threads 0", threads({"blas": 0, "env": {}})),
        ("iteration 10**30", field("iteration", 10**30)),
    ]


@pytest.mark.parametrize(("name", "change"), tamperings(), ids=[name for name, _ in tamperings()])
def test_a_tampered_snapshot_is_refused(name, change, setup, tmp_path):
    _, _, model, _ = setup
    run_folder = tmp_path / "run"
    stopped = cli("run", model, "--out", run_folder, "--iterations", "20")
    assert stopped.returncode == 0
    path = run_folder / "snapshot.gnn"
    bundle = load_bundle(path)
    info = json.loads(json.dumps(bundle.metadata))
    info["snapshot"]["iteration"] = 15  # a stop at 15: the batcher moved back to where 15 batches reach
    info["snapshot"]["solver_t"] = 15
    info["snapshot"]["batcher"]["epoch"], info["snapshot"]["batcher"]["cursor"] = divmod(15 * 16, 180)
    info["snapshot"]["window"] = [0.5, 0.5, 1]
    extra = dict(bundle.extra)
    save_bundle(path, Bundle(bundle.model, bundle.weights, bundle.state, info, extra))
    Run.resume(run_folder)  # the consistent snapshot of iteration 15 is accepted
    if name == "epoch +1":
        info["snapshot"]["batcher"]["epoch"] += 1
    else:
        change(info["snapshot"], extra)
    save_bundle(path, Bundle(bundle.model, bundle.weights, bundle.state, info, extra))
    with pytest.raises(BundleError) as refused:
        Run.resume(run_folder)
    assert refused.value.file == str(path) and refused.value.path.startswith(("/metadata/snapshot", "/extra"))
    result = cli("run", model, "--resume", run_folder)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_another_blas_thread_count_is_said_in_one_line(setup, tmp_path, monkeypatch):
    _, _, model, _ = setup
    monkeypatch.setattr(snapshots, "threads", lambda: {"blas": 2, "env": {"OMP_NUM_THREADS": "2",
                                                                           "OPENBLAS_NUM_THREADS": None,
                                                                           "MKL_NUM_THREADS": None}})
    assert cli("run", model, "--out", tmp_path / "run").returncode == 0
    (tmp_path / "run" / "model.gnn").unlink()
    heard = []
    Run.resume(tmp_path / "run", report=heard.append)
    assert heard == []  # the same count: nothing to say
    monkeypatch.setattr(snapshots, "threads", lambda: {"blas": 4, "env": {"OMP_NUM_THREADS": "4",
                                                                           "OPENBLAS_NUM_THREADS": None,
                                                                           "MKL_NUM_THREADS": None}})
    Run.resume(tmp_path / "run", report=heard.append)
    assert len(heard) == 1 and "2 BLAS threads" in heard[0] and "4 BLAS threads" in heard[0]
    result = cli("run", model, "--resume", tmp_path / "run")
    assert result.returncode == 0 and "note: the snapshot was written with 2 BLAS threads" in result.stderr


def test_write_errors_are_failures_and_folder_claims_input_errors():
    from graphnn.cli import exit_code

    assert exit_code(WriteError("x")) == 1 and exit_code(rundir.FolderInUse("x")) == 2
    assert isinstance(rundir.FolderInUse("x"), GraphnnError)
