"""The parameter store: one flat buffer each for weights, gradients, state and solver slots; views per node."""

from pathlib import Path

import numpy as np

from graphnn.model import load_model, model_from_dict
from graphnn.model.builder import Graph
from graphnn.params import ParameterStore, Segment, trained_nodes

MODELS = Path(__file__).parent.parent / "models"


def test_mlp784_weights_are_two_segments_of_views():
    store = ParameterStore(load_model(MODELS / "mlp784.json").plan, "float32")
    assert store.size == 784 * 50 + 50 + 50 * 50 + 50 + 50 * 10 + 10 == store.weight_flat.size
    assert store.segments == [Segment(0, 42200, 1.0, 1.0, True), Segment(42200, 42310, 1.0, 1.0, False)]
    assert list(store.weights) == ["fc1", "fc2", "fc3"] and list(store.weights["fc1"]) == ["W", "b"]
    for views, flat in ((store.weights, store.weight_flat), (store.grads, store.grad_flat)):
        for arrays in views.values():
            for view in arrays.values():
                assert view.dtype == np.float32 and view.base is flat and view.flags.c_contiguous
    assert store.weights["fc2"]["W"].shape == (50, 50)
    store.weights["fc2"]["W"][0, 1] = 3.0  # a view: writes land in the flat buffer
    assert store.weight_flat[784 * 50 + 1] == 3.0
    assert store.grads["fc3"]["b"].ctypes.data == store.grad_flat[42300:].ctypes.data


def test_state_is_one_buffer_and_slots_cover_the_trained_weights():
    document = {"format": "graphnn/1", "nodes": [
        {"name": "x", "op": "data", "shape": [2, 3, 3]},
        {"name": "bn", "op": "batchnorm", "inputs": ["x"]},
        {"name": "pool", "op": "global_avgpool", "inputs": ["bn"]},
        {"name": "y", "op": "data", "shape": [], "field": "y"},
        {"name": "loss", "op": "loss", "inputs": ["pool", "y"], "function": "softmax_cross_entropy"}]}
    store = ParameterStore(model_from_dict(document).plan, "float64")
    assert set(store.state["bn"]) == {"running_mean", "running_var"}
    assert all(view.base is store.state_flat for view in store.state["bn"].values())
    assert store.state_flat.size == 4 and store.state_flat.dtype == np.float64
    flat, views = store.slot()
    assert flat.size == store.trained_size == store.size and not flat.any()
    assert {name: view.shape for name, view in views["bn"].items()} == {"gamma": (2,), "beta": (2,)}


def test_multipliers_make_segments_and_unreached_weights_come_last():
    g = Graph("groups")
    x = g.data("x", [4])
    h = g.node("fc", [x], "fc1", units=3, lr_mult=2.0)
    g.node("fc", [h], "dead_end", units=2)  # nothing that depends on it is a loss
    g.loss(g.node("fc", [h], "fc2", units=2), g.data("y", [], field="y"), name="loss")
    plan = g.build().plan
    assert trained_nodes(plan) >= {"fc1", "fc2", "loss"} and "dead_end" not in trained_nodes(plan)
    store = ParameterStore(plan, "float32")
    assert [(s.lr_mult, s.decayed, s.stop - s.start) for s in store.segments] == [
        (2.0, True, 12), (2.0, False, 3), (1.0, True, 6), (1.0, False, 2)]
    assert store.trained_size == 23 and store.size == 23 + 6 + 2
    assert list(store.weights) == ["fc1", "dead_end", "fc2"]  # the dicts keep plan order
    assert set(store.trained_grads) == {"fc1", "fc2"}
    assert "dead_end" not in store.slot()[1]


def test_load_copies_arrays_into_the_buffers():
    store = ParameterStore(load_model(MODELS / "mlp784.json").plan, "float32")
    weights = {"fc3": {"b": np.arange(10, dtype=np.float32)}}
    store.load(weights, {})
    assert store.weights["fc3"]["b"][9] == 9.0 and store.weight_flat[-1] == 9.0
    weights["fc3"]["b"][9] = -1.0
    assert store.weights["fc3"]["b"][9] == 9.0


def test_per_weight_multipliers_split_a_node_as_caffe_params_do():
    g = Graph("per_weight")
    x = g.data("x", [4])
    h = g.node("fc", [x], "fc1", units=3, lr_mult={"W": 1, "b": 2}, decay_mult={"b": 0})
    g.loss(g.node("fc", [h], "fc2", units=2, lr_mult=1.0), g.data("y", [], field="y"), name="loss")
    plan = g.build().plan
    assert plan.by_name["fc1"].op.multipliers == {"W": (1.0, 1.0), "b": (2.0, 0.0)}
    store = ParameterStore(plan, "float32")
    assert store.segments == [Segment(0, 18, 1.0, 1.0, True), Segment(18, 21, 2.0, 0.0, False),
                              Segment(21, 23, 1.0, 1.0, False)]
    assert store.weights["fc1"]["b"].base is store.weight_flat


def test_a_multiplier_naming_a_weight_the_node_lacks_is_a_located_error():
    import pytest

    from graphnn.errors import GraphnnError

    document = {"format": "graphnn/1", "nodes": [
        {"name": "x", "op": "data", "shape": [4]},
        {"name": "fc", "op": "fc", "inputs": ["x"], "units": 2, "lr_mult": {"B": 2}}]}
    with pytest.raises(GraphnnError, match=r"lr_mult names weight 'B'.*its weights: W, b") as caught:
        model_from_dict(document)
    assert "fc" in str(caught.value) and "/nodes/1" in str(caught.value)
