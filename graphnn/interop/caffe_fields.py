"""The fields of Caffe's messages that graphnn reads: names, types, which repeat, enum values and defaults.

This is the part of Caffe's ``caffe.proto`` (NetParameter, LayerParameter and the ``*_param`` messages of the
layer types graphnn maps, FillerParameter, TransformationParameter, NetState/NetStateRule, ParamSpec,
SolverParameter) that the importer understands, written out as data. ``decode(message, kind, context)``
checks a parsed text message (caffe_text.py) against it and gives ``Values``: every field's value, with
Caffe's default when absent, and where each was written. A field that is not here is refused with the
closest known name, located at the field:

    net.prototxt:41:5: layer 'conv2' (Convolution): unknown field 'kernal_size' (did you mean 'kernel_size'?)

as are a value of the wrong type or out of its type's range (``uint32``: 0 to 2**32 - 1), an enum value
Caffe does not define, a non-repeated field written twice and a list given to a non-repeated field.
Fields Caffe has that change nothing in graphnn (``engine``, ``prefetch``, ``solver_mode``...) are accepted;
caffe_net.py and caffe_solver.py refuse the values graphnn cannot honour.
"""

import difflib
import math
import re
from dataclasses import dataclass

from graphnn.errors import SchemaError

INT_RANGES = {"int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1), "int64": (-2**63, 2**63 - 1),
              "uint64": (0, 2**64 - 1)}
INTEGER = re.compile(r"-?(?:0[xX][0-9a-fA-F]+|[0-9]+)")
FLOAT = re.compile(r"-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fF]?")
FLOAT_WORDS = {"inf": math.inf, "infinity": math.inf, "-inf": -math.inf, "-infinity": -math.inf,
               "nan": math.nan, "-nan": math.nan}
BOOLEANS = {"true": True, "True": True, "t": True, "1": True, "false": False, "False": False, "f": False,
            "0": False}


@dataclass(frozen=True)
class Spec:
    kind: str  # int32, uint32, int64, uint64, float, bool, string, enum, message
    default: object = None
    repeated: bool = False
    values: tuple = ()  # an enum's names
    message: str = None  # a message field's message
    numbers: tuple = ()  # an enum's numbers, when they are not 0, 1, 2, ...


def _scalar(kind):
    return lambda default=None, repeated=False: Spec(kind, default, repeated)


int32, uint32, int64, uint64 = (_scalar(kind) for kind in ("int32", "uint32", "int64", "uint64"))
real, boolean, string = _scalar("float"), _scalar("bool"), _scalar("string")


def enum(values, default=None, repeated=False, numbers=()):
    return Spec("enum", default, repeated, tuple(values), numbers=tuple(numbers))


def message(name, repeated=False):
    return Spec("message", None, repeated, (), name)


ENGINE = enum(["DEFAULT", "CAFFE", "CUDNN"], "DEFAULT")
PHASES = ["TRAIN", "TEST"]

