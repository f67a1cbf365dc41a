"""Predicting classes with a trained network: read samples from a file, run forward up to the output
node, and turn its values into class probabilities.

The output node (``output_node``) is the one named, else the node that feeds the primary loss, else, for a
network with no loss (an imported ONNX file), its one output (the node nothing reads; several are refused,
listing them). Its values become probabilities as its loss says (softmax for softmax_cross_entropy, the
raw outputs, as scores, for least squares); without a loss, a softmax output is taken as it is and any
other output's scores go through a softmax.

What the samples may be (``read_samples``, ``read_images``, ``check_range``):

- arrays (.npy, .npz, IDX): uint8 images are scaled by 1/255, as in training; floats go in as they are. For
  a network trained on a named image dataset (mnist, fashion-mnist: uint8 images fed scaled to [0, 1]),
  floats outside [0, 1] are refused with the reason (pixel values 0..255 as floats: divide by 255 or save
  them as uint8). A data node with a ``transform`` (Caffe's transform_param) takes raw values, uint8 or
  float, through it instead (graphnn/datasets/transforms.py), so no range is refused there;
- images (PNG, JPEG, or any format Pillow reads; Pillow is the optional extra ``graphnn[images]``): one
  file is one sample, read as 8-bit grey (``L``) for an input of one channel, or RGB for three (alpha
  dropped), resized with bilinear filtering to the input's height and width when they differ (no cropping:
  a non-square image is squeezed; a note says so), then scaled by 1/255 (or put through the data node's
  ``transform``). The input's image size is its
  shape: [C, H, W], [H, W], or a flat [N] that is a square (N = H * W, grey) or three squares (3 * H * W,
  RGB, channels first). MNIST's digits are white on black: a black-on-white drawing should be inverted first.
"""

import math
from pathlib import Path

import numpy as np

from graphnn.errors import DataError
from graphnn.io.regular import require_regular_file
from graphnn.model.limits import MAX_TENSOR_ELEMENTS
from graphnn.ops.activation import softmax
from graphnn.train.evaluate import primary_loss
from graphnn.train.feeding import feeds

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")  # read through Pillow


def is_image_file(path):
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def image_size(shape, name="image"):
    """(channels, height, width) of images for a data node of ``shape`` (see the module docstring); a
    DataError when the shape says no image size."""
    shape = tuple(shape)
    if len(shape) == 3 and shape[0] in (1, 3):
        return shape
    if len(shape) == 2:
        return (1, *shape)
    if len(shape) == 1:
        for channels in (1, 3):
            side = math.isqrt(shape[0] // channels)
            if channels * side * side == shape[0]:
                return channels, side, side
    raise DataError(f"cannot tell which image size the input {name!r} of shape {list(shape)} takes (it takes "
                    "[C, H, W] with 1 or 3 channels, [H, W], or a flat square); pass an array file instead")


def read_images(paths, shape, name="image"):
    """(uint8 samples (N, *shape), notes): one sample per image file in ``paths``, read as the module
    docstring says; a DataError naming the file for one Pillow cannot read, and without Pillow."""
    import warnings

    try:
        from PIL import Image
    except ImportError:
        raise DataError("reading images needs Pillow: pip install 'graphnn[images]' (or give a .npy/.npz/IDX "
                        "file)", file=str(paths[0])) from None
    channels, height, width = image_size(shape, name)
    samples, notes = [], []
    for path in map(Path, paths):
        require_regular_file(path, DataError)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)  # a huge image: refused, not read
                with Image.open(path) as image:
                    size = image.size
                    image = image.convert("L" if channels == 1 else "RGB")
                    if size != (width, height):
                        image = image.resize((width, height), Image.Resampling.BILINEAR)
                        notes.append(f"note: {path} is {size[0]}x{size[1]}; resized to {width}x{height}"
                                     f"{' (squeezed: another aspect ratio)' if size[0] * height != size[1] * width else ''}")
                    pixels = np.asarray(image, dtype=np.uint8)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
            raise DataError(f"cannot read as an image: {error}", file=str(path)) from None
        pixels = pixels[np.newaxis] if channels == 1 else pixels.transpose(2, 0, 1)  # (C, H, W)
        samples.append(pixels.reshape(shape))
    return np.stack(samples), notes


