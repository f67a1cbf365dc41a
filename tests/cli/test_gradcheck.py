"""`graphnn gradcheck` through click's test runner: the table, exit codes, kinks, bundles, bad input."""

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from graphnn import ops
from graphnn.cli import main
from graphnn.executor import Network
from graphnn.io.bundle import Bundle, save_bundle
from graphnn.model import load_model, model_from_dict

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"


def gradcheck(*args):
    return CliRunner().invoke(main, ["gradcheck", *map(str, args)])


def tiny(relu_init="xavier"):
    return {"format": "graphnn/1", "name": "tiny", "nodes": [
        {"name": "x", "op": "data", "shape": [4], "field": "x"},
        {"name": "y", "op": "data", "shape": [], "field": "y"},
        {"name": "fc1", "op": "fc", "inputs": ["x"], "units": 3, "init": relu_init},
        {"name": "relu", "op": "activation", "inputs": ["fc1"], "function": "relu"},
        {"name": "fc2", "op": "fc", "inputs": ["relu"], "units": 2},
        {"name": "loss", "op": "loss", "inputs": ["fc2", "y"], "function": "softmax_cross_entropy"}]}


def test_mlp784_passes_with_a_table_per_node():
    result = gradcheck(MODELS / "mlp784.json")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith("mlp784: 18 arrays, 144 entries checked; worst relative error")
    rows = [line.split() for line in result.stdout.splitlines()[3:]]
    assert [row[0] for row in rows][:4] == ["fc1"] * 4  # input, W, b locally, then W and b on the objective
    assert {row[0] for row in rows} == {"fc1", "act1", "fc2", "act2", "fc3", "loss"}
    assert all(float(row[-1]) < 1e-4 for row in rows)


def test_branchy_checks_every_node_and_both_losses():
    result = gradcheck(MODELS / "branchy.json", "--samples", "3", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["passed"]
    checked = {(row["node"], row["check"]) for row in report["rows"]}
    assert ("aux_loss", "local") in checked and ("fc_aux", "objective") in checked
    assert ("skip", "local") in checked  # add: both inputs
    assert all(row["entries"] <= 3 for row in report["rows"])


def test_a_wrong_backward_exits_1_naming_the_array(monkeypatch):
    FC = ops.get("fc")
    backward = FC.backward

    def wrong(self, weights, cache, dy, needs, grads):
        dxs = backward(self, weights, cache, dy, needs, grads)
        if "W" in grads:
            grads["W"] *= 1.01
        return dxs

    monkeypatch.setattr(FC, "backward", wrong)
    result = gradcheck(MODELS / "mlp784.json", "--samples", "4")
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: 6 arrays exceed the tolerance 0.0001: fc1 W (local)")


def test_kinks_are_skipped_and_counted(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(tiny(relu_init={"type": "constant", "value": 0.0})))
    result = gradcheck(path, "--samples", "10", "--json")
    assert result.exit_code == 0, result.output
    rows = {(row["node"], row["array"], row["check"]): row for row in json.loads(result.stdout)["rows"]}
    relu = rows["relu", "input 0 (fc1)", "local"]
    assert relu["kinks"] > 0 and relu["entries"] + relu["kinks"] == 6  # fc1's bias is 0 too: all at the kink


def test_a_bundle_and_a_chosen_node(tmp_path):
    model = model_from_dict(tiny())
    network = Network.initialise(model, seed=3)
    save_bundle(tmp_path / "tiny.gnn", Bundle(model, network.weights, network.state))
    result = gradcheck(tmp_path / "tiny.gnn", "--node", "fc2")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()[3:]]
    assert {row[0] for row in rows} == {"fc2"} and len(rows) == 5


def test_bad_input_exits_2(tmp_path):
    assert gradcheck(tmp_path / "absent.json").exit_code == 2
    result = gradcheck(MODELS / "mlp784.json", "--node", "nope")
    assert result.exit_code == 2 and "nope" in result.output


def test_the_library_checker_finds_a_scaled_gradient():
    from graphnn.gradcheck import check_network, numerical_gradient, relative_error

    x = np.array([-1.0, 0.0, 2.0])
    grad = numerical_gradient(lambda: float(np.maximum(x, 0).sum()), x)
    assert grad[0] == 0 and np.isnan(grad[1]) and abs(grad[2] - 1) < 1e-8  # the kink at 0 is NaN
    assert relative_error(1e-9, 0.0) == 1e-6  # tiny gradients are held to an absolute error
    rows = check_network(Network.initialise(load_model(MODELS / "mlp784.json")), samples=2)
    assert max(row.worst for row in rows) < 1e-6
    assert all(row.entries == 2 for row in rows)
