"""``graphnn test BUNDLE``: evaluate a saved network on its model's test set, or on the data ``--data`` names."""

import click


def data_spec(text):
    """A data section for ``--data``: DATASET[:SPLIT] (a named dataset; split test by default) or a path
    (a file or folder, its test split)."""
    import difflib
    from pathlib import Path

    from graphnn.datasets import DATASETS
    from graphnn.errors import DataError

    name, _, split = text.partition(":")
    if name in DATASETS:
        if split not in ("", "train", "test"):
            raise DataError(f"no split {split!r} of {name}; its splits are train and test", file=text)
        return {"dataset": name, "split": split or "test"}
    if not Path(text).exists():
        close = difflib.get_close_matches(name, list(DATASETS), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DataError(f"neither a dataset ({', '.join(DATASETS)}) nor a file or folder{hint}", file=text)
    return {"path": text, "split": "test"}


@click.command("test")
@click.argument("bundle_path", metavar="BUNDLE|RUN_DIR", type=click.Path())
@click.option("--data", "data", metavar="DATASET[:SPLIT]|PATH",
              help="Test on this data instead of the model's test section: a named dataset (mnist, mnist:train, "
                   "fashion-mnist) or a .npz/.mat/IDX file or folder.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder holding the dataset files.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Test batch size (default: the model's).")
@click.option("--output", metavar="NODE", help="For a network without a loss: the node whose largest score is "
              "the predicted class (default: its one output).")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def command(bundle_path, data, data_dir, batch_size, output, as_json):
    """Evaluate BUNDLE (a .gnn file written by `graphnn run` or `graphnn import`, or a run folder) on its
    model's test set, or on --data. A network without a loss node (an imported ONNX file) is tested for
    accuracy only: the share of samples whose largest output is the labelled class.

    A relative data path in the bundle's model is taken from the bundle's folder (`graphnn run` writes it so).
    """
    import json

    from graphnn.datasets.split import load_data, load_split
    from graphnn.errors import GraphnnError
    from graphnn.io.sources import load_source
    from graphnn.model.schema import TEST, with_defaults
    from graphnn.predict import accuracy
    from graphnn.train.evaluate import evaluate
    from graphnn.train.feeding import check_fields
    from graphnn.train.progress import test_metrics

    bundle = load_source(bundle_path).require_bundle("test")
    model = bundle.model
    test = model.test or {}
    if data is not None:
        split = load_split(data_spec(data), data_dir=data_dir)
    elif test:
        split = load_data(model, "test", data_dir=data_dir, document_path="/model")
    else:
        raise GraphnnError("the model has no 'test' section to say which data to test on; name the data with "
                           "--data (e.g. --data mnist:test)", file=bundle_path, path="/model/test")
    check_fields(model.plan, split)
    size = batch_size or with_defaults(test, TEST)["batch_size"]
    network = bundle.network()
    if model.plan.losses and output is None:
        metrics = evaluate(network, split, size)
        if as_json:
            return click.echo(json.dumps({"model": model.name, **metrics}, indent=1))
        click.echo(f"{model.name}: test {test_metrics({**metrics, **metrics['metrics']})} "
                   f"on {metrics['samples']:,} samples")
    else:
        metrics = accuracy(network, split, size, output=output)
        if as_json:
            return click.echo(json.dumps({"model": model.name, **metrics}, indent=1))
        click.echo(f"{model.name}: test accuracy {metrics['accuracy']:.4f} on {metrics['samples']:,} samples "
                   f"(the largest score of '{metrics['output']}'{'; no loss node' * (not model.plan.losses)})")
