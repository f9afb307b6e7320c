"""Low-level LLVM intrinsics for the kernels (Numba ``@intrinsic``)."""

from __future__ import annotations

import platform
import sys

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

__all__ = [
    "prefetch_row",
    "atomic_fetch_add",
    "atomic_load",
    "atomic_compare_swap",
    "cpu_relax",
    "thread_yield",
    "cycle_count",
    "nearest_two",
    "nearest_two_rows",
    "sq_distances_rows",
    "kpp_rows",
]

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


def _int64_slot(context, builder, signature, args):
    arrty = signature.args[0]
    ary = context.make_array(arrty)(context, builder, args[0])
    return cgutils.get_item_pointer(context, builder, arrty, ary, [args[1]])


def _is_int64_vector(arr) -> bool:
    return isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype == types.int64


@intrinsic
def atomic_load(typingctx, arr, idx):
    """Read ``arr[idx]`` (1-D int64) with one sequentially consistent atomic load.

    Neither the compiler nor the CPU moves later memory accesses before it:
    a thread that sees a flag set by another thread also sees every write
    the other thread made before setting it.
    """
    if not _is_int64_vector(arr):
        return None
    sig = types.int64(arr, types.intp)

    def codegen(context, builder, signature, args):
        return builder.load_atomic(_int64_slot(context, builder, signature, args), "seq_cst", 8)

    return sig, codegen


@intrinsic
def atomic_compare_swap(typingctx, arr, idx, expected, new):
    """Set ``arr[idx]`` (1-D int64) to ``new`` if it equals ``expected``, atomically.

    Returns True when this call made the change (one sequentially consistent
    ``cmpxchg``): of several threads racing to move a slot out of the same
    state, exactly one succeeds.
    """
    if not _is_int64_vector(arr):
        return None
    sig = types.boolean(arr, types.intp, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        ptr = _int64_slot(context, builder, signature, args)
        pair = builder.cmpxchg(ptr, args[2], args[3], "seq_cst", "seq_cst")
        return builder.extract_value(pair, 1)

    return sig, codegen


_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


@intrinsic
def cpu_relax(typingctx):
    """Tell the CPU this thread is spin-waiting (x86 ``pause``; nothing elsewhere).

    Saves power and lets the core's other hardware thread run while a
    thread polls a shared flag.
    """
    sig = types.void()

    def codegen(context, builder, signature, args):
        if _X86:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()

    return sig, codegen


def _register_yield() -> str | None:
    """Make the OS call that gives up a thread's time slice callable from kernels.

    ``sched_yield`` (POSIX) or ``SwitchToThread`` (Windows), registered with
    LLVM under a name of our own, so compiled and cached code finds it on
    every platform. Returns that name, or None if the call is unavailable
    (the kernels then only spin).
    """
    import ctypes

    from llvmlite import binding

    name = "fastdistill_thread_yield"
    try:
        if sys.platform == "win32":
            fn = ctypes.windll.kernel32.SwitchToThread
        else:
            fn = ctypes.CDLL(None).sched_yield
        binding.add_symbol(name, ctypes.cast(fn, ctypes.c_void_p).value)
    except (AttributeError, OSError):
        return None
    return name


#: Symbol of the yield call (None: not available, spin only).
_YIELD = _register_yield()


@intrinsic
def thread_yield(typingctx):
    """Give the processor to another runnable thread (``sched_yield``).

    A thread that waits for a partner which is not running (more busy
    threads than cores) must let it run instead of spinning out its time
    slice.
    """
    sig = types.void()

    def codegen(context, builder, signature, args):
        if _YIELD is not None:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.IntType(32), []), _YIELD)
            builder.call(fn, [])
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def cycle_count(typingctx):
    """Read a cheap, monotonic clock in CPU cycles (``rdtsc`` on x86; elsewhere 0).

    For comparing two durations measured on the same machine, never for
    results. Only x86 gets the counter: ``llvm.readcyclecounter`` reads a
    register that user code may not read on other targets (a crash on
    AArch64), so there it returns 0 and callers must treat 0 as "no clock".
    """
    sig = types.int64()

    def codegen(context, builder, signature, args):
        if not _X86:
            return ir.Constant(ir.IntType(64), 0)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(64), []), "llvm.readcyclecounter")
        return builder.call(fn, [])

    return sig, codegen