FILLER = {
    "type": string("constant"), "value": real(0.0), "min": real(0.0), "max": real(1.0), "mean": real(0.0),
    "std": real(1.0), "sparse": int32(-1), "variance_norm": enum(["FAN_IN", "FAN_OUT", "AVERAGE"], "FAN_IN"),
}
CONVOLUTION = {
    "num_output": uint32(), "bias_term": boolean(True), "pad": uint32(repeated=True),
    "kernel_size": uint32(repeated=True), "stride": uint32(repeated=True), "dilation": uint32(repeated=True),
    "pad_h": uint32(0), "pad_w": uint32(0), "kernel_h": uint32(), "kernel_w": uint32(), "stride_h": uint32(),
    "stride_w": uint32(), "group": uint32(1), "weight_filler": message("FillerParameter"),
    "bias_filler": message("FillerParameter"), "engine": ENGINE, "axis": int32(1), "force_nd_im2col": boolean(False),
}
DATA = {
    "source": string(), "batch_size": uint32(), "rand_skip": uint32(0), "backend": enum(["LEVELDB", "LMDB"], "LEVELDB"),
    "scale": real(1.0), "mean_file": string(), "crop_size": uint32(0), "mirror": boolean(False),
    "force_encoded_color": boolean(False), "prefetch": uint32(4),
}
LAYER_PARAMS = {  # LayerParameter's *_param fields graphnn reads -> their message
    "transform_param": "TransformationParameter", "loss_param": "LossParameter",
    "accuracy_param": "AccuracyParameter", "batch_norm_param": "BatchNormParameter",
    "concat_param": "ConcatParameter", "convolution_param": "ConvolutionParameter", "data_param": "DataParameter",
    "dropout_param": "DropoutParameter", "eltwise_param": "EltwiseParameter", "elu_param": "ELUParameter",
    "flatten_param": "FlattenParameter",
    "inner_product_param": "InnerProductParameter", "input_param": "InputParameter", "lrn_param": "LRNParameter",
    "pooling_param": "PoolingParameter", "power_param": "PowerParameter", "prelu_param": "PReLUParameter",
    "relu_param": "ReLUParameter", "reshape_param": "ReshapeParameter", "scale_param": "ScaleParameter",
    "sigmoid_param": "SigmoidParameter", "slice_param": "SliceParameter", "softmax_param": "SoftmaxParameter",
    "tanh_param": "TanHParameter",
}
LAYER_COMMON = {
    "name": string(""), "bottom": string(repeated=True), "top": string(repeated=True),
    "phase": enum(PHASES, "TRAIN"), "loss_weight": real(repeated=True), "include": message("NetStateRule", True),
    "exclude": message("NetStateRule", True), "propagate_down": boolean(repeated=True),
    **{name: message(kind) for name, kind in LAYER_PARAMS.items()},
}
V1_TYPES = {  # the old ``layers { type: ENUM }``: V1LayerParameter.LayerType value -> its number and today's type
    "NONE": (0, None), "ABSVAL": (35, "AbsVal"), "ACCURACY": (1, "Accuracy"), "ARGMAX": (30, "ArgMax"),
    "BNLL": (2, "BNLL"), "CONCAT": (3, "Concat"), "CONTRASTIVE_LOSS": (37, "ContrastiveLoss"),
    "CONVOLUTION": (4, "Convolution"), "DATA": (5, "Data"), "DECONVOLUTION": (39, "Deconvolution"),
    "DROPOUT": (6, "Dropout"), "DUMMY_DATA": (32, "DummyData"), "EUCLIDEAN_LOSS": (7, "EuclideanLoss"),
    "ELTWISE": (25, "Eltwise"), "EXP": (38, "Exp"), "FLATTEN": (8, "Flatten"), "HDF5_DATA": (9, "HDF5Data"),
    "HDF5_OUTPUT": (10, "HDF5Output"), "HINGE_LOSS": (28, "HingeLoss"), "IM2COL": (11, "Im2col"),
    "IMAGE_DATA": (12, "ImageData"), "INFOGAIN_LOSS": (13, "InfogainLoss"), "INNER_PRODUCT": (14, "InnerProduct"),
    "LRN": (15, "LRN"), "MEMORY_DATA": (29, "MemoryData"), "MULTINOMIAL_LOGISTIC_LOSS": (16, "MultinomialLogisticLoss"),
    "MVN": (34, "MVN"), "POOLING": (17, "Pooling"), "POWER": (26, "Power"), "RELU": (18, "ReLU"),
    "SIGMOID": (19, "Sigmoid"), "SIGMOID_CROSS_ENTROPY_LOSS": (27, "SigmoidCrossEntropyLoss"),
    "SILENCE": (36, "Silence"), "SOFTMAX": (20, "Softmax"), "SOFTMAX_LOSS": (21, "SoftmaxWithLoss"),
    "SPLIT": (22, "Split"), "SLICE": (33, "Slice"), "TANH": (23, "TanH"), "WINDOW_DATA": (24, "WindowData"),
    "THRESHOLD": (31, "Threshold"),
}

