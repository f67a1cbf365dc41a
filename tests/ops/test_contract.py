"""The contract every registered op keeps (graphnn/ops/base.py), checked on each of its declared
examples: its parameter schema accepts the example; construction declares every shape, and forward
agrees with them in training and in evaluation; init_weights/init_state give the declared shapes and
dtypes; the op cannot change after construction; backward agrees with central differences in float64,
overwrites every weight gradient it is given, and with no input gradient asked for returns None for
each input and the same weight gradients; and parameters made invalid from the op's own schema
(wrong type, out of range, unknown key, missing key) are refused by model validation, naming the node
and the JSON path. A newly registered op is checked here without writing a test."""

import jsonschema
import numpy as np
import pytest

from graphnn import ops
from graphnn.errors import ModelInvalid
from graphnn.model import model_from_dict, schema
from graphnn.ops.base import ForwardContext, reshaped
from tests.gradcheck import check_op_gradients, run_backward, sample_inputs

CASES = [(name, index) for name in ops.names() for index in range(len(ops.get(name).examples))]
COMPUTED = [(name, index) for name, index in CASES if not ops.get(name).is_input]  # data nodes are fed
TRAINED = [(name, index) for name, index in COMPUTED if not ops.get(name).is_metric]  # metrics pass no gradient


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


def forward(op, weights, xs, train, rng, dtype):
    return op.forward(weights, xs, ForwardContext(train=train, rng=rng, state=op.init_state(dtype)))


@pytest.mark.parametrize("name", ops.names())
def test_schema_is_valid_json_schema(name):
    jsonschema.Draft202012Validator.check_schema(schema.node_params_schema(ops.get(name)))


@pytest.mark.parametrize("name", ops.names())
def test_every_default_is_valid_for_its_own_schema(name):
    for key, spec in ops.get(name).params_schema["properties"].items():
        if "default" in spec:
            assert jsonschema.Draft202012Validator(spec).is_valid(spec["default"]), key


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
    assert y.shape == ((4,) + tuple(out_shape) if not (op.is_loss or op.is_metric) else ())
    assert y.dtype == np.float64


@pytest.mark.parametrize("name,index", CASES)
def test_construction_declares_the_whole_contract(name, index):
    op, in_shapes, _ = build(name, index)
    assert op.in_shapes == tuple(in_shapes) and all(type(shape) is tuple for shape in op.in_shapes)
    assert type(op.out_shape) is tuple and all(type(d) is int for d in op.out_shape)
    for shapes in (op.weight_shapes, op.state_shapes):
        assert type(shapes) is dict and all(type(shape) is tuple for shape in shapes.values())
    assert type(op.loss_weight) is float and (op.loss_weight > 0) == (op.is_loss and op.params["loss_weight"] > 0)
    assert list(op.multipliers) == list(op.weight_shapes)
    assert all(type(lr) is float and type(decay) is float for lr, decay in op.multipliers.values())
    assert type(op.decayed_weights) is tuple
    assert type(op.flops()) is int and op.flops() >= 0
    assert op.metrics.__func__ is ops.base.Op.metrics or op.is_loss or op.is_metric  # only losses and metrics report
    assert not (op.is_loss and op.is_metric) and type(op.metrics_reported()) is tuple


@pytest.mark.parametrize("name,index", CASES)
def test_an_op_cannot_change_after_construction(name, index):
    op, _, _ = build(name, index)
    for key in ("out_shape", "input_grads", "params"):
        with pytest.raises(AttributeError, match="immutable"):
            setattr(op, key, None)


