"""How summaries write numbers (graphnn/model/summary.py): counts whole with thousands separated, durations
to three significant digits, the same in every summary line; the JSON keeps full precision."""

import json

from click.testing import CliRunner

from graphnn.cli import main
from graphnn.model.summary import count, seconds
from tests.helpers import ROOT


def test_durations_and_counts_read_as_numbers():
    assert [seconds(value) for value in (0.02134, 0.5, 11.84, 99.94, 434.2, 4342.4)] == \
        ["0.0213 s", "0.5 s", "11.8 s", "99.9 s", "434 s", "4,342 s"]
    assert count(10000) == "10,000" and count(42310) == "42,310" and count(7) == "7"


def test_the_run_and_test_lines_round_alike_and_the_json_keeps_every_digit(mnist_dir, tmp_path):
    model = ROOT / "models" / "mlp784.json"
    result = CliRunner().invoke(main, ["run", str(model), "--iterations", "3", "--data-dir", str(mnist_dir),
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("trained"))
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert f"in {seconds(summary['train']['seconds'])} (" in line and line.endswith("on 10,000 samples")
    assert len(repr(summary["train"]["seconds"])) > 6  # full precision in the JSON
    tested = CliRunner().invoke(main, ["test", str(tmp_path / "run"), "--data-dir", str(mnist_dir)])
    assert tested.output.strip().endswith("on 10,000 samples") and \
        tested.output.split(": test ")[1].split(" on ")[0] == line.split("; test ")[1].split(" on ")[0]
