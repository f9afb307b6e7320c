"""MLPs: gradients by finite differences, one step against scikit-learn, quality."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fastdistill
import fastdistill._threads
from fastdistill._kernels import mlp as K
from fastdistill._kernels._math import exp_neg
from fastdistill.exceptions import ConvergenceWarning, NotFittedError
from fastdistill.neural_network import MLPClassifier, MLPRegressor

sk_nn = pytest.importorskip("sklearn.neural_network")
sk_datasets = pytest.importorskip("sklearn.datasets")

ACTS = {"identity": 0, "logistic": 1, "tanh": 2, "relu": 3}


def _quiet():
    ctx = warnings.catch_warnings()
    ctx.__enter__()
    warnings.simplefilter("ignore", ConvergenceWarning)
    return ctx


@pytest.mark.parametrize("activation", list(ACTS))
@pytest.mark.parametrize("output,loss,n_out", [(0, 0, 2), (1, 1, 1), (2, 2, 3), (1, 1, 3)])
def test_gradient_matches_finite_differences(rng, activation, output, loss, n_out):
    sizes = np.array([4, 5, 3, n_out], dtype=np.int64)
    w_off, b_off, n_params = K.param_offsets(sizes)
    params = rng.normal(size=n_params) * 0.7
    X = rng.normal(size=(13, 4))
    if loss == 0:
        Y = rng.normal(size=(13, n_out))
    elif loss == 1:
        Y = (rng.uniform(size=(13, n_out)) > 0.5).astype(float)
    else:
        Y = rng.dirichlet(np.ones(n_out), size=13)  # soft targets
    hidden = ACTS[activation]
    if hidden == 3:
        X += 0.05  # keep pre-activations away from relu's kink
    grads = np.empty(n_params)
    K.loss_and_grad(X, Y, params, grads, sizes, w_off, b_off, hidden, output, loss, 0.3, 5, 1.0)
    h = 1e-6
    numeric = np.empty(n_params)
    scratch = np.empty(n_params)
    for q in range(n_params):
        p1 = params.copy()
        p1[q] += h
        p2 = params.copy()
        p2[q] -= h
        f1 = K.loss_and_grad(X, Y, p1, scratch, sizes, w_off, b_off, hidden, output, loss,
                             0.3, 5, 1.0)
        f2 = K.loss_and_grad(X, Y, p2, scratch, sizes, w_off, b_off, hidden, output, loss,
                             0.3, 5, 1.0)
        numeric[q] = (f1 - f2) / (2 * h)
    if loss == 0:
        # scikit-learn reports the squared loss averaged over outputs too, but
        # steps along the gradient of the per-sample sum (delta = p - y); we
        # follow both, so the step is n_out times the reported loss' gradient
        # (the L2 part excepted).
        l2 = np.zeros(n_params)
        for i in range(len(sizes) - 1):
            n_w = sizes[i] * sizes[i + 1]
            l2[w_off[i]:w_off[i] + n_w] = 0.3 * params[w_off[i]:w_off[i] + n_w] / 13
        numeric = (numeric - l2) * n_out + l2
    np.testing.assert_allclose(grads, numeric, rtol=1e-5, atol=1e-7)


def _distill_problem(rng, n=13, k=3):
    """Soft targets, weighted one-hot hard targets (some rows unlabeled) and a network."""
    sizes = np.array([4, 5, k], dtype=np.int64)
    w_off, b_off, n_params = K.param_offsets(sizes)
    params = rng.normal(size=n_params) * 0.7
    X = rng.normal(size=(n, 4))
    P = rng.dirichlet(np.ones(k), size=n)
    H = np.zeros((n, k))
    labeled = np.arange(n) % 3 == 0
    H[labeled, rng.integers(0, k, labeled.sum())] = 0.3  # alpha = 0.3 on labeled rows
    return sizes, w_off, b_off, params, X, P, H


def _softmax_rows(Z):
    E = np.exp(Z - Z.max(1, keepdims=True))
    return E / E.sum(1, keepdims=True)


@pytest.mark.parametrize("T", [0.5, 1.0, 3.0])
def test_distillation_loss_matches_hinton_and_finite_differences(rng, T):
    sizes, w_off, b_off, params, X, P, H = _distill_problem(rng)
    h = H.sum(1)
    Y = np.hstack([P * (1 - h)[:, None], H])
    grads = np.empty_like(params)
    val = K.loss_and_grad(X, Y, params, grads, sizes, w_off, b_off, 2, 2, 3, 0.3, 5, T)
    # NumPy reference: u = the network's outputs; Hinton's loss on z = T u, over T^2.
    U = K.forward(X, params, sizes, w_off, b_off, 2, -1, 64)
    soft = -(P * np.log(_softmax_rows(U))).sum(1)
    hard = -(H * np.log(_softmax_rows(T * U))).sum(1)  # alpha * CE(y, softmax(z))
    hinton = (1 - h) * T**2 * soft + hard
    W = np.concatenate([params[w_off[i]:b_off[i]] for i in range(len(w_off))])
    assert val == pytest.approx(hinton.mean() / T**2 + 0.5 * 0.3 * (W @ W) / 13, rel=1e-10)
    numeric = np.empty_like(params)
    scratch = np.empty_like(params)
    for q in range(params.size):
        p1, p2 = params.copy(), params.copy()
        p1[q] += 1e-6
        p2[q] -= 1e-6
        f1 = K.loss_and_grad(X, Y, p1, scratch, sizes, w_off, b_off, 2, 2, 3, 0.3, 5, T)
        f2 = K.loss_and_grad(X, Y, p2, scratch, sizes, w_off, b_off, 2, 2, 3, 0.3, 5, T)
        numeric[q] = (f1 - f2) / 2e-6
    np.testing.assert_allclose(grads, numeric, rtol=1e-5, atol=1e-7)


def test_distillation_loss_at_temperature_one_is_cross_entropy_on_mixed_targets(rng):
    # At T = 1 both terms use the same softmax: the loss is the cross-entropy
    # against (1 - h) P + H, the multiclass log-loss's (code 2).
    sizes, w_off, b_off, params, X, P, H = _distill_problem(rng)
    h = H.sum(1)
    g3, g2 = np.empty_like(params), np.empty_like(params)
    v3 = K.loss_and_grad(X, np.hstack([P * (1 - h)[:, None], H]), params, g3, sizes, w_off,
                         b_off, 2, 2, 3, 0.3, 5, 1.0)
    v2 = K.loss_and_grad(X, P * (1 - h)[:, None] + H, params, g2, sizes, w_off, b_off, 2, 2,
                         2, 0.3, 5, 1.0)
    assert v3 == pytest.approx(v2, rel=1e-12)
    np.testing.assert_allclose(g3, g2, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mlp_hard_targets_solvers_and_dtypes(rng, solver, dtype):
    # Every solver and dtype trains on Hinton's loss: at T = 1 it is the
    # log-loss on the mixed target (1 - h) P + H, so both fits agree.
    X = rng.normal(size=(120, 3)).astype(dtype)
    P = _softmax_rows(rng.normal(size=(120, 3))).astype(dtype)
    H = np.zeros_like(P)
    H[::4, 1] = 0.4
    kw = dict(hidden_layer_sizes=(5,), solver=solver, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPClassifier(**kw).fit(X, P, soft_targets=True, hard_targets=H, temperature=1.0)
        mixed = P * (1 - H.sum(1))[:, None] + H
        b = MLPClassifier(**kw).fit(X, mixed, soft_targets=True)
        c = MLPClassifier(**kw).fit(X, P, soft_targets=True, hard_targets=H, temperature=4.0)
    assert a.predict_proba(X).dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=tol, atol=tol)
    # At T = 4 the labels weigh 1/T^2 as much relative to the soft term: another fit.
    assert np.abs(c.predict_proba(X) - a.predict_proba(X)).max() > 1e-4
    assert np.all(np.isfinite(c.predict_proba(X)))


@pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")
def test_mlp_classifier_hard_targets_fit(rng):
    X = rng.normal(size=(300, 2))
    P = _softmax_rows(X @ np.array([[2.0, -1.0, 0.0], [0.0, 1.5, -2.0]]) / 2.0)
    zero = np.zeros_like(P)
    a = MLPClassifier((), max_iter=30, random_state=0).fit(X, P, soft_targets=True)
    b = MLPClassifier((), max_iter=30, random_state=0).fit(X, P, soft_targets=True,
                                                           hard_targets=zero, temperature=2.0)
    # No hard labels: the distillation loss is the soft-target cross-entropy.
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-9)
    H = zero.copy()
    H[:100, 0] = 0.5
    c = MLPClassifier((), max_iter=30, random_state=0).fit(X, P, soft_targets=True,
                                                           hard_targets=H, temperature=2.0)
    # Labels of class 0 on a third of the rows pull the student towards class 0.
    assert c.predict_proba(X)[:, 0].mean() > a.predict_proba(X)[:, 0].mean() + 0.01
    assert c.n_outputs_ == 3 and c.predict_proba(X).shape == (300, 3)
    for bad, match in [(H[:, :2], "shape"), (-H, "non-negative"), (H * 3, "at most 1")]:
        with pytest.raises(ValueError, match=match):
            MLPClassifier((), max_iter=2).fit(X, P, soft_targets=True, hard_targets=bad)
    with pytest.raises(ValueError, match="temperature"):
        MLPClassifier((), max_iter=2).fit(X, P, soft_targets=True, hard_targets=H,
                                          temperature=0.0)
    with pytest.raises(ValueError, match="soft_targets=True"):
        MLPClassifier((), max_iter=2).fit(X, P.argmax(1), hard_targets=H)


def test_exp_of_nonpositive_matches_numpy(rng):
    # The vectorisable exp used by softmax and logistic: within 2 ulp of
    # NumPy's on the whole range, subnormals and specials included.
    x = -np.concatenate([rng.uniform(0, 1, 20000), rng.uniform(0, 50, 20000),
                         rng.uniform(0, 746, 20000), [0.0, 1e-300, 708.4, 744.4, 745.1, 746.0,
                                                      1e10, np.inf]])
    got = np.array([exp_neg(v) for v in x])
    want = np.exp(x)
    normal = want >= np.finfo(np.float64).tiny
    np.testing.assert_allclose(got[normal], want[normal], rtol=4.5e-16, atol=0)
    np.testing.assert_allclose(got[~normal], want[~normal], rtol=0, atol=1e-323)
    assert np.isnan(exp_neg(np.nan))


def _copy_weights(src_coefs, src_ints, dst):
    for a, b in zip(dst.coefs_, src_coefs, strict=True):
        a[:] = b
    for a, b in zip(dst.intercepts_, src_ints, strict=True):
        a[:] = b


@pytest.mark.parametrize("solver,extra", [("adam", {}), ("sgd", {"nesterovs_momentum": True}),
                                          ("sgd", {"nesterovs_momentum": False})])
@pytest.mark.parametrize("kind", ["regression", "multioutput", "binary", "multiclass",
                                  "multilabel"])
def test_one_step_matches_sklearn(rng, solver, extra, kind):
    X = rng.normal(size=(40, 3))
    if kind in ("regression", "multioutput"):
        y = X @ [1.0, -1.0, 0.5]
        if kind == "multioutput":
            y = np.column_stack([y, np.tanh(X[:, 0]), X[:, 1] * X[:, 2]])
        ours = MLPRegressor(hidden_layer_sizes=(5, 4), activation="tanh", solver=solver,
                            batch_size=40, shuffle=False, max_iter=1, alpha=0.01, **extra)
        ref = sk_nn.MLPRegressor(hidden_layer_sizes=(5, 4), activation="tanh", solver=solver,
                                 batch_size=40, shuffle=False, max_iter=1, alpha=0.01, **extra)
    else:
        if kind == "multilabel":
            y = (X > 0).astype(int)
        else:
            y = (X[:, 0] > 0).astype(int) if kind == "binary" else np.argmax(X, axis=1)
        ours = MLPClassifier((5, 4), activation="tanh", solver=solver, batch_size=40,
                             shuffle=False, max_iter=1, alpha=0.01, **extra)
        ref = sk_nn.MLPClassifier((5, 4), activation="tanh", solver=solver, batch_size=40,
                                  shuffle=False, max_iter=1, alpha=0.01, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X, y)
        init_c = [rng.normal(size=c.shape) * 0.5 for c in ref.coefs_]
        init_b = [rng.normal(size=b.shape) * 0.5 for b in ref.intercepts_]
        ours.fit(X, y)
        for est in (ours, ref):
            _copy_weights(init_c, init_b, est)
            est.set_params(warm_start=True, max_iter=2)
            est.fit(X, y)
    for a, b in zip(ours.coefs_, ref.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(ours.intercepts_, ref.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-10)


@pytest.mark.parametrize("chunks", [2, 3])
def test_one_step_matches_sklearn_with_row_chunks(rng, monkeypatch, chunks):
    # The minibatch split into row chunks (summed gradients, merged in the
    # step) is the same step as scikit-learn's.
    monkeypatch.setattr(K, "train_chunks", lambda sizes, rows: chunks)
    X = rng.normal(size=(50, 3))
    y = np.argmax(X, axis=1)
    kw = dict(activation="relu", batch_size=50, shuffle=False, alpha=0.01)
    ours = MLPClassifier((6, 5), max_iter=1, **kw)
    ref = sk_nn.MLPClassifier((6, 5), max_iter=1, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref.fit(X, y)
        ours.fit(X, y)
        init_c = [rng.normal(size=c.shape) * 0.5 for c in ref.coefs_]
        init_b = [rng.normal(size=b.shape) * 0.5 for b in ref.intercepts_]
        for est in (ours, ref):
            _copy_weights(init_c, init_b, est)
            est.set_params(warm_start=True, max_iter=2)
            est.fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_,
                    strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-10)


@pytest.mark.skipif(fastdistill._threads.max_threads() < 2, reason="needs two threads")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_training_bit_identical_for_any_thread_count(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 20)).astype(dtype)
    y = (np.sin(X[:, 0]) + X[:, 1] ** 2).astype(dtype)
    sizes = np.array([20, 64, 1], dtype=np.int64)
    assert K.train_chunks(sizes, 200) == 2  # the minibatches are split
    fits = []
    for n in (1, 2):
        with fastdistill.num_threads(n), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fits.append(MLPRegressor(hidden_layer_sizes=(64,), max_iter=3,
                                     random_state=0).fit(X, y))
    one, two = fits
    for a, b in zip(one.coefs_ + one.intercepts_, two.coefs_ + two.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert one.loss_curve_ == two.loss_curve_


def test_row_chunks_change_only_rounding(rng):
    # Same epoch with 1, 2 and 4 chunks per minibatch: the gradients are
    # summed in another order, nothing else.
    X = rng.normal(size=(300, 5))
    Y = rng.normal(size=(300, 2))
    sizes = np.array([5, 7, 6, 2], dtype=np.int64)
    w_off, b_off, n_params = K.param_offsets(sizes)
    p0 = rng.normal(size=n_params) * 0.5
    out = []
    for chunks in (1, 2, 4):
        p = p0.copy()
        s1, s2 = np.zeros(n_params), np.zeros(n_params)
        total, t = K.train_epoch(X, Y, np.arange(300), np.array([5], dtype=np.uint64), True, p,
                                 s1, s2, sizes, w_off, b_off, 2, 0, 0, 1e-3, 128, 1, 1e-2, 0.9,
                                 0.999, 1e-8, 0.9, True, 0, chunks, 1, 1.0)
        assert t == 3
        out.append((p, s1, s2, total))
    for p, s1, s2, total in out[1:]:
        np.testing.assert_allclose(p, out[0][0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(s1, out[0][1], rtol=1e-10, atol=1e-16)
        np.testing.assert_allclose(s2, out[0][2], rtol=1e-10, atol=1e-20)
        assert total == pytest.approx(out[0][3], rel=1e-13)


def _friedman(n, seed):
    """Standardised Friedman #1 data: train and test splits."""
    X, y = sk_datasets.make_friedman1(n + 500, noise=0.3, random_state=seed)
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    return X[:n], y[:n], X[n:], y[n:]


