"""Weight fillers: the one list of them, with each filler's settings and their defaults.

Each filler fills an array of ``shape``; ``fan_in``/``fan_out`` count the inputs and outputs one weight
connects as the op says (fc: n_in and n_out; conv: C_in/groups*k*k and F/groups*k*k).

- ``xavier``:   U(-a, a), a = sqrt(6) / sqrt(fan_in + fan_out + 1)   (graphnn's own: Glorot's, 1 added to the
                fans); with ``variance_norm`` (Caffe's xavier): a = sqrt(3 / n), n = fan_in, fan_out or their
                average (``"fan_in"``, ``"fan_out"``, ``"average"``)
- ``msra`` (He; also ``he``): N(0, 2 / n), n = fan_in, or by ``variance_norm`` (Caffe's msra)

With ``variance_norm`` the fans are Caffe's, from the weight's own shape as its blob: fan_in = count /
shape[outputs], fan_out = count / shape[the other of the first two axes] (count for a vector), where
``outputs`` is the axis that indexes the outputs (``fill``'s ``outputs_axis``: 0 for conv and
conv_transpose, whose kernels are laid out as Caffe's blobs, 1 for fc's (n_in, n_out)). They differ from the
op's only for a grouped convolution's fan_out: all F filters in Caffe, F/groups here.

- ``gaussian``: N(mean, std^2); with ``sparse`` s (Caffe's): then each entry kept with probability
                s / n_outputs (n_outputs = shape[outputs], Caffe's num_outputs; at most 1) and set to 0
                otherwise, one uniform draw per entry in order after all the normal draws
- ``uniform``:  U(min, max)
- ``constant``: every entry = value
- ``positive_unitball``: U(0, 1), then the entries feeding each output divided by their sum (each output's
                weights are positive and sum to 1; Caffe's rows of its blob's axis 0)
- ``bilinear``: a kernel (F, C, k_1, ..., k_d) of bilinear interpolation weights, the same for every filter and
                channel (Caffe's, for conv_transpose upsampling): prod_i (1 - |x_i / f_i - c_i|),
                f_i = ceil(k_i / 2), c_i = (k_i - 1) / (2 f_i), x_i the tap's position on axis i

A model file names a filler (``"xavier"``) or writes it with its settings (``{"type": "gaussian",
"std": 0.1}``); ``FILLER_SCHEMA`` gives each type exactly the settings it takes, so a setting that a
filler does not read (``{"type": "xavier", "std": 0.1}``) is refused when the model is checked.
"""

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from graphnn.errors import GraphnnError

FILL_CHUNK = 1 << 20  # values drawn at a time (an 8 MiB float64 buffer, whatever the weight's size)


def fan(fan_in, fan_out, variance_norm):
    """Caffe's n: fan_in, fan_out or their average."""
    return {"fan_in": fan_in, "fan_out": fan_out, "average": (fan_in + fan_out) / 2}[variance_norm]


def xavier(size, fan_in, fan_out, rng, variance_norm):
    if variance_norm is None:
        bound = np.sqrt(6.0) / np.sqrt(fan_in + fan_out + 1)
    else:
        bound = np.sqrt(3.0 / fan(fan_in, fan_out, variance_norm))
    return rng.uniform(-bound, bound, size=size)


def msra(size, fan_in, fan_out, rng, variance_norm):
    return rng.normal(0.0, np.sqrt(2.0 / fan(fan_in, fan_out, variance_norm or "fan_in")), size=size)


def blob_fans(shape, outputs_axis):
    """Caffe's (fan_in, fan_out) of a weight of ``shape`` whose axis ``outputs_axis`` indexes the outputs."""
    count = math.prod(shape)
    if not count or not shape:
        return 1, 1  # nothing is drawn, or one scalar
    inputs_axis = 1 - outputs_axis if len(shape) > 1 and outputs_axis < 2 else None
    return count // shape[outputs_axis], count // shape[inputs_axis] if inputs_axis is not None else count


def gaussian(size, fan_in, fan_out, rng, mean, std, sparse=None):
    """The normal draws; ``sparse`` is applied to the whole array after them (``keep_sparse``)."""
    return rng.normal(mean, std, size=size)


def uniform(size, fan_in, fan_out, rng, min, max):
    return rng.uniform(min, max, size=size)


def unit_interval(size, fan_in, fan_out, rng):
    return rng.uniform(0.0, 1.0, size=size)


def constant(size, fan_in, fan_out, rng, value):
    return np.full(size, float(value))


def unit_sums(array, outputs_axis):
    """Divide the entries feeding each output (all axes but ``outputs_axis``) by their sum, in place."""
    others = tuple(axis for axis in range(array.ndim) if axis != outputs_axis)
    array /= array.sum(axis=others, keepdims=True)


