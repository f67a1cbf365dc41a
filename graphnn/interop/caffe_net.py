"""A Caffe net (``net.prototxt``) as a graphnn model document: Caffe's layers as graphnn nodes.

    document = import_caffe("lenet_train_test.prototxt", solver="lenet_solver.prototxt", dataset="mnist")

What Caffe means, and what graphnn writes for it:

- **Phases and stages.** A layer's ``include``/``exclude`` rules (phase, stage, not_stage, min/max level) pick
  the layers of each net state as Caffe's ``StateMeetsRule`` does. The TRAIN net is the graph; each TEST state
  (the solver's ``test_state``s, or ``--stage``, or plain TEST) is a test set of the same graph. Only Data,
  Accuracy and Silence layers may differ between the nets (graphnn tests the network it trains); Accuracy is
  kept in the graph (it only reports).
- **Blobs and layers.** A bottom names the blob its latest producer wrote (an in-place layer, top = bottom,
  rewrites it); a blob read by several layers fans out (Caffe's implicit Split). Nodes are named after
  layers (Data and Input nodes after their tops, a Slice's after its tops), in graphnn's name alphabet.
- **Parameters.** ``param { lr_mult decay_mult }`` per blob (weight, then bias) -> the node's per-weight
  ``lr_mult``/``decay_mult``; Caffe's fillers -> ``init``/``bias_init`` (a filler left out is Caffe's
  ``constant 0``; PReLU's is 0.25, Scale's 1); Caffe decays every blob (``decay_biases`` in the solver).
- **Data.** A Data layer's tops become data nodes (``x`` and ``y``) with its ``transform_param``;
  ``--dataset NAME`` reads that dataset's ``train`` or ``test`` split (the one the source's name says, else
  the layer's phase); without it the LMDB ``source`` is kept and read (graphnn/interop/caffe_lmdb.py).
  Input layers and the old ``input:``/``input_shape``/``input_dim`` fields give shaped data nodes.

Every layer type in ``LAYERS`` is mapped (docs/caffe.md lists them with their fields); any other type, and any
field value graphnn cannot honour, is one located line naming the layer:

    net.prototxt:12:3: layer 'hdf5' (HDF5Data): graphnn cannot map Caffe layer type 'HDF5Data'; it maps ...
"""

import os
import re
from pathlib import Path

from graphnn import ops
from graphnn.errors import GraphnnError, LimitError
from graphnn.interop import caffe_fields, caffe_text
from graphnn.model.limits import MAX_NAME_LENGTH, MAX_NODES
from graphnn.model.plan import build_op
from graphnn.model.validate import describe, params_validator

DATASET_SAMPLE_SHAPE = [1, 28, 28]  # every named dataset (graphnn/datasets/catalog.py) holds 28x28 grey images
MAY_DIFFER = ("Data", "Accuracy", "Silence")  # the layer types a TEST net may have that the TRAIN net lacks
FILLER_NORMS = {"FAN_IN": "fan_in", "FAN_OUT": "fan_out", "AVERAGE": "average"}
WEIGHTS = {"Convolution": ("W", "b"), "Deconvolution": ("W", "b"), "InnerProduct": ("W", "b"),
           "Scale": ("W", "b"), "PReLU": ("slope",), "BatchNorm": ()}


class Layer:
    """One Caffe layer, from ``layer { ... }`` or the old ``layers { ... }``: its decoded ``values`` and the
    fields common to both forms."""

    def __init__(self, values, v1):
        self.values = values
        self.name = values["name"]
        self.type = caffe_fields.V1_TYPES[values["type"]][1] if v1 else values["type"]
        self.bottoms, self.tops = values["bottom"], values["top"]
        if v1:  # blobs_lr / weight_decay, one per blob, were the old ParamSpec
            count = max(len(values["blobs_lr"]), len(values["weight_decay"]), len(values["param"]))
            self.params = [(_item(values["blobs_lr"], index, 1.0), _item(values["weight_decay"], index, 1.0),
                            _item(values["param"], index, None)) for index in range(count)]
        else:
            self.params = [(spec["lr_mult"], spec["decay_mult"], spec["name"]) for spec in values["param"]]
        self.context = values.context

    def error(self, message, field=None, index=0, file=None):
        return self.values.error(message, field, file, index)


def _item(items, index, default):
    return items[index] if index < len(items) else default


def meets_rule(state, rule):
    """Caffe's StateMeetsRule: the rule's phase, level bounds and stages all hold for ``state``
    ({"phase", "level", "stages"})."""
    if rule.has("phase") and rule["phase"] != state["phase"]:
        return False
    if rule.has("min_level") and state["level"] < rule["min_level"]:
        return False
    if rule.has("max_level") and state["level"] > rule["max_level"]:
        return False
    return (all(stage in state["stages"] for stage in rule["stage"])
            and not any(stage in state["stages"] for stage in rule["not_stage"]))


def included(layer, state):
    """Whether ``layer`` is in the net of ``state``: any include rule met, or no exclude rule met."""
    include, exclude = layer.values["include"], layer.values["exclude"]
    if include:
        return any(meets_rule(state, rule) for rule in include)
    return not any(meets_rule(state, rule) for rule in exclude)


def net_state(phase, values=None, stages=()):
    """A net state {"phase", "level", "stages"} from a NetState message (the solver's) and extra stages."""
    level = values["level"] if values is not None else 0
    listed = list(values["stage"]) if values is not None else []
    return {"phase": phase, "level": level, "stages": listed + [s for s in stages if s not in listed]}


