# cython: language_level=3
"""Inline nogil helpers shared by the training loops (_rbm.pyx, _mlp.pyx).

Randomness is drawn from NumPy's ``bitgen_t`` C API: the BitGenerator behind the
estimator's ``numpy.random.Generator``; callers hold ``bitgen.lock`` around the
nogil section (see numpy/random/_examples/cython/extending_distributions.pyx).
"""
cimport numpy as cnp
from libc.math cimport exp, expf
from numpy.random cimport bitgen_t

from fastblas.cyblas cimport floating


cdef inline floating logistic(floating z) noexcept nogil:
    """1 / (1 + exp(-z)): exp(-z) overflowing to inf gives the right limit, 0.

    Branch-free, and in the model's precision (a bare 1.0 would promote to double).
    """
    cdef floating one = 1
    if floating is float:
        return one / (one + expf(-z))
    else:
        return one / (one + exp(-z))


# ---------------------------------------------------------------------------
# NumPy's own math loops (SIMD, e.g. np.exp and np.tanh), called without the GIL:
# libm's scalar expf/tanh cost more than the gemm around them in a training loop.
# ---------------------------------------------------------------------------

ctypedef void (*ufunc_loop)(char **args, cnp.npy_intp *dimensions, cnp.npy_intp *steps,
                            void *data) noexcept nogil

cdef struct UnaryLoop:
    ufunc_loop function
    void *data


cdef inline UnaryLoop find_unary_loop(cnp.ufunc ufunc, char typenum) except *:
    """The inner loop `ufunc` runs for `typenum` -> `typenum` arrays (module import time)."""
    cdef int i
    for i in range(ufunc.ntypes):
        if ufunc.types[2 * i] == typenum and ufunc.types[2 * i + 1] == typenum:
            return UnaryLoop(<ufunc_loop><void *>ufunc.functions[i], ufunc.data[i])
    raise ImportError(f"numpy.{ufunc.__name__} has no inner loop for type {typenum}")


cdef inline void apply_inplace(UnaryLoop loop, floating *x, Py_ssize_t n) noexcept nogil:
    """x <- f(x) for n contiguous elements, as ufunc(x, out=x) does.

    NumPy's float and double math loops are plain C with no Python calls: safe
    without the GIL.
    """
    cdef char *args[2]
    cdef cnp.npy_intp count = n
    cdef cnp.npy_intp steps[2]
    args[0] = args[1] = <char *>x
    steps[0] = steps[1] = sizeof(floating)
    loop.function(args, &count, steps, loop.data)


# ---------------------------------------------------------------------------
# MLP (_mlp.pyx): activation codes and values, float-or-double libm, shuffling
# ---------------------------------------------------------------------------
from libc.math cimport log, logf, sqrt, sqrtf, tanh, tanhf
from numpy.random.c_distributions cimport random_interval

# Hidden and output activation codes, shared by _mlp.pyx and fastblas/nn/_mlp.py.
cdef enum Activation:
    IDENTITY = 0
    LOGISTIC = 1
    TANH = 2
    RELU = 3
    SOFTMAX = 4     # output layer only
    EXP = 5         # output layer only (Poisson loss)


cdef inline floating fexp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating flog(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating fsqrt(floating x) noexcept nogil:
    if floating is float:
        return sqrtf(x)
    else:
        return sqrt(x)


cdef inline floating activate(int kind, floating z) noexcept nogil:
    """A hidden unit's output f(z) for kind IDENTITY, LOGISTIC, TANH or RELU."""
    if kind == RELU:
        return 0 if z <= 0 else z       # max(z, 0) that keeps NaN, as np.maximum
    if kind == TANH:
        if floating is float:
            return tanhf(z)
        else:
            return tanh(z)
    if kind == LOGISTIC:
        return logistic(z)
    return z


cdef inline void shuffle_indices(bitgen_t *rng, Py_ssize_t *idx, Py_ssize_t n) noexcept nogil:
    """Fisher-Yates shuffle of idx[0:n] in place, as numpy.random.Generator.shuffle."""
    cdef Py_ssize_t i, j, tmp
    for i in range(n - 1, 0, -1):
        j = <Py_ssize_t> random_interval(rng, <unsigned long long> i)
        tmp = idx[i]
        idx[i] = idx[j]
        idx[j] = tmp
