"""The plan: a validated graph compiled once into ordered steps, each with its op built for its input shapes.

The order is a topological sort of the DAG (networkx), ties broken by position in the file, so a chain
written in order runs in that order. Shapes exclude the batch dimension. Each op is constructed once,
here, from its node's parameters and its inputs' shapes (``build_op``), and never changes afterwards.
"""

import math
from dataclasses import dataclass

import networkx as nx

from graphnn import ops
from graphnn.errors import GraphnnError, LimitError, ShapeError
from graphnn.model.limits import MAX_DIMENSIONS, MAX_PARAMETERS, MAX_TENSOR_ELEMENTS
from graphnn.model.schema import NODE_KEYS


def build_op(index, node, in_shapes):
    """The op of node ``node`` (at ``/nodes/index``) built for ``in_shapes``; a ShapeError or other
    GraphnnError from construction is located at the node (inputs named when there are several)."""
    name, inputs = node["name"], node.get("inputs", [])
    params = {key: value for key, value in node.items() if key not in NODE_KEYS}
    where = {"node": name, "op": node["op"], "path": f"/nodes/{index}"}
    try:
        op = ops.get(node["op"])(name, params, in_shapes)
    except ShapeError as error:
        if len(inputs) > 1:  # ops number their inputs; name them
            error.message += " (inputs: " + ", ".join(f"{i} = '{n}'" for i, n in enumerate(inputs)) + ")"
        raise error.located(**where)
    except GraphnnError as error:
        raise error.located(**where)
    for shape in (op.out_shape, *op.weight_shapes.values(), *op.state_shapes.values()):
        _check_shape(shape, where)
    return op


def weight_count(op):
    """The number of trained weight values of an op."""
    return sum(math.prod(shape) for shape in op.weight_shapes.values())


@dataclass
class Step:
    """One node in execution order: its op, the names of the nodes feeding it, and which of those
    inputs need a gradient (``needs``: one bool per input, handed to ``op.backward``)."""

    name: str
    index: int  # position in the model file's node list
    op: ops.base.Op
    inputs: list  # names of the input nodes, in input order
    needs: tuple = ()

    @property
    def in_shapes(self):
        return self.op.in_shapes

    @property
    def out_shape(self):
        return self.op.out_shape

    @property
    def weight_shapes(self):
        return self.op.weight_shapes


class Plan:
    """Ordered steps of a graph; ``steps[k].inputs`` always name earlier steps."""

    def __init__(self, nodes, graph):
        order = nx.lexicographical_topological_sort(graph, key=lambda name: graph.nodes[name]["index"])
        by_name = {node["name"]: (index, node) for index, node in enumerate(nodes)}
        self.steps = []
        self.shapes = {}
        needs_gradient = {}  # node -> whether its output needs a gradient: a trained weight lies at or above it
        for name in order:
            index, node = by_name[name]
            inputs = list(node.get("inputs", []))
            op = build_op(index, node, [self.shapes[source] for source in inputs])
            needs = tuple(needs_gradient[source] for source in inputs)
            needs_gradient[name] = bool(op.weight_shapes) or any(needs)
            self.shapes[name] = op.out_shape
            self.steps.append(Step(name, index, op, inputs, needs))
        self.by_name = {step.name: step for step in self.steps}
        total = self.parameter_count()
        if total > MAX_PARAMETERS:
            raise LimitError(f"the network has {total:,} parameters; the limit is {MAX_PARAMETERS:,}")

    def steps_until(self, name):
        """The steps needed to compute node ``name``, in order."""
        needed = {name}
        for step in reversed(self.steps):
            if step.name in needed:
                needed.update(step.inputs)
        return [step for step in self.steps if step.name in needed]

    @property
    def inputs(self):
        return [step for step in self.steps if step.op.is_input]

    @property
    def losses(self):
        return [step for step in self.steps if step.op.is_loss]

    def parameter_count(self, step=None):
        steps = [step] if step else self.steps
        return sum(weight_count(s.op) for s in steps)

    def flops(self, step):
        """Forward FLOPs of one step for one sample."""
        return step.op.flops()


def _check_shape(shape, where):
    if len(shape) > MAX_DIMENSIONS:
        raise LimitError(f"shape {shape} has {len(shape)} dimensions; the limit is {MAX_DIMENSIONS}", **where)
    if any(d < 1 for d in shape):
        raise ShapeError(f"shape {shape} has a dimension below 1", **where)
    if math.prod(shape) > MAX_TENSOR_ELEMENTS:
        raise LimitError(f"shape {shape} has {math.prod(shape):,} elements; the limit is {MAX_TENSOR_ELEMENTS:,}",
                         **where)
