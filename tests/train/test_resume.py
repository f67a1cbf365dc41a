"""End to end, with real processes and real signals: a run stopped by SIGINT, SIGTERM or SIGKILL and
resumed with ``graphnn run MODEL --resume RUN_DIR`` ends bit-identical to a run never stopped (the bundle's
bytes, and every metrics record but its wall-clock "elapsed"); and a run killed with SIGKILL at random
moments, most of them in the middle of writing a snapshot, always leaves a snapshot that loads and verifies.

``kill_trials`` is shared with tools/crash_trials.py, which runs many more.
"""

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from graphnn.train import snapshots
from tests.helpers import CLI, ROOT, cli, without_elapsed, write_data, write_model

CRASH_TRIALS = 20


def read_records(folder):
    path = Path(folder) / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.endswith("}")]


def stop_at(model, folder, target, signum):
    """Start ``graphnn run``, send ``signum`` once its metrics reach iteration ``target``; returns
    (exit code, stderr)."""
    process = subprocess.Popen(CLI + ["run", str(model), "--out", str(folder)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        records = read_records(folder)
        if records and records[-1]["iteration"] >= target:
            break
        time.sleep(0.005)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


@pytest.fixture(scope="module")
def run_setup(tmp_path_factory):
    """A model (adam, dropout, batch norm, test every 300) and the outputs of its uninterrupted run."""
    folder = tmp_path_factory.mktemp("resume")
    model = write_model(folder, write_data(folder), iterations=1200, display_interval=5, test_interval=300,
                        snapshot_interval=50, solver={"type": "adam", "weight_decay": 0.0005})
    result = cli("run", model, "--out", folder / "full")
    assert result.returncode == 0, result.stderr
    return model, folder


@pytest.mark.parametrize("signum,target", [(signal.SIGINT, 100), (signal.SIGTERM, 520), (signal.SIGKILL, 930)],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_a_stopped_and_resumed_run_is_bit_identical(run_setup, signum, target):
    model, folder = run_setup
    out = folder / signal.Signals(signum).name
    code, stderr = stop_at(model, out, target, signum)
    saved = snapshots.read(out).metadata["snapshot"]
    assert target <= saved["iteration"] < 1200 or signum == signal.SIGKILL
    if signum == signal.SIGKILL:
        assert code == -signal.SIGKILL and saved["iteration"] % 50 == 0
    else:  # a clean stop: 128 + the signal, one line saying where the snapshot is and how to resume
        assert code == 128 + signum
        lines = stderr.strip().splitlines()
        assert lines[-1].startswith(f"stopped by {signal.Signals(signum).name} at iteration {saved['iteration']}")
        assert str(out / "snapshot.gnn") in lines[-1] and f"--resume {out}" in lines[-1]
        assert "Traceback" not in stderr
    result = cli("run", model, "--resume", out)
    assert result.returncode == 0, result.stderr
    full = folder / "full"
    assert (out / "model.gnn").read_bytes() == (full / "model.gnn").read_bytes()
    assert without_elapsed(read_records(out)) == without_elapsed(read_records(full))
    summary, expected = (json.loads((f / "summary.json").read_text()) for f in (out, full))
    assert summary["test"] == expected["test"] and summary["train"]["iterations"] == 1200


def test_resume_refusals_are_one_line(run_setup, tmp_path):
    model, folder = run_setup
    other = tmp_path / "other.json"
    other.write_text(model.read_text().replace('"units": 16', '"units": 15'))
    for args, words in (((other, "--resume", folder / "full"), ["/nodes/2/units", "15", "16"]),
                        ((model, "--resume", folder / "full", "--lr", "0.5"), ["/lr/base_lr"]),
                        ((model, "--resume", tmp_path / "nowhere"), ["snapshot.gnn", "no snapshot"])):
        result = cli("run", *args)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert all(word in result.stderr for word in words), result.stderr
    result = cli("run", model, "--resume", folder / "full", "--out", tmp_path)
    assert result.returncode == 2 and "--resume" in result.stderr


# ----- kills at random moments ------------------------------------------------------------------------

def crash_model(folder):
    """A model whose snapshots (2.4 MB, every iteration) take most of each iteration's time."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 256)).astype(np.float32)
    np.savez(Path(folder) / "wide.npz", x_train=x, y_train=x[:, :3].argmax(axis=1))
    document = {"format": "graphnn/1", "name": "wide", "nodes": [
        {"name": "x", "op": "data", "shape": [256]}, {"name": "y", "op": "data", "shape": [], "field": "y"},
        {"name": "fc1", "op": "fc", "inputs": ["x"], "units": 1024},
        {"name": "drop", "op": "dropout", "inputs": ["fc1"], "ratio": 0.5},
        {"name": "fc2", "op": "fc", "inputs": ["drop"], "units": 3},
        {"name": "loss", "op": "loss", "inputs": ["fc2", "y"], "function": "softmax_cross_entropy"}],
        "train": {"data": {"path": str(Path(folder) / "wide.npz")}, "batch_size": 8, "iterations": 1_000_000,
                  "snapshot_interval": 1, "solver": {"type": "sgd", "momentum": 0.9},
                  "lr": {"policy": "fixed", "base_lr": 0.001}}}
    path = Path(folder) / "wide.json"
    path.write_text(json.dumps(document))
    return path


def _train_in_child(model, folder, resume):
    """In a forked child: run ``graphnn run`` in-process (no interpreter start-up), output silenced."""
    code = 1
    try:
        silent = os.open(os.devnull, os.O_WRONLY)
        os.dup2(silent, 1)
        os.dup2(silent, 2)
        from graphnn.cli import main

        main(["run", str(model), "--resume" if resume else "--out", str(folder)], standalone_mode=False)
        code = 0
    finally:
        os._exit(code)


def _writing(run, before):
    """Whether a snapshot write has begun since ``before`` (the snapshot's inode then): a temporary file
    exists, or the snapshot was replaced."""
    try:
        replaced = os.stat(snapshots.snapshot_path(run)).st_ino != before
    except FileNotFoundError:
        replaced = False
    return replaced or any(run.glob(".snapshot.gnn.*.tmp"))


def kill_trials(folder, trials, seed=0, max_delay=0.4):
    """Kill a training process with SIGKILL ``trials`` times (the first run fresh, then each resuming the
    last) and check after every kill that the folder holds a snapshot that loads and verifies.

    Even trials kill at a random moment within ``max_delay`` seconds of the start (start-up, restoring,
    training or writing); odd ones wait for a snapshot write to begin and kill within the next 15 ms,
    which lands most of them inside a write. Returns {"trials", "mid_write" (kills that left a
    half-written temporary file), "iterations" (the snapshot's iteration after each kill)}."""
    folder = Path(folder)
    model = crash_model(folder)
    run = folder / "run"
    chooser = random.Random(seed)
    stats = {"trials": 0, "mid_write": 0, "iterations": []}
    for trial in range(trials):
        before = os.stat(snapshots.snapshot_path(run)).st_ino if trial else None
        if trial:  # so that a temporary file after this kill is this kill's
            snapshots.remove_stale_temporaries(run)
        pid = os.fork()
        if pid == 0:
            _train_in_child(model, run, resume=trial > 0)
        if trial == 0 or trial % 2:  # wait for a write to begin (on the first trial: the first snapshot)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not (snapshots.snapshot_path(run).exists() if trial == 0
                                                       else _writing(run, before)):
                assert os.waitpid(pid, os.WNOHANG) == (0, 0), "the run ended before writing a snapshot"
                time.sleep(0.0005)
            time.sleep(chooser.uniform(0.0, 0.015))
        else:
            time.sleep(chooser.uniform(0.0, max_delay))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), f"trial {trial}: the run ended before the kill"
        stats["mid_write"] += any(run.glob(".snapshot.gnn.*.tmp"))
        saved = snapshots.read(run)  # loads, checksum and weights verified, metadata consistent
        stats["iterations"].append(saved.metadata["snapshot"]["iteration"])
        stats["trials"] += 1
    return stats


def test_sigkill_during_snapshot_writes_always_leaves_a_valid_snapshot(tmp_path):
    stats = kill_trials(tmp_path, CRASH_TRIALS, seed=20)
    assert stats["trials"] == CRASH_TRIALS
    assert stats["iterations"] == sorted(stats["iterations"])  # a resumed run never goes back
    assert stats["mid_write"] >= 1, stats  # some kills did land in the middle of a write
