"""``graphnn diff A B``: what differs between two model files, bundles or run folders (graphnn/diff.py).
Exit 0 when they are the same, 1 when they differ, 2 for bad input, as diff(1)."""

import json

import click

from graphnn.cli.options import zoo_source


def _text(value):
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "))


def _cut(text, limit=60):
    return text if len(text) <= limit else text[:limit - 3] + "..."


def table(header, rows, numeric=()):
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).rjust(w) if i in numeric else str(cell).ljust(w)
                       for i, (cell, w) in enumerate(zip(header, widths))).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in rows:
        lines.append("  ".join(str(cell).rjust(w) if i in numeric else str(cell).ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
    return "\n".join(lines)


def summary_line(difference):
    if difference.same:
        return f"{difference.a} and {difference.b}: the same"
    counts = {}
    for change in difference.changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    moved = sum(1 for change in difference.weights if change.max_abs)
    parts = [f"{counts[kind]} {kind}" for kind in ("added", "removed", "renamed", "changed") if kind in counts]
    if "setting" in counts:
        parts.append(f"{counts['setting']} setting{'s' * (counts['setting'] > 1)} changed")
    if difference.weights:
        parts.append(f"{moved} of {len(difference.weights)} weights changed")
    return f"{difference.a} and {difference.b} differ: " + ", ".join(parts)


@click.command("diff")
@click.argument("a", metavar="A", type=click.Path(), callback=zoo_source)
@click.argument("b", metavar="B", type=click.Path(), callback=zoo_source)
@click.option("--json", "as_json", is_flag=True, help="Print the difference as JSON.")
@click.option("--all-weights", is_flag=True, help="List unchanged weights too.")
@click.pass_context
def command(ctx, a, b, as_json, all_weights):
    """Compare A and B (each a model file, a bundle or a run folder): nodes added, removed and renamed
    (same op and inputs), changed parameters and shapes, changed train/test settings, and for two bundles
    each weight's change (largest absolute change, relative norm ||B - A|| / ||A||).

    Exit 0 when they are the same, 1 when they differ, 2 when one cannot be read.
    """
    from graphnn.diff import diff_sources
    from graphnn.io.sources import load_source

    difference = diff_sources(load_source(a), load_source(b))
    if as_json:
        click.echo(json.dumps(difference.to_json(), indent=1, default=str))
    else:
        click.echo(summary_line(difference))
        if difference.changes:
            rows = [(c.kind, c.node or "-", c.what, _cut(_text(c.a)), _cut(_text(c.b))) for c in difference.changes]
            click.echo(table(("change", "node", "what", "A", "B"), rows))
        shown = [w for w in difference.weights if all_weights or w.max_abs]
        if shown:
            rows = [(w.node, w.name, str(w.shape), f"{w.max_abs:.3g}", f"{w.rel_norm:.3g}") for w in shown]
            click.echo(table(("node", "weight", "shape", "max abs", "rel norm"), rows, numeric=(3, 4)))
    ctx.exit(0 if difference.same else 1)
