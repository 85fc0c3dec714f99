"""Floating-point exceptions on the fast path are reported as NumPy reports them.

NumPy clears the floating-point status flags before its BLAS calls and reads them
after, then warns or raises through its error state (np.errstate). fastblas does
the same: the same RuntimeWarning or FloatingPointError, with the same message,
under the same settings ('warn', 'raise', 'ignore', 'call', 'log').
"""
import warnings

import numpy as np
import pytest

import fastblas
from conftest import BLAS_DTYPES, is_complex, make_matrix, make_vector, random_values

# operands small enough that OpenBLAS keeps the work on the calling thread (the
# status flags are per thread, for NumPy as for fastblas)
INVALID = {
    "vector.vector": lambda dt: (np.ones(2, dt), np.array([-np.inf, np.inf], dt)),
    "matrix.vector": lambda dt: (np.ones((3, 2), dt), np.array([-np.inf, np.inf], dt)),
    "matrix.matrix": lambda dt: (np.ones((3, 2), dt),
                                 np.array([[np.inf, 1.0], [-np.inf, 1.0]], dt)),
}
HUGE = {np.float32: 1e30, np.float64: 1e300, np.complex64: 1e30, np.complex128: 1e300}


def overflow_operands(dtype):
    big = HUGE[dtype]
    return np.full(3, big, dtype), np.full(3, big, dtype)


def outcome(fn, *args):
    """('raise', type, message) or ('warn', [(category, message)...])."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn(*args)
        except FloatingPointError as e:
            return ("raise", type(e), str(e))
    return ("warn", [(w.category, str(w.message)) for w in caught])


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("case", list(INVALID))
@pytest.mark.parametrize("mode", ["warn", "raise", "ignore"])
def test_dot_invalid_as_numpy(dtype, case, mode):
    a, b = INVALID[case](dtype)
    with np.errstate(invalid=mode):
        expected = outcome(np.dot, a, b)
        got = outcome(fastblas.dot, a, b)
    assert got == expected
    if mode == "warn":
        assert (RuntimeWarning, "invalid value encountered in dot") in got[1]
    elif mode == "raise":
        assert got == ("raise", FloatingPointError, "invalid value encountered in dot")
    else:
        assert got == ("warn", [])


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("mode", ["warn", "raise", "ignore"])
def test_dot_overflow_as_numpy(dtype, mode):
    a, b = overflow_operands(dtype)
    with np.errstate(over=mode, invalid="ignore"):
        expected = outcome(np.dot, a, b)
        got = outcome(fastblas.dot, a, b)
    assert got == expected
    if mode == "raise":
        assert got == ("raise", FloatingPointError, "overflow encountered in dot")


def test_default_is_a_runtime_warning():
    """Today's NumPy default (warn) without any errstate: the issue's own example."""
    with pytest.warns(RuntimeWarning, match="^invalid value encountered in dot$"):
        r = fastblas.dot(np.ones(2), np.array([-np.inf, np.inf]))
    assert np.isnan(r)


def test_call_and_log_modes():
    calls = []
    a, b = INVALID["matrix.matrix"](np.float64)
    with np.errstate(invalid="call", call=lambda kind, flag: calls.append((kind, flag))):
        np.dot(a, b)
        fastblas.dot(a, b)
    assert len(calls) == 2 and calls[0] == calls[1], calls

    class Log:
        def __init__(self):
            self.lines = []

        def write(self, text):
            self.lines.append(text)
    log = Log()
    with np.errstate(invalid="log", call=log):
        np.dot(a, b)
        fastblas.dot(a, b)
    assert len(log.lines) == 2 and log.lines[0] == log.lines[1], log.lines


def _routine_calls(dtype, poison):
    """name -> a call of that routine whose product meets `poison` (inf - inf)."""
    rng = np.random.default_rng(0)
    A = random_values(rng, (4, 3), dtype)
    x = random_values(rng, 3, dtype)
    y = random_values(rng, 4, dtype)
    B = random_values(rng, (3, 5), dtype)
    if poison:
        A[1, :2] = [np.inf, -np.inf]
        x[:2] = 1.0
        B[:2, 0] = 1.0
    return {
        "gemv": lambda: fastblas.gemv(1.0, A, x),
        "gemm": lambda: fastblas.gemm(1.0, A, B),
        "ger": lambda: fastblas.ger(1.0, np.full(4, np.inf, dtype) if poison else y,
                                    np.zeros(3, dtype), A.copy()),
        "axpy": lambda: fastblas.axpy(np.inf if poison else 2.0, np.zeros(3, dtype),
                                      x.copy()),
        "scal": lambda: fastblas.scal(np.inf if poison else 2.0, np.zeros(3, dtype)),
    }


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
@pytest.mark.parametrize("name", ["gemv", "gemm", "ger", "axpy", "scal"])
def test_routines_raise_under_their_name(dtype, name):
    call = _routine_calls(dtype, poison=True)[name]
    with np.errstate(invalid="raise"):
        with pytest.raises(FloatingPointError, match=f"^invalid value encountered in {name}$"):
            call()
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        call()
    with pytest.warns(RuntimeWarning, match=f"invalid value encountered in {name}"):
        call()


@pytest.mark.parametrize("dtype", BLAS_DTYPES)
def test_finite_products_raise_nothing(dtype):
    """Ordinary inputs set no flag, whatever the layout: no spurious exception."""
    rng = np.random.default_rng(1)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")
        for call in _routine_calls(dtype, poison=False).values():
            call()
        for layout in ["C", "F", "strided", "byteswapped"]:
            A = make_matrix(rng, 9, 7, dtype, layout)
            fastblas.dot(A, make_matrix(rng, 7, 5, dtype, "F"))
            fastblas.dot(A, make_vector(rng, 7, dtype, stride=-2))
        x = make_vector(rng, 100, dtype, stride=3)
        fastblas.dot(x, x)
        fastblas.nrm2(x)
        fastblas.asum(x)
        if not is_complex(dtype):
            fastblas.dsdot(x.astype(np.float32), x.astype(np.float32))


def test_stale_flags_are_not_reported():
    """A flag left set by earlier code (here Python's own float arithmetic) is
    cleared before the product, as NumPy clears it."""
    inf = float("inf")
    with np.errstate(all="raise"):
        assert (inf - inf) != 0.0   # sets the invalid flag, reported to no one
        fastblas.dot(np.ones(3), np.ones(3))
        assert (inf - inf) != 0.0
        fastblas.gemm(1.0, np.ones((2, 2)), np.ones((2, 2)))


def test_flags_cleared_after_a_report():
    a, b = INVALID["vector.vector"](np.float64)
    with pytest.warns(RuntimeWarning):
        fastblas.dot(a, b)
    with np.errstate(all="raise"):
        fastblas.dot(np.ones(3), np.ones(3))
