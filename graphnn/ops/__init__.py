"""graphnn's ops. The registry is filled from this explicit list of modules, never from a model file."""

from graphnn.ops import (  # noqa: F401  (registers ops)
    accuracy,
    activation,
    batchnorm,
    binary,
    conv,
    data,
    dropout,
    fc,
    layout,
    loss,
    merge,
    multiply,
    normalization,
    pad,
    pool,
    prelu,
    reduce,
    reshape,
    scale,
)
from graphnn.ops.registry import get, names, register

__all__ = ["get", "names", "register"]
