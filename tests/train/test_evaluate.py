"""Evaluation in pieces: a test batch runs in pieces of at least PIECE_ROWS samples up to what the losses
and metrics read, which then run once on the whole batch; the reported numbers are a single pass's."""

from pathlib import Path

import pytest

import graphnn.train.evaluate as evaluation
from graphnn.datasets import load_split
from graphnn.executor import Network
from graphnn.model import load_model

MODELS = Path(__file__).parent.parent.parent / "models"


def test_pieces_are_equal_and_at_least_the_minimum():
    assert [list(evaluation._spans(0, n, 2500)) for n in (10, 4999, 5000)] == [
        [(0, 10)], [(0, 4999)], [(0, 2500), (2500, 5000)]]
    assert list(evaluation._spans(100, 10100, 2500)) == [(100 + 2500 * k, 2600 + 2500 * k) for k in range(4)]
    assert list(evaluation._spans(0, 9999, 4000)) == [(0, 4999), (4999, 9999)]


@pytest.mark.parametrize("name, batch", [("mlp784.json", 10000), ("branchy.json", 6000)])
def test_mnist_test_set_in_pieces_reports_the_single_pass_numbers(name, batch, mnist_dir, monkeypatch):
    model = load_model(MODELS / name)
    network = Network.initialise(model, seed=3)
    split = load_split({"dataset": "mnist"}, "test", data_dir=mnist_dir).head(batch)
    assert evaluation.piece_rows(model.plan, network.dtype) < batch // 2  # it does run in pieces
    in_pieces = evaluation.evaluate(network, split, batch)
    monkeypatch.setattr(evaluation, "PIECE_ROWS", batch)
    assert evaluation.evaluate(network, split, batch) == in_pieces
