"""The zoo ships in the package (graphnn/zoo/, models/ links to it): found by name where no such file exists
(said in one line on stderr), listed by `graphnn zoo` with parameter counts equal to the published ones;
`graphnn check` sums a model with blocks up by block."""

from pathlib import Path

import pytest
from click.testing import CliRunner

import graphnn
from graphnn.cli import main
from graphnn.model import load_model, zoo

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = {"resnet18": 11_689_512, "resnet50": 25_557_032, "vgg16": 138_357_544,  # torchvision's, 1000 classes
             "googlenet": 6_624_904, "densenet121": 7_978_856, "mobilenet": 4_231_976}


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def test_models_is_the_zoo_and_no_file_has_a_second_copy():
    assert (ROOT / "models").is_symlink() and (ROOT / "models").resolve() == zoo.FOLDER
    assert {"mlp784", "mlp784-10epochs", "branchy", "lenet", *PUBLISHED} <= set(zoo.names())
    assert len({path.read_bytes() for path in zoo.FOLDER.glob("*.json")}) == len(zoo.names())


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_counts_equal_the_published_ones(name):
    assert load_model(name).plan.parameter_count() == PUBLISHED[name]


def test_resnet50_is_torchvisions_v1_5_in_at_most_150_lines():
    text = (zoo.FOLDER / "resnet50.json").read_text()
    assert len(text.splitlines()) <= 150
    model = load_model("resnet50")
    conv = model.plan.by_name
    assert conv["stage2.block1.conv1"].op.params["stride"] == 1 and conv["stage2.block1.conv2"].op.params["stride"] == 2
    assert model.plan.shapes["stage4.block3.out"] == (2048, 7, 7)


def test_a_zoo_name_is_found_where_no_such_file_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("check", "resnet18")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [(f"note: no file 'resnet18' here; using the zoo's resnet18 "
                                           f"({zoo.FOLDER / 'resnet18.json'})")]
    assert result.stdout.startswith("resnet18: valid")
    assert graphnn.load_model("resnet50").plan.parameter_count() == PUBLISHED["resnet50"]
    (tmp_path / "resnet18").write_text("{}")  # a file of that name wins
    assert invoke("check", "resnet18").exit_code == 2
    assert invoke("check", "no-such-model").exit_code == 2


def test_a_file_in_the_folder_is_used_as_before():
    result = invoke("check", "models/mlp784.json")
    assert result.exit_code == 0 and result.stderr == ""


def test_graphnn_zoo_lists_every_model_with_its_parameters():
    result = invoke("zoo")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:-1]}
    assert set(rows) == set(zoo.names())
    assert all(rows[name] == f"{count:,}" for name, count in PUBLISHED.items())
    assert rows["mlp784"] == "42,310"
    paths = invoke("zoo", "--paths").stdout.splitlines()
    assert paths == [str(zoo.FOLDER / f"{name}.json") for name in zoo.names()]


def test_check_sums_a_model_with_blocks_up_by_block():
    result = invoke("check", "models/resnet50.json")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "bottleneck ×4 (first: bottleneck_down)" in rows["stage2"] and "(512, 28, 28)" in rows["stage2"]
    assert rows["stage2"].split()[-2] == "1,219,584"
    assert rows["total"].split()[-2] == "25,557,032" and "177 nodes" in rows["total"]
    assert rows["bottleneck"].split()[1:3] == ["12", "120"]  # instances, nodes
    assert "stage2.block1.conv1" not in result.stdout
    every = invoke("check", "models/resnet50.json", "--nodes").stdout
    assert "stage2.block1.conv1" in every and "bottleneck ×4" not in every


def test_the_zoo_is_package_data():  # (a wheel built from here holds graphnn/zoo/*.json; checked by hand)
    text = (ROOT / "pyproject.toml").read_text()
    assert '"zoo/*.json"' in text
