"""The MATLAB data file graphnn reads: variables ``train_data``, ``train_label``, ``test_data``, ``test_label``,
samples in rows, labels one-hot. Read with ``scipy.io.loadmat``, which reads numbers, never code.

scipy's C reader can crash the interpreter on a damaged file (e.g. a real matrix whose flags claim it is
complex), so ``check_layout`` first walks the file's MAT v5 structure and checks what that reader will
rely on: the 128-byte header, each variable's tag, flags, dimensions and name, and, for the variables
read, a real numeric class and a data block exactly as long as the dimensions declare, within the
MAX_DATA_BYTES that IDX and .npz files have (a compressed file can declare far more than it holds).
MAT v5 layout::

    header    116 bytes text "MATLAB 5.0 MAT-file...", 8 subsystem, 2 version, 2 endian mark "IM"/"MI"
    element   tag (uint32 type, uint32 nbytes) + data padded to 8 bytes; type 14 matrix, 15 compressed
    matrix    flags (type 6: class | 0x800 complex), dims (type 5: int32s), name (type 1), real part
"""

import math
import struct
import zlib
from pathlib import Path

from graphnn.datasets.idx import MAX_DATA_BYTES
from graphnn.errors import DataError
from graphnn.io.regular import require_regular_file

MAT_KEYS = {"train": ("train_data", "train_label"), "test": ("test_data", "test_label")}
MAX_MAT_BYTES = 2 * MAX_DATA_BYTES  # the whole file: both splits
MI_INT8, MI_INT32, MI_UINT32, MI_MATRIX, MI_COMPRESSED = 1, 5, 6, 14, 15
ITEM_BYTES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8}  # numeric data type -> bytes
NUMERIC_CLASSES = range(6, 16)  # mxDOUBLE_CLASS .. mxUINT64_CLASS
COMPLEX_FLAG = 0x800
HEADER_PEEK = 4096  # bytes of each variable read to check its header


def read_mat(path, split):
    """(samples, labels) of ``split`` from the .mat file ``path``."""
    import scipy.io
    from scipy.io.matlab import MatReadError

    path = Path(path)
    keys = MAT_KEYS[split]
    try:
        require_regular_file(path, DataError)
        names = check_layout(path, keys)
        missing = [key for key in keys if key not in names]
        if missing:
            raise DataError(f"has no variable {', '.join(missing)}; expected train_data, train_label, "
                            "test_data and test_label (samples in rows, labels one-hot)")
        contents = scipy.io.loadmat(path, variable_names=keys)
        return contents[keys[0]], contents[keys[1]]
    except DataError as error:
        raise error.located(file=str(path)) from None
    except (OSError, EOFError, ValueError, TypeError, IndexError, KeyError, ArithmeticError,
            NotImplementedError, zlib.error, struct.error, MatReadError) as error:
        raise DataError(f"cannot read as a MATLAB file: {error}", file=str(path)) from None


def check_layout(path, keys):
    """The names of the variables in the MAT v5 file ``path``, after checking the structure (see above);
    the variables in ``keys`` must be real numeric matrices."""
    with open(path, "rb") as handle:
        size = handle.seek(0, 2)
        if size > MAX_MAT_BYTES:
            raise DataError(f"is {size} bytes; the limit for a .mat file is {MAX_MAT_BYTES}")
        handle.seek(0)
        header = handle.read(128)
        if header.startswith(b"\x89HDF") or b"MATLAB 7.3" in header[:116]:
            raise DataError("is a MATLAB v7.3 (HDF5) file; save it with save(..., '-v7') instead")
        if len(header) < 128 or not header.startswith(b"MATLAB 5.0 MAT-file") or header[126:] not in (b"IM", b"MI"):
            raise DataError("is not a MATLAB v5/v7 MAT-file (expected the text 'MATLAB 5.0 MAT-file' and an "
                            "endian mark)")
        order = "<" if header[126:] == b"IM" else ">"
        names, position = [], 128
        while position < size:
            handle.seek(position)
            kind, nbytes = unpack(order + "II", handle.read(8), "a variable's tag")
            if position + 8 + nbytes > size:
                raise DataError(f"truncated: the variable at byte {position} declares {nbytes} bytes")
            if kind == MI_COMPRESSED:
                element = zlib.decompressobj().decompress(handle.read(min(nbytes, 1 << 16)), HEADER_PEEK)
            elif kind == MI_MATRIX:
                element = struct.pack(order + "II", kind, nbytes) + handle.read(min(nbytes, HEADER_PEEK))
            else:
                raise DataError(f"unexpected element type {kind} at byte {position}; expected 14 or 15")
            names.append(check_matrix(element, order, keys, position))
            position += 8 + nbytes
    return names


