"""x.c products for k = 16 centers on 200,000 x 32: BLAS GEMM per 512-row
chunk against hand-written compiled loops (runtime k, and k = 16 fixed).
Run: ``python benchmarks/experiments/small_k_products.py``.
"""
import time, numpy as np, numba
from numba import prange
@numba.njit(parallel=True, fastmath=True)
def viagemm(X, Ct, rows):
    n,d=X.shape; k=Ct.shape[1]; nch=(n+rows-1)//rows; out=np.zeros(2)
    for s in prange(2):
        dots=np.empty((rows,k)); buf=np.empty((rows,d))
        acc=0.0
        for ch in range(s*nch//2, (s+1)*nch//2):
            r0=ch*rows; m=min(n,r0+rows)-r0
            for i in range(m):
                for j in range(d): buf[i,j]=X[r0+i,j]
            np.dot(buf[:m], Ct, dots[:m])
            acc+=dots[0,0]
        out[s]=acc
    return out
@numba.njit(parallel=True, fastmath=True)
def vialoop(X, Ct, rows):
    n,d=X.shape; k=Ct.shape[1]; nch=(n+rows-1)//rows; out=np.zeros(2)
    for s in prange(2):
        acc=0.0
        dots=np.empty(k)
        for i in range(s*n//2, (s+1)*n//2):
            for c in range(k): dots[c]=0.0
            for j in range(d):
                xj=X[i,j]
                for c in range(k): dots[c]+=xj*Ct[j,c]
            acc+=dots[0]
        out[s]=acc
    return out
@numba.njit(parallel=True, fastmath=True)
def vialoop16(X, Ct, rows):
    n,d=X.shape; out=np.zeros(2)
    for s in prange(2):
        acc=0.0
        for i in range(s*n//2, (s+1)*n//2):
            dots=np.zeros(16)
            for j in range(d):
                xj=X[i,j]
                for c in range(16): dots[c]+=xj*Ct[j,c]
            acc+=dots[0]
        out[s]=acc
    return out
rng=np.random.default_rng(0); X=rng.standard_normal((200_000,32)); Ct=rng.standard_normal((32,16))
for f in (viagemm, vialoop, vialoop16):
    f(X,Ct,512); ts=[]
    for _ in range(20):
        t0=time.perf_counter(); f(X,Ct,512); ts.append(time.perf_counter()-t0)
    print(f.__name__, "%.2f ms" % (min(ts)*1e3))
