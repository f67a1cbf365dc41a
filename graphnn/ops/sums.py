"""Sums over axes as matrix-vector products: NumPy's reductions over a leading or a short axis run several
times slower than a BLAS product with a vector of ones (a (100, 50) float32 matrix's column sums: 7.7 us
against 1.2 us; batch norm's sums over axes (0, 2, 3) of 64x16x28x28: 428 against 88 us).

    column_sums(m)        (R, K) -> (K,):   sum_r m[r, k]        = ones(R) @ m
    row_sums(m)           (R, K) -> (R,):   sum_k m[r, k]        = m @ ones(K)
    channel_sums(x3)      (N, C, P) -> (C,): sum_n sum_p x3[n, c, p]
    channel_dots(a, b)    (N, C, ...) -> (C,): sum over every axis but 1 of a * b

Another summation order than NumPy's pairwise one, so the last bits may differ from ``m.sum(axis)``; the
same inputs always give the same bits.
"""

import functools

import numpy as np


@functools.lru_cache(maxsize=64)
def ones(size, dtype):
    """A read-only vector of ``size`` ones of ``dtype``, made once per size and dtype."""
    vector = np.ones(size, dtype)
    vector.flags.writeable = False
    return vector


def column_sums(matrix, out=None):
    """(R, K) -> (K,): the sum of the rows, ones(R) @ matrix (``out``: a C-contiguous (K,) of the dtype)."""
    return np.dot(ones(matrix.shape[0], matrix.dtype), matrix, out=out)


def row_sums(matrix, out=None):
    """(R, K) -> (R,): the sum along each row, matrix @ ones(K) (``out``: a C-contiguous (R,) of the dtype)."""
    return np.dot(matrix, ones(matrix.shape[1], matrix.dtype), out=out)


def channel_sums(x3, out=None):
    """(N, C, P) -> (C,): the sum over n and p, per channel: the rows of P values summed by one product,
    then the N samples' sums added."""
    n, channels, size = x3.shape
    return column_sums(row_sums(x3.reshape(n * channels, size)).reshape(n, channels), out=out)


def channel_dots(a, b):
    """(N, C, ...) x2 -> (C,): sum over every axis but 1 of a * b, without the product's array."""
    n, channels = a.shape[:2]
    return np.einsum("ncp,ncp->c", a.reshape(n, channels, -1), b.reshape(n, channels, -1))
