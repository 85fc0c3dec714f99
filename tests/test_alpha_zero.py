"""alpha = 0 is no shortcut: every routine gives NumPy's expression.

BLAS returns at once when alpha = 0 (and OpenBLAS's gemm does so for some shapes
only), so NaN and inf in the operands would vanish. fastblas gives what NumPy's
expression gives: ``y + 0*x`` for axpy, ``x * 0`` for scal, ``0*(op(A) @ x) +
beta*y`` for gemv, ``A + 0*outer(x, y)`` for ger, ``0*(op(A) @ op(B)) + beta*C``
for gemm, whatever the shape and layout; ``beta = 0`` still means the output is not read, and
``alpha = inf`` times an empty product is NaN.
"""
import itertools

import numpy as np
import pytest

import fastblas
from conftest import (BLAS_DTYPES, VECTOR_LAYOUTS,
                      f64, is_complex, make_matrix, make_vector, random_values, tol)

# 0 * inf and 0 * NaN are NumPy's "invalid value": the expressions warn, as NumPy does.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")

ZEROS = [0.0, -0.0, 0, np.float32(0.0)]
# every dtype with every zero; complex arrays also with a complex zero
DTYPE_ZERO = [(dtype, zero) for dtype in BLAS_DTYPES
              for zero in ZEROS + ([0j] if is_complex(dtype) else [])]
TRANS = [False, True]


def with_non_finite(rng, values, count=2):
    """values with NaN and +-inf (and, for complex, inf in one part) at random places."""
    values = np.array(values)
    flat = values.reshape(-1)
    if flat.size == 0:
        return values
    specials = [np.nan, np.inf, -np.inf]
    if is_complex(values.dtype):
        specials += [complex(np.inf, 1.0), complex(0.0, np.nan)]
    for i in rng.choice(flat.size, size=min(count, flat.size), replace=False):
        flat[i] = specials[rng.integers(len(specials))]
    return values


def assert_expression(got, ref, dtype, where):
    """got (dtype) equals ref (the expression in float64/complex128): NaN where ref
    is NaN, inf where ref is inf, the finite values to rounding."""
    got = f64(got)
    assert got.shape == ref.shape, where
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=where + ": NaN")
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(ref), err_msg=where + ": inf")
    bound = tol(dtype, 2) * np.abs(ref[finite]) + np.finfo(np.dtype(dtype)).tiny
    assert np.all(np.abs(got[finite] - ref[finite]) <= bound), where


@pytest.mark.parametrize("dtype,alpha", DTYPE_ZERO, ids=repr)
@pytest.mark.parametrize("lx,ly", [("contiguous", "contiguous"), ("reversed", "stride3"),
                                   ("broadcast", "offset_reversed3"),
                                   ("byteswapped", "unaligned")])
@pytest.mark.parametrize("n", [1, 2, 33])
def test_axpy(rng, dtype, alpha, lx, ly, n):
    x = make_vector(rng, n, dtype, values=with_non_finite(rng, random_values(rng, n, dtype)),
                    **VECTOR_LAYOUTS[lx])
    y = make_vector(rng, n, dtype, **VECTOR_LAYOUTS[ly])
    ref = f64(y) + 0.0 * f64(x)
    assert fastblas.axpy(alpha, x, y) is y
    assert_expression(y, ref, dtype, f"axpy({alpha!r}, x={lx}, y={ly})")


@pytest.mark.parametrize("dtype,alpha", DTYPE_ZERO, ids=repr)
@pytest.mark.parametrize("layout", ["contiguous", "reversed2", "byteswapped", "unaligned"])
@pytest.mark.parametrize("first", ["nan", "finite"])
def test_scal(rng, dtype, alpha, layout, first):
    """x * 0, including OpenBLAS's cscal/zscal by 0, which zeroes the NaN unless
    x[0] is NaN, and then makes every element NaN."""
    values = with_non_finite(rng, random_values(rng, 33, dtype), 3)
    values[0] = np.nan if first == "nan" else 1.5
    x = make_vector(rng, 33, dtype, values=values, **VECTOR_LAYOUTS[layout])
    ref = 0.0 * f64(x)
    assert fastblas.scal(alpha, x) is x
    assert_expression(x, ref, dtype, f"scal({alpha!r}, x={layout})")


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_axpy_zero_with_finite_x_leaves_y(rng, dtype):
    x = make_vector(rng, 40, dtype)
    y = make_vector(rng, 40, dtype, stride=-2)
    y0 = y.copy()
    fastblas.axpy(0.0, x, y)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("trans", TRANS)
