"""fastblas.matmul against np.matmul: shapes, stacks, broadcasting, out=, errors.

Integer and bool results must be identical to NumPy's; float16 within one
float16 ulp of the correctly rounded product; float32/float64 to rounding (stacks
of small float matrices take a kernel of their own, which sums in another order
than BLAS: they are checked against a float64 product with a rounding bound).
"""
import numpy as np
import pytest

import fastblas
from conftest import assert_sum_close, make_matrix, random_integers
from test_exact_products import PATHS, assert_half_close, assert_identical

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in cast")

DTYPES = [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64, np.uint64,
          np.bool_, np.float16, np.float32, np.float64]

# (shape of a, shape of b): 1-D promotion, stacks, broadcasting of leading
# dimensions (including length-1 and empty stacks), empty core dimensions.
SHAPES = [
    ((5,), (5,)), ((3, 5), (5,)), ((5,), (5, 4)), ((3, 5), (5, 4)),
    ((2, 3, 5), (5, 4)), ((3, 5), (2, 5, 4)), ((2, 3, 5), (2, 5, 4)),
    ((2, 1, 3, 5), (4, 5, 2)), ((1, 3, 5), (4, 5, 2)), ((5,), (2, 3, 5, 4)),
    ((2, 3, 3, 5), (5,)), ((0, 3, 5), (5, 4)), ((2, 3, 0), (2, 0, 4)),
    ((2, 0, 5), (5, 4)), ((7, 4, 4), (7, 4, 4)), ((3, 9, 9), (9, 9)),
    ((4, 16, 16), (4, 16, 16)), ((2, 40, 30), (2, 30, 20)),
]


@pytest.fixture(autouse=True)
def every_stack_through_the_kernels():
    """Small stacks through fastblas's stack kernels, not np.matmul (by default
    stacks too small to pay for matmul's setup go to NumPy)."""
    from fastblas import _blas
    previous = _blas._set_stack_minimums(matrix=1, bool=1)
    yield
    _blas._set_stack_minimums(**previous)


def values(rng, shape, dtype):
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return random_integers(rng, shape, dtype, "full")


def check(got, a, b, out=None):
    expected = np.matmul(a, b)
    if out is not None:
        assert got is out
    if expected.dtype.kind in "biu":
        assert_identical(got, expected)
    elif expected.dtype == np.float16:
        assert_half_close(got, a, b)
    else:
        assert type(got) is type(expected) and got.dtype == expected.dtype
        assert np.shape(got) == np.shape(expected)
        rtol = 1e-5 if expected.dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * 10)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_shapes_and_stacks(rng, dtype, shapes):
    a, b = values(rng, shapes[0], dtype), values(rng, shapes[1], dtype)
    check(fastblas.matmul(a, b), a, b)


@pytest.mark.parametrize("path", ["tiles", "split"])
@pytest.mark.parametrize("dtype", [np.int32, np.uint64, np.int64, np.bool_, np.float16],
                         ids=lambda d: np.dtype(d).name)
def test_stacks_on_every_path_of_the_exact_product(rng, exact_options, path, dtype):
    exact_options(**PATHS[path])
    for shape_a, shape_b in [((3, 9, 7), (3, 7, 5)), ((2, 1, 4, 6), (3, 6, 4)), ((6,), (2, 6, 5))]:
        a, b = values(rng, shape_a, dtype), values(rng, shape_b, dtype)
        check(fastblas.matmul(a, b), a, b)


