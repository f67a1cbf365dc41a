"""``graphnn check MODEL.json``: validate a model and print its summary table, or every error."""

import click

from graphnn.cli.options import model_argument
from graphnn.model.summary import block_table, format_table, summary_table


@click.command("check")
@model_argument
@click.option("--nodes", "every_node", is_flag=True,
              help="A model with blocks: list every node, not a row per block instance and chain.")
def command(model_path, every_node):
    """Validate MODEL (a .json model file) and print its nodes, shapes, parameters and FLOPs.

    A model with blocks is summed up by block: a row per block instance and repeated chain ("bottleneck ×4"),
    then a row per block (instances, nodes, parameters); --nodes lists every node.

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
    click.echo(format_table(summary_table(model, expand=every_node)))
    if model.expansion.has_blocks:
        click.echo("")
        click.echo(format_table(block_table(model), numeric=(1, 2, 3, 4), total=False))
