"""``graphnn viz A --diff B``: A's drawing with what B changes marked (graphnn/diff.py finds it).

A's nodes are outlined by kind: removed in B (red, dashed), changed or renamed (amber), weights changed
(blue); B's added nodes are drawn too (green), wired to the nodes they read and that read them. Each
marked node's tooltip lists its changes; the view's notes list the settings that changed.
"""

import copy

from graphnn.diff import diff_sources
from graphnn.io.sources import load_source
from graphnn.viz.view import EdgeView, load_view


def diff_view(a, b):
    """The View of ``a`` marked with its differences from ``b`` (paths of model files, bundles or run
    folders), and the Difference."""
    difference = diff_sources(load_source(a), load_source(b))
    view, other = load_view(a), load_view(b)
    marks = difference.nodes_of("a")
    back = {new: old for old, new in difference.renamed.items()}
    notes = {}
    for change in difference.changes:
        if change.node and change.kind != "added":
            name = back.get(change.node, change.node)
            notes.setdefault(name, []).append(_describe(change))
    for change in difference.weights:
        if change.max_abs:
            notes.setdefault(back.get(change.node, change.node), []).append(
                f"weight {change.name}: max abs change {change.max_abs:.3g}, relative norm {change.rel_norm:.3g}")
    for node in view.nodes:
        node.diff = marks.get(node.name)
        node.diff_notes = notes.get(node.name, [])
    ids = {difference.renamed.get(node.name, node.name): node.id for node in view.nodes}  # by B's names
    added = {node.name for node in other.nodes if difference.nodes_of("b").get(node.name) == "added"}
    by_id = {node.id: node for node in other.nodes}
    for node in other.nodes:
        if node.name in added:
            copied = copy.copy(node)
            copied.id, copied.diff, copied.diff_notes = f"d{node.index}", "added", [f"added in {b}"]
            view.nodes.append(copied)
            ids[node.name] = copied.id
    for edge in other.edges:
        source, target = by_id[edge.source].name, by_id[edge.target].name
        if (source in added or target in added) and source in ids and target in ids:
            view.edges.append(EdgeView(ids[source], ids[target], edge.position, edge.shape))
    settings = [_describe(change) for change in difference.changes if change.kind == "setting"]
    view.notes.extend(f"setting {line}" for line in settings)
    view.diff_against = b
    return view, difference


def _describe(change):
    if change.kind == "renamed":
        return f"renamed {change.a} -> {change.b}"
    if change.kind == "removed":
        return "removed"
    return f"{change.what}: {_short(change.a)} -> {_short(change.b)}"


def _short(value, limit=40):
    text = "-" if value is None else str(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
