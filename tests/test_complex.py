"""What is particular to complex64/complex128 (their layouts, sizes and chunking
run through the shared parametrisations of test_level1/test_level23/test_dot_dropin).

* No conjugation anywhere: dot is BLAS's dotu (np.dot), ger is geru, trans is the
  plain transpose.
* nrm2 and asum return real scalars, as BLAS defines them: nrm2 is the Euclidean
  norm, asum sums |Re| + |Im|.
* iamax compares |Re| + |Im| (BLAS's icamax/izamax), not the modulus.
* alpha and beta may be complex; real scalars work too.
"""
import numpy as np
import pytest

import fastblas
from conftest import (COMPLEX_DTYPES, check_gemm, check_gemv, check_ger, check_level1,
                      f64, make_vector, random_values)

REAL = {np.complex64: np.float32, np.complex128: np.float64}


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@pytest.mark.parametrize("n", [1, 2, 7, 33, 1000])
def test_dot_is_unconjugated(rng, dtype, n):
    x = make_vector(rng, n, dtype, stride=-2)
    y = make_vector(rng, n, dtype, stride=3)
    r = fastblas.dot(x, y)
    assert type(r) is np.dtype(dtype).type
    ref = f64(x) @ f64(y)
    assert abs(complex(r) - ref) <= 1e-5 * np.abs(f64(x)) @ np.abs(f64(y))
    # far from the conjugated sum (whose imaginary part differs)
    assert abs(complex(r) - np.vdot(f64(x), f64(y))) > 1e-3


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
def test_dot_exact_small_integers(dtype):
    """Gaussian integers: every partial sum exact, the result must be exact too
    (checks the real and imaginary parts come back in the right places)."""
    x = np.array([1 + 2j, -3 + 1j, 2 - 1j, 4j], dtype)
    y = np.array([2 - 1j, 1 + 1j, -1 - 3j, 1 + 0j], dtype)
    expected = sum(complex(a) * complex(b) for a, b in zip(x, y))
    assert fastblas.dot(x, y) == expected == np.dot(x, y)
    assert fastblas.dot(x[::-1], y[::-1]) == expected
    assert fastblas.dot(np.ones((1, 4), dtype), y)[0] == complex(y.sum())


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
def test_nrm2_asum_are_real(rng, dtype):
    values = np.array([3 + 4j, -1 - 1j, 0.5j, -2.0], dtype)
    x = make_vector(rng, 4, dtype, stride=-3, values=values)
    norm, total = fastblas.nrm2(x), fastblas.asum(x)
    assert type(norm) is REAL[dtype] and type(total) is REAL[dtype]
    assert norm == pytest.approx(np.linalg.norm(values.astype(np.complex128)), rel=1e-6)
    assert total == pytest.approx(7 + 2 + 0.5 + 2, rel=1e-6)   # |Re| + |Im|, not |z|


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@pytest.mark.parametrize("big", [1e30, 1e300])
def test_nrm2_no_overflow(dtype, big):
    if dtype == np.complex64 and big > 1e38:
        big = 1e37
    x = np.full(10, big * (1 + 1j), dtype)
    expected = np.sqrt(20.0) * float(np.dtype(dtype).type(big).real)
    assert fastblas.nrm2(x) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@pytest.mark.parametrize("stride", [1, -1, 2])
def test_iamax_uses_abs_re_plus_abs_im(rng, dtype, stride):
    """[3, 2+2j]: the modulus says 0 (3 > 2.83), BLAS's |Re| + |Im| says 1 (4 > 3)."""
    values = np.array([3 + 0j, 2 + 2j, -1 + 0.5j], dtype)
    x = make_vector(rng, 3, dtype, stride=stride, values=values)
    assert int(np.argmax(np.abs(values))) == 0
    assert fastblas.iamax(x) == 1
    # ties in |Re| + |Im| go to the first
    x = make_vector(rng, 4, dtype, stride=stride, values=np.array([1j, -2, 1 - 1j, 2j], dtype))
    assert fastblas.iamax(x) == 1


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@pytest.mark.parametrize("values,expected", [
    ([1, complex(0, np.nan), 5], 1), ([complex(np.nan, 0), 9], 0),
    ([1, 2, complex(np.inf, np.nan)], 2), ([complex(np.inf, 1), 3, np.nan], 2)])
