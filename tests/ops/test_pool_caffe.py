"""Caffe's pooling (issue 17) is graphnn's maxpool2d/avgpool2d with ceil_mode (and count_include_pad, the
default): output sizes rounded up, a last window that would start in the end padding dropped, and AVE dividing
by the window clipped at the padded end — checked against a transcription of Caffe's pooling loops."""

import itertools
import math

import numpy as np
import pytest

from graphnn.executor import Network
from graphnn.model import model_from_dict


def caffe_pooled(size, kernel, stride, pad):
    pooled = math.ceil((size + 2 * pad - kernel) / stride) + 1
    if pad and (pooled - 1) * stride >= size + pad:
        pooled -= 1
    return pooled


def caffe_pool(x, kernel, stride, pad, average):
    """Caffe's PoolingLayer forward over (H, W) of one channel."""
    height, width = x.shape
    out_h, out_w = caffe_pooled(height, kernel, stride, pad), caffe_pooled(width, kernel, stride, pad)
    y = np.empty((out_h, out_w))
    for ph, pw in itertools.product(range(out_h), range(out_w)):
        hstart, wstart = ph * stride - pad, pw * stride - pad
        hend, wend = min(hstart + kernel, height + pad), min(wstart + kernel, width + pad)
        pool_size = (hend - hstart) * (wend - wstart)
        hstart, wstart, hend, wend = max(hstart, 0), max(wstart, 0), min(hend, height), min(wend, width)
        window = x[hstart:hend, wstart:wend]
        y[ph, pw] = window.sum() / pool_size if average else window.max()
    return y


CASES = [(size, kernel, stride, pad) for size in (5, 6, 7, 8, 13) for kernel in (2, 3) for stride in (1, 2, 3)
         for pad in (0, 1) if pad < kernel and stride <= kernel]  # stride > kernel: Caffe can read an empty window


@pytest.mark.parametrize("op", ["maxpool2d", "avgpool2d"])
def test_pooling_with_ceil_mode_is_caffes(op):
    rng = np.random.default_rng(0)
    for size, kernel, stride, pad in CASES:
        x = rng.normal(size=(1, 1, size, size))
        document = {"format": "graphnn/1", "nodes": [
            {"name": "x", "op": "data", "shape": [1, size, size]},
            {"name": "p", "op": op, "inputs": ["x"], "kernel": kernel, "stride": stride, "padding": pad,
             "ceil_mode": True}]}
        y = Network.initialise(model_from_dict(document), dtype="float64").forward({"x": x}).values["p"]
        expected = caffe_pool(x[0, 0], kernel, stride, pad, op == "avgpool2d")
        assert y.shape[2:] == expected.shape, (size, kernel, stride, pad)
        np.testing.assert_allclose(y[0, 0], expected, rtol=1e-13, err_msg=str((size, kernel, stride, pad)))
