"""Shared helpers for the fastblas test suite.

* ``make_vector`` / ``make_matrix`` build operands with the memory layouts a BLAS
  facade has to cope with: strides (negative included), offsets, read-only,
  unaligned buffers, byte strides that are not a multiple of the item size,
  byte-swapped dtypes, zero strides from ``np.broadcast_to``, C/F order,
  transposed views and 2-D slices with a leading-dimension stride.
* ``Footprint`` records every byte of an operand's buffer that is *not* one of its
  elements, so a test can check that an in-place routine wrote nowhere else.
* Dtypes: ``DTYPES`` are the real BLAS types, ``COMPLEX_DTYPES`` the complex ones,
  ``BLAS_DTYPES`` all four; every helper below takes any of them.
* Tolerances: every result is compared with NumPy computed in float64 (complex128)
  from the very same (already rounded) input values; the allowed error of an n-term
  sum is ``tol(dtype, n) * sum(|terms|)`` (a probabilistic rounding-error bound, far
  above what a correct BLAS produces and far below what a wrong element, stride
  or chunk produces).
* ``check_level1``, ``check_gemv``, ``check_ger``, ``check_gemm``: one call on fresh
  operands of the given layouts, checked for value, result type, identity of the
  returned output, untouched inputs and no stray writes (shared by the level-1,
  level-2/3, chunked-path and thread tests).
* Fixtures: ``rng`` (seeded from the test id) and ``chunk_limit`` (lowers the
  private 32-bit BLAS chunk limit for one test, restores it afterwards).
"""
import signal

import numpy as np
import pytest

import fastblas  # noqa: F401  (fail loudly here if the build is missing)

DTYPES = [np.float32, np.float64]
COMPLEX_DTYPES = [np.complex64, np.complex128]
BLAS_DTYPES = DTYPES + COMPLEX_DTYPES
SINGLE = (np.float32, np.complex64)   # single precision, real or complex
EPS = {np.float32: float(np.finfo(np.float32).eps),
       np.float64: float(np.finfo(np.float64).eps),
       np.complex64: float(np.finfo(np.float32).eps),
       np.complex128: float(np.finfo(np.float64).eps)}

LENGTHS = [0, 1, 2, 31, 32, 33, 1000]
BIG = 2**20
STRIDES = [1, 3, -1, -2]
OFFSETS = [0, 5]


def is_complex(dtype):
    return np.issubdtype(np.dtype(dtype), np.complexfloating)


def tol(dtype, n_terms):
    """Allowed error of an n-term dot/sum, relative to sum(|terms|).

    A complex product costs up to four real roundings: twice the real allowance.
    """
    factor = 2.0 if is_complex(dtype) else 1.0
    return factor * EPS[np.dtype(dtype).type] * (4.0 * np.sqrt(max(n_terms, 1)) + 8.0)


def assert_sum_close(got, ref, scale, dtype, n_terms, what=""):
    """|got - ref| <= tol(dtype, n) * scale, element-wise (scale = sum |terms|)."""
    wide = np.complex128 if is_complex(dtype) else np.float64
    got = np.asarray(got, dtype=wide)
    ref = np.asarray(ref, dtype=wide)
    scale = np.asarray(scale, dtype=np.float64)
    assert got.shape == ref.shape, (what, got.shape, ref.shape)
    bound = tol(dtype, n_terms) * scale + np.finfo(np.dtype(dtype)).tiny
    err = np.abs(got - ref)
    bad = ~(err <= bound)  # also catches NaN
    assert not bad.any(), (
        f"{what}: {bad.sum()} of {bad.size} entries off; worst err "
        f"{np.nanmax(np.where(bad, err, 0.0)) if bad.any() else 0}, "
        f"got {got[bad][:5]}, expected {ref[bad][:5]}, "
        f"bound {bound[bad][:5] if bound.ndim else bound}")


def f64(a):
    """Exact float64 copy of an array's values (C order); complex128 for complex."""
    a = np.asarray(a)
    return np.array(a, dtype=np.complex128 if is_complex(a.dtype) else np.float64,
                    order="C")


# ---------------------------------------------------------------------------
# Vectors
# ---------------------------------------------------------------------------

