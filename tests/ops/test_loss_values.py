"""loss through the public path (model document -> Network), known values by hand:

    softmax_cross_entropy  L = -1/N sum_n sum_c t_nc log p_nc,  p = softmax(x);  dx = (p - t) / N
                           (t one-hot or probability rows, or class indices taken one-hot)
    least_squares          L = 1/(2N) sum_n ||x_n - t_n||^2;  dx = (x - t) / N  (indices taken one-hot)

The objective is sum(loss_weight * L) and each loss's gradient is scaled by its loss_weight.
"""

import numpy as np
import pytest

from tests.ops.public_path import run, torch_or_skip

X = np.array([[1.0, 2.0, 0.5, -1.0], [0.0, -2.0, 3.0, 1.0], [0.25, 0.25, 0.25, 0.25]])  # (N=3, C=4) logits
LABELS = np.array([1, 2, 0])
ONE_HOT = np.eye(4)[LABELS]


def loss(x, label, function, **params):
    label = np.asarray(label)
    nodes = [{"name": "label", "op": "data", "shape": list(label.shape[1:]), "field": "y"},
             {"name": "loss", "op": "loss", "inputs": ["x", "label"], "function": function, **params}]
    return run(nodes, {"x": x}, {"label": label})


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_cross_entropy_of_equal_logits_is_log_of_the_class_count():
    out = loss(np.zeros((2, 4)), [3, 0], "softmax_cross_entropy")
    assert np.isclose(out.objective, np.log(4), rtol=1e-15)
    np.testing.assert_allclose(out.input_grads["x"], (0.25 - np.eye(4)[[3, 0]]) / 2, rtol=1e-15)


@pytest.mark.parametrize("label", [LABELS, ONE_HOT], ids=["indices", "one-hot"])
def test_softmax_cross_entropy(label):
    out = loss(X, label, "softmax_cross_entropy")
    p = softmax(X)
    assert np.isclose(out.objective, -np.log(p[np.arange(3), LABELS]).sum() / 3, rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], (p - ONE_HOT) / 3, rtol=1e-13, atol=1e-17)


def test_softmax_cross_entropy_with_probability_rows():
    t = np.array([[0.5, 0.5, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4], [0.0, 0.0, 0.0, 1.0]])
    out = loss(X, t, "softmax_cross_entropy")
    p = softmax(X)
    assert np.isclose(out.objective, -(t * np.log(p)).sum() / 3, rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], (p - t) / 3, rtol=1e-13, atol=1e-17)


@pytest.mark.parametrize("label", [LABELS, ONE_HOT], ids=["indices", "one-hot"])
def test_least_squares(label):
    out = loss(X, label, "least_squares")
    assert np.isclose(out.objective, ((X - ONE_HOT) ** 2).sum() / (2 * 3), rtol=1e-15)
    np.testing.assert_allclose(out.input_grads["x"], (X - ONE_HOT) / 3, rtol=1e-15)


def test_least_squares_by_hand():
    out = loss(np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([[0.0, 0.0], [0.0, 1.0]]), "least_squares")
    assert out.objective == (1 + 4 + 0 + 4) / 4  # 1/(2N) sum of squares, N = 2
    assert out.input_grads["x"].tolist() == [[0.5, 1.0], [0.0, -1.0]]


@pytest.mark.parametrize("function", ["softmax_cross_entropy", "least_squares"])
def test_loss_weight_scales_the_objective_and_the_gradient(function):
    plain = loss(X, LABELS, function)
    weighted = loss(X, LABELS, function, loss_weight=0.25)
    assert np.isclose(weighted.objective, 0.25 * plain.objective, rtol=1e-15)
    np.testing.assert_allclose(weighted.input_grads["x"], 0.25 * plain.input_grads["x"], rtol=1e-15)


def test_two_losses_add_up():
    nodes = [{"name": "label", "op": "data", "shape": [], "field": "y"},
             {"name": "ce", "op": "loss", "inputs": ["x", "label"], "function": "softmax_cross_entropy"},
             {"name": "ls", "op": "loss", "inputs": ["x", "label"], "function": "least_squares", "loss_weight": 2.0}]
    out = run(nodes, {"x": X}, {"label": LABELS})
    p = softmax(X)
    expected = -np.log(p[np.arange(3), LABELS]).sum() / 3 + 2.0 * ((X - ONE_HOT) ** 2).sum() / 6
    assert np.isclose(out.objective, expected, rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], (p - ONE_HOT) / 3 + 2.0 * (X - ONE_HOT) / 3, rtol=1e-13)


@pytest.mark.parametrize("label", [LABELS, ONE_HOT], ids=["indices", "one-hot"])
def test_losses_match_torch(label):
    torch = torch_or_skip()
    for function in ("softmax_cross_entropy", "least_squares"):
        out = loss(X, label, function)
        tx = torch.tensor(X, requires_grad=True)
        if function == "softmax_cross_entropy":
            target = torch.tensor(label) if label.ndim == 1 else torch.tensor(label, dtype=torch.float64)
            value = torch.nn.functional.cross_entropy(tx, target)
        else:
            value = torch.nn.functional.mse_loss(tx, torch.tensor(ONE_HOT), reduction="sum") / (2 * len(X))
        value.backward()
        assert np.isclose(out.objective, value.item(), rtol=1e-14), function
        np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-12, atol=1e-17)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


