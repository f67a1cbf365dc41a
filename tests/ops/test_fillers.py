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
    for name, filler in fillers.FILLERS.items():
        assert validator.is_valid(name) and validator.is_valid({"type": name})
        assert validator.is_valid({"type": name, **{key: spec["default"] for key, spec in filler.settings.items()
                                                    if "default" in spec}})
        others = {key for other in fillers.FILLERS.values() for key in other.settings} - set(filler.settings)
        assert not any(validator.is_valid({"type": name, key: 1.0}) for key in others)
    assert not validator.is_valid({"std": 0.1}) and not validator.is_valid("glorot")


def test_left_out_settings_take_the_schema_defaults():
    rng = np.random.default_rng(0)
    assert np.all(fillers.fill({"type": "constant"}, (3,), 1, 1, rng, np.float32) == 0.0)
    assert np.all(fillers.fill({"type": "constant", "value": 2.5}, (3,), 1, 1, rng, np.float32) == 2.5)
    drawn = fillers.fill("gaussian", (20000,), 1, 1, np.random.default_rng(0), np.float64)
    assert drawn.std() == pytest.approx(fillers.STD["default"], rel=0.05)
    assert np.array_equal(drawn, np.random.default_rng(0).normal(0.0, 0.01, 20000))


def test_caffe_xavier_and_msra_follow_variance_norm_and_graphnn_xavier_is_unchanged():
    fan_in, fan_out = 12, 34
    shape = (4, 3, 2, 2)  # a kernel (F, C, k, k), as Caffe's blob: fan_in = C k k = 12, fan_out = F k k = 16
    for norm, n in (("fan_in", 12), ("fan_out", 16), ("average", 14)):
        drawn = fillers.fill({"type": "xavier", "variance_norm": norm}, shape, fan_in, fan_out,
                             np.random.default_rng(3), np.float64)
        bound = np.sqrt(3 / n)
        assert np.array_equal(drawn, np.random.default_rng(3).uniform(-bound, bound, shape))
        drawn = fillers.fill({"type": "msra", "variance_norm": norm}, shape, fan_in, fan_out,
                             np.random.default_rng(3), np.float64)
        assert np.array_equal(drawn, np.random.default_rng(3).normal(0, np.sqrt(2 / n), shape))
    glorot = np.sqrt(6) / np.sqrt(fan_in + fan_out + 1)
    assert np.array_equal(fillers.fill("xavier", (9,), fan_in, fan_out, np.random.default_rng(1), np.float64),
                          np.random.default_rng(1).uniform(-glorot, glorot, 9))
    assert np.array_equal(fillers.fill("msra", (9,), fan_in, fan_out, np.random.default_rng(1), np.float64),
                          np.random.default_rng(1).normal(0, np.sqrt(2 / fan_in), 9))


def test_gaussian_mean_and_uniform_bounds():
    drawn = fillers.fill({"type": "gaussian", "mean": 3.0, "std": 0.5}, (20000,), 1, 1, np.random.default_rng(0),
                         np.float64)
    assert drawn.mean() == pytest.approx(3.0, abs=0.02) and drawn.std() == pytest.approx(0.5, rel=0.05)
    drawn = fillers.fill({"type": "uniform", "min": -2, "max": -1}, (20000,), 1, 1, np.random.default_rng(0),
                         np.float32)
    assert drawn.min() >= -2 and drawn.max() < -1 and drawn.mean() == pytest.approx(-1.5, abs=0.01)
    assert np.array_equal(fillers.fill("uniform", (5,), 1, 1, np.random.default_rng(2), np.float64),
                          np.random.default_rng(2).uniform(0, 1, 5))


