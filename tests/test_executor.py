"""The executor on a branching DAG: fan-out, add, concat, reshape/flatten, dropout and two weighted
losses. Backward must equal central differences of the whole objective sum(loss_weight * loss) in
float64, for every weight."""

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from graphnn.executor import Network
from graphnn.model import load_model
from graphnn.model.builder import Graph
from graphnn.ops.activation import IN_PLACE, Activation
from graphnn.ops.base import ForwardContext
from graphnn.ops.merge import Add

MODELS = Path(__file__).parent.parent / "models"
BATCH = 4


def branching_graph(aux_weight=0.3, main_weight=1.0):
    """image (2, 3) -> flatten -> {tanh path, sigmoid path} -> concat, + an fc skip -> add -> dropout
    -> reshape -> fc -> softmax loss; the tanh path also feeds a least-squares loss."""
    g = Graph("branching")
    image = g.data("image", shape=[2, 3])
    label = g.data("label", shape=[], field="y")
    target = g.data("target", shape=[4], field="t")
    flat = g.flatten(image, name="flat")  # three consumers
    tanh = g.tanh(g.fc(flat, 5, name="fc_a"), name="tanh")  # two consumers
    sigmoid = g.sigmoid(g.fc(flat, 5, name="fc_b"), name="sigmoid")
    merged = g.concat(tanh, sigmoid, name="merge")
    summed = g.add(merged, g.fc(flat, 10, name="fc_skip"), name="sum")
    dropped = g.dropout(summed, 0.5, name="drop")
    grid = g.reshape(dropped, [2, 5], name="grid")
    g.loss(g.fc(grid, 4, name="fc_out"), label, "softmax_cross_entropy", name="loss", loss_weight=main_weight)
    g.loss(g.fc(tanh, 4, name="fc_aux"), target, "least_squares", name="aux_loss", loss_weight=aux_weight)
    return g


def feeds_for(model, rng, batch=BATCH):
    """Random samples for every data node; class indices for a label of shape []."""
    values = {}
    for step in model.plan.inputs:
        if step.out_shape == ():
            values[step.name] = rng.integers(0, 4, size=batch)
        else:
            values[step.name] = rng.normal(size=(batch,) + step.out_shape)
    return values


def network64(model, seed=0):
    """A float64 network whose weights (biases too) are all non-trivial."""
    net = Network.initialise(model, seed=seed, dtype="float64")
    rng = np.random.default_rng(seed + 100)
    for arrays in net.weights.values():
        for array in arrays.values():
            array[...] = rng.normal(scale=1 / np.sqrt(array.shape[0]), size=array.shape)  # O(1) activations
    return net


def objective(net, feeds, seed=5):
    """The network's objective in training mode, with the same dropout masks on every call."""
    return net.forward(feeds, train=True, rng=np.random.default_rng(seed)).objective


def finite_difference(net, feeds, array, indices, eps=1e-6):
    """Central differences of the objective with respect to ``array`` at flat ``indices``."""
    flat = array.reshape(-1)
    grad = []
    for i in indices:
        original = flat[i]
        flat[i] = original + eps
        up = objective(net, feeds)
        flat[i] = original - eps
        down = objective(net, feeds)
        flat[i] = original
        grad.append((up - down) / (2 * eps))
    return np.array(grad)


def check_all_weights(net, feeds, sample=None):
    """Compare backward to central differences for every weight (``sample`` entries of each when given)."""
    grads = net.backward(net.forward(feeds, train=True, rng=np.random.default_rng(5)))
    assert set(grads) == set(net.weights)
    rng = np.random.default_rng(9)
    checked = 0
    for node, arrays in net.weights.items():
        assert set(grads[node]) == set(arrays)
        for key, array in arrays.items():
            size = array.size
            indices = range(size) if sample is None or size <= sample else rng.choice(size, sample, replace=False)
            indices = list(indices)
            expected = finite_difference(net, feeds, array, indices)
            np.testing.assert_allclose(grads[node][key].reshape(-1)[indices], expected, rtol=1e-5, atol=1e-8,
                                       err_msg=f"{node}/{key}")
            checked += len(indices)
    return checked


def test_branching_gradients_match_finite_differences():
    model = branching_graph().build()
    net = network64(model)
    checked = check_all_weights(net, feeds_for(model, np.random.default_rng(1)))
    assert checked == model.plan.parameter_count()


def test_branchy_model_gradients_match_finite_differences():
    model = load_model(MODELS / "branchy.json")
    net = network64(model)
    feeds = feeds_for(model, np.random.default_rng(2), batch=3)
    feeds["label"] = np.array([3, 0, 9])
    assert check_all_weights(net, feeds, sample=12) > 0


