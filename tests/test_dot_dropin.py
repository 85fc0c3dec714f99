"""fastblas.dot is a drop-in for np.dot, edge for edge: result type and value,
lists, scalars, 0-d, N-d, ints, complex (no conjugation), mixed dtypes,
byte-swapped, subclasses, out= with NumPy's exact rules, NumPy's error texts."""
import fractions
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastblas
from conftest import (BLAS_DTYPES, LENGTHS, MATRIX_LAYOUTS, VECTOR_LAYOUTS, make_matrix,
                      make_vector, tol)

pytestmark = pytest.mark.filterwarnings(
    "ignore:the matrix subclass:PendingDeprecationWarning")
FLOATS = (np.float32, np.float64, np.complex64, np.complex128)  # BLAS's types


def _is_real_float_array(v):
    return isinstance(v, np.ndarray) and v.dtype.type in FLOATS


def _values_match(got, exp, a, b):
    """Exact for NumPy's own paths; a rounding bound for float BLAS results."""
    got_a, exp_a = np.asarray(got), np.asarray(exp)
    assert got_a.shape == exp_a.shape
    if exp_a.dtype.type in FLOATS and got_a.size:
        try:
            a64 = np.abs(np.asarray(a)).astype(np.float64)
            b64 = np.abs(np.asarray(b)).astype(np.float64)
            scale = np.abs(np.dot(a64, b64))
            k = a64.shape[-1] if a64.ndim else 1
        except (TypeError, ValueError):
            scale, k = np.abs(exp_a).astype(np.float64), 1
        both_nan = np.isnan(got_a) & np.isnan(exp_a)
        same = got_a == exp_a
        wide = np.complex128 if exp_a.dtype.kind == "c" else np.float64
        close = np.abs(got_a.astype(wide) - exp_a) <= 2 * tol(exp_a.dtype, k) * scale
        ok = both_nan | same | close
        assert ok.all(), f"got {got_a[~ok][:5]}, np.dot gives {exp_a[~ok][:5]}"
    else:
        np.testing.assert_array_equal(got_a, exp_a)


def _same_contents(v2, v1, what):
    if not isinstance(v1, np.ndarray):
        return
    if v1.dtype.type in FLOATS:
        finite = np.isfinite(v1)
        atol = 1e-5 * np.abs(v1[finite]).max() if finite.any() else 0.0
        np.testing.assert_allclose(v2, v1, rtol=1e-5, atol=atol, equal_nan=True,
                                   err_msg=what)
    else:
        np.testing.assert_array_equal(v2, v1, err_msg=what)


def check_like_npdot(make, how="keyword"):
    """make() builds fresh, identical (a, b, out) triples (deterministic); np.dot
    runs on one, fastblas.dot on another. Same result type, dtype, shape, value,
    same identity of the returned out, same exception type and text, same final
    contents of every operand (out may overlap an input)."""
    a0, b0, _ = make()  # pristine operands, for the rounding bound
    a1, b1, o1 = make()
    a2, b2, o2 = make()

    def run(fn, a, b, o):
        if o is None:
            return fn(a, b)
        return fn(a, b, o) if how == "positional" else fn(a, b, out=o)

    try:
        expected = run(np.dot, a1, b1, o1)
    except Exception as e:  # noqa: BLE001 -- np.dot's own exception is the spec
        with pytest.raises(type(e)) as info:
            run(fastblas.dot, a2, b2, o2)
        assert str(info.value) == str(e), (str(info.value), str(e))
    else:
        got = run(fastblas.dot, a2, b2, o2)
        assert type(got) is type(expected), (type(got), type(expected))
        if isinstance(expected, (np.ndarray, np.generic)):
            assert got.dtype == expected.dtype, (got.dtype, expected.dtype)
            assert got.shape == expected.shape, (got.shape, expected.shape)
        if isinstance(expected, np.ndarray):
            assert (got is o2) == (expected is o1), "returned out object differs"
            assert got.flags.c_contiguous == expected.flags.c_contiguous
            assert got.flags.writeable == expected.flags.writeable
        _values_match(got, expected, a0, b0)
    for v2, v1, what in [(a2, a1, "a"), (b2, b1, "b"), (o2, o1, "out")]:
        _same_contents(v2, v1, what + " differs from np.dot's afterwards")


