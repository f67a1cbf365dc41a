"""The plan: a validated graph compiled once into ordered steps with every shape inferred.

The order is a topological sort of the DAG (networkx), ties broken by position in the file, so a chain
written in order runs in that order. Shapes exclude the batch dimension.
"""

import math
from dataclasses import dataclass

import networkx as nx

from graphnn import ops
from graphnn.errors import GraphnnError, LimitError, ShapeError
from graphnn.model.limits import MAX_DIMENSIONS, MAX_PARAMETERS, MAX_TENSOR_ELEMENTS
from graphnn.model.schema import NODE_KEYS


@dataclass
class Step:
    """One node in execution order: its op instance, the steps feeding it, and shapes."""

    name: str
    index: int  # position in the model file's node list
    op: ops.base.Op
    inputs: list  # names of the input nodes, in input order
    in_shapes: list
    out_shape: tuple
    weight_shapes: dict


class Plan:
    """Ordered steps of a graph; ``steps[k].inputs`` always name earlier steps."""

    def __init__(self, nodes, graph):
        order = nx.lexicographical_topological_sort(graph, key=lambda name: graph.nodes[name]["index"])
        by_name = {node["name"]: (index, node) for index, node in enumerate(nodes)}
        self.steps = []
        self.shapes = {}
        for name in order:
            index, node = by_name[name]
            op_class = ops.get(node["op"])
            params = {key: value for key, value in node.items() if key not in NODE_KEYS}
            op = op_class(name, params)
            inputs = list(node.get("inputs", []))
            in_shapes = [self.shapes[source] for source in inputs]
            where = {"node": name, "op": node["op"], "path": f"/nodes/{index}"}
            try:
                out_shape = tuple(op.infer_shape(in_shapes))
                weight_shapes = {key: tuple(shape) for key, shape in op.weight_shapes(in_shapes).items()}
            except ShapeError as error:
                if len(inputs) > 1:  # ops number their inputs; name them
                    error.message += " (inputs: " + ", ".join(f"{i} = '{n}'" for i, n in enumerate(inputs)) + ")"
                raise error.located(**where)
            except GraphnnError as error:
                raise error.located(**where)
            _check_shape(out_shape, where)
            for shape in weight_shapes.values():
                _check_shape(shape, where)
            self.shapes[name] = out_shape
            self.steps.append(Step(name, index, op, inputs, in_shapes, out_shape, weight_shapes))
        self.by_name = {step.name: step for step in self.steps}
        self._mark_needed_gradients()
        total = self.parameter_count()
        if total > MAX_PARAMETERS:
            raise LimitError(f"the network has {total:,} parameters; the limit is {MAX_PARAMETERS:,}")

    def _mark_needed_gradients(self):
        """An input needs a gradient when a trained weight lies at or above it."""
        needs = {}
        for step in self.steps:
            step.op.input_grads = tuple(needs[source] for source in step.inputs)
            needs[step.name] = bool(step.weight_shapes) or any(step.op.input_grads)

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
        return sum(math.prod(shape) for s in steps for shape in s.weight_shapes.values())

    def flops(self, step):
        """Forward FLOPs of one step for one sample."""
        return step.op.flops(step.in_shapes, step.out_shape)


def _check_shape(shape, where):
    if len(shape) > MAX_DIMENSIONS:
        raise LimitError(f"shape {shape} has {len(shape)} dimensions; the limit is {MAX_DIMENSIONS}", **where)
    if any(d < 1 for d in shape):
        raise ShapeError(f"shape {shape} has a dimension below 1", **where)
    if math.prod(shape) > MAX_TENSOR_ELEMENTS:
        raise LimitError(f"shape {shape} has {math.prod(shape):,} elements; the limit is {MAX_TENSOR_ELEMENTS:,}",
                         **where)
