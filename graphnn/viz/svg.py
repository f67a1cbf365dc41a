"""The graph as SVG: one box per node (name, op and key parameters, output shape and parameter count),
edges labelled with shapes, nodes with errors outlined in red with a "!" badge.

A model with blocks is drawn one scope at a time (``scope``: None for the top level, or a group's id): each
block instance and each repeated chain in the scope is one box (a chain's says "bottleneck ×4"), with a "+"
that the HTML page's script opens; a group's own drawing shows what feeds it and what it feeds as dashed
boxes.

The same SVG is written alone (``graph_svg(view, standalone=True)`` adds a title and the error list)
and inlined in the HTML page, whose script finds nodes by their ``data-id``.
"""

import json
from html import escape

from graphnn.viz.layout import layered_layout
from graphnn.viz.view import EdgeView, GroupView, shape_text

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
.graphnn-graph .group rect.box {{ stroke: #334155; stroke-width: 1.6; }}
.graphnn-graph .group rect.behind {{ stroke: #64748b; stroke-width: 1; fill: #f1f5f9; }}
.graphnn-graph .group .name {{ font-size: 13px; font-weight: bold; fill: #0f172a; }}
.graphnn-graph .group .op {{ font-size: 12px; fill: #1e293b; }}
.graphnn-graph .group .info {{ font-size: 11px; fill: #475569; }}
.graphnn-graph .group .expand {{ fill: white; stroke: #334155; }}
.graphnn-graph .group .expand-text {{ font-size: 14px; font-weight: bold; fill: #334155; }}
.graphnn-graph .external rect.box {{ fill: white; stroke: #94a3b8; stroke-dasharray: 4 3; }}
.graphnn-graph .external text {{ font-size: 12px; fill: #475569; }}
"""

GROUP_FILL = "#e2e8f0"
EXTERNAL_HEIGHT = 30
STACK = 4  # how far each box behind a chain's box is offset
EXPAND_ROOM = 24  # right of a group's text: its "+"


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


def group_lines(group):
    """The three lines of a group's box: its path; its block (×N for a chain); nodes and parameters."""
    if group.kind == "chain":
        what = f"{group.block} ×{group.count}" + (f" (first: {group.first})" if group.first else "")
    else:
        what = f"block {group.block}"
    return group.path, what, f"{group.nodes:,} nodes · {group.parameters:,} params"


def scope_graph(view, scope=None):
    """(items, edges) drawn in ``scope``: items {id: NodeView, GroupView or the name of an outside node
    (ids "in:..." and "out:...", drawn dashed)}; edges [EdgeView] between item ids, one per pair."""
    if not view.groups:
        return {node.id: node for node in view.nodes}, view.edges
    by_id = {node.id: node for node in view.nodes}
    items = {item: by_id.get(item) or view.groups[item] for item in view.members(scope)}
    chains = {}  # node id -> [its groups, innermost first]

    def item_of(node_id):
        """The item of ``scope`` that holds node ``node_id``, or None when it lies outside."""
        if node_id not in chains:
            found, group = [], by_id[node_id].group
            while group is not None:
                found.append(group)
                group = view.groups[group].parent
            chains[node_id] = found
        groups = chains[node_id]
        if scope is None:
            return groups[-1] if groups else node_id
        if scope not in groups:
            return None
        at = groups.index(scope)
        return groups[at - 1] if at else node_id

    def outside(node_id):
        """The name of what holds node ``node_id`` in the nearest enclosing scope that holds it."""
        groups = chains[node_id]  # (item_of has met every node of an edge)
        enclosing = view.groups[scope].parent
        while enclosing is not None and enclosing not in groups:
            enclosing = view.groups[enclosing].parent
        at = groups.index(enclosing) if enclosing is not None else len(groups)
        return view.groups[groups[at - 1]].path if at else by_id[node_id].name

    edges, seen = [], set()
    for edge in view.edges:
        source, target = item_of(edge.source), item_of(edge.target)
        if source == target or (source is None and target is None):
            continue
        if source is None:
            name = outside(edge.source)
            source = f"in:{name}"
            items.setdefault(source, f"from {name}")
        if target is None:
            name = outside(edge.target)
            target = f"out:{name}"
            items.setdefault(target, f"to {name}")
        if (source, target) not in seen:
            seen.add((source, target))
            edges.append(EdgeView(source, target, edge.position, edge.shape, edge.cyclic))
    return items, edges


def _item_size(item):
    if isinstance(item, str):
        return max(len(item) * CHAR_WIDTH[12] + 2 * BOX_PADDING, MIN_BOX_WIDTH), EXTERNAL_HEIGHT
    if isinstance(item, GroupView):
        return box_width(group_lines(item)) + EXPAND_ROOM + 2 * STACK, BOX_HEIGHT + 2 * STACK
    return box_width(node_lines(item)), BOX_HEIGHT


def layout_view(view, scope=None):
    """(layout, edges laid out, edges left out) for a View (one scope of it: see ``scope_graph``);
    cycle-closing edges are left out."""
    return _scope_layout(view, scope)[:3]


def _scope_layout(view, scope):
    items, edges = scope_graph(view, scope)
    sizes = {key: _item_size(item) for key, item in items.items()}
    placed = [edge for edge in edges if not edge.cyclic]
    labels = [(len(shape_text(edge.shape)) * CHAR_WIDTH[11], LABEL_HEIGHT) for edge in placed]
    layout = layered_layout(sizes, [(edge.source, edge.target) for edge in placed], labels)
    return layout, placed, [edge for edge in edges if edge.cyclic], items


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


def _group_svg(group, box):
    x, y, width, height = box
    width, height = width - 2 * STACK, height - 2 * STACK
    text_width = width - 2 * BOX_PADDING - EXPAND_ROOM
    name, what, info = group_lines(group)
    behind = 2 if group.kind == "chain" else 0
    parts = [(f'<g class="group" id="group-{group.id}" data-group="{group.id}" data-name="{escape(group.path)}" '
              f'transform="translate({x:.1f},{y:.1f})">'),
             f"<title>{escape(f'{group.path}: {what}; click to open')}</title>"]
    for offset in range(behind, 0, -1):  # a chain: a stack of boxes
        parts.append(f'<rect class="behind" x="{offset * STACK}" y="{offset * STACK}" width="{width:.1f}" '
                     f'height="{height}" rx="6"/>')
    parts += [f'<rect class="box" width="{width:.1f}" height="{height}" rx="6" fill="{GROUP_FILL}"/>',
              f'<text class="name" x="{BOX_PADDING}" y="19">{escape(_fit(name, 13, text_width))}</text>',
              f'<text class="op" x="{BOX_PADDING}" y="36">{escape(_fit(what, 12, text_width))}</text>',
              f'<text class="info" x="{BOX_PADDING}" y="51">{escape(_fit(info, 11, text_width))}</text>',
              (f'<g class="expand-control"><circle class="expand" cx="{width - 14:.1f}" cy="14" r="9"/>'
               f'<text class="expand-text" x="{width - 14:.1f}" y="19" text-anchor="middle">+</text></g>')]
    return "".join(parts) + "</g>"


def _external_svg(key, text, box):
    x, y, width, height = box
    return (f'<g class="external" data-id="{escape(key)}" transform="translate({x:.1f},{y:.1f})">'
            f'<rect class="box" width="{width:.1f}" height="{height}" rx="6"/>'
            f'<text x="{BOX_PADDING}" y="{height / 2 + 4:.1f}">{escape(_fit(text, 12, width - 2 * BOX_PADDING))}</text>'
            "</g>")


def _item_svg(key, item, box):
    if isinstance(item, str):
        return _external_svg(key, item, box)
    if isinstance(item, GroupView):
        return _group_svg(item, box)
    return _node_svg(item, box)


def graph_svg(view, standalone=False, scope=None):
    """SVG text of the view's graph (of one scope of a model with blocks: None for the top level, or a
    group's id); ``standalone`` adds an XML declaration, a title and the errors."""
    layout, placed, cyclic, items = _scope_layout(view, scope)
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
    parts += [_item_svg(key, item, layout.boxes[key]) for key, item in items.items()]
    parts.append("</g></g>")
    for number, error in enumerate(errors):
        y = top + layout.height + (number + 1) * ERROR_LINE_HEIGHT
        parts.append(f'<text class="errors" x="12" y="{y:.0f}">{escape(error)}</text>')
    parts.append("</svg>")
    text = "\n".join(parts) + "\n"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text if standalone else text
