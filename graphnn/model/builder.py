"""The graph-builder API: Python calls that write exactly the model file format.

    g = Graph("mlp784")
    x = g.data("image", shape=[784])
    y = g.data("label", shape=[10], field="y")
    h = g.activation(g.fc(x, 50, name="fc1"), "tanh", name="act1")
    g.loss(g.fc(h, 10, name="fc2"), y, "softmax_cross_entropy", name="loss")
    g.save("mlp.json")                  # or g.to_dict(), g.to_json(), g.build() -> Model

Every method returns the new node's name, which is what later nodes take as input. Besides the methods
written here, ``Graph`` has one method per registered op, generated from the op's parameter schema:
inputs positional, parameters by keyword, e.g. ``g.conv2d(x, filters=8, kernel=3)``,
``g.maxpool2d(c, kernel=2)``, ``g.batchnorm(h, momentum=0.8)``; ``help(Graph.conv2d)`` lists them.
Builder -> JSON -> load -> JSON is a fixed point, and ``Graph.from_dict`` turns any model document back
into a builder.

Blocks (graphnn/model/blocks.py) are Python functions that write a block: the first argument is the block's
own builder, the other positional ones its inputs (names), the keyword-only ones its parameters (each a
``"$name"`` reference while the block is written; an annotation int/float/bool/str/list gives its type,
a default its default); it returns the name(s) of its output(s):

    @g.block(doc="Two 3x3 convolutions and the input.")
    def basic(b, x, *, width: int, stride: int = 1):
        h = b.relu(b.batchnorm(b.conv2d(x, name="conv1", filters=width, kernel=3, stride=stride, padding=1)))
        return b.relu(b.add(b.conv2d(h, name="conv2", filters=width, kernel=3, padding=1), x), name="out")

    g.use(basic, "pool", name="stage1", repeat=2, width=64)        # or basic(g, "pool", ...)
    g.use("basic", "stage1", name="stage2", repeat=2, width=128, first={"block": "basic_down", "stride": 2})
"""

import copy
import inspect
import sys
from pathlib import Path

from graphnn import ops
from graphnn.model import load_model, model_from_dict
from graphnn.model.names import Numbering
from graphnn.model.schema import FORMAT
from graphnn.model.writer import dumps


class Param(str):
    """A block parameter while its block is written: the reference ``"$name"`` (a str, so it goes anywhere a
    value goes and is written as it is)."""


_TYPES = {int: "integer", float: "number", bool: "boolean", str: "string", list: "array", dict: "object"}


class Block:
    """A block defined with ``Graph.block``: ``block(graph, *inputs, name=..., **args)`` is ``graph.use(block, ...)``."""

    def __init__(self, name):
        self.name = name

    def __call__(self, graph, *inputs, **options):
        return graph.use(self, *inputs, **options)

    def __repr__(self):
        return f"<graphnn block {self.name!r}>"


