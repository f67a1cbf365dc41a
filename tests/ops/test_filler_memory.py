"""Fillers draw in chunks (issue 14, class 6): a float32 weight no longer needs a float64 copy of itself
beside it (a 9e8-weight layer took 6.7 GiB), and the values stay bit-identical to one draw of the whole
shape, so the same seed gives the same weights as before. Variants: every filler x dtype x shape (sizes
below, at and across the chunk size, a scalar, an empty weight), and the generator's state afterwards.
"""

import tracemalloc

import numpy as np
import pytest

from graphnn.ops import fillers

SPECS = ["xavier", "msra", "he", "gaussian", {"type": "gaussian", "std": 0.5}, "constant",
         {"type": "constant", "value": -1.25}, {"type": "xavier", "variance_norm": "fan_in"},
         {"type": "xavier", "variance_norm": "average"}, {"type": "msra", "variance_norm": "fan_out"},
         {"type": "gaussian", "mean": 0.5, "std": 2.0}, "uniform", {"type": "uniform", "min": -3, "max": -1}]
CHUNK = fillers.FILL_CHUNK
SHAPES = [(), (0,), (3, 0), (7,), (CHUNK,), (CHUNK + 1,), (3, CHUNK // 2 + 5), (2, 3, 5, 7)]


def one_draw(spec, shape, rng, dtype):
    """The values as drawn before chunking: the whole shape in float64, then cast."""
    spec = {"type": spec} if isinstance(spec, str) else spec
    filler = fillers.FILLERS[spec["type"]]
    options = {key: spec.get(key, setting.get("default")) for key, setting in filler.settings.items()}
    fans = fillers.blob_fans(shape, 0) if options.get("variance_norm") else (12, 34)  # Caffe's: the shape's own
    return filler.draw(shape, *fans, rng, **options).astype(dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_chunked_draws_are_bit_identical_to_one_draw(spec, dtype, shape):
    before, after = np.random.default_rng(11), np.random.default_rng(11)
    expected = one_draw(spec, shape, before, dtype)
    drawn = fillers.fill(spec, shape, 12, 34, after, dtype)
    assert drawn.shape == shape and drawn.dtype == dtype and drawn.flags.c_contiguous
    assert drawn.tobytes() == expected.tobytes()
    assert after.bit_generator.state == before.bit_generator.state  # what is drawn next is the same too


@pytest.mark.parametrize("spec", ["xavier", "gaussian", "constant"])
def test_a_float32_weight_costs_itself_and_one_chunk(spec):
    shape = (4, 3 * CHUNK)
    tracemalloc.start()
    try:
        fillers.fill(spec, shape, 12, 34, np.random.default_rng(0), np.float32)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    weight, chunk = 4 * 3 * CHUNK * 4, CHUNK * 8
    assert peak < weight + 2 * chunk, f"{peak / 2**20:.0f} MiB for a {weight / 2**20:.0f} MiB weight"
