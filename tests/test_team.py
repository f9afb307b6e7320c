"""The thread team of ``_kernels/_team.py``: barrier ordering and the alone fallback."""

from __future__ import annotations

import time

import numpy as np
import pytest
from numba import njit, prange

import fastdistill
import fastdistill._threads
from fastdistill._kernels import mlp as K
from fastdistill._kernels._intrinsics import _X86
from fastdistill._kernels._team import _BAD_WINDOWS, _MIN_ROUNDS, _WINDOW, SYNC_SIZE, barrier, join
from fastdistill._threads import parallel_region

TWO_THREADS = pytest.mark.skipif(fastdistill._threads.max_threads() < 2,
                                 reason="needs two threads")


def _attempts(seconds: float = 60.0):
    """Attempt numbers until ``seconds`` have passed (at least 20 attempts).

    On a loaded machine the partner thread can start too late to join a
    team (then one thread runs alone, correctly); the tests that need a
    team retry until one forms, and still fail if none ever does.
    """
    deadline = time.monotonic() + seconds
    n = 0
    while n < 20 or time.monotonic() < deadline:
        yield n
        n += 1


@njit(parallel=True)
def _relay(n_team, rounds, seen, roles):
    """Each member publishes the round number, then checks every other member's."""
    sync = np.zeros(SYNC_SIZE, dtype=np.int64)
    slots = np.full(n_team * 8, -1, dtype=np.int64)  # a cache line per member
    for tid in prange(n_team):
        role = join(sync, n_team)
        roles[tid] = role
        if role == 1:
            bad = 0
            for r in range(rounds):
                slots[tid * 8] = r
                barrier(sync, n_team)
                for other in range(n_team):
                    if slots[other * 8] != r:
                        bad += 1
                barrier(sync, n_team)  # nobody publishes r + 1 before all have read r
            seen[tid] = bad
    return slots


@TWO_THREADS
def test_barrier_orders_every_round():
    # On a loaded machine the partner can start too late to join (then one
    # thread runs alone, correctly); attempts go on until a team forms.
    for _ in _attempts():
        seen = np.full(2, -1, dtype=np.int64)
        roles = np.full(2, -9, dtype=np.int64)
        with parallel_region(2) as n:
            assert n == 2
            slots = _relay(2, 20_000, seen, roles)
        if roles.tolist() == [1, 1]:  # both threads ran at once: a team
            break
        assert sorted(roles.tolist()) == [-1, 0]  # else exactly one ran, alone
    assert roles.tolist() == [1, 1]
    assert seen.tolist() == [0, 0]  # no member ever saw a stale or early value
    assert slots[0] == slots[8] == 19_999


def test_join_falls_back_to_one_thread_alone():
    # One thread runs both iterations in turn: the first waits in vain for
    # its partner, takes the job alone, and the second leaves.
    seen = np.full(2, -1, dtype=np.int64)
    roles = np.full(2, -9, dtype=np.int64)
    with fastdistill.num_threads(1), parallel_region(2) as n:
        assert n == 1
        _relay(2, 10, seen, roles)
    assert roles.tolist() == [0, -1]
    assert seen.tolist() == [-1, -1]  # no barrier was entered: nothing could hang


@njit(parallel=True)
def _lopsided(rounds, heavy, stay, sink):
    """Member 1 works ``heavy`` times longer per round: member 0 mostly waits."""
    sync = np.zeros(SYNC_SIZE, dtype=np.int64)
    roles = np.full(2, -9, dtype=np.int64)
    for tid in prange(2):
        role = join(sync, 2)
        roles[tid] = role
        if role == 1:
            for r in range(rounds):
                s = 0.0
                for i in range(200 * (heavy if tid == 1 else 1)):
                    s += np.sqrt(i + s)  # a dependent chain: not vectorised away
                sink[tid] += s  # used: the work is not optimised out
                stay[tid, r] = 1 if barrier(sync, 2) else 0
                if stay[tid, r] == 0:
                    break
    return roles


@TWO_THREADS
@pytest.mark.skipif(not _X86, reason="the team times its waits with the x86 cycle counter")
def test_team_splits_up_together_when_waiting_dominates():
    # Member 0 waits about 95 % of its time: after the warm-up and two
    # windows of barriers the team splits, every member told at the same
    # barrier (never one member leaving while the other still counts on it).
    first = _MIN_ROUNDS + _BAD_WINDOWS * _WINDOW
    for _ in _attempts():
        stay = np.full((2, first + 50), -1, dtype=np.int64)
        sink = np.zeros(2)
        with parallel_region(2):
            roles = _lopsided(first + 50, 20, stay, sink)
        if roles.tolist() == [1, 1]:  # both threads ran at once: a team
            break
        # On a loaded machine the partner can start too late to join: one
        # thread then runs alone (role 0, the other leaves with -1), and this
        # kernel gives a lone thread no work, so the sink stays empty.
        assert sorted(roles.tolist()) == [-1, 0]
        assert sink.tolist() == [0.0, 0.0]
    assert roles.tolist() == [1, 1]
    assert sink[1] > 20 * sink[0] > 0  # the work was done, 20x on member 1
    for tid in (0, 1):
        row = stay[tid]
        assert row[:first].tolist() == [1] * first  # no judgement before
        assert row[first] == 0  # the split: the same barrier for both
        assert (row[first + 1:] == -1).all()  # and nobody went on to another barrier


