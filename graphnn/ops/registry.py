"""The op registry: a closed map from the ``"op"`` strings of model files to op classes.

Nothing read from a model file is imported, evaluated or looked up as an attribute: a name either is a
key of this dict or it is an error that lists the known ops.
"""

import difflib

from graphnn.errors import GraphError
from graphnn.ops.base import Op

_OPS = {}


def register(cls):
    """Class decorator: add an op class to the registry. A duplicate or incomplete op is refused."""
    if not (isinstance(cls, type) and issubclass(cls, Op)):
        raise TypeError(f"{cls!r} is not an Op subclass")
    if not isinstance(cls.name, str) or not cls.name:
        raise TypeError(f"op class {cls.__name__} must set a non-empty string `name`")
    if cls.name in _OPS:
        raise ValueError(f"op '{cls.name}' is registered twice ({_OPS[cls.name].__name__} and {cls.__name__})")
    schema = cls.params_schema
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise TypeError(f"op '{cls.name}' must declare params_schema as an object schema")
    n = cls.n_inputs
    if not (isinstance(n, int) or (isinstance(n, tuple) and len(n) == 2)):
        raise TypeError(f"op '{cls.name}': n_inputs must be an int or a (min, max) tuple")
    for method in ("infer_shape", "forward") if cls.is_input else ("infer_shape", "forward", "backward"):
        if getattr(cls, method) is getattr(Op, method):
            raise TypeError(f"op '{cls.name}' must implement {method}()")
    if cls.is_loss and "loss_weight" not in schema.get("properties", {}):
        raise TypeError(f"loss op '{cls.name}' must declare loss_weight in params_schema (LOSS_PROPERTIES)")
    if not cls.examples:
        raise TypeError(f"op '{cls.name}' must list at least one entry in `examples`")
    _OPS[cls.name] = cls
    return cls


def suggest(name, choices):
    """The closest of ``choices`` to ``name`` as " (did you mean 'x'?)", or ""."""
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def get(name):
    """The op class registered as ``name``; an unknown name lists the known ones."""
    if isinstance(name, str) and name in _OPS:
        return _OPS[name]
    raise GraphError(f"unknown op {name!r}{suggest(name, _OPS)}; known ops: {', '.join(sorted(_OPS))}")


def names():
    """All registered op names, sorted."""
    return sorted(_OPS)


def input_count_range(cls):
    """``(min, max)`` inputs of an op class; ``max`` is None for "any number"."""
    n = cls.n_inputs
    return (n, n) if isinstance(n, int) else n


def exportable():
    """Names of the ops that write their own ONNX form (``export_onnx``), sorted."""
    return sorted(name for name, cls in _OPS.items() if cls.export_onnx is not Op.export_onnx)