def test_regression_quality_close_to_sklearn():
    # Different random streams give different local optima seed by seed; over
    # several seeds the two implementations score the same.
    scores = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in (0, 1, 2):
            X, y, Xt, yt = _friedman(1500, seed)
            ours = MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=seed)
            ref = sk_nn.MLPRegressor(hidden_layer_sizes=(32,), max_iter=300, random_state=seed)
            scores.append((ours.fit(X, y).score(Xt, yt), ref.fit(X, y).score(Xt, yt)))
    ours_mean, ref_mean = np.mean(scores, axis=0)
    assert ours_mean == pytest.approx(ref_mean, abs=0.01)
    assert ours_mean > 0.95


def test_digits_accuracy_close_to_sklearn():
    D = sk_datasets.load_digits()
    X, y = D.data / 16.0, D.target
    accs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in (0, 1, 2):
            ours = MLPClassifier((64,), max_iter=60, random_state=seed).fit(X[:1300], y[:1300])
            ref = sk_nn.MLPClassifier((64,), max_iter=60, random_state=seed).fit(X[:1300], y[:1300])
            accs.append((ours.score(X[1300:], y[1300:]), ref.score(X[1300:], y[1300:])))
    ours_mean, ref_mean = np.mean(accs, axis=0)
    assert ours_mean == pytest.approx(ref_mean, abs=0.01)
    assert ours_mean > 0.9


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_every_solver_learns(solver):
    X, y, _, _ = _friedman(800, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPRegressor(hidden_layer_sizes=(16,), solver=solver, max_iter=300,
                             learning_rate_init=0.01 if solver == "sgd" else 0.001,
                             random_state=0).fit(X, y)
    assert model.score(X, y) > 0.9
    assert model.n_iter_ >= 1


@pytest.mark.parametrize("lr", ["invscaling", "adaptive"])
def test_sgd_schedules(lr):
    X, y = sk_datasets.make_friedman1(500, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate=lr,
                         learning_rate_init=0.01, max_iter=50, random_state=0).fit(X, y)
    assert np.all(np.isfinite(m.loss_curve_)) and m.loss_curve_[-1] < m.loss_curve_[0]


def test_classifier_kinds_and_proba():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        binary = MLPClassifier((8,), max_iter=300, random_state=0).fit(X, X[:, 0] > 0)
        multi = MLPClassifier((8,), max_iter=300, random_state=0).fit(X, np.argmax(X, 1))
        Yml = (X[:, :3] > 0).astype(int)
        ml = MLPClassifier((8,), max_iter=300, random_state=0).fit(X, Yml)
    assert binary.out_activation_ == "logistic" and multi.out_activation_ == "softmax"
    P = multi.predict_proba(X)
    np.testing.assert_allclose(P.sum(1), 1.0)
    L = multi.predict_logits(X)
    soft = np.exp(L - L.max(1, keepdims=True))
    np.testing.assert_allclose(soft / soft.sum(1, keepdims=True), P, rtol=1e-10)
    np.testing.assert_allclose(np.exp(multi.predict_log_proba(X)), P, rtol=1e-10)
    assert binary.predict_proba(X).shape == (300, 2)
    assert set(binary.predict(X).tolist()) <= {False, True}
    assert ml.predict(X).shape == (300, 3) and ml.score(X, Yml) > 0.8


def test_soft_targets_match_teacher():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        teacher = MLPClassifier((32,), max_iter=400, random_state=0).fit(X, np.argmax(X, 1))
        P = teacher.predict_proba(X)
        student = MLPClassifier((16,), max_iter=400, random_state=1).fit(
            X, P, soft_targets=True, classes=teacher.classes_)
    agree = (student.predict(X) == teacher.predict(X)).mean()
    assert agree > 0.95
    kl = np.sum(P * (np.log(P + 1e-12) - np.log(student.predict_proba(X) + 1e-12)), 1).mean()
    assert kl < 0.05
    with pytest.raises(ValueError, match="summing to 1"):
        MLPClassifier().fit(X, P * 2, soft_targets=True)


@pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("codes", [[3, 7, 100], [0, 1, 2], [-1, 1, 5], [0, 5, 10**9]])
def test_integer_labels_any_range_encode_as_the_generic_path(codes):
    """Small non-negative codes take a counting path, others a search: same result."""
    from fastdistill.neural_network._mlp import _label_index, _small_int_labels

    rng = np.random.default_rng(0)
    y = np.asarray(codes)[rng.integers(0, 3, 300)]
    X = rng.normal(size=(300, 2))
    clf = MLPClassifier((3,), max_iter=5, random_state=0).fit(X, y)
    assert clf.classes_.tolist() == sorted(codes) and clf.classes_.dtype == y.dtype
    assert set(clf.predict(X).tolist()) <= set(codes)
    fast = _small_int_labels(y)
    assert fast is None or fast.tolist() == np.unique(y).tolist()
    idx, unknown = _label_index(clf.classes_, np.append(y, [42]))
    assert idx[:-1].tolist() == np.searchsorted(clf.classes_, y).tolist()
    assert unknown.tolist() == [False] * 300 + [True]
    with pytest.raises(ValueError, match=r"labels \[42\]"):
        clf.partial_fit(X[:2], [codes[0], 42])


def test_partial_fit_classes_and_unknown_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = np.where(X[:, 0] > 0, "a", "b")
    clf = MLPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=["a", "b", "c"])
    assert clf.classes_.tolist() == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"labels \['z'\]"):
        clf.partial_fit(X[:3], ["a", "z", "b"])
    t = clf.t_
    clf.partial_fit(X, y)
    assert clf.t_ == t + 100 and clf.n_iter_ == 1  # per call, as scikit-learn 1.9
    unsorted = MLPClassifier((4,), random_state=0).partial_fit(X, y, classes=["c", "b", "a"])
    assert unsorted.classes_.tolist() == ["a", "b", "c"]
    reg = MLPRegressor(hidden_layer_sizes=(4,), random_state=0)
    reg.partial_fit(X, X[:, 0])
    reg.partial_fit(X, X[:, 0])
    assert reg.t_ == 200 and len(reg.loss_curve_) == 2
    with pytest.raises(ValueError, match="early_stopping"):
        MLPRegressor(early_stopping=True).partial_fit(X, X[:, 0])