def copied(grads):
    return {node: {key: array.copy() for key, array in arrays.items()} for node, arrays in grads.items()}


def weight_grads(net, feeds):
    return net.backward(net.forward(feeds, train=True, rng=np.random.default_rng(5)))


def test_fan_out_accumulates_consumer_gradients():
    """tanh feeds two losses: fc_a's gradient is the sum of what each loss alone sends back (a loss of
    weight 0 trains nothing: a node only it reaches gets no gradient at all, counted as zeros here)."""
    feeds = feeds_for(branching_graph().build(), np.random.default_rng(3))
    both, main_only, aux_only = (weight_grads(network64(branching_graph(aux, main).build()), feeds)
                                 for aux, main in ((0.3, 1.0), (0.0, 1.0), (0.3, 0.0)))

    def grad(grads, node, key):
        return grads[node][key] if node in grads else np.zeros_like(both[node][key])

    for node in ("fc_a", "fc_b", "fc_skip"):  # below the fan-outs of tanh and flat
        for key in both[node]:
            np.testing.assert_allclose(both[node][key], grad(main_only, node, key) + grad(aux_only, node, key),
                                       rtol=1e-12)
    assert "fc_out" not in aux_only and "fc_aux" not in main_only


def test_objective_is_the_weighted_sum_of_losses():
    model = branching_graph(aux_weight=0.3).build()
    net = network64(model)
    result = net.forward(feeds_for(model, np.random.default_rng(4)), train=False)
    unweighted = {name: float(result.values[name]) for name in ("loss", "aux_loss")}
    assert result.losses == pytest.approx({"loss": unweighted["loss"], "aux_loss": 0.3 * unweighted["aux_loss"]})
    assert result.objective == pytest.approx(unweighted["loss"] + 0.3 * unweighted["aux_loss"])


def test_dropout_is_identity_at_test_time_and_seeded_in_training():
    model = branching_graph().build()
    net = network64(model)
    feeds = feeds_for(model, np.random.default_rng(5), batch=200)
    tested = net.forward(feeds, train=False)
    np.testing.assert_array_equal(tested.values["drop"], tested.values["sum"])
    first, again, other = (net.forward(feeds, train=True, rng=np.random.default_rng(seed)) for seed in (1, 1, 2))
    np.testing.assert_array_equal(first.values["drop"], again.values["drop"])
    assert not np.array_equal(first.values["drop"], other.values["drop"])
    kept = first.values["drop"] != 0
    np.testing.assert_allclose(first.values["drop"][kept], 2 * first.values["sum"][kept])  # 1 / (1 - 0.5)
    assert 0.4 < 1 - kept.mean() < 0.6


def test_float32_by_default_float64_on_request():
    model = branching_graph().build()
    feeds = feeds_for(model, np.random.default_rng(6))  # float64 samples, int64 labels
    for net, dtype in ((Network.initialise(model), np.float32), (Network.initialise(model, dtype="float64"), np.float64)):
        assert {a.dtype for arrays in net.weights.values() for a in arrays.values()} == {np.dtype(dtype)}
        result = net.forward(feeds, train=True, rng=np.random.default_rng(0))
        assert {v.dtype for k, v in result.values.items() if k != "label"} == {np.dtype(dtype)}
        assert result.values["label"].dtype.kind == "i"
        grads = net.backward(result)
        assert {g.dtype for arrays in grads.values() for g in arrays.values()} == {np.dtype(dtype)}
    net32 = Network.initialise(model)
    assert Network.initialise(model, dtype="float64").weights["fc_a"]["W"] == pytest.approx(
        net32.weights["fc_a"]["W"].astype(np.float64), rel=1e-6)  # the same draws, only the dtype differs
    assert net32.astype("float64").weights["fc_a"]["W"].dtype == np.float64


def test_skipped_input_gradients_leave_weight_gradients_unchanged():
    model = branching_graph().build()
    plan = model.plan
    assert plan.by_name["fc_a"].needs == (False,)  # flat only reshapes fed data
    assert plan.by_name["sum"].needs == (True, True)
    net = network64(model)
    feeds = feeds_for(model, np.random.default_rng(7))
    result = net.forward(feeds, train=True, rng=np.random.default_rng(5))
    step = plan.by_name["fc_a"]
    grads = {key: np.empty_like(weight) for key, weight in net.weights["fc_a"].items()}
    dxs = step.op.backward(net.weights["fc_a"], result.caches["fc_a"], np.ones((BATCH, 5)), step.needs, grads)
    assert dxs == [None]
    skipped = copied(net.backward(result))  # backward writes into the store's views: keep these
    for step in plan.steps:
        step.needs = (True,) * len(step.inputs)
    full = net.backward(net.forward(feeds, train=True, rng=np.random.default_rng(5)))
    assert skipped.keys() == full.keys()
    for node in full:
        for key in full[node]:
            np.testing.assert_array_equal(skipped[node][key], full[node][key])