TARGETS = np.array([[1.0, 0.0, 0.5, 0.25], [0.0, 0.0, 1.0, 1.0], [0.9, 0.1, 0.0, 1.0]])


def test_sigmoid_cross_entropy_by_the_formula_normalised_by_the_batch():
    out = loss(X, TARGETS, "sigmoid_cross_entropy")
    p = sigmoid(X)
    expected = -(TARGETS * np.log(p) + (1 - TARGETS) * np.log(1 - p)).sum() / 3  # Caffe: / N, not / (N C)
    assert np.isclose(out.objective, expected, rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], (p - TARGETS) / 3, rtol=1e-13)


def test_sigmoid_cross_entropy_is_stable_for_large_logits():
    x = np.array([[1000.0, -1000.0], [-800.0, 800.0]])
    out = loss(x, np.array([[1.0, 0.0], [0.0, 1.0]]), "sigmoid_cross_entropy")
    assert out.objective == 0.0
    out = loss(x, np.array([[0.0, 1.0], [1.0, 0.0]]), "sigmoid_cross_entropy")
    assert np.isclose(out.objective, (2000 + 1600) / 2, rtol=1e-15)
    assert np.isfinite(out.input_grads["x"]).all()


def test_sigmoid_cross_entropy_and_least_squares_take_any_shape_and_match_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(5)
    x, t = rng.normal(size=(2, 3, 2)), rng.uniform(size=(2, 3, 2))
    for function in ("sigmoid_cross_entropy", "least_squares"):
        out = loss(x, t, function)
        tx, tt = torch.tensor(x, requires_grad=True), torch.tensor(t)
        if function == "sigmoid_cross_entropy":
            value = torch.nn.functional.binary_cross_entropy_with_logits(tx, tt, reduction="sum") / 2
        else:
            value = torch.nn.functional.mse_loss(tx, tt, reduction="sum") / (2 * 2)
        value.backward()
        assert np.isclose(out.objective, value.item(), rtol=1e-13), function
        np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("function", ["least_squares", "sigmoid_cross_entropy"])
def test_a_computed_label_gets_its_gradient_too(function):
    torch = torch_or_skip()
    rng = np.random.default_rng(6)
    x, t = rng.normal(size=(3, 4)), rng.uniform(size=(3, 4))
    out = run([{"name": "loss", "op": "loss", "inputs": ["x", "t"], "function": function}], {"x": x, "t": t})
    tx, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    if function == "least_squares":  # Caffe's EuclideanLoss: gradients to both bottoms
        value = torch.nn.functional.mse_loss(tx, tt, reduction="sum") / (2 * 3)
    else:  # d/dt of sum [max(x, 0) - x t + log(1 + e^-|x|)] / N is -x / N
        value = torch.nn.functional.binary_cross_entropy_with_logits(tx, tt, reduction="sum") / 3
    value.backward()
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(out.input_grads["t"], tt.grad.numpy(), rtol=1e-12, atol=1e-16)


def test_a_loss_of_weight_zero_is_computed_but_trains_nothing():
    from graphnn.params import trained_nodes

    nodes = [{"name": "label", "op": "data", "shape": [], "field": "y"},
             {"name": "ce", "op": "loss", "inputs": ["x", "label"], "function": "softmax_cross_entropy"},
             {"name": "monitor", "op": "loss", "inputs": ["x", "label"], "function": "least_squares",
              "loss_weight": 0}]
    out = run(nodes, {"x": X}, {"label": LABELS})
    p = softmax(X)
    assert np.isclose(out.values["monitor"], ((X - ONE_HOT) ** 2).sum() / 6, rtol=1e-15)  # computed
    np.testing.assert_allclose(out.input_grads["x"], (p - ONE_HOT) / 3, rtol=1e-13)  # ... but not trained
    assert "monitor" not in trained_nodes(out.network.plan)
    from graphnn.executor import Network
    from graphnn.model import model_from_dict

    document = {"format": "graphnn/1", "nodes": [{"name": "in", "op": "data", "shape": [4]},
                                                 {"name": "x", "op": "fc", "inputs": ["in"], "units": 4},
                                                 *nodes[:1], {**nodes[2], "inputs": ["x", "label"]}]}
    network = Network.initialise(model_from_dict(document))
    assert trained_nodes(network.plan) == set() and not network.store.segments


def test_only_softmax_cross_entropy_reports_an_accuracy():
    for function, expected in (("softmax_cross_entropy", {"accuracy": 1.0}), ("least_squares", {}),
                               ("sigmoid_cross_entropy", {})):
        out = loss(X, ONE_HOT, function)
        assert out.network.plan.by_name["loss"].op.metrics([X, ONE_HOT]) == expected