def test_early_stopping_and_warm_start():
    X, y = sk_datasets.make_friedman1(1000, noise=1.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = MLPRegressor(hidden_layer_sizes=(16,), early_stopping=True, max_iter=200,
                         n_iter_no_change=5, random_state=0).fit(X, y)
    assert len(m.validation_scores_) == m.n_iter_
    assert m.best_validation_score_ == max(m.validation_scores_)
    assert m.best_loss_ is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        w = MLPRegressor(hidden_layer_sizes=(16,), max_iter=20, warm_start=True,
                         random_state=0).fit(X, y)
        first = w.loss_
        w.fit(X, y)
    assert len(w.loss_curve_) == 40 and w.loss_ < first and w.n_iter_ == 20


def test_float32_trains_in_float32():
    X, y = sk_datasets.make_friedman1(500, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m32 = MLPRegressor(hidden_layer_sizes=(8,), max_iter=50, random_state=0).fit(
            X.astype(np.float32), y.astype(np.float32))
        m64 = MLPRegressor(hidden_layer_sizes=(8,), max_iter=50, random_state=0).fit(X, y)
    assert m32.coefs_[0].dtype == np.float32
    assert m32.predict(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(m32.predict(X), m64.predict(X), rtol=1e-2, atol=1e-2)


def test_reproducible():
    X, y = sk_datasets.make_friedman1(300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=3).fit(X, y)
        b = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.coefs_[0], b.coefs_[0])


def test_divergence_keeps_finite_weights():
    X, y = sk_datasets.make_friedman1(300, random_state=0)
    m = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=10.0,
                     momentum=0.0, max_iter=50, random_state=0)
    with pytest.warns(ConvergenceWarning, match="NaN or infinite"):
        m.fit(X * 1e150, y * 1e150)
    assert all(np.all(np.isfinite(c)) for c in m.coefs_)
    assert np.all(np.isfinite(m.predict(X)))


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_divergence_keeps_the_weights_from_before_the_epoch(solver):
    # Warm start from fitted weights, then an epoch whose loss overflows: the
    # weights the epoch started from are kept, exactly, and n_iter_ (counted
    # per call, as scikit-learn >= 1.9) does not count the failed epoch.
    X, y = sk_datasets.make_friedman1(300, random_state=0)
    m = MLPRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m.fit(X, y)
    before_c = [c.copy() for c in m.coefs_]
    before_b = [b.copy() for b in m.intercepts_]
    m.set_params(warm_start=True, max_iter=5)
    with pytest.warns(ConvergenceWarning, match="weights from before that epoch"):
        m.fit(X * 1e200, y * 1e200)  # squared errors overflow in the first batch
    for a, b in zip(m.coefs_ + m.intercepts_, before_c + before_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert m.n_iter_ == 0


def test_lbfgs_divergence_warns_and_keeps_finite_weights():
    X, y = sk_datasets.make_friedman1(300, random_state=0)
    # Squared errors overflow from the first evaluation: no finite loss exists.
    m = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=50, random_state=0)
    with pytest.warns(ConvergenceWarning, match="lowest finite loss"):
        m.fit(X * 1e150, y * 1e200)
    assert all(np.all(np.isfinite(c)) for c in m.coefs_ + m.intercepts_)
    assert np.isnan(m.loss_)  # honest: no finite loss was reached
    # A fit that stays finite is unaffected: no warning about divergence.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ok = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=2000,
                          random_state=0).fit(X, y)
    assert np.isfinite(ok.loss_) and ok.score(X, y) > 0.9