def sample_input(plan, output=None):
    """The one data node a prediction from ``output`` (``output_node``'s choice) is fed."""
    prediction, _ = output_node(plan, output)
    nodes = [step for step in plan.steps_until(prediction) if step.op.is_input]
    if len(nodes) != 1 or nodes[0].op.params["field"] != "x":
        raise DataError(f"node '{prediction}' needs inputs {[s.name for s in nodes]}; "
                        "predict feeds exactly one sample input")
    return nodes[0]


def trained_on_images(model):
    """The named image dataset (mnist, fashion-mnist) the model's train or test section reads, else None:
    its data node is fed uint8 images scaled to [0, 1]."""
    for section in (model.train, model.test):
        dataset = ((section or {}).get("data") or {}).get("dataset")
        if dataset is not None:
            return dataset
    return None


def check_range(model, samples, file=None):
    """Refuse float ``samples`` outside [0, 1] for a model trained on a named image dataset (see the module
    docstring), saying why; ``samples`` otherwise."""
    dataset = trained_on_images(model)
    transformed = any(step.op.is_input and step.op.params.get("transform") for step in model.plan.steps)
    if dataset is None or samples.dtype.kind != "f" or transformed:
        return samples
    low, high = float(samples.min()), float(samples.max())
    if low < 0 or high > 1:
        hint = "; they look like pixel values 0..255: divide them by 255, or save them as uint8" \
            if low >= 0 and high <= 255 else ""
        raise DataError(f"float samples range over [{low:.4g}, {high:.4g}], but the network was trained on "
                        f"{dataset} images scaled to [0, 1] (uint8 / 255){hint}", file=file)
    return samples


def read_samples(path):
    """Samples from a .npy file, a .npz archive (array ``x``, or its only array) or an IDX file, checked
    by ``check_samples``."""
    path = Path(path)
    require_regular_file(path, DataError)  # a named pipe would block reading forever
    return check_samples(_read_array(path), file=str(path))


def _read_array(path):
    name = path.name.lower()
    if name.endswith(".npy"):
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read as .npy: {error}", file=str(path)) from None
        if array.size > MAX_TENSOR_ELEMENTS:
            raise DataError(f"holds {array.size:,} values; the limit is {MAX_TENSOR_ELEMENTS:,}", file=str(path))
        return np.array(array)
    if name.endswith(".npz"):
        from graphnn.datasets.npzfile import read_samples_npz

        return read_samples_npz(path)
    from graphnn.datasets.idx import read_idx

    try:
        return read_idx(path)
    except DataError as error:
        if "not an IDX file" in error.message and not name.endswith(".gz"):  # not meant as one: say what is read
            error.message = f"not a .npy, .npz, IDX (raw or .gz) or image file (PNG, JPEG); {error.message}"
        raise


def check_samples(samples, file=None):
    """``samples`` when it is a non-empty array of real numbers (bool, integer or float), all finite;
    otherwise a DataError saying what it holds."""
    samples = np.asarray(samples)
    if samples.dtype.kind not in "biuf":
        raise DataError(f"samples have dtype {samples.dtype}; expected real numbers (integers or floats)",
                        file=file)
    if samples.ndim < 1 or len(samples) == 0:
        raise DataError(f"holds no samples (shape {samples.shape}); expected samples in rows", file=file)
    if samples.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(samples.reshape(len(samples), -1)).all(axis=1))
        if bad.size:
            raise DataError(f"{bad.size:,} sample{'s' if bad.size > 1 else ''} hold NaN or infinite values "
                            f"(the first is sample {bad[0]})", file=file)
    return samples


