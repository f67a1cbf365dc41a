"""Two runs into one folder at once: the second is refused (exit 2, one line), whether it starts new,
replaces (--force/--overwrite) or resumes; the folder's lock (an flock on the folder itself, no file left)
goes with the run, however it ends."""

import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from graphnn.cli import main
from graphnn.train.run import lock_folder

MLP = Path(__file__).resolve().parents[2] / "models" / "mlp784.json"
HOLD = """
import sys, time
from graphnn.train.run import lock_folder
lock_folder(sys.argv[1])
print("held", flush=True)
time.sleep(60)
"""


def run(*arguments):
    result = CliRunner().invoke(main, ["run", str(MLP), "--iterations", "2", *map(str, arguments)])
    return result.exit_code, result.output


def test_a_second_run_into_a_folder_in_use_is_refused(mnist_dir, tmp_path):
    folder = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"  # another process trains into the folder
        for extra in ([], ["--force"], ["--overwrite"]):
            code, output = run("--data-dir", mnist_dir, "--out", folder, *extra)
            assert code == 2 and output.count("\n") == 1, output
            assert f"error: {folder}: another graphnn run is training into this folder now" in output
    finally:
        holder.kill()
        holder.wait()
    code, output = run("--data-dir", mnist_dir, "--out", folder)  # the lock went with the process
    assert code == 0, output
    assert sorted(path.name for path in folder.iterdir()) == \
        ["loss.svg", "metrics.jsonl", "model.gnn", "snapshot.gnn", "summary.json"]
    descriptor = lock_folder(folder)  # held here: a resume is refused too
    try:
        code, output = run("--data-dir", mnist_dir, "--resume", folder)
        assert code == 2 and "another graphnn run is training into this folder now" in output, output
    finally:
        import os

        os.close(descriptor)
    start = time.monotonic()
    code, output = run("--data-dir", mnist_dir, "--out", folder, "--force")  # --force is --overwrite
    assert code == 0 and time.monotonic() - start < 60, output
