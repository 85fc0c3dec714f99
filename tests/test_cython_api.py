"""The Cython API: another package's .pyx can `cimport` fastblas's nogil kernels.

Writes a tiny extension module that does ``from fastblas.cyblas cimport dot,
axpy, gemm``, calls them inside ``with nogil:``, builds it with setuptools in a
temporary directory against the importable fastblas (include path from
``fastblas.get_include()`` plus NumPy's), imports it and checks the results
against NumPy."""
import textwrap

import numpy as np
import pytest

from cython_user import build_user_module

PYX = textwrap.dedent("""
    # cython: language_level=3, boundscheck=False, wraparound=False
    from fastblas.cyblas cimport dot, axpy, gemm, nrm2, asum, iamax, floating, blas_t

    def cy_dot(floating[:] x, floating[:] y):
        '''x . y for two 1-D views of any stride (negative included).'''
        cdef int n = x.shape[0]
        cdef int incx = x.strides[0] // sizeof(floating)
        cdef int incy = y.strides[0] // sizeof(floating)
        cdef floating result = 0
        if n == 0:
            return result
        # BLAS wants the lowest address when an increment is negative
        cdef floating *px = &x[n - 1] if incx < 0 else &x[0]
        cdef floating *py = &y[n - 1] if incy < 0 else &y[0]
        with nogil:
            result = dot(n, px, incx, py, incy)
        return result

    def cy_axpy(floating[::1] x, floating[::1] y, double alpha):
        with nogil:
            axpy(<int>x.shape[0], <floating>alpha, &x[0], 1, &y[0], 1)

    def cy_dotu(blas_t[::1] x, blas_t[::1] y):
        '''x . y, unconjugated, for any of the four BLAS types.'''
        cdef blas_t result = 0
        with nogil:
            result = dot(<int>x.shape[0], &x[0], 1, &y[0], 1)
        return result

    def cy_norms(blas_t[::1] x):
        '''(nrm2, asum, iamax) of a contiguous vector.'''
        cdef double norm, total
        cdef int index
        with nogil:
            norm = nrm2(<int>x.shape[0], &x[0], 1)
            total = asum(<int>x.shape[0], &x[0], 1)
            index = iamax(<int>x.shape[0], &x[0], 1)
        return norm, total, index

    def cy_gemm(floating[:, ::1] A, floating[:, ::1] B, floating[:, ::1] C,
                double alpha, double beta, bint trans_a, bint trans_b):
        '''C = alpha op(A) op(B) + beta C, all C-ordered (row-major).'''
        cdef int m = C.shape[0], n = C.shape[1]
        cdef int k = A.shape[0] if trans_a else A.shape[1]
        cdef char ta = b'T' if trans_a else b'N'
        cdef char tb = b'T' if trans_b else b'N'
        with nogil:
            gemm(ta, tb, m, n, k, <floating>alpha, &A[0, 0], <int>A.shape[1],
                 &B[0, 0], <int>B.shape[1], <floating>beta, &C[0, 0], <int>C.shape[1])
""")

@pytest.fixture(scope="module")
def use_cyblas(tmp_path_factory):
    return build_user_module(tmp_path_factory.mktemp("cyblas_user"), "use_cyblas", PYX)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n,step", [(0, 1), (1, 1), (33, 1), (1000, -1), (31, 3),
                                    (32, -2)])
def test_cimported_dot(use_cyblas, dtype, n, step):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n * abs(step)).astype(dtype)[::step]
    y = rng.standard_normal(n * abs(step)).astype(dtype)[::-step]
    ref = x.astype(np.float64) @ y.astype(np.float64)
    scale = np.abs(x.astype(np.float64)) @ np.abs(y.astype(np.float64))
    got = use_cyblas.cy_dot(x, y)
    assert abs(got - ref) <= 1e-5 * scale + 1e-30 if dtype == np.float32 \
        else abs(got - ref) <= 1e-13 * scale + 1e-300


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cimported_axpy(use_cyblas, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(77).astype(dtype)
    y = rng.standard_normal(77).astype(dtype)
    ref = y.astype(np.float64) + 1.5 * x.astype(np.float64)
    use_cyblas.cy_axpy(x, y, 1.5)
    np.testing.assert_allclose(y, ref, rtol=1e-5 if dtype == np.float32 else 1e-13,
                               atol=1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False),
                                             (False, True), (True, True)])
def test_cimported_gemm_row_major(use_cyblas, dtype, trans_a, trans_b):
    rng = np.random.default_rng(2)
    m, k, n = 7, 5, 3
    A = rng.standard_normal((k, m) if trans_a else (m, k)).astype(dtype)
    B = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    C = rng.standard_normal((m, n)).astype(dtype)
    opA = (A.T if trans_a else A).astype(np.float64)
    opB = (B.T if trans_b else B).astype(np.float64)
    ref = 2.0 * opA @ opB - 0.5 * C.astype(np.float64)
    use_cyblas.cy_gemm(A, B, C, 2.0, -0.5, trans_a, trans_b)
    np.testing.assert_allclose(C, ref, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-5 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("n", [1, 2, 5, 33, 200])
def test_cimported_dotu(use_cyblas, dtype, n):
    """SciPy's cython_blas returns cdotu/zdotu's complex by value: both parts must
    arrive, unconjugated."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n) + (1j * rng.standard_normal(n) if dtype().dtype.kind == "c"
                                  else 0)
    y = rng.standard_normal(n) + (1j * rng.standard_normal(n) if dtype().dtype.kind == "c"
                                  else 0)
    x, y = x.astype(dtype), y.astype(dtype)
    got = use_cyblas.cy_dotu(x, y)
    ref = x.astype(np.complex128) @ y.astype(np.complex128)
    scale = np.abs(x) @ np.abs(y)
    assert abs(got - ref) <= (1e-5 if dtype in (np.float32, np.complex64) else 1e-13) * scale
    # exact small Gaussian integers
    xi = np.array([1 + 2j, -3 + 1j, 2 - 1j][:n] if dtype().dtype.kind == "c" else [2, -3, 5][:n],
                  dtype)
    assert use_cyblas.cy_dotu(xi, xi) == np.dot(xi, xi)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
def test_cimported_norms(use_cyblas, dtype):
    values = [3, -4, 1, 2] if dtype().dtype.kind == "f" else [3 + 4j, -1 - 1j, 0.5j, 3 + 0j]
    x = np.array(values, dtype)
    norm, total, index = use_cyblas.cy_norms(x)
    assert norm == pytest.approx(np.linalg.norm(x.astype(np.complex128)), rel=1e-6)
    assert total == pytest.approx(np.sum(np.abs(x.real) + np.abs(x.imag)), rel=1e-6)
    assert index == int(np.argmax(np.abs(x.real) + np.abs(x.imag)))
