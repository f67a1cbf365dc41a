"""What the visualiser draws, read from a model file, a bundle (``.gnn``) or a run directory.

A ``View`` holds the nodes (name, op, parameters, shapes, parameter count, errors, weight statistics),
the edges (producer -> consumer, labelled with the producer's output shape), the model's errors worded
exactly as ``graphnn check`` words them, and, for a run directory, the training curves.

An invalid model is read as far as it goes: the errors come from ``model_from_text`` (so the stages
and their wording are the loader's own), and the drawing is built from the raw parsed document. Nodes
keep their place even when names repeat; inputs that name no node are left out; edges that close a
cycle are kept but flagged; shapes that cannot be inferred are None (drawn as '?').

A model with blocks (graphnn/model/blocks.py) also has ``groups``: one GroupView per block instance and per
repeated chain, nested as in the file, and ``top``, the ids of what its top level holds (nodes and groups).
The drawing shows each group collapsed, as one box, with a control that opens its own drawing.
"""

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx
import numpy as np

from graphnn import ops
from graphnn.errors import GraphnnError, ModelInvalid, ShapeError
from graphnn.io.bundle import MAGIC, load_bundle
from graphnn.io.regular import require_regular_file
from graphnn.model import jsontext, model_from_text, read_text
from graphnn.model.plan import build_op, weight_count
from graphnn.model.schema import NODE_KEYS
from graphnn.ops.base import defaults
from graphnn.ops.registry import input_count_range
from graphnn.viz.plot import finite

HISTOGRAM_BINS = 32
MAX_CURVE_POINTS = 2000  # per series; longer series are thinned evenly (the last point is kept)
_NODE_PATH = re.compile(r"^/nodes/(\d+)(?:/|$)")


@dataclass
class NodeView:
    """One node as drawn. ``id`` ("n" + position in the file) is unique even when names repeat."""

    id: str
    index: int
    name: str
    op: str
    inputs: list  # input names as written
    written: dict  # parameters as written in the file
    params: dict  # parameters with the op's defaults filled in (= written when the op is unknown)
    in_shapes: list = field(default_factory=list)  # a tuple or None per input
    out_shape: tuple = None
    parameters: int = None  # trained weights' element count; None when the shapes are unknown
    flops: int = None
    errors: list = field(default_factory=list)  # str(error), as `graphnn check` prints them
    weights: dict = field(default_factory=dict)  # weight name -> array_stats(...)
    state: dict = field(default_factory=dict)  # state name -> array_stats(...)
    diff: str = None  # viz --diff (graphnn/viz/diffview.py): added, removed, changed, renamed or weights
    diff_notes: list = field(default_factory=list)  # what changed, a line each
    group: str = None  # the id of the innermost block instance it belongs to, or None


@dataclass
class GroupView:
    """A block instance (``kind`` "instance") or a repeated chain of them ("chain", ``count`` instances),
    drawn as one box. ``id`` is "g" + a number; ``members`` are the ids of the nodes and groups right inside."""

    id: str
    path: str  # "stage2", "stage2.block3"
    block: str
    kind: str
    count: int = 1
    first: str = None  # a chain's first instance's block, when it is another
    parent: str = None  # the id of the group it lies in, or None at the top level
    members: list = field(default_factory=list)
    nodes: int = 0  # expanded nodes inside, at any depth
    parameters: int = 0
    flops: int = 0
    use_path: str = None  # JSON path of the node that made it


@dataclass
class EdgeView:
    source: str  # node ids
    target: str
    position: int  # which input of the target
    shape: tuple = None  # the source's output shape
    cyclic: bool = False  # removed to break a cycle (drawn, but not used for layering)


