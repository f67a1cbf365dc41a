"""Schema validation in two stages, every error with its JSON path and node.

Stage one checks the envelope (sections, node names, ops, inputs); stage two checks each node's keys
against its op's own schema, with paths prefixed by the node's path. All errors are collected, in file
order, and each renders as one line: "node 'fc2' (op fc) at /nodes/3/units: must be >= 1; got -4".

"integer" means a JSON number written as an integer: ``10``, never ``10.0`` or ``1e1`` (JSON Schema itself
counts those as integers, but they parse as floats, which shapes, sizes and seeds cannot be). One
validator class, ``Validator``, applies that rule to every schema: the model's, its train and test
sections', and each op's parameters.
"""

import functools
import json

import jsonschema

from graphnn import ops
from graphnn.errors import GraphError, LimitError, SchemaError
from graphnn.model import schema
from graphnn.model.jsontext import pointer
from graphnn.model.limits import MAX_NAME_LENGTH, MAX_NODES
from graphnn.ops.registry import suggest


def _is_integer(checker, instance):
    """An int that is not a bool: what json.loads makes of a number with no fraction and no exponent."""
    return isinstance(instance, int) and not isinstance(instance, bool)


Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer))


@functools.cache
def params_validator(op_class):
    """The Validator of one op's node keys (built once per op)."""
    return Validator(schema.node_params_schema(op_class))


@functools.cache
def _envelope_validator():
    return Validator(schema.envelope_schema())


MAX_KEYS_SHOWN = 5  # unknown keys named in one error; the rest are counted

_TYPE_NAMES = {"integer": "an integer", "number": "a number", "string": "a string", "boolean": "true or false",
               "array": "an array", "object": "an object", "null": "null"}


def _show(value):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _name(key):
    """A key as repr shows it, cut to 60 characters."""
    return repr(key) if len(key) <= 60 else repr(key[:57]) + "..."


def describe(error):
    """One jsonschema error as "what was expected; got what"."""
    kind, expected, got = error.validator, error.validator_value, error.instance
    if kind == "type":
        names = [expected] if isinstance(expected, str) else expected
        return f"must be {' or '.join(_TYPE_NAMES.get(n, n) for n in names)}; got {_show(got)}"
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    if kind in bounds:
        return f"must be {bounds[kind]} {expected}; got {_show(got)}"
    if kind == "enum":
        choices = ", ".join(_show(choice) for choice in expected)
        hint = suggest(got, [c for c in expected if isinstance(c, str)]) if isinstance(got, str) else ""
        return f"must be one of {choices}; got {_show(got)}{hint}"
    if kind == "const":
        return f"must be {_show(expected)}; got {_show(got)}"
    if kind == "required":
        missing = [key for key in expected if key not in got]
        return f"missing required key {', '.join(repr(key) for key in missing)}"
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        extra = [key for key in got if key not in allowed]
        shown = "; ".join(f"unknown key {_name(key)}{suggest(key, allowed)}" for key in extra[:MAX_KEYS_SHOWN])
        more = f"; and {len(extra) - MAX_KEYS_SHOWN:,} more unknown keys" if len(extra) > MAX_KEYS_SHOWN else ""
        return f"{shown}{more}; allowed keys: {', '.join(allowed)}"
    if kind in ("minItems", "maxItems", "minLength", "maxLength"):
        size = "items" if "Items" in kind else "characters"
        relation = "at least" if kind.startswith("min") else "at most"
        return f"must have {relation} {expected} {size}; got {len(got)}"
    if kind == "pattern":
        return f"must match {expected}; got {_show(got)}"
    if kind in ("oneOf", "anyOf"):
        what = error.schema.get("description")
        if what:
            return f"does not fit: {what} Got {_show(got)}"
        return f"does not fit any allowed form; got {_show(got)}"
    return error.message


def _node_at(document, parts):
    """(name, op) of the node that ``parts`` points into, or (None, None)."""
    if len(parts) >= 2 and parts[0] == "nodes" and isinstance(document, dict):
        nodes = document.get("nodes")
        if isinstance(nodes, list) and isinstance(parts[1], int) and parts[1] < len(nodes):
            node = nodes[parts[1]]
            if isinstance(node, dict):
                name, op = node.get("name"), node.get("op")
                return (name if isinstance(name, str) else None), (op if isinstance(op, str) else None)
    return None, None


def _schema_errors(document, validator, instance, prefix):
    found = []
    for error in validator.iter_errors(instance):
        parts = prefix + list(error.absolute_path)
        name, op = _node_at(document, parts)
        found.append(SchemaError(describe(error), path=pointer(parts), node=name, op=op))
    return found


def _check_limits(document):
    nodes = document.get("nodes") if isinstance(document, dict) else None
    if not isinstance(nodes, list):
        return []
    if len(nodes) > MAX_NODES:
        return [LimitError(f"{len(nodes):,} nodes; the limit is {MAX_NODES:,}", path="/nodes")]
    return [LimitError(f"name is {len(node['name'])} characters long; the limit is {MAX_NAME_LENGTH}",
                       path=f"/nodes/{index}/name")
            for index, node in enumerate(nodes)
            if isinstance(node, dict) and isinstance(node.get("name"), str) and len(node["name"]) > MAX_NAME_LENGTH]


def envelope_errors(document):
    """Stage one: limits, sections, node names, ops and inputs."""
    limits = _check_limits(document)
    if limits:
        return limits
    return _schema_errors(document, _envelope_validator(), document, [])


def params_errors(document, envelope):
    """Stage two: each node's own keys against its op's schema (nodes broken in stage one are skipped)."""
    if not isinstance(document, dict) or not isinstance(document.get("nodes"), list):
        return []
    if any(isinstance(error, LimitError) for error in envelope):
        return []  # an over-limit document is not worked through node by node
    broken = {error.path.split("/")[2] for error in envelope
              if error.path and error.path.startswith("/nodes/") and error.path.count("/") >= 2}
    errors = []
    for index, node in enumerate(document["nodes"]):
        if str(index) in broken or not isinstance(node, dict) or "block" in node:
            continue  # a node that uses a block is checked with the blocks (graphnn/model/blocks.py)
        try:
            op_class = ops.get(node["op"])
        except GraphError as unknown:
            errors.append(unknown.located(path=f"/nodes/{index}/op", node=node["name"]))
            continue
        errors += _schema_errors(document, params_validator(op_class), node, ["nodes", index])
    return errors


def _file_position(document, path, key_positions):
    """Sort key of a JSON pointer in file order: each step's position in its object or array
    (``key_positions`` caches each object's {key: position}, so each step costs O(1))."""
    key, value = [], document
    for part in path.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and part in value:
            if id(value) not in key_positions:
                key_positions[id(value)] = {name: i for i, name in enumerate(value)}  # dicts keep the file's order
            key.append(key_positions[id(value)][part])
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            key.append(int(part))
            value = value[int(part)]
        else:
            break
    return key


def in_file_order(errors, document):
    """``errors`` sorted by where their JSON paths point in the file."""
    key_positions = {}
    return sorted(errors, key=lambda error: _file_position(document, error.path or "", key_positions))
