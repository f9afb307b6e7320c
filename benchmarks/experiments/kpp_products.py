"""The 7-column product of a k-means++ pass on 1,000,000 x 32 (the last
center and 6 candidates): BLAS GEMM per 1024-row block against a hand-written
8-accumulator loop, and the floor of streaming X once (a row-sum pass).
Run: ``python benchmarks/experiments/kpp_products.py``.
"""
import time, numpy as np, numba
from numba import prange
@numba.njit(parallel=True, fastmath=True)
def viagemm(X, Ct, rows):
    n,d=X.shape; k=Ct.shape[1]; nb=(n+rows-1)//rows; out=np.zeros(nb)
    for b in prange(nb):
        r0=b*rows; m=min(n,r0+rows)-r0
        dots=np.dot(X[r0:r0+m], Ct)
        out[b]=dots[0,0]+dots[m-1,k-1]
    return out
@numba.njit(fastmath=True, inline='always')
def dot8(x, C, c0, nc, out):
    # C: (ncols, d) row-major; computes up to 8 dots of x with rows c0.. of C
    d = x.shape[0]
    a0=a1=a2=a3=a4=a5=a6=a7=0.0
    r1 = min(c0+1, nc-1); r2=min(c0+2,nc-1); r3=min(c0+3,nc-1); r4=min(c0+4,nc-1); r5=min(c0+5,nc-1); r6=min(c0+6,nc-1); r7=min(c0+7,nc-1)
    for j in range(d):
        xj = x[j]
        a0 += xj*C[c0,j]; a1 += xj*C[r1,j]; a2 += xj*C[r2,j]; a3 += xj*C[r3,j]
        a4 += xj*C[r4,j]; a5 += xj*C[r5,j]; a6 += xj*C[r6,j]; a7 += xj*C[r7,j]
    out[0]=a0; out[1]=a1; out[2]=a2; out[3]=a3; out[4]=a4; out[5]=a5; out[6]=a6; out[7]=a7
@numba.njit(parallel=True, fastmath=True)
def viahand(X, C, rows):
    n,d=X.shape; k=C.shape[0]; nb=(n+rows-1)//rows; out=np.zeros(nb)
    for b in prange(nb):
        r0=b*rows; m=min(n,r0+rows)-r0
        dots=np.empty((m, 8))
        for i in range(m):
            dot8(X[r0+i], C, 0, k, dots[i])
        out[b]=dots[0,0]+dots[m-1,k-1]
    return out
rng=np.random.default_rng(0); X=rng.standard_normal((1_000_000,32)); C=rng.standard_normal((7,32)); Ct=np.ascontiguousarray(C.T)
a=viagemm(X,Ct,1024); b=viahand(X,C,1024); print(np.allclose(a,b))
for f,arg in ((viagemm,Ct),(viahand,C)):
    ts=[]
    for _ in range(15):
        t0=time.perf_counter(); f(X,arg,1024); ts.append(time.perf_counter()-t0)
    print(f.__name__, "%.2f ms" % (min(ts)*1e3))
@numba.njit(parallel=True, fastmath=True)
def rowsum(X, C, rows):
    n,d=X.shape; out=np.zeros(n)
    for i in prange(n):
        s=0.0
        for j in range(d): s+=X[i,j]
        out[i]=s
    return out
ts=[]
rowsum(X,C,1)
for _ in range(15):
    t0=time.perf_counter(); rowsum(X,C,1024); ts.append(time.perf_counter()-t0)
print("floor", "%.2f ms" % (min(ts)*1e3))
