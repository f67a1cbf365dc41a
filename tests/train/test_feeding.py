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


def test_feeding_into_buffers_gives_the_same_values_in_the_same_memory():
    """The training loop's buffers: uint8 images converted into one array per data node, reused by every
    call (a new one when the batch's shape changes), bit for bit what a fresh conversion gives."""
    import numpy as np

    from graphnn.model.builder import Graph
    from graphnn.train.feeding import feeds

    g = Graph("fed")
    image, label = g.data("image", shape=[4, 4]), g.data("label", shape=[3], field="y")
    g.loss(g.fc(image, 3, name="fc"), label, "softmax_cross_entropy", name="loss")
    plan = g.build().plan
    every_value = np.arange(256, dtype=np.uint8).reshape(16, 4, 4)
    for dtype in (np.float32, np.float64):
        buffers = {}
        batch = {"x": every_value, "y": np.arange(16) % 3}
        fresh, first = feeds(plan, batch, dtype), feeds(plan, batch, dtype, buffers=buffers)
        assert first["image"] is buffers["image"]
        for name in fresh:
            np.testing.assert_array_equal(first[name], fresh[name], strict=True)
        second = feeds(plan, {"x": every_value[::-1], "y": batch["y"]}, dtype, buffers=buffers)
        assert second["image"] is first["image"]
        np.testing.assert_array_equal(second["image"], fresh["image"][::-1], strict=True)
        smaller = feeds(plan, {"x": every_value[:5], "y": batch["y"][:5]}, dtype, buffers=buffers)
        assert smaller["image"].shape == (5, 4, 4) and buffers["image"] is smaller["image"]
        np.testing.assert_array_equal(smaller["image"], fresh["image"][:5], strict=True)
