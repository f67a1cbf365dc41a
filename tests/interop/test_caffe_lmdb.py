"""Caffe's data files read without protobuf (graphnn/interop/caffe_lmdb.py): Datum records in an LMDB
database written here (raw pixels, float_data, labels), BlobProto mean files (shape or num/channels/height/
width), and malformed records refused with a DataError naming the database and key."""

import struct

import numpy as np
import pytest

from graphnn.errors import DataError
from graphnn.interop.caffe_lmdb import parse_datum, read_blobproto, read_lmdb
from tests.helpers import varint


def field(number, wire, payload):
    """One protobuf field: a varint (wire 0, ``payload`` an int), bytes (wire 2) or a fixed32 (wire 5)."""
    key = varint(number << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def datum(array, label, as_floats=False):
    """The Datum record of ``array`` (C, H, W): uint8 pixels in ``data`` or float32 in ``float_data``."""
    channels, height, width = array.shape
    record = field(1, 0, channels) + field(2, 0, height) + field(3, 0, width)
    if as_floats:
        record += b"".join(field(6, 5, struct.pack("<f", value)) for value in array.reshape(-1))
    else:
        record += field(4, 2, array.astype(np.uint8).tobytes())
    return record + field(5, 0, label)


def blobproto(array, old_dims=False):
    """A BlobProto file's bytes for ``array``: with a BlobShape, or with the old num/channels/height/width."""
    if old_dims:
        head = b"".join(field(number, 0, size) for number, size in zip((1, 2, 3, 4), array.shape))
    else:
        head = field(7, 2, field(1, 2, b"".join(varint(size) for size in array.shape)))
    return head + field(5, 2, array.astype("<f4").tobytes())


def write_lmdb(folder, records):
    """An LMDB database at ``folder`` with ``records`` (bytes) under keys 00000000, 00000001, ..."""
    lmdb = pytest.importorskip("lmdb")
    with lmdb.open(str(folder), map_size=1 << 26) as environment, environment.begin(write=True) as transaction:
        for index, record in enumerate(records):
            transaction.put(f"{index:08d}".encode(), record)
    return folder


def test_datum_raw_and_float():
    pixels = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    decoded = parse_datum(datum(pixels, 7), "db")
    assert (decoded["channels"], decoded["height"], decoded["width"], decoded["label"]) == (2, 3, 4, 7)
    assert decoded["data"] == pixels.tobytes()
    floats = parse_datum(datum(pixels.astype(np.float32) / 10, 3, as_floats=True), "db")
    np.testing.assert_allclose(floats["float_data"], pixels.reshape(-1) / 10, rtol=1e-6)


def test_read_lmdb(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 1, 4, 4), dtype=np.uint8)
    folder = write_lmdb(tmp_path / "train_lmdb", [datum(image, index % 3) for index, image in enumerate(images)])
    x, y = read_lmdb(folder)
    assert x.dtype == np.uint8 and x.shape == (5, 1, 4, 4)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, [0, 1, 2, 0, 1])
    x, y = read_lmdb(folder, limit=2)
    assert x.shape == (2, 1, 4, 4)


def test_read_lmdb_float_data(tmp_path):
    values = np.linspace(-1, 1, 2 * 2 * 3, dtype=np.float32).reshape(1, 2, 2, 3)
    folder = write_lmdb(tmp_path / "db", [datum(values[0], 1, as_floats=True)])
    x, y = read_lmdb(folder)
    assert x.dtype == np.float32 and y.tolist() == [1]
    np.testing.assert_allclose(x, values)


@pytest.mark.parametrize("record, expected", [
    (field(1, 0, 1) + field(2, 0, 2) + field(3, 0, 2) + field(4, 2, b"abc"), "3 values"),
    (field(1, 0, 0) + field(4, 2, b""), "not a size"),
    (field(1, 0, 1) + field(2, 0, 1) + field(3, 0, 1) + field(4, 2, b"x") + field(7, 0, 1), "encoded"),
    (b"\x0a\x05ab", "not a Caffe Datum"),
])
def test_bad_records(tmp_path, record, expected):
    folder = write_lmdb(tmp_path / "db", [record])
    with pytest.raises(DataError, match=expected) as caught:
        read_lmdb(folder)
    assert "key b'00000000'" in str(caught.value)


def test_records_of_different_shapes(tmp_path):
    folder = write_lmdb(tmp_path / "db", [datum(np.zeros((1, 2, 2)), 0), datum(np.zeros((1, 3, 3)), 0)])
    with pytest.raises(DataError, match="unlike the first"):
        read_lmdb(folder)


@pytest.mark.parametrize("old_dims", [False, True])
def test_blobproto(tmp_path, old_dims):
    mean = np.arange(2 * 3 * 4, dtype=np.float32).reshape(1, 2, 3, 4) / 7
    path = tmp_path / "mean.binaryproto"
    path.write_bytes(blobproto(mean, old_dims))
    read = read_blobproto(path)
    assert read.shape == (1, 2, 3, 4) and read.dtype == np.float32
    np.testing.assert_allclose(read, mean)


def test_blobproto_malformed(tmp_path):
    path = tmp_path / "mean.binaryproto"
    path.write_bytes(field(7, 2, field(1, 2, varint(5))) + field(5, 2, np.zeros(3, "<f4").tobytes()))
    with pytest.raises(DataError, match=r"shape \(5,\) does not match its 3 values"):
        read_blobproto(path)
    path.write_bytes(b"\xff")
    with pytest.raises(DataError, match="not a Caffe BlobProto"):
        read_blobproto(path)
