# cython: language_level=3
"""Pieces shared by the training engines (_rbm.pyx.tp, _mlp.pyx), written once.

- ``borrow``: the data pointer of a checked ndarray (``PyArray_DATA`` through
  voidptr.h), for the struct of pointers a loop fills while holding the GIL.
- ``bitgen_of``: the ``bitgen_t`` behind a ``numpy.random.Generator`` (its C API,
  as numpy/random/_examples/cython/extending_distributions.pyx uses it). Callers
  hold ``generator.bit_generator.lock`` around the nogil section that draws.
- ``Interrupts``: the Ctrl-C policy. A training loop runs a whole epoch in one
  nogil block and calls ``check_interrupt`` at every batch boundary; at most every
  ``INTERRUPT_CHECK_SECONDS`` of wall time it takes the GIL to let Python handle
  pending signals, so Ctrl-C raises KeyboardInterrupt at the next batch boundary
  after at most that long plus one batch, every completed update kept.
- ``BLAS_INT_MAX`` and ``check_blas_int``: SciPy's ``cython_blas`` takes C ``int``
  sizes, leading dimensions and strides (setup.py refuses an ILP64 SciPy).
- ``subnormals_off`` / ``subnormals_restore``: flush-to-zero for the calling
  thread around a block of elementwise updates, never process-wide.
- Elementwise helpers: the logistic, NumPy's SIMD ufunc loops called without the
  GIL, libm in the model's precision, the activation codes, a Fisher-Yates shuffle.
"""
cimport numpy as cnp
from cpython.exc cimport PyErr_CheckSignals
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from libc.limits cimport INT_MAX
from libc.math cimport INFINITY, exp, expf
from numpy.random cimport bitgen_t

from fastblas.cyblas cimport floating


# ---------------------------------------------------------------------------
# Data pointers
# ---------------------------------------------------------------------------

cdef extern from "voidptr.h":
    void *fb_data(object arr)


cdef inline void *borrow(object array, str name, tuple shape, object dtype,
                         bint writeable) except NULL:
    """The data pointer of ``array``, checked to be a C-contiguous ndarray of
    ``dtype`` and ``shape`` (and writeable when the loop writes it). Borrowed:
    the caller keeps ``array`` alive while the pointer is in use."""
    if not isinstance(array, cnp.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != dtype or array.shape != shape:
        raise ValueError(f"{name} must be a {dtype} array of shape {shape}, "
                         f"got {array.dtype} {array.shape}")
    if not array.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    if writeable and not array.flags.writeable:
        raise ValueError(f"{name} must be writeable")
    return fb_data(array)   # NumPy allocates at least one byte: never NULL


# ---------------------------------------------------------------------------
# Randomness
# ---------------------------------------------------------------------------

cdef inline bitgen_t *bitgen_of(object generator) except NULL:
    """The ``bitgen_t`` of a numpy Generator (or BitGenerator), borrowed: it lives
    as long as the generator does."""
    bit_generator = getattr(generator, "bit_generator", generator)
    capsule = getattr(bit_generator, "capsule", None)
    if capsule is None or not PyCapsule_IsValid(capsule, "BitGenerator"):
        raise TypeError(f"expected a numpy.random.Generator, got {type(generator).__name__}")
    return <bitgen_t *> PyCapsule_GetPointer(capsule, "BitGenerator")


# ---------------------------------------------------------------------------
# Ctrl-C: one check every INTERRUPT_CHECK_SECONDS of wall time
# ---------------------------------------------------------------------------

cdef extern from *:
    """
    /* Seconds on a monotonic clock (Windows: QueryPerformanceCounter). */
    #ifdef _WIN32
    #include <windows.h>
    static double fb_monotonic_seconds(void) {
        LARGE_INTEGER count, frequency;
        QueryPerformanceCounter(&count);
        QueryPerformanceFrequency(&frequency);
        return (double)count.QuadPart / (double)frequency.QuadPart;
    }
    #else
    #include <time.h>
    static double fb_monotonic_seconds(void) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double)now.tv_sec + 1e-9 * (double)now.tv_nsec;
    }
    #endif
    /* 50 ms between checks: Ctrl-C is answered within that plus one batch, and
       the check (a clock read per batch, the GIL 20 times a second) is free. */
    #define FB_INTERRUPT_CHECK_SECONDS 0.05
    """
    double monotonic_seconds "fb_monotonic_seconds" () noexcept nogil
    const double INTERRUPT_CHECK_SECONDS "FB_INTERRUPT_CHECK_SECONDS"

cdef struct Interrupts:
    double next_check       # monotonic time of the next check; INFINITY: never


cdef inline Interrupts interrupts_for_this_thread():
    """The check schedule of a loop started now (with the GIL). Python handles
    signals in the main thread only, so loops in other threads never check."""
    import threading
    cdef Interrupts interrupts
    if threading.current_thread() is threading.main_thread():
        interrupts.next_check = monotonic_seconds() + INTERRUPT_CHECK_SECONDS
    else:
        interrupts.next_check = INFINITY
    return interrupts


cdef inline int check_interrupt(Interrupts *interrupts) except -1 nogil:
    """Call between batches inside the nogil epoch. Raises KeyboardInterrupt (or
    whatever a signal handler raises) when a signal is pending at a due check."""
    cdef double now = monotonic_seconds()
    if now < interrupts.next_check:
        return 0
    interrupts.next_check = now + INTERRUPT_CHECK_SECONDS
    with gil:
        PyErr_CheckSignals()
    return 0


# ---------------------------------------------------------------------------
# The 32-bit BLAS integer
# ---------------------------------------------------------------------------

cdef enum:
    BLAS_INT_MAX = INT_MAX


cdef inline int check_blas_int(str name, Py_ssize_t value) except -1:
    """Raise ValueError naming `name` unless 0 <= value <= BLAS_INT_MAX."""
    if not 0 <= value <= BLAS_INT_MAX:
        raise ValueError(f"{name} = {value} is outside the 32-bit BLAS integer range "
                         f"[0, {BLAS_INT_MAX}]")
    return 0


# ---------------------------------------------------------------------------
# Subnormals flushed to zero on the calling thread
# ---------------------------------------------------------------------------

cdef extern from *:
    """
    /* x86 SSE's MXCSR DAZ (bit 6) and FTZ (bit 15) for the calling thread;
       elsewhere a no-op. Returns the previous control word. */
    #if defined(__SSE2__) || defined(_M_X64)
    #include <xmmintrin.h>
    static inline unsigned int fb_subnormals_off(void) {
        unsigned int csr = _mm_getcsr();
        _mm_setcsr(csr | 0x8040);
        return csr;
    }
    static inline void fb_subnormals_restore(unsigned int csr) { _mm_setcsr(csr); }
    #else
    static inline unsigned int fb_subnormals_off(void) { return 0; }
    static inline void fb_subnormals_restore(unsigned int csr) { (void)csr; }
    #endif
    """
    unsigned int subnormals_off "fb_subnormals_off" () noexcept nogil
    void subnormals_restore "fb_subnormals_restore" (unsigned int csr) noexcept nogil


# ---------------------------------------------------------------------------
# Elementwise
# ---------------------------------------------------------------------------

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
