"""Limits against absurd input. Each is checked where the input is read, and an error names the value
and the limit. They are generous for real networks and stop files that would exhaust memory or time."""

MAX_MODEL_BYTES = 16 * 1024 * 1024  # a model file's size
MAX_JSON_DEPTH = 64  # nesting of arrays and objects
MAX_NODES = 10_000
MAX_ONNX_ENTRIES = 16 * MAX_NODES  # an ONNX file's graph: nodes, initializers, inputs, value infos, ...
MAX_NAME_LENGTH = 128  # characters in a node name
MAX_DIMENSIONS = 8  # per shape, batch not counted
MAX_PARAMETERS = 1_000_000_000  # total trained weights in one network
MAX_BUNDLE_HEADER_BYTES = 64 * 1024 * 1024
MAX_TENSOR_ELEMENTS = 2_000_000_000