@dataclass
class View:
    name: str
    source: str  # the path it was read from
    kind: str  # "model", "bundle" or "run"
    description: str = ""
    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)
    errors: list = field(default_factory=list)  # every model error, one line each
    metadata: dict = field(default_factory=dict)  # a bundle's metadata
    summary: dict = field(default_factory=dict)  # a run's summary.json
    curves: dict = field(default_factory=dict)  # "loss"|"accuracy"|"lr" -> {phase: [(iteration, value)]}
    notes: list = field(default_factory=list)  # things skipped while reading, e.g. a bad metrics line
    diff_against: str = None  # viz --diff: the source the nodes' diff marks compare with
    groups: dict = field(default_factory=dict)  # group id -> GroupView (a model with blocks)
    top: list = None  # ids of the top level's nodes and groups; None: every node (no groups)

    def members(self, scope=None):
        """The ids of what scope ``scope`` (a group id; None: the top level) holds, in file order."""
        if scope is not None:
            return self.groups[scope].members
        return self.top if self.top is not None else [node.id for node in self.nodes]

    @property
    def total_parameters(self):
        return sum(node.parameters or 0 for node in self.nodes)


def shape_text(shape):
    """A shape without its batch dimension, e.g. (32, 14, 14) -> "32×14×14"; unknown -> "?"."""
    if shape is None:
        return "?"
    return "×".join(str(d) for d in shape) or "scalar"


def load_view(path, flat=False):
    """A View of a model file (.json), a bundle (.gnn) or a run directory; see the module docstring. ``flat``:
    a model's block instances are not grouped (every node at the top level)."""
    path = Path(path)
    if path.is_dir():
        return _run_view(path, flat)
    require_regular_file(path)  # a named pipe would block reading forever
    try:
        with open(path, "rb") as file:
            is_bundle = path.suffix == ".gnn" or file.read(len(MAGIC)) == MAGIC
    except OSError:
        is_bundle = False  # reading the model file will say what is wrong
    return _bundle_view(path, flat=flat) if is_bundle else _model_file_view(path, flat)


def _model_file_view(path, flat=False):
    file = str(path)
    try:
        text = read_text(path)
    except GraphnnError as error:
        return View(path.stem, file, "model", errors=[str(error)])
    try:
        return view_of_model(model_from_text(text, file=file), file, expand=flat)
    except ModelInvalid as invalid:
        errors = invalid.errors
    try:
        document, _ = jsontext.parse(text, file=file)
    except GraphnnError:
        document = None
    return view_of_document(document, errors, file)


def _bundle_view(path, kind="bundle", flat=False):
    bundle = load_bundle(path)
    view = view_of_model(bundle.model, str(path), kind, expand=flat)
    view.metadata = bundle.metadata
    for node in view.nodes:
        node.weights = {name: array_stats(array) for name, array in bundle.weights.get(node.name, {}).items()}
        node.state = {name: array_stats(array) for name, array in bundle.state.get(node.name, {}).items()}
    return view


def _run_view(folder, flat=False):
    bundle = folder / "model.gnn"
    if not bundle.exists():
        raise GraphnnError("not a run directory: it has no model.gnn (written by `graphnn run` when training "
                           "ends)", file=str(folder))
    view = _bundle_view(bundle, "run", flat)
    view.source = str(folder)
    metrics = folder / "metrics.jsonl"
    if metrics.exists():
        try:
            view.curves, view.notes = read_curves(metrics)
        except GraphnnError as error:
            view.notes.append(f"{error}; no training curves")
    else:
        view.notes.append(f"{metrics}: not found; no training curves")
    summary = folder / "summary.json"
    if summary.exists():
        try:  # read as a model file is (size limit, UTF-8), parsed with the nesting limit
            view.summary = jsontext.load_json(read_text(summary), file=str(summary))
        except GraphnnError as error:
            view.notes.append(f"{error}; summary left out")
        if not isinstance(view.summary, dict):
            view.notes.append(f"{summary}: not a JSON object; summary left out")
            view.summary = {}
    return view


