"""`graphnn check` through click's test runner: exit codes, the summary table, one line per error."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from graphnn.cli import main

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "tests" / "fixtures" / "invalid"


def check(path):
    return CliRunner().invoke(main, ["check", str(path)])


def table_row(output, first_cell):
    (row,) = [line.split() for line in output.splitlines() if line.split()[:1] == [first_cell]]
    return row


def test_check_mlp784_prints_the_table():
    result = check(ROOT / "models" / "mlp784.json")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("mlp784: valid")
    assert table_row(result.stdout, "node")[:4] == ["node", "op", "inputs", "output"]
    assert table_row(result.stdout, "fc1")[:5] == ["fc1", "fc", "image", "(50,)", "39,250"]
    assert table_row(result.stdout, "total")[3] == "42,310"
    assert result.stderr == ""


@pytest.mark.parametrize("path", sorted((ROOT / "models").glob("*.json")), ids=lambda path: path.name)
def test_every_model_file_passes_check(path):
    result = check(path)
    assert result.exit_code == 0, result.output


def test_invalid_model_prints_one_line_per_error():
    path = INVALID / "schema_errors.json"
    result = check(path)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 7
    assert all(line.startswith(f"error: {path}:") for line in lines)
    assert [line.split()[1].split(":")[1] for line in lines] == ["2", "7", "7", "8", "9", "16", "30"]
    assert "Traceback" not in result.output and result.stdout == ""


@pytest.mark.parametrize("name", ["syntax_error", "cycle", "shape_mismatch", "too_many_parameters"])
def test_each_kind_of_invalid_model_exits_2_with_one_line(name):
    result = check(INVALID / f"{name}.json")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not an uncaught error


def test_missing_file_exits_nonzero_with_one_line(tmp_path):
    result = check(tmp_path / "absent.json")
    assert result.exit_code != 0
    assert len(result.output.splitlines()) == 1 and "absent.json" in result.output
    assert "Traceback" not in result.output
