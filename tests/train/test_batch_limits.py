"""A batch size is checked against MAX_BATCH_BYTES before any batch is allocated (issue 14, class 6):
``--batch-size 10000000`` allocated 7.3 GiB, then died of a MemoryError traceback.

Variants: for every model in models/ and both dtypes, the largest batch that fits passes and one more
sample is refused (graphnn/model/limits.check_batch_size); then the places that take a batch size — the
model file, ``run --batch-size``, ``time --batch-size``, and evaluation (whose batch is at most the test
set) — each refuse it in one line naming where it came from and the sizes.
"""

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from graphnn.cli import main
from graphnn.errors import LimitError
from graphnn.model import load_model
from graphnn.model.limits import MAX_BATCH_BYTES, check_batch_size
from graphnn.timing import time_model
from tests.helpers import ROOT, model_document, write_data

MODELS = sorted((ROOT / "models").glob("*.json"))


def values_per_sample(model):
    return sum(math.prod(step.out_shape) for step in model.plan.steps)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("path", MODELS, ids=lambda path: path.name)
def test_the_largest_batch_that_fits_passes_and_one_more_sample_is_refused(path, dtype):
    model = load_model(path)
    itemsize = 4 if dtype == "float32" else 8
    largest = MAX_BATCH_BYTES // (values_per_sample(model) * itemsize)
    check_batch_size(largest, model.plan, dtype, "--batch-size")
    with pytest.raises(LimitError) as refused:
        check_batch_size(largest + 1, model.plan, dtype, "--batch-size", file="m.json")
    message = str(refused.value)
    assert message.startswith(f"m.json: --batch-size {largest + 1:,}: one batch needs ")
    assert f"the limit is {MAX_BATCH_BYTES:,}" in message and f"{values_per_sample(model):,} values" in message


def one_line(result):
    lines = result.output.strip().splitlines()
    assert result.exit_code in (1, 2) and len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


@pytest.fixture
def small_model(tmp_path):
    data = write_data(tmp_path)
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(model_document(data)))
    return path


def test_run_refuses_a_huge_batch_size_option(small_model, tmp_path):
    line = one_line(CliRunner().invoke(main, ["run", str(small_model), "--batch-size", "10000000000",
                                              "--out", str(tmp_path / "run")]))
    assert "--batch-size 10,000,000,000: one batch needs" in line and "the limit is" in line
    assert not (tmp_path / "run" / "model.gnn").exists()


def test_run_refuses_a_huge_batch_size_in_the_model_file(small_model, tmp_path):
    document = json.loads(small_model.read_text())
    document["train"]["batch_size"] = 10**10
    small_model.write_text(json.dumps(document))
    line = one_line(CliRunner().invoke(main, ["run", str(small_model), "--out", str(tmp_path / "run")]))
    assert f"{small_model}: at /train/batch_size: batch_size 10,000,000,000: one batch needs" in line


def test_time_refuses_a_huge_batch_size(small_model):
    line = one_line(CliRunner().invoke(main, ["time", str(small_model), "--batch-size", "10000000000"]))
    assert "--batch-size 10,000,000,000" in line
    with pytest.raises(LimitError):
        time_model(load_model(Path(small_model)), batch_size=10**10)


def test_a_test_batch_larger_than_the_test_set_is_only_the_test_set(small_model, tmp_path):
    from graphnn.datasets.split import load_data
    from graphnn.executor import Network
    from graphnn.train.evaluate import evaluate

    model = load_model(small_model)
    split = load_data(model, "test")
    metrics = evaluate(Network.initialise(model, seed=0), split, 10**12)  # capped at len(split): fits
    assert metrics["samples"] == len(split.y)
