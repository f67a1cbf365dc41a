"""A run's settings: the model file's ``train`` and ``test`` sections with overrides applied, and every key
the file leaves out taken from its default in the model file's schema (graphnn/model/schema.py), the one
home of those defaults.

    settings = resolve_settings(model, {"iterations": 100})          # the model's sections, 100 iterations
    settings = resolve_settings(model, {"epochs": 2}, train_size=60000)

Overrides (None values are ignored): ``iterations``, ``epochs``, ``batch_size``, ``lr`` (the base rate),
``seed``, ``dtype``, ``test_interval``, ``snapshot_interval`` and ``data_dir`` (where named datasets are
looked for first).
"""

import dataclasses
import json
import math
from dataclasses import dataclass

from graphnn.errors import GraphnnError, SchemaError
from graphnn.model.jsontext import pointer
from graphnn.model.limits import check_batch_size
from graphnn.model.schema import LEARNING_RATE, SOLVER, TEST, TRAIN, with_defaults
from graphnn.model.validate import Validator, describe

UNCOMPARED = ("data_dir", "snapshot_interval")  # settings a resumed run may change: they change no number
_LEFT_TO_THE_MODEL = ("train_data", "test_data")  # in records written before: the model's data sections
_RECORDED = ("iterations", "batch_size", "seed", "dtype", "test_interval")  # overridable, kept in the record


@dataclass
class Settings:
    """Everything a run needs, complete: the solver and lr sections carry every default."""

    iterations: int
    batch_size: int
    seed: int
    dtype: str
    solver: dict
    lr: dict
    test_batch_size: int
    test_iterations: int  # batches per test of the test section's set; None: all of its split
    test_sets: list  # the test section's further sets ("also"): [{"name", "batch_size", "iterations"}], data left out
    test_interval: int  # 0: test only after the last iteration
    test_initialization: bool  # test before the first iteration too
    shuffle: bool  # a new order of the training samples every epoch; False: their stored order
    display_interval: int
    average_loss: int  # the displayed loss is the mean of the last this many iterations'; None: of the interval
    data_dir: str  # None: named datasets are looked for in the usual places (graphnn/datasets/lookup.py)
    snapshot_interval: int  # 0: snapshots only after the last iteration and on a stop signal

    @property
    def samples_per_iteration(self):
        """Samples one update learns from: ``iter_size`` passes of ``batch_size``."""
        return self.batch_size * self.solver["iter_size"]


def check_trainable(model):
    """GraphnnError, located, unless the model has a train section and a loss to minimise."""
    if not model.train:
        raise GraphnnError("the model has no 'train' section", file=model.file, path="/train")
    if not model.plan.losses:
        raise GraphnnError("the model has no loss node to minimise", file=model.file, path="/nodes")


def resolve_settings(model, overrides, train_size=None):
    """Settings from ``model.train``/``model.test`` and ``overrides``.

    ``epochs`` becomes ``ceil(epochs * train_size / (batch_size * iter_size))`` iterations.
    """
    overrides = {key: value for key, value in overrides.items() if value is not None}
    check_trainable(model)
    train = with_defaults(model.train, TRAIN)
    batch_size = overrides.get("batch_size", train["batch_size"])
    solver = with_defaults(train["solver"], SOLVER)
    epochs = overrides.get("epochs", None if "iterations" in overrides else train.get("epochs"))
    if epochs is not None:
        iterations = epochs * train_size / (batch_size * solver["iter_size"])
        if not math.isfinite(iterations):
            raise GraphnnError(f"{epochs} epochs of {train_size} samples is too many iterations", file=model.file,
                               path="/train/epochs")
        iterations = math.ceil(iterations)
    else:
        iterations = overrides.get("iterations", train.get("iterations"))
    lr = dict(train["lr"])
    if "lr" in overrides:
        lr["base_lr"] = overrides["lr"]
    chosen = {key: overrides.get(key, train[key]) for key in ("seed", "dtype", "test_interval", "snapshot_interval")}
    if "batch_size" in overrides:  # refused before a batch is allocated (graphnn/model/limits.py)
        check_batch_size(batch_size, model.plan, chosen["dtype"], "--batch-size")
    else:
        check_batch_size(batch_size, model.plan, chosen["dtype"], "batch_size", file=model.file, path="/train/batch_size")
    test = with_defaults(model.test or {}, TEST)
    test_sets = [{key: with_defaults(entry, TEST["properties"]["also"]["items"]).get(key)
                  for key in ("name", "batch_size", "iterations")} for entry in test.get("also", ())]
    return Settings(
        iterations=iterations, batch_size=batch_size, solver=solver, lr=with_defaults(lr, LEARNING_RATE),
        test_batch_size=test["batch_size"], test_iterations=test.get("iterations"), test_sets=test_sets,
        test_initialization=train["test_initialization"], shuffle=train["shuffle"],
        display_interval=train["display_interval"],
        average_loss=train.get("average_loss"), data_dir=overrides.get("data_dir"), **chosen)


def settings_record(settings):
    """The settings a snapshot keeps and a resumed run must match, as plain JSON data."""
    record = {key: value for key, value in dataclasses.asdict(settings).items() if key not in UNCOMPARED}
    return json.loads(json.dumps(record))


def complete_record(record):
    """A settings record as this version writes it, from one written before the solver and lr sections
    carried their defaults (they get them), before the data sections were left to the model, which
    holds them (they go), and before the settings it ``added`` (they get what such a run did), so
    that old snapshots resume."""
    record = {key: value for key, value in record.items() if key not in _LEFT_TO_THE_MODEL}
    added = {"test_initialization": TRAIN["properties"]["test_initialization"]["default"], "average_loss": None,
             "shuffle": TRAIN["properties"]["shuffle"]["default"],
             "test_iterations": None, "test_sets": []}  # what a run did before these settings existed
    record = {**added, **record}
    for key, schema in (("solver", SOLVER), ("lr", LEARNING_RATE)):
        if isinstance(record.get(key), dict):
            record[key] = with_defaults(record[key], schema)
    return record


def recorded_overrides(record):
    """Overrides that give a recorded run's settings back from its own model (to resume without the model
    file): the record's value of every setting an override can change. SchemaError, located in the record,
    for a value that no override could have given."""
    properties = {key: TRAIN["properties"][key] for key in _RECORDED}
    properties["lr"] = {"type": "object", "required": ["base_lr"],
                        "properties": {"base_lr": LEARNING_RATE["properties"]["base_lr"]}}
    schema = {"type": "object", "required": list(properties), "properties": properties}
    error = next(iter(Validator(schema).iter_errors(record)), None)
    if error is not None:
        raise SchemaError(describe(error), path=pointer(list(error.absolute_path)))
    return {**{key: record[key] for key in _RECORDED}, "lr": record["lr"]["base_lr"]}
