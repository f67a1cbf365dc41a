"""instance_norm, lrn and prelu through the public path (model document -> Network): known values, the
trained weights' gradients, and against PyTorch's instance_norm, local_response_norm and prelu."""

import numpy as np
import pytest

from tests.ops.public_path import run, squared_error, torch_or_skip


def node_run(op, x, target, weights=None, **params):
    nodes, feeds = squared_error("y", target)
    return run([{"name": "y", "op": op, "inputs": ["x"], **params}] + nodes, {"x": x}, feeds,
               {"y": weights} if weights else None)


# --- instance_norm ---------------------------------------------------------------------------------------

def test_instance_norm_normalises_each_sample_and_channel_alone():
    x = np.array([[[1.0, 3.0], [10.0, 30.0]], [[-2.0, 2.0], [5.0, 5.0]]])  # (N=2, C=2, L=2)
    weights = {"gamma": np.array([2.0, 1.0]), "beta": np.array([0.5, -1.0])}
    out = node_run("instance_norm", x, np.zeros_like(x), weights, epsilon=1e-12)
    expected = np.array([[[-1.5, 2.5], [-2.0, 0.0]], [[-1.5, 2.5], [-1.0, -1.0]]])  # gamma (+-1) + beta; 5, 5 -> 0
    np.testing.assert_allclose(out.values["y"], expected, atol=1e-9)
    dy = expected / 2
    xhat = np.array([[[-1.0, 1.0], [-1.0, 1.0]], [[-1.0, 1.0], [0.0, 0.0]]])
    np.testing.assert_allclose(out.weight_grads["y"]["beta"], dy.sum(axis=(0, 2)))
    np.testing.assert_allclose(out.weight_grads["y"]["gamma"], (dy * xhat).sum(axis=(0, 2)), atol=1e-9)


def test_instance_norm_matches_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(3, 4, 5, 2))
    gamma, beta = rng.uniform(0.5, 2, 4), rng.normal(size=4)
    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    ty = torch.nn.functional.instance_norm(tx, weight=tg, bias=tb, eps=1e-3)
    t = rng.normal(size=x.shape)
    out = node_run("instance_norm", x, t, {"gamma": gamma, "beta": beta}, epsilon=1e-3)
    (((ty - torch.tensor(t)) ** 2).sum() / (2 * len(x))).backward()
    np.testing.assert_allclose(out.values["y"], ty.detach().numpy(), rtol=1e-12, atol=1e-13)
    for ours, theirs in ((out.input_grads["x"], tx), (out.weight_grads["y"]["gamma"], tg),
                         (out.weight_grads["y"]["beta"], tb)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-11, atol=1e-13)


# --- lrn -------------------------------------------------------------------------------------------------

def test_lrn_by_hand():
    """size 3 over 3 channels: channel 0 sums channels 0-1, channel 1 all three, channel 2 channels 1-2."""
    x = np.array([[1.0, 2.0, 3.0]])  # (N=1, C=3)
    out = node_run("lrn", x, np.zeros((1, 3)), size=3, alpha=3.0, beta=1.0, bias=1.0)
    scale = 1 + np.array([1 + 4, 1 + 4 + 9, 4 + 9])  # bias + alpha / size * sum of squares
    np.testing.assert_allclose(out.values["y"], x / scale, rtol=1e-15)