def read_net(path):
    """The decoded NetParameter of the file ``path``; the layer count is checked before the layers are read."""
    parsed = caffe_text.read(path)
    return decode_net(parsed, str(path))


def decode_net(parsed, file):
    layers = [entry for entry in parsed.fields if entry.name in ("layer", "layers")]
    if len(layers) > MAX_NODES:
        entry = layers[MAX_NODES]
        raise LimitError(f"more than {MAX_NODES:,} layers; the limit is {MAX_NODES:,}", file=file,
                         line=entry.line, column=entry.column)

    def foreign(kind, raw):  # a layer type graphnn does not map: refused for its type, if the net uses it
        return kind in ("LayerParameter", "V1LayerParameter") and caffe_fields.raw_layer_type(kind, raw) not in LAYERS

    return caffe_fields.decode(parsed, "NetParameter", "", file, caffe_fields.layer_context, foreign)


class NodeNames:
    """Unique graphnn node names for Caffe's names: characters outside graphnn's alphabet become '_'
    (``inception_3a/1x1`` -> ``inception_3a_1x1``), a name taken twice gets ``_2``, ``_3``, ..."""

    def __init__(self):
        self.taken = set()

    def new(self, caffe_name):
        base = re.sub(r"[^A-Za-z0-9_.\-]", "_", caffe_name)[:MAX_NAME_LENGTH - 8] or "layer"
        if not re.match(r"[A-Za-z_]", base):
            base = "_" + base
        name, count = base, 1
        while name in self.taken:
            count += 1
            name = f"{base}_{count}"
        self.taken.add(name)
        return name


def _filler(values, default):
    """graphnn's init for a Caffe FillerParameter (``default``, an init, when the field is absent)."""
    if values is None:
        return default
    kind = values["type"]
    if kind == "constant":
        return {"type": "constant", "value": values["value"]}
    if kind == "gaussian":
        if values["sparse"] < -1:
            raise GraphnnError(f"gaussian sparse must be -1 (dense) or >= 0; got {values['sparse']}")
        sparse = {} if values["sparse"] == -1 else {"sparse": values["sparse"]}
        return {"type": "gaussian", "mean": values["mean"], "std": values["std"], **sparse}
    if kind == "uniform":
        return {"type": "uniform", "min": values["min"], "max": values["max"]}
    if kind in ("xavier", "msra"):
        return {"type": kind, "variance_norm": FILLER_NORMS[values["variance_norm"]]}
    if kind in ("positive_unitball", "bilinear"):
        return kind
    raise GraphnnError(f"unknown filler type '{kind}'; graphnn has constant, gaussian, uniform, xavier, msra, "
                       "positive_unitball, bilinear")


CONSTANT_ZERO = {"type": "constant", "value": 0.0}


class Translator:
    """Builds the nodes of a net, layer by layer, knowing each blob's producer and shape."""

    def __init__(self, file, dataset, source_root, output_root):
        self.file = file
        self.dataset = dataset
        self.source_root = source_root  # Caffe's relative paths are read from here (the net file's folder)
        self.output_root = output_root  # and written relative to here (the model file's folder)
        self.nodes = []
        self.names = NodeNames()
        self.producer = {}  # blob -> the node that last wrote it
        self.shapes = {}  # node -> output shape (batch excluded)
        self.shared = {}  # param name -> the layer that named it first
        self.inputs = []  # shapes with batch of Input layers / input fields: (name, dims)

    # --- nodes and blobs

    def error(self, layer, message, field=None, index=0):
        return layer.error(message, field, index, self.file)

    def bottom(self, layer, index=0):
        """The node that writes the layer's ``index``-th bottom."""
        if index >= len(layer.bottoms):
            raise self.error(layer, f"needs at least {index + 1} bottom blob{'s' if index else ''}; it has "
                                    f"{len(layer.bottoms)}")
        blob = layer.bottoms[index]
        if blob not in self.producer:
            raise self.error(layer, f"bottom '{blob}' (bottom index {index}) is not the top of any earlier layer",
                             "bottom", index)
        return self.producer[blob]

    def shape(self, node):
        return self.shapes[node]

    def add(self, layer, name, op, inputs, **params):
        """Add node ``name`` (op and params), built now for its inputs' shapes; its errors name the layer."""
        if len(self.nodes) >= MAX_NODES:
            where = self.error(layer, f"the net makes more than {MAX_NODES:,} nodes; the limit is {MAX_NODES:,}")
            raise LimitError(where.message, file=where.file, line=where.line, column=where.column)
        node = {"name": name, "op": op, **({"inputs": list(inputs)} if inputs else {}), **params}
        try:
            op_class = ops.get(op)
        except GraphnnError:
            raise self.error(layer, f"needs graphnn op '{op}', which this graphnn lacks") from None
        for problem in params_validator(op_class).iter_errors(node):
            where = "".join(f"/{part}" for part in problem.absolute_path)
            raise self.error(layer, f"graphnn node ({op}){' at ' + where if where else ''}: {describe(problem)}")
        try:
            built = build_op(len(self.nodes), node, [self.shapes[source] for source in inputs])
        except GraphnnError as error:
            raise self.error(layer, error.message) from None
        self.shapes[name] = tuple(built.out_shape)
        self.nodes.append(node)
        return name

    def single(self, layer, op, inputs, **params):
        """A layer of one top, as one node named after the layer; its top is now that node."""
        if len(layer.tops) != 1:
            raise self.error(layer, f"has {len(layer.tops)} tops; a {layer.type} layer writes one")
        name = self.add(layer, self.names.new(layer.name or layer.tops[0]), op, inputs, **params)
        self.bind(layer, layer.tops[0], name)
        return name

    def bind(self, layer, top, node):
        if top in self.producer and top not in layer.bottoms:
            raise self.error(layer, f"top '{top}' is already written by an earlier layer (and this layer is not "
                                    "in place: its bottoms do not include it)", "top")
        self.producer[top] = node

    def multipliers(self, layer):
        """{"lr_mult": {...}, "decay_mult": {...}} of the layer's param specs (empty when all are 1)."""
        weights = WEIGHTS.get(layer.type, ())
        if layer.type == "BatchNorm":
            return {}  # its three blobs are running statistics (graphnn state), conventionally lr_mult 0
        if len(layer.params) > len(weights):
            raise self.error(layer, f"has {len(layer.params)} param specs; a {layer.type} layer has "
                                    f"{len(weights)} blob{'s' if len(weights) != 1 else ''}", "param")
        result = {}
        for index, (lr_mult, decay_mult, shared) in enumerate(layer.params):
            if shared:
                if shared in self.shared and self.shared[shared] != layer.name:
                    raise self.error(layer, f"shares parameter '{shared}' with layer '{self.shared[shared]}'; "
                                            "graphnn does not share weights between nodes", "param", index)
                self.shared[shared] = layer.name
            if lr_mult < 0 or decay_mult < 0:
                raise self.error(layer, "lr_mult and decay_mult must be >= 0", "param", index)
            for key, value in (("lr_mult", lr_mult), ("decay_mult", decay_mult)):
                if value != 1:
                    result.setdefault(key, {})[weights[index]] = value
        return result

    def filler(self, layer, values, field, default):
        try:
            return _filler(values[field] if values.has(field) else None, default)
        except GraphnnError as error:
            raise self.error(layer, error.message, field) from None

    # --- paths

    def source_path(self, text):
        """A path from the net (relative: from the net file's folder) and how the model file writes it."""
        path = Path(text)
        found = path if path.is_absolute() else self.source_root / path
        written = str(found) if path.is_absolute() else os.path.relpath(found, self.output_root)
        return found, written


