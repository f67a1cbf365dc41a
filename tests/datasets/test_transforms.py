"""Data transforms (Caffe's transform_param on a data node; graphnn/datasets/transforms.py): y = (x - mean) *
scale over a crop (random in training, the centre in testing), mirrored at random in training only, raw
uint8 values not divided by 255; seeded, so runs stay bit-identical; declared and checked on the data node."""

import json
import struct

import numpy as np
import pytest

from graphnn.errors import GraphnnError
from graphnn.model import model_from_dict
from graphnn.train.feeding import check_fields, feeds
from tests.helpers import cli

RAW = np.arange(2 * 3 * 5 * 6, dtype=np.uint8).reshape(2, 3, 5, 6)  # (N, C, H, W)


def plan(shape, transform):
    document = {"format": "graphnn/1", "nodes": [{"name": "data", "op": "data", "shape": shape,
                                                  "transform": transform}]}
    return model_from_dict(document).plan


def fed(shape, transform, raw=RAW, rng=None, dtype="float64"):
    return feeds(plan(shape, transform), {"x": raw}, dtype, rng)["data"]


def test_scale_and_mean_value_take_raw_values_not_divided_by_255():
    y = fed([3, 5, 6], {"scale": 0.5, "mean_value": [1, 2, 3]})
    np.testing.assert_array_equal(y, (RAW - np.array([1, 2, 3])[None, :, None, None]) * 0.5)
    np.testing.assert_array_equal(fed([3, 5, 6], {"scale": 0.00390625}), RAW * 0.00390625)  # Caffe's 1/256
    np.testing.assert_array_equal(fed([90], {"mean_value": [10]}), RAW.reshape(2, 90) - 10.0)
    assert fed([3, 5, 6], {}, dtype="float32").dtype == np.float32


def test_testing_takes_the_centre_crop_and_never_mirrors():
    y = fed([3, 3, 3], {"crop_size": 3, "mirror": True, "mean_value": [5]})
    np.testing.assert_array_equal(y, RAW[:, :, 1:4, 1:4] - 5.0)  # top (5-3)//2 = 1, left (6-3)//2 = 1


