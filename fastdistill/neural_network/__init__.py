"""Multi-layer perceptrons (teachers and students) with compiled training epochs.

Examples
--------
>>> from fastdistill.neural_network import MLPRegressor, MLPClassifier
"""

from ._mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPRegressor", "MLPClassifier"]
