"""``graphnn check MODEL.json``: validate a model and print its summary table, or every error."""

import click

from graphnn.cli.options import model_argument
from graphnn.model.summary import format_table, summary_table


@click.command("check")
@model_argument
def command(model_path):
    """Validate MODEL (a .json model file) and print its nodes, shapes, parameters and FLOPs.

    Exit 0 when valid; otherwise every error found, one per line, and exit 2. A data path that names no
    file or folder is one (relative paths are taken from the model file's folder, as `graphnn run` does).
    """
    from graphnn.datasets.split import SECTIONS, missing_path
    from graphnn.errors import ModelInvalid
    from graphnn.model import load_model

    def fail(errors):
        for error in errors:
            click.echo(f"error: {error}", err=True)
        raise SystemExit(2)

    try:
        model = load_model(model_path)
    except ModelInvalid as invalid:
        fail(invalid.errors)
    missing = [error for error in (missing_path(model, section) for section in SECTIONS) if error is not None]
    if missing:
        fail(missing)
    click.echo(f"{model.name}: valid ({model_path})")
    click.echo(format_table(summary_table(model)))