def const(a, b, out=None):
    """make() for fixed operands: copies of arrays, the objects otherwise."""
    def make():
        cp = (lambda v: v.copy() if isinstance(v, np.ndarray) and
              v.flags.writeable and v.base is None else v)
        return cp(a), cp(b), (None if out is None else out.copy())
    return make


# ---------------------------------------------------------------------------
# the fast path: float32/float64/complex64/complex128 vectors and matrices in
# every layout
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("lx,ly", [("contiguous", "contiguous"), ("reversed", "stride3"),
                                   ("offset", "reversed2"), ("unaligned", "readonly"),
                                   ("odd_byte_stride", "broadcast"),
                                   ("byteswapped", "contiguous"),
                                   ("byteswapped_reversed", "byteswapped")])
def test_vector_vector(n, dtype, lx, ly):
    def make():
        rng = np.random.default_rng(n)
        return (make_vector(rng, n, dtype, **VECTOR_LAYOUTS[lx]),
                make_vector(rng, n, dtype, **VECTOR_LAYOUTS[ly]), None)
    check_like_npdot(make)
    x, y, _ = make()
    r = fastblas.dot(x, y)
    assert type(r) is np.dtype(dtype).type


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("la", MATRIX_LAYOUTS)
@pytest.mark.parametrize("m,n", [(13, 7), (1, 1), (0, 5), (5, 0), (64, 65)])
def test_matrix_vector(m, n, dtype, la):
    def make():
        rng = np.random.default_rng(m * 100 + n)
        return (make_matrix(rng, m, n, dtype, la),
                make_vector(rng, n, dtype, stride=-2), None)
    check_like_npdot(make)

    def make_t():
        rng = np.random.default_rng(m * 100 + n)
        return (make_vector(rng, m, dtype, stride=3),
                make_matrix(rng, m, n, dtype, la), None)
    check_like_npdot(make_t)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("la,lb", list(itertools.product(
    ["C", "F", "C_T", "C_slice", "F_slice", "strided", "unaligned", "byteswapped"],
    ["C", "F", "F_T", "C_slice_T", "negative", "readonly"])))
def test_matrix_matrix(dtype, la, lb):
    def make():
        rng = np.random.default_rng(7)
        return (make_matrix(rng, 9, 6, dtype, la), make_matrix(rng, 6, 11, dtype, lb),
                None)
    check_like_npdot(make)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("m,k,n", [(0, 3, 4), (3, 0, 4), (3, 4, 0), (0, 0, 0),
                                   (1, 1, 1), (100, 784, 50), (2, 1, 2)])
def test_matrix_matrix_shapes(dtype, m, k, n):
    def make():
        rng = np.random.default_rng(m + k + n)
        return (rng.standard_normal((m, k)).astype(dtype),
                rng.standard_normal((k, n)).astype(dtype), None)
    check_like_npdot(make)
    if k == 0 and m * n:
        np.full((m, n), np.nan, dtype)  # leave dirty memory for the next allocation
        r = fastblas.dot(np.ones((m, 0), dtype), np.ones((0, n), dtype))
        assert np.array_equal(r, np.zeros((m, n))), "uninitialised memory returned"


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_nan_and_inf_propagate(dtype):
    """(np.dot warns "invalid value" for inf * 0, and so does the fast path:
    test_errstate.py.)"""
    x = np.array([1.0, np.nan, 2.0], dtype)
    y = np.array([1.0, 1.0, 1.0], dtype)
    check_like_npdot(const(x, y))
    check_like_npdot(const(np.array([np.inf, 1.0], dtype), np.array([0.0, 1.0], dtype)))
    A = np.ones((3, 3), dtype)
    A[1, 1] = np.nan
    check_like_npdot(const(A, np.eye(3, dtype=dtype)))
    check_like_npdot(const(A, np.ones(3, dtype)))