#: Vector lanes of :func:`nearest_two` per dtype (two such vectors per step).
_LANES = {types.float32: 16, types.float64: 8}


@intrinsic
def nearest_two(typingctx, row, c_norms, xn):
    """Nearest center and the two smallest clipped distances, in one sweep.

    For ``v[c] = max(xn + c_norms[c] - (row[c] + row[c]), 0)`` (``row``: the
    products ``x.c`` of one row with every center, ``xn`` its squared norm;
    evaluated in that order, in the arrays' dtype) returns ``(best, v[best],
    second)``: ``best`` the first index of the smallest value and
    ``second`` the smallest value over every other index (``inf`` for a
    single center).

    One pass over the centers with two sets of vector lanes (16 float32 or
    8 float64 each), every lane keeping its own smallest value, that
    value's first index and its second smallest value (one more step on one
    set when a whole vector is left); the lanes are merged at the end (ties
    to the smallest index) and the last ``k mod lanes`` centers scanned one
    by one. ``c_norms`` must be at least as long as ``row`` (not checked:
    the kernels pass the centers' norms with their products). Written in
    LLVM IR because the compiler does
    not keep such per-lane state in registers when it is written as loops:
    this replaces three to five vectorised sweeps (distances, minimum, index,
    second minimum, near-tie count) by one.
    """
    if not (isinstance(row, types.Array) and isinstance(c_norms, types.Array)
            and row.ndim == 1 and c_norms.ndim == 1 and row.layout == "C"
            and c_norms.layout == "C" and row.dtype == c_norms.dtype
            and row.dtype in _LANES):
        return None
    fty = row.dtype
    sig = types.Tuple((types.intp, fty, fty))(row, c_norms, fty)

    def codegen(context, builder, signature, args):
        rowty, cnty, _ = signature.args
        r_ary = context.make_array(rowty)(context, builder, args[0])
        c_ary = context.make_array(cnty)(context, builder, args[1])
        xn = args[2]
        lanes = _LANES[fty]
        fl = context.get_value_type(fty)
        vty = ir.VectorType(fl, lanes)
        i32 = ir.IntType(32)
        ivty = ir.VectorType(i32, lanes)
        intp = context.get_value_type(types.intp)
        k = builder.extract_value(r_ary.shape, 0)
        inf = float("inf")
        zero_v = ir.Constant(vty, [0.0] * lanes)
        inf_v = ir.Constant(vty, [inf] * lanes)
        lane_ids = ir.Constant(ivty, list(range(lanes)))
        xn_v = _splat(builder, xn, vty)
        step = 2 * lanes
        n_steps = builder.udiv(k, ir.Constant(intp, step))
        # per-lane state of the two lane sets: smallest, its index, second smallest
        state = []
        for _ in range(2):
            b = cgutils.alloca_once(builder, vty)
            ix = cgutils.alloca_once(builder, ivty)
            s2 = cgutils.alloca_once(builder, vty)
            builder.store(inf_v, b)
            builder.store(ir.Constant(ivty, [0] * lanes), ix)
            builder.store(inf_v, s2)
            state.append((b, ix, s2))
        align = context.get_abi_sizeof(fl)
        with cgutils.for_range(builder, n_steps) as loop:
            base = builder.mul(loop.index, ir.Constant(intp, step))
            for u in range(2):
                off = builder.add(base, ir.Constant(intp, u * lanes))
                _lane_step(builder, r_ary.data, c_ary.data, off, xn_v, zero_v, lane_ids,
                           state[u], vty, ivty, align)
        # one more single step on the first lane set when a whole vector is left
        start = builder.mul(n_steps, ir.Constant(intp, step))
        left = builder.icmp_signed(">=", builder.sub(k, start), ir.Constant(intp, lanes))
        with builder.if_then(left):
            _lane_step(builder, r_ary.data, c_ary.data, start, xn_v, zero_v, lane_ids,
                       state[0], vty, ivty, align)
        start = builder.select(left, builder.add(start, ir.Constant(intp, lanes)), start)
        # merge the two lane sets lane by lane (ties to the smaller index)
        (a_b, a_i, a_s), (b_b, b_i, b_s) = [[builder.load(p) for p in st] for st in state]
        b_lt = builder.fcmp_ordered("<", b_b, a_b)
        b_eq = builder.fcmp_ordered("==", b_b, a_b)
        take_b = builder.or_(b_lt, builder.and_(b_eq, builder.icmp_signed("<", b_i, a_i)))
        best_v = builder.select(take_b, b_b, a_b)
        idx_v = builder.select(take_b, b_i, a_i)
        top = builder.select(b_lt, a_b, b_b)  # the larger of the two smallest
        low_s = builder.select(builder.fcmp_ordered("<", b_s, a_s), b_s, a_s)
        sec_v = builder.select(builder.fcmp_ordered("<", top, low_s), top, low_s)
        best_p, idx_p, sec_p = _across_lanes(builder, best_v, idx_v, sec_v, intp)
        # the last centers (fewer than a vector), one by one: indices above all others
        with cgutils.for_range_slice(builder, start, k, ir.Constant(intp, 1)) as (c_i, _):
            r = builder.load(builder.gep(r_ary.data, [c_i]))
            c = builder.load(builder.gep(c_ary.data, [c_i]))
            _keep_two(builder, r, c, xn, ir.Constant(fl, 0.0), c_i, (best_p, idx_p, sec_p))
        out = [builder.load(idx_p), builder.load(best_p), builder.load(sec_p)]
        return context.make_tuple(builder, signature.return_type, out)

    return sig, codegen


