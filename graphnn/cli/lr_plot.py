"""``graphnn lr-plot MODEL``: the learning rate over the whole run, from the train section, as SVG."""

from pathlib import Path

import click

from graphnn.cli.options import zoo_source


@click.command("lr-plot")
@click.argument("source", metavar="MODEL.json|BUNDLE.gnn|RUN_DIR", type=click.Path(), callback=zoo_source)
@click.option("-o", "--out", "output", type=click.Path(dir_okay=False),
              help="The SVG to write. Default: the model's name + .lr.svg, here.")
@click.option("--force", is_flag=True, help="Replace the output if it exists.")
@click.option("--iterations", type=click.IntRange(min=1), help="Plot this many iterations (overrides the file).")
@click.option("--epochs", type=click.FloatRange(min=0, min_open=True),
              help="Plot this many passes over the training data (reads the dataset for its size).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Training batch size (for --epochs).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), help="Base learning rate.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder holding the dataset files.")
def command(source, output, force, iterations, epochs, batch_size, lr, data_dir):
    """Draw the learning rate the train section's policy gives at every iteration of the run (any
    policy, Caffe's formulas: graphnn/train/lr_policies.py), and print a few values.

    A train section given in epochs needs the training set's size: the dataset is read for it.
    """
    from graphnn.errors import GraphnnError, InputError, TrainingError
    from graphnn.io.atomic import write_output
    from graphnn.io.sources import load_source
    from graphnn.train.lr_policies import checked_learning_rate, schedule
    from graphnn.train.settings import resolve_settings
    from graphnn.viz.plot import line_chart_svg

    if iterations and epochs:
        raise click.UsageError("give --iterations or --epochs, not both")
    model = load_source(source).model
    train = model.train or {}
    overrides = {"iterations": iterations, "epochs": epochs, "batch_size": batch_size, "lr": lr}
    size = None
    if epochs or (not iterations and "epochs" in train):
        from graphnn.datasets.split import load_data

        size = len(load_data(model, "train", data_dir))
    settings = resolve_settings(model, overrides, train_size=size)
    output = Path(output) if output else Path(f"{model.name}.lr.svg")
    if output.exists() and not force:
        raise GraphnnError("the file exists; give --force to replace it", file=str(output))
    try:
        points = schedule(settings)
    except TrainingError as error:  # the settings give no learning rate there: the input's to fix (exit 2)
        raise InputError(error.message, file=model.file, path=error.path) from None
    policy = settings.lr["policy"]
    svg = line_chart_svg({f"lr ({policy})": points}, f"{model.name}: learning rate, {policy} policy",
                         "iteration", "learning rate")
    write_output(output, svg)  # atomic: a full disk leaves the old file, exit 1
    rates = [rate for _, rate in points]
    click.echo(f"{model.name}: {policy} policy over {settings.iterations:,} iterations, lr from "
               f"{max(rates):.4g} to {min(rates):.4g}; wrote {output}")
    last = settings.iterations - 1
    shown = sorted({0, *(round(last * f) for f in (0.1, 0.25, 0.5, 0.75, 0.9)), last})
    by_iteration = dict(points)
    for it in shown:
        rate = by_iteration[it] if it in by_iteration else checked_learning_rate(settings, it)
        click.echo(f"  iteration {it:>{len(f'{last:,}')},}: {rate:.4g}")  # as the first line rounds them