# name -> keyword arguments of make_vector
VECTOR_LAYOUTS = {
    "contiguous": {},
    "stride3": dict(stride=3),
    "reversed": dict(stride=-1),
    "reversed2": dict(stride=-2),
    "offset": dict(offset=5),
    "offset_reversed3": dict(offset=5, stride=-3),
    "readonly": dict(readonly=True),
    "readonly_reversed": dict(readonly=True, stride=-2),
    "unaligned": dict(aligned=False),
    "unaligned_stride2": dict(aligned=False, stride=2),
    "odd_byte_stride": dict(byte_stride=+1),           # itemsize + 1 bytes
    "odd_byte_stride_negative": dict(byte_stride=-3),  # -(itemsize + 3) bytes
    "byteswapped": dict(byteswap=True),
    "byteswapped_reversed": dict(byteswap=True, stride=-2),
    "broadcast": dict(broadcast=True),
}
# Layouts an output operand may have (writeable, no zero stride).
OUTPUT_LAYOUTS = [k for k, v in VECTOR_LAYOUTS.items()
                  if not v.get("readonly") and not v.get("broadcast")]
PAD = 16  # guard bytes on both sides of every buffer


def random_values(rng, shape, dtype):
    """Standard normal values, rounded to dtype (so a float64 copy is exact);
    complex dtypes get independent real and imaginary parts."""
    if is_complex(dtype):
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def random_scalar(rng, dtype):
    """A random alpha for `dtype`: a float, or a complex for a complex dtype."""
    if is_complex(dtype):
        return complex(rng.standard_normal(), rng.standard_normal()) * 2.0
    return float(rng.standard_normal()) * 2.0


def blas_abs(values):
    """The size BLAS's asum and iamax give an element: |x|, or |Re x| + |Im x|."""
    values = np.asarray(values)
    return np.abs(values.real) + np.abs(values.imag) if is_complex(values.dtype) \
        else np.abs(values)


def make_vector(rng, n, dtype, stride=1, offset=0, *, readonly=False, aligned=True,
                byte_stride=None, byteswap=False, broadcast=False, values=None):
    """A length-n 1-D view with the requested memory layout, filled with values.

    stride       element stride of the view (negative: reversed view)
    offset       elements skipped before the first element of the view
    byte_stride  extra bytes added to |stride| * itemsize, sign gives direction
                 (a stride that is not a multiple of the item size)
    aligned      False: the buffer starts one byte past an aligned address
    byteswap     non-native byte order
    broadcast    a zero-stride view of one value (np.broadcast_to); read-only
    values       the values to store (default: random normal of dtype)
    The buffer is a uint8 array with random guard bytes around and between
    the elements (see Footprint).
    """
    dtype = np.dtype(dtype)
    if values is None:
        values = random_values(rng, n, dtype.type)
    values = np.asarray(values, dtype=dtype.type)
    assert values.shape == (n,)
    if byteswap:
        dtype = dtype.newbyteorder()
    if broadcast:
        one = np.array(values[:1] if n else random_values(rng, 1, dtype.type), dtype=dtype)
        return np.broadcast_to(one, (n,))
    itemsize = dtype.itemsize
    step = abs(stride) * itemsize
    if byte_stride is not None:
        step += abs(byte_stride)
        if byte_stride < 0:
            stride = -abs(stride)
    start = PAD + offset * itemsize + (0 if aligned else 1)
    nbytes = start + max(n - 1, 0) * step + itemsize + PAD
    buf = rng.integers(0, 256, size=nbytes + 64, dtype=np.uint8)
    # align the start of the buffer to 64 bytes, then misalign on purpose if asked
    base = buf.__array_interface__["data"][0]
    shift = (-base) % 64
    buf = buf[shift:shift + nbytes]
    view = np.ndarray((n,), dtype=dtype, buffer=buf, offset=start, strides=(step,))
    if stride < 0:
        view = view[::-1]
    view[...] = values
    if readonly:
        view.flags.writeable = False
    if not aligned:
        assert not view.flags.aligned or n == 0
    return view


# ---------------------------------------------------------------------------
# Matrices
# ---------------------------------------------------------------------------

# Layouts that must go to BLAS without a copy, and layouts that must be staged.
BLAS_MATRIX_LAYOUTS = ["C", "F", "C_T", "F_T", "C_slice", "F_slice", "C_slice_T"]
STAGED_MATRIX_LAYOUTS = ["strided", "negative", "unaligned", "byteswapped", "readonly",
                         "broadcast_rows", "broadcast_cols", "sliding_window"]