MESSAGES = {
    "BlobShape": {"dim": int64(repeated=True)},
    "NetState": {"phase": enum(PHASES, "TEST"), "level": int32(0), "stage": string(repeated=True)},
    "NetStateRule": {"phase": enum(PHASES), "min_level": int32(), "max_level": int32(),
                     "stage": string(repeated=True), "not_stage": string(repeated=True)},
    "ParamSpec": {"name": string(), "share_mode": enum(["STRICT", "PERMISSIVE"], "STRICT"),
                  "lr_mult": real(1.0), "decay_mult": real(1.0)},
    "FillerParameter": FILLER,
    "NetParameter": {
        "name": string(""), "input": string(repeated=True), "input_shape": message("BlobShape", True),
        "input_dim": int32(repeated=True), "force_backward": boolean(False), "state": message("NetState"),
        "debug_info": boolean(False), "layer": message("LayerParameter", True),
        "layers": message("V1LayerParameter", True),
    },
    "LayerParameter": {"type": string(""), "param": message("ParamSpec", True), **LAYER_COMMON},
    "V1LayerParameter": {"type": enum(list(V1_TYPES), "NONE", numbers=[number for number, _ in V1_TYPES.values()]), "param": string(repeated=True),
                         "blobs_lr": real(repeated=True), "weight_decay": real(repeated=True), **LAYER_COMMON},
    "TransformationParameter": {
        "scale": real(1.0), "mirror": boolean(False), "crop_size": uint32(0), "mean_file": string(),
        "mean_value": real(repeated=True), "force_color": boolean(False), "force_gray": boolean(False),
    },
    "LossParameter": {"ignore_label": int32(), "normalization": enum(["FULL", "VALID", "BATCH_SIZE", "NONE"], "VALID"),
                      "normalize": boolean()},
    "AccuracyParameter": {"top_k": uint32(1), "axis": int32(1), "ignore_label": int32()},
    "BatchNormParameter": {"use_global_stats": boolean(), "moving_average_fraction": real(0.999), "eps": real(1e-5)},
    "ConcatParameter": {"axis": int32(1), "concat_dim": uint32(1)},
    "ConvolutionParameter": CONVOLUTION,
    "DataParameter": DATA,
    "DropoutParameter": {"dropout_ratio": real(0.5)},
    "EltwiseParameter": {"operation": enum(["PROD", "SUM", "MAX"], "SUM"), "coeff": real(repeated=True),
                         "stable_prod_grad": boolean(True)},
    "ELUParameter": {"alpha": real(1.0)},
    "FlattenParameter": {"axis": int32(1), "end_axis": int32(-1)},
    "InnerProductParameter": {"num_output": uint32(), "bias_term": boolean(True),
                              "weight_filler": message("FillerParameter"), "bias_filler": message("FillerParameter"),
                              "axis": int32(1), "transpose": boolean(False)},
    "InputParameter": {"shape": message("BlobShape", True)},
    "LRNParameter": {"local_size": uint32(5), "alpha": real(1.0), "beta": real(0.75),
                     "norm_region": enum(["ACROSS_CHANNELS", "WITHIN_CHANNEL"], "ACROSS_CHANNELS"), "k": real(1.0),
                     "engine": ENGINE},
    "PoolingParameter": {
        "pool": enum(["MAX", "AVE", "STOCHASTIC"], "MAX"), "pad": uint32(0), "pad_h": uint32(0), "pad_w": uint32(0),
        "kernel_size": uint32(), "kernel_h": uint32(), "kernel_w": uint32(), "stride": uint32(1),
        "stride_h": uint32(), "stride_w": uint32(), "engine": ENGINE, "global_pooling": boolean(False),
        "round_mode": enum(["CEIL", "FLOOR"], "CEIL"),
    },
    "PowerParameter": {"power": real(1.0), "scale": real(1.0), "shift": real(0.0)},
    "PReLUParameter": {"filler": message("FillerParameter"), "channel_shared": boolean(False)},
    "ReLUParameter": {"negative_slope": real(0.0), "engine": ENGINE},
    "ReshapeParameter": {"shape": message("BlobShape"), "axis": int32(0), "num_axes": int32(-1)},
    "ScaleParameter": {"axis": int32(1), "num_axes": int32(1), "filler": message("FillerParameter"),
                       "bias_term": boolean(False), "bias_filler": message("FillerParameter")},
    "SigmoidParameter": {"engine": ENGINE},
    "SliceParameter": {"axis": int32(1), "slice_point": uint32(repeated=True), "slice_dim": uint32(1)},
    "SoftmaxParameter": {"engine": ENGINE, "axis": int32(1)},
    "TanHParameter": {"engine": ENGINE},
    "SolverParameter": {
        "net": string(), "net_param": message("NetParameter"), "train_net": string(),
        "test_net": string(repeated=True), "train_net_param": message("NetParameter"),
        "test_net_param": message("NetParameter", True), "train_state": message("NetState"),
        "test_state": message("NetState", True), "test_iter": int32(repeated=True), "test_interval": int32(0),
        "test_compute_loss": boolean(False), "test_initialization": boolean(True), "base_lr": real(),
        "display": int32(0), "average_loss": int32(1), "max_iter": int32(), "iter_size": int32(1),
        "lr_policy": string(), "gamma": real(), "power": real(), "momentum": real(0.0), "weight_decay": real(),
        "regularization_type": string("L2"), "stepsize": int32(), "stepvalue": int32(repeated=True),
        "clip_gradients": real(-1.0), "snapshot": int32(0), "snapshot_prefix": string(),
        "snapshot_diff": boolean(False), "snapshot_format": enum(["HDF5", "BINARYPROTO"], "BINARYPROTO"),
        "solver_mode": enum(["CPU", "GPU"], "GPU"), "device_id": int32(0), "random_seed": int64(-1),
        "type": string("SGD"), "delta": real(1e-8), "momentum2": real(0.999), "rms_decay": real(0.99),
        "debug_info": boolean(False), "snapshot_after_train": boolean(True),
        "solver_type": enum(["SGD", "NESTEROV", "ADAGRAD", "RMSPROP", "ADADELTA", "ADAM"], "SGD"),
        "layer_wise_reduce": boolean(True), "weights": string(repeated=True),
    },
}


