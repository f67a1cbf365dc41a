"""`graphnn check` with several files and --json, through click's test runner."""

import json
from pathlib import Path

from click.testing import CliRunner

from graphnn.cli import main

ROOT = Path(__file__).resolve().parents[2]
MODELS, INVALID = ROOT / "models", ROOT / "tests" / "fixtures" / "invalid"


def check(*args):
    return CliRunner().invoke(main, ["check", *map(str, args)])


def test_several_valid_files_each_get_their_table():
    result = check(MODELS / "mlp784.json", MODELS / "branchy.json")
    assert result.exit_code == 0, result.output
    heads = [line for line in result.stdout.splitlines() if ": valid (" in line]
    assert [line.split(":")[0] for line in heads] == ["mlp784", "branchy"]


def test_one_invalid_file_among_valid_ones_exits_2_and_the_rest_are_checked(tmp_path):
    result = check(MODELS / "mlp784.json", INVALID / "cycle.json", tmp_path / "absent.json", MODELS / "lenet.json")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and "cycle" in lines[0] and "absent.json" in lines[1]
    assert "lenet: valid" in result.stdout and "mlp784: valid" in result.stdout


def test_json_lists_nodes_or_errors_per_file():
    result = check("--json", MODELS / "mlp784.json", INVALID / "cycle.json")
    assert result.exit_code == 2 and result.stderr == ""
    report = json.loads(result.stdout)
    good, bad = report["files"]
    assert report["valid"] is False and good["valid"] and not bad["valid"]
    assert good["parameters"] == 42_310 and good["nodes"][2] == {
        "name": "fc1", "op": "fc", "inputs": ["image"], "output": [50], "parameters": 39_250, "flops": good["nodes"][2]["flops"]}
    assert len(bad["errors"]) == 1 and "cycle" in bad["errors"][0]