MATRIX_LAYOUTS = BLAS_MATRIX_LAYOUTS + STAGED_MATRIX_LAYOUTS
READONLY_MATRIX_LAYOUTS = ["readonly", "broadcast_rows", "broadcast_cols",
                           "sliding_window"]
OUTPUT_MATRIX_LAYOUTS = [x for x in MATRIX_LAYOUTS if x not in READONLY_MATRIX_LAYOUTS]


def make_matrix(rng, m, n, dtype, layout="C", values=None):
    """An m x n 2-D array with the given memory layout, filled with values.

    The broadcast layouts (a zero stride, read-only) keep only the first row or
    column of values, and sliding_window (overlapping rows, read-only) makes its
    own: compare against the array itself, not against values.
    """
    dtype = np.dtype(dtype)
    if values is None:
        values = random_values(rng, (m, n), dtype.type)
    values = np.asarray(values, dtype=dtype.type)
    assert values.shape == (m, n)
    if layout == "broadcast_rows":   # every row the same: row stride 0
        row = values[:1] if m else random_values(rng, (1, n), dtype.type)
        return np.broadcast_to(row, (m, n))
    if layout == "broadcast_cols":   # every column the same: column stride 0
        col = values[:, :1] if n else random_values(rng, (m, 1), dtype.type)
        return np.broadcast_to(col, (m, n))
    if layout == "sliding_window":   # overlapping rows: row i is flat[i:i + n]
        flat = random_values(rng, m + n, dtype.type)
        return np.lib.stride_tricks.sliding_window_view(flat, n)[:m]
    if layout == "C":
        a = np.empty((m, n), dtype, order="C")
    elif layout == "F":
        a = np.empty((m, n), dtype, order="F")
    elif layout == "C_T":        # transposed view of a C array (F-contiguous)
        a = np.empty((n, m), dtype, order="C").T
    elif layout == "F_T":        # transposed view of an F array (C-contiguous)
        a = np.empty((n, m), dtype, order="F").T
    elif layout == "C_slice":    # rows with a leading-dimension stride, offset start
        a = np.full((m + 3, n + 5), np.nan, dtype)[1:1 + m, 2:2 + n]
    elif layout == "F_slice":
        a = np.full((m + 4, n + 2), np.nan, dtype, order="F")[3:3 + m, 1:1 + n]
    elif layout == "C_slice_T":  # column-major with a leading-dimension stride
        a = np.full((n + 3, m + 5), np.nan, dtype)[2:2 + n, 1:1 + m].T
    elif layout == "strided":    # no unit stride in either dimension
        a = np.full((2 * m + 1, 2 * n + 1), np.nan, dtype)[1::2, ::2][:m, :n]
    elif layout == "negative":   # negative row stride
        a = np.empty((m, n), dtype)[::-1]
    elif layout == "unaligned":
        buf = np.zeros(m * n * dtype.itemsize + 1, np.uint8)
        a = np.ndarray((m, n), dtype, buffer=buf, offset=1,
                       strides=(n * dtype.itemsize, dtype.itemsize))
    elif layout == "byteswapped":
        a = np.empty((m, n), dtype.newbyteorder())
    elif layout == "readonly":
        a = np.empty((m, n), dtype)
    else:
        raise ValueError(layout)
    a[...] = values
    if layout == "readonly":
        a.flags.writeable = False
    assert a.shape == (m, n)
    return a


# ---------------------------------------------------------------------------
# Guard: no write outside an operand's elements
# ---------------------------------------------------------------------------

class Footprint:
    """Snapshot of every byte of arr's buffer that is not part of one of its elements.

    ``unchanged()`` is True when nothing outside the elements was written since.
    Works for views built by make_vector / make_matrix (and any view of an
    ndarray owning its memory).
    """

    def __init__(self, arr):
        owner = arr
        while isinstance(owner.base, np.ndarray):
            owner = owner.base
        self.owner = None
        if owner.flags.c_contiguous or owner.flags.f_contiguous:
            order = "C" if owner.flags.c_contiguous else "F"
            self.owner = owner.reshape(-1, order=order).view(np.uint8)
        if self.owner is None or arr.size == 0:
            self.mask = None
            return
        base_addr = self.owner.__array_interface__["data"][0]
        addr = arr.__array_interface__["data"][0] - base_addr
        idx = np.zeros(1, np.int64) + addr
        for extent, stride in zip(arr.shape, arr.strides):
            idx = (idx[:, None] + np.arange(extent, dtype=np.int64) * stride).ravel()
        covered = (idx[:, None] + np.arange(arr.itemsize)).ravel()
        self.mask = np.ones(self.owner.size, bool)
        self.mask[covered] = False
        self.saved = self.owner[self.mask].copy()

    def unchanged(self):
        if self.mask is None:
            return True
        return np.array_equal(self.owner[self.mask], self.saved)


