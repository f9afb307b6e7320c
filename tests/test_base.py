"""Estimator protocol: params, repr, and use inside scikit-learn tooling."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from fastdistill.linear_model import LinearRegression, Ridge, SGDRegressor


def test_get_set_params_and_repr():
    r = Ridge(alpha=2.0)
    assert r.get_params() == {"alpha": 2.0, "copy_X": True, "fit_intercept": True,
                              "solver": "auto"}
    assert repr(r) == "Ridge(alpha=2.0)"
    assert r.set_params(alpha=3.0, fit_intercept=False) is r
    assert repr(r) == "Ridge(alpha=3.0, fit_intercept=False)"
    with pytest.raises(ValueError, match="Invalid parameter 'alpah'"):
        r.set_params(alpah=1.0)
    assert repr(LinearRegression()) == "LinearRegression()"


def test_init_does_no_validation():
    # Constructor stores parameters untouched; fit validates.
    r = Ridge(alpha=-5.0)
    assert r.alpha == -5.0
    with pytest.raises(ValueError, match="alpha"):
        r.fit(np.ones((3, 2)), np.ones(3))


def test_pickle_round_trip(rng):
    X = rng.normal(size=(50, 4))
    y = X @ np.arange(4.0)
    for model in (LinearRegression(), Ridge(), SGDRegressor(random_state=0)):
        model.fit(X, y)
        back = pickle.loads(pickle.dumps(model))
        np.testing.assert_array_equal(back.predict(X), model.predict(X))


def test_works_in_sklearn_tools(rng):
    pytest.importorskip("sklearn")
    from sklearn.base import clone, is_regressor
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = rng.normal(size=(120, 5))
    y = X @ np.array([1.0, 0.0, -1.0, 2.0, 0.5]) + 0.1 * rng.normal(size=120)
    assert is_regressor(Ridge())
    c = clone(Ridge(alpha=4.0))
    assert c.alpha == 4.0 and not hasattr(c, "coef_")
    pipe = make_pipeline(StandardScaler(), Ridge(alpha=0.1)).fit(X, y)
    assert pipe.score(X, y) > 0.99
    scores = cross_val_score(LinearRegression(), X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.98)
    grid = GridSearchCV(Ridge(), {"alpha": [1e-3, 1e3]}, cv=3).fit(X, y)
    assert grid.best_params_ == {"alpha": 1e-3}
    nested = GridSearchCV(pipe, {"ridge__alpha": [0.1, 1.0]}, cv=3).fit(X, y)
    assert nested.best_estimator_.named_steps["ridge"].alpha in (0.1, 1.0)
