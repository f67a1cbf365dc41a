"""Predicting classes with a trained network: read samples from a file, run forward up to the output
node, and turn its values into class probabilities.

The output node (``output_node``) is the one named, else the node that feeds the primary loss, else, for a
network with no loss (an imported ONNX file), its one output (the node nothing reads; several are refused,
listing them). Its values become probabilities as its loss says (softmax for softmax_cross_entropy, the
raw outputs, as scores, for least squares); without a loss, a softmax output is taken as it is and any
other output's scores go through a softmax."""

from pathlib import Path

import numpy as np

from graphnn.errors import DataError
from graphnn.io.regular import require_regular_file
from graphnn.model.limits import MAX_TENSOR_ELEMENTS
from graphnn.ops.activation import softmax
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
    sample_nodes = [step for step in plan.steps_until(prediction) if step.op.is_input]
    if len(sample_nodes) != 1 or sample_nodes[0].op.params["field"] != "x":
        raise DataError(f"node '{prediction}' needs inputs {[s.name for s in sample_nodes]}; "
                        "predict feeds exactly one sample input")
    expected = sample_nodes[0].out_shape
    whole = int(np.prod(expected))
    if samples.ndim >= 1 and samples.size == whole and int(np.prod(samples.shape[1:])) != whole:
        samples = samples[np.newaxis]  # one sample on its own (a 28x28 image): a batch of one
    if samples.ndim < 1 or int(np.prod(samples.shape[1:])) != int(np.prod(expected)):
        raise DataError(f"samples have shape {samples.shape[1:]}; the network's input '{sample_nodes[0].name}' "
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
