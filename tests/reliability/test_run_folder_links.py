"""A run writes only inside its run folder, and never through a symbolic link (graphnn/io/inside.py):

- a link in the folder where a file of the run goes (metrics.jsonl, model.gnn, snapshot.gnn, summary.json,
  loss.svg, a callback's file), to a file outside, is replaced by --overwrite's new run; what it pointed
  at is byte for byte as it was (metrics.jsonl used to be opened through it and truncated);
- a callback's ``path`` in a model file that is absolute, has a '..' part, or has a format field other than
  {epoch} (``{0}`` crashed at the first epoch; ``{epoch.__class__}`` reached an attribute) is refused
  before training, exit 2, one line with the JSON path; the names the rule allows still work.
"""

import json
from pathlib import Path

import pytest

from tests.helpers import cli, model_document, write_data

RUN_FILES = ["metrics.jsonl", "model.gnn", "snapshot.gnn", "summary.json", "loss.svg", "log.csv", "best.gnn"]
REFUSED = ["/tmp/graphnn-outside.csv", "../outside.csv", "a/../../outside.csv", "..", "logs/../../x.csv",
           "C:\\outside.csv", "\\\\host\\share\\x.csv", "ck{0}.gnn", "ck{}.gnn", "ck{epoch.__class__}.gnn",
           "ck{epoch[0]}.gnn", "ck{epoch!r}.gnn", "ck{epoch:s}.gnn", "ck{epoch:%}x{.gnn", "ck{epoch", "ck}.gnn",
           "ck{x}.gnn", "a\0b.csv"]
ALLOWED = ["log.csv", "logs/log.csv", "ck{epoch}.gnn", "ck{epoch:03d}.gnn", "ck{{literal}}{epoch}.gnn", "./x.csv"]


def model_with(folder, callbacks):
    document = model_document(write_data(folder), iterations=30, snapshot_interval=10)
    document["train"]["callbacks"] = callbacks
    path = Path(folder) / "m.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("name", RUN_FILES)
def test_a_link_in_the_run_folder_is_replaced_not_written_through(name, tmp_path):
    model = model_with(tmp_path, [{"type": "csv_logger", "path": "log.csv"},
                                  {"type": "model_checkpoint", "path": "best.gnn", "monitor": "loss"}])
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"someone else's file\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / name).symlink_to(outside)
    result = cli("run", model, "--out", run, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert outside.read_bytes() == b"someone else's file\n"
    assert not (run / name).is_symlink() and (run / name).is_file()


@pytest.mark.parametrize("name", REFUSED)
@pytest.mark.parametrize("kind", ["csv_logger", "model_checkpoint"])
def test_a_callback_file_outside_the_run_folder_or_with_other_fields_is_refused(kind, name, tmp_path):
    model = model_with(tmp_path, [{"type": kind, "path": name}])
    result = cli("run", model, "--out", tmp_path / "run")
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "/train/callbacks/0/path" in lines[0] and "Traceback" not in result.stderr, lines
    assert not (tmp_path / "run" / "model.gnn").exists() and not (tmp_path / "outside.csv").exists()


@pytest.mark.parametrize("name", ALLOWED)
def test_the_names_the_rule_allows_are_written_in_the_run_folder(name, tmp_path):
    kind = "csv_logger" if name.endswith(".csv") else "model_checkpoint"
    model = model_with(tmp_path, [{"type": kind, "path": name}])
    result = cli("run", model, "--out", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    written = [path for path in (tmp_path / "run").rglob("*") if path.is_file()]
    assert any(path.suffix == Path(name).suffix and path.name not in ("model.gnn", "snapshot.gnn")
               for path in written), written
