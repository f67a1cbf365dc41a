"""Weight fillers: one list (graphnn/ops/fillers.py) with each filler's own settings. A setting a filler
does not read is refused when the model is checked, naming the node and the JSON path (it used to pass
`graphnn check` and then crash `graphnn time` with a TypeError); settings left out take their schema
defaults."""

import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner

from graphnn.cli import main
from graphnn.model import load_model
from graphnn.ops import fillers

MLP = Path(__file__).resolve().parents[2] / "models" / "mlp784.json"


def with_init(tmp_path, init, node=2):
    document = json.loads(MLP.read_text())
    document["nodes"][node]["init"] = init
    path = tmp_path / "model.json"
    path.write_text(json.dumps(document, indent=1))
    return path


@pytest.mark.parametrize("init,key", [({"type": "xavier", "std": 0.1}, "std"), ({"type": "msra", "value": 1}, "value"),
                                      ({"type": "gaussian", "value": 0.5}, "value"),
                                      ({"type": "constant", "std": 0.5}, "std")])
@pytest.mark.parametrize("command", ["check", "time"])
def test_a_setting_the_filler_does_not_take_is_refused_with_node_and_path(tmp_path, init, key, command):
    result = CliRunner().invoke(main, [command, str(with_init(tmp_path, init))])
    assert result.exit_code == 2 and "Traceback" not in result.output
    (line,) = result.output.splitlines()
    assert f"node 'fc1' (op fc) at /nodes/2/init: unknown key '{key}'" in line


@pytest.mark.parametrize("init", ["he", {"type": "gaussian"}, {"type": "gaussian", "std": 0.5},
                                  {"type": "constant", "value": -2}, {"type": "msra"}])
def test_each_filler_takes_its_own_settings(tmp_path, init):
    assert load_model(with_init(tmp_path, init)).plan.by_name["fc1"].op.params["init"] == init


def test_the_schema_lists_every_filler_and_each_type_its_settings():
    schema = fillers.FILLER_SCHEMA
    assert schema["then"]["enum"] == sorted(fillers.FILLERS) == schema["else"]["properties"]["type"]["enum"]
    validator = jsonschema.Draft202012Validator(schema)
    for name, (_, settings) in fillers.FILLERS.items():
        assert validator.is_valid(name) and validator.is_valid({"type": name})
        assert validator.is_valid({"type": name, **{key: spec["default"] for key, spec in settings.items()}})
        others = {key for _, (_, s) in fillers.FILLERS.items() for key in s} - set(settings)
        assert not any(validator.is_valid({"type": name, key: 1.0}) for key in others)
    assert not validator.is_valid({"std": 0.1}) and not validator.is_valid("glorot")


def test_left_out_settings_take_the_schema_defaults():
    rng = np.random.default_rng(0)
    assert np.all(fillers.fill({"type": "constant"}, (3,), 1, 1, rng, np.float32) == 0.0)
    assert np.all(fillers.fill({"type": "constant", "value": 2.5}, (3,), 1, 1, rng, np.float32) == 2.5)
    drawn = fillers.fill("gaussian", (20000,), 1, 1, np.random.default_rng(0), np.float64)
    assert drawn.std() == pytest.approx(fillers.STD["default"], rel=0.05)
    assert np.array_equal(drawn, np.random.default_rng(0).normal(0.0, 0.01, 20000))
