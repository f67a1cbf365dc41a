"""Every command that writes a file it was asked for (export, import, viz in each format, lr-plot) on a
full disk, a read-only place, without permission, or with an I/O error: exit 1 (a failure while running,
issue 14 class 2), one line naming the file and the reason, no traceback, and the file that was there
before (replaced with --force) is byte for byte as it was: the writes are atomic (graphnn/io/atomic.py).
viz and lr-plot said exit 2 and wrote in place, so a full disk left a torn file where the old one was.

And lr-plot of a train section whose learning rate is not a finite number >= 0 somewhere in the run
(generated: overflowing step, exp, inv and multistep schedules) exits 2 naming the file and /train/lr: the
settings are the input to fix, nothing failed while running; ``run`` meets it while training (exit 1) and
names the model file too (it said only "at /train/lr").
"""

import errno
import json
import os
from unittest import mock

import pytest

from tests.helpers import cli, trained_and_exported, write_data, write_model

ERRNOS = [errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EIO]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outputs")
    model, bundle = trained_and_exported(folder, iterations=5)
    return folder, model, bundle


def commands(folder, model, bundle):
    return {"export bundle": (["export", bundle], "out.onnx"), "export model": (["export", model], "out.onnx"),
            "import": (["import", folder / "net.onnx"], "out.json"), "viz html": (["viz", bundle], "out.html"),
            "viz svg": (["viz", model], "out.svg"), "viz dot": (["viz", bundle], "out.dot"),
            "lr-plot": (["lr-plot", model], "out.svg")}


NAMES = ["export bundle", "export model", "import", "viz html", "viz svg", "viz dot", "lr-plot"]


def failing(code):
    def write(path, data):
        with open(f"{path}.partial", "wb") as handle:  # half of it written, as a full disk would
            handle.write(data[: len(data) // 2])
        raise OSError(code, os.strerror(code), str(path))

    return write


@pytest.mark.parametrize("code", ERRNOS, ids=errno.errorcode.get)
@pytest.mark.parametrize("name", NAMES)
def test_an_output_that_cannot_be_written_is_exit_1_and_the_old_file_stays(name, code, sources, tmp_path):
    folder, model, bundle = sources
    args, output = commands(folder, model, bundle)[name]
    target = tmp_path / output
    target.write_bytes(b"the old file\n")
    with mock.patch("graphnn.io.atomic._write", failing(code)):
        result = cli(*args, "-o", target, "--force")
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, lines
    assert str(target) in lines[0] and os.strerror(code) in lines[0], lines[0]
    assert target.read_bytes() == b"the old file\n"


def schedules():
    """Train sections' lr whose value overflows or fails somewhere in the run."""
    yield {"policy": "step", "base_lr": 1e308, "gamma": 1e308, "step_size": 1}
    yield {"policy": "step", "base_lr": 0.1, "gamma": 1e100, "step_size": 2}
    yield {"policy": "exp", "base_lr": 1.0, "gamma": 1e10}
    yield {"policy": "multistep", "base_lr": 1e300, "gamma": 1e300, "steps": [1, 2]}
    for gamma in (1e200, 1e300):
        yield {"policy": "inv", "base_lr": 1e300, "gamma": gamma, "power": -2.0}


@pytest.mark.parametrize("lr", list(schedules()), ids=lambda lr: json.dumps(lr))
def test_a_schedule_without_a_finite_rate_is_input_to_fix(lr, tmp_path):
    document = json.loads(write_model(tmp_path, write_data(tmp_path), iterations=50).read_text())
    document["train"]["lr"] = lr
    model = tmp_path / "lr.json"
    model.write_text(json.dumps(document))
    result = cli("lr-plot", model, "-o", tmp_path / "lr.svg")
    if result.returncode == 0:  # a schedule that stays finite over these 50 iterations
        return
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(model) in lines[0] and "/train/lr" in lines[0], lines
    run = cli("run", model, "--out", tmp_path / "run")  # met while training: a failure while running, located
    assert run.returncode == 1, (run.returncode, run.stderr)
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and (str(model) in last or "node '" in last), run.stderr  # or diverged
