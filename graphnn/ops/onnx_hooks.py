"""What the ops' ONNX import hooks (``Op.import_onnx``) share: optional constant inputs, lists of ints
given as an input or an attribute, constants as a model file writes them.

The importer (``graphnn/interop/onnx_import.py``) hands each hook itself; a hook uses its documented
methods (``tensor``, ``constant``, ``is_constant``, ``shapes``, ``to_axis``/``axis`` for ONNX axes,
``batched``/``batch_axis`` for the batch rule, ``describe``, ``add``, ``unique``, ``fail``).
"""

import numpy as np


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
