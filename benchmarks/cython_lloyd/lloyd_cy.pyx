# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Cython twin of ``fastdistill._kernels.cluster.lloyd_pass`` (float64 only).

An experiment for issue 4, not part of the package: the same plain Lloyd
pass, written with OpenMP ``prange`` over the slots, no GIL, and BLAS called
directly through ``scipy.linalg.cython_blas``, to compare with the Numba
kernel (``np.dot`` inside the parallel loop). Step for step as the Numba
kernel:

* the slots (independent partial sums) split the row chunks into contiguous
  ranges; a static schedule hands them to the threads;
* each chunk of rows is copied, shifted (``x - shift``), into a small buffer
  while its squared norms are summed;
* one DGEMM per chunk: ``dots = buf @ centers_t`` with ``centers_t`` the
  C-contiguous (d, k) transposed centers. BLAS is column-major, so the call
  computes the transposed product ``dots^T = centers_t^T @ buf^T``: a
  row-major (r, c) array is its own transpose read column-major, hence
  ``dgemm('N', 'N', k, m, d, 1, centers_t, k, buf, d, 0, dots, k)``;
* the nearest center by a compare loop on ``||c||^2 - 2 x.c`` below 64
  centers, by the integer-key search (bits of non-negative doubles ordered
  as their values) from 64 on, as the Numba kernel;
* the exact ``||x - c||^2`` of the chosen center for the inertia, the
  per-slot sums, weights, inertia and changed-label counts, merged in slot
  order after the parallel loop (bit-identical for any thread count);
* the rows of the slot's next chunk are prefetched during the search.