@pytest.mark.parametrize("size", [1, 2, 4])
def test_lrn_windows_follow_onnx(size):
    """ONNX's window, c - floor((size-1)/2) .. c + ceil((size-1)/2), written out (Caffe's too; PyTorch's
    puts the odd channel of an even size before c instead)."""
    x = np.random.default_rng(1).normal(size=(2, 5, 2, 3))
    square_sums = np.zeros_like(x)
    for c in range(5):
        square_sums[:, c] = (x[:, max(0, c - (size - 1) // 2):min(5, c + -(-(size - 1) // 2) + 1)] ** 2).sum(axis=1)
    expected = x / (1.5 + 0.3 / size * square_sums) ** 0.7
    out = node_run("lrn", x, np.zeros_like(x), size=size, alpha=0.3, beta=0.7, bias=1.5)
    np.testing.assert_allclose(out.values["y"], expected, rtol=1e-14)


def test_lrn_matches_torch():
    torch = torch_or_skip()
    x = np.random.default_rng(2).normal(size=(2, 7, 3, 3))
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.local_response_norm(tx, 5, alpha=0.01, beta=0.75, k=2.0)  # odd size: same window
    t = np.random.default_rng(3).normal(size=x.shape)
    out = node_run("lrn", x, t, size=5, alpha=0.01, beta=0.75, bias=2.0)
    (((ty - torch.tensor(t)) ** 2).sum() / (2 * len(x))).backward()
    np.testing.assert_allclose(out.values["y"], ty.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-11, atol=1e-14)


# --- prelu -----------------------------------------------------------------------------------------------

def test_prelu_by_hand_per_channel_and_shared():
    x = np.array([[[-2.0, 1.0], [-4.0, -1.0]]])  # (N=1, C=2, 2)
    out = node_run("prelu", x, np.zeros_like(x), {"slope": np.array([0.5, 0.25])})
    np.testing.assert_array_equal(out.values["y"], [[[-1.0, 1.0], [-1.0, -0.25]]])
    # dy = y; dslope[c] = sum over negative x of dy * x
    np.testing.assert_array_equal(out.weight_grads["y"]["slope"], [-1.0 * -2.0, -1.0 * -4.0 + -0.25 * -1.0])
    np.testing.assert_array_equal(out.input_grads["x"], [[[-0.5, 1.0], [-0.25, -0.0625]]])
    shared = node_run("prelu", x, np.zeros_like(x), {"slope": np.array([0.5])}, shared=True)
    assert shared.network.weights["y"]["slope"].shape == (1,)
    np.testing.assert_array_equal(shared.values["y"], [[[-1.0, 1.0], [-2.0, -0.5]]])
    assert shared.weight_grads["y"]["slope"].tolist() == [2.0 + 8.0 + 0.5]


def test_prelu_starts_at_a_quarter_and_is_not_decayed():
    from graphnn.executor import Network
    from graphnn.model import model_from_dict

    model = model_from_dict({"format": "graphnn/1", "nodes": [{"name": "x", "op": "data", "shape": [3, 2]},
                                                             {"name": "p", "op": "prelu", "inputs": ["x"]}]})
    assert Network.initialise(model).weights["p"]["slope"].tolist() == [0.25, 0.25, 0.25]
    assert model.plan.by_name["p"].op.decayed_weights == ()


@pytest.mark.parametrize("shared", [False, True])
def test_prelu_matches_torch(shared):
    torch = torch_or_skip()
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 4, 2, 3))
    slope = rng.uniform(0, 0.5, 1 if shared else 4)
    tx, ts = (torch.tensor(a, requires_grad=True) for a in (x, slope))
    ty = torch.nn.functional.prelu(tx, ts)
    t = rng.normal(size=x.shape)
    out = node_run("prelu", x, t, {"slope": slope}, shared=shared)
    (((ty - torch.tensor(t)) ** 2).sum() / (2 * len(x))).backward()
    np.testing.assert_allclose(out.values["y"], ty.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-14)
    np.testing.assert_allclose(out.weight_grads["y"]["slope"], ts.grad.numpy(), rtol=1e-12)


def test_prelu_with_a_slope_shape_broadcast_like_numpy():
    """slope_shape [1, 3] on samples (2, 3): one slope per column, the gradient summed over rows and batch."""
    rng = np.random.default_rng(5)
    x, slope = rng.normal(size=(4, 2, 3)), np.array([[0.1, 0.2, 0.3]])
    out = node_run("prelu", x, np.zeros_like(x), {"slope": slope}, slope_shape=[1, 3])
    y = np.where(x < 0, x * slope, x)
    np.testing.assert_allclose(out.values["y"], y, rtol=1e-15)
    dy = y / len(x)
    np.testing.assert_allclose(out.weight_grads["y"]["slope"], np.where(x < 0, dy * x, 0).sum(axis=(0, 1))[None],
                               rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], np.where(x < 0, dy * slope, dy), rtol=1e-15)


def within_channel_by_loops(x, size, alpha, beta, bias):
    """Caffe's WITHIN_CHANNEL: (bias + alpha * mean of x^2 over the zero-padded size x size window)^-beta x."""
    pad = (size - 1) // 2
    squares = np.pad(x * x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    y = np.empty_like(x)
    for n, c, i, j in np.ndindex(*x.shape):
        window = squares[n, c, i:i + size, j:j + size]
        y[n, c, i, j] = x[n, c, i, j] * (bias + alpha * window.sum() / size ** 2) ** -beta
    return y


@pytest.mark.parametrize("size", [1, 3, 5])
def test_within_channel_lrn_by_loops_with_its_gradient(size):
    from graphnn.executor import Network
    from graphnn.model import model_from_dict
    from tests.gradcheck import check_op_gradients

    x = np.random.default_rng(size).normal(size=(2, 3, 4, 5))
    params = {"size": size, "alpha": 0.7, "beta": 0.75, "bias": 1.0, "region": "within_channel"}
    document = {"format": "graphnn/1", "nodes": [{"name": "x", "op": "data", "shape": [3, 4, 5]},
                                                 {"name": "n", "op": "lrn", "inputs": ["x"], **params}]}
    network = Network.initialise(model_from_dict(document), dtype="float64")
    y = network.forward({"x": x}).values["n"]
    np.testing.assert_allclose(y, within_channel_by_loops(x, size, 0.7, 0.75, 1.0), rtol=1e-13)
    assert check_op_gradients(network.plan.by_name["n"].op, {}, [x]) > 0


def test_within_channel_lrn_exports_as_its_formula():
    ort = pytest.importorskip("onnxruntime")
    from graphnn.executor import Network
    from graphnn.interop.onnx_export import network_to_onnx
    from graphnn.model import model_from_dict

    document = {"format": "graphnn/1", "nodes": [
        {"name": "x", "op": "data", "shape": [3, 4, 5]},
        {"name": "n", "op": "lrn", "inputs": ["x"], "size": 3, "alpha": 0.5, "beta": 0.75, "region": "within_channel"}]}
    network = Network.initialise(model_from_dict(document))
    x = np.random.default_rng(0).normal(size=(2, 3, 4, 5)).astype(np.float32)
    session = ort.InferenceSession(network_to_onnx(network).SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], network.forward({"x": x}).values["n"], rtol=1e-5,
                               atol=1e-6)


def test_within_channel_lrn_needs_an_odd_size_and_spatial_axes():
    from graphnn.errors import GraphnnError
    from graphnn.model import model_from_dict

    for shape, size in (([3, 4, 4], 2), ([3], 3)):
        document = {"format": "graphnn/1", "nodes": [
            {"name": "x", "op": "data", "shape": shape},
            {"name": "n", "op": "lrn", "inputs": ["x"], "size": size, "region": "within_channel"}]}
        with pytest.raises(GraphnnError, match="node 'n'.*within_channel lrn needs an odd size and spatial axes"):
            model_from_dict(document)
