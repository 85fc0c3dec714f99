"""gemv, ger, gemm against NumPy in float64: every combination of C/F order,
transposed views, 2-D slices and trans flags; staged layouts; outputs of any
layout; zero sizes; overlap; the 32-bit dimension limit; property tests."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastblas
from conftest import (BLAS_DTYPES, BLAS_MATRIX_LAYOUTS, MATRIX_LAYOUTS, SINGLE,
                      OUTPUT_MATRIX_LAYOUTS, STAGED_MATRIX_LAYOUTS, check_gemm,
                      check_gemv, check_ger, f64, make_matrix, make_vector,
                      assert_sum_close, peak_allocation, random_values)

TRANS = [False, True]
M, K, N = 13, 7, 5


# ---------------------------------------------------------------------------
# gemm
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("ta,tb", list(itertools.product(TRANS, TRANS)))
@pytest.mark.parametrize("la,lb", list(itertools.product(BLAS_MATRIX_LAYOUTS,
                                                         BLAS_MATRIX_LAYOUTS)))
def test_gemm_order_x_trans(rng, la, lb, ta, tb, dtype):
    check_gemm(rng, M, K, N, dtype, la, lb, ta, tb, alpha=1.5)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("ta,tb", list(itertools.product(TRANS, TRANS)))
@pytest.mark.parametrize("layout", STAGED_MATRIX_LAYOUTS)
@pytest.mark.parametrize("which", ["A", "B"])
def test_gemm_staged_inputs(rng, which, layout, ta, tb, dtype):
    la, lb = (layout, "F") if which == "A" else ("F", layout)
    check_gemm(rng, M, K, N, dtype, la, lb, ta, tb, alpha=-0.5)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("beta", [0.0, 1.0, -0.75])
@pytest.mark.parametrize("lc", OUTPUT_MATRIX_LAYOUTS)
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True)])
def test_gemm_output_layouts(rng, lc, beta, ta, tb, dtype):
    check_gemm(rng, M, K, N, dtype, "C_slice", "F", ta, tb, alpha=0.5, beta=beta, lc=lc)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (1, 33, 1), (2, 31, 3), (31, 32, 33),
                                   (64, 65, 63), (100, 200, 50), (1, 50, 40),
                                   (40, 50, 1)])
def test_gemm_shapes(rng, m, k, n, dtype):
    check_gemm(rng, m, k, n, dtype, "C", "C")
    check_gemm(rng, m, k, n, dtype, "F", "C_slice", True, True, alpha=2.0, beta=0.5,
               lc="F_slice")


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("m,k,n", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0),
                                   (50, 0, 40), (0, 5, 0)])
@pytest.mark.parametrize("lc", [None, "C", "F", "C_slice"])
def test_gemm_zero_sizes(rng, m, k, n, dtype, lc):
    """(m,0)x(0,n) gives zeros (NaN in C is not read when beta == 0)."""
    np.full((m + 1, n + 1), np.nan, dtype)  # leave dirty memory for the next allocation
    check_gemm(rng, m, k, n, dtype, "C", "F", lc=lc)
    check_gemm(rng, m, k, n, dtype, "F", "C", True, False, alpha=3.0, beta=2.0,
               lc=lc)
    if k == 0 and m * n:
        r = fastblas.gemm(1.0, np.ones((m, 0), dtype), np.ones((0, n), dtype))
        assert np.array_equal(r, np.zeros((m, n))), "uninitialised memory returned"


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_gemm_positional_and_alpha_types(rng, dtype):
    A = rng.standard_normal((4, 3)).astype(dtype)
    B = rng.standard_normal((3, 5)).astype(dtype)
    C = rng.standard_normal((4, 5)).astype(dtype)
    C0 = f64(C)
    ref = 2 * f64(A) @ f64(B) + 0.5 * C0
    r = fastblas.gemm(2, A, B, 0.5, C)
    assert r is C
    assert_sum_close(C, ref, np.abs(ref) + 4 * np.abs(C0) + 10, dtype, 4)
    for alpha in (np.float32(2), np.float64(2), 2, True):
        r = fastblas.gemm(alpha, A, B)
        scale = 2 * np.abs(f64(A)) @ np.abs(f64(B))
        assert_sum_close(r, (1.0 if alpha is True else 2.0) * f64(A) @ f64(B),
                         scale, dtype, 4)


# float32 products of up to 16 rows take cyblas.gemm's few-rows loops (AVX-512
# CPUs). op(B) = B (5 to 16 rows): whole vectors of 16 columns and a masked tail,
# every row count of its unrolled blocks at the edges of the range, k from 1 to
# past the A rows' cache lines. op(B) = B' (2 to 16 rows, k >= 64, also float64):
# blocks of 2 to 6 rows, k a multiple of the vector (16 or 8 lanes) or with a tail
# of 1 to 15 or 7 terms, n a multiple of 4 or not.
FEW_ROWS_SHAPES = [(5, 1, 16), (6, 7, 17), (8, 100, 47), (13, 33, 100), (16, 257, 31),
                   (4, 9, 33), (17, 9, 33), (2, 64, 4), (3, 79, 18), (7, 128, 5),
                   (11, 65, 100), (13, 96, 22), (1, 64, 16), (17, 64, 16)]


@pytest.mark.parametrize("m,k,n", FEW_ROWS_SHAPES)
@pytest.mark.parametrize("ta,tb", list(itertools.product(TRANS, TRANS)))
@pytest.mark.parametrize("la,lb", list(itertools.product(BLAS_MATRIX_LAYOUTS,
                                                         BLAS_MATRIX_LAYOUTS)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_few_rows(rng, m, k, n, la, lb, ta, tb, dtype):
    check_gemm(rng, m, k, n, dtype, la, lb, ta, tb, alpha=1.5)


@pytest.mark.parametrize("m,k,n", FEW_ROWS_SHAPES)
@pytest.mark.parametrize("beta", [0.0, 1.0, -0.75])
@pytest.mark.parametrize("lc", OUTPUT_MATRIX_LAYOUTS)
@pytest.mark.parametrize("tb", TRANS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_few_rows_output(rng, m, k, n, tb, lc, beta, dtype):
    check_gemm(rng, m, k, n, dtype, "C", "C_slice", False, tb, alpha=-0.5, beta=beta,
               lc=lc)


def test_gemm_few_rows_raises_no_flag_past_the_last_column(rng):
    """inf times the positive B, alpha or beta is inf: no invalid operation, also
    in the lanes of the last vector that C does not have (n = 20: 16 + 4)."""
    A = np.ones((8, 5), np.float32)
    A[3, 2] = np.inf
    B = rng.uniform(1, 2, (5, 20)).astype(np.float32)
    C = rng.uniform(1, 2, (8, 20)).astype(np.float32)
    with np.errstate(all="raise"):
        r = fastblas.gemm(1.0, A, B)
        inf_alpha = fastblas.gemm(np.inf, np.ones((8, 5), np.float32), B)
        inf_beta = fastblas.gemm(1.0, np.ones((8, 5), np.float32), B, np.inf, C.copy())
    assert np.isposinf(r[3]).all() and np.isfinite(np.delete(r, 3, axis=0)).all()
    assert np.isposinf(inf_alpha).all() and np.isposinf(inf_beta).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_few_rows_transposed_raises_no_flag_past_the_last_term(rng, dtype):
    """The same with op(B) = B', k = 70 (4 vectors and 6 terms in float32, 8 and 6
    in float64) and n = 18 (4 blocks of 4 columns and 2): the lanes past k and the
    columns past n compute nothing that C's own elements do not."""
    A = np.ones((8, 70), dtype)
    A[3, 69] = np.inf
    B = rng.uniform(1, 2, (18, 70)).astype(dtype)
    C = rng.uniform(1, 2, (8, 18)).astype(dtype)
    with np.errstate(all="raise"):
        r = fastblas.gemm(1.0, A, B, trans_b=True)
        inf_alpha = fastblas.gemm(np.inf, np.ones((8, 70), dtype), B, trans_b=True)
        inf_beta = fastblas.gemm(1.0, np.ones((8, 70), dtype), B, np.inf, C.copy(),
                                 trans_b=True)
    assert np.isposinf(r[3]).all() and np.isfinite(np.delete(r, 3, axis=0)).all()
    assert np.isposinf(inf_alpha).all() and np.isposinf(inf_beta).all()


