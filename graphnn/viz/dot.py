"""The graph as Graphviz DOT text (``dot -Tsvg`` draws it; writing it needs no Graphviz).

Nodes are named ``n0``, ``n1``, ... by their place in the file (names can repeat in an invalid model)
and labelled with the same three lines as the SVG boxes; nodes with errors are outlined in red and carry
their errors as a tooltip; the model's errors are listed in the graph's label. A model's block instances
and chains are clusters (boxes round their nodes, labelled with their path and block), nested as in the file.
"""

from graphnn.viz.svg import group_lines, node_lines, op_colour
from graphnn.viz.view import shape_text


def quote(text):
    """A DOT double-quoted string; newlines become DOT's centred line breaks."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_text(view):
    label = "\n".join([view.name, *view.errors])
    lines = [f"digraph {quote(view.name)} {{",
             f"  rankdir=TB; labelloc=t; fontname=Helvetica; label={quote(label)};",
             '  node [shape=box, style="rounded,filled", fontname=Helvetica, fontsize=10, color="#475569"];',
             '  edge [fontname=Helvetica, fontsize=9, color="#64748b"];']
    by_id = {node.id: node for node in view.nodes}

    def scope(ids, indent):
        for item in ids:
            if item in view.groups:
                group = view.groups[item]
                lines.append(f"{indent}subgraph cluster_{item} {{")
                lines.append(f"{indent}  label={quote(' · '.join(group_lines(group)[:2]))}; style=\"rounded,dashed\";"
                             ' color="#334155";')
                scope(group.members, indent + "  ")
                lines.append(f"{indent}}}")
                continue
            node = by_id[item]
            attributes = {"label": "\n".join(node_lines(node)), "fillcolor": op_colour(node.op),
                          "tooltip": "\n".join([f"{node.name} ({node.op})", *node.errors])}
            if node.errors:
                attributes.update(color="#dc2626", penwidth="2.5")
            lines.append(f"{indent}{node.id} [{_attributes(attributes)}];")

    scope(view.members(), "  ")
    for edge in view.edges:
        attributes = {"label": shape_text(edge.shape)}
        if edge.cyclic:
            attributes.update(color="#dc2626", style="dashed", constraint="false")
        lines.append(f"  {edge.source} -> {edge.target} [{_attributes(attributes)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _attributes(attributes):
    return ", ".join(f"{key}={quote(value)}" for key, value in attributes.items())
