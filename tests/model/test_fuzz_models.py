"""Fuzzing model files (strategies and properties in tests/fuzzing.py): generated models are valid, and
every mutated model file loads (and survives the canonical text and a bundle round trip) or is refused
with a one-line GraphnnError; so is every saved regression input."""

import tempfile

import pytest
from hypothesis import given, settings

from graphnn.errors import ModelInvalid
from graphnn.model import load_model
from graphnn.model.builder import Graph
from tests.fuzzing import (
    CI_SETTINGS,
    FUZZ_EXAMPLES,
    assert_clean_refusal,
    assert_refused_quickly,
    check_model_bytes,
    fixtures,
    mutated_texts,
    valid_documents,
)


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as name:
        yield name


@settings(max_examples=60, **CI_SETTINGS)
@given(document=valid_documents())
def test_generated_models_are_valid(document):
    model = Graph.from_dict(document).build()
    assert model.plan.losses


@settings(max_examples=FUZZ_EXAMPLES["model"], **CI_SETTINGS)
@given(data=mutated_texts())
def test_mutated_model_files_load_or_are_refused_cleanly(data, folder):
    check_model_bytes(data, folder)


@pytest.mark.parametrize("path", fixtures("model"), ids=lambda path: path.name)
def test_regression_model_files_are_refused_cleanly(path):
    assert_refused_quickly(path, load_model)


def test_model_invalid_lists_only_one_line_errors():
    document = Graph("m").to_dict()
    document["nodes"] = [{"name": "a\nb", "op": "fc\u2028", "inputs": ["\ud800"]}]
    with pytest.raises(ModelInvalid) as raised:
        Graph.from_dict(document).build()
    assert_clean_refusal(raised.value)
