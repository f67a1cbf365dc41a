"""Numerical gradient checking, in float64, by central differences: of one op (the test suite's contract
test) and of a whole network (``graphnn gradcheck``).

For an op with output y, the checked scalar is L = sum(y * R) for a fixed random R (for a loss, L = y).
Points where the one-sided differences disagree are kinks (relu at 0, max ties) and are skipped, as
Caffe's checker does.

    rows = check_network(network, feeds, samples=20)     # one Row per node and array, worst error in each
    failed = [row for row in rows if row.worst > 1e-4]

A network is checked twice over: each node on its own (``local``: its input and weight gradients at the
values the forward pass gave it), and each weight against the whole objective (``objective``:
d sum(loss_weight * loss) / d weight, through the executor's backward, so fan-out and loss weights are
checked too). ``samples`` entries of each array, drawn from a seeded generator, are checked (all of a
smaller one), so a LeNet takes seconds. The relative error of an entry is
|analytic - numerical| / max(|analytic|, |numerical|, 1e-3): a tiny gradient is held to an absolute error.
"""

from dataclasses import dataclass

import numpy as np

from graphnn.ops.base import ForwardContext

BATCH = 3
EPS = 1e-6
FLOOR = 1e-3  # the smallest denominator of a relative error


def sample_inputs(op, in_shapes, rng, batch=BATCH):
    """Random float64 inputs; a loss's or a metric's label is one-hot rows or class indices."""
    xs = [rng.normal(size=(batch,) + tuple(shape)) for shape in in_shapes]
    if op.is_loss or op.is_metric:
        classes = in_shapes[0][0]
        indices = rng.integers(0, classes, size=batch)
        xs[1] = indices if in_shapes[1] == () else np.eye(classes)[indices]
    return xs


def differentiable(op, xs):
    """Indices of the inputs a gradient is checked for: float inputs, but a loss's label and a metric's inputs."""
    if op.is_metric:
        return []
    return [i for i, x in enumerate(xs) if not (op.is_loss and i == 1) and np.asarray(x).dtype.kind == "f"]


def run_backward(op, weights, cache, dy, needs=None):
    """(dxs, grads) of ``op.backward`` with every input's gradient asked for (unless ``needs`` says
    otherwise) and fresh arrays for the weight gradients it writes."""
    grads = {key: np.full_like(weight, np.nan) for key, weight in weights.items()}  # NaN: unwritten shows
    needs = (True,) * len(op.in_shapes) if needs is None else needs
    return op.backward(weights, cache, dy, needs, grads), grads


def run_forward(op, weights, xs, state):
    ctx = ForwardContext(train=True, rng=np.random.default_rng(7), state={k: v.copy() for k, v in state.items()})
    return op.forward(weights, xs, ctx)


def numerical_gradient(f, array, eps=EPS, indices=None):
    """d f / d array by central differences, with NaN where the point is a kink; only at the flat
    ``indices`` when given (NaN elsewhere)."""
    grad = np.full(np.shape(array), np.nan) if indices is not None else np.empty_like(array)
    flat, out = array.reshape(-1), grad.reshape(-1)
    mid = f()  # the same at every entry: each is put back exactly as it was
    for i in range(flat.size) if indices is None else indices:
        original = flat[i]
        flat[i] = original + eps
        up = f()
        flat[i] = original - eps
        down = f()
        flat[i] = original
        right, left = (up - mid) / eps, (mid - down) / eps
        kink = abs(right - left) > 1e-3 * max(1.0, abs(right) + abs(left))
        out[i] = np.nan if kink else (up - down) / (2 * eps)
    return grad


def check_op_gradients(op, weights, xs, state=None, rtol=1e-5, atol=1e-7):
    """Assert backward's input and weight gradients match central differences; returns checked counts."""
    state = state or {}
    y, cache = run_forward(op, weights, xs, state)
    projection = np.random.default_rng(1).normal(size=np.shape(y))

    def scalar():
        value, _ = run_forward(op, weights, xs, state)
        return float(np.sum(value * projection))

    dxs, grads = run_backward(op, weights, cache, projection)
    checked = 0
    for i in differentiable(op, xs):
        expected = numerical_gradient(scalar, xs[i])
        mask = ~np.isnan(expected)
        np.testing.assert_allclose(np.asarray(dxs[i])[mask], expected[mask], rtol=rtol, atol=atol,
                                   err_msg=f"{op.name}: gradient of input {i}")
        checked += mask.sum()
    for key, weight in weights.items():
        expected = numerical_gradient(scalar, weight)
        mask = ~np.isnan(expected)
        np.testing.assert_allclose(grads[key][mask], expected[mask], rtol=rtol, atol=atol,
                                   err_msg=f"{op.name}: gradient of weight {key}")
        checked += mask.sum()
    return checked


# --- whole networks ---------------------------------------------------------------------------------------

@dataclass
class Row:
    """One checked array: ``array`` is "input K (NAME)" or a weight's name; ``check`` "local" or
    "objective"; ``entries`` checked, ``kinks`` skipped, ``worst`` relative error (0.0 when none checked)."""

    node: str
    op: str
    array: str
    check: str
    entries: int
    kinks: int
    worst: float


