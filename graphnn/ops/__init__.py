"""graphnn's ops. The registry is filled from this explicit list of modules, never from a model file."""

from graphnn.ops import activation, batchnorm, conv, data, dropout, fc, loss, merge, multiply, pool, reshape  # noqa: F401  (registers ops)
from graphnn.ops.registry import get, names, register

__all__ = ["get", "names", "register"]
