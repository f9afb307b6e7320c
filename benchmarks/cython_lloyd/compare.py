"""Time one Lloyd pass: Numba (fastdistill) against the Cython twin, and GEMM vs loops.

Usage (from the repository root, after ``build.py``)::

    PYTHONPATH=. python benchmarks/cython_lloyd/compare.py [--repeat 7]

Part 1, 200,000 x 32 float64, k = 16, 64, 256, 1 and 2 threads:

* ``numba``: ``fastdistill._kernels.cluster.lloyd_pass`` (plain float64 pass,
  ``np.dot`` per chunk inside the ``prange``, BLAS limited to one thread);
* ``cython``: ``lloyd_cy.lloyd_pass``, the same pass with OpenMP ``prange``,
  no GIL, DGEMM from ``scipy.linalg.cython_blas``; same chunk rows and slots;
* ``assign``: what ``fastdistill.cluster.KMeans`` runs per plain pass
  (``fastdistill.cluster._assign.assign``: from k = 32 on, float64 data are
  searched by a float32 GEMM with exact float64 checks of near ties).

Part 2, the x.c block of the Numba pass for small k (4, 8, 16, 32): the
production pass (one GEMM per chunk) against the same pass with the product
in compiled loops, two forms: ``dot`` (per row and center, one d-term dot
product, vectorised over the features) and ``block`` (2 rows x 4 centers
per pass over the features, register-blocked). A third form tried, per row
and feature ``dots[i, :] += x_j * c_t[j, :]`` (contiguous over the
centers), ran at 3-9 GFLOP/s on one thread (pass 2.2-3x slower than with
GEMM) and was dropped.

Times are medians over ``--repeat`` runs, the implementations interleaved
within each repeat (the machine is shared). GFLOP/s counts the product
only: ``2 n k d`` per pass. The GEMM peak is measured at the start
(square DGEMM/SGEMM of size 2048, median of 3).

Part 3, the product of one chunk alone, single-threaded: GEMM against the
two loop forms, k = 4 ... 64, so the crossover is seen without the rest of
the pass (copy, search, sums) around it.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import fastdistill  # noqa: E402, F401  (sets GOMP_SPINCOUNT before OpenMP starts)
from fastdistill._jit import jit  # noqa: E402
from fastdistill._threads import _get_controller, num_threads, parallel_region  # noqa: E402

try:
    import lloyd_cy  # noqa: E402
except ImportError:
    sys.exit("lloyd_cy is not built: run  python benchmarks/cython_lloyd/build.py  first")

from numba import prange  # noqa: E402

from fastdistill._kernels import cluster as K  # noqa: E402
from fastdistill._kernels._intrinsics import prefetch_row  # noqa: E402
from fastdistill.cluster._assign import assign, chunk_rows, n_slots  # noqa: E402

N, D = 200_000, 32


@jit(inline="always", cache=False)
def _loop_product(buf, m, centers, dots, form):
    """``dots[:m] = buf[:m] @ centers.T`` in compiled loops.

    form 0 (dot): one d-term dot product per row and center;
    form 1 (block): 2 rows x 4 centers at once (8 accumulators; each loaded
    value used 2 or 4 times), plain dot products for the remainders.
    """
    d = buf.shape[1]
    k = centers.shape[0]
    if form == 0:
        for i in range(m):
            for c in range(k):
                s = 0.0
                for j in range(d):
                    s += buf[i, j] * centers[c, j]
                dots[i, c] = s
    else:  # 2 rows x 4 centers per pass over the features
        m2 = m - m % 2
        k4 = k - k % 4
        for i in range(0, m2, 2):
            for c in range(0, k4, 4):
                a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = 0.0
                for j in range(d):
                    x = buf[i, j]
                    y = buf[i + 1, j]
                    c0 = centers[c, j]
                    c1 = centers[c + 1, j]
                    c2 = centers[c + 2, j]
                    c3 = centers[c + 3, j]
                    a0 += x * c0
                    a1 += x * c1
                    a2 += x * c2
                    a3 += x * c3
                    b0 += y * c0
                    b1 += y * c1
                    b2 += y * c2
                    b3 += y * c3
                dots[i, c] = a0
                dots[i, c + 1] = a1
                dots[i, c + 2] = a2
                dots[i, c + 3] = a3
                dots[i + 1, c] = b0
                dots[i + 1, c + 1] = b1
                dots[i + 1, c + 2] = b2
                dots[i + 1, c + 3] = b3
        for i in range(m):  # remainders: last row, last centers
            for c in range(k4 if i < m2 else 0, k):
                s = 0.0
                for j in range(d):
                    s += buf[i, j] * centers[c, j]
                dots[i, c] = s


@jit(cache=False)
def chunk_product(buf, m, centers, centers_t, dots, form):
    """The product of one chunk alone: forms 0, 1 as above, 2 by GEMM."""
    if form == 2:
        np.dot(buf[:m], centers_t, dots[:m])
    else:
        _loop_product(buf, m, centers, dots, form)


@jit(parallel=True, cache=False)
def lloyd_pass_loops(X, shift, centers, centers_t, c_norms, labels, chunk_rows, n_slots,
                     form):
    """``K.lloyd_pass`` (no weights, update=True) with the product in loops.

    ``form`` as :func:`_loop_product`.
    """
    n, d = X.shape
    k = centers.shape[0]
    n_chunks = (n + chunk_rows - 1) // chunk_rows
    sums = np.zeros((n_slots, k, d))
    wts = np.zeros((n_slots, k))
    inert = np.zeros(n_slots)
    changed = np.zeros(n_slots, dtype=np.int64)
    for slot in prange(n_slots):
        ch0 = slot * n_chunks // n_slots
        ch1 = (slot + 1) * n_chunks // n_slots
        buf = np.empty((chunk_rows, d), dtype=X.dtype)
        xnb = np.empty(chunk_rows, dtype=X.dtype)
        dots = np.empty((chunk_rows, k), dtype=X.dtype)
        s_sums = sums[slot]
        for ch in range(ch0, ch1):
            r0 = ch * chunk_rows
            m = min(n, r0 + chunk_rows) - r0
            for i in range(m):
                xn = 0.0
                for j in range(d):
                    t = X[r0 + i, j] - shift[j]
                    buf[i, j] = t
                    xn += t * t
                xnb[i] = xn
            _loop_product(buf, m, centers, dots, form)
            nxt = r0 + m
            n_next = min(n, nxt + chunk_rows) - nxt if ch + 1 < ch1 else 0
            for i in range(m):
                if i < n_next:
                    prefetch_row(X, nxt + i)
                best = K._nearest(dots[i], c_norms, xnb[i])
                dist = 0.0
                for j in range(d):
                    t = buf[i, j] - centers[best, j]
                    dist += t * t
                inert[slot] += dist
                if labels[r0 + i] != best:
                    changed[slot] += 1
                    labels[r0 + i] = best
                wts[slot, best] += 1.0
                for j in range(d):
                    s_sums[best, j] += buf[i, j]
    sums_t = np.zeros((k, d))
    wts_t = np.zeros(k)
    inertia = 0.0
    n_changed = 0
    for slot in range(n_slots):
        sums_t += sums[slot]
        wts_t += wts[slot]
        inertia += inert[slot]
        n_changed += changed[slot]
    return sums_t, wts_t, inertia, n_changed


def gemm_peak(dtype, threads: int, size: int = 2048, repeat: int = 3) -> float:
    """GFLOP/s of one square GEMM with ``threads`` BLAS threads (median)."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    out = np.empty((size, size), dtype=dtype)
    times = []
    with _get_controller().limit(limits=threads, user_api="blas"):
        np.dot(a, b, out)
        for _ in range(repeat):
            t0 = time.perf_counter()
            np.dot(a, b, out)
            times.append(time.perf_counter() - t0)
    return 2.0 * size ** 3 / float(np.median(times)) / 1e9


