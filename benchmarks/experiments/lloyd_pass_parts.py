"""Where the time of one k-means Lloyd pass goes (200,000 x 32; k = 16 float64 by default).

A copy of the pass of ``fastdistill._kernels.cluster.lloyd_pass`` with three
switches: the GEMM of the distance products, the nearest-center search, and
the rest (exact distance, labels, sums). Printed: time per pass for
(gemm, search, rest) on/off; (0, 0, 0) is the shifted copy of X alone.
Run: ``PYTHONPATH=. python benchmarks/experiments/lloyd_pass_parts.py [k] [dtype]``
(e.g. ``256 float32``: the float32 one-sweep vector search).
"""
import time, numpy as np
from numba import prange
from fastdistill._jit import jit
from fastdistill._kernels.cluster import _nearest
from fastdistill._kernels._intrinsics import prefetch_row
from fastdistill.cluster._assign import chunk_rows, n_slots
from fastdistill._threads import parallel_region

@jit(parallel=True)
def variant(X, shift, centers, centers_t, c_norms, labels, chunk_rows, n_slots, do_gemm, do_search, do_rest):
    n, d = X.shape
    k = centers.shape[0]
    n_chunks = (n + chunk_rows - 1) // chunk_rows
    sums = np.zeros((n_slots, k, d)); wts = np.zeros((n_slots, k)); inert = np.zeros(n_slots)
    for slot in prange(n_slots):
        ch0 = slot * n_chunks // n_slots
        ch1 = (slot + 1) * n_chunks // n_slots
        buf = np.empty((chunk_rows, d), dtype=X.dtype)
        xnb = np.empty(chunk_rows, dtype=X.dtype)
        dots = np.zeros((chunk_rows, k), dtype=X.dtype)
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
            if do_gemm:
                np.dot(buf[:m], centers_t, dots[:m])
            for i in range(m):
                best = _nearest(dots[i], c_norms, xnb[i]) if do_search else (r0 + i) % k
                if do_rest:
                    dist = 0.0
                    for j in range(d):
                        t = buf[i, j] - centers[best, j]
                        dist += t * t
                    inert[slot] += dist
                    labels[r0 + i] = best
                    wts[slot, best] += 1.0
                    for j in range(d):
                        s_sums[best, j] += buf[i, j]
    return inert.sum()

import sys
K_ARG = int(sys.argv[1]) if len(sys.argv) > 1 else 16
DTYPE = np.dtype(sys.argv[2]) if len(sys.argv) > 2 else np.dtype(np.float64)
rng=np.random.default_rng(0); X=rng.standard_normal((200_000,32)).astype(DTYPE)
def tm(f, r=30):
    f(); ts=[]
    for _ in range(r):
        t0=time.perf_counter(); f(); ts.append(time.perf_counter()-t0)
    return np.min(ts)*1e3
for k in (K_ARG,):
    shift=X.mean(0); C=(X[:k]-shift).copy(); Ct=np.ascontiguousarray(C.T); cn=(C*C).sum(1).astype(DTYPE); lab=np.zeros(len(X), np.int32)
    rows=chunk_rows(k); sl=n_slots(len(X), k, 32)
    print("rows", rows, "slots", sl)
    for flags in [(1,1,1),(0,1,1),(1,0,1),(1,1,0),(0,0,0),(0,0,1)]:
        with parallel_region(sl):
            print(k, flags, "%.2f ms" % tm(lambda: variant(X, shift, C, Ct, cn, lab, rows, sl, *map(bool,flags))))
