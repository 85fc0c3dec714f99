"""Level-1 routines against NumPy in float64: lengths, strides, offsets, layouts,
the chunked path for the 32-bit BLAS integer, special values, property tests."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastblas
from conftest import (BIG, BLAS_DTYPES, DTYPES, LENGTHS, LEVEL1, LEVEL1_OUTPUTS, LEVEL1_WITH_Y,
                      OFFSETS, OUTPUT_LAYOUTS, STRIDES, VECTOR_LAYOUTS,
                      check_level1, exact_norm, f64, level1_dtypes, make_vector,
                      peak_allocation)


def _lengths(name):
    return [n for n in LENGTHS if not (name == "iamax" and n == 0)]


def _kw(stride, offset):
    return dict(stride=stride, offset=offset)


# ---------------------------------------------------------------------------
# lengths x strides x offsets
# ---------------------------------------------------------------------------

# every stride pair, each with a zero or a non-zero offset (alternating)
STRIDE_PAIRS = [(sx, sy, OFFSETS[i % len(OFFSETS)])
                for i, (sx, sy) in enumerate(itertools.product(STRIDES, STRIDES[::-1]))]


@pytest.mark.parametrize("name,dtype,n,sx,sy,offset", [
    (name, dtype, n, sx, sy, offset)
    for name in LEVEL1_WITH_Y
    for dtype in level1_dtypes(name)
    for n in _lengths(name)
    for sx, sy, offset in STRIDE_PAIRS
])
def test_binary_strides(rng, name, dtype, n, sx, sy, offset):
    check_level1(name, rng, n, dtype, _kw(sx, offset), _kw(sy, offset + 2))


@pytest.mark.parametrize("name,dtype,n,stride,offset", [
    (name, dtype, n, stride, offset)
    for name in ["scal", "nrm2", "asum", "iamax"]
    for dtype in level1_dtypes(name)
    for n in _lengths(name)
    for stride in STRIDES
    for offset in OFFSETS
])
def test_unary_strides(rng, name, dtype, n, stride, offset):
    check_level1(name, rng, n, dtype, _kw(stride, offset))


# ---------------------------------------------------------------------------
# memory layouts: read-only, unaligned, odd byte strides, byte-swapped, zero stride
# ---------------------------------------------------------------------------

def _layouts_for(name, operand):
    writes = operand in LEVEL1_OUTPUTS.get(name, ())
    return OUTPUT_LAYOUTS if writes else list(VECTOR_LAYOUTS)


@pytest.mark.parametrize("name,dtype,n,lx,ly", [
    (name, dtype, n, lx, "contiguous")
    for name in LEVEL1
    for dtype in level1_dtypes(name)
    for n in _lengths(name)[:2] + [33, 1000]
    for lx in _layouts_for(name, "x")
] + [
    (name, dtype, n, "contiguous", ly)
    for name in LEVEL1_WITH_Y
    for dtype in level1_dtypes(name)
    for n in [1, 33, 1000]
    for ly in _layouts_for(name, "y")
])
def test_layouts(rng, name, dtype, n, lx, ly):
    check_level1(name, rng, n, dtype, VECTOR_LAYOUTS[lx], VECTOR_LAYOUTS[ly])


@pytest.mark.parametrize("name,lx,ly", [
    (name, lx, ly)
    for name in ["dot", "axpy", "swap"]
    for lx in _layouts_for(name, "x")
    for ly in _layouts_for(name, "y")
])
@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_layout_pairs(rng, name, lx, ly, dtype):
    check_level1(name, rng, 33, dtype, VECTOR_LAYOUTS[lx], VECTOR_LAYOUTS[ly])


# ---------------------------------------------------------------------------
# 2**20 elements (a few cases only)
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,dtype,stride", [
    ("dot", np.float32, 1), ("dot", np.float64, -1), ("dsdot", np.float32, 1),
    ("axpy", np.float32, -1), ("scal", np.float64, 1), ("nrm2", np.float32, 1),
    ("asum", np.float64, -1), ("iamax", np.float32, 1),
    ("dot", np.complex64, -1), ("axpy", np.complex128, 1),
])
def test_big(rng, name, dtype, stride):
    check_level1(name, rng, BIG, dtype, dict(stride=stride), dict(stride=stride))


@pytest.mark.parametrize("stride", [1, -1, 2])
def test_big_dot_exact(rng, stride):
    """Small-integer entries: every partial sum is exact in float32, so any dropped,
    doubled or misplaced element changes the answer."""
    vx = rng.integers(-1, 2, BIG).astype(np.float32)
    vy = rng.integers(-1, 2, BIG).astype(np.float32)
    x = make_vector(rng, BIG, np.float32, stride=stride, values=vx)
    y = make_vector(rng, BIG, np.float32, stride=-stride, values=vy)
    expected = np.float32(np.dot(vx.astype(np.int64), vy.astype(np.int64)))
    assert fastblas.dot(x, y) == expected
    assert fastblas.dsdot(x, y) == expected
    assert fastblas.asum(x) == np.abs(vx).sum(dtype=np.int64)


# ---------------------------------------------------------------------------
# chunked path for the 32-bit BLAS integer (private chunk limit made small)
# ---------------------------------------------------------------------------

LIMIT = 64


@pytest.mark.parametrize("name,dtype,n,stride", [
    (name, dtype, n, stride)
    for name in LEVEL1
    for dtype in level1_dtypes(name)
    for n in [LIMIT - 1, LIMIT, LIMIT + 1, 2 * LIMIT, 5 * LIMIT + 3, 1000]
    for stride in [1, 3, -1, -2]
])
def test_chunked(rng, chunk_limit, name, dtype, n, stride):
    chunk_limit(LIMIT)
    check_level1(name, rng, n, dtype, dict(stride=stride, offset=1),
                 dict(stride=-stride, offset=2))


@pytest.mark.parametrize("name,layout", [
    (name, layout) for name in LEVEL1
    for layout in ["unaligned", "odd_byte_stride_negative", "byteswapped_reversed",
                   "broadcast", "readonly_reversed"]
    if layout in OUTPUT_LAYOUTS or name not in ("scal", "swap")
])
def test_chunked_layouts(rng, chunk_limit, name, layout):
    chunk_limit(LIMIT)
    dtype = np.float32
    check_level1(name, rng, 3 * LIMIT + 7, dtype, VECTOR_LAYOUTS[layout])


def _three_chunk_values(n):
    """1 at both ends, 2**24 in the middle: the three land in three different
    chunks whichever end the chunking starts from (n in (2L, 3L)).
    Exact sum 2**24 + 2 is a float32; summing chunk results in float32 from
    either end gives 2**24 (2**24 + 1 rounds to even)."""
    v = np.zeros(n, np.float32)
    v[0] = v[-1] = 1.0
    v[n // 2] = 2.0**24
    return v


@pytest.mark.parametrize("stride", [1, -1, 3, -2])
def test_chunked_float32_dot_sums_in_double(rng, chunk_limit, stride):
    chunk_limit(LIMIT)
    n = 2 * LIMIT + LIMIT // 2
    vy = _three_chunk_values(n)
    x = make_vector(rng, n, np.float32, stride=stride, values=np.ones(n, np.float32))
    y = make_vector(rng, n, np.float32, stride=stride, values=vy)
    expected = np.float32(2.0**24 + 2)
    r = fastblas.dot(x, y)
    assert type(r) is np.float32
    assert r == expected, f"dot {r!r}: float32 chunks were not summed in double"
    assert fastblas.dsdot(x, y) == 2.0**24 + 2
    r = fastblas.asum(y)
    assert r == expected, f"asum {r!r}: float32 chunks were not summed in double"


@pytest.mark.parametrize("dtype,big", [(np.float32, 1e30), (np.float64, 1e300),
                                       (np.float32, 1e-30), (np.float64, 1e-300)])
def test_chunked_nrm2_no_overflow(rng, chunk_limit, dtype, big):
    """Chunk norms must be combined without squaring them in a way that over- or
    underflows."""
    chunk_limit(LIMIT)
    values = (rng.standard_normal(4 * LIMIT + 1) * big).astype(dtype)
    x = make_vector(rng, values.size, dtype, stride=-1, values=values)
    r = fastblas.nrm2(x)
    ref = exact_norm(f64(values))
    assert np.isfinite(r) and r > 0
    assert abs(float(r) - ref) <= 1e-5 * ref


@pytest.mark.parametrize("stride", [1, -1, 2])
def test_chunked_iamax_first_of_ties_across_chunks(rng, chunk_limit, stride):
    chunk_limit(LIMIT)
    n = 4 * LIMIT + 5
    values = rng.uniform(-1, 1, n)
    first = LIMIT + 3
    values[first] = -5.0
    values[2 * LIMIT + 1] = 5.0
    values[n - 1] = -5.0
    x = make_vector(rng, n, np.float64, stride=stride, values=values)
    assert fastblas.iamax(x) == first


@pytest.mark.parametrize("name", LEVEL1)
def test_stride_over_chunk_limit(rng, chunk_limit, name):
    """An element stride above the limit: the right answer, or a clear ValueError."""
    chunk_limit(LIMIT)
    try:
        check_level1(name, rng, 5, level1_dtypes(name)[0], dict(stride=LIMIT + 9),
                     dict(stride=-(LIMIT + 9)))
    except ValueError as e:
        assert "x" in str(e) or "stride" in str(e)


# ---------------------------------------------------------------------------
# special values and documented behaviour
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_empty(dtype):
    x = np.empty(0, dtype)
    real = np.dtype(dtype).type(0).real.dtype.type
    for r, kind in ((fastblas.dot(x, x), dtype), (fastblas.nrm2(x), real),
                    (fastblas.asum(x), real)):
        assert type(r) is kind and r == 0.0
    assert fastblas.dot(x[::-1], np.ones(3, dtype)[3:]) == 0.0
    if dtype == np.float32:
        assert fastblas.dsdot(x, x) == 0.0 and type(fastblas.dsdot(x, x)) is np.float64
    y = np.empty(0, dtype)
    assert fastblas.axpy(2.0, x, y) is y
    assert fastblas.scal(2.0, x) is x
    assert fastblas.copy(x, y) is y


@pytest.mark.parametrize("dtype,scale", [
    (np.float32, 1e30), (np.float32, 1e36), (np.float32, 1e-30), (np.float32, 1e-42),
    (np.float64, 1e300), (np.float64, 1e306), (np.float64, 1e-300), (np.float64, 1e-320),
])
@pytest.mark.parametrize("n", [1, 2, 33, 1000])
def test_nrm2_huge_and_tiny(rng, dtype, scale, n):
    """No overflow for huge entries, no underflow for tiny or subnormal ones."""
    values = (rng.uniform(0.5, 1.0, n) * rng.choice([-1, 1], n) * scale).astype(dtype)
    assert np.all(values != 0) and np.all(np.isfinite(values))
    x = make_vector(rng, n, dtype, stride=-2, values=values)
    ref = exact_norm(f64(values))
    r = fastblas.nrm2(x)
    assert type(r) is np.dtype(dtype).type
    # subnormal entries carry fewer significant bits: compare at their precision
    rtol = 1e-3 if f64(values).min() < np.finfo(dtype).tiny * 2**10 else 1e-5
    assert np.isfinite(r) and abs(float(r) - ref) <= rtol * ref, (r, ref)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("stride", [1, -1, 3])
def test_iamax_ties_first_index(rng, dtype, stride):
    values = np.array([0.5, -3.0, 3.0, 1.0, -3.0, 2.0], dtype)
    x = make_vector(rng, values.size, dtype, stride=stride, values=values)
    assert fastblas.iamax(x) == 1
    x = make_vector(rng, 7, dtype, stride=stride, values=np.full(7, -2.0))
    assert fastblas.iamax(x) == 0
    x = np.broadcast_to(np.array([4.0], dtype), (9,))
    assert fastblas.iamax(x) == 0


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("values", [[1.0, np.nan, 3.0], [np.nan, 1.0, 3.0],
                                    [1.0, 3.0, np.nan], [2.0, np.inf, -np.inf, np.nan],
                                    [0.0] * 40 + [np.nan] + [5.0] * 40])
def test_iamax_nan_as_numpy(rng, dtype, values):
    """The facade's contract: iamax(x) is np.argmax(np.abs(x)), which returns the
    first NaN (BLAS i?amax kernels differ on NaN; a NaN must not make it return
    the index of an element that is not the largest)."""
    values = np.array(values, dtype)
    for stride in (1, -1):
        x = make_vector(rng, values.size, dtype, stride=stride, values=values)
        assert fastblas.iamax(x) == int(np.argmax(np.abs(f64(x)))), (values, stride)


@pytest.mark.parametrize("alpha", [2, np.float32(-1.5), np.float64(0.25), 0.0, True,
                                   np.int64(3)])
@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_alpha_types(rng, alpha, dtype):
    check_level1("axpy", rng, 17, dtype, alpha=alpha)
    check_level1("scal", rng, 17, dtype, dict(stride=-1), alpha=alpha)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_scal_by_zero(rng, dtype):
    """scal by 0 of finite values gives zeros."""
    x = make_vector(rng, 40, dtype, stride=2)
    fastblas.scal(0.0, x)
    assert np.all(x == 0)


class _Sub(np.ndarray):
    pass


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_subclass_operands(rng, dtype):
    x = rng.standard_normal(10).astype(dtype).view(_Sub)
    y = rng.standard_normal(10).astype(dtype).view(_Sub)
    x0, y0 = f64(x), f64(y)
    assert fastblas.axpy(2.0, x, y) is y
    np.testing.assert_allclose(f64(y), y0 + 2 * x0, rtol=1e-6)
    assert fastblas.scal(3.0, x) is x
    np.testing.assert_allclose(f64(x), 3 * x0, rtol=1e-6)


# ---------------------------------------------------------------------------
# outputs that overlap inputs: as if the inputs had been copied first
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("shift", [1, -1, 3])
def test_axpy_copy_overlapping(rng, dtype, shift):
    n = 50
    buf = rng.standard_normal(n + 10).astype(dtype)
    lo = 5
    x = buf[lo:lo + n]
    y = buf[lo + shift:lo + shift + n]
    x0, y0 = f64(x), f64(y)
    fastblas.axpy(1.5, x, y)
    np.testing.assert_allclose(f64(y), y0 + 1.5 * x0, rtol=10 * np.finfo(dtype).eps,
                               atol=10 * np.finfo(dtype).eps)

    buf = rng.standard_normal(n + 10).astype(dtype)
    x = buf[lo:lo + n]
    y = buf[lo + shift:lo + shift + n]
    x0 = f64(x)
    assert fastblas.copy(x, y) is y
    np.testing.assert_array_equal(f64(y), x0)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_overlapping_same_and_reversed(rng, dtype):
    x = rng.standard_normal(31).astype(dtype)
    x0 = f64(x)
    fastblas.axpy(2.0, x, x)
    np.testing.assert_allclose(f64(x), 3 * x0, rtol=4 * np.finfo(dtype).eps)
    x = rng.standard_normal(31).astype(dtype)
    x0 = f64(x)
    fastblas.copy(x[::-1], x)
    np.testing.assert_array_equal(f64(x), x0[::-1])
    x = rng.standard_normal(31).astype(dtype)
    x0 = f64(x)
    fastblas.axpy(-1.0, x[::-1], x)
    np.testing.assert_allclose(f64(x), x0 - x0[::-1], atol=4 * np.finfo(dtype).eps)


# ---------------------------------------------------------------------------
# property tests
# ---------------------------------------------------------------------------

@st.composite
def vector_kwargs(draw, output=False):
    kw = dict(stride=draw(st.sampled_from([1, 2, 3, 7, -1, -2, -5])),
              offset=draw(st.integers(0, 9)))
    if not output:
        kw["readonly"] = draw(st.booleans())
    kind = draw(st.sampled_from(["plain", "plain", "unaligned", "odd", "swapped"]
                                + ([] if output else ["broadcast"])))
    if kind == "unaligned":
        kw["aligned"] = False
    elif kind == "odd":
        kw["byte_stride"] = draw(st.sampled_from([1, 2, 3, -1, -3]))
    elif kind == "swapped":
        kw["byteswap"] = True
    elif kind == "broadcast":
        kw = dict(broadcast=True)
    return kw


@settings(deadline=None, max_examples=150)
@given(name=st.sampled_from(LEVEL1), dtype=st.sampled_from(BLAS_DTYPES),
       n=st.integers(0, 300), seed=st.integers(0, 2**32 - 1),
       x_kw=st.data(), y_kw=st.data())
def test_level1_property(name, dtype, n, seed, x_kw, y_kw):
    if name == "dsdot":
        dtype = np.float32
    if name == "iamax":
        n = max(n, 1)
    x_out = "x" in LEVEL1_OUTPUTS.get(name, ())
    y_out = "y" in LEVEL1_OUTPUTS.get(name, ())
    xk = x_kw.draw(vector_kwargs(output=x_out))
    yk = y_kw.draw(vector_kwargs(output=y_out))
    check_level1(name, np.random.default_rng(seed), n, dtype, xk, yk)


@settings(deadline=None, max_examples=60)
@given(dtype=st.sampled_from(DTYPES), n=st.integers(1, 200),
       c=st.floats(-1e3, 1e3).filter(lambda c: abs(c) > 1e-3),
       seed=st.integers(0, 2**32 - 1))
def test_homogeneity(dtype, n, c, seed):
    """nrm2(c x) = |c| nrm2(x), asum(c x) = |c| asum(x), dot(c x, y) = c dot(x, y)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    cx = (dtype(c) * x).astype(dtype)
    cd = float(dtype(c))
    rtol = 1e-4 if dtype == np.float32 else 1e-11
    assert math.isclose(fastblas.nrm2(cx), abs(cd) * fastblas.nrm2(x), rel_tol=rtol)
    assert math.isclose(fastblas.asum(cx), abs(cd) * fastblas.asum(x), rel_tol=rtol)
    scale = abs(cd) * float(np.abs(f64(x)) @ np.abs(f64(y)))
    assert abs(fastblas.dot(cx, y) - cd * fastblas.dot(x, y)) <= rtol * scale


