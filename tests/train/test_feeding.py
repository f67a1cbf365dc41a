"""Feeding a batch to the data nodes (graphnn/train/feeding.py): a data node's ``field`` is only ever a
key of the batch, never an attribute."""

import pytest

from graphnn.errors import GraphnnError
from graphnn.model import model_from_dict
from graphnn.train.run import Run
from tests.helpers import model_document, write_data


def test_a_data_field_is_a_key_never_an_attribute(tmp_path):
    """``field`` is free text in the schema; it is only ever a key of the batch dict, refused at run time."""
    document = model_document(write_data(tmp_path))
    document["nodes"][0]["field"] = "__dict__"
    with pytest.raises(GraphnnError) as raised:
        Run(model_from_dict(document))
    assert raised.value.node == "x" and "__dict__" in str(raised.value)
