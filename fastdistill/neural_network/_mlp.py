"""Multi-layer perceptrons whose whole training epoch runs in compiled code."""

from __future__ import annotations

import numbers
import sys
import warnings

import numpy as np

from .._base import BaseEstimator, ClassifierMixin, RegressorMixin, available_if
from .._kernels import mlp as K
from .._kernels._random import seed_state
from .._metrics import accuracy_score, r2_score
from .._threads import blas_region, parallel_region
from .._validation import (
    assert_finite,
    check_array,
    check_is_fitted,
    check_option,
    check_random_state,
    check_scalar,
    check_y,
    validate_data,
)
from ..exceptions import convergence_warning, data_conversion_warning

__all__ = ["MLPRegressor", "MLPClassifier"]

_ACT = {"identity": 0, "logistic": 1, "tanh": 2, "relu": 3}
_OUT = {"identity": 0, "logistic": 1, "softmax": 2}
_CHUNK = 4096
#: Inputs of at least this many values are not scanned for NaN/inf before
#: minibatch training: the first epoch's gather folds ``x * 0`` of every
#: value it copies into the batch loss, so a non-finite input stops the epoch
#: with a non-finite loss, and only then is ``X`` scanned for the message.
#: That saves a whole pass over ``X`` (0.6 ms of a 5.5 ms epoch, 100,000 x 20).
_DEFER_FINITE = 1 << 20


