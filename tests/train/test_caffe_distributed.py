"""iter_size on several ranks (graphnn/train/distributed.py): 2 ranks, each pass's gradients averaged over the
ranks before they are summed, end with the weights of one process with the same global batch and iter_size."""

import pytest

from tests.helpers import write_data
from tests.train.test_distributed import (
    assert_same_weights,
    mpirun,
    needs_mpi,
    plain_model,
    read_records,
    run_one,
)


@needs_mpi
def test_two_ranks_with_iter_size_end_with_the_weights_of_one_process(tmp_path):
    model = plain_model(tmp_path, write_data(tmp_path), dtype="float64", iterations=30, average_loss=4,
                        solver={"type": "adadelta", "momentum": 0.9, "delta": 1e-6, "iter_size": 3},
                        lr={"policy": "fixed", "base_lr": 1.0})
    one, two = run_one(model, "--out", tmp_path / "one"), mpirun(2, model, "--out", tmp_path / "two")
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert_same_weights(tmp_path / "one", tmp_path / "two", rtol=1e-9)
    records_one, records_two = read_records(tmp_path / "one"), read_records(tmp_path / "two")
    assert [r["iteration"] for r in records_one] == [r["iteration"] for r in records_two]
    for a, b in zip(records_one, records_two):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-9)  # the passes' means, over the ranks
