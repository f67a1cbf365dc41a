#!/usr/bin/env python3
"""Write the README's list of ops from the op registry (``--check`` only compares, exit 1 if stale).

One line per registered op: its name, how many inputs it takes, its parameters (required ones first, in
bold) and what its family does (the first sentence of its class's docstring, else of its module's). The
list sits between the README's ``<!-- ops -->`` and ``<!-- /ops -->`` markers; a new op is listed by
running this, and tests/test_readme_ops.py fails while the README lags the registry.
"""

import argparse
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- ops: written by tools/readme_ops.py -->", "<!-- /ops -->"
COMMON = {"lr_mult", "decay_mult", "loss_weight"}  # parameters every op of a kind takes, said once below the list


def _what(op_class):
    module = sys.modules[op_class.__module__]
    doc = " ".join(((op_class.__doc__ or module.__doc__ or "").strip().split("\n\n")[0]).split())
    first = re.split(r"(?<=\.)\s|\s+x: \(", doc)[0].rstrip(":,; ")
    return first.replace("``", "`").replace("|", "\\|")  # a | would end the table cell


def _inputs(op_class):
    from graphnn.ops.registry import input_count_range

    low, high = input_count_range(op_class)
    return f"{low}+" if high is None else str(low) if low == high else f"{low}-{high}"


def op_lines():
    """The README's list: one Markdown table row per registered op."""
    from graphnn.ops import registry

    rows = ["| op | inputs | parameters (**required**) | what it does |", "| --- | --- | --- | --- |"]
    for name in registry.names():
        op_class = registry.get(name)
        schema = op_class.params_schema
        required = [key for key in schema.get("required", []) if key not in COMMON]
        optional = [key for key in schema.get("properties", {}) if key not in COMMON and key not in required]
        parameters = ", ".join([f"**{key}**" for key in required] + optional) or "-"
        rows.append(f"| `{name}` | {_inputs(op_class)} | {parameters} | {_what(op_class)} |")
    return rows


def section():
    return "\n".join([BEGIN, *op_lines(), END])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's list is stale")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        sys.exit(f"{README} has no {BEGIN} ... {END} section")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    updated = text[:start] + section() + text[end:]
    if args.check:
        if updated != text:
            sys.exit(f"{README}'s list of ops is stale: run python tools/readme_ops.py")
        return
    README.write_text(updated, encoding="utf-8")
    print(f"wrote the list of {len(op_lines()) - 2} ops in {README}")


if __name__ == "__main__":
    main()
