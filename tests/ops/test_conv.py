"""Convolution, pooling and batch normalisation: known values from naive loops written here, shape
inference, located errors for bad parameters, batch-norm train/test behaviour, and (when torch is
installed) forward and backward against PyTorch. Gradient checks run in tests/ops/test_contract.py."""

import json
from pathlib import Path

import numpy as np
import pytest

from graphnn import ops
from graphnn.errors import ModelInvalid, SchemaError, ShapeError
from graphnn.executor import Network
from graphnn.model import load_model, model_from_dict
from graphnn.ops.base import ForwardContext
from tests.gradcheck import numerical_gradient, run_backward

LENET = Path(__file__).resolve().parents[2] / "models" / "lenet.json"


def make(name, in_shape, **params):
    """An op instance with its output shape inferred for one input shape."""
    op = ops.get(name)("n", params, [tuple(in_shape)])
    return op, op.out_shape


def run(op, weights, x, train=True, state=None):
    return op.forward(weights, [x], ForwardContext(train=train, state={} if state is None else state))


def as_pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


# --- naive references: one output element at a time ---------------------------------------------------

def padded(x, pads, value=0.0):
    top, bottom, left, right = pads
    n, c, h, w = x.shape
    xp = np.full((n, c, h + top + bottom, w + left + right), value)
    xp[:, :, top:top + h, left:left + w] = x
    return xp


def naive_conv(x, w, b, stride, pads, dilation, groups):
    xp = padded(x, pads)
    filters, per_group, kh, kw = w.shape
    span_h, span_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    ho = (xp.shape[2] - span_h) // stride[0] + 1
    wo = (xp.shape[3] - span_w) // stride[1] + 1
    y = np.zeros((len(x), filters, ho, wo))
    for n in range(len(x)):
        for f in range(filters):
            first = f // (filters // groups) * per_group
            for p in range(ho):
                for q in range(wo):
                    top, left = p * stride[0], q * stride[1]
                    patch = xp[n, first:first + per_group, top:top + span_h:dilation[0], left:left + span_w:dilation[1]]
                    y[n, f, p, q] = np.sum(patch * w[f]) + (b[f] if b is not None else 0.0)
    return y


def naive_pool(x, kernel, stride, pad, reduce):
    xp = padded(x, (pad[0], pad[0], pad[1], pad[1]), -np.inf if reduce is np.max else 0.0)
    ho = (xp.shape[2] - kernel[0]) // stride[0] + 1
    wo = (xp.shape[3] - kernel[1]) // stride[1] + 1
    y = np.zeros(x.shape[:2] + (ho, wo))
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            for p in range(ho):
                for q in range(wo):
                    window = xp[n, c, p * stride[0]:p * stride[0] + kernel[0], q * stride[1]:q * stride[1] + kernel[1]]
                    y[n, c, p, q] = reduce(window)
    return y


# --- conv2d ------------------------------------------------------------------------------------------

CONV_CASES = [  # params, input shape, (top, bottom, left, right) padding the naive conv should use
    ({"filters": 3, "kernel": 3}, (2, 5, 6), (0, 0, 0, 0)),
    ({"filters": 2, "kernel": [2, 3], "stride": 2, "padding": 1}, (1, 6, 5), (1, 1, 1, 1)),
    ({"filters": 2, "kernel": 3, "padding": [2, 0], "dilation": [2, 1], "bias": False}, (2, 5, 5), (2, 2, 0, 0)),
    ({"filters": 4, "kernel": 3, "groups": 2, "padding": "same"}, (4, 5, 4), (1, 1, 1, 1)),
    ({"filters": 2, "kernel": 3, "stride": 2, "padding": "same"}, (1, 6, 7), (0, 1, 1, 1)),
    ({"filters": 2, "kernel": 2, "dilation": 2, "padding": "same"}, (1, 4, 4), (1, 1, 1, 1)),
    ({"filters": 6, "kernel": 1, "groups": 3, "padding": "valid"}, (3, 2, 3), (0, 0, 0, 0)),
]


