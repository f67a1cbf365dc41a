"""The contract every op keeps, and the small helpers op modules share.

An op is one kind of node. Shapes are written *without* the batch dimension. A subclass declares, as
class attributes:

- ``name``: the ``"op"`` string of model files; ``n_inputs``: an int or ``(min, max)``, ``max=None``
  for "any number"; ``params_schema``: an object schema of the keys it reads from its node (the model
  schema, the builder's methods and the contract tests are generated from it); ``examples``: a few
  ``{"params": {...}, "inputs": [shape, ...]}`` cases the contract tests run;
- ``is_input`` (a data node: fed, not computed), ``is_loss`` (its scalar output is minimised),
  ``is_metric`` (its scalar output is reported beside the losses, never trained: accuracy);
- ``decayed_weights``: the weights that get weight decay (default ``("W",)``);
- ``applies_epilogue``: ``forward`` applies ``ctx.epilogue``, when set, to its output (default False).

**Construction, once.** ``op = OpClass(node, params, in_shapes)`` fills the defaults of
``params_schema`` into ``op.params`` and works out, from the input shapes alone:

- ``op.in_shapes`` (tuple of tuples) and ``op.out_shape`` — the subclass's ``infer_shape(in_shapes)``,
  which raises ``ShapeError`` (message only; the plan says where) when the inputs do not fit, and may
  keep what else it derives from the shapes (conv's padding) as attributes;
- ``op.weight_shapes`` / ``op.state_shapes``: ``{name: shape}`` of the trained weights and of the
  running state (saved, not trained) — the subclass's ``declare_weights()`` / ``declare_state()``;
- ``op.loss_weight`` (the loss's weight in the objective ``sum(loss_weight * L)``; 0.0 for an op
  that is not a loss), ``op.multipliers``: ``{weight: (lr_mult, decay_mult)}`` from the node's ``lr_mult``
  and ``decay_mult`` (1.0 unless the node sets them: a number for all its weights, or {weight: number}).

After construction nothing changes: assigning an attribute raises AttributeError, so an op can be
shared and called in any order. What one pass needs travels explicitly:

- ``init_weights(rng, dtype)`` / ``init_state(dtype)`` -> ``{name: array}`` of the declared shapes
  (default: zeros);
- ``forward(weights, xs, ctx) -> (y, cache)``: ``ctx`` is a ``ForwardContext``;
- ``overwritable() -> positions``: the inputs whose arrays ``forward`` can compute its output in, when
  ``ctx.overwrite`` names one (default none: an element-wise op of its input's shape and dtype names it,
  so that inference needs no new array for it);
- ``in_place_function() -> f or None``: for an op of one input computed element by element, ``f(array)``
  turning an input array into the output in place (the same bits as ``forward``), which a producer that
  ``applies_epilogue`` can run as its ``ctx.epilogue``; default None;
- ``backward(weights, cache, dy, needs, grads) -> dxs``: ``needs`` has one bool per input (Caffe's
  ``propagate_down``): False means return None there and skip that work. ``grads`` holds one array per
  weight, of the weight's shape and dtype, owned by the caller; backward OVERWRITES each fully
  (``np.matmul(..., out=grads["W"])``, ``grads["b"][...] = ...``); it is ``{}`` for weightless ops.
  ``dxs`` has one entry per input: its gradient, or None;
- ``metrics(xs) -> dict`` (default ``{}``; softmax_cross_entropy and accuracy nodes report an accuracy)
  and ``metrics_reported()``, the names of the keys it returns;
- ``flops() -> int``: forward floating-point operations for one sample;
- ``export_onnx(emit, step)``: write the ONNX nodes whose last output is the tensor ``step.name``
  (``graphnn/interop/onnx_export.py`` holds the emitter); the default refuses, naming the op;
- ``onnx_imports``: ONNX op types the importer turns into this op with ``import_onnx(importer, node,
  attributes)`` (class-level; the default takes an attribute-free ONNX node whose inputs are all computed
  tensors as one node of this op). The importer's own handlers cover the ops it already knew.

A new op is one module with one class decorated ``@register``, plus its import in ``graphnn/ops/__init__.py``.
"""

from dataclasses import dataclass, field

import numpy as np

from graphnn.errors import GraphnnError, ShapeError


@dataclass
class ForwardContext:
    """What a forward pass knows besides weights and inputs.

    ``train`` selects training behaviour (dropout, batch statistics); ``rng`` is the run's seeded
    generator; ``state`` is this node's non-trained state (e.g. running means), updated in place.
    ``overwrite``: the position of an input whose array the op may compute its output in (one of those
    ``Op.overwritable`` names), or None; the executor sets it only at inference (forward with ``keep``),
    for an input that this node reads last and nothing else refers to, so the op returns no cache then.
    ``epilogue``: None, or an element-wise function (array -> None, in place) that an op which
    ``applies_epilogue`` applies to its finished output, a block at a time while each block is in cache:
    the executor sets it at inference for the following node (``Op.in_place_function``) when that node is
    the only reader, and runs that node no more.
    """

    train: bool = False
    rng: np.random.Generator = None
    state: dict = field(default_factory=dict)
    overwrite: int = None
    epilogue: object = None


def object_schema(properties, required=()):
    """An op's parameter schema: an object with exactly these keys."""
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