def _split_for(source, phase):
    """The split a Data layer reads from a named dataset: the one its source's name says, else its phase's."""
    words = set(re.findall(r"[a-z]+", Path(source).name.lower()))
    if ("train" in words) != ("test" in words):
        return "train" if "train" in words else "test"
    return "train" if phase == "TRAIN" else "test"


# --- the layer types: each reads its layer's fields and adds its nodes

def _spatial(t, layer, values, name, default, rank):
    """A per-axis size (kernel, stride, pad, dilation) of a convolution or pooling: ``kernel_size: n`` once or
    per axis, or ``kernel_h``/``kernel_w`` (2-D only); an int when every axis has the same."""
    fields = caffe_fields.MESSAGES[values.kind]
    field = "kernel_size" if name == "kernel" else name
    given = list(values[field]) if fields[field].repeated else ([values[field]] if values.has(field) else [])
    height, width = f"{name}_h", f"{name}_w"
    if height in fields and (values.has(height) or values.has(width)):
        if rank != 2:
            raise t.error(layer, f"{height}/{width} are for 2-D inputs; this one has {rank} spatial axes", height)
        if given:
            raise t.error(layer, f"give {field} or {height}/{width}, not both", height)
        if name != "pad" and not (values.has(height) and values.has(width)):
            raise t.error(layer, f"give both {height} and {width}", height if values.has(height) else width)
        sizes = [values[height] if values.has(height) else default, values[width] if values.has(width) else default]
    else:
        if not given:
            if default is None:
                raise t.error(layer, f"needs {field} (or {height} and {width})")
            given = [default]
        if len(given) not in (1, rank):
            raise t.error(layer, f"{field} has {len(given)} values; give 1 or {rank} (one per spatial axis)", field)
        sizes = given * rank if len(given) == 1 else given
    return sizes[0] if len(set(sizes)) == 1 else sizes


def _conv(t, layer, transpose):
    values = layer.values["convolution_param"]
    source = t.bottom(layer)
    rank = len(t.shape(source)) - 1
    if rank not in (1, 2, 3):
        raise t.error(layer, f"its input has shape {t.shape(source)}; graphnn convolves 1, 2 or 3 spatial axes")
    if values["axis"] != 1:
        raise t.error(layer, "convolution axis other than 1 is not supported", "convolution_param")
    if not values.has("num_output"):
        raise t.error(layer, "needs convolution_param { num_output: N }", "convolution_param")
    params = {"filters": values["num_output"], "kernel": _spatial(t, layer, values, "kernel", None, rank)}
    for key, caffe_name, default in (("stride", "stride", 1), ("padding", "pad", 0), ("dilation", "dilation", 1)):
        size = _spatial(t, layer, values, caffe_name, default, rank)
        if size != default:
            params[key] = size
    if values["group"] != 1:
        params["groups"] = values["group"]
    if not values["bias_term"]:
        params["bias"] = False
    params["init"] = t.filler(layer, values, "weight_filler", CONSTANT_ZERO)
    if values["bias_term"]:
        params["bias_init"] = t.filler(layer, values, "bias_filler", CONSTANT_ZERO)
    op = f"conv_transpose{rank}d" if transpose else f"conv{rank}d"
    return t.single(layer, op, [source], **params, **t.multipliers(layer))


def convolution(t, layer):
    return _conv(t, layer, transpose=False)