def view_of_model(model, source, kind="model", expand=False):
    """A View of a valid Model: shapes and counts come from its plan; with blocks, their groups (unless
    ``expand``: every node at the top level)."""
    plan = model.plan
    view = _frame(model.document, source, kind)
    by_name = {}
    for step in sorted(plan.steps, key=lambda s: s.index):
        node = _node_of(step.index, model.nodes[step.index])
        node.params = dict(step.op.params)
        node.in_shapes = list(step.in_shapes)
        node.out_shape = step.out_shape
        node.parameters = plan.parameter_count(step)
        node.flops = plan.flops(step)
        view.nodes.append(node)
        by_name[node.name] = node
    view.edges = [EdgeView(by_name[source].id, node.id, position, by_name[source].out_shape)
                  for node in view.nodes for position, source in enumerate(node.inputs)]
    if model.expansion.has_blocks and not expand:
        _add_groups(view, model.expansion)
    return view


def _add_groups(view, expansion):
    """The view's groups and top level from the expansion's tree of instances and chains."""
    from graphnn.model.blocks import Chain

    nodes = {node.index: node for node in view.nodes}

    def walk(items, parent):
        ids = []
        for item in items:
            if isinstance(item, int):
                nodes[item].group = parent
                ids.append(nodes[item].id)
                continue
            group = GroupView(f"g{len(view.groups)}", item.path, item.block,
                              "chain" if isinstance(item, Chain) else "instance", parent=parent,
                              use_path=item.use_path)
            view.groups[group.id] = group
            if isinstance(item, Chain):
                group.count = item.count
                if item.items and item.items[0].block != item.block:
                    group.first = item.items[0].block
            group.members = walk(item.items, group.id)
            ids.append(group.id)
        return ids

    view.top = walk(expansion.items, None)
    for node in view.nodes:  # counts add up along each node's groups
        group = view.groups.get(node.group)
        while group is not None:
            group.nodes += 1
            group.parameters += node.parameters or 0
            group.flops += node.flops or 0
            group = view.groups.get(group.parent)


def view_of_document(document, errors, source):
    """A View of a possibly invalid parsed document and its errors (GraphnnError objects)."""
    view = _frame(document, source, "model")
    view.errors = [str(error) for error in errors]
    nodes = document.get("nodes") if isinstance(document, dict) else None
    if not isinstance(nodes, list):
        return view
    view.nodes = [_node_of(index, node) for index, node in enumerate(nodes)]
    _attach_errors(view.nodes, errors)
    graph = _tolerant_graph(view)
    _infer_shapes(view, graph, skip={index for index, error in _errors_by_index(view.nodes, errors)
                                     if not isinstance(error, ShapeError)})
    shapes = {node.id: node.out_shape for node in view.nodes}
    for edge in view.edges:
        edge.shape = shapes[edge.source]
    return view


def _frame(document, source, kind):
    document = document if isinstance(document, dict) else {}
    name = document.get("name")
    description = document.get("description")
    return View(name if isinstance(name, str) else Path(source).stem, source, kind,
                description if isinstance(description, str) else "")


def _node_of(index, node):
    """A NodeView of one raw node entry, whatever it holds."""
    node = node if isinstance(node, dict) else {}
    name, op, inputs = node.get("name"), node.get("op"), node.get("inputs")
    written = {key: value for key, value in node.items() if key not in NODE_KEYS}
    return NodeView(
        id=f"n{index}", index=index,
        name=name if isinstance(name, str) else f"#{index}",
        op=op if isinstance(op, str) else node["block"] if isinstance(node.get("block"), str) else "?",
        inputs=[source for source in inputs if isinstance(source, str)] if isinstance(inputs, list) else [],
        written=written, params=dict(written))


def _first_by_name(nodes):
    """name -> the first node of that name (the one inputs refer to, as in graphnn.model.rules)."""
    first = {}
    for node in nodes:
        first.setdefault(node.name, node)
    return first


def _errors_by_index(nodes, errors):
    """(node index, error) for each error that points into a node (by JSON path, else by name)."""
    first = _first_by_name(nodes)
    for error in errors:
        match = _NODE_PATH.match(error.path or "")
        if match and int(match.group(1)) < len(nodes):
            yield int(match.group(1)), error
        elif error.node in first:
            yield first[error.node].index, error


def _attach_errors(nodes, errors):
    for index, error in _errors_by_index(nodes, errors):
        nodes[index].errors.append(str(error))