def multiplier_schema(what):
    """A node's ``lr_mult`` or ``decay_mult``: one number for all its weights, or {weight name: number}."""
    number = {"type": "number", "minimum": 0}
    return {"type": ["number", "object"], "minimum": 0, "default": 1.0,
            "additionalProperties": number, "propertyNames": {"minLength": 1, "maxLength": 64},
            "description": f"Multiplies the {what} of this node's weights (Caffe's per-blob param): a number for "
                           f"all of them, or {{weight name: number}} (names left out: 1), e.g. {{\"W\": 1, \"b\": 2}}."}


TRAINABLE_PROPERTIES = {"lr_mult": multiplier_schema("learning rate"), "decay_mult": multiplier_schema("weight decay")}

LOSS_PROPERTIES = {
    "loss_weight": {"type": "number", "minimum": 0, "default": 1.0,
                    "description": "Weight of this loss in the objective sum(loss_weight * loss)."},
}


def defaults(schema):
    """{key: default} of an object schema's properties that declare one."""
    return {key: spec["default"] for key, spec in schema["properties"].items() if "default" in spec}


def reshaped(array, shape):
    """A view of ``array`` with ``shape``; ValueError instead of a silent copy (writes must reach ``array``)."""
    view = array.reshape(shape)
    if not np.may_share_memory(view, array):
        raise ValueError(f"an array of shape {array.shape} and strides {array.strides} cannot be seen as {shape}")
    return view


class Op:
    """Base class of all ops; see the module docstring for the contract."""

    name = None
    n_inputs = 1
    params_schema = object_schema({})
    is_input = False  # a data node: its value is fed, not computed
    is_loss = False  # a loss node: its scalar output is minimised
    is_metric = False  # a metric node: its scalar output is reported, never trained
    decayed_weights = ("W",)  # weights that get weight decay unless the node says otherwise
    applies_epilogue = False  # forward applies ctx.epilogue to its output
    examples = ()
    onnx_imports = ()  # ONNX op types that import_onnx turns into this op

    def __init__(self, node, params, in_shapes):
        """Fill ``params`` (the node's validated keys) with the schema's defaults; infer every shape."""
        self.node = node
        self.params = {**defaults(self.params_schema), **params}
        self.in_shapes = tuple(tuple(shape) for shape in in_shapes)
        self.out_shape = tuple(self.infer_shape(self.in_shapes))
        self.weight_shapes = {key: tuple(shape) for key, shape in self.declare_weights().items()}
        self.state_shapes = {key: tuple(shape) for key, shape in self.declare_state().items()}
        self.loss_weight = float(self.params["loss_weight"]) if self.is_loss else 0.0
        self.multipliers = self._multipliers()
        self._built = True

    def _multipliers(self):
        """{weight: (lr_mult, decay_mult)} from the node's ``lr_mult`` and ``decay_mult`` (numbers or {weight:
        number}); a name that is not one of the weights is a ShapeError listing them."""
        columns = []
        for key in TRAINABLE_PROPERTIES:
            value = self.params.get(key, 1.0)
            if isinstance(value, dict):
                unknown = sorted(set(value) - set(self.weight_shapes))
                if unknown:
                    raise ShapeError(f"{key} names weight {unknown[0]!r}, which this node does not have; its weights: "
                                     f"{', '.join(self.weight_shapes) or 'none'}")
                columns.append({name: float(value.get(name, 1.0)) for name in self.weight_shapes})
            else:
                columns.append(dict.fromkeys(self.weight_shapes, float(value)))
        return {name: (columns[0][name], columns[1][name]) for name in self.weight_shapes}

    def __setattr__(self, key, value):
        if getattr(self, "_built", False):
            raise AttributeError(f"op '{self.node}' ({self.name}) is immutable after construction; "
                                 f"cannot set {key!r}")
        super().__setattr__(key, value)

    def __repr__(self):
        return f"<{type(self).__name__} '{self.node}': {self.in_shapes} -> {self.out_shape}>"

    # --- construction hooks: called once, by __init__ -------------------------------------------------

    def infer_shape(self, in_shapes):
        """The output shape for these input shapes; ShapeError (message only) when they do not fit."""
        raise NotImplementedError

    def declare_weights(self):
        """{name: shape} of the trained weights, from ``self.params`` and ``self.in_shapes``."""
        return {}

    def declare_state(self):
        """{name: shape} of the running state (saved with the network, not trained)."""
        return {}

    # --- the contract -----------------------------------------------------------------------------------

    def init_weights(self, rng, dtype):
        return {name: np.zeros(shape, dtype) for name, shape in self.weight_shapes.items()}

    def init_state(self, dtype):
        return {name: np.zeros(shape, dtype) for name, shape in self.state_shapes.items()}

    def forward(self, weights, xs, ctx):
        raise NotImplementedError

    def backward(self, weights, cache, dy, needs, grads):
        raise NotImplementedError

    def overwritable(self):
        return ()

    def in_place_function(self):
        return None

    def metrics(self, xs):
        return {}

    def metrics_reported(self):
        return ()

    def flops(self):
        return 0

    @classmethod
    def import_onnx(cls, importer, node, attributes):
        """Add ONNX ``node`` (of a type in ``onnx_imports``) to ``importer`` (graphnn/interop/onnx_import.py)
        as one node of this op reading the same inputs; attributes or constant inputs are refused."""
        if attributes:
            importer.fail(f"attributes {', '.join(sorted(attributes))} are not supported by graphnn's {cls.name}",
                          node)
        importer.add(node, cls.name, [importer.tensor(node, index) for index in range(len(node.input))])

    def export_onnx(self, emit, step):
        from graphnn.ops.registry import exportable

        raise GraphnnError(f"op '{self.name}' has no ONNX export; exportable ops: {', '.join(exportable())}",
                           node=step.name, op=self.name)
