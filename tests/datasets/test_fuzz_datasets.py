"""Fuzzing the dataset readers that a model file's ``{"path": ...}`` section reaches: .npz archives, IDX
folders (raw or gzip) and MATLAB .mat files. Valid small files are generated, then damaged (bits flipped,
truncated, npy and IDX headers edited so that they claim other shapes and dtypes, archives rebuilt with
correct CRCs so the damage gets past them). The property: ``load_split`` returns a sound Split (as many
labels as samples, class indices in range, finite numeric samples) or raises a one-line GraphnnError.

.mat files go through scipy's C reader, which a damaged file could crash outright, so they are fuzzed in a
child interpreter: a crash there fails the test instead of ending the test run.
"""

import gzip
import io
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.datasets import load_split
from tests.fuzzing import CI_SETTINGS, assert_clean_refusal, flip_bit, spread_position

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "fuzz"
EXAMPLES = {"npz": 120, "idx": 120, "mat": 80}
@st.composite
def arrays(draw):
    """(samples, labels): a few samples of a small shape, uint8 or float; labels as indices or one-hot."""
    count = draw(st.integers(1, 6))
    shape = (count, *draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    dtype = draw(st.sampled_from([np.uint8, np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = (rng.random(shape) * 255).astype(dtype)
    classes = draw(st.integers(2, 5))
    y = rng.integers(0, classes, count)
    if draw(st.booleans()):
        y = np.eye(classes, dtype=draw(st.sampled_from([np.uint8, np.float32])))[y]
    return x, y


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


HEADER_EDITS = [  # (old, new) edits of a .npy header's text
    ("'shape': (", "'shape': (99999999999, "), ("'shape': (", "'shape': (4000000000, 4000000000, "),
    ("'shape': (", "'shape': (-1, "), ("'shape': (", "'shape': ("), ("'descr': '", "'descr': '|O"),
    ("'descr': '", "'descr': '<U"), ("'descr': '", "'descr': 'V"), ("'descr': '", "'descr': '<c"),
    ("'descr': '|u1'", "'descr': '<f8'"), ("'descr': '<f4'", "'descr': '|u1'"), ("False", "True"),
    ("'shape': (", "'shape': ((1,), "), ("}", "'x': __import__('os')}"), ("'descr'", "'descr': 1, 'd'"),
]


@st.composite
def npz_files(draw):
    """A .npz (x, y or x_train, y_train), damaged at the member level (rebuilt with right CRCs) or as bytes."""
    x, y = draw(arrays())
    names = ("x", "y") if draw(st.booleans()) else ("x_train", "y_train")
    members = {f"{names[0]}.npy": _npy(x), f"{names[1]}.npy": _npy(y)}
    kind = draw(st.sampled_from(["none", "header", "member_flip", "member_truncate", "file_flip", "file_truncate",
                                 "extra_member"]))
    if kind in ("header", "member_flip", "member_truncate"):
        name = draw(st.sampled_from(sorted(members)))
        data = members[name]
        if kind == "header":
            old, new = draw(st.sampled_from(HEADER_EDITS))
            data = data.replace(old.encode(), new.encode(), 1)
        elif kind == "member_flip":
            data = flip_bit(draw, data)
        else:
            data = data[:spread_position(draw, len(data))]
        members[name] = data
    if kind == "extra_member":
        members[draw(st.sampled_from(["../evil.npy", "/abs.npy", "x.npy", "z.npy"]))] = _npy(np.zeros(3))
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if draw(st.booleans()) else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = buffer.getvalue()
    if kind == "file_flip":
        data = flip_bit(draw, data)
    elif kind == "file_truncate":
        data = data[:spread_position(draw, len(data))]
    return data


def _idx(array):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@st.composite
def idx_folders(draw):
    """{file name: bytes} of a train images/labels IDX pair, raw or gzip, then damaged."""
    x, y = draw(arrays())
    y = y.argmax(axis=1).astype(np.uint8) if y.ndim == 2 else y.astype(np.uint8)
    files = {"train-images-idx3-ubyte": _idx(x), "train-labels-idx1-ubyte": _idx(y)}
    name = draw(st.sampled_from(sorted(files)))
    data = files[name]
    kind = draw(st.sampled_from(["none", "dims", "sizes", "code", "flip", "truncate", "append"]))
    if kind == "dims":
        data = data[:3] + bytes([draw(st.sampled_from([0, 2, 9, 10, 255]))]) + data[4:]
    elif kind == "sizes":
        position = 4 + 4 * draw(st.integers(0, data[3] - 1))
        size = draw(st.sampled_from([0, 2**31, 2**32 - 1, 1, 99999]))
        data = data[:position] + struct.pack(">I", size) + data[position + 4:]
    elif kind == "code":
        data = data[:2] + bytes([draw(st.sampled_from([0x00, 0x09, 0x0B, 0x0C, 0x0F, 0xFF]))]) + data[3:]
    elif kind == "flip":
        data = flip_bit(draw, data)
    elif kind == "truncate":
        data = data[:spread_position(draw, len(data))]
    elif kind == "append":
        data += b"\x00" * draw(st.integers(1, 9))
    if draw(st.booleans()):  # gzip, sometimes with a damaged trailer or stream
        data = gzip.compress(data, mtime=0)
        data = flip_bit(draw, data) if draw(st.booleans()) and kind == "none" else data
        name += ".gz"
    files = {key + (".gz" if name.endswith(".gz") and key == name[:-3] else ""): value
             for key, value in files.items()}
    files[name] = data
    return files


@st.composite
def mat_files(draw):
    """A .mat (train_data, train_label, the data.mat layout) written by scipy, then damaged."""
    import scipy.io

    x, y = draw(arrays())
    x = x.reshape(len(x), -1)
    y = y if y.ndim == 2 else np.eye(y.max() + 1)[y]
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"train_data": x, "train_label": y}, do_compression=draw(st.booleans()))
    data = buffer.getvalue()
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["flip", "truncate", "int"]))
        if kind == "flip":
            data = flip_bit(draw, data)
        elif kind == "truncate":
            data = data[:spread_position(draw, len(data))]
        elif len(data) > 132:
            position = 128 + spread_position(draw, len(data) - 132)
            value = draw(st.sampled_from([0, 1, 6, 9, 14, 15, 2**31 - 1, 2**32 - 1, 0x800 | 6, 0x10006]))
            data = data[:position] + struct.pack("<I", value) + data[position + 4:]
    return data