@pytest.mark.parametrize("params,in_shape,pads", CONV_CASES)
def test_conv2d_matches_naive_loops(params, in_shape, pads):
    op, out_shape = make("conv2d", in_shape, **params)
    rng = np.random.default_rng(0)
    weights = {k: rng.normal(size=v.shape) for k, v in op.init_weights(rng, np.float64).items()}
    x = rng.normal(size=(2,) + in_shape)
    y, _ = run(op, weights, x)
    expected = naive_conv(x, weights["W"], weights.get("b"), as_pair(params.get("stride", 1)), pads,
                          as_pair(params.get("dilation", 1)), params.get("groups", 1))
    assert y.shape == (2,) + out_shape
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)


def test_conv2d_shapes_parameters_and_flops():
    op, out = make("conv2d", (1, 28, 28), filters=20, kernel=5)
    assert out == (20, 24, 24)
    assert op.weight_shapes == {"W": (20, 1, 5, 5), "b": (20,)}
    assert op.flops() == 2 * 1 * 5 * 5 * 20 * 24 * 24
    assert make("conv2d", (3, 7, 9), filters=4, kernel=3, stride=2, padding="same")[1] == (4, 4, 5)
    assert make("conv2d", (3, 7, 9), filters=4, kernel=3, padding="same", dilation=3)[1] == (4, 7, 9)
    assert make("conv2d", (3, 7, 9), filters=4, kernel=3, dilation=3)[1] == (4, 1, 3)
    op, out = make("conv2d", (6, 8, 8), filters=9, kernel=[3, 1], groups=3, bias=False)
    assert out == (9, 6, 8)
    assert op.weight_shapes == {"W": (9, 2, 3, 1)}
    assert op.flops() == 2 * 2 * 3 * 1 * 9 * 6 * 8


def test_conv2d_fillers_use_grouped_fans():
    op, _ = make("conv2d", (4, 6, 6), filters=6, kernel=3, groups=2, init="msra", bias_init={"type": "constant",
                                                                                                  "value": 0.5})
    weights = op.init_weights(np.random.default_rng(0), np.float32)
    assert weights["W"].dtype == np.float32 and np.all(weights["b"] == 0.5)
    fan_in = 2 * 3 * 3  # C/groups * kh * kw
    assert weights["W"].std() == pytest.approx(np.sqrt(2 / fan_in), rel=0.25)


def test_conv2d_skips_the_input_gradient_when_not_needed():
    op, _ = make("conv2d", (1, 5, 5), filters=2, kernel=3)
    rng = np.random.default_rng(0)
    weights = op.init_weights(rng, np.float32)
    y, cache = run(op, weights, rng.normal(size=(2, 1, 5, 5)).astype(np.float32))
    dxs, grads = run_backward(op, weights, cache, np.ones_like(y), needs=(False,))
    assert dxs == [None] and set(grads) == {"W", "b"}
    np.testing.assert_allclose(grads["b"], [2 * 9, 2 * 9])


# --- pooling -----------------------------------------------------------------------------------------

POOL_CASES = [  # params, input shape, (kernel, stride, padding) for the naive pool
    ({"kernel": 2}, (2, 4, 6), ((2, 2), (2, 2), (0, 0))),
    ({"kernel": 2}, (1, 5, 5), ((2, 2), (2, 2), (0, 0))),  # floor: the last row and column are dropped
    ({"kernel": 3, "stride": 2, "padding": 1}, (2, 5, 6), ((3, 3), (2, 2), (1, 1))),
    ({"kernel": [2, 3], "stride": [1, 2], "padding": [1, 0]}, (1, 4, 7), ((2, 3), (1, 2), (1, 0))),
]


@pytest.mark.parametrize("name,reduce", [("maxpool2d", np.max), ("avgpool2d", np.mean)])
@pytest.mark.parametrize("params,in_shape,geometry", POOL_CASES)
def test_pooling_matches_naive_loops(name, reduce, params, in_shape, geometry):
    op, out_shape = make(name, in_shape, **params)
    x = np.random.default_rng(0).normal(size=(3,) + in_shape)
    y, _ = run(op, {}, x)
    assert y.shape == (3,) + out_shape
    np.testing.assert_allclose(y, naive_pool(x, *geometry, reduce), rtol=1e-12)


