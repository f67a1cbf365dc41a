"""Exit codes, walked over every command: 2 and one line ("error: ...", no traceback) for everything the
user can fix in the input or on the command line, 1 for failures while running, 130 for Ctrl-C.

The usage attacks are generated from each command's own click parameters (every command in
graphnn.cli.COMMANDS, so a new command is covered when it is registered); the input attacks are a table of
bad files and values per command.
"""

import json
import os
import signal
import subprocess
import sys
import time

import click
import numpy as np
import pytest

from graphnn.cli import COMMANDS, LazyGroup
from graphnn.errors import (
    BundleError,
    DataError,
    GraphnnError,
    InputError,
    ModelInvalid,
    RunFailure,
    TrainingError,
    WriteError,
)
from tests.helpers import ROOT, cli, model_document, write_data, write_model


def assert_usage_error(result, code=2):
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def commands():
    group = LazyGroup()
    return {name: group.get_command(None, name) for name in sorted(COMMANDS)}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    files = {"missing": folder / "absent.json", "folder": folder / "a_folder"}
    files["folder"].mkdir()
    for name, data in (("empty", b""), ("garbage", b"\x00\xff\x89GNN garbage"), ("json_list", b"[1, 2]"),
                       ("not_utf8", b'{"format": "\xff\xfe"}'), ("deep", b"[" * 100_000)):
        files[name] = folder / f"{name}.json"
        files[name].write_bytes(data)
    return files


def usage_attacks():
    """(command, arguments) pairs, generated from each command's parameters."""
    attacks = []
    for name, command in commands().items():
        arguments = [p for p in command.params if isinstance(p, click.Argument)]
        attacks.append((name, ["--no-such-option"]))
        if any(p.required for p in arguments):
            attacks.append((name, []))  # a missing argument
        filler = ["models/mlp784.json"] * len(arguments)
        if all(p.nargs != -1 for p in arguments):  # one too many, but for a command taking several files
            attacks.append((name, [*filler, "one", "too", "many"]))
        for option in command.params:
            if not isinstance(option, click.Option) or option.is_flag or not option.opts[-1].startswith("--"):
                continue
            kinds = {click.types.IntParamType: ["abc", "1.5", "-5", "99999999999999999999999999x"],
                     click.types.FloatParamType: ["abc", "nan?", "-1e400x"], click.Choice: ["no-such-choice"]}
            for kind, values in kinds.items():
                if isinstance(option.type, kind):
                    for value in values:
                        if isinstance(option.type, click.types.FloatParamType) or value != "-5" or \
                                getattr(option.type, "min", None) is not None:
                            attacks.append((name, [*filler, option.opts[-1], value]))
            if option.nargs == 1 and not isinstance(option.type, click.types.BoolParamType):
                attacks.append((name, [*filler, option.opts[-1]]))  # an option without its value
    return attacks


@pytest.mark.parametrize(("name", "arguments"), usage_attacks(), ids=lambda value: str(value)[:40])
def test_every_usage_error_exits_2_in_one_line(name, arguments):
    assert_usage_error(cli(name, *arguments))


