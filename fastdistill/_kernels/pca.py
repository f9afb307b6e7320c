"""Products with the implicitly centred data matrix, for randomized PCA.

Every kernel here streams ``X`` once in row blocks, centres each block into
a small per-thread buffer (``X[rows] - mean``, computed in the precision of
``mean`` and rounded to ``X``'s dtype) and multiplies it with BLAS ``?gemm``.
The centred matrix ``A = X - 1 mean^T`` is never formed: extra memory is
one block buffer per thread plus arrays of ``(n + d) * width`` elements,
``width`` being the number of columns of the thin factors.

Reductions over rows (``A^T ...``) accumulate one partial result per *slot*
(a fixed range of row blocks that depends only on the data shape) and the
caller merges the slots in order, so results are bit-identical for any
thread count.
"""

from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba import prange
from numba.core import cgutils, types
from numba.extending import intrinsic

from .._jit import jit

__all__ = ["gemm_address", "gemm", "centered_pass", "MODE_GRAM", "MODE_PROJECT",
           "MODE_BACK", "pass_layout"]

#: One pass computes ``(A^T A M)^T`` (both products per row block).
MODE_GRAM = 0
#: One pass computes ``(A M)^T``.
MODE_PROJECT = 1
#: One pass computes ``(A^T Y)^T``.
MODE_BACK = 2


@functools.cache
def gemm_address(dtype) -> int:
    """Address of BLAS ``dgemm`` (float64) or ``sgemm`` (float32).

    Parameters
    ----------
    dtype : dtype
        float32 or float64.

    Returns
    -------
    address : int
        Function pointer, valid in this process.
    """
    from numba.extending import get_cython_function_address

    name = "dgemm" if np.dtype(dtype) == np.float64 else "sgemm"
    return int(get_cython_function_address("scipy.linalg.cython_blas", name))


