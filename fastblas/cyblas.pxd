# cython: language_level=3
"""nogil BLAS kernels for other Cython code, fused over float and double.

    from fastblas.cyblas cimport dot, axpy, gemm

    with nogil:
        s = dot(n, &x[0], 1, &y[0], 1)                         # float or double
        gemm(b'N', b'T', m, n, k, 1.0, A, lda, B, ldb, 0.0, C, ldc)

Every function is ``cdef inline ... noexcept nogil`` and calls
``scipy.linalg.cython_blas`` directly: compiled into the caller, no Python, no GIL.

Conventions
-----------
* Level 1 takes raw pointers and element increments as BLAS does: for a negative
  increment the pointer is the lowest address (element n-1), and an increment must
  never be 0. Lengths and increments are the 32-bit BLAS integer.
* Level 2 and 3 are **row-major** (C order), like CBLAS with ``CblasRowMajor``:
  ``lda`` is the distance in elements between consecutive rows. A Fortran-ordered
  matrix is the row-major transpose of itself: pass it with the opposite ``trans``.
  Row-major calls are mapped onto column-major BLAS by the identity (AB)' = B'A'.
* Nothing is checked here; validation is the caller's job (the Python facade in
  ``fastblas._blas`` does it once, before dispatching).
"""
from libc.math cimport sqrt, sqrtf
from scipy.linalg cimport cython_blas as blas

ctypedef fused floating:
    float
    double


# ---------------------------------------------------------------------------
# Level 1
# ---------------------------------------------------------------------------

cdef inline floating dot(int n, floating *x, int incx,
                         floating *y, int incy) noexcept nogil:
    """sum_i x[i] * y[i]"""
    if floating is float:
        return blas.sdot(&n, x, &incx, y, &incy)
    else:
        return blas.ddot(&n, x, &incx, y, &incy)


cdef inline double dsdot(int n, float *x, int incx, float *y, int incy) noexcept nogil:
    """sum_i x[i] * y[i] for float32 vectors, products and sum in double.

    A plain loop rather than BLAS's dsdot: OpenBLAS's x86_64 dsdot kernel forms the
    products and partial sums in single precision (seen with SciPy's OpenBLAS 0.3.30:
    errors of float32 size where double accumulation gives ~1e-16). Four independent
    partial sums let the loop run at the adder's throughput rather than its latency.
    """
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t ix = 0 if incx > 0 else <Py_ssize_t>(1 - n) * incx
    cdef Py_ssize_t iy = 0 if incy > 0 else <Py_ssize_t>(1 - n) * incy
    while i + 4 <= n:
        s0 += <double>x[ix] * <double>y[iy]
        s1 += <double>x[ix + incx] * <double>y[iy + incy]
        s2 += <double>x[ix + 2 * incx] * <double>y[iy + 2 * incy]
        s3 += <double>x[ix + 3 * incx] * <double>y[iy + 3 * incy]
        ix += 4 * incx
        iy += 4 * incy
        i += 4
    while i < n:
        s0 += <double>x[ix] * <double>y[iy]
        ix += incx
        iy += incy
        i += 1
    return (s0 + s1) + (s2 + s3)


cdef inline void axpy(int n, floating alpha, floating *x, int incx,
                      floating *y, int incy) noexcept nogil:
    """y <- alpha * x + y"""
    if floating is float:
        blas.saxpy(&n, &alpha, x, &incx, y, &incy)
    else:
        blas.daxpy(&n, &alpha, x, &incx, y, &incy)


cdef inline void scal(int n, floating alpha, floating *x, int incx) noexcept nogil:
    """x <- alpha * x"""
    if floating is float:
        blas.sscal(&n, &alpha, x, &incx)
    else:
        blas.dscal(&n, &alpha, x, &incx)


cdef inline void copy(int n, floating *x, int incx, floating *y, int incy) noexcept nogil:
    """y <- x"""
    if floating is float:
        blas.scopy(&n, x, &incx, y, &incy)
    else:
        blas.dcopy(&n, x, &incx, y, &incy)


cdef inline void swap(int n, floating *x, int incx, floating *y, int incy) noexcept nogil:
    """x <-> y"""
    if floating is float:
        blas.sswap(&n, x, &incx, y, &incy)
    else:
        blas.dswap(&n, x, &incx, y, &incy)


