"""The run folder's metrics.jsonl, read back on --resume, cannot break a run (issue 14, classes 4 and 10):
a deeply nested line among the records the snapshot counts is one located error, never a RecursionError;
such a line after them is dropped as before; a named pipe in its place is refused instead of blocking.
"""

import json
import os

import pytest

from graphnn.errors import GraphnnError
from graphnn.train.rundir import RunDirectory
from tests.io.test_regular_files import without_blocking

GOOD = [{"phase": "train", "iteration": i, "loss": 1.0 / i} for i in range(1, 4)]
DEEP = {"nested 100,000 deep": "[" * 100_000 + "]" * 100_000, "unclosed 10,000 deep": "[" * 10_000,
        "a 5,000-digit number": "9" * 5000, "not JSON": "{iteration: 1}"}


def write(folder, lines):
    folder.mkdir(exist_ok=True)
    (folder / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))


@pytest.mark.parametrize("bad", DEEP)
def test_a_bad_line_among_the_counted_records_is_one_located_error(tmp_path, bad):
    write(tmp_path / "run", [json.dumps(GOOD[0]), DEEP[bad], json.dumps(GOOD[1])])
    with pytest.raises(GraphnnError) as refused:
        RunDirectory(tmp_path / "run", keep=3)
    message = str(refused.value)
    assert "metrics.jsonl" in message and "\n" not in message and len(message) < 400


@pytest.mark.parametrize("bad", DEEP)
def test_a_bad_line_after_the_counted_records_is_dropped(tmp_path, bad):
    write(tmp_path / "run", [json.dumps(record) for record in GOOD] + [DEEP[bad]])
    directory = RunDirectory(tmp_path / "run", keep=3)
    directory.close()
    assert directory.records == GOOD
    assert (tmp_path / "run" / "metrics.jsonl").read_text().splitlines() == [json.dumps(r) for r in GOOD]


@pytest.mark.parametrize("keep", [None, 0, 3])
def test_a_named_pipe_for_metrics_is_refused_without_blocking(tmp_path, keep):
    folder = tmp_path / "run"
    folder.mkdir()
    os.mkfifo(folder / "metrics.jsonl")
    error = without_blocking(lambda: RunDirectory(folder, keep=keep), folder / "metrics.jsonl")
    assert isinstance(error, GraphnnError) and "named pipe" in str(error), repr(error)
