"""Resolving a run's settings from the model file's train section and the overrides: values that cannot
be run are refused, naming the JSON path."""

import pytest

from graphnn.errors import GraphnnError
from tests.helpers import make_trainer


def test_epochs_that_overflow_are_refused(tmp_path):
    with pytest.raises(GraphnnError) as raised:
        make_trainer(tmp_path, overrides={"epochs": 1e308})
    assert raised.value.path == "/train/epochs"
