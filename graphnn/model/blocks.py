"""Blocks: named, parameterised subgraphs that a model file defines once and uses as nodes.

    "blocks": {
      "basic": {
        "doc": "Two 3x3 convolutions and an identity shortcut (ResNet's BasicBlock).",
        "inputs": ["x"], "outputs": ["out"],
        "params": {"width": {"type": "integer"}, "stride": {"type": "integer", "default": 1}},
        "nodes": [
          {"name": "conv1", "op": "conv2d", "inputs": ["x"], "filters": "$width", "kernel": 3, "stride": "$stride"},
          ...
          {"name": "out", "op": "activation", "inputs": ["sum"], "function": "relu"}
        ]
      }
    },
    "nodes": [
      ...
      {"name": "stage2", "block": "basic", "inputs": ["stage1"], "repeat": 2, "args": {"width": 128},
       "first": {"block": "basic_down", "args": {"stride": 2}}},
      {"name": "pool", "op": "global_avgpool", "inputs": ["stage2"]}

The rules:

- A node with ``block`` (instead of ``op``) is an *instance* of that block; its nodes are named by their path,
  ``stage2.conv1``. With ``repeat: N`` it is a chain of N instances, each one's outputs feeding the next one's
  inputs, named ``stage2.block1`` ... ``stage2.blockN`` (so ``stage2.block3.conv1``); ``first`` gives the
  first instance of the chain another block and/or arguments (merged over ``args``).
- ``inputs`` of an instance feed the block's ``inputs`` in order. Other nodes read an instance by its name
  (a block with one output) or ``name.OUTPUT``; a chain by its name (its last instance) or an instance of it
  by ``stage2.block1``; any expanded node also by its full name (``stage2.block1.conv1``).
- Inside a block, names are the block's inputs, its nodes and its instances; a string ``"$width"`` anywhere in
  a node (not in its name, op or block) is the value of the parameter ``width``: a number, a name, a shape, any
  JSON value. ``args`` give the values; ``params`` declare them (optional ``type``, ``default``, ``doc``).
- Errors inside an instance name the instance, the block, the node in the block and the JSON path in the
  block's definition (so the line and column are where the block is written), e.g.
  ``res.json:14:22: in stage2.block3 (block 'bottleneck'), node 'conv2' at /blocks/bottleneck/nodes/3/filters:
  must be >= 1; got 0``. An error shared by many instances is reported once, for the first.

``expand(document)`` runs after the envelope schema: definitions are checked once (unknown blocks, a block
that uses itself, unknown parameters, missing or unknown arguments, names), then every instance is expanded
into plain nodes (``Expansion.nodes``), which the graph rules and the plan take as a file without blocks.
Before anything is expanded, ``_Measure`` counts from the definitions what the expansion would make (the
nodes, the work: JSON values, instances and links, and the longest name) without making it: a chain of N
instances costs N times one, and each block is counted once per distinct set of arguments. An expansion
past MAX_NODES or MAX_EXPANSION_WORK, or with a name (its instance path included) longer than
MAX_NAME_LENGTH (graphnn/model/limits.py), is refused there, located at the node or instance that
would cross the limit, so the cost of checking any file is linear in the file, and of expanding it, in the
expanded graph. A file without blocks is passed through as it is.
"""

import re
from dataclasses import dataclass, field

from graphnn import ops
from graphnn.errors import GraphError, LimitError, SchemaError
from graphnn.model.jsontext import pointer
from graphnn.model.limits import MAX_BLOCK_DEPTH, MAX_EXPANSION_WORK, MAX_NAME_LENGTH, MAX_NODES
from graphnn.model.rules import NameSuggester
from graphnn.model.schema import NAME_PATTERN, REF_PATTERN

_REFERENCE = re.compile(REF_PATTERN)
_NAME = re.compile(NAME_PATTERN)
_NOT_SUBSTITUTED = ("name", "op", "block", "doc")


@dataclass(eq=False)
class Instance:
    """One instance of a block: ``path`` (e.g. ``stage2.block3``), the block's name, the JSON path of the node
    that made it, the instance it lies in and its chain; ``items`` its contents in the block's order: indices
    of expanded nodes, Instances and Chains."""

    path: str
    block: str
    use_path: str
    parent: "Instance | None" = None
    chain: "Chain | None" = None
    items: list = field(default_factory=list)
    broken: bool = False  # an argument did not fit (its nodes' parameters are then not checked again)
    inputs: list = field(default_factory=list)  # full names of the expanded nodes feeding it, once resolved
    outputs: list = field(default_factory=list)  # ... and of those its outputs stand for


