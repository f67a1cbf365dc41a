"""A trained network in one file (``.gnn``): the model JSON, every array, and metadata.

Layout (all integers little-endian)::

    magic      8 bytes   b"\\x89GNN\\r\\n\\x1a\\n"
    length     8 bytes   uint64: bytes of the header that follows
    header     JSON      {"format": "graphnn-bundle/1", "model": {...}, "metadata": {...},
                          "tensors": [{"key": "weights/fc1/W", "dtype": "<f4", "shape": [784, 50]}, ...]}
    data       the tensors' raw bytes, C order, back to back in the header's order
    checksum   32 bytes  SHA-256 of everything before it

Keys are ``weights/NODE/NAME`` (trained), ``state/NODE/NAME`` (running statistics) and
``extra/...`` (e.g. solver state for resuming). Like safetensors, the format carries no code: loading
reads JSON and raw numbers only. Every size is checked against the real file size before anything is
allocated, the checksum catches truncation and bit flips, and every weight is checked against the
shape its graph expects. Keys are matched whole against a fixed pattern (no absolute paths, ``..``,
backslashes or trailing newlines; they are names, never paths on disk). Weights and state are floats, and
no array may hold NaN or infinity. Saving is deterministic: save -> load -> save gives the same bytes.
"""

import hashlib
import io
import json
import math
import re
import struct
from dataclasses import dataclass, field

import numpy as np

from graphnn import __version__
from graphnn.errors import BundleError, GraphnnError, ModelInvalid
from graphnn.executor import Network
from graphnn.io.atomic import write_atomic
from graphnn.io.regular import require_regular_file
from graphnn.model import jsontext, model_from_dict
from graphnn.model.limits import MAX_BUNDLE_HEADER_BYTES, MAX_DIMENSIONS, MAX_NAME_LENGTH, MAX_TENSOR_ELEMENTS
from graphnn.model.schema import TRAIN, with_defaults

MAGIC = b"\x89GNN\r\n\x1a\n"
FORMAT = "graphnn-bundle/1"
DTYPES = {"<f4": np.float32, "<f8": np.float64, "<i8": np.int64}
_KEY = re.compile(r"(weights|state|extra)(/(?!\.\.?(?:/|$))[A-Za-z0-9_.\-]{1,"
                  f"{MAX_NAME_LENGTH}" r"}){1,4}")  # parts: node names (no . or ..), arrays
FLOAT_DTYPES = ("<f4", "<f8")  # what weights and state may be
_PREFIX = len(MAGIC) + 8
_CHECKSUM = 32
READ_CHUNK = 1 << 20  # bytes read (and hashed) at a time


@dataclass
class Bundle:
    """A loaded (or about to be saved) network: model, weights, state, metadata and extra arrays."""

    model: object
    weights: dict
    state: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # "extra/..." key -> array

    def __repr__(self):  # counts, not the arrays
        count = sum(array.size for group in (self.weights, self.state) for arrays in group.values()
                    for array in arrays.values())
        trained = self.metadata.get("training")
        iterations = trained.get("iterations") if isinstance(trained, dict) else None
        return (f"<graphnn.Bundle {self.model.name!r}: {len(self.model.plan.steps)} nodes, {count:,} values in "
                f"{sum(len(arrays) for arrays in self.weights.values())} weights"
                f"{f', trained {iterations} iterations' if iterations is not None else ''}"
                f"{f', {len(self.extra)} extra arrays' if self.extra else ''}>")

    def _repr_html_(self):
        from graphnn.api import Model

        return Model.of(self.model, self.network(), self.metadata)._repr_html_()

    def network(self):
        """A Network with this bundle's weights and state, in their stored dtype. A bundle without arrays (a
        weightless graph) gives the dtype it was trained in (metadata ``training.dtype``), else its model's
        ``train.dtype`` (the schema's default when the model says nothing)."""
        first = next((array for group in (self.weights, self.state) for arrays in group.values()
                      for array in arrays.values()), None)
        if first is not None:
            dtype = first.dtype
        else:
            training = self.metadata.get("training")
            trained = training.get("dtype") if isinstance(training, dict) else None
            dtype = trained if trained in TRAIN["properties"]["dtype"]["enum"] else \
                with_defaults(self.model.train or {}, TRAIN)["dtype"]
        return Network(self.model, self.weights, self.state, dtype)


def _tensor_entries(bundle):
    for prefix, groups in (("weights", bundle.weights), ("state", bundle.state)):
        for node in sorted(groups, key=lambda name: bundle.model.plan.by_name[name].index):
            for name in sorted(groups[node]):
                yield f"{prefix}/{node}/{name}", groups[node][name]
    for key in sorted(bundle.extra):
        yield key, bundle.extra[key]


