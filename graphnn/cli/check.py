"""``graphnn check MODEL.json``: validate a model and print its summary table, or every error."""

import click

from graphnn.cli.options import model_argument


def summary_table(model):
    """Rows of (node, op, inputs, output shape, parameters, forward FLOPs per sample), and a totals row."""
    plan = model.plan
    rows = [("node", "op", "inputs", "output", "params", "flops")]
    for step in plan.steps:
        rows.append((step.name, step.op.name, ", ".join(step.inputs) or "-", str(step.out_shape),
                     f"{plan.parameter_count(step):,}", f"{plan.flops(step):,}"))
    rows.append(("total", "", f"{len(plan.steps)} nodes", "", f"{plan.parameter_count():,}",
                 f"{sum(plan.flops(step) for step in plan.steps):,}"))
    return rows


def format_table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    numeric = {4, 5}
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if index == 0 or index == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


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