#: Columns per :func:`kpp_rows` call (one vector of 8 lanes) ...
KPP_LANES = 8
#: ... and rows per call.
KPP_ROWS = 4


@intrinsic
def kpp_rows(typingctx, X, idx, wv, cols, c_const, x_norms, closest, owner, fold, last_id,
             lane0, acc):
    """One k-means++ step on ``KPP_ROWS`` rows of ``X`` against 8 columns, in registers.

    For each row ``i = idx[r]`` (``r < KPP_ROWS``; repeats allowed) with
    weight ``w = wv[r]``: the products ``p = X[i] @ cols`` (``cols``: (d, 8),
    C order, X's dtype; the rows' 8-lane multiply-adds are held in registers
    over the ``d`` features), the squared distances ``v = (x_norms[i] +
    c_const) - (p + p)`` in float64; when ``fold``, lane 0 is folded into
    ``closest[i]`` (``max(v[0], 0)`` where smaller than it; ``owner[i]``
    then becomes ``last_id``); then ``acc += w * min(v, closest[i])``, lane
    0 taking ``closest[i]`` itself when ``lane0``. Every array must be
    C-contiguous (else the call does not type); ``c_const`` and ``acc`` are
    float64 with at least 8 values (a slice is fine; not checked).

    Each row is read once for all columns. Written as loops, the compiler
    spilled the accumulators or did not vectorise them: a 1,000,000 x 32
    pass took 46 ms by one row, 28 ms by two, 19 ms by GEMM plus loops;
    this, with rows prefetched, 11 ms (with 8 rows a call instead of 4,
    12 ms). Two sets of accumulators (even and odd features) double the
    independent multiply-add chains: 10.2-10.4 ms against 10.5-10.8.
    """
    arrays = (X, idx, wv, cols, c_const, x_norms, closest, owner, acc)
    if not all(isinstance(a, types.Array) for a in arrays):
        return None
    if (X.ndim != 2 or cols.ndim != 2 or X.dtype not in _LANES or cols.dtype != X.dtype
            or X.layout != "C" or cols.layout != "C"):
        return None
    if any(a.ndim != 1 or a.dtype != types.float64 for a in (wv, c_const, x_norms, closest, acc)):
        return None
    if owner.ndim != 1 or owner.dtype != types.int32 or idx.ndim != 1 or idx.dtype != types.int64:
        return None
    if any(a.layout != "C" for a in arrays):  # indexed as contiguous below
        return None
    sig = types.void(X, idx, wv, cols, c_const, x_norms, closest, owner, types.boolean,
                     types.intp, types.boolean, acc)

    def codegen(context, builder, signature, args):
        sa = signature.args
        x_a, ix_a, w_a, c_a, cc_a, xn_a, cl_a, ow_a, acc_a = (
            context.make_array(sa[k])(context, builder, args[k])
            for k in (0, 1, 2, 3, 4, 5, 6, 7, 11))
        fold, last_id, lane0 = args[8], args[9], args[10]
        fl = context.get_value_type(sa[0].dtype)
        dl = ir.DoubleType()
        lanes = KPP_LANES
        vty = ir.VectorType(fl, lanes)
        dvty = ir.VectorType(dl, lanes)
        intp = context.get_value_type(types.intp)
        f_align = context.get_abi_sizeof(fl)
        rows = [builder.load(builder.gep(ix_a.data, [ir.Constant(intp, r)]))
                for r in range(KPP_ROWS)]
        weights = [builder.load(builder.gep(w_a.data, [ir.Constant(intp, r)]))
                   for r in range(KPP_ROWS)]
        d = builder.extract_value(x_a.shape, 1)
        stride0 = builder.extract_value(x_a.strides, 0)
        base = builder.ptrtoint(x_a.data, intp)
        ptrs = [builder.inttoptr(builder.add(base, builder.mul(i, stride0)), fl.as_pointer())
                for i in rows]
        zero_v = ir.Constant(vty, [0.0] * lanes)
        # two sets of accumulators (even and odd features): twice the
        # independent multiply-add chains per row
        accs = [cgutils.alloca_once_value(builder, zero_v) for _ in rows]
        accs2 = [cgutils.alloca_once_value(builder, zero_v) for _ in rows]
        contract = ("contract",)

        def step(j, sets):
            c_ptr = builder.gep(c_a.data, [builder.mul(j, ir.Constant(intp, lanes))])
            c = builder.load(builder.bitcast(c_ptr, vty.as_pointer()), align=f_align)
            for p, a in zip(ptrs, sets, strict=True):
                prod = builder.fmul(_splat(builder, builder.load(builder.gep(p, [j])), vty), c,
                                    flags=contract)
                builder.store(builder.fadd(builder.load(a), prod, flags=contract), a)

        two = ir.Constant(intp, 2)
        with cgutils.for_range(builder, builder.udiv(d, two)) as loop:
            j = builder.mul(loop.index, two)
            step(j, accs)
            step(builder.add(j, ir.Constant(intp, 1)), accs2)
        with builder.if_then(builder.icmp_unsigned("!=", builder.urem(d, two),
                                                   ir.Constant(intp, 0))):
            step(builder.sub(d, ir.Constant(intp, 1)), accs)
        for a, a2 in zip(accs, accs2, strict=True):
            builder.store(builder.fadd(builder.load(a), builder.load(a2)), a)
        cc = builder.load(builder.bitcast(cc_a.data, dvty.as_pointer()), align=8)
        acc_p = builder.bitcast(acc_a.data, dvty.as_pointer())
        total = builder.load(acc_p, align=8)
        zero = ir.Constant(dl, 0.0)
        i32 = ir.IntType(32)
        for i, w, a in zip(rows, weights, accs, strict=True):
            p = builder.load(a)
            if fl != dl:
                p = builder.fpext(p, dvty)
            xn = _splat(builder, builder.load(builder.gep(xn_a.data, [i])), dvty)
            v = builder.fsub(builder.fadd(xn, cc), builder.fadd(p, p))
            cl_ptr = builder.gep(cl_a.data, [i])
            cl = builder.load(cl_ptr)
            v0 = builder.extract_element(v, ir.Constant(i32, 0))
            nearer = builder.and_(fold, builder.fcmp_ordered("<", v0, cl))
            new = builder.select(builder.fcmp_ordered(">", v0, zero), v0, zero)
            with builder.if_then(nearer, likely=False):
                builder.store(new, cl_ptr)
                builder.store(builder.trunc(last_id, ir.IntType(32)),
                              builder.gep(ow_a.data, [i]))
            cl = builder.select(nearer, new, cl)
            cl_v = _splat(builder, cl, dvty)
            low = builder.select(builder.fcmp_ordered("<", v, cl_v), v, cl_v)
            low = builder.select(lane0, builder.insert_element(low, cl, ir.Constant(i32, 0)), low)
            total = builder.fadd(total, builder.fmul(_splat(builder, w, dvty), low))
        builder.store(total, acc_p, align=8)
        return context.get_dummy_value()

    return sig, codegen


