"""The matrix-vector sums agree with NumPy's reductions to rounding, give the same bits every time, and write
into ``out``."""

import numpy as np
import pytest

from graphnn.ops.sums import channel_dots, channel_sums, column_sums, ones, row_sums


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sums_equal_numpys_reductions(dtype):
    rng = np.random.default_rng(0)
    m = rng.standard_normal((37, 11)).astype(dtype)
    x = rng.standard_normal((3, 5, 7, 2)).astype(dtype)
    y = rng.standard_normal((3, 5, 7, 2)).astype(dtype)
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(column_sums(m), m.sum(axis=0), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(row_sums(m), m.sum(axis=1), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(channel_sums(x.reshape(3, 5, -1)), x.sum(axis=(0, 2, 3)), rtol=tolerance,
                               atol=tolerance)
    np.testing.assert_allclose(channel_dots(x, y), (x * y).sum(axis=(0, 2, 3)), rtol=tolerance, atol=tolerance)
    assert column_sums(m).dtype == row_sums(m).dtype == channel_sums(x.reshape(3, 5, -1)).dtype == dtype


def test_known_values_and_out():
    m = np.arange(6, dtype=np.float32).reshape(2, 3)  # [[0 1 2] [3 4 5]]
    out = np.empty(3, np.float32)
    assert column_sums(m, out=out) is out
    np.testing.assert_array_equal(out, [3, 5, 7])
    np.testing.assert_array_equal(row_sums(m), [3, 12])
    x3 = np.arange(12, dtype=np.float64).reshape(2, 2, 3)  # channel 0: 0+1+2+6+7+8, channel 1: 3+4+5+9+10+11
    np.testing.assert_array_equal(channel_sums(x3), [24, 42])


def test_the_same_bits_every_time_and_the_ones_stay_ones():
    m = np.random.default_rng(1).standard_normal((1000, 7)).astype(np.float32)
    assert column_sums(m).tobytes() == column_sums(m.copy()).tobytes()
    vector = ones(4, np.dtype(np.float32))
    with pytest.raises(ValueError):
        vector[0] = 2
    assert ones(4, np.dtype(np.float32)) is vector
