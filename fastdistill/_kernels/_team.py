"""A team of threads that stays inside one parallel region (compiled helpers).

Numba starts and joins its threads for every ``prange``: about 1.5 us, more
than the work of a small network's minibatch. A kernel whose steps are too
short for that (one minibatch after another, each needing the previous
step's result) instead opens one ``prange`` over its team and separates the
steps with :func:`barrier`, a spin-then-yield barrier on a shared int64
array (``sync``, :data:`SYNC_SIZE` zeros, one per region).

A team only exists if its threads really run at the same time, which no
threading layer promises (one thread may run every iteration in turn: a
nested region, a busy pool, a single-thread layer). :func:`join` therefore
lets the first threads wait a bounded time for the others; if they do not all
come, one thread takes the whole job alone and the late ones leave, so the
kernel can never deadlock. Callers make the alone and the team results
identical (same work units, same order of every sum).
"""

from __future__ import annotations

from .._jit import jit
from ._intrinsics import atomic_compare_swap, atomic_fetch_add, atomic_load, cpu_relax, thread_yield

__all__ = ["SYNC_SIZE", "join", "barrier"]

# Slots of ``sync``, a cache line (eight int64) apart.
_COUNT = 0  # threads arrived at the current barrier
_ROUND = 8  # barriers completed
_JOINED = 16  # threads arrived at the join
_MODE = 24  # 0 undecided, 1 team, 2 alone
#: Length of the ``sync`` array.
SYNC_SIZE = 32
#: Polls with ``pause`` before a waiting thread starts yielding its core.
_SPINS = 32
#: Yields after which the first threads stop waiting for the rest of the team.
_JOIN_YIELDS = 4000


@jit
def _wait(sync, slot, value, limit):
    """Poll until ``sync[slot] != value``; False if ``limit`` yields passed first (-1: no limit)."""
    polls = 0
    while atomic_load(sync, slot) == value:
        polls += 1
        if polls <= _SPINS:
            cpu_relax()
        else:
            if limit >= 0 and polls - _SPINS > limit:
                return False
            thread_yield()
    return True


@jit
def join(sync, n_team):
    """Enter the team; returns 1 (team member), 0 (do the whole job alone) or -1 (leave).

    Every iteration of the ``prange(n_team)`` calls it first. The last thread
    to arrive makes it a team; a thread that waited in vain for the others
    claims the job for itself, and threads arriving after that leave.
    """
    if atomic_fetch_add(sync, _JOINED, 1) == n_team - 1:
        if atomic_compare_swap(sync, _MODE, 0, 1):
            return 1
        return -1
    if not _wait(sync, _MODE, 0, _JOIN_YIELDS) and atomic_compare_swap(sync, _MODE, 0, 2):
        return 0
    return 1 if atomic_load(sync, _MODE) == 1 else -1


@jit
def barrier(sync, n_team):
    """Wait until all ``n_team`` members arrive; every write before it is then visible to all."""
    round_ = atomic_load(sync, _ROUND)
    if atomic_fetch_add(sync, _COUNT, 1) == n_team - 1:
        atomic_fetch_add(sync, _COUNT, -n_team)
        atomic_fetch_add(sync, _ROUND, 1)
    else:
        _wait(sync, _ROUND, round_, -1)
