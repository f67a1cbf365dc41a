"""Resolving a run's settings from the model file's train section and the overrides: every default comes
from the schema, overrides win, and values that cannot be run are refused, naming the JSON path."""

import numpy as np
import pytest

from graphnn.errors import GraphnnError
from graphnn.model import model_from_dict
from graphnn.model.schema import LEARNING_RATE, SOLVER, TEST, TRAIN
from graphnn.train.settings import resolve_settings
from tests.helpers import make_trainer, model_document, write_data


def test_epochs_that_overflow_are_refused(tmp_path):
    with pytest.raises(GraphnnError) as raised:
        make_trainer(tmp_path, overrides={"epochs": 1e308})
    assert raised.value.path == "/train/epochs"


def minimal_document(data_path):
    """A model whose train and test sections give only what they must."""
    document = model_document(data_path)
    document["train"] = {"data": {"path": str(data_path)}, "batch_size": 4, "iterations": 3,
                         "solver": {"type": "adam"}, "lr": {"policy": "cosine", "base_lr": 0.1}}
    document["test"] = {"data": {"path": str(data_path)}}
    return document


def test_every_setting_a_file_leaves_out_is_the_schema_default(tmp_path):
    settings = resolve_settings(model_from_dict(minimal_document(write_data(tmp_path))), {})
    train, test = TRAIN["properties"], TEST["properties"]
    for key in ("seed", "dtype", "test_interval", "display_interval", "snapshot_interval"):
        assert getattr(settings, key) == train[key]["default"], key
    assert settings.test_batch_size == test["batch_size"]["default"]
    assert settings.solver == {"type": "adam", **{key: entry["default"] for key, entry in
                                                 SOLVER["properties"].items() if "default" in entry}}
    assert settings.lr["min_lr"] == LEARNING_RATE["properties"]["min_lr"]["default"]


def test_defaults_are_read_from_the_schema(tmp_path, monkeypatch):
    """Change a default in the schema and a run follows it: the code holds no copy."""
    monkeypatch.setitem(TRAIN["properties"]["display_interval"], "default", 3)
    monkeypatch.setitem(SOLVER["properties"]["beta1"], "default", 0.5)
    monkeypatch.setitem(TEST["properties"]["batch_size"], "default", 7)
    settings = resolve_settings(model_from_dict(minimal_document(write_data(tmp_path))), {})
    assert (settings.display_interval, settings.solver["beta1"], settings.test_batch_size) == (3, 0.5, 7)


def test_overrides_win_over_the_file_and_none_is_no_override(tmp_path):
    model = model_from_dict(minimal_document(write_data(tmp_path)))
    settings = resolve_settings(model, {"iterations": 9, "lr": 0.5, "seed": None, "data_dir": "/d"})
    assert (settings.iterations, settings.lr["base_lr"], settings.seed, settings.data_dir) == (9, 0.5, 0, "/d")
    assert resolve_settings(model, {"epochs": 2}, train_size=10).iterations == 5  # ceil(2 * 10 / 4)


def test_shuffle_false_visits_the_samples_in_their_stored_order_every_epoch(tmp_path):
    """``shuffle`` (default true: a new order every epoch); false reads the split as stored, epoch after
    epoch (Caffe's Data layer), and a batch across the end of an epoch wraps to the start."""
    assert TRAIN["properties"]["shuffle"]["default"] is True
    (tmp_path / "shuffled").mkdir(), (tmp_path / "in-order").mkdir()
    trainer = make_trainer(tmp_path / "shuffled")
    assert trainer.settings.shuffle is True
    first = trainer.batcher.next()["x"]
    assert not np.array_equal(first, trainer.batcher.split.x[:len(first)])
    trainer = make_trainer(tmp_path / "in-order", shuffle=False)
    x, size = trainer.batcher.split.x, trainer.settings.batch_size
    assert trainer.settings.shuffle is False
    epoch = len(x) // size + 1  # batches until one crosses the end of the epoch
    batches = [trainer.batcher.next()["x"] for _ in range(epoch)]
    np.testing.assert_array_equal(np.concatenate(batches)[:len(x)], x)
    np.testing.assert_array_equal(np.concatenate(batches)[len(x):], x[:epoch * size - len(x)])
