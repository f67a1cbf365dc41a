"""Issue 14 class 11, data-parallel: a stop signal during the final test of an ``mpiexec -n 2`` run stops
every rank as on one process: exit 128 + the signal's number, one line naming the snapshot and the
--resume command, no model.gnn written, and --resume then ends with the bundle of a run never stopped.

The signal is sent by the rank to itself at a chosen moment (tests/reliability/signal_in_final_testing.py),
to rank 0 (which writes the folder) or rank 1 (which only the agreement tells rank 0 about).
"""

import json
import re
import subprocess
import sys

import pytest

from tests.helpers import ROOT, model_document, write_data
from tests.train.test_distributed import find_mpiexec, mpirun, needs_mpi

LAUNCHER = ROOT / "tests" / "reliability" / "signal_in_final_testing.py"
CASES = [(0, "TERM", "start"), (1, "INT", "end"), (1, "TERM", "start"), (0, "INT", "end")]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("distributed-stop")
    model = folder / "tiny.json"
    model.write_text(json.dumps(model_document(write_data(folder), iterations=40, display_interval=5,
                                               test_interval=20, snapshot_interval=10)))
    full = mpirun(2, model, "--out", folder / "full")
    assert full.returncode == 0, full.stderr
    return model, folder / "full" / "model.gnn"


@needs_mpi
@pytest.mark.parametrize("rank, name, moment", CASES)
def test_a_signal_during_the_final_test_stops_every_rank_with_the_snapshot(reference, rank, name, moment, tmp_path):
    model, full = reference
    out = tmp_path / "run"
    job = subprocess.run([find_mpiexec(), "-n", "2", sys.executable, str(LAUNCHER), str(rank), name, moment,
                          "run", str(model), "--out", str(out), "--distributed"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert job.returncode == 128 + {"TERM": 15, "INT": 2}[name], job.stderr
    assert "Traceback" not in job.stderr
    last = job.stderr.strip().splitlines()[-1]
    assert re.fullmatch(rf"stopped by SIG{name} at iteration 40; snapshot written to .*snapshot\.gnn; resume with: "
                        r"mpiexec -n 2 graphnn run .* --distributed --resume .*", last), job.stderr
    assert not (out / "model.gnn").exists()
    resumed = mpirun(2, model, "--resume", out)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "model.gnn").read_bytes() == full.read_bytes()


PHASES = [("graphnn.train.run.load_data", "INT"), ("graphnn.train.distributed.DataParallel.setup", "TERM"),
          ("graphnn.train.snapshots.save_bundle", "INT"), ("graphnn.executor.Network.forward", "TERM")]


@needs_mpi
@pytest.mark.parametrize("target, name", PHASES)
def test_a_signal_at_each_phase_of_a_data_parallel_run_is_one_line(reference, target, name, tmp_path):
    """Every rank signals itself as the phase begins: before training it was a traceback and exit 1 (the
    rank's guard took KeyboardInterrupt for a bug); now one line and 128 + N; in training, the snapshot,
    from which --resume ends with the bundle of a run never stopped."""
    model, full = reference
    out = tmp_path / "run"
    job = subprocess.run([find_mpiexec(), "-n", "2", sys.executable, str(ROOT / "tests" / "reliability" / "signal_at.py"),
                          target, "1", name, "run", str(model), "--out", str(out), "--distributed"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120, check=False)
    assert job.returncode == 128 + {"TERM": 15, "INT": 2}[name], job.stderr
    assert "Traceback" not in job.stderr, job.stderr
    if "resume with:" in job.stderr:
        assert mpirun(2, model, "--resume", out).returncode == 0
        assert (out / "model.gnn").read_bytes() == full.read_bytes()
    else:
        assert re.search(rf"^rank \d: error: interrupted \(SIG{name}\)$", job.stderr, re.MULTILINE), job.stderr
