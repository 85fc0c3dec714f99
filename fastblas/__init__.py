"""fastblas: SciPy's BLAS called straight from Cython.

A drop-in faster ``dot`` and the BLAS routines people reach for next, for float32
and float64 NumPy arrays, plus neural-network training loops kept in nogil Cython
(``fastblas.nn``).
"""
from fastblas._blas import (
    asum,
    axpy,
    copy,
    dot,
    dsdot,
    gemm,
    gemv,
    ger,
    iamax,
    nrm2,
    scal,
    show_config,
    swap,
)

__version__ = "0.1.0"

__all__ = [
    "asum", "axpy", "copy", "dot", "dsdot", "gemm", "gemv", "ger", "iamax",
    "nrm2", "scal", "show_config", "swap",
]


def get_include():
    """Directory holding fastblas's .pxd files, for ``cythonize(include_path=...)``.

    ``from fastblas.cyblas cimport gemm`` needs the directory *containing* the
    ``fastblas`` package on the Cython include path; site-packages usually is.
    """
    import os
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
