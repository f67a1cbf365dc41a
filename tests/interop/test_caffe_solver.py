"""Caffe solvers as graphnn train sections (graphnn/interop/caffe_solver.py): the six solver types with their
parameter names, every lr policy, Caffe's defaults where graphnn's differ (test_initialization, average_loss,
biases decayed), test_state/test_iter as several test sets, and the refusals, located in the solver file."""

import pytest

from graphnn.errors import GraphnnError
from graphnn.interop.caffe_net import import_caffe
from graphnn.model.load import model_from_dict

NET = """name: "tiny"
input: "data" input_shape { dim: 16 dim: 1 dim: 28 dim: 28 }
input: "label" input_shape { dim: 16 }
layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc"
        inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" }
"""
BASE = "base_lr: 0.01\nmax_iter: 100\nlr_policy: \"fixed\"\n"


def train_of(tmp_path, solver, **options):
    (tmp_path / "net.prototxt").write_text(NET)
    (tmp_path / "solver.prototxt").write_text(solver)
    document = import_caffe(tmp_path / "net.prototxt", solver=tmp_path / "solver.prototxt", dataset="mnist",
                            **options)
    model_from_dict(document)
    return document


@pytest.mark.parametrize("caffe, solver", [
    ("momentum: 0.9 weight_decay: 0.0005", {"type": "sgd", "momentum": 0.9, "weight_decay": 0.0005}),
    ('type: "Nesterov" momentum: 0.95', {"type": "nesterov", "momentum": 0.95}),
    ('type: "AdaGrad" delta: 1e-6', {"type": "adagrad", "delta": 1e-6}),
    ('type: "RMSProp" rms_decay: 0.98', {"type": "rmsprop", "delta": 1e-8, "rms_decay": 0.98}),
    ('type: "AdaDelta" momentum: 0.95', {"type": "adadelta", "momentum": 0.95, "delta": 1e-8}),
    ('type: "Adam" momentum: 0.9 momentum2: 0.99', {"type": "adam", "momentum": 0.9, "momentum2": 0.99,
                                                   "delta": 1e-8}),
    ("solver_type: NESTEROV momentum: 0.9", {"type": "nesterov", "momentum": 0.9}),
    ('type: "adagrad"', {"type": "adagrad", "delta": 1e-8}),
    ('type: "Adam"', {"type": "adam", "momentum": 0.0, "momentum2": 0.999, "delta": 1e-8}),  # Caffe's momentum: 0
    ('type: "AdaDelta"', {"type": "adadelta", "momentum": 0.0, "delta": 1e-8}),
    ('regularization_type: "L1" weight_decay: 0.1 clip_gradients: 5 iter_size: 2',
     {"type": "sgd", "weight_decay": 0.1, "regularization_type": "L1", "clip_gradients": 5.0, "iter_size": 2}),
])
def test_solver_types(tmp_path, caffe, solver):
    train = train_of(tmp_path, BASE + caffe)["train"]
    assert train["solver"] == {**solver, "decay_biases": True}


@pytest.mark.parametrize("caffe, lr", [
    ('lr_policy: "step" gamma: 0.1 stepsize: 30', {"policy": "step", "base_lr": 0.01, "gamma": 0.1, "step_size": 30}),
    ('lr_policy: "exp" gamma: 0.99', {"policy": "exp", "base_lr": 0.01, "gamma": 0.99}),
    ('lr_policy: "inv" gamma: 0.0001 power: 0.75', {"policy": "inv", "base_lr": 0.01, "gamma": 0.0001, "power": 0.75}),
    ('lr_policy: "multistep" gamma: 0.5 stepvalue: 20 stepvalue: 60',
     {"policy": "multistep", "base_lr": 0.01, "gamma": 0.5, "steps": [20, 60]}),
    ('lr_policy: "poly" power: 2', {"policy": "poly", "base_lr": 0.01, "power": 2.0}),
    ('lr_policy: "sigmoid" gamma: -0.1 stepsize: 50', {"policy": "sigmoid", "base_lr": 0.01, "gamma": -0.1,
                                                      "step_size": 50}),
])
def test_lr_policies(tmp_path, caffe, lr):
    train = train_of(tmp_path, "base_lr: 0.01\nmax_iter: 100\n" + caffe)["train"]
    assert train["lr"] == lr