def test_forward_until_runs_only_the_needed_steps():
    model = branching_graph().build()
    net = network64(model)
    result = net.forward({"image": np.zeros((2, 2, 3))}, until="merge")
    assert set(result.values) == {"image", "flat", "fc_a", "tanh", "fc_b", "sigmoid", "merge"}
    assert result.values["merge"].shape == (2, 10)


def test_training_forward_without_a_generator_is_refused():

    g = Graph("t")
    g.loss(g.dropout(g.fc(g.data("x", [3]), 2)), g.data("y", [], field="y"))
    net = Network.initialise(g.build())
    with pytest.raises(TypeError, match="rng"):
        net.forward({"x": np.ones((2, 3)), "y": np.array([0, 1])}, train=True)


# --- the parameter store behind the network -----------------------------------------------------------

def test_weights_and_gradients_are_views_of_the_store():
    model = branching_graph().build()
    net = Network.initialise(model, seed=1)
    for node, arrays in net.weights.items():
        for view in arrays.values():
            assert view.base is net.store.weight_flat
    feeds = feeds_for(model, np.random.default_rng(8))
    grads = weight_grads(net, feeds)
    assert set(grads) == set(net.weights)
    assert all(g.base is net.store.grad_flat for arrays in grads.values() for g in arrays.values())
    first = copied(grads)
    assert weight_grads(net, feeds) is grads  # the same views, rewritten by each backward
    for node, arrays in first.items():
        for key, array in arrays.items():
            np.testing.assert_array_equal(grads[node][key], array)


def test_initialise_draws_the_same_weights_as_each_filler_alone():
    """Plan order, one generator: the store holds exactly what the ops' fillers drew, in their dtype."""
    model = branching_graph().build()
    rng = np.random.default_rng(4)
    drawn = {step.name: step.op.init_weights(rng, np.dtype("float32")) for step in model.plan.steps if step.weight_shapes}
    net = Network.initialise(model, seed=4)
    for node, arrays in drawn.items():
        for key, array in arrays.items():
            np.testing.assert_array_equal(net.weights[node][key], array)
            assert net.weights[node][key].dtype == array.dtype


def test_a_network_copies_the_arrays_it_is_given():
    model = branching_graph().build()
    original = Network.initialise(model, seed=2)
    copy = Network(model, original.weights, original.state, "float32")
    copy.weights["fc_a"]["W"][0, 0] += 1.0
    assert copy.weights["fc_a"]["W"][0, 0] != original.weights["fc_a"]["W"][0, 0]


def test_a_weight_no_loss_depends_on_gets_no_gradient_and_no_update():
    from graphnn.train.solvers import Solver

    g = Graph("dead_end")
    x = g.data("x", [3])
    h = g.fc(x, 4, name="fc1")
    g.fc(h, 2, name="side")  # read by nothing
    g.loss(g.fc(h, 2, name="fc2"), g.data("y", [], field="y"), name="loss")
    net = Network.initialise(g.build(), seed=0)
    side = {key: array.copy() for key, array in net.weights["side"].items()}
    solver = Solver({"type": "sgd", "momentum": 0.9, "weight_decay": 0.1}, net.store)
    for _ in range(3):
        result = net.forward({"x": np.ones((2, 3)), "y": np.array([0, 1])}, train=True, rng=np.random.default_rng(0))
        assert set(net.backward(result)) == {"fc1", "fc2"}
        solver.step(lr=0.1)
    for key, array in side.items():
        np.testing.assert_array_equal(net.weights["side"][key], array)  # not even weight decay touches it


# --- integer feeds are converted as the training loop's batches are ----------------------------------

def image_graph(op, **params):
    g = Graph("images")
    a = g.data("a", [1, 2, 2])
    b = g.data("b", [1, 2, 2])
    g.node(op, [a, b] if op == "add" else [a], "out", **params)
    return g.build()