# ---------------------------------------------------------------------------
# outputs that overlap inputs: as if the inputs had been copied first
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_gemm_output_overlaps_inputs(rng, dtype, beta):
    n = 24
    rtol = 1e-4 if dtype in SINGLE else 1e-12
    for case in ["C is A", "C is B", "C is A.T", "C is A and B", "C shifted over A"]:
        buf = random_values(rng, (n + 1, n), dtype)
        A = buf[:n]
        B = random_values(rng, (n, n), dtype)
        if case == "C is A":
            C = A
        elif case == "C is B":
            C = B
        elif case == "C is A.T":
            C = A.T
        elif case == "C is A and B":
            B = A
            C = A
        else:
            C = buf[1:]
        A0, B0, C0 = f64(A), f64(B), f64(C)
        ref = 2.0 * A0 @ B0 + beta * C0
        r = fastblas.gemm(2.0, A, B, beta=beta, C=C)
        assert r is C, case
        np.testing.assert_allclose(f64(C), ref, rtol=rtol,
                                   atol=rtol * np.abs(ref).max(), err_msg=case)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("trans", TRANS)
def test_gemv_output_overlaps_inputs(rng, dtype, trans):
    n = 20
    rtol = 1e-4 if dtype in SINGLE else 1e-12
    for case in ["y is x", "y is a row of A", "y is a column of A"]:
        A = random_values(rng, (n, n), dtype)
        x = random_values(rng, n, dtype)
        y = {"y is x": x, "y is a row of A": A[3],
             "y is a column of A": A[:, 2]}[case]
        A0, x0, y0 = f64(A), f64(x), f64(y)
        ref = ((A0.T if trans else A0) @ x0) * 1.5 + 0.5 * y0
        r = fastblas.gemv(1.5, A, x, beta=0.5, y=y, trans=trans)
        assert r is y
        np.testing.assert_allclose(f64(y), ref, rtol=rtol,
                                   atol=rtol * np.abs(ref).max(), err_msg=case)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_ger_output_overlaps_inputs(rng, dtype):
    n = 16
    rtol = 1e-5 if dtype in SINGLE else 1e-13
    for case in ["x is a row of A", "y is a column of A", "x and y are A's diagonal"]:
        A = random_values(rng, (n, n), dtype)
        if case == "x is a row of A":
            x, y = A[2], random_values(rng, n, dtype)
        elif case == "y is a column of A":
            x, y = random_values(rng, n, dtype), A[:, 5]
        else:
            x = y = A.reshape(-1)[::n + 1]  # a view of A's diagonal
        A0, x0, y0 = f64(A), f64(x), f64(y)
        ref = A0 - 0.5 * np.outer(x0, y0)
        assert fastblas.ger(-0.5, x, y, A) is A
        np.testing.assert_allclose(f64(A), ref, rtol=rtol,
                                   atol=rtol * np.abs(ref).max(), err_msg=case)