def test_maxpool_routes_a_tied_gradient_to_one_position_only():
    op, _ = make("maxpool2d", (1, 4, 4), kernel=2)
    x = np.zeros((1, 1, 4, 4), np.float32)  # every window is a four-way tie
    x[0, 0, 3, 2] = 1.0
    y, cache = run(op, {}, x)
    (dx,), _ = run_backward(op, {}, cache, np.full_like(y, 2.0))
    assert dx.dtype == np.float32
    np.testing.assert_array_equal(dx[0, 0], [[2, 0, 2, 0], [0, 0, 0, 0], [2, 0, 0, 0], [0, 0, 2, 0]])


def test_maxpool_overlapping_windows_accumulate():
    op, _ = make("maxpool2d", (1, 1, 3), kernel=[1, 2], stride=1)
    x = np.array([[[[0.0, 5.0, 1.0]]]])
    y, cache = run(op, {}, x)
    np.testing.assert_array_equal(y, [[[[5.0, 5.0]]]])
    (dx,), _ = run_backward(op, {}, cache, np.array([[[[1.0, 10.0]]]]))
    np.testing.assert_array_equal(dx, [[[[0.0, 11.0, 0.0]]]])


def test_avgpool_counts_padding_in_the_mean():
    op, out = make("avgpool2d", (1, 2, 2), kernel=2, stride=1, padding=1)
    assert out == (1, 3, 3)
    y, _ = run(op, {}, np.ones((1, 1, 2, 2)))
    np.testing.assert_allclose(y[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])


def test_global_avgpool():
    op, out = make("global_avgpool", (2, 2, 3))
    assert out == (2,)
    x = np.arange(24, dtype=np.float32).reshape(2, 2, 2, 3)
    y, cache = run(op, {}, x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [[2.5, 8.5], [14.5, 20.5]])
    (dx,), _ = run_backward(op, {}, cache, np.array([[6.0, 12.0], [0.0, 0.0]], np.float32))
    np.testing.assert_allclose(dx[0, 1], np.full((2, 3), 2.0))
    assert dx.shape == x.shape and dx.dtype == np.float32


def test_pool_shapes_and_flops():
    op, out = make("maxpool2d", (20, 24, 24), kernel=2)
    assert out == (20, 12, 12) and op.flops() == 4 * 20 * 12 * 12
    assert make("maxpool2d", (3, 7, 7), kernel=3, stride=2)[1] == (3, 3, 3)
    assert make("avgpool2d", (3, 7, 8), kernel=[3, 2], stride=[2, 1], padding=[1, 0])[1] == (3, 4, 7)


# --- batchnorm ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("in_shape,axes", [((3,), (0,)), ((2, 3, 4), (0, 2, 3))])
def test_batchnorm_training_uses_batch_statistics_and_updates_running_ones(in_shape, axes):
    op, _ = make("batchnorm", in_shape, momentum=0.75)
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(5,) + in_shape)
    weights = {"gamma": rng.uniform(1, 2, in_shape[0]), "beta": rng.normal(size=in_shape[0])}
    state = op.init_state(np.float64)
    np.testing.assert_array_equal(state["running_var"], np.ones(in_shape[0]))
    y, _ = run(op, weights, x, train=True, state=state)
    shape = (1, -1) + (1,) * (len(in_shape) - 1)
    normalised = (y - weights["beta"].reshape(shape)) / weights["gamma"].reshape(shape)
    np.testing.assert_allclose(normalised.mean(axis=axes), 0, atol=1e-12)
    np.testing.assert_allclose(normalised.var(axis=axes), x.var(axis=axes) / (x.var(axis=axes) + 1e-5))
    np.testing.assert_allclose(state["running_mean"], 0.25 * x.mean(axis=axes))
    np.testing.assert_allclose(state["running_var"], 0.75 + 0.25 * x.var(axis=axes, ddof=1))


