"""From graphnn to ONNX and back to prediction: an imported file with no loss gives a bundle that
`predict`, `test --data` and `viz` accept, with the predictions of the network it came from."""

import json

import numpy as np
import pytest

from graphnn.io.bundle import load_bundle
from graphnn.predict import accuracy, output_node, predict
from tests.helpers import cli, model_document, write_data

pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    """(folder, data file, the trained run folder, the bundle imported back from its ONNX export)."""
    folder = tmp_path_factory.mktemp("onnx_round_trip")
    data = write_data(folder)
    path = folder / "tiny.json"
    path.write_text(json.dumps(model_document(data, iterations=60)))
    assert cli("run", path, "--out", folder / "run").returncode == 0
    assert cli("export", folder / "run" / "model.gnn", "-o", folder / "tiny.onnx").returncode == 0
    import onnx

    proto = onnx.load(folder / "tiny.onnx")
    del proto.metadata_props[:]  # as a file from another tool: no record of graphnn's losses
    onnx.save(proto, folder / "tiny.onnx")
    result = cli("import", folder / "tiny.onnx", "-o", folder / "imported.gnn")
    assert result.returncode == 0, result.stderr
    return folder, data, folder / "run", folder / "imported.gnn"


def test_the_imported_bundle_has_no_loss_and_one_output(round_trip):
    _folder, _data, _run, imported = round_trip
    plan = load_bundle(imported).model.plan
    assert plan.losses == []
    assert output_node(plan)[0] == "fc2"


def test_predict_gives_the_original_predictions(round_trip):
    folder, data, run, imported = round_trip
    samples = np.load(data)["x_test"][:20]
    np.save(folder / "samples.npy", samples)
    result = cli("predict", imported, folder / "samples.npy", "--top", "2")
    assert result.returncode == 0, result.stderr
    original = cli("predict", run, folder / "samples.npy", "--top", "2")  # a run folder, too
    assert original.returncode == 0, original.stderr
    assert result.stdout == original.stdout
    classes, probabilities = predict(load_bundle(imported).network(), samples)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(classes, predict(load_bundle(run / "model.gnn").network(), samples)[0])


def test_test_with_data_tests_a_bundle_with_no_test_section(round_trip):
    _folder, data, run, imported = round_trip
    result = cli("test", imported, "--data", data)
    assert result.returncode == 0, result.stderr
    line = result.stdout.splitlines()[0]
    assert line.startswith("tiny: test accuracy ") and "on 60 samples" in line and "no loss node" in line
    original = cli("test", run, "--data", data)
    assert original.returncode == 0, original.stderr
    assert original.stdout.split()[3].rstrip(",") == line.split()[3]  # the same accuracy
    missing = cli("test", imported)
    assert missing.returncode == 2 and "--data" in missing.stderr.splitlines()[0]


def test_viz_draws_it(round_trip):
    folder, _data, _run, imported = round_trip
    result = cli("viz", imported, "-o", folder / "imported.svg")
    assert result.returncode == 0, result.stderr


def test_choosing_the_output(round_trip):
    folder, data, _run, imported = round_trip
    samples = np.load(data)["x_test"][:5]
    np.save(folder / "five.npy", samples)
    result = cli("predict", imported, folder / "five.npy", "--output", "act")
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 5
    bad = cli("predict", imported, folder / "five.npy", "--output", "nope")
    assert bad.returncode == 2 and "'nope'" in bad.stderr.splitlines()[0]
    network = load_bundle(imported).network()
    from graphnn.datasets.split import load_split

    split = load_split({"path": str(data), "split": "test"})
    assert accuracy(network, split, 7)["samples"] == 60


def test_two_outputs_and_no_loss_ask_for_output(tmp_path):
    from graphnn.errors import DataError
    from graphnn.model import model_from_dict

    model = model_from_dict({"format": "graphnn/1", "name": "two", "nodes": [
        {"name": "x", "op": "data", "shape": [4]},
        {"name": "a", "op": "fc", "inputs": ["x"], "units": 3},
        {"name": "b", "op": "fc", "inputs": ["x"], "units": 2}]})
    with pytest.raises(DataError, match="2 outputs \\(a, b\\); choose one with --output"):
        output_node(model.plan)
    assert output_node(model.plan, "b")[0] == "b"


def test_json_output_and_one_sample_alone(round_trip):
    folder, data, run, imported = round_trip
    one = np.load(data)["x_test"][0]  # shape (12,): one sample, not 12
    np.save(folder / "one.npy", one)
    result = cli("predict", imported, folder / "one.npy", "--json", "--top", "2")
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    record = json.loads(line)
    assert record["sample"] == 0 and len(record["top"]) == 2 and record["class"] == record["top"][0]["class"]
    tested = cli("test", imported, "--data", data, "--json")
    assert tested.returncode == 0, tested.stderr
    metrics = json.loads(tested.stdout)
    assert metrics["samples"] == 60 and metrics["output"] == "fc2" and 0 <= metrics["accuracy"] <= 1
    with_loss = json.loads(cli("test", run, "--json").stdout)
    assert set(with_loss) >= {"model", "accuracy", "loss", "samples"}
