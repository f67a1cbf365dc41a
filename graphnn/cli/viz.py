"""``graphnn viz SOURCE -o OUT``: draw a model file, bundle or run directory as HTML, SVG or DOT."""

from pathlib import Path

import click

from graphnn.cli.options import force_option, refuse_existing, zoo_source


@click.command("viz")
@click.argument("source", metavar="MODEL.json|BUNDLE.gnn|RUN_DIR", type=click.Path(), callback=zoo_source)
@click.option("-o", "--output", "--out", "output", type=click.Path(dir_okay=False),
              help="Where to write: .html (the interactive page), .svg or .dot. Default: SOURCE's name + .html, here.")
@click.option("--flat", is_flag=True, help="Draw every node of a model with blocks (instances not collapsed).")
@click.option("--diff", "against", type=click.Path(exists=True), metavar="B",
              help="Mark what B (a model file, bundle or run folder) changes: added, removed, changed, weights.")
@force_option
def command(source, output, flat, against, force):
    """Draw a model file (.json), a trained bundle (.gnn) or a run directory written by `graphnn run`.

    The HTML page is one self-contained file: the graph with shapes on its edges, a panel for each
    node (parameters, shapes, weight statistics and histograms), search, and for a run directory the
    training curves. An invalid model is still drawn, with its errors marked and listed. A model with
    blocks is drawn with each block instance and repeated chain as one box that opens its own drawing.
    """
    from graphnn.io.atomic import write_output
    from graphnn.viz import FORMATS, format_of, load_view, render

    output = Path(output) if output else Path(f"{Path(source).resolve().stem}.html")
    fmt = format_of(output)
    if fmt is None:
        raise click.UsageError(f"cannot tell the format of {output}: end its name with one of {', '.join(FORMATS)}")
    refuse_existing(output, force=force)
    if against:
        from graphnn.viz.diffview import diff_view

        view, _ = diff_view(source, against)
    else:
        view = load_view(source, flat=flat)
    write_output(output, render(view, fmt))  # atomic: a full disk leaves the old file, exit 1
    message = f"wrote {output}: {len(view.nodes)} nodes, {view.total_parameters:,} parameters"
    if view.errors:
        count = len(view.errors)
        message += f"; the model has {count} error{'s' if count > 1 else ''}, marked on the drawing"
    click.echo(message)
    for note in view.notes:
        click.echo(f"note: {note}", err=True)
