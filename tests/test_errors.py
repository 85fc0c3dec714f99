"""Bad input to the BLAS-only routines: a TypeError/ValueError naming the argument,
and nothing written anywhere (outputs, read-only arrays) when the call is refused."""
import re

import numpy as np
import pytest

import fastblas
from conftest import BLAS_DTYPES, random_values

# argument names in call order; outputs (written in place) per routine
SIGNATURES = {
    "dsdot": ["x", "y"],
    "axpy": ["a", "x", "y"],
    "scal": ["a", "x"],
    "copy": ["x", "y"],
    "swap": ["x", "y"],
    "nrm2": ["x"],
    "asum": ["x"],
    "iamax": ["x"],
    "gemv": ["alpha", "A", "x", "beta", "y"],
    "ger": ["alpha", "x", "y", "A"],
    "gemm": ["alpha", "A", "B", "beta", "C"],
}
OUTPUTS = {"axpy": ["y"], "scal": ["x"], "copy": ["y"], "swap": ["x", "y"],
           "gemv": ["y"], "ger": ["A"], "gemm": ["C"]}
SHAPES = {
    "gemv": {"A": (4, 5), "x": (5,), "y": (4,)},
    "ger": {"x": (4,), "y": (5,), "A": (4, 5)},
    "gemm": {"A": (4, 3), "B": (3, 5), "C": (4, 5)},
}
SCALARS = {"a", "alpha", "beta"}
ROUTINES = list(SIGNATURES)


def valid_args(name, dtype, rng):
    if name == "dsdot":
        dtype = np.float32
    shapes = SHAPES.get(name, {})
    args = {}
    for arg in SIGNATURES[name]:
        if arg in SCALARS:
            args[arg] = 0.5
        else:
            args[arg] = random_values(rng, shapes.get(arg, (5,)), dtype)
    return args


def array_args(name):
    return [a for a in SIGNATURES[name] if a not in SCALARS]


def call(name, args):
    return getattr(fastblas, name)(*[args[a] for a in SIGNATURES[name]])


def snapshot(args):
    return {k: (v.copy(), v.tobytes()) for k, v in args.items()
            if isinstance(v, np.ndarray)}


def assert_untouched(args, snap):
    for k, (copy, raw) in snap.items():
        assert args[k].tobytes() == raw, f"{k} was written by a refused call"


def named(arg):
    """A regex matching the argument's name as a word."""
    return rf"(?<![A-Za-z_]){re.escape(arg)}(?![A-Za-z_])"


def raises_naming(exc, name, args, *argnames):
    """Call, expect exc whose message names every argument in argnames, check that
    no array was written."""
    snap = snapshot(args)
    with pytest.raises(exc) as info:
        call(name, args)
    for arg in argnames:
        assert re.search(named(arg), str(info.value)), (
            f"{name}: {exc.__name__} does not name {arg!r}: {info.value}")
    assert_untouched(args, snap)
    return info.value


def test_valid_args_work(rng):
    """The baseline calls of this file are valid (so each error below is caused by
    the one thing each test changes)."""
    for name in ROUTINES:
        for dtype in BLAS_DTYPES:
            call(name, valid_args(name, dtype, rng))


# ---------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------

BAD_DTYPES = [np.int64, np.int32, np.float16, np.clongdouble, np.bool_, object,
              np.longdouble]