def _predict_chunk(sizes) -> int:
    """Rows per prediction chunk: activations of a chunk near 1 MB (32 to 4096 rows)."""
    width = int(np.sum(sizes))
    return int(np.clip((1 << 17) // max(1, width), 32, _CHUNK))


class _BaseMLP(BaseEstimator):
    """Shared training machinery (parameters follow scikit-learn's MLPs)."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    # ------------------------------------------------------------ parameters
    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        try:
            sizes = list(sizes)
        except TypeError:
            raise TypeError(
                f"hidden_layer_sizes must be an int or a sequence of ints, got {sizes!r}."
            ) from None
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s <= 0:
                raise ValueError(
                    f"hidden_layer_sizes must contain positive integers, got {sizes!r}."
                )
        return [int(s) for s in sizes]

    def _check_params(self) -> None:
        check_option(self.activation, "activation", list(_ACT))
        check_option(self.solver, "solver", ["adam", "sgd", "lbfgs"])
        check_option(self.learning_rate, "learning_rate", ["constant", "invscaling", "adaptive"])
        check_scalar(self.alpha, "alpha", numbers.Real, min_val=0.0)
        check_scalar(self.learning_rate_init, "learning_rate_init", numbers.Real, min_val=0.0,
                     include_min=False)
        check_scalar(self.power_t, "power_t", numbers.Real, min_val=0.0)
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)
        check_scalar(self.tol, "tol", numbers.Real, min_val=0.0)
        check_scalar(self.momentum, "momentum", numbers.Real, min_val=0.0, max_val=1.0)
        check_scalar(self.validation_fraction, "validation_fraction", numbers.Real,
                     min_val=0.0, max_val=1.0, include_min=False, include_max=False)
        for name in ("beta_1", "beta_2"):
            check_scalar(getattr(self, name), name, numbers.Real, min_val=0.0, max_val=1.0,
                         include_max=False)
        check_scalar(self.epsilon, "epsilon", numbers.Real, min_val=0.0, include_min=False)
        check_scalar(self.n_iter_no_change, "n_iter_no_change", numbers.Integral, min_val=1)
        check_scalar(self.max_fun, "max_fun", numbers.Integral, min_val=1)
        if self.batch_size != "auto":
            check_scalar(self.batch_size, "batch_size", numbers.Integral, min_val=1)
        for name in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}.")

    # --------------------------------------------------------------- network
    def _layout(self, n_features: int, n_outputs: int) -> None:
        sizes = np.array([n_features, *self._hidden_sizes(), n_outputs], dtype=np.int64)
        self._sizes = sizes
        self._w_off, self._b_off, self._n_params = K.param_offsets(sizes)
        self.n_layers_ = len(sizes)
        self.n_outputs_ = int(n_outputs)

    def _initialize(self, rng, dtype) -> None:
        params = np.empty(self._n_params, dtype=dtype)
        factor = 2.0 if self.activation == "logistic" else 6.0
        for layer in range(len(self._sizes) - 1):
            fi, fo = int(self._sizes[layer]), int(self._sizes[layer + 1])
            bound = np.sqrt(factor / (fi + fo))
            w0, b0 = self._w_off[layer], self._b_off[layer]
            params[w0 : w0 + fi * fo] = rng.uniform(-bound, bound, fi * fo)
            params[b0 : b0 + fo] = rng.uniform(-bound, bound, fo)
        self._params = params
        self._state1 = np.zeros_like(params)
        self._state2 = np.zeros_like(params)
        self._adam_t = 0
        self._lr = float(self.learning_rate_init)
        self.loss_curve_ = []
        self._no_improvement_count = 0
        self.__dict__.pop("_best_params", None)
        self.t_ = 0
        self.n_iter_ = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weight matrices, one (fan_in, fan_out) array per layer."""
        if not hasattr(self, "_params"):
            raise AttributeError("coefs_ is available after fit.")
        return [
            self._params[self._w_off[i] : self._w_off[i] + self._sizes[i] * self._sizes[i + 1]]
            .reshape(int(self._sizes[i]), int(self._sizes[i + 1]))
            for i in range(len(self._sizes) - 1)
        ]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Bias vectors, one per layer."""
        if not hasattr(self, "_params"):
            raise AttributeError("intercepts_ is available after fit.")
        return [
            self._params[self._b_off[i] : self._b_off[i] + self._sizes[i + 1]]
            for i in range(len(self._sizes) - 1)
        ]

    def _raw(self, X, output_code: int) -> np.ndarray:
        X = validate_data(self, X, reset=False)
        X = X.astype(self._params.dtype, copy=False)
        # Row chunks in parallel, BLAS single-threaded inside each (small
        # GEMMs scale badly on BLAS threads, worst when other work competes).
        rows = _predict_chunk(self._sizes)
        with parallel_region(-(-X.shape[0] // rows)):
            return K.forward(X, self._params, self._sizes, self._w_off, self._b_off,
                             _ACT[self.activation], output_code, rows)

    def predict_logits(self, X) -> np.ndarray:
        """Pre-activation output of the last layer (logits), for logit matching.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        logits : ndarray of shape (n_samples, n_outputs_)
            ``A_last @ W_last + b_last`` before the output activation.
        """
        return self._raw(X, -1)

    # -------------------------------------------------------------- training
    def _train_codes(self) -> tuple[int, int]:
        """Output activation and loss codes the training kernels use."""
        return self._out_code, self._loss_code

    def _train_temperature(self) -> float:
        """Temperature of the distillation loss (loss code 3; 1.0 otherwise)."""
        t = getattr(self, "_fitting_temperature", None)
        return 1.0 if t is None else float(t)

    def _validate_X(self, X, *, reset: bool):
        """Validate ``X``; returns it and None, or a rollback if NaN/inf are not checked yet.

        Large inputs to minibatch training are checked by the first epoch
        instead (see ``_DEFER_FINITE``). The rollback, called when that check
        fails, restores the state of the random generator ``random_state``
        designates (a fresh fit draws its initial weights from it first), so
        the failed call leaves it as an upfront check would.
        """
        defer = self.solver != "lbfgs" and not self.early_stopping
        X = validate_data(self, X, reset=reset, force_all_finite=not defer)
        if defer and X.size < _DEFER_FINITE:
            assert_finite(X, "X")
            defer = False
        if not defer:
            return X, None
        rng = self.random_state  # None or a seed: no outside generator is drawn from
        if isinstance(rng, np.random.RandomState):
            state = rng.get_state()
            return X, lambda: rng.set_state(state)
        if isinstance(rng, np.random.Generator):
            state = rng.bit_generator.state
            return X, lambda: setattr(rng.bit_generator, "state", state)
        return X, lambda: None

    def _fit(self, X, Y, *, incremental: bool, rollback=None):
        self._check_params()
        hidden = _ACT[self.activation]
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")
        if self.solver == "lbfgs":
            if incremental:
                raise ValueError("partial_fit needs solver='adam' or 'sgd', not 'lbfgs'.")
            return self._fit_lbfgs(X, Y, hidden)
        n = X.shape[0]
        rng = self._rng
        if self.early_stopping and not incremental:
            train_idx, val_idx = self._split(Y, rng)
            X_val, Y_val = X[val_idx], Y[val_idx]
        else:
            train_idx, X_val, Y_val = np.arange(n, dtype=np.int64), None, None
        if self.batch_size == "auto":
            batch = min(200, train_idx.size)
        else:
            if self.batch_size > train_idx.size:
                warnings.warn(
                    f"Got batch_size={self.batch_size} larger than the {train_idx.size} "
                    f"training samples; clipping it.",
                    UserWarning,
                    stacklevel=3,
                )
            batch = int(np.clip(self.batch_size, 1, train_idx.size))
        solver = 1 if self.solver == "adam" else 0
        n_train = train_idx.size
        self.n_iter_ = 0  # per call, as scikit-learn >= 1.9 counts it
        in_place = ("_params", "_state1", "_state2", "_rng_state")
        if rollback is not None:
            # The first epoch checks X for NaN/inf after these arrays changed
            # in place (coefs_ are views of _params): kept to be put back.
            saved = [getattr(self, name).copy() for name in in_place]
        if not incremental or not hasattr(self, "_lr"):
            # Like scikit-learn, every fit (warm start included) starts a fresh
            # optimiser; partial_fit calls continue the same one.
            self._state1[:] = 0.0
            self._state2[:] = 0.0
            self._adam_t = 0
            self._lr = float(self.learning_rate_init)
        order = train_idx  # a fresh array: shuffled in place every epoch
        chunks = K.train_chunks(self._sizes, batch)
        # Minibatch row chunks in parallel, BLAS single-threaded inside each.
        with parallel_region(chunks) as team:
            for _ in range(self.max_iter):
                total, self._adam_t = K.train_epoch(
                    X, Y, order, self._rng_state, bool(self.shuffle), self._params,
                    self._state1, self._state2, self._sizes, self._w_off, self._b_off,
                    hidden, *self._train_codes(), float(self.alpha), batch,
                    solver, self._lr, float(self.beta_1), float(self.beta_2),
                    float(self.epsilon), float(self.momentum),
                    bool(self.nesterovs_momentum), self._adam_t, chunks, team,
                    self._train_temperature())
                if rollback is not None:
                    if not np.isfinite(total):
                        try:
                            assert_finite(X, "X")  # raises if X was the cause
                        except ValueError:
                            for name, values in zip(in_place, saved, strict=True):
                                getattr(self, name)[...] = values
                            rollback()
                            raise
                    rollback = None
                if not np.isfinite(total):
                    warnings.warn(
                        "The training loss became NaN or infinite; training stopped and the "
                        "weights from before that epoch are kept. Scale the inputs or lower "
                        "learning_rate_init.",
                        convergence_warning(),
                        stacklevel=3,
                    )
                    break
                self.n_iter_ += 1
                self.loss_ = total / n_train
                self.t_ += n_train
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}", file=sys.stdout)
                self._update_no_improvement(X_val, Y_val)
                if self.verbose and self.early_stopping and X_val is not None:
                    print(f"Validation score: {self.validation_scores_[-1]:.6f}",
                          file=sys.stdout)
                if self.solver == "sgd" and self.learning_rate == "invscaling":
                    self._lr = float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if self.early_stopping else "Training loss"
                    if (self.solver == "sgd" and self.learning_rate == "adaptive"
                            and self._lr > 1e-6):
                        self._lr /= 5.0
                        self._no_improvement_count = 0
                        if self.verbose:
                            print(f"{what} did not improve more than tol={self.tol} for "
                                  f"{self.n_iter_no_change} consecutive epochs. Setting "
                                  f"learning rate to {self._lr}")
                    else:
                        if self.verbose:
                            print(f"{what} did not improve more than tol={self.tol} for "
                                  f"{self.n_iter_no_change} consecutive epochs. Stopping.")
                        break
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                        f"and the optimization hasn't converged yet.",
                        convergence_warning(),
                        stacklevel=3,
                    )
        if self.early_stopping and not incremental and hasattr(self, "_best_params"):
            self._params[:] = self._best_params
        return self

    def _update_no_improvement(self, X_val, Y_val) -> None:
        if self.early_stopping and X_val is not None:
            score = self._score_internal(X_val, Y_val)
            self.validation_scores_.append(score)
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = self._params.copy()
            return
        last = self.loss_curve_[-1]
        best = self.best_loss_ if self.best_loss_ is not None else np.inf
        if last > best - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if last < best:
            self.best_loss_ = last

    def _n_validation(self, n: int) -> int:
        n_val = int(round(self.validation_fraction * n))
        if n_val < 2:  # a validation score of one row says nothing (scikit-learn's rule)
            raise ValueError(
                f"The validation set is too small: validation_fraction="
                f"{self.validation_fraction} of {n} rows gives {n_val}. Increase "
                f"validation_fraction or the size of your dataset (at least 2 rows "
                f"are held out)."
            )
        if n - n_val < 1:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves no training "
                f"rows out of {n}; lower it or pass more data."
            )
        return n_val

    def _split(self, Y, rng):
        """Training and validation row indices for early stopping (random split)."""
        n = Y.shape[0]
        n_val = self._n_validation(n)
        perm = rng.permutation(n)
        return np.sort(perm[n_val:]).astype(np.int64), np.sort(perm[:n_val])

    def _fit_lbfgs(self, X, Y, hidden):
        import scipy.optimize

        # L-BFGS-B works in float64: float32 data is copied to float64 for
        # this solver only, and the result rounded back into float32 weights.
        params64 = self._params.astype(np.float64)
        grads = np.empty_like(params64)
        Xf = X.astype(np.float64, copy=False)
        Yf = Y.astype(np.float64, copy=False)

        best = [np.inf, params64.copy()]  # lowest finite loss seen and its weights

        def fun(p):
            with blas_region():
                val = K.loss_and_grad(Xf, Yf, p, grads, self._sizes, self._w_off, self._b_off,
                                      hidden, *self._train_codes(),
                                      float(self.alpha), _CHUNK, self._train_temperature())
            if np.isfinite(val) and val < best[0] and np.all(np.isfinite(grads)):
                best[0] = float(val)
                best[1][:] = p
            return val, grads.copy()

        res = scipy.optimize.minimize(
            fun, params64, method="L-BFGS-B", jac=True,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
        )
        self.n_iter_ = int(res.nit)
        if res.status == 1 or self.n_iter_ >= self.max_iter:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iterations (status "
                f"{res.status}: {res.message}). Increase max_iter or scale the data.",
                convergence_warning(),
                stacklevel=3,
            )
        if not (np.isfinite(res.fun) and np.all(np.isfinite(res.x))):
            warnings.warn(
                "The training loss became NaN or infinite; training stopped and the weights "
                "with the lowest finite loss are kept (the initial ones if none was finite). "
                "Scale the inputs and targets.",
                convergence_warning(),
                stacklevel=3,
            )
            self._params[:] = best[1]
            self.loss_ = best[0] if np.isfinite(best[0]) else float("nan")
        else:
            self._params[:] = res.x
            self.loss_ = float(res.fun)
        self.loss_curve_ = None
        self.best_loss_ = None
        return self

    def _prepare(self, X, Y, *, reset: bool, first_call: bool):
        if reset:
            self._layout(X.shape[1], Y.shape[1])
            self._rng = check_random_state(self.random_state)
            self._rng_state = seed_state(self._rng)
            self._initialize(self._rng, X.dtype)
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs but the network was built for {self.n_outputs_}."
            )


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor with compiled training epochs.

    Same parameters, defaults and fitted attributes as scikit-learn's
    ``MLPRegressor``: a whole epoch (shuffle, every minibatch's forward and
    backward pass, the Adam or SGD step) runs in one compiled call, so there
    is no Python work per minibatch. ``solver="lbfgs"`` is implemented with
    SciPy's L-BFGS-B on the compiled full-batch loss and gradient, as
    scikit-learn does. float32 input trains in float32, except with
    ``solver="lbfgs"``: L-BFGS-B works in float64, so that solver computes on
    a float64 copy of ``X`` and ``y`` and rounds the final weights to float32
    (``coefs_``, ``intercepts_`` and predictions stay float32).

    Parameters
    ----------
    loss : {"squared_error"}, default="squared_error"
        Training loss (scikit-learn's "poisson" is not implemented).
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Widths of the hidden layers (any depth).
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Hidden activation.
    solver : {"adam", "sgd", "lbfgs"}, default="adam"
        Optimiser.
    alpha : float, default=0.0001
        L2 penalty.
    batch_size : int or "auto", default="auto"
        Minibatch size ("auto": ``min(200, n_samples)``).
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Step-size schedule of the "sgd" solver.
    learning_rate_init : float, default=0.001
        Initial step size.
    power_t : float, default=0.5
        Exponent of "invscaling".
    max_iter : int, default=200
        Maximum number of epochs (iterations for "lbfgs").
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    random_state : int, Generator, RandomState or None, default=None
        Seed of the initialisation, shuffling and validation split.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no improvement.
    verbose : bool, default=False
        Print the loss after every epoch.
    warm_start : bool, default=False
        Continue from the previous solution.
    momentum : float, default=0.9
        Momentum of "sgd".
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for "sgd".
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop when the
        validation score stalls (the best weights are kept).
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping (stratified by class for a
        binary classifier, as scikit-learn does; at random otherwise).
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    max_fun : int, default=15000
        Maximum loss evaluations of "lbfgs".

    Attributes
    ----------
    coefs_ : list of ndarray
        Weight matrices (views into one flat parameter array).
    intercepts_ : list of ndarray
        Bias vectors.
    loss_ : float
        Loss of the last epoch.
    loss_curve_ : list of float
        Loss per epoch (None for "lbfgs").
    best_loss_ : float
        Lowest epoch loss (None with early stopping).
    validation_scores_ : list of float or None
        R² on the held-out rows per epoch (early stopping).
    best_validation_score_ : float or None
        Best of them.
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of outputs.
    out_activation_ : str
        "identity".
    n_features_in_ : int
        Number of features seen during fit.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.neural_network import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(400, 2))
    >>> y = X[:, 0] ** 2 - X[:, 1]
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=500, random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.9)
    True
    """

    _out_code = 0
    _loss_code = 0
    out_activation_ = "identity"

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000):
        self.loss = loss
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
            max_fun=max_fun)

    def _check_params(self) -> None:
        check_option(self.loss, "loss", ["squared_error"])
        super()._check_params()

    def _update_tags(self, tags) -> None:
        tags.target_tags.multi_output = True

    def _score_internal(self, X, Y) -> float:
        return r2_score(Y, self._raw(X, 0))

    def _fit_public(self, X, y, *, incremental: bool):
        with self._transaction():
            reset = not (incremental or self.warm_start) or not hasattr(self, "_params")
            X, rollback = self._validate_X(X, reset=reset)
            Y = check_y(y, dtype=X.dtype, n_samples=X.shape[0])
            if Y.ndim == 2 and Y.shape[1] == 1:
                warnings.warn(
                    "A column-vector y was passed when a 1d array was expected. Please "
                    "change the shape of y to (n_samples, ), for example using ravel().",
                    data_conversion_warning(),
                    stacklevel=3,
                )
                Y = Y[:, 0]
            self._one_d = Y.ndim == 1
            Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
            self._prepare(X, Y, reset=reset, first_call=reset)
            return self._fit(X, Y, incremental=incremental, rollback=rollback)

    def fit(self, X, y):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_public(X, y, incremental=False)

    @available_if(lambda self: self.solver != "lbfgs")
    def partial_fit(self, X, y):
        """Run one epoch over ``(X, y)``, starting from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_public(X, y, incremental=True)

    def predict(self, X) -> np.ndarray:
        """Predict with the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Outputs (1-D when the network was fitted on a 1-D ``y``).
        """
        out = self._raw(X, 0)
        return out[:, 0] if self._one_d else out


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier with compiled training epochs.

    Same parameters, defaults and fitted attributes as scikit-learn's
    ``MLPClassifier`` (see :class:`MLPRegressor` for the parameters): binary
    (one logistic output), multiclass (softmax) and multilabel (one logistic
    output per label) targets. For distillation it also trains on *soft
    targets*: ``fit(X, P, soft_targets=True)`` with ``P`` a probability
    matrix per row (for example a teacher's ``predict_proba``), using the
    softmax cross-entropy against ``P``; on a teacher's logits,
    ``fit(X, classes, logits=Z)``, by squared error on the pre-activation
    outputs (logit matching); and :meth:`predict_logits` returns those
    outputs.

    Attributes
    ----------
    classes_ : ndarray
        Class labels.
    coefs_, intercepts_, loss_, loss_curve_, best_loss_, n_iter_, t_, n_layers_, n_outputs_
        As for :class:`MLPRegressor`.
    out_activation_ : str
        "logistic" or "softmax".
    n_features_in_ : int
        Number of features seen during fit.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill.neural_network import MLPClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2))
    >>> y = np.where(X[:, 0] * X[:, 1] > 0, "same", "diff")
    >>> clf = MLPClassifier((16,), max_iter=3000, random_state=0).fit(X, y)
    >>> bool(clf.score(X, y) > 0.9)
    True
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def _train_codes(self) -> tuple[int, int]:
        if getattr(self, "_fitting_logits", False):
            return 0, 0  # logit matching: identity output, squared error on the logits
        if getattr(self, "_fitting_temperature", None) is not None:
            return 2, 3  # soft targets at T mixed with hard labels (Hinton's loss)
        return self._out_code, self._loss_code

    def _score_internal(self, X, Y) -> float:
        return accuracy_score(self._encode_back(Y), self._decode(self._raw(X, self._out_code)))

    def _encode_logits(self, classes, logits, X, *, reset):
        Z = np.asarray(logits)
        if Z.ndim == 1 or (Z.ndim == 2 and Z.shape[1] == 1):
            z = check_array(Z.reshape(-1, 1), name="logits", dtype=X.dtype)
            Z = np.hstack([-0.5 * z, 0.5 * z])  # one binary logit: softmax over [-z/2, z/2]
        else:
            Z = check_array(Z, name="logits", dtype=X.dtype)
        if Z.shape[0] != X.shape[0]:
            raise ValueError(
                f"logits has {Z.shape[0]} rows but X has {X.shape[0]}; one row of logits "
                f"per sample."
            )
        labels = np.arange(Z.shape[1]) if classes is None else np.asarray(classes)
        if labels.ndim != 1 or labels.shape[0] != Z.shape[1]:
            raise ValueError(
                f"fit(X, classes, logits=Z) needs one logit column per class (at least "
                f"2); got {Z.shape[1]} columns for classes of shape {labels.shape}."
            )
        order = np.argsort(labels, kind="stable")
        labels = labels[order]
        if np.any(labels[1:] == labels[:-1]):
            raise ValueError(f"The class labels of the logits repeat: {labels.tolist()}.")
        Z = np.ascontiguousarray(Z[:, order])  # columns in the sorted order of classes_
        if reset:
            self.classes_ = labels
            self._set_kind("multiclass")
        elif self._kind != "multiclass":
            raise ValueError(
                f"This model was fitted as a {self._kind} classifier (one logistic output "
                f"per label); logit targets need the softmax output of a fresh fit "
                f"(warm_start=False)."
            )
        elif not np.array_equal(self.classes_, labels):
            raise ValueError(
                "logits must have the classes_ the model was first fitted with "
                f"({self.classes_.tolist()})."
            )
        return Z

    def _set_kind(self, kind: str) -> None:
        self._kind = kind
        if kind in ("binary", "multilabel"):
            self._out_code, self._loss_code = 1, 1
            self.out_activation_ = "logistic"
        else:
            self._out_code, self._loss_code = 2, 2
            self.out_activation_ = "softmax"

    def _encode(self, y, X, *, soft_targets, classes, reset):
        if soft_targets:
            P = check_array(y, name="y", dtype=X.dtype)
            if P.shape[0] != X.shape[0]:
                raise ValueError(
                    f"Found input variables with inconsistent numbers of samples: "
                    f"X has {X.shape[0]} and y has {P.shape[0]}."
                )
            if P.shape[1] < 2 or np.any(P < 0) or not np.allclose(P.sum(1), 1.0, atol=1e-3):
                raise ValueError(
                    "soft_targets=True needs y of shape (n_samples, n_classes >= 2) with "
                    "non-negative rows summing to 1 (for example predict_proba)."
                )
            if reset:
                self.classes_ = (np.arange(P.shape[1]) if classes is None
                                 else np.asarray(classes))
                if self.classes_.shape[0] != P.shape[1]:
                    raise ValueError(
                        f"classes has {self.classes_.shape[0]} entries but y has "
                        f"{P.shape[1]} columns."
                    )
                self._set_kind("multiclass")
            return np.ascontiguousarray(P)
        if y is None:
            raise ValueError("This estimator requires y to be passed, but the target y is None.")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected. Please "
                "change the shape of y to (n_samples, ), for example using ravel().",
                data_conversion_warning(),
                stacklevel=4,
            )
        if y.ndim == 2 and y.shape[1] > 1:
            Y = check_array(y, name="y", dtype=X.dtype)
            if not np.all((Y == 0) | (Y == 1)):
                raise ValueError(
                    "A 2-D y must be a multilabel indicator matrix of 0/1; for "
                    "probability targets pass soft_targets=True."
                )
            if reset:
                self.classes_ = np.arange(Y.shape[1])
                self._set_kind("multilabel")
            return Y
        y = y.reshape(-1)
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"Found input variables with inconsistent numbers of samples: X has "
                f"{X.shape[0]} and y has {y.shape[0]}."
            )
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        if y.dtype.kind == "f" and np.any(y != np.round(y)):
            raise ValueError(
                "Unknown label type: continuous values in y; MLPClassifier needs class "
                "labels (use MLPRegressor for continuous targets)."
            )
        if y.dtype.kind == "O":
            try:
                y = y.astype(str) if all(isinstance(v, str) for v in y) else y
            except TypeError:
                pass
        if reset:
            if classes is not None:
                labels = np.unique(np.asarray(classes))
            else:
                labels = _small_int_labels(y)
                labels = np.unique(y) if labels is None else labels
            if classes is not None:
                missing = np.setdiff1d(np.unique(y), labels)
                if missing.size:
                    raise ValueError(f"y contains labels {missing.tolist()} not in classes.")
            if labels.shape[0] < 2 and classes is None:
                raise ValueError(
                    f"MLPClassifier needs at least 2 classes in y, got 1 class: "
                    f"{labels.tolist()}."
                )
            self.classes_ = labels
            self._set_kind("binary" if labels.shape[0] == 2 else "multiclass")
        idx, unknown = _label_index(self.classes_, y)
        if np.any(unknown):
            raise ValueError(
                f"y contains labels {np.unique(y[unknown]).tolist()} that are not in "
                f"classes_={self.classes_.tolist()}; pass every class to the first "
                f"partial_fit call with classes=..."
            )
        if self._kind == "binary":
            return (idx == 1).astype(X.dtype).reshape(-1, 1)
        Y = np.zeros((y.shape[0], self.classes_.shape[0]), dtype=X.dtype)
        Y[np.arange(y.shape[0]), idx] = 1.0
        return Y

    def _split(self, Y, rng):
        """Early-stopping split: stratified for binary targets, as scikit-learn.

        scikit-learn stratifies when the network has one output (binary
        classification) and splits multiclass and multilabel targets at
        random; so does this. Each class gives the validation set its share
        of ``n_val`` rows, rounded by largest remainders so that the shares
        add up to ``n_val``.
        """
        if self._kind != "binary":
            return super()._split(Y, rng)
        n = Y.shape[0]
        n_val = self._n_validation(n)
        codes = (Y[:, 0] > 0.5).astype(np.int64)
        counts = np.bincount(codes, minlength=2)
        exact = counts * (n_val / n)
        alloc = np.floor(exact).astype(np.int64)
        alloc[np.argsort(alloc - exact, kind="stable")[:n_val - alloc.sum()]] += 1
        val = np.concatenate([rng.permutation(np.flatnonzero(codes == c))[:alloc[c]]
                              for c in range(2)])
        mask = np.zeros(n, dtype=bool)
        mask[val] = True
        return np.flatnonzero(~mask).astype(np.int64), np.flatnonzero(mask).astype(np.int64)

    def _encode_back(self, Y):
        if self._kind == "binary":
            return self.classes_[(Y[:, 0] > 0.5).astype(int)]
        if self._kind == "multilabel":
            return Y.astype(int)
        k = self.classes_.shape[0]
        if Y.shape[1] == 2 * k:  # distillation targets [(1 - h) P, H]: their mix
            Y = Y[:, :k] + Y[:, k:]
        return self.classes_[np.argmax(Y, axis=1)]

    def _decode(self, P):
        if self._kind == "binary":
            return self.classes_[(P[:, 0] >= 0.5).astype(int)]
        if self._kind == "multilabel":
            return (P >= 0.5).astype(int)
        return self.classes_[np.argmax(P, axis=1)]

    def _distill_targets(self, P, hard_targets, temperature):
        """Targets of the distillation loss: ``[(1 - h) P, H]``, ``h`` the rows of H summed."""
        check_scalar(temperature, "temperature", numbers.Real, min_val=1.0)
        H = check_array(hard_targets, name="hard_targets", dtype=P.dtype)
        if H.shape != P.shape:
            raise ValueError(
                f"hard_targets has shape {H.shape} but the soft targets y have {P.shape}; "
                f"give one row per sample and one column per class (zeros for rows "
                f"without a label)."
            )
        h = H.sum(axis=1)
        if np.any(H < 0) or np.any(h > 1.0 + 1e-6):
            raise ValueError(
                "hard_targets must be non-negative with rows summing to at most 1 "
                "(alpha * onehot(label) on labeled rows, zeros elsewhere)."
            )
        return np.ascontiguousarray(np.hstack([P * (1.0 - h)[:, None], H]))

    def _fit_public(self, X, y, *, incremental, soft_targets=False, classes=None,
                    logits=None, hard_targets=None, temperature=1.0):
        with self._transaction():
            first = not hasattr(self, "_params")
            reset = first or not (incremental or self.warm_start)
            if incremental and first and classes is None and not soft_targets:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit (every "
                    "label the model will ever see)."
                )
            X, rollback = self._validate_X(X, reset=reset)
            if logits is not None:
                if soft_targets:
                    raise ValueError("Pass either logits= or soft_targets=True, not both.")
                if y is not None and classes is not None and not np.array_equal(
                        np.asarray(y), np.asarray(classes)):
                    raise ValueError(
                        "With logits=, give the class labels of the logit columns once: as "
                        "y or as classes= (they differ here)."
                    )
                Y = self._encode_logits(classes if y is None else y, logits, X, reset=reset)
            else:
                if hard_targets is not None and not soft_targets:
                    raise ValueError("hard_targets= needs soft_targets=True (the teacher's "
                                     "probabilities as y).")
                Y = self._encode(y, X, soft_targets=soft_targets, classes=classes,
                                 reset=reset)
            self._prepare(X, Y, reset=reset, first_call=reset)
            if hard_targets is not None:
                Y = self._distill_targets(Y, hard_targets, temperature)
            objective = "logits" if logits is not None else (
                "soft" if soft_targets else "labels")
            if hard_targets is not None:  # another loss for every temperature
                objective = f"distill at T={float(temperature)!r}"
            if getattr(self, "_objective", objective) != objective:
                # Another loss (squared error on logits vs cross-entropy): the
                # previous fit's best loss says nothing about this one's.
                self._no_improvement_count = 0
                if self.best_loss_ is not None:
                    self.best_loss_ = np.inf
                if self.early_stopping:
                    self.best_validation_score_ = -np.inf
            self._objective = objective
            self._fitting_logits = logits is not None
            self._fitting_temperature = None if hard_targets is None else float(temperature)
            try:
                return self._fit(X, Y, incremental=incremental, rollback=rollback)
            finally:
                self._fitting_logits = False
                self._fitting_temperature = None

    def fit(self, X, y, *, soft_targets: bool = False, classes=None, logits=None,
            hard_targets=None, temperature: float = 1.0):
        """Train the network on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Labels, a 0/1 multilabel indicator matrix, or (with
            ``soft_targets=True``) class probabilities per row. With
            ``logits``: the class labels of the logit columns (or None for
            ``0..k-1``).
        soft_targets : bool, default=False
            Treat ``y`` as probabilities (distillation from a teacher).
        classes : array-like, optional
            Class labels of the probability columns (soft targets) or the
            full label set.
        logits : array-like of shape (n_samples, n_classes), optional
            Logit matching (distillation, Ba and Caruana 2014): the output
            layer is trained by squared error to reproduce these logits (a
            teacher's, centred per row), and predicts through the softmax.
        hard_targets : array-like of shape (n_samples, n_classes), optional
            With ``soft_targets=True``: Hinton et al.'s distillation loss.
            ``y`` holds the teacher's probabilities softened at
            ``temperature`` T, ``hard_targets`` the true labels weighted by
            ``alpha`` (``alpha * onehot(label)``; zero rows for unlabeled
            samples). Per row the loss is ``(1 - h) CE(y, softmax(u)) +
            CE(hard, softmax(T u)) / T^2`` (``h`` the row's sum of
            ``hard_targets``): Hinton's ``(1 - alpha) T^2 CE_soft + alpha
            CE_hard`` divided by ``T^2``, for the student's logits ``z = T u``.
            The network's outputs are ``u``: ``predict_proba`` gives the
            softened probabilities, ``softmax(T * predict_logits(X))`` the
            student's.
        temperature : float, default=1.0
            The temperature T of ``hard_targets`` (ignored without them), at
            least 1: distillation softens (below 1 the labels' term would be
            the softer one, which float32 probabilities at T cannot carry).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_public(X, y, incremental=False, soft_targets=soft_targets,
                                classes=classes, logits=logits, hard_targets=hard_targets,
                                temperature=temperature)

    @available_if(lambda self: self.solver != "lbfgs")
    def partial_fit(self, X, y, classes=None, *, soft_targets: bool = False):
        """Run one epoch over ``(X, y)``, starting from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            Labels (or probabilities with ``soft_targets=True``).
        classes : array-like, optional
            Every label; required on the first call with hard labels.
        soft_targets : bool, default=False
            Treat ``y`` as probabilities.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_public(X, y, incremental=True, soft_targets=soft_targets,
                                classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        check_is_fitted(self)
        P = self._raw(X, self._out_code)
        if self._kind == "binary":
            return np.hstack([1.0 - P, P])
        return P

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """Predicted labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels (0/1 indicator rows for multilabel targets).
        """
        check_is_fitted(self)
        return self._decode(self._raw(X, self._out_code))


def _small_int_labels(y) -> np.ndarray | None:
    """Sorted distinct labels of small non-negative integer ``y`` by counting (else None).

    ``np.unique`` sorts (or hashes) every label; class codes 0..k-1, the
    usual case, need one counting pass.
    """
    if y.dtype.kind not in "iu" or y.shape[0] == 0:
        return None
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi > 4 * y.shape[0] + 1024:
        return None
    return np.flatnonzero(np.bincount(y)).astype(y.dtype)


def _label_index(classes: np.ndarray, y) -> tuple[np.ndarray, np.ndarray]:
    """Position of every label of ``y`` in the sorted ``classes``, and which are unknown.

    Small non-negative integer labels go through a lookup table (one
    gather); others through a binary search.
    """
    if (y.dtype.kind in "iu" and classes.dtype.kind in "iu" and y.shape[0]
            and int(classes[0]) >= 0):
        lo, hi = int(y.min()), int(y.max())
        top = max(hi, int(classes[-1]))
        if lo >= 0 and top <= 4 * y.shape[0] + 1024:
            lut = np.full(top + 1, -1, dtype=np.int64)
            lut[classes] = np.arange(classes.shape[0])
            idx = lut[y]
            unknown = idx < 0
            return np.maximum(idx, 0), unknown
    idx = np.searchsorted(classes, y)
    idx = np.clip(idx, 0, classes.shape[0] - 1)
    return idx, classes[idx] != y
