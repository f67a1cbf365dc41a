"""Weight fillers. Each returns a float64 array of ``shape``; ``fan_in``/``fan_out`` count the inputs
and outputs one weight connects (for fc: n_in and n_out; for conv: C_in*k*k and C_out*k*k).

- ``xavier``:  U(-a, a), a = sqrt(6) / sqrt(fan_in + fan_out + 1)   (Glorot's, with 1 added to the fans)
- ``gaussian``: N(0, std^2), std = 0.01 unless given
- ``msra`` (He): N(0, 2 / fan_in)
- ``constant``: every entry = value (0 unless given)
"""

import numpy as np


def xavier(shape, fan_in, fan_out, rng):
    bound = np.sqrt(6.0) / np.sqrt(fan_in + fan_out + 1)
    return rng.uniform(-bound, bound, size=shape)


def gaussian(shape, fan_in, fan_out, rng, std=0.01):
    return rng.normal(0.0, std, size=shape)


def msra(shape, fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


def constant(shape, fan_in, fan_out, rng, value=0.0):
    return np.full(shape, float(value))


FILLERS = {"xavier": xavier, "gaussian": gaussian, "msra": msra, "he": msra, "constant": constant}
