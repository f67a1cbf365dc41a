"""`graphnn lr-plot` through click's test runner, and the schedule it draws."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphnn.cli import main
from graphnn.model import model_from_dict
from graphnn.train.lr_policies import POLICIES, schedule
from graphnn.train.settings import resolve_settings

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "models" / "mlp784.json"

LR = {"fixed": {}, "step": {"gamma": 0.5, "step_size": 300}, "exp": {"gamma": 0.999}, "inv": {"gamma": 1e-3,
      "power": 0.75}, "multistep": {"gamma": 0.1, "steps": [200, 600]}, "poly": {"power": 2.0},
      "sigmoid": {"gamma": -0.01, "step_size": 400}, "cosine": {}}


def model_with(lr, iterations=800):
    document = json.loads(MLP.read_text())
    document["train"]["lr"] = {"base_lr": 0.1, **lr}
    document["train"]["iterations"] = iterations
    return document


def lr_plot(*args):
    return CliRunner().invoke(main, ["lr-plot", *map(str, args)])


def test_every_policy_is_covered():
    assert set(LR) == set(POLICIES)


@pytest.mark.parametrize("policy", sorted(LR))
def test_each_policy_draws_and_prints(tmp_path, policy):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(model_with({"policy": policy, **LR[policy]})))
    result = lr_plot(path, "-o", tmp_path / "lr.svg")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"mlp784: {policy} policy over 800 iterations, lr from ")
    assert lines[1].split() == ["iteration", "0:", "0.1"] or policy == "sigmoid"
    assert lines[-1].split()[:2] == ["iteration", "799:"]
    svg = (tmp_path / "lr.svg").read_text()
    assert svg.startswith("<svg") and "<polyline" in svg and f"{policy} policy" in svg


def test_a_long_step_schedule_keeps_its_steps():
    model = model_from_dict(model_with({"policy": "multistep", "gamma": 0.1, "steps": [123_457, 500_001]},
                                       iterations=1_000_000))
    points = dict(schedule(resolve_settings(model, {})))
    assert len(points) < 2100
    assert points[123_456] == pytest.approx(0.1) and points[123_457] == pytest.approx(0.01)
    assert points[500_001] == pytest.approx(0.001) and 999_999 in points


def test_overrides_and_refusals(tmp_path):
    out = tmp_path / "lr.svg"
    result = lr_plot(MLP, "-o", out, "--iterations", "100", "--lr", "0.5")
    assert result.exit_code == 0, result.output
    assert "over 100 iterations, lr from 0.5" in result.stdout.splitlines()[0]
    again = lr_plot(MLP, "-o", out)
    assert again.exit_code == 2 and "--force" in again.stderr.splitlines()[0]
    assert lr_plot(MLP, "-o", out, "--force").exit_code == 0
    both = lr_plot(MLP, "-o", out, "--force", "--iterations", "5", "--epochs", "1")
    assert both.exit_code == 2
    document = model_with({"policy": "fixed"})
    del document["train"]
    (tmp_path / "untrained.json").write_text(json.dumps(document))
    result = lr_plot(tmp_path / "untrained.json", "-o", tmp_path / "u.svg")
    assert result.exit_code == 2 and "train" in result.stderr.splitlines()[0]