def deconvolution(t, layer):
    return _conv(t, layer, transpose=True)


def pooling(t, layer):
    values = layer.values["pooling_param"]
    source = t.bottom(layer)
    rank = len(t.shape(source)) - 1
    pool = values["pool"]
    if pool == "STOCHASTIC":
        raise t.error(layer, "stochastic pooling is not supported (MAX and AVE are)", "pooling_param")
    if values["global_pooling"]:
        return t.single(layer, "reduce", [source], function="max" if pool == "MAX" else "mean",
                        axes=list(range(2, rank + 2)), keepdims=True)
    if rank not in (1, 2, 3):
        raise t.error(layer, f"its input has shape {t.shape(source)}; graphnn pools 1, 2 or 3 spatial axes")
    params = {"kernel": _spatial(t, layer, values, "kernel", None, rank),
              "stride": _spatial(t, layer, values, "stride", 1, rank)}
    padding = _spatial(t, layer, values, "pad", 0, rank)
    if padding != 0:
        params["padding"] = padding
    params["ceil_mode"] = values["round_mode"] == "CEIL"
    return t.single(layer, f"{'max' if pool == 'MAX' else 'avg'}pool{rank}d", [source], **params)


def inner_product(t, layer):
    values = layer.values["inner_product_param"]
    if not values.has("num_output"):
        raise t.error(layer, "needs inner_product_param { num_output: N }", "inner_product_param")
    if values["transpose"]:
        raise t.error(layer, "transpose: true (weights stored transposed) is not supported", "inner_product_param")
    source = t.bottom(layer)
    axis = _axis(t, layer, values["axis"], len(t.shape(source)) + 1, "inner_product_param")
    params = {"units": values["num_output"], **({"axis": axis} if axis != 1 else {}),
              **({"bias": False} if not values["bias_term"] else {}),
              "init": t.filler(layer, values, "weight_filler", CONSTANT_ZERO)}
    if values["bias_term"]:
        params["bias_init"] = t.filler(layer, values, "bias_filler", CONSTANT_ZERO)
    return t.single(layer, "fc", [source], **params, **t.multipliers(layer))


def _axis(t, layer, axis, rank, field):
    """A Caffe axis (negative: from the end) as graphnn's (the batch is axis 0); the batch itself is refused."""
    resolved = axis + rank if axis < 0 else axis
    if not 1 <= resolved < rank:
        raise t.error(layer, f"axis {axis} is not a sample axis of a blob with {rank} axes (batch included)", field)
    return resolved


def activation(function, **fixed):
    def translate(t, layer):
        return t.single(layer, "activation", [t.bottom(layer)], function=function, **fixed)
    return translate


def relu(t, layer):
    slope = layer.values["relu_param"]["negative_slope"]
    if slope == 0:
        return t.single(layer, "activation", [t.bottom(layer)], function="relu")
    return t.single(layer, "activation", [t.bottom(layer)], function="leaky_relu", negative_slope=slope)


def elu(t, layer):
    return t.single(layer, "activation", [t.bottom(layer)], function="elu",
                    alpha=layer.values["elu_param"]["alpha"])


def softmax(t, layer):
    source = t.bottom(layer)
    axis = _axis(t, layer, layer.values["softmax_param"]["axis"], len(t.shape(source)) + 1, "softmax_param")
    return t.single(layer, "activation", [source], function="softmax", **({"axis": axis} if axis != 1 else {}))


def power(t, layer):
    """y = (shift + scale x)^power as graphnn's binary ops with constants: mul, add, pow (each only when it
    changes something; all three neutral: identity). The last node is named after the layer."""
    values = layer.values["power_param"]
    steps = [(function, values[field]) for function, field, neutral in
             (("mul", "scale", 1), ("add", "shift", 0), ("pow", "power", 1)) if values[field] != neutral]
    source = t.bottom(layer)
    if not steps:
        return t.single(layer, "activation", [source], function="identity")
    for function, constant in steps[:-1]:
        name = t.names.new(f"{layer.name or layer.tops[0]}_{function}")
        source = t.add(layer, name, "binary", [source], function=function, constant=constant)
    function, constant = steps[-1]
    return t.single(layer, "binary", [source], function=function, constant=constant)


def prelu(t, layer):
    values = layer.values["prelu_param"]
    init = t.filler(layer, values, "filler", {"type": "constant", "value": 0.25})
    return t.single(layer, "prelu", [t.bottom(layer)], shared=values["channel_shared"], init=init,
                    **t.multipliers(layer))


def dropout(t, layer):
    return t.single(layer, "dropout", [t.bottom(layer)], ratio=layer.values["dropout_param"]["dropout_ratio"])


def lrn(t, layer):
    values = layer.values["lrn_param"]
    params = {"size": values["local_size"], "alpha": values["alpha"], "beta": values["beta"]}
    if values["norm_region"] == "WITHIN_CHANNEL":
        params["region"] = "within_channel"
    else:
        params["bias"] = values["k"]
    return t.single(layer, "lrn", [t.bottom(layer)], **params)


def batch_norm(t, layer):
    values = layer.values["batch_norm_param"]
    params = {"affine": False, "running_average": "normalized", "momentum": values["moving_average_fraction"],
              "epsilon": values["eps"]}
    if values.has("use_global_stats"):
        params["use_global_stats"] = values["use_global_stats"]
    return t.single(layer, "batchnorm", [t.bottom(layer)], **params)


