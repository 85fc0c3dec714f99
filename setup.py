"""Build the Cython extensions: every src/NAME.pyx becomes the module fastblas.NAME.

A template src/NAME.pyx.tp (Tempita, as scikit-learn's ``_sgd_fast.pyx.tp``) is
rendered to src/NAME.pyx first: one source that spells out a class per dtype.

Each module links against SciPy's BLAS through ``cimport scipy.linalg.cython_blas``
(no link-time BLAS dependency) and against NumPy's static ``npyrandom``/``npymath``
libraries for the ``bitgen_t`` random C API used by the training loops.
"""
import os
import re
from glob import glob

import numpy as np
import scipy
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def check_blas_int():
    """Refuse to build against a SciPy whose cython_blas uses a 64-bit BLAS integer.

    fastblas passes ``int*`` lengths and strides (LP64); an ILP64 ``blas_int`` would
    silently truncate them, so detect it here rather than at run time.
    """
    pxd = os.path.join(os.path.dirname(scipy.__file__), "linalg", "cython_blas.pxd")
    with open(pxd) as f:
        text = f.read()
    match = re.search(r"ctypedef\s+(.+?)\s+blas_int\b", text)
    if match and match.group(1).strip() not in ("int", "int32_t"):
        raise RuntimeError(
            f"scipy.linalg.cython_blas uses a {match.group(1)!r} BLAS integer (ILP64); "
            "fastblas is written for the 32-bit BLAS integer. Build against an LP64 SciPy."
        )


check_blas_int()


def render_templates():
    """Render every src/*.pyx.tp to the .pyx beside it (generated, not in git)."""
    from Cython import Tempita
    for template in glob(os.path.join(HERE, "src", "*.pyx.tp")):
        with open(template) as f:
            text = Tempita.sub(f.read())
        target = template[:-len(".tp")]
        header = f"# Generated from {os.path.basename(template)} by setup.py: edit that.\n"
        with open(target, "w") as f:
            f.write(header + text)


render_templates()

numpy_root = os.path.dirname(np.__file__)
extensions = [
    Extension(
        "fastblas." + os.path.splitext(os.path.basename(pyx))[0],
        [os.path.relpath(pyx, HERE)],
        include_dirs=[np.get_include(), HERE, os.path.join(HERE, "src")],
        library_dirs=[os.path.join(numpy_root, "random", "lib"),
                      os.path.join(numpy_root, "_core", "lib")],
        libraries=["npyrandom", "npymath"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # Never -ffast-math: it would set flush-to-zero for the whole process.
        # -fno-math-errno lets loops calling sqrt vectorise; results are unchanged.
        extra_compile_args=["-O3", "-fno-math-errno"],
    )
    for pyx in sorted(glob(os.path.join(HERE, "src", "*.pyx")))
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=[HERE, os.path.join(HERE, "src")],
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    ),
)
