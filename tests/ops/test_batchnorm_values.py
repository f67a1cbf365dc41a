"""batchnorm through the public path (model document -> Network), worked by hand, and against PyTorch.
Per channel, over every axis but the channel's (M values):

    training   mu = mean x, var = mean (x - mu)^2, xhat = (x - mu) / sqrt(var + eps), y = gamma xhat + beta;
               running_mean <- m running_mean + (1 - m) mu, running_var <- m running_var + (1 - m) var M/(M-1);
               dgamma = sum dy xhat, dbeta = sum dy,
               dx = gamma / sqrt(var + eps) (dy - dbeta / M - xhat dgamma / M)
    evaluation the running statistics in place of mu and var; dx = dy gamma / sqrt(running_var + eps)
"""

import numpy as np
import pytest

from tests.ops.public_path import run, squared_error, torch_or_skip

X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [6.0, 60.0]])  # (N=4, C=2): channel 1 is 10 x channel 0
T = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [-1.0, 2.0]])
GAMMA, BETA = np.array([2.0, 0.5]), np.array([0.0, 1.0])
EPS = 1e-5


def batchnorm(x, target, train, state=None, **params):
    nodes, feeds = squared_error("bn", target)
    return run([{"name": "bn", "op": "batchnorm", "inputs": ["x"], **params}] + nodes, {"x": x}, feeds,
               {"bn": {"gamma": GAMMA, "beta": BETA}}, {"bn": state} if state else None, train=train)


def test_training_by_hand():
    out = batchnorm(X, T, train=True)
    mu, var = np.array([3.0, 30.0]), np.array([3.5, 350.0])  # mean of 1 2 3 6; mean of 4 1 0 9
    xhat = (X - mu) / np.sqrt(var + EPS)
    y = GAMMA * xhat + BETA
    np.testing.assert_allclose(out.values["bn"], y, rtol=1e-13)
    np.testing.assert_allclose(out.network.state["bn"]["running_mean"], 0.1 * mu, rtol=1e-14)  # from 0, m = 0.9
    np.testing.assert_allclose(out.network.state["bn"]["running_var"], 0.9 + 0.1 * var * 4 / 3, rtol=1e-14)  # from 1
    dy = (y - T) / 4
    dgamma, dbeta = (dy * xhat).sum(axis=0), dy.sum(axis=0)
    np.testing.assert_allclose(out.weight_grads["bn"]["gamma"], dgamma, rtol=1e-12)
    np.testing.assert_allclose(out.weight_grads["bn"]["beta"], dbeta, rtol=1e-13)
    dx = GAMMA / np.sqrt(var + EPS) * (dy - dbeta / 4 - xhat * dgamma / 4)
    np.testing.assert_allclose(out.input_grads["x"], dx, rtol=1e-10, atol=1e-14)


def test_evaluation_uses_the_running_statistics_and_keeps_them():
    state = {"running_mean": np.array([1.0, -1.0]), "running_var": np.array([4.0, 0.25])}
    out = batchnorm(X, T, train=False, state=state, epsilon=0.001)
    scale = GAMMA / np.sqrt(state["running_var"] + 0.001)
    y = (X - state["running_mean"]) * scale + BETA
    np.testing.assert_allclose(out.values["bn"], y, rtol=1e-14)
    for key, value in state.items():
        np.testing.assert_array_equal(out.network.state["bn"][key], value)
    np.testing.assert_allclose(out.input_grads["x"], (y - T) / 4 * scale, rtol=1e-14)


def test_images_are_normalised_per_channel_over_batch_height_and_width():
    x = np.random.default_rng(6).standard_normal((2, 2, 2, 3)) * [[[[1.0]], [[5.0]]]] + [[[[0.0]], [[3.0]]]]
    t = np.zeros((2, 2, 2, 3))
    out = batchnorm(x, t, train=True, momentum=0.5)
    mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    per_channel = (1, 2, 1, 1)
    y = GAMMA.reshape(per_channel) * (x - mu.reshape(per_channel)) / np.sqrt(var + EPS).reshape(per_channel)
    y += BETA.reshape(per_channel)
    np.testing.assert_allclose(out.values["bn"], y, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.network.state["bn"]["running_mean"], 0.5 * mu, rtol=1e-14)
    np.testing.assert_allclose(out.network.state["bn"]["running_var"], 0.5 + 0.5 * var * 12 / 11, rtol=1e-14)


