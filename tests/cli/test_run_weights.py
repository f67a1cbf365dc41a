"""`graphnn run MODEL --weights BUNDLE` (fine-tuning) through click's test runner, and
graphnn/train/finetune.py's matching."""

import json

import numpy as np
import pytest

from graphnn.errors import ShapeError
from graphnn.executor import Network
from graphnn.io.bundle import load_bundle
from graphnn.model import model_from_dict
from graphnn.train.finetune import load_matching
from tests.helpers import cli, model_document, write_data


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(folder, data path, the run folder of a 20-iteration tiny run)."""
    folder = tmp_path_factory.mktemp("finetune")
    data = write_data(folder)
    path = folder / "tiny.json"
    path.write_text(json.dumps(model_document(data, iterations=20)))
    result = cli("run", path, "--out", folder / "base")
    assert result.returncode == 0, result.stderr
    return folder, data, folder / "base"


def changed_head(data, units=3, name="fc2", **train):
    """The tiny model with its last fc renamed and/or resized and a new fc in front of the loss."""
    document = model_document(data, iterations=5, **train)
    nodes = document["nodes"]
    head = next(node for node in nodes if node["name"] == "fc2")
    head["name"], head["units"] = name, units
    nodes.insert(nodes.index(head) + 1, {"name": "extra", "op": "fc", "inputs": [name], "units": 3})
    nodes[-1]["inputs"] = ["extra", "y"]
    return document


def test_fine_tuning_loads_by_name_and_lists_new_and_dropped(trained, tmp_path):
    _folder, data, base = trained
    path = tmp_path / "new.json"
    path.write_text(json.dumps(changed_head(data, name="head")))
    result = cli("run", path, "--weights", base / "model.gnn", "--out", tmp_path / "run", "--iterations", "1",
                 "--lr", "1e-12")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"weights from {base / 'model.gnn'}: loaded 2 nodes (fc1, bn)"
    assert lines[1] == "new (initialised): head, extra"
    assert lines[2] == "dropped (not in this model): fc2"
    old, new = load_bundle(base / "model.gnn"), load_bundle(tmp_path / "run" / "model.gnn")
    np.testing.assert_allclose(new.weights["fc1"]["W"], old.weights["fc1"]["W"], atol=1e-6)  # lr 1e-12


def test_a_shape_mismatch_is_refused_naming_both_shapes_unless_ignored(trained, tmp_path):
    _folder, data, base = trained
    path = tmp_path / "wider.json"
    path.write_text(json.dumps(changed_head(data, units=5)))
    result = cli("run", path, "--weights", base, "--out", tmp_path / "run")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "node 'fc2'" in line and "(16, 5) in the model but (16, 3)" in line and "--ignore-mismatch" in line
    assert not (tmp_path / "run").exists()
    result = cli("run", path, "--weights", base, "--ignore-mismatch", "--out", tmp_path / "run", "--iterations", "1")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[1:3] == [
        "new (initialised): extra",
        "shape mismatch (initialised): fc2 W (16, 5) here, (16, 3) in the bundle, fc2 b (5,) here, (3,) in the bundle"]


def test_lr_mult_0_keeps_loaded_weights(trained, tmp_path):
    _folder, data, base = trained
    document = model_document(data, iterations=5)
    document["nodes"][2]["lr_mult"] = 0  # fc1
    path = tmp_path / "frozen.json"
    path.write_text(json.dumps(document))
    assert cli("run", path, "--weights", base, "--out", tmp_path / "run").returncode == 0
    old, new = load_bundle(base / "model.gnn"), load_bundle(tmp_path / "run" / "model.gnn")
    np.testing.assert_array_equal(new.weights["fc1"]["W"], old.weights["fc1"]["W"])
    assert not np.array_equal(new.weights["fc2"]["W"], old.weights["fc2"]["W"])


def test_refusals(trained, tmp_path):
    folder, _data, base = trained
    model = folder / "tiny.json"
    result = cli("run", model, "--weights", model, "--out", tmp_path / "run")
    assert result.returncode == 2 and "bundle" in result.stderr.splitlines()[0]
    result = cli("run", model, "--weights", base, "--resume", base)
    assert result.returncode == 2 and "--weights" in result.stderr.splitlines()[-1]


def test_matching_in_the_library_copies_nothing_on_a_refusal(trained):
    _folder, data, base = trained
    bundle = load_bundle(base / "model.gnn")
    network = Network.initialise(model_from_dict(changed_head(data, units=5)), seed=1)
    before = network.store.weight_flat.copy()
    with pytest.raises(ShapeError) as error:
        load_matching(network, bundle)
    assert error.value.node == "fc2"
    np.testing.assert_array_equal(network.store.weight_flat, before)
    match = load_matching(network, bundle, ignore_mismatch=True)
    assert (match.loaded, match.new, match.dropped) == (["fc1", "bn"], ["extra"], [])
    np.testing.assert_array_equal(network.state["bn"]["running_mean"], bundle.state["bn"]["running_mean"])
