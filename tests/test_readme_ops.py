"""The README lists every registered op, one line each, as tools/readme_ops.py writes it from the registry."""

import subprocess
import sys

from graphnn.ops import registry
from tests.helpers import ROOT


def test_the_readme_lists_every_op_as_the_registry_has_it():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "readme_ops.py"), "--check"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr + " (run: python tools/readme_ops.py)"
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("<!-- ops: written by tools/readme_ops.py -->")[1].split("<!-- /ops -->")[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == registry.names()
    assert all(row.replace("\\|", "").count(" | ") == 3 for row in rows)  # four cells each