def relative_error(analytic, numerical):
    """Entry-wise |a - n| / max(|a|, |n|, FLOOR)."""
    analytic, numerical = np.asarray(analytic, np.float64), np.asarray(numerical, np.float64)
    return np.abs(analytic - numerical) / np.maximum(np.maximum(np.abs(analytic), np.abs(numerical)), FLOOR)


def sample_indices(size, samples, rng):
    """Sorted flat indices of ``samples`` entries of an array of ``size`` (all when ``samples`` is None or
    not below ``size``)."""
    if samples is None or samples >= size:
        return np.arange(size)
    return np.sort(rng.choice(size, size=samples, replace=False))


def _compare(node, op, array, check, analytic, numerical, indices):
    expected = numerical.reshape(-1)[indices]
    got = np.asarray(analytic, np.float64).reshape(-1)[indices]
    kept = ~np.isnan(expected)
    errors = relative_error(got[kept], expected[kept])
    return Row(node, op, array, check, int(kept.sum()), int((~kept).sum()),
               float(errors.max()) if errors.size else 0.0)


def random_feeds(plan, batch=BATCH, seed=0):
    """Random values for the data nodes: samples uniform in [0, 1], labels as class indices (shape []) or
    one-hot rows (shape [C]); classes are the width of the prediction a loss compares the label with."""
    rng = np.random.default_rng(seed)
    classes = {step.inputs[1]: step.in_shapes[0][0] for step in plan.losses
               if len(step.inputs) > 1 and step.in_shapes[0]}
    values = {}
    for step in plan.inputs:
        shape = step.out_shape
        if step.op.params.get("field") == "y" and shape == ():
            values[step.name] = rng.integers(0, classes.get(step.name, 2), size=batch)
        elif step.op.params.get("field") == "y" and len(shape) == 1:
            values[step.name] = np.eye(shape[0])[rng.integers(0, shape[0], size=batch)]
        else:
            values[step.name] = rng.uniform(0.0, 1.0, size=(batch,) + tuple(shape))
    return values


def check_network(network, feeds=None, samples=20, seed=0, batch=BATCH, nodes=None):
    """Rows for every node of ``network`` (a float64 copy is checked; ``nodes`` limits which), on
    ``feeds`` ({data node: array}; random when None, see ``random_feeds``)."""
    net = network.astype("float64")
    plan = net.plan
    feeds = random_feeds(plan, batch, seed) if feeds is None else feeds
    rng = np.random.default_rng(seed)
    state0 = {node: {k: v.copy() for k, v in named.items()} for node, named in net.state.items()}

    def forward():
        for node, named in state0.items():  # training mode updates running statistics: start from the same
            for key, value in named.items():
                net.state[node][key][...] = value
        return net.forward(feeds, train=True, rng=np.random.default_rng([seed, 1]))

    result = forward()
    values = result.values
    rows = []
    wanted = None if nodes is None else set(nodes)
    for step in plan.steps:
        if step.op.is_input or (wanted is not None and step.name not in wanted):
            continue
        rows.extend(_check_step(step, net, values, samples, rng))
    if plan.losses:
        rows.extend(_check_objective(net, forward, samples, rng, wanted))
    order = {step.name: index for index, step in enumerate(plan.steps)}
    return sorted(rows, key=lambda row: order[row.node])  # stable: each node's local rows, then its objective


def _check_step(step, net, values, samples, rng):
    op = step.op
    xs = [np.array(values[source], copy=True) for source in step.inputs]
    weights = {key: np.array(weight, np.float64) for key, weight in net.weights.get(step.name, {}).items()}
    state = {key: np.array(value, np.float64) for key, value in net.state.get(step.name, {}).items()}
    y, cache = run_forward(op, weights, xs, state)
    projection = np.random.default_rng(1).normal(size=np.shape(y))

    def scalar():
        value, _ = run_forward(op, weights, xs, state)
        return float(np.sum(value * projection))

    dxs, grads = run_backward(op, weights, cache, projection)
    rows = []
    for i in differentiable(op, xs):
        indices = sample_indices(xs[i].size, samples, rng)
        numerical = numerical_gradient(scalar, xs[i], indices=indices)
        rows.append(_compare(step.name, op.name, f"input {i} ({step.inputs[i]})", "local", dxs[i], numerical,
                             indices))
    for key, weight in weights.items():
        indices = sample_indices(weight.size, samples, rng)
        numerical = numerical_gradient(scalar, weight, indices=indices)
        rows.append(_compare(step.name, op.name, key, "local", grads[key], numerical, indices))
    return rows


def _check_objective(net, forward, samples, rng, wanted):
    analytic = {node: {key: grad.copy() for key, grad in named.items()}
                for node, named in net.backward(forward()).items()}
    rows = []
    for step in net.plan.steps:
        if step.name not in analytic or (wanted is not None and step.name not in wanted):
            continue
        for key, weight in net.weights[step.name].items():
            indices = sample_indices(weight.size, samples, rng)
            numerical = numerical_gradient(lambda: forward().objective, weight, indices=indices)
            rows.append(_compare(step.name, step.op.name, key, "objective", analytic[step.name][key], numerical,
                                 indices))
    return rows
