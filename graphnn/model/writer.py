"""Writing model documents as text, in one canonical layout: two-space indents, one node per line,
keys in a fixed order; each block (graphnn/model/blocks.py) with its inputs, outputs and parameters on
a line each and its nodes one per line. Loading and writing again gives the same text (a fixed point)."""

import json

TOP_ORDER = ("$schema", "format", "name", "description", "doc", "blocks", "nodes", "train", "test")
NODE_ORDER = ("name", "op", "block", "inputs")
BLOCK_ORDER = ("doc", "inputs", "outputs", "params", "nodes")


def _ordered(mapping, first):
    keys = [key for key in first if key in mapping] + [key for key in mapping if key not in first]
    return {key: mapping[key] for key in keys}


def _line(value):
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _nodes(nodes, indent):
    """The lines of a node list, one node per line, at ``indent`` spaces."""
    lines = [f"{' ' * (indent - 2)}\"nodes\": ["]
    for index, node in enumerate(nodes):
        lines.append(f"{' ' * indent}{_line(_ordered(node, NODE_ORDER))}{',' if index < len(nodes) - 1 else ''}")
    return lines + [f"{' ' * (indent - 2)}]"]


def _blocks(blocks):
    lines = ['  "blocks": {']
    for position, (name, block) in enumerate(blocks.items()):
        lines.append(f"    {json.dumps(name, ensure_ascii=False)}: {{")
        items = list(_ordered(block, BLOCK_ORDER).items())
        for index, (key, value) in enumerate(items):
            comma = "," if index < len(items) - 1 else ""
            if key == "nodes" and isinstance(value, list):
                body = _nodes(value, 8)
                lines += body[:-1] + [body[-1] + comma]
            else:
                lines.append(f"      {json.dumps(key, ensure_ascii=False)}: {_line(value)}{comma}")
        lines.append(f"    }}{',' if position < len(blocks) - 1 else ''}")
    return lines + ["  }"]


def dumps(document):
    """The canonical text of a model document (ends with a newline)."""
    document = _ordered(document, TOP_ORDER)
    lines = ["{"]
    items = list(document.items())
    for position, (key, value) in enumerate(items):
        comma = "," if position < len(items) - 1 else ""
        if key == "nodes":
            body = _nodes(value, 4)
        elif key == "blocks" and isinstance(value, dict) and value:
            body = _blocks(value)
        else:
            text = json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            body = [f"  {json.dumps(key)}: {text}"]
        lines += body[:-1] + [body[-1] + comma]
    lines.append("}")
    return "\n".join(lines) + "\n"
