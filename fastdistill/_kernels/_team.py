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

A team can also stop paying mid-way: when other processes keep the cores
busy, members wait at the barriers for partners that are not running. The
barriers time their waits; once the members have spent more than a third
of their time waiting in two windows of barriers in a row (after a
warm-up), :func:`barrier` tells every member, at the same barrier, to leave
the rest to member 0. (Without a cycle counter - not x86 - the team never
splits up.)
"""

from __future__ import annotations

from .._jit import jit
from ._intrinsics import (
    atomic_compare_swap,
    atomic_fetch_add,
    atomic_load,
    cpu_relax,
    cycle_count,
    thread_yield,
)

__all__ = ["SYNC_SIZE", "join", "barrier"]

# Slots of ``sync``, a cache line (eight int64) apart.
_COUNT = 0  # threads arrived at the current barrier
_ROUND = 8  # barriers completed
_JOINED = 16  # threads arrived at the join
_MODE = 24  # 0 undecided, 1 team, 2 alone
_START = 32  # cycle count at the start of the current window
_WAITED = 40  # cycles the members spent waiting at barriers, summed
_SPLIT = 48  # 1 once the team has decided to leave the rest to member 0
_BAD = 56  # windows in a row in which waiting dominated
#: Length of the ``sync`` array.
SYNC_SIZE = 64
#: Barriers of warm-up (waking a sleeping thread takes tens of microseconds).
_MIN_ROUNDS = 16
#: Barriers per measuring window.
_WINDOW = 64
#: The team splits up after _BAD_WINDOWS windows in a row in which its
#: members waited more than 1 / _WAIT_SHARE of their time (one window alone
#: can be an operating-system hiccup: a 0.3 ms stall once tipped a window of
#: a (10,) network's epoch on an idle machine).
_WAIT_SHARE = 3
_BAD_WINDOWS = 2
#: Polls with ``pause`` before a waiting thread starts yielding its core.
_SPINS = 32
#: Yields after which the first threads stop waiting for the rest of the team.
_JOIN_YIELDS = 4000


@jit(internal=True)
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


@jit(internal=True)
def _waits_dominate(sync, n_team):
    """Whether waiting dominated the last ``_BAD_WINDOWS`` windows of barriers.

    Called by the last member at a barrier, while the others wait there (so
    no other member is adding to ``_WAITED``); at the end of the warm-up and
    of every window it judges the window and restarts the clock and the sum.
    """
    rounds = atomic_load(sync, _ROUND)
    if rounds < _MIN_ROUNDS or (rounds - _MIN_ROUNDS) % _WINDOW != 0:
        return False
    now = cycle_count()
    if rounds > _MIN_ROUNDS:
        elapsed = now - atomic_load(sync, _START)
        if elapsed > 0 and _WAIT_SHARE * atomic_load(sync, _WAITED) > n_team * elapsed:
            atomic_fetch_add(sync, _BAD, 1)
        else:
            atomic_fetch_add(sync, _BAD, -atomic_load(sync, _BAD))
    atomic_fetch_add(sync, _START, now - atomic_load(sync, _START))
    atomic_fetch_add(sync, _WAITED, -atomic_load(sync, _WAITED))
    return atomic_load(sync, _BAD) >= _BAD_WINDOWS


@jit
def barrier(sync, n_team):
    """Wait until all ``n_team`` members arrive; every write before it is then visible to all.

    Returns True while the team should stay together. The last member to
    arrive decides (before it releases the others, so all of them read the
    same answer after the same barrier): False once waiting dominates, see
    the module notes; the members other than 0 should then leave and member
    0 carry on alone. The answer can only change at a barrier, so a caller
    that acts on it at one barrier of its cycle acts consistently.
    """
    round_ = atomic_load(sync, _ROUND)
    if atomic_fetch_add(sync, _COUNT, 1) == n_team - 1:
        atomic_fetch_add(sync, _COUNT, -n_team)
        if atomic_load(sync, _SPLIT) == 0 and _waits_dominate(sync, n_team):
            atomic_fetch_add(sync, _SPLIT, 1)
        atomic_fetch_add(sync, _ROUND, 1)
    else:
        t0 = cycle_count()
        _wait(sync, _ROUND, round_, -1)
        atomic_fetch_add(sync, _WAITED, cycle_count() - t0)
    return atomic_load(sync, _SPLIT) == 0