class Values:
    """A decoded message: ``values[name]`` is the field's value (Caffe's default, an empty list or an empty
    Values when absent), ``has(name)`` whether it was written, ``at(name)`` its (line, column) (the message's
    own when absent); ``context`` names what it belongs to in errors ("layer 'conv1' (Convolution)")."""

    def __init__(self, kind, context, line, column):
        self.kind = kind
        self.context = context
        self.line, self.column = line, column
        self._values = {}
        self._where = {}

    def __getitem__(self, name):
        if name in self._values:
            return self._values[name]
        spec = MESSAGES[self.kind][name]
        if spec.repeated:
            return []
        if spec.kind == "message":
            return Values(spec.message, self.context, self.line, self.column)
        return spec.default

    def has(self, name):
        return name in self._values

    def at(self, name, index=0):
        """(line, column) of field ``name`` (of its ``index``-th value when it repeats)."""
        where = self._where.get(name)
        if where is None:
            return self.line, self.column
        return where[min(index, len(where) - 1)] if isinstance(where, list) else where

    def error(self, message, name=None, file=None, index=0):
        """A SchemaError "CONTEXT: message" located at field ``name`` (its ``index``-th value) or the message."""
        line, column = self.at(name, index) if name else (self.line, self.column)
        prefix = f"{self.context}: " if self.context else ""
        return SchemaError(prefix + message, file=file, line=line, column=column)


def _integer(text):
    """The value of an integer as written: decimal or hexadecimal (0x...), signed."""
    return int(text, 16) if text.lstrip("-")[:2].lower() == "0x" else int(text, 10)


def _refuse(text, file, line, column, context):
    prefix = f"{context}: " if context else ""
    return SchemaError(prefix + text, file=file, line=line, column=column)


