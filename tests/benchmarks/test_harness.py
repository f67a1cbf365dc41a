"""The benchmark harness (benchmarks/run.py) in its tiny --quick mode, so that it does not rot.

No speed is asserted here (timings belong in benchmarks, never in unit tests): only that every installed
contender runs, and that the table and the JSON have their fields. PyTorch and scikit-learn are optional
(the ``bench`` extra); without them their rows say they are not installed.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name, path):
    """A module of benchmarks/ under its own name (benchmarks/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load("graphnn_benchmarks_run", ROOT / "benchmarks" / "run.py")
WORKLOADS = _load("graphnn_benchmarks_workloads", ROOT / "benchmarks" / "workloads.py").WORKLOADS

FIELDS = ("train_samples_per_s", "infer_samples_per_s", "peak_rss_mb", "accuracy", "graphnn_train_ratio",
          "graphnn_infer_ratio", "iterations", "batch_size")


def harness(tmp_path, mnist_dir, *args):
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out),
                           "--data-dir", str(mnist_dir), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text())


def test_quick_mlp784_runs_every_installed_contender(tmp_path, mnist_dir):
    stdout, report = harness(tmp_path, mnist_dir, "--workloads", "mlp784")
    header = stdout.splitlines()[0].split()
    assert header[:4] == ["workload", "contender", "train", "samples/s"]
    results = report["results"]["mlp784"]
    expected = {"graphnn": True, "numpy": True, "pytorch": importlib.util.find_spec("torch") is not None,
                "sklearn": importlib.util.find_spec("sklearn") is not None}
    for contender, present in expected.items():
        summary = results[contender]
        if not present:
            assert "not installed" in summary["skipped"]
            continue
        assert "error" not in summary, summary
        for field in FIELDS:
            assert field in summary, (contender, field)
        assert summary["train_samples_per_s"] > 0 and summary["infer_samples_per_s"] > 0
        assert 0 <= summary["accuracy"] <= 1 and summary["peak_rss_mb"] > 1
        assert summary["iterations"] == WORKLOADS["mlp784"].quick_iterations
        assert any(line.split()[:2] == ["mlp784", contender] for line in stdout.splitlines())
    assert results["graphnn"]["graphnn_train_ratio"] == pytest.approx(1.0)
    machine = report["machine"]
    assert machine["cores"] >= 1 and "cpu" in machine and "numpy" in machine["versions"]
    assert {run["contender"] for run in report["runs"]} == {c for c, present in expected.items() if present}


def test_quick_lenet_with_graphnn_alone(tmp_path, mnist_dir):
    if WORKLOADS["lenet"].available():
        pytest.skip(WORKLOADS["lenet"].available())
    _, report = harness(tmp_path, mnist_dir, "--workloads", "lenet", "--contenders", "graphnn")
    summary = report["results"]["lenet"]["graphnn"]
    assert "error" not in summary, summary
    assert summary["batch_size"] == 64


def test_children_lose_the_openblas_tuning_variables(monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "1")
    env = bench.child_environment(2)
    assert "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env
    assert str(ROOT) in env["PYTHONPATH"].split(":")
    assert bench.machine()["unset_in_children"] == {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1"}


def test_workload_documents_are_valid_models_with_the_shared_schedule():
    from graphnn.model import model_from_dict

    for workload in WORKLOADS.values():
        if workload.available():
            continue
        iterations, train_n, _ = workload.schedule()
        assert train_n % workload.batch_size == 0
        model = model_from_dict(workload.document(iterations))
        train = model.train
        assert train["batch_size"] == workload.batch_size and train["iterations"] == iterations
        assert train["lr"] == {"policy": "fixed", "base_lr": workload.lr}
        assert train["solver"]["momentum"] == workload.momentum
    wide = model_from_dict(WORKLOADS["wide"].document(1))
    assert wide.plan.by_name["fc1"].out_shape == (1024,) and wide.plan.by_name["fc2"].out_shape == (1024,)


def test_table_shows_errors_and_skips_on_their_own_line():
    results = {"wide": {"graphnn": {"train_samples_per_s": 100.0, "infer_samples_per_s": 1000.0,
                                    "peak_rss_mb": 50.0, "accuracy": 0.9},
                        "pytorch": {"skipped": "torch is not installed"},
                        "numpy": {"error": "exit 1: boom"}}}
    bench.add_ratios(results)
    text = bench.table(results)
    assert "torch is not installed" in text and "exit 1: boom" in text
    assert "1.00x" in text
    assert "| wide | graphnn | 100 | 1.00x |" in bench.markdown(results)


@pytest.mark.parametrize("clock", ["cpu", "wall"])
def test_interleaved_comparison_runs_and_prints_the_ratio(mnist_dir, clock):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "interleaved.py"), "mlp784", "--blocks", "1",
                           "--iterations", "2", "--clock", clock, "--data-dir", str(mnist_dir)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "mlp784: graphnn " in done.stdout and "graphnn / NumPy loop speed" in done.stdout


@pytest.mark.parametrize("arguments", [["--layers", "--match", "512 at 7"], ["--models", "resnet-mnist"]],
                         ids=["one convolution", "a zoo model"])
def test_zoo_speed_compares_graphnn_with_pytorch(arguments):
    pytest.importorskip("torch")
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "zoo_speed.py"), *arguments, "--batch", "1",
                           "--repeats", "1", "--threads", "1"], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line.split()[-1:] and
            line.split()[-1].replace(".", "").isdigit()]
    passes = ["forward + backward"] if "--layers" in arguments else ["inference", "training step"]
    assert len(rows) == len(passes) and all(float(row[-1]) > 0 for row in rows), done.stdout