@pytest.mark.parametrize("la", ["C", "F", "negative", "byteswapped"])
@pytest.mark.parametrize("m,n", [(1, 1), (5, 3), (40, 33), (4, 0)])
@pytest.mark.parametrize("beta,ly", [(0.0, None), (0.0, "reversed"), (1.5, "contiguous"),
                                     (-1.0, "stride3")])
@pytest.mark.parametrize("poison", ["A", "x"])
def test_gemv(rng, dtype, trans, la, m, n, beta, ly, poison):
    A = random_values(rng, (m, n), dtype)
    rows, cols = (n, m) if trans else (m, n)
    x = random_values(rng, cols, dtype)
    if poison == "A":
        A = with_non_finite(rng, A)
    else:
        x = with_non_finite(rng, x, count=1)
    A = make_matrix(rng, m, n, dtype, la, values=A)
    x = make_vector(rng, cols, dtype, stride=-1, values=x)
    opA = f64(A).T if trans else f64(A)
    ref = 0.0 * (opA @ f64(x))
    y = None
    if ly is not None:
        y = make_vector(rng, rows, dtype, values=np.full(rows, np.nan) if beta == 0 else None,
                        **VECTOR_LAYOUTS[ly])
        if beta != 0:
            ref = ref + beta * f64(y)
    r = fastblas.gemv(0.0, A, x, beta=beta, y=y, trans=trans)
    assert y is None or r is y
    assert_expression(r, ref, dtype, f"gemv(0, {m}x{n} A={la}, trans={trans}, "
                                     f"beta={beta}, y={ly}, {poison} poisoned)")


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("la", ["C", "F", "C_slice", "strided"])
@pytest.mark.parametrize("m,n", [(1, 1), (4, 7), (33, 2)])
@pytest.mark.parametrize("alpha", ZEROS, ids=repr)
def test_ger(rng, dtype, la, m, n, alpha):
    x = make_vector(rng, m, dtype, stride=2,
                    values=with_non_finite(rng, random_values(rng, m, dtype), 1))
    y = make_vector(rng, n, dtype, stride=-1,
                    values=with_non_finite(rng, random_values(rng, n, dtype), 1))
    A = make_matrix(rng, m, n, dtype, la)
    ref = f64(A) + 0.0 * np.outer(f64(x), f64(y))
    assert fastblas.ger(alpha, x, y, A) is A
    assert_expression(A, ref, dtype, f"ger({alpha!r}, {m}x{n} A={la})")


# Small shapes go to OpenBLAS's small-matrix kernels, which multiply by alpha;
# larger ones to its blocked driver, which returns early for alpha = 0.
GEMM_SHAPES = [(1, 1, 1), (2, 3, 4), (7, 5, 3), (16, 16, 16), (33, 40, 31), (64, 65, 63),
               (100, 120, 90)]


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("m,k,n", GEMM_SHAPES)
@pytest.mark.parametrize("ta,tb", list(itertools.product(TRANS, TRANS)))
@pytest.mark.parametrize("la,lb", [("C", "C"), ("F", "C_T"), ("C_slice", "negative")])
@pytest.mark.parametrize("poison", ["A", "B"])
def test_gemm(rng, dtype, m, k, n, ta, tb, la, lb, poison):
    A = random_values(rng, (k, m) if ta else (m, k), dtype)
    B = random_values(rng, (n, k) if tb else (k, n), dtype)
    if poison == "A":
        A = with_non_finite(rng, A)
    else:
        B = with_non_finite(rng, B)
    A = make_matrix(rng, *A.shape, dtype, la, values=A)
    B = make_matrix(rng, *B.shape, dtype, lb, values=B)
    opA = f64(A).T if ta else f64(A)
    opB = f64(B).T if tb else f64(B)
    r = fastblas.gemm(0.0, A, B, trans_a=ta, trans_b=tb)
    assert_expression(r, 0.0 * (opA @ opB), dtype,
                      f"gemm(0, {m}x{k}x{n}, {la}/{lb}, {ta}/{tb}, {poison} poisoned)")


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("m,k,n", [(2, 3, 4), (64, 65, 63)])
@pytest.mark.parametrize("beta,lc", [(0.0, "C"), (0.0, "F_slice"), (2.0, "F"),
                                     (-0.5, "C_slice"), (1.0, "strided")])