def check_matrix(element, order, keys, position):
    """The name of the matrix whose first bytes are ``element``; checks its header (and, for a variable
    in ``keys``, that it is a real numeric matrix with a data block the size its dimensions declare)."""
    where = f"the variable at byte {position}"
    kind, total = unpack(order + "II", element[:8], where)
    if kind != MI_MATRIX:
        raise DataError(f"{where} has element type {kind}; expected 14 (matrix)")
    (flags_type, flags, offset) = subelement(element, 8, order, where)
    dims_type, dims, offset = subelement(element, offset, order, where)
    name_type, name, offset = subelement(element, offset, order, where)
    if (flags_type, len(flags), dims_type, name_type) != (MI_UINT32, 8, MI_INT32, MI_INT8) or len(dims) % 4:
        raise DataError(f"{where} has a damaged header (flags, dimensions or name)")
    shape = struct.unpack(f"{order}{len(dims) // 4}i", dims)
    name = name.decode("latin-1")
    if name not in keys:
        return name
    class_flags = struct.unpack(order + "I", flags[:4])[0]
    if (class_flags & 0xFF) not in NUMERIC_CLASSES or class_flags & COMPLEX_FLAG or len(shape) < 2 \
            or min(shape) < 0:
        raise DataError(f"variable {name!r} must be a real numeric matrix")
    first = unpack(order + "I", element[offset:offset + 4], where)[0]
    data_type, data_bytes = (first & 0xFFFF, first >> 16) if first >> 16 else \
        unpack(order + "II", element[offset:offset + 8], where)
    expected = math.prod(shape) * ITEM_BYTES.get(data_type, 0)
    if max(expected, data_bytes) > MAX_DATA_BYTES:  # before scipy allocates it (a compressed file is small)
        raise DataError(f"variable {name!r} declares shape {shape}, {max(expected, data_bytes):,} bytes; the limit "
                        f"is {MAX_DATA_BYTES:,}")
    end = offset + 8 + (-(-data_bytes // 8) * 8 if not first >> 16 else 0)
    if data_type not in ITEM_BYTES or data_bytes != expected or end != 8 + total:
        raise DataError(f"variable {name!r} has a damaged data block (type {data_type}, {data_bytes} bytes "
                        f"for shape {shape})")
    return name


def subelement(element, offset, order, where):
    """(type, data, next offset) of the sub-element at ``offset``, in full or small (4-byte) format."""
    first = unpack(order + "I", element[offset:offset + 4], where)[0]
    if first >> 16:  # small format: type and length share the first 4 bytes, data in the next 4
        return first & 0xFFFF, element[offset + 4:offset + 4 + (first >> 16)], offset + 8
    kind, nbytes = unpack(order + "II", element[offset:offset + 8], where)
    if nbytes > HEADER_PEEK or offset + 8 + nbytes > len(element):
        raise DataError(f"{where} has a damaged header")
    return kind, element[offset + 8:offset + 8 + nbytes], offset + 8 + -(-nbytes // 8) * 8


def unpack(layout, data, where):
    if len(data) != struct.calcsize(layout):
        raise DataError(f"truncated: {where} ends early")
    return struct.unpack(layout, data)
