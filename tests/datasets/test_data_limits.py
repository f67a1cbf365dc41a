"""Data files are size-checked from their headers before anything is allocated (issue 14, class 6): IDX,
.npz and .mat files share one limit, MAX_DATA_BYTES. A compressed .mat can declare a 2.5 GB array in a
few bytes; it is now refused from the variable's header, as IDX and .npz files are.

Variants (generated): each format (IDX raw and gzip, .npz stored and compressed, .mat raw and
compressed) declaring sizes just over the limit, far over it, and overflowing 32 bits, for the sample
and the label array; each refused in one located line under tracemalloc with a small peak, while the
same file declaring what it holds loads.
"""

import gzip
import io
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
import scipy.io  # noqa: F401  (imported before tracemalloc starts: read_mat imports it)

from graphnn.datasets.idx import MAX_DATA_BYTES, read_idx
from graphnn.datasets.matfile import read_mat
from graphnn.datasets.npzfile import read_npz
from graphnn.errors import DataError

MB = 1 << 20
ALLOWED_PEAK = 8 * MB


def _padded(data):
    return data + bytes(-len(data) % 8)


def mat_matrix(name, shape, data=None):
    """A MAT v5 matrix element (class double) of ``shape``; ``data`` defaults to zeros of that shape, and
    may be shorter than the shape declares (the tag still declares the full size)."""
    declared = min(int(np.prod(shape)) * 8, 2**32 - 256)  # a tag's length is 32 bits
    data = bytes(declared) if data is None else data
    flags = struct.pack("<II", 6, 8) + struct.pack("<II", 6, 0)  # mxDOUBLE_CLASS, real
    dims = struct.pack("<II", 5, 4 * len(shape)) + _padded(struct.pack(f"<{len(shape)}i", *shape))
    label = struct.pack("<II", 1, len(name)) + _padded(name.encode())
    real = struct.pack("<II", 9, declared) + _padded(data)
    body = flags + dims + label + real
    total = len(body) - len(_padded(data)) + -(-declared // 8) * 8  # what the tag declares
    return struct.pack("<II", 14, min(total, 2**32 - 8)) + body


def mat_file(elements, compress):
    header = b"MATLAB 5.0 MAT-file, written by graphnn's tests".ljust(116, b" ") + bytes(8) + b"\x00\x01IM"
    parts = []
    for element in elements:
        if compress:
            packed = zlib.compress(element)
            parts.append(struct.pack("<II", 15, len(packed)) + packed)
        else:
            parts.append(element)
    return header + b"".join(parts)


def idx_bytes(shape, data):
    return struct.pack(">BBBB", 0, 0, 0x08, len(shape)) + struct.pack(f">{len(shape)}I", *shape) + data


def npy_bytes(shape, data):
    header = repr({"descr": "<f8", "fortran_order": False, "shape": tuple(shape)}).encode()
    header = header.ljust(-(-(len(header) + 11) // 64) * 64 - 11) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


def npz_bytes(members, compress):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(f"{name}.npy", data)
    return buffer.getvalue()


CLAIMS = {"just over the limit": (1, MAX_DATA_BYTES // 8 + 1), "far over": (10**5, 10**5),
          "over 32 bits": (2**16, 2**16 + 1)}
FORMATS = ["idx", "idx.gz", "npz", "compressed npz", "mat", "compressed mat"]


def write(folder, fmt, claim, which="samples"):
    """A file of ``fmt`` whose sample (or label) array declares the ``claim`` shape but holds 64 values."""
    small = (8, 8)
    shape_x, shape_y = (claim, (8, 1)) if which == "samples" else (small, claim)
    held = bytes(8 * 64)
    if fmt.startswith("idx"):
        data = idx_bytes(shape_x, held[:64])
        path = folder / ("train-images-idx3-ubyte" + (".gz" if fmt.endswith("gz") else ""))
        path.write_bytes(gzip.compress(data) if fmt.endswith("gz") else data)
    elif fmt.endswith("npz"):
        path = folder / "data.npz"
        path.write_bytes(npz_bytes({"x": npy_bytes(shape_x, held), "y": npy_bytes(shape_y, held[:64])},
                                   fmt.startswith("compressed")))
    else:
        path = folder / "data.mat"
        elements = [mat_matrix("train_data", shape_x, held), mat_matrix("train_label", shape_y, held[:64])]
        path.write_bytes(mat_file(elements, fmt.startswith("compressed")))
    return path


def read(fmt, path):
    if fmt.startswith("idx"):
        return read_idx(path)
    return read_npz(path, "train") if fmt.endswith("npz") else read_mat(path, "train")


@pytest.mark.parametrize("which", ["samples", "labels"])
@pytest.mark.parametrize("claim", CLAIMS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_declared_size_over_the_limit_is_refused_before_allocating(tmp_path, fmt, claim, which):
    if fmt.startswith("idx") and which == "labels":
        pytest.skip("an IDX file holds one array")
    if fmt.startswith("idx") and max(CLAIMS[claim]) >= 2**32:
        pytest.skip("IDX sizes are 32-bit")
    path = write(tmp_path, fmt, CLAIMS[claim], which)
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as refused:
            read(fmt, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(refused.value)
    assert str(path) in message and "\n" not in message
    assert peak < ALLOWED_PEAK, f"{fmt}: {peak / MB:.0f} MB to refuse a claim of {CLAIMS[claim]}"


def test_a_compressed_mat_declaring_gigabytes_is_refused_by_the_limit(tmp_path):
    path = write(tmp_path, "compressed mat", (50_000, 50_000))
    with pytest.raises(DataError, match=r"shape \(50000, 50000\), 20,000,000,000 bytes; the limit is"):
        read_mat(path, "train")


@pytest.mark.parametrize("compress", [False, True])
def test_a_mat_that_declares_what_it_holds_loads(tmp_path, compress):
    x, y = np.arange(24.0).reshape(6, 4), np.eye(3)[[0, 1, 2, 0, 1, 2]]
    # MAT stores column-major: write the transposed bytes so that the matrix reads back as x and y
    elements = [mat_matrix("train_data", x.shape, x.T.tobytes()), mat_matrix("train_label", y.shape, y.T.tobytes())]
    path = tmp_path / "data.mat"
    path.write_bytes(mat_file(elements, compress))
    samples, labels = read_mat(path, "train")
    np.testing.assert_array_equal(samples, x)
    np.testing.assert_array_equal(labels, y)
