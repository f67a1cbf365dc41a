"""Caffe's data files: Datum records in an LMDB database (a Data layer's ``source``) and BlobProto mean files
(``transform_param { mean_file: "mean.binaryproto" }``), decoded from protobuf's wire format without protobuf.

    Datum      channels = 1, height = 2, width = 3 (varints); data = 4 (bytes: uint8 pixels, C x H x W);
               label = 5 (varint); float_data = 6 (floats, one field each or packed); encoded = 7 (bool)
    BlobProto  shape = 7 (BlobShape: dim = 1, packed varints); data = 5 (packed floats); double_data = 8;
               the old num = 1, channels = 2, height = 3, width = 4 when there is no shape

``read_lmdb(folder)`` gives (samples (N, C, H, W) uint8 or float32, labels (N,) int64) in key order, as Caffe
reads them; it needs the optional ``lmdb`` package (``pip install graphnn[lmdb]``). Every record's sizes are
checked against its bytes and the whole array's size against MAX_DATA_BYTES before anything is allocated.
Encoded records (JPEG/PNG bytes: ``convert_imageset --encoded``) are refused: graphnn does not decode images.
"""

import math

import numpy as np

from graphnn.errors import DataError, LimitError
from graphnn.interop.onnx_wire import LENGTH_DELIMITED, WireError, fields, varint
from graphnn.model.limits import MAX_TENSOR_ELEMENTS

MAX_DATA_BYTES = 8 * 1024**3  # one LMDB's samples in memory
MAX_BLOB_BYTES = 64 * 1024 * 1024  # a mean file
DATUM_SIZES = {1: "channels", 2: "height", 3: "width", 5: "label"}
FIXED32, VARINT = 5, 0


