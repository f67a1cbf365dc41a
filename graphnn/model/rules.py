"""The graph's own rules, checked on a schema-valid node list: unique names, inputs that exist, the
right number of inputs per op, no consumers of a loss, no cycles. Returns a networkx DiGraph whose
edges run producer -> consumer, with the input position on each edge."""

import bisect

import networkx as nx

from graphnn import ops
from graphnn.errors import GraphError
from graphnn.model.limits import MAX_NAME_LENGTH
from graphnn.ops.registry import input_count_range, suggest


def _count_words(low, high):
    if high is None:
        return f"at least {low} inputs"
    return f"{low} input{'s' if low != 1 else ''}" if low == high else f"{low} to {high} inputs"


CYCLE_ENDS = 4  # names shown at each end of a long cycle


class NameSuggester:
    """"did you mean" among many node names at a bounded cost per lookup: difflib compares the unknown
    name with at most CANDIDATES names, those next to it in sorted order (sharing its beginning) and next
    to it in the order of reversed names (sharing its end), so that a model whose every node reads a
    missing name is checked in linear time. Among at most CANDIDATES names, all are compared."""

    CANDIDATES = 16

    def __init__(self, names):
        self.names = sorted(names)
        self.reversed = sorted(name[::-1] for name in self.names)

    def __call__(self, name):
        if len(self.names) <= self.CANDIDATES:
            return suggest(name, self.names)
        reach = self.CANDIDATES // 4
        at, back = bisect.bisect_left(self.names, name), bisect.bisect_left(self.reversed, name[::-1])
        candidates = self.names[max(0, at - reach):at + reach] + \
            [found[::-1] for found in self.reversed[max(0, back - reach):back + reach]]
        return suggest(name, dict.fromkeys(candidates))


def _reported(op_name):
    """"a loss" or "a metric" for an op whose scalar output is only reported (no batch axis), else None."""
    if op_name not in ops.names():
        return None
    op_class = ops.get(op_name)
    return "a loss" if op_class.is_loss else "a metric" if op_class.is_metric else None


def graph_errors(nodes):
    """(DiGraph, errors): the graph of a schema-valid node list and every rule it breaks."""
    graph = nx.DiGraph()
    errors = []
    first_index = {}
    suggest_name = None
    for index, node in enumerate(nodes):
        name = node["name"]
        if name in first_index:
            errors.append(GraphError(f"name '{name}' is already used by the node at /nodes/{first_index[name]}",
                                     path=f"/nodes/{index}/name", node=name))
            continue
        first_index[name] = index
        graph.add_node(name, index=index, op=node["op"])
    for index, node in enumerate(nodes):
        name, inputs = node["name"], node.get("inputs", [])
        if first_index[name] != index:
            continue
        if node["op"] not in ops.names():
            continue  # reported by the schema stage
        low, high = input_count_range(ops.get(node["op"]))
        if len(inputs) < low or (high is not None and len(inputs) > high):
            errors.append(GraphError(f"op {node['op']} takes {_count_words(low, high)}; got {len(inputs)}",
                                     path=f"/nodes/{index}/inputs", node=name, op=node["op"]))
        for position, source in enumerate(inputs):
            where = {"path": f"/nodes/{index}/inputs/{position}", "node": name}
            if source not in first_index and len(source) > MAX_NAME_LENGTH:
                errors.append(GraphError(f"{source[:40]!r}... ({len(source):,} characters) is not the name of any "
                                         f"node: names have at most {MAX_NAME_LENGTH}", **where))
            elif source not in first_index:
                suggest_name = suggest_name or NameSuggester(first_index)
                errors.append(GraphError(f"{source!r} is not the name of any node{suggest_name(source)}", **where))
            elif _reported(nodes[first_index[source]]["op"]):
                kind = _reported(nodes[first_index[source]]["op"])
                errors.append(GraphError(f"{source!r} is {kind}; {kind}'s output cannot feed another node", **where))
            elif graph.has_edge(source, name):
                errors.append(GraphError(f"{source!r} is named twice among the inputs", **where))
            else:
                graph.add_edge(source, name, position=position)
    if not errors:
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            cycle = None
        if cycle:
            names = [edge[0] for edge in cycle] + [cycle[0][0]]
            if len(names) > 2 * CYCLE_ENDS:  # a line of a few names, whatever the cycle's length
                names = names[:CYCLE_ENDS] + ["..."] + names[-CYCLE_ENDS:]
            first = min(cycle, key=lambda edge: graph.nodes[edge[1]]["index"])[1]
            size = f" of {len(cycle):,} nodes" if len(cycle) > 2 * CYCLE_ENDS else ""
            errors.append(GraphError(f"graph has a cycle{size}: " + " -> ".join(names),
                                     path=f"/nodes/{graph.nodes[first]['index']}/inputs", node=first))
    return graph, errors