def test_sparse_gaussian_keeps_about_sparse_over_outputs_of_the_entries_as_caffe():
    """Caffe's gaussian ``sparse``: the normal draws, then one uniform draw per entry keeps it with
    probability sparse / n_outputs (the axis ``outputs_axis``); absent, the filler is dense and draws as
    before; 0 zeroes every entry; more than the outputs keeps all."""
    spec = {"type": "gaussian", "std": 1.0, "sparse": 15}
    drawn = fillers.fill(spec, (784, 1000), 784, 1000, np.random.default_rng(0), np.float32, outputs_axis=1)
    assert np.count_nonzero(drawn) / drawn.size == pytest.approx(15 / 1000, rel=0.05)
    rng = np.random.default_rng(0)
    normal = rng.normal(0.0, 1.0, 784 * 1000).reshape(784, 1000)
    expected = np.where(rng.random(784 * 1000).reshape(784, 1000) < 15 / 1000, normal, 0.0).astype(np.float32)
    np.testing.assert_array_equal(drawn, expected, strict=True)
    transposed = fillers.fill(spec, (1000, 784), 784, 1000, np.random.default_rng(0), np.float32, outputs_axis=0)
    np.testing.assert_array_equal(transposed, expected.reshape(1000, 784), strict=True)  # the same draws
    assert np.all(fillers.fill({**spec, "sparse": 0}, (4, 5), 4, 5, np.random.default_rng(0), np.float64) == 0)
    assert np.count_nonzero(fillers.fill({**spec, "sparse": 9}, (4, 5), 4, 5, np.random.default_rng(0),
                                         np.float64, outputs_axis=1)) == 20
    dense = fillers.fill({"type": "gaussian", "std": 1.0}, (6,), 1, 1, np.random.default_rng(3), np.float64)
    assert np.array_equal(dense, np.random.default_rng(3).normal(0.0, 1.0, 6))


def test_positive_unitball_makes_each_outputs_weights_positive_and_sum_to_one():
    conv = fillers.fill("positive_unitball", (4, 3, 2, 2), 12, 16, np.random.default_rng(0), np.float64)
    assert (conv > 0).all() and np.allclose(conv.sum(axis=(1, 2, 3)), 1)
    fc = fillers.fill("positive_unitball", (6, 3), 6, 3, np.random.default_rng(0), np.float32, outputs_axis=1)
    assert (fc > 0).all() and np.allclose(fc.sum(axis=0), 1)
    raw = np.random.default_rng(0).uniform(0, 1, (6, 3))
    np.testing.assert_allclose(fc, raw / raw.sum(axis=0), rtol=1e-6)


def test_bilinear_gives_caffes_interpolation_kernel_per_filter_and_channel():
    kernel = fillers.fill("bilinear", (2, 1, 4, 4), 16, 32, np.random.default_rng(0), np.float32)
    row = np.array([0.25, 0.75, 0.75, 0.25])  # f = 2, c = 3/4: 1 - |x/2 - 3/4|
    for f in range(2):
        np.testing.assert_allclose(kernel[f, 0], np.outer(row, row))
    odd = fillers.fill("bilinear", (1, 2, 3, 3), 9, 9, np.random.default_rng(0), np.float64)
    np.testing.assert_allclose(odd[0, 1], np.outer([0.5, 1, 0.5], [0.5, 1, 0.5]))
    with pytest.raises(fillers.GraphnnError, match="bilinear filler fills convolution kernels"):
        fillers.fill("bilinear", (3, 4), 3, 4, np.random.default_rng(0), np.float32)


def test_fc_fills_positive_unitball_per_output_unit(tmp_path):
    from graphnn.executor import Network

    network = Network.initialise(load_model(with_init(tmp_path, "positive_unitball")), seed=0)
    np.testing.assert_allclose(network.weights["fc1"]["W"].sum(axis=0), 1, rtol=1e-5)


def test_caffe_fans_come_from_the_weights_shape_as_caffes_blobs():
    assert fillers.blob_fans((8, 2, 3, 3), 0) == (18, 72)  # grouped conv (F=8, C/g=2): Caffe's fan_out is F k k
    assert fillers.blob_fans((20, 5), 1) == (20, 5)  # fc W (n_in, n_out)
    assert fillers.blob_fans((6,), 0) == (1, 6)  # a vector: Caffe's legacy channels() is 1
    assert fillers.blob_fans((0, 3), 0) == (1, 1)
    from graphnn.executor import Network
    from graphnn.model import model_from_dict

    document = {"format": "graphnn/1", "nodes": [
        {"name": "x", "op": "data", "shape": [4, 5, 5]},
        {"name": "conv", "op": "conv2d", "inputs": ["x"], "filters": 8, "kernel": 3, "groups": 2,
         "init": {"type": "xavier", "variance_norm": "fan_out"}}]}
    weights = Network.initialise(model_from_dict(document), seed=4).weights["conv"]["W"]
    bound = np.sqrt(3 / 72)
    assert np.abs(weights).max() <= bound and np.abs(weights).max() > 0.9 * bound
