"""Ctrl-C (SIGINT) or SIGTERM at every phase of ``graphnn run`` and of ``--resume``, sent by the process to
itself as a phase begins (tests/cli/test_exit_codes.py times one at the start-up instead): reading the
model's data, resolving settings, building the trainer, the first step, each snapshot write, the final
test, model.gnn, summary.json and the loss chart, reading and restoring a snapshot.

Each stops with 128 + the signal's number, no traceback, the last line ``error: interrupted ...`` or
``stopped by ...``; and nothing trained is lost: the command the line gives (``--resume`` where it says so,
else the same command again) ends with the weights of a run never stopped. SIGTERM before the run's own
handler was installed killed the process without a word (-15); it is now one line and 143, as Ctrl-C is.
"""

import signal
import subprocess
import sys

import pytest

from graphnn.io.bundle import load_bundle
from tests.helpers import ROOT, cli, write_data, write_model

LAUNCHER = ROOT / "tests" / "reliability" / "signal_at.py"

INT, TERM = signal.SIGINT, signal.SIGTERM
PHASES = [  # (what is patched, the call (1-based) at which the signal comes, the signal)
    ("graphnn.train.run.load_data", 1, INT), ("graphnn.train.run.resolve_settings", 1, TERM),
    ("graphnn.train.loop.Trainer.__init__", 1, INT), ("graphnn.executor.Network.forward", 1, TERM),
    ("graphnn.executor.Network.forward", 7, INT), ("graphnn.train.snapshots.save_bundle", 1, TERM),
    ("graphnn.train.snapshots.save_bundle", 2, INT), ("graphnn.train.loop.Trainer.test", 1, TERM),
    ("graphnn.train.loop.Trainer.test", 2, INT), ("graphnn.train.rundir.save_bundle", 1, INT),
    ("graphnn.train.rundir.write_atomic", 2, TERM), ("graphnn.train.rundir.training_chart_svg", 1, INT),
]
RESUME_PHASES = [("graphnn.train.snapshots.read", 1), ("graphnn.train.snapshots.restore", 1)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phases")
    model = write_model(folder, write_data(folder), iterations=12, snapshot_interval=4, test_interval=6)
    assert cli("run", model, "--out", folder / "reference").returncode == 0
    return model, folder / "reference" / "model.gnn"


def weights(path):
    return {f"{node}/{key}": value for node, arrays in load_bundle(path).weights.items() for key, value in arrays.items()}


def same_weights(a, b):
    wa, wb = weights(a), weights(b)
    return wa.keys() == wb.keys() and all((wa[k] == wb[k]).all() for k in wa)


def signalled(target, call, signum, *args):
    """``graphnn ARGS`` in a fresh process that signals itself at the ``call``-th call of ``target``."""
    name = signal.Signals(signum).name[3:]
    return subprocess.run([sys.executable, str(LAUNCHER), target, str(call), name, *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)


def check_stopped(result, signum):
    assert result.returncode == 128 + signum, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Aborted" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(("error: interrupted", "stopped by SIG")), result.stderr
    return last


def recover(last, model, out, reference, *command):
    """The command the stop line gives, run: --resume where it says so, else the same ``command`` again."""
    if "resume with:" in last:
        again = cli("run", model, "--resume", last.rsplit(" --resume ", 1)[1])
    else:
        again = cli(*command)
    assert again.returncode == 0, (last, again.stderr)
    assert same_weights(out / "model.gnn", reference)


@pytest.mark.parametrize("target, call, signum", PHASES, ids=lambda value: getattr(value, "name", str(value)))
def test_a_stop_signal_at_each_phase_of_a_run(target, call, signum, setup, tmp_path):
    model, reference = setup
    out = tmp_path / "run"
    result = signalled(target, call, signum, "run", model, "--out", out)
    assert "signal_at: not reached" not in result.stderr
    recover(check_stopped(result, signum), model, out, reference, "run", model, "--out", out)


@pytest.mark.parametrize("target, call", RESUME_PHASES)
def test_a_stop_signal_at_each_phase_of_a_resume(target, call, setup, tmp_path):
    model, reference = setup
    out = tmp_path / "run"
    check_stopped(signalled("graphnn.train.snapshots.save_bundle", 2, signal.SIGINT, "run", model, "--out", out),
                  signal.SIGINT)  # stopped with the snapshot of iteration 8
    result = signalled(target, call, signal.SIGINT, "run", model, "--resume", out)
    assert "signal_at: not reached" not in result.stderr
    recover(check_stopped(result, signal.SIGINT), model, out, reference, "run", model, "--resume", out)


@pytest.mark.parametrize("delay", [0.0, 0.01, 0.05, 0.15, 0.4])
def test_sigterm_at_any_moment_of_the_start_up_is_one_line(delay, setup, tmp_path):
    """As tests/cli/test_exit_codes.py does for Ctrl-C: SIGTERM while Python imports graphnn, click or the
    command, or as the run begins: 143 and one line, or the interpreter's own default before any graphnn
    code ran."""
    import time

    model, _ = setup
    process = subprocess.Popen([sys.executable, "-m", "graphnn", "run", str(model), "--out", str(tmp_path / "run")],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    if process.returncode == -signal.SIGTERM and not err:
        return  # before graphnn/__main__.py ran: the interpreter's start-up
    if process.returncode == 0:
        return  # the run was over before the signal came
    assert process.returncode == 143 and "Traceback" not in err, (process.returncode, err)
    assert err.strip().splitlines()[-1].startswith(("error: interrupted (SIGTERM)", "stopped by SIGTERM")), err