def test_training_crops_and_mirrors_where_the_generator_says():
    transform = {"crop_size": 3, "mirror": True, "scale": 2.0}
    y = fed([3, 3, 3], transform, rng=np.random.default_rng(4))
    draws = np.random.default_rng(4)
    flips = draws.integers(0, 2, size=2).astype(bool)
    tops, lefts = draws.integers(0, 3, size=2), draws.integers(0, 4, size=2)
    for n in range(2):
        window = RAW[n, :, tops[n]:tops[n] + 3, lefts[n]:lefts[n] + 3] * 2.0
        np.testing.assert_array_equal(y[n], window[..., ::-1] if flips[n] else window)
    again = fed([3, 3, 3], transform, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(y, again)  # seeded: the same draws, the same batch


def test_every_crop_place_and_both_flips_occur():
    raw = np.random.default_rng(0).integers(0, 255, size=(400, 1, 4, 4)).astype(np.uint8)
    rng = np.random.default_rng(1)
    y = fed([1, 2, 2], {"crop_size": 2, "mirror": True}, raw=raw, rng=rng)
    seen = set()
    for n in range(len(raw)):
        for top in range(3):
            for left in range(3):
                window = raw[n, 0, top:top + 2, left:left + 2].astype(float)
                for flipped, candidate in ((False, window), (True, window[:, ::-1])):
                    if np.array_equal(y[n, 0], candidate):
                        seen.add((top, left, flipped))
    assert len(seen) == 18


def blobproto(path, array):
    """A BlobProto file (shape in field 7, packed floats in field 5), written by hand."""
    def varint(value):
        out = b""
        while True:
            byte, value = value & 0x7F, value >> 7
            out += bytes([byte | (0x80 if value else 0)])
            if not value:
                return out

    dims = b"".join(varint(d) for d in array.shape)
    shape = b"\x0a" + varint(len(dims)) + dims  # BlobShape.dim, packed
    floats = struct.pack(f"<{array.size}f", *array.reshape(-1))
    path.write_bytes(b"\x3a" + varint(len(shape)) + shape + b"\x2a" + varint(len(floats)) + floats)
    return path


def test_mean_file_is_taken_at_the_crops_place_before_cropping(tmp_path):
    mean = np.random.default_rng(2).uniform(0, 50, size=(1, 3, 5, 6)).astype(np.float32)
    blobproto(tmp_path / "mean.binaryproto", mean)
    transform = {"mean_file": str(tmp_path / "mean.binaryproto"), "crop_size": 3, "scale": 0.5}
    y = fed([3, 3, 3], transform)
    np.testing.assert_allclose(y, (RAW - mean[0])[:, :, 1:4, 1:4] * 0.5, rtol=1e-6)
    y = fed([3, 3, 3], transform, rng=np.random.default_rng(9))
    draws = np.random.default_rng(9)
    tops, lefts = draws.integers(0, 3, size=2), draws.integers(0, 4, size=2)
    for n in range(2):
        np.testing.assert_allclose(y[n], (RAW[n] - mean[0])[:, tops[n]:tops[n] + 3, lefts[n]:lefts[n] + 3] * 0.5,
                                   rtol=1e-6)


@pytest.mark.parametrize("shape,transform,message", [
    ([3, 4, 4], {"crop_size": 3}, r"with crop_size 3 the shape must be \[C, 3, 3\]"),
    ([3, 3, 3], {"mean_value": [1, 2]}, "mean_value has 2 values; give one, or one per channel"),
    ([3, 3, 3], {"mean_value": [1], "mean_file": "m.binaryproto"}, "transform"),
    ([3, 3, 3], {"crop": 3}, "unknown key 'crop'"),
])
def test_bad_transforms_are_located_errors(shape, transform, message):
    with pytest.raises(GraphnnError, match=f"node 'data'.*{message}|{message}.*node 'data'|/nodes/0/transform"):
        plan(shape, transform)


def test_samples_that_do_not_fit_the_crop_or_the_mean_are_named(tmp_path):
    from types import SimpleNamespace

    split = SimpleNamespace(x=RAW, y=np.zeros(2, np.int64), num_classes=1)
    with pytest.raises(GraphnnError, match="node 'data'.*crop_size 6 is larger than the samples"):
        check_fields(plan([3, 6, 6], {"crop_size": 6}), split)
    blobproto(tmp_path / "small.binaryproto", np.zeros((1, 3, 4, 4), np.float32))
    with pytest.raises(GraphnnError, match="node 'data'.*the mean file's mean has shape"):
        check_fields(plan([3, 3, 3], {"crop_size": 3, "mean_file": str(tmp_path / "small.binaryproto")}), split)


def test_a_run_with_transforms_is_bit_identical_and_tests_on_centre_crops(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, size=(96, 1, 6, 6)).astype(np.uint8)
    y = (x[:, 0, 2:4, 2:4].mean(axis=(1, 2)) > 127).astype(np.int64)
    np.savez(tmp_path / "data.npz", x_train=x[:64], y_train=y[:64], x_test=x[64:], y_test=y[64:])
    blobproto(tmp_path / "mean.binaryproto", np.full((1, 1, 6, 6), 127.0, np.float32))
    document = {"format": "graphnn/1", "name": "crops", "nodes": [
        {"name": "x", "op": "data", "shape": [1, 4, 4],
         "transform": {"scale": 0.01, "mean_file": "mean.binaryproto", "mirror": True, "crop_size": 4}},
        {"name": "y", "op": "data", "shape": [], "field": "y"},
        {"name": "fc", "op": "fc", "inputs": ["x"], "units": 2},
        {"name": "loss", "op": "loss", "inputs": ["fc", "y"], "function": "softmax_cross_entropy"}],
        "train": {"data": {"path": "data.npz"}, "batch_size": 16, "iterations": 12, "seed": 5,
                  "solver": {"type": "sgd", "momentum": 0.9}, "lr": {"policy": "fixed", "base_lr": 0.1}},
        "test": {"data": {"path": "data.npz"}}}
    (tmp_path / "model.json").write_text(json.dumps(document))
    bundles = []
    for run in ("a", "b"):
        result = cli("run", tmp_path / "model.json", "--out", tmp_path / run)
        assert result.returncode == 0, result.stderr
        bundles.append((tmp_path / run / "model.gnn").read_bytes())
    assert bundles[0] == bundles[1]
    assert cli("test", tmp_path / "a" / "model.gnn").returncode == 0  # the mean file found from the run folder
