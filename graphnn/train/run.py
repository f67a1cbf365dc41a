"""Setting up a run: settings from the model and overrides, datasets loaded, a Trainer ready."""

from graphnn.train.loop import Trainer, resolve_settings


def load_splits(model, data_dir, report=None):
    """(train split, test split or None) for the model's data sections; ``report`` hears of downloads."""
    from graphnn.datasets import load_split

    train_spec = model.train["data"]
    train = load_split(train_spec, train_spec.get("split", "train"), data_dir=data_dir, report=report)
    test = None
    if model.test:
        test_spec = model.test["data"]
        test = load_split(test_spec, test_spec.get("split", "test"), data_dir=data_dir, report=report)
    return train, test


def prepare_run(model, overrides, report=None):
    """A Trainer for ``model`` with command-line ``overrides`` applied."""
    train, test = load_splits(model, overrides.get("data_dir"), report)
    settings = resolve_settings(model, overrides, train_size=len(train.y))
    return Trainer(model, settings, train, test)