@pytest.mark.parametrize("dtype", [np.int64, np.float16, np.float32, np.float64],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("size", [2, 4, 8, 9, 16, 33])
def test_stack_layouts(rng, dtype, size):
    stack = values(rng, (7, 3, 2 * size + 2, size), dtype)
    views = {
        "C": np.ascontiguousarray(stack[:3, 0, :size, :]),
        "transposed": np.ascontiguousarray(stack[:3, 0, :size, :]).transpose(0, 2, 1),
        "strided": stack[::2, 1, ::2, :][:3, :size],
        "negative": stack[:3, 2, :size, ::-1],
        "broadcast": np.broadcast_to(stack[0, 0, :size, :], (3, size, size)),
        "readonly": np.ascontiguousarray(stack[3:6, 0, :size, :]),
    }
    views["readonly"].flags.writeable = False
    for name_a, a in views.items():
        for name_b, b in views.items():
            check(fastblas.matmul(a, b), a, b)


@pytest.mark.parametrize("layout", ["C", "F", "C_T", "negative", "unaligned", "byteswapped",
                                    "broadcast_rows", "sliding_window"])
@pytest.mark.parametrize("dtype", [np.int16, np.float32], ids=lambda d: np.dtype(d).name)
def test_matrix_layouts(rng, dtype, layout):
    a = make_matrix(rng, 6, 5, dtype, layout, values=values(rng, (6, 5), dtype))
    b = values(rng, (3, 5, 4), dtype)
    check(fastblas.matmul(a, b), a, b)
    check(fastblas.matmul(b.transpose(0, 2, 1), a.T), b.transpose(0, 2, 1), a.T)


@pytest.mark.parametrize("dtype", [np.int8, np.uint64, np.bool_, np.float16, np.float32,
                                   np.float64], ids=lambda d: np.dtype(d).name)
def test_out_is_filled_and_returned(rng, dtype):
    for shape_a, shape_b in [((4, 3, 5), (5, 2)), ((3, 5), (5, 2)), ((5,), (4, 5, 2))]:
        a, b = values(rng, shape_a, dtype), values(rng, shape_b, dtype)
        expected = np.matmul(a, b)
        out = np.full(expected.shape, 7, dtype)
        check(fastblas.matmul(a, b, out=out), a, b, out)
        out_f = np.asfortranarray(np.full(expected.shape, 7, dtype))
        check(fastblas.matmul(a, b, out=out_f), a, b, out_f)
        wider = np.empty(expected.shape, np.float64)      # NumPy casts into it
        assert fastblas.matmul(a, b, out=wider) is wider
        np.testing.assert_allclose(wider, np.matmul(a, b, out=np.empty_like(wider)),
                                   rtol=1e-3)


def test_out_overlapping_an_input(rng):
    for dtype in [np.int32, np.float64]:
        a = values(rng, (3, 4, 4), dtype)
        b = values(rng, (3, 4, 4), dtype)
        expected = np.matmul(a, b)
        got = fastblas.matmul(a, b, out=a)
        assert got is a
        if expected.dtype.kind == "f":
            np.testing.assert_allclose(a, expected, rtol=1e-12)
        else:
            np.testing.assert_array_equal(a, expected)


def test_mixed_dtypes_promote_as_numpy(rng):
    for ta, tb in [(np.int8, np.uint8), (np.bool_, np.int16), (np.int32, np.float32),
                   (np.float16, np.float64), (np.uint64, np.int64), (np.int16, np.float16),
                   (np.float32, np.float64)]:
        for n in [5, 4, 16]:        # NumPy's, then the float kernels after promotion
            a, b = values(rng, (2, 3, 4), ta), values(rng, (4, n), tb)
            check(fastblas.matmul(a, b), a, b)


def same_error(a, b, **kwargs):
    with pytest.raises(Exception) as expected:
        np.matmul(a, b, **kwargs)
    with pytest.raises(expected.type) as got:
        fastblas.matmul(a, b, **kwargs)
    assert str(got.value) == str(expected.value)


def test_errors_are_numpys():
    ints = np.ones((2, 3, 4), np.int64)
    floats = np.ones((3, 4), np.float32)
    same_error(ints, ints)                          # core dimensions mismatch
    same_error(floats, floats)
    same_error(np.ones(3, np.int8), np.ones(4, np.int8))
    same_error(np.ones((2, 3, 4)), np.ones((3, 4, 5)))   # stacks do not broadcast
    same_error(np.int64(3), ints)                   # scalars
    same_error(ints, 2)
    same_error(np.array(2.0), floats)
    same_error(ints, ints.transpose(0, 2, 1), out=np.empty((2, 3, 4), np.int64))
    same_error(ints * 1.5, ints.transpose(0, 2, 1), out=np.empty((2, 3, 3), np.int64))
    same_error(np.zeros(3, "i4,f8"), np.zeros(3, "i4,f8"))


def test_other_inputs_and_keywords_go_to_numpy(rng):
    a = values(rng, (2, 3, 4), np.int32)
    b = values(rng, (2, 4, 5), np.int32)
    assert_identical(fastblas.matmul(a, b, dtype=np.int64), np.matmul(a, b, dtype=np.int64))
    assert_identical(fastblas.matmul(a, b, axes=[(-2, -1), (-2, -1), (-2, -1)]),
                     np.matmul(a, b, axes=[(-2, -1), (-2, -1), (-2, -1)]))
    assert_identical(fastblas.matmul(a.tolist(), b.tolist()), np.matmul(a.tolist(), b.tolist()))
    c = (values(rng, (3, 2, 2), np.float64) + 1j).astype(np.complex128)
    np.testing.assert_allclose(fastblas.matmul(c, c), np.matmul(c, c), rtol=1e-12)
    o = np.array([[1, 2**70]], dtype=object)
    assert_identical(fastblas.matmul(o, o.T), np.matmul(o, o.T))


# Stacks of small float32/float64 and integer matrices ---------------------------

FLOATS = [np.float32, np.float64]
INTEGERS = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
            np.uint64]
