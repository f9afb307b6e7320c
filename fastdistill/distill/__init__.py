"""Distillation: teacher -> student over unlabeled data, with learned feature maps.

Examples
--------
>>> from fastdistill.distill import Distiller, KMeansFeatures
"""

from ._distiller import Distiller
from ._features import KMeansFeatures

__all__ = ["Distiller", "KMeansFeatures"]
