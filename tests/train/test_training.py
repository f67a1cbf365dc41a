"""Acceptance tests for training on real MNIST, obtained through graphnn's own verified lookup."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from graphnn.cli import main
from graphnn.io.bundle import load_bundle
from graphnn.model import load_model
from graphnn.train.run import Run

pytestmark = pytest.mark.slow


def run(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def train_model(path, data_dir, out):
    """`graphnn run PATH` into ``out``; asserts success and returns (summary, CLI result)."""
    result = run(["run", path, "--data-dir", str(data_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "summary.json").read_text()), result


@pytest.fixture(scope="module")
def seed_run(mnist_dir, tmp_path_factory):
    """The seed's experiment: mlp784, 800 iterations, batch 100, inv lr, momentum 0.9."""
    out = tmp_path_factory.mktemp("mlp784")
    _, result = train_model("models/mlp784.json", mnist_dir, out)
    return out, result


def test_seed_experiment_reaches_94_percent(seed_run):
    out, result = seed_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test"]["accuracy"] >= 0.94
    assert summary["test"]["samples"] == 10000
    assert summary["train"]["iterations"] == 800
    assert summary["train"]["samples_per_s"] > 0
    assert summary["seed"] == 0 and summary["graphnn_version"]
    assert f"test accuracy {summary['test']['accuracy']:.4f}" in result.output.splitlines()[-2]


def test_run_folder_holds_bundle_metrics_and_curve(seed_run):
    out, _ = seed_run
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train = [r for r in records if r["phase"] == "train"]
    assert {"iteration", "epoch", "loss", "accuracy", "lr", "elapsed"} <= set(train[0])
    assert train[-1]["iteration"] == 800
    assert train[-1]["loss"] < train[0]["loss"] / 3
    assert records[-1]["phase"] == "test"
    assert (out / "loss.svg").read_text().startswith("<svg")
    bundle = load_bundle(out / "model.gnn")
    assert bundle.metadata["training"]["iterations"] == 800


def test_graphnn_test_reproduces_the_run_accuracy(seed_run, mnist_dir):
    out, _ = seed_run
    summary = json.loads((out / "summary.json").read_text())
    result = run(["test", str(out / "model.gnn"), "--data-dir", str(mnist_dir)])
    assert result.exit_code == 0, result.output
    assert f"test accuracy {summary['test']['accuracy']:.4f}" in result.output


def test_same_seed_gives_bit_identical_weights(seed_run, mnist_dir, tmp_path):
    out, _ = seed_run
    train_model("models/mlp784.json", mnist_dir, tmp_path)
    assert (tmp_path / "model.gnn").read_bytes() == (out / "model.gnn").read_bytes()
    first, second = (json.loads((folder / "summary.json").read_text()) for folder in (out, tmp_path))
    for summary in (first, second):
        summary["train"].pop("seconds"), summary["train"].pop("samples_per_s")
    assert first == second


def test_ten_epochs_reach_97_percent(mnist_dir, tmp_path):
    summary, _ = train_model("models/mlp784-10epochs.json", mnist_dir, tmp_path)
    assert summary["train"]["iterations"] == 6000
    assert summary["test"]["accuracy"] >= 0.97


def test_branching_model_with_two_losses_trains(mnist_dir):
    model = load_model("models/branchy.json")
    assert len(model.plan.losses) == 2
    assert any(model.graph.out_degree(node) > 1 for node in model.graph)  # a real fan-out
    trainer = Run(model, {"iterations": 150, "data_dir": str(mnist_dir)}).trainer
    records = []
    final = trainer.run(records.append)
    train = [r for r in records if r["phase"] == "train"]
    assert train[-1]["loss"] < 0.5 * train[0]["loss"]
    assert final["accuracy"] > 0.85
    assert set(final["losses"]) == {step.name for step in model.plan.losses}


@pytest.mark.parametrize("solver", [{"type": "nesterov", "momentum": 0.9}, {"type": "adam"}])
def test_other_solvers_learn_mnist(mnist_dir, solver):
    model = load_model("models/mlp784.json")
    model.document["train"]["solver"] = solver
    if solver["type"] == "adam":
        model.document["train"]["lr"] = {"policy": "fixed", "base_lr": 0.002}
    trainer = Run(model, {"iterations": 300, "data_dir": str(mnist_dir)}).trainer
    assert trainer.run()["accuracy"] > 0.9


def test_float64_training_matches_float32_closely(mnist_dir):
    results = {}
    for dtype in ("float32", "float64"):
        trainer = Run(load_model("models/mlp784.json"), {"iterations": 50, "dtype": dtype,
                                                         "data_dir": str(mnist_dir)}).trainer
        trainer.run()
        results[dtype] = trainer.network.weights["fc3"]["W"]
    assert results["float64"].dtype == np.float64
    np.testing.assert_allclose(results["float32"], results["float64"], atol=1e-3)


def test_predict_prints_classes_for_idx_npy_and_npz(seed_run, mnist_dir, tmp_path):
    from graphnn.datasets.idx import read_idx

    out, _ = seed_run
    images = next(p for p in mnist_dir.iterdir() if p.name.startswith("t10k-images"))
    labels = read_idx(next(p for p in mnist_dir.iterdir() if p.name.startswith("t10k-labels")))[:50]
    np.save(tmp_path / "x.npy", read_idx(images)[:50])
    np.savez(tmp_path / "x.npz", x=read_idx(images)[:50].reshape(50, 784))
    outputs = []
    for source in (str(images), str(tmp_path / "x.npy"), str(tmp_path / "x.npz")):
        result = run(["predict", str(out / "model.gnn"), source, "--limit", "50", "--top", "2"])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert len(lines) == 50 and lines[0].startswith("0: ")
        outputs.append(result.output)
    assert outputs[0] == outputs[1] == outputs[2]
    predicted = np.array([int(line.split(": ")[1].split(" ")[0]) for line in outputs[0].splitlines()])
    assert np.mean(predicted == labels) >= 0.9


def test_predict_rejects_samples_of_the_wrong_shape(seed_run, tmp_path):
    out, _ = seed_run
    np.save(tmp_path / "bad.npy", np.zeros((3, 5, 5), np.uint8))
    result = CliRunner().invoke(main, ["predict", str(out / "model.gnn"), str(tmp_path / "bad.npy")])
    assert result.exit_code == 2
    assert "expects (784,)" in result.output and "Traceback" not in result.output


def test_lenet_reaches_99_percent(mnist_dir, tmp_path):
    """The convolutional acceptance test (issue 7): models/lenet.json as written, on full MNIST."""
    summary, _ = train_model("models/lenet.json", mnist_dir, tmp_path)
    assert summary["test"]["samples"] == 10000
    assert summary["test"]["accuracy"] >= 0.99
