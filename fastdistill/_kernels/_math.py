"""Shared scalar math for the kernels: a vectorisable exponential."""

from __future__ import annotations

import numpy as np

from .._jit import jit

__all__ = ["exp_neg"]

_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 to 32 bits: k * _LN2_HI is exact for |k| < 2**21
_LN2_LO = 1.9082149292705877e-10  # ln 2 - _LN2_HI


@jit(fastmath={"contract"})
def exp_neg(x):
    """exp(x) for x <= 0 in float64, within 2 ulp of the correctly rounded value.

    Unlike the libm call behind ``np.exp``, it vectorises when inlined into
    a loop (about 4x faster in the softmax, 3x in the radial-basis gates).
    Cody-Waite reduction ``x = k ln2 + r``, ``|r| <= ln2 / 2`` (compiled
    with contraction only: reassociating the reduction would cost
    precision, fused multiply-adds do not, and they halve the polynomial's
    instructions and latency: 2.0 -> 1.15 ns per value in a loop here),
    degree-13 Taylor polynomial, then two exact power-of-two factors
    (subnormal results down to 2**-1074). Arguments below -745.2 (and -inf)
    give 0; NaN stays NaN.
    """
    if x != x:
        return np.float64(x)
    x = max(np.float64(x), -745.2)
    k = np.floor(x * _LOG2E + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    ki = np.int64(k)
    h = ki // 2
    return (p * np.int64((h + 1023) << 52).view(np.float64)
            * np.int64((ki - h + 1023) << 52).view(np.float64))
