"""From dataset batches (and any fed arrays) to the values data nodes hold.

A data node reads the batch field its ``field`` names. One conversion, ``node_value``, serves both the
training loop's batches and arrays handed to ``Network.forward``:

- samples (any field but ``y``) of dtype uint8 are images: x -> x * (1/255) in the network's dtype, so
  that they lie in [0, 1]; other samples are only cast to that dtype;
- labels (field ``y``): class indices stay indices (int64) for a node of shape []; other label arrays are
  cast to the network's dtype. ``feeds`` turns a dataset's class indices into one-hot rows for a node
  of shape [C].

``feeds`` reshapes each batch's samples to (N, *shape) (a dataset's (N, 28, 28) images feed a [784] node).
A data node with a ``transform`` (Caffe's transform_param) gets its samples through it instead
(graphnn/datasets/transforms.py: (x - mean) * scale over a crop, no division by 255); ``rng`` (training)
draws its random crops and mirrors, without it (testing) the crop is the centre.
"""

import math

import numpy as np

from graphnn.datasets.transforms import transforms_for
from graphnn.errors import DataError
from graphnn.ops.loss import one_hot


def check_fields(plan, split):
    """Fail early, naming the node, when a data node cannot be fed from ``split``."""
    for step in plan.inputs:
        field, shape = step.op.params["field"], step.out_shape
        if field not in ("x", "y"):
            raise DataError(f"field {field!r} is not in the dataset (it has 'x' and 'y')", node=step.name)
        transform = transforms_for(plan).get(step.name)
        if transform is not None:
            transform.image_shape(split.x.shape[1:])
        elif field == "x" and math.prod(shape) != math.prod(split.x.shape[1:]):
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


def node_value(step, raw, dtype):
    """The value data node ``step`` holds when fed ``raw`` (N, *step.out_shape) in a network of ``dtype``."""
    labels = step.op.params["field"] == "y"
    if labels and step.out_shape == () and raw.dtype.kind in "biu":
        return raw.astype(np.int64, copy=False)  # class indices
    if raw.dtype == np.uint8 and not labels:
        x = raw.astype(dtype)
        x *= np.asarray(1 / 255, dtype)  # images in [0, 1]; cast, then scale: faster than one mixed multiply
        return x
    return raw.astype(dtype, copy=False)


def feeds(plan, batch, dtype, rng=None):
    """{data node: array} for one batch ``{"x": samples, "y": class indices}`` (fields it lacks are skipped);
    ``rng``: the training loop's generator, for the transforms' random crops and mirrors."""
    values = {}
    transforms = transforms_for(plan)
    for step in plan.inputs:
        field, shape = step.op.params["field"], step.out_shape
        if field not in batch:
            continue  # e.g. no labels when predicting
        raw = batch[field]
        if step.name in transforms:
            values[step.name] = transforms[step.name](raw, dtype, rng)
        elif field == "y" and shape != ():
            values[step.name] = one_hot(raw, shape[0], dtype)
        else:
            values[step.name] = node_value(step, raw.reshape((len(raw),) + shape), dtype)
    return values