# ---------------------------------------------------------------------------
# gemv
# ---------------------------------------------------------------------------

# (x layout, y layout or None) pairs
GEMV_VECTORS = [("contiguous", None), ("reversed2", "contiguous"),
                ("stride3", "reversed"), ("unaligned", "odd_byte_stride"),
                ("broadcast", "offset_reversed3"), ("byteswapped", "byteswapped_reversed")]


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("trans", TRANS)
@pytest.mark.parametrize("la", MATRIX_LAYOUTS)
@pytest.mark.parametrize("lx,ly", GEMV_VECTORS)
def test_gemv_layouts(rng, la, trans, lx, ly, dtype):
    check_gemv(rng, M, K, dtype, la, trans, lx, ly, alpha=1.25,
               beta=0.0 if ly is None else 0.5)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("beta", [0.0, 1.0, -2.0])
@pytest.mark.parametrize("m,n", [(1, 1), (1, 33), (33, 1), (31, 32), (64, 65),
                                 (300, 200)])
def test_gemv_shapes(rng, m, n, beta, dtype):
    for trans in TRANS:
        check_gemv(rng, m, n, dtype, "C", trans, "contiguous", "contiguous", beta=beta)
        check_gemv(rng, m, n, dtype, "F_slice", trans, "reversed", "stride3",
                   alpha=-1.0, beta=beta)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("m,n", [(0, 4), (4, 0), (0, 0)])
