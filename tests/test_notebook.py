"""docs/tutorial.ipynb runs top to bottom in a real Jupyter kernel (nbclient + ipykernel, the dev extra),
on the MNIST files of the ``mnist_dir`` fixture, and its outputs are what a notebook user sees: the
Model's HTML view (table and drawing), the History's SVG curves, short reprs."""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.ipynb"


def test_tutorial_runs_in_a_kernel(mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHNN_DATA", str(mnist_dir))  # the kernel inherits the environment
    notebook = nbformat.read(TUTORIAL, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    data = [output.get("data", {}) for output in outputs if output.output_type == "execute_result"]
    assert any("<table>" in item.get("text/html", "") and "<svg" in item["text/html"] for item in data)
    assert any(item.get("text/html", "").count("<svg") == 2 and "val_loss" in item["text/html"] for item in data)
    plain = [item.get("text/plain", "") for item in data]
    assert any(text.startswith("<graphnn.Graph 'mlp'") for text in plain)
    assert any(text.startswith("<graphnn.Bundle 'mlp'") for text in plain)
    assert all(len(text) < 2000 for text in plain)
    assert os.environ["GRAPHNN_DATA"] == str(mnist_dir)
