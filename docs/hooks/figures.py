"""MkDocs hook: the documentation's figures, drawn at build time by fastdistill itself.

Each figure is computed from a small, seeded problem when the site is built
and added to the site as a generated file (nothing is written into docs/), so
the pictures always show what the current code does. Pages link them as
``figures/<name>.png``. The whole hook takes a few seconds once the kernels
are in Numba's disk cache.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import warnings
from pathlib import Path

from mkdocs.structure.files import File

_REPO = Path(__file__).resolve().parents[2]


def _find_fastdistill() -> None:
    """Use the installed fastdistill, else the one of this source checkout."""
    if importlib.util.find_spec("fastdistill") is None:
        sys.path.insert(0, str(_REPO))


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def fidelity_figure() -> bytes:
    """Student against teacher on held-out Friedman #1 rows, for three students."""
    import numpy as np
    from matplotlib.figure import Figure

    from fastdistill import Distiller, KMeansFeatures, LocalLinearRegressor, MLPRegressor, Ridge
    from fastdistill.datasets import make_friedman1

    X, y = make_friedman1(7000, n_features=5, noise=0.5, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    y = (y - y.mean()) / y.std()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 200-epoch teacher is good enough for a picture
        teacher = MLPRegressor(hidden_layer_sizes=(32, 32), random_state=0).fit(X[:1000],
                                                                                 y[:1000])
    X_unlabeled, X_test = X[1000:6000], X[6000:]
    t = teacher.predict(X_test)
    students = [
        ("Ridge on the raw features", Distiller(teacher, Ridge(alpha=1e-3))),
        ("Ridge on 64 k-means RBF features",
         Distiller(teacher, Ridge(alpha=1e-3), KMeansFeatures(64, random_state=0))),
        ("LocalLinearRegressor, 16 regions",
         Distiller(teacher, LocalLinearRegressor(16, random_state=0))),
    ]
    fig = Figure(figsize=(10.5, 3.9), layout="constrained")
    axes = fig.subplots(1, 3, sharex=True, sharey=True)
    lim = (t.min() - 0.2, t.max() + 0.2)
    for ax, (name, d) in zip(axes, students):
        d.fit(X_unlabeled)
        ax.scatter(t, d.predict(X_test), s=3, alpha=0.4, color="tab:blue", rasterized=True)
        ax.plot(lim, lim, color="black", lw=0.8)
        ax.set_title(f"{name}\nfidelity R\u00b2 = {d.fidelity(X_test):.3f}", fontsize=9)
        ax.set_xlabel("teacher prediction")
        ax.set_xlim(lim)
        ax.set_ylim(lim)
    axes[0].set_ylabel("student prediction")
    fig.suptitle("Friedman #1 (5 features): MLP (32, 32) teacher distilled over "
                 "5,000 unlabeled rows; 1,000 held-out rows", fontsize=10)
    return _png(fig)


def umatrix_figure() -> bytes:
    """U-matrix of a SOM trained on four Gaussian clusters, with the hit counts."""
    import numpy as np
    from matplotlib.figure import Figure

    from fastdistill import SOM

    rng = np.random.default_rng(0)
    centers = 4.0 * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]])
    X = np.concatenate([c + rng.normal(size=(300, 3)) for c in centers])
    som = SOM(12, 12, sigma=2.0, n_epochs=20, random_state=0).fit(X)
    fig = Figure(figsize=(5.2, 4.4), layout="constrained")
    ax = fig.subplots()
    som.plot(X, ax=ax)
    ax.set_title("SOM 12 x 12 on four clusters: U-matrix and hits", fontsize=10)
    return _png(fig)


FIGURES = {
    "figures/fidelity.png": fidelity_figure,
    "figures/som_umatrix.png": umatrix_figure,
}
_made: dict[str, bytes] = {}  # kept across rebuilds of `mkdocs serve`


def on_files(files, config):
    """Add every figure to the site as a generated file."""
    _find_fastdistill()
    for uri, make in FIGURES.items():
        if uri not in _made:
            _made[uri] = make()
        files.append(File.generated(config, uri, content=_made[uri]))
    return files