def _epoch(X, Y, sizes, n_chunks, n_team):
    w_off, b_off, n_params = K.param_offsets(sizes)
    p = np.random.default_rng(3).normal(size=n_params) * 0.3
    s1, s2 = np.zeros(n_params), np.zeros(n_params)
    total, t = K.train_epoch(X, Y, np.arange(X.shape[0]), np.array([7], dtype=np.uint64), True,
                             p, s1, s2, sizes, w_off, b_off, 2, 0, 0, 1e-3, 64, 1, 1e-2, 0.9,
                             0.999, 1e-8, 0.9, True, 0, n_chunks, n_team, 1.0)
    return p, s1, s2, total, t


@pytest.mark.parametrize("n_params_big", [False, True])
def test_epoch_bit_identical_for_team_alone_and_one_thread(rng, n_params_big):
    # Same chunks, whoever runs them: a team of two, one thread standing in
    # for a team that could not start (the alone fallback), or no team.
    X = rng.normal(size=(700, 12))
    Y = rng.normal(size=(700, 1))
    hidden = 90 if n_params_big else 6  # step in two parts, or in one
    sizes = np.array([12, hidden, 1], dtype=np.int64)
    ref = _epoch(X, Y, sizes, 2, 1)
    with fastdistill.num_threads(1), parallel_region(2):
        alone = _epoch(X, Y, sizes, 2, 2)
    runs = [alone]
    if fastdistill._threads.max_threads() >= 2:
        with parallel_region(2) as n:
            assert n == 2
            runs.append(_epoch(X, Y, sizes, 2, 2))
    assert ref[4] == 11  # ceil(700 / 64) Adam steps
    for run in runs:
        for a, b in zip(run[:3], ref[:3], strict=True):
            np.testing.assert_array_equal(a, b)
        assert run[3:] == ref[3:]


@TWO_THREADS
def test_team_stops_together_on_divergence(rng):
    # A non-finite batch loss seen by one member is seen by all: the epoch
    # returns NaN with the starting weights, and no member is left waiting.
    # (Identity hidden layer: squared outputs of 1e200 inputs overflow.)
    X = rng.normal(size=(400, 4)) * 1e200
    Y = rng.normal(size=(400, 1))
    sizes = np.array([4, 8, 1], dtype=np.int64)
    w_off, b_off, n_params = K.param_offsets(sizes)
    p0 = np.random.default_rng(1).normal(size=n_params)
    p = p0.copy()
    with parallel_region(2):
        total, t = K.train_epoch(X, Y, np.arange(400), np.array([7], dtype=np.uint64), True, p,
                                 np.zeros(n_params), np.zeros(n_params), sizes, w_off, b_off, 0,
                                 0, 0, 1e-3, 200, 1, 1e-2, 0.9, 0.999, 1e-8, 0.9, True, 0, 2, 2,
                                 1.0)
    assert np.isnan(total)
    np.testing.assert_array_equal(p, p0)


SPLIT_IN_EPOCH = """
import numpy as np
import fastdistill._kernels._team as T
# Judge after 2 barriers, in windows of 2, and call any wait dominant: the
# team splits early in every epoch (this process has its own Numba cache).
T._MIN_ROUNDS, T._WINDOW, T._WAIT_SHARE = 2, 2, 10**9
from numba import njit, prange
from fastdistill._kernels import mlp as K
from fastdistill._threads import parallel_region

@njit(parallel=True)
def probe(rounds, stay):
    sync = np.zeros(T.SYNC_SIZE, dtype=np.int64)
    for tid in prange(2):
        if T.join(sync, 2) == 1:
            for r in range(rounds):
                stay[tid, r] = 1 if T.barrier(sync, 2) else 0
                if stay[tid, r] == 0:
                    break

rng = np.random.default_rng(0)
X = rng.normal(size=(900, 6))
Y = rng.normal(size=(900, 1))
sizes = np.array([6, 40, 1], dtype=np.int64)
w_off, b_off, n_params = K.param_offsets(sizes)
runs = []
import time
deadline = time.monotonic() + 60
with parallel_region(2):
    while True:  # make sure the patched rule splits a real team
        stay = np.full((2, 20), -1, dtype=np.int64)
        probe(20, stay)
        if (stay[:, 0] == 1).all() or time.monotonic() > deadline:
            break
    assert stay[0, :6].tolist() == [1, 1, 1, 1, 1, 1] and stay[0, 6] == 0, stay
    assert stay[1, :7].tolist() == stay[0, :7].tolist(), stay
    for team in (1, 2, 2, 2):
        p = np.random.default_rng(3).normal(size=n_params) * 0.3
        s1, s2 = np.zeros(n_params), np.zeros(n_params)
        total, t = K.train_epoch(X, Y, np.arange(900), np.array([7], dtype=np.uint64), True,
                                 p, s1, s2, sizes, w_off, b_off, 2, 0, 0, 1e-3, 16, 1, 1e-2,
                                 0.9, 0.999, 1e-8, 0.9, True, 0, 2, team, 1.0)
        runs.append((p, s1, s2, total, t))
ref = runs[0]
for run in runs[1:]:
    for a, b in zip(run[:3], ref[:3]):
        assert np.array_equal(a, b)
    assert run[3:] == ref[3:], (run[3:], ref[3:])
print("OK", ref[4])
"""


@TWO_THREADS
@pytest.mark.skipif(not _X86, reason="the team times its waits with the x86 cycle counter")
def test_epoch_that_splits_matches_one_thread(tmp_path):
    # The split inside train_epoch (member 0 finishing alone) gives exactly
    # the result of one thread. Run in a fresh process with the team's rule
    # patched to split after a few minibatches, and a cache of its own.
    import os
    import subprocess
    import sys

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", SPLIT_IN_EPOCH], capture_output=True,
                         text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["OK", str(-(-900 // 16))]
