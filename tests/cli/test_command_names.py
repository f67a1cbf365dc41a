"""The command group through click's test runner: bare `graphnn` is the help, an unknown command names the
closest one, and contradictory options are refused."""

from pathlib import Path

from click.testing import CliRunner

from graphnn.cli import COMMANDS, main

MLP = Path(__file__).resolve().parents[2] / "models" / "mlp784.json"


def invoke(*args):
    return CliRunner().invoke(main, [str(arg) for arg in args])


def test_bare_graphnn_prints_the_help_and_exits_0():
    result = invoke()
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("Usage: ")  # the program name is the runner's
    assert all(name in result.stdout for name in ("gradcheck", "diff", "lr-plot"))


def test_an_unknown_command_suggests_the_closest():
    for typed, meant in (("chek", "check"), ("train", "run"), ("gradchek", "gradcheck"), ("dif", "diff"),
                         ("evaluate", "test")):
        result = invoke(typed)
        assert result.exit_code == 2
        assert result.stderr.splitlines()[0].startswith(f"error: no command '{typed}'; did you mean '{meant}'?")
        assert meant in COMMANDS
    assert invoke("zzzzqq").exit_code == 2


def test_iterations_with_epochs_is_refused():
    result = invoke("run", MLP, "--iterations", "3", "--epochs", "1")
    assert result.exit_code == 2 and "--iterations or --epochs" in result.stderr.splitlines()[0]