def output_node(plan, output=None):
    """(the name of the node predictions are read from, a function from its values to probabilities);
    see the module docstring. DataError naming the choices when there is no one output."""
    if output is not None:
        if output not in plan.by_name or plan.by_name[output].op.is_input:
            choices = [step.name for step in plan.steps if not step.op.is_input and not step.op.is_loss]
            raise DataError(f"no output node {output!r}; the network's nodes are {', '.join(choices[-8:])}")
        step = plan.by_name[output]
        if step.op.is_loss:
            return step.inputs[0], step.op.probabilities
        loss = next((s for s in plan.losses if s.inputs[0] == output), None)
        return output, loss.op.probabilities if loss is not None else _as_probabilities(step)
    if plan.losses:
        loss = plan.by_name[primary_loss(plan)]
        return loss.inputs[0], loss.op.probabilities
    read = {source for step in plan.steps for source in step.inputs}
    outputs = [step for step in plan.steps if step.name not in read and not step.op.is_input]
    if len(outputs) != 1:
        names = ", ".join(step.name for step in outputs) or "none"
        raise DataError(f"the network has no loss and {len(outputs)} outputs ({names}); choose one with --output")
    return outputs[0].name, _as_probabilities(outputs[0])


def _as_probabilities(step):
    if step.op.name == "activation" and step.op.params.get("function") == "softmax":
        return lambda values: values.reshape(len(values), -1)
    return lambda values: softmax(values.reshape(len(values), -1))


def predict(network, samples, batch_size=1000, output=None):
    """(classes (N,), probabilities (N, C)) for ``samples`` (N, ...) fed to the network's sample input,
    read from ``output`` (a node name; default as ``output_node`` chooses)."""
    samples = check_samples(samples)
    plan = network.plan
    prediction, probabilities_of = output_node(plan, output)
    source = sample_input(plan, output)
    expected = source.out_shape
    whole = int(np.prod(expected))
    if samples.ndim >= 1 and samples.size == whole and int(np.prod(samples.shape[1:])) != whole:
        samples = samples[np.newaxis]  # one sample on its own (a 28x28 image): a batch of one
    if samples.ndim < 1 or int(np.prod(samples.shape[1:])) != int(np.prod(expected)):
        raise DataError(f"samples have shape {samples.shape[1:]}; the network's input '{source.name}' "
                        f"expects {expected}")
    probabilities = []
    for start in range(0, len(samples), batch_size):
        batch = {"x": samples[start:start + batch_size]}
        fed = feeds(plan, batch, network.dtype)
        values = network.forward(fed, until=prediction, keep=[prediction]).values[prediction]
        probabilities.append(probabilities_of(values))
    probabilities = np.concatenate(probabilities)
    return probabilities.argmax(axis=1), probabilities


def accuracy(network, split, batch_size=1000, output=None):
    """{"accuracy", "samples", "output"}: the share of ``split``'s samples whose largest score at the output
    node (``output_node``) is their labelled class; for networks with or without a loss."""
    from graphnn.model.limits import check_batch_size

    node, _ = output_node(network.plan, output)
    width = int(np.prod(network.plan.by_name[node].out_shape))
    if split.num_classes > width:
        raise DataError(f"the data has {split.num_classes} classes but the output '{node}' has {width} values",
                        node=node)
    count = len(split.y)
    check_batch_size(min(batch_size, count), network.plan, network.dtype, "test batch size")
    correct = 0
    for start in range(0, count, batch_size):
        fed = feeds(network.plan, {"x": split.x[start:start + batch_size]}, network.dtype)
        values = network.forward(fed, until=node, keep=[node]).values[node]
        correct += int(np.count_nonzero(values.reshape(len(values), -1).argmax(axis=1) == split.y[start:start + batch_size]))
    return {"accuracy": correct / count if count else 0.0, "samples": count, "output": node}
