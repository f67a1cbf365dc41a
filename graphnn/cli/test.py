"""``graphnn test BUNDLE.gnn``: evaluate a saved network on its model's test set."""

import click


@click.command("test")
@click.argument("bundle_path", metavar="BUNDLE", type=click.Path(dir_okay=False))
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder holding the dataset files.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Test batch size (default: the model's).")
def command(bundle_path, data_dir, batch_size):
    """Evaluate BUNDLE (a .gnn file written by `graphnn run`) on its model's test set.

    A relative data path in the bundle's model is taken from the bundle's folder (`graphnn run` writes it so).
    """
    from graphnn.datasets.split import load_data
    from graphnn.errors import GraphnnError
    from graphnn.io.bundle import load_bundle
    from graphnn.model.schema import TEST, with_defaults
    from graphnn.train.evaluate import evaluate
    from graphnn.train.feeding import check_fields

    bundle = load_bundle(bundle_path)
    test = bundle.model.test
    if not test:
        raise GraphnnError("the model has no 'test' section to say which data to test on", file=bundle_path,
                           path="/model/test")
    split = load_data(bundle.model, "test", data_dir=data_dir, document_path="/model")
    check_fields(bundle.model.plan, split)
    metrics = evaluate(bundle.network(), split, batch_size or with_defaults(test, TEST)["batch_size"])
    click.echo(f"{bundle.model.name}: test accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f} "
               f"on {metrics['samples']} samples")