@dataclass(eq=False)
class Chain:
    """A repeated block: ``count`` instances (``items``) named ``path.block1`` ... ``path.blockN``."""

    path: str
    block: str
    count: int
    use_path: str
    parent: "Instance | None" = None
    items: list = field(default_factory=list)


@dataclass(frozen=True)
class Origin:
    """Where an expanded node was written: its instance (None at the top level), the JSON path of its
    definition and its name there."""

    instance: "Instance | None"
    path: str
    local: str


class Expansion:
    """The expanded nodes of a document, where each came from, and the tree of instances.

    ``nodes``: plain nodes (``op``, full names, resolved inputs); ``items``: the top level in file order
    (expanded node indices, Instances, Chains); ``errors``: what the expansion found. Without blocks,
    ``nodes`` is the document's own list and ``origins`` is None (each node is where it is written)."""

    def __init__(self, nodes, origins=None, items=None, errors=()):
        self.nodes = nodes
        self.origins = origins
        self.items = items if items is not None else list(range(len(nodes or ())))
        self.errors = list(errors)

    @property
    def has_blocks(self):
        return self.origins is not None

    def origin(self, index):
        if self.origins is None:
            return Origin(None, f"/nodes/{index}", self.nodes[index]["name"])
        return self.origins[index]

    def relocate(self, error):
        """An error located at an expanded node (``/nodes/K...``, the full name), moved to where the node is
        written: the path in its definition, its name there, its instance and block. Returns the error."""
        if self.origins is None or not error.path or not error.path.startswith("/nodes/"):
            return error
        head, _, rest = error.path[len("/nodes/"):].partition("/")
        if not head.isdigit() or int(head) >= len(self.origins):
            return error
        origin = self.origins[int(head)]
        error.path = origin.path + (f"/{rest}" if rest else "")
        if origin.instance is not None:
            error.node, error.block, error.instance = origin.local, origin.instance.block, origin.instance.path
        return error


def expand(document):
    """The Expansion of an envelope-valid document (its errors in ``.errors``; then ``.nodes`` may be None)."""
    nodes, blocks = document["nodes"], document.get("blocks") or {}
    if not blocks and not any("block" in node for node in nodes):
        return Expansion(nodes)
    errors = _definition_errors(document) or _Measure(blocks).errors(nodes)
    if errors:
        return Expansion(None, errors=errors)
    return _Expander(blocks).run(nodes)


# -- definitions, checked once each ------------------------------------------------------------------------

def _scopes(document):
    """(block name or None, JSON path of its node list, the list): the top level and each block."""
    yield None, "/nodes", document["nodes"]
    for name, block in (document.get("blocks") or {}).items():
        yield name, f"/blocks/{pointer([name])[1:]}/nodes", block["nodes"]


