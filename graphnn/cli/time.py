"""``graphnn time MODEL.json``: per-node forward and backward time and memory for one batch, like ``caffe time``."""

import click

from graphnn.cli.options import model_argument


@click.command("time")
@model_argument
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size (default: the model's training batch).")
@click.option("--iterations", type=click.IntRange(min=1), default=10, show_default=True,
              help="Timed iterations, after one warm-up iteration.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), help="Floating-point type (default: the model's).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the weights and data.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
def command(model_path, batch_size, iterations, dtype, seed, as_json):
    """Time MODEL (a .json model file) node by node on one batch of random data.

    Each iteration feeds the batch (uint8 samples converted to floats), runs forward in training mode,
    backward, and the model's solver update at learning rate 0. Prints each node's average forward and
    backward milliseconds and the bytes of its output, backward cache and weight gradients, then totals.
    """
    import json

    from graphnn.model import load_model
    from graphnn.timing import format_report, time_model

    model = load_model(model_path)
    report = time_model(model, batch_size=batch_size, iterations=iterations, seed=seed, dtype=dtype)
    click.echo(json.dumps(report.as_dict(), indent=1) if as_json else format_report(report))
