"""`graphnn diff A B` through click's test runner (exit codes as diff(1), the first line, the tables, JSON),
and graphnn/diff.py on model files, bundles and run folders."""

import copy
import json

import numpy as np
import pytest

from graphnn.diff import diff_sources
from graphnn.io.bundle import load_bundle, save_bundle
from graphnn.io.sources import load_source
from tests.helpers import cli, model_document, write_data


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("diff")
    data = write_data(folder)
    document = model_document(data, iterations=10)
    path = folder / "tiny.json"
    path.write_text(json.dumps(document))
    assert cli("run", path, "--out", folder / "run").returncode == 0
    return folder, document, path


def write(folder, name, document):
    path = folder / name
    path.write_text(json.dumps(document))
    return path


def rows(output):
    return [line.split(None, 4) for line in output.splitlines()[3:]]


def test_the_same_file_exits_0(files):
    _folder, _document, path = files
    result = cli("diff", path, path)
    assert result.returncode == 0 and result.stdout == f"{path} and {path}: the same\n"


def test_a_renamed_node_is_neither_added_nor_removed(files, tmp_path):
    _folder, document, path = files
    other = copy.deepcopy(document)
    other["nodes"][6]["name"] = "head"  # fc2
    other["nodes"][7]["inputs"] = ["head", "y"]
    result = cli("diff", path, write(tmp_path, "renamed.json", other))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].endswith("differ: 1 renamed")
    assert rows(result.stdout) == [["renamed", "head", "name", "fc2", "head"]]


def test_changed_parameters_shapes_and_settings(files, tmp_path):
    _folder, document, path = files
    other = copy.deepcopy(document)
    other["nodes"][2]["units"] = 20  # fc1
    other["nodes"][4]["function"] = "relu"
    other["train"]["lr"]["base_lr"] = 0.5
    del other["nodes"][3]  # bn
    other["nodes"][3]["inputs"] = ["fc1"]
    result = cli("diff", path, write(tmp_path, "changed.json", other), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    changes = {(c["kind"], c["node"], c["what"]): (c["a"], c["b"]) for c in report["changes"]}
    assert changes[("removed", "bn", "node")] == ("batchnorm", None)
    assert changes[("changed", "fc1", "units")] == (16, 20)
    assert changes[("changed", "fc1", "weight W")] == ([12, 16], [12, 20])
    assert changes[("changed", "act", "inputs")] == (["bn"], ["fc1"])
    assert changes[("changed", "act", "function")] == ("tanh", "relu")
    assert changes[("setting", "", "/train/lr/base_lr")] == (0.05, 0.5)
    assert not report["same"] and report["weights"] == []  # model files carry no weights


def test_two_bundles_compare_every_weight(files, tmp_path):
    folder, _document, _path = files
    run = folder / "run"
    same = cli("diff", run, run / "model.gnn")
    assert same.returncode == 0, same.stdout
    bundle = load_bundle(run / "model.gnn")
    bundle.weights["fc1"]["W"] = bundle.weights["fc1"]["W"].copy()
    bundle.weights["fc1"]["W"][0, 0] += 0.25
    save_bundle(tmp_path / "moved.gnn", bundle)
    result = cli("diff", run, tmp_path / "moved.gnn")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].endswith("differ: 1 of 6 weights changed")
    (row,) = [line.split() for line in result.stdout.splitlines() if line.startswith("fc1")]
    assert row[:2] == ["fc1", "W"] and float(row[-2]) == pytest.approx(0.25, rel=1e-6)
    difference = diff_sources(load_source(run), load_source(tmp_path / "moved.gnn"))
    (moved,) = [w for w in difference.weights if w.max_abs]
    a = load_bundle(run / "model.gnn").weights["fc1"]["W"]
    assert moved.rel_norm == pytest.approx(0.25 / np.linalg.norm(a.astype(np.float64)), rel=1e-5)
    assert difference.nodes_of("b") == {"fc1": "weights"}


def test_a_model_file_against_a_run_folder(files):
    folder, _document, path = files
    result = cli("diff", path, folder / "run")
    assert result.returncode == 0, result.stdout  # the run's model is the file's; a model file has no weights


def test_bad_input_exits_2(files, tmp_path):
    _folder, _document, path = files
    (tmp_path / "broken.json").write_text("{")
    for other in (tmp_path / "absent.json", tmp_path / "broken.json", tmp_path):
        result = cli("diff", path, other)
        assert result.returncode == 2 and result.stderr.startswith("error: ")
