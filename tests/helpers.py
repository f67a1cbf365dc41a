"""What several test files share: a small synthetic run (a dataset, a model file, a trainer), graphnn's
command line run in this process or in a fresh one, model documents that name Python objects wherever a
file names something, and bundle bytes taken apart and put back together by the file layout that
graphnn/io/bundle.py documents (to craft files that reach the checks behind the checksum).
"""

import gc
import hashlib
import json
import math
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from graphnn.io.bundle import MAGIC
from graphnn.model import model_from_dict
from graphnn.train import snapshots
from graphnn.train.run import Run

ROOT = Path(__file__).resolve().parents[1]
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
    return Run(model_from_dict(model_document(data, **options)), overrides).trainer


def without_elapsed(records):
    return [{key: value for key, value in record.items() if key != "elapsed"} for record in records]


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


def trained_with_snapshot(folder):
    """(a trainer after 20 iterations, the snapshot file it wrote into ``folder``)."""
    trainer = make_trainer(folder, iterations=20)
    trainer.run()
    return trainer, snapshots.write(folder, trainer, 0)


# ----- the command line -------------------------------------------------------------------------------

def cli(*args):
    """Run ``graphnn ARGS`` in this process (click's test runner; an exception other than a GraphnnError
    would propagate); returns a CompletedProcess with its exit code and output."""
    from click.testing import CliRunner

    from graphnn.cli import main

    result = CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def trained_and_exported(folder, iterations):
    """(model file, bundle) of the tiny model trained ``iterations`` by ``graphnn run`` into ``folder``/run;
    the bundle is also exported to ``folder``/net.onnx."""
    model = write_model(folder, write_data(folder), iterations=iterations)
    assert cli("run", model, "--out", folder / "run").returncode == 0
    bundle = folder / "run" / "model.gnn"
    assert cli("export", bundle, "-o", folder / "net.onnx").returncode == 0
    return model, bundle


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


# ----- files that name Python objects -----------------------------------------------------------------

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


# ----- bundle bytes by their layout -------------------------------------------------------------------

_PREFIX = len(MAGIC) + 8  # magic, then the header's length as a little-endian uint64


def split_parts(data):
    """(header, [each tensor's bytes]) of bundle bytes, read by the layout without any check."""
    (length,) = struct.unpack("<Q", data[len(MAGIC):_PREFIX])
    header = json.loads(data[_PREFIX:_PREFIX + length])
    blobs, offset = [], _PREFIX + length
    for entry in header["tensors"]:
        size = math.prod(entry["shape"]) * np.dtype(entry["dtype"]).itemsize
        blobs.append(data[offset:offset + size])
        offset += size
    return header, blobs


def join_parts(header, blobs):
    """Bundle bytes from any header (NaN and lone surrogates allowed: crafted files must reach the
    checks) and tensor bytes, with a correct checksum: the inverse of ``split_parts``."""
    header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8", "surrogatepass")
    body = MAGIC + struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(blobs)
    return body + hashlib.sha256(body).digest()


def varint(value):
    """``value`` as a protobuf varint (a negative one as its 64-bit two's complement, as protobuf writes it)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


# ----- linear growth ----------------------------------------------------------------------------------

GROWTH_RATIO = 6  # time at 4n over time at n; linear is about 4, quadratic about 16
GROWTH_RUNS = 3  # each size timed this many times, the best kept
GROWTH_ATTEMPTS = 3  # whole measurements, until one is under the ratio


def cpu_seconds(call):
    """CPU time of one call (others busy on the machine do not count), with the garbage collector off
    (its full passes would add noise)."""
    gc.collect()
    gc.disable()
    try:
        started = time.process_time()
        call()
        return time.process_time() - started
    finally:
        gc.enable()


def growth(make, load, size, runs=GROWTH_RUNS):
    """(best time at ``size``, best time at 4 ``size``) of ``load(make(n))``, the sizes timed in turn."""
    small, large = make(size), make(4 * size)
    load(small), load(large)  # warm caches (validators, imports, the allocator's arenas)
    times = [(cpu_seconds(lambda: load(small)), cpu_seconds(lambda: load(large))) for _ in range(runs)]
    return min(t for t, _ in times), min(t for _, t in times)


def assert_grows_linearly(make, load, size, runs=GROWTH_RUNS):
    """Loading ``make(4 size)`` takes under GROWTH_RATIO times as long as ``make(size)``. A shared machine
    can slow every run of one size (a burst from a neighbour, in CPU time too), so a measurement over the
    ratio is taken again, up to GROWTH_ATTEMPTS times: a quadratic cost (about 16) fails every one."""
    measured = []
    for _ in range(GROWTH_ATTEMPTS):
        small, large = growth(make, load, size, runs)
        measured.append(f"{small:.3f} s at n={size:,}, {large:.3f} s at 4n")
        if large / small < GROWTH_RATIO:
            return
    raise AssertionError(f"{make.__name__} grows faster than linearly: " + "; ".join(measured))
