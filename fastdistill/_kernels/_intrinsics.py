"""Low-level LLVM intrinsics for the kernels (Numba ``@intrinsic``)."""

from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = ["prefetch_row", "atomic_fetch_add"]

_LINE = 64


@intrinsic
def prefetch_row(typingctx, arr, i):
    """Hint the CPU to load row ``i`` of the 2-D array ``arr`` into cache.

    Emits one ``llvm.prefetch`` (read, high locality) per 64-byte line of the
    row. A prefetch never faults and never changes results; it lets a loop
    that visits rows in random order overlap the memory latency of upcoming
    rows with work on the current one.
    """
    if not isinstance(arr, types.Array) or arr.ndim != 2:
        return None
    sig = types.void(arr, types.intp)

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        ary = context.make_array(arrty)(context, builder, args[0])
        idx = args[1]
        stride0 = builder.extract_value(ary.strides, 0)
        base = builder.ptrtoint(ary.data, cgutils.intp_t)
        start = builder.add(base, builder.mul(idx, stride0))
        itemsize = context.get_abi_sizeof(context.get_data_type(arrty.dtype))
        ncols = builder.extract_value(ary.shape, 1)
        nbytes = builder.mul(ncols, context.get_constant(types.intp, itemsize))
        ptr_t = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr_t, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        zero = context.get_constant(types.intp, 0)
        step = context.get_constant(types.intp, _LINE)
        with cgutils.for_range_slice(builder, zero, nbytes, step) as (offset, _):
            ptr = builder.inttoptr(builder.add(start, offset), ptr_t)
            builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen



@intrinsic
def atomic_fetch_add(typingctx, arr, idx, val):
    """Atomically add ``val`` to ``arr[idx]`` and return the previous value.

    ``arr`` is a 1-D int64 array shared by the threads of a parallel region;
    the addition is one sequentially consistent ``atomicrmw``. Threads use it
    to claim work items from a shared counter (dynamic load balancing inside
    a ``prange`` whose iterations do unequal work).
    """
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype == types.int64):
        return None
    sig = types.int64(arr, types.intp, types.int64)

    def codegen(context, builder, signature, args):
        arrty = signature.args[0]
        ary = context.make_array(arrty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, arrty, ary, [args[1]])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return sig, codegen