def to_bytes(bundle):
    """The bundle's file content."""
    tensors, blobs = [], []
    for key, array in _tensor_entries(bundle):
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<").str
        if not _KEY.fullmatch(key):
            raise BundleError(f"cannot save an array under the key {key!r}; keys are weights/NODE/NAME, "
                              "state/NODE/NAME or extra/... with parts of letters, digits, _ . -")
        if dtype not in DTYPES:
            raise BundleError(f"array {key} has dtype {array.dtype}; bundles hold {', '.join(DTYPES)}")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise BundleError(f"cannot save array {key}: it holds NaN or infinite values")
        if 0 in array.shape:  # loading refuses it (see _check_header)
            raise BundleError(f"cannot save array {key}: its shape {array.shape} has a size 0; sizes are >= 1")
        tensors.append({"key": key, "dtype": dtype, "shape": list(array.shape)})
        blobs.append(array.astype(dtype, copy=False).tobytes())
    metadata = {"graphnn_version": __version__, **bundle.metadata}
    header = {"format": FORMAT, "model": bundle.model.document, "metadata": metadata, "tensors": tensors}
    header_bytes = json.dumps(header, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    body = MAGIC + struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(blobs)
    return body + hashlib.sha256(body).digest()


def save_bundle(path, bundle):
    """Write ``bundle`` to ``path`` atomically (see graphnn.io.atomic)."""
    write_atomic(path, to_bytes(bundle))


def load_bundle(path):
    """Read and fully verify a bundle file; raises BundleError (or ModelInvalid) naming the file.

    Nothing is read whole before it is checked: the magic bytes and the header's length come first, then
    the header, and the data section is read only once the header's tensors account for exactly the
    bytes the file holds (so a 3 GB file of anything else costs 16 bytes of reading)."""
    path = str(path)
    size = require_regular_file(path, BundleError).st_size  # a FIFO or /dev/zero would never end
    try:
        with open(path, "rb") as handle:
            return _read(handle, size, path)
    except OSError as error:
        raise BundleError(f"cannot read the file: {error.strerror}", file=path) from None


def from_bytes(data, file=None):
    """Parse and verify bundle bytes."""
    return _read(io.BytesIO(data), len(data), file)


def _read(stream, size, file):
    """Parse and verify the bundle of ``size`` bytes that ``stream`` holds, reading it in order."""
    fail = _Failer(file)
    prefix = stream.read(_PREFIX)
    if size < _PREFIX + _CHECKSUM or prefix[: len(MAGIC)] != MAGIC:
        fail("not a graphnn bundle (bad magic bytes or too short)")
    (header_length,) = struct.unpack("<Q", prefix[len(MAGIC):])
    if header_length > MAX_BUNDLE_HEADER_BYTES:
        fail(f"header claims {header_length:,} bytes; the limit is {MAX_BUNDLE_HEADER_BYTES:,}")
    data_size = size - _CHECKSUM - _PREFIX - header_length
    if data_size < 0:
        fail(f"file is truncated: the header claims {header_length:,} bytes but only "
             f"{size - _CHECKSUM - _PREFIX:,} remain")
    header_bytes = _read_exact(stream, header_length, fail)
    digest = hashlib.sha256(prefix)
    digest.update(header_bytes)
    try:
        try:
            header, _ = jsontext.parse(header_bytes.decode("utf-8"), file=file)
        except (UnicodeDecodeError, GraphnnError) as error:
            fail(f"header is not valid JSON: {error}")
        tensors = _check_header(header, data_size, fail)
    except BundleError:  # a damaged file is reported as damaged, whatever its header says
        while chunk := stream.read(min(READ_CHUNK, data_size)):
            digest.update(chunk)
            data_size -= len(chunk)
        _check_checksum(stream, digest, fail)
        raise
    data = bytearray(data_size)
    view = memoryview(data)
    for start in range(0, data_size, READ_CHUNK):
        chunk = view[start:start + READ_CHUNK]
        if stream.readinto(chunk) != len(chunk):
            fail("file is truncated: it ended while its data was read")
        digest.update(chunk)
    _check_checksum(stream, digest, fail)
    try:
        model = model_from_dict(header["model"], file=file)
    except ModelInvalid as invalid:
        for error in invalid.errors:
            error.path = "/model" + (error.path or "")
        raise ModelInvalid(invalid.errors) from None
    arrays, offset = {}, 0
    for index, entry in enumerate(tensors):
        dtype = np.dtype(DTYPES[entry["dtype"]])
        count = math.prod(entry["shape"])
        array = np.frombuffer(data, dtype, count, offset).reshape(entry["shape"])
        if dtype.kind == "f" and not np.isfinite(array).all():
            fail(f"tensor {entry['key']!r} holds NaN or infinite values", path=f"/tensors/{index}")
        arrays[entry["key"]] = array.copy()
        offset += count * dtype.itemsize
    return _assemble(model, header["metadata"], arrays, fail)


class _Failer:
    def __init__(self, file):
        self.file = file

    def __call__(self, message, path=None, node=None):
        raise BundleError(message, file=self.file, path=path, node=node)


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _read_exact(stream, count, fail):
    data = stream.read(count)
    if len(data) != count:
        fail("file is truncated: it ended while its header was read")
    return data


def _check_checksum(stream, digest, fail):
    if stream.read(_CHECKSUM) != digest.digest():
        fail("checksum mismatch: the file is truncated or damaged")


def _check_header(header, data_size, fail):
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        fail(f"header must be an object with format {FORMAT!r}", path="/format")
    if set(header) != {"format", "model", "metadata", "tensors"}:
        fail(f"header keys must be format, model, metadata, tensors; got {', '.join(sorted(header))}")
    if not isinstance(header["metadata"], dict):
        fail("metadata must be an object", path="/metadata")
    tensors = header["tensors"]
    if not isinstance(tensors, list):
        fail("tensors must be an array", path="/tensors")
    seen, total = set(), 0
    for index, entry in enumerate(tensors):
        where = f"/tensors/{index}"
        if not isinstance(entry, dict) or set(entry) != {"key", "dtype", "shape"}:
            fail("each tensor entry must have exactly key, dtype, shape", path=where)
        key, dtype, shape = entry["key"], entry["dtype"], entry["shape"]
        if not isinstance(key, str) or not _KEY.fullmatch(key):
            fail(f"bad tensor key {key!r}; expected weights/NODE/NAME, state/NODE/NAME or extra/...", path=where)
        if key in seen:
            fail(f"tensor {key!r} appears twice", path=where)
        seen.add(key)
        if not isinstance(dtype, str) or dtype not in DTYPES:
            fail(f"tensor {key!r} has dtype {dtype!r}; expected one of {', '.join(DTYPES)}", path=where)
        if not key.startswith("extra/") and dtype not in FLOAT_DTYPES:
            fail(f"tensor {key!r} has dtype {dtype!r}; weights and state are {' or '.join(FLOAT_DTYPES)}", path=where)
        if (not isinstance(shape, list) or len(shape) > MAX_DIMENSIONS
                or not all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d for d in shape)):
            # sizes >= 1: with a 0 among them, any other size would pass the element count ([0, 10**30])
            fail(f"tensor {key!r} has bad shape {_short(shape)}; expected at most {MAX_DIMENSIONS} sizes >= 1",
                 path=where)
        count = math.prod(shape)
        if count > MAX_TENSOR_ELEMENTS:
            fail(f"tensor {key!r} claims {count:,} elements; the limit is {MAX_TENSOR_ELEMENTS:,}", path=where)
        total += count * np.dtype(DTYPES[dtype]).itemsize
        if total > data_size:
            fail(f"tensors claim more bytes than the file holds ({data_size:,})", path=where)
    if total != data_size:
        fail(f"tensors claim {total:,} bytes but the data section holds {data_size:,}")
    return tensors


def _assemble(model, metadata, arrays, fail):
    weights, state, extra = {}, {}, {}
    expected = {}
    for step in model.plan.steps:
        for name, shape in step.weight_shapes.items():
            expected[f"weights/{step.name}/{name}"] = shape
        for name, shape in step.op.state_shapes.items():
            expected[f"state/{step.name}/{name}"] = tuple(shape)
    for key, array in arrays.items():
        kind, *rest = key.split("/")
        if kind == "extra":
            extra[key] = array
            continue
        if key not in expected:
            fail(f"unexpected tensor {key!r}: the graph has no such {'weight' if kind == 'weights' else 'state'}")
        node, name = rest
        if array.shape != expected[key]:
            fail(f"tensor {key!r} has shape {array.shape}; the graph expects {expected[key]}", node=node)
        (weights if kind == "weights" else state).setdefault(node, {})[name] = array
    missing = [key for key in expected if key not in arrays]
    if missing:
        fail(f"missing tensor{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    dtypes = {array.dtype for group in (weights, state) for arrays_ in group.values() for array in arrays_.values()}
    if len(dtypes) > 1:
        fail(f"weights mix dtypes {sorted(str(d) for d in dtypes)}; expected one")
    return Bundle(model, weights, state, metadata, extra)
