"""Issue 17's targets on Caffe-format fixtures (tests/fixtures/caffe/, written for graphnn):

- the LeNet net + solver pair imported with --dataset mnist: 431,080 parameters; 1,000 iterations of its
  solver reach >= 0.975 test accuracy (10,000 reach >= 0.99: run by hand, docs/caffe.md has the figure);
- CIFAR-10 quick checks with Caffe's shapes after each pool (16, 8, 4) and 145,578 parameters;
- a CaffeNet-style net (LRN, grouped convolutions, 227 crops) checks with 60,965,224, in its train_val form
  (its LMDB sources and mean file written here: one 256x256 record) and its deploy form; the count comes
  from the plan's weight shapes, nothing is allocated;
- the MNIST autoencoder (Sigmoid, InnerProduct, SigmoidCrossEntropyLoss, EuclideanLoss) trains with each of
  its SGD, AdaGrad, AdaDelta and Nesterov solvers and its loss falls.
"""

from pathlib import Path

import numpy as np
import pytest

from graphnn.interop.caffe_net import import_caffe
from graphnn.model.load import model_from_dict
from graphnn.train.run import Run
from tests.interop.test_caffe_lmdb import blobproto, datum, write_lmdb

FIXTURES = Path(__file__).parent.parent / "fixtures" / "caffe"


def imported(net, solver=None, **options):
    document = import_caffe(FIXTURES / net, solver=FIXTURES / solver if solver else None, **options)
    return document, model_from_dict(document)


def test_lenet_parameters():
    document, model = imported("lenet_train_test.prototxt", "lenet_solver.prototxt", dataset="mnist")
    assert model.plan.parameter_count() == 431_080
    assert document["train"]["data"] == {"dataset": "mnist", "split": "train"}
    assert document["test"] == {"data": {"dataset": "mnist", "split": "test"}, "batch_size": 100, "iterations": 100}
    assert document["train"]["batch_size"] == 64 and document["train"]["iterations"] == 10_000


@pytest.mark.slow  # about 40 s of CPU on one core (minutes on a shared machine); test accuracy 0.9810
def test_lenet_1000_iterations(mnist_dir, tmp_path):
    document, _ = imported("lenet_train_test.prototxt", "lenet_solver.prototxt", dataset="mnist")
    document["train"].update(iterations=1000, test_interval=1000, test_initialization=False)
    model = model_from_dict(document)
    summary = Run(model, {"data_dir": str(mnist_dir)}, tmp_path / "run").train()
    assert summary["train"]["iterations"] == 1000
    assert summary["test"]["samples"] == 10_000
    assert summary["test"]["accuracy"] >= 0.975


def test_cifar10_quick_shapes():
    _, model = imported("cifar10_quick.prototxt")
    shapes = {step.name: step.out_shape for step in model.plan.steps}
    assert [shapes[name] for name in ("pool1", "pool2", "pool3")] == [(32, 16, 16), (32, 8, 8), (64, 4, 4)]
    assert model.plan.parameter_count() == 145_578


def test_caffenet_deploy():
    _, model = imported("caffenet_deploy.prototxt")
    assert model.plan.parameter_count() == 60_965_224
    shapes = {step.name: step.out_shape for step in model.plan.steps}
    assert shapes["data"] == (3, 227, 227) and shapes["pool5"] == (256, 6, 6) and shapes["prob"] == (1000,)


def test_caffenet_train_val(tmp_path):
    """The train_val form, with its LMDB sources and mean file where it names them (from the net's folder)."""
    net = tmp_path / "caffenet_train_val.prototxt"
    net.write_text((FIXTURES / "caffenet_train_val.prototxt").read_text())
    image = np.random.default_rng(0).integers(0, 256, size=(3, 256, 256), dtype=np.uint8)
    for source in ("ilsvrc12_train_lmdb", "ilsvrc12_val_lmdb"):
        (tmp_path / "examples" / "imagenet").mkdir(parents=True, exist_ok=True)
        write_lmdb(tmp_path / "examples" / "imagenet" / source, [datum(image, 3)])
    (tmp_path / "data" / "ilsvrc12").mkdir(parents=True)
    (tmp_path / "data" / "ilsvrc12" / "imagenet_mean.binaryproto").write_bytes(
        blobproto(np.full((1, 3, 256, 256), 110.0, np.float32)))
    document = import_caffe(net)
    model = model_from_dict(document, file=str(net))
    assert model.plan.parameter_count() == 60_965_224
    data = document["nodes"][0]
    assert data["shape"] == [3, 227, 227]
    assert data["transform"] == {"scale": 1.0, "mean_file": "data/ilsvrc12/imagenet_mean.binaryproto",
                                 "mirror": True, "crop_size": 227}
    assert document["test"]["data"] == {"path": "examples/imagenet/ilsvrc12_val_lmdb"}
    assert [node["op"] for node in document["nodes"]].count("lrn") == 2
    assert {node["name"]: node.get("groups", 1) for node in document["nodes"] if node["op"] == "conv2d"} == {
        "conv1": 1, "conv2": 2, "conv3": 1, "conv4": 2, "conv5": 2}


@pytest.mark.parametrize("solver", ["sgd", "adagrad", "adadelta", "nesterov"])
def test_autoencoder_trains(solver, mnist_dir, tmp_path):
    document, _ = imported("mnist_autoencoder.prototxt", f"mnist_autoencoder_solver_{solver}.prototxt",
                           dataset="mnist")
    assert document["train"]["solver"]["type"] == solver
    assert [test["name"] for test in [document["test"], *document["test"]["also"]]] == ["test-on-train",
                                                                                         "test-on-test"]
    document["train"].update(iterations=60, test_interval=0, display_interval=20, test_initialization=True,
                             data={"dataset": "mnist", "split": "train", "limit": 2000})
    document["test"] = {"data": {"dataset": "mnist", "split": "test", "limit": 500}, "batch_size": 100}
    records = []
    Run(model_from_dict(document), {"data_dir": str(mnist_dir)}, tmp_path / "run").train(records.append)
    train = [record["loss"] for record in records if record["phase"] == "train"]
    test = [record["loss"] for record in records if record["phase"] == "test"]
    assert len(train) == 3 and train[0] > train[1] > train[2], train  # each window's mean loss below the last
    assert len(test) == 2 and test[1] < test[0], test  # the same test images, before training and after
