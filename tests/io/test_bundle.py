"""Saved networks (.gnn): save -> load -> save gives the same bytes, and every damaged or crafted file
is refused with a BundleError naming the file. Crafted files are rebuilt from parts with a correct
checksum, so each test reaches the check it means to test."""

import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest

from graphnn.errors import BundleError
from graphnn.executor import Network
from graphnn.io.bundle import MAGIC, Bundle, load_bundle, save_bundle, to_bytes
from graphnn.model import load_model, model_from_dict
from tests.helpers import join_parts, split_parts

BRANCHY = Path(__file__).resolve().parents[2] / "models" / "branchy.json"


@pytest.fixture(scope="module")
def saved():
    """Bytes of a float32 branchy network with metadata and an extra array."""
    model = load_model(BRANCHY)
    net = Network.initialise(model, seed=3)
    extra = {"extra/solver/iteration": np.array([7], np.int64)}
    return to_bytes(Bundle(model, net.weights, metadata={"iteration": 7, "accuracy": 0.5}, extra=extra))


def refused(tmp_path, data):
    """The BundleError that loading ``data`` from a file raises; it must name the file."""
    path = tmp_path / "net.gnn"
    path.write_bytes(data)
    with pytest.raises(BundleError) as raised:
        load_bundle(path)
    assert raised.value.file == str(path) and str(path) in str(raised.value)
    return raised.value


def test_join_parts_rebuilds_the_saved_bytes(saved):
    assert join_parts(*split_parts(saved)) == saved


def test_save_load_save_is_byte_identical(tmp_path, saved):
    first, second = tmp_path / "first.gnn", tmp_path / "second.gnn"
    first.write_bytes(saved)
    save_bundle(second, load_bundle(first))
    assert second.read_bytes() == saved


def test_loaded_weights_metadata_and_outputs_match(tmp_path, saved):
    path = tmp_path / "net.gnn"
    path.write_bytes(saved)
    bundle = load_bundle(path)
    model = load_model(BRANCHY)
    original = Network.initialise(model, seed=3)
    assert bundle.weights.keys() == original.weights.keys()
    for node, arrays in original.weights.items():
        for key, array in arrays.items():
            assert bundle.weights[node][key].dtype == np.float32
            np.testing.assert_array_equal(bundle.weights[node][key], array)
    assert bundle.metadata["iteration"] == 7 and "graphnn_version" in bundle.metadata
    np.testing.assert_array_equal(bundle.extra["extra/solver/iteration"], [7])
    assert bundle.model.document == model.document
    image = np.random.default_rng(0).random((2, 28, 28))
    np.testing.assert_array_equal(bundle.network().forward({"image": image}, until="fc_out").values["fc_out"],
                                  original.forward({"image": image}, until="fc_out").values["fc_out"])


def test_float64_weights_round_trip(tmp_path):
    model = load_model(BRANCHY)
    path = tmp_path / "net64.gnn"
    save_bundle(path, Bundle(model, Network.initialise(model, seed=1, dtype="float64").weights))
    assert load_bundle(path).network().dtype == np.float64
    assert to_bytes(load_bundle(path)) == path.read_bytes()


def with_entry(saved, index, **changes):
    header, blobs = split_parts(saved)
    header["tensors"][index].update(changes)
    return join_parts(header, blobs)


def test_wrong_shape_is_refused(tmp_path, saved):
    header, _ = split_parts(saved)
    assert header["tensors"][0]["key"] == "weights/fc_relu/W"
    error = refused(tmp_path, with_entry(saved, 0, shape=[64, 784]))  # same bytes, transposed
    assert error.node == "fc_relu" and "(784, 64)" in str(error) and "(64, 784)" in str(error)


