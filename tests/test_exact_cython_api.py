"""The exact products are a nogil Cython API: another package's .pyx can
``from fastblas.cyblas cimport int_matmul, half_matmul, int_dot`` and call them
without the GIL (the facade calls the same functions)."""
import textwrap

import numpy as np
import pytest

import fastblas
from cython_user import build_user_module

PYX = textwrap.dedent("""
    # cython: language_level=3, boundscheck=False, wraparound=False
    from libc.stdint cimport int64_t, uint16_t
    from fastblas.cyblas cimport half_matmul, int_dot, int_matmul

    def cy_int64_matmul(const int64_t[:, :] a, const int64_t[:, :] b):
        '''a @ b for non-empty int64 views of any strides; returns (status, c).'''
        import numpy as np
        c = np.empty((a.shape[0], b.shape[1]), np.int64)
        cdef int64_t[:, ::1] cv = c
        cdef int status
        with nogil:
            status = int_matmul(a.shape[0], b.shape[1], a.shape[1],
                                &a[0, 0], a.strides[0] // 8, a.strides[1] // 8,
                                &b[0, 0], b.strides[0] // 8, b.strides[1] // 8,
                                &cv[0, 0], cv.shape[1], 1, NULL)
        return status, c

    def cy_half_matmul(const uint16_t[:, ::1] a, const uint16_t[:, ::1] b):
        import numpy as np
        c = np.empty((a.shape[0], b.shape[1]), np.uint16)
        cdef uint16_t[:, ::1] cv = c
        with nogil:
            half_matmul(a.shape[0], b.shape[1], a.shape[1], &a[0, 0], a.shape[1], 1,
                        &b[0, 0], b.shape[1], 1, &cv[0, 0], cv.shape[1], 1, NULL)
        return c

    def cy_int64_dot(const int64_t[:] x, const int64_t[:] y):
        cdef int64_t result
        with nogil:
            result = int_dot(x.shape[0], &x[0], x.strides[0] // 8, &y[0], y.strides[0] // 8)
        return result
""")

@pytest.fixture(scope="module")
def use_exact(tmp_path_factory):
    # half_matmul rounds with NumPy's npy_float_to_half, from npymath
    return build_user_module(tmp_path_factory.mktemp("exact_user"), "use_exact", PYX,
                             opt="-O1", npymath=True)


def test_cimported_int_matmul_wraps_as_numpy(use_exact):
    rng = np.random.default_rng(0)
    a = rng.integers(-2**63, 2**63 - 1, size=(20, 30), dtype=np.int64, endpoint=True)
    b = rng.integers(-2**63, 2**63 - 1, size=(30, 40), dtype=np.int64, endpoint=True)
    for x, y in [(a, b), (a[::-1, ::2], b[::2, ::-1]), (np.asfortranarray(a), b)]:
        status, c = use_exact.cy_int64_matmul(x, y)
        assert status == 0
        np.testing.assert_array_equal(c, np.dot(x, y))


def test_cimported_half_matmul_and_int_dot(use_exact):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((9, 70)).astype(np.float16)
    b = rng.standard_normal((70, 11)).astype(np.float16)
    got = use_exact.cy_half_matmul(a.view(np.uint16), b.view(np.uint16)).view(np.float16)
    np.testing.assert_array_equal(got, fastblas.dot(a, b))
    x = rng.integers(-2**63, 2**63 - 1, size=101, dtype=np.int64, endpoint=True)
    assert use_exact.cy_int64_dot(x, x[::-1]) == np.dot(x, x[::-1])