cdef inline floating nrm2(int n, floating *x, int incx) noexcept nogil:
    """sqrt(sum_i x[i]**2), without overflow or underflow.

    BLAS's nrm2 rescales as it goes and runs 2-4x slower than a dot product, so the
    sum of squares comes from dot(x, x) whenever it lands far inside the type's range
    (where no partial sum can have overflowed, nor lost its digits to underflow);
    otherwise the careful way: float32 squares summed in double (which cannot
    overflow or underflow), float64 through dnrm2.
    """
    cdef floating squares = dot(n, x, incx, x, incx)
    if floating is float:
        if 1e-30 < squares < 1e37:
            return sqrtf(squares)
        return <float>sqrt(dsdot(n, x, incx, x, incx))
    else:
        if 1e-280 < squares < 1e300:
            return sqrt(squares)
        return blas.dnrm2(&n, x, &incx)


cdef inline floating asum(int n, floating *x, int incx) noexcept nogil:
    """sum_i |x[i]|"""
    if floating is float:
        return blas.sasum(&n, x, &incx)
    else:
        return blas.dasum(&n, x, &incx)


cdef inline int iamax(int n, floating *x, int incx) noexcept nogil:
    """0-based index of the first largest |x[i]|; -1 when n < 1 or incx < 1."""
    if floating is float:
        return blas.isamax(&n, x, &incx) - 1
    else:
        return blas.idamax(&n, x, &incx) - 1


# ---------------------------------------------------------------------------
# Level 2 and 3, row-major
# ---------------------------------------------------------------------------

cdef inline char _flip(char trans) noexcept nogil:
    return b'N' if trans == b'T' or trans == b't' else b'T'


cdef inline void gemv(char trans, int m, int n, floating alpha, floating *a, int lda,
                      floating *x, int incx, floating beta,
                      floating *y, int incy) noexcept nogil:
    """y <- alpha * op(A) x + beta * y, A an m x n row-major matrix, op(A) = A or A'.

    The buffer of a row-major m x n A is a column-major n x m A', hence the flip.
    """
    cdef char t = _flip(trans)
    if floating is float:
        blas.sgemv(&t, &n, &m, &alpha, a, &lda, x, &incx, &beta, y, &incy)
    else:
        blas.dgemv(&t, &n, &m, &alpha, a, &lda, x, &incx, &beta, y, &incy)


cdef inline void ger(int m, int n, floating alpha, floating *x, int incx,
                     floating *y, int incy, floating *a, int lda) noexcept nogil:
    """A <- alpha * x y' + A, A an m x n row-major matrix.

    Column-major view: A' <- alpha * y x' + A', so x and y trade places.
    """
    if floating is float:
        blas.sger(&n, &m, &alpha, y, &incy, x, &incx, a, &lda)
    else:
        blas.dger(&n, &m, &alpha, y, &incy, x, &incx, a, &lda)


cdef inline void gemm(char transa, char transb, int m, int n, int k,
                      floating alpha, floating *a, int lda, floating *b, int ldb,
                      floating beta, floating *c, int ldc) noexcept nogil:
    """C <- alpha * op(A) op(B) + beta * C, all row-major; C is m x n, op(A) m x k.

    Column-major view: C' <- alpha * op(B)' op(A)' + beta * C', so A and B trade
    places and keep their trans flags.
    """
    if floating is float:
        blas.sgemm(&transb, &transa, &n, &m, &k, &alpha, b, &ldb, a, &lda,
                   &beta, c, &ldc)
    else:
        blas.dgemm(&transb, &transa, &n, &m, &k, &alpha, b, &ldb, a, &lda,
                   &beta, c, &ldc)


# ---------------------------------------------------------------------------
# Exact products for integers, bool and float16 (defined in fastblas/_exact.pxd)
# ---------------------------------------------------------------------------
#
#     from fastblas.cyblas cimport int_matmul, int_dot
#
#     with nogil:
#         status = int_matmul(m, n, k, &A[0, 0], lda, 1, &B[0, 0], ldb, 1,
#                             &C[0, 0], ldc, 1, NULL)       # int8_t ... uint64_t
#
# int_matmul / bool_matmul / half_matmul compute C = A @ B with NumPy's exact
# result (integer wraparound included) through sgemm/dgemm on converted blocks,
# splitting large integers into slices when a float product would not be exact;
# int_dot / bool_dot / half_dot are the vector products. Strides are in elements,
# any sign; the matrix functions return -1 when out of memory. half_* round with
# NumPy's npy_float_to_half: link NumPy's npymath library into the caller.
from fastblas._exact cimport (ExactOptions, bool_dot, bool_matmul, exact_defaults,
                              half_dot, half_matmul, half_to_float, int_dot,
                              int_matmul, integer)