@pytest.mark.parametrize("trans", TRANS)
def test_gemv_zero_sizes(rng, m, n, trans, dtype):
    check_gemv(rng, m, n, dtype, "C", trans, "contiguous", None)
    check_gemv(rng, m, n, dtype, "F", trans, "contiguous", "contiguous", beta=0.0)
    check_gemv(rng, m, n, dtype, "C_slice", trans, "reversed", "reversed", beta=1.5)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_gemv_without_y_ignores_beta(rng, dtype):
    A = rng.standard_normal((6, 4)).astype(dtype)
    x = rng.standard_normal(4).astype(dtype)
    r = fastblas.gemv(2.0, A, x, beta=7.0)
    assert_sum_close(r, 2 * f64(A) @ f64(x), 2 * np.abs(f64(A)) @ np.abs(f64(x)),
                     dtype, 5)


# ---------------------------------------------------------------------------
# ger
# ---------------------------------------------------------------------------

GER_VECTORS = [("contiguous", "contiguous"), ("reversed", "stride3"),
               ("unaligned", "broadcast"), ("byteswapped", "odd_byte_stride_negative"),
               ("readonly_reversed", "offset")]


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("la", OUTPUT_MATRIX_LAYOUTS)
@pytest.mark.parametrize("lx,ly", GER_VECTORS)
def test_ger_layouts(rng, la, lx, ly, dtype):
    check_ger(rng, M, K, dtype, la, lx, ly, alpha=-0.75)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("m,n", [(0, 3), (3, 0), (0, 0), (1, 1), (1, 33), (33, 1),
                                 (64, 65), (300, 200)])
def test_ger_shapes(rng, m, n, dtype):
    check_ger(rng, m, n, dtype, "C")
    check_ger(rng, m, n, dtype, "F_slice", "reversed2", "stride3", alpha=3.0)


# ---------------------------------------------------------------------------
# the 32-bit BLAS integer: level 2/3 refuse a dimension over the limit
# ---------------------------------------------------------------------------

LIMIT = 16


@pytest.mark.parametrize("m,k,n", [(LIMIT + 1, 2, 3), (2, LIMIT + 1, 3),
                                   (2, 3, LIMIT + 1)])
@pytest.mark.parametrize("with_c", [False, True])
def test_gemm_dimension_over_limit(rng, chunk_limit, m, k, n, with_c):
    chunk_limit(LIMIT)
    A = rng.standard_normal((m, k))
    B = rng.standard_normal((k, n))
    C = rng.standard_normal((m, n)) if with_c else None
    C0 = None if C is None else C.copy()
    with pytest.raises(ValueError):
        fastblas.gemm(1.0, A, B, beta=1.0, C=C)
    if C is not None:
        np.testing.assert_array_equal(C, C0)


