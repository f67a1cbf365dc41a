"""Data transforms: Caffe's DataTransformer (its transform_param), declared on a data node as ``transform``
(graphnn/ops/data.py holds the schema) and applied where batches are fed (graphnn/train/feeding.py).

For raw samples x of a batch (N, C, H, W) (a (N, H, W) batch is one channel), in the network's dtype:

    y = (x - mean) * scale   over the crop [h, h + crop) x [w, w + crop), flipped left-right when mirrored

- ``mean_value``: one value per channel (or one for all); ``mean_file``: a (C, H, W) mean of the uncropped
  samples (a Caffe .binaryproto, read by graphnn/interop/caffe_lmdb.py), taken at the crop's place;
- ``crop_size``: in training (a generator given) h and w are drawn per sample, uniform over the places the
  crop fits; in testing the crop is the centre, h = (H - crop) // 2 (Caffe's rule);
- ``mirror``: in training each sample is flipped with probability 1/2; never in testing.

Draws, per batch and in this order, from the generator the training loop hands over (the run's seeded one:
the same model file and seed give the same batches, resumed runs included): the mirror flags (N,), then the
crops' h (N,) and w (N,). Without a transform nothing is drawn. ``transforms_for(plan)`` builds a plan's
transforms once (a mean file is read then, its relative path taken from the folder ``register_root`` gave,
by default the current one) and keeps them as long as the plan lives.
"""

import math
import weakref
from pathlib import Path

import numpy as np

from graphnn.errors import DataError

_BUILT = weakref.WeakKeyDictionary()  # plan -> {data node: Transform}
_ROOTS = weakref.WeakKeyDictionary()  # plan -> the folder relative mean files are taken from


class Transform:
    """One data node's transform: ``transform(raw, dtype, rng=None)`` -> (N, *node shape)."""

    def __init__(self, node, params, shape, mean=None):
        self.node, self.shape = node, tuple(shape)
        self.scale = float(params.get("scale", 1.0))
        self.mean_value = None if "mean_value" not in params else np.asarray(params["mean_value"], np.float64)
        self.mean = mean  # (C, H, W) float32, or None
        self.mirror = bool(params.get("mirror", False))
        self.crop = params.get("crop_size")
        self.channels = self.shape[0] if self.shape else 1

    def image_shape(self, sample_shape):
        """(C, H, W) of raw samples of ``sample_shape`` ((C, H, W), or (H, W) for one channel); a DataError
        message when they are not images this transform can take."""
        sample_shape = tuple(sample_shape)
        if len(sample_shape) == 2 and self.channels == 1:
            sample_shape = (1,) + sample_shape
        if self.crop is not None:
            if len(sample_shape) != 3 or sample_shape[0] != self.channels:
                raise DataError(f"crop_size needs samples (C, H, W) with C = {self.channels}; the samples have shape "
                                f"{sample_shape}", node=self.node)
            if min(sample_shape[1:]) < self.crop:
                raise DataError(f"crop_size {self.crop} is larger than the samples {sample_shape}", node=self.node)
        elif math.prod(sample_shape) != math.prod(self.shape):
            raise DataError(f"shape {self.shape} holds {math.prod(self.shape)} values but the samples have shape "
                            f"{sample_shape} ({math.prod(sample_shape)} values)", node=self.node)
        if self.mean is not None and self.mean.size != math.prod(sample_shape):
            raise DataError(f"the mean file's mean has shape {self.mean.shape}; the samples have shape {sample_shape}",
                            node=self.node)
        return sample_shape

    def __call__(self, raw, dtype, rng=None):
        """The transformed batch (N, *node shape) in ``dtype``: random crops and mirrors when ``rng`` is given
        (training), the centre crop and no mirror otherwise."""
        count = len(raw)
        image = self.image_shape(raw.shape[1:])
        x = raw.astype(dtype).reshape((count,) + image)
        if self.mean is not None:
            x -= self.mean.reshape(image).astype(dtype)
        if self.mean_value is not None:
            values = np.broadcast_to(self.mean_value, (self.channels,)).astype(dtype)
            x.reshape(count, self.channels, -1)[...] -= values[:, None]
        flips = None
        if rng is not None and self.mirror:
            flips = rng.integers(0, 2, size=count).astype(bool)
        if self.crop is not None:
            x = self.cropped(x, rng)
        if flips is not None and flips.any():
            x[flips] = x[flips][..., ::-1]
        if self.scale != 1.0:
            x *= np.asarray(self.scale, dtype)
        return x.reshape((count,) + self.shape)

    def cropped(self, x, rng):
        """crop x crop windows of x (N, C, H, W): at random places with ``rng``, else at the centre."""
        count, _, height, width = x.shape
        crop = self.crop
        if rng is None:
            top, left = (height - crop) // 2, (width - crop) // 2
            return np.ascontiguousarray(x[:, :, top:top + crop, left:left + crop])
        tops = rng.integers(0, height - crop + 1, size=count)
        lefts = rng.integers(0, width - crop + 1, size=count)
        windows = np.lib.stride_tricks.sliding_window_view(x, (crop, crop), axis=(2, 3))  # (N, C, h, w, crop, crop)
        return np.ascontiguousarray(windows[np.arange(count), :, tops, lefts])


def register_root(model):
    """Take ``model``'s relative mean files from the folder of its file (as its data paths are)."""
    from graphnn.datasets.split import data_root

    _ROOTS[model.plan] = data_root(model)


def transforms_for(plan):
    """{data node: Transform} of ``plan``'s data nodes that declare one, built once per plan."""
    built = _BUILT.get(plan)
    if built is None:
        built = {}
        for step in plan.inputs:
            params = step.op.params.get("transform")
            if params is not None:
                built[step.name] = Transform(step.name, params, step.out_shape, _mean(step.name, params, plan))
        _BUILT[plan] = built
    return built


def _mean(node, params, plan):
    """The mean file's (C, H, W) float32 array, or None."""
    if "mean_file" not in params:
        return None
    from graphnn.interop.caffe_lmdb import read_blobproto

    path = Path(params["mean_file"])
    if not path.is_absolute():
        path = _ROOTS.get(plan, Path(".")) / path
    try:
        mean = read_blobproto(path)
    except DataError as error:
        raise error.located(node=node) from None
    if mean.ndim == 4 and mean.shape[0] == 1:
        mean = mean[0]
    return np.ascontiguousarray(mean, np.float32)
