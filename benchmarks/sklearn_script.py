"""A plain scikit-learn workflow, used unchanged to time ``fastdistill.patch``.

PCA, then k-means on the projections, then a linear model and an MLP on the
projections plus the distances to the cluster centers. Nothing here knows
about fastdistill: run it as is (scikit-learn), or patched::

    python benchmarks/sklearn_script.py 200000
    python -m fastdistill.patch benchmarks/sklearn_script.py 200000

``benchmarks/test_bench_patch.py`` (and ``report.py``) time both runs.
"""

import sys
import time

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression
from sklearn.neural_network import MLPRegressor


def make_data(n_samples, n_features=32, n_groups=16, seed=0):
    """Correlated features in groups, and a smooth non-linear target."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(n_features, n_features)) / np.sqrt(n_features)
    centers = 3.0 * rng.normal(size=(n_groups, n_features))
    groups = rng.integers(n_groups, size=n_samples)
    X = centers[groups] + rng.normal(size=(n_samples, n_features)) @ mixing
    y = np.sin(X[:, 0]) + 0.1 * X[:, 1] ** 2 - X[:, 2] + 0.1 * rng.normal(size=n_samples)
    return X, y


def main(n_samples):
    X, y = make_data(n_samples)
    n_train = (4 * n_samples) // 5
    timings = {}

    t0 = time.perf_counter()
    pca = PCA(n_components=16, random_state=0)
    Z = pca.fit_transform(X)
    timings["PCA"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    km = KMeans(n_clusters=16, n_init=3, random_state=0).fit(Z[:n_train])
    D = km.transform(Z)
    timings["KMeans"] = time.perf_counter() - t0

    features = np.hstack([Z, D])
    train, test = slice(0, n_train), slice(n_train, None)

    t0 = time.perf_counter()
    lin = LinearRegression().fit(features[train], y[train])
    timings["LinearRegression"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    mlp = MLPRegressor(hidden_layer_sizes=(64,), max_iter=10, random_state=0)
    mlp.fit(features[train], y[train])
    timings["MLPRegressor"] = time.perf_counter() - t0

    results = {
        "explained_variance": float(pca.explained_variance_ratio_.sum()),
        "kmeans_inertia": float(km.inertia_),
        "linear_r2": float(lin.score(features[test], y[test])),
        "mlp_r2": float(mlp.score(features[test], y[test])),
    }
    for name, seconds in timings.items():
        print(f"{name:>16}: {seconds:7.3f} s")
    for name, value in results.items():
        print(f"{name:>16}: {value:.4f}")
    return results


if __name__ == "__main__":
    results = main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
