"""Every command that reads a model file finds a zoo model by name when no such file exists (issue 16),
saying so in one line: gradcheck, export, lr-plot and diff did not ("error: mlp784: no such file"), while
check, viz, time and run did. The commands are walked from the CLI: each argument whose name is a model
source gets a zoo name, and a name that is neither a file nor in the zoo is still one error line, exit 2.
"""

import importlib

import pytest

from graphnn.cli import COMMANDS
from tests.helpers import cli

MODEL_ARGUMENTS = {"model_path", "model_paths", "source", "a", "b"}  # the arguments that take a model file
ARGUMENTS = {"check": ["lenet"], "viz": ["lenet"], "time": ["lenet"], "gradcheck": ["lenet"], "export": ["lenet"],
             "lr-plot": ["lenet"], "diff": ["lenet", "lenet"]}  # diff exits 1 when they differ
OUTPUTS = {"viz": "out.html", "export": "out.onnx", "lr-plot": "out.svg"}


def model_commands():
    """The commands with an argument that takes a model file."""
    found = []
    for name, (module, _) in sorted(COMMANDS.items()):
        command = importlib.import_module(module).command
        if any(param.name in MODEL_ARGUMENTS for param in command.params if param.param_type_name == "argument"):
            found.append(name)
    return found


def test_every_command_taking_a_model_is_covered():
    assert set(model_commands()) - {"run", "import", "predict", "test"} == set(ARGUMENTS)


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_a_zoo_name_is_found(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    extra = ["-o", tmp_path / OUTPUTS[name]] if name in OUTPUTS else []
    result = cli(name, *ARGUMENTS[name], *extra)
    assert result.returncode == 0, result.stderr
    assert "using the zoo's" in result.stderr


@pytest.mark.parametrize("name", sorted(ARGUMENTS))
def test_a_name_neither_a_file_nor_in_the_zoo_is_one_line(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli(name, *["no-such-model"] * len(ARGUMENTS[name]))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "no-such-model" in lines[0], lines