def assert_sound_split_or_clean_refusal(load):
    try:
        split = load()
    except Exception as error:  # noqa: BLE001 — the property is about every exception
        assert_clean_refusal(error)
        return
    assert len(split.x) == len(split.y) > 0
    assert split.y.dtype == np.int64 and split.y.min() >= 0 and split.y.max() < split.num_classes
    assert split.x.dtype == np.uint8 or (split.x.dtype.kind == "f" and np.isfinite(split.x).all())


@pytest.fixture(scope="module")
def scratch():
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


@settings(max_examples=EXAMPLES["npz"], **CI_SETTINGS)
@given(data=npz_files())
def test_damaged_npz_files_load_soundly_or_are_refused(data, scratch):
    path = scratch / "data.npz"
    path.write_bytes(data)
    assert_sound_split_or_clean_refusal(lambda: load_split({"path": str(path)}, "train"))


@settings(max_examples=EXAMPLES["idx"], **CI_SETTINGS)
@given(files=idx_folders())
def test_damaged_idx_folders_load_soundly_or_are_refused(files, scratch):
    folder = scratch / "idx"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    assert_sound_split_or_clean_refusal(lambda: load_split({"path": str(folder)}, "train"))


MAT_CHILD = r"""
import sys
sys.path[:0] = [sys.argv[1]]
import tempfile
from pathlib import Path
from hypothesis import given, settings
from tests.fuzzing import CI_SETTINGS
from tests.datasets.test_fuzz_datasets import assert_sound_split_or_clean_refusal, mat_files
from graphnn.datasets import load_split

path = Path(tempfile.mkdtemp()) / "data.mat"

@settings(max_examples=int(sys.argv[2]), **{**CI_SETTINGS, "derandomize": sys.argv[3] == "1"})
@given(data=mat_files())
def check(data):
    path.write_bytes(data)
    assert_sound_split_or_clean_refusal(lambda: load_split({"path": str(path)}, "train"))

check()
print("ok")
"""


def run_mat_campaign(examples, derandomize=True):
    """Fuzz .mat reading in a child interpreter; returns (exit code, output)."""
    result = subprocess.run([sys.executable, "-c", MAT_CHILD, str(ROOT), str(examples), "1" if derandomize else "0"],
                            capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)
    return result.returncode, result.stdout + result.stderr


def test_damaged_mat_files_load_soundly_or_are_refused_without_crashing():
    code, output = run_mat_campaign(EXAMPLES["mat"])
    assert code == 0 and output.strip().endswith("ok"), output[-3000:]


def test_a_sample_of_each_kind_is_valid(scratch):
    """The generators make loadable files before damage (else the fuzzing would test only refusals)."""
    x, y = np.arange(12, dtype=np.float32).reshape(3, 4), np.array([0, 1, 1])
    path = scratch / "ok.npz"
    np.savez(path, x=x, y=y)
    assert load_split({"path": str(path)}, "train").num_classes == 2
    folder = scratch / "ok-idx"
    folder.mkdir()
    (folder / "train-images-idx3-ubyte").write_bytes(_idx(x.astype(np.uint8)))
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(y.astype(np.uint8))))
    assert len(load_split({"path": str(folder)}, "train")) == 3


def _dataset_fixtures():
    return sorted(FIXTURES.glob("*.npz")) + sorted(FIXTURES.glob("*.mat"))


@pytest.mark.parametrize("path", _dataset_fixtures())
def test_dataset_regression_fixtures_are_refused_cleanly(path):
    with pytest.raises(Exception) as raised:  # any exception: which one it is, is what is checked
        load_split({"path": str(path)}, "train")
    assert_clean_refusal(raised.value)
    assert str(path) in str(raised.value)
