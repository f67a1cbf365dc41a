"""Readers never block on a named pipe (issue 14, class 4): every reader of a user-given path refuses
anything that is not a regular file before it opens it (graphnn/io/regular.py), in one located line.

The variants are generated: each reader (model files, bundles, ONNX files, viz sources and run-folder
files, IDX / .npz / .mat / .npy data) times each kind of special file (a named pipe, a link to one, a
character device, an empty character device, a socket, a folder, a dangling link), and then the CLI
commands that read files. A reader that blocks is released after a few seconds by opening the pipe's
other end, and the test fails saying so.
"""

import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from graphnn.cli import main
from graphnn.datasets.idx import read_idx
from graphnn.datasets.matfile import read_mat
from graphnn.datasets.npzfile import read_npz, read_samples_npz
from graphnn.errors import GraphnnError
from graphnn.executor import Network
from graphnn.interop.onnx_import import load_onnx
from graphnn.io.bundle import Bundle, load_bundle, save_bundle
from graphnn.io.regular import require_regular_file
from graphnn.model import load_model, read_text
from graphnn.predict import read_samples
from graphnn.viz import load_view
from graphnn.viz.view import read_curves

ROOT = Path(__file__).resolve().parents[2]
PATIENCE_S = 5  # a reader still busy after this long is blocked

READERS = {
    "model file": (load_model, "m.json"),
    "model text": (read_text, "m.json"),
    "bundle": (load_bundle, "m.gnn"),
    "onnx": (load_onnx, "m.onnx"),
    "viz model": (load_view, "m.json"),
    "viz bundle": (load_view, "m.gnn"),
    "viz curves": (read_curves, "metrics.jsonl"),
    "idx": (read_idx, "train-images-idx3-ubyte"),
    "idx gz": (read_idx, "train-images-idx3-ubyte.gz"),
    "npz": (lambda path: read_npz(path, "train"), "d.npz"),
    "npz samples": (read_samples_npz, "d.npz"),
    "mat": (lambda path: read_mat(path, "train"), "d.mat"),
    "samples npy": (read_samples, "x.npy"),
    "samples npz": (read_samples, "x.npz"),
    "samples idx": (read_samples, "x-idx3-ubyte"),
}


def _fifo(path):
    os.mkfifo(path)


def _link_to_fifo(path):
    os.mkfifo(path.with_name(path.name + ".pipe"))
    path.symlink_to(path.with_name(path.name + ".pipe"))


def _socket(path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return server


KINDS = {
    "fifo": (_fifo, "named pipe"),
    "link to fifo": (_link_to_fifo, "named pipe"),
    "dev zero": (lambda path: path.symlink_to("/dev/zero"), "character device"),
    "dev null": (lambda path: path.symlink_to("/dev/null"), "character device"),
    "socket": (_socket, "socket"),
    "folder": (lambda path: path.mkdir(), "folder"),
    "dangling link": (lambda path: path.symlink_to(path.with_name("nowhere")), "No such file"),
}


@pytest.fixture
def short_tmp():
    """A folder with a short path (a socket's path is limited to about 100 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="gnn", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def without_blocking(call, *pipes):
    """``call()``'s exception (or None); fails when it is still running after PATIENCE_S seconds, after
    opening each of ``pipes`` for writing, which releases a reader stuck in open() or read()."""
    outcome = {}

    def target():
        try:
            call()
        except BaseException as error:  # noqa: BLE001 - the test looks at what it was
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(PATIENCE_S)
    if thread.is_alive():
        for pipe in pipes:
            try:
                os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        thread.join(PATIENCE_S)
        pytest.fail(f"still reading after {PATIENCE_S} s: blocked on a special file")
    return outcome.get("error")


def _pipes(folder):
    return [path for path in folder.rglob("*") if path.is_fifo()]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reader", READERS)
def test_each_reader_refuses_each_special_file_before_opening_it(short_tmp, reader, kind):
    read, name = READERS[reader]
    make, what = KINDS[kind]
    if kind == "folder" and read is load_view:
        pytest.skip("a folder is a run directory to viz")
    path = short_tmp / name
    keep = make(path)
    error = without_blocking(lambda: read(path), *_pipes(short_tmp))
    if keep is not None:
        keep.close()
    assert isinstance(error, GraphnnError), repr(error)
    message = str(error)
    assert "\n" not in message and str(path) in message and what in message, message


@pytest.mark.parametrize("kind", ["fifo", "dev zero", "folder"])
@pytest.mark.parametrize("name", ["metrics.jsonl", "summary.json"])
def test_a_special_file_in_a_run_folder_becomes_a_note(short_tmp, name, kind):
    folder = short_tmp / "run"
    folder.mkdir()
    _bundle_and_samples(folder, bundle="model.gnn")
    KINDS[kind][0](folder / name)
    found = {}
    assert without_blocking(lambda: found.setdefault("view", load_view(folder)), *_pipes(folder)) is None
    notes = found["view"].notes
    assert any(name in note and KINDS[kind][1] in note for note in notes), notes


def _bundle_and_samples(folder, bundle="m.gnn"):
    model = load_model(ROOT / "models" / "mlp784.json")
    save_bundle(folder / bundle, Bundle(model, Network.initialise(model, seed=0).weights))
    np.save(folder / "x.npy", np.zeros((2, 784), np.float32))


COMMANDS = {  # argument lists; SPECIAL is replaced by the special file's path
    "check": ["check", "SPECIAL.json"],
    "test": ["test", "SPECIAL.gnn"],
    "import": ["import", "SPECIAL.onnx", "-o", "OUT/m.gnn"],
    "export": ["export", "SPECIAL.gnn", "-o", "OUT/m.onnx"],
    "viz": ["viz", "SPECIAL.json", "-o", "OUT/m.html"],
    "predict bundle": ["predict", "SPECIAL.gnn", "OUT/x.npy"],
    "predict samples": ["predict", "OUT/m.gnn", "SPECIAL.npy"],
    "time": ["time", "SPECIAL.json"],
}


@pytest.mark.parametrize("kind", ["fifo", "dev zero", "socket"])
@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_refuses_a_special_file_in_one_line(short_tmp, command, kind):
    _bundle_and_samples(short_tmp)
    suffix = next(part for part in COMMANDS[command] if part.startswith("SPECIAL"))[len("SPECIAL"):]
    special = short_tmp / f"special{suffix}"
    keep = KINDS[kind][0](special)
    arguments = [str(special) if part.startswith("SPECIAL") else part.replace("OUT", str(short_tmp))
                 for part in COMMANDS[command]]
    found = {}
    error = without_blocking(lambda: found.setdefault("result", CliRunner().invoke(main, arguments)),
                             *_pipes(short_tmp))
    if keep is not None:
        keep.close()
    assert error is None, repr(error)
    result = found["result"]
    lines = result.output.strip().splitlines()
    assert result.exit_code in (1, 2) and "Traceback" not in result.output, result.output
    assert len(lines) == 1 and str(special) in lines[0] and KINDS[kind][1] in lines[0], result.output


def test_a_regular_file_passes_and_gives_its_size(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert require_regular_file(path).st_size == 3
    link = tmp_path / "link"
    link.symlink_to(path)
    assert require_regular_file(link).st_size == 3  # a link to a regular file is followed
