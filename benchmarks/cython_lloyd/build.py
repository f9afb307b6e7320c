"""Compile ``lloyd_cy.pyx`` in place (an experiment: not part of the package).

Usage::

    pip install cython          # build-time only
    python benchmarks/cython_lloyd/build.py

Flags: ``-O3 -march=native`` (Numba also compiles for the host CPU),
OpenMP, and the floating-point flags matching fastdistill's safe fast-math
set (reassociation, contraction, reciprocals, no signed zeros; never
``-ffinite-math-only``). ``-fno-strict-aliasing``: the key search reads
doubles as 64-bit integers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CFLAGS = [
    "-O3", "-march=native", "-fopenmp", "-fno-strict-aliasing",
    "-fno-math-errno", "-fno-trapping-math", "-fassociative-math",
    "-fno-signed-zeros", "-freciprocal-math", "-ffp-contract=fast",
]


def main() -> int:
    import numpy as np
    from Cython.Build import cythonize
    from setuptools import Extension
    from setuptools.dist import Distribution

    ext = Extension(
        "lloyd_cy",
        [str(HERE / "lloyd_cy.pyx")],
        include_dirs=[np.get_include()],
        extra_compile_args=CFLAGS,
        extra_link_args=["-fopenmp"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    os.chdir(HERE)
    dist = Distribution({"name": "lloyd_cy", "ext_modules": cythonize([ext], quiet=True)})
    cmd = dist.get_command_obj("build_ext")
    cmd.inplace = True
    cmd.build_temp = str(HERE / "build")
    dist.run_command("build_ext")
    print(f"built {next(HERE.glob('lloyd_cy*.so'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
