"""add and concat through the public path (model document -> Network), known values by hand:

    add     y = x_1 + ... + x_k;            dx_i = dy
    concat  y = [x_1, ..., x_k] along axis;  dx_i = the slice of dy that x_i filled

and a node read by two consumers receives the sum of their gradients.
"""

import numpy as np
import pytest

from tests.ops.public_path import run, squared_error, torch_or_skip

A = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
B = np.array([[0.5, 0.5, 0.5], [-1.0, 2.0, 4.0]])
C = np.array([[0.0, 1.0, -1.0], [2.0, -2.0, 0.25]])


def merge(op, inputs, target, **params):
    nodes, feeds = squared_error("merged", target)
    node = {"name": "merged", "op": op, "inputs": list(inputs), **params}
    return run([node] + nodes, inputs, feeds)


def test_add_two_inputs():
    t = np.zeros((2, 3))
    out = merge("add", {"a": A, "b": B}, t)
    assert out.values["merged"].tolist() == [[1.5, -1.5, 1.0], [2.0, 2.0, 3.0]]
    dy = (A + B - t) / 2
    for name in "ab":
        np.testing.assert_array_equal(out.input_grads[name], dy)


def test_add_three_inputs():
    t = np.ones((2, 3))
    out = merge("add", {"a": A, "b": B, "c": C}, t)
    np.testing.assert_array_equal(out.values["merged"], A + B + C)
    for name in "abc":
        np.testing.assert_allclose(out.input_grads[name], (A + B + C - t) / 2, rtol=1e-15)


def test_concat_along_features():
    first, second = A[:, :2], B  # (N, 2) and (N, 3) -> (N, 5)
    t = np.arange(10.0).reshape(2, 5) / 10
    out = merge("concat", {"first": first, "second": second}, t)
    assert out.values["merged"].tolist() == [[1.0, -2.0, 0.5, 0.5, 0.5], [3.0, 0.0, -1.0, 2.0, 4.0]]
    dy = (out.values["merged"] - t) / 2
    np.testing.assert_array_equal(out.input_grads["first"], dy[:, :2])
    np.testing.assert_array_equal(out.input_grads["second"], dy[:, 2:])


def test_concat_along_a_later_axis():
    first = np.arange(4.0).reshape(2, 2, 1)  # (N, 2, 1) and (N, 2, 3) -> (N, 2, 4) along axis 2
    second = -np.arange(12.0).reshape(2, 2, 3)
    t = np.full((2, 2, 4), 0.5)
    out = merge("concat", {"first": first, "second": second}, t, axis=2)
    np.testing.assert_array_equal(out.values["merged"], np.concatenate([first, second], axis=2))
    dy = (out.values["merged"] - t) / 2
    np.testing.assert_array_equal(out.input_grads["first"], dy[:, :, :1])
    np.testing.assert_array_equal(out.input_grads["second"], dy[:, :, 1:])


def test_a_node_read_twice_gets_the_sum_of_both_gradients():
    """a feeds add(a, b) and concat(a, b): dL/da = dy_add + dy_concat[:, :3]."""
    add_loss, add_feeds = squared_error("sum", np.zeros((2, 3)))
    cat_loss, cat_feeds = squared_error("both", np.ones((2, 6)))
    nodes = [{"name": "sum", "op": "add", "inputs": ["a", "b"]},
             {"name": "both", "op": "concat", "inputs": ["a", "b"]}] + add_loss + cat_loss
    out = run(nodes, {"a": A, "b": B}, {**add_feeds, **cat_feeds})
    dy_add, dy_cat = (A + B) / 2, (np.concatenate([A, B], axis=1) - 1) / 2
    np.testing.assert_allclose(out.input_grads["a"], dy_add + dy_cat[:, :3], rtol=1e-15)
    np.testing.assert_allclose(out.input_grads["b"], dy_add + dy_cat[:, 3:], rtol=1e-15)


@pytest.mark.parametrize("op", ["add", "concat"])
def test_merges_match_torch(op):
    torch = torch_or_skip()
    t = np.ones((2, 3 if op == "add" else 6))
    out = merge(op, {"a": A, "b": B}, t)
    ta, tb = torch.tensor(A, requires_grad=True), torch.tensor(B, requires_grad=True)
    ty = ta + tb if op == "add" else torch.cat([ta, tb], dim=1)
    (((ty - torch.tensor(t)) ** 2).sum() / 4).backward()
    np.testing.assert_array_equal(out.values["merged"], ty.detach().numpy())
    np.testing.assert_allclose(out.input_grads["a"], ta.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(out.input_grads["b"], tb.grad.numpy(), rtol=1e-15)


def test_add_with_coefficients_scales_each_input_and_its_gradient():
    t = np.zeros((2, 3))
    out = merge("add", {"a": A, "b": B, "c": C}, t, coeff=[1.0, -1.0, 0.5])
    y = A - B + 0.5 * C
    np.testing.assert_allclose(out.values["merged"], y, rtol=1e-15)
    dy = (y - t) / 2
    for name, c in zip("abc", (1.0, -1.0, 0.5)):
        np.testing.assert_allclose(out.input_grads[name], c * dy, rtol=1e-15)


def test_maximum_routes_the_gradient_to_the_first_input_reaching_the_maximum():
    a = np.array([[1.0, 2.0, 0.5], [3.0, 0.0, -1.0]])
    b = np.array([[1.0, 5.0, 0.5], [-1.0, 0.0, 4.0]])  # ties with a at (0, 0), (0, 2), (1, 1): a wins
    c = np.array([[0.0, 5.0, 2.0], [2.0, -2.0, 0.25]])  # ties with b at (0, 1): b wins
    t = np.zeros((2, 3))
    out = merge("maximum", {"a": a, "b": b, "c": c}, t)
    y = np.maximum(np.maximum(a, b), c)
    np.testing.assert_array_equal(out.values["merged"], y)
    dy = y / 2
    winners = {"a": [[1, 0, 0], [1, 1, 0]], "b": [[0, 1, 0], [0, 0, 1]], "c": [[0, 0, 1], [0, 0, 0]]}
    for name, mask in winners.items():
        np.testing.assert_array_equal(out.input_grads[name], dy * np.array(mask))


def test_maximum_and_weighted_add_match_torch():
    torch = torch_or_skip()
    rng = np.random.default_rng(2)
    xs = {name: rng.normal(size=(2, 3)) for name in "abc"}
    t = rng.normal(size=(2, 3))
    for op, params in (("maximum", {}), ("add", {"coeff": [2.0, -0.5, 1.5]})):
        out = merge(op, xs, t, **params)
        tx = {name: torch.tensor(x, requires_grad=True) for name, x in xs.items()}
        if op == "maximum":
            y = torch.maximum(torch.maximum(tx["a"], tx["b"]), tx["c"])
        else:
            y = 2.0 * tx["a"] - 0.5 * tx["b"] + 1.5 * tx["c"]
        (((y - torch.tensor(t)) ** 2).sum() / 4).backward()
        np.testing.assert_allclose(out.values["merged"], y.detach().numpy(), rtol=1e-15)
        for name in xs:
            np.testing.assert_allclose(out.input_grads[name], tx[name].grad.numpy(), rtol=1e-14)


def test_coeff_must_have_one_entry_per_input():
    from graphnn.errors import GraphnnError

    with pytest.raises(GraphnnError, match=r"coeff \[1.0, 2.0, 3.0\] has 3 entries for 2 inputs"):
        merge("add", {"a": A, "b": B}, np.zeros((2, 3)), coeff=[1.0, 2.0, 3.0])