def _tolerant_graph(view):
    """The DAG of the nodes' resolvable inputs; fills view.edges (cycle-closing edges flagged)."""
    first = _first_by_name(view.nodes)
    graph = nx.DiGraph()
    graph.add_nodes_from(node.id for node in view.nodes)
    for node in view.nodes:
        for position, source in enumerate(node.inputs):
            if source in first:
                view.edges.append(EdgeView(first[source].id, node.id, position))
                graph.add_edge(first[source].id, node.id)
    while True:
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            break
        source, target = cycle[-1][:2]
        graph.remove_edge(source, target)
        for edge in view.edges:
            if (edge.source, edge.target) == (source, target):
                edge.cyclic = True
    return graph


def _infer_shapes(view, graph, skip):
    """Infer the shapes that can be inferred, in topological order, by building each node's op as the plan
    does (``build_op``). Nodes in ``skip`` (indices of nodes with schema or graph errors), of an unknown
    op, with the wrong number of inputs, with an input of unknown shape or whose op cannot be built keep None."""
    by_id = {node.id: node for node in view.nodes}
    first = _first_by_name(view.nodes)
    known = set(ops.names())
    for node_id in nx.lexicographical_topological_sort(graph, key=lambda i: by_id[i].index):
        node = by_id[node_id]
        if node.index in skip or node.op not in known:
            continue
        op_class = ops.get(node.op)
        node.params = defaults(op_class.params_schema) | node.written
        low, high = input_count_range(op_class)
        sources = [first.get(name) for name in node.inputs]
        node.in_shapes = [source.out_shape if source else None for source in sources]
        if not low <= len(sources) <= (high if high is not None else math.inf) or None in node.in_shapes:
            continue
        written = {"name": node.name, "op": node.op, "inputs": node.inputs, **node.written}
        try:
            op = build_op(node.index, written, node.in_shapes)
        except (GraphnnError, TypeError, ValueError, KeyError, IndexError):
            # a size limit stops validation before the parameters are checked, so they may be anything
            continue
        node.out_shape, node.parameters, node.flops = op.out_shape, weight_count(op), op.flops()


def array_stats(array, bins=HISTOGRAM_BINS):
    """Shape, dtype, min, max, mean, std and a histogram of an array's finite values."""
    values = np.asarray(array, dtype=np.float64).ravel()
    finite = values[np.isfinite(values)]
    stats = {"shape": list(np.shape(array)), "dtype": str(np.asarray(array).dtype), "size": int(values.size),
             "nonfinite": int(values.size - finite.size)}
    if finite.size:
        counts, edges = np.histogram(finite, bins=bins)
        stats.update(min=float(finite.min()), max=float(finite.max()), mean=float(finite.mean()),
                     std=float(finite.std()), histogram={"counts": counts.tolist(), "edges": edges.tolist()})
    return stats


def read_curves(path):
    """({"loss"|"accuracy"|"lr": {phase: [(iteration, value), ...]}}, notes) from a metrics.jsonl file."""
    curves, notes = {}, []
    require_regular_file(path)  # a named pipe would block reading forever
    with open(path, encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = jsontext.load_json(line)  # nesting limited: no RecursionError
            except GraphnnError:
                notes.append(f"{path}:{number}: not a JSON object; skipped")
                continue
            if not isinstance(record, dict) or not _is_number(record.get("iteration")):
                notes.append(f"{path}:{number}: no numeric 'iteration'; skipped")
                continue
            phase = record.get("phase") if isinstance(record.get("phase"), str) else "train"
            for metric in ("loss", "accuracy", "lr"):
                if _is_number(record.get(metric)):
                    curves.setdefault(metric, {}).setdefault(phase, []).append((record["iteration"], record[metric]))
    return {metric: {phase: _thin(points) for phase, points in series.items()}
            for metric, series in curves.items()}, notes


def _is_number(value):
    return finite(value) is not None  # (math.isfinite(10**400) would raise OverflowError)


def _thin(points, limit=MAX_CURVE_POINTS):
    if len(points) <= limit:
        return points
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]