def test_iamax_nan_in_either_part(rng, dtype, values, expected):
    """The first element with a NaN part wins, even after an infinite one, as a NaN
    does in np.argmax."""
    x = make_vector(rng, len(values), dtype, values=np.array(values, dtype))
    assert fastblas.iamax(x) == expected


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@pytest.mark.parametrize("alpha", [1.5 - 2j, 2j, np.complex64(0.5 + 0.5j), -1, 0.25,
                                   np.float32(3.0)], ids=repr)
def test_level1_complex_and_real_alpha(rng, dtype, alpha):
    check_level1("axpy", rng, 33, dtype, dict(stride=-2), dict(offset=5), alpha=alpha)
    check_level1("scal", rng, 33, dtype, dict(stride=3), alpha=alpha)


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@pytest.mark.parametrize("alpha,beta", [(1 - 1j, 0.5j), (2j, 0.0), (0.5, -1 + 2j),
                                        (np.complex128(-1j), np.float64(2.0))], ids=repr)
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_gemm_complex_scalars(rng, dtype, alpha, beta, ta, tb):
    check_gemm(rng, 6, 5, 4, dtype, "F", "C_slice", ta, tb, alpha=alpha, beta=beta,
               lc="C_slice_T")
    check_gemm(rng, 6, 5, 4, dtype, "strided", "C", ta, tb, alpha=alpha)


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@pytest.mark.parametrize("alpha,beta", [(1 - 1j, 0.5j), (2j, 0.0), (0.5, -1 + 2j)], ids=repr)
@pytest.mark.parametrize("trans", [False, True])
@pytest.mark.parametrize("la", ["C", "F", "negative"])
def test_gemv_complex_scalars(rng, dtype, alpha, beta, trans, la):
    check_gemv(rng, 7, 5, dtype, la, trans, "reversed2", "stride3", alpha=alpha, beta=beta)


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
@pytest.mark.parametrize("alpha", [1 - 1j, 2j, -0.5], ids=repr)
@pytest.mark.parametrize("la", ["C", "F", "strided"])
def test_ger_is_unconjugated(rng, dtype, alpha, la):
    check_ger(rng, 6, 9, dtype, la, "reversed", "stride3", alpha=alpha)


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
def test_transpose_is_not_conjugate(rng, dtype):
    A = random_values(rng, (3, 4), dtype)
    x = random_values(rng, 3, dtype)
    np.testing.assert_allclose(fastblas.gemv(1.0, A, x, trans=True), A.T @ x, rtol=1e-5)
    np.testing.assert_allclose(fastblas.gemm(1.0, A, A, trans_a=True), A.T @ A, rtol=1e-5)


@pytest.mark.parametrize("dtype", COMPLEX_DTYPES)
def test_dsdot_refuses_complex(dtype):
    with pytest.raises(TypeError, match="float32"):
        fastblas.dsdot(np.ones(3, dtype), np.ones(3, dtype))


@pytest.mark.parametrize("m,k,n", [(24, 24, 24), (64, 64, 64), (100, 30, 70), (1, 5000, 3)])
@pytest.mark.parametrize("layout", ["C", "F"])
def test_large_complex64_products_are_numpys(rng, m, k, n, layout):
    """From m * n * k = 24**3 on, complex64 matrix products are np.dot's own (NumPy's
    cgemm is the faster one there): the same bits, every layout. (SciPy's cgemm
    gives other bits on some of these shapes, e.g. 1 x 5000 @ 5000 x 3.)"""
    a = np.asarray(random_values(rng, (m, k), np.complex64), order=layout)
    b = np.asarray(random_values(rng, (k, n), np.complex64), order=layout)
    np.testing.assert_array_equal(fastblas.dot(a, b), np.dot(a, b))
    np.testing.assert_array_equal(fastblas.matmul(a, b), np.matmul(a, b))
