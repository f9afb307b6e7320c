"""Self-organizing maps (Kohonen), online and batch, compiled.

Examples
--------
>>> from fastdistill.som import SOM
"""

from ._som import SOM

__all__ = ["SOM"]
