"""Data-parallel training over MPI (graphnn/train/distributed.py): real ``mpiexec -n 2`` jobs on this machine.

- 2 ranks with global batch B end with the weights of one process with batch B (float64, rtol 1e-10);
- the MNIST mlp784 run reaches the same test accuracy on 2 ranks as on 1 (within 0.5 points);
- an error on one rank, or a rank killed, ends the job non-zero within 30 s, naming the rank;
- a distributed run stopped by SIGTERM resumes bit-identical to one never stopped;
- a batch size that does not split among the ranks, or a rank with other settings, is refused in one line.

The jobs need mpi4py and an mpiexec (``pip install -e '.[mpi]'``, part of the dev extra); without them
those tests skip. The in-process tests at the end run everywhere.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from graphnn.datasets import Batcher
from graphnn.datasets.split import load_split
from graphnn.errors import GraphnnError
from graphnn.io.bundle import load_bundle
from graphnn.model import model_from_dict
from graphnn.train import mpilaunch
from graphnn.train.distributed import World, connect
from graphnn.train.evaluate import evaluate
from graphnn.train.run import Run
from tests.helpers import CLI, ROOT, model_document, write_data

FAILURE_LIMIT = 30  # seconds within which a failed job must have ended


def find_mpiexec():
    beside = Path(sys.executable).parent / "mpiexec"  # the mpich wheel's, in this Python's environment
    return str(beside) if beside.exists() else shutil.which("mpiexec")


def mpi_missing():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "mpi4py is not installed"
    return None if find_mpiexec() else "no mpiexec on PATH or beside this Python"


_MISSING = mpi_missing()
needs_mpi = pytest.mark.skipif(_MISSING is not None, reason=f"distributed tests need mpi4py and an mpiexec "
                                                            f"(pip install -e '.[mpi]'): {_MISSING}")


def mpi_command(ranks, *args):
    return [find_mpiexec(), "-n", str(ranks), *CLI, "run", *map(str, args), "--distributed"]


def mpirun(ranks, *args, timeout=120):
    return subprocess.run(mpi_command(ranks, *args), check=False, capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout)


def run_one(*args):
    return subprocess.run([*CLI, "run", *map(str, args)], check=False, capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


def plain_model(folder, data, **train):
    """The small MLP of tests/helpers.py without batch norm and dropout: its math does not depend on how a
    batch is split (batch norm's statistics and dropout's masks would)."""
    document = model_document(data, batchnorm=False, **train)
    document["nodes"] = [node for node in document["nodes"] if node["op"] != "dropout"]
    for node in document["nodes"]:
        node["inputs"] = ["act" if source == "drop" else source for source in node.get("inputs", [])]
    path = Path(folder) / "plain.json"
    path.write_text(json.dumps(document))
    return path


def read_records(folder):
    path = Path(folder) / "metrics.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.endswith("}")]


def weights(folder):
    return load_bundle(Path(folder) / "model.gnn").weights


def assert_same_weights(expected_folder, found_folder, rtol):
    """The bundles of two runs hold the same weights, to ``rtol`` (atol 1e-12), each named when it differs."""
    expected, found = weights(expected_folder), weights(found_folder)
    for node, arrays in expected.items():
        for name, array in arrays.items():
            np.testing.assert_allclose(found[node][name], array, rtol=rtol, atol=1e-12, err_msg=f"{node}/{name}")


# ----- with mpiexec ----------------------------------------------------------------------------------

@needs_mpi
def test_two_ranks_end_with_the_weights_of_one_process(tmp_path):
    model = plain_model(tmp_path, write_data(tmp_path), dtype="float64", iterations=80,
                        solver={"type": "sgd", "momentum": 0.9, "weight_decay": 0.001, "clip_gradients": 5.0})
    one, two = run_one(model, "--out", tmp_path / "one"), mpirun(2, model, "--out", tmp_path / "two")
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert re.search(r"distributed: 2 ranks .*global batch 16, 8 per rank", two.stderr)
    assert_same_weights(tmp_path / "one", tmp_path / "two", rtol=1e-10)
    records_one, records_two = read_records(tmp_path / "one"), read_records(tmp_path / "two")
    assert [r["iteration"] for r in records_one] == [r["iteration"] for r in records_two]
    for a, b in zip(records_one, records_two):  # losses and accuracies averaged over the ranks
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-9) and b["accuracy"] == pytest.approx(a["accuracy"])
    assert not (tmp_path / "two" / "rank1").exists() and "rank 1" not in two.stdout


@needs_mpi
def test_mnist_mlp784_on_two_ranks_reaches_the_accuracy_of_one(mnist_dir, tmp_path):
    model = ROOT / "models" / "mlp784.json"
    common = ["--iterations", 300, "--data-dir", mnist_dir]
    one = run_one(model, *common, "--out", tmp_path / "one")
    two = mpirun(2, model, *common, "--out", tmp_path / "two")
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    accuracy = [json.loads((tmp_path / name / "summary.json").read_text())["test"] for name in ("one", "two")]
    assert accuracy[1]["samples"] == 10000  # the ranks' halves of the test set, added up
    assert accuracy[0]["accuracy"] > 0.9
    assert abs(accuracy[1]["accuracy"] - accuracy[0]["accuracy"]) <= 0.005
    assert re.search(r"distributed: 2 ranks, [\d.]+ MB allreduced per step; rank 0 spent", two.stderr)


def data_that_overflows_on_rank_1(folder, iteration=3):
    """write_data's set with one huge sample, placed where rank 1 of 2 meets it at ``iteration``."""
    path = write_data(folder)
    arrays = dict(np.load(path))
    batcher = Batcher(load_split({"path": str(path)}, "train"), 16, seed=3)
    for _ in range(iteration):
        batcher.next()
    arrays["x_train"][batcher.order[batcher.cursor + 12]] = 3e38  # position 12 of 16: rank 1's half
    np.savez(path, **arrays)
    return path


