"""Damaged and oversized bundle files: a truncated or bit-flipped snapshot is named in one line, and a
tensor that claims 1e11 elements is refused quickly, without allocating what it claims."""

import time
import tracemalloc

import pytest

from graphnn.errors import BundleError
from graphnn.io import bundle
from graphnn.train import snapshots
from tests.helpers import join_parts, split_parts, trained_with_snapshot


@pytest.fixture
def trained(tmp_path):
    """A trainer after 20 iterations and its snapshot file."""
    return trained_with_snapshot(tmp_path)


def test_truncated_and_bit_flipped_snapshots_are_named(trained, tmp_path):
    _, path = trained
    data = path.read_bytes()
    damaged = tmp_path / "damaged.gnn"
    cases = [data[:size] for size in (len(data) - 1, len(data) - 33, len(data) // 2, 100, 17, 0)]
    for position in (3, 12, 40, len(data) // 3, len(data) // 2, len(data) - 300, len(data) - 5):
        flipped = bytearray(data)
        flipped[position] ^= 0x04
        cases.append(bytes(flipped))
    for case in cases:
        damaged.write_bytes(case)
        with pytest.raises(BundleError) as raised:
            snapshots.verify(bundle.load_bundle(damaged))
        message = str(raised.value)
        assert message.startswith(str(damaged)) and len(message.splitlines()) == 1
        assert any(word in message for word in ("checksum", "truncated", "magic", "header")), message


def test_a_claim_of_1e11_elements_is_refused_quickly_without_allocating(trained, tmp_path):
    _, path = trained
    header, blobs = split_parts(path.read_bytes())
    for shape in ([10**11], [10**5, 10**6], [10**9]):  # over the element limit, and under it but over the file
        header["tensors"][0]["shape"] = shape
        crafted = tmp_path / "claims.gnn"
        crafted.write_bytes(join_parts(header, blobs))
        tracemalloc.start()
        started = time.perf_counter()
        with pytest.raises(BundleError) as raised:
            bundle.load_bundle(crafted)
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert seconds < 1.0 and peak < 10 * crafted.stat().st_size, (seconds, peak)
        assert "/tensors/0" in str(raised.value) or "bytes" in str(raised.value)
