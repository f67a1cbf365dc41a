"""The model file's JSON Schema, generated from the op registry.

Two schemas come from here. ``envelope_schema()`` checks the file's frame — sections, node names, ops,
inputs — and lets each node carry any further keys; each node's own keys are then checked against its
op's ``params_schema`` (validation in two stages, so no error is lost inside a ``oneOf``).
``model_schema()`` is the single schema for editors: the envelope plus one ``if op == X then ...``
per op. ``tools/generate_schema.py`` writes it to ``schemas/model.schema.json``.

A file may define ``blocks`` (graphnn/model/blocks.py): named subgraphs whose nodes may hold ``"$param"``
references, used by nodes that name a ``block`` instead of an ``op``. The envelope checks their frame; the
editor schema also checks a block node's op parameters, each of which may be a ``"$param"`` instead.

The train and test sections' schemas are the one home of their defaults (``"default"`` keys): a run's
settings (graphnn/train/settings.py) fill what a file leaves out with ``with_defaults``.
"""

from graphnn import ops
from graphnn.model.limits import MAX_NAME_LENGTH, MAX_NODES
from graphnn.train.lr_policies import POLICIES

FORMAT = "graphnn/1"
NODE_KEYS = ("name", "op", "inputs", "doc")  # keys of a node that are not its op's parameters
USE_KEYS = ("name", "block", "inputs", "repeat", "args", "first", "doc")  # the keys of a node that uses a block
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]*(?!\n)$"  # (?!\n): Python's $ also matches before a final newline
BLOCK_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*(?!\n)$"
PARAM_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(?!\n)$"
REF_PATTERN = r"^\$[A-Za-z_][A-Za-z0-9_]*(?!\n)$"
PARAM_TYPES = ("integer", "number", "boolean", "string", "name", "shape", "array", "object")

NAME = {"type": "string", "pattern": NAME_PATTERN, "minLength": 1, "maxLength": MAX_NAME_LENGTH,
        "description": "Unique node name: a letter or _, then letters, digits, _ . -"}
DOC = {"type": "string", "description": "Free text: what this is and why (JSON has no comments)."}
REF = {"type": "string", "pattern": REF_PATTERN,
       "description": "In a block: '$name' stands for the value of the block's parameter 'name'."}
BLOCK_NAME = {"type": "string", "pattern": BLOCK_NAME_PATTERN, "minLength": 1, "maxLength": MAX_NAME_LENGTH,
              "description": "A block defined under 'blocks'."}
INPUTS = {"type": "array", "items": {"type": "string"},
          "description": "Names of the nodes whose outputs feed this node."}

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


SOLVER_TYPES = ["sgd", "nesterov", "adagrad", "rmsprop", "adadelta", "adam"]  # Caffe's six, same formulas
ADAM_CAFFE_NAMES = {"momentum": "beta1", "momentum2": "beta2", "delta": "epsilon"}  # adam: Caffe's name -> ours
SOLVER = {
    "type": "object", "additionalProperties": False, "required": ["type"],
    "description": "The update rule; formulas in graphnn/train/solvers.py. Caffe's names: adam's momentum, "
                   "momentum2 and delta are its beta1, beta2 and epsilon.",
    "properties": {
        "type": {"enum": SOLVER_TYPES},
        "momentum": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.0,
                     "description": "sgd, nesterov; adadelta's decay rate; adam's beta1 (Caffe's name)."},
        "momentum2": {"type": "number", "minimum": 0, "exclusiveMaximum": 1,
                      "description": "adam's beta2 (Caffe's name)."},
        "delta": {"type": "number", "exclusiveMinimum": 0, "default": 1e-8,
                  "description": "adagrad, rmsprop, adadelta: added to the denominator; adam's epsilon (Caffe's name)."},
        "rms_decay": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.99,
                      "description": "rmsprop: the decay of the mean squared gradient."},
        "weight_decay": {"type": "number", "minimum": 0, "default": 0.0},
        "regularization_type": {"enum": ["L2", "L1"], "default": "L2",
                                "description": "Weight decay adds decay * w (L2) or decay * sign(w) (L1)."},
        "decay_biases": {"type": "boolean", "default": False, "description": "Apply weight decay to biases too."},
        "beta1": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.9},
        "beta2": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.999},
        "epsilon": {"type": "number", "exclusiveMinimum": 0, "default": 1e-8},
        "clip_gradients": {"type": "number", "exclusiveMinimum": 0,
                           "description": "Rescale gradients whose global L2 norm exceeds this (absent: never)."},
        "iter_size": {"type": "integer", "minimum": 1, "maximum": 65536, "default": 1,
                      "description": "Forward/backward passes of batch_size samples per update; their gradients "
                                     "are summed, then scaled by 1 / iter_size (Caffe's gradient accumulation)."},
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

_MONITOR = {"monitor": {"type": "string", "default": "val_loss",
                        "description": "loss, accuracy, val_loss or val_accuracy (val_*: the test data, per epoch)."},
            "mode": {"enum": ["auto", "min", "max"], "default": "auto"}}
