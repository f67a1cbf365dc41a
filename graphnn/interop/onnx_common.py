"""What the ONNX exporter and importer share: the opsets, the batch dimension's name, the lazy import."""

from graphnn.errors import GraphnnError

OPSET = 17  # the default opset written by the exporter
MIN_IMPORT_OPSET = 6  # the oldest opset the importer reads (ONNX's own backend test files start at 6)
CONVERTED_OPSET = 18  # a model of an older opset is converted to this one (onnx.version_converter) first;
#                       newer opsets are read as they are (up to the newest the installed onnx knows)
BATCH = "N"  # the symbolic name of the leading (batch) dimension


def require_onnx():
    """The ``onnx`` module, or a GraphnnError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise GraphnnError("ONNX support needs the 'onnx' package: pip install 'graphnn[onnx]'") from None
    return onnx
