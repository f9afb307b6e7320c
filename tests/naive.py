"""Obvious, slow NumPy reference implementations of what the kernels compute."""

from __future__ import annotations

import numpy as np


def weighted_least_squares(X, Y, w=None, fit_intercept=True, alpha=0.0):
    """Solve (ridge) least squares by the textbook route: centre, then lstsq."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    one_d = Y.ndim == 1
    Y = Y.reshape(len(Y), -1)
    w = np.ones(len(X)) if w is None else np.asarray(w, dtype=np.float64)
    if fit_intercept:
        mx = (w[:, None] * X).sum(0) / w.sum()
        my = (w[:, None] * Y).sum(0) / w.sum()
    else:
        mx = np.zeros(X.shape[1])
        my = np.zeros(Y.shape[1])
    sw = np.sqrt(w)[:, None]
    Xc = (X - mx) * sw
    Yc = (Y - my) * sw
    if alpha:
        Xa = np.vstack([Xc, np.sqrt(alpha) * np.eye(X.shape[1])])
        Ya = np.vstack([Yc, np.zeros((X.shape[1], Y.shape[1]))])
    else:
        Xa, Ya = Xc, Yc
    B = np.linalg.lstsq(Xa, Ya, rcond=None)[0]
    b = my - mx @ B
    if one_d:
        return B[:, 0], b[0]
    return B.T, b


def sgd_squared(X, Y, order_per_epoch, *, eta0, alpha, penalty, l1_ratio, lr,
                power_t=0.25, fit_intercept=True, sw=None):
    """Plain SGD on the squared loss, one sample at a time, as scikit-learn does it.

    ``order_per_epoch`` lists the visiting order of each epoch.
    """
    n, d = X.shape
    Y = Y.reshape(n, -1)
    k = Y.shape[1]
    W = np.zeros((d, k))
    b = np.zeros(k)
    q = np.zeros((d, k))
    u = np.zeros(k)
    t = 1.0
    l1r = {"l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio, None: 0.0}[penalty]
    if lr == "optimal":
        typw = np.sqrt(1.0 / np.sqrt(alpha))
        opt_init = 1.0 / (typw * alpha)
    for order in order_per_epoch:
        for i in order:
            p = X[i] @ W + b
            if lr == "optimal":
                eta = 1.0 / (alpha * (opt_init + t - 1))
            elif lr == "invscaling":
                eta = eta0 / t**power_t
            else:
                eta = eta0
            upd = -eta * (p - Y[i]) * (1.0 if sw is None else sw[i])
            if penalty in ("l2", "elasticnet"):
                W *= max(0.0, 1.0 - (1.0 - l1r) * eta * alpha)
            W += np.outer(X[i], upd)
            if fit_intercept:
                b += upd
            if penalty in ("l1", "elasticnet"):
                u += l1r * eta * alpha
                z = W.copy()
                pos = z > 0
                neg = z < 0
                W[pos] = np.maximum(0.0, z[pos] - (u[None, :] + q)[pos])
                W[neg] = np.minimum(0.0, z[neg] + (u[None, :] - q)[neg])
                q += W - z
            t += 1
    return W, b, t


def tolerance(dtype) -> dict:
    """dtype-aware tolerances for cross-path comparisons."""
    if np.dtype(dtype) == np.float32:
        return {"rtol": 1e-4, "atol": 1e-4}
    return {"rtol": 1e-7, "atol": 1e-9}
