"""`-o` and `--out` are accepted by every command that writes a file or folder."""

from pathlib import Path

import click
import pytest

from graphnn.cli import COMMANDS, main

WRITERS = ("export", "import", "lr-plot", "run", "viz")


@pytest.mark.parametrize("name", WRITERS)
def test_every_writing_command_takes_o_and_out(name):
    command = main.get_command(None, name)
    (option,) = [p for p in command.params if isinstance(p, click.Option) and "--out" in p.opts]
    assert "-o" in option.opts
    assert set(WRITERS) <= set(COMMANDS)


def test_out_writes_where_o_does(tmp_path):
    from tests.helpers import cli

    model = Path(__file__).resolve().parents[2] / "models" / "mlp784.json"
    assert cli("viz", model, "--out", tmp_path / "a.svg").returncode == 0 and (tmp_path / "a.svg").exists()