def _convert(spec, name, scalar, file, context):
    """The value of one scalar for a field of ``spec``; a SchemaError at the value when it does not fit."""
    kind, text = scalar.kind, scalar.text

    def bad(expected):
        got = f"'{text}'" if kind != "string" else "a string"
        return _refuse(f"field '{name}' must be {expected}; got {got}", file, scalar.line, scalar.column, context)

    if spec.kind in INT_RANGES:
        low, high = INT_RANGES[spec.kind]
        expected = f"an integer from {low:,} to {high:,} ({spec.kind})"
        if kind != "number" or not INTEGER.fullmatch(text):
            raise bad(expected)
        value = _integer(text)
        if not low <= value <= high:
            raise bad(expected)
        return value
    if spec.kind == "float":
        if kind == "identifier" and text.lower() in FLOAT_WORDS:
            return FLOAT_WORDS[text.lower()]
        if kind != "number" or not (FLOAT.fullmatch(text) or INTEGER.fullmatch(text)):
            raise bad("a number")
        if INTEGER.fullmatch(text):
            return float(_integer(text))
        return float(text.rstrip("fF"))
    if spec.kind == "bool":
        if kind == "string" or text not in BOOLEANS:
            raise bad("true or false")
        return BOOLEANS[text]
    if spec.kind == "string":
        if kind != "string":
            raise bad("a string in quotes")
        return text
    # an enum: a name, or its number
    names = spec.values
    if kind == "identifier" and text in names:
        return text
    if kind == "number" and INTEGER.fullmatch(text):
        number = _integer(text)
        numbers = spec.numbers or range(len(names))
        if number in numbers:
            return names[list(numbers).index(number)]
    shown = ", ".join(names) if len(names) <= 12 else ", ".join(names[:12]) + ", ..."
    close = difflib.get_close_matches(text, names, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise bad(f"one of {shown}{hint}")


def decode(parsed, kind, context="", file=None, context_of=None, foreign=None):
    """The Values of the caffe_text Message ``parsed`` read as Caffe message ``kind``. ``context`` prefixes
    every error ("layer 'conv1' (Convolution)"); ``context_of(kind, raw message)``, when given, names the
    context of each nested message (a net's layers); ``foreign(kind, raw message)``, when true, lets that
    message carry unknown ``*_param`` fields unread (a layer of a type that some Caffe fork defines)."""
    fields = MESSAGES[kind]
    values = Values(kind, context, parsed.line, parsed.column)
    lenient = foreign is not None and foreign(kind, parsed)
    for entry in parsed.fields:
        name = entry.name
        spec = fields.get(name)
        if spec is None and lenient and name.endswith("_param"):
            continue
        if spec is None:
            close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.7)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _refuse(f"unknown field '{name}'{hint}", file, entry.line, entry.column, context)
        if not spec.repeated:
            if entry.in_list:
                raise _refuse(f"field '{name}' takes one value, not a list", file, entry.line, entry.column, context)
            if name in values._values:
                first = values._where[name]
                raise _refuse(f"field '{name}' is given twice (first at {first[0]}:{first[1]}); it takes one value",
                              file, entry.line, entry.column, context)
        is_message = isinstance(entry.value, type(parsed))
        if spec.kind == "message":
            if not is_message:
                raise _refuse(f"field '{name}' is a message: write {name} {{ ... }}", file, entry.line,
                              entry.column, context)
            inner_context = (context_of(spec.message, entry.value) if context_of else None) or context
            value = decode(entry.value, spec.message, inner_context, file, context_of, foreign)
        else:
            if is_message:
                raise _refuse(f"field '{name}' takes a value, not a message", file, entry.line, entry.column,
                              context)
            value = _convert(spec, name, entry.value, file, context)
        if spec.repeated:
            values._values.setdefault(name, []).append(value)
            values._where.setdefault(name, []).append((entry.line, entry.column))
        else:
            values._values[name] = value
            values._where[name] = (entry.line, entry.column)
    return values


def raw_layer_type(kind, parsed):
    """The type a raw layer message names (V1's enum as today's name), or None when it names none."""
    for entry in parsed.fields:
        if entry.name == "type" and not isinstance(entry.value, type(parsed)):
            text = entry.value.text
            return V1_TYPES.get(text, (None, text))[1] if kind == "V1LayerParameter" else text
    return None


def layer_context(kind, parsed):
    """How errors name a layer: "layer 'conv1' (Convolution)", from its raw name and type fields; other
    messages (None) keep their parent's context."""
    if kind not in ("LayerParameter", "V1LayerParameter"):
        return None
    raw = {entry.name: entry.value for entry in parsed.fields if entry.name in ("name", "type")
           and not isinstance(entry.value, type(parsed))}
    name = raw["name"].text if "name" in raw else ""
    kind_text = raw["type"].text if "type" in raw else "no type"
    return f"layer '{name}' ({kind_text})"
