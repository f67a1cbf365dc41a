"""`graphnn time` through click's test runner: the per-node table, totals, JSON, bad input. No timings are
asserted (they depend on the machine); only that they are reported."""

import json
from pathlib import Path

from click.testing import CliRunner

from graphnn.cli import main
from graphnn.model import load_model
from graphnn.timing import time_model

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "models" / "mlp784.json"


def invoke(*args):
    return CliRunner().invoke(main, ["time", *map(str, args)])


def test_time_prints_a_row_per_node_and_the_totals():
    result = invoke(MLP, "--batch-size", 8, "--iterations", 2)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("mlp784: batch 8, float32, average of 2 iterations")
    header = lines[1].split()
    assert header[:3] == ["node", "op", "output"] and "forward" in header and "backward" in header
    rows = {line.split()[0]: line.split() for line in lines[3:]}
    for node in ("image", "label", "fc1", "act1", "fc2", "act2", "fc3", "loss"):
        assert node in rows, node
    assert rows["fc1"][1:3] == ["fc", "(50,)"]
    assert rows["total"][1:3] == ["8", "nodes"]
    assert lines[-2].startswith("feed (uint8 -> float32)") and "update (sgd)" in lines[-2]
    assert lines[-1].startswith("iteration: ") and "samples/s" in lines[-1] and "MiB" in lines[-1]


def test_time_json_counts_the_bytes_of_outputs_caches_and_gradients():
    result = invoke(MLP, "--batch-size", 4, "--iterations", 1, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    nodes = {node["name"]: node for node in report["nodes"]}
    assert nodes["fc1"]["output_bytes"] == 4 * 50 * 4  # (4, 50) float32
    assert nodes["fc1"]["grad_bytes"] == (784 * 50 + 50) * 4  # dW and db
    assert nodes["image"]["output_bytes"] == 4 * 784 * 4  # the fed batch, converted to float32
    assert all(node["forward_s"] >= 0 and node["backward_s"] >= 0 for node in report["nodes"])
    assert nodes["image"]["backward_s"] == 0  # data nodes have no backward
    assert report["iteration_s"] > 0 and report["memory_bytes"] > 0


def test_time_library_defaults_to_the_models_training_batch():
    report = time_model(load_model(MLP), iterations=1)
    assert report.batch_size == 100 and report.solver == "sgd"
    assert report.iteration_s == report.feed_s + report.forward_s + report.backward_s + report.update_s


def test_time_leaves_the_weights_as_they_were():
    from graphnn.executor import Network

    model = load_model(MLP)
    network = Network.initialise(model, seed=3)
    before = {node: {k: v.copy() for k, v in arrays.items()} for node, arrays in network.weights.items()}
    time_model(model, batch_size=5, iterations=2, network=network)
    for node, arrays in before.items():
        for key, value in arrays.items():
            assert (network.weights[node][key] == value).all(), (node, key)


def test_time_of_an_invalid_model_is_one_error_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "graphnn/1", "nodes": [{"name": "x", "op": "fc", "inputs": ["nowhere"], "units": 2}]}')
    result = invoke(bad)
    assert result.exit_code == 2
    assert "error" in result.stderr and "nowhere" in result.stderr
    assert "Traceback" not in result.output


def test_two_data_nodes_of_one_field_and_other_sizes_are_one_error_line(tmp_path):
    """A random batch fills each field once: two data nodes reading field x with sizes that one sample cannot
    both have are refused naming them (was a reshape traceback); of one size they share the sample."""
    document = json.loads(MLP.read_text())
    document["nodes"][1]["field"] = "x"  # the label node, shape [10], now reads the images too
    (tmp_path / "two.json").write_text(json.dumps(document))
    result = invoke(tmp_path / "two.json", "--iterations", 1)
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "data nodes 'image' [784] and 'label' [10] both read field 'x'" in result.stderr
    document["nodes"].insert(1, {"name": "again", "op": "data", "shape": [28, 28]})
    document["nodes"][2]["field"] = "y"
    (tmp_path / "shared.json").write_text(json.dumps(document))
    assert invoke(tmp_path / "shared.json", "--iterations", 1).exit_code == 0
