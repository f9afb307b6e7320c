"""PCA against scikit-learn's exact solver and mathematical invariants."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.linalg

from fastdistill.decomposition import PCA

sk_decomposition = pytest.importorskip("sklearn.decomposition")


def _data(n=1500, d=20, seed=0, dtype=np.float64, offset=3.0):
    """Data with a well separated leading spectrum (gap after 5 components)."""
    rng = np.random.default_rng(seed)
    scales = np.concatenate([[20.0, 15.0, 10.0, 7.0, 5.0], np.linspace(0.5, 0.1, d - 5)])
    basis = np.linalg.qr(rng.normal(size=(d, d)))[0]
    X = (rng.normal(size=(n, d)) * scales) @ basis + offset
    return X.astype(dtype)


def _max_angle(A, B):
    """Largest principal angle between the row spaces of A and B."""
    return float(np.max(scipy.linalg.subspace_angles(A.T.astype(np.float64),
                                                     B.T.astype(np.float64))))


@pytest.mark.parametrize("solver", ["covariance_eigh", "full", "randomized"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_sklearn_full(solver, dtype):
    X = _data(dtype=dtype)
    ours = PCA(5, svd_solver=solver, random_state=0).fit(X)
    ref = sk_decomposition.PCA(5, svd_solver="full").fit(X.astype(np.float64))
    # float32 too: principal angles below 1e-6 (the float32 components'
    # own rounding is ~3e-7 here), variances to 1e-5.
    angle_tol = 1e-6
    rtol = 1e-6 if dtype == np.float64 else 1e-5
    assert _max_angle(ours.components_, ref.components_) < angle_tol
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=rtol)
    np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_,
                               rtol=rtol)
    np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=rtol)
    np.testing.assert_allclose(ours.mean_, ref.mean_, rtol=rtol, atol=rtol)
    # The noise variance averages the smallest eigenvalues (~0.1 against a
    # largest of ~400): in float32 its absolute error is eps32 times the
    # largest, so its relative error is allowed 1e-3.
    noise_rtol = 1e-2 if solver == "randomized" else (rtol if dtype == np.float64 else 1e-3)
    assert ours.noise_variance_ == pytest.approx(ref.noise_variance_, rel=noise_rtol)
    # Same deterministic signs as scikit-learn's svd_flip.
    np.testing.assert_allclose(ours.components_, ref.components_, atol=angle_tol * 10)
    assert ours.components_.dtype == dtype
    np.testing.assert_allclose(ours.transform(X), ref.transform(X.astype(np.float64)),
                               rtol=rtol, atol=rtol * 100)


def test_auto_solver_choice_follows_sklearn_rule():
    tall = _data(n=2000, d=20)
    assert PCA(3).fit(tall)._solver == "covariance_eigh"
    wide = np.random.default_rng(0).normal(size=(600, 700))
    assert PCA(10).fit(wide)._solver == "randomized"
    small = np.random.default_rng(0).normal(size=(100, 40))
    assert PCA(3).fit(small)._solver == "full"


def test_variance_fraction_and_none():
    X = _data()
    for frac in (0.5, 0.9, 0.99):
        ours = PCA(frac, svd_solver="covariance_eigh").fit(X)
        ref = sk_decomposition.PCA(frac, svd_solver="full").fit(X)
        assert ours.n_components_ == ref.n_components_
    assert PCA().fit(X).n_components_ == X.shape[1]


def test_whiten_and_inverse_transform():
    X = _data()
    pca = PCA(5, whiten=True).fit(X)
    Z = pca.transform(X)
    np.testing.assert_allclose(Z.std(axis=0, ddof=1), 1.0, rtol=1e-8)
    full = PCA(None, whiten=True).fit(X)
    np.testing.assert_allclose(full.inverse_transform(full.transform(X)), X, rtol=1e-8, atol=1e-8)
    ref = sk_decomposition.PCA(5, whiten=True, svd_solver="full").fit(X)
    np.testing.assert_allclose(pca.inverse_transform(Z), ref.inverse_transform(Z), rtol=1e-6,
                               atol=1e-6)


def test_randomized_reproducible_and_no_input_change():
    X = _data(n=800, d=60)
    X.setflags(write=False)
    Xc = X.copy()
    a = PCA(4, svd_solver="randomized", random_state=1).fit(X).components_
    b = PCA(4, svd_solver="randomized", random_state=1).fit(X).components_
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, Xc)


@pytest.mark.parametrize("solver", ["covariance_eigh", "full", "randomized"])
def test_constant_and_duplicate_data(solver):
    X = np.ones((50, 4))
    pca = PCA(2, svd_solver=solver, random_state=0).fit(X)
    np.testing.assert_allclose(pca.explained_variance_, 0.0, atol=1e-12)
    np.testing.assert_allclose(pca.transform(X), 0.0, atol=1e-12)
    assert np.all(np.isfinite(pca.explained_variance_ratio_))
    assert np.all(np.isfinite(pca.components_)) and np.isfinite(pca.noise_variance_)
    D = np.repeat(np.random.default_rng(0).normal(size=(10, 3)), 5, axis=0)
    np.testing.assert_allclose(PCA(2).fit(D).explained_variance_,
                               sk_decomposition.PCA(2).fit(D).explained_variance_, rtol=1e-8)


@pytest.mark.parametrize(
    "params,match",
    [
        ({"n_components": 25}, "between 0 and"),
        ({"n_components": 1.5}, r"in \(0, 1\)"),
        ({"n_components": "mle"}, "mle"),
        ({"svd_solver": "arpack"}, "svd_solver"),
        ({"n_components": 0.5, "svd_solver": "randomized"}, "int n_components"),
        ({"n_components": 3, "svd_solver": "randomized", "power_iteration_normalizer": "x"},
         "power_iteration_normalizer"),
    ],
)
def test_bad_params(params, match):
    X = _data(n=100, d=20)
    with pytest.raises(ValueError, match=match):
        PCA(**params).fit(X)


def test_bad_input():
    X = _data(n=50, d=5)
    with pytest.raises(ValueError, match="minimum of 2"):
        PCA(1).fit(X[:1])
    with pytest.raises(ValueError, match="NaN"):
        PCA(2).fit(np.where(X > 5, np.nan, X))
    pca = PCA(2).fit(X)
    with pytest.raises(ValueError, match="5 features"):
        pca.transform(X[:, :3])
    with pytest.raises(ValueError, match="n_components_=2"):
        pca.inverse_transform(np.ones((3, 4)))


# ------------------------------------------------- randomized solver's passes

def _pass(X, mean, mode, M=None, Y=None, block_rows=16, n_slots=4):
    """Run the compiled pass with a small layout (several blocks and slots)."""
    from fastdistill._kernels import pca as K
    from fastdistill._threads import parallel_region

    n, d = X.shape
    width = Y.shape[1] if mode == K.MODE_BACK else M.shape[1]
    Mt = np.ascontiguousarray((np.empty((d, width)) if M is None else M).T, dtype=X.dtype)
    Yt = np.ascontiguousarray((np.zeros((n, width)) if Y is None else Y).T, dtype=X.dtype)
    Zt = np.zeros((n_slots, width, d), dtype=X.dtype)
    with parallel_region(n_slots):
        K.centered_pass(X, mean, Mt, Yt, Zt, mode, block_rows, n_slots, K.gemm_address(X.dtype))
    return Zt.sum(axis=0, dtype=np.float64).T, Yt.T


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_centered_pass_matches_numpy(dtype):
    from fastdistill._kernels import pca as K

    rng = np.random.default_rng(3)
    X = (rng.normal(size=(203, 17)) + 50.0).astype(dtype)  # 13 blocks, the last partial
    X.setflags(write=False)
    X_before = X.copy()
    mean = X.mean(axis=0, dtype=np.float64)
    A = X.astype(np.float64) - mean  # the naive reference centres a float64 copy
    M = rng.normal(size=(17, 6))
    Y = rng.normal(size=(203, 6))
    rtol = 1e-12 if dtype == np.float64 else 1e-5

    def close(got, want):
        assert np.max(np.abs(got - want)) <= rtol * np.max(np.abs(want))

    Z, _ = _pass(X, mean, K.MODE_GRAM, M=M)
    close(Z, A.T @ (A @ M.astype(dtype)))
    _, Yp = _pass(X, mean, K.MODE_PROJECT, M=M)
    close(Yp, A @ M.astype(dtype))
    Z, _ = _pass(X, mean, K.MODE_BACK, Y=Y)
    close(Z, A.T @ Y.astype(dtype))
    np.testing.assert_array_equal(X, X_before)


def test_pass_layout_depends_on_shape_only():
    from fastdistill._kernels.pca import pass_layout

    block_rows, n_slots = pass_layout(20_000, 2_000, 30, 8)
    assert block_rows * 2_000 * 8 <= 2 << 20 < (block_rows + 1) * 2_000 * 8
    assert n_slots == 16  # power of two, at most 8 MiB of (2000, 30) partial sums
    assert pass_layout(50, 10, 5, 8) == (1024, 1)  # one block
    for n in (1_000, 10_000, 100_000):
        rows, slots = pass_layout(n, 300, 20, 4)
        assert slots & (slots - 1) == 0 and slots <= min(32, -(-n // rows))


def test_randomized_thread_count_does_not_change_result():
    import fastdistill
    from fastdistill._threads import max_threads

    X = _data(n=5000, d=40, seed=4)  # 5 row blocks in 4 slots
    fits = []
    for n_threads in (1, min(2, max_threads())):
        with fastdistill.num_threads(n_threads):
            fits.append(PCA(6, svd_solver="randomized", random_state=0).fit(X))
    np.testing.assert_array_equal(fits[0].components_, fits[1].components_)
    np.testing.assert_array_equal(fits[0].explained_variance_, fits[1].explained_variance_)


@functools.cache
def _wide_case(dtype):
    """Wide, well-separated data with a large offset, and the exact PCA."""
    X = _data(n=200, d=300, seed=5, dtype=dtype, offset=1e3)
    X.setflags(write=False)
    return X, sk_decomposition.PCA(5, svd_solver="full").fit(X.astype(np.float64))


# float32 with "none" is left out: seven unnormalised iterations collapse the
# iterate onto the leading direction below float32 precision (documented on
# the parameter; scikit-learn overflows there).
@pytest.mark.parametrize("dtype,normalizer", [
    (np.float64, "auto"), (np.float64, "QR"), (np.float64, "LU"), (np.float64, "none"),
    (np.float32, "auto"), (np.float32, "QR"), (np.float32, "LU"),
])
def test_randomized_wide_matches_full(dtype, normalizer):
    # The blocks are centred exactly (not by a rank-one correction), so the
    # large offset costs no accuracy, in float32 either.
    X, ref = _wide_case(dtype)
    ours = PCA(5, svd_solver="randomized", random_state=0,
               power_iteration_normalizer=normalizer).fit(X)
    assert _max_angle(ours.components_, ref.components_) < 1e-6
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_,
                               rtol=1e-10 if dtype == np.float64 else 1e-6)
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-5)  # same signs
    assert ours.components_.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_randomized_makes_no_copy_of_X(dtype):
    import tracemalloc

    X = np.random.default_rng(6).standard_normal((8000, 1000)).astype(dtype)
    PCA(20, svd_solver="randomized", random_state=0).fit(X[:50])  # compile outside the trace
    tracemalloc.start()
    try:
        PCA(20, svd_solver="randomized", random_state=0).fit(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # O((n + d) k) arrays and one 2 MiB block buffer per thread (about 30% of
    # X here); a centred copy would be 100% of X (200% in float64 for float32
    # input).
    assert peak < 0.5 * X.nbytes


def test_randomized_unnormalised_iterations_do_not_overflow_float32():
    # "auto" picks no normalisation for 2 iterations; (A^T A)^2 M of data
    # scaled by 1e8 exceeds float32's range (scikit-learn's randomized solver
    # fails with NaN there), but the iterate is rescaled by powers of two.
    X = _data(n=200, d=300, seed=5, dtype=np.float32, offset=0.0) * np.float32(1e8)
    ours = PCA(5, svd_solver="randomized", iterated_power=2, random_state=0).fit(X)
    ref = sk_decomposition.PCA(5, svd_solver="full").fit(X.astype(np.float64))
    assert np.all(np.isfinite(ours.components_))
    assert _max_angle(ours.components_, ref.components_) < 1e-4  # 2 iterations only
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-6)
