"""Type stubs for the compiled facade ``fastblas._blas`` (re-exported by ``fastblas``).

Every BLAS function takes float32 or float64 ndarrays, all operands of one dtype:
the type variable ``_F`` ties the operands' dtypes together and to the result's.
Scalars (``alpha``, ``beta``, ``a``) are real numbers; the in-place functions
return the array they wrote into.
"""
from typing import Any, SupportsFloat, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

_F = TypeVar("_F", np.float32, np.float64)
_ArrayT = TypeVar("_ArrayT", bound=np.ndarray[Any, Any])

# dot: a drop-in for np.dot, typed as NumPy types it (the result's type depends on
# the operands' number of dimensions, which the type system does not see).
@overload
def dot(a: ArrayLike, b: ArrayLike, out: None = None) -> Any: ...
@overload
def dot(a: ArrayLike, b: ArrayLike, out: _ArrayT) -> _ArrayT: ...

# Level 1
def dsdot(x: NDArray[np.float32], y: NDArray[np.float32]) -> np.float64: ...
def axpy(a: SupportsFloat, x: NDArray[_F], y: NDArray[_F]) -> NDArray[_F]: ...
def scal(a: SupportsFloat, x: NDArray[_F]) -> NDArray[_F]: ...
def copy(x: NDArray[_F], y: NDArray[_F]) -> NDArray[_F]: ...
def swap(x: NDArray[_F], y: NDArray[_F]) -> tuple[NDArray[_F], NDArray[_F]]: ...
def nrm2(x: NDArray[_F]) -> _F: ...
def asum(x: NDArray[_F]) -> _F: ...
def iamax(x: NDArray[_F]) -> int: ...

# Level 2
def gemv(
    alpha: SupportsFloat,
    A: NDArray[_F],
    x: NDArray[_F],
    beta: SupportsFloat = 0.0,
    y: NDArray[_F] | None = None,
    trans: bool = False,
) -> NDArray[_F]: ...
def ger(alpha: SupportsFloat, x: NDArray[_F], y: NDArray[_F], A: NDArray[_F]) -> NDArray[_F]: ...

# Level 3
def gemm(
    alpha: SupportsFloat,
    A: NDArray[_F],
    B: NDArray[_F],
    beta: SupportsFloat = 0.0,
    C: NDArray[_F] | None = None,
    trans_a: bool = False,
    trans_b: bool = False,
) -> NDArray[_F]: ...

# Private: the chunk limit of the 32-bit BLAS integer (returns the previous one).
def _set_chunk_limit(limit: int) -> int: ...
