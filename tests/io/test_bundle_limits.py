"""Bundle sizes checked before allocation (issue 14, classes 6 and 7).

- Any file given as a bundle is checked from its first bytes: the magic, the header's length and the
  header's own claims are checked before the data section is read, so a large file that is not a bundle
  (or whose header does not account for its bytes) costs a small, fixed amount of memory. Generated
  variants: junk of several kinds and sizes, each loaded under tracemalloc.
- A tensor shape holds sizes >= 1 only: ``[0, 10**30]`` has 0 elements and passed the element check,
  then crashed numpy's reshape. Generated variants: shapes with a 0, negative, huge, float, bool or
  string size, and too many sizes.
"""

import functools
import hashlib
import json
import struct
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphnn.errors import BundleError
from graphnn.executor import Network
from graphnn.io.bundle import MAGIC, Bundle, load_bundle, to_bytes
from graphnn.model import load_model
from graphnn.model.limits import MAX_DIMENSIONS
from tests.helpers import ROOT, join_parts, split_parts

MB = 1 << 20
ALLOWED_PEAK = 4 * MB  # whatever the file's size


@functools.cache
def sound_bundle():
    model = load_model(ROOT / "models" / "mlp784.json")
    return to_bytes(Bundle(model, Network.initialise(model, seed=1).weights))


@pytest.fixture
def saved():
    return sound_bundle()


def _header_bytes(header):
    return json.dumps(header, separators=(",", ":")).encode()


def junk(kind, size, saved):
    """``size`` bytes of a file that is not a sound bundle, of one ``kind``."""
    header, blobs = split_parts(saved)
    if kind == "zeros":
        return bytes(size)
    if kind == "random":
        return np.random.default_rng(size).integers(0, 256, size, np.uint8).tobytes()
    if kind == "magic then zeros":
        return MAGIC + bytes(size - len(MAGIC))
    if kind == "huge header length":
        return MAGIC + struct.pack("<Q", 2**63) + bytes(size - 16)
    if kind == "header length past the end":
        return MAGIC + struct.pack("<Q", size) + bytes(size - 16)
    if kind == "header not JSON":
        return MAGIC + struct.pack("<Q", 100) + b"\xff" * 100 + bytes(size - 116)
    if kind == "header claims fewer bytes":  # a sound header, then far more data than it declares
        body = MAGIC + struct.pack("<Q", len(_header_bytes(header))) + _header_bytes(header) + b"".join(blobs)
        body += bytes(size - len(body) - 32)
        return body + hashlib.sha256(body).digest()
    if kind == "damaged header, much data":  # the checksum is still checked first
        data = bytearray(join_parts(header, blobs + [bytes(size - len(saved))]))
        data[40] ^= 1
        return bytes(data)
    raise ValueError(kind)


KINDS = ["zeros", "random", "magic then zeros", "huge header length", "header length past the end",
         "header not JSON", "header claims fewer bytes", "damaged header, much data"]


@pytest.mark.parametrize("size_mb", [8, 32])
@pytest.mark.parametrize("kind", KINDS)
def test_a_large_file_that_is_no_sound_bundle_is_refused_in_small_memory(tmp_path, saved, kind, size_mb):
    path = tmp_path / "big.gnn"
    path.write_bytes(junk(kind, size_mb * MB, saved))
    tracemalloc.start()
    try:
        with pytest.raises(BundleError) as refused:
            load_bundle(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)
    assert peak < ALLOWED_PEAK, f"{kind}: {peak / MB:.1f} MB to refuse a {size_mb} MB file"
    if kind == "damaged header, much data":
        assert "checksum" in str(refused.value)


def test_a_sound_bundle_still_loads_read_in_chunks(tmp_path, saved):
    path = tmp_path / "m.gnn"
    path.write_bytes(saved)
    assert to_bytes(load_bundle(path)) == saved


BAD_SIZES = st.one_of(st.just(0), st.integers(max_value=0), st.integers(min_value=10**10, max_value=10**40),
                      st.sampled_from([1.0, 784.0, 0.5, True, False, "784", None, [784], {}]))


@st.composite
def bad_shapes(draw):
    """A shape with at least one bad size among good ones, or with too many sizes."""
    if draw(st.integers(0, 9)) == 0:
        return [1] * draw(st.integers(MAX_DIMENSIONS + 1, MAX_DIMENSIONS + 4))
    sizes = draw(st.lists(st.integers(1, 10**30), max_size=MAX_DIMENSIONS - 1))
    sizes.insert(draw(st.integers(0, len(sizes))), draw(BAD_SIZES))
    return sizes


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(shape=bad_shapes(), index=st.integers(0, 5))
def test_a_bad_size_in_any_tensor_shape_is_refused_at_its_entry(tmp_path_factory, shape, index):
    header, blobs = split_parts(sound_bundle())
    index %= len(header["tensors"])
    header["tensors"][index]["shape"] = shape
    path = tmp_path_factory.mktemp("shape") / "m.gnn"
    path.write_bytes(join_parts(header, blobs))
    with pytest.raises(BundleError) as refused:
        load_bundle(path)
    assert refused.value.path == f"/tensors/{index}", str(refused.value)
    message = str(refused.value)
    assert "\n" not in message and len(message) < 400
    assert "sizes >= 1" in message or "elements; the limit is" in message, message


@pytest.mark.parametrize("shape", [[0, 10**30], [10**30, 0], [0], [3, 0, 5]])
def test_a_zero_size_next_to_a_huge_one_is_refused(tmp_path, saved, shape):
    header, blobs = split_parts(saved)
    header["tensors"].append({"key": "extra/empty", "dtype": "<f4", "shape": shape})
    path = tmp_path / "m.gnn"
    path.write_bytes(join_parts(header, blobs))
    with pytest.raises(BundleError, match="sizes >= 1"):
        load_bundle(path)


def test_saving_an_empty_array_is_refused_as_loading_would_refuse_it(saved):
    model = load_model(ROOT / "models" / "mlp784.json")
    bundle = Bundle(model, Network.initialise(model, seed=1).weights, extra={"extra/empty": np.zeros((0, 3))})
    with pytest.raises(BundleError, match="size 0"):
        to_bytes(bundle)
