"""What the ONNX exporter and importer share: the opset, the batch dimension's name, the lazy import."""

from graphnn.errors import GraphnnError

OPSET = 17  # the default opset written by the exporter; the importer reads 13 and newer
MIN_IMPORT_OPSET = 13
BATCH = "N"  # the symbolic name of the leading (batch) dimension


def require_onnx():
    """The ``onnx`` module, or a GraphnnError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise GraphnnError("ONNX support needs the 'onnx' package: pip install 'graphnn[onnx]'") from None
    return onnx
