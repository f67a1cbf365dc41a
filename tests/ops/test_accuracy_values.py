"""accuracy (Caffe's Accuracy layer) by hand: correct when fewer than top_k classes score strictly more than
the labelled one; samples with ignore_label left out; a metric: no gradient, never trained."""

import numpy as np
import pytest

from graphnn.executor import Network
from graphnn.model import model_from_dict
from graphnn.params import trained_nodes

X = np.array([[0.1, 0.5, 0.2, 0.2],   # best 1, then 2 and 3 (tied)
              [0.9, 0.0, 0.3, 0.6],   # best 0, then 3
              [0.3, 0.3, 0.1, 0.0],   # 0 and 1 tie for best
              [0.0, 0.1, 0.2, 0.7]])  # best 3, then 2


def network(**params):
    document = {"format": "graphnn/1", "nodes": [
        {"name": "x", "op": "data", "shape": [4]}, {"name": "label", "op": "data", "shape": [], "field": "y"},
        {"name": "acc", "op": "accuracy", "inputs": ["x", "label"], **params}]}
    return Network.initialise(model_from_dict(document), dtype="float64")


def accuracy(labels, **params):
    net = network(**params)
    result = net.forward({"x": X, "label": np.array(labels)})
    value = float(result.values["acc"])
    assert net.metrics(result)["acc"] == dict.fromkeys(net.plan.by_name["acc"].op.metrics_reported(), value)
    return value


@pytest.mark.parametrize("labels,top_k,expected", [
    ([1, 0, 0, 3], 1, 1.0), ([2, 0, 1, 3], 1, 0.75), ([2, 3, 2, 2], 1, 0.0),
    ([2, 3, 2, 2], 2, 0.75), ([3, 2, 2, 0], 3, 0.75), ([3, 2, 2, 0], 4, 1.0)])
def test_top_k_counts_the_classes_that_score_strictly_more(labels, top_k, expected):
    assert accuracy(labels, top_k=top_k) == expected


def test_a_tie_with_the_best_score_counts_as_correct_as_in_caffe():
    assert accuracy([1, 0, 1, 3]) == 1.0  # sample 2: classes 0 and 1 tie


def test_ignore_label_leaves_samples_out():
    assert accuracy([1, 2, 0, 2], ignore_label=2) == 1.0  # samples 1 and 3 left out; 0 and 2 correct
    assert accuracy([2, 2, 2, 2], ignore_label=2) == 0.0  # nothing left


def test_top_k_matches_torch():
    from tests.ops.public_path import torch_or_skip

    torch = torch_or_skip()
    rng = np.random.default_rng(0)
    scores, labels = rng.normal(size=(50, 10)), rng.integers(0, 10, 50)
    for k in (1, 3, 5):
        document = {"format": "graphnn/1", "nodes": [
            {"name": "x", "op": "data", "shape": [10]}, {"name": "label", "op": "data", "shape": [], "field": "y"},
            {"name": "acc", "op": "accuracy", "inputs": ["x", "label"], "top_k": k}]}
        net = Network.initialise(model_from_dict(document), dtype="float64")
        value = float(net.forward({"x": scores, "label": labels}).values["acc"])
        top = torch.topk(torch.tensor(scores), k, dim=1).indices.numpy()
        assert value == (top == labels[:, None]).any(axis=1).mean()


def test_metric_names_and_nothing_trained():
    assert network().plan.by_name["acc"].op.metrics_reported() == ("accuracy",)
    assert network(top_k=3).plan.by_name["acc"].op.metrics_reported() == ("accuracy_top3",)
    assert trained_nodes(network().plan) == set()


def test_top_k_beyond_the_classes_is_a_located_error():
    from graphnn.errors import GraphnnError

    with pytest.raises(GraphnnError, match=r"node 'acc'.*top_k 5 is more than the 4 classes"):
        network(top_k=5)


def test_an_accuracy_node_is_left_out_of_the_onnx_export(tmp_path):
    pytest.importorskip("onnx")
    from graphnn.interop.onnx_export import network_to_onnx

    document = {"format": "graphnn/1", "nodes": [
        {"name": "x", "op": "data", "shape": [4]}, {"name": "label", "op": "data", "shape": [], "field": "y"},
        {"name": "fc", "op": "fc", "inputs": ["x"], "units": 3},
        {"name": "loss", "op": "loss", "inputs": ["fc", "label"], "function": "softmax_cross_entropy"},
        {"name": "acc", "op": "accuracy", "inputs": ["fc", "label"]}]}
    model = network_to_onnx(Network.initialise(model_from_dict(document)))
    assert [i.name for i in model.graph.input] == ["x"] and [o.name for o in model.graph.output] == ["fc"]
    assert all(node.name != "acc" for node in model.graph.node)


def test_a_score_map_counts_every_position_as_a_sample():
    scores = np.random.default_rng(1).normal(size=(2, 3, 2, 2))  # (N, C, H, W)
    labels = np.array([[[0, 1], [2, 255]], [[1, 1], [0, 2]]])
    document = {"format": "graphnn/1", "nodes": [
        {"name": "x", "op": "data", "shape": [3, 2, 2]}, {"name": "label", "op": "data", "shape": [2, 2], "field": "y"},
        {"name": "acc", "op": "accuracy", "inputs": ["x", "label"], "ignore_label": 255}]}
    net = Network.initialise(model_from_dict(document), dtype="float64")
    value = float(net.forward({"x": scores, "label": labels}).values["acc"])
    best = scores.argmax(axis=1)
    kept = labels != 255
    assert value == np.count_nonzero((best == labels) & kept) / np.count_nonzero(kept)


def test_an_accuracy_cannot_feed_another_node():
    from graphnn.errors import GraphnnError

    document = {"format": "graphnn/1", "nodes": [
        {"name": "x", "op": "data", "shape": [4]}, {"name": "label", "op": "data", "shape": [], "field": "y"},
        {"name": "acc", "op": "accuracy", "inputs": ["x", "label"]},
        {"name": "twice", "op": "binary", "inputs": ["acc"], "function": "mul", "constant": 2.0}]}
    with pytest.raises(GraphnnError, match="'acc' is a metric; a metric's output cannot feed another node"):
        model_from_dict(document)