def test_uint8_images_are_scaled_to_floats_not_wrapped():
    a = np.full((1, 1, 2, 2), 200, np.uint8)
    net = Network.initialise(image_graph("add"))
    out = net.forward({"a": a, "b": a}, until="out").values["out"]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, np.float32(200) * np.float32(1 / 255) * 2)  # not (200 + 200) % 256 = 144
    images = np.arange(256, dtype=np.uint8).reshape(64, 1, 2, 2)
    fed = net.forward({"a": images, "b": images}, until="a").values["a"]
    np.testing.assert_array_equal(fed, images.astype(np.float32) * np.float32(1 / 255))  # the batches' bits


@pytest.mark.parametrize("op,params", [("avgpool2d", {"kernel": 2}), ("dropout", {"ratio": 0.5}),
                                       ("global_avgpool", {})])
def test_ops_that_need_floats_take_uint8_and_integer_feeds(op, params):
    net = Network.initialise(image_graph(op, **params), dtype="float64")
    for images, scale in ((np.full((3, 1, 2, 2), 51, np.uint8), 51 / 255), (np.full((3, 1, 2, 2), 7, np.int64), 7.0)):
        for train in (False, True):
            out = net.forward({"a": images}, train=train, rng=np.random.default_rng(0), until="out").values["out"]
            assert out.dtype == np.float64
            if not train or op != "dropout":
                np.testing.assert_allclose(out, scale)


def test_class_indices_stay_integers_and_one_hot_labels_are_not_scaled():
    g = Graph("labels")
    x = g.data("x", [3])
    logits = g.fc(x, 3, name="fc")
    g.loss(logits, g.data("index", [], field="y"), name="by_index")
    g.loss(logits, g.data("onehot", [3], field="y"), name="by_row")
    net = Network.initialise(g.build(), seed=0)
    indices = np.array([0, 2], np.int32)
    rows = np.eye(3, dtype=np.uint8)[indices]
    result = net.forward({"x": np.ones((2, 3), np.uint8), "index": indices, "onehot": rows})
    assert result.values["index"].dtype == np.int64 and result.values["index"].tolist() == [0, 2]
    assert result.values["onehot"].dtype == np.float32 and result.values["onehot"].tolist() == rows.tolist()
    assert result.losses["by_index"] == pytest.approx(result.losses["by_row"])


def test_forward_keeping_only_some_values_computes_the_same_and_holds_nothing_else():
    model = branching_graph().build()
    net = network64(model)
    feeds = feeds_for(model, np.random.default_rng(9))
    full = net.forward(feeds)
    kept = net.forward(feeds, keep=net.loss_values)
    assert set(kept.values) == {"loss", "aux_loss", "fc_out", "fc_aux", "label", "target"} and not kept.caches
    assert kept.losses == full.losses
    assert net.metrics(kept) == net.metrics(full)
    logits = net.forward(feeds, until="fc_out", keep=["fc_out"])
    assert list(logits.values) == ["fc_out"]
    np.testing.assert_array_equal(logits.values["fc_out"], full.values["fc_out"])
    with pytest.raises(TypeError, match="keep"):
        net.backward(kept)


def test_forward_in_pieces_joins_what_the_losses_read_and_runs_them_once():
    """Pieces run up to the values the losses read; those are joined and the losses (means over the batch)
    run once on the whole batch. With element-wise ops before the losses (a row's value never depends on
    how many rows a product had), the result is one pass's, bit for bit, for pieces of any sizes."""
    g = Graph("elementwise")
    x, label, target = g.data("x", shape=[4]), g.data("label", shape=[], field="y"), g.data("t", shape=[4], field="t")
    scores = g.tanh(g.sigmoid(x, name="gate"), name="scores")
    g.loss(scores, label, "softmax_cross_entropy", name="loss")
    g.loss(scores, target, "least_squares", name="aux", loss_weight=0.25)
    model = g.build()
    for dtype in ("float64", "float32"):
        net = Network.initialise(model, dtype=dtype)
        feeds = {name: value.astype(dtype) if value.dtype.kind == "f" else value
                 for name, value in feeds_for(model, np.random.default_rng(3), batch=11).items()}
        whole = net.forward(feeds, keep=net.loss_values)
        for cuts in ([0, 11], [0, 5, 11], [0, 1, 2, 10, 11]):
            pieces = ({name: value[a:b] for name, value in feeds.items()} for a, b in pairwise(cuts))
            joined = net.forward_pieces(pieces, keep=net.loss_values)
            assert joined.losses == whole.losses and not joined.caches and set(joined.values) == set(whole.values)
            for name, value in whole.values.items():
                np.testing.assert_array_equal(joined.values[name], value, strict=True)
            assert net.metrics(joined) == net.metrics(whole)