CALLBACK_KEYS = {  # each type's keys; graphnn/train/callbacks.py makes them (paths are taken from the run folder)
    "early_stopping": ["monitor", "mode", "patience", "min_delta", "restore_best_weights"],
    "model_checkpoint": ["monitor", "mode", "path", "save_best_only"],
    "reduce_lr_on_plateau": ["monitor", "mode", "factor", "patience", "min_delta", "min_lr"],
    "csv_logger": ["path", "append"],
}
CALLBACK = {
    "type": "object", "required": ["type"],
    "description": "Called at the end of every epoch, as Model.fit's callbacks are (graphnn/train/callbacks.py).",
    "properties": {
        "type": {"enum": list(CALLBACK_KEYS)}, **_MONITOR,
        "patience": {"type": "integer", "minimum": 0},
        "min_delta": {"type": "number", "minimum": 0},
        "restore_best_weights": {"type": "boolean", "default": False},
        "path": {"type": "string", "minLength": 1, "description": "From the run folder; may hold {epoch}."},
        "save_best_only": {"type": "boolean", "default": False},
        "factor": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "min_lr": {"type": "number", "minimum": 0},
        "append": {"type": "boolean", "default": False},
    },
    "allOf": [{"if": {"properties": {"type": {"const": name}}, "required": ["type"]},
               "then": {"propertyNames": {"enum": ["type", *keys]}, **({"required": ["path"]} if "path" in keys else {})}}
              for name, keys in CALLBACK_KEYS.items()],
}

TRAIN = {
    "type": "object", "additionalProperties": False, "required": ["batch_size", "solver", "lr"],
    "description": "How `graphnn run` trains the network (a section without `data` trains only on the arrays "
                   "given to Model.fit).",
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
        "test_initialization": {"type": "boolean", "default": False,
                                "description": "Test once before the first iteration too (Caffe's default: true)."},
        "shuffle": {"type": "boolean", "default": True,
                    "description": "Visit the training samples in a new random order every epoch; false: in their "
                                   "stored order every epoch (as Caffe's Data layer reads its database)."},
        "display_interval": {"type": "integer", "minimum": 1, "default": 10},
        "average_loss": {"type": "integer", "minimum": 1, "maximum": 100000,  # kept in snapshots: 2 MB of JSON at most
                         "description": "The displayed train loss is the mean of the last this many iterations' "
                                        "losses (Caffe's average_loss); absent: the mean over the display interval."},
        "snapshot_interval": {"type": "integer", "minimum": 0, "default": 0,
                              "description": "Write a snapshot every this many iterations; 0: only after the "
                                             "last and on a stop signal."},
        "callbacks": {"type": "array", "items": CALLBACK,
                      "description": "Early stopping, checkpoints, lr on plateau, CSV logs, per epoch."},
    },
    "oneOf": [{"required": ["iterations"]}, {"required": ["epochs"]}],
}

# Model.fit's train section for a model that has none (Keras's defaults: batches of 32, one epoch, Adam at 0.001);
# fit's arguments override it as they do a model file's
FIT_TRAIN = {"batch_size": 32, "epochs": 1, "solver": {"type": "adam"}, "lr": {"policy": "fixed", "base_lr": 0.001}}

def test_set_schema(named):
    """One test set: its data, batch size and number of batches; ``named``: a further set, which needs a name."""
    name = {"type": "string", "pattern": NAME_PATTERN, "minLength": 1, "maxLength": MAX_NAME_LENGTH,
            "description": "What the set is (e.g. Caffe's test stage); a further set's records are phase "
                           "\"test/NAME\", the test section's own set's \"test\"."}
    return {
        "type": "object", "additionalProperties": False, "required": ["data", *(["name"] if named else [])],
        "properties": {
            "name": name,
            "data": dataset_schema("test"),
            "batch_size": {"type": "integer", "minimum": 1, "default": 1000},
            "iterations": {"type": "integer", "minimum": 1,
                           "description": "graphnn run tests on this many batches: the first iterations x "
                                          "batch_size samples (Caffe's test_iter); absent: the whole split. "
                                          "graphnn test reads the whole split."},
        },
    }


TEST = test_set_schema(named=False)
TEST["description"] = "How `graphnn run` and `graphnn test` evaluate the network."
TEST["properties"]["also"] = {
    "type": "array", "items": test_set_schema(named=True), "maxItems": 64,
    "description": "Further test sets `graphnn run` tests on at each test (Caffe's several test_state): each "
                   "its own data, batch size and iterations, the same network."}


def with_defaults(section, schema):
    """``section`` (an object of the model file) with the schema's default for every key it leaves out."""
    defaults = {key: entry["default"] for key, entry in schema["properties"].items() if "default" in entry}
    return {**defaults, **section}


ARGS = {"type": "object", "propertyNames": {"pattern": PARAM_PATTERN},
        "description": "The block's arguments: parameter name -> value."}