@pytest.mark.parametrize("m,n", [(LIMIT + 1, 3), (3, LIMIT + 1)])
@pytest.mark.parametrize("trans", TRANS)
def test_gemv_ger_dimension_over_limit(rng, chunk_limit, m, n, trans):
    chunk_limit(LIMIT)
    A = rng.standard_normal((m, n)).astype(np.float32)
    x = rng.standard_normal(m if trans else n).astype(np.float32)
    with pytest.raises(ValueError):
        fastblas.gemv(1.0, A, x, trans=trans)
    A0 = A.copy()
    with pytest.raises(ValueError):
        fastblas.ger(1.0, rng.standard_normal(m).astype(np.float32),
                     rng.standard_normal(n).astype(np.float32), A)
    np.testing.assert_array_equal(A, A0)


def test_leading_dimension_over_limit(rng, chunk_limit):
    """Small dimensions, leading dimension over the limit: refused, or right."""
    chunk_limit(LIMIT)
    big = rng.standard_normal((3 * LIMIT, 3 * LIMIT))
    for A in (big[:3, :4], big[:4, :3].T, np.asfortranarray(big)[:3, :4]):
        A0 = f64(A)
        x = rng.standard_normal(4)
        for call, ref in [
            (lambda: fastblas.gemm(2.0, A, np.eye(4)), lambda: 2 * A0),
            (lambda: fastblas.gemm(1.0, np.eye(3), A), lambda: A0),
            (lambda: fastblas.gemv(1.0, A, x), lambda: A0 @ x),
            (lambda: fastblas.ger(1.0, np.ones(3), x, A), lambda: A0 + x),
        ]:
            try:
                r = call()
            except ValueError:
                np.testing.assert_array_equal(A, A0)  # refused: nothing written
                continue
            np.testing.assert_allclose(r, ref(), rtol=1e-12, atol=1e-12)
            A0 = f64(A)


def test_within_limit_still_works(rng, chunk_limit):
    chunk_limit(LIMIT)
    check_gemm(rng, LIMIT, LIMIT, LIMIT, np.float64, "F", "C", False, True)
    check_gemv(rng, LIMIT, LIMIT, np.float32, "C", True, "reversed", "contiguous",
               beta=1.0)
    check_ger(rng, LIMIT, LIMIT, np.float64, "F")


# ---------------------------------------------------------------------------
# property tests
# ---------------------------------------------------------------------------

@settings(deadline=None, max_examples=120)
@given(m=st.integers(0, 20), k=st.integers(0, 20), n=st.integers(0, 20),
       dtype=st.sampled_from(BLAS_DTYPES), la=st.sampled_from(MATRIX_LAYOUTS),
       lb=st.sampled_from(MATRIX_LAYOUTS), ta=st.booleans(), tb=st.booleans(),
       lc=st.sampled_from([None] + OUTPUT_MATRIX_LAYOUTS),
       alpha=st.sampled_from([1.0, -2.0, 0.5, 0.0]),
       beta=st.sampled_from([0.0, 1.0, -0.5]), seed=st.integers(0, 2**32 - 1))
def test_gemm_property(m, k, n, dtype, la, lb, ta, tb, lc, alpha, beta, seed):
    check_gemm(np.random.default_rng(seed), m, k, n, dtype, la, lb, ta, tb,
               alpha=alpha, beta=beta, lc=lc)


@settings(deadline=None, max_examples=100)
@given(m=st.integers(0, 30), n=st.integers(0, 30), dtype=st.sampled_from(BLAS_DTYPES),
       la=st.sampled_from(MATRIX_LAYOUTS), trans=st.booleans(),
       lx=st.sampled_from(["contiguous", "reversed2", "stride3", "unaligned",
                           "odd_byte_stride", "byteswapped", "broadcast", "readonly"]),
       ly=st.sampled_from([None, "contiguous", "reversed", "offset_reversed3",
                           "unaligned_stride2", "byteswapped_reversed"]),
       beta=st.sampled_from([0.0, 1.0, -0.5]), seed=st.integers(0, 2**32 - 1))
