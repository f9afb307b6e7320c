"""BLAS routines that Numba does not expose, called from compiled kernels.

The routine's address is looked up at run time (from SciPy's
``scipy.linalg.cython_blas``) and passed to the kernel as an integer, so the
compiled kernel holds no process-specific pointer and stays cacheable.
"""

from __future__ import annotations

import functools

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["syrk_address", "syrk_lower"]


@functools.lru_cache(maxsize=None)
def syrk_address(dtype) -> int:
    """Address of BLAS ``dsyrk`` (float64) or ``ssyrk`` (float32).

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

    name = "dsyrk" if np.dtype(dtype) == np.float64 else "ssyrk"
    return int(get_cython_function_address("scipy.linalg.cython_blas", name))


@intrinsic
def syrk_lower(typingctx, address, Z, C):
    """``C[i, j] = sum_r Z[r, i] * Z[r, j]`` for ``i >= j`` (lower triangle).

    ``Z`` (m, p) and ``C`` (p, p) are C-contiguous arrays of the same float
    dtype; the strict upper triangle of ``C`` is left unspecified. One BLAS
    ``?syrk`` call (half the work of a GEMM), through ``address`` from
    :func:`syrk_address`.
    """
    if not (isinstance(Z, types.Array) and isinstance(C, types.Array)):
        return None
    if Z.dtype != C.dtype or Z.dtype not in (types.float32, types.float64):
        return None
    sig = types.void(types.intp, Z, C)

    def codegen(context, builder, signature, args):
        addr, zval, cval = args
        za = context.make_array(signature.args[1])(context, builder, zval)
        ca = context.make_array(signature.args[2])(context, builder, cval)
        fl = ir.DoubleType() if signature.args[1].dtype == types.float64 else ir.FloatType()
        i32 = ir.IntType(32)
        i8 = ir.IntType(8)
        m = builder.trunc(builder.extract_value(za.shape, 0), i32)
        p = builder.trunc(builder.extract_value(za.shape, 1), i32)

        def slot(ty, value):
            ptr = cgutils.alloca_once(builder, ty)
            builder.store(value, ptr)
            return ptr

        # Row-major Z (m, p) is column-major Z^T (p, m): syrk('U', 'N') gives
        # the column-major upper triangle of Z^T Z = the row-major lower one.
        uplo = slot(i8, ir.Constant(i8, ord("U")))
        trans = slot(i8, ir.Constant(i8, ord("N")))
        n_ptr = slot(i32, p)
        k_ptr = slot(i32, m)
        lda = slot(i32, p)
        ldc = slot(i32, p)
        alpha = slot(fl, ir.Constant(fl, 1.0))
        beta = slot(fl, ir.Constant(fl, 0.0))
        flp = fl.as_pointer()
        i32p = i32.as_pointer()
        fnty = ir.FunctionType(
            ir.VoidType(),
            [i8.as_pointer(), i8.as_pointer(), i32p, i32p, flp, flp, i32p, flp, flp, i32p],
        )
        fn = builder.inttoptr(addr, fnty.as_pointer())
        a_ptr = builder.bitcast(za.data, flp)
        c_ptr = builder.bitcast(ca.data, flp)
        builder.call(fn, [uplo, trans, n_ptr, k_ptr, alpha, a_ptr, lda, beta, c_ptr, ldc])
        return context.get_dummy_value()

    return sig, codegen
