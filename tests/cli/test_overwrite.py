"""viz, export and import refuse to write over an existing output without --force (exit 2, one line)."""

from pathlib import Path

import pytest

from tests.helpers import cli

MLP = Path(__file__).resolve().parents[2] / "models" / "mlp784.json"


def refused(result, path):
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line == f"error: {path}: the file exists; give --force to replace it"


def test_viz_refuses_an_existing_output(tmp_path):
    out = tmp_path / "m.svg"
    out.write_text("mine")
    refused(cli("viz", MLP, "-o", out), out)
    assert out.read_text() == "mine"
    assert cli("viz", MLP, "-o", out, "--force").returncode == 0 and out.read_text().startswith("<?xml")


def test_export_and_import_refuse_an_existing_output(tmp_path):
    pytest.importorskip("onnx")
    onnx_file = tmp_path / "m.onnx"
    assert cli("export", MLP, "-o", onnx_file).returncode == 0
    refused(cli("export", MLP, "-o", onnx_file), onnx_file)
    assert cli("export", MLP, "-o", onnx_file, "--force").returncode == 0
    bundle = tmp_path / "m.gnn"
    assert cli("import", onnx_file, "-o", bundle).returncode == 0
    refused(cli("import", onnx_file, "-o", bundle), bundle)
    refused(cli("import", onnx_file, "-o", tmp_path / "m.json"), bundle)  # the bundle written beside it
    assert cli("import", onnx_file, "-o", bundle, "--force").returncode == 0
