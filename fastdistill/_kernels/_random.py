"""Small deterministic random number generator for compiled kernels.

A xorshift64* generator whose whole state is one uint64 kept in a length-1
array owned by the caller, so every kernel that draws random numbers is
reproducible from the seed alone, independent of thread count and of Numba's
own (per-thread) generator.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit

__all__ = ["next_uint64", "next_double", "normal_pair", "bounded", "shuffle_inplace",
           "seed_state"]

_MULT = np.uint64(0x2545F4914F6CDD1D)


def seed_state(rng: np.random.Generator) -> np.ndarray:
    """Draw a non-zero xorshift state from a NumPy generator.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the seed.

    Returns
    -------
    state : ndarray of shape (1,), dtype uint64
        Generator state for the kernels in this module.
    """
    seed = int(rng.integers(1, 2**63 - 1))
    return np.array([seed], dtype=np.uint64)


@jit(internal=True)
def next_uint64(state):
    """Advance ``state`` (uint64[1], modified in place) and return 64 random bits."""
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    return x * _MULT


@jit
def next_double(state):
    """Return a uniform double in [0, 1) (53 random bits)."""
    return np.float64(next_uint64(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@jit
def normal_pair(state):
    """Two independent standard normal draws (Box-Muller on two uniforms)."""
    u1 = 1.0 - next_double(state)  # in (0, 1]: the logarithm stays finite
    u2 = next_double(state)
    r = np.sqrt(-2.0 * np.log(u1))
    t = 2.0 * np.pi * u2
    return r * np.cos(t), r * np.sin(t)


@jit
def bounded(state, m):
    """Random integer in [0, m) for 0 < m < 2**32 (Lemire's multiply-shift)."""
    r = next_uint64(state) >> np.uint64(32)
    return np.int64((r * np.uint64(m)) >> np.uint64(32))


@jit
def shuffle_inplace(order, state):
    """Fisher-Yates shuffle of the integer array ``order`` (modified in place)."""
    n = order.shape[0]
    for i in range(n - 1):
        j = i + bounded(state, n - i)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