SMALL_KERNEL = FLOATS + INTEGERS


def check_rounding(got, a, b, out=None):
    """got is np.matmul(a, b) to rounding: same type and shape, each entry within
    a k-term rounding bound of the product computed in float64."""
    expected = np.matmul(a, b)
    if out is not None:
        assert got is out
    assert type(got) is type(expected) and got.dtype == expected.dtype
    wide_a, wide_b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert_sum_close(got, np.matmul(wide_a, wide_b), np.matmul(abs(wide_a), abs(wide_b)),
                     expected.dtype.type, np.shape(a)[-1])


def check_small(got, a, b, out=None):
    """Integers identical to np.matmul (full-range values: wraparound included),
    floats to rounding."""
    if np.result_type(a, b).kind in "iu":
        check(got, a, b, out)
    else:
        check_rounding(got, a, b, out)


@pytest.mark.parametrize("dtype", SMALL_KERNEL, ids=lambda d: np.dtype(d).name)
def test_small_stacks_of_every_shape(rng, dtype):
    for m in range(18):
        for n in range(18):
            for k in range(18):
                a = values(rng, (3, m, k), dtype)
                b = values(rng, (3, k, n), dtype)
                check_small(fastblas.matmul(a, b), a, b)


@pytest.mark.parametrize("square16", [True, False], ids=["square16_kernel", "general_kernel"])
def test_float32_16x16_stacks_through_either_kernel(rng, square16):
    """float32 (16 x 16) stacks of C-ordered A have a kernel of their own on Intel
    CPUs with AVX-512; the private switch sends them to the general one, so that
    one machine checks both."""
    from fastblas import _blas
    previous = _blas._set_square16(square16)
    try:
        assert _blas._square16_active() <= square16
        big = values(rng, (7, 35, 35), np.float32)
        a = values(rng, (7, 16, 16), np.float32)
        for b in [values(rng, (7, 16, 16), np.float32), big[:, 1:17, 2:18],
                  big[:, 15::-1, :16], big[:, :16, :16].transpose(0, 2, 1),
                  np.broadcast_to(big[0, :16, :16], (7, 16, 16))]:
            check_small(fastblas.matmul(a, b), a, b)
            check_small(fastblas.matmul(a[3], b), a[3], b)   # A broadcast over the stack
            out = np.empty((7, 16, 16), np.float32)[::-1]      # C's stack reversed
            check_small(fastblas.matmul(a, b, out=out), a, b, out)
    finally:
        _blas._set_square16(previous)


@pytest.mark.parametrize("dtype", SMALL_KERNEL, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shapes", [
    ((1, 3, 4, 4), (5, 1, 4, 4)), ((4, 4), (6, 4, 4)), ((6, 2, 8), (8, 8)),
    ((8,), (5, 8, 4)), ((5, 4, 8), (8,)), ((2, 1, 3, 5, 2), (4, 1, 2, 16)),
    ((0, 4, 4), (4, 4)), ((3, 0, 2, 8), (1, 8, 8)), ((1000, 4, 4), (1000, 4, 4)),
    ((1, 4, 4), (0, 4, 4)), ((2, 1, 16, 16), (1, 3, 16, 16)), ((16,), (3, 16, 16)),
    ((3, 16, 16), (16,)), ((300, 16, 16), (300, 16, 16)), ((1, 2, 2), (1, 2, 2)),
], ids=str)
def test_small_stacks_broadcast(rng, dtype, shapes):
    a, b = values(rng, shapes[0], dtype), values(rng, shapes[1], dtype)
    check_small(fastblas.matmul(a, b), a, b)