def test_truncated_file_is_refused(tmp_path, saved):
    for size in (len(saved) - 1, len(saved) // 2, 40, 3):
        refused(tmp_path, saved[:size])


def test_bit_flip_is_refused(tmp_path, saved):
    for position in (len(MAGIC) + 20, len(saved) // 2, len(saved) - 40):
        damaged = bytearray(saved)
        damaged[position] ^= 0x10
        assert "checksum" in str(refused(tmp_path, bytes(damaged)))


def test_huge_claims_are_refused_before_allocating(tmp_path, saved):
    refused(tmp_path, with_entry(saved, 0, shape=[10**11]))
    refused(tmp_path, with_entry(saved, 0, shape=[10**5, 10**6]))
    header_claim = MAGIC + struct.pack("<Q", 2**62) + saved[len(MAGIC) + 8:]
    refused(tmp_path, header_claim)


def test_duplicate_tensor_is_refused(tmp_path, saved):
    header, blobs = split_parts(saved)
    header["tensors"].append(dict(header["tensors"][1]))
    error = refused(tmp_path, join_parts(header, blobs + [blobs[1]]))
    assert error.path == f"/tensors/{len(blobs)}"


def test_unexpected_tensor_is_refused(tmp_path, saved):
    header, blobs = split_parts(saved)
    header["tensors"].append({"key": "weights/fc_nowhere/W", "dtype": "<f4", "shape": [2]})
    assert "fc_nowhere" in str(refused(tmp_path, join_parts(header, blobs + [bytes(8)])))


def test_missing_tensor_is_refused(tmp_path, saved):
    header, blobs = split_parts(saved)
    gone = header["tensors"].pop(3)
    del blobs[3]
    assert gone["key"] in str(refused(tmp_path, join_parts(header, blobs)))


@pytest.mark.parametrize("key", ["../x", "/weights/fc_relu/W", "weights/../x", "extra/../../x", "extra/./x",
                                 "weights/fc_relu/W/", "weights\\fc_relu\\W", "", 3])
def test_bad_keys_are_refused(tmp_path, saved, key):
    refused(tmp_path, with_entry(saved, 0, key=key))


@pytest.mark.parametrize("dtype", ["<f2", "|O", ">f4", "float32", ["<f4"], None])
def test_unknown_dtypes_are_refused(tmp_path, saved, dtype):
    assert refused(tmp_path, with_entry(saved, 0, dtype=dtype)).path == "/tensors/0"


@pytest.mark.parametrize("shape", [[-1, 64], [784, 64.0], "784", [True, 64], [1] * 9])
def test_bad_shapes_are_refused(tmp_path, saved, shape):
    refused(tmp_path, with_entry(saved, 0, shape=shape))


def test_bad_magic_and_header_are_refused(tmp_path, saved):
    refused(tmp_path, b"PK\x03\x04" + saved[4:])
    header, blobs = split_parts(saved)
    refused(tmp_path, join_parts({**header, "format": "graphnn-bundle/9"}, blobs))
    refused(tmp_path, join_parts({**header, "code": "import os"}, blobs))
    body = saved[:len(MAGIC)] + struct.pack("<Q", 3) + b"{x}"
    refused(tmp_path, body + hashlib.sha256(body).digest())


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(BundleError) as raised:
        load_bundle(tmp_path / "absent.gnn")
    assert raised.value.file == str(tmp_path / "absent.gnn")


OLD_BUNDLE = Path(__file__).resolve().parents[1] / "fixtures" / "bundles" / "small-v0.1.gnn"


def test_a_bundle_written_before_the_parameter_store_loads_and_saves_the_same_bytes():
    """small-v0.1.gnn: conv, batch norm (state), fc and a solver slot, written by graphnn 0.1.0 (92f7dce)."""
    bundle = load_bundle(OLD_BUNDLE)
    network = bundle.network()
    assert network.weights["fc"]["W"].base is network.store.weight_flat
    np.testing.assert_array_equal(network.state["bn"]["running_var"], np.float32([1.5, 2.0]))
    x = np.random.default_rng(0).random((2, 2, 3, 3)).astype(np.float32)
    np.testing.assert_array_equal(network.forward({"x": x}, until="fc").values["fc"], np.float32(
        [[-0.5063612461090088, 0.09226642549037933, -0.581709623336792],
         [-0.513412594795227, 0.09153206646442413, -0.5669996738433838]]))  # what 0.1.0 computed
    assert to_bytes(bundle) == OLD_BUNDLE.read_bytes()
    resaved = Bundle(bundle.model, network.weights, network.state, bundle.metadata, bundle.extra)
    assert to_bytes(resaved) == OLD_BUNDLE.read_bytes()  # from the store's views


def weightless_model(**train):
    document = {"format": "graphnn/1", "name": "weightless", "nodes": [
        {"name": "x", "op": "data", "shape": [2, 4, 4]},
        {"name": "pool", "op": "global_avgpool", "inputs": ["x"]},
        {"name": "y", "op": "data", "shape": [], "field": "y"},
        {"name": "loss", "op": "loss", "inputs": ["pool", "y"], "function": "softmax_cross_entropy"}]}
    if train:
        document["train"] = {"data": {"dataset": "mnist"}, "batch_size": 8, "iterations": 1,
                             "solver": {"type": "sgd"}, "lr": {"policy": "fixed", "base_lr": 0.1}, **train}
    return model_from_dict(document)


def test_a_weightless_float64_network_stays_float64(tmp_path):
    x = np.random.default_rng(1).random((3, 2, 4, 4))
    for bundle in (Bundle(weightless_model(), {}, metadata={"training": {"dtype": "float64"}}),
                   Bundle(weightless_model(dtype="float64"), {})):
        path = tmp_path / "weightless.gnn"
        save_bundle(path, bundle)
        network = load_bundle(path).network()
        assert network.dtype == np.float64
        assert network.forward({"x": x}, until="pool").values["pool"].dtype == np.float64
        assert to_bytes(load_bundle(path)) == path.read_bytes()
    assert Bundle(weightless_model(), {}).network().dtype == np.float32  # the schema's default dtype