def _floats(data, wire, start, end, into):
    """Append the float(s) of one field (a packed run or a single fixed32) to the list ``into``."""
    if wire == LENGTH_DELIMITED:
        if (end - start) % 4:
            raise WireError("packed floats whose length is not a multiple of 4")
        into.append(np.frombuffer(data, "<f4", (end - start) // 4, start))
    elif wire == FIXED32:
        into.append(np.frombuffer(data, "<f4", 1, start))
    else:
        raise WireError(f"floats with wire type {wire}")


def _signed(value):
    """A varint read as int64 (protobuf writes negative numbers as 10-byte two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def parse_datum(record, where):
    """{"channels", "height", "width", "label", "data" (bytes) or "float_data" (float32 array), "encoded"}
    of one Datum record; a DataError naming ``where`` (the database and key) when it is malformed."""
    datum = {"channels": 0, "height": 0, "width": 0, "label": 0, "encoded": False}
    floats = []
    try:
        for number, wire, start, end in fields(record, 0, len(record)):
            if number in DATUM_SIZES and wire == VARINT:
                datum[DATUM_SIZES[number]] = _signed(varint(record, start)[0])
            elif number == 4 and wire == LENGTH_DELIMITED:
                datum["data"] = record[start:end]
            elif number == 6:
                _floats(record, wire, start, end, floats)
            elif number == 7 and wire == VARINT:
                datum["encoded"] = bool(varint(record, start)[0])
    except WireError as error:
        raise DataError(f"not a Caffe Datum record: {error}", file=where) from None
    if floats:
        datum["float_data"] = np.concatenate(floats)
    return datum


def _datum_shape(datum, where):
    shape = (datum["channels"], datum["height"], datum["width"])
    if datum["encoded"]:
        raise DataError("an encoded image (JPEG/PNG bytes); graphnn reads raw Datum pixels only: write the "
                        "database without --encoded", file=where)
    if any(size < 1 for size in shape) or math.prod(shape) > MAX_TENSOR_ELEMENTS:
        raise DataError(f"Datum channels x height x width {shape[0]} x {shape[1]} x {shape[2]} is not a size "
                        f"from 1 to {MAX_TENSOR_ELEMENTS:,}", file=where)
    count = math.prod(shape)
    held = len(datum["data"]) if "data" in datum else len(datum.get("float_data", ()))
    if held != count:
        raise DataError(f"the Datum holds {held:,} values but channels x height x width is {count:,}", file=where)
    return shape


def _open(folder):
    try:
        import lmdb
    except ImportError:
        raise DataError("reading an LMDB database needs the lmdb package: pip install 'graphnn[lmdb]'",
                        file=str(folder)) from None
    try:
        return lmdb.open(str(folder), readonly=True, lock=False, readahead=False, subdir=True, max_readers=1)
    except lmdb.Error as error:
        raise DataError(f"cannot open the LMDB database: {error}", file=str(folder)) from None


def lmdb_shape(folder):
    """(channels, height, width) of the first Datum of the LMDB database ``folder`` and its record count."""
    with _open(folder) as environment, environment.begin() as transaction:
        entries = transaction.stat()["entries"]
        cursor = transaction.cursor()
        if not cursor.first():
            raise DataError("the LMDB database is empty", file=str(folder))
        key, record = cursor.item()
        where = f"{folder} (key {key[:40]!r})"
        return _datum_shape(parse_datum(record, where), where), entries


def read_lmdb(folder, limit=None):
    """(samples (N, C, H, W): uint8 for raw pixels, float32 for float_data; labels (N,) int64) of the Datum
    records of the LMDB database ``folder``, in key order (the first ``limit`` when given). Every record must
    have the first one's shape and kind."""
    with _open(folder) as environment, environment.begin() as transaction:
        count = transaction.stat()["entries"]
        count = min(count, limit) if limit else count
        cursor = transaction.cursor()
        if count == 0 or not cursor.first():
            raise DataError("the LMDB database is empty", file=str(folder))
        samples = labels = shape = None
        for index, (key, record) in enumerate(cursor):
            if index == count:
                break
            where = f"{folder} (key {key[:40]!r})"
            datum = parse_datum(record, where)
            kind = "data" if "data" in datum else "float_data"
            if samples is None:
                shape = _datum_shape(datum, where)
                dtype = np.uint8 if kind == "data" else np.float32
                needed = count * math.prod(shape) * np.dtype(dtype).itemsize
                if needed > MAX_DATA_BYTES:
                    raise LimitError(f"{count:,} records of {shape} need {needed:,} bytes; the limit is "
                                     f"{MAX_DATA_BYTES:,}", file=str(folder))
                samples, labels = np.empty((count, *shape), dtype), np.empty(count, np.int64)
                first_kind = kind
            elif _datum_shape(datum, where) != shape or kind != first_kind:
                raise DataError(f"a Datum of {kind} {_datum_shape(datum, where)}, unlike the first record's "
                                f"{first_kind} {shape}", file=where)
            values = datum[kind]
            samples[index] = (np.frombuffer(values, np.uint8) if kind == "data" else values).reshape(shape)
            labels[index] = datum["label"]
    return samples, labels


def read_blobproto(path):
    """The float32 array of a BlobProto file (a Caffe mean file, ``.binaryproto``): shaped by its ``shape``,
    else by num x channels x height x width (each 1 when absent), e.g. (1, 3, 256, 256) for an image mean."""
    from graphnn.io.regular import require_regular_file

    status = require_regular_file(path, DataError)
    if status.st_size > MAX_BLOB_BYTES:
        raise LimitError(f"the file has {status.st_size:,} bytes; the limit is {MAX_BLOB_BYTES:,}", file=str(path))
    with open(path, "rb") as handle:
        data = handle.read()
    dims, old = [], {1: 0, 2: 0, 3: 0, 4: 0}
    floats, doubles = [], []
    try:
        for number, wire, start, end in fields(data, 0, len(data)):
            if number == 7 and wire == LENGTH_DELIMITED:
                for inner, inner_wire, inner_start, inner_end in fields(data, start, end):
                    if inner == 1 and inner_wire == LENGTH_DELIMITED:
                        position = inner_start
                        while position < inner_end:
                            value, position = varint(data, position)
                            dims.append(_signed(value))
                    elif inner == 1 and inner_wire == VARINT:
                        dims.append(_signed(varint(data, inner_start)[0]))
            elif number in old and wire == VARINT:
                old[number] = _signed(varint(data, start)[0])
            elif number == 5:
                _floats(data, wire, start, end, floats)
            elif number == 8 and wire == LENGTH_DELIMITED:
                if (end - start) % 8:
                    raise WireError("packed doubles whose length is not a multiple of 8")
                doubles.append(np.frombuffer(data, "<f8", (end - start) // 8, start))
    except WireError as error:
        raise DataError(f"not a Caffe BlobProto file: {error}", file=str(path)) from None
    shape = tuple(dims) if dims else tuple(old[number] or 1 for number in (1, 2, 3, 4))
    values = np.concatenate(floats) if floats else (np.concatenate(doubles).astype(np.float32) if doubles else
                                                    np.empty(0, np.float32))
    if any(size < 0 for size in shape) or math.prod(shape) != values.size:
        raise DataError(f"the blob's shape {shape} does not match its {values.size:,} values", file=str(path))
    return values.reshape(shape)