@pytest.fixture(scope="session", autouse=True)
def python_sigint_handler():
    """Python's own SIGINT handler for the whole run, as an interactive start has.

    A process started in the background by a shell without job control inherits
    SIGINT ignored, and so would the subprocesses the CLI tests start: the Ctrl-C
    tests would then wait for a signal that never arrives.
    """
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, inherited)


@pytest.fixture
def rng(request):
    """A generator seeded from the test's node id: fresh inputs per test, reproducible."""
    import zlib
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture
def chunk_limit():
    """Call chunk_limit(n) to set fastblas's private BLAS chunk limit for one test.

    The previous limit is restored afterwards.
    """
    from fastblas import _blas
    old = _blas._set_chunk_limit(2**31 - 1)
    _blas._set_chunk_limit(old)
    yield _blas._set_chunk_limit
    _blas._set_chunk_limit(old)


# ---------------------------------------------------------------------------
# One checked call of each level-1 routine (shared by the level-1, chunked-path
# and thread tests)
# ---------------------------------------------------------------------------

def exact_norm(values):
    """sqrt(sum x_i^2) in float64 without overflow or underflow (math.hypot)."""
    import math
    return math.hypot(*map(float, values))


def check_level1(name, rng, n, dtype, x_kw=None, y_kw=None, alpha=None):
    """Build x (and y), call fastblas.<name>, check everything against float64.

    x_kw / y_kw are make_vector keyword arguments. Checks the value, the result
    type, that in-place routines return the very object they were given, that
    nothing outside the output's elements was written, and that inputs are
    unchanged.
    """
    x_kw = x_kw or {}
    y_kw = y_kw or {}
    x = make_vector(rng, n, dtype, **x_kw)
    x0 = f64(x)
    y = y0 = None
    if name in ("dot", "dsdot", "axpy", "copy", "swap"):
        y = make_vector(rng, n, dtype, **y_kw)
        y0 = f64(y)
    if alpha is None:
        alpha = random_scalar(rng, dtype)
    alpha_r = _scalar_as(dtype, alpha)  # what BLAS multiplies by
    fx, fy = Footprint(x), (Footprint(y) if y is not None else None)
    fn = getattr(fastblas, name)
    where = f"{name}(n={n}, {np.dtype(dtype).name}, x={x_kw}, y={y_kw})"

    if name == "dot":
        r = fn(x, y)
        assert type(r) is type(np.dot(x, y)), where
        assert_sum_close(r, x0 @ y0, np.abs(x0) @ np.abs(y0), dtype, n, where)
    elif name == "dsdot":
        r = fn(x, y)
        assert type(r) is np.float64, where
        assert_sum_close(r, x0 @ y0, np.abs(x0) @ np.abs(y0), np.float64, n, where)
    elif name == "axpy":
        r = fn(alpha, x, y)
        assert r is y, where
        assert_sum_close(y, y0 + alpha_r * x0, np.abs(y0) + np.abs(alpha_r * x0),
                         dtype, 2, where)
    elif name == "scal":
        r = fn(alpha, x)
        assert r is x, where
        ref = alpha_r * x0
        assert_sum_close(x, ref, np.abs(ref), dtype, 1, where)
    elif name == "copy":
        r = fn(x, y)
        assert r is y, where
        np.testing.assert_array_equal(f64(y), x0, err_msg=where)
    elif name == "swap":
        r = fn(x, y)
        assert type(r) is tuple and len(r) == 2 and r[0] is x and r[1] is y, where
        np.testing.assert_array_equal(f64(x), y0, err_msg=where)
        np.testing.assert_array_equal(f64(y), x0, err_msg=where)
    elif name == "nrm2":
        r = fn(x)
        ref = exact_norm(x0.view(np.float64) if is_complex(dtype) else x0)
        assert type(r) is np.dtype(dtype).type(0).real.dtype.type, where
        assert_sum_close(r, ref, ref, dtype, n, where)
    elif name == "asum":
        r = fn(x)
        assert type(r) is np.dtype(dtype).type(0).real.dtype.type, where
        ref = blas_abs(x0).sum()
        assert_sum_close(r, ref, ref, dtype, n, where)
    elif name == "iamax":
        r = fn(x)
        assert type(r) is int, where
        assert r == int(np.argmax(blas_abs(x0))), where
    else:
        raise ValueError(name)

    # inputs unchanged, nothing written outside the operands' elements
    if name not in ("scal", "swap"):
        np.testing.assert_array_equal(f64(x), x0, err_msg=where + ": x modified")
    if name in ("dot", "dsdot"):
        np.testing.assert_array_equal(f64(y), y0, err_msg=where + ": y modified")
    assert fx.unchanged(), where + ": bytes outside x's elements written"
    if fy is not None:
        assert fy.unchanged(), where + ": bytes outside y's elements written"