def test_inference_computes_element_wise_nodes_in_arrays_nothing_else_holds(monkeypatch):
    """forward(keep=...) lets relu and add write into an input they read last that nothing else refers to,
    with the bits of the pass that keeps everything; never into a fed array, a kept value, a value read
    later, or a view of one (here a reshape of fc_c, which concat reads after the relu)."""
    g = Graph("in_place")
    x = g.data("x", shape=[6])
    fed = g.relu(x, name="fed_relu")  # x is the caller's array
    only = g.relu(g.fc(x, 6, name="fc_a"), name="only_reader")  # fc_a: overwritten
    shared = g.fc(x, 6, name="fc_b")
    early = g.relu(shared, name="early_reader")  # fc_b is read again by the add
    summed = g.add(early, shared, name="sum")  # reads both last: overwrites one of them
    view = g.relu(g.reshape(g.fc(x, 6, name="fc_c"), [2, 3], name="grid"), name="view_reader")
    kept = g.relu(only, name="reads_kept")  # only_reader is kept below
    g.concat(g.flatten(view), g.fc(x, 6, name="fc_c_again"), summed, fed, kept, g.flatten(g.reshape(
        g.fc(x, 6, name="unused"), [6])), name="out")
    model = g.build()
    net = network64(model)
    feeds = {"x": np.random.default_rng(3).normal(size=(BATCH, 6))}
    original = feeds["x"].copy()
    full = net.forward(feeds)
    overwrites = {}
    forward = Activation.forward

    def spy(self, weights, xs, ctx):
        overwrites[self.node] = ctx.overwrite
        return forward(self, weights, xs, ctx)

    monkeypatch.setattr(Activation, "forward", spy)
    kept_names = ["out", "only_reader", "view_reader", "grid", "fc_c"]
    result = net.forward(feeds, keep=kept_names)
    for name in kept_names:
        np.testing.assert_array_equal(result.values[name], full.values[name], err_msg=name)
    np.testing.assert_array_equal(feeds["x"], original)
    assert overwrites == {"fed_relu": None, "only_reader": 0, "early_reader": None, "view_reader": None,
                          "reads_kept": None}


def test_in_place_results_have_the_bits_of_new_arrays():
    rng = np.random.default_rng(0)
    for function in IN_PLACE:
        op = Activation("a", {"function": function}, [(50,)])
        x = rng.normal(size=(4, 50)).astype(np.float32) * 4
        expected, _ = op.forward({}, [x.copy()], ForwardContext())
        got, cache = op.forward({}, [x], ForwardContext(overwrite=0))
        assert got is x and cache is None and np.array_equal(got, expected), function
    for params, into in (({}, 0), ({}, 1), ({"coeff": [0.5, -2.0, 3.0]}, 0)):
        op = Add("s", params, [(7,)] * 3)
        xs = [rng.normal(size=(3, 7)) for _ in range(3)]
        expected, _ = op.forward({}, [x.copy() for x in xs], ForwardContext())
        got, _ = op.forward({}, xs, ForwardContext(overwrite=into))
        assert got is xs[into] and np.array_equal(got, expected), (params, into)


@pytest.mark.parametrize("kernel, size", [(1, 20), (3, 20), (3, 6)], ids=["pointwise", "rows", "batch last"])
def test_inference_fuses_an_activation_into_the_convolution_it_alone_reads(monkeypatch, kernel, size):
    """A relu that is a convolution's only reader runs inside the convolution at inference (its epilogue),
    with the bits of the pass that keeps everything; one whose convolution is kept or read again runs itself."""
    g = Graph("fused")
    x = g.data("x", shape=[3, size, size])
    fused = g.relu(g.conv2d(x, filters=4, kernel=kernel, name="conv_a", padding=kernel // 2), name="fused")
    kept = g.relu(g.conv2d(x, filters=4, kernel=kernel, name="conv_kept", padding=kernel // 2), name="after_kept")
    shared = g.conv2d(x, filters=4, kernel=kernel, name="conv_shared", padding=kernel // 2)
    g.add(g.add(fused, kept), g.add(g.tanh(shared, name="after_shared"), shared), name="out")
    net = network64(g.build())
    feeds = {"x": np.random.default_rng(4).normal(size=(BATCH, 3, size, size))}
    full = net.forward(feeds)
    called = []
    forward = Activation.forward
    monkeypatch.setattr(Activation, "forward", lambda self, *args: called.append(self.node) or forward(self, *args))
    result = net.forward(feeds, keep=["out", "conv_kept"])
    np.testing.assert_array_equal(result.values["out"], full.values["out"])
    np.testing.assert_array_equal(result.values["conv_kept"], full.values["conv_kept"])
    assert sorted(called) == ["after_kept", "after_shared"]
