"""Estimator protocol shared by every fastdistill estimator.

The classes here implement scikit-learn's estimator protocol (``get_params``,
``set_params``, ``__repr__``, ``__sklearn_tags__``, ``score``) without
importing scikit-learn. scikit-learn is imported lazily, only when
scikit-learn itself asks an estimator for its tags, so fastdistill runs where
scikit-learn is not installed and still plugs into ``Pipeline``,
``GridSearchCV``, ``clone`` and ``check_estimator`` where it is.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any, Iterator

import numpy as np

from ._metrics import accuracy_score, r2_score

__all__ = [
    "clone",
    "clone_keeping",
    "available_if",
    "BaseEstimator",
    "RegressorMixin",
    "ClassifierMixin",
    "TransformerMixin",
    "ClusterMixin",
]


def clone(estimator: Any) -> Any:
    """A new, unfitted estimator with the same parameters (scikit-learn's ``clone``).

    Parameters that are estimators are cloned too (so a pipeline given as a
    parameter is never shared), lists and tuples element by element, and
    anything else is deep-copied.

    Parameters
    ----------
    estimator : estimator, or list/tuple of estimators, or any object
        What to copy.

    Returns
    -------
    copy : object
        The unfitted copy.

    Examples
    --------
    >>> from fastdistill import Ridge
    >>> from fastdistill._base import clone
    >>> r = Ridge(alpha=2.0)
    >>> c = clone(r)
    >>> c is r, c.alpha
    (False, 2.0)
    """
    import copy

    if isinstance(estimator, (list, tuple, set, frozenset)):
        return type(estimator)(clone(e) for e in estimator)
    if not hasattr(estimator, "get_params") or isinstance(estimator, type):
        return copy.deepcopy(estimator)
    if hasattr(estimator, "__sklearn_clone__"):  # an estimator that clones itself
        return estimator.__sklearn_clone__()
    params = estimator.get_params(deep=False)
    return type(estimator)(**{k: clone(v) for k, v in params.items()})


def clone_keeping(estimator: Any, *names: str) -> Any:
    """:func:`clone` every parameter of ``estimator`` except ``names``, kept as they are.

    For parameters that hold a given, already fitted model (a distiller's
    teacher): ``clone`` - and with it ``GridSearchCV`` and
    ``cross_val_score`` - must not replace it by an unfitted copy.

    Parameters
    ----------
    estimator : estimator
        The estimator to copy.
    *names : str
        Parameters passed through unchanged.

    Returns
    -------
    new : estimator
        A new, unfitted estimator.
    """
    params = estimator.get_params(deep=False)
    return type(estimator)(**{k: (v if k in names else clone(v)) for k, v in params.items()})


class available_if:
    """Method descriptor that exists only when ``check(self)`` is true.

    ``hasattr(estimator, "partial_fit")`` is then False where the method would
    not work (as scikit-learn's ``available_if``), so tools that probe for a
    method skip it.

    Parameters
    ----------
    check : callable
        ``check(estimator) -> bool``.
    """

    def __init__(self, check):
        self.check = check

    def __call__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__
        return self

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        if not self.check(obj):
            raise AttributeError(
                f"{type(obj).__name__} has no {self.fn.__name__} with these parameters."
            )
        return self.fn.__get__(obj, owner)


class BaseEstimator:
    """Base class for fastdistill estimators.

    Constructor parameters are stored unchanged by ``__init__`` (which does no
    other work); everything learned by ``fit`` is stored in attributes with a
    trailing underscore.
    """

    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        names = []
        for p in params:
            if p.name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise RuntimeError(
                    f"{cls.__name__}.__init__ must list its parameters explicitly "
                    f"(no *args or **kwargs)."
                )
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Get the parameters of this estimator.

        Parameters
        ----------
        deep : bool, default=True
            Also return the parameters of contained estimators, as
            ``<component>__<parameter>``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                for key, sub in value.get_params(deep=True).items():
                    out[f"{name}__{key}"] = sub
            out[name] = value
        return out

    def set_params(self, **params: Any) -> "BaseEstimator":
        """Set the parameters of this estimator.

        Parameters
        ----------
        **params : dict
            Estimator parameters; ``<component>__<parameter>`` sets a parameter
            of a contained estimator.

        Returns
        -------
        self : estimator
            This estimator.

        Raises
        ------
        ValueError
            If a parameter name is not one of this estimator's parameters.
        """
        if not params:
            return self
        valid = self.get_params(deep=True)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, delim, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for estimator {self!r}. Valid "
                    f"parameters are: {sorted(self._get_param_names())!r}."
                )
            if delim:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
                valid[name] = value
        for name, sub_params in nested.items():
            valid[name].set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        changed = []
        sig = inspect.signature(type(self).__init__).parameters
        for name in self._get_param_names():
            value = getattr(self, name, None)
            default = sig[name].default
            if _differs(value, default):
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):
        """Describe this estimator to scikit-learn (imported lazily)."""
        from sklearn.utils import Tags, TargetTags

        tags = Tags(
            estimator_type=None,
            target_tags=TargetTags(required=False),
            transformer_tags=None,
            regressor_tags=None,
            classifier_tags=None,
        )
        self._update_tags(tags)
        return tags

    def _update_tags(self, tags) -> None:
        """Hook for subclasses to adjust scikit-learn tags."""

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Undo every attribute change if the block raises.

        ``fit`` and ``partial_fit`` run inside it, so a call that fails on bad
        input leaves the estimator exactly as it was (fitted or not). Arrays
        changed in place must be restored by the caller.
        """
        saved = dict(self.__dict__)
        try:
            yield
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def save(self, path) -> None:
        """Save this estimator to one portable ``.npz`` file (no pickle).

        Same as :func:`fastdistill._persist.save`; read it back with
        :func:`fastdistill.load`.

        Parameters
        ----------
        path : str, path-like or writable binary file
            Where to write (exactly this name; ``.npz`` is the natural suffix).
        """
        from ._persist import _save

        _save(self, path, stacklevel=3)

    def __sklearn_is_fitted__(self) -> bool:
        """Return whether ``fit`` has been called."""
        return any(
            k.endswith("_") and not k.startswith("__") for k in vars(self)
        )


def _differs(value: Any, default: Any) -> bool:
    if value is default:
        return False
    if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
        return True
    try:
        return bool(value != default)
    except Exception:  # noqa: BLE001 - odd types compare by identity
        return True


class RegressorMixin:
    """Mixin for regressors: R² ``score`` and regressor tags."""

    def __sklearn_tags__(self):
        """Describe this estimator to scikit-learn (imported lazily)."""
        from sklearn.utils import RegressorTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        tags.target_tags.required = True
        return tags

    def score(self, X, y, sample_weight=None) -> float:
        """Return the coefficient of determination R² of the prediction.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True values for ``X``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            R² of ``self.predict(X)`` against ``y``, averaged uniformly over
            outputs.
        """
        return r2_score(y, self.predict(X), sample_weight=sample_weight)


class ClassifierMixin:
    """Mixin for classifiers: accuracy ``score`` and classifier tags."""

    def __sklearn_tags__(self):
        """Describe this estimator to scikit-learn (imported lazily)."""
        from sklearn.utils import ClassifierTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        return tags

    def score(self, X, y, sample_weight=None) -> float:
        """Return the mean accuracy on the given test data and labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True labels for ``X``.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean accuracy of ``self.predict(X)`` (subset accuracy for
            multilabel targets).
        """
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)


class TransformerMixin:
    """Mixin for transformers: ``fit_transform`` and transformer tags.

    Every fastdistill transformer computes in the input's float dtype, so the
    tags say that float32 and float64 are preserved.
    """

    def __sklearn_tags__(self):
        """Describe this estimator to scikit-learn (imported lazily)."""
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64", "float32"])
        return tags

    def fit_transform(self, X, y=None, **fit_params):
        """Fit to ``X``, then transform it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.
        y : None
            Ignored unless the transformer uses targets.
        **fit_params : dict
            Further arguments to ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_new)
            Transformed samples.
        """
        if y is None:
            return self.fit(X, **fit_params).transform(X)
        return self.fit(X, y, **fit_params).transform(X)


class ClusterMixin:
    """Mixin for clusterers: ``fit_predict`` and clusterer tags."""

    def __sklearn_tags__(self):
        """Describe this estimator to scikit-learn (imported lazily)."""
        tags = super().__sklearn_tags__()
        tags.estimator_type = "clusterer"
        if tags.transformer_tags is not None:
            tags.transformer_tags.preserves_dtype = []
        return tags

    def fit_predict(self, X, y=None, **kwargs) -> np.ndarray:
        """Fit to ``X`` and return the cluster label of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Input samples.
        y : None
            Ignored.
        **kwargs : dict
            Further arguments to ``fit``.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Cluster labels.
        """
        self.fit(X, **kwargs)
        return self.labels_
