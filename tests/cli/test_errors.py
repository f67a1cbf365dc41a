"""Errors on the command line: one line on stderr, starting "error:", naming the file and the place (or
the node and op where training diverged), never a traceback."""

import json

from tests.helpers import assert_one_line_error, cli, cli_process, hostile_documents, write_data, write_model


def test_cli_names_the_file_and_place_in_one_line(tmp_path):
    data = write_data(tmp_path)
    model = write_model(tmp_path, data)
    broken = tmp_path / "broken.json"
    broken.write_text(model.read_text().replace('"units": 16', '"units": 1e400'))
    line = assert_one_line_error(cli_process("check", broken), broken, "1e400")  # a real process: no traceback
    assert f"{broken}:" in line and ":" in line.split(str(broken))[1]  # file:line:column
    damaged = tmp_path / "damaged.gnn"
    damaged.write_bytes(b"\x89GNN\r\n\x1a\n" + b"\x00" * 50)
    assert_one_line_error(cli("test", damaged), damaged)
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(hostile_documents(data)[1]))
    assert_one_line_error(cli("run", hostile, "--out", tmp_path / "run"), hostile, "/nodes/2/op", "__import__")


def test_divergence_in_the_cli_is_one_line_naming_node_and_last_snapshot(tmp_path):
    data = write_data(tmp_path, scale=1e39)
    model = write_model(tmp_path, data, batchnorm=False, activation=None)
    line = assert_one_line_error(cli("run", model, "--out", tmp_path / "run"), "node 'fc1' (op fc)", "forward")
    assert "snapshot" not in line  # none was written before iteration 0
    assert not (tmp_path / "run" / "snapshot.gnn").exists()