def _across_lanes(builder, best_v, idx_v, sec_v, intp):
    """Merge per-lane smallest values, their indices and second smallest values.

    Returns pointers to the smallest value over the lanes, its index (the
    smallest on ties, widened to ``intp``) and the smallest value over every
    other index, ready for :func:`_keep_two` to fold further centers into.
    """
    vty, ivty = best_v.type, idx_v.type
    lanes = vty.count
    m = _reduce(builder, "fmin", best_v)
    is_m = builder.fcmp_ordered("==", best_v, _splat(builder, m, vty))
    big = ir.Constant(ivty, [2 ** 31 - 1] * lanes)
    win = _reduce(builder, "smin", builder.select(is_m, idx_v, big))
    mask = builder.icmp_signed("==", idx_v, _splat(builder, win, ivty))
    others = builder.select(mask, ir.Constant(vty, [float("inf")] * lanes), best_v)
    low2 = builder.select(builder.fcmp_ordered("<", others, sec_v), others, sec_v)
    second = _reduce(builder, "fmin", low2)
    return (cgutils.alloca_once_value(builder, m),
            cgutils.alloca_once_value(builder, builder.sext(win, intp)),
            cgutils.alloca_once_value(builder, second))


def _lane_step(builder, r_ptr, c_ptr, off, xn_v, zero_v, lane_ids, state, vty, ivty, align):
    """One vector of centers from ``off``: update the lanes' smallest, index, second."""
    vptr = vty.as_pointer()
    r = builder.load(builder.bitcast(builder.gep(r_ptr, [off]), vptr), align=align)
    c = builder.load(builder.bitcast(builder.gep(c_ptr, [off]), vptr), align=align)
    cid = builder.add(_splat(builder, builder.trunc(off, ivty.element), ivty), lane_ids)
    _keep_two(builder, r, c, xn_v, zero_v, cid, state)


