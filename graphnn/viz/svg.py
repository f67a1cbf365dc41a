"""The graph as SVG: one box per node (name, op and key parameters, output shape and parameter count),
edges labelled with shapes, nodes with errors outlined in red with a "!" badge.

The same SVG is written alone (``graph_svg(view, standalone=True)`` adds a title and the error list)
and inlined in the HTML page, whose script finds nodes by their ``data-id``.
"""

import json
from html import escape

from graphnn.viz.layout import layered_layout
from graphnn.viz.view import shape_text

FONT = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace"
CHAR_WIDTH = {13: 8.0, 12: 7.3, 11: 6.7}  # a monospace character's advance at each font size, rounded up
BOX_PADDING = 10
BOX_HEIGHT = 58
MIN_BOX_WIDTH = 110
MAX_BOX_WIDTH = 300
LABEL_HEIGHT = 14
HEADER_HEIGHT = 40
ERROR_LINE_HEIGHT = 16

ARROW = ('<defs><marker id="graphnn-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
         'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#64748b"/></marker>'
         "</defs>")

# Fill colours by op (the registered names; ops of one kind share a colour); any other op gets one of
# FALLBACK_COLOURS by the op name's characters.
OP_COLOURS = {"data": "#dbeafe", "fc": "#fde68a", "conv2d": "#fed7aa", "maxpool2d": "#e9d5ff",
              "avgpool2d": "#e9d5ff", "global_avgpool": "#e9d5ff", "activation": "#bbf7d0", "dropout": "#e5e7eb",
              "loss": "#fecdd3", "add": "#ddd6fe", "concat": "#ddd6fe", "reshape": "#fef9c3", "flatten": "#fef9c3",
              "batchnorm": "#ccfbf1"}
FALLBACK_COLOURS = ("#e0f2fe", "#fae8ff", "#ecfccb", "#ffedd5", "#f1f5f9")

DIFF_COLOURS = {"added": "#16a34a", "removed": "#dc2626", "changed": "#d97706", "renamed": "#d97706",
                "weights": "#2563eb"}  # viz --diff outlines (graphnn/viz/diffview.py)

STYLE = f"""
.graphnn-graph {{ font-family: {FONT}; }}
.graphnn-graph .node rect.box {{ stroke: #475569; stroke-width: 1; }}
.graphnn-graph .node .name {{ font-size: 13px; font-weight: bold; fill: #0f172a; }}
.graphnn-graph .node .op {{ font-size: 12px; fill: #1e293b; }}
.graphnn-graph .node .info {{ font-size: 11px; fill: #475569; }}
.graphnn-graph .node.error rect.box {{ stroke: #dc2626; stroke-width: 2.5; }}
.graphnn-graph .node .badge {{ fill: #dc2626; }}
.graphnn-graph .node .badge-text {{ fill: white; font-size: 12px; font-weight: bold; }}
.graphnn-graph .edge path {{ fill: none; stroke: #64748b; stroke-width: 1.2; }}
.graphnn-graph .edge.cyclic path {{ stroke: #dc2626; stroke-dasharray: 5 3; }}
.graphnn-graph .edge .shape {{ font-size: 11px; fill: #334155; }}
.graphnn-graph .errors {{ font-size: 12px; fill: #b91c1c; }}
.graphnn-graph .title {{ font-size: 15px; font-weight: bold; fill: #0f172a; }}
.graphnn-graph .node.diff-added rect.box {{ stroke: {DIFF_COLOURS["added"]}; stroke-width: 3; }}
.graphnn-graph .node.diff-removed rect.box {{ stroke: {DIFF_COLOURS["removed"]}; stroke-width: 3;
  stroke-dasharray: 6 3; }}
.graphnn-graph .node.diff-changed rect.box {{ stroke: {DIFF_COLOURS["changed"]}; stroke-width: 3; }}
.graphnn-graph .node.diff-renamed rect.box {{ stroke: {DIFF_COLOURS["renamed"]}; stroke-width: 3; }}
.graphnn-graph .node.diff-weights rect.box {{ stroke: {DIFF_COLOURS["weights"]}; stroke-width: 3; }}
"""


def _fit(text, size, width):
    """``text`` cut with an ellipsis to fit ``width`` at font ``size``."""
    room = int(width / CHAR_WIDTH[size])
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"


def _compact(value):
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def node_lines(node):
    """The three lines of a node's box: name; op and its parameters as written; output and params."""
    params = " ".join(f"{key}={_compact(value)}" for key, value in node.written.items())
    info = f"out {shape_text(node.out_shape)}"
    if node.parameters:
        info += f" · {node.parameters:,} params"
    return node.name, f"{node.op} {params}".strip(), info


def box_width(lines):
    text_width = max(len(text) * CHAR_WIDTH[size] for text, size in zip(lines, (13, 12, 11)))
    return min(max(text_width + 2 * BOX_PADDING, MIN_BOX_WIDTH), MAX_BOX_WIDTH)


def op_colour(op):
    return OP_COLOURS.get(op) or FALLBACK_COLOURS[sum(map(ord, op)) % len(FALLBACK_COLOURS)]


def layout_view(view):
    """(layout, edges laid out, edges left out) for a View; cycle-closing edges are left out."""
    sizes = {node.id: (box_width(node_lines(node)), BOX_HEIGHT) for node in view.nodes}
    placed = [edge for edge in view.edges if not edge.cyclic]
    labels = [(len(shape_text(edge.shape)) * CHAR_WIDTH[11], LABEL_HEIGHT) for edge in placed]
    layout = layered_layout(sizes, [(edge.source, edge.target) for edge in placed], labels)
    return layout, placed, [edge for edge in view.edges if edge.cyclic]


