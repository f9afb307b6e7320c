"""Build script: only declares compiled extensions; metadata is in pyproject.toml.

fastdistill's kernels are Numba functions compiled at run time (and cached),
so the package needs no C compiler to install. Cython extensions are added
here, in EXTENSIONS, only where they measurably beat the Numba kernel.
"""

from setuptools import setup

EXTENSIONS: list = []

setup(ext_modules=EXTENSIONS)