# ---------------------------------------------------------------------------
# everything else goes NumPy's way
# ---------------------------------------------------------------------------

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64, np.bool_]
OTHER_DTYPES = INT_DTYPES + [np.float16, np.longdouble, np.complex64, np.complex128,
                             np.clongdouble]  # complex64/128: fast, compared all the same


@pytest.mark.parametrize("dtype", OTHER_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shapes", [((5,), (5,)), ((3, 4), (4,)), ((4,), (4, 3)),
                                    ((3, 4), (4, 2)), ((0,), (0,)), ((2, 0), (0, 3))])
def test_other_dtypes(dtype, shapes):
    def make():
        rng = np.random.default_rng(3)
        a, b = (rng.integers(-3, 4, s) for s in shapes)
        if np.dtype(dtype).kind == "c":
            a = a + 1j * rng.integers(-3, 4, shapes[0])
            b = b - 2j * rng.integers(-3, 4, shapes[1])
        return a.astype(dtype), b.astype(dtype), None
    check_like_npdot(make)


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_is_not_conjugated(dtype):
    x = np.array([1 + 2j, 3 - 1j], dtype)
    y = np.array([2 - 1j, 1j], dtype)
    r = fastblas.dot(x, y)
    assert r == (1 + 2j) * (2 - 1j) + (3 - 1j) * 1j  # = 5 + 3j
    assert r != np.vdot(x, y)
    assert type(r) is np.dtype(dtype).type


MIXED = [(np.float32, np.float64), (np.float64, np.float32), (np.int32, np.float32),
         (np.int64, np.float32), (np.float32, np.int8), (np.bool_, np.float64),
         (np.float16, np.float32), (np.float32, np.complex64), (np.complex128, np.float64),
         (np.float32, np.longdouble), (np.uint64, np.int64)]


@pytest.mark.parametrize("da,db", MIXED, ids=str)
@pytest.mark.parametrize("shapes", [((6,), (6,)), ((3, 6), (6,)), ((3, 6), (6, 2))])
def test_mixed_dtypes(da, db, shapes):
    def make():
        rng = np.random.default_rng(11)
        return (rng.integers(0, 5, shapes[0]).astype(da),
                rng.integers(0, 5, shapes[1]).astype(db), None)
    check_like_npdot(make)


class _Sub(np.ndarray):
    pass


def _matrix(values):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix(values)