def _use(in_block):
    """A node that uses a block: one instance, or ``repeat`` instances chained."""
    count = {"type": "integer", "minimum": 1, "maximum": MAX_NODES}
    return {
        "type": "object", "additionalProperties": False, "required": ["name", "block"],
        "properties": {
            "name": NAME, "block": BLOCK_NAME, "doc": DOC, "inputs": INPUTS, "args": ARGS,
            "repeat": ({"anyOf": [count, REF]} if in_block else count) | {
                "description": "Chain this many instances, each one's outputs feeding the next one's inputs, named "
                               "NAME.block1 ... NAME.blockN."},
            "first": {"type": "object", "additionalProperties": False,
                      "description": "What the first instance of a chain does differently: another block, "
                                     "other arguments (merged over args).",
                      "properties": {"block": BLOCK_NAME, "args": ARGS}},
        },
    }


def _node_envelope(op_names, in_block=False):
    """A node: an op node (name, op, inputs, doc and the op's own keys), or a node that uses a block."""
    op = {"enum": op_names} if op_names else {"type": "string"}
    return {
        "type": "object", "required": ["name"],
        "properties": {"name": NAME, "op": op, "inputs": INPUTS, "doc": DOC},
        "if": {"required": ["block"]}, "then": _use(in_block), "else": {"required": ["op"]},
    }


PARAM = {
    "type": "object", "additionalProperties": False,
    "description": "A block parameter; a block's nodes use it as \"$name\". Without a default, every use must "
                   "give it.",
    "properties": {"type": {"enum": list(PARAM_TYPES),
                            "description": "What the argument must be (name: a node name; shape: an array of "
                                           "integers >= 1); absent: anything the nodes accept."},
                   "default": True, "doc": DOC},
}


def _block(node_schema):
    return {
        "type": "object", "additionalProperties": False, "required": ["outputs", "nodes"],
        "description": "A subgraph with named inputs, outputs and parameters, used by nodes that name it.",
        "properties": {
            "doc": DOC,
            "inputs": {"type": "array", "items": NAME, "description": "Names the block's nodes read its inputs by."},
            "outputs": {"type": "array", "minItems": 1, "items": {"type": "string"},
                        "description": "Names, in the block, of the values an instance gives: NAME (one output) "
                                       "or NAME.OUTPUT."},
            "params": {"type": "object", "propertyNames": {"pattern": PARAM_PATTERN}, "additionalProperties": PARAM},
            "nodes": {"type": "array", "minItems": 1, "maxItems": MAX_NODES, "items": node_schema},
        },
    }


def _document(node_schema, block_node_schema):
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://graphnn.dev/schemas/model.schema.json",
        "title": "graphnn model",
        "type": "object", "additionalProperties": False, "required": ["format", "nodes"],
        "properties": {
            "$schema": {"type": "string", "description": "Where editors find this schema (a path or URL)."},
            "format": {"const": FORMAT},
            "name": NAME,
            "description": {"type": "string", "description": "One line on what the network is."},
            "doc": DOC,
            "blocks": {"type": "object", "propertyNames": BLOCK_NAME, "additionalProperties": _block(block_node_schema),
                       "description": "Named subgraphs that nodes use with 'block' (graphnn/model/blocks.py)."},
            "nodes": {"type": "array", "minItems": 1, "maxItems": MAX_NODES, "items": node_schema},
            "train": TRAIN,
            "test": TEST,
        },
    }


def envelope_schema():
    """Stage one: the file's frame; each node's own keys are left to its op."""
    return _document(_node_envelope(None), _node_envelope(None, in_block=True))


def node_params_schema(op_class):
    """Stage two: the keys one node of this op may have (its params plus name, op, inputs)."""
    schema = dict(op_class.params_schema)
    schema["properties"] = {key: True for key in NODE_KEYS} | schema["properties"]
    return schema


def _or_reference(schema):
    """``schema`` where each value, and each item of an array value, may also be a "$param" (a block node's keys)."""
    if not isinstance(schema, dict):
        return schema
    inner = dict(schema)
    for key in ("oneOf", "anyOf"):
        if key in inner:
            inner[key] = [_or_reference(branch) for branch in inner[key]]
    if isinstance(inner.get("items"), dict):
        inner["items"] = {"anyOf": [_or_reference(inner["items"]), {"$ref": "#/$defs/reference"}]}
    return inner


def block_params_schema(op_class):
    """The keys one node of this op may have in a block: each parameter may be a "$param" instead."""
    schema = node_params_schema(op_class)
    schema["properties"] = {key: (value if key in NODE_KEYS else
                                  {"anyOf": [_or_reference(value), {"$ref": "#/$defs/reference"}]})
                            for key, value in schema["properties"].items()}
    return schema


def model_schema():
    """The whole schema, for editors and for the checked-in ``schemas/model.schema.json``."""
    def node(params_schema, in_block):
        schema = _node_envelope(ops.names(), in_block)
        schema["allOf"] = [{"if": {"properties": {"op": {"const": name}}, "required": ["op"]},
                            "then": params_schema(ops.get(name))} for name in ops.names()]
        return schema

    document = _document(node(node_params_schema, False), node(block_params_schema, True))
    document["$defs"] = {"reference": REF}
    return document