class Pass:
    """The arrays of one pass (centers X[:k], shifted by the data mean)."""

    def __init__(self, X, k):
        self.X = X
        self.k = k
        self.shift = X.mean(axis=0)
        self.centers = np.ascontiguousarray(X[:k] - self.shift)
        self.centers_t = np.ascontiguousarray(self.centers.T)
        self.c_norms = np.einsum("ij,ij->i", self.centers, self.centers)
        self.labels = np.full(X.shape[0], -1, dtype=np.int32)
        self.sw = np.empty(0)
        self.rows = chunk_rows(k)
        self.slots = n_slots(X.shape[0], k, X.shape[1])

    def numba(self, threads):
        with num_threads(threads), parallel_region(self.slots):
            return K.lloyd_pass(self.X, self.sw, self.shift, self.centers, self.centers_t,
                                self.c_norms, self.labels, self.rows, self.slots, True,
                                True, False, np.empty((0, 2), np.float32),
                                float(self.c_norms.max()), np.empty(0, self.X.dtype),
                                False)[:4]

    def cython(self, threads):
        with _get_controller().limit(limits=1, user_api="blas"):
            return lloyd_cy.lloyd_pass(self.X, self.sw, self.shift, self.centers,
                                       self.centers_t, self.c_norms, self.labels, self.rows,
                                       self.slots, True, min(threads, self.slots))

    def assign(self, threads):
        with num_threads(threads):
            return assign(self.X, self.sw, self.shift, self.centers, self.labels, True)

    def loops(self, threads, form):
        with num_threads(threads), parallel_region(self.slots):
            return lloyd_pass_loops(self.X, self.shift, self.centers, self.centers_t,
                                    self.c_norms, self.labels, self.rows, self.slots, form)