def test_batchnorm_test_time_uses_running_statistics_and_leaves_them():
    op, _ = make("batchnorm", (2, 1, 2), epsilon=0.01)
    state = {"running_mean": np.array([1.0, -1.0]), "running_var": np.array([4.0, 0.25])}
    weights = {"gamma": np.array([2.0, 1.0]), "beta": np.array([0.5, 0.0])}
    x = np.array([[[[1.0, 3.0]], [[-1.0, 0.0]]]])
    y, cache = run(op, weights, x, train=False, state=state)
    expected = [[[[0.5, 2 * 2 / np.sqrt(4.01) + 0.5]], [[0.0, 1 / np.sqrt(0.26)]]]]
    np.testing.assert_allclose(y, expected)
    np.testing.assert_array_equal(state["running_mean"], [1.0, -1.0])
    dy = np.random.default_rng(0).normal(size=y.shape)
    (dx,), grads = run_backward(op, weights, cache, dy)

    def scalar():
        return float(np.sum(run(op, weights, x, train=False, state=state)[0] * dy))
    np.testing.assert_allclose(dx, numerical_gradient(scalar, x), rtol=1e-6)
    np.testing.assert_allclose(grads["gamma"], numerical_gradient(scalar, weights["gamma"]), rtol=1e-6)