@pytest.mark.parametrize("dtype", SMALL_KERNEL, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [2, 4, 8, 16])
def test_small_stacks_of_any_layout(rng, dtype, n):
    big = values(rng, (6, 2 * n + 3, 2 * n + 3), dtype)
    views = {
        "C": np.ascontiguousarray(big[:, :n, :n]),
        "offset_rows": big[:, 1:n + 1, 2:n + 2],
        "transposed": big[:, :n, :n].transpose(0, 2, 1),
        "strided": big[::2, ::2, ::2][:, :n, :n],
        "negative": big[::-1, n - 1::-1, n - 1::-1],
        "negative_rows": big[:, n - 1::-1, :n],
        "batch_broadcast": np.broadcast_to(big[0, :n, :n], (3, n, n)),
        "transposed_broadcast": np.broadcast_to(big[1, :n, :n].T, (3, n, n)),
    }
    for a in views.values():
        for b in views.values():
            stack = min(len(a), len(b))
            check_small(fastblas.matmul(a[:stack], b[:stack]), a[:stack], b[:stack])


@pytest.mark.parametrize("dtype", SMALL_KERNEL, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("index", [
    np.s_[:5, :3, :8], np.s_[::2, 2:5, 4:12], np.s_[::-2, 5:2:-1, 4:12],
    np.s_[::2, :3, :16:2],                   # columns apart: NumPy fills it
], ids=["C", "strided", "negative", "strided_columns"])
@pytest.mark.parametrize("k", [4, 8])       # k == n: the square build
def test_small_stacks_fill_out(rng, dtype, index, k):
    a, b = values(rng, (5, 3, k), dtype), values(rng, (5, k, 8), dtype)
    big = np.full((10, 7, 20), 7, dtype)
    expected = big.copy()
    expected[index] = np.matmul(a, b)
    out = big[index]
    check_small(fastblas.matmul(a, b, out=out), a, b, out)
    np.testing.assert_allclose(big, expected, rtol=1e-5)     # written nowhere else
    out_f = np.asfortranarray(np.full((5, 3, 8), 7, dtype))
    check_small(fastblas.matmul(a, b, out=out_f), a, b, out_f)


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
def test_small_stacks_propagate_nan_and_inf(rng, dtype):
    a = rng.standard_normal((4, 4, 4)).astype(dtype)
    b = rng.standard_normal((4, 4, 8)).astype(dtype)
    a[0, 1, 2] = np.nan
    a[1, 2, 3] = np.inf
    b[2, 0, 5] = -np.inf
    a[3, :, 1] = 0.0
    b[3, 1, 2] = np.inf                      # 0 * inf: NaN in column 2
    with np.errstate(invalid="ignore"):
        got, expected = fastblas.matmul(a, b), np.matmul(a, b)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-4, atol=1e-5)
    assert np.isnan(got[3, :, 2]).all() and np.isnan(got[0, 1]).all()


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
def test_small_stacks_honour_errstate(dtype):
    a = np.ones((3, 2, 2), dtype)
    b = np.ones((3, 2, 2), dtype)
    b[1, :, 0] = [np.inf, -np.inf]           # inf - inf: invalid
    big = np.full((3, 2, 2), np.finfo(dtype).max, dtype)
    for x, y, flag, message in [(a, b, "invalid", "invalid value encountered in matmul"),
                                (big, big, "over", "overflow encountered in matmul")]:
        with np.errstate(**{flag: "raise"}):
            same_error(x, y)
        with pytest.warns(RuntimeWarning, match=message):
            fastblas.matmul(x, y)
        with np.errstate(all="ignore"):
            check_rounding_or_special(fastblas.matmul(x, y), np.matmul(x, y))


def check_rounding_or_special(got, expected):
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.fixture
def numpy_calls(monkeypatch):
    """The calls fastblas.matmul hands to np.matmul, in a list."""
    from fastblas import _blas
    calls = []
    monkeypatch.setattr(_blas, "_np_matmul",
                        lambda *a, **k: calls.append(np.shape(a[0])) or np.matmul(*a, **k))
    return calls


def test_integer_matrices_too_small_to_gain_go_to_numpy(rng, numpy_calls):
    from fastblas import _blas
    _blas._set_stack_minimums(matrix=12 ** 3)
    for shape in [(3, 10, 10), (1, 11, 12)]:
        a, b = values(rng, shape, np.int32), values(rng, shape[:1] + shape[:0:-1], np.int32)
        check(fastblas.matmul(a, b), a, b)
    assert numpy_calls == [(3, 10, 10), (1, 11, 12)]
    for shape in [(3, 12, 12), (1, 4, 4 * 4 * 12 * 12)]:
        a, b = values(rng, shape, np.int32), values(rng, shape[:1] + shape[:0:-1], np.int32)
        check(fastblas.matmul(a, b), a, b)
    assert len(numpy_calls) == 2


