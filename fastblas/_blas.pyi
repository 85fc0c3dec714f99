"""Type stubs for the compiled facade ``fastblas._blas`` (re-exported by ``fastblas``).

Every BLAS function takes float32, float64, complex64 or complex128 ndarrays, all
operands of one dtype: the type variables tie the operands' dtypes together and to
the result's. Scalars (``alpha``, ``beta``, ``a``) are real numbers, or real or
complex numbers for complex arrays; ``nrm2`` and ``asum`` return real scalars. The
in-place functions return the array they wrote into.
"""
from typing import Any, SupportsComplex, SupportsFloat, TypeVar, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

_F = TypeVar("_F", np.float32, np.float64, np.complex64, np.complex128)
_R = TypeVar("_R", np.float32, np.float64)
_C = TypeVar("_C", np.complex64, np.complex128)
_ArrayT = TypeVar("_ArrayT", bound=np.ndarray[Any, Any])
_Number = SupportsFloat | SupportsComplex

# dot: a drop-in for np.dot, typed as NumPy types it (the result's type depends on
# the operands' number of dimensions, which the type system does not see).
@overload
def dot(a: ArrayLike, b: ArrayLike, out: None = None) -> Any: ...
@overload
def dot(a: ArrayLike, b: ArrayLike, out: _ArrayT) -> _ArrayT: ...

# Level 1
def dsdot(x: NDArray[np.float32], y: NDArray[np.float32]) -> np.float64: ...
@overload
def axpy(a: SupportsFloat, x: NDArray[_R], y: NDArray[_R]) -> NDArray[_R]: ...
@overload
def axpy(a: _Number, x: NDArray[_C], y: NDArray[_C]) -> NDArray[_C]: ...
@overload
def scal(a: SupportsFloat, x: NDArray[_R]) -> NDArray[_R]: ...
@overload
def scal(a: _Number, x: NDArray[_C]) -> NDArray[_C]: ...
def copy(x: NDArray[_F], y: NDArray[_F]) -> NDArray[_F]: ...
def swap(x: NDArray[_F], y: NDArray[_F]) -> tuple[NDArray[_F], NDArray[_F]]: ...
@overload
def nrm2(x: NDArray[np.float32] | NDArray[np.complex64]) -> np.float32: ...  # type: ignore[overload-overlap]
@overload
def nrm2(x: NDArray[np.float64] | NDArray[np.complex128]) -> np.float64: ...
@overload
def asum(x: NDArray[np.float32] | NDArray[np.complex64]) -> np.float32: ...  # type: ignore[overload-overlap]
@overload
def asum(x: NDArray[np.float64] | NDArray[np.complex128]) -> np.float64: ...
def iamax(x: NDArray[_F]) -> int: ...

# Level 2
@overload
def gemv(
    alpha: SupportsFloat,
    A: NDArray[_R],
    x: NDArray[_R],
    beta: SupportsFloat = 0.0,
    y: NDArray[_R] | None = None,
    trans: bool = False,
) -> NDArray[_R]: ...
@overload
def gemv(
    alpha: _Number,
    A: NDArray[_C],
    x: NDArray[_C],
    beta: _Number = 0.0,
    y: NDArray[_C] | None = None,
    trans: bool = False,
) -> NDArray[_C]: ...
@overload
def ger(alpha: SupportsFloat, x: NDArray[_R], y: NDArray[_R], A: NDArray[_R]) -> NDArray[_R]: ...
@overload
def ger(alpha: _Number, x: NDArray[_C], y: NDArray[_C], A: NDArray[_C]) -> NDArray[_C]: ...

# Level 3
@overload
def gemm(
    alpha: SupportsFloat,
    A: NDArray[_R],
    B: NDArray[_R],
    beta: SupportsFloat = 0.0,
    C: NDArray[_R] | None = None,
    trans_a: bool = False,
    trans_b: bool = False,
) -> NDArray[_R]: ...
@overload
def gemm(
    alpha: _Number,
    A: NDArray[_C],
    B: NDArray[_C],
    beta: _Number = 0.0,
    C: NDArray[_C] | None = None,
    trans_a: bool = False,
    trans_b: bool = False,
) -> NDArray[_C]: ...

# matmul: a drop-in for np.matmul (other keywords go to np.matmul itself).
@overload
def matmul(a: ArrayLike, b: ArrayLike, out: None = None, **kwargs: Any) -> Any: ...
@overload
def matmul(a: ArrayLike, b: ArrayLike, out: _ArrayT, **kwargs: Any) -> _ArrayT: ...

# Private: tiles, loop crossover, forced splitting and workspace limit of the exact
# products (reset=True restores the defaults); returns the previous settings.
def _set_exact_options(**settings: Any) -> dict[str, Any]: ...

# Private: the size below which matmul leaves an integer, bool or float16 stack to
# np.matmul (matrix: m*n*k of one product).
def _set_stack_minimums(**minimums: int) -> dict[str, int]: ...

# Private: the chunk limit of the 32-bit BLAS integer (returns the previous one).
def _set_chunk_limit(limit: int) -> int: ...
