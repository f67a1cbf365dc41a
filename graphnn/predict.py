"""Predicting classes with a trained network: read samples from a file, run forward up to the node
that feeds the primary loss, and turn its outputs into class probabilities (softmax for a
softmax_cross_entropy loss; the raw outputs, as scores, for least squares)."""

from pathlib import Path

import numpy as np

from graphnn.errors import DataError
from graphnn.io.regular import require_regular_file
from graphnn.model.limits import MAX_TENSOR_ELEMENTS
from graphnn.train.evaluate import primary_loss
from graphnn.train.feeding import feeds


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

    return read_idx(path)


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


def predict(network, samples, batch_size=1000):
    """(classes (N,), probabilities (N, C)) for ``samples`` (N, ...) fed to the network's sample input."""
    samples = check_samples(samples)
    plan = network.plan
    loss = plan.by_name[primary_loss(plan)]
    prediction = loss.inputs[0]
    sample_nodes = [step for step in plan.steps_until(prediction) if step.op.is_input]
    if len(sample_nodes) != 1 or sample_nodes[0].op.params["field"] != "x":
        raise DataError(f"node '{prediction}' needs inputs {[s.name for s in sample_nodes]}; "
                        "predict feeds exactly one sample input")
    expected = sample_nodes[0].out_shape
    if samples.ndim < 1 or int(np.prod(samples.shape[1:])) != int(np.prod(expected)):
        raise DataError(f"samples have shape {samples.shape[1:]}; the network's input '{sample_nodes[0].name}' "
                        f"expects {expected}")
    probabilities = []
    for start in range(0, len(samples), batch_size):
        batch = {"x": samples[start:start + batch_size]}
        fed = feeds(plan, batch, network.dtype)
        values = network.forward(fed, until=prediction, keep=[prediction]).values[prediction]
        probabilities.append(loss.op.probabilities(values))
    probabilities = np.concatenate(probabilities)
    return probabilities.argmax(axis=1), probabilities