@pytest.mark.parametrize(
    "params,exc,match",
    [
        ({"hidden_layer_sizes": (0,)}, ValueError, "positive integers"),
        ({"hidden_layer_sizes": (5, -1)}, ValueError, "positive integers"),
        ({"activation": "swish"}, ValueError, "activation"),
        ({"solver": "newton"}, ValueError, "solver"),
        ({"learning_rate_init": 0.0}, ValueError, "learning_rate_init"),
        ({"validation_fraction": 1.0, "early_stopping": True}, ValueError, "validation_fraction"),
        ({"validation_fraction": 0.001, "early_stopping": True}, ValueError,
         "validation set is too small"),
        ({"shuffle": "yes"}, TypeError, "shuffle"),
    ],
)
def test_bad_params(params, exc, match):
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(exc, match=match):
        MLPRegressor(**params).fit(X, X[:, 0])


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="NaN"):
        MLPRegressor().fit(np.where(X > 1, np.nan, X), X[:, 0])
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X)
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, X[:, 0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("call", ["fit", "warm_start", "partial_fit", "classifier"])
def test_large_input_checked_by_first_epoch(monkeypatch, dtype, bad, call):
    # Large inputs are not scanned before training: the first epoch finds the
    # NaN/inf. The error must be the same as the upfront check's, and a
    # fitted estimator must come out of it exactly as it was.
    import fastdistill.neural_network._mlp as mlp_module

    monkeypatch.setattr(mlp_module, "_DEFER_FINITE", 1000)  # defer from 1,000 values
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4)).astype(dtype)
    y = X[:, 0] - X[:, 1]
    kind = "NaN" if np.isnan(bad) else "infinity"
    if call == "classifier":
        y = (y > 0).astype(int)
        est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
    else:
        est = MLPRegressor(hidden_layer_sizes=(5,), max_iter=2, random_state=0,
                           warm_start=call == "warm_start")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    before = {k: (v.copy() if isinstance(v, np.ndarray | list) else v)
              for k, v in vars(est).items()}
    pred = est.predict(X)
    held = est.coefs_[0]  # a view of the weights: must keep following the model
    Xbad = X.copy()
    Xbad[457, 2] = bad
    with pytest.raises(ValueError, match=rf"{kind} at position \[457, 2\]"):
        if call == "partial_fit":
            est.partial_fit(Xbad, y)
        else:
            est.fit(Xbad, y)
    np.testing.assert_array_equal(est.predict(X), pred)
    assert np.shares_memory(held, est._params)
    for k, v in before.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(getattr(est, k), v, err_msg=k)
        elif k not in ("_rng",):
            assert getattr(est, k) == v, k
    if call in ("warm_start", "partial_fit"):  # the same weight array trains on
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.partial_fit(X, y) if call == "partial_fit" else est.fit(X, y)
        np.testing.assert_array_equal(held, est.coefs_[0])
        assert not np.array_equal(held, before["_params"][:held.size].reshape(held.shape))
    # A finite large input trains as before (the deferred check adds 0).
    monkeypatch.setattr(mlp_module, "_DEFER_FINITE", 1 << 40)
    ref = MLPRegressor(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
    monkeypatch.setattr(mlp_module, "_DEFER_FINITE", 1000)
    ours = MLPRegressor(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref.fit(X, X[:, 0])
        ours.fit(X, X[:, 0])
    for a, b in zip(ours.coefs_, ref.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", ["RandomState", "Generator"])
def test_failed_deferred_check_leaves_the_users_generator(monkeypatch, kind):
    # An upfront NaN check raises before any draw; the deferred one must
    # leave the caller's generator where it was too.
    import fastdistill.neural_network._mlp as mlp_module

    monkeypatch.setattr(mlp_module, "_DEFER_FINITE", 1000)
    X = np.random.default_rng(0).normal(size=(600, 4))
    X[300, 1] = np.nan
    gen = np.random.RandomState(3) if kind == "RandomState" else np.random.default_rng(3)
    expected = gen.random(5)
    gen = np.random.RandomState(3) if kind == "RandomState" else np.random.default_rng(3)
    with pytest.raises(ValueError, match="NaN at position"):
        MLPRegressor(hidden_layer_sizes=(3,), max_iter=1, random_state=gen).fit(X, X[:, 0])
    np.testing.assert_array_equal(gen.random(5), expected)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_divergence_restores_optimizer_state(rng, solver):
    # A diverged epoch is undone whole: weights, velocities or moments and the
    # step count; training on good data afterwards makes progress again.
    X = rng.normal(size=(400, 5))
    y = X[:, 0]
    m = MLPRegressor(hidden_layer_sizes=(8,), activation="identity", solver=solver,
                     learning_rate_init=0.01, random_state=0).partial_fit(X, y)
    state = (m._params.copy(), m._state1.copy(), m._state2.copy(), m._adam_t)
    with pytest.warns(ConvergenceWarning, match="NaN or infinite"):
        m.partial_fit(X * 1e150, y * 1e150)
    np.testing.assert_array_equal(m._params, state[0])
    np.testing.assert_array_equal(m._state1, state[1])
    np.testing.assert_array_equal(m._state2, state[2])
    assert m._adam_t == state[3]
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        for _ in range(20):
            m.partial_fit(X, y)
    assert m.n_iter_ == 1
    assert m.score(X, y) > 0.9


def _set_same_weights(rng, ours, ref):
    """Give both networks the same random weights (shapes from ``ref``)."""
    init_c = [rng.normal(size=c.shape) * 0.5 for c in ref.coefs_]
    init_b = [rng.normal(size=b.shape) * 0.5 for b in ref.intercepts_]
    for est in (ours, ref):
        _copy_weights(init_c, init_b, est)


def _train_from_same_weights(rng, ours, ref, X, y, max_iter):
    """Fit both once (for shapes), give them the same weights, then train on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(X, y)
        ref.fit(X, y)
        _set_same_weights(rng, ours, ref)
        for est in (ours, ref):
            est.set_params(warm_start=True, max_iter=max_iter)
            est.fit(X, y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_lbfgs_classifier_follows_sklearn_from_same_weights(rng, n_classes):
    # Same loss, same gradient, same SciPy L-BFGS-B: from the same weights
    # 20 iterations land on the same point.
    X, y = sk_datasets.make_classification(200, n_features=5, n_informative=3,
                                           n_classes=n_classes, n_clusters_per_class=1,
                                           random_state=0)
    ours = MLPClassifier((6,), solver="lbfgs", alpha=0.01, max_iter=1)
    ref = sk_nn.MLPClassifier((6,), solver="lbfgs", alpha=0.01, max_iter=1)
    _train_from_same_weights(rng, ours, ref, X, y, max_iter=20)
    assert ours.n_iter_ == ref.n_iter_ == 20
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    assert ours.loss_ == pytest.approx(ref.loss_, rel=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-8,
                               atol=1e-10)


def test_lbfgs_classifier_accuracy_close_to_sklearn():
    X, y = sk_datasets.make_classification(1600, n_features=6, n_informative=4, n_classes=3,
                                           n_clusters_per_class=1, flip_y=0.02,
                                           random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    accs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in (0, 1, 2):
            kw = dict(solver="lbfgs", alpha=0.01, max_iter=200, random_state=seed)
            ours = MLPClassifier((10,), **kw).fit(X[:600], y[:600])
            ref = sk_nn.MLPClassifier((10,), **kw).fit(X[:600], y[:600])
            assert ours.loss_curve_ is None and ours.n_iter_ >= 1
            accs.append((ours.score(X[600:], y[600:]), ref.score(X[600:], y[600:])))
    ours_mean, ref_mean = np.mean(accs, axis=0)
    assert ours_mean == pytest.approx(ref_mean, abs=0.015)
    assert ours_mean > 0.9


def test_lbfgs_float32_weights_stay_float32():
    # L-BFGS-B works in float64 (documented): the float32 fit optimises a
    # float64 copy and rounds the weights back to float32.
    X, y = sk_datasets.make_friedman1(300, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    X32_before = X32.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=200,
                         random_state=0).fit(X32, y32)
    np.testing.assert_array_equal(X32, X32_before)
    assert all(c.dtype == np.float32 for c in m.coefs_ + m.intercepts_)
    assert m.predict(X32).dtype == np.float32
    assert m.score(X32, y32) > 0.9


def _spy_split(monkeypatch, cls):
    """Record the validation rows that early stopping holds out."""
    seen = {}
    original = cls._split

    def spy(self, Y, rng):
        train, val = original(self, Y, rng)
        seen["train"], seen["val"] = train, val
        return train, val

    monkeypatch.setattr(cls, "_split", spy)
    return seen


def test_early_stopping_restores_best_validation_weights(monkeypatch):
    seen = _spy_split(monkeypatch, MLPRegressor)
    X, y = sk_datasets.make_friedman1(600, noise=1.0, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # tol=0: every improvement resets the count, so the best epoch lies
        # n_iter_no_change + 1 epochs before the last one.
        m = MLPRegressor(hidden_layer_sizes=(32,), early_stopping=True, tol=0.0,
                         n_iter_no_change=5, learning_rate_init=0.01, max_iter=300,
                         random_state=0).fit(X, y)
    val = seen["val"]
    assert val.size == 60 and np.intersect1d(val, seen["train"]).size == 0
    assert m.n_iter_ < 300 and len(m.validation_scores_) == m.n_iter_
    best = int(np.argmax(m.validation_scores_))
    assert best <= m.n_iter_ - 7
    assert m.validation_scores_[-1] < m.best_validation_score_  # the last weights differ
    # The weights kept are the best epoch's: they score exactly that on the
    # held-out rows.
    assert m.score(X[val], y[val]) == pytest.approx(m.best_validation_score_, rel=1e-12)


def test_classifier_early_stopping(monkeypatch):
    seen = _spy_split(monkeypatch, MLPClassifier)
    X, y = sk_datasets.make_classification(800, n_features=8, n_informative=5, n_classes=3,
                                           flip_y=0.1, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = MLPClassifier((32,), early_stopping=True, validation_fraction=0.2,
                          n_iter_no_change=5, learning_rate_init=0.01, max_iter=300,
                          random_state=0).fit(X[:600], y[:600])
        ref = sk_nn.MLPClassifier((32,), early_stopping=True, validation_fraction=0.2,
                                  n_iter_no_change=5, learning_rate_init=0.01, max_iter=300,
                                  random_state=0).fit(X[:600], y[:600])
    val = seen["val"]
    assert val.size == 120
    assert m.n_iter_ < 300 and len(m.validation_scores_) == m.n_iter_
    assert m.best_loss_ is None
    # Accuracies are multiples of 1/120 > tol: the best epoch is followed by
    # n_iter_no_change + 1 epochs without improvement.
    assert m.best_validation_score_ == max(m.validation_scores_)
    assert int(np.argmax(m.validation_scores_)) <= m.n_iter_ - 7
    assert m.score(X[val], y[val]) == m.best_validation_score_
    # Test accuracy as scikit-learn's: one early-stopped run varies by +-0.08
    # with the seed (which rows are held out), so compare means over seeds.
    ours, theirs = [m.score(X[600:], y[600:])], [ref.score(X[600:], y[600:])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in (1, 2, 3, 4):
            kw = dict(early_stopping=True, validation_fraction=0.2, n_iter_no_change=5,
                      learning_rate_init=0.01, max_iter=300, random_state=seed)
            ours.append(MLPClassifier((32,), **kw).fit(X[:600], y[:600]).score(X[600:], y[600:]))
            theirs.append(sk_nn.MLPClassifier((32,), **kw).fit(X[:600], y[:600])
                          .score(X[600:], y[600:]))
    assert np.mean(ours) == pytest.approx(np.mean(theirs), abs=0.04)


@pytest.mark.parametrize("schedule,extra", [
    ("invscaling", {"power_t": 0.3}),
    # tol=1e3: no epoch counts as an improvement, so the step is divided by
    # 5 after every n_iter_no_change + 1 = 3 epochs.
    ("adaptive", {"tol": 1e3, "n_iter_no_change": 2}),
])
def test_sgd_learning_rate_schedules_match_sklearn(rng, schedule, extra):
    X = rng.normal(size=(40, 3))
    y = np.tanh(X @ [1.0, -1.0, 0.5])
    kw = dict(hidden_layer_sizes=(5,), activation="tanh", solver="sgd", batch_size=20,
              shuffle=False, learning_rate=schedule, learning_rate_init=0.1, momentum=0.5,
              alpha=0.01, max_iter=1, **extra)
    ours, ref = MLPRegressor(**kw), sk_nn.MLPRegressor(**kw)
    _train_from_same_weights(rng, ours, ref, X, y, max_iter=8)
    assert ours.n_iter_ == ref.n_iter_ == 8 and ours.t_ == ref.t_
    assert ours._lr == pytest.approx(ref._optimizer.learning_rate, rel=1e-12)
    if schedule == "adaptive":
        assert ours._lr == pytest.approx(0.1 / 25, rel=1e-12)  # divided twice
    else:
        assert ours._lr == pytest.approx(0.1 / (ours.t_ + 1) ** 0.3, rel=1e-12)
    # The first entry is the throwaway first fit's (different initial weights).
    assert len(ours.loss_curve_) == len(ref.loss_curve_) == 9
    np.testing.assert_allclose(ours.loss_curve_[1:], ref.loss_curve_[1:], rtol=1e-10)
    for a, b in zip(ours.coefs_ + ours.intercepts_, ref.coefs_ + ref.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("Est", [MLPRegressor, MLPClassifier])
def test_predict_logits_is_the_last_affine_layer(rng, Est):
    # Naive NumPy forward pass from the fitted coefs_/intercepts_: relu on the
    # hidden layers, no output activation -> the logits; the predictions
    # are the output activation of them.
    X = rng.normal(size=(60, 4))
    y = X[:, 0] - X[:, 1] if Est is MLPRegressor else np.argmax(X[:, :3], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = Est(hidden_layer_sizes=(7, 5), max_iter=30, random_state=0).fit(X, y)
    a = X
    for W, b in zip(m.coefs_[:-1], m.intercepts_[:-1], strict=True):
        a = np.maximum(a @ W + b, 0.0)
    z = a @ m.coefs_[-1] + m.intercepts_[-1]
    logits = m.predict_logits(X)
    np.testing.assert_allclose(logits.reshape(z.shape), z, rtol=1e-10, atol=1e-12)
    if Est is MLPRegressor:
        np.testing.assert_allclose(m.predict(X), z.ravel(), rtol=1e-10, atol=1e-12)
    else:
        p = np.exp(z - z.max(1, keepdims=True))
        np.testing.assert_allclose(m.predict_proba(X), p / p.sum(1, keepdims=True),
                                   rtol=1e-10, atol=1e-12)


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = sk_datasets.make_friedman1(200, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, n_iter_no_change=100,
                         verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert m.n_iter_ == 5
    assert lines == [f"Iteration {k}, loss = {loss:.8f}"
                     for k, loss in enumerate(m.loss_curve_, start=1)]
    quiet = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        quiet.fit(X, y)
    assert capsys.readouterr().out == ""


def test_verbose_early_stopping_prints_validation_scores(capsys):
    X, y = sk_datasets.make_friedman1(300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = MLPRegressor(hidden_layer_sizes=(4,), max_iter=4, n_iter_no_change=100,
                         early_stopping=True, verbose=True, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    want = []
    for k, (loss, score) in enumerate(zip(m.loss_curve_, m.validation_scores_, strict=True),
                                      start=1):
        want += [f"Iteration {k}, loss = {loss:.8f}", f"Validation score: {score:.6f}"]
    assert lines == want


def test_early_stopping_split_stratified_for_binary_only():
    # As scikit-learn: one output (binary) -> stratified hold-out; multiclass
    # (one output per class) -> a random hold-out.
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], [60, 240])  # unbalanced, 1 : 4
    X = rng.normal(size=(y.size, 3))
    clf = MLPClassifier(validation_fraction=0.2)
    Y = clf._encode(y, X, soft_targets=False, classes=None, reset=True)
    train, val = clf._split(Y, np.random.default_rng(1))
    assert val.size == 60
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(y.size))
    np.testing.assert_array_equal(np.bincount(y[val]), [12, 48])  # exactly 1 : 4
    np.testing.assert_array_equal(clf._split(Y, np.random.default_rng(1))[1], val)
    y3 = np.repeat([0, 1, 2], 100)
    clf3 = MLPClassifier(validation_fraction=0.2)
    Y3 = clf3._encode(y3, X, soft_targets=False, classes=None, reset=True)
    random_split = MLPRegressor(validation_fraction=0.2)._split(Y3, np.random.default_rng(1))
    for a, b in zip(clf3._split(Y3, np.random.default_rng(1)), random_split, strict=True):
        np.testing.assert_array_equal(a, b)


def test_multioutput_regression_quality_close_to_sklearn():
    # Different random streams reach different optima seed by seed; averaged
    # over seeds the uniform-average R² is the same.
    scores = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in (0, 1, 2, 3, 4):
            X, y, Xt, yt = _friedman(1000, seed)
            Y = np.column_stack([y, X[:, 0] * X[:, 1], np.tanh(X[:, 2]) - 0.5 * X[:, 3]])
            Yt = np.column_stack([yt, Xt[:, 0] * Xt[:, 1], np.tanh(Xt[:, 2]) - 0.5 * Xt[:, 3]])
            ours = MLPRegressor(hidden_layer_sizes=(32,), max_iter=200, random_state=seed)
            ref = sk_nn.MLPRegressor(hidden_layer_sizes=(32,), max_iter=200, random_state=seed)
            ours.fit(X, Y)
            assert ours.n_outputs_ == 3 and ours.predict(Xt).shape == (500, 3)
            scores.append((ours.score(Xt, Yt), ref.fit(X, Y).score(Xt, Yt)))
    ours_mean, ref_mean = np.mean(scores, axis=0)
    assert ours_mean == pytest.approx(ref_mean, abs=0.01)
    assert ours_mean > 0.9


def test_classifier_fits_logits_by_squared_error():
    """fit(X, classes, logits=Z): logit matching, predictions through the softmax."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    W = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0], [2.0, 0.0, 0.0]])
    Z = X @ W + np.array([0.5, 0.0, -0.5])
    Z -= Z.mean(axis=1, keepdims=True)
    clf = MLPClassifier((), solver="lbfgs", alpha=0.0, max_iter=500, tol=1e-12,
                        random_state=0).fit(X, ["a", "b", "c"], logits=Z)
    assert clf.classes_.tolist() == ["a", "b", "c"]
    # Softmax regression trained by least squares on logits it can represent.
    np.testing.assert_allclose(clf.predict_logits(X), Z, atol=1e-4)
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), P, atol=1e-4)
    assert clf.loss_ < 1e-8  # half the mean squared logit error
    assert clf._train_codes() == (2, 2)  # later fits on labels use cross-entropy again
    with pytest.raises(ValueError, match="one logit column per class"):
        MLPClassifier().fit(X, ["a", "b"], logits=Z)
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier().fit(X, None, logits=np.where(Z > 2, np.nan, Z))
    with pytest.raises(ValueError, match="not both"):
        MLPClassifier().fit(X, None, logits=Z, soft_targets=True)


@pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")
def test_distiller_logit_target_with_an_mlp_student():
    from fastdistill import Distiller

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 2))
    teacher = MLPClassifier((16,), max_iter=200, random_state=0).fit(
        X, (X[:, 0] * X[:, 1] > 0).astype(int))
    d = Distiller(teacher, MLPClassifier((16,), max_iter=300, random_state=0),
                  target="logits").fit(X)
    assert d.target_ == "logits" and d.fidelity(X) > 0.95
    # "auto": the MLP teacher exposes its logits, the MLP student fits them.
    auto = Distiller(teacher, MLPClassifier((16,), max_iter=50, random_state=0)).fit(X)
    assert auto.target_ == "logits"


@pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")
def test_logit_targets_labels_order_shapes_and_warm_start():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    W = rng.normal(size=(3, 3))
    Z = X @ W
    Z -= Z.mean(axis=1, keepdims=True)
    exact = dict(solver="lbfgs", alpha=0.0, max_iter=500, tol=1e-12, random_state=0)
    # Unsorted labels: classes_ sorted, logit columns moved with them.
    m = MLPClassifier((), **exact).fit(X, ["c", "a", "b"], logits=Z)
    assert m.classes_.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(m.predict_logits(X), Z[:, [1, 2, 0]], atol=1e-4)
    # classes= instead of y; both given and different is an error.
    assert MLPClassifier((), **exact).fit(X, None, classes=[5, 6, 7],
                                          logits=Z).classes_.tolist() == [5, 6, 7]
    with pytest.raises(ValueError, match="once"):
        MLPClassifier().fit(X, [0, 1, 2], classes=[5, 6, 7], logits=Z)
    with pytest.raises(ValueError, match="repeat"):
        MLPClassifier().fit(X, [0, 0, 1], logits=Z)
    # One binary logit (a decision_function): softmax over [-z/2, z/2].
    z = X @ np.array([1.0, -1.0, 0.5])
    b = MLPClassifier((), **exact).fit(X, ["no", "yes"], logits=z)
    np.testing.assert_allclose(b.predict_logits(X), np.column_stack([-z / 2, z / 2]),
                               atol=1e-4)
    # A binary model (one logistic output) cannot continue on logits.
    hard = MLPClassifier((4,), warm_start=True, max_iter=5, random_state=0).fit(
        X, (z > 0).astype(int))
    with pytest.raises(ValueError, match="binary classifier"):
        hard.fit(X, [0, 1], logits=z)