def timed(p: Pass, impls: dict, threads: int, repeat: int) -> dict:
    """Median seconds per implementation, interleaved; results of the first run."""
    times = {name: [] for name in impls}
    first = {}
    for name, fn in impls.items():  # warm up (JIT, caches, thread pools)
        p.labels.fill(-1)
        first[name] = fn(threads)
    for _ in range(repeat):
        for name, fn in impls.items():
            p.labels.fill(-1)
            t0 = time.perf_counter()
            fn(threads)
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}, first


def agree(a, b) -> str:
    """Largest relative difference of sums and inertia between two results."""
    ds = np.max(np.abs(a[0] - b[0])) / max(np.max(np.abs(a[0])), 1e-300)
    di = abs(a[2] - b[2]) / abs(a[2])
    return f"sums {ds:.1e}, inertia {di:.1e}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    flops = lambda k: 2.0 * N * k * D  # noqa: E731

    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores, shared machine)")
    peaks = {(dt, t): gemm_peak(dt, t) for dt in (np.float64, np.float32) for t in (1, 2)}
    print("GEMM peak (2048^3), GFLOP/s: float64 "
          f"{peaks[np.float64, 1]:.0f} (1 thread) / {peaks[np.float64, 2]:.0f} (2 threads), "
          f"float32 {peaks[np.float32, 1]:.0f} / {peaks[np.float32, 2]:.0f}")

    print(f"\nPart 1: one Lloyd pass, {N:,} x {D} float64, median of {args.repeat}")
    print(f"{'k':>4} {'thr':>3} {'rows':>4} {'slots':>5} | "
          f"{'numba ms':>8} {'GF/s':>5} | {'cython ms':>9} {'GF/s':>5} | "
          f"{'cy/nb':>5} | {'assign ms':>9} {'GF/s':>5} | labels, agreement nb-cy")
    for k in (16, 64, 256):
        p = Pass(X, k)
        for threads in (1, 2):
            impls = {"numba": p.numba, "cython": p.cython, "assign": p.assign}
            t, res = timed(p, impls, threads, args.repeat)
            p.labels.fill(-1)
            lab_nb = (p.numba(threads), p.labels.copy())
            p.labels.fill(-1)
            lab_cy = (p.cython(threads), p.labels.copy())
            same = "labels equal" if np.array_equal(lab_nb[1], lab_cy[1]) else "LABELS DIFFER"
            gf = {name: flops(k) / s / 1e9 for name, s in t.items()}
            print(f"{k:>4} {threads:>3} {p.rows:>4} {p.slots:>5} | "
                  f"{t['numba'] * 1e3:>8.1f} {gf['numba']:>5.1f} | "
                  f"{t['cython'] * 1e3:>9.1f} {gf['cython']:>5.1f} | "
                  f"{t['cython'] / t['numba']:>5.2f} | "
                  f"{t['assign'] * 1e3:>9.1f} {gf['assign']:>5.1f} | "
                  f"{same}, {agree(lab_nb[0], lab_cy[0])}")

    print(f"\nPart 2: x.c product of the Numba pass, GEMM vs loops, median of {args.repeat}")
    print(f"{'k':>4} {'thr':>3} | {'GEMM ms':>7} {'GF/s':>5} | {'dot ms':>6} {'GF/s':>5} | "
          f"{'block ms':>8} {'GF/s':>5} | loops/GEMM (best form)")
    for k in (4, 8, 16, 32):
        p = Pass(X, k)
        for threads in (1, 2):
            impls = {"gemm": p.numba, "dot": functools.partial(p.loops, form=0),
                     "block": functools.partial(p.loops, form=1)}
            t, res = timed(p, impls, threads, args.repeat)
            for name in ("dot", "block"):  # same labels and sums as the GEMM pass
                assert np.allclose(res[name][0], res["gemm"][0], rtol=1e-9, atol=1e-9), name
            gf = {name: flops(k) / s / 1e9 for name, s in t.items()}
            best = min(("dot", "block"), key=t.get)
            print(f"{k:>4} {threads:>3} | {t['gemm'] * 1e3:>7.1f} {gf['gemm']:>5.1f} | "
                  f"{t['dot'] * 1e3:>6.1f} {gf['dot']:>5.1f} | "
                  f"{t['block'] * 1e3:>8.1f} {gf['block']:>5.1f} | "
                  f"{t[best] / t['gemm']:.2f} ({best})")
    print("\nPart 3: the product of one chunk alone (rows = chunk_rows(k), d = 32), "
          "1 thread, best of 5 x 200 calls")
    print(f"{'k':>4} {'rows':>4} | {'GEMM us':>7} {'GF/s':>5} | {'dot us':>6} {'GF/s':>5} | "
          f"{'block us':>8} {'GF/s':>5} | loops/GEMM (best form)")
    for k in (4, 8, 16, 32, 64):
        m = chunk_rows(k)
        buf = rng.standard_normal((m, D))
        cen = rng.standard_normal((k, D))
        cen_t = np.ascontiguousarray(cen.T)
        dots = np.empty((m, k))
        t = {}
        with _get_controller().limit(limits=1, user_api="blas"):
            for form, name in ((2, "gemm"), (0, "dot"), (1, "block")):
                chunk_product(buf, m, cen, cen_t, dots, form)
                assert np.allclose(dots, buf @ cen_t, rtol=1e-12, atol=1e-12), name
                best = np.inf
                for _ in range(5):
                    t0 = time.perf_counter()
                    for _ in range(200):
                        chunk_product(buf, m, cen, cen_t, dots, form)
                    best = min(best, (time.perf_counter() - t0) / 200)
                t[name] = best
        gf = {name: 2.0 * m * k * D / s / 1e9 for name, s in t.items()}
        bestf = min(("dot", "block"), key=t.get)
        print(f"{k:>4} {m:>4} | {t['gemm'] * 1e6:>7.1f} {gf['gemm']:>5.1f} | "
              f"{t['dot'] * 1e6:>6.1f} {gf['dot']:>5.1f} | "
              f"{t['block'] * 1e6:>8.1f} {gf['block']:>5.1f} | "
              f"{t[bestf] / t['gemm']:.2f} ({bestf})")
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
