"""Limits against absurd input. Each is checked where the input is read, and an error names the value
and the limit. They are generous for real networks and stop files that would exhaust memory or time."""

import math

import numpy as np

from graphnn.errors import LimitError

MAX_MODEL_BYTES = 16 * 1024 * 1024  # a model file's size
MAX_JSON_DEPTH = 64  # nesting of arrays and objects
MAX_NODES = 10_000
MAX_ONNX_ENTRIES = 16 * MAX_NODES  # an ONNX file's graph: nodes, initializers, inputs, value infos, ...
MAX_NAME_LENGTH = 128  # characters in a node name, a block instance's path included (stage2.block3.conv1)
MAX_BLOCK_DEPTH = 32  # blocks used inside blocks inside ...
MAX_EXPANSION_WORK = 4_000_000  # JSON values, instances and input/output links expanding blocks may make
MAX_DIMENSIONS = 8  # per shape, batch not counted
MAX_PARAMETERS = 1_000_000_000  # total trained weights in one network
MAX_BUNDLE_HEADER_BYTES = 64 * 1024 * 1024
MAX_TENSOR_ELEMENTS = 2_000_000_000
MAX_BATCH_BYTES = 4 * 1024**3  # one batch's values: its inputs and every node's output, kept for backward


def check_batch_size(batch_size, plan, dtype, where, **location):
    """Refuse, before anything is allocated, a batch size whose values (each step's output for one
    batch, which forward keeps for backward) would take more than MAX_BATCH_BYTES: a LimitError naming
    ``where`` (the option, e.g. ``--batch-size``, or the setting) and the sizes; ``location`` (file,
    path) locates it. ``dtype`` is the network's float type."""
    per_sample = sum(math.prod(step.out_shape) for step in plan.steps)
    itemsize = np.dtype(dtype).itemsize
    needed = batch_size * per_sample * itemsize
    if needed > MAX_BATCH_BYTES:
        raise LimitError(f"{where} {batch_size:,}: one batch needs {needed:,} bytes ({per_sample:,} values per "
                         f"sample, {itemsize} bytes each); the limit is {MAX_BATCH_BYTES:,}", **location)
