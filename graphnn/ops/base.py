"""The contract every op keeps, and the small helpers op modules share.

An op is one kind of node. It declares, as class attributes:

- ``name``: the ``"op"`` string used in model files;
- ``n_inputs``: how many inputs it takes, an int or ``(min, max)`` with ``max=None`` for "any number";
- ``params_schema``: a JSON Schema (an object schema) for the keys it reads from its node.

and implements, with shapes written *without* the batch dimension:

- ``infer_shape(in_shapes) -> out_shape``: raise ``ShapeError`` (message only) when inputs do not fit;
- ``weight_shapes(in_shapes) -> {name: shape}`` and ``init_weights(in_shapes, rng, dtype)``;
- ``forward(weights, xs, ctx) -> (y, cache)`` and ``backward(weights, cache, dy) -> (dxs, grads)``.
  What backward needs travels in ``cache``; ``dxs`` has one entry per input (``None`` where the input
  gets no gradient, e.g. a label) and ``grads`` one array per weight. ``self.input_grads[i]`` is False
  when no gradient is needed for input i (e.g. it is fed data): backward may skip that work;
- ``flops(in_shapes, out_shape)``: forward floating-point operations for one sample.

``examples`` lists a few ``{"params": {...}, "inputs": [shape, ...]}`` cases; the test suite runs every
registered op on each (schema, shape inference against forward, numerical gradient check), and the
docs show them.
"""

from dataclasses import dataclass, field

import numpy as np

from graphnn.ops import fillers


@dataclass
class ForwardContext:
    """What a forward pass knows besides weights and inputs.

    ``train`` selects training behaviour (dropout, batch statistics); ``rng`` is the run's seeded
    generator; ``state`` is this node's non-trained state (e.g. running means), updated in place.
    """

    train: bool = False
    rng: np.random.Generator = None
    state: dict = field(default_factory=dict)


def object_schema(properties, required=()):
    """An op's parameter schema: an object with exactly these keys."""
    return {"type": "object", "properties": properties, "required": list(required),
            "additionalProperties": False}


class Op:
    """Base class of all ops; see the module docstring for the contract."""

    name = None
    n_inputs = 1
    params_schema = object_schema({})
    is_input = False  # a data node: its value is fed, not computed
    is_loss = False  # a loss node: its scalar output is minimised
    decayed_weights = ("W",)  # weights that get weight decay unless the node says otherwise
    examples = ()

    def __init__(self, node, params):
        """``params`` are the node's validated keys; defaults from ``params_schema`` fill the rest."""
        self.node = node
        defaults = {key: spec["default"] for key, spec in self.params_schema["properties"].items()
                    if "default" in spec}
        self.params = {**defaults, **params}
        self.input_grads = (True,) * 8  # set per input by the plan

    def infer_shape(self, in_shapes):
        raise NotImplementedError

    def weight_shapes(self, in_shapes):
        return {}

    def init_weights(self, in_shapes, rng, dtype):
        return {name: np.zeros(shape, dtype) for name, shape in self.weight_shapes(in_shapes).items()}

    def state_shapes(self, in_shapes):
        return {}

    def init_state(self, in_shapes, dtype):
        return {name: np.zeros(shape, dtype) for name, shape in self.state_shapes(in_shapes).items()}

    def forward(self, weights, xs, ctx):
        raise NotImplementedError

    def backward(self, weights, cache, dy):
        raise NotImplementedError

    def flops(self, in_shapes, out_shape):
        return 0


FILLER_SCHEMA = {
    "description": "Weight filler: a name, or an object with its settings.",
    "oneOf": [
        {"enum": sorted(fillers.FILLERS)},
        {"type": "object", "required": ["type"], "additionalProperties": False,
         "properties": {"type": {"enum": sorted(fillers.FILLERS)},
                        "std": {"type": "number", "exclusiveMinimum": 0},
                        "value": {"type": "number"}}},
    ],
}

TRAINABLE_PROPERTIES = {
    "lr_mult": {"type": "number", "minimum": 0, "default": 1.0,
                "description": "Multiplies the learning rate of this node's weights (Caffe's lr_mult)."},
    "decay_mult": {"type": "number", "minimum": 0, "default": 1.0,
                   "description": "Multiplies the weight decay of this node's weights (Caffe's decay_mult)."},
}


def fill(spec, shape, fan_in, fan_out, rng, dtype):
    """Initialise an array of ``shape`` with the filler ``spec`` (a name or ``{"type": ...}``)."""
    if isinstance(spec, str):
        spec = {"type": spec}
    options = {key: value for key, value in spec.items() if key != "type"}
    return fillers.FILLERS[spec["type"]](shape, fan_in, fan_out, rng, **options).astype(dtype, copy=False)
