"""Losses across an ONNX round trip (graphnn/interop/onnx_losses.py): export records them in the
metadata, import puts them back with their loss_weight, so predict uses the primary head again."""

import json
from pathlib import Path

import numpy as np
import pytest

from graphnn.executor import Network
from graphnn.model import load_model
from graphnn.predict import output_node, predict

pytest.importorskip("onnx")
from graphnn.interop.onnx_export import network_to_onnx
from graphnn.interop.onnx_import import onnx_to_bundle
from graphnn.interop.onnx_losses import KEY

BRANCHY = Path(__file__).resolve().parents[2] / "models" / "branchy.json"


def losses(bundle):
    return {node["name"]: node for node in bundle.model.document["nodes"] if node["op"] == "loss"}


@pytest.mark.parametrize("softmax", [False, True])
def test_an_auxiliary_head_comes_back_with_its_weight(softmax):
    network = Network.initialise(load_model(BRANCHY), seed=2)
    proto = network_to_onnx(network, softmax=softmax)
    (entry,) = [entry for entry in proto.metadata_props if entry.key == KEY]
    assert {record["name"] for record in json.loads(entry.value)} == {"loss", "aux_loss"}
    bundle = onnx_to_bundle(proto)
    found = losses(bundle)
    assert found["aux_loss"]["loss_weight"] == 0.3 and "loss_weight" not in found["loss"]
    assert found["loss"]["inputs"][0] == "fc_out" and found["aux_loss"]["inputs"][0] == "fc_aux"
    assert output_node(bundle.model.plan)[0] == "fc_out"  # the primary head, not the auxiliary one
    samples = np.random.default_rng(0).uniform(size=(4, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(predict(bundle.network(), samples)[1], predict(network, samples)[1], rtol=1e-5,
                               atol=1e-6)


def test_import_with_loss_ignores_the_record_and_a_bad_record_is_ignored():
    network = Network.initialise(load_model(BRANCHY), seed=2)
    proto = network_to_onnx(network)
    assert len(losses(onnx_to_bundle(proto, loss="least_squares"))) == 2  # --loss: one per output, as before
    assert {n["function"] for n in losses(onnx_to_bundle(proto, loss="least_squares")).values()} == {"least_squares"}
    for entry in proto.metadata_props:
        if entry.key == KEY:
            entry.value = "[{\"name\": 3}]"
    assert losses(onnx_to_bundle(proto)) == {}