def test_gemm_with_c(rng, dtype, m, k, n, beta, lc):
    A = make_matrix(rng, m, k, dtype, values=with_non_finite(rng, random_values(rng, (m, k), dtype)))
    B = make_matrix(rng, k, n, dtype, "F")
    values = np.full((m, n), np.nan) if beta == 0 else None  # beta = 0: C is not read
    C = make_matrix(rng, m, n, dtype, lc, values=values)
    ref = 0.0 * (f64(A) @ f64(B))
    if beta != 0:
        ref = ref + beta * f64(C)
    assert fastblas.gemm(0.0, A, B, beta=beta, C=C) is C
    assert_expression(C, ref, dtype, f"gemm(0, beta={beta}, C={lc})")


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("alpha", [np.inf, -np.inf, np.nan])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_non_finite_alpha_times_empty_product(rng, dtype, alpha, beta):
    """inf * (A @ B) with an empty inner dimension is inf * 0 = NaN, as in NumPy."""
    A, B = np.ones((3, 0), dtype), np.ones((0, 4), dtype)
    with np.errstate(invalid="ignore"):
        expected = alpha * (A @ B)
    assert np.isnan(expected).all()
    assert np.isnan(fastblas.gemm(alpha, A, B)).all()
    C = make_matrix(rng, 3, 4, dtype, "F")
    assert np.isnan(fastblas.gemm(alpha, A, B, beta=beta, C=C)).all()
    y = make_vector(rng, 3, dtype, stride=2)
    assert np.isnan(fastblas.gemv(alpha, A, np.ones(0, dtype), beta=beta, y=y)).all()


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_finite_alpha_times_empty_product_is_beta_c(rng, dtype):
    C = make_matrix(rng, 3, 4, dtype, "C")
    C0 = f64(C)
    fastblas.gemm(2.0, np.ones((3, 0), dtype), np.ones((0, 4), dtype), beta=0.5, C=C)
    assert_expression(C, 0.5 * C0, dtype, "gemm, k = 0")


@pytest.mark.parametrize("name", ["axpy", "gemv", "ger", "gemm"])
def test_zero_alpha_checks_arguments_first(rng, name):
    """The alpha = 0 path validates exactly as the BLAS path does."""
    x = np.ones(3)
    ro = np.ones(3)
    ro.flags.writeable = False
    A_ro = np.ones((3, 3))
    A_ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        if name == "axpy":
            fastblas.axpy(0.0, x, ro)
        elif name == "gemv":
            fastblas.gemv(0.0, np.ones((3, 3)), x, beta=1.0, y=ro)
        elif name == "ger":
            fastblas.ger(0.0, x, x, A_ro)
        else:
            fastblas.gemm(0.0, np.ones((3, 3)), np.ones((3, 3)), C=A_ro)
    with pytest.raises(TypeError):
        if name == "axpy":
            fastblas.axpy(0.0, x, np.ones(3, np.float32))
        elif name == "gemv":
            fastblas.gemv(0.0, np.ones((3, 3), np.float32), x)
        elif name == "ger":
            fastblas.ger(0.0, x, x, np.ones((3, 3), np.complex128))
        else:
            fastblas.gemm(0.0, np.ones((3, 3)), np.ones((3, 3), np.complex128))
