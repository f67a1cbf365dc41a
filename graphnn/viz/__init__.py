"""The model visualiser: a model file, bundle or run directory drawn as an HTML page, SVG or DOT.

    from graphnn.viz import load_view, render
    view = load_view("runs/mlp784")          # or "models/mlp784.json", "model.gnn"
    open("mlp784.html", "w").write(render(view, "html"))

``graphnn viz SOURCE -o OUT`` (graphnn/cli/viz.py) and ``python -m graphnn viz SOURCE -o OUT`` do the same from the shell.
Modules: view (what is drawn, read from the source), layout (where: a layered DAG layout), svg, dot
and html (how).
"""

from pathlib import Path

from graphnn.viz.view import View, load_view

FORMATS = {".html": "html", ".htm": "html", ".svg": "svg", ".dot": "dot", ".gv": "dot"}


def render(view, fmt):
    """The view as text in ``fmt``: "html", "svg" or "dot"."""
    if fmt == "html":
        from graphnn.viz.html import html_page

        return html_page(view)
    if fmt == "svg":
        from graphnn.viz.svg import graph_svg

        return graph_svg(view, standalone=True)
    if fmt == "dot":
        from graphnn.viz.dot import dot_text

        return dot_text(view)
    raise ValueError(f"unknown format {fmt!r}; expected one of html, svg, dot")


def format_of(path):
    """The output format named by a file's suffix, or None."""
    return FORMATS.get(Path(path).suffix.lower())


__all__ = ["FORMATS", "View", "format_of", "load_view", "render"]