Inputs are validated, C-contiguous float64 arrays (read-only is fine; X is
never written). BLAS must be limited to one thread around the call (the
caller does it with threadpoolctl), as fastdistill's ``parallel_region``.
"""

import numpy as np

from cython.parallel cimport prange
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dgemm

cdef extern from *:
    """
    static inline void lloyd_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }
    """
    void lloyd_prefetch(const void *p) noexcept nogil

cdef enum:
    KEY_SEARCH_MIN_K = 64  # fastdistill._kernels.cluster.KEY_SEARCH_MIN_K


cdef inline Py_ssize_t _nearest(const double *row, const double *c_norms, double xn,
                                double *vbuf, Py_ssize_t k) noexcept nogil:
    """First index of the smallest ``max(xn + c_norms - 2 row, 0)``."""
    cdef Py_ssize_t c, best, cand
    cdef double v, bv
    cdef const int64_t *ib = <const int64_t *> vbuf  # -fno-strict-aliasing
    cdef int64_t m1, key
    if k < KEY_SEARCH_MIN_K:
        best = 0
        bv = c_norms[0] - 2.0 * row[0]
        for c in range(1, k):
            v = c_norms[c] - 2.0 * row[c]
            if v < bv:
                bv = v
                best = c
        return best
    for c in range(k):
        v = xn + c_norms[c] - (row[c] + row[c])
        vbuf[c] = v if v > 0.0 else 0.0
    m1 = ib[0]
    for c in range(k):
        key = ib[c]
        m1 = key if key < m1 else m1
    best = k
    for c in range(k):
        cand = c if ib[c] == m1 else k
        best = cand if cand < best else best
    return best


cdef void _slot(const double *X, Py_ssize_t n, Py_ssize_t d, const double *sw,
                const double *shift, const double *centers, const double *centers_t,
                const double *c_norms, Py_ssize_t k, int *labels, Py_ssize_t chunk_rows,
                Py_ssize_t ch0, Py_ssize_t ch1, bint update, double *s_sums, double *s_wts,
                double *s_inert, int64_t *s_changed) noexcept nogil:
    """Chunks ``ch0 .. ch1 - 1`` of one slot into its partial sums."""
    cdef double *buf = <double *> malloc(chunk_rows * d * sizeof(double))
    cdef double *xnb = <double *> malloc(chunk_rows * sizeof(double))
    cdef double *dots = <double *> malloc(chunk_rows * k * sizeof(double))
    cdef double *vbuf = <double *> malloc(k * sizeof(double))
    cdef Py_ssize_t ch, r0, m, i, j, best, nxt, n_next
    cdef double xn, t, dist, w, inert = 0.0
    cdef int64_t changed = 0
    cdef const double *xr
    cdef const double *cr
    cdef double *br
    cdef double *sr
    cdef int bk = <int> k, bm, bd = <int> d
    cdef double one = 1.0, zero = 0.0
    cdef char no = b'N'
    for ch in range(ch0, ch1):
        r0 = ch * chunk_rows
        m = min(n, r0 + chunk_rows) - r0
        for i in range(m):
            xr = X + (r0 + i) * d
            br = buf + i * d
            xn = 0.0
            for j in range(d):
                t = xr[j] - shift[j]
                br[j] = t
                xn += t * t
            xnb[i] = xn
        bm = <int> m
        # dots (m, k) row-major = (k, m) column-major = centers_t^T @ buf^T
        dgemm(&no, &no, &bk, &bm, &bd, &one, <double *> centers_t, &bk,
              buf, &bd, &zero, dots, &bk)
        nxt = r0 + m  # load the slot's next chunk meanwhile
        n_next = min(n, nxt + chunk_rows) - nxt if ch + 1 < ch1 else 0
        for i in range(m):
            if i < n_next:
                xr = X + (nxt + i) * d
                for j in range(0, d, 8):  # one prefetch per 64-byte line
                    lloyd_prefetch(xr + j)
            best = _nearest(dots + i * k, c_norms, xnb[i], vbuf, k)
            br = buf + i * d
            cr = centers + best * d
            dist = 0.0
            for j in range(d):
                t = br[j] - cr[j]
                dist += t * t
            w = sw[r0 + i] if sw != NULL else 1.0
            inert += w * dist
            if labels[r0 + i] != best:
                changed += 1
                labels[r0 + i] = <int> best
            s_wts[best] += w
            if update:
                sr = s_sums + best * d
                for j in range(d):
                    sr[j] += w * br[j]
    s_inert[0] = inert
    s_changed[0] = changed
    free(buf)
    free(xnb)
    free(dots)
    free(vbuf)


def lloyd_pass(const double[:, ::1] X, const double[::1] sw, const double[::1] shift,
               const double[:, ::1] centers, const double[:, ::1] centers_t,
               const double[::1] c_norms, int[::1] labels, Py_ssize_t chunk_rows,
               Py_ssize_t n_slots, bint update, int n_threads):
    """One Lloyd pass; arguments and results as the Numba ``lloyd_pass``.

    ``n_threads`` is the OpenMP team size of the ``prange`` over the slots
    (the Numba kernel gets its count from ``numba.set_num_threads``).

    Returns
    -------
    sums : (k, d) float64 (a (1, d) zero array unless ``update``)
    weights : (k,) float64
    inertia : float
    changed : int
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], k = centers.shape[0]
    cdef Py_ssize_t n_chunks = (n + chunk_rows - 1) // chunk_rows
    cdef Py_ssize_t kk = k if update else 1
    cdef Py_ssize_t slot
    sums = np.zeros((n_slots, kk, d))
    wts = np.zeros((n_slots, k))
    inert = np.zeros(n_slots)
    changed = np.zeros(n_slots, dtype=np.int64)
    cdef double[:, :, ::1] sums_v = sums
    cdef double[:, ::1] wts_v = wts
    cdef double[::1] inert_v = inert
    cdef int64_t[::1] changed_v = changed
    cdef const double *swp = &sw[0] if sw.shape[0] > 0 else NULL
    with nogil:
        for slot in prange(n_slots, schedule="static", num_threads=n_threads):
            _slot(&X[0, 0], n, d, swp, &shift[0], &centers[0, 0], &centers_t[0, 0],
                  &c_norms[0], k, &labels[0], chunk_rows,
                  slot * n_chunks // n_slots, (slot + 1) * n_chunks // n_slots, update,
                  &sums_v[slot, 0, 0], &wts_v[slot, 0], &inert_v[slot], &changed_v[slot])
    sums_t = np.zeros((kk, d))
    wts_t = np.zeros(k)
    inertia = 0.0
    n_changed = 0
    for s in range(n_slots):  # fixed order, as the Numba kernel
        sums_t += sums[s]
        wts_t += wts[s]
        inertia += inert[s]
        n_changed += int(changed[s])
    return sums_t, wts_t, inertia, n_changed
