"""The checked-in JSON Schema is generated from the registry, current, and accepts every model."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODELS = sorted((ROOT / "models").glob("*.json"))


def test_checked_in_schema_is_current():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "generate_schema.py"), "--check"],
                            check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_schema_is_valid_2020_12():
    jsonschema.Draft202012Validator.check_schema(json.loads((ROOT / "schemas" / "model.schema.json").read_text()))


@pytest.mark.parametrize("path", MODELS, ids=[p.name for p in MODELS])
def test_every_model_matches_the_checked_in_schema(path):
    schema = json.loads((ROOT / "schemas" / "model.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads(path.read_text()))


def test_schema_rejects_a_bad_node_for_editors():
    schema = json.loads((ROOT / "schemas" / "model.schema.json").read_text())
    bad = {"format": "graphnn/1", "nodes": [{"name": "x", "op": "fc", "units": 0}]}
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(bad))
