"""Matrix decomposition: PCA with covariance, exact and randomized solvers.

Examples
--------
>>> from fastdistill.decomposition import PCA
"""

from ._pca import PCA

__all__ = ["PCA"]