# ---------------------------------------------------------------------------
# no temporaries for operands BLAS can take as they are
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,layout", [
    (name, layout) for name in LEVEL1
    for layout in ["contiguous", "stride3", "reversed", "reversed2", "offset_reversed3",
                   "readonly"]
    if not (layout == "readonly" and name in ("scal", "swap"))
    # iamax may stage a reversed vector to return the first of ties
    and not (name == "iamax" and VECTOR_LAYOUTS[layout].get("stride", 1) < 0)])
def test_no_temporary_copy(rng, name, layout):
    """Aligned native-order vectors with a stride that is a multiple of the item size
    go to BLAS as they are: no allocation the size of an operand."""
    n = 50_000
    dtype = np.float32 if name == "dsdot" else np.float64
    x = make_vector(rng, n, dtype, **VECTOR_LAYOUTS[layout])
    y = make_vector(rng, n, dtype, stride=-2)
    args = {"dot": (x, y), "dsdot": (x, y), "axpy": (2.0, x, y), "scal": (2.0, x),
            "copy": (x, y), "swap": (x, y), "nrm2": (x,), "asum": (x,),
            "iamax": (x,)}[name]
    fn = getattr(fastblas, name)
    fn(*args)  # warm-up: first-call allocations are not per-call temporaries
    extra, _ = peak_allocation(lambda: fn(*args))
    assert extra < n * np.dtype(dtype).itemsize // 4, f"{name} allocated {extra} bytes"


def test_show_config(capsys):
    """show_config prints SciPy's BLAS library, its version and thread count."""
    import scipy
    fastblas.show_config()
    out = capsys.readouterr().out
    blas = scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    assert blas["name"] in out
    assert str(blas["version"]) in out
    assert "thread" in out.lower()