LEVEL1 = ["dot", "dsdot", "axpy", "scal", "copy", "swap", "nrm2", "asum", "iamax"]
LEVEL1_WITH_Y = ["dot", "dsdot", "axpy", "copy", "swap"]
# operands each routine writes to
LEVEL1_OUTPUTS = {"axpy": ("y",), "scal": ("x",), "copy": ("y",), "swap": ("x", "y")}


def level1_dtypes(name):
    return [np.float32] if name == "dsdot" else BLAS_DTYPES


# ---------------------------------------------------------------------------
# One checked call of each level-2/3 routine
# ---------------------------------------------------------------------------

def _scalar_as(dtype, a):
    """`a` rounded to dtype, as BLAS receives it: a float, or a complex."""
    value = np.dtype(dtype).type(a)
    return complex(value) if is_complex(dtype) else float(value)


def _output_operand(make, shape, beta, ref, scale):
    """The C of gemm or the y of gemv, made by make(values=...), with the reference
    updated and a guard on the bytes around it. beta = 0 means, as in BLAS, that
    its old contents are not read: it is filled with NaN, which must not show."""
    if beta == 0:
        out = make(values=np.full(shape, np.nan))
    else:
        out = make()
        out0 = f64(out)
        ref = ref + beta * out0
        scale = scale + np.abs(beta * out0)
    return out, ref, scale, Footprint(out)


def check_gemm(rng, m, k, n, dtype, la="C", lb="C", ta=False, tb=False,
               alpha=1.0, beta=0.0, lc=None):
    """C = alpha op(A) op(B) + beta C; lc None: no C passed (a new array)."""
    A = make_matrix(rng, *((k, m) if ta else (m, k)), dtype, la)
    B = make_matrix(rng, *((n, k) if tb else (k, n)), dtype, lb)
    A0, B0 = f64(A), f64(B)
    opA = A0.T if ta else A0
    opB = B0.T if tb else B0
    a_r, b_r = _scalar_as(dtype, alpha), _scalar_as(dtype, beta)
    ref = a_r * (opA @ opB)
    scale = abs(a_r) * (np.abs(opA) @ np.abs(opB))
    where = (f"gemm(m={m}, k={k}, n={n}, {np.dtype(dtype).name}, A={la}, B={lb}, "
             f"trans_a={ta}, trans_b={tb}, alpha={alpha}, beta={beta}, C={lc})")
    C = guard = None
    if lc is not None:
        C, ref, scale, guard = _output_operand(
            lambda **values: make_matrix(rng, m, n, dtype, lc, **values), (m, n), b_r,
            ref, scale)
    r = fastblas.gemm(alpha, A, B, beta=beta, C=C, trans_a=ta, trans_b=tb)
    if C is not None:
        assert r is C, where
        assert guard.unchanged(), where + ": bytes outside C's elements written"
    else:
        assert type(r) is np.ndarray and r.dtype == dtype, where
        assert r.flags.c_contiguous and r.flags.writeable, where
    assert r.shape == (m, n), where
    assert_sum_close(r, ref, scale, dtype, k + 1, where)
    np.testing.assert_array_equal(f64(A), A0, err_msg=where + ": A modified")
    np.testing.assert_array_equal(f64(B), B0, err_msg=where + ": B modified")


