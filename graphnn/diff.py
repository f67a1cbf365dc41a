"""The difference of two networks: model files, bundles or run folders (graphnn/io/sources.py), in any
combination. ``graphnn diff`` prints it and ``graphnn viz A --diff B`` colours it.

    difference = diff_sources(load_source("a.json"), load_source("runs/b"))
    difference.same                      # False
    difference.changes                   # [Change("renamed", "fc3", "name", "fc3", "head"), ...]
    difference.weights                   # [WeightChange("fc1", "W", (784, 50), max_abs, rel_norm), ...]

Nodes are compared after blocks are expanded, by name. A node of A missing from B that has a namesake in op
and inputs among B's new nodes (inputs compared through the renames found so far, in A's order) was
renamed; the others were removed, B's remaining new nodes added. Each node in both (or renamed) is
compared by op, inputs, parameters, output shape and weight shapes; the train and test sections key by
key (JSON paths); and when both sides carry weights (bundles, run folders), every weight of the same node,
name and shape by its largest absolute change and its relative norm ||b - a|| / ||a||.
"""

from dataclasses import asdict, dataclass, field

import numpy as np

from graphnn.model.schema import NODE_KEYS

SECTIONS = ("train", "test")


@dataclass
class Change:
    kind: str  # added, removed, renamed, changed, setting
    node: str  # the node (B's name for a renamed one), or "" for a setting
    what: str  # "node", "op", "inputs", "output", a parameter, "weight W", or a setting's JSON path
    a: object = None
    b: object = None


@dataclass
class WeightChange:
    node: str
    name: str
    shape: tuple
    max_abs: float
    rel_norm: float


@dataclass
class Difference:
    a: str
    b: str
    changes: list = field(default_factory=list)
    weights: list = field(default_factory=list)  # only when both sides carry weights
    renamed: dict = field(default_factory=dict)  # A's name -> B's name

    @property
    def same(self):
        return not self.changes and not any(change.max_abs for change in self.weights)

    def to_json(self):
        return {"a": self.a, "b": self.b, "same": self.same, "renamed": self.renamed,
                "changes": [asdict(change) for change in self.changes],
                "weights": [{**asdict(change), "shape": list(change.shape),
                             "rel_norm": change.rel_norm if np.isfinite(change.rel_norm) else None}  # JSON: no inf
                            for change in self.weights]}

    def nodes_of(self, side):
        """{node name on ``side`` ("a" or "b"): its kind of change} (what the visualiser colours)."""
        marks = {}
        back = {new: old for old, new in self.renamed.items()}
        for change in self.changes:
            if not change.node:
                continue
            if change.kind == "removed" and side == "a" or change.kind == "added" and side == "b":
                marks[change.node] = change.kind
            elif change.kind in ("renamed", "changed"):
                name = back.get(change.node, change.node) if side == "a" else change.node
                marks.setdefault(name, change.kind)
        for change in self.weights:
            if change.max_abs:
                name = back.get(change.node, change.node) if side == "a" else change.node
                marks.setdefault(name, "weights")
        return marks


def _params(node):
    return {key: value for key, value in node.items() if key not in NODE_KEYS}


def _match_renames(a_nodes, b_nodes):
    """{A's name: B's name} for removed nodes whose op and (renamed) inputs equal an added node's."""
    added = [name for name in b_nodes if name not in a_nodes]
    renamed = {}
    for name, node in a_nodes.items():
        if name in b_nodes:
            continue
        inputs = [renamed.get(source, source) for source in node.get("inputs", [])]
        candidates = [other for other in added if b_nodes[other]["op"] == node["op"]
                      and list(b_nodes[other].get("inputs", [])) == inputs]
        if candidates:  # the one with the same parameters first
            best = next((c for c in candidates if _params(b_nodes[c]) == _params(node)), candidates[0])
            renamed[name] = best
            added.remove(best)
    return renamed


def _flatten(value, path=""):
    """{JSON path: leaf value} of a section (lists are leaves)."""
    if isinstance(value, dict):
        out = {}
        for key in sorted(value):
            out.update(_flatten(value[key], f"{path}/{key}"))
        return out
    return {path: value}


def _shape(value):
    return None if value is None else list(value)


def diff_sources(a, b):
    """The Difference of two Sources."""
    difference = Difference(a.path, b.path)
    changes = difference.changes
    a_nodes = {node["name"]: node for node in a.model.nodes}
    b_nodes = {node["name"]: node for node in b.model.nodes}
    renamed = difference.renamed = _match_renames(a_nodes, b_nodes)
    new_names = set(renamed.values())
    for name, node in a_nodes.items():
        if name not in b_nodes and name not in renamed:
            changes.append(Change("removed", name, "node", node["op"], None))
    for name, node in b_nodes.items():
        if name not in a_nodes and name not in new_names:
            changes.append(Change("added", name, "node", None, node["op"]))
    a_plan, b_plan = a.model.plan.by_name, b.model.plan.by_name
    for old, node in a_nodes.items():
        new = renamed.get(old, old)
        if new not in b_nodes:
            continue
        other = b_nodes[new]
        if new != old:
            changes.append(Change("renamed", new, "name", old, new))
        if node["op"] != other["op"]:
            changes.append(Change("changed", new, "op", node["op"], other["op"]))
        inputs = [renamed.get(source, source) for source in node.get("inputs", [])]
        if inputs != list(other.get("inputs", [])):
            changes.append(Change("changed", new, "inputs", node.get("inputs", []), other.get("inputs", [])))
        ours, theirs = _params(node), _params(other)
        for key in sorted(set(ours) | set(theirs)):
            if ours.get(key) != theirs.get(key):
                changes.append(Change("changed", new, key, ours.get(key), theirs.get(key)))
        step_a, step_b = a_plan[old], b_plan[new]
        if step_a.out_shape != step_b.out_shape:
            changes.append(Change("changed", new, "output", _shape(step_a.out_shape), _shape(step_b.out_shape)))
        shapes_a, shapes_b = step_a.weight_shapes, step_b.weight_shapes
        for key in sorted(set(shapes_a) | set(shapes_b)):
            if shapes_a.get(key) != shapes_b.get(key):
                changes.append(Change("changed", new, f"weight {key}", _shape(shapes_a.get(key)),
                                      _shape(shapes_b.get(key))))
        if a.bundle is not None and b.bundle is not None:
            for key in sorted(set(shapes_a) & set(shapes_b)):
                if shapes_a[key] == shapes_b[key]:
                    difference.weights.append(_weight_change(new, key, a.bundle.weights[old][key],
                                                             b.bundle.weights[new][key]))
    for section in SECTIONS:
        ours = _flatten(a.model.document.get(section) or {}, f"/{section}")
        theirs = _flatten(b.model.document.get(section) or {}, f"/{section}")
        for path in sorted(set(ours) | set(theirs)):
            if ours.get(path) != theirs.get(path):
                changes.append(Change("setting", "", path, ours.get(path), theirs.get(path)))
    if a.model.name != b.model.name:
        changes.append(Change("setting", "", "/name", a.model.name, b.model.name))
    return difference


def _weight_change(node, name, a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    delta = b - a
    norm = float(np.linalg.norm(a))
    change = float(np.linalg.norm(delta))
    relative = change / norm if norm else (0.0 if change == 0 else float("inf"))
    return WeightChange(node, name, tuple(a.shape), float(np.abs(delta).max()), relative)
