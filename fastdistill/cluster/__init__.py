"""Clustering: Lloyd k-means with compiled passes and k-means++ seeding.

Examples
--------
>>> from fastdistill.cluster import KMeans
"""

from ._kmeans import KMeans, kmeans_plusplus

__all__ = ["KMeans", "kmeans_plusplus"]
