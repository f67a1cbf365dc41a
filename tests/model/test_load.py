"""Loading runs no code from a file: names of Python objects, wherever a model file names something,
are refused with a location, and loading hostile model files (or a bundle carrying one) triggers no
import, exec, compile, process or unpickling event."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graphnn.errors import ModelInvalid
from graphnn.io import bundle
from graphnn.model import load_model
from tests.helpers import ROOT, hostile_documents, join_parts, write_data, write_model


def test_hostile_names_are_refused_with_a_location(tmp_path):
    for document in hostile_documents(tmp_path / "data.npz"):
        path = tmp_path / "hostile.json"
        path.write_text(json.dumps(document))
        with pytest.raises(ModelInvalid) as raised:
            load_model(path)
        assert len(str(raised.value).splitlines()) == 1
        assert all(error.path is not None for error in raised.value.errors), str(raised.value)


AUDIT_SCRIPT = r"""
import json, sys
from pathlib import Path
from graphnn.io.bundle import load_bundle
from graphnn.errors import GraphnnError
from graphnn.model import load_model

def load(path):
    try:
        (load_bundle if path.endswith(".gnn") else load_model)(path)
        return "loaded"
    except GraphnnError as error:
        return type(error).__name__

warm = [load(path) for path in sys.argv[1:3]]  # a valid and an invalid file: every lazy import happens now
events = []
WATCHED = ("import", "exec", "compile", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn",
           "os.spawn", "pickle.find_class", "ctypes.dlopen", "marshal.loads", "builtins.input", "os.remove")
sys.addaudithook(lambda event, args: events.append([event, str(args)[:80]]) if event in WATCHED else None)
outcomes = [load(path) for path in sys.argv[3:]]
print(json.dumps({"warm": warm, "outcomes": outcomes, "events": events}))
"""


def test_loading_hostile_files_imports_and_runs_nothing(tmp_path):
    """Audit events, in a fresh interpreter so the hook does not outlive the test: loading hostile model
    files and a bundle carrying one triggers no import, exec, compile, process or unpickling event."""
    data = write_data(tmp_path)
    valid = write_model(tmp_path, data, name="valid.json")
    unknown = json.loads(valid.read_text())
    unknown["nodes"][2]["op"] = "fcc"
    (tmp_path / "unknown.json").write_text(json.dumps(unknown))
    paths = []
    for index, document in enumerate(hostile_documents(data)):
        paths.append(tmp_path / f"hostile{index}.json")
        paths[-1].write_text(json.dumps(document))
    paths.append(tmp_path / "hostile.gnn")
    paths[-1].write_bytes(bundle_with_model(hostile_documents(data)[0]))
    result = subprocess.run([sys.executable, "-c", AUDIT_SCRIPT, str(valid), str(tmp_path / "unknown.json")]
                            + [str(path) for path in paths], capture_output=True, text=True, timeout=120, cwd=ROOT,
                            check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["warm"] == ["loaded", "ModelInvalid"]
    assert report["outcomes"] == ["ModelInvalid"] * (len(paths) - 1) + ["ModelInvalid"]
    assert report["events"] == []
    assert not Path("/tmp/graphnn-pwned").exists()


def bundle_with_model(document):
    """Bundle bytes (correct checksum, no tensors) whose header carries ``document`` as its model."""
    return join_parts({"format": bundle.FORMAT, "model": document, "metadata": {}, "tensors": []}, [])
