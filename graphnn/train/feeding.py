"""From dataset batches to the values fed to data nodes.

A data node reads the batch field its ``field`` names. Samples (uint8 images) are converted per batch:
x -> x.astype(dtype) / 255, reshaped to (N, *shape); float samples are only reshaped. Labels (class
indices) stay indices for a node of shape [] and become one-hot rows for a node of shape [C].
"""

import math

import numpy as np

from graphnn.errors import DataError
from graphnn.ops.loss import one_hot


def check_fields(plan, split):
    """Fail early, naming the node, when a data node cannot be fed from ``split``."""
    for step in plan.inputs:
        field, shape = step.op.params["field"], step.out_shape
        if field not in ("x", "y"):
            raise DataError(f"field {field!r} is not in the dataset (it has 'x' and 'y')", node=step.name)
        if field == "x" and math.prod(shape) != math.prod(split.x.shape[1:]):
            raise DataError(f"shape {shape} holds {math.prod(shape)} values but the samples have shape "
                            f"{split.x.shape[1:]} ({math.prod(split.x.shape[1:])} values)", node=step.name)
        if field == "y" and shape not in ((), (split.num_classes,)):
            raise DataError(f"label shape {shape} does not fit {split.num_classes} classes; "
                            f"expected [] (indices) or [{split.num_classes}] (one-hot)", node=step.name)
    for loss in plan.losses:
        label = plan.by_name[loss.inputs[1]]
        width = loss.in_shapes[0][0]
        if label.op.is_input and label.op.params["field"] == "y" and split.num_classes > width:
            raise DataError(f"the data has {split.num_classes} classes but the prediction '{loss.inputs[0]}' "
                            f"has {width} outputs", node=loss.name)


def feeds(plan, batch, dtype):
    """{data node: array} for one batch ``{"x": samples, "y": class indices}`` (fields it lacks are skipped)."""
    values = {}
    for step in plan.inputs:
        field, shape = step.op.params["field"], step.out_shape
        if field not in batch:
            continue  # e.g. no labels when predicting
        raw = batch[field]
        if field == "y":
            values[step.name] = raw.astype(np.int64) if shape == () else one_hot(raw, shape[0], dtype)
        elif raw.dtype == np.uint8:
            x = raw.reshape((len(raw),) + shape).astype(dtype)
            x *= np.asarray(1 / 255, dtype)
            values[step.name] = x
        else:
            values[step.name] = raw.reshape((len(raw),) + shape).astype(dtype, copy=False)
    return values
