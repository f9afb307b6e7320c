"""Teacher -> student distillation over unlabeled data."""

from __future__ import annotations

import contextlib
import numbers
import time
import warnings

import numpy as np

from .._base import BaseEstimator, RegressorMixin, clone, clone_keeping
from .._metrics import r2_score
from .._validation import (
    check_array,
    check_is_fitted,
    check_option,
    check_scalar,
    trusted_finite,
    validate_data,
)
from ._metric import TeacherMetric, capped_probe_rows, probe_queries
from ._targets import is_classifier, query_teacher, softmax, teacher_kind

__all__ = ["Distiller"]

#: Bytes of one streamed chunk (features of a chunk of rows, or a teacher call).
_CHUNK_BYTES = 16 << 20
#: A feature matrix larger than this is never built whole: the student
#: (when closed form) is fitted chunk by chunk.
_STREAM_BYTES = 256 << 20
#: A teacher call on a chunk of rows is budgeted as if each row took this
#: many times its own size inside the teacher (hidden activations): 8192
#: rows of 32 float64 features per call. Each call also costs a fixed
#: overhead (validation, dispatch; about 0.3-0.5 ms for an MLP), so
#: chunks should not be smaller.
_TEACHER_EXPANSION = 8


class Distiller(RegressorMixin, BaseEstimator):
    """Distill a teacher into a small, fast student over unlabeled data.

    ``fit`` builds the transfer set (the unlabeled rows, optionally augmented
    or subsampled by ``transfer``, capped at ``max_teacher_queries``, plus any
    labeled rows), asks the teacher about every transfer row (in chunks),
    learns the feature map on every real row (unlabeled and labeled: it needs
    no teacher, so a query cap does not starve it), and fits the student to
    reproduce the teacher on the transfer rows:

    * **regression**: the student fits the teacher's outputs (squared error;
      closed form for linear students). On labeled rows the target is
      ``(1 - alpha) * teacher + alpha * y`` - exactly the ``alpha``-weighted
      sum of the two squared errors.
    * **classification**, ``target="logits"``: the student (a regressor, e.g.
      :class:`~fastdistill.Ridge` or
      :class:`~fastdistill.distill.LocalLinearRegressor`) fits the teacher's
      row-centred logits (L2 on logits, closed form for linear students);
      teachers without logits give the logarithm of ``predict_proba``.
    * **classification**, ``target="proba"``: the student (one that accepts
      ``fit(X, P, soft_targets=True)``, e.g.
      :class:`~fastdistill.MLPClassifier`) fits the teacher's probabilities
      softened at ``temperature`` by soft-target cross-entropy. The student
      learns logits ``z / T``; its probabilities are ``softmax(T * z')``. On
      labeled rows the loss is Hinton et al.'s: ``(1 - alpha) T^2
      CE(p_T, softmax(z / T)) + alpha CE(y, softmax(z))``, the hard labels
      at temperature 1 and the soft term scaled by ``T^2`` (for a student
      whose ``fit`` takes ``hard_targets=``, as ``MLPClassifier``'s does,
      and ``temperature >= 1``; otherwise the target is ``(1 - alpha) * p_T
      + alpha * onehot(y)`` at temperature T, the same loss for ``T = 1``).
      With ``target="logits"`` the labels are not used (a warning says so).

    When the feature matrix of the transfer set would exceed 256 MB and the
    student is a closed-form linear model, the student is fitted chunk by
    chunk (features of a chunk computed and accumulated straight into the
    Gram matrix), so it is never held whole.

    Parameters
    ----------
    teacher : fitted estimator
        The model to imitate: anything with ``predict`` (regression), or with
        ``predict_proba``/``decision_function``/``predict_logits`` and
        ``classes_`` (classification).
    student : estimator
        The model to train; it is cloned, so the given instance is never
        fitted.
    features : transformer or None, default=None
        Feature map for the student, learned from the transfer rows
        (:class:`KMeansFeatures`, :class:`SOMFeatures`, :class:`PCAFeatures`,
        any transformer).
    transfer : transfer-set builder or None, default=None
        An object with ``sample(X)`` returning the transfer rows made from the
        unlabeled rows (:class:`MUNGE`, :class:`GaussianClusters`,
        :class:`KMeansSelection`, ...). ``None`` uses the unlabeled rows.
    temperature : float, default=1.0
        Softening temperature for ``target="proba"``.
    target : {"auto", "logits", "proba"}, default="auto"
        For classifier teachers: what the student matches. "auto" picks
        "logits" when the teacher exposes them (``predict_logits`` or
        ``decision_function``) and the student can fit them; otherwise
        "proba" when the student accepts soft targets, else "logits" (the
        logarithm of the teacher's probabilities). "logits" works with
        regressors and with classifiers that take ``fit(X, classes,
        logits=Z)`` (``LocalLinearClassifier``, ``MLPClassifier``). For an
        ``MLPClassifier`` student, ``"proba"`` at ``temperature`` 2 can learn
        faster than logit matching (large logits slow squared-error
        training; see the user guide). With labeled rows (and ``alpha >
        0``) "auto" picks "proba" for a student that takes the labels beside
        soft targets (``MLPClassifier``), since logits cannot carry labels.
    alpha : float, default=0.1
        Weight of the hard labels on labeled rows (0: teacher only).
    max_teacher_queries : int or None, default=None
        Cap on the rows the teacher labels. When the transfer set is larger,
        a diverse subset is chosen by k-means cluster coverage
        (:class:`KMeansSelection`); labeled rows always count. Each chosen
        row stands for its cluster: the student is fitted with it weighted by
        the cluster's size (so the weighted rows stand for all unlabeled
        rows, and the student's penalty keeps its strength), when the
        student's ``fit`` takes ``sample_weight``; the same holds for a
        ``transfer`` selection that sets ``weights_``.
    metric : None, "teacher" or TeacherMetric, default=None
        Input metric for the feature map and the student. ``"teacher"``
        learns one from the teacher's gradients (:class:`TeacherMetric`, its
        average gradient outer product, with the Distiller's teacher and
        ``random_state``; pass a ``TeacherMetric`` to set its options): the
        rows are mapped to ``(x - mean) L`` before the feature map, so
        prototypes and bandwidths follow the directions the teacher depends
        on. Its probes (``2 * n_features * n_samples`` teacher queries) count
        against ``max_teacher_queries`` (then at most a quarter of the cap,
        by probing fewer rows). The feature map is then fitted on a mapped
        copy of the rows (one array the size of X). ``None`` keeps the
        input space as given.
    chunk_size : int or None, default=None
        Rows per teacher call and per streamed feature chunk (``None``: sized
        to keep each chunk near 16 MB).
    random_state : int, Generator, RandomState or None, default=None
        Seed of the query selection.
    verbose : int, default=0
        Print one line per step (teacher queries, features, student).

    Attributes
    ----------
    student_ : estimator
        The fitted student.
    features_ : transformer or None
        The fitted feature map.
    metric_ : TeacherMetric or None
        The fitted input metric (``metric`` set).
    transfer_ : object or None
        The fitted transfer-set builder.
    classes_ : ndarray
        Class labels (classifier teachers).
    target_ : str
        "regression", "logits" or "proba".
    n_transfer_ : int
        Rows the teacher labelled.
    n_teacher_queries_ : int
        Rows the teacher was asked about: ``n_transfer_`` plus the metric's
        probes.
    streamed_ : bool
        Whether the student was fitted chunk by chunk.
    fit_time_ : dict
        Seconds spent building the transfer set, querying the teacher,
        fitting the features and the student.
    n_features_in_ : int
        Number of input features.

    Examples
    --------
    >>> import numpy as np
    >>> from fastdistill import Ridge
    >>> from fastdistill.distill import Distiller, KMeansFeatures
    >>> rng = np.random.default_rng(0)
    >>> class Teacher:
    ...     def predict(self, X):
    ...         return np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    >>> X_unlabeled = rng.uniform(-1, 1, size=(3000, 2))
    >>> d = Distiller(Teacher(), Ridge(alpha=1e-3),
    ...               KMeansFeatures(n_clusters=32, random_state=0)).fit(X_unlabeled)
    >>> bool(d.fidelity(rng.uniform(-1, 1, size=(500, 2))) > 0.95)
    True
    """

    def __init__(self, teacher, student, features=None, transfer=None, *, temperature=1.0,
                 target="auto", alpha=0.1, max_teacher_queries=None, metric=None,
                 chunk_size=None, random_state=None, verbose=0):
        self.teacher = teacher
        self.student = student
        self.features = features
        self.transfer = transfer
        self.temperature = temperature
        self.target = target
        self.alpha = alpha
        self.max_teacher_queries = max_teacher_queries
        self.metric = metric
        self.chunk_size = chunk_size
        self.random_state = random_state
        self.verbose = verbose

    def _update_tags(self, tags) -> None:
        tags.target_tags.required = False
        tags.target_tags.multi_output = True

    def __sklearn_clone__(self):
        """Clone every parameter except the teacher, which stays the same fitted model.

        The teacher is a given, already fitted model (never fitted here), so
        ``clone`` - and with it ``GridSearchCV`` and ``cross_val_score`` -
        must not replace it by an unfitted copy.
        """
        return clone_keeping(self, "teacher")

    # ------------------------------------------------------------------ fit
    def _check_params(self, alpha) -> None:
        if self.teacher is None:
            raise ValueError(
                "This Distiller has no teacher (a loaded model keeps only its student); "
                "set teacher= to a fitted model before fit."
            )
        check_scalar(self.temperature, "temperature", numbers.Real, min_val=0.0,
                     include_min=False)
        check_option(self.target, "target", ["auto", "logits", "proba"])
        check_scalar(alpha, "alpha", numbers.Real, min_val=0.0, max_val=1.0)
        if not hasattr(self.student, "fit"):
            raise TypeError(
                f"student must be an estimator with fit and predict (Ridge, "
                f"LocalLinearRegressor, MLPClassifier, ...); got {self.student!r}."
            )
        if self.features is not None and not (hasattr(self.features, "fit")
                                              and hasattr(self.features, "transform")):
            raise TypeError(
                f"features must be a transformer with fit and transform (KMeansFeatures, "
                f"SOMFeatures, PCAFeatures, ...) or None; got {self.features!r}."
            )
        if self.max_teacher_queries is not None:
            check_scalar(self.max_teacher_queries, "max_teacher_queries", numbers.Integral,
                         min_val=1)
        if self.chunk_size is not None:
            check_scalar(self.chunk_size, "chunk_size", numbers.Integral, min_val=1)
        if not (self.metric is None or isinstance(self.metric, TeacherMetric)
                or (isinstance(self.metric, str) and self.metric == "teacher")):
            raise ValueError(
                f"metric must be None, 'teacher' or a TeacherMetric; got {self.metric!r}."
            )
        if self.transfer is not None and not hasattr(self.transfer, "sample"):
            raise TypeError(
                "transfer must have a sample(X) method (MUNGE, GaussianClusters, "
                f"KMeansSelection, ...); got {type(self.transfer).__name__}."
            )

    def _say(self, msg: str) -> None:
        if self.verbose:
            print(f"[Distiller] {msg}", flush=True)

    def _rows_per_chunk(self, width: int, itemsize: int) -> int:
        if self.chunk_size is not None:
            return int(self.chunk_size)
        return int(max(256, _CHUNK_BYTES // max(1, width * itemsize)))

    def _fit_metric(self, F, n_labeled: int, transfer_rows: int):
        """Fit ``metric_`` on the real rows ``F``; return its teacher queries.

        Under a query cap the metric probes at most a quarter of it, and the
        budget is checked before the teacher is asked anything:
        ``transfer_rows`` unlabeled rows (0: none needed) and ``n_labeled``
        labeled ones must still fit.
        """
        self.metric_ = None
        if self.metric is None:
            return 0
        metric = (TeacherMetric(random_state=self.random_state)
                  if isinstance(self.metric, str) else clone(self.metric))
        if metric.teacher is None:
            metric.set_params(teacher=self.teacher)
        if metric.random_state is None:
            metric.set_params(random_state=self.random_state)
        d = F.shape[1]
        cap = self.max_teacher_queries
        if cap is not None:
            rows = capped_probe_rows(metric.n_samples, cap, d)
            if rows < 1:
                raise ValueError(
                    f"max_teacher_queries={cap} is too small for metric='teacher', whose "
                    f"probes need 2 * n_features = {2 * d} queries per row within "
                    f"a quarter of the cap; raise the cap to at least {8 * d} or "
                    f"set metric=None."
                )
            metric.set_params(n_samples=rows)
            probes = probe_queries(rows, cap, F.shape)
            if n_labeled + probes + min(transfer_rows, 1) > cap:
                raise ValueError(
                    f"max_teacher_queries={cap} leaves no query for the unlabeled rows "
                    f"after the {n_labeled} labeled ones and the metric's {probes} probes; "
                    f"raise it above {n_labeled + probes}."
                )
        self._say(f"learning the teacher's metric on {min(metric.n_samples, F.shape[0]):,} rows")
        self.metric_ = metric.fit(F)
        return self.metric_.n_teacher_queries_

    def _inputs(self, X):
        """Rows as the feature map and the student see them (in the metric, if any)."""
        metric = getattr(self, "metric_", None)  # absent in models saved before it existed
        return X if metric is None else metric.transform(X)

    def _transfer_rows(self, X, n_labeled: int, spent: int = 0):
        """Build the unlabeled transfer rows: augmented/selected by ``transfer``, capped.

        ``spent`` teacher queries (the metric's probes) already count against
        the cap.

        Returns the rows and their weights (None for unit weights): a row
        chosen by a selection (``KMeansSelection``, the query cap) stands for
        the rows of its cluster, so it weighs the cluster's size. The weighted
        rows then sum to the objective over every unlabeled row (a coreset),
        ridge penalty included, so a cap does not silently strengthen the
        student's regularisation; a labeled row weighs one, as uncapped.
        """
        self.transfer_ = None
        weights = None
        if self.transfer is not None:
            self.transfer_ = clone(self.transfer)
            X = check_array(self.transfer_.sample(X), name="transfer rows", dtype=X.dtype)
            weights = getattr(self.transfer_, "weights_", None)
        cap = self.max_teacher_queries
        if cap is not None and X.shape[0] + n_labeled + spent > cap:
            budget = cap - n_labeled - spent
            if budget < 1:
                raise ValueError(
                    f"max_teacher_queries={cap} leaves no query for the unlabeled rows "
                    f"after the {n_labeled} labeled ones and the metric's {spent} probes; "
                    f"raise it above {n_labeled + spent}."
                )
            from ._transfer import KMeansSelection

            selection = KMeansSelection(budget, random_state=self.random_state)
            X = selection.sample(X)
            weights = selection.weights_
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
        return X, weights

    def _resolve_target(self, classification: bool, labels: bool = False) -> str:
        """``target="auto"``: logits when the teacher exposes them, else probabilities.

        Logits when the teacher has ``predict_logits`` or
        ``decision_function`` and the student can fit logits (a regressor, or
        a classifier whose ``fit`` takes ``logits=``); otherwise probabilities
        when the student accepts soft targets, and else the logarithm of the
        teacher's probabilities as logits. One exception: with hard labels
        (``labels``: labeled rows and ``alpha > 0``), which logits cannot
        carry, a student that takes them beside soft targets
        (``hard_targets=``, as ``MLPClassifier``) gets probabilities, so the
        labels are used (Hinton et al.'s loss).

        Logit matching is not always the faster learner: on the user guide's
        spiral problem (teacher logits of standard deviation 12.6) an
        ``MLPClassifier((16,))`` student agrees with the teacher on 0.980 of
        the rows when fitted on probabilities at T = 2 for 300 epochs, 0.857
        on logits (0.942 after 1,000) - large logits slow squared-error
        training. Pass ``target="proba"`` for such students.
        """
        if not classification:
            return "regression"
        if self.target != "auto":
            return self.target
        soft = _fit_accepts(self.student, "soft_targets")
        if soft and labels and self._hinton():
            return "proba"
        regressor = not (soft or is_classifier(self.student))
        if teacher_kind(self.teacher) != "predict_proba" and (
                regressor or _fit_accepts(self.student, "logits")):
            return "logits"
        return "proba" if soft else "logits"

    def _hinton(self) -> bool:
        """Whether hard labels go to the student beside the soft targets (Hinton's loss).

        Needs a student whose ``fit`` takes ``hard_targets=`` and a
        temperature of at least 1 (below 1 the labels' softmax is the softer
        one, which float32 probabilities at T cannot carry).
        """
        return _fit_accepts(self.student, "hard_targets") and self.temperature >= 1.0

    def _labeled_targets(self, T_lab, y, classes):
        """Blend the teacher's targets on labeled rows with the hard labels."""
        a = self._alpha
        if self.target_ == "regression":
            Y = np.asarray(y, dtype=T_lab.dtype)
            if Y.size != T_lab.size:
                raise ValueError(
                    f"y_labeled has shape {Y.shape} but the teacher gives "
                    f"{T_lab.size // max(1, T_lab.shape[0])} output(s) per row for the "
                    f"{T_lab.shape[0]} labeled rows; pass one target per output."
                )
            return (1.0 - a) * T_lab + a * Y.reshape(T_lab.shape)
        if self.target_ == "logits":
            warnings.warn(
                "target='logits' has no use for y_labeled: hard labels have no logits, so "
                "the teacher's logits stay the targets on the labeled rows. Pass "
                "target='proba' with a student that takes soft targets to use the labels, "
                "or alpha=0 to silence this.", UserWarning, stacklevel=4)
            return T_lab
        return (1.0 - a) * T_lab + a * _onehot(y, classes, T_lab)

    def fit(self, X_unlabeled, X_labeled=None, y_labeled=None, *, alpha=None):
        """Query the teacher on the transfer set and fit the student to it.

        ``fit(X, y)`` with a 1-D ``y`` (scikit-learn's convention, as used by
        ``cross_val_score`` and ``GridSearchCV``) means every row of ``X`` is
        labeled by ``y``.

        Parameters
        ----------
        X_unlabeled : array-like of shape (n_samples, n_features)
            Unlabeled rows (the transfer set, before ``transfer`` and the cap).
        X_labeled : array-like of shape (n_labeled, n_features), optional
            Labeled rows, always in the transfer set (or, 1-D, the labels of
            ``X_unlabeled``: see above).
        y_labeled : array-like of shape (n_labeled,) or (n_labeled, n_outputs), optional
            Their labels, mixed into the targets with weight ``alpha``.
        alpha : float, optional
            Overrides the ``alpha`` parameter for this call.

        Returns
        -------
        self : object
            The fitted distiller.
        """
        # scikit-learn's fit(X, y) (cross_val_score, GridSearchCV): every row
        # of X is labeled by the 1-D y.
        sk_style = X_labeled is not None and y_labeled is None and np.ndim(X_labeled) == 1
        if sk_style:
            y_labeled, X_labeled = X_labeled, None
        with self._transaction(), contextlib.ExitStack() as checked:
            self._alpha = self.alpha if alpha is None else alpha
            self._check_params(self._alpha)
            self._alpha = float(self._alpha)
            X = validate_data(self, X_unlabeled, reset=True)
            XL = X if sk_style else None
            if X_labeled is not None:
                XL = check_array(X_labeled, name="X_labeled", dtype=X.dtype)
            # Checked for NaN/inf once: the feature map, the teacher (when it
            # is a fastdistill estimator) and the student do not scan these
            # rows, or row chunks of them, again.
            checked.enter_context(trusted_finite(X, XL))
            if X_labeled is not None:
                if XL.shape[1] != X.shape[1]:
                    raise ValueError(
                        f"X_labeled has {XL.shape[1]} features but X_unlabeled has "
                        f"{X.shape[1]}; they must describe the same columns."
                    )
            if y_labeled is not None and XL is None:
                raise ValueError("y_labeled was given without X_labeled.")
            if XL is not None and y_labeled is not None:
                n_y = np.asarray(y_labeled).shape[0]
                if n_y != XL.shape[0]:
                    raise ValueError(
                        f"y_labeled has {n_y} rows but X_labeled has {XL.shape[0]}."
                    )
            n_lab = 0 if XL is None else XL.shape[0]
            classification = is_classifier(self.teacher)
            labels = XL is not None and y_labeled is not None and self._alpha > 0
            self.target_ = self._resolve_target(classification, labels)
            if not classification and not hasattr(self.teacher, "predict"):
                raise TypeError("teacher must have a predict method (a fitted model).")

            t0 = time.perf_counter()
            # The feature map (and the metric) learn from every real row: all
            # unlabeled rows, before augmentation or selection, and the
            # labeled ones.
            F = X if XL is None or XL is X else np.concatenate([X, XL])
            every_row_labeled = sk_style and self.transfer is None
            cap = self.max_teacher_queries
            if every_row_labeled and cap is not None and n_lab > cap:
                raise ValueError(
                    f"max_teacher_queries={cap} is below the {n_lab} rows of fit(X, y), "
                    f"where every row is labeled and asked about; pass the rows to label "
                    f"as fit(X_unlabeled) (the cap then chooses among them) or raise it."
                )
            spent = self._fit_metric(F, n_lab, 0 if every_row_labeled else X.shape[0])
            t_metric = time.perf_counter() - t0
            if every_row_labeled:
                R_unl, W = X[:0], None  # every row is already a labeled transfer row
            else:
                R_unl, W = self._transfer_rows(X, n_lab, spent)
            if XL is None or R_unl.shape[0] == 0:
                R = XL if XL is not None else R_unl
            elif R_unl is X and F is not X:
                R = F  # the same rows, already joined
            else:
                R = np.concatenate([R_unl, XL])
            if W is not None and XL is not None:
                W = np.concatenate([W, np.ones(n_lab)])
            t1 = time.perf_counter()
            self._say(f"querying the teacher on {R.shape[0]:,} rows")
            rows = self._rows_per_chunk(R.shape[1] * _TEACHER_EXPANSION, R.itemsize)
            T = query_teacher(self.teacher, R, classification=classification, chunk_rows=rows,
                              dtype=R.dtype)
            if classification:
                self.classes_ = np.asarray(getattr(self.teacher, "classes_",
                                                   np.arange(T.shape[1])))
                if self.classes_.shape[0] != T.shape[1]:
                    raise ValueError(
                        f"The teacher has {self.classes_.shape[0]} classes but gives "
                        f"{T.shape[1]} logit columns."
                    )
                if self.target_ == "proba":
                    if not _fit_accepts(self.student, "soft_targets"):
                        raise TypeError(
                            f"target='proba' needs a student with fit(X, P, "
                            f"soft_targets=True) such as MLPClassifier; "
                            f"{type(self.student).__name__} has none. Use target='logits'."
                        )
                    T = softmax(T, self.temperature)
            hard = None
            if labels:
                if self.target_ == "proba" and self._hinton():
                    # Hinton et al.'s loss: the labels at temperature 1, T^2-scaled.
                    hard = np.zeros_like(T)
                    hard[-n_lab:] = self._alpha * _onehot(y_labeled, self.classes_,
                                                          T[-n_lab:])
                else:
                    T = T.copy()
                    T[-n_lab:] = self._labeled_targets(T[-n_lab:], y_labeled,
                                                       getattr(self, "classes_", None))
            t2 = time.perf_counter()

            self.features_ = None
            if self.features is not None:
                self._say("fitting the feature map")
                self.features_ = clone(self.features).fit(self._inputs(F))
            t3 = time.perf_counter()
            self._say(f"fitting the student ({type(self.student).__name__})")
            self.student_ = clone(self.student)
            self.streamed_ = self._fit_student(R, T, W, hard)
            t4 = time.perf_counter()
            self.n_transfer_ = R.shape[0]
            self.n_teacher_queries_ = R.shape[0] + spent
            # The metric's probes are teacher queries: booked with them.
            self.fit_time_ = {"transfer": t1 - t0 - t_metric, "teacher": t2 - t1 + t_metric,
                              "features": t3 - t2, "student": t4 - t3}
        return self

    def _fit_student(self, R, T, W, hard=None) -> bool:
        """Fit ``student_`` on the features of ``R``; stream when they are too large.

        ``hard``: weighted one-hot labels for a soft-target student (never
        streamed: streaming is for closed-form students).
        """
        st = self.student_
        if W is not None and not _fit_accepts(st, "sample_weight"):
            W = None  # documented: a student without sample_weight sees unit weights
        if self.features_ is None:
            self._student_fit(st, self._inputs(R), T, W, hard)
            return False
        head = self._features(R[:1])
        width = head.shape[1]
        big = R.shape[0] * width * head.itemsize > _STREAM_BYTES
        if not (big or self.chunk_size is not None) or not hasattr(st, "_accumulate"):
            self._student_fit(st, self._features(R), T, W, hard)
            return False
        rows = self._rows_per_chunk(width, head.itemsize)
        # Feature maps with a fused kernel send each block of features straight
        # into the cross products (16,384 rows x 128 centers: 7.2-7.9 ms
        # against 8.0-8.6 ms forming the chunk's features first).
        fuses = getattr(self.features_, "_fuses_gram", None)
        fused = hasattr(st, "_accumulate_features") and fuses is not None and fuses()
        for start in range(0, R.shape[0], rows):
            sl = slice(start, start + rows)
            w = None if W is None else W[sl]
            if fused:
                st._accumulate_features(self.features_, self._inputs(R[sl]), T[sl], w)
            else:
                st._accumulate(self._features(R[sl]), T[sl], w)
        st._solve_accumulated()
        return True

    def _student_fit(self, st, Z, T, W, hard=None) -> None:
        kw = {} if W is None else {"sample_weight": W}
        if hard is not None:
            kw.update(hard_targets=hard, temperature=float(self.temperature))
        if self.target_ == "proba":
            st.fit(Z, T, soft_targets=True, **kw)
        elif self.target_ == "logits" and _fit_accepts(st, "logits"):
            st.fit(Z, self.classes_, logits=T, **kw)  # a classifier student fitted on logits
        else:
            st.fit(Z, T, **kw)

    # -------------------------------------------------------------- predict
    def _outputs(self, X) -> np.ndarray:
        """Student outputs (regression) or logits (classification), in row chunks.

        The feature matrix of a chunk is dropped before the next one, so
        predicting on many rows never holds their whole feature matrix.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        if self.features_ is None:
            return self._chunk_outputs(self._inputs(X))
        width = self._features(X[:1]).shape[1]
        rows = self._rows_per_chunk(width, X.itemsize)
        if X.shape[0] <= rows:
            return self._chunk_outputs(self._features(X))
        return np.concatenate([self._chunk_outputs(self._features(X[s:s + rows]))
                               for s in range(0, X.shape[0], rows)])

    def _features(self, X):
        """Return the student's inputs for rows ``X``: metric, then feature map."""
        return self.features_.transform(self._inputs(X))

    def _chunk_outputs(self, Z) -> np.ndarray:
        st = self.student_
        if self.target_ == "proba":
            if hasattr(st, "predict_logits"):
                Zs = np.asarray(st.predict_logits(Z))
            else:
                Zs = np.log(np.clip(np.asarray(st.predict_proba(Z)), 1e-300, None))
            return self.temperature * Zs
        if self.target_ == "logits" and _fit_accepts(st, "logits"):
            get = getattr(st, "predict_logits", None) or st.decision_function
            out = np.asarray(get(Z))
            return np.column_stack([-0.5 * out, 0.5 * out]) if out.ndim == 1 else out
        return np.asarray(st.predict(Z))

    def _require_classes(self, what: str) -> None:
        check_is_fitted(self)
        if self.target_ == "regression":
            raise AttributeError(f"{what} is available for classifier teachers only.")

    def decision_function(self, X) -> np.ndarray:
        """Return the student's logits (classifier teachers).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes)
            Student logits (defined up to a per-row constant).
        """
        self._require_classes("decision_function")
        return self._outputs(X)

    def predict(self, X) -> np.ndarray:
        """Predict with the student (class labels for classifier teachers).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        y_pred : ndarray
            Student outputs, or labels.
        """
        out = self._outputs(X)
        if self.target_ == "regression":
            return out
        return self.classes_[np.argmax(out, axis=1)]

    def predict_proba(self, X) -> np.ndarray:
        """Return the student's class probabilities (classifier teachers).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        self._require_classes("predict_proba")
        return softmax(self._outputs(X))

    def score(self, X, y, sample_weight=None) -> float:
        """R² (regression) or accuracy (classification) of the student on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.
        y : array-like
            True targets or labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        score : float
            R² or accuracy.
        """
        from .._metrics import accuracy_score

        check_is_fitted(self)
        if self.target_ == "regression":
            return r2_score(y, self.predict(X), sample_weight=sample_weight)
        return accuracy_score(y, self.predict(X), sample_weight=sample_weight)

    def fidelity(self, X) -> float:
        """How well the student reproduces the teacher on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows.

        Returns
        -------
        fidelity : float
            R² of the student's outputs against the teacher's (regression), or
            the rate at which they predict the same class (classification).
        """
        check_is_fitted(self)
        if self.teacher is None:
            raise ValueError("fidelity needs the teacher; set teacher= on this Distiller.")
        X = validate_data(self, X, reset=False)
        rows = self._rows_per_chunk(X.shape[1] * _TEACHER_EXPANSION, X.itemsize)
        if self.target_ == "regression":
            t_out = query_teacher(self.teacher, X, classification=False, chunk_rows=rows,
                                  dtype=np.float64)
            return r2_score(t_out, self.predict(X))
        t_lab = np.concatenate([np.asarray(self.teacher.predict(X[s:s + rows]))
                                for s in range(0, X.shape[0], rows)])
        return float(np.mean(t_lab == self.predict(X)))

    def report(self, X, y=None, *, n_repeats: int = 3, curve=None):
        """Measure the student against the teacher on ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Held-out rows.
        y : array-like, optional
            Their true targets (adds the teacher's and student's scores).
        n_repeats : int, default=3
            Timing repeats of each predict (the best is kept).
        curve : BudgetCurve, optional
            A fidelity-versus-teacher-queries curve (:meth:`budget_curve`) to
            include.

        Returns
        -------
        report : DistillReport
            Printable; ``to_dict()`` for JSON.
        """
        from ._report import build_report

        check_is_fitted(self)
        return build_report(self, X, y, n_repeats=n_repeats, curve=curve)

    def budget_curve(self, X_unlabeled, X_eval, sizes, *, strategies=("kmeans", "random")):
        """Fidelity against the number of teacher queries, for each way of choosing them.

        Refits clones of this distiller with each query budget (cluster
        coverage or a random subset) and measures their fidelity on
        ``X_eval``; this distiller is left as it is.

        Parameters
        ----------
        X_unlabeled : array-like of shape (n_samples, n_features)
            Unlabeled rows.
        X_eval : array-like of shape (n_eval, n_features)
            Held-out rows.
        sizes : sequence of int
            Query budgets.
        strategies : sequence of {"kmeans", "random"}, default=("kmeans", "random")
            How the queried rows are chosen.

        Returns
        -------
        curve : BudgetCurve
            Printable; ``queries_to_reach(0.95)`` gives the queries each
            strategy needs for 95 % of the uncapped fidelity.
        """
        from ._report import budget_curve

        return budget_curve(self, X_unlabeled, X_eval, sizes, strategies=strategies)


def _onehot(y, classes: np.ndarray, like: np.ndarray) -> np.ndarray:
    """One-hot rows of the labels ``y`` over ``classes`` (shape and dtype of ``like``)."""
    idx = np.searchsorted(classes, np.asarray(y))
    idx = np.clip(idx, 0, classes.shape[0] - 1)
    if np.any(classes[idx] != np.asarray(y)):
        raise ValueError(
            f"y_labeled has labels not among the teacher's classes {classes.tolist()}."
        )
    onehot = np.zeros_like(like)
    onehot[np.arange(like.shape[0]), idx] = 1.0
    return onehot


def _fit_accepts(student, name: str) -> bool:
    """Whether ``student.fit`` takes the keyword ``name``."""
    import inspect

    fit = getattr(student, "fit", None)
    if fit is None:
        return False
    try:
        return name in inspect.signature(fit).parameters
    except (TypeError, ValueError):
        return False
