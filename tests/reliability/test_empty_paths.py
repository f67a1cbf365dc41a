"""An empty path, as any argument or option of any command that takes a path, is one usage line, exit 2
(the CLI's get_command refuses it for every click.Path): it stood for the current folder (``check ''``),
for the option's default (``run M --resume ''`` started a new run into runs/NAME instead of resuming,
``viz -o ''`` wrote NAME.html) or reached pathlib (``import ''``: a ValueError traceback). The cases are
walked from each command's click parameters, so a new path option is covered when it is added."""

import importlib

import click
import numpy as np
import pytest

from graphnn.cli import COMMANDS
from tests.helpers import cli, trained_and_exported


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("empty")
    model, bundle = trained_and_exported(folder, iterations=3)
    np.save(folder / "samples.npy", np.zeros((2, 12), np.float32))
    return {"check": [model], "viz": [model], "time": [model], "gradcheck": [model], "export": [model],
            "lr-plot": [model], "diff": [model, model], "run": [model], "test": [bundle],
            "predict": [bundle, folder / "samples.npy"], "import": [folder / "net.onnx"], "data": ["mnist"], "zoo": []}


def cases():
    for name, (module, _) in sorted(COMMANDS.items()):
        command = importlib.import_module(module).command
        arguments = [param for param in command.params if isinstance(param, click.Argument)]
        for param in command.params:
            if isinstance(param.type, click.Path):
                yield name, param.name, arguments.index(param) if param in arguments else param.opts[0]


@pytest.mark.parametrize("name, param, where", list(cases()))
def test_an_empty_path_is_one_usage_line(name, param, where, base, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = [str(value) for value in base[name]]
    if isinstance(where, int):
        args[where:where + 1] = [""]
    else:
        args += [where, ""]
    result = cli(name, *args)
    assert result.returncode == 2, (args, result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "an empty path names no file or folder" in lines[0], lines
    assert not list(tmp_path.iterdir()), "nothing is written"
