"""Writing model documents as text, in one canonical layout: two-space indents, one node per line,
keys in a fixed order. Loading and writing again gives the same text (a fixed point)."""

import json

TOP_ORDER = ("format", "name", "description", "nodes", "train", "test")
NODE_ORDER = ("name", "op", "inputs")


def _ordered(mapping, first):
    keys = [key for key in first if key in mapping] + [key for key in mapping if key not in first]
    return {key: mapping[key] for key in keys}


def dumps(document):
    """The canonical text of a model document (ends with a newline)."""
    document = _ordered(document, TOP_ORDER)
    lines = ["{"]
    items = list(document.items())
    for position, (key, value) in enumerate(items):
        comma = "," if position < len(items) - 1 else ""
        if key == "nodes":
            lines.append('  "nodes": [')
            for index, node in enumerate(value):
                text = json.dumps(_ordered(node, NODE_ORDER), ensure_ascii=False, separators=(", ", ": "))
                lines.append(f"    {text}{',' if index < len(value) - 1 else ''}")
            lines.append(f"  ]{comma}")
        else:
            text = json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")
            lines.append(f"  {json.dumps(key)}: {text}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"