def test_the_rest_of_the_train_section(tmp_path):
    document = train_of(tmp_path, BASE + "display: 10 average_loss: 5 random_seed: 7 snapshot: 50 "
                                          'snapshot_prefix: "snaps/tiny" test_iter: 3 test_interval: 20 '
                                          "test_initialization: false solver_mode: GPU device_id: 1")
    train = document["train"]
    assert train == {"data": {"dataset": "mnist", "split": "train"}, "batch_size": 16, "iterations": 100,
                     "seed": 7, "solver": {"type": "sgd", "decay_biases": True},
                     "lr": {"policy": "fixed", "base_lr": 0.01}, "display_interval": 10, "average_loss": 5,
                     "shuffle": False, "test_interval": 20, "test_initialization": False, "snapshot_interval": 50}
    assert document["test"] == {"data": {"dataset": "mnist", "split": "test"}, "batch_size": 16, "iterations": 3}
    assert "snaps/tiny" in document["doc"]


def test_caffe_defaults(tmp_path):
    train = train_of(tmp_path, BASE)["train"]
    assert train["average_loss"] == 1 and train["test_initialization"] is True and "seed" not in train
    assert train["shuffle"] is False  # Caffe's Data layer reads its database in order, epoch after epoch
    assert "display_interval" not in train and train["test_interval"] == 0


def test_test_states(tmp_path):
    net = NET.replace('input: "data"', 'input: "data"').replace(
        'layer { name: "loss"', 'layer { name: "acc" type: "Accuracy" bottom: "fc" bottom: "label" top: "acc" '
                                'include { phase: TEST stage: "with-accuracy" } }\nlayer { name: "loss"')
    (tmp_path / "net.prototxt").write_text(net)
    (tmp_path / "solver.prototxt").write_text(BASE + 'test_state { stage: "with-accuracy" } test_iter: 4 '
                                                     'test_state { stage: "plain" } test_iter: 2')
    document = import_caffe(tmp_path / "net.prototxt", solver=tmp_path / "solver.prototxt", dataset="mnist")
    assert document["test"]["name"] == "with-accuracy" and document["test"]["iterations"] == 4
    assert document["test"]["also"] == [{"name": "plain", "data": {"dataset": "mnist", "split": "test"},
                                         "batch_size": 16, "iterations": 2}]
    assert [node["name"] for node in document["nodes"]].count("acc") == 1


@pytest.mark.parametrize("caffe, words, where", [
    ('max_iter: 10 lr_policy: "fixed"', "solver: needs base_lr", None),
    ("base_lr: 0.1 max_iter: 10", "lr_policy must be one of fixed", None),
    ('base_lr: 0.1 max_iter: 10 lr_policy: "step" gamma: 0.1', "lr_policy 'step' needs stepsize", (1, 27)),
    ('base_lr: 0.1 max_iter: 10 lr_policy: "cosine"', "got cosine", (1, 27)),
    ('base_lr: 0.1 max_iter: 10 lr_policy: "fixed" type: "LBFGS"', "type 'LBFGS' is not a Caffe solver", (1, 46)),
    ('base_lr: 0.1 max_iter: 10 lr_policy: "fixed" regularization_type: "L3"', "L1 or L2", (1, 46)),
    ('base_lr: 0.1 max_iter: 10 lr_policy: "fixed" test_iter: 1 test_iter: 2', "2 test_iter for 1 test net",
     (1, 46)),
    ('base_lr: -1 max_iter: 10 lr_policy: "fixed"', "base_lr must be > 0", (1, 1)),
    ('base_lr: 0.1 max_iter: 10 lr_policy: "fixed" type: "AdaGrad" momentum: 0.9', ("momentum cannot be used with "
                                                                               "AdaGrad"), (1, 62)),
    ('base_lr: 0.1 max_iter: 10 lr_policy: "fixed" momentun: 0.9', ("unknown field 'momentun' (did you mean "
                                                                   "'momentum'?)"), (1, 46)),
])
def test_refused(tmp_path, caffe, words, where):
    with pytest.raises(GraphnnError) as caught:
        train_of(tmp_path, caffe)
    message = str(caught.value)
    assert words in message and message.startswith(str(tmp_path / "solver.prototxt")) and "\n" not in message
    if where:
        assert (caught.value.line, caught.value.column) == where
