"""fastblas.dot on integer, bool and float16 arrays: NumPy's result, bit for bit.

Integers and bool are compared with ``np.dot`` exactly (dtype, shape and every
bit, wraparound included); float16 products are compared with the float16
rounding of the exact product (and vector dot products bit for bit, since both
sum in float32 in index order). Every path of the blocked product (float32 or
float64 BLAS, the integer accumulator, the splitting into slices, tiles of the
output and of the inner dimension) is reached on small inputs through the
private ``exact_options`` settings.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastblas
from conftest import (MATRIX_LAYOUTS, VECTOR_LAYOUTS, make_matrix, make_vector,
                      peak_allocation, random_integers, tol)

# make_matrix pads integer buffers with NaN, cast (with a warning) to some integer.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in cast")

INT_DTYPES = [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32,
              np.int64, np.uint64]
EXACT_DTYPES = INT_DTYPES + [np.bool_]

# name -> private settings: the defaults, small tiles (every block boundary is
# crossed by a 10-ish product), the same through BLAS only (where the CPU has
# AVX-512 VNNI, values within int16's range take the pair kernel instead), and
# small tiles with the splitting forced.
PATHS = {
    "default": {},
    "tiles": dict(tile_m=4, tile_n=3, tile_k=5, loop_flops=1),
    "blas": dict(tile_m=4, tile_n=3, tile_k=5, loop_flops=1, int16_pairs=False),
    "split": dict(tile_m=4, tile_n=3, tile_k=5, loop_flops=1, force_split=True),
}
# (m, k, n) around the small tiles' boundaries (4, 5 and 3), and empty products.
SHAPES = [(1, 1, 1), (2, 3, 2), (4, 5, 3), (5, 6, 4), (8, 10, 6), (9, 11, 7),
          (0, 3, 2), (3, 0, 2), (3, 2, 0), (13, 1, 1), (1, 17, 1)]


def assert_identical(got, expected):
    """Same type, dtype, shape and values (bit for bit)."""
    assert type(got) is type(expected), (type(got), type(expected))
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_array_equal(got, expected, strict=True)


def assert_half_close(got, a, b):
    """NumPy's float16 product to rounding: the float16 rounding of the exact
    product, give or take one float16 ulp and the float32 error of the sum."""
    wide_a, wide_b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    exact = np.matmul(wide_a, wide_b)
    expected = exact.astype(np.float16)
    assert np.asarray(got).dtype == np.float16 and np.shape(got) == expected.shape
    k = wide_a.shape[-1]
    bound = (np.spacing(np.abs(expected)).astype(np.float64)
             + tol(np.float32, k) * np.matmul(np.abs(wide_a), np.abs(wide_b)))
    err = np.abs(np.asarray(got, np.float64) - exact)
    assert np.all(err <= bound), (got, exact)


def operands(rng, dtype, shape_a, shape_b, spread="full"):
    if dtype == np.float16:
        return (rng.standard_normal(shape_a).astype(np.float16),
                rng.standard_normal(shape_b).astype(np.float16))
    return (random_integers(rng, shape_a, dtype, spread),
            random_integers(rng, shape_b, dtype, spread))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", EXACT_DTYPES + [np.float16], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("spread", ["full", "small"])
def test_matrix_products_match_numpy(rng, exact_options, path, dtype, spread):
    exact_options(**PATHS[path])
    for m, k, n in SHAPES:
        a, b = operands(rng, dtype, (m, k), (k, n), spread)
        u, v = operands(rng, dtype, k, k, spread)
        for x, y in [(a, b), (a, v), (u, b)]:
            got = fastblas.dot(x, y)
            if dtype == np.float16:
                assert_half_close(got, x, y)
            else:
                assert_identical(got, np.dot(x, y))


@pytest.mark.parametrize("dtype", EXACT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 31, 1000])
def test_vector_products_match_numpy(rng, dtype, n):
    for spread in ["full", "small", "extreme"]:
        x, y = operands(rng, dtype, n, n, spread)
        assert_identical(fastblas.dot(x, y), np.dot(x, y))


@pytest.mark.parametrize("n", [0, 1, 7, 1000])
def test_float16_vector_product_is_numpys_bit_for_bit(rng, n):
    x, y = operands(rng, np.float16, n, n)
    assert_identical(fastblas.dot(x, y), np.dot(x, y))


@pytest.mark.parametrize("dtype", [np.int32, np.uint32, np.int64, np.uint64])
@pytest.mark.parametrize("path", ["default", "split"])
def test_full_range_wraps_around_as_numpy(rng, exact_options, dtype, path):
    exact_options(**PATHS[path])
    a, b = operands(rng, dtype, (23, 37), (37, 19))
    assert_identical(fastblas.dot(a, b), np.dot(a, b))


def test_default_tiles_with_splitting_over_several_blocks(rng):
    # 3 x 22-bit slices of int64 sum at most 170 terms per BLAS call: k = 700
    # crosses four blocks of the inner dimension, m and n cross a 512 tile.
    a, b = operands(rng, np.int64, (520, 700), (700, 3))
    b = np.ascontiguousarray(np.repeat(b, 2, axis=1))   # n = 6: the BLAS path
    assert_identical(fastblas.dot(a, b), np.dot(a, b))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_float32_sums_emptied_into_the_integer_accumulator(rng, dtype):
    # Full-range bytes bound |a| |b| by 2**14 (2**16 for uint8), so sgemm sums at
    # most 512 terms exactly and each block's sums go to the 64-bit accumulator
    # before the next block's: k = 1300 crosses three blocks.
    a, b = operands(rng, dtype, (5, 1300), (1300, 6))
    assert_identical(fastblas.dot(a, b), np.dot(a, b))


def test_long_reduction_beyond_53_bits_is_exact(rng):
    # Products up to 2**52 summed 1500 times: up to 2**62.6, no wraparound, but
    # float64 loses the low bits. Checked against Python's exact integers too.
    k = 1500
    a = rng.integers(2**25, 2**26, size=(3, k), dtype=np.int64)
    b = rng.integers(2**25, 2**26, size=(k, 4), dtype=np.int64)
    got = fastblas.dot(a, b)
    assert_identical(got, np.dot(a, b))
    exact = [[sum(int(x) * int(y) for x, y in zip(row, col)) for col in b.T] for row in a]
    assert got.tolist() == exact
    assert not np.array_equal(got, (a.astype(float) @ b.astype(float)).astype(np.int64))


@pytest.mark.parametrize("bits", [24, 53])
def test_values_at_the_exactness_bounds(exact_options, bits):
    # amax * bmax * k one below and one above 2**bits (and its float rounding).
    exact_options(tile_k=4096, loop_flops=1)
    k = 16
    for big in [2 ** (bits - 4) - 1, 2 ** (bits - 4) + 1]:
        a = np.full((3, k), 1, np.int64)
        a[:, 0] = big
        b = np.full((k, 2), 1, np.int64)
        b[3] = big
        b[5] = 2**62 + 1    # forces a wrap when multiplied with the large column
        assert_identical(fastblas.dot(a, b), np.dot(a, b))
        assert_identical(fastblas.dot(a[:, 1:], b[1:, :1]), np.dot(a[:, 1:], b[1:, :1]))


def pair_kernel_values(rng, shape, dtype, k, spread):
    """Random values for the int16 pair kernel, a tenth of them at the range's
    ends. "int16": values it takes whole for this dtype and depth: the whole
    range of the types of 16 bits and fewer (uint16's above 2**15 read as
    negative int16), int16's range for the 32-bit types (the unsigned one from
    0), and for the 64-bit types below 2**10, so that amax bmax k < 2**31.
    "full": the type's whole range, which the 32-bit types take in two 16-bit
    digits (and the 64-bit ones do not take)."""
    info = np.iinfo(dtype)
    low, high = info.min, info.max
    if spread == "int16" and info.bits > 16:
        low, high = max(low, -2**15), 2**15 - 1
    if spread == "int16" and info.bits == 64:
        assert 2**20 * k < 2**31
        low, high = max(low, -2**10), 2**10 - 1
    values = rng.integers(low, high, size=shape, endpoint=True, dtype=dtype)
    ends = rng.random(shape) < 0.1
    values[ends] = rng.choice(np.array([low, high], dtype), size=np.count_nonzero(ends))
    return values


needs_pairs = pytest.mark.skipif(not fastblas._blas._int16_pairs_supported(),
                                 reason="the int16 pair kernel needs AVX-512 VNNI "
                                        "(and a GCC >= 12 build on x86-64 Linux)")


@needs_pairs
@pytest.mark.parametrize("dtype", INT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("spread", ["int16", "full"])
@pytest.mark.parametrize("layouts", [("C", "C"), ("F", "F"), ("C_T", "strided"),
                                     ("negative", "C_slice"), ("broadcast_cols", "F_T")])
def test_int16_pair_kernel_matches_numpy(rng, exact_options, dtype, spread, layouts):
    # Rows around the kernel's 4, columns around its 64 (and 8, below which
    # sgemm's range stays with sgemm), depths around its blocks of 256 terms,
    # odd ones leaving half a pair.
    exact_options(loop_flops=1)
    for m, k, n in [(2, 1, 8), (3, 2, 64), (4, 255, 63), (5, 256, 65), (9, 257, 130),
                    (13, 513, 8), (1, 40, 200), (70, 3, 7)]:
        a = make_matrix(rng, m, k, dtype, layouts[0],
                        pair_kernel_values(rng, (m, k), dtype, k, spread))
        b = make_matrix(rng, k, n, dtype, layouts[1],
                        pair_kernel_values(rng, (k, n), dtype, k, spread))
        assert_identical(fastblas.dot(a, b), np.dot(a, b))


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.uint32, np.int64, np.uint64])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_int16_extremes_past_32_bits(exact_options, dtype, k):
    # Products of -2**15 by -2**15 are 2**30: two of them pass int32, where the
    # pair kernel's lanes wrap. NumPy's result is that sum modulo 2**bits, which
    # the 32-bit sums hold for the types of 32 bits and fewer; the 64-bit types
    # need the exact 2**31, beyond the kernel's bound from k = 2.
    exact_options(loop_flops=1)
    low = max(np.iinfo(dtype).min, -2**15) if np.iinfo(dtype).min < 0 else 2**15 - 1
    a = np.full((5, k), low, dtype)
    b = np.full((k, 9), low, dtype)
    b[:, 1] = 3
    assert_identical(fastblas.dot(a, b), np.dot(a, b))


def test_most_negative_values(exact_options):
    exact_options(loop_flops=1)
    for dtype in [np.int8, np.int16, np.int32, np.int64]:
        low = np.iinfo(dtype).min
        a = np.full((3, 4), low, dtype)
        b = np.full((4, 2), low, dtype)
        assert_identical(fastblas.dot(a, b), np.dot(a, b))
        assert_identical(fastblas.dot(a, -b), np.dot(a, -b))


def test_bool_counts_never_wrap(exact_options):
    # 256 true products must still say True (a uint8 count would wrap to 0).
    exact_options(loop_flops=1)
    a = np.ones((2, 256), bool)
    b = np.ones((256, 3), bool)
    assert_identical(fastblas.dot(a, b), np.dot(a, b))
    nonzero = np.arange(256, dtype=np.uint8).view(bool).reshape(2, 128)
    assert_identical(fastblas.dot(nonzero, nonzero.T), np.dot(nonzero, nonzero.T))


def bool_matrix(rng, shape, density, layout):
    """Random bool with the given fraction of True, stored as any nonzero byte
    (NumPy reads every nonzero byte of a bool array as True), in a layout that
    takes one of the bit-packing loops: contiguous lines, across lines, strided."""
    values = rng.integers(1, 256, size=shape, dtype=np.uint8)
    values[rng.random(shape) >= density] = 0
    if layout == "F":
        values = np.asfortranarray(values)
    elif layout == "strided":
        padded = np.zeros((shape[0] * 2, shape[1] * 3), np.uint8)[::-2, ::3]
        padded[...] = values
        values = padded
    return values.view(bool)


@pytest.mark.parametrize("path", ["default", "tiles"])
@pytest.mark.parametrize("density", [0.5, 0.05, 0.002])
@pytest.mark.parametrize("layouts", [("C", "C"), ("F", "F"), ("C", "F"), ("strided", "C"),
                                     ("F", "strided")])
def test_bool_products_on_bits(rng, exact_options, path, density, layouts):
    # k around multiples of 8 (the bytes of packed bits); dense rows stop after a
    # round of bytes, sparse ones run the whole depth; small tiles split every
    # dimension into blocks, later blocks of the inner dimension ORed into C.
    exact_options(**PATHS[path])
    for m, k, n in [(3, 7, 5), (9, 8, 6), (17, 9, 33), (5, 63, 4), (20, 64, 19),
                    (6, 65, 7), (40, 300, 35)]:
        a = bool_matrix(rng, (m, k), density, layouts[0])
        b = bool_matrix(rng, (k, n), density, layouts[1])
        assert_identical(fastblas.dot(a, b), np.dot(a, b))


@pytest.mark.parametrize("path", ["default", "tiles"])
def test_bool_products_find_a_lone_true_term(exact_options, path):
    # One common true term per element of C, at every position of the inner
    # dimension in turn: the first and last byte, the tail bits, the last block.
    exact_options(**PATHS[path])
    m, k, n = 6, 77, 5
    for p in range(k):
        a = np.zeros((m, k), bool)
        b = np.zeros((k, n), bool)
        a[1::2, p] = True
        b[p, ::2] = True
        a[0, (p + 1) % k] = True       # true terms that meet no true term of B
        b[(p + 2) % k, 1] = True
        assert_identical(fastblas.dot(a, b), np.dot(a, b))


@pytest.mark.parametrize("path", ["default", "tiles"])
def test_every_float16_value_converts_exactly(exact_options, path):
    exact_options(**PATHS[path])
    every = np.arange(2**16, dtype=np.uint16).view(np.float16)
    for column in [every[:, None], every[None, :].T]:
        one = np.ones((1, 2), np.float16)
        with np.errstate(invalid="ignore"):              # the signalling NaNs
            got = fastblas.dot(column, one)              # x * 1, rounded back: x
            np.testing.assert_array_equal(got, np.dot(column, one))
        assert got.dtype == np.float16


def test_float16_inf_and_nan_propagate(exact_options):
    exact_options(loop_flops=1)
    a = np.array([[np.inf, 1], [np.nan, 1], [65504, 65504], [-np.inf, 0]], np.float16)
    b = np.array([[1, 2], [1, -1]], np.float16)
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(fastblas.dot(a, b), np.dot(a, b))


def float16_error(product, a, b):
    """The FloatingPointError message of product(a, b) with every error raised,
    or None."""
    with np.errstate(all="raise"):
        try:
            product(a, b)
        except FloatingPointError as error:
            return str(error)
    return None


@pytest.mark.parametrize("path", ["default", "tiles"])
@pytest.mark.parametrize("shape", [(64,), (2, 2), (64, 64), (3, 64, 64)], ids=str)
@pytest.mark.parametrize("case", ["overflow", "invalid", "none"])
def test_float16_errors_reported_as_numpy_does(exact_options, path, shape, case):
    # overflow: sums of 60000**2 beyond float16's 65504; invalid: inf * 0 in
    # every sum; none: ordinary values
    exact_options(**PATHS[path])
    a = np.full(shape, 60000 if case == "overflow" else 0.5, np.float16)
    b = a.copy()
    if case == "invalid":                # the first term of every sum
        a[..., 0] = np.inf
        if b.ndim == 1:
            b[0] = 0
        else:
            b[..., 0, :] = 0
    fb_product, np_product = ((fastblas.matmul, np.matmul) if len(shape) == 3
                              else (fastblas.dot, np.dot))
    expected = float16_error(np_product, a, b)
    assert (expected is None) == (case == "none")
    assert float16_error(fb_product, a, b) == expected
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(fb_product(a, b), np_product(a, b))


VECTOR_LAYOUT_NAMES = [name for name in VECTOR_LAYOUTS if name != "odd_byte_stride_negative"]


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64, np.bool_, np.float16],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("layout", VECTOR_LAYOUT_NAMES + ["odd_byte_stride_negative"])
def test_vector_layouts(rng, dtype, layout):
    if "unaligned" in layout and np.dtype(dtype).itemsize == 1:
        pytest.skip("a one-byte type is always aligned")
    for n in [0, 1, 5, 33]:
        values = operands(rng, dtype, n, n)
        x = make_vector(rng, n, dtype, values=values[0], **VECTOR_LAYOUTS[layout])
        y = make_vector(rng, n, dtype, values=values[1])
        for p, q in [(x, y), (y, x), (x, x)]:
            assert_identical(fastblas.dot(p, q), np.dot(p, q))


@pytest.mark.parametrize("path", ["default", "tiles"])
@pytest.mark.parametrize("dtype", [np.int8, np.uint32, np.int64, np.bool_, np.float16],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("layout", MATRIX_LAYOUTS)
def test_matrix_layouts(rng, exact_options, path, dtype, layout):
    exact_options(**PATHS[path])
    m, k, n = 7, 6, 5
    va, vb = operands(rng, dtype, (m, k), (k, n))
    a = make_matrix(rng, m, k, dtype, layout, values=va)
    b = make_matrix(rng, k, n, dtype, layout, values=vb)
    a_copy, b_copy = a.copy(), b.copy()
    c = make_matrix(rng, m, k, dtype, "C", values=va)
    d = make_matrix(rng, k, n, dtype, "C", values=vb)
    for x, y in [(a, d), (c, b), (a, b), (a, b[:, 0]), (a[0], b)]:
        got = fastblas.dot(x, y)
        if dtype == np.float16:
            assert_half_close(got, x, y)
        else:
            assert_identical(got, np.dot(x, y))
    np.testing.assert_array_equal(a, a_copy)
    np.testing.assert_array_equal(b, b_copy)


MIXED = [(np.int8, np.uint8), (np.bool_, np.int8), (np.int16, np.uint32),
         (np.int64, np.uint64), (np.int32, np.float32), (np.uint8, np.float16),
         (np.float16, np.float32), (np.float32, np.float64), (np.bool_, np.float64),
         (np.int64, np.float64)]


@pytest.mark.parametrize("dtypes", MIXED, ids=lambda p: "-".join(np.dtype(d).name for d in p))
def test_mixed_dtypes_are_promoted_as_numpy_does(rng, dtypes):
    def values(shape, dtype):
        if np.dtype(dtype).kind == "f":
            return rng.standard_normal(shape).astype(dtype)
        return random_integers(rng, shape, dtype, "small")
    for shape_a, shape_b in [((5,), (5,)), ((4, 5), (5,)), ((5,), (5, 3)), ((4, 5), (5, 3))]:
        a, b = values(shape_a, dtypes[0]), values(shape_b, dtypes[1])
        got, expected = fastblas.dot(a, b), np.dot(a, b)
        assert np.asarray(got).dtype == np.asarray(expected).dtype
        assert np.shape(got) == np.shape(expected)
        if expected.dtype.kind in "biu":
            assert_identical(got, expected)
        else:
            rtol = {np.float16: 1e-2, np.float32: 1e-5, np.float64: 1e-12}[expected.dtype.type]
            np.testing.assert_allclose(np.asarray(got, float), np.asarray(expected, float),
                                       rtol=rtol, atol=rtol)


def same_outcome(a, b):
    """fastblas.dot(a, b) returns what np.dot returns, or raises what it raises."""
    try:
        expected = np.dot(a, b)
    except Exception as exc:  # noqa: BLE001  (any exception NumPy raises must match)
        with pytest.raises(type(exc)) as info:
            fastblas.dot(a, b)
        assert str(info.value) == str(exc)
        return
    got = fastblas.dot(a, b)
    assert type(got) is type(expected)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


def test_inputs_without_a_fast_path_behave_as_numpy():
    ints = np.arange(6, dtype=np.int64).reshape(2, 3)
    cases = [
        (np.array([1, 2**70], dtype=object), np.array([3, 4], dtype=object)),
        (np.arange(3), 2**70),                                    # Python int overflow
        (np.arange(3, dtype=np.uint64), -1),
        (np.zeros(3, dtype="i4,f8"), np.zeros(3, dtype="i4,f8")),  # structured
        (np.arange(3).astype("datetime64[s]"), np.arange(3)),
        (np.arange(3).astype("timedelta64[s]"), np.arange(3)),
        (np.array(["a", "b"]), np.array(["c", "d"])),
        (np.arange(3, dtype=np.longdouble), np.arange(3)),
        (np.arange(3, dtype=np.complex64), np.arange(3, dtype=np.int8)),
        (ints, ints),                                             # mismatched shapes
        (ints, np.arange(2)),
        (ints[0], ints),
        (np.int64(3), ints),                                      # scalars
        (np.array(3, dtype=np.int8), ints),
        (np.arange(24, dtype=np.int16).reshape(2, 3, 4), np.arange(4, dtype=np.int16)),
        ([1, 2, 3], [4, 5, 6]),
    ]
    for a, b in cases:
        same_outcome(a, b)


def test_result_is_a_new_array_and_inputs_stay_unchanged(rng):
    a = random_integers(rng, (6, 7), np.int32)
    b = random_integers(rng, (7, 5), np.int32)
    a.flags.writeable = False
    c = fastblas.dot(a, b)
    assert c.flags.writeable and c.flags.c_contiguous and not np.shares_memory(c, a)
    assert_identical(c, np.dot(a, b))


def test_workspace_stays_bounded(rng):
    # The output plus the workspace (under 9 MB with the default 512 x 512 tiles,
    # whatever the size), here for a split int64 product crossing the tiles.
    n = 600
    a = random_integers(rng, (n, n), np.int64)
    b = random_integers(rng, (n, n), np.int64)
    peak, c = peak_allocation(lambda: fastblas.dot(a, b))
    assert peak <= c.nbytes + 9 * 2**20, peak
    assert_identical(c, np.dot(a, b))


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.bool_, np.float16],
                         ids=lambda d: np.dtype(d).name)
def test_a_workspace_that_cannot_be_had_raises_memory_error(rng, exact_options, dtype):
    """The path of a failed allocation, reached by a limit below what the product
    needs: a MemoryError, nothing written to out=, nothing leaked, and the next
    products right again."""
    import tracemalloc
    a = random_integers(rng, (40, 50), dtype) if dtype != np.float16 else \
        rng.standard_normal((40, 50)).astype(dtype)
    b = a.T.copy()
    stack_a, stack_b = np.stack([a, a[::-1]]), np.stack([b, b[:, ::-1]])
    products = [lambda: fastblas.dot(a, b),                # 80000 multiply-adds: nogil
                lambda: fastblas.dot(a[:20, :20], b[:20, :20]),     # with the GIL
                lambda: fastblas.matmul(stack_a, stack_b)]
    out = np.zeros((2, 40, 40), dtype)
    exact_options(max_workspace=64, loop_flops=1)    # no product takes the plain loop
    for product in products + [lambda: fastblas.matmul(stack_a[:1], stack_b[:1], out=out[:1])]:
        with pytest.raises(MemoryError, match="no memory for the workspace of an exact product"):
            product()
    assert not out.any()
    tracemalloc.start()
    for _ in range(50):
        for product in products:
            with pytest.raises(MemoryError):
                product()
    leaked = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert leaked < 64 * 1024, leaked
    exact_options(max_workspace=0)
    if dtype == np.float16:
        assert_half_close(fastblas.dot(a, b), a, b)
        assert_half_close(fastblas.matmul(stack_a, stack_b, out=out), stack_a, stack_b)
    else:
        assert_identical(fastblas.dot(a, b), np.dot(a, b))
        assert_identical(fastblas.matmul(stack_a, stack_b, out=out),
                         np.matmul(stack_a, stack_b))


def test_exact_options_are_checked(exact_options):
    with pytest.raises(ValueError, match="max_workspace must be >= 0"):
        exact_options(max_workspace=-1)
    with pytest.raises(ValueError, match="tile_m must be in"):
        exact_options(tile_m=0)
    with pytest.raises(TypeError, match="unknown exact-product settings"):
        exact_options(tile=4)


# Hypothesis: any integer dtype, shape and value range (extremes included), on
# every path of the blocked product.
@st.composite
def integer_products(draw):
    dtype = np.dtype(draw(st.sampled_from(EXACT_DTYPES)))
    m, k, n = (draw(st.integers(0, 9)) for _ in range(3))
    if dtype == bool:
        elements = st.booleans()
    else:
        info = np.iinfo(dtype)
        low = draw(st.sampled_from([info.min, max(info.min, -3), 0]))
        high = draw(st.sampled_from([info.max, 3, 2**20 if info.bits > 21 else info.max]))
        elements = st.integers(min(low, high), high)
    a = np.array(draw(st.lists(elements, min_size=m * k, max_size=m * k)), dtype=dtype)
    b = np.array(draw(st.lists(elements, min_size=k * n, max_size=k * n)), dtype=dtype)
    a = a.reshape(m, k)
    b = b.reshape(k, n)
    if draw(st.booleans()):
        a = np.asfortranarray(a)
    if draw(st.booleans()):
        b = b[::-1, ::-1]
    return a, b, draw(st.sampled_from(sorted(PATHS)))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(integer_products())
def test_hypothesis_integer_products_are_exact(exact_options, case):
    a, b, path = case
    exact_options(reset=True, **PATHS[path])
    assert_identical(fastblas.dot(a, b), np.dot(a, b))
    if a.shape[0] and b.shape[1]:
        assert_identical(fastblas.dot(a[0], b), np.dot(a[0], b))
        assert_identical(fastblas.dot(a, b[:, 0]), np.dot(a, b[:, 0]))
        assert_identical(fastblas.dot(a[0], b[:, 0]), np.dot(a[0], b[:, 0]))


def test_private_settings_are_checked(exact_options):
    with pytest.raises(TypeError, match="unknown"):
        exact_options(tile=3)
    with pytest.raises(ValueError, match="tile_k"):
        exact_options(tile_k=0)
    previous = exact_options(tile_m=7)
    assert exact_options()["tile_m"] == 7 and previous["tile_m"] != 7