@pytest.mark.filterwarnings("ignore::fastdistill.exceptions.ConvergenceWarning")
def test_warm_start_onto_another_objective_does_not_stop_early():
    """The cross-entropy fit's best loss must not stop a squared-error logit fit."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 4))
    Z = 4 * np.tanh(X @ rng.normal(size=(4, 3)))
    Z -= Z.mean(1, keepdims=True)
    warm = MLPClassifier((16,), warm_start=True, max_iter=100, random_state=0).fit(
        X, Z.argmax(1))
    warm.fit(X, None, logits=Z)
    assert warm.n_iter_ > warm.n_iter_no_change + 1
    fresh = MLPClassifier((16,), max_iter=100, random_state=0).fit(X, None, logits=Z)
    err = lambda m: np.mean((m.predict_logits(X) - Z) ** 2)  # noqa: E731
    assert err(warm) < 2 * err(fresh)


def test_warm_start_onto_the_distillation_loss_does_not_stop_early():
    """A soft-target fit's best loss must not stop a fit on Hinton's loss (another scale)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    sharp = _softmax_rows(8 * X[:, :3])  # low cross-entropy: a low best loss
    flat = _softmax_rows(0.1 * X[:, :3])  # near-uniform targets: a loss near log 3
    H = np.zeros_like(flat)
    H[::5, 0] = 0.3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm = MLPClassifier((8,), warm_start=True, max_iter=200, random_state=0).fit(
            X, sharp, soft_targets=True)
        assert warm.best_loss_ < 0.5
        warm.fit(X, flat, soft_targets=True, hard_targets=H, temperature=4.0)
    assert warm.n_iter_ > warm.n_iter_no_change + 1
    assert warm.best_loss_ > 0.9  # the new objective's own best