def check_gemv(rng, m, n, dtype, la="C", trans=False, lx="contiguous", ly=None,
               alpha=1.0, beta=0.0):
    """y = alpha op(A) x + beta y for an m x n A; ly None: no y passed."""
    A = make_matrix(rng, m, n, dtype, la)
    A0 = f64(A)
    opA = A0.T if trans else A0
    rows, cols = opA.shape
    x = make_vector(rng, cols, dtype, **VECTOR_LAYOUTS[lx])
    x0 = f64(x)
    a_r, b_r = _scalar_as(dtype, alpha), _scalar_as(dtype, beta)
    ref = a_r * (opA @ x0)
    scale = abs(a_r) * (np.abs(opA) @ np.abs(x0))
    where = (f"gemv(m={m}, n={n}, {np.dtype(dtype).name}, A={la}, trans={trans}, "
             f"x={lx}, y={ly}, alpha={alpha}, beta={beta})")
    y = guard = None
    if ly is not None:
        y, ref, scale, guard = _output_operand(
            lambda **values: make_vector(rng, rows, dtype, **values, **VECTOR_LAYOUTS[ly]),
            (rows,), b_r, ref, scale)
    r = fastblas.gemv(alpha, A, x, beta=beta, y=y, trans=trans)
    if y is not None:
        assert r is y, where
        assert guard.unchanged(), where + ": bytes outside y's elements written"
    else:
        assert type(r) is np.ndarray and r.dtype == dtype and r.flags.writeable, where
    assert r.shape == (rows,), where
    assert_sum_close(r, ref, scale, dtype, cols + 1, where)
    np.testing.assert_array_equal(f64(A), A0, err_msg=where + ": A modified")
    np.testing.assert_array_equal(f64(x), x0, err_msg=where + ": x modified")


def check_ger(rng, m, n, dtype, la="C", lx="contiguous", ly="contiguous", alpha=1.0):
    """A += alpha x y' for an m x n A."""
    A = make_matrix(rng, m, n, dtype, la)
    x = make_vector(rng, m, dtype, **VECTOR_LAYOUTS[lx])
    y = make_vector(rng, n, dtype, **VECTOR_LAYOUTS[ly])
    A0, x0, y0 = f64(A), f64(x), f64(y)
    a_r = _scalar_as(dtype, alpha)
    ref = A0 + a_r * np.outer(x0, y0)
    scale = np.abs(A0) + np.abs(a_r * np.outer(x0, y0))
    where = f"ger(m={m}, n={n}, {np.dtype(dtype).name}, A={la}, x={lx}, y={ly})"
    guard = Footprint(A)
    r = fastblas.ger(alpha, x, y, A)
    assert r is A, where
    assert guard.unchanged(), where + ": bytes outside A's elements written"
    assert_sum_close(A, ref, scale, dtype, 3, where)
    np.testing.assert_array_equal(f64(x), x0, err_msg=where + ": x modified")
    np.testing.assert_array_equal(f64(y), y0, err_msg=where + ": y modified")


def peak_allocation(fn):
    """Bytes of NumPy/Python memory allocated at the peak of fn() beyond what was
    allocated before (tracemalloc sees NumPy's array buffers)."""
    import tracemalloc
    started = tracemalloc.is_tracing()
    if not started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not started:
            tracemalloc.stop()
    return peak - before, result


# ---------------------------------------------------------------------------
# Exact (integer, bool, float16) products
# ---------------------------------------------------------------------------

@pytest.fixture
def exact_options():
    """Call exact_options(tile_m=..., tile_n=..., tile_k=..., loop_flops=...,
    force_split=...) to set the private settings of the exact products for one
    test; the defaults are restored afterwards."""
    from fastblas import _blas
    yield _blas._set_exact_options
    _blas._set_exact_options(reset=True)


def random_integers(rng, shape, dtype, spread="full"):
    """Values of an integer or bool dtype: "full" range, "small" (|x| <= 100),
    or "extreme" (only the type's min, max, 0 and +-1)."""
    dtype = np.dtype(dtype)
    if dtype == bool:
        return rng.integers(0, 2, size=shape).astype(bool)
    info = np.iinfo(dtype)
    if spread == "full":
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    if spread == "small":
        return rng.integers(max(info.min, -100), 100, size=shape, endpoint=True).astype(dtype)
    choices = np.array(sorted({info.min, info.max, 0, 1, max(info.min, -1)}), dtype=dtype)
    return rng.choice(choices, size=shape)