def test_integer_stacks_of_small_matrices_take_the_kernel(rng, numpy_calls):
    """Integer stacks of the kernel's sizes are its own however few or small their
    matrices (NumPy multiplies integers in a plain loop); others of fewer than
    12**3 multiply-adds a matrix go to NumPy."""
    from fastblas import _blas
    _blas._set_stack_minimums(matrix=12 ** 3)
    for dtype in INTEGERS:
        for shape_a, shape_b in [((1, 2, 2), (1, 2, 2)), ((1000, 4, 4), (4, 4)),
                                 ((3, 64, 16), (3, 16, 16)), ((5, 4), (2, 4, 4)),
                                 ((8,), (3, 8, 8))]:
            a, b = values(rng, shape_a, dtype), values(rng, shape_b, dtype)
            check(fastblas.matmul(a, b), a, b)
    assert numpy_calls == []
    a, b = values(rng, (3, 4, 4), np.int32), values(rng, (3, 4, 5), np.int32)
    check(fastblas.matmul(a, b), a, b)
    assert numpy_calls == [(3, 4, 4)]


def test_bool_matrices_too_small_to_gain_go_to_numpy(rng, numpy_calls):
    from fastblas import _blas
    _blas._set_stack_minimums(bool=6 ** 3)
    small, large = (3, 5, 5), (3, 6, 6)
    for shape in [small, large]:
        a, b = values(rng, shape, np.bool_), values(rng, shape, np.bool_)
        check(fastblas.matmul(a, b), a, b)
    assert numpy_calls == [small]


def test_float_stacks_take_the_kernel_from_one_matrix_to_its_largest(rng, numpy_calls):
    """Every stack of rows of 2, 4, 8 or 16 up to m * n * k = 16384 is the kernel's,
    even a single matrix; larger matrices and other widths go to NumPy."""
    for dtype in FLOATS:
        for shape_a, shape_b in [((1, 2, 2), (1, 2, 2)), ((1, 16, 16), (16, 16)),
                                 ((3, 64, 16), (3, 16, 16)), ((2, 16, 64), (64, 16)),
                                 ((5, 4), (2, 4, 4))]:
            a, b = values(rng, shape_a, dtype), values(rng, shape_b, dtype)
            check_rounding(fastblas.matmul(a, b), a, b)
        assert numpy_calls == []
        for shape_a, shape_b in [((2, 65, 16), (16, 16)), ((2, 8, 8), (8, 12)),
                                 ((2, 8, 8), (8, 32))]:
            a, b = values(rng, shape_a, dtype), values(rng, shape_b, dtype)
            check_rounding(fastblas.matmul(a, b), a, b)
        assert numpy_calls == [(2, 65, 16), (2, 8, 8), (2, 8, 8)]
        numpy_calls.clear()


def test_streamed_stacks_of_larger_matrices_go_to_numpy(rng, numpy_calls):
    """From m * n * k = 2048 on, with rows of 64 bytes or more, stacks of more than
    16 MiB (A, B and C over the stack) go to NumPy, which keeps up once they stream
    from memory; smaller matrices and narrower rows stay with the kernel."""
    for dtype, largest in [(np.float32, 5461), (np.float64, 2730)]:  # 16 MiB / 768 items
        for count in (largest, largest + 1):
            a, b = values(rng, (count, 16, 16), dtype), values(rng, (count, 16, 16), dtype)
            check_rounding(fastblas.matmul(a, b), a, b)
        assert numpy_calls == [(largest + 1, 16, 16)]
        numpy_calls.clear()
    a, b = values(rng, (12000, 8, 8), np.float64), values(rng, (12000, 8, 8), np.float64)
    check_rounding(fastblas.matmul(a, b), a, b)     # 18 MiB of 8x8 @ 8x8
    a, b = values(rng, (9000, 16, 16), np.float32), values(rng, (9000, 16, 8), np.float32)
    check_rounding(fastblas.matmul(a, b), a, b)     # 18 MiB of rows of 8 floats
    assert numpy_calls == []