def test_batchnorm_in_a_network_keeps_state_apart_and_is_not_decayed():
    document = {"format": "graphnn/1", "nodes": [
        {"name": "x", "op": "data", "shape": [2, 3, 3]},
        {"name": "bn", "op": "batchnorm", "inputs": ["x"], "momentum": 0.5},
        {"name": "pool", "op": "global_avgpool", "inputs": ["bn"]},
        {"name": "y", "op": "data", "shape": [], "field": "y"},
        {"name": "loss", "op": "loss", "inputs": ["pool", "y"], "function": "softmax_cross_entropy"}]}
    net = Network.initialise(model_from_dict(document), dtype="float32")
    assert set(net.weights["bn"]) == {"gamma", "beta"}
    assert set(net.state["bn"]) == {"running_mean", "running_var"}
    assert not set(net.weights["bn"]) & set(net.plan.by_name["bn"].op.decayed_weights)
    x = np.random.default_rng(0).normal(1.0, 1.0, size=(4, 2, 3, 3)).astype(np.float32)
    result = net.forward({"x": x, "y": np.array([0, 1, 1, 0])}, train=True, rng=np.random.default_rng(0))
    assert net.state["bn"]["running_mean"].dtype == np.float32
    np.testing.assert_allclose(net.state["bn"]["running_mean"], 0.5 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    grads = net.backward(result)
    assert grads["bn"]["gamma"].dtype == np.float32
    before = net.state["bn"]["running_mean"].copy()
    net.forward({"x": x, "y": np.array([0, 1, 1, 0])}, train=False)
    np.testing.assert_array_equal(net.state["bn"]["running_mean"], before)


# --- located errors for bad parameters ---------------------------------------------------------------

def model_with(node, shape=(1, 8, 8)):
    return {"format": "graphnn/1", "nodes": [{"name": "image", "op": "data", "shape": list(shape)},
                                             {"name": "bad", "inputs": ["image"], **node}]}


@pytest.mark.parametrize("node,shape,kind,path,words", [
    ({"op": "conv2d", "filters": 2, "kernel": 0}, (1, 8, 8), SchemaError, "/nodes/1/kernel", "kernel size"),
    ({"op": "conv2d", "filters": 2, "kernel": [3, 3, 3]}, (1, 8, 8), SchemaError, "/nodes/1/kernel", "[3, 3, 3]"),
    ({"op": "conv2d", "filters": 2, "kernel": 3, "padding": "full"}, (1, 8, 8), SchemaError, "/nodes/1/padding",
     "same"),
    ({"op": "conv2d", "filters": 0, "kernel": 3}, (1, 8, 8), SchemaError, "/nodes/1/filters", ">= 1"),
    ({"op": "conv2d", "filter": 2, "kernel": 3}, (1, 8, 8), SchemaError, "/nodes/1", "filters"),
    ({"op": "conv2d", "filters": 2, "kernel": 3, "stride": [1, 0]}, (1, 8, 8), SchemaError, "/nodes/1/stride",
     "stride"),
    ({"op": "conv2d", "filters": 4, "kernel": 3, "groups": 2}, (3, 8, 8), ShapeError, "/nodes/1", "(3, 8, 8)"),
    ({"op": "conv2d", "filters": 3, "kernel": 3, "groups": 2}, (2, 8, 8), ShapeError, "/nodes/1", "filters (3)"),
    ({"op": "conv2d", "filters": 2, "kernel": 5, "dilation": 2}, (1, 8, 8), ShapeError, "/nodes/1", "9x9"),
    ({"op": "conv2d", "filters": 2, "kernel": 3}, (64,), ShapeError, "/nodes/1", "(64,)"),
    ({"op": "maxpool2d", "kernel": 2, "padding": 2}, (1, 8, 8), ShapeError, "/nodes/1", "smaller than the kernel"),
    ({"op": "maxpool2d", "kernel": 9}, (1, 8, 8), ShapeError, "/nodes/1", "(1, 8, 8)"),
    ({"op": "avgpool2d", "kernel": 2, "padding": -1}, (1, 8, 8), SchemaError, "/nodes/1/padding", "-1"),
    ({"op": "global_avgpool"}, (4, 8), ShapeError, "/nodes/1", "(4, 8)"),
    ({"op": "batchnorm", "momentum": 1.5}, (4,), SchemaError, "/nodes/1/momentum", "<= 1"),
    ({"op": "batchnorm", "epsilon": 0}, (4,), SchemaError, "/nodes/1/epsilon", "> 0"),
    ({"op": "batchnorm"}, (), ShapeError, "/nodes/1", "channel"),
])
def test_bad_parameters_are_located(node, shape, kind, path, words):
    with pytest.raises(ModelInvalid) as caught:
        model_from_dict(model_with(node, shape))
    errors = caught.value.errors
    assert all(error.node == "bad" for error in errors)
    assert any(isinstance(error, kind) and error.path == path and words.lower() in str(error).lower()
               for error in errors), [str(error) for error in errors]


# --- the LeNet model file ----------------------------------------------------------------------------

def test_lenet_model_shapes_and_float32_step():
    model = load_model(LENET)
    shapes = {step.name: step.out_shape for step in model.plan.steps}
    assert shapes["conv1"] == (20, 24, 24) and shapes["pool1"] == (20, 12, 12)
    assert shapes["conv2"] == (50, 8, 8) and shapes["pool2"] == (50, 4, 4)
    assert model.plan.parameter_count() == 431_080  # Caffe's LeNet
    assert json.loads(LENET.read_text())["train"]["batch_size"] == 64
    net = Network.initialise(model, dtype="float32")
    rng = np.random.default_rng(0)
    feeds = {"image": rng.random((2, 1, 28, 28), dtype=np.float32), "label": np.array([3, 7])}
    result = net.forward(feeds, train=True, rng=rng)
    assert result.values["conv2"].dtype == np.float32
    grads = net.backward(result)
    assert grads["conv1"]["W"].shape == (20, 1, 5, 5) and grads["conv1"]["W"].dtype == np.float32


# --- against PyTorch, when it is installed -----------------------------------------------------------

TORCH_CONV_CASES = [  # graphnn params, torch keyword arguments, input shape
    ({"filters": 4, "kernel": 3, "stride": 2, "padding": 1}, {"stride": 2, "padding": 1}, (2, 7, 6)),
    ({"filters": 4, "kernel": [3, 2], "dilation": [1, 2], "groups": 2, "padding": [0, 1]},
     {"dilation": (1, 2), "groups": 2, "padding": (0, 1)}, (4, 6, 6)),
    ({"filters": 3, "kernel": 3, "padding": "same", "dilation": 2}, {"padding": "same", "dilation": 2}, (1, 6, 7)),
]


def torch_grads(torch_fn, x, dy, params=()):
    torch = pytest.importorskip("torch")
    tx = torch.tensor(x, requires_grad=True)
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    ty = torch_fn(tx, *tparams)
    ty.backward(torch.tensor(dy))
    return ty.detach().numpy(), tx.grad.numpy(), [p.grad.numpy() for p in tparams]


@pytest.mark.parametrize("params,torch_kwargs,in_shape", TORCH_CONV_CASES)
def test_conv2d_matches_torch(params, torch_kwargs, in_shape):
    torch = pytest.importorskip("torch")
    op, _ = make("conv2d", in_shape, **params)
    rng = np.random.default_rng(0)
    weights = {k: rng.normal(size=v.shape).astype(np.float32) for k, v in
               op.init_weights(rng, np.float32).items()}
    x = rng.normal(size=(3,) + in_shape).astype(np.float32)
    y, cache = run(op, weights, x)
    dy = rng.normal(size=y.shape).astype(np.float32)
    (dx,), grads = run_backward(op, weights, cache, dy)
    ty, tdx, (tdw, tdb) = torch_grads(lambda a, w, b: torch.nn.functional.conv2d(a, w, b, **torch_kwargs),
                                      x, dy, (weights["W"], weights["b"]))
    for ours, theirs in ((y, ty), (dx, tdx), (grads["W"], tdw), (grads["b"], tdb)):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", ["maxpool2d", "avgpool2d"])
def test_pooling_matches_torch(name):
    torch = pytest.importorskip("torch")
    op, _ = make(name, (3, 7, 8), kernel=3, stride=2, padding=1)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 7, 8)).astype(np.float32)
    y, cache = run(op, {}, x)
    dy = rng.normal(size=y.shape).astype(np.float32)
    (dx,), _ = run_backward(op, {}, cache, dy)
    pool = torch.nn.functional.max_pool2d if name == "maxpool2d" else torch.nn.functional.avg_pool2d
    ty, tdx, _ = torch_grads(lambda a: pool(a, 3, 2, 1), x, dy)
    np.testing.assert_allclose(y, ty, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dx, tdx, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("in_shape", [(4,), (3, 4, 5)])
def test_batchnorm_matches_torch(in_shape):
    torch = pytest.importorskip("torch")
    op, _ = make("batchnorm", in_shape, momentum=0.8)
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 3.0, size=(6,) + in_shape).astype(np.float32)
    weights = {"gamma": rng.uniform(0.5, 2, in_shape[0]).astype(np.float32),
               "beta": rng.normal(size=in_shape[0]).astype(np.float32)}
    state = op.init_state(np.float32)
    running_mean, running_var = torch.zeros(in_shape[0]), torch.ones(in_shape[0])
    y, cache = run(op, weights, x, train=True, state=state)
    dy = rng.normal(size=y.shape).astype(np.float32)
    (dx,), grads = run_backward(op, weights, cache, dy)

    def torch_batchnorm(a, gamma, beta):
        return torch.nn.functional.batch_norm(a, running_mean, running_var, gamma, beta, training=True,
                                              momentum=0.2, eps=1e-5)
    ty, tdx, (tdgamma, tdbeta) = torch_grads(torch_batchnorm, x, dy, (weights["gamma"], weights["beta"]))
    for ours, theirs in ((y, ty), (dx, tdx), (grads["gamma"], tdgamma), (grads["beta"], tdbeta),
                         (state["running_mean"], running_mean.numpy()), (state["running_var"], running_var.numpy())):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    y_test, _ = run(op, weights, x, train=False, state=state)
    t_test = torch.nn.functional.batch_norm(torch.tensor(x), running_mean, running_var, torch.tensor(weights["gamma"]),
                                            torch.tensor(weights["beta"]), training=False, eps=1e-5)
    np.testing.assert_allclose(y_test, t_test.numpy(), rtol=1e-4, atol=1e-4)
