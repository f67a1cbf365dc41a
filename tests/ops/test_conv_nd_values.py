"""N-d convolution, transposed convolution and pooling through the public path (model document ->
Network), against PyTorch: 1-D and 3-D, dilations, groups, asymmetric padding (PyTorch: F.pad first,
or the full transposed output cropped), output_padding, ceil_mode, count_include_pad.

    conv:            y[n, f, p] = b[f] + sum_{c, i} W[f, c, i] xp[n, c, p*s + i*dil]
    conv_transpose:  the adjoint of conv's map from x to y (W: (C, F/g, k...)), cropped by padding
    pool:            the window's max, or its sum / (window size or taps inside the input)
"""

import numpy as np
import pytest

from tests.ops.public_path import run, squared_error, torch_or_skip


def node_run(op, x, target, weights=None, **params):
    nodes, feeds = squared_error("y", target)
    return run([{"name": "y", "op": op, "inputs": ["x"], **params}] + nodes, {"x": x}, feeds,
               {"y": weights} if weights else None)


def compare(torch, out, ty, tx, tw=None, tb=None, rtol=1e-12, atol=1e-12):
    np.testing.assert_allclose(out.values["y"], ty.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(out.input_grads["x"], tx.grad.numpy(), rtol=rtol, atol=atol)
    if tw is not None:
        np.testing.assert_allclose(out.weight_grads["y"]["W"], tw.grad.numpy(), rtol=rtol, atol=atol)
        np.testing.assert_allclose(out.weight_grads["y"]["b"], tb.grad.numpy(), rtol=rtol, atol=atol)


def backward(torch, ty, t, n):
    (((ty - torch.tensor(t)) ** 2).sum() / (2 * n)).backward()


def test_conv1d_by_hand():
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])  # (N=1, C=1, L=4)
    out = node_run("conv1d", x, np.zeros((1, 1, 4)), {"W": np.array([[[1.0, -1.0]]]), "b": np.array([0.5])},
                   filters=1, kernel=2, padding=[[1, 0]])  # padded [0 1 2 3 4]: y = xp[p] - xp[p+1] + b
    assert out.values["y"].tolist() == [[[-0.5, -0.5, -0.5, -0.5]]]


CONV_CASES = [  # op, graphnn params, torch keywords (after F.pad by ``pads``), F.pad pads, input shape
    ("conv1d", {"filters": 4, "kernel": 3, "stride": 2, "dilation": 2, "groups": 2, "padding": [[2, 1]]},
     {"stride": 2, "dilation": 2, "groups": 2}, (2, 1), (2, 4, 11)),
    ("conv1d", {"filters": 3, "kernel": 2, "padding": "same"}, {}, (0, 1), (2, 2, 5)),
    ("conv2d", {"filters": 2, "kernel": [3, 2], "padding": [[0, 2], [1, 0]], "stride": [1, 2]},
     {"stride": (1, 2)}, (1, 0, 0, 2), (2, 3, 5, 6)),
    ("conv3d", {"filters": 4, "kernel": [2, 3, 2], "stride": [1, 2, 1], "dilation": [2, 1, 1], "groups": 2,
                "padding": [[1, 1], [0, 0], [0, 1]]},
     {"stride": (1, 2, 1), "dilation": (2, 1, 1), "groups": 2}, (0, 1, 0, 0, 1, 1), (2, 2, 4, 5, 3)),
]


