"""graphnn run on a real terminal (a pseudo-terminal): the progress bar is redrawn in place with its ETA and
labelled rate, its last state stays on the screen above the test line; piped, the same run prints plain
lines."""

import os
import select
import subprocess
import sys
from pathlib import Path

MLP = Path(__file__).resolve().parents[2] / "models" / "mlp784.json"


def run_on_a_terminal(arguments):
    """stdout and stderr of ``graphnn`` run with both on one pseudo-terminal, as a user sees them."""
    master, slave = os.openpty()
    process = subprocess.Popen([sys.executable, "-m", "graphnn", *arguments], stdin=slave, stdout=slave,
                               stderr=slave, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait(timeout=60) == 0, b"".join(chunks)
    return b"".join(chunks).decode()


def test_the_bar_on_a_terminal_and_plain_lines_when_piped(mnist_dir, tmp_path):
    arguments = ["run", str(MLP), "--iterations", "40", "--data-dir", str(mnist_dir), "--test-interval", "20"]
    screen = run_on_a_terminal([*arguments, "--out", str(tmp_path / "tty")])
    frames = screen.split("\r\x1b[K")
    assert len(frames) >= 3 and frames[1].startswith("[") and "iteration 1/40" in frames[1], screen
    assert "samples/s (average)" in frames[1] and "ETA" in frames[1]
    lines = screen.replace("\r\n", "\n").split("\n")
    tested = [index for index, line in enumerate(lines) if line.startswith("iteration 40: test accuracy")]
    assert tested and "iteration 40/40" in lines[tested[0] - 1]  # the last bar stays above the test line
    assert any(line.startswith("iteration 20: test accuracy") for line in lines)
    piped = subprocess.run([sys.executable, "-m", "graphnn", *arguments, "--out", str(tmp_path / "piped")],
                           capture_output=True, text=True, check=True)
    assert "\r" not in piped.stderr and "\x1b" not in piped.stderr
    plain = [line for line in piped.stderr.splitlines() if line.startswith("iteration ") and "/40" in line]
    assert len(plain) == 4 and plain[-1].startswith("iteration 40/40") and "ETA" in plain[-1]  # one per 10