def pass_layout(n_samples: int, n_features: int, n_cols: int, itemsize: int) -> tuple[int, int]:
    """Row-block size and slot count of :func:`centered_pass`.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of ``X``.
    n_cols : int
        Columns of ``M`` (or ``Y``).
    itemsize : int
        Bytes per element of ``X``.

    Returns
    -------
    block_rows : int
        Rows per block: the centred block buffer is about 2 MiB (it stays in
        the L2/L3 caches between the two products of a block; measured best
        on 2,000 features), between 16 and 1024 rows.
    n_slots : int
        Partial sums of ``A^T (...)``: a power of two (so that common thread
        counts share the slots evenly), at most 32 and at most the number of
        blocks, and at most ``max(4, 8 MiB / accumulator size)``. Depends
        only on the shape, never on the thread count.
    """
    block_rows = int(max(16, min(1024, (2 << 20) // max(1, n_features * itemsize))))
    n_blocks = -(-n_samples // block_rows)
    by_memory = max(4, (8 << 20) // max(1, n_features * n_cols * itemsize))
    limit = max(1, min(n_blocks, 32, by_memory))
    return block_rows, 1 << (limit.bit_length() - 1)


@intrinsic
def gemm(typingctx, address, trans_a, trans_b, beta, A, B, C):
    """``C = op(A) @ op(B) + beta * C`` for float arrays of one dtype.

    ``op(A)`` is ``A`` or ``A.T`` (``trans_a``), likewise for ``B``. Every
    array must have contiguous rows (unit stride along axis 1; any row
    stride, so row and column slices of C-contiguous arrays qualify). One
    BLAS ``?gemm`` call (``C`` is not read when ``beta`` is 0), through
    ``address`` from :func:`gemm_address`; row-major arrays are passed as
    the transposed column-major ones.
    """
    arrays = (A, B, C)
    if not all(isinstance(a, types.Array) and a.ndim == 2 for a in arrays):
        return None
    if A.dtype not in (types.float32, types.float64):
        return None
    if B.dtype != A.dtype or C.dtype != A.dtype:
        return None
    sig = types.void(types.intp, types.boolean, types.boolean, types.float64, A, B, C)

    def codegen(context, builder, signature, args):
        addr, ta, tb, beta_val, aval, bval, cval = args
        aa = context.make_array(signature.args[4])(context, builder, aval)
        ba = context.make_array(signature.args[5])(context, builder, bval)
        ca = context.make_array(signature.args[6])(context, builder, cval)
        is64 = signature.args[4].dtype == types.float64
        fl = ir.DoubleType() if is64 else ir.FloatType()
        size = 8 if is64 else 4
        i32 = ir.IntType(32)
        i8 = ir.IntType(8)
        one = ir.Constant(i32, 1)

        def dim(arr, axis):
            return builder.trunc(builder.extract_value(arr.shape, axis), i32)

        def lead(arr):  # row stride in elements; BLAS wants at least 1
            stride = builder.extract_value(arr.strides, 0)
            v = builder.trunc(builder.sdiv(stride, ir.Constant(stride.type, size)), i32)
            return builder.select(builder.icmp_signed("<", v, one), one, v)

        def slot(ty, value):
            ptr = cgutils.alloca_once(builder, ty)
            builder.store(value, ptr)
            return ptr

        def flag(t):
            return builder.select(t, ir.Constant(i8, ord("T")), ir.Constant(i8, ord("N")))

        # Row-major C (p, q) = op(A) (p, r) op(B) (r, q) is column-major
        # C^T (q, p) = op(B)^T op(A)^T: gemm(tb, ta, q, p, r, B, A, C).
        p = dim(ca, 0)
        q = dim(ca, 1)
        r = builder.select(tb, dim(ba, 1), dim(ba, 0))
        beta_fl = beta_val if is64 else builder.fptrunc(beta_val, fl)
        args_ = [
            slot(i8, flag(tb)), slot(i8, flag(ta)), slot(i32, q), slot(i32, p), slot(i32, r),
            slot(fl, ir.Constant(fl, 1.0)),
            builder.bitcast(ba.data, fl.as_pointer()), slot(i32, lead(ba)),
            builder.bitcast(aa.data, fl.as_pointer()), slot(i32, lead(aa)),
            slot(fl, beta_fl),
            builder.bitcast(ca.data, fl.as_pointer()), slot(i32, lead(ca)),
        ]
        flp = fl.as_pointer()
        i32p = i32.as_pointer()
        i8p = i8.as_pointer()
        fnty = ir.FunctionType(
            ir.VoidType(),
            [i8p, i8p, i32p, i32p, i32p, flp, flp, i32p, flp, i32p, flp, flp, i32p],
        )
        fn = builder.inttoptr(addr, fnty.as_pointer())
        builder.call(fn, args_)
        return context.get_dummy_value()

    return sig, codegen


@jit(parallel=True)
def centered_pass(X, mean, Mt, Yt, Zt, mode, block_rows, n_slots, gemm_addr):
    """One pass over ``X`` computing products with ``A = X - 1 mean^T``.

    Inputs are validated arrays; ``X`` (C-contiguous) is only read (it may
    be read-only). The thin factors are kept transposed (``width`` rows), the
    layout in which BLAS runs these thin products fastest. With ``A_b`` the
    centred rows ``r`` of block ``b``:

    * ``mode == MODE_GRAM``: ``Zt[s] += (Mt A_b^T) A_b`` summed over the
      blocks of slot ``s`` (so ``Zt.sum(0) = (A^T A M)^T``);
    * ``mode == MODE_PROJECT``: ``Yt[:, r] = Mt A_b^T`` (so ``Yt = (A M)^T``);
    * ``mode == MODE_BACK``: ``Zt[s] += Yt[:, r] A_b`` (so
      ``Zt.sum(0) = (A^T Y)^T``).

    Parameters
    ----------
    X : (n, d) float32 or float64 array (read only)
    mean : (d,) float64 - subtracted from every row (in float64, then
        rounded to ``X``'s dtype)
    Mt : (width, d) C-contiguous array of X's dtype (read only; unused for
        MODE_BACK)
    Yt : (width, n) C-contiguous array of X's dtype - written (MODE_PROJECT) or
        read (MODE_BACK); unused for MODE_GRAM
    Zt : (n_slots, width, d) array of X's dtype, zeros - the slots' partial sums
        (written; unused for MODE_PROJECT)
    mode : int
    block_rows, n_slots : int - from :func:`pass_layout`
    gemm_addr : int - from :func:`gemm_address`
    """
    n, d = X.shape
    width = Yt.shape[0] if mode == MODE_BACK else Mt.shape[0]
    n_blocks = (n + block_rows - 1) // block_rows
    for s in prange(n_slots):
        b0 = s * n_blocks // n_slots
        b1 = (s + 1) * n_blocks // n_slots
        buf = np.empty((block_rows, d), dtype=X.dtype)
        local = np.empty((width, block_rows if mode == MODE_GRAM else 0), dtype=X.dtype)
        for b in range(b0, b1):
            r0 = b * block_rows
            r1 = min(n, r0 + block_rows)
            m = r1 - r0
            for i in range(m):
                for j in range(d):
                    buf[i, j] = X[r0 + i, j] - mean[j]
            A_b = buf[:m]
            if mode == MODE_GRAM:
                Yt_b = local[:, :m]
                gemm(gemm_addr, False, True, 0.0, Mt, A_b, Yt_b)
                gemm(gemm_addr, False, False, 1.0, Yt_b, A_b, Zt[s])
            elif mode == MODE_PROJECT:
                gemm(gemm_addr, False, True, 0.0, Mt, A_b, Yt[:, r0:r1])
            else:
                gemm(gemm_addr, False, False, 1.0, Yt[:, r0:r1], A_b, Zt[s])
