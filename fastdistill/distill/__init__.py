"""Distillation: teacher -> student over unlabeled data, with learned feature maps.

Examples
--------
>>> from fastdistill.distill import Distiller, KMeansFeatures
"""

from ._distiller import Distiller
from ._features import KMeansFeatures, PCAFeatures, SOMFeatures
from ._local import LocalLinearClassifier, LocalLinearRegressor
from ._metric import TeacherMetric
from ._report import BudgetCurve, DistillReport, count_parameters
from ._transfer import MUNGE, GaussianClusters, KMeansSelection, RandomSelection

__all__ = [
    "BudgetCurve",
    "Distiller",
    "DistillReport",
    "GaussianClusters",
    "KMeansFeatures",
    "KMeansSelection",
    "LocalLinearClassifier",
    "LocalLinearRegressor",
    "MUNGE",
    "PCAFeatures",
    "RandomSelection",
    "SOMFeatures",
    "TeacherMetric",
    "count_parameters",
]
