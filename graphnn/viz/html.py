"""The visualiser's HTML page: one self-contained file (inline SVG, CSS, script and data; a Content
Security Policy forbids every network request), readable offline and safe to open from anywhere.

The page shows the graph, the model's errors, a search box, and a panel that opens on a node's click
with all its parameters, shapes and weight statistics (a model with blocks is drawn one scope at a time:
its top level with each block instance and chain as one box, whose "+" opens the group's own drawing,
with a trail back); for a run directory, the training curves
(drawn by graphnn.viz.plot) and the run's summary; for a bundle, its metadata. Everything read from the
model reaches the page either escaped or as JSON that the script puts in the DOM as text.
"""

import json
import math
from html import escape
from importlib import resources

from graphnn.viz.plot import line_chart_svg
from graphnn.viz.svg import graph_svg
from graphnn.viz.view import shape_text

CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:"
CURVES = (("loss", "loss"), ("accuracy", "accuracy"), ("lr", "learning rate"))


def page_data(view):
    """What the page's script needs about each node, keyed by node id."""
    nodes = {}
    for node in view.nodes:
        nodes[node.id] = {
            "name": node.name, "op": node.op, "index": node.index,
            "inputs": [{"name": name, "shape": shape_text(shape)}
                       for name, shape in zip(node.inputs, node.in_shapes or [None] * len(node.inputs))],
            "output": shape_text(node.out_shape), "written": list(node.written),
            "params": {**{key: node.params[key] for key in node.written if key in node.params}, **node.params},
            "parameters": node.parameters, "flops": node.flops, "errors": node.errors,
            "weights": node.weights, "state": node.state, "group": node.group,
        }
    groups = {group.id: {"path": group.path, "block": group.block, "kind": group.kind, "count": group.count,
                         "parent": group.parent} for group in view.groups.values()}
    return {"name": view.name, "kind": view.kind, "nodes": nodes, "groups": groups}


def scopes_html(view):
    """The drawing of each scope, the top level shown and every group's hidden (one for a model without blocks)."""
    parts = [f'<div class="scope" data-scope="">\n{graph_svg(view)}</div>']
    parts += [f'<div class="scope" data-scope="{group}" hidden>\n{graph_svg(view, scope=group)}</div>'
              for group in view.groups]
    return "\n".join(parts)


def _asset(name):
    return resources.files("graphnn.viz").joinpath(name).read_text(encoding="utf-8")


def _script_json(value):
    """JSON safe inside a <script> element (no "</script>", no "<!--")."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _flatten(mapping, prefix=""):
    """Nested dicts as ("a.b", value) rows."""
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _shown(key, value):
    """A fact as the page shows it, rounded for reading as the command line's summaries are
    (graphnn/model/summary.py): counts whole with thousands separated, seconds to three significant digits,
    other numbers to four; the run folder's JSON keeps every digit."""
    from graphnn.model.summary import count, seconds

    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, int):
        return count(value)
    if not math.isfinite(value):
        return json.dumps(value)
    return seconds(value) if key.rsplit(".", 1)[-1] in ("seconds", "elapsed") else f"{value:.4g}"


def _table(mapping, element_id):
    rows = "".join(f"<tr><th>{escape(key)}</th><td>{escape(_shown(key, value))}</td></tr>"
                   for key, value in _flatten(mapping))
    return f'<table id="{element_id}" class="facts">{rows}</table>'


def _errors_section(view):
    if not view.errors:
        return ""
    count = len(view.errors)
    items = "".join(f"<li>{escape(error)}</li>" for error in view.errors)
    return (f'<section id="errors" class="errors"><h2>{count} error{"s" if count > 1 else ""} '
            f'(as <code>graphnn check</code> reports them)</h2><ul>{items}</ul></section>')


def _curves_section(view):
    charts = []
    for metric, title in CURVES:
        series = {f"{phase} {metric}": points
                  for phase, points in sorted(view.curves.get(metric, {}).items(), reverse=True)}
        markers = (f"test {metric}",)  # the tests: measured points, marked
        if series:
            charts.append(f'<figure class="chart" data-metric="{metric}">'
                          f'{line_chart_svg(series, f"{view.name}: {title}", "iteration", title, markers=markers)}'
                          '</figure>')
    parts = []
    if charts:
        parts.append(f'<div class="charts">{"".join(charts)}</div>')
    if view.summary:
        parts.append("<h3>summary.json</h3>" + _table(view.summary, "summary"))
    if not parts:
        return ""
    return f'<section id="curves"><h2>Training</h2>{"".join(parts)}</section>'


def html_page(view):
    """The whole page as text."""
    errors = len(view.errors)
    summary = f"{len(view.nodes)} nodes · {view.total_parameters:,} parameters"
    test = view.summary.get("test") if isinstance(view.summary, dict) else None
    if isinstance(test, dict) and isinstance(test.get("accuracy"), (int, float)):
        summary += f" · test accuracy {test['accuracy']:.4f}"
    if errors:
        summary += f" · {errors} error{'s' if errors > 1 else ''}"
    metadata = (f'<section id="metadata"><h2>Bundle metadata</h2>{_table(view.metadata, "metadata-table")}'
                f"</section>") if view.metadata else ""
    notes = ("<section id=\"notes\"><h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in view.notes)
             + "</ul></section>") if view.notes else ""
    description = (f'<p class="description" title="{escape(view.description)}">{escape(view.description)}</p>'
                   if view.description else "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(view.name)} · graphnn</title>
<style>{_asset("page.css")}</style>
</head>
<body>
<header>
<div class="heading"><h1>{escape(view.name)}</h1><span class="kind">{escape(view.kind)}</span>
<span class="source">{escape(view.source)}</span><span class="summary" id="summary">{escape(summary)}</span></div>
{description}
<div class="tools">
<input id="search" type="search" placeholder="Find a node by name" autocomplete="off" aria-label="Find a node by name">
<span id="search-count" aria-live="polite"></span>
<button id="zoom-out" type="button" title="Zoom out">−</button><button id="zoom-reset" type="button"
title="Actual size">1:1</button><button id="zoom-fit" type="button" title="Fit to window">fit</button><button
id="zoom-in" type="button" title="Zoom in">+</button>
</div>
</header>
{_errors_section(view)}
<main>
<div id="graph" class="graph-pane">
<nav id="trail" class="trail" hidden></nav>
{scopes_html(view)}</div>
<aside id="panel" hidden></aside>
</main>
{_curves_section(view)}
{metadata}
{notes}
<script type="application/json" id="graphnn-data">{_script_json(page_data(view))}</script>
<script>{_asset("page.js")}</script>
</body>
</html>
"""