@pytest.mark.parametrize("bad", BAD_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name,arg", [(n, a) for n in ROUTINES for a in array_args(n)])
@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_wrong_dtype(rng, name, arg, bad, dtype):
    args = valid_args(name, dtype, rng)
    args[arg] = np.ones(args[arg].shape, bad)
    raises_naming(TypeError, name, args, arg)


@pytest.mark.parametrize("name,arg", [(n, a) for n in ROUTINES if n != "dsdot"
                                      for a in array_args(n) if len(array_args(n)) > 1])
@pytest.mark.parametrize("dtype,other", [
    (np.float32, np.float64), (np.float64, np.float32),
    (np.complex64, np.complex128), (np.complex128, np.complex64),
    (np.float64, np.complex128), (np.complex128, np.float64),
    (np.float32, np.complex64), (np.complex64, np.float32)])
def test_mixed_dtypes(rng, name, arg, dtype, other):
    """One operand of another BLAS type (real with complex included): TypeError
    naming it and another one. (dsdot takes float32 only: test_dsdot_needs_float32.)"""
    args = valid_args(name, dtype, rng)
    args[arg] = random_values(rng, args[arg].shape, other)
    err = raises_naming(TypeError, name, args, arg)
    others = [a for a in array_args(name) if a != arg]
    assert any(re.search(named(a), str(err)) for a in others), (
        f"{name}: mixed-dtype error names only {arg!r}: {err}")


@pytest.mark.parametrize("which", [("x",), ("y",), ("x", "y")])
def test_dsdot_needs_float32(rng, which):
    args = valid_args("dsdot", np.float32, rng)
    for arg in which:
        args[arg] = args[arg].astype(np.float64)
    raises_naming(TypeError, "dsdot", args, which[0])
    for arg in which:
        args[arg] = args[arg].astype(np.complex64)
    raises_naming(TypeError, "dsdot", args, which[0])


# ---------------------------------------------------------------------------
# not an ndarray, wrong ndim
# ---------------------------------------------------------------------------

OPTIONAL = {("gemv", "y"), ("gemm", "C")}  # None means "return a new array"


@pytest.mark.parametrize("name,arg,kind", [
    (n, a, k) for n in ROUTINES for a in array_args(n)
    for k in ["list", "tuple", "scalar", "None", "memoryview"]
    if not (k == "None" and (n, a) in OPTIONAL)])
def test_not_an_array(rng, name, arg, kind):
    args = valid_args(name, np.float64, rng)
    value = args[arg]
    args[arg] = {"list": value.tolist(), "tuple": tuple(value.tolist()),
                 "scalar": 1.5, "None": None, "memoryview": memoryview(value)}[kind]
    raises_naming(TypeError, name, args, arg)


def _natural_ndim(name, arg):
    return len(SHAPES.get(name, {}).get(arg, (5,)))


@pytest.mark.parametrize("name,arg,ndim", [
    (n, a, d) for n in ROUTINES for a in array_args(n) for d in (0, 1, 2, 3)
    if d != _natural_ndim(n, a)])
def test_wrong_ndim(rng, name, arg, ndim):
    args = valid_args(name, np.float64, rng)
    value = args[arg]
    if ndim == 0:
        args[arg] = np.array(value.flat[0])
    elif ndim == 1:
        args[arg] = value.reshape(-1)
    else:  # add trailing axes of length 1
        args[arg] = value.reshape(value.shape + (1,) * (ndim - value.ndim))
    raises_naming(ValueError, name, args, arg)


# ---------------------------------------------------------------------------
# shapes that do not fit together
# ---------------------------------------------------------------------------

def _vec_len_cases():
    for name in ["dsdot", "axpy", "copy", "swap"]:
        for nx, ny in [(5, 6), (6, 5), (0, 1), (1, 0)]:
            yield name, {"x": (nx,), "y": (ny,)}, {}, ("x", "y")


MISMATCHES = list(_vec_len_cases()) + [
    ("gemv", {"x": (4,)}, {}, ("A", "x")),
    ("gemv", {"y": (5,)}, {}, ("y",)),
    ("gemv", {"A": (5, 4)}, {}, ("A", "x")),
    ("gemv", {}, {"trans": True}, ("A", "x")),
    ("gemv", {"x": (4,), "y": (6,)}, {"trans": True}, ("y",)),
    ("ger", {"A": (4, 6)}, {}, ("A", "y")),
    ("ger", {"A": (3, 5)}, {}, ("A", "x")),
    ("ger", {"A": (5, 4)}, {}, ("A",)),
    ("gemm", {"B": (4, 5)}, {}, ("A", "B")),
    ("gemm", {"C": (5, 4)}, {}, ("C",)),
    ("gemm", {"C": (4, 6)}, {}, ("C",)),
    ("gemm", {}, {"trans_a": True}, ("A", "B")),
    ("gemm", {}, {"trans_b": True}, ("A", "B")),
    ("gemm", {"A": (3, 4)}, {"trans_a": True, "trans_b": True}, ("A", "B")),
]


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("name,shapes,flags,names", MISMATCHES)
def test_shape_mismatch(rng, name, shapes, flags, names, dtype):
    args = valid_args(name, dtype, rng)
    for arg, shape in shapes.items():
        args[arg] = random_values(rng, shape, args[arg].dtype)
    snap = snapshot(args)
    fn = getattr(fastblas, name)
    with pytest.raises(ValueError) as info:
        fn(*[args[a] for a in SIGNATURES[name]], **flags)
    for arg in names:
        assert re.search(named(arg), str(info.value)), (
            f"{name}: ValueError does not name {arg!r}: {info.value}")
    assert_untouched(args, snap)


# ---------------------------------------------------------------------------
# read-only outputs: refused, untouched
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["flag", "readonly view", "broadcast_to", "frombuffer"])
@pytest.mark.parametrize("name,arg", [(n, a) for n in OUTPUTS for a in OUTPUTS[n]])
@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_readonly_output(rng, name, arg, how, dtype):
    args = valid_args(name, dtype, rng)
    value = args[arg]
    if how == "flag":
        value.flags.writeable = False
    elif how == "readonly view":
        base = value
        value = base.view()
        value.flags.writeable = False
    elif how == "broadcast_to":
        value = np.broadcast_to(value[(0,) * value.ndim], value.shape)
    else:
        value = np.frombuffer(value.tobytes(), dtype).reshape(value.shape)
    args[arg] = value
    raises_naming(ValueError, name, args, arg)
    if how == "readonly view":
        assert base.tobytes() == value.tobytes()


