"""What a run reports (graphnn/train/evaluate.py reported_metrics): a regression reports no accuracy (it used
to print "accuracy 0.0000"), accuracy nodes report theirs (top-k by name), several losses each their own value
(a loss of weight 0 too: computed, reported, not trained)."""

import json

from tests.helpers import cli, model_document, write_data


def run(tmp_path, document):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document))
    result = cli("run", path, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    return result, json.loads((tmp_path / "run" / "summary.json").read_text())


def test_a_regression_reports_no_accuracy_and_a_weight_zero_loss_is_reported(tmp_path):
    document = model_document(write_data(tmp_path), iterations=30, batchnorm=False)
    nodes = document["nodes"]
    nodes[1]["shape"] = [3]  # one-hot rows
    nodes[-1]["function"] = "least_squares"
    nodes.append({"name": "monitor", "op": "loss", "inputs": ["fc2", "y"], "function": "sigmoid_cross_entropy",
                  "loss_weight": 0})
    result, summary = run(tmp_path, document)
    assert "accuracy" not in result.stdout + result.stderr
    test_lines = [line for line in result.stderr.splitlines() if ": test " in line]
    assert test_lines and all("losses: loss " in line and ", monitor " in line for line in test_lines)
    assert "; test loss " in result.stdout
    assert summary["test"]["accuracy"] is None
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(record["accuracy"] is None for record in records if "accuracy" in record)
    assert all(record["losses"]["monitor"] > 0 for record in records if record["phase"] == "test")
    trains = [record for record in records if record["phase"] == "train"]
    assert trains and all(set(record["losses"]) == {"loss", "monitor"} for record in trains)  # the last iteration's
    assert any(line.startswith("iteration ") and "losses: loss " in line and " monitor " in line
               for line in result.stderr.splitlines())


def test_accuracy_nodes_report_their_metrics_in_training_and_test_output(tmp_path):
    document = model_document(write_data(tmp_path), iterations=30, batchnorm=False)
    document["nodes"] += [{"name": "top1", "op": "accuracy", "inputs": ["fc2", "y"]},
                          {"name": "top2", "op": "accuracy", "inputs": ["fc2", "y"], "top_k": 2}]
    result, summary = run(tmp_path, document)
    test_lines = [line for line in result.stderr.splitlines() if ": test " in line]
    assert test_lines and all(line.split(": test ")[1].startswith("accuracy ") and ", accuracy_top2 " in line
                              for line in test_lines)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    tests = [record for record in records if record["phase"] == "test"]
    assert tests and all(record["accuracy_top2"] >= record["accuracy"] for record in tests)
    assert all(0 <= record["accuracy"] <= 1 for record in records if record["phase"] == "train")
    assert 0 <= summary["test"]["accuracy"] <= 1
