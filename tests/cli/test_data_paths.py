"""A relative data path in a model file is taken from the model file's folder, whatever the current folder:
`graphnn check`, `graphnn run` and `graphnn test` (of the bundle the run wrote) find the same files, and a
path that names nothing is one line naming the model file and the JSON path of the data section."""

import json
import shutil

from graphnn.train.run import Run
from tests.helpers import ROOT, assert_one_line_error, cli, model_document, write_data


def model_beside_its_data(tmp_path, data_name="data.npz"):
    """tmp/models/tiny.json whose train and test data are ``data_name``, relative: tmp/models/data.npz."""
    folder = tmp_path / "models"
    folder.mkdir()
    write_data(folder)
    document = model_document(data_name, iterations=20)
    path = folder / "tiny.json"
    path.write_text(json.dumps(document))
    return path


def test_check_run_and_test_take_relative_paths_from_the_model_file(tmp_path, monkeypatch):
    model = model_beside_its_data(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # no data.npz here
    assert cli("check", model).returncode == 0
    result = cli("run", model, "--out", tmp_path / "runs" / "tiny")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "runs" / "tiny" / "summary.json").read_text())
    tested = cli("test", tmp_path / "runs" / "tiny" / "model.gnn")
    assert tested.returncode == 0, tested.stderr
    assert f"test accuracy {summary['test']['accuracy']:.4f}" in tested.stdout
    resumed = Run.resume(tmp_path / "runs" / "tiny")  # the snapshot's model finds the data too
    assert len(resumed.trainer.train_split) == 180


def test_a_missing_data_file_names_the_model_file_and_the_data_path(tmp_path):
    model = model_beside_its_data(tmp_path, data_name="absent.npz")
    missing = tmp_path / "models" / "absent.npz"
    checked = cli("check", model)  # every error, one line each: the train and the test section's
    assert checked.returncode == 2
    assert checked.stderr.splitlines() == [f"error: {model}: at /{section}/data/path: no such file or folder: "
                                           f"{missing}" for section in ("train", "test")]
    result = cli("run", model, "--out", tmp_path / "run")
    assert result.returncode == 2
    assert_one_line_error(result, model, "/train/data/path", missing)


def test_test_names_the_bundle_when_its_data_is_gone(tmp_path):
    model = model_beside_its_data(tmp_path)
    assert cli("run", model, "--out", tmp_path / "run").returncode == 0
    shutil.move(tmp_path / "models" / "data.npz", tmp_path / "moved.npz")
    bundle = tmp_path / "run" / "model.gnn"
    assert_one_line_error(cli("test", bundle), bundle, "/model/test/data/path", "models/data.npz")


def test_test_data_names_an_unknown_dataset_or_split_in_one_line(tmp_path):
    import graphnn

    bundle = tmp_path / "m.gnn"
    graphnn.load_model(ROOT / "models" / "mlp784.json").save(bundle)
    unknown = "neither a dataset (mnist, fashion-mnist) nor a file or folder (did you mean 'mnist'?)"
    for data, said in (("mnistt", unknown),
                       ("foo:test", "neither a dataset"), ("mnist:val", "no split 'val' of mnist")):
        result = cli("test", bundle, "--data", data)
        assert result.returncode == 2 and said in result.stderr, result.stderr
        assert_one_line_error(result)