# ---------------------------------------------------------------------------
# swap of overlapping vectors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["same", "reversed", "shifted", "same memory, new view"])
@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_swap_overlap_refused(rng, case, dtype):
    buf = random_values(rng, 21, dtype)
    x, y = {"same": (buf, buf), "reversed": (buf, buf[::-1]),
            "shifted": (buf[:-1], buf[1:]),
            "same memory, new view": (buf[2:9], buf.view()[2:9])}[case]
    raw = buf.tobytes()
    with pytest.raises(ValueError) as info:
        fastblas.swap(x, y)
    for arg in ("x", "y"):
        assert re.search(named(arg), str(info.value)), info.value
    assert buf.tobytes() == raw


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_swap_interleaved(rng, dtype):
    """Interleaved views share no element: swapped correctly, or refused untouched."""
    buf = random_values(rng, 20, dtype)
    b0 = buf.copy()
    try:
        fastblas.swap(buf[::2], buf[1::2])
    except ValueError:
        np.testing.assert_array_equal(buf, b0)
        return
    np.testing.assert_array_equal(buf[::2], b0[1::2])
    np.testing.assert_array_equal(buf[1::2], b0[::2])


# ---------------------------------------------------------------------------
# scalars and other argument errors
# ---------------------------------------------------------------------------

COMPLEX_SCALARS = [1j, np.complex64(1 + 0j), np.complex128(2j)]
BAD_SCALARS = ["2.0", None, [1.0], object(), np.array([1.0, 2.0])]


@pytest.mark.parametrize("bad", COMPLEX_SCALARS + BAD_SCALARS, ids=repr)
@pytest.mark.parametrize("name,arg", [(n, a) for n in ROUTINES
                                      for a in SIGNATURES[n] if a in SCALARS])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bad_scalar(rng, name, arg, bad, dtype):
    """A complex alpha or beta for real arrays (even with a zero imaginary part) is
    a TypeError, as is anything that is not a number."""
    args = valid_args(name, dtype, rng)
    args[arg] = bad
    snap = snapshot(args)
    with pytest.raises(TypeError) as info:
        call(name, args)
    if arg != "a":  # 'a' is also an English word: not testable by a regex
        assert re.search(named(arg), str(info.value)), (
            f"{name}: TypeError for a bad {arg} does not name it: {info.value}")
    if isinstance(bad, (complex, np.complexfloating)):
        assert "real" in str(info.value), info.value
    assert_untouched(args, snap)


@pytest.mark.parametrize("bad", BAD_SCALARS, ids=repr)
@pytest.mark.parametrize("name,arg", [(n, a) for n in ROUTINES
                                      for a in SIGNATURES[n] if a in SCALARS])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_bad_scalar_complex_arrays(rng, name, arg, bad, dtype):
    """Complex arrays take complex scalars, but still only numbers."""
    args = valid_args(name, dtype, rng)
    args[arg] = bad
    snap = snapshot(args)
    with pytest.raises(TypeError) as info:
        call(name, args)
    if arg != "a":
        assert re.search(named(arg), str(info.value)), info.value
    assert_untouched(args, snap)


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_iamax_empty(dtype):
    with pytest.raises(ValueError) as info:
        fastblas.iamax(np.empty(0, dtype))
    assert re.search(named("x"), str(info.value)) or "empty" in str(info.value), info.value


def test_errors_leave_process_usable(rng):
    """After a burst of refused calls, the routines still compute right answers."""
    for name in ROUTINES:
        args = valid_args(name, np.float64, rng)
        for arg in array_args(name):
            bad = dict(args)
            bad[arg] = bad[arg].astype(np.int8)
            with pytest.raises(TypeError):
                call(name, bad)
    x = rng.standard_normal(50)
    y = rng.standard_normal(50)
    assert np.isclose(fastblas.dot(x, y), x @ y)
