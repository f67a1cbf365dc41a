"""A float option that is not a finite number (nan, inf, -inf, 1e999), on any command, is one usage line,
exit 2 (the CLI's get_command checks every float parameter): click's ranges let NaN through, and
``run --lr nan`` or ``--lr inf`` failed as a training error (exit 1) "at /train/lr", ``--epochs nan`` said
"nan epochs ... is too many iterations". Walked from each command's click parameters."""

import importlib

import click
import pytest

from graphnn.cli import COMMANDS
from tests.helpers import cli
from tests.reliability.test_empty_paths import base  # noqa: F401 (the fixture)


def cases():
    for name, (module, _) in sorted(COMMANDS.items()):
        for param in importlib.import_module(module).command.params:
            if isinstance(param, click.Option) and isinstance(param.type, click.types.FloatParamType):
                for value in ("nan", "inf", "-inf", "1e999", "NaN"):
                    yield name, param.opts[0], value


@pytest.mark.parametrize("name, option, value", list(cases()))
def test_a_float_option_that_is_not_finite_is_one_usage_line(name, option, value, base, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    result = cli(name, *map(str, base[name]), option, value)
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: Invalid value for") and option in lines[0], lines
    assert not list(tmp_path.iterdir()), "nothing is written"
