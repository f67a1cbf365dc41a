"""Setting up a run: settings from the model and overrides, datasets loaded, a Trainer ready."""

from graphnn.train import Trainer, resolve_settings


def load_splits(model, data_dir):
    """(train split, test split or None) for the model's data sections."""
    from graphnn.datasets import load_split

    train_spec = model.train["data"]
    train = load_split(train_spec, train_spec.get("split", "train"), data_dir=data_dir)
    test = None
    if model.test:
        test_spec = model.test["data"]
        test = load_split(test_spec, test_spec.get("split", "test"), data_dir=data_dir)
    return train, test


def prepare_run(model, overrides):
    """A Trainer for ``model`` with command-line ``overrides`` applied."""
    train, test = load_splits(model, overrides.get("data_dir"))
    settings = resolve_settings(model, overrides, train_size=len(train.y))
    return Trainer(model, settings, train, test)