def _keep_two(builder, r, c, xn, zero, cid, state):
    """Fold ``v = max(xn + c - (r + r), 0)`` (index ``cid``) into ``state``.

    ``state``: pointers to the smallest value, its index and the second
    smallest; scalars or vectors alike (then lane by lane).
    """
    v = builder.fsub(builder.fadd(xn, c), builder.fadd(r, r))
    v = builder.select(builder.fcmp_ordered(">", v, zero), v, zero)
    b_p, ix_p, s_p = state
    best = builder.load(b_p)
    sec = builder.load(s_p)
    lt = builder.fcmp_ordered("<", v, best)
    low = builder.select(builder.fcmp_ordered("<", v, sec), v, sec)
    builder.store(builder.select(lt, best, low), s_p)
    builder.store(builder.select(lt, v, best), b_p)
    builder.store(builder.select(lt, cid, builder.load(ix_p)), ix_p)


def _splat(builder, value, vty):
    """Return a vector of type ``vty`` with every lane ``value``."""
    undef = ir.Constant(vty, ir.Undefined)
    one = builder.insert_element(undef, value, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(one, undef, ir.Constant(ir.VectorType(ir.IntType(32), vty.count),
                                                         [0] * vty.count))


def _reduce(builder, op, vec):
    """``llvm.vector.reduce.<op>`` of ``vec`` (``fmin`` inputs are never NaN here)."""
    vty = vec.type
    el = vty.element
    name = "f32" if el == ir.FloatType() else "f64" if el == ir.DoubleType() else "i32"
    suffix = f"v{vty.count}{name}"
    fnty = ir.FunctionType(el, [vty])
    fn = cgutils.get_or_insert_function(builder.module, fnty, f"llvm.vector.reduce.{op}.{suffix}")
    # nnan: a shuffle tree instead of a chain of NaN-aware scalar minima
    return builder.call(fn, [vec], fastmath=("nnan",) if op == "fmin" else ())


#: Rows of :func:`nearest_two_rows` per register block ...
SEARCH_ROWS = 4
#: ... and vectors of centers per block (their products held in registers).
SEARCH_VECS = 2


@intrinsic
def nearest_two_rows(typingctx, xs, xn, cT, cn, out_i, out_b1, out_b2):
    """:func:`nearest_two` of every row of ``xs`` without its products in memory.

    For each row ``r`` of ``xs`` (nb, d): ``out_i[r], out_b1[r], out_b2[r] =
    nearest_two(xs[r] @ cT, cn, xn[r])`` (the two values widened to
    float64), the products ``xs[r] @ cT`` summed by multiply-adds in feature
    order. ``cT``: (d, k) the centers transposed; ``cn``: (k,) their squared
    norms; all in ``xs``'s dtype, every array C-contiguous (else the call
    does not type). Pad ``k`` to a multiple of the vector lanes (16 float32,
    8 float64) with zero columns and norms ``inf`` (never the nearest, never
    the second): the centers beyond the last whole vector are handled one
    by one, slowly.

    Blocks of :data:`SEARCH_ROWS` rows by :data:`SEARCH_VECS` vectors of
    centers are accumulated in registers over the features, then folded into
    each row's per-lane smallest, index and second smallest as
    :func:`nearest_two` does. Against one GEMM per batch and
    :func:`nearest_two` per row (128 rows of 32 float32 features, one core):
    165-190 against 200-240 cycles a row at k = 128, 324 against 414 at k =
    256; the results were equal.
    """
    arrays = (xs, xn, cT, cn, out_i, out_b1, out_b2)
    if not _row_block_types(xs, xn, cT, cn) or not all(
            isinstance(a, types.Array) and a.layout == "C" and a.ndim == 1
            for a in (out_i, out_b1, out_b2)):
        return None
    if out_i.dtype != types.int64 or out_b1.dtype != types.float64 or out_b2.dtype != types.float64:
        return None
    sig = types.void(*arrays)

    def codegen(context, builder, signature, args):
        e = _RowBlocks(context, builder, signature, args)
        oi_a, o1_a, o2_a = (context.make_array(signature.args[k])(context, builder, args[k])
                            for k in (4, 5, 6))
        vty, ivty, lanes = e.vty, e.ivty, e.lanes
        inf_v = ir.Constant(vty, [float("inf")] * lanes)
        lane_ids = ir.Constant(ivty, list(range(lanes)))
        # per-row state: smallest, its index, second smallest (lane by lane)
        state = [(cgutils.alloca_once(builder, vty), cgutils.alloca_once(builder, ivty),
                  cgutils.alloca_once(builder, vty)) for _ in range(SEARCH_ROWS)]
        scalars = []

        def start(rows):
            for st in state:
                builder.store(inf_v, st[0])
                builder.store(ir.Constant(ivty, [0] * lanes), st[1])
                builder.store(inf_v, st[2])

        def fold(r, off, acc):
            cid = builder.add(_splat(builder, builder.trunc(off, ir.IntType(32)), ivty), lane_ids)
            _keep_two(builder, acc, e.norms(off), e.xn_v[r], e.zero_v, cid, state[r])

        def merge(r):  # the lanes of row r, before its last centers one by one
            scalars[:] = _across_lanes(builder, *[builder.load(p) for p in state[r]], e.intp)

        def fold_one(r, c_i, dot):
            c = builder.load(builder.gep(e.cn.data, [c_i]))
            _keep_two(builder, dot, c, e.xn[r], ir.Constant(e.fl, 0.0), c_i, tuple(scalars))

        def finish(r, row):
            best_p, idx_p, sec_p = scalars
            dl = ir.DoubleType()
            b1 = builder.load(best_p)
            b2 = builder.load(sec_p)
            if e.fl != dl:
                b1 = builder.fpext(b1, dl)
                b2 = builder.fpext(b2, dl)
            builder.store(builder.load(idx_p), builder.gep(oi_a.data, [row]))
            builder.store(b1, builder.gep(o1_a.data, [row]))
            builder.store(b2, builder.gep(o2_a.data, [row]))

        e.emit(start, fold, merge, fold_one, finish)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def sq_distances_rows(typingctx, xs, xn, cT, cn, out):
    """Squared distances of every row of ``xs`` to every center, products in registers.

    ``out[r, c] = max((xn[r] + cn[c]) - 2 xs[r] @ cT[:, c], 0)`` (the form of
    the GEMM-based distances, ``2 p`` exact), the products summed by
    multiply-adds in feature order as :func:`nearest_two_rows` sums them;
    ``out`` (nb, k) C-contiguous in ``xs``'s dtype, the other arguments as
    there (no padding needed: the centers beyond the last whole vector are
    handled one by one). Against one GEMM per block and a loop for the
    norms (1,016 rows, 32 float64 features, 128 centers, one core): see
    :func:`~fastdistill._kernels.cluster._block_sqdist`.
    """
    if not _row_block_types(xs, xn, cT, cn) or not (
            isinstance(out, types.Array) and out.layout == "C" and out.ndim == 2
            and out.dtype == xs.dtype):
        return None
    sig = types.void(xs, xn, cT, cn, out)

    def codegen(context, builder, signature, args):
        e = _RowBlocks(context, builder, signature, args)
        o_a = context.make_array(signature.args[4])(context, builder, args[4])
        k = e.k

        def fold(r, off, acc):
            v = builder.fsub(builder.fadd(e.xn_v[r], e.norms(off)), builder.fadd(acc, acc))
            v = builder.select(builder.fcmp_ordered(">", v, e.zero_v), v, e.zero_v)
            p = builder.gep(o_a.data, [builder.add(builder.mul(e.rows[r], k), off)])
            builder.store(v, builder.bitcast(p, e.vty.as_pointer()), align=e.align)

        def fold_one(r, c_i, dot):
            c = builder.load(builder.gep(e.cn.data, [c_i]))
            v = builder.fsub(builder.fadd(e.xn[r], c), builder.fadd(dot, dot))
            zero = ir.Constant(e.fl, 0.0)
            v = builder.select(builder.fcmp_ordered(">", v, zero), v, zero)
            builder.store(v, builder.gep(o_a.data, [builder.add(builder.mul(e.rows[r], k), c_i)]))

        e.emit(None, fold, None, fold_one, None)
        return context.get_dummy_value()

    return sig, codegen


def _row_block_types(xs, xn, cT, cn) -> bool:
    """Whether the rows, norms and centers can be typed by the row-block kernels."""
    if not all(isinstance(a, types.Array) and a.layout == "C" for a in (xs, xn, cT, cn)):
        return False
    fty = xs.dtype
    return (fty in _LANES and cT.dtype == fty and cn.dtype == fty and xn.dtype == fty
            and xs.ndim == 2 and cT.ndim == 2 and xn.ndim == 1 and cn.ndim == 1)


class _RowBlocks:
    """Code generation shared by the row-block kernels (:func:`nearest_two_rows`).

    Rows ``xs`` (nb, d) go by blocks of :data:`SEARCH_ROWS` (the last block
    repeats the last row), centers ``cT`` (d, k) by blocks of
    :data:`SEARCH_VECS` vectors, then single vectors, then one by one; the
    products of a block are accumulated in registers over the features and
    handed to the caller's callbacks.
    """

    def __init__(self, context, builder, signature, args):
        self.builder = builder
        sa = signature.args
        self.x, self.xn_a, self.c, self.cn = (context.make_array(sa[k])(context, builder, args[k])
                                              for k in range(4))
        self.fl = context.get_value_type(sa[0].dtype)
        self.lanes = _LANES[sa[0].dtype]
        self.vty = ir.VectorType(self.fl, self.lanes)
        self.ivty = ir.VectorType(ir.IntType(32), self.lanes)
        self.intp = context.get_value_type(types.intp)
        self.align = context.get_abi_sizeof(self.fl)
        self.nb = builder.extract_value(self.x.shape, 0)
        self.d = builder.extract_value(self.x.shape, 1)
        self.k = builder.extract_value(self.c.shape, 1)
        self.zero_v = ir.Constant(self.vty, [0.0] * self.lanes)
        self.rows = self.xn = self.xn_v = None

    def norms(self, off):
        """Load the vector of center norms from center ``off``."""
        p = self.builder.gep(self.cn.data, [off])
        return self.builder.load(self.builder.bitcast(p, self.vty.as_pointer()), align=self.align)

    def emit(self, start, fold, merge, fold_one, finish):
        """Emit the loops over the rows and centers, calling back with the products.

        ``fold(r, off, acc)`` gets row ``r``'s products with the vector of
        centers from ``off``, ``fold_one(r, c, dot)`` one center's;
        ``start(rows)``, ``merge(r)`` (before a row's last centers) and
        ``finish(r, row)`` may be None.
        """
        b = self.builder
        intp, lanes, vty = self.intp, self.lanes, self.vty
        R = SEARCH_ROWS
        one = ir.Constant(intp, 1)
        accs = [[cgutils.alloca_once(b, vty) for _ in range(SEARCH_VECS)] for _ in range(R)]
        n_quads = b.udiv(b.add(self.nb, ir.Constant(intp, R - 1)), ir.Constant(intp, R))
        last = b.sub(self.nb, one)
        d, k = self.d, self.k
        with cgutils.for_range(b, n_quads) as qloop:
            r0 = b.mul(qloop.index, ir.Constant(intp, R))
            rows = []
            for r in range(R):
                ri = b.add(r0, ir.Constant(intp, r))
                rows.append(b.select(b.icmp_signed(">", ri, last), last, ri))
            self.rows = rows
            xptrs = [b.gep(self.x.data, [b.mul(ri, d)]) for ri in rows]
            self.xn = [b.load(b.gep(self.xn_a.data, [ri])) for ri in rows]
            self.xn_v = [_splat(b, v, vty) for v in self.xn]
            if start is not None:
                start(rows)

            def block(c0, n_vec):
                for r in range(R):
                    for v in range(n_vec):
                        b.store(self.zero_v, accs[r][v])
                with cgutils.for_range(b, d) as jl:
                    j = jl.index
                    crow = b.add(b.mul(j, k), c0)
                    cvs = []
                    for v in range(n_vec):
                        p = b.gep(self.c.data, [b.add(crow, ir.Constant(intp, v * lanes))])
                        cvs.append(b.load(b.bitcast(p, vty.as_pointer()), align=self.align))
                    for r in range(R):
                        xb = _splat(b, b.load(b.gep(xptrs[r], [j])), vty)
                        for v in range(n_vec):
                            _multiply_add(b, accs[r][v], xb, cvs[v])
                for v in range(n_vec):
                    off = b.add(c0, ir.Constant(intp, v * lanes))
                    for r in range(R):
                        fold(r, off, b.load(accs[r][v]))

            step = ir.Constant(intp, SEARCH_VECS * lanes)
            n_blk = b.udiv(k, step)
            with cgutils.for_range(b, n_blk) as bl:
                block(b.mul(bl.index, step), SEARCH_VECS)
            c0 = b.mul(n_blk, step)
            # whole single vectors left
            n_one = b.udiv(b.sub(k, c0), ir.Constant(intp, lanes))
            with cgutils.for_range(b, n_one) as ol:
                block(b.add(c0, b.mul(ol.index, ir.Constant(intp, lanes))), 1)
            c0 = b.add(c0, b.mul(n_one, ir.Constant(intp, lanes)))
            for r in range(R):
                if merge is not None:
                    merge(r)
                # centers left (fewer than a vector): dot products one by one
                with cgutils.for_range_slice(b, c0, k, one) as (c_i, _):
                    dot = cgutils.alloca_once_value(b, ir.Constant(self.fl, 0.0))
                    with cgutils.for_range(b, d) as jl:
                        xv = b.load(b.gep(xptrs[r], [jl.index]))
                        at = b.add(b.mul(jl.index, k), c_i)
                        _multiply_add(b, dot, xv, b.load(b.gep(self.c.data, [at])))
                    fold_one(r, c_i, b.load(dot))
                if finish is not None:
                    finish(r, rows[r])


def _multiply_add(builder, acc, a, b):
    """``*acc += a * b`` (scalars or vectors), contractible to one fused multiply-add."""
    prod = builder.fmul(a, b, flags=("contract",))
    builder.store(builder.fadd(builder.load(acc), prod, flags=("contract",)), acc)