@pytest.mark.parametrize("op,params,torch_kwargs,pads,in_shape", CONV_CASES)
def test_conv_matches_torch(op, params, torch_kwargs, pads, in_shape):
    torch = torch_or_skip()
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    dims = len(in_shape) - 2
    kernel = params["kernel"] if isinstance(params["kernel"], list) else [params["kernel"]] * dims
    x = rng.normal(size=in_shape)
    w = rng.normal(size=(params["filters"], in_shape[1] // params.get("groups", 1), *kernel))
    b = rng.normal(size=params["filters"])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = getattr(F, op)(F.pad(tx, pads), tw, tb, **torch_kwargs)
    t = rng.normal(size=ty.shape)
    out = node_run(op, x, t, {"W": w, "b": b}, **params)
    backward(torch, ty, t, len(x))
    compare(torch, out, ty, tx, tw, tb)


TRANSPOSE_CASES = [  # op, graphnn params, torch keywords, (begin, end) crops of the full output, input shape
    ("conv_transpose1d", {"filters": 4, "kernel": 3, "stride": 2, "dilation": 2, "groups": 2, "output_padding": 1},
     {"stride": 2, "dilation": 2, "groups": 2, "output_padding": 1}, None, (2, 2, 5)),
    ("conv_transpose2d", {"filters": 3, "kernel": [3, 2], "stride": [2, 3], "padding": 1, "output_padding": [1, 2]},
     {"stride": (2, 3), "padding": 1, "output_padding": (1, 2)}, None, (2, 2, 3, 4)),
    ("conv_transpose2d", {"filters": 2, "kernel": 3, "stride": 2, "padding": [[0, 2], [1, 0]]},
     {"stride": 2}, ((0, 2), (1, 0)), (1, 3, 3, 3)),
    ("conv_transpose3d", {"filters": 2, "kernel": [2, 1, 3], "stride": [2, 1, 1], "padding": [0, 0, 1],
                          "dilation": [1, 1, 2]}, {"stride": (2, 1, 1), "padding": (0, 0, 1), "dilation": (1, 1, 2)},
     None, (2, 3, 2, 3, 4)),
]


@pytest.mark.parametrize("op,params,torch_kwargs,crops,in_shape", TRANSPOSE_CASES)
def test_conv_transpose_matches_torch(op, params, torch_kwargs, crops, in_shape):
    torch = torch_or_skip()
    F = torch.nn.functional
    rng = np.random.default_rng(1)
    dims, groups = len(in_shape) - 2, params.get("groups", 1)
    kernel = params["kernel"] if isinstance(params["kernel"], list) else [params["kernel"]] * dims
    x = rng.normal(size=in_shape)
    w = rng.normal(size=(in_shape[1], params["filters"] // groups, *kernel))
    b = rng.normal(size=params["filters"])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = getattr(F, op)(tx, tw, tb, **torch_kwargs)
    if crops:  # PyTorch pads both sides alike: crop its full output by hand
        ty = ty[(slice(None), slice(None)) + tuple(slice(begin, size - end) for (begin, end), size in
                                                   zip(crops, ty.shape[2:]))]
    t = rng.normal(size=ty.shape)
    out = node_run(op, x, t, {"W": w, "b": b}, **params)
    backward(torch, ty, t, len(x))
    compare(torch, out, ty, tx, tw, tb)


def test_conv_transpose_is_the_adjoint_of_conv():
    """<conv(x), y> = <x, conv_transpose(y)> for the same W (no bias), strides, dilations and padding."""
    from graphnn import ops

    rng = np.random.default_rng(2)
    params = {"kernel": [3, 2], "stride": [2, 1], "dilation": [1, 2], "padding": [[1, 0], [2, 1]], "bias": False,
              "groups": 2}
    conv = ops.get("conv2d")("c", {"filters": 4, **params}, [(6, 7, 6)])
    transposed = ops.get("conv_transpose2d")("t", {"filters": 6, "output_padding": [1, 0], **params}, [conv.out_shape])
    assert transposed.out_shape == (6, 7, 6)
    w = rng.normal(size=conv.weight_shapes["W"])
    assert transposed.weight_shapes["W"] == w.shape
    x, y = rng.normal(size=(2, 6, 7, 6)), rng.normal(size=(2,) + conv.out_shape)
    cx, _ = conv.forward({"W": w}, [x], None)
    ty, _ = transposed.forward({"W": w}, [y], None)
    assert np.sum(cx * y) == pytest.approx(np.sum(x * ty), rel=1e-12)


POOL_CASES = [  # op, graphnn params, torch function and keywords, input shape
    ("maxpool1d", {"kernel": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True},
     ("max_pool1d", {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}), (2, 3, 10)),
    ("maxpool2d", {"kernel": 3, "stride": 2, "ceil_mode": True}, ("max_pool2d", {"kernel_size": 3, "stride": 2,
                                                                                "ceil_mode": True}), (2, 2, 6, 8)),
    ("maxpool3d", {"kernel": [2, 3, 2], "stride": [1, 2, 2], "padding": [1, 1, 0], "dilation": [1, 1, 2]},
     ("max_pool3d", {"kernel_size": (2, 3, 2), "stride": (1, 2, 2), "padding": (1, 1, 0), "dilation": (1, 1, 2)}),
     (2, 2, 3, 5, 6)),
    ("avgpool1d", {"kernel": 4, "stride": 3, "padding": 2, "ceil_mode": True},
     ("avg_pool1d", {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True}), (2, 3, 9)),
    ("avgpool2d", {"kernel": 3, "stride": 2, "padding": 1, "count_include_pad": False},
     ("avg_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}), (2, 2, 6, 7)),
    ("avgpool2d", {"kernel": [3, 2], "stride": 2, "padding": [1, 1], "ceil_mode": True, "count_include_pad": False},
     ("avg_pool2d", {"kernel_size": (3, 2), "stride": 2, "padding": 1, "ceil_mode": True,
                     "count_include_pad": False}), (1, 2, 6, 5)),
    ("avgpool3d", {"kernel": 2, "stride": [1, 2, 2], "padding": [0, 1, 1], "ceil_mode": True},
     ("avg_pool3d", {"kernel_size": 2, "stride": (1, 2, 2), "padding": (0, 1, 1), "ceil_mode": True}),
     (2, 2, 3, 5, 4)),
]


@pytest.mark.parametrize("op,params,torch_call,in_shape", POOL_CASES)
def test_pooling_matches_torch(op, params, torch_call, in_shape):
    torch = torch_or_skip()
    name, kwargs = torch_call
    x = np.random.default_rng(3).normal(size=in_shape)  # no ties
    tx = torch.tensor(x, requires_grad=True)
    ty = getattr(torch.nn.functional, name)(tx, **kwargs)
    t = np.random.default_rng(4).normal(size=ty.shape)
    out = node_run(op, x, t, **params)
    backward(torch, ty, t, len(x))
    compare(torch, out, ty, tx, rtol=1e-13, atol=1e-15)


def test_ceil_mode_drops_a_last_window_that_would_start_in_the_padding():
    """L = 5, kernel 2, stride 2, padding 1: ceil gives 4 windows, but the 4th would start at padded
    position 6 = L + 1, past the input: 3 windows, as PyTorch and onnxruntime."""
    from graphnn import ops

    assert ops.get("maxpool1d")("p", {"kernel": 2, "stride": 2, "padding": 1, "ceil_mode": True},
                                [(1, 5)]).out_shape == (1, 3)
    assert ops.get("maxpool1d")("p", {"kernel": 2, "stride": 2, "padding": 1}, [(1, 5)]).out_shape == (1, 3)
    assert ops.get("maxpool1d")("p", {"kernel": 2, "stride": 2, "ceil_mode": True}, [(1, 5)]).out_shape == (1, 3)


def test_average_counts_only_the_taps_inside_the_input_without_count_include_pad():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    out = node_run("avgpool2d", x, np.zeros((1, 1, 2, 2)), kernel=2, stride=2, padding=1, count_include_pad=False)
    assert out.values["y"][0, 0].tolist() == [[1.0, (2 + 3) / 2], [(4 + 7) / 2, (5 + 6 + 8 + 9) / 4]]
    asymmetric = node_run("avgpool2d", x, np.zeros((1, 1, 2, 3)), kernel=2, stride=1, padding=[[0, 0], [1, 0]])
    assert asymmetric.values["y"][0, 0].tolist() == [[(1 + 4) / 4, (1 + 2 + 4 + 5) / 4, (2 + 3 + 5 + 6) / 4],
                                                     [(4 + 7) / 4, (4 + 5 + 7 + 8) / 4, (5 + 6 + 8 + 9) / 4]]