@pytest.mark.parametrize("train", [True, False], ids=["training", "evaluation"])
def test_batchnorm_matches_torch(train):
    torch = torch_or_skip()
    x = np.random.default_rng(7).standard_normal((4, 2, 3, 3))
    t = np.random.default_rng(8).standard_normal(x.shape)
    state = {"running_mean": np.array([0.5, -0.5]), "running_var": np.array([2.0, 0.5])}
    out = batchnorm(x, t, train=train, state=state)
    tx, tgamma, tbeta = (torch.tensor(a, requires_grad=True) for a in (x, GAMMA, BETA))
    running_mean, running_var = (torch.tensor(state[key]) for key in ("running_mean", "running_var"))
    ty = torch.nn.functional.batch_norm(tx, running_mean, running_var, tgamma, tbeta, training=train,
                                        momentum=0.1, eps=EPS)  # torch's 0.1 is graphnn's 0.9
    (((ty - torch.tensor(t)) ** 2).sum() / (2 * len(x))).backward()
    np.testing.assert_allclose(out.values["bn"], ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(out.network.state["bn"]["running_mean"], running_mean.numpy(), rtol=1e-14)
    np.testing.assert_allclose(out.network.state["bn"]["running_var"], running_var.numpy(), rtol=1e-14)
    for ours, theirs in ((out.input_grads["x"], tx), (out.weight_grads["bn"]["gamma"], tgamma),
                         (out.weight_grads["bn"]["beta"], tbeta)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-13)


def caffe_run(batches, fraction):
    """Caffe's BatchNorm statistics, as its blobs hold them: sums weighted by fraction^age and their weight."""
    mean_sum, var_sum, weight = 0.0, 0.0, 0.0
    for batch in batches:
        m = len(batch)
        weight = fraction * weight + 1
        mean_sum = fraction * mean_sum + batch.mean(axis=0)
        var_sum = fraction * var_sum + batch.var(axis=0) * m / (m - 1)
    return mean_sum / weight, var_sum / weight


def network(**params):
    from graphnn.executor import Network
    from graphnn.model import model_from_dict

    document = {"format": "graphnn/1", "nodes": [{"name": "x", "op": "data", "shape": [2]},
                                                 {"name": "bn", "op": "batchnorm", "inputs": ["x"], **params}]}
    return Network.initialise(model_from_dict(document), dtype="float64")


def test_caffe_normalized_running_average_matches_caffes_blobs():
    rng = np.random.default_rng(0)
    batches = [rng.normal(loc=3.0, scale=2.0, size=(5, 2)) for _ in range(4)]
    net = network(affine=False, running_average="normalized", momentum=0.9)
    assert not net.weights.get("bn") and set(net.state["bn"]) == {"running_mean", "running_var", "weight_sum"}
    for count, batch in enumerate(batches, start=1):
        net.forward({"x": batch}, train=True, rng=rng)
        mean, var = caffe_run(batches[:count], 0.9)
        np.testing.assert_allclose(net.state["bn"]["running_mean"], mean, rtol=1e-13)
        np.testing.assert_allclose(net.state["bn"]["running_var"], var, rtol=1e-13)
    np.testing.assert_allclose(net.state["bn"]["running_mean"], caffe_run(batches, 0.9)[0], rtol=1e-13)
    x = rng.normal(size=(3, 2))
    y = net.forward({"x": x}).values["bn"]  # test mode: y = (x - mean) / sqrt(var + eps), no gamma or beta
    mean, var = caffe_run(batches, 0.9)
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + EPS), rtol=1e-12)


def test_without_affine_matches_torch_and_has_no_weights():
    torch = torch_or_skip()
    nodes, feeds = squared_error("bn", T)
    out = run([{"name": "bn", "op": "batchnorm", "inputs": ["x"], "affine": False}] + nodes, {"x": X}, feeds,
              train=True)
    assert "bn" not in out.weight_grads
    tx = torch.tensor(X, requires_grad=True)
    y = torch.nn.functional.batch_norm(tx, torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64),
                                       training=True, eps=EPS)
    (((y - torch.tensor(T)) ** 2).sum() / 8).backward()
    np.testing.assert_allclose(out.values["bn"], y.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_use_global_stats_picks_the_statistics_in_either_mode():
    state = {"running_mean": np.array([1.0, -1.0]), "running_var": np.array([4.0, 0.25])}
    scale = GAMMA / np.sqrt(state["running_var"] + EPS)
    out = batchnorm(X, T, train=True, state=state, use_global_stats=True)
    np.testing.assert_allclose(out.values["bn"], (X - state["running_mean"]) * scale + BETA, rtol=1e-13)
    np.testing.assert_allclose(out.input_grads["x"], (out.values["bn"] - T) / 4 * scale, rtol=1e-13)
    np.testing.assert_array_equal(out.network.state["bn"]["running_mean"], state["running_mean"])  # left alone
    test_mode = batchnorm(X, T, train=False, state=state, use_global_stats=False)
    trained = batchnorm(X, T, train=True)
    np.testing.assert_allclose(test_mode.values["bn"], trained.values["bn"], rtol=1e-13)  # the batch's
    np.testing.assert_array_equal(test_mode.network.state["bn"]["running_var"], state["running_var"])


def test_batch_statistics_at_inference_have_no_onnx_form():
    pytest.importorskip("onnx")
    from graphnn.errors import GraphnnError
    from graphnn.interop.onnx_export import network_to_onnx

    with pytest.raises(GraphnnError, match=r"node 'bn'.*use_global_stats false normalises by each batch"):
        network_to_onnx(network(use_global_stats=False))
