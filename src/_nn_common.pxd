# cython: language_level=3
"""Inline nogil helpers shared by the training loops (_rbm.pyx, _mlp.pyx).

Randomness is drawn from NumPy's ``bitgen_t`` C API: the BitGenerator behind the
estimator's ``numpy.random.Generator``; callers hold ``bitgen.lock`` around the
nogil section (see numpy/random/_examples/cython/extending_distributions.pyx).
"""
from libc.math cimport exp, expf
from numpy.random cimport bitgen_t

from fastblas.cyblas cimport floating


cdef inline floating logistic(floating z) noexcept nogil:
    """1 / (1 + exp(-z)), written so that exp never overflows."""
    cdef floating e
    if floating is float:
        if z >= 0:
            return 1.0 / (1.0 + expf(-z))
        e = expf(z)
        return e / (1.0 + e)
    else:
        if z >= 0:
            return 1.0 / (1.0 + exp(-z))
        e = exp(z)
        return e / (1.0 + e)


cdef inline double next_uniform(bitgen_t *rng) noexcept nogil:
    """A uniform draw on [0, 1) from the BitGenerator."""
    return rng.next_double(rng.state)


cdef inline floating bernoulli(bitgen_t *rng, floating p) noexcept nogil:
    """1 with probability p, else 0."""
    return 1 if next_uniform(rng) < p else 0


# ---------------------------------------------------------------------------
# MLP (_mlp.pyx): activations, their derivatives, float-or-double libm, shuffling
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
