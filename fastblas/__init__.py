"""fastblas: SciPy's BLAS called straight from Cython.

A drop-in faster ``dot`` and ``matmul`` (every numeric dtype: float and complex
through BLAS, integers, bool and float16 through BLAS with NumPy's exact results)
and the BLAS routines people reach for next, plus neural-network training loops
kept in nogil Cython (``fastblas.nn``).
"""
try:
    from fastblas import _blas  # noqa: F401  (compiled; absent from a source checkout)
except ImportError as exc:  # pragma: no cover - depends on how fastblas was started
    raise ImportError(
        "fastblas's compiled modules are missing: this looks like the source tree "
        f"({__path__[0]}). Install it (pip install .) and run from another directory, "
        "or build in place: python setup.py build_ext --inplace"
    ) from exc

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
    matmul,
    nrm2,
    scal,
    swap,
)
from fastblas._config import show_config

__version__ = "0.1.0"

__all__ = [
    "asum", "axpy", "copy", "dot", "dsdot", "gemm", "gemv", "ger", "iamax",
    "matmul", "nrm2", "scal", "show_config", "swap",
]


def get_include() -> str:
    """Directory holding fastblas's .pxd files, for ``cythonize(include_path=...)``.

    ``from fastblas.cyblas cimport gemm`` needs the directory *containing* the
    ``fastblas`` package on the Cython include path; site-packages usually is.
    """
    import os
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
