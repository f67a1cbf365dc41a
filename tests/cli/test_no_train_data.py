"""A train section may leave out its data (only Model.fit, given arrays, trains it): every command takes such
a model file, and those that need the data say so in one line, exit 2."""

import json

import pytest

from tests.helpers import ROOT, cli


@pytest.fixture(scope="module")
def no_data(tmp_path_factory):
    document = json.loads((ROOT / "models" / "mlp784.json").read_text())
    del document["train"]["data"]
    document["train"].pop("iterations")
    document["train"]["epochs"] = 2
    path = tmp_path_factory.mktemp("nodata") / "nodata.json"
    path.write_text(json.dumps(document))
    return path


NEEDS_DATA = "at /train: the train section names no data to read; add its 'data' (a dataset or a path), or give " \
             "Model.fit the arrays"


@pytest.mark.parametrize(("arguments", "code"), [
    (["check", "{model}"], 0),
    (["run", "{model}", "--out", "{tmp}/run"], 2),
    (["lr-plot", "{model}", "-o", "{tmp}/lr.svg"], 2),  # 2 epochs: how many iterations needs the data's size
    (["lr-plot", "{model}", "-o", "{tmp}/lr.svg", "--iterations", "50"], 0),
    (["gradcheck", "{model}", "--samples", "2"], 0),
    (["time", "{model}"], 0),
    (["viz", "{model}", "-o", "{tmp}/m.html"], 0),
    (["export", "{model}", "-o", "{tmp}/m.onnx"], 0),
])
def test_each_command_on_a_model_whose_train_section_has_no_data(arguments, code, no_data, tmp_path):
    result = cli(*[argument.format(model=no_data, tmp=tmp_path) for argument in arguments])
    assert result.returncode == code and "Traceback" not in result.stderr, result.stderr
    if code == 2:
        assert result.stderr.count("\n") == 1 and NEEDS_DATA in result.stderr, result.stderr