class Graph:
    """A model document under construction."""

    def __init__(self, name, description=None, doc=None):
        self.name = name
        self.description = description
        self.doc = doc
        self.schema = None  # the "$schema" a file carries for editors
        self.blocks = {}
        self.nodes = []
        self._numbering = Numbering()  # automatic names, in time linear in the nodes
        self.train = None
        self.test = None

    def __repr__(self):
        return f"<graphnn.Graph {self.name!r}: {len(self.nodes)} nodes{', with train' if self.train else ''}>"

    def node(self, op, inputs=(), name=None, **params):
        """Add a node of any registered op; returns its name (``op`` + a number when not given)."""
        if name is None:  # op1, op2, ...: numbered from one more than the nodes of this op so far
            name = self._numbering.name(self.nodes, ("op", op), op)
        node = {"name": name, "op": op}
        if inputs:
            node["inputs"] = list(inputs)
        node.update(params)
        _check_node(node, len(self.nodes))
        self.nodes.append(node)
        return name

    def data(self, name, shape, field="x", **params):
        return self.node("data", name=name, shape=list(shape), field=field, **params)

    def fc(self, x, units, name=None, **params):
        return self.node("fc", [x], name, units=units, **params)

    def activation(self, x, function, name=None, **params):
        return self.node("activation", [x], name, function=function, **params)

    def relu(self, x, name=None):
        return self.activation(x, "relu", name)

    def tanh(self, x, name=None):
        return self.activation(x, "tanh", name)

    def sigmoid(self, x, name=None):
        return self.activation(x, "sigmoid", name)

    def dropout(self, x, ratio=0.5, name=None):
        return self.node("dropout", [x], name, ratio=ratio)

    def add(self, *xs, name=None, **params):
        return self.node("add", xs, name, **params)

    def concat(self, *xs, axis=1, name=None):
        return self.node("concat", xs, name, **({"axis": axis} if axis != 1 else {}))

    def reshape(self, x, shape, name=None, **params):
        return self.node("reshape", [x], name, shape=list(shape), **params)

    def flatten(self, x, name=None, **params):
        return self.node("flatten", [x], name, **params)

    def loss(self, prediction, label, function="softmax_cross_entropy", name=None, **params):
        return self.node("loss", [prediction, label], name, function=function, **params)

    def block(self, function=None, *, name=None, doc=None):
        """Define a block by a Python function that writes it (see the module's docstring); use as ``@g.block``
        or ``@g.block(name=..., doc=...)``. Returns a Block."""
        if function is None:
            return lambda function: self.block(function, name=name, doc=doc)
        name = name or function.__name__
        signature = inspect.signature(function)
        positional = [p for p in signature.parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        keywords = [p for p in signature.parameters.values() if p.kind == p.KEYWORD_ONLY]
        if not positional:
            raise TypeError(f"block {name!r}: the function's first argument is the block's builder")
        body = Graph(name)
        body.blocks = self.blocks  # a block may define and use other blocks
        inputs = [p.name for p in positional[1:]]
        params = {}
        for p in keywords:
            spec = {}
            if p.annotation in _TYPES:
                spec["type"] = _TYPES[p.annotation]
            if p.default is not p.empty:
                spec["default"] = p.default
            params[p.name] = spec
        outputs = function(body, *inputs, **{p.name: Param(f"${p.name}") for p in keywords})
        outputs = [outputs] if isinstance(outputs, str) else list(outputs or [])
        if not outputs or not all(isinstance(output, str) for output in outputs):
            raise TypeError(f"block {name!r}: the function must return the name of its output, or a list of names")
        block = {}
        if doc or function.__doc__:
            block["doc"] = doc or inspect.cleandoc(function.__doc__)
        block["inputs"] = inputs
        block["outputs"] = [str(output) for output in outputs]
        if params:
            block["params"] = params
        block["nodes"] = body.nodes
        self.blocks[name] = block
        return Block(name)

    def use(self, block, *inputs, name=None, repeat=None, first=None, doc=None, **args):
        """Add a node that uses ``block`` (a Block or a block's name) on ``inputs`` with ``args``; ``repeat``
        chains that many instances; ``first`` ({"block": ..., and arguments}) changes the chain's first one.
        Returns the node's name (the block's name + a number when not given)."""
        block = block.name if isinstance(block, Block) else block
        if name is None:
            name = self._numbering.name(self.nodes, ("block", block), block)
        node = {"name": name, "block": block}
        if doc is not None:
            node["doc"] = doc
        if inputs:
            node["inputs"] = [str(source) for source in inputs]
        if repeat is not None:
            node["repeat"] = repeat
        if args:
            node["args"] = args
        if first:
            first = dict(first)
            changed = {}
            if "block" in first:
                other = first.pop("block")
                changed["block"] = other.name if isinstance(other, Block) else other
            if first:
                changed["args"] = first
            node["first"] = changed
        self.nodes.append(node)
        return name

    def set_train(self, **section):
        """The ``train`` section: data, batch_size, iterations or epochs, solver, lr, ..."""
        self.train = section
        return self

    def set_test(self, **section):
        """The ``test`` section: data and batch_size."""
        self.test = section
        return self

    def to_dict(self):
        document = {"$schema": self.schema} if self.schema else {}
        document |= {"format": FORMAT, "name": self.name}
        if self.description:
            document["description"] = self.description
        if self.doc:
            document["doc"] = self.doc
        if self.blocks:
            document["blocks"] = copy.deepcopy(self.blocks)
        document["nodes"] = copy.deepcopy(self.nodes)
        for key in ("train", "test"):
            if getattr(self, key) is not None:
                document[key] = copy.deepcopy(getattr(self, key))
        return document

    def to_json(self):
        return dumps(self.to_dict())

    def build(self):
        """Validate and plan the graph; returns a graphnn.Model (graphnn/api.py: fit, evaluate, predict, save;
        or raises ModelInvalid with every error)."""
        from graphnn.api import Model

        return Model.of(model_from_dict(self.to_dict()))

    def save(self, path):
        """Validate, then write the model file."""
        self.build()
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def from_dict(cls, document):
        graph = cls(document.get("name", "model"), document.get("description"), document.get("doc"))
        graph.schema = document.get("$schema")
        graph.blocks = copy.deepcopy(document.get("blocks") or {})
        graph.nodes = copy.deepcopy(document["nodes"])
        graph.train = copy.deepcopy(document.get("train"))
        graph.test = copy.deepcopy(document.get("test"))
        return graph

    @classmethod
    def load(cls, path):
        """A builder holding a validated model file."""
        return cls.from_dict(load_model(path).document)


def _holds_reference(value):
    """Whether ``value`` holds a block parameter ("$name"), which only the block's expansion can check."""
    if isinstance(value, str):
        return value.startswith("$")
    if isinstance(value, dict):
        return any(_holds_reference(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_reference(item) for item in value)
    return False


def _check_node(node, index):
    """ModelInvalid, at the builder call that adds ``node`` (the ``index``-th), when its op is unknown or its
    parameters break the op's schema; what needs the whole graph (inputs, shapes) waits for build() and save()."""
    from graphnn.errors import GraphError, ModelInvalid, SchemaError
    from graphnn.model.jsontext import pointer
    from graphnn.model.validate import describe, params_validator

    if _holds_reference(node):
        return
    try:
        op_class = ops.get(node["op"])
    except GraphError as unknown:
        raise ModelInvalid([unknown.located(path=f"/nodes/{index}/op", node=node["name"])]) from None
    errors = [SchemaError(describe(error), path=pointer(["nodes", index, *error.absolute_path]), node=node["name"],
                          op=node["op"]) for error in params_validator(op_class).iter_errors(node)]
    if errors:
        raise ModelInvalid(errors)


class _Default:
    """A parameter's schema default as a signature shows it; the node is written without it."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return repr(self.value)


def _op_method(op_class):
    """``Graph.<op>(*inputs, name=None, **params)`` for ``op_class``, with a signature and docstring from
    its schema: a missing required or an unknown parameter is a TypeError naming it."""
    op, schema = op_class.name, op_class.params_schema
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
    if op_class.n_inputs != 0:
        parameters.append(inspect.Parameter("inputs", inspect.Parameter.VAR_POSITIONAL))
    parameters.append(inspect.Parameter("name", inspect.Parameter.KEYWORD_ONLY, default=None))
    for key, spec in schema["properties"].items():
        default = inspect.Parameter.empty if key in schema["required"] else _Default(spec.get("default"))
        parameters.append(inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=default))
    parameters.append(inspect.Parameter("doc", inspect.Parameter.KEYWORD_ONLY, default=None))  # free text
    signature = inspect.Signature(parameters)

    def method(self, *inputs, name=None, doc=None, **params):
        try:
            signature.bind(self, *inputs, name=name, **params)
        except TypeError as error:
            raise TypeError(f"Graph.{op}(): {error}") from None
        return self.node(op, inputs, name, **params, **({"doc": doc} if doc is not None else {}))

    summary = (sys.modules[op_class.__module__].__doc__ or "").strip()
    keys = "\n".join(f"    {key}: {spec.get('description', '')}".rstrip() for key, spec in schema["properties"].items())
    method.__name__ = method.__qualname__ = op
    method.__signature__ = signature
    method.__doc__ = f"Add a '{op}' node; returns its name.\n\n{summary}\n\nParameters:\n{keys or '    (none)'}"
    return method


for _op in ops.names():  # the methods written above stay as they are
    if not hasattr(Graph, _op):
        setattr(Graph, _op, _op_method(ops.get(_op)))
