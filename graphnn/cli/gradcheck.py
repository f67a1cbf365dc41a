"""``graphnn gradcheck MODEL``: numerical against analytic gradients of every weight and every node's
input, in float64 (graphnn/gradcheck.py does the work)."""

import click

from graphnn.cli.options import zoo_source


def format_rows(rows):
    """The table: one line per checked array, grouped by node, the worst relative error last."""
    header = ("node", "op", "array", "check", "entries", "kinks", "worst")
    cells = [header] + [(r.node, r.op, r.array, r.check, str(r.entries), str(r.kinks), f"{r.worst:.2e}")
                         for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for index, row in enumerate(cells):
        lines.append("  ".join(cell.rjust(w) if i >= 4 else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def data_feeds(model, section, count, data_dir):
    """The first ``count`` samples of the model's ``section`` data, as feeds for a float64 network."""
    from graphnn.datasets.split import load_data
    from graphnn.errors import GraphnnError
    from graphnn.train.feeding import check_fields, feeds

    if not (model.document.get(section) or {}).get("data"):
        raise GraphnnError(f"the model has no '{section}' data section to take a batch from; leave out --data "
                           "for a random batch", file=model.file, path=f"/{section}")
    split = load_data(model, section, data_dir).head(count)
    check_fields(model.plan, split)
    return feeds(model.plan, {"x": split.x, "y": split.y}, "float64")


@click.command("gradcheck")
@click.argument("source", metavar="MODEL.json|BUNDLE.gnn|RUN_DIR", type=click.Path(), callback=zoo_source)
@click.option("--samples", type=click.IntRange(min=1), default=8, show_default=True,
              help="Entries checked per array, drawn from the seed (all of a smaller array).")
@click.option("--batch", type=click.IntRange(min=1, max=64), default=2, show_default=True, help="Samples in the batch.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the batch, the entries drawn and a model file's weights.")
@click.option("--tolerance", type=click.FloatRange(min=0, min_open=True), default=1e-4, show_default=True,
              help="The largest relative error accepted.")
@click.option("--data", type=click.Choice(["random", "train", "test"]), default="random", show_default=True,
              help="The batch: random values, or the first samples of the model's train or test data.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder holding the dataset files.")
@click.option("--node", "nodes", multiple=True, metavar="NODE", help="Check only this node (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.pass_context
def command(ctx, source, samples, batch, seed, tolerance, data, data_dir, nodes, as_json):
    """Check backward against central differences on one batch, in float64.

    Each node is checked on its own (`local`: its input and weight gradients where the forward pass put
    it) and each weight against the whole objective (`objective`). Kinks (relu at 0, max ties) are
    skipped and counted. Exit 0 when every relative error is within --tolerance, 1 when one is not,
    2 for bad input.
    """
    import json

    import numpy as np

    from graphnn.errors import GraphnnError
    from graphnn.gradcheck import check_network
    from graphnn.io.sources import load_source

    loaded = load_source(source)
    plan = loaded.model.plan
    unknown = [name for name in nodes if name not in plan.by_name]
    if unknown:
        raise click.BadParameter(f"no node named {unknown[0]!r}", param_hint="--node")
    network = loaded.network(seed=seed, dtype="float64")
    feeds = None if data == "random" else data_feeds(loaded.model, data, batch, data_dir)
    if not plan.losses and not any(not step.op.is_input for step in plan.steps):
        raise GraphnnError("the model has no node to check", file=loaded.path)
    with np.errstate(all="ignore"):
        rows = check_network(network, feeds, samples=samples, seed=seed, batch=batch, nodes=nodes or None)
    failed = [row for row in rows if not row.worst <= tolerance]
    if as_json:
        click.echo(json.dumps({"tolerance": tolerance, "passed": not failed,
                               "rows": [row.__dict__ for row in rows]}, indent=1))
    else:
        worst = max(rows, key=lambda row: row.worst, default=None)
        checked = sum(row.entries for row in rows)
        head = f"{loaded.model.name}: {len(rows)} arrays, {checked:,} entries checked"
        if worst is not None:
            head += f"; worst relative error {worst.worst:.2e} ({worst.node} {worst.array}, {worst.check})"
        click.echo(head)
        click.echo(format_rows(rows))
    if failed:
        names = ", ".join(f"{row.node} {row.array} ({row.check}) {row.worst:.2e}" for row in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        click.echo(f"error: {len(failed)} array{'s' if len(failed) > 1 else ''} exceed the tolerance "
                   f"{tolerance:g}: {names}{more}", err=True)
        ctx.exit(1)
