"""The project's one Numba jit wrapper.

Every compiled kernel in fastdistill is declared through :func:`jit`, so the
compilation options are set in exactly one place:

* ``nopython`` mode, ``nogil=True``;
* ``cache=True``: the compiled machine code is stored on disk (next to the
  module, or in the user cache folder when the install location is read-only,
  which Numba handles by itself) so that a second process does not recompile;
* ``error_model="numpy"``: division by zero gives inf/nan instead of raising,
  which lets the compiler vectorise loops; inputs are validated before they
  reach a kernel;
* ``fastmath`` either off, or the *safe* set below or a subset of it. ``nnan`` and ``ninf`` are
  never enabled: they let LLVM assume that no NaN or inf exists, which breaks
  divergence detection and NaN checks.

Kernels are compiled lazily on their first call, never at import time.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["jit", "SAFE_FASTMATH"]

#: Fast-math flags that keep IEEE semantics for NaN and inf.
SAFE_FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})


def jit(
    func: Callable | None = None,
    *,
    parallel: bool = False,
    fastmath: bool | frozenset | set = True,
    cache: bool = True,
    internal: bool = False,
    **options: Any,
) -> Callable:
    """Compile ``func`` with fastdistill's standard Numba options.

    Parameters
    ----------
    func : callable, optional
        The function to compile. When omitted, a decorator is returned.
    parallel : bool, default=False
        Enable ``numba.prange`` parallel loops.
    fastmath : bool or set of str, default=True
        Use :data:`SAFE_FASTMATH` (reassociation, contraction, ...), or only
        the given subset of it (e.g. ``{"contract"}``: fused multiply-adds
        without reassociation). NaN and inf semantics are always preserved.
    cache : bool, default=True
        Cache the compiled code on disk.
    internal : bool, default=False
        The function is only called from other kernels: no Python or C
        entry point is compiled for it (Numba's ``no_cpython_wrapper`` and
        ``no_cfunc_wrapper``), which saves machine code that would never run
        - a second or more of a cold start for a tree of helpers. Calling it
        from Python raises.
    **options
        Further options forwarded to :func:`numba.njit`.

    Returns
    -------
    dispatcher : callable
        A lazily compiled Numba dispatcher.
    """
    import numba  # imported here so that importing this module stays cheap

    opts = dict(
        nogil=True,
        cache=cache,
        parallel=_prange_only() if parallel else False,
        error_model="numpy",
        fastmath=_fastmath_flags(fastmath),
    )
    if internal:
        opts.update(no_cpython_wrapper=True, no_cfunc_wrapper=True)
    opts.update(options)

    def decorate(f: Callable) -> Callable:
        return numba.njit(**opts)(f)

    if func is None:
        return decorate
    return decorate(func)


#: Numba's parallel options for ``parallel=True``: only the explicit
#: ``prange`` loops run in parallel. NumPy array expressions, in-place
#: operators, setitems and comprehensions stay plain loops: each one Numba
#: turns into a parallel region is compiled as a gufunc of its own (about
#: 0.1-1 s of compilation each on a cold cache), for small arrays (per-thread
#: accumulators, merges) that gain nothing from threads.
#: (An options object, not a dict: Numba empties a dict on the first
#: compilation, and a kernel's later signatures would get every option.)
#: Inside a ``prange`` body, write array work as loops: an array expression
#: there does not compile with these options.
_PRANGE_ONLY = {"prange": True, "comprehension": False, "reduction": False,
                "inplace_binop": False, "setitem": False, "numpy": False,
                "stencil": False, "fusion": False}


def _prange_only():
    """Numba's ``ParallelOptions`` with only ``prange`` loops enabled."""
    from numba.core.cpu import ParallelOptions

    return ParallelOptions(dict(_PRANGE_ONLY))


def _fastmath_flags(fastmath: bool | frozenset | set) -> set | bool:
    """Numba's ``fastmath`` option for :func:`jit`'s argument (never nnan/ninf)."""
    if isinstance(fastmath, (set, frozenset)):
        unsafe = set(fastmath) - SAFE_FASTMATH
        if unsafe:
            raise ValueError(f"fast-math flags {sorted(unsafe)} are not allowed: they "
                             f"break NaN/inf semantics (allowed: {sorted(SAFE_FASTMATH)})")
        return set(fastmath) if fastmath else False
    if not isinstance(fastmath, bool):  # a tuple or a string would read as True
        raise TypeError(f"fastmath must be a bool or a set of flag names, got {fastmath!r}")
    return set(SAFE_FASTMATH) if fastmath else False
