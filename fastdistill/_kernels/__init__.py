"""Compiled kernels: plain arrays in, arrays out; no estimator logic, no validation.

Modules: ``linear`` (Gram accumulation, streaming QR, SGD epochs), ``_random``
(deterministic generator and shuffle), ``_intrinsics`` (LLVM prefetch, atomic
add, the one-sweep nearest-center search).
"""
