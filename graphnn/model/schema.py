"""The model file's JSON Schema, generated from the op registry.

Two schemas come from here. ``envelope_schema()`` checks the file's frame — sections, node names, ops,
inputs — and lets each node carry any further keys; each node's own keys are then checked against its
op's ``params_schema`` (validation in two stages, so no error is lost inside a ``oneOf``).
``model_schema()`` is the single schema for editors: the envelope plus one ``if op == X then ...``
per op. ``tools/generate_schema.py`` writes it to ``schemas/model.schema.json``.

The train and test sections' schemas are the one home of their defaults (``"default"`` keys): a run's
settings (graphnn/train/settings.py) fill what a file leaves out with ``with_defaults``.
"""

from graphnn import ops
from graphnn.model.limits import MAX_NAME_LENGTH, MAX_NODES
from graphnn.train.lr_policies import POLICIES

FORMAT = "graphnn/1"
NODE_KEYS = ("name", "op", "inputs")
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]*(?!\n)$"  # (?!\n): Python's $ also matches before a final newline

NAME = {"type": "string", "pattern": NAME_PATTERN, "minLength": 1, "maxLength": MAX_NAME_LENGTH,
        "description": "Unique node name: a letter or _, then letters, digits, _ . -"}

def dataset_schema(split):
    """A data section; ``split`` is the split it reads when it names none."""
    return {
        "type": "object", "additionalProperties": False,
        "description": "Where samples come from: a named dataset or a file (.npz, .mat, IDX).",
        "properties": {
            "dataset": {"enum": ["mnist", "fashion-mnist"]},
            "path": {"type": "string", "minLength": 1,
                     "description": "A .npz or .mat file, or a folder of IDX files; a relative path is taken "
                                    "from the folder of the file that holds the model."},
            "split": {"enum": ["train", "test"], "default": split},
            "limit": {"type": "integer", "minimum": 1, "description": "Use only the first `limit` samples."},
        },
        "oneOf": [{"required": ["dataset"]}, {"required": ["path"]}],
    }


SOLVER = {
    "type": "object", "additionalProperties": False, "required": ["type"],
    "description": "The update rule; formulas in graphnn/train/solvers.py.",
    "properties": {
        "type": {"enum": ["sgd", "nesterov", "adam"]},
        "momentum": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.0},
        "weight_decay": {"type": "number", "minimum": 0, "default": 0.0},
        "decay_biases": {"type": "boolean", "default": False, "description": "Apply weight decay to biases too."},
        "beta1": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.9},
        "beta2": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.999},
        "epsilon": {"type": "number", "exclusiveMinimum": 0, "default": 1e-8},
        "clip_gradients": {"type": "number", "exclusiveMinimum": 0,
                           "description": "Rescale gradients whose global L2 norm exceeds this (absent: never)."},
    },
}

LEARNING_RATE = {
    "type": "object", "additionalProperties": False, "required": ["policy", "base_lr"],
    "description": "Learning-rate policy; formulas in graphnn/train/lr_policies.py.",
    "properties": {
        "policy": {"enum": list(POLICIES)},
        "base_lr": {"type": "number", "exclusiveMinimum": 0},
        "gamma": {"type": "number"},
        "power": {"type": "number"},
        "step_size": {"type": "integer", "minimum": 1},
        "steps": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
        "max_iter": {"type": "integer", "minimum": 1, "description": "poly/cosine horizon; absent: the run's iterations."},
        "min_lr": {"type": "number", "minimum": 0, "default": 0.0, "description": "cosine floor."},
    },
    "allOf": [{"if": {"properties": {"policy": {"const": name}}},
               "then": {"required": list(policy.needs)}} for name, policy in POLICIES.items() if policy.needs],
}

TRAIN = {
    "type": "object", "additionalProperties": False, "required": ["data", "batch_size", "solver", "lr"],
    "description": "How `graphnn run` trains the network.",
    "properties": {
        "data": dataset_schema("train"),
        "batch_size": {"type": "integer", "minimum": 1},
        "iterations": {"type": "integer", "minimum": 1},
        "epochs": {"type": "number", "exclusiveMinimum": 0},
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1, "default": 0},
        "dtype": {"enum": ["float32", "float64"], "default": "float32"},
        "solver": SOLVER,
        "lr": LEARNING_RATE,
        "test_interval": {"type": "integer", "minimum": 0, "default": 0,
                          "description": "Test every this many iterations; 0: only after the last."},
        "display_interval": {"type": "integer", "minimum": 1, "default": 10},
        "snapshot_interval": {"type": "integer", "minimum": 0, "default": 0,
                              "description": "Write a snapshot every this many iterations; 0: only after the "
                                             "last and on a stop signal."},
    },
    "oneOf": [{"required": ["iterations"]}, {"required": ["epochs"]}],
}

TEST = {
    "type": "object", "additionalProperties": False, "required": ["data"],
    "description": "How `graphnn run` and `graphnn test` evaluate the network.",
    "properties": {"data": dataset_schema("test"), "batch_size": {"type": "integer", "minimum": 1, "default": 1000}},
}


def with_defaults(section, schema):
    """``section`` (an object of the model file) with the schema's default for every key it leaves out."""
    defaults = {key: entry["default"] for key, entry in schema["properties"].items() if "default" in entry}
    return {**defaults, **section}


def _node_envelope(op_names):
    op = {"enum": op_names} if op_names else {"type": "string"}
    return {
        "type": "object", "required": ["name", "op"],
        "properties": {"name": NAME, "op": op,
                       "inputs": {"type": "array", "items": {"type": "string"},
                                  "description": "Names of the nodes whose outputs feed this node."}},
    }


def _document(node_schema):
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://graphnn.dev/schemas/model.schema.json",
        "title": "graphnn model",
        "type": "object", "additionalProperties": False, "required": ["format", "nodes"],
        "properties": {
            "format": {"const": FORMAT},
            "name": NAME,
            "description": {"type": "string"},
            "nodes": {"type": "array", "minItems": 1, "maxItems": MAX_NODES, "items": node_schema},
            "train": TRAIN,
            "test": TEST,
        },
    }


def envelope_schema():
    """Stage one: the file's frame; each node's own keys are left to its op."""
    return _document(_node_envelope(None))


def node_params_schema(op_class):
    """Stage two: the keys one node of this op may have (its params plus name, op, inputs)."""
    schema = dict(op_class.params_schema)
    schema["properties"] = {key: True for key in NODE_KEYS} | schema["properties"]
    return schema


def model_schema():
    """The whole schema, for editors and for the checked-in ``schemas/model.schema.json``."""
    node = _node_envelope(ops.names())
    node["allOf"] = [
        {"if": {"properties": {"op": {"const": name}}, "required": ["op"]},
         "then": node_params_schema(ops.get(name))}
        for name in ops.names()
    ]
    return _document(node)