def test_gemv_property(m, n, dtype, la, trans, lx, ly, beta, seed):
    check_gemv(np.random.default_rng(seed), m, n, dtype, la, trans, lx, ly,
               alpha=-1.5, beta=beta)


@settings(deadline=None, max_examples=60)
@given(m=st.integers(0, 30), n=st.integers(0, 30), dtype=st.sampled_from(BLAS_DTYPES),
       la=st.sampled_from(OUTPUT_MATRIX_LAYOUTS),
       lx=st.sampled_from(["contiguous", "reversed2", "unaligned", "broadcast"]),
       ly=st.sampled_from(["contiguous", "stride3", "byteswapped", "readonly"]),
       seed=st.integers(0, 2**32 - 1))
def test_ger_property(m, n, dtype, la, lx, ly, seed):
    check_ger(np.random.default_rng(seed), m, n, dtype, la, lx, ly, alpha=0.5)


@settings(deadline=None, max_examples=40)
@given(m=st.integers(1, 12), k=st.integers(1, 12), n=st.integers(1, 12),
       seed=st.integers(0, 2**32 - 1))
def test_gemm_transpose_identity(m, k, n, seed):
    """(AB)' = B'A': the same product computed both ways agrees."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, k))
    B = rng.standard_normal((k, n))
    C1 = fastblas.gemm(1.0, A, B)
    C2 = fastblas.gemm(1.0, B, A, trans_a=True, trans_b=True)  # B'A' = (AB)'
    assert C2.shape == (n, m)
    np.testing.assert_allclose(C1, C2.T, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# C/F order, transposed views and 2-D slices go to BLAS without a copy
# ---------------------------------------------------------------------------

NO_COPY_LAYOUTS = ["C", "F", "C_T", "F_T", "C_slice", "F_slice", "C_slice_T"]


@pytest.mark.parametrize("la,lb,lc", [
    (la, lb, lc) for la in NO_COPY_LAYOUTS for lb in ["C", "F_slice"]
    for lc in [None, "C", "F", "C_slice", "F_slice"]] + [
    ("C", lb, "F") for lb in NO_COPY_LAYOUTS])
@pytest.mark.parametrize("ta", TRANS)
def test_gemm_no_copy(rng, la, lb, lc, ta):
    m = k = n = 120
    dtype = np.float64
    A = make_matrix(rng, m, k, dtype, la)
    B = make_matrix(rng, k, n, dtype, lb)
    C = None if lc is None else make_matrix(rng, m, n, dtype, lc)
    fastblas.gemm(1.0, A, B, C=C, trans_a=ta)  # warm-up
    extra, r = peak_allocation(lambda: fastblas.gemm(1.0, A, B, C=C, trans_a=ta))
    result_size = 0 if C is not None else r.nbytes
    assert extra < result_size + A.nbytes // 4, f"gemm allocated {extra} bytes"


@pytest.mark.parametrize("la", NO_COPY_LAYOUTS)
@pytest.mark.parametrize("trans", TRANS)
def test_gemv_ger_no_copy(rng, la, trans):
    m = n = 150
    dtype = np.float64
    A = make_matrix(rng, m, n, dtype, la)
    x = make_vector(rng, n, dtype, stride=-2)
    y = make_vector(rng, m, dtype, stride=3)
    fastblas.gemv(1.0, A, x, y=y, trans=trans)
    extra, _ = peak_allocation(lambda: fastblas.gemv(1.0, A, x, y=y, trans=trans))
    assert extra < A.nbytes // 4, f"gemv allocated {extra} bytes"
    extra, _ = peak_allocation(lambda: fastblas.ger(0.5, y, x, A))
    assert extra < A.nbytes // 4, f"ger allocated {extra} bytes"
