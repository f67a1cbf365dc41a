"""The contract every registered op keeps, checked on each of its declared examples: its parameter
schema accepts the example, shape inference agrees with forward, and backward agrees with central
differences in float64. A newly registered op is checked here without writing a test."""

import jsonschema
import numpy as np
import pytest

from graphnn import ops
from graphnn.model import schema
from graphnn.ops.base import ForwardContext
from tests.gradcheck import check_op_gradients, run_backward, sample_inputs

CASES = [(name, index) for name in ops.names() for index in range(len(ops.get(name).examples))]
COMPUTED = [(name, index) for name, index in CASES if not ops.get(name).is_input]  # data nodes are fed


def build(name, index):
    op_class = ops.get(name)
    example = op_class.examples[index]
    node = {"name": "n", "op": name, **example["params"]}
    if op_class.n_inputs:
        node["inputs"] = [f"in{i}" for i in range(len(example["inputs"]))]
    jsonschema.Draft202012Validator(schema.node_params_schema(op_class)).validate(node)
    in_shapes = [tuple(shape) for shape in example["inputs"]]
    op = op_class("n", example["params"], in_shapes)
    return op, in_shapes, op.out_shape


@pytest.mark.parametrize("name", ops.names())
def test_schema_is_valid_json_schema(name):
    jsonschema.Draft202012Validator.check_schema(schema.node_params_schema(ops.get(name)))


@pytest.mark.parametrize("name,index", CASES)
def test_shape_inference_agrees_with_forward(name, index):
    op, in_shapes, out_shape = build(name, index)
    rng = np.random.default_rng(0)
    if op.is_input:
        assert out_shape == tuple(op.params["shape"])
        return
    weights = op.init_weights(rng, np.float64)
    assert {k: w.shape for k, w in weights.items()} == op.weight_shapes
    xs = sample_inputs(op, in_shapes, rng, batch=4)
    ctx = ForwardContext(train=True, rng=rng, state=op.init_state(np.float64))
    y, _ = op.forward(weights, xs, ctx)
    assert y.shape == ((4,) + tuple(out_shape) if not op.is_loss else ())
    assert y.dtype == np.float64


@pytest.mark.parametrize("name,index", COMPUTED)
def test_gradients_match_central_differences(name, index):
    op, in_shapes, _ = build(name, index)
    rng = np.random.default_rng(1)
    weights = {k: rng.normal(size=w.shape) for k, w in op.init_weights(rng, np.float64).items()}
    xs = sample_inputs(op, in_shapes, rng)
    assert check_op_gradients(op, weights, xs, op.init_state(np.float64)) > 0


@pytest.mark.parametrize("name,index", COMPUTED)
def test_float32_in_float32_out(name, index):
    op, in_shapes, _ = build(name, index)
    rng = np.random.default_rng(2)
    weights = op.init_weights(rng, np.float32)
    xs = [x.astype(np.float32) if x.dtype.kind == "f" else x for x in sample_inputs(op, in_shapes, rng)]
    ctx = ForwardContext(train=True, rng=rng, state=op.init_state(np.float32))
    y, cache = op.forward(weights, xs, ctx)
    assert np.asarray(y).dtype == np.float32
    dxs, grads = run_backward(op, weights, cache, np.ones_like(y))
    assert all(dx.dtype == np.float32 for dx in dxs if dx is not None)
    assert all(g.dtype == np.float32 for g in grads.values())
