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


cdef inline double next_uniform(bitgen_t *rng) noexcept nogil:
    """A uniform draw on [0, 1) from the BitGenerator."""
    return rng.next_double(rng.state)


cdef inline floating bernoulli(bitgen_t *rng, floating p) noexcept nogil:
    """1 with probability p, else 0."""
    return 1 if next_uniform(rng) < p else 0


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
            return UnaryLoop(<ufunc_loop>ufunc.functions[i], ufunc.data[i])
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
