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


def node_value(step, raw, dtype, buffers=None):
    """The value data node ``step`` holds when fed ``raw`` (N, *step.out_shape) in a network of ``dtype``.
    With ``buffers`` ({node: array}, kept by the caller), uint8 samples are converted into the node's buffer
    (made on first use, or again when the batch's shape changes) instead of a fresh array."""
    labels = step.op.params["field"] == "y"
    if labels and step.out_shape == () and raw.dtype.kind in "biu":
        return raw.astype(np.int64, copy=False)  # class indices
    if raw.dtype == np.uint8 and not labels:  # images, scaled to [0, 1]: x * (1/255) in ``dtype``
        scale = np.asarray(1 / 255, dtype)
        if buffers is None:  # cast, then scale: faster than one mixed multiply into a fresh array
            x = raw.astype(dtype)
            x *= scale
            return x
        x = buffers.get(step.name)
        if x is None or x.shape != raw.shape or x.dtype != dtype:
            x = buffers[step.name] = np.empty(raw.shape, dtype)
        np.copyto(x, raw, casting="unsafe")  # cast, then scale in place: the same values as one mixed multiply,
        x *= scale  # and faster (100 x 784 MNIST images: 22 against 25 us)
        return x
    return raw.astype(dtype, copy=False)


def feeds(plan, batch, dtype, rng=None, buffers=None):
    """{data node: array} for one batch ``{"x": samples, "y": class indices}`` (fields it lacks are skipped);
    ``rng``: the training loop's generator, for the transforms' random crops and mirrors.

    ``buffers``, for a caller that holds one batch's values at a time (the training loop): a dict it keeps
    between calls, into which uint8 samples are converted (see ``node_value``), each call overwriting the
    previous batch's values. A step's largest array then stays in the same cache-warm memory, as a
    hand-written loop's input buffer does."""
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
            values[step.name] = node_value(step, raw.reshape((len(raw),) + shape), dtype, buffers)
    return values