@pytest.mark.parametrize("name,index", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initial_weights_and_state_have_the_declared_shapes_and_dtype(name, index, dtype):
    op, _, _ = build(name, index)
    for arrays, shapes in ((op.init_weights(np.random.default_rng(0), dtype), op.weight_shapes),
                           (op.init_state(dtype), op.state_shapes)):
        assert {key: array.shape for key, array in arrays.items()} == shapes
        assert all(array.dtype == dtype and np.isfinite(array).all() for array in arrays.values())


@pytest.mark.parametrize("name,index", COMPUTED)
def test_the_evaluation_path_runs_and_agrees_with_the_declared_shapes(name, index):
    op, in_shapes, out_shape = build(name, index)
    rng = np.random.default_rng(3)
    weights = op.init_weights(rng, np.float64)
    xs = sample_inputs(op, in_shapes, rng, batch=4)
    y, cache = forward(op, weights, xs, False, None, np.float64)  # no generator: evaluation draws nothing
    assert y.shape == ((4,) + out_shape if not (op.is_loss or op.is_metric) else ()) and np.isfinite(y).all()
    again, _ = forward(op, weights, xs, False, None, np.float64)
    np.testing.assert_array_equal(y, again)  # evaluation is deterministic
    dxs, grads = run_backward(op, weights, cache, np.ones_like(y))
    assert len(dxs) == len(in_shapes)
    assert all(np.isfinite(g).all() for g in grads.values())


@pytest.mark.parametrize("name,index", TRAINED)
def test_gradients_match_central_differences(name, index):
    op, in_shapes, _ = build(name, index)
    rng = np.random.default_rng(1)
    weights = {k: rng.normal(size=w.shape) for k, w in op.init_weights(rng, np.float64).items()}
    xs = sample_inputs(op, in_shapes, rng)
    assert check_op_gradients(op, weights, xs, op.init_state(np.float64)) > 0


@pytest.mark.parametrize("name,index", [case for case in COMPUTED if case not in TRAINED])
def test_a_metric_passes_no_gradient_and_has_no_weights(name, index):
    op, in_shapes, _ = build(name, index)
    xs = sample_inputs(op, in_shapes, np.random.default_rng(1))
    y, cache = forward(op, {}, xs, True, np.random.default_rng(7), np.float64)
    assert not op.weight_shapes and not op.is_loss and op.loss_weight == 0.0
    assert op.backward({}, cache, np.ones_like(y), (True,) * len(xs), {}) == [None] * len(xs)


@pytest.mark.parametrize("name,index", COMPUTED)
def test_backward_overwrites_weight_gradients_and_skips_inputs_not_needed(name, index):
    op, in_shapes, _ = build(name, index)
    rng = np.random.default_rng(4)
    weights = {k: rng.normal(size=w.shape) for k, w in op.init_weights(rng, np.float64).items()}
    xs = sample_inputs(op, in_shapes, rng)
    y, cache = forward(op, weights, xs, True, np.random.default_rng(7), np.float64)
    dy = rng.normal(size=np.shape(y))
    dxs, grads = run_backward(op, weights, cache, dy)  # gradients start as NaN: every entry must be written
    assert grads.keys() == op.weight_shapes.keys()
    assert all(g.shape == op.weight_shapes[k] and np.isfinite(g).all() for k, g in grads.items())
    assert len(dxs) == len(in_shapes)
    assert all(dx is None or dx.shape == x.shape for dx, x in zip(dxs, xs))
    garbage = {k: np.full_like(w, 1e30) for k, w in weights.items()}
    op.backward(weights, cache, dy, (True,) * len(in_shapes), garbage)
    for key in grads:
        np.testing.assert_array_equal(garbage[key], grads[key])
    skipped, skipped_grads = run_backward(op, weights, cache, dy, needs=(False,) * len(in_shapes))
    assert skipped == [None] * len(in_shapes)
    for key in grads:
        np.testing.assert_array_equal(skipped_grads[key], grads[key])


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


# --- invalid parameters, generated from each op's schema --------------------------------------------

WRONG_TYPE = {"integer": "1", "number": "1.5", "boolean": "true", "string": 7, "array": "[1]", "object": [1]}


def _out_of_range(spec):
    """Values that break a numeric bound of ``spec`` (inside oneOf/anyOf branches and array items too)."""
    values = []
    integer = spec.get("type") == "integer"
    if "minimum" in spec:
        values.append(spec["minimum"] - 1 if integer else spec["minimum"] - 0.5)
    if "exclusiveMinimum" in spec:
        values.append(spec["exclusiveMinimum"])
    if "maximum" in spec:
        values.append(spec["maximum"] + 1 if integer else spec["maximum"] + 0.5)
    if "exclusiveMaximum" in spec:
        values.append(spec["exclusiveMaximum"])
    if spec.get("type") == "array" and isinstance(spec.get("items"), dict):
        values += [[value] * max(spec.get("minItems", 1), 1) for value in _out_of_range(spec["items"])]
    for branch in spec.get("oneOf", []) + spec.get("anyOf", []):
        values += [value for value in _out_of_range(branch)
                   if not any(_accepts(other, value) for other in spec.get("oneOf", []) + spec.get("anyOf", []))]
    return values


def _accepts(spec, value):
    return jsonschema.Draft202012Validator(spec).is_valid(value)


def invalid_parameters(op_class):
    """(description, params, JSON path below the node) for parameters the op's schema refuses, made
    from its first example: each key of the wrong type, each numeric bound broken, an unknown key, each
    required key left out."""
    params = op_class.examples[0]["params"]
    cases = [("unknown key", {**params, "no_such_key": 1}, "")]
    cases += [(f"without required {key!r}", {k: v for k, v in params.items() if k != key}, "")
              for key in op_class.params_schema["required"]]
    for key, spec in op_class.params_schema["properties"].items():
        wrong = [None] + [WRONG_TYPE[t] for t in np.atleast_1d(spec.get("type", [])) if t in WRONG_TYPE]
        if "enum" in spec:
            wrong.append("no_such_choice")
        for value in wrong + _out_of_range(spec):
            assert not _accepts(spec, value), (key, value)  # the generator itself must be right
            cases.append((f"{key} = {value!r}", {**params, key: value}, f"/{key}"))
    return cases


INVALID = [(name, description, params, path) for name in ops.names()
           for description, params, path in invalid_parameters(ops.get(name))]


def test_every_op_gets_invalid_cases():
    assert {name for name, *_ in INVALID} == set(ops.names())


@pytest.mark.parametrize("name,description,params,path", INVALID,
                         ids=[f"{name}: {description}" for name, description, *_ in INVALID])
def test_invalid_parameters_are_refused_with_the_node_and_path(name, description, params, path):
    op_class = ops.get(name)
    shapes = op_class.examples[0]["inputs"]
    nodes = [{"name": f"in{k}", "op": "data", "shape": list(shape), "field": "y" if (op_class.is_loss or op_class.is_metric) and k else "x"}
             for k, shape in enumerate(shapes)]
    node = {"name": "n", "op": name, **({"inputs": [n["name"] for n in nodes]} if nodes else {}), **params}
    with pytest.raises(ModelInvalid) as raised:
        model_from_dict({"format": "graphnn/1", "nodes": nodes + [node]})
    where = f"/nodes/{len(nodes)}{path}"
    located = [error for error in raised.value.errors if error.node == "n" and (error.path or "").startswith(where)]
    assert located, [str(error) for error in raised.value.errors]
    assert all("\n" not in str(error) for error in raised.value.errors)


def test_weight_gradients_are_written_through_views_never_into_silent_copies():
    grads = np.zeros((4, 3, 2))
    reshaped(grads, (2, 2, 6))[...] = 1.0
    assert grads.sum() == 24
    with pytest.raises(ValueError, match="cannot be seen as"):
        reshaped(grads.transpose(2, 0, 1), (24,))