def scale(t, layer):
    values = layer.values["scale_param"]
    if len(layer.bottoms) != 1:
        raise t.error(layer, "a Scale by a second bottom blob is not supported (a learned scale is)", "bottom")
    source = t.bottom(layer)
    params = {"axis": _axis(t, layer, values["axis"], len(t.shape(source)) + 1, "scale_param"),
              "num_axes": values["num_axes"], "bias": values["bias_term"],
              "init": t.filler(layer, values, "filler", {"type": "constant", "value": 1.0})}
    if values["bias_term"]:
        params["bias_init"] = t.filler(layer, values, "bias_filler", CONSTANT_ZERO)
    return t.single(layer, "scale", [source], **params, **t.multipliers(layer))


def eltwise(t, layer):
    values = layer.values["eltwise_param"]
    if len(layer.bottoms) < 2:
        raise t.error(layer, f"has {len(layer.bottoms)} bottom; an Eltwise layer needs 2 or more", "bottom")
    sources = [t.bottom(layer, index) for index in range(len(layer.bottoms))]
    operation, coeff = values["operation"], values["coeff"]
    if coeff and (operation != "SUM" or len(coeff) != len(sources)):
        raise t.error(layer, f"coeff needs operation SUM and one value per bottom ({len(sources)}); got "
                             f"{len(coeff)} for {operation}", "eltwise_param")
    if operation == "SUM":
        return t.single(layer, "add", sources, **({"coeff": coeff} if any(c != 1 for c in coeff) else {}))
    return t.single(layer, "multiply" if operation == "PROD" else "maximum", sources)


def concat(t, layer):
    values = layer.values["concat_param"]
    sources = [t.bottom(layer, index) for index in range(len(layer.bottoms))]
    if not sources:
        raise t.error(layer, "needs bottom blobs")
    axis = values["axis"] if values.has("axis") or not values.has("concat_dim") else values["concat_dim"]
    axis = _axis(t, layer, axis, len(t.shape(sources[0])) + 1, "concat_param")
    if len(sources) == 1:  # Caffe copies a single bottom
        return t.single(layer, "reshape", sources, shape=list(t.shape(sources[0])))
    return t.single(layer, "concat", sources, **({"axis": axis} if axis != 1 else {}))