OPERANDS = {
    "list_int": [1, 2, 3],
    "list_float": [0.5, -1.25, 2.0],
    "nested_list": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]],
    "tuple": (1.0, 2.0, 3.0),
    "int": 3,
    "float": -2.5,
    "bool": True,
    "complex": 1 + 2j,
    "np_float32": np.float32(1.5),
    "np_float64": np.float64(-0.75),
    "np_int64": np.int64(4),
    "0d_float32": np.array(2.5, np.float32),
    "0d_float64": np.array(-1.5),
    "0d_int": np.array(7),
    "vec_float32": np.array([1.5, -2.0, 0.25], np.float32),
    "vec_float64": np.array([1.5, -2.0, 0.25]),
    "vec_int": np.array([1, -2, 3]),
    "mat_float32": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
    "mat_float32_T": (np.arange(6, dtype=np.float32).reshape(3, 2) / 4).T,
    "mat_3x2": np.arange(6.0).reshape(3, 2),
    "3d": np.arange(24.0).reshape(2, 3, 4) / 8,
    "3d_float32": (np.arange(24.0).reshape(2, 4, 3) / 8).astype(np.float32),
    "4d": np.arange(48.0).reshape(2, 2, 3, 4),
    "matrix": _matrix([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
    "matrix_3x3": _matrix(np.eye(3) * 2),
    "subclass_vec": np.array([1.0, 2.0, 3.0], np.float32).view(_Sub),
    "subclass_mat": np.ones((3, 3), np.float64).view(_Sub),
    "object": np.array([fractions.Fraction(1, 3), fractions.Fraction(2, 5),
                        fractions.Fraction(-1, 2)], dtype=object),
    "byteswapped_vec": np.array([1.0, 2.0, -3.0], ">f4"),
    "byteswapped_mat": np.arange(9.0).reshape(3, 3).astype(">f8"),
    "strings": np.array(["a", "b", "c"]),
    "None": None,
    "empty_list": [],
}


@pytest.mark.parametrize("ka,kb", list(itertools.product(OPERANDS, OPERANDS)))
def test_operand_pairs(ka, kb):
    """Every pair of these operands: fastblas.dot does what np.dot does
    (value, type, or exception type and text)."""
    check_like_npdot(const(OPERANDS[ka], OPERANDS[kb]))


@pytest.mark.parametrize("shape_a,shape_b", [
    ((3,), (4,)), ((2, 3), (2, 3)), ((2, 3), (2,)), ((3,), (2, 4)), ((4, 3), (4, 3)),
    ((2, 3, 4), (5,)), ((2, 3, 4), (4, 3, 5)), ((0,), (1,)), ((3, 0), (3,)),
    ((5,), (5, 4, 3)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.complex64])
def test_misaligned_shapes_same_error_text(shape_a, shape_b, dtype):
    a = np.ones(shape_a, dtype)
    b = np.ones(shape_b, dtype)
    with pytest.raises(ValueError) as expected:
        np.dot(a, b)
    with pytest.raises(ValueError) as got:
        fastblas.dot(a, b)
    assert str(got.value) == str(expected.value)
    with pytest.raises(ValueError) as got:
        fastblas.dot(a.tolist(), b.tolist())
    with pytest.raises(ValueError) as expected:
        np.dot(a.tolist(), b.tolist())
    assert str(got.value) == str(expected.value)


# ---------------------------------------------------------------------------
# out=
# ---------------------------------------------------------------------------

def _out_cases():
    f32, f64 = np.float32, np.float64
    # (name, a shape, b shape, dtype, out factory)
    return [
        ("correct 2d", (4, 3), (3, 5), f64, lambda: _full((4, 5))),
        ("correct 2d float32", (4, 3), (3, 5), f32, lambda: _full((4, 5), f32)),
        ("correct 2d.1d", (4, 3), (3,), f64, lambda: _full(4)),
        ("correct 1d.2d", (3,), (3, 5), f32, lambda: _full(5, f32)),
        ("correct 1d.1d 0-d out", (3,), (3,), f64, lambda: _full(())),
        ("correct 3d", (2, 4, 3), (3, 5), f64, lambda: _full((2, 4, 5))),
        ("correct int", (4, 3), (3, 5), np.int64, lambda: _full((4, 5), np.int64)),
        ("correct complex", (4, 3), (3,), np.complex128, lambda: _full(4, complex)),
        ("out with NaN", (4, 3), (3, 5), f64, lambda: np.full((4, 5), np.nan)),
        ("correct empty", (4, 0), (0, 5), f64, lambda: np.full((4, 5), np.nan)),
        ("wrong shape", (4, 3), (3, 5), f64, lambda: _full((5, 4))),
        ("wrong size", (4, 3), (3, 5), f64, lambda: _full((4, 6))),
        ("wrong ndim", (4, 3), (3, 5), f64, lambda: _full(20)),
        ("wrong dtype f32 for f64", (4, 3), (3, 5), f64, lambda: _full((4, 5), f32)),
        ("wrong dtype f64 for f32", (4, 3), (3, 5), f32, lambda: _full((4, 5))),
        ("wrong dtype int", (4, 3), (3,), f64, lambda: _full(4, np.int64)),
        ("byteswapped out", (4, 3), (3, 5), f64, lambda: _full((4, 5), ">f8")),
        ("F-order out", (4, 3), (3, 5), f64, lambda: _full((4, 5), order="F")),
        ("strided out", (4, 3), (3,), f64, lambda: _full(8)[::2]),
        ("sliced out", (4, 3), (3, 5), f64, lambda: _full((4, 6))[:, :5]),
        ("read-only out", (4, 3), (3, 5), f64, lambda: _readonly(_full((4, 5)))),
        ("read-only 1d out", (3, 4), (4,), f32, lambda: _readonly(_full(3, f32))),
        ("subclass out", (4, 3), (3, 5), f64, lambda: _full((4, 5)).view(_Sub)),
        ("matrix out", (4, 3), (3, 5), f64, lambda: np.matrix(_full((4, 5)))),
        ("list out", (4, 3), (3,), f64, lambda: [0.0] * 4),
        ("scalar out", (3,), (3,), f64, lambda: 0.0),
        ("wrong shape 1d.1d", (3,), (3,), f64, lambda: _full(1)),
    ]


def _full(shape, dtype=np.float64, order="C"):
    """A possible out array with known contents (np.empty's differ between copies)."""
    return np.full(shape, 7, dtype, order=order)


def _readonly(a):
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("how", ["keyword", "positional"])
@pytest.mark.parametrize("case", _out_cases(), ids=lambda c: c[0])
def test_out(case, how):
    _, sa, sb, dtype, out_factory = case

    def make():
        rng = np.random.default_rng(5)
        a = rng.integers(-4, 5, sa).astype(dtype)
        b = rng.integers(-4, 5, sb).astype(dtype)
        if np.dtype(dtype).kind == "f":
            a = a + rng.standard_normal(sa).astype(dtype)
        return a, b, out_factory()
    check_like_npdot(make, how=how)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("case", ["out is a", "out is b", "out is a view of a",
                                  "out overlaps a, shifted", "out is a (2d.1d)",
                                  "out is b (1d.2d)"])
def test_out_overlapping_input(dtype, case):
    n = 6

    def make():
        rng = np.random.default_rng(9)
        buf = rng.standard_normal((n + 1, n)).astype(dtype)
        a = buf[:n]
        b = rng.standard_normal((n, n)).astype(dtype)
        if case == "out is a":
            return a, b, a
        if case == "out is b":
            return a, b, b
        if case == "out is a view of a":
            return a, b, a.view()
        if case == "out overlaps a, shifted":
            return a, b, buf[1:]
        if case == "out is a (2d.1d)":
            x = buf[0]
            return a, x, x
        return buf[0], b, buf[0]
    check_like_npdot(make)


def test_keyword_arguments():
    x = np.arange(4.0)
    assert fastblas.dot(a=x, b=x) == np.dot(a=x, b=x)
    out = np.empty((2, 2))
    A = np.arange(4.0).reshape(2, 2)
    assert fastblas.dot(A, A, out=out) is out
    np.testing.assert_array_equal(out, np.dot(A, A))


# ---------------------------------------------------------------------------
# property test
# ---------------------------------------------------------------------------

@settings(deadline=None, max_examples=150)
@given(sa=st.lists(st.integers(0, 5), min_size=0, max_size=3),
       sb=st.lists(st.integers(0, 5), min_size=0, max_size=3),
       da=st.sampled_from([np.float32, np.float64, np.int32, np.complex64, np.float16]),
       db=st.sampled_from([np.float32, np.float64, np.int32, np.complex64]),
       transpose=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_random_shapes_and_dtypes(sa, sb, da, db, transpose, seed):
    if len(sa) >= 1 and len(sb) >= 1 and seed % 2:
        sb[-2 if len(sb) >= 2 else 0] = sa[-1]  # make most shapes align

    def make():
        rng = np.random.default_rng(seed)
        a = rng.standard_normal(sa).astype(da)
        b = rng.standard_normal(sb).astype(db)
        if transpose and a.ndim == 2:
            a = np.ascontiguousarray(a.T).T
        return a, b, None
    check_like_npdot(make)


# ---------------------------------------------------------------------------
# past the 32-bit BLAS integer (private limit made small): still np.dot's answer
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("sa,sb", [((40,), (40,)), ((17, 3), (3,)), ((3, 17), (17,)),
                                   ((17, 3), (3, 4)), ((3, 17), (17, 4)),
                                   ((3, 4), (4, 17)), ((4,), (4, 17))])
def test_dimension_over_blas_limit(chunk_limit, dtype, sa, sb):
    """np.dot computes products of any size; so must its drop-in (chunked, or
    handed to NumPy), never a ValueError that np.dot would not raise."""
    chunk_limit(16)

    def make():
        rng = np.random.default_rng(17)
        return (rng.standard_normal(sa).astype(dtype),
                rng.standard_normal(sb).astype(dtype), None)
    check_like_npdot(make)
