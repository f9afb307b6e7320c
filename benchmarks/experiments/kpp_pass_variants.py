"""One k-means++ pass on 1,000,000 x 32 float64 (the last center and 6
candidates): the library's pass (rows four at a time through the
``kpp_rows`` LLVM kernel, prefetched 8 rows ahead), the same pass without the
prefetch, a GEMM per 2048-row block followed by loops over its products
(the former pass's structure), and the floor of streaming X once.
Run: ``python benchmarks/experiments/kpp_pass_variants.py``.
"""
import time

import numba
import numpy as np
from numba import prange

from fastdistill._kernels import cluster as K
from fastdistill._kernels._intrinsics import kpp_rows
from fastdistill._threads import parallel_region
from fastdistill.cluster._kmeans import kpp_column_groups


@numba.njit(parallel=True)
def no_prefetch(X, cols, consts, xn, closest, owner, block_rows):
    n = X.shape[0]
    nb = (n + block_rows - 1) // block_rows
    pots = np.zeros((nb, 8))
    for b in prange(nb):
        idx = np.empty(4, dtype=np.int64)
        wv = np.ones(4)
        acc = np.zeros(8)
        for i in range(b * block_rows, min(n, (b + 1) * block_rows) - 3, 4):
            for r in range(4):
                idx[r] = i + r
            kpp_rows(X, idx, wv, cols[0], consts, xn, closest, owner, False, 0, True, acc)
        pots[b] = acc
    return pots


@numba.njit(parallel=True, fastmath=True)
def gemm_then_loops(X, Ct, xn, cconst, closest, block_rows):
    n = X.shape[0]
    nb = (n + block_rows - 1) // block_rows
    pots = np.zeros((nb, 8))
    for s in prange(8):
        dflat = np.empty(8 * block_rows)
        for b in range(s * nb // 8, (s + 1) * nb // 8):
            r0 = b * block_rows
            m = min(n, r0 + block_rows) - r0
            o = dflat[:8 * m].reshape(8, m)
            np.dot(Ct.T, X[r0:r0 + m].T, o)
            for c in range(8):
                t = 0.0
                for v in range(m):
                    dc = xn[r0 + v] + cconst[c] - 2.0 * o[c, v]
                    cl = closest[r0 + v]
                    t += dc if dc < cl else cl
                pots[b, c] = t
    return pots


@numba.njit(parallel=True, fastmath=True)
def stream(X):
    n, d = X.shape
    out = np.zeros(n)
    for i in prange(n):
        s = 0.0
        for j in range(d):
            s += X[i, j]
        out[i] = s
    return out


def best(f, reps=20):
    f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return min(ts) * 1e3


rng = np.random.default_rng(0)
X = rng.standard_normal((1_000_000, 32))
n = len(X)
shift = X.mean(0)
c = X[rng.integers(n, size=7)] - shift
const = (c * c).sum(1) + 2 * c @ shift
cols = kpp_column_groups(c)
consts = np.zeros(8)
consts[:7] = const
Ct = np.ascontiguousarray(np.vstack([c, np.zeros((1, 32))]).T)
xn = ((X - shift) ** 2).sum(1)
closest = ((X - X[5]) ** 2).sum(1)
owner = np.zeros(n, np.int32)
with parallel_region(1000):
    print("kpp_pass        %.2f ms" % best(lambda: K.kpp_pass(
        X, np.empty(0), cols, const, False, closest, owner, np.zeros(1), 0, xn, 1024, 8)))
    print("no prefetch     %.2f ms" % best(lambda: no_prefetch(X, cols, consts, xn, closest,
                                                                owner, 1024)))
    print("GEMM then loops %.2f ms" % best(lambda: gemm_then_loops(X, Ct, xn, consts, closest,
                                                                   2048)))
    print("stream X once   %.2f ms" % best(lambda: stream(X)))