def slice_layer(t, layer):
    values = layer.values["slice_param"]
    source = t.bottom(layer)
    shape = t.shape(source)
    axis = values["axis"] if values.has("axis") or not values.has("slice_dim") else values["slice_dim"]
    axis = _axis(t, layer, axis, len(shape) + 1, "slice_param")
    size, points, count = shape[axis - 1], list(values["slice_point"]), len(layer.tops)
    if points:
        if len(points) != count - 1 or points != sorted(set(points)) or points[0] < 1 or points[-1] >= size:
            raise t.error(layer, f"slice_point {points} must be {count - 1} increasing points inside 1..{size - 1} "
                                 f"(one fewer than the {count} tops)", "slice_param")
    elif count < 1 or size % count:
        raise t.error(layer, f"cannot cut axis {axis} of size {size} into {count} equal parts")
    else:
        points = [size // count * index for index in range(1, count)]
    bounds = [0, *points, size]
    for index, top in enumerate(layer.tops):
        name = t.add(layer, t.names.new(top), "slice", [source], axes=[axis], starts=[bounds[index]],
                     ends=[bounds[index + 1]])
        t.bind(layer, top, name)


def flatten(t, layer):
    values = layer.values["flatten_param"]
    source = t.bottom(layer)
    rank = len(t.shape(source)) + 1
    axis = _axis(t, layer, values["axis"], rank, "flatten_param")
    end = values["end_axis"] + rank if values["end_axis"] < 0 else values["end_axis"]
    if not axis <= end < rank:
        raise t.error(layer, f"end_axis {values['end_axis']} is before axis {values['axis']} or past the blob's "
                             f"{rank} axes", "flatten_param")
    params = {**({"axis": axis} if axis != 1 else {}), **({"end_axis": end} if end != rank - 1 else {})}
    return t.single(layer, "flatten", [source], **params)


def reshape(t, layer):
    values = layer.values["reshape_param"]
    source = t.bottom(layer)
    rank = len(t.shape(source)) + 1
    dims = list(values["shape"]["dim"])
    axis = values["axis"] + rank + 1 if values["axis"] < 0 else values["axis"]
    num_axes = values["num_axes"]
    if not 0 <= axis <= rank or num_axes < -1 or (num_axes >= 0 and axis + num_axes > rank):
        raise t.error(layer, f"axis {values['axis']} and num_axes {num_axes} are not axes of a blob with {rank}",
                      "reshape_param")
    if axis == 0:  # Caffe's shape then starts with the batch, which graphnn keeps
        if num_axes == 0 or not dims or dims[0] == -1:
            raise t.error(layer, "the first dim (the batch) must be 0 (kept) or the batch size; graphnn does "
                                 "not reshape across the batch", "reshape_param")
        dims, axis, num_axes = dims[1:], 1, (num_axes - 1 if num_axes > 0 else num_axes)
    params = {"shape": dims, **({"axis": axis} if axis != 1 else {}),
              **({"num_axes": num_axes} if num_axes != -1 else {})}
    return t.single(layer, "reshape", [source], **params)


def _loss(function):
    def translate(t, layer):
        if len(layer.bottoms) != 2:
            raise t.error(layer, f"has {len(layer.bottoms)} bottoms; a loss layer reads 2 (prediction and "
                                 "target)", "bottom")
        values = layer.values["loss_param"]
        if values.has("ignore_label"):
            raise t.error(layer, "ignore_label is not supported by graphnn's losses", "loss_param")
        normal = "BATCH_SIZE" if function == "sigmoid_cross_entropy" else "VALID"
        if values.has("normalization") and values["normalization"] not in (normal, "FULL", "VALID", "BATCH_SIZE"):
            raise t.error(layer, f"normalization {values['normalization']} is not supported", "loss_param")
        if function == "sigmoid_cross_entropy" and values.has("normalization") and values["normalization"] != normal:
            raise t.error(layer, "SigmoidCrossEntropyLoss normalizes by the batch size in graphnn (Caffe's "
                                 f"default); got {values['normalization']}", "loss_param")
        if values.has("normalize") and not values["normalize"] and function != "sigmoid_cross_entropy":
            raise t.error(layer, "normalize: false is not supported", "loss_param")
        weights = layer.values["loss_weight"]
        if len(weights) > 1:
            raise t.error(layer, "a loss layer has one top: give one loss_weight", "loss_weight", 1)
        weight = {"loss_weight": weights[0]} if weights and weights[0] != 1 else {}
        return t.single(layer, "loss", [t.bottom(layer, 0), t.bottom(layer, 1)], function=function, **weight)
    return translate


def accuracy(t, layer):
    values = layer.values["accuracy_param"]
    if len(layer.tops) > 1:
        raise t.error(layer, "the second top (per-class accuracies) is not supported", "top", 1)
    source = t.bottom(layer)
    if _axis(t, layer, values["axis"], len(t.shape(source)) + 1, "accuracy_param") != 1:
        raise t.error(layer, "accuracy along an axis other than 1 is not supported", "accuracy_param")
    params = {"top_k": values["top_k"], **({"ignore_label": values["ignore_label"]}
                                          if values.has("ignore_label") else {})}
    return t.single(layer, "accuracy", [source, t.bottom(layer, 1)], **params)


def split(t, layer):
    source = t.bottom(layer)
    for top in layer.tops:
        t.bind(layer, top, source)


def silence(t, layer):
    for index in range(len(layer.bottoms)):
        t.bottom(layer, index)  # each must exist


def input_layer(t, layer):
    shapes = layer.values["input_param"]["shape"]
    if len(shapes) not in (1, len(layer.tops)):
        raise t.error(layer, f"has {len(shapes)} shapes for {len(layer.tops)} tops; give 1 or one per top",
                      "input_param")
    for index, top in enumerate(layer.tops):
        dims = list(shapes[min(index, len(shapes) - 1)]["dim"])
        _input_node(t, layer, top, dims, "input_param")


def _input_node(t, layer, top, dims, field):
    if len(dims) < 1 or any(size < 1 for size in dims):
        raise t.error(layer, f"input shape {dims} needs a batch and sizes >= 1", field)
    name = t.add(layer, t.names.new(top), "data", [], shape=dims[1:], field="x")
    t.bind(layer, top, name)
    t.inputs.append((name, dims))


def data_layer(t, layer, spec):
    """The data nodes of the first Data layer (``spec``: its data_spec); the other phases' Data layers feed the
    same nodes (``translate`` checks that they match)."""
    if len(layer.tops) not in (1, 2):
        raise t.error(layer, f"has {len(layer.tops)} tops; a Data layer writes data and, optionally, label", "top")
    name = t.add(layer, t.names.new(layer.tops[0]), "data", [], shape=spec["shape"], field="x",
                 transform=spec["transform"])
    t.bind(layer, layer.tops[0], name)
    if len(layer.tops) == 2:
        t.bind(layer, layer.tops[1], t.add(layer, t.names.new(layer.tops[1]), "data", [], shape=[], field="y"))


def data_spec(t, layer):
    """{"data": the data section, "batch_size", "shape": the data node's shape, "transform"} of a Data layer."""
    values, transform_values = layer.values["data_param"], layer.values["transform_param"]
    phase = layer.phase
    source = values["source"]
    if not values.has("source"):
        raise t.error(layer, "needs data_param { source: ... }", "data_param")
    if not values.has("batch_size") or values["batch_size"] < 1:
        raise t.error(layer, "needs data_param { batch_size: N } (N >= 1)", "data_param")
    if t.dataset is not None:
        data = {"dataset": t.dataset, "split": _split_for(source, phase)}
        shape = list(DATASET_SAMPLE_SHAPE)
    else:
        if values["backend"] != "LMDB":
            raise t.error(layer, f"the {values['backend']} backend is not read (LMDB is); or give --dataset NAME",
                          "data_param")
        from graphnn.interop.caffe_lmdb import lmdb_shape

        found, written = t.source_path(source)
        if not found.is_dir():
            raise t.error(layer, f"source '{source}' is not an LMDB folder ({found}); give --dataset NAME to read a "
                                 "named dataset instead", "data_param")
        try:
            shape = list(lmdb_shape(found)[0])
        except GraphnnError as error:
            raise t.error(layer, str(error), "data_param") from None
        data = {"path": written}
    transform = {"scale": transform_values["scale"] if transform_values.has("scale") else values["scale"]}
    if transform_values["mean_value"]:
        transform["mean_value"] = list(transform_values["mean_value"])
    mean_file = transform_values["mean_file"] or values["mean_file"]
    if mean_file:
        if transform_values["mean_value"]:
            raise t.error(layer, "give mean_file or mean_value, not both", "transform_param")
        transform["mean_file"] = t.source_path(mean_file)[1]
    if transform_values["mirror"] or values["mirror"]:
        transform["mirror"] = True
    crop = transform_values["crop_size"] or values["crop_size"]
    if crop:
        if crop > min(shape[1:], default=0):
            raise t.error(layer, f"crop_size {crop} is larger than the samples ({shape})", "transform_param")
        transform["crop_size"] = crop
        shape = [shape[0], crop, crop]
    if transform_values["force_color"] or transform_values["force_gray"]:
        raise t.error(layer, "force_color/force_gray (image decoding) are not supported", "transform_param")
    return {"data": data, "batch_size": values["batch_size"], "shape": shape, "transform": transform}


LAYERS = {  # Caffe layer type -> its translation
    "Convolution": convolution, "Deconvolution": deconvolution, "Pooling": pooling, "InnerProduct": inner_product,
    "ReLU": relu, "PReLU": prelu, "Sigmoid": activation("sigmoid"), "TanH": activation("tanh"), "ELU": elu,
    "AbsVal": activation("abs"), "BNLL": activation("softplus"),
    "Softmax": softmax, "Power": power, "Dropout": dropout, "LRN": lrn, "BatchNorm": batch_norm, "Scale": scale,
    "Eltwise": eltwise, "Concat": concat, "Slice": slice_layer, "Flatten": flatten, "Reshape": reshape,
    "SoftmaxWithLoss": _loss("softmax_cross_entropy"), "EuclideanLoss": _loss("least_squares"),
    "SigmoidCrossEntropyLoss": _loss("sigmoid_cross_entropy"), "Accuracy": accuracy, "Split": split,
    "Silence": silence, "Input": input_layer, "Data": data_layer,  # Data: translate() reads each phase's first
}
LOSSES = ("SoftmaxWithLoss", "EuclideanLoss", "SigmoidCrossEntropyLoss")


def _net_inputs(t, net):
    """Data nodes for the old ``input:`` fields, shaped by ``input_shape`` or four ``input_dim`` each."""
    names = net["input"]
    if not names:
        if net["input_shape"] or net["input_dim"]:
            raise net.error("input_shape/input_dim without input", "input_shape" if net["input_shape"]
                            else "input_dim", t.file)
        return
    if net["input_shape"]:
        if len(net["input_shape"]) != len(names):
            raise net.error(f"{len(net['input_shape'])} input_shape for {len(names)} input", "input_shape", t.file)
        shapes = [list(shape["dim"]) for shape in net["input_shape"]]
    elif len(net["input_dim"]) == 4 * len(names):
        dims = net["input_dim"]
        shapes = [dims[4 * index:4 * index + 4] for index in range(len(names))]
    else:
        raise net.error(f"{len(net['input_dim'])} input_dim for {len(names)} input (give 4 each, or input_shape)",
                        "input_dim" if net["input_dim"] else "input", t.file)
    for index, (name, dims) in enumerate(zip(names, shapes)):
        if len(dims) < 1 or any(size < 1 for size in dims):
            raise net.error(f"input '{name}' has shape {dims}; it needs a batch and sizes >= 1", "input", t.file,
                            index)
        node = t.add(_NetLayer(net), t.names.new(name), "data", [], shape=dims[1:], field="x")
        t.producer[name] = node
        t.inputs.append((node, dims))


class _NetLayer:
    """The net itself where a layer is expected (its input fields make nodes): errors name no layer."""

    def __init__(self, net):
        self.values = net
        self.bottoms = []

    def error(self, message, field=None, index=0, file=None):
        return self.values.error(message, field, file, index)


def translate(net, file, dataset, train_state, test_states, source_root, output_root):
    """(nodes, the TRAIN Data layer's spec or None, each test state's Data spec or None) of a decoded net."""
    if net["layer"] and net["layers"]:
        raise net.error("a net gives its layers as 'layer' or (the old form) 'layers', not both", "layers", file)
    layers = [Layer(values, v1=False) for values in net["layer"]] + [Layer(values, v1=True) for values in net["layers"]]
    t = Translator(file, dataset, source_root, output_root)
    _net_inputs(t, net)
    data_tops, train_spec, test_specs = None, None, [None] * len(test_states)
    for layer in layers:
        in_train = included(layer, train_state)
        in_tests = [included(layer, state) for state in test_states]
        if not in_train and not any(in_tests):
            continue
        if layer.type not in LAYERS:
            raise t.error(layer, f"graphnn cannot map Caffe layer type '{layer.type}'; it maps "
                                 f"{', '.join(sorted(LAYERS))}", "type")
        if layer.type == "Data":
            specs = []
            for phase, used in (("TRAIN", in_train), *(("TEST", used) for used in in_tests)):
                layer.phase = phase
                specs.append(data_spec(t, layer) if used else None)
            if in_train and train_spec is not None or any(used and test_specs[k] is not None
                                                           for k, used in enumerate(in_tests)):
                raise t.error(layer, "a second Data layer in one phase; graphnn reads one data source per phase")
            if data_tops is None:
                data_layer(t, layer, next(spec for spec in specs if spec is not None))
                data_tops = (list(layer.tops), layer)
            elif list(layer.tops) != data_tops[0]:
                raise t.error(layer, f"writes tops {list(layer.tops)}; the other phase's Data layer "
                                     f"'{data_tops[1].name}' writes {data_tops[0]} (both feed the same nodes)", "top")
            first = next(spec for spec in specs if spec is not None)
            node = t.nodes[[n["name"] for n in t.nodes].index(t.producer[layer.tops[0]])]
            _same_samples(t, layer, node, first)
            if in_train:
                node["transform"] = first["transform"]  # the TRAIN transform (mirroring) is the one trained with
                train_spec = specs[0]
            for index, spec in enumerate(specs[1:]):
                test_specs[index] = spec if spec is not None else test_specs[index]
            continue
        if not (in_train and all(in_tests)) and layer.type not in MAY_DIFFER:
            where = "the TRAIN net" if in_train else "a TEST net"
            raise t.error(layer, f"is only in {where}; graphnn tests the network it trains, so only "
                                 f"{', '.join(MAY_DIFFER)} layers may differ between phases", "include"
                          if layer.values["include"] else "exclude")
        if layer.type not in LOSSES and layer.values["loss_weight"] and any(layer.values["loss_weight"]):
            raise t.error(layer, "a loss_weight on a layer that is not a loss is not supported", "loss_weight")
        LAYERS[layer.type](t, layer)
    _inputs_read_as_labels(t)
    return t, train_spec, test_specs


def _inputs_read_as_labels(t):
    """An Input top (or ``input:``) that a loss or an Accuracy reads as its label (second bottom) is fed
    the dataset's labels: graphnn's field ``y`` (a Data layer's second top already is)."""
    labels = {node["inputs"][1] for node in t.nodes if node["op"] in ("loss", "accuracy")}
    inputs = {name for name, _ in t.inputs}
    for node in t.nodes:
        if node["op"] == "data" and node["name"] in labels and node["name"] in inputs:
            node["field"] = "y"


def _same_samples(t, layer, node, spec):
    """A second phase's Data layer must give samples of the node's shape, transformed alike (mirroring aside)."""
    if spec["shape"] != node["shape"]:
        raise t.error(layer, f"gives samples of shape {spec['shape']}; the other phase's gives {node['shape']}",
                      "data_param")
    mine = {key: value for key, value in spec["transform"].items() if key != "mirror"}
    theirs = {key: value for key, value in node["transform"].items() if key != "mirror"}
    if mine != theirs:
        raise t.error(layer, f"transforms its samples as {mine}; the other phase's Data layer as {theirs}",
                      "transform_param")


def _test_name(state, index):
    return "-".join(state["stages"]) or ("test" if index == 0 else f"test{index + 1}")


def import_caffe(net_path, solver=None, dataset=None, stages=(), output_root=None):
    """The graphnn model document of the Caffe net ``net_path``; ``solver`` (a path) fills the train section
    and the test sets' iterations; ``dataset`` (mnist, fashion-mnist) replaces every Data layer's source;
    ``stages`` are the TEST stages (instead of the solver's test_states); ``output_root`` is the folder the
    model file goes to (relative paths are written from there; default the net's folder)."""
    from graphnn.interop import caffe_solver

    if dataset is not None:
        from graphnn.datasets.catalog import get_dataset

        get_dataset(dataset)  # an unknown name lists the known ones
    file = str(net_path)
    net = read_net(net_path)
    solver_values = caffe_solver.read_solver(solver) if solver is not None else None
    solver_file = str(solver) if solver is not None else None
    train_state = net_state("TRAIN", solver_values["train_state"]
                            if solver_values is not None and solver_values.has("train_state") else None)
    if stages:
        test_states = [net_state("TEST", None, stages)]
    elif solver_values is not None and solver_values["test_state"]:
        test_states = [net_state("TEST", state) for state in solver_values["test_state"]]
    else:
        test_states = [net_state("TEST")]
    source_root = Path(net_path).parent
    t, train_spec, test_specs = translate(net, file, dataset, train_state, test_states, source_root,
                                          Path(output_root) if output_root is not None else source_root)
    name = NodeNames().new(net["name"] or Path(net_path).stem)
    document = {"format": "graphnn/1", "name": name,
                "description": f"Imported from the Caffe net {Path(net_path).name}"
                               + (f" and solver {Path(solver).name}" if solver is not None else ""),
                "nodes": t.nodes}
    if train_spec is None and dataset is not None and t.inputs:  # a deploy net trained on a named dataset
        batch = t.inputs[0][1][0]
        train_spec = {"data": {"dataset": dataset, "split": "train"}, "batch_size": batch}
        test_specs = [spec or {"data": {"dataset": dataset, "split": "test"}, "batch_size": batch}
                      for spec in test_specs]
    iterations = (caffe_solver.test_iterations(solver_values, len(test_states), solver_file)
                  if solver_values is not None else [None] * len(test_states))
    tests = []
    for index, (state, spec) in enumerate(zip(test_states, test_specs)):
        if spec is None:
            continue
        section = {"data": spec["data"], "batch_size": spec["batch_size"]}
        if iterations[index] is not None:
            section["iterations"] = iterations[index]
        if len(test_states) > 1:
            section = {"name": _test_name(state, index), **section}
        tests.append(section)
    if solver_values is not None:
        if train_spec is None:
            raise GraphnnError("the net has no Data layer in its TRAIN phase to train on; give --dataset NAME "
                               "(for a net with Input layers) or a net with a TRAIN Data layer", file=file)
        document["train"] = caffe_solver.train_section(solver_values, solver_file, train_spec["data"],
                                                       train_spec["batch_size"], bool(tests))
        if solver_values.has("snapshot_prefix"):
            document["doc"] = f"Caffe's snapshot_prefix was '{solver_values['snapshot_prefix']}'; graphnn " \
                              "writes its snapshots into the run folder."
    if tests:
        document["test"] = {**tests[0], **({"also": tests[1:]} if len(tests) > 1 else {})}
    return document

