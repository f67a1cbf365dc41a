"""softmax_cross_entropy with label rows that are not one-hot: for any non-negative label weights t,
L = -1/N sum_n sum_c t_nc log p_nc and dL/dx = (p * sum_c t_nc - t) / N. Rows that do not sum to 1
used to get (p - t) / N, the gradient of another loss. Checked against PyTorch's cross_entropy with
probability targets (which takes the targets as they are, whatever they sum to) and against central
differences, through the public path (model document -> Network)."""

import numpy as np
import pytest

from graphnn.ops.activation import softmax
from tests.gradcheck import numerical_gradient
from tests.ops.public_path import run, torch_or_skip

X = np.array([[1.0, 2.0, 0.5, -1.0], [0.0, -2.0, 3.0, 1.0], [0.25, 0.25, 0.25, 0.25], [4.0, -1.0, 0.0, 2.0]])
SOFT = np.array([[0.2, 0.3, 0.0, 0.0],   # sums to 0.5
                 [1.0, 0.0, 2.0, 1.0],   # sums to 4
                 [0.0, 0.0, 0.0, 0.0],   # sums to 0: no loss, no gradient
                 [0.1, 0.2, 0.3, 0.4]])  # sums to 1


def cross_entropy(x, label):
    nodes = [{"name": "label", "op": "data", "shape": [x.shape[1]], "field": "y"},
             {"name": "loss", "op": "loss", "inputs": ["x", "label"], "function": "softmax_cross_entropy"}]
    return run(nodes, {"x": x}, {"label": label})


def test_soft_labels_get_the_gradient_of_their_loss():
    out = cross_entropy(X, SOFT)
    p = softmax(X)
    np.testing.assert_allclose(out.objective, -(SOFT * np.log(p)).sum() / 4, rtol=1e-14)
    np.testing.assert_allclose(out.input_grads["x"], (p * SOFT.sum(axis=1, keepdims=True) - SOFT) / 4, rtol=1e-13)
    np.testing.assert_array_equal(out.input_grads["x"][2], 0.0)
    x = X.copy()
    expected = numerical_gradient(lambda: cross_entropy(x, SOFT).objective, x)
    np.testing.assert_allclose(out.input_grads["x"], expected, rtol=1e-6, atol=1e-9)


def test_soft_labels_match_torch_cross_entropy_with_probability_targets():
    torch = torch_or_skip()
    out = cross_entropy(X, SOFT)
    tx = torch.tensor(X, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(tx, torch.tensor(SOFT))
    loss.backward()
    assert out.objective == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_one_hot_rows_keep_p_minus_t_exactly():
    one_hot = np.eye(4)[[1, 2, 0, 3]]
    out = cross_entropy(X, one_hot)
    np.testing.assert_array_equal(out.input_grads["x"], (softmax(X) - one_hot) * (1.0 / 4))
