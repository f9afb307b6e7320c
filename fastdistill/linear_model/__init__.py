"""Linear students: closed-form least squares and stochastic gradient descent.

Examples
--------
>>> from fastdistill.linear_model import LinearRegression, Ridge, SGDRegressor
"""

from ._least_squares import LinearRegression, Ridge
from ._sgd import SGDRegressor

__all__ = ["LinearRegression", "Ridge", "SGDRegressor"]