def bilinear_kernel(array, outputs_axis):
    """Every (k_1, ..., k_d) kernel of ``array`` (F, C, k_1, ..., k_d) set to bilinear interpolation weights."""
    if array.ndim < 3:
        raise GraphnnError(f"the bilinear filler fills convolution kernels (F, C, k, ...); got a weight of shape "
                           f"{array.shape}")
    kernel = np.ones((), np.float64)
    for size in array.shape[2:]:
        f = math.ceil(size / 2)
        c = (size - 1) / (2 * f)
        kernel = np.multiply.outer(kernel, 1 - np.abs(np.arange(size) / f - c))
    array[...] = kernel


class Filler(NamedTuple):
    draw: Callable  # (size, fan_in, fan_out, rng, **settings) -> float64 values of that size, drawn in order; or None
    settings: dict  # setting -> its schema (with its default, or none: the setting is then None when absent)
    finish: Callable = None  # (array, outputs_axis): in-place work on the whole array after drawing


STD = {"type": "number", "exclusiveMinimum": 0, "default": 0.01, "description": "Standard deviation."}
MEAN = {"type": "number", "default": 0.0, "description": "Mean."}
VALUE = {"type": "number", "default": 0.0, "description": "The value of every entry."}
SPARSE = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1,
          "description": "Caffe's sparse: each entry kept with probability sparse / the number of outputs (at "
                         "most 1), else 0. Absent: dense."}
VARIANCE_NORM = {"enum": ["fan_in", "fan_out", "average"],
                 "description": "Caffe's variance_norm: n is the fan-in, the fan-out or their average."}

FILLERS = {
    "xavier": Filler(xavier, {"variance_norm": {**VARIANCE_NORM, "description": VARIANCE_NORM["description"] +
                                                " Absent: graphnn's own xavier, sqrt(6 / (fan_in + fan_out + 1))."}}),
    "gaussian": Filler(gaussian, {"mean": MEAN, "std": STD, "sparse": SPARSE}),
    "msra": Filler(msra, {"variance_norm": VARIANCE_NORM}),
    "he": Filler(msra, {"variance_norm": VARIANCE_NORM}),
    "uniform": Filler(uniform, {"min": {"type": "number", "default": 0.0, "description": "Lower bound."},
                                "max": {"type": "number", "default": 1.0, "description": "Upper bound."}}),
    "constant": Filler(constant, {"value": VALUE}),
    "positive_unitball": Filler(unit_interval, {}, unit_sums),
    "bilinear": Filler(None, {}, bilinear_kernel),
}

NAMES = sorted(FILLERS)

FILLER_SCHEMA = {
    "description": "Weight filler: a name, or an object with its type and that filler's settings.",
    "type": ["string", "object"],
    "if": {"type": "string"},
    "then": {"enum": NAMES},
    "else": {
        "required": ["type"],
        "properties": {"type": {"enum": NAMES}},
        "allOf": [{"if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                   "then": {"properties": {"type": True, **filler.settings}, "additionalProperties": False}}
                  for name, filler in FILLERS.items()],
    },
}


def fill(spec, shape, fan_in, fan_out, rng, dtype, outputs_axis=0):
    """An array of ``shape`` and ``dtype`` from the filler ``spec`` (a name or ``{"type": ..., setting:
    ...}``, as validated by ``FILLER_SCHEMA``); settings left out take their schema defaults.
    ``outputs_axis``: the axis of ``shape`` that indexes the outputs (fc's W (n_in, n_out): 1).

    The values are drawn FILL_CHUNK at a time into the array: the same values, in the same order, as
    one draw of the whole shape (numpy's generators draw sequentially), so memory peaks at the array
    plus one float64 chunk, not at a float64 copy of the whole weight beside it."""
    spec = {"type": spec} if isinstance(spec, str) else spec
    filler = FILLERS[spec["type"]]
    options = {key: spec.get(key, setting.get("default")) for key, setting in filler.settings.items()}
    if options.get("variance_norm") is not None:
        fan_in, fan_out = blob_fans(tuple(shape), outputs_axis)
    array = np.empty(shape, dtype)
    if filler.draw is not None:
        flat = array.reshape(-1)
        for start in range(0, flat.size, FILL_CHUNK):
            count = min(FILL_CHUNK, flat.size - start)
            flat[start:start + count] = filler.draw((count,), fan_in, fan_out, rng, **options)
    if options.get("sparse") is not None:
        keep_sparse(array, outputs_axis, rng, options["sparse"])
    if filler.finish is not None:
        filler.finish(array, outputs_axis)
    return array


def keep_sparse(array, outputs_axis, rng, sparse):
    """Zero each entry of ``array`` unless a uniform draw (one per entry, in order, FILL_CHUNK at a time)
    falls below sparse / shape[outputs_axis] (Caffe's sparse gaussian: about ``sparse`` nonzero weights per
    input when the outputs are many)."""
    keep = min(sparse / array.shape[outputs_axis], 1.0) if array.ndim else 1.0
    flat = array.reshape(-1)
    for start in range(0, flat.size, FILL_CHUNK):
        count = min(FILL_CHUNK, flat.size - start)
        flat[start:start + count] *= rng.random(count) < keep
