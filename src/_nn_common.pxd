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
