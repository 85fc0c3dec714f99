"""The exact products are a nogil Cython API: another package's .pyx can
``from fastblas.cyblas cimport int_matmul, half_matmul, int_dot`` and call them
without the GIL (the facade calls the same functions).

The module is built twice: as this compiler builds it (float16 converted with
its ``_Float16`` where it has one, as GCC >= 12 does), and with ``_Float16``
hidden from it (``-U__FLT16_MANT_DIG__``), the build of compilers without it:
NumPy's ``npy_half_to_float``/``npy_float_to_half``, whose overflow and
underflow flags are moved from the x87 status word to MXCSR, where the facade
reads them."""
import textwrap

import numpy as np
import pytest

import fastblas
from cython_user import build_user_module

PYX = textwrap.dedent("""
    # cython: language_level=3, boundscheck=False, wraparound=False
    from libc.stdint cimport int64_t, uint16_t
    from fastblas.cyblas cimport half_matmul, int_dot, int_matmul

    cdef extern from *:
        '''
        #if defined(__FLT16_MANT_DIG__)
        enum { NATIVE_HALF = 1 };
        #else
        enum { NATIVE_HALF = 0 };
        #endif
        #if defined(__x86_64__) || defined(_M_X64)
        #include <xmmintrin.h>
        enum { HAS_MXCSR = 1 };
        #else
        enum { HAS_MXCSR = 0 };
        static unsigned int _mm_getcsr(void) { return 0; }
        static void _mm_setcsr(unsigned int csr) { (void)csr; }
        #endif
        '''
        enum: NATIVE_HALF, HAS_MXCSR
        unsigned int _mm_getcsr() noexcept nogil
        void _mm_setcsr(unsigned int csr) noexcept nogil

    native_half = bool(NATIVE_HALF)     # float16 converted with the compiler's _Float16
    has_mxcsr = bool(HAS_MXCSR)

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

    def cy_half_matmul_flags(const uint16_t[:, ::1] a, const uint16_t[:, ::1] b):
        '''cy_half_matmul's product and the MXCSR flags (overflow 8, underflow 16)
        it raised, those of the last conversion to float16 included.'''
        import numpy as np
        c = np.empty((a.shape[0], b.shape[1]), np.uint16)
        cdef uint16_t[:, ::1] cv = c
        cdef unsigned int csr = _mm_getcsr()
        with nogil:
            _mm_setcsr(csr & ~0x3fu)
            half_matmul(a.shape[0], b.shape[1], a.shape[1], &a[0, 0], a.shape[1], 1,
                        &b[0, 0], b.shape[1], 1, &cv[0, 0], cv.shape[1], 1, NULL)
            flags = _mm_getcsr() & 0x18u
            _mm_setcsr(csr)
        return c, flags

    def cy_int64_dot(const int64_t[:] x, const int64_t[:] y):
        cdef int64_t result
        with nogil:
            result = int_dot(x.shape[0], &x[0], x.strides[0] // 8, &y[0], y.strides[0] // 8)
        return result
""")

@pytest.fixture(scope="module", params=["_Float16", "npy_half"])
def use_exact(request, tmp_path_factory):
    # the npy_half build links NumPy's npymath, where npy_float_to_half lives
    hide = " -U__FLT16_MANT_DIG__" if request.param == "npy_half" else ""
    module = build_user_module(tmp_path_factory.mktemp("exact_user"), "use_exact", PYX,
                               flags="-O1" + hide, npymath=True)
    if request.param == "_Float16" and not module.native_half:
        pytest.skip("this compiler has no _Float16: the npy_half build is its build")
    assert module.native_half == (request.param == "_Float16")
    return module


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


@pytest.mark.parametrize("value,flag", [(60000.0, 8), (1e-4, 16)])
def test_cimported_half_matmul_raises_overflow_and_underflow_in_mxcsr(use_exact, value, flag):
    # sums of 3 * 60000**2 exceed float16's 65504 (inf: an overflow); sums of
    # 3 * 1e-8 lie below its smallest normal, 6e-5, and between its subnormals
    # (tiny and inexact: an underflow)
    if not use_exact.has_mxcsr:
        pytest.skip("MXCSR is x86-64's")
    a = np.full((5, 3), value, np.float16)
    b = np.full((3, 4), value, np.float16)
    got, flags = use_exact.cy_half_matmul_flags(a.view(np.uint16), b.view(np.uint16))
    with np.errstate(over="ignore", under="ignore"):
        expected = np.dot(a, b)
    np.testing.assert_array_equal(got.view(np.float16), expected)
    assert flags == flag
