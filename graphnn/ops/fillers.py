"""Weight fillers: the one list of them, with each filler's settings and their defaults.

Each filler returns a float64 array of ``shape``; ``fan_in``/``fan_out`` count the inputs and outputs
one weight connects (for fc: n_in and n_out; for conv: C_in*k*k and C_out*k*k).

- ``xavier``:   U(-a, a), a = sqrt(6) / sqrt(fan_in + fan_out + 1)   (Glorot's, with 1 added to the fans)
- ``gaussian``: N(0, std^2)
- ``msra`` (He; also ``he``): N(0, 2 / fan_in)
- ``constant``: every entry = value

A model file names a filler (``"xavier"``) or writes it with its settings (``{"type": "gaussian",
"std": 0.1}``); ``FILLER_SCHEMA`` gives each type exactly the settings it takes, so a setting that a
filler does not read (``{"type": "xavier", "std": 0.1}``) is refused when the model is checked.
"""

import numpy as np

FILL_CHUNK = 1 << 20  # values drawn at a time (an 8 MiB float64 buffer, whatever the weight's size)


def xavier(shape, fan_in, fan_out, rng):
    bound = np.sqrt(6.0) / np.sqrt(fan_in + fan_out + 1)
    return rng.uniform(-bound, bound, size=shape)


def gaussian(shape, fan_in, fan_out, rng, std):
    return rng.normal(0.0, std, size=shape)


def msra(shape, fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def constant(shape, fan_in, fan_out, rng, value):
    return np.full(shape, float(value))


STD = {"type": "number", "exclusiveMinimum": 0, "default": 0.01, "description": "Standard deviation."}
VALUE = {"type": "number", "default": 0.0, "description": "The value of every entry."}

FILLERS = {  # name -> (function, {setting: schema with its default})
    "xavier": (xavier, {}),
    "gaussian": (gaussian, {"std": STD}),
    "msra": (msra, {}),
    "he": (msra, {}),
    "constant": (constant, {"value": VALUE}),
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
                   "then": {"properties": {"type": True, **settings}, "additionalProperties": False}}
                  for name, (_, settings) in FILLERS.items()],
    },
}


def fill(spec, shape, fan_in, fan_out, rng, dtype):
    """An array of ``shape`` and ``dtype`` from the filler ``spec`` (a name or ``{"type": ..., setting:
    ...}``, as validated by ``FILLER_SCHEMA``); settings left out take their schema defaults.

    The values are drawn FILL_CHUNK at a time into the array: the same values, in the same order, as
    one draw of the whole shape (numpy's generators draw sequentially), so memory peaks at the array
    plus one float64 chunk, not at a float64 copy of the whole weight beside it."""
    spec = {"type": spec} if isinstance(spec, str) else spec
    function, settings = FILLERS[spec["type"]]
    options = {key: spec.get(key, setting["default"]) for key, setting in settings.items()}
    array = np.empty(shape, dtype)
    flat = array.reshape(-1)
    for start in range(0, flat.size, FILL_CHUNK):
        count = min(FILL_CHUNK, flat.size - start)
        flat[start:start + count] = function((count,), fan_in, fan_out, rng, **options)
    return array
