"""Where an MLP epoch's time goes: per-minibatch pieces, one thread.

For the two MLP benchmark tasks that miss their goal, times one epoch's
worth of (a) the forward and backward pass of every 200-row minibatch
(``_chunk_pass``, gather included), (b) the gather of the rows alone,
(c) the Adam step alone, and (d) ``fit(max_iter=1)`` as a whole with one and
with two threads, so the closing note can say what bounds the ratio.

Run: ``PYTHONPATH=. python benchmarks/experiments/mlp_batch_parts.py``
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))

from registry import _mlp_data  # noqa: E402

import fastdistill  # noqa: E402
from fastdistill._jit import jit  # noqa: E402
from fastdistill._kernels import mlp as K  # noqa: E402
from fastdistill._threads import parallel_region  # noqa: E402
from fastdistill.neural_network import MLPClassifier, MLPRegressor  # noqa: E402


@jit(cache=False)
def _passes(X, Y, order, params, sizes, w_off, b_off, m, out_code, loss_code):
    width = 0
    for li in range(sizes.shape[0]):
        width += sizes[li]
    acts = np.empty(m * width)
    deltas = np.empty(m * width)
    tmp = np.empty((2 + Y.shape[1], m))
    g = np.zeros(params.shape[0])
    s = 0.0
    for start in range(0, order.shape[0] - m + 1, m):
        s += K._chunk_pass(X, Y, order, start, m, params, g, sizes, w_off, b_off, acts,
                           deltas, tmp, 3, out_code, loss_code, 1.0)
    return s


@jit(cache=False)
def _gathers(X, Y, order, m):
    A0 = np.empty((m, X.shape[1]))
    YT = np.empty((Y.shape[1], m))
    s = 0.0
    for start in range(0, order.shape[0] - m + 1, m):
        K._gather(X, Y, order, start, m, A0, YT)
        s += A0[0, 0]
    return s


@jit(cache=False)
def _steps(params, sizes, w_off, b_off, reps):
    n = params.shape[0]
    grads = np.full((2, n), 1e-3)
    s1 = np.zeros(n)
    s2 = np.zeros(n)
    seg, _ = K._segments(sizes, w_off, b_off, 1)
    sq = 0.0
    for _ in range(reps):
        sq += K._step_part(params, grads, s1, s2, seg, 0, seg.shape[0], 1e-4, 1.0 / 200, 1,
                           1e-3, 1e-3, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.9, True)
    return sq


def _best(fn, repeat=5):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    warnings.simplefilter("ignore")
    cases = [("MLPRegressor (10,), 100,000 x 20", MLPRegressor, (100_000, 20, 0), (10,)),
             ("MLPClassifier (64,), 50,000 x 50, 10 classes", MLPClassifier,
              (50_000, 50, 10), (64,))]
    for name, cls, shape, hidden in cases:
        data = _mlp_data(shape)
        X, y = data["X"], data["y"]
        model = cls(hidden_layer_sizes=hidden, max_iter=1, random_state=0).fit(X, y)
        Y = np.eye(shape[2])[y] if shape[2] else y.reshape(-1, 1).copy()
        codes = (2, 2) if shape[2] else (0, 0)
        order = np.random.default_rng(0).permutation(X.shape[0]).astype(np.int64)
        n_batches = X.shape[0] // 200
        args = (model._sizes, model._w_off, model._b_off)
        with parallel_region(1):
            t_pass = _best(lambda: _passes(X, Y, order, model._params.copy(), *args, 200,
                                           *codes))
            t_gather = _best(lambda: _gathers(X, Y, order, 200))
            p = model._params.copy()
            t_step = _best(lambda: _steps(p, *args, n_batches))
        fits = {}
        for threads in (1, 2):
            fastdistill.set_num_threads(threads)
            fits[threads] = _best(lambda: cls(hidden_layer_sizes=hidden, max_iter=1,
                                              random_state=0).fit(X, y), repeat=9)
        fastdistill.set_num_threads(None)
        print(f"== {name}, {n_batches} minibatches of 200 rows")
        print(f"forward + backward of every batch  {1e3 * t_pass:7.2f} ms "
              f"({1e6 * t_pass / n_batches:.1f} us per batch)")
        print(f"  of which the gather of the rows  {1e3 * t_gather:7.2f} ms")
        print(f"Adam steps                         {1e3 * t_step:7.2f} ms")
        print(f"fit(max_iter=1), 1 thread          {1e3 * fits[1]:7.2f} ms")
        print(f"fit(max_iter=1), 2 threads         {1e3 * fits[2]:7.2f} ms")


if __name__ == "__main__":
    main()
