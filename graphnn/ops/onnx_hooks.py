"""What the ops' ONNX import hooks (``Op.import_onnx``) share: axes counted from the batch, constant
inputs, floats as a model file writes them.

The importer (``graphnn/interop/onnx_import.py``) hands each hook itself; a hook uses only its
``tensor``, ``constant``, ``constants``, ``shapes``, ``add``, ``unique``, ``source`` and ``fail``.
An ONNX tensor of rank r is a graphnn tensor whose sample has rank r - 1: ONNX axis a (a >= 1) is
graphnn axis a, counting the batch as axis 0, as every axis parameter in graphnn does.
"""

import numpy as np


def axis_after_batch(importer, node, axis, rank, what="axis"):
    """ONNX ``axis`` (may be negative) of a rank-``rank`` tensor (batch included) as an axis >= 1."""
    resolved = axis + rank if axis < 0 else axis
    if not 1 <= resolved < rank:
        importer.fail(f"{what} {axis} of a rank-{rank} tensor: graphnn needs an axis after the batch (axis 0)",
                      node)
    return int(resolved)


def axes_after_batch(importer, node, axes, rank, what="axes"):
    """A list of ONNX axes, each resolved by ``axis_after_batch``; repeats refused."""
    resolved = [axis_after_batch(importer, node, int(axis), rank, what) for axis in axes]
    if len(set(resolved)) != len(resolved):
        importer.fail(f"{what} {list(axes)} name an axis twice", node)
    return resolved


def is_constant(importer, node, index):
    """Whether input ``index`` of ``node`` is a known constant (an initializer or a Constant's output)."""
    return index < len(node.input) and node.input[index] in importer.constants


def optional_input(importer, node, index):
    """Input ``index`` as an array when it is a constant, None when it is absent (or empty); a computed
    tensor there is refused."""
    if index >= len(node.input) or not node.input[index]:
        return None
    return importer.constant(node, index)


def ints(importer, node, index, attribute, a):
    """A list of ints given as input ``index`` (newer opsets) or as attribute ``attribute`` (older ones);
    None when neither is there."""
    value = optional_input(importer, node, index)
    if value is None:
        value = a.get(attribute)
    return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]


def plain_float(value):
    """A float32 value as its shortest decimal (0.2, not 0.20000000298023224)."""
    return float(np.format_float_positional(np.float32(value), unique=True, trim="0"))


def plain_array(array):
    """A constant array as a model file writes it: a number, or nested lists of shortest float32 decimals
    (of float64 decimals for a float64 array)."""
    array = np.asarray(array)
    if array.dtype == np.float64:
        return array.tolist()
    values = np.vectorize(plain_float, otypes=[float])(array.astype(np.float32)) if array.size else array
    return values.tolist() if array.ndim else float(values)