def _path(points):
    """A smooth path through route points: straight where vertical, an S-curve where it moves across."""
    (x, y), *rest = points
    parts = [f"M{x:.1f},{y:.1f}"]
    for nx_, ny in rest:
        if abs(nx_ - x) < 0.5:
            parts.append(f"L{nx_:.1f},{ny:.1f}")
        else:
            middle = (y + ny) / 2
            parts.append(f"C{x:.1f},{middle:.1f} {nx_:.1f},{middle:.1f} {nx_:.1f},{ny:.1f}")
        x, y = nx_, ny
    return "".join(parts)


def _edge_svg(edge, route, label):
    parts = [f'<g class="edge" data-source="{edge.source}" data-target="{edge.target}">',
             f'<path d="{_path(route)}" marker-end="url(#graphnn-arrow)"/>']
    if label:
        x, y, _, height = label
        parts.append(f'<text class="shape" x="{x:.1f}" y="{y + height - 3:.1f}">{escape(shape_text(edge.shape))}</text>')
    return "".join(parts) + "</g>"


def _cyclic_edge_svg(edge, boxes, right):
    """An edge that closes a cycle: from the source's right side round to the target's right side."""
    sx, sy, sw, sh = boxes[edge.source]
    tx, ty, tw, th = boxes[edge.target]
    path = (f"M{sx + sw:.1f},{sy + sh / 2:.1f}C{right:.1f},{sy + sh / 2:.1f} {right:.1f},{ty + th / 2:.1f} "
            f"{tx + tw:.1f},{ty + th / 2:.1f}")
    return (f'<g class="edge cyclic" data-source="{edge.source}" data-target="{edge.target}">'
            f'<path d="{path}" marker-end="url(#graphnn-arrow)"/></g>')


def _node_svg(node, box):
    x, y, width, height = box
    text_width = width - 2 * BOX_PADDING
    name, op, info = node_lines(node)
    title = "\n".join([f"{node.name} ({node.op})", *node.errors, *node.diff_notes])
    classes = ("node error" if node.errors else "node") + (f" diff-{node.diff}" if node.diff else "")
    parts = [(f'<g class="{classes}" id="node-{node.id}" data-id="{node.id}" data-name="{escape(node.name)}" '
              f'transform="translate({x:.1f},{y:.1f})">'),
             f"<title>{escape(title)}</title>",
             f'<rect class="box" width="{width:.1f}" height="{height}" rx="6" fill="{op_colour(node.op)}"/>',
             f'<text class="name" x="{BOX_PADDING}" y="19">{escape(_fit(name, 13, text_width))}</text>',
             f'<text class="op" x="{BOX_PADDING}" y="36">{escape(_fit(op, 12, text_width))}</text>',
             f'<text class="info" x="{BOX_PADDING}" y="51">{escape(_fit(info, 11, text_width))}</text>']
    if node.errors:
        parts.append(f'<circle class="badge" cx="{width - 2:.1f}" cy="2" r="9"/>'
                     f'<text class="badge-text" x="{width - 2:.1f}" y="6.5" text-anchor="middle">!</text>')
    return "".join(parts) + "</g>"


def graph_svg(view, standalone=False):
    """SVG text of the view's graph; ``standalone`` adds an XML declaration, a title and the errors."""
    layout, placed, cyclic = layout_view(view)
    right = layout.width + 10
    width = layout.width + (40 if cyclic else 0)
    top = HEADER_HEIGHT if standalone else 0
    errors = view.errors if standalone else []
    height = top + layout.height + len(errors) * ERROR_LINE_HEIGHT + (10 if errors else 0)
    if standalone:
        width = max(width, 12 + max((len(e) for e in errors), default=0) * CHAR_WIDTH[12])
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" class="graphnn-graph" width="{width:.0f}" '
              f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">'),
             f"<style>{STYLE}</style>",
             ARROW]
    if standalone:
        summary = f"{len(view.nodes)} nodes · {view.total_parameters:,} parameters"
        if view.errors:
            summary += f" · {len(view.errors)} error{'s' if len(view.errors) > 1 else ''}"
        if view.diff_against:
            kinds = [kind for kind in DIFF_COLOURS if any(node.diff == kind for node in view.nodes)]
            summary += f" · against {view.diff_against}: " + (", ".join(kinds) or "no difference")
        parts.append(f'<text class="title" x="{20}" y="26">{escape(view.name)} — {escape(summary)}</text>')
    parts.append(f'<g class="graph" transform="translate(0,{top})"><g class="edges">')
    parts += [_edge_svg(edge, route, label) for edge, route, label in zip(placed, layout.routes, layout.labels)]
    parts += [_cyclic_edge_svg(edge, layout.boxes, right) for edge in cyclic]
    parts.append('</g><g class="nodes">')
    parts += [_node_svg(node, layout.boxes[node.id]) for node in view.nodes]
    parts.append("</g></g>")
    for number, error in enumerate(errors):
        y = top + layout.height + (number + 1) * ERROR_LINE_HEIGHT
        parts.append(f'<text class="errors" x="12" y="{y:.0f}">{escape(error)}</text>')
    parts.append("</svg>")
    text = "\n".join(parts) + "\n"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text if standalone else text