def test_usage_attacks_cover_every_command():
    assert {name for name, _ in usage_attacks()} == set(COMMANDS)
    assert len(usage_attacks()) >= 5 * len(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("kind", ["missing", "folder", "empty", "garbage", "json_list", "not_utf8", "deep"])
def test_every_command_refuses_bad_files_with_2(name, kind, bad_files, tmp_path):
    command = commands()[name]
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    paths = [p for p in arguments if isinstance(p.type, click.Path)]
    if not paths:
        pytest.skip(f"{name} takes no file")
    values = [str(bad_files[kind]) if isinstance(p.type, click.Path) else "x" for p in arguments]
    extra = {"run": ["--out", tmp_path / "run"], "viz": ["-o", tmp_path / "out.html"],
             "export": ["-o", tmp_path / "out.onnx"], "import": ["-o", tmp_path / "out.json"]}.get(name, [])
    result = cli(name, *values, *extra)
    if name == "viz" and result.returncode == 0:  # viz draws an invalid model, its errors marked
        assert "error" in result.stdout and kind not in ("missing", "folder")
        return
    assert_usage_error(result)


# ----- bad input the user can fix, command by command ------------------------------------------------

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A tiny model, its data, and a trained bundle of it."""
    folder = tmp_path_factory.mktemp("small")
    data = write_data(folder)
    model = write_model(folder, data, iterations=5)
    result = cli("run", model, "--out", folder / "run")
    assert result.returncode == 0, result.stderr
    return folder, data, model, folder / "run" / "model.gnn"


def input_attacks(folder, data, model, bundle):
    """(arguments, words the line names)."""
    document = model_document(data)
    no_loss = dict(document, nodes=[node for node in document["nodes"] if node["op"] != "loss"])
    (folder / "noloss.json").write_text(json.dumps(no_loss))
    no_test = dict(document)
    no_test.pop("test")
    (folder / "notest.json").write_text(json.dumps(no_test))
    (folder / "garbage.onnx").write_bytes(b"\x08\x07garbage not protobuf \xff\xff\xff")
    np.save(folder / "wrong.npy", np.zeros((3, 5, 5), np.float32))
    np.save(folder / "strings.npy", np.array(["a", "b"]))
    (folder / "huge.json").write_text(json.dumps(dict(document, train=dict(document["train"], batch_size=10**9))))
    return [
        (["run", folder / "noloss.json", "--out", folder / "r1"], ["loss"]),
        (["run", folder / "huge.json", "--out", folder / "r2"], ["batch"]),
        (["run", model, "--resume", folder / "nowhere"], ["snapshot"]),
        (["run", model, "--resume", folder / "run", "--out", folder / "elsewhere"], ["--resume"]),
        (["data", "imagenet"], ["imagenet"]),
        (["data", "../../etc/passwd"], []),
        (["export", model, "--opset", "999", "-o", folder / "m.onnx"], ["999"]),
        (["export", folder / "garbage.onnx", "-o", folder / "m2.onnx"], []),
        (["import", folder / "garbage.onnx", "-o", folder / "m.json"], ["garbage.onnx"]),
        (["import", folder / "garbage.onnx", "-o", folder / "m.txt"], [".gnn"]),
        (["test", model], []),
        (["test", folder / "garbage.onnx"], []),
        (["predict", bundle, folder / "wrong.npy"], []),
        (["predict", bundle, folder / "strings.npy"], []),
        (["predict", bundle, model], []),
        (["predict", model, folder / "wrong.npy"], []),
        (["time", folder / "huge.json"], ["batch"]),
        (["check", folder / "garbage.onnx"], []),
        (["viz", model, "-o", folder / "x.unknown"], ["format"]),
        (["viz", folder, "-o", folder / "x.html"], []),
    ]


def test_bad_input_exits_2_in_one_line_for_every_command(small):
    attacks = input_attacks(*small)
    assert {arguments[0] for arguments, _ in attacks} >= {"run", "data", "export", "import", "test", "predict",
                                                          "time", "check", "viz"}
    failed = []
    for arguments, words in attacks:
        result = cli(*arguments)
        try:
            assert_usage_error(result)
            for word in words:
                assert word in result.stderr, (arguments, result.stderr)
        except AssertionError as error:
            failed.append((arguments[0], arguments[-1], str(error)[:300]))
    assert not failed, failed


def test_the_error_classes_say_who_can_fix_it():
    from graphnn.cli import exit_code
    from graphnn.train.signals import Interrupted

    for kind in (GraphnnError, InputError, BundleError, DataError):
        assert exit_code(kind("x")) == 2
    assert exit_code(ModelInvalid([GraphnnError("x")])) == 2
    for error in (TrainingError("x"), WriteError("x"), RunFailure("x"), OSError(28, "No space left on device"),
                  MemoryError()):
        assert exit_code(error) == 1
    assert exit_code(Interrupted(signal.SIGTERM, 3, "s.gnn")) == 143
    assert exit_code(KeyboardInterrupt()) == 130
    assert not issubclass(RunFailure, InputError) and not issubclass(InputError, RunFailure)


def test_a_failure_while_running_exits_1(tmp_path):
    data = write_data(tmp_path, scale=1e39)
    model = write_model(tmp_path, data, batchnorm=False, activation=None)
    assert_usage_error(cli("run", model, "--out", tmp_path / "run"), code=1)


def test_an_oserror_escaping_a_command_is_one_line_and_1(monkeypatch, tmp_path):
    from graphnn.cli import check

    def failing(path):
        raise OSError(5, "Input/output error", str(path))

    monkeypatch.setattr("graphnn.model.load_model", failing)
    assert check  # imported: the command's module reads load_model when it runs
    assert_usage_error(cli("check", "models/mlp784.json"), code=1)


# ----- Ctrl-C at any moment ----------------------------------------------------------------------------

@pytest.fixture
def ctrl_c_reaches_children():
    """Children start with Ctrl-C as a terminal gives it (its default action), even when this test run was
    started in the background by a shell, which makes it ignore SIGINT: an ignored signal stays ignored
    across exec, and Python (graphnn with it) then leaves it ignored, as it should."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # a handler is reset to SIG_DFL by exec
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("delay", [0.0, 0.005, 0.01, 0.03, 0.06, 0.1, 0.2])
def test_ctrl_c_at_any_moment_exits_130_in_one_line(delay, tmp_path, ctrl_c_reaches_children):
    """SIGINT while the interpreter imports graphnn, click or the command, or while the command runs."""
    data = write_data(tmp_path)
    model = write_model(tmp_path, data, iterations=100_000)
    process = subprocess.Popen([sys.executable, "-m", "graphnn", "run", str(model), "--out", str(tmp_path / "run")],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    try:
        _out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    print(f"exit {process.returncode} after {delay} s; stderr:\n{err}")  # shown when it fails
    # graphnn/__init__.py runs before either handler can be installed (python -m imports the package first):
    # a signal there is start-up too, as is one in the interpreter's own site and runpy
    package, root = str(ROOT / "graphnn") + os.sep, str(ROOT / "graphnn" / "__init__.py")
    started = any(package in line and root not in line for line in err.splitlines()
                  if line.lstrip().startswith("File "))
    if process.returncode == -signal.SIGINT and not err or "Traceback" in err and not started:
        return  # the interpreter's own start-up (site, .pth files, runpy), before any graphnn code ran
    assert process.returncode == 130, (process.returncode, err)
    lines = err.strip().splitlines()
    assert "Traceback" not in err and "Aborted" not in err, err
    assert len(lines) == 1 and lines[0].startswith("error: ") or "stopped by SIGINT" in err, err


def test_the_early_handler_is_only_the_commands(ctrl_c_reaches_children):
    """Importing graphnn.cli from a program keeps the program's own Ctrl-C."""
    code = "import signal, graphnn.cli; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stdout.strip() == "True"


@pytest.mark.parametrize("place", ["file_as_folder", "folder_as_file", "disk_full"])
def test_export_and_import_to_an_unwritable_place_are_one_line_and_1(place, tmp_path, monkeypatch):
    pytest.importorskip("onnx")
    source = tmp_path / "m.onnx"
    assert cli("export", "models/mlp784.json", "-o", source).returncode == 0
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "taken.onnx").mkdir()
    (tmp_path / "taken.gnn").mkdir()
    targets = {"file_as_folder": (tmp_path / "a_file" / "m.onnx", tmp_path / "a_file" / "m.gnn"),
               "folder_as_file": (tmp_path / "taken.onnx", tmp_path / "taken.gnn"),
               "disk_full": (tmp_path / "full.onnx", tmp_path / "full.gnn")}[place]
    if place == "disk_full":
        from graphnn.io import atomic

        def no_room(path, data):
            raise OSError(28, "No space left on device", str(path))

        monkeypatch.setattr(atomic, "_write", no_room)
    for arguments, target in ((["export", "models/mlp784.json", "-o", targets[0]], targets[0]),
                              (["import", source, "-o", targets[1]], targets[1])):
        result = cli(*arguments)
        assert_usage_error(result, code=2 if place == "folder_as_file" else 1)  # click's dir_okay=False: usage
        assert str(target.parent) in result.stderr and ".tmp" not in result.stderr, result.stderr
