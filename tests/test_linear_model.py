"""Linear students against scikit-learn and naive references."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from naive import sgd_squared, tolerance, weighted_least_squares

from fastdistill.exceptions import ConvergenceWarning, NotFittedError
from fastdistill.linear_model import LinearRegression, Ridge, SGDRegressor

sk_linear = pytest.importorskip("sklearn.linear_model")


def _data(rng, n=300, d=6, k=1, dtype=np.float64, offset=0.0):
    X = rng.normal(size=(n, d)) + offset
    coef = rng.normal(size=(d, k))
    Y = X @ coef + 0.3 * rng.normal(size=(n, k)) + 2.0
    if k == 1:
        Y = Y[:, 0]
    return X.astype(dtype), Y.astype(dtype)


# ----------------------------------------------------------------- closed form

@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_linear_regression_matches_sklearn(rng, k, fit_intercept):
    X, y = _data(rng, k=k, offset=50.0)
    ours = LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    ref = sk_linear.LinearRegression(fit_intercept=fit_intercept).fit(X, y)
    assert ours.coef_.shape == ref.coef_.shape
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-9, atol=1e-8)
    assert ours.solver_ == "cholesky"
    assert ours.score(X, y) == pytest.approx(ref.score(X, y), rel=1e-12)


def test_sample_weight_matches_sklearn_and_naive(rng):
    X, y = _data(rng, k=2)
    w = rng.uniform(0.0, 3.0, size=X.shape[0])
    w[:10] = 0.0
    ours = LinearRegression().fit(X, y, sample_weight=w)
    ref = sk_linear.LinearRegression().fit(X, y, sample_weight=w)
    B, b = weighted_least_squares(X, y, w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.coef_, B, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, b, rtol=1e-9, atol=1e-9)


def test_zero_weight_rows_are_ignored(rng):
    X, y = _data(rng)
    w = np.ones(len(X))
    w[::3] = 0.0
    a = LinearRegression().fit(X, y, sample_weight=w)
    b = LinearRegression().fit(X[w > 0], y[w > 0])
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10, atol=1e-12)


def test_ill_conditioned_uses_qr_and_matches_sklearn(rng):
    n, d = 400, 5
    base = rng.normal(size=(n, d))
    X = base.copy()
    X[:, 4] = base[:, 3] + 1e-7 * rng.normal(size=n)  # cond(X) ~ 1e7
    y = base @ np.arange(1.0, d + 1) + 0.01 * rng.normal(size=n)
    ours = LinearRegression().fit(X, y)
    ref = sk_linear.LinearRegression().fit(X, y)
    assert ours.solver_ == "qr"
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-10, atol=1e-10)


def test_rank_deficient_gives_min_norm_solution(rng):
    X0, y = _data(rng, d=4)
    X = np.hstack([X0, X0[:, :2], np.full((len(X0), 1), 3.0)])  # duplicates + constant
    ours = LinearRegression().fit(X, y)
    ref = sk_linear.LinearRegression().fit(X, y)
    B, b = weighted_least_squares(X, y)  # numpy lstsq: minimum norm
    assert ours.solver_ == "qr"
    assert ours.rank_ == ref.rank_ == 4
    np.testing.assert_allclose(ours.coef_, B, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-10, atol=1e-10)


def test_singular_values_match_sklearn(rng):
    X, y = _data(rng)
    ours = LinearRegression().fit(X, y)
    ref = sk_linear.LinearRegression().fit(X, y)
    np.testing.assert_allclose(ours.singular_, ref.singular_, rtol=1e-8)
    assert ours.rank_ == ref.rank_


@pytest.mark.parametrize("alpha", [1e-3, 1.0, 100.0])
def test_ridge_matches_sklearn(rng, alpha):
    X, y = _data(rng, k=2, offset=10.0)
    w = rng.uniform(0.5, 2.0, size=len(X))
    ours = Ridge(alpha=alpha).fit(X, y, sample_weight=w)
    ref = sk_linear.Ridge(alpha=alpha).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-8, atol=1e-8)


def test_ridge_per_target_alpha(rng):
    X, y = _data(rng, k=3)
    alphas = np.array([0.1, 10.0, 1000.0])
    ours = Ridge(alpha=alphas).fit(X, y)
    ref = sk_linear.Ridge(alpha=alphas).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    for c in range(3):
        single = Ridge(alpha=alphas[c]).fit(X, y[:, c])
        np.testing.assert_allclose(ours.coef_[c], single.coef_, rtol=1e-10)


def test_ridge_alpha_zero_equals_ols_and_qr_solver(rng):
    X, y = _data(rng)
    ols = LinearRegression().fit(X, y)
    np.testing.assert_allclose(Ridge(alpha=0.0).fit(X, y).coef_, ols.coef_, rtol=1e-10)
    qr = Ridge(alpha=0.0, solver="qr").fit(X, y)
    assert qr.solver_ == "qr"
    np.testing.assert_allclose(qr.coef_, ols.coef_, rtol=1e-10)
    with pytest.raises(ValueError, match="alpha=0"):
        Ridge(alpha=1.0, solver="qr").fit(X, y)


def test_float32_stays_float32(rng):
    X, y = _data(rng, k=2, dtype=np.float32, offset=20.0)
    ours = LinearRegression().fit(X, y)
    assert ours.coef_.dtype == np.float32
    assert ours.predict(X).dtype == np.float32
    ref = LinearRegression().fit(X.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(ours.coef_, ref.coef_, **tolerance(np.float32))
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-4, atol=1e-3)


def test_partial_fit_equals_fit_and_streams_memmap(rng, tmp_path):
    X, y = _data(rng, n=1000, k=2, offset=5.0)
    w = rng.uniform(0.1, 1.0, size=len(X))
    path = tmp_path / "X.dat"
    mm = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    mm = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    stream = LinearRegression()
    for start in range(0, len(X), 170):
        sl = slice(start, start + 170)
        stream.partial_fit(mm[sl], y[sl], sample_weight=w[sl])
    whole = LinearRegression().fit(X, y, sample_weight=w)
    np.testing.assert_allclose(stream.coef_, whole.coef_, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(stream.intercept_, whole.intercept_, rtol=1e-9)
    assert stream._stats.n == len(X)


def test_partial_fit_rank_deficient_warns_and_is_min_norm(rng):
    X0, y = _data(rng, d=3)
    X = np.hstack([X0, X0[:, :1]])
    model = LinearRegression()
    with pytest.warns(ConvergenceWarning, match="minimum-norm"):
        model.partial_fit(X, y)
    B, _ = weighted_least_squares(X, y)
    np.testing.assert_allclose(model.coef_, B, rtol=1e-6, atol=1e-8)


def test_partial_fit_checks_shapes(rng):
    X, y = _data(rng, k=2)
    model = LinearRegression().partial_fit(X, y)
    with pytest.raises(ValueError, match="targets"):
        model.partial_fit(X, y[:, 0])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :3], y)


def test_inputs_are_not_modified_or_copied(rng):
    X, y = _data(rng, k=2)
    X.setflags(write=False)
    y.setflags(write=False)
    w = rng.uniform(size=len(X))
    w.setflags(write=False)
    Xc, yc, wc = X.copy(), y.copy(), w.copy()
    for model in (LinearRegression(), Ridge(), SGDRegressor(max_iter=3, tol=None)):
        model.fit(X, y, sample_weight=w)
        model.predict(X)
    np.testing.assert_array_equal(X, Xc)
    np.testing.assert_array_equal(y, yc)
    np.testing.assert_array_equal(w, wc)


def test_constant_target_and_single_sample(rng):
    X, _ = _data(rng)
    y = np.full(len(X), 4.0)
    m = LinearRegression().fit(X, y)
    np.testing.assert_allclose(m.coef_, 0.0, atol=1e-12)
    assert m.intercept_ == pytest.approx(4.0)
    one = LinearRegression().fit(X[:1], y[:1])  # rank 0 after centring
    np.testing.assert_allclose(one.predict(X[:1]), y[:1])


# ------------------------------------------------------------------------ SGD

@pytest.mark.parametrize(
    "penalty,lr,alpha",
    [
        ("l2", "invscaling", 0.01),
        ("l1", "constant", 0.01),
        ("elasticnet", "invscaling", 0.01),
        ("l2", "optimal", 10.0),
        (None, "constant", 0.01),
    ],
)
def test_sgd_epoch_matches_naive_reference(rng, penalty, lr, alpha):
    X, y = _data(rng, n=60, d=4, k=2)
    X = 0.3 * (X - X.mean(0)) / X.std(0)
    w = rng.uniform(0.5, 1.5, size=len(X))
    params = dict(eta0=0.01, alpha=alpha, penalty=penalty, l1_ratio=0.3)
    model = SGDRegressor(
        learning_rate=lr, shuffle=False, max_iter=3, tol=None, **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y, sample_weight=w)
    orders = [np.arange(len(X))] * 3
    W, b, t = sgd_squared(X, y, orders, lr=lr, sw=w, **params)
    np.testing.assert_allclose(model.coef_, W.T, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-10, atol=1e-12)
    assert model.t_ == t


def test_sgd_shuffle_order_matches_reference_generator(rng):
    from fastdistill._kernels._random import seed_state, shuffle_inplace
    from fastdistill._validation import check_random_state

    X, y = _data(rng, n=50, d=3)
    model = SGDRegressor(max_iter=2, tol=None, random_state=7, learning_rate="constant")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    state = seed_state(check_random_state(7))
    order = np.arange(len(X))
    orders = []
    for _ in range(2):
        shuffle_inplace(order, state)
        orders.append(order.copy())
    assert sorted(orders[0]) == list(range(len(X)))
    W, b, _ = sgd_squared(X, y, orders, eta0=0.01, alpha=1e-4, penalty="l2",
                          l1_ratio=0.15, lr="constant")
    np.testing.assert_allclose(model.coef_, W[:, 0], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("penalty_code", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_sgd_pipelined_pass_equals_plain_pass(rng, penalty_code, dtype, weighted):
    # The two-thread pass gathers rows ahead into buffers (chunks of 64 rows,
    # copy blocks of 8, last chunk partial): same steps, same weights.
    from fastdistill._kernels import linear as K

    n, d, k = 1000, 5, 2
    X = rng.standard_normal((n, d)).astype(dtype)
    Y = (X @ rng.standard_normal((d, k)) + 0.1).astype(dtype)
    sw = rng.uniform(0.5, 1.5, n).astype(dtype) if weighted else np.empty(0, dtype)
    order = rng.permutation(n).astype(np.int64)
    results = []
    for pipelined in (False, True):
        W = np.zeros((k, d), dtype)
        b = np.zeros(k, dtype)
        q = np.zeros((k, d))
        u = np.zeros(k)
        args = (W, b, q, u, np.full(k, 0.01), np.ones(k, np.uint8), 1.0, 2, 0.01,
                0.25, 1e-3, 0.3, penalty_code, True, 1.0)
        if pipelined:
            out = K._sgd_pass_pipelined(X, Y, sw, order, *args, 64, 8)
        else:
            out = K._sgd_pass(X, Y, sw, order, *args)
        results.append((W, b, out))
    (W0, b0, out0), (W1, b1, out1) = results
    assert np.abs(W0).max() > 0.1  # it did learn
    np.testing.assert_array_equal(W1, W0)
    np.testing.assert_array_equal(b1, b0)
    assert out1[0] == out0[0] == n + 1.0
    np.testing.assert_allclose(out1[1], out0[1], rtol=1e-10)
    np.testing.assert_allclose(out1[2], out0[2], rtol=1e-10)


def test_sgd_same_weights_for_one_and_two_threads(rng):
    # Large enough for the pipelined pass (n >= 4 chunks) with two threads.
    import fastdistill

    X, y = _data(rng, n=70_000, d=8)
    with fastdistill.num_threads(1):
        one = SGDRegressor(max_iter=2, tol=None, random_state=0).fit(X, y)
    with fastdistill.num_threads(2):
        two = SGDRegressor(max_iter=2, tol=None, random_state=0).fit(X, y)
    np.testing.assert_array_equal(one.coef_, two.coef_)
    np.testing.assert_array_equal(one.intercept_, two.intercept_)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sgd_close_to_sklearn(seed):
    rng = np.random.default_rng(seed)
    X, y = _data(rng, n=2000, d=5)
    X = (X - X.mean(0)) / X.std(0)
    ours = SGDRegressor(random_state=seed).fit(X, y)
    ref = sk_linear.SGDRegressor(random_state=seed).fit(X, y)
    # Different shuffling streams, so only statistically equal: both land
    # within SGD's noise ball around the least-squares solution.
    ols = LinearRegression().fit(X, y)
    assert np.abs(ours.coef_ - ref.coef_).max() < 0.05
    assert np.abs(ours.coef_ - ols.coef_).max() < 0.05
    assert ours.score(X, y) == pytest.approx(ref.score(X, y), abs=2e-3)
    assert abs(ours.n_iter_ - ref.n_iter_) <= 4


def test_sgd_multi_output_equals_separate_fits(rng):
    X, Y = _data(rng, n=500, d=4, k=3)
    X = (X - X.mean(0)) / X.std(0)
    Y[:, 2] *= 10  # converges at another epoch than the others
    joint = SGDRegressor(random_state=3).fit(X, Y)
    assert joint.coef_.shape == (3, 4)
    for c in range(3):
        single = SGDRegressor(random_state=3).fit(X, Y[:, c])
        np.testing.assert_allclose(joint.coef_[c], single.coef_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(joint.intercept_[c], single.intercept_[0], rtol=1e-9)


def test_sgd_reproducible_and_seed_sensitive(rng):
    X, y = _data(rng, n=400)
    X = (X - X.mean(0)) / X.std(0)
    a = SGDRegressor(random_state=5).fit(X, y).coef_
    b = SGDRegressor(random_state=5).fit(X, y).coef_
    c = SGDRegressor(random_state=6).fit(X, y).coef_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_sgd_partial_fit_and_warm_start(rng):
    X, y = _data(rng, n=400)
    X = (X - X.mean(0)) / X.std(0)
    m = SGDRegressor(random_state=0, learning_rate="constant", shuffle=False)
    for _ in range(3):
        m.partial_fit(X, y)
    assert m.t_ == 1 + 3 * len(X)
    ref = SGDRegressor(random_state=0, learning_rate="constant", shuffle=False,
                       max_iter=3, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, y)
    np.testing.assert_allclose(m.coef_, ref.coef_, rtol=1e-12)
    warm = SGDRegressor(random_state=0, warm_start=True, max_iter=2, tol=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(X, y)
        first_coef, first_b = warm.coef_.copy(), warm.intercept_.copy()
        warm.fit(X, y)
        explicit = SGDRegressor(random_state=0, max_iter=2, tol=None).fit(
            X, y, coef_init=first_coef, intercept_init=first_b)
        cold = SGDRegressor(random_state=0, max_iter=2, tol=None).fit(X, y)
    np.testing.assert_allclose(warm.coef_, explicit.coef_, rtol=1e-12)
    assert not np.allclose(warm.coef_, cold.coef_, rtol=1e-6, atol=0)


def test_sgd_warns_when_max_iter_reached(rng):
    X, y = _data(rng, n=100)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        SGDRegressor(max_iter=1, random_state=0).fit(X, y)


def test_sgd_divergence_is_a_clear_error(rng):
    X, y = _data(rng, n=200)
    with pytest.raises(ValueError, match="overflow"):
        SGDRegressor(learning_rate="constant", eta0=10.0, max_iter=5, tol=None).fit(X * 1e100, y)


@pytest.mark.parametrize(
    "params,match",
    [
        ({"alpha": -1.0}, "alpha"),
        ({"l1_ratio": 2.0}, "l1_ratio"),
        ({"max_iter": 0}, "max_iter"),
        ({"learning_rate": "fast"}, "learning_rate"),
        ({"penalty": "l3"}, "penalty"),
        ({"loss": "huber"}, "loss"),
        ({"eta0": 0.0}, "eta0"),
        ({"learning_rate": "optimal", "alpha": 0.0}, "alpha"),
    ],
)
def test_sgd_bad_params(rng, params, match):
    X, y = _data(rng, n=20)
    with pytest.raises(ValueError, match=match):
        SGDRegressor(**params).fit(X, y)


def test_bad_params_closed_form(rng):
    X, y = _data(rng, n=20)
    with pytest.raises(ValueError, match="alpha"):
        Ridge(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="alpha has 2 entries"):
        Ridge(alpha=[1.0, 2.0]).fit(X, y)
    with pytest.raises(ValueError, match="solver"):
        Ridge(solver="lsqr").fit(X, y)
    with pytest.raises(ValueError, match="n_jobs"):
        LinearRegression(n_jobs=0).fit(X, y)
    with pytest.raises(TypeError, match="fit_intercept"):
        LinearRegression(fit_intercept="yes").fit(X, y)


def test_sgd_nan_in_later_call_leaves_model_unchanged(rng):
    X, y = _data(rng, n=100)
    X = (X - X.mean(0)) / X.std(0)
    model = SGDRegressor(random_state=0).partial_fit(X, y)
    coef, t = model.coef_.copy(), model.t_
    bad = X.copy()
    bad[37, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN at position \[37, 2\]"):
        model.partial_fit(bad, y)
    np.testing.assert_array_equal(model.coef_, coef)
    np.testing.assert_array_equal(model._W[0], coef)
    assert model.t_ == t
    bad[37, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        SGDRegressor(random_state=0).fit(bad, y)


def test_partial_fit_with_nan_chunk_changes_nothing(rng):
    X, y = _data(rng, n=200, k=2)
    model = LinearRegression().partial_fit(X[:100], y[:100])
    coef = model.coef_.copy()
    n_seen = model._stats.n
    bad = X[100:].copy()
    bad[5, 1] = np.inf
    with pytest.raises(ValueError, match=r"infinity at position \[5, 1\]"):
        model.partial_fit(bad, y[100:])
    np.testing.assert_array_equal(model.coef_, coef)
    assert model._stats.n == n_seen
    model.partial_fit(X[100:], y[100:])
    whole = LinearRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-9, atol=1e-11)
    with pytest.raises(ValueError, match="NaN"):
        LinearRegression().fit(np.where(X > 2, np.nan, X), y)


@pytest.mark.parametrize(
    "penalty,lr,alpha",
    [("l2", "invscaling", 1e-4), ("l2", "adaptive", 0.1), ("l1", "constant", 0.01),
     ("elasticnet", "invscaling", 0.01), (None, "constant", 1e-4)],
)
def test_sgd_equals_sklearn_without_shuffling(rng, penalty, lr, alpha):
    # Without shuffling both visit samples in order: same steps, same stopping.
    X, y = _data(rng, n=300, d=5)
    X = (X - X.mean(0)) / X.std(0)
    params = dict(penalty=penalty, learning_rate=lr, alpha=alpha, shuffle=False, eta0=0.01)
    ours = SGDRegressor(**params).fit(X, y)
    ref = sk_linear.SGDRegressor(**params).fit(X, y)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-8, atol=1e-10)
    assert ours.t_ == ref.t_


@pytest.mark.parametrize("make", [LinearRegression, lambda: Ridge(alpha=0.5),
                                  lambda: SGDRegressor(random_state=0, max_iter=20)])
def test_failed_fit_changes_nothing(rng, make):
    X, y = _data(rng, n=200, d=3)
    bad = rng.normal(size=(200, 5))
    bad[17, 4] = np.nan
    fresh = make()
    with pytest.raises(ValueError, match="NaN"):
        fresh.fit(bad, y)
    assert not hasattr(fresh, "n_features_in_")
    with pytest.raises(NotFittedError):
        fresh.predict(X)
    model = make().fit(X, y)
    before = model.predict(X)
    with pytest.raises(ValueError, match="NaN"):
        model.fit(bad, y)
    assert model.n_features_in_ == 3
    np.testing.assert_array_equal(model.predict(X), before)
    if hasattr(model, "partial_fit"):
        model.partial_fit(X, y)  # still accepts 3 features


def test_ridge_mixed_alpha_zero_target_is_min_norm_least_squares(rng):
    n = 300
    base = rng.normal(size=(n, 4))
    X = np.hstack([base, base[:, :1] + 1e-7 * rng.normal(size=(n, 1))])  # cond ~ 1e7
    Y = np.column_stack([base @ [1.0, 2.0, 3.0, 4.0], base @ [1.0, -1.0, 0.5, 0.0]])
    Y += 0.01 * rng.normal(size=Y.shape)
    ours = Ridge(alpha=[0.0, 1.0]).fit(X, Y)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    ref0 = np.linalg.lstsq(Xc, Yc[:, 0], rcond=np.sqrt(np.finfo(float).eps))[0]
    np.testing.assert_allclose(ours.coef_[0], ref0, rtol=1e-6, atol=1e-8)
    ref1 = sk_linear.Ridge(alpha=1.0).fit(X, Y[:, 1]).coef_
    np.testing.assert_allclose(ours.coef_[1], ref1, rtol=1e-8, atol=1e-10)
    assert "qr" in ours.solver_ and "cholesky" in ours.solver_


def test_ridge_alpha_zero_partial_fit_duplicated_columns_min_norm(rng):
    base = rng.normal(size=(400, 3))
    X = np.hstack([base, base])
    y = X @ np.ones(6)
    model = Ridge(alpha=0.0)
    with pytest.warns(ConvergenceWarning, match="minimum-norm"):
        model.partial_fit(X, y)
    np.testing.assert_allclose(model.coef_, np.ones(6), rtol=1e-6)


def test_cholesky_solver_warns_when_it_falls_back(rng):
    base = rng.normal(size=(100, 2))
    X = np.hstack([base, base[:, :1]])
    with pytest.warns(UserWarning, match="falls back"):
        model = Ridge(alpha=0.0, solver="cholesky").fit(X, base.sum(1))
    assert model.solver_ == "qr"


@pytest.mark.parametrize("ratio", [0.3, 3.0])
def test_singular_value_near_the_tol_cutoff(rng, ratio):
    # smallest singular value at ratio * tol * s_max: truncated below 1, kept above.
    n = 500
    U = np.linalg.qr(rng.normal(size=(n, 4)))[0]
    U -= U.mean(0)
    U = np.linalg.qr(U)[0]
    s = np.array([1.0, 0.5, 0.2, ratio * 1e-6])
    V = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    X = (U * s) @ V.T * 100 + 5.0
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.01 * rng.normal(size=n)
    ours = LinearRegression().fit(X, y)
    ref = sk_linear.LinearRegression().fit(X, y)
    assert ours.rank_ == ref.rank_ == (3 if ratio < 1 else 4)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6)


def test_wide_data_min_norm_like_sklearn(rng):
    X = rng.normal(size=(40, 100))
    y = rng.normal(size=40)
    ours = LinearRegression().fit(X, y)
    ref = sk_linear.LinearRegression().fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(ours.predict(X), y, atol=1e-8)


def test_fit_allocates_no_copy_of_X(rng):
    import tracemalloc

    X = rng.normal(size=(40_000, 50))
    y = X @ rng.normal(size=(50, 2))
    LinearRegression().fit(X[:100], y[:100])  # compile outside the trace
    SGDRegressor(max_iter=1, tol=None).fit(X[:100], y[:100])
    for model in (LinearRegression(), SGDRegressor(max_iter=1, tol=None)):
        tracemalloc.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # Block buffers (about 1 MB per thread) are expected; a copy of X is not.
        assert peak < 0.3 * X.nbytes, (type(model).__name__, peak, X.nbytes)