def _references(value, path):
    """(parameter name, JSON path) of each "$param" string in ``value``."""
    if isinstance(value, str):
        if _REFERENCE.match(value):
            yield value[1:], path
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _references(item, f"{path}/{index}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _references(item, path + pointer([key]))


def _substituted(node):
    """(key, value, JSON path below the node) of each part of a node that "$param" references may fill in:
    every key but name, op, block and doc; of a use's ``first``, its args."""
    for key, value in node.items():
        if key in _NOT_SUBSTITUTED:
            continue
        if key == "first" and "block" in node:
            yield key, value.get("args", {}), "/first/args"
        else:
            yield key, value, pointer([key])


def _substituted_keys(node):
    """The keys of a node whose values hold "$param" references (those are copied per instance)."""
    return tuple(key for key, value, _ in _substituted(node) if next(_references(value, ""), None) is not None)


class _Lazy:
    """A suggester made on first use."""

    def __init__(self, make):
        self.make, self.made = make, None

    def __call__(self, name):
        self.made = self.made or self.make()
        return self.made(name)


def _few(names, shown=8):
    """Up to ``shown`` names, then how many more."""
    if not names:
        return "none"
    more = f", ... ({len(names) - shown:,} more)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _required(block):
    return [name for name, spec in (block.get("params") or {}).items() if "default" not in spec]


def _count(number, word):
    return f"{number} {word}{'' if number == 1 else 's'}"


def _definition_errors(document):
    blocks = document.get("blocks") or {}
    errors = []
    for block_name, prefix, nodes in _scopes(document):
        block = blocks.get(block_name) or {}
        where_block = {"block": block_name} if block_name is not None else {}
        params = block.get("params") or {}
        local = {}  # name -> JSON path of what defines it in this scope
        suggest_param = _Lazy(lambda params=params: NameSuggester(params))
        for index, name in enumerate(block.get("inputs") or []):
            path = f"/blocks/{pointer([block_name])[1:]}/inputs/{index}"
            if name in local:
                errors.append(GraphError(f"input '{name}' is already an input at {local[name]}", path=path,
                                         **where_block))
            local[name] = path
        for index, node in enumerate(nodes):
            path, name = f"{prefix}/{index}", node["name"]
            where = {"path": path, "node": name, **where_block}
            if name in local:
                errors.append(GraphError(f"name '{name}' is already used by the "
                                         f"{'input' if '/inputs/' in local[name] else 'node'} at {local[name]}",
                                         **where | {"path": f"{path}/name"}))
            local.setdefault(name, path)
            if "block" in node:
                errors += _use_errors(node, where, blocks)
            elif block_name is not None and node["op"] not in ops.names():
                try:
                    ops.get(node["op"])
                except GraphError as unknown:
                    errors.append(unknown.located(**where | {"path": f"{path}/op"}))
            if block_name is not None:
                for key, value, below in _substituted(node):
                    for param, at in _references(value, path + below):
                        if param not in params:
                            errors.append(SchemaError(
                                f"unknown parameter '${param}' (block '{block_name}' has parameters: {_few(list(params))})"
                                f"{suggest_param(param)}", **where | {"path": at}))
        if block_name is not None:
            errors += _block_errors(block_name, block, local)
    return errors or _recursion_errors(document)


def _block_errors(name, block, local):
    errors = []
    base = f"/blocks/{pointer([name])[1:]}"
    uses = {key for key, path in local.items() if "/nodes/" in path}
    for index, output in enumerate(block["outputs"]):
        head = output.split(".")[0]
        if output not in local and head not in uses:
            errors.append(GraphError(f"output '{output}' is not an input, a node or an instance of the block"
                                     f"{NameSuggester(local)(output)}", path=f"{base}/outputs/{index}", block=name))
    for param, spec in (block.get("params") or {}).items():
        if "default" in spec and "type" in spec and not _fits(spec["type"], spec["default"]):
            errors.append(SchemaError(f"default must be {_TYPE_WORDS[spec['type']]}; got {_show(spec['default'])}",
                                      path=f"{base}/params/{param}/default", block=name))
    return errors


def _use_errors(node, where, blocks):
    """A node that uses a block: the blocks exist, inputs and outputs fit, arguments are known and complete."""
    path = where["path"]
    first = node.get("first") or {}
    errors = []
    for key, block_name, at in (("block", node["block"], f"{path}/block"),
                                ("first", first.get("block"), f"{path}/first/block")):
        if block_name is not None and block_name not in blocks:
            errors.append(GraphError(f"no block named '{block_name}' (blocks: {_few(sorted(blocks))})"
                                     f"{NameSuggester(blocks)(block_name)}", **where | {"path": at}))
    if errors:
        return errors
    main = blocks[node["block"]]
    starts = blocks[first.get("block", node["block"])]
    first_name = first.get("block", node["block"])
    inputs = node.get("inputs", [])
    wanted = starts.get("inputs") or []
    if len(inputs) != len(wanted):
        errors.append(GraphError(f"block '{first_name}' takes {_count(len(wanted), 'input')}"
                                 f"{' (' + ', '.join(wanted) + ')' if wanted else ''}; got {len(inputs)}",
                                 **where | {"path": f"{path}/inputs" if "inputs" in node else path}))
    if "repeat" in node:
        ins, outs = len(main.get("inputs") or []), len(starts["outputs"])
        if ins != outs or len(main["outputs"]) != ins:
            errors.append(GraphError(
                f"a chain feeds each instance's outputs to the next one's inputs: block '{first_name}' gives "
                f"{_count(outs, 'output')}, block '{node['block']}' takes {_count(ins, 'input')} and gives "
                f"{_count(len(main['outputs']), 'output')}", **where | {"path": f"{path}/repeat"}))
    args, first_args = node.get("args") or {}, first.get("args") or {}
    used_by_args = [first_name] + ([node["block"]] if node["block"] != first_name and "repeat" in node else [])
    for block_name, given, at in [(b, args, f"{path}/args") for b in used_by_args] + \
            [(first_name, first_args, f"{path}/first/args")]:
        params = blocks[block_name].get("params") or {}
        unknown = [key for key in given if key not in params]
        for key in unknown[:5]:
            errors.append(SchemaError(f"block '{block_name}' has no parameter '{key}' (its parameters: "
                                      f"{_few(list(params))}){NameSuggester(params)(key)}",
                                      **where | {"path": f"{at}/{pointer([key])[1:]}"}))
    instances = [(first_name, args | first_args)] + ([(node["block"], args)] if "repeat" in node else [])
    for block_name, given in instances:
        missing = [param for param in _required(blocks[block_name]) if param not in given]
        if missing:
            errors.append(SchemaError(f"missing argument{'s' if len(missing) > 1 else ''} "
                                      f"{', '.join(repr(m) for m in missing)} of block '{block_name}'",
                                      **where | {"path": f"{path}/args" if "args" in node else path}))
    return list({(e.path, e.message): e for e in errors}.values())


def _recursion_errors(document):
    """A block that uses itself, directly or through others; blocks nested deeper than MAX_BLOCK_DEPTH."""
    blocks = document.get("blocks") or {}
    uses = {}  # block -> [(used block, JSON path of the use)]
    for block_name, prefix, nodes in _scopes(document):
        for index, node in enumerate(nodes):
            if "block" in node:
                for key, used in (("block", node["block"]), ("first/block", (node.get("first") or {}).get("block"))):
                    if used is not None:
                        uses.setdefault(block_name, []).append((used, f"{prefix}/{index}/{key}", node["name"]))
    depth = {}  # block -> the deepest nesting below it, once known
    state = {}  # block -> "open" while on the walk's stack
    for start in [None] + list(blocks):
        if start in depth:
            continue
        stack = [(start, iter(uses.get(start, [])))]
        state[start] = "open"
        trail = [start]
        while stack:
            block_name, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                stack.pop()
                trail.pop()
                state[block_name] = "done"
                depth[block_name] = 1 + max((depth[used] for used, _, _ in uses.get(block_name, [])), default=0)
                if depth[block_name] > MAX_BLOCK_DEPTH + 1:
                    return [LimitError(f"blocks are nested {depth[block_name] - 1} deep here; the limit is "
                                       f"{MAX_BLOCK_DEPTH}", path=f"/blocks/{pointer([block_name])[1:]}"
                                       if block_name else "/nodes", block=block_name)]
                continue
            used, path, node = step
            if state.get(used) == "open":
                cycle = trail[trail.index(used):] + [used]
                return [GraphError(f"block '{used}' uses itself: " + " -> ".join(cycle), path=path, node=node,
                                   block=block_name)]
            if used not in depth:
                state[used] = "open"
                trail.append(used)
                stack.append((used, iter(uses.get(used, []))))
    return []


_TYPE_WORDS = {"integer": "an integer", "number": "a number", "boolean": "true or false", "string": "a string",
               "name": "a node name", "shape": "a shape (an array of integers >= 1)", "array": "an array",
               "object": "an object"}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _fits(kind, value):
    return {"integer": _is_int, "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean": lambda v: isinstance(v, bool), "string": lambda v: isinstance(v, str),
            "name": lambda v: isinstance(v, str) and bool(_NAME.match(v)),
            "shape": lambda v: isinstance(v, list) and all(_is_int(d) and d >= 1 for d in v),
            "array": lambda v: isinstance(v, list), "object": lambda v: isinstance(v, dict)}[kind](value)


def _show(value):
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _size(value):
    """The number of JSON values in ``value``."""
    if isinstance(value, list):
        return 1 + sum(map(_size, value))
    if isinstance(value, dict):
        return 1 + sum(map(_size, value.values()))
    return 1


def _substitute(value, env):
    if isinstance(value, str):
        return env[value[1:]] if _REFERENCE.match(value) else value
    if isinstance(value, list):
        return [_substitute(item, env) for item in value]
    if isinstance(value, dict):
        return {key: _substitute(item, env) for key, item in value.items()}
    return value


# -- the cost of expanding, counted before expanding -------------------------------------------------------

@dataclass(frozen=True)
class _Cost:
    """What one instance of a block (or the top level) would make: ``nodes``, ``work`` (JSON values of its
    nodes, instances and their input/output links) and its ``longest`` name after the instance's path, with
    ``origin``, where that name is made: (the instance path below this one, the JSON path, the node's name
    there, the block it is written in)."""

    nodes: int
    work: int
    longest: str = ""
    origin: tuple = ("", None, None, None)


class _TooCostly(Exception):
    """Counting alone went past MAX_EXPANSION_WORK (and so would the expansion)."""


class _Measure:
    """The cost of expanding ``blocks``' instances, counted from the definitions without expanding: a chain of
    N instances is N times one, and a block is counted once per distinct value of the parameters its counts
    depend on (those that reach a ``repeat``; the expansion makes at least one instance for each, so counting
    never costs more than expanding; it stops at the same limit). ``errors(nodes)``: the LimitErrors of the top level ``nodes``, located where the expansion would
    cross the limit."""

    def __init__(self, blocks):
        self.blocks, self.costs, self.sizes, self.spent = blocks, {}, {}, 0
        self.counting = {}  # block -> the names of its parameters that its counts depend on

    def errors(self, nodes):
        try:
            total = self.scope(nodes, "/nodes", None, None)
        except _TooCostly:
            return [LimitError(f"the blocks are used with so many different arguments that counting their expansion "
                               f"takes more than {MAX_EXPANSION_WORK:,} steps; the limit is {MAX_EXPANSION_WORK:,}",
                               path="/blocks")]
        errors = []
        if _past(total.nodes, total.work):
            what = (f"{_large(total.nodes)} nodes; the limit is {MAX_NODES:,} nodes" if total.nodes > MAX_NODES
                    else f"{_large(total.work)} JSON values, instances and links; the limit is {MAX_EXPANSION_WORK:,}")
            where = self.crossing(nodes, "/nodes", None, None, "", [0, 0])
            errors.append(LimitError(f"expanding the blocks would make {what} (this is where it is passed)", **where))
        if len(total.longest) > MAX_NAME_LENGTH:
            name, (instance, path, node, block) = total.longest, total.origin
            shown = name if len(name) <= 90 else f"{name[:60]}...{name[-27:]}"
            errors.append(LimitError(
                f"the expanded name '{shown}' is {len(name)} characters long; names, their instance's path included, "
                f"have at most {MAX_NAME_LENGTH}: shorten the names of the instances or of the nodes in their blocks",
                path=path, node=node, **({"block": block, "instance": instance} if block is not None else {})))
        return errors

    def size(self, node):
        found = self.sizes.get(id(node))
        if found is None:
            found = self.sizes[id(node)] = _size(node)
        return found

    def bind(self, block_name, args):
        params = self.blocks[block_name].get("params") or {}
        return {name: args[name] if name in args else spec.get("default") for name, spec in params.items()}

    def instances(self, node, env):
        """[(count, block, its arguments, the suffix of the last one's name)] of the instances a use of a block
        makes, in order (``env``: the parameters of the block it is written in; None at the top level, where
        nothing is substituted); [] when its ``repeat`` is not valid (the expansion reports that)."""
        if env is not None:
            node = {key: _substitute(value, env) if key in ("repeat", "args", "first") else value
                    for key, value in node.items()}
        count, args, first = node.get("repeat"), node.get("args") or {}, node.get("first") or {}
        if count is not None and not (_is_int(count) and 1 <= count <= MAX_NODES):
            return []
        first_block = first.get("block", node["block"])
        first_args = args | first.get("args", {}) if isinstance(first.get("args", {}), dict) else args
        starts = (first_block, self.bind(first_block, first_args))
        if count is None:
            return [(1, *starts, "")]
        rest = [(count - 1, node["block"], self.bind(node["block"], args), f".block{count}")] if count > 1 else []
        return [(1, *starts, ".block1")] + rest

    def counted_by(self, block_name):
        """The parameters of a block that a ``repeat`` in it, or in the blocks it uses, depends on."""
        found = self.counting.get(block_name)
        if found is None:
            found = set()
            for node in self.blocks[block_name]["nodes"]:
                if "block" not in node:
                    continue
                found.update(param for param, _ in _references(node.get("repeat"), ""))
                first = node.get("first") if isinstance(node.get("first"), dict) else {}
                for used, args in ((node["block"], node.get("args")), (first.get("block", node["block"]),
                                                                        first.get("args"))):
                    wanted = self.counted_by(used)
                    for key, value in (args or {}).items() if isinstance(args, dict) else ():
                        if key in wanted:
                            found.update(param for param, _ in _references(value, ""))
            self.counting[block_name] = found
        return found

    def cost(self, block_name, env):
        import json

        key = (block_name, json.dumps({name: env[name] for name in sorted(self.counted_by(block_name))}))
        found = self.costs.get(key)
        if found is None:
            prefix = f"/blocks/{pointer([block_name])[1:]}/nodes"
            found = self.costs[key] = self.scope(self.blocks[block_name]["nodes"], prefix, block_name, env)
        return found

    def links(self, block_name):
        block = self.blocks[block_name]
        return 1 + len(block.get("inputs") or []) + len(block["outputs"])

    def scope(self, nodes, prefix_path, block_name, env):
        """The _Cost of one instance of a node list: a block's (with ``env``), or the top level's."""
        self.spent += 1 + len(nodes)
        if self.spent > MAX_EXPANSION_WORK:
            raise _TooCostly
        dot = "." if block_name is not None else ""
        made, work, longest, origin = 0, 0, "", ("", None, None, None)
        for index, node in enumerate(nodes):
            path = f"{prefix_path}/{index}"
            at_node = ("", f"{path}/name", node["name"], block_name)
            names = [(dot + node["name"], at_node)]
            if "block" not in node:
                made, work = made + 1, work + 1 + self.size(node)
            groups = self.instances(node, env) if "block" in node else []
            for count, used, used_env, last in groups:
                inner = self.cost(used, used_env)
                made, work = made + count * inner.nodes, work + count * (self.links(used) + inner.work)
                instance = dot + node["name"] + last  # the longest-named instance of the group
                names.append((instance + inner.longest, (instance + inner.origin[0], *inner.origin[1:])))
                names += [(f"{instance}.{name}", at_node) for name in self.blocks[used].get("inputs") or []]
            if groups and "repeat" in node:
                names += [(f"{dot}{node['name']}.{name}", at_node) for name in self.blocks[groups[-1][1]]["outputs"]]
            for name, where in names:
                if len(name) > len(longest):
                    longest, origin = name, where
        return _Cost(made, work, longest, origin)

    def crossing(self, nodes, prefix_path, block_name, env, instance, used):
        """The location (error keywords) of the node or instance at which expanding ``nodes`` (in ``instance``,
        after ``used`` = [nodes, work] were made) would pass a limit, found arithmetically."""
        for index, node in enumerate(nodes):
            path = f"{prefix_path}/{index}"
            where = {"path": path, "node": node["name"], **({"block": block_name, "instance": instance}
                                                              if block_name is not None else {})}
            if "block" not in node:
                used[0], used[1] = used[0] + 1, used[1] + 1 + self.size(node)
                if _past(*used):
                    return where
            full = f"{instance}.{node['name']}" if instance else node["name"]
            for number, (count, block, block_env, last) in enumerate(self.instances(node, env) if "block" in node
                                                                    else []):
                inner, links = self.cost(block, block_env), self.links(block)
                each = (inner.nodes, links + inner.work)
                if not _past(used[0] + count * each[0], used[1] + count * each[1]):
                    used[0], used[1] = used[0] + count * each[0], used[1] + count * each[1]
                    continue
                k = min(_first_past(used[0], each[0], MAX_NODES), _first_past(used[1], each[1], MAX_EXPANSION_WORK))
                used[0], used[1] = used[0] + (k - 1) * each[0], used[1] + (k - 1) * each[1] + links
                if _past(*used):
                    return where  # the instance itself (its links)
                path_k = full if not last else f"{full}.block{k + number}"  # the second group starts at block2
                return self.crossing(self.blocks[block]["nodes"], f"/blocks/{pointer([block])[1:]}/nodes", block,
                                     block_env, path_k, used)
        return {"path": prefix_path}


def _past(nodes, work):
    return nodes > MAX_NODES or work > MAX_EXPANSION_WORK


def _first_past(used, each, limit):
    """The first k >= 1 with used + k * each > limit (a large number when ``each`` is 0)."""
    return (limit - used) // each + 1 if each else 2**64


def _large(number):
    return f"{number:,}" if number < 10**15 else f"about {float(number):.1e}"


# -- expansion ---------------------------------------------------------------------------------------------

class _Expander:
    def __init__(self, blocks):
        self.blocks = blocks
        self.nodes, self.origins = [], []
        self.real = {}  # full name -> index of the expanded node
        self.aliases = {}  # name -> the name it stands for (block inputs, instance and chain outputs)
        self.multi = {}  # name of an instance or chain with several outputs -> its outputs
        self.checks = []  # (order, list or node index to write into, position, name, error location); resolve_all
        self.errors = {}  # (path, message) -> error: each reported once, for its first instance
        self.broken = set()  # names of instances and chains that could not be made (nothing reading them is reported)
        self.memo = {}  # id(definition node) -> its keys with references
        self.validated = set()  # (id(definition node), substituted values) already checked against the op
        self.suggesters = {}  # block name (None: the top level) -> NameSuggester of its names
        self.top = []

    def error(self, error):
        self.errors.setdefault((error.path, error.message), error)

    def keys_of(self, node):
        found = self.memo.get(id(node))
        if found is None:
            found = self.memo[id(node)] = _substituted_keys(node)
        return found

    def run(self, nodes):
        self.top = nodes
        items = self.scope(nodes, "/nodes", "", {}, None)
        self.resolve_all()
        if self.errors:
            return Expansion(None, errors=self.errors.values())
        return Expansion(self.nodes, self.origins, items)

    def scope(self, nodes, prefix_path, prefix, env, instance):
        items = []
        for index, node in enumerate(nodes):
            path = f"{prefix_path}/{index}"
            item = (self.use if "block" in node else self.op_node)(node, path, prefix, env, instance)
            if item is not None:
                items.append(item)
        return items

    def where(self, path, node, instance):
        return {"path": path, "node": node, **({"block": instance.block, "instance": instance.path} if instance else {})}

    def substituted(self, node, env, instance):
        keys = self.keys_of(node)
        if not keys or instance is None:
            return node
        return {key: (_substitute(value, env) if key in keys else value) for key, value in node.items()}

    def names(self, values, path, node, instance):
        """Node names from a list that references may have filled; a non-name is an error."""
        for position, value in enumerate(values):
            if not isinstance(value, str):
                self.error(SchemaError(f"must be a string (a node name); got {_show(value)}",
                                       **self.where(f"{path}/inputs/{position}", node, instance)))
                return None
        return values

    def add_name(self, name, where):
        if name in self.real or name in self.aliases:
            self.error(GraphError(f"name '{name}' is already used by {self.described(name)}", **where))
            return False
        return True

    def described(self, name):
        if name in self.real:
            origin = self.origins[self.real[name]]
            if origin.instance is None:
                return f"the node at {origin.path}"
            return f"node '{origin.local}' of {origin.instance.path} (block '{origin.instance.block}')"
        return "a block instance's input or output"

    def op_node(self, node, path, prefix, env, instance):
        local = node["name"]
        full = prefix + local
        expanded = self.substituted(node, env, instance)
        where = self.where(path, local, instance)
        inputs = self.names(expanded.get("inputs", []), path, local, instance)
        if inputs is None:
            return None
        if instance is not None and not instance.broken:
            self.check_params(node, expanded, where)
        if not self.add_name(full, where | {"path": f"{path}/name"}):
            return None
        index = len(self.nodes)
        expanded = {**expanded, "name": full}
        if inputs:
            expanded["inputs"] = [prefix + source for source in inputs]
            for position, source in enumerate(inputs):
                self.checks.append((1, index, position, prefix + source, where | {"path": f"{path}/inputs/{position}"}))
        self.nodes.append(expanded)
        self.origins.append(Origin(instance, path, local))
        self.real[full] = index
        return index

    def check_params(self, node, expanded, where):
        from graphnn.model.validate import describe, params_validator

        keys = self.keys_of(node)
        key = (id(node), repr([expanded[k] for k in keys]))
        if key in self.validated:
            return
        self.validated.add(key)
        op_class = ops.get(node["op"])
        for error in params_validator(op_class).iter_errors(expanded):
            at = where["path"] + pointer(list(error.absolute_path))
            self.error(SchemaError(describe(error), **where | {"path": at, "op": node["op"]}))

    def use(self, node, path, prefix, env, instance):
        local = node["name"]
        full = prefix + local
        where = self.where(path, local, instance)
        expanded = self.substituted(node, env, instance)
        inputs = self.names(expanded.get("inputs", []), path, local, instance)
        count = expanded.get("repeat")
        if count is not None and not (_is_int(count) and 1 <= count <= MAX_NODES):
            self.error(SchemaError(f"must be an integer from 1 to {MAX_NODES:,}; got {_show(count)}",
                                   **where | {"path": f"{path}/repeat"}))
            self.broken.add(full)
            return None
        if inputs is None or not self.add_name(full, where | {"path": f"{path}/name"}):
            self.broken.add(full)
            return None
        first = expanded.get("first") or {}
        args = {key: (value, f"{path}/args/{pointer([key])[1:]}") for key, value in (expanded.get("args") or {}).items()}
        first_args = {key: (value, f"{path}/first/args/{pointer([key])[1:]}")
                      for key, value in (first.get("args") or {}).items()}
        first_block = first.get("block", node["block"])
        sources = [(prefix + source, where | {"path": f"{path}/inputs/{position}"})
                   for position, source in enumerate(inputs)]
        if count is None:
            made = self.instance(full, first_block, args | first_args, sources, where, instance, None)
            last = made
        else:
            made = Chain(full, node["block"], count, path, instance)
            for k in range(1, count + 1):
                block_name = first_block if k == 1 else node["block"]
                last = self.instance(f"{full}.block{k}", block_name, args | first_args if k == 1 else args,
                                     sources, where, instance, made)
                made.items.append(last)
                sources = [(f"{last.path}.{output}", None) for output in self.blocks[block_name]["outputs"]]
        outputs = self.blocks[last.block]["outputs"]
        if count is not None:
            self.alias(full, last.path, where)
            for output in outputs:
                self.alias(f"{full}.{output}", f"{last.path}.{output}", where)
            if len(outputs) > 1:
                self.multi[full] = outputs
        return made

    def alias(self, name, target, where):
        if self.add_name(name, where | {"path": where["path"] + "/name"}):
            self.aliases[name] = target

    def instance(self, path, block_name, args, sources, where, parent, chain):
        block = self.blocks[block_name]
        made = Instance(path, block_name, where["path"], parent, chain)
        inputs = block.get("inputs") or []
        env, made.broken = self.bind(block_name, block, args, where)
        made.broken = made.broken or bool(parent and parent.broken)
        made.inputs, made.outputs = [None] * len(inputs), [None] * len(block["outputs"])
        for position, (name, (source, at)) in enumerate(zip(inputs, sources)):
            if self.add_name(f"{path}.{name}", where | {"path": where["path"] + "/name"}):
                self.aliases[f"{path}.{name}"] = source
            self.checks.append((0 if at is not None else 2, made.inputs, position, source, at))
        made.items = self.scope(block["nodes"], f"/blocks/{pointer([block_name])[1:]}/nodes", path + ".", env, made)
        base = f"/blocks/{pointer([block_name])[1:]}/outputs"
        for index, output in enumerate(block["outputs"]):
            self.checks.append((0, made.outputs, index, f"{path}.{output}",
                                {"path": f"{base}/{index}", "block": block_name, "instance": path}))
        if len(block["outputs"]) == 1:
            if self.add_name(path, where | {"path": where["path"] + "/name"}):
                self.aliases[path] = f"{path}.{block['outputs'][0]}"
        else:
            self.multi[path] = block["outputs"]
        return made

    def bind(self, block_name, block, args, where):
        """(the parameters' values, whether an argument broke its declared type)."""
        env, broken = {}, False
        for name, spec in (block.get("params") or {}).items():
            if name in args:
                value, at = args[name]
                if "type" in spec and not _fits(spec["type"], value):
                    self.error(SchemaError(f"argument '{name}' of block '{block_name}' must be "
                                           f"{_TYPE_WORDS[spec['type']]}; got {_show(value)}", **where | {"path": at}))
                    broken = True
                env[name] = value
            else:
                env[name] = spec["default"]  # a missing argument without a default is a definition error
        return env, broken

    def resolve(self, name, cache):
        """(the full name of the expanded node ``name`` stands for, or None; the last name reached; the names
        passed through), following block inputs and outputs; ``cache`` keeps what each name reached."""
        trail, seen = [], set()
        while name not in self.real and name not in cache:
            target = self.aliases.get(name)
            if target is None or name in seen:
                break
            trail.append(name)
            seen.add(name)
            name = target
        found = cache.get(name, (name, name, []) if name in self.real else (None, name, trail))
        for passed in trail:
            cache[passed] = found
        return found

    def resolve_all(self):
        """Each name read (block inputs, outputs, node inputs) to the node it stands for; a name that stands for
        nothing is reported once, where it is first read (block inputs and outputs before node inputs)."""
        cache, failed = {}, set()
        for order, into, position, candidate, where in sorted(self.checks, key=lambda check: check[0]):
            found, end, trail = self.resolve(candidate, cache)
            if found is not None:
                (self.nodes[into]["inputs"] if isinstance(into, int) else into)[position] = found
                continue
            if where is None:
                continue  # a chained instance's input: its predecessor's output, reported there
            if end in failed or end in self.broken or end.rpartition(".")[0] in self.broken:
                continue
            failed.add(end)
            self.error(GraphError(self.unknown(candidate, end, trail, where), **where))

    def unknown(self, candidate, end, trail, where):
        scope = where.get("instance")
        local = candidate[len(scope) + 1:] if scope and candidate.startswith(scope + ".") else candidate
        if end in trail:
            return f"'{local}' stands for itself through block instances: " + " -> ".join(trail + [end])
        if end in self.multi:
            outputs = self.multi[end]
            return f"'{end}' has {len(outputs)} outputs ({_few(outputs)}): name one, e.g. '{end}.{outputs[0]}'"
        block = where.get("block")
        if block not in self.suggesters:
            if block is None:
                names = [node["name"] for node in self.top]
            else:
                names = list(self.blocks[block].get("inputs") or []) + [node["name"] for node in self.blocks[block]["nodes"]]
            self.suggesters[block] = NameSuggester(names)
        stands = f" (it stands for '{end}')" if end != candidate else ""
        return f"'{local}' is not the name of any node{stands}{self.suggesters[block](local)}"