@needs_mpi
def test_an_error_on_one_rank_ends_the_job_naming_the_rank(tmp_path):
    model = plain_model(tmp_path, data_that_overflows_on_rank_1(tmp_path), activation="relu", iterations=200)
    started = time.monotonic()
    result = mpirun(2, model, "--out", tmp_path / "out", timeout=60)
    assert time.monotonic() - started < FAILURE_LIMIT
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if ": error:" in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("rank 1: error: node 'fc1' (op fc): forward pass: output holds infinity at "
                                "iteration 3")
    assert not (tmp_path / "out" / "model.gnn").exists()


@needs_mpi
def test_a_killed_rank_ends_the_job_and_the_launcher_names_it(tmp_path):
    model = plain_model(tmp_path, write_data(tmp_path), iterations=10**6)
    job = subprocess.Popen(mpi_command(2, model, "--out", tmp_path / "out"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        lines = iter(job.stderr.readline, "")  # rank 0: "distributed: 2 ranks (rank 0 pid P on HOST, rank 1 pid Q ..."
        first = next(line for line in lines if line.startswith("distributed: "))
        rank1 = int(re.search(r"rank 1 pid (\d+) on ", first).group(1))
        deadline = time.monotonic() + 60
        while not read_records(tmp_path / "out") and time.monotonic() < deadline:
            time.sleep(0.01)  # training has begun
        os.kill(rank1, signal.SIGKILL)
        killed = time.monotonic()
        out, err = job.communicate(timeout=FAILURE_LIMIT)
    finally:
        job.kill()
    assert time.monotonic() - killed < FAILURE_LIMIT
    assert job.returncode != 0
    assert re.search(rf"PID {rank1}\b.*(KILLED|signal 9|Killed)", out + err, re.DOTALL), out + err


@needs_mpi
def test_a_distributed_run_stopped_by_sigterm_resumes_bit_identical(tmp_path):
    model = tmp_path / "tiny.json"  # batch norm (its state is averaged), dropout (per-rank masks), adam
    model.write_text(json.dumps(model_document(write_data(tmp_path), iterations=400, display_interval=5,
                                               test_interval=150, snapshot_interval=50,
                                               solver={"type": "adam", "weight_decay": 0.0005})))
    full = mpirun(2, model, "--out", tmp_path / "full")
    assert full.returncode == 0, full.stderr
    job = subprocess.Popen(mpi_command(2, model, "--out", tmp_path / "stopped"), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and job.poll() is None:
        records = read_records(tmp_path / "stopped")
        if records and records[-1]["iteration"] >= 100:
            break
        time.sleep(0.005)
    job.send_signal(signal.SIGTERM)  # the launcher passes it to both ranks
    _, stderr = job.communicate(timeout=60)
    assert job.returncode == 143, stderr
    last = stderr.strip().splitlines()[-1]
    assert re.match(r"stopped by SIGTERM at iteration \d+; snapshot written to .*; resume with: mpiexec -n 2 "
                    r"graphnn run .* --distributed --resume", last), stderr
    resumed = mpirun(2, model, "--resume", tmp_path / "stopped")
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "stopped" / "model.gnn").read_bytes() == (tmp_path / "full" / "model.gnn").read_bytes()
    strip = [[{k: v for k, v in r.items() if k != "elapsed"} for r in read_records(tmp_path / name)]
             for name in ("full", "stopped")]
    assert strip[0] == strip[1]


@needs_mpi
def test_a_batch_that_does_not_split_among_the_ranks_is_refused_without_distributed_too(tmp_path):
    model = plain_model(tmp_path, write_data(tmp_path))
    command = [arg for arg in mpi_command(2, model, "--batch-size", 15, "--out", tmp_path / "out")
               if arg != "--distributed"]  # implied: the launcher started 2 ranks
    result = subprocess.run(command, check=False, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if ": error:" in line]
    assert len(errors) == 1 and errors[0].startswith("rank 0: error: ")
    assert "global batch size 15 does not split evenly among 2 ranks" in errors[0], result.stderr


@needs_mpi
def test_a_rank_with_other_settings_is_refused(tmp_path):
    model = plain_model(tmp_path, write_data(tmp_path))
    command = mpi_command(1, model, "--out", tmp_path / "out")
    other = command[3:] + ["--seed", "4"]  # rank 1 runs with another seed (mpiexec's A : B form)
    result = subprocess.run(command + [":", "-n", "1", *other], check=False, capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 2
    assert "rank 1: error: this rank's settings differ from rank 0's" in result.stderr, result.stderr


# ----- in process, without MPI -------------------------------------------------------------------------

def test_an_mpi_launch_is_read_from_the_environment():
    assert mpilaunch.launched_size({}) == 1
    assert mpilaunch.launched_size({"PMI_SIZE": "4"}) == 4
    assert mpilaunch.launched_size({"OMPI_COMM_WORLD_SIZE": "8"}) == 8
    environ = {"PMI_SIZE": "8", "MPI_LOCALNRANKS": "4"}
    assert mpilaunch.share_cores(environ, cores=16) == 4 and environ["OMP_NUM_THREADS"] == "4"
    assert mpilaunch.share_cores({"PMI_SIZE": "4"}, cores=2) == 1
    assert mpilaunch.share_cores({"PMI_SIZE": "2", "OMP_NUM_THREADS": "3"}, cores=2) is None  # the user's


def test_without_mpi4py_distributed_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(GraphnnError, match=r"needs mpi4py .*pip install 'graphnn\[mpi\]'"):
        connect()


def test_one_rank_data_parallel_trains_like_a_single_process(tmp_path):
    data = write_data(tmp_path)
    document = json.loads(plain_model(tmp_path, data, dtype="float64").read_text())
    single = Run(model_from_dict(document)).trainer
    parallel = Run(model_from_dict(document), world=World()).trainer  # strategy=DataParallel(World())
    hook = parallel.strategy
    sizes = [array.size for arrays in parallel.network.weights.values() for array in arrays.values()]
    assert hook.store.grad_flat is parallel.network.store.grad_flat  # the gradients are allreduced in place,
    assert hook.store.grad_flat.size == sum(sizes) and hook.extra.size == 4  # then loss, accuracy, two stop flags
    single.run(), parallel.run()
    for node, arrays in single.network.weights.items():
        for name, array in arrays.items():
            np.testing.assert_array_equal(parallel.network.weights[node][name], array)
    tested, expected = parallel.test(), single.test()
    assert tested["samples"] == expected["samples"] and tested["accuracy"] == pytest.approx(expected["accuracy"])
    assert tested["loss"] == pytest.approx(expected["loss"], rel=1e-12)


def test_a_rank_takes_its_slice_of_the_batch_and_its_part_of_the_test_set(tmp_path):
    class Rank1Of2(World):
        def __init__(self):
            super().__init__()
            self.rank, self.size = 1, 2

        def allreduce(self, buffer):
            buffer *= 2  # as if rank 0 had the same numbers

        def gather_text(self, text, width=64):
            return [text, text]  # rank 0 runs the same model, settings and data

        def broadcast(self, buffer):
            pass  # rank 0's weights are these

    trainer = Run(model_from_dict(model_document(write_data(tmp_path))), world=Rank1Of2()).trainer
    hook = trainer.strategy
    batch = {"x": np.arange(32).reshape(16, 2), "y": np.arange(16)}
    assert hook.shard(batch)[0]["y"].tolist() == list(range(8, 16))  # (this rank's part, its dropout generator)
    part = trainer.test_split.head(len(trainer.test_split.y))
    whole = evaluate(trainer.network, part, 20)
    tested = hook.evaluate(trainer.network, part, 20)  # rank 1's half, counted twice by the fake allreduce
    second_half = evaluate(trainer.network, type(part)(part.x[30:], part.y[30:], 3, ""), 20)
    assert tested["accuracy"] == pytest.approx(second_half["accuracy"]) and tested["samples"] == whole["samples"]
    draws = [hook.rng(5).random(3), hook.rng(5).random(3), hook.rng(6).random(3)]
    assert np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[0], draws[2])
