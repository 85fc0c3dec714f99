# cython: language_level=3
# distutils: define_macros=NPY_TARGET_VERSION=NPY_2_0_API_VERSION
"""The Python facade: NumPy arrays in, SciPy's BLAS (through fastblas.cyblas) out.

Every public function takes plain objects, validates them once with NumPy's C API
and borrows the data pointers (voidptr.h): a typed-memoryview signature would
cost ~80 ns per argument, more than the BLAS call itself at small n (DESIGN.md).

Operands BLAS cannot take as they are (unaligned, byte-swapped, zero or
non-itemsize strides, negative leading dimensions) are copied to an aligned
contiguous temporary; an output staged that way is written back afterwards.
An output that overlaps an input in memory gets a private copy of the input.

float32, float64, complex64 and complex128 share one validation path; the fused
kernels of fastblas.cyblas are instantiated for the type at the last step.
Floating-point exceptions raised by a product are reported through NumPy's error
state (np.errstate), as NumPy does around its own BLAS calls.
"""
cimport cython
cimport numpy as cnp
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact
from cpython.pystate cimport PyThreadState
from libc.limits cimport INT_MAX
from libc.math cimport fabs, hypot, isnan

from fastblas cimport cyblas
from fastblas.cyblas cimport blas_t, double_complex, float_complex

import numpy as np

cnp.import_array()
cnp.import_ufunc()

cdef extern from "voidptr.h":
    void *fb_data(object arr)
    void *fb_blas_start(void *first, cnp.npy_intp n, cnp.npy_intp step) noexcept nogil
    object fb_float32_scalar(float value)
    object fb_float64_scalar(double value)

cdef extern from "Python.h":
    PyThreadState *PyEval_SaveThread()
    void PyEval_RestoreThread(PyThreadState *state)

cdef extern from "numpy/ufuncobject.h":
    int PyUFunc_GiveFloatingpointErrors(const char *name, int fpe_errors) except -1

cdef extern from *:
    """
    #include <numpy/npy_math.h>
    #include <numpy/ufuncobject.h>
    #if defined(__x86_64__) || defined(_M_X64)
    #include <xmmintrin.h>
    /* npy_clear_floatstatus_barrier() for x86-64, where every float and double
     * operation (BLAS kernels, compiled C) runs on SSE/AVX: its status flags are in
     * MXCSR alone. Reading MXCSR costs ~1.5 ns; fetestexcept() also reads the x87
     * status word and costs ~5 ns, twice per call of a ~40 ns dot. */
    static inline int fb_clear_fp_status(const void *barrier)
    {
        const unsigned int raised = _MM_EXCEPT_DIV_ZERO | _MM_EXCEPT_OVERFLOW |
                                    _MM_EXCEPT_UNDERFLOW | _MM_EXCEPT_INVALID;
        unsigned int csr, flags;
        if (barrier != NULL) {  /* the result is written before the flags are read */
            volatile char unused = *(const volatile char *)barrier;
            (void)unused;
        }
        csr = _mm_getcsr();
        flags = csr & raised;
        if (flags == 0) {
            return 0;
        }
        _mm_setcsr(csr & ~flags);
        return ((flags & _MM_EXCEPT_DIV_ZERO) ? NPY_FPE_DIVIDEBYZERO : 0) |
               ((flags & _MM_EXCEPT_OVERFLOW) ? NPY_FPE_OVERFLOW : 0) |
               ((flags & _MM_EXCEPT_UNDERFLOW) ? NPY_FPE_UNDERFLOW : 0) |
               ((flags & _MM_EXCEPT_INVALID) ? NPY_FPE_INVALID : 0);
    }
    #else
    static inline int fb_clear_fp_status(const void *barrier)
    {
        return npy_clear_floatstatus_barrier((char *)barrier);
    }
    #endif

    /* np.complex64 and np.complex128 scalars, as np.dot returns them. */
    static inline PyObject *fb_complex64_scalar(float re, float im)
    {
        PyObject *obj = PyArrayScalar_New(CFloat);
        if (obj != NULL) {
            npy_csetrealf(&PyArrayScalar_VAL(obj, CFloat), re);
            npy_csetimagf(&PyArrayScalar_VAL(obj, CFloat), im);
        }
        return obj;
    }

    static inline PyObject *fb_complex128_scalar(double re, double im)
    {
        PyObject *obj = PyArrayScalar_New(CDouble);
        if (obj != NULL) {
            npy_csetreal(&PyArrayScalar_VAL(obj, CDouble), re);
            npy_csetimag(&PyArrayScalar_VAL(obj, CDouble), im);
        }
        return obj;
    }
    """
    int fb_clear_fp_status(const void *barrier) nogil
    object fb_complex64_scalar(float re, float im)
    object fb_complex128_scalar(double re, double im)

ctypedef cnp.npy_intp intp

cdef int FLOAT32 = cnp.NPY_FLOAT
cdef int FLOAT64 = cnp.NPY_DOUBLE
cdef int COMPLEX64 = cnp.NPY_CFLOAT
cdef int COMPLEX128 = cnp.NPY_CDOUBLE

# Below these sizes the BLAS call is cheaper than releasing and re-taking the GIL.
cdef intp NOGIL_MIN_LENGTH = 4096
cdef intp NOGIL_MIN_FLOPS = 32768

# The BLAS integer is 32-bit. Level-1 work is split into chunks of at most this many
# elements; level 2/3 refuse larger dimensions. Private: the tests lower it to
# exercise the chunked path on small arrays.
cdef intp chunk_limit = INT_MAX

_np_dot = np.dot


# Cython's `with nogil(cond)` takes compile-time conditions only; these two bracket
# pure C work and release the GIL only when the work is long enough to pay for it.
cdef inline PyThreadState *release_gil_if(bint long_work) noexcept:
    return PyEval_SaveThread() if long_work else NULL


cdef inline void restore_gil(PyThreadState *state) noexcept:
    if state != NULL:
        PyEval_RestoreThread(state)


# ---------------------------------------------------------------------------
# Floating-point exceptions, reported as NumPy reports them
# ---------------------------------------------------------------------------

cdef inline void clear_fp_errors() noexcept nogil:
    """Clear the floating-point status flags before a product (cheap when clear)."""
    fb_clear_fp_status(NULL)


cdef inline int report_fp_errors(const char *name, void *result) except -1:
    """Warn or raise for the flags raised since clear_fp_errors(), then clear them.

    The RuntimeWarning, FloatingPointError, 'call' or 'log' is NumPy's own, chosen
    by np.errstate, with the message "invalid value encountered in <name>" that
    np.dot gives. `result` is the address the product was written to: a barrier
    that keeps the compiler from reading the flags before the result exists.
    """
    cdef int raised = fb_clear_fp_status(result)
    if raised:
        return PyUFunc_GiveFloatingpointErrors(name, raised)
    return 0


def _set_chunk_limit(limit):
    """Set the longest length handed to one BLAS call; return the previous limit."""
    global chunk_limit
    if not 1 <= limit <= INT_MAX:
        raise ValueError(f"limit must be in [1, {INT_MAX}], got {limit}")
    previous = chunk_limit
    chunk_limit = limit
    return previous


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

cdef inline bint is_float_array(object a, int typenum):
    return cnp.PyArray_Check(a) and cnp.PyArray_TYPE(<cnp.ndarray>a) == typenum


cdef inline bint real_float(int t) noexcept:
    return t == FLOAT32 or t == FLOAT64


cdef inline bint is_complex(int t) noexcept:
    return t == COMPLEX64 or t == COMPLEX128


cdef inline bint is_blas_type(int t) noexcept:
    return real_float(t) or is_complex(t)


cdef int blas_type(object a, str name) except -1:
    """The type number of `a`, which must be a float32, float64, complex64 or
    complex128 ndarray."""
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{name} must be a numpy.ndarray of float32, float64, "
                        f"complex64 or complex128, got {type(a).__name__}")
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if not is_blas_type(t):
        raise TypeError(f"{name} must have dtype float32, float64, complex64 or "
                        f"complex128, got {a.dtype}")
    return t


cdef int common_type(object a, str a_name, object b, str b_name) except -1:
    """The BLAS type shared by `a` and `b`; TypeError naming them if they differ."""
    cdef int t = blas_type(a, a_name)
    if blas_type(b, b_name) != t:
        raise TypeError(f"{a_name} and {b_name} must have the same dtype, "
                        f"got {a.dtype} and {b.dtype}")
    return t


cdef int check_ndim(cnp.ndarray a, int ndim, str name) except -1:
    if cnp.PyArray_NDIM(a) != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got {cnp.PyArray_NDIM(a)}-D "
                         f"with shape {np.shape(a)}")
    return 0


cdef int check_writeable(cnp.ndarray a, str name) except -1:
    if not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{name} is read-only: it is written in place")
    return 0


cdef double complex scalar(object value, str name, int t) except *:
    """`value` as the alpha or beta of a product over arrays of type `t`.

    A real number for float32/float64 arrays, a real or complex number for complex
    ones; a TypeError naming the argument otherwise.
    """
    if PyFloat_CheckExact(value):
        return PyFloat_AS_DOUBLE(value)
    if isinstance(value, (int, np.integer, np.floating)):
        try:
            return float(value)
        except OverflowError:
            raise ValueError(f"{name} = {value} does not fit in a double") from None
    if isinstance(value, (complex, np.complexfloating)):
        if is_complex(t):
            return complex(value)
        raise TypeError(f"{name} must be a real number for {dtype_name(t)} arrays, "
                        f"got {type(value).__name__} {value!r}")
    raise TypeError(f"{name} must be a {'complex' if is_complex(t) else 'real'} "
                    f"number, got {type(value).__name__}")


cdef str dtype_name(int t):
    return cnp.PyArray_DescrFromType(t).name


cdef inline object as_scalar(int t, double complex value):
    """`value` as the NumPy scalar of type t (np.float32, ..., np.complex128), as
    NumPy returns reductions and as NumPy's arithmetic takes alpha and beta."""
    if t == FLOAT32:
        return fb_float32_scalar(<float>value.real)
    if t == FLOAT64:
        return fb_float64_scalar(value.real)
    if t == COMPLEX64:
        return fb_complex64_scalar(<float>value.real, <float>value.imag)
    return fb_complex128_scalar(value.real, value.imag)


cdef inline bint well_behaved(cnp.ndarray a):
    """Aligned and in native byte order: its elements can be read as C floats."""
    return cnp.PyArray_ISALIGNED(a) and cnp.PyArray_ISNOTSWAPPED(a)


cdef inline bint blas_increment(intp stride, intp n, intp itemsize):
    """Can `stride` (bytes) be a BLAS increment for n elements of this size?"""
    if n <= 1:
        return True
    return (stride != 0 and stride % itemsize == 0
            and stride // itemsize <= INT_MAX and -stride // itemsize <= INT_MAX)


cdef inline bint blas_vector(cnp.ndarray x):
    return well_behaved(x) and blas_increment(
        cnp.PyArray_STRIDE(x, 0), cnp.PyArray_DIM(x, 0), cnp.PyArray_ITEMSIZE(x))


cdef cnp.ndarray aligned_copy(cnp.ndarray a):
    """A C-contiguous, aligned, native-order copy of `a`, same type."""
    return np.array(a, dtype=cnp.PyArray_DescrFromType(cnp.PyArray_TYPE(a)),
                    order="C", copy=True)


cdef void extent(cnp.ndarray a, char **low, char **high) noexcept:
    """The lowest and one-past-the-highest byte addresses that `a` touches."""
    cdef char *lo = <char *>fb_data(a)
    cdef char *hi = lo
    cdef int i
    cdef intp span
    for i in range(cnp.PyArray_NDIM(a)):
        if cnp.PyArray_DIM(a, i) == 0:
            low[0] = high[0] = lo
            return
        span = (cnp.PyArray_DIM(a, i) - 1) * cnp.PyArray_STRIDE(a, i)
        if span < 0:
            lo += span
        else:
            hi += span
    low[0] = lo
    high[0] = hi + cnp.PyArray_ITEMSIZE(a)


cdef bint overlap(cnp.ndarray a, cnp.ndarray b) noexcept:
    """Do the memory ranges of `a` and `b` intersect? (May say yes for interleaved views.)"""
    cdef char *alo
    cdef char *ahi
    cdef char *blo
    cdef char *bhi
    extent(a, &alo, &ahi)
    extent(b, &blo, &bhi)
    return alo < bhi and blo < ahi


# ---------------------------------------------------------------------------
# Level 1
# ---------------------------------------------------------------------------

cdef enum Level1:
    DOT, DSDOT, AXPY, SCAL, COPY, SWAP, NRM2, ASUM, IAMAX


cdef struct Vector:
    char *first        # address of element 0
    intp n
    intp stride        # bytes; a multiple of the item size
    int inc            # stride in elements, the BLAS increment (1 when n <= 1)


cdef inline Vector as_vector(cnp.ndarray a) noexcept:
    """Describe a 1-D array that passed blas_vector()."""
    cdef Vector v
    v.first = <char *>fb_data(a)
    v.n = cnp.PyArray_DIM(a, 0)
    v.stride = cnp.PyArray_STRIDE(a, 0)
    v.inc = <int>(v.stride // cnp.PyArray_ITEMSIZE(a)) if v.n > 1 else 1
    return v


cdef inline void *blas_start(Vector v) noexcept nogil:
    return fb_blas_start(v.first, v.n, v.stride)


cdef inline double abs1(blas_t z) noexcept nogil:
    """|z|, and |Re z| + |Im z| for complex z: the size BLAS's iamax compares."""
    if blas_t is float or blas_t is double:
        return fabs(z)
    else:
        return fabs(z.real) + fabs(z.imag)


cdef inline intp first_nan(intp n, blas_t *x, int incx) noexcept nogil:
    """The index of the first element with a NaN (in either part), -1 if none."""
    cdef intp i
    for i in range(n):
        if isnan(abs1(x[i * incx])):
            return i
    return -1


cdef double complex level1(Level1 op, blas_t alpha, Vector x, Vector y,
                           intp *argmax) noexcept nogil:
    """Run `op` over x (and y) in chunks of at most `chunk_limit` elements.

    Reductions are combined across chunks in double: dot and asum by summing
    (for float32 this is what NumPy's FLOAT_dot does), nrm2 by hypot (no overflow),
    iamax by keeping the first largest |x_i| (or the first NaN, as np.argmax does).
    """
    cdef intp start = 0, m, i
    cdef int incx = x.inc, incy = y.inc
    cdef blas_t *px
    cdef blas_t *py = NULL
    cdef double complex result = 0.0
    cdef double largest = -1.0
    if y.first == NULL:
        # One-vector routines (scal, nrm2, asum, iamax) do nothing for incx <= 0 in
        # reference BLAS; walking a reversed vector forwards from its lowest address
        # gives the same result (iamax aside: its caller stages negative strides).
        incx = abs(incx)
    while start < x.n:
        m = min(x.n - start, chunk_limit)
        px = <blas_t *>fb_blas_start(x.first + start * x.stride, m, x.stride)
        if y.first != NULL:
            py = <blas_t *>fb_blas_start(y.first + start * y.stride, m, y.stride)
        if op == DOT:
            result += cyblas.dot(<int>m, px, incx, py, incy)
        elif op == DSDOT:
            if blas_t is float:
                result += cyblas.dsdot(<int>m, px, incx, py, incy)
        elif op == AXPY:
            cyblas.axpy(<int>m, alpha, px, incx, py, incy)
        elif op == SCAL:
            cyblas.scal(<int>m, alpha, px, incx)
        elif op == COPY:
            cyblas.copy(<int>m, px, incx, py, incy)
        elif op == SWAP:
            cyblas.swap(<int>m, px, incx, py, incy)
        elif op == NRM2:
            result = hypot(result.real, cyblas.nrm2(<int>m, px, incx))
        elif op == ASUM:
            result += cyblas.asum(<int>m, px, incx)
        elif op == IAMAX:     # incx > 0 here: the caller stages negative strides
            if isnan(cyblas.asum(<int>m, px, incx)):
                # BLAS passes over NaN; np.argmax(np.abs(x)) stops at the first one.
                argmax[0] = start + first_nan(m, px, incx)
                break
            i = cyblas.iamax(<int>m, px, incx)
            if abs1(px[i * incx]) > largest:
                largest = abs1(px[i * incx])
                argmax[0] = start + i
        start += m
    return result


cdef inline const char *arithmetic_name(Level1 op) noexcept:
    """The name floating-point exceptions of `op` are reported under; NULL for the
    routines that cannot raise one of their own (copy, swap) or whose kernels raise
    and recover from them by design (nrm2 rescales, iamax and asum scan)."""
    if op == DOT:
        return "dot"
    if op == DSDOT:
        return "dsdot"
    if op == AXPY:
        return "axpy"
    if op == SCAL:
        return "scal"
    return NULL


cdef int run_level1(Level1 op, int t, double complex alpha, cnp.ndarray x,
                    cnp.ndarray y=None, double complex *reduction=NULL,
                    intp *argmax=NULL) except -1:
    """Dispatch `op` on the type `t`, without the GIL when the work is long; store
    the result of a reduction (dot, dsdot, nrm2, asum) in `reduction`."""
    cdef Vector vx = as_vector(x)
    cdef Vector vy
    vy.first = NULL
    vy.inc = 0
    if y is not None:
        vy = as_vector(y)
    cdef double complex result
    cdef const char *name = arithmetic_name(op)
    if name != NULL:
        clear_fp_errors()
    cdef PyThreadState *state = release_gil_if(vx.n >= NOGIL_MIN_LENGTH)
    if t == FLOAT32:
        result = level1[float](op, <float>alpha.real, vx, vy, argmax)
    elif t == FLOAT64:
        result = level1[double](op, alpha.real, vx, vy, argmax)
    elif t == COMPLEX64:
        result = level1[float_complex](op, <float_complex>alpha, vx, vy, argmax)
    else:
        result = level1[double_complex](op, alpha, vx, vy, argmax)
    restore_gil(state)
    if reduction != NULL:
        reduction[0] = result
    if name != NULL:
        report_fp_errors(name, &result)
    return 0


cdef cnp.ndarray vector_input(object x, str name):
    """`x` checked as a 1-D input vector, copied if BLAS cannot read it as it is."""
    check_ndim(x, 1, name)
    return x if blas_vector(x) else aligned_copy(x)


cdef int check_same_length(cnp.ndarray x, cnp.ndarray y, str names) except -1:
    if cnp.PyArray_DIM(x, 0) != cnp.PyArray_DIM(y, 0):
        raise ValueError(f"{names} must have the same length, got "
                         f"{cnp.PyArray_DIM(x, 0)} and {cnp.PyArray_DIM(y, 0)}")
    return 0


cdef object dot_vectors(cnp.ndarray x, cnp.ndarray y, int t):
    """The fast path of dot for two well-behaved 1-D arrays of type t; None when NumPy
    must decide."""
    cdef intp n = cnp.PyArray_DIM(x, 0), size = cnp.PyArray_ITEMSIZE(x)
    if (n != cnp.PyArray_DIM(y, 0)
            or not blas_increment(cnp.PyArray_STRIDE(x, 0), n, size)
            or not blas_increment(cnp.PyArray_STRIDE(y, 0), n, size)):
        return None
    cdef double complex result
    run_level1(DOT, t, 0.0, x, y, &result)
    return as_scalar(t, result)


def dot(a, b, out=None):
    """Dot product of two arrays: a drop-in replacement for ``numpy.dot``.

    1-D.1-D, 2-D.1-D and 2-D.2-D float32, float64, complex64 and complex128 arrays
    of one dtype go straight to BLAS (sdot/ddot/cdotu/zdotu, gemv, gemm; complex
    values are never conjugated, as in ``numpy.dot``) without copies. Integer and
    bool arrays get NumPy's exact result (wraparound included) and float16 arrays
    its float32 accumulation, computed through BLAS (``fastblas.cyblas.int_matmul``);
    mixed dtypes are promoted as NumPy does first. Every other input (other dtypes,
    lists, scalars, N-d, ``out=``, ...) is handed to ``numpy.dot``, so results,
    result types and errors are NumPy's. Floating-point exceptions are reported
    through ``np.errstate`` as ``numpy.dot`` reports them.
    """
    cdef int t, nda, ndb
    cdef object result = None
    if out is None and cnp.PyArray_CheckExact(a) and cnp.PyArray_CheckExact(b):
        t = cnp.PyArray_TYPE(<cnp.ndarray>a)
        if not is_blas_type(t) or cnp.PyArray_TYPE(<cnp.ndarray>b) != t:
            result = dot_other(a, b)        # integer, bool, float16 and mixed types
        elif well_behaved(a) and well_behaved(b):
            nda = cnp.PyArray_NDIM(<cnp.ndarray>a)
            ndb = cnp.PyArray_NDIM(<cnp.ndarray>b)
            if nda == 1 and ndb == 1:
                result = dot_vectors(<cnp.ndarray>a, <cnp.ndarray>b, t)
            elif nda == 2 and (ndb == 1 or ndb == 2):
                result = dot_matrix(<cnp.ndarray>a, <cnp.ndarray>b, t)
        if result is not None:
            return result
    return _np_dot(a, b, out)


def dsdot(x, y):
    """sum(x * y) for float32 vectors, accumulated in float64; returns np.float64."""
    if not (is_float_array(x, FLOAT32) and is_float_array(y, FLOAT32)):
        blas_type(x, "x")
        blas_type(y, "y")
        raise TypeError(f"x and y must both be float32 (dsdot accumulates float32 "
                        f"in float64), got {x.dtype} and {y.dtype}")
    x = vector_input(x, "x")
    y = vector_input(y, "y")
    check_same_length(x, y, "x and y")
    cdef double complex result
    run_level1(DSDOT, FLOAT32, 0.0, x, y, &result)
    return fb_float64_scalar(result.real)


cdef cnp.ndarray vector_output(object y, str name):
    """`y` checked as a writeable 1-D output."""
    check_ndim(y, 1, name)
    check_writeable(y, name)
    return y


cdef object update_vector(Level1 op, object a, object x, object y):
    """y <- op(x, y) in place for axpy and copy: validation, staging, write-back."""
    cdef int t = common_type(x, "x", y, "y")
    cdef double complex alpha = scalar(a, "a", t) if op == AXPY else 0.0
    x = vector_input(x, "x")
    cdef cnp.ndarray target = vector_output(y, "y")
    check_same_length(x, target, "x and y")
    if op == AXPY and alpha == 0.0:
        # BLAS returns at once for alpha = 0; y + 0*x is NaN where x is NaN or inf.
        target += as_scalar(t, alpha) * x
        return target
    if overlap(x, target):
        x = aligned_copy(x)
    cdef cnp.ndarray work = target if blas_vector(target) else aligned_copy(target)
    run_level1(op, t, alpha, x, work)
    if work is not target:
        target[...] = work
    return target


def axpy(a, x, y):
    """y += a * x in place, without a temporary; returns y.

    ``a`` is real for float arrays, real or complex for complex ones. ``a = 0``
    gives ``y + 0*x``: NaN and inf in x make NaN in y, as in NumPy.
    """
    return update_vector(AXPY, a, x, y)


def copy(x, y):
    """y[:] = x; returns y."""
    return update_vector(COPY, 0.0, x, y)


def scal(a, x):
    """x *= a in place; returns x. ``a`` is real, or complex for complex x.

    ``a = 0`` gives ``x * 0``: NaN where x is NaN or inf, as in NumPy.
    """
    cdef int t = blas_type(x, "x")
    cdef double complex alpha = scalar(a, "a", t)
    cdef cnp.ndarray target = vector_output(x, "x")
    if alpha == 0.0:
        # BLAS's scal by 0 may zero NaN and inf (and OpenBLAS's cscal/zscal can
        # turn finite values into NaN); x * 0 is NaN exactly where x is NaN or inf.
        target *= as_scalar(t, alpha)
        return target
    cdef cnp.ndarray work = target if blas_vector(target) else aligned_copy(target)
    run_level1(SCAL, t, alpha, work)
    if work is not target:
        target[...] = work
    return target


def swap(x, y):
    """Exchange the contents of x and y in place; returns (x, y)."""
    common_type(x, "x", y, "y")
    cdef cnp.ndarray vx = vector_output(x, "x")
    cdef cnp.ndarray vy = vector_output(y, "y")
    check_same_length(vx, vy, "x and y")
    if overlap(vx, vy) and np.shares_memory(vx, vy):
        raise ValueError("x and y share memory: swapping them is ill-defined")
    cdef cnp.ndarray wx = vx if blas_vector(vx) else aligned_copy(vx)
    cdef cnp.ndarray wy = vy if blas_vector(vy) else aligned_copy(vy)
    run_level1(SWAP, cnp.PyArray_TYPE(vx), 0.0, wx, wy)
    if wx is not vx:
        vx[...] = wx
    if wy is not vy:
        vy[...] = wy
    return x, y


cdef inline int real_type(int t) noexcept:
    """The real type of t's values: float32 for complex64, float64 for complex128."""
    return FLOAT32 if t == FLOAT32 or t == COMPLEX64 else FLOAT64


def nrm2(x):
    """Euclidean norm sqrt(sum(abs(x)**2)), without overflow.

    A real scalar: np.float32 for float32 and complex64 x, np.float64 otherwise.
    """
    cdef int t = blas_type(x, "x")
    cdef double complex result
    run_level1(NRM2, t, 0.0, vector_input(x, "x"), None, &result)
    return as_scalar(real_type(t), result)


def asum(x):
    """sum(abs(x)) for real x; sum(abs(x.real) + abs(x.imag)) for complex x, as BLAS
    defines it. A real scalar: np.float32 for float32 and complex64 x, else np.float64.
    """
    cdef int t = blas_type(x, "x")
    cdef double complex result
    run_level1(ASUM, t, 0.0, vector_input(x, "x"), None, &result)
    return as_scalar(real_type(t), result)


def iamax(x):
    """Index of the first largest abs(x[i]), as ``np.argmax(np.abs(x))``.

    For complex x the size of x[i] is abs(x[i].real) + abs(x[i].imag), as BLAS
    defines it (icamax, izamax), not the modulus: [3, 2+2j] gives 1. The first
    element with a NaN part wins, as a NaN does in ``np.argmax``.
    """
    cdef int t = blas_type(x, "x")
    cdef cnp.ndarray v = vector_input(x, "x")
    if cnp.PyArray_DIM(v, 0) == 0:
        raise ValueError("iamax of an empty x: there is no largest element")
    if cnp.PyArray_DIM(v, 0) > 1 and cnp.PyArray_STRIDE(v, 0) < 0:
        v = aligned_copy(v)     # BLAS scans from the lowest address: ties would go last
    cdef intp argmax = 0
    run_level1(IAMAX, t, 0.0, v, None, NULL, &argmax)
    return argmax


# ---------------------------------------------------------------------------
# Level 2 and 3
# ---------------------------------------------------------------------------

cdef struct Matrix:
    char *data
    int ld          # leading dimension of the row-major buffer
    char trans      # b'N': the buffer is the matrix; b'T': it is the transpose


cdef inline bint leading_dimension(intp stride, intp inner, intp outer, intp itemsize,
                                   int *ld) noexcept:
    """Can rows `stride` bytes apart, of `inner` elements each, be a BLAS matrix?"""
    if outer <= 1:
        ld[0] = <int>max(inner, 1)
        return True
    if stride <= 0 or stride % itemsize != 0:
        return False
    if stride // itemsize < max(inner, 1) or stride // itemsize > chunk_limit:
        return False
    ld[0] = <int>(stride // itemsize)
    return True


cdef bint as_matrix(cnp.ndarray a, Matrix *mat) noexcept:
    """Describe 2-D `a` as a row-major BLAS buffer (itself or its transpose), no copy.

    C-ordered arrays and row slices are row-major with ld = row stride; F-ordered
    arrays and transposed views are the row-major buffer of their transpose.
    """
    cdef intp rows = cnp.PyArray_DIM(a, 0), cols = cnp.PyArray_DIM(a, 1)
    cdef intp s0 = cnp.PyArray_STRIDE(a, 0), s1 = cnp.PyArray_STRIDE(a, 1)
    cdef intp size = cnp.PyArray_ITEMSIZE(a)
    if not well_behaved(a):
        return False
    mat.data = <char *>fb_data(a)
    if (cols <= 1 or s1 == size) and leading_dimension(s0, cols, rows, size, &mat.ld):
        mat.trans = b'N'
        return True
    if (rows <= 1 or s0 == size) and leading_dimension(s1, rows, cols, size, &mat.ld):
        mat.trans = b'T'
        return True
    return False


cdef inline char toggle(char trans, bint flip) noexcept nogil:
    if not flip:
        return trans
    return b'N' if trans == b'T' else b'T'


cdef int check_blas_dims(tuple dims) except -1:
    for d in dims:
        if d > chunk_limit:
            raise ValueError(f"dimension {d} exceeds the 32-bit BLAS integer "
                             f"({chunk_limit}); split the product")
    return 0


cdef cnp.ndarray matrix_input(cnp.ndarray a, cnp.ndarray out, Matrix *mat):
    """`a` as a BLAS matrix: itself when possible, else (or when it overlaps `out`) a copy."""
    if out is not None and overlap(a, out):
        a = aligned_copy(a)
    if not as_matrix(a, mat):
        a = aligned_copy(a)
        as_matrix(a, mat)
    return a


cdef cnp.ndarray new_output(int ndim, intp m, intp n, int t):
    cdef intp dims[2]
    dims[0] = m
    dims[1] = n
    return cnp.PyArray_EMPTY(ndim, dims, t, 0)


cdef int combine(cnp.ndarray target, int t, double complex alpha, object product,
                 double complex beta) except -1:
    """target = alpha * product + beta * target, by NumPy, with beta = 0 meaning
    `target` is not read. The path of alpha = 0 and of empty inner dimensions, where
    BLAS would skip the product: NaN and inf in the operands still propagate through
    0 * product, and alpha = inf times an empty sum is NaN, as in NumPy."""
    scaled = as_scalar(t, alpha) * product
    target[...] = scaled if beta == 0.0 else scaled + as_scalar(t, beta) * target
    return 0


cdef void gemm_kernel(blas_t alpha, Matrix a, Matrix b, blas_t beta, Matrix c,
                      int m, int n, int k) noexcept nogil:
    """C = alpha op(A) op(B) + beta C with row-major buffers described by Matrix.

    When C's buffer is C' (F-ordered C), compute C' = op(B)' op(A)' instead.
    """
    if c.trans == b'N':
        cyblas.gemm(a.trans, b.trans, m, n, k, alpha, <blas_t *>a.data, a.ld,
                    <blas_t *>b.data, b.ld, beta, <blas_t *>c.data, c.ld)
    else:
        cyblas.gemm(toggle(b.trans, True), toggle(a.trans, True), n, m, k, alpha,
                    <blas_t *>b.data, b.ld, <blas_t *>a.data, a.ld,
                    beta, <blas_t *>c.data, c.ld)


cdef cnp.ndarray gemm_into(const char *name, int t, double complex alpha,
                           cnp.ndarray A, bint trans_a, cnp.ndarray B, bint trans_b,
                           double complex beta, cnp.ndarray C):
    """C = alpha op(A) op(B) + beta C for validated operands; C may be None (new).

    Floating-point exceptions of the product are reported under `name`.
    """
    cdef intp m = cnp.PyArray_DIM(A, 1 if trans_a else 0)
    cdef intp k = cnp.PyArray_DIM(A, 0 if trans_a else 1)
    cdef intp n = cnp.PyArray_DIM(B, 0 if trans_b else 1)
    cdef Matrix ma, mb, mc
    cdef cnp.ndarray target = C
    if C is None:
        target = C = new_output(2, m, n, t)
        beta = 0.0
    if m == 0 or n == 0:
        return target
    if k == 0 or alpha == 0.0:
        product = (np.zeros((m, n), C.dtype) if k == 0 else
                   gemm_into(name, t, 1.0, A, trans_a, B, trans_b, 0.0, None))
        combine(target, t, alpha, product, beta)
        return target
    check_blas_dims((m, n, k))
    A = matrix_input(A, C, &ma)
    B = matrix_input(B, C, &mb)
    ma.trans = toggle(ma.trans, trans_a)
    mb.trans = toggle(mb.trans, trans_b)
    if not as_matrix(C, &mc):
        C = aligned_copy(C)
        as_matrix(C, &mc)
    clear_fp_errors()
    cdef PyThreadState *state = release_gil_if(m * n * k >= NOGIL_MIN_FLOPS)
    if t == FLOAT32:
        gemm_kernel[float](<float>alpha.real, ma, mb, <float>beta.real, mc, m, n, k)
    elif t == FLOAT64:
        gemm_kernel[double](alpha.real, ma, mb, beta.real, mc, m, n, k)
    elif t == COMPLEX64:
        gemm_kernel[float_complex](<float_complex>alpha, ma, mb, <float_complex>beta,
                                   mc, m, n, k)
    else:
        gemm_kernel[double_complex](alpha, ma, mb, beta, mc, m, n, k)
    restore_gil(state)
    report_fp_errors(name, mc.data)
    if C is not target:
        target[...] = C
    return target


cdef void gemv_kernel(blas_t alpha, Matrix a, intp m, intp n, Vector x,
                      blas_t beta, Vector y) noexcept nogil:
    """y = alpha op(A) x + beta y, op(A) m x n; BLAS is given the buffer's own shape."""
    cdef int rows = <int>(m if a.trans == b'N' else n)
    cdef int cols = <int>(n if a.trans == b'N' else m)
    cyblas.gemv(a.trans, rows, cols, alpha, <blas_t *>a.data, a.ld,
                <blas_t *>blas_start(x), x.inc, beta, <blas_t *>blas_start(y), y.inc)


cdef cnp.ndarray gemv_into(const char *name, int t, double complex alpha,
                           cnp.ndarray A, bint trans, cnp.ndarray x,
                           double complex beta, cnp.ndarray y):
    """y = alpha op(A) x + beta y for validated operands; y may be None (new).

    Floating-point exceptions of the product are reported under `name`.
    """
    cdef intp m = cnp.PyArray_DIM(A, 1 if trans else 0)
    cdef intp n = cnp.PyArray_DIM(A, 0 if trans else 1)
    cdef Matrix ma
    cdef cnp.ndarray target = y
    cdef Vector vx, vy
    if y is None:
        target = y = new_output(1, m, 0, t)
        beta = 0.0
    if m == 0:
        return target
    if n == 0 or alpha == 0.0:
        product = (np.zeros(m, y.dtype) if n == 0 else
                   gemv_into(name, t, 1.0, A, trans, x, 0.0, None))
        combine(target, t, alpha, product, beta)
        return target
    check_blas_dims((m, n))
    A = matrix_input(A, y, &ma)
    ma.trans = toggle(ma.trans, trans)
    if overlap(x, y) or not blas_vector(x):
        x = aligned_copy(x)
    if not blas_vector(y):
        y = aligned_copy(y)
    vx = as_vector(x)
    vy = as_vector(y)
    clear_fp_errors()
    cdef PyThreadState *state = release_gil_if(m * n >= NOGIL_MIN_FLOPS)
    if t == FLOAT32:
        gemv_kernel[float](<float>alpha.real, ma, m, n, vx, <float>beta.real, vy)
    elif t == FLOAT64:
        gemv_kernel[double](alpha.real, ma, m, n, vx, beta.real, vy)
    elif t == COMPLEX64:
        gemv_kernel[float_complex](<float_complex>alpha, ma, m, n, vx,
                                   <float_complex>beta, vy)
    else:
        gemv_kernel[double_complex](alpha, ma, m, n, vx, beta, vy)
    restore_gil(state)
    report_fp_errors(name, vy.first)
    if y is not target:
        target[...] = y
    return target


cdef object dot_matrix(cnp.ndarray a, cnp.ndarray b, int t):
    """The fast path of dot for 2-D.1-D and 2-D.2-D; None when NumPy must decide."""
    cdef Matrix probe
    cdef intp inner = cnp.PyArray_DIM(b, 0)
    cdef intp cols = cnp.PyArray_DIM(b, 1) if cnp.PyArray_NDIM(b) == 2 else 1
    if cnp.PyArray_DIM(a, 1) != inner or not as_matrix(a, &probe):
        return None
    if max(cnp.PyArray_DIM(a, 0), inner, cols) > chunk_limit:
        return None     # past the 32-bit BLAS integer: NumPy knows how
    if cnp.PyArray_NDIM(b) == 1:
        return gemv_into("dot", t, 1.0, a, False, b, 0.0, None) if blas_vector(b) else None
    if not as_matrix(b, &probe):
        return None
    if t == COMPLEX64 and cnp.PyArray_DIM(a, 0) * inner * cols >= NUMPY_CGEMM_MIN_WORK:
        return None
    return gemm_into("dot", t, 1.0, a, False, b, False, 0.0, None)


# From this m * n * k on, complex64 matrix products go to numpy.dot: NumPy's
# OpenBLAS (0.3.31) runs cgemm faster than SciPy's (0.3.30), and the call overhead
# fastblas saves no longer matters. Measured with one thread (us, fastblas through
# SciPy's cgemm / np.dot; AMD EPYC, SkylakeX kernels): n x n @ n x n, n = 16: 1.10
# / 1.30, 24: 1.90 / 1.95, 32: 3.32 / 2.86, 64: 16.0 / 13.9, 256: 712 / 678.
# complex128 products ran level from n = 24 on (0.98-1.04x) and stay here.
cdef intp NUMPY_CGEMM_MIN_WORK = 24 * 24 * 24


def gemv(alpha, A, x, beta=0.0, y=None, trans=False):
    """y = alpha * op(A) @ x + beta * y, op(A) = A.T if trans else A.

    With y None a new array is returned; otherwise y is updated in place and
    returned (with beta = 0 its old contents are never read). alpha and beta are
    real, or complex for complex arrays. alpha = 0 still forms 0 * (op(A) @ x):
    NaN and inf in A or x propagate, as in NumPy.
    """
    cdef int t = common_type(A, "A", x, "x")
    if y is not None:
        common_type(A, "A", y, "y")
    cdef double complex a = scalar(alpha, "alpha", t), b = scalar(beta, "beta", t)
    check_ndim(A, 2, "A")
    check_ndim(x, 1, "x")
    cdef bint tr = bool(trans)
    cdef intp m = cnp.PyArray_DIM(A, 1 if tr else 0), n = cnp.PyArray_DIM(A, 0 if tr else 1)
    if cnp.PyArray_DIM(x, 0) != n:
        raise ValueError(f"x has length {cnp.PyArray_DIM(x, 0)} but op(A) has {n} "
                         f"columns (A.shape={A.shape}, trans={tr})")
    if y is not None:
        vector_output(y, "y")
        if cnp.PyArray_DIM(y, 0) != m:
            raise ValueError(f"y has length {cnp.PyArray_DIM(y, 0)} but op(A) has {m} "
                             f"rows (A.shape={A.shape}, trans={tr})")
    return gemv_into("gemv", t, a, A, tr, x, b, y)


cdef void ger_kernel(blas_t alpha, Vector x, Vector y, Matrix a) noexcept nogil:
    """A += alpha x y'; when the buffer holds A' (F order), A' += alpha y x'."""
    if a.trans == b'T':
        x, y = y, x
    cyblas.ger(<int>x.n, <int>y.n, alpha, <blas_t *>blas_start(x), x.inc,
               <blas_t *>blas_start(y), y.inc, <blas_t *>a.data, a.ld)


def ger(alpha, x, y, A):
    """A += alpha * outer(x, y) in place (never conjugated); returns A.

    alpha is real, or complex for complex arrays. alpha = 0 still forms
    0 * outer(x, y): NaN and inf in x or y propagate, as in NumPy.
    """
    cdef int t = common_type(x, "x", y, "y")
    common_type(x, "x", A, "A")
    cdef double complex a = scalar(alpha, "alpha", t)
    check_ndim(x, 1, "x")
    check_ndim(y, 1, "y")
    check_ndim(A, 2, "A")
    check_writeable(A, "A")
    if A.shape != (x.shape[0], y.shape[0]):
        raise ValueError(f"A must have shape (len(x), len(y)) = "
                         f"{(x.shape[0], y.shape[0])}, got {A.shape}")
    cdef intp m = x.shape[0], n = y.shape[0]
    if m == 0 or n == 0:
        return A
    if a == 0.0:
        A += as_scalar(t, a) * np.outer(x, y)
        return A
    check_blas_dims((m, n))
    cdef cnp.ndarray target = A, work = A
    cdef Matrix ma
    if not as_matrix(work, &ma):
        work = aligned_copy(A)
        as_matrix(work, &ma)
    if overlap(x, target) or not blas_vector(x):
        x = aligned_copy(x)
    if overlap(y, target) or not blas_vector(y):
        y = aligned_copy(y)
    clear_fp_errors()
    cdef PyThreadState *state = release_gil_if(m * n >= NOGIL_MIN_FLOPS)
    if t == FLOAT32:
        ger_kernel[float](<float>a.real, as_vector(x), as_vector(y), ma)
    elif t == FLOAT64:
        ger_kernel[double](a.real, as_vector(x), as_vector(y), ma)
    elif t == COMPLEX64:
        ger_kernel[float_complex](<float_complex>a, as_vector(x), as_vector(y), ma)
    else:
        ger_kernel[double_complex](a, as_vector(x), as_vector(y), ma)
    restore_gil(state)
    report_fp_errors("ger", ma.data)
    if work is not target:
        target[...] = work
    return target


def gemm(alpha, A, B, beta=0.0, C=None, trans_a=False, trans_b=False):
    """C = alpha * op(A) @ op(B) + beta * C, op(X) = X.T when trans_x.

    C-ordered, Fortran-ordered, transposed and sliced operands go to BLAS without
    a copy. With C None a new C-ordered array is returned; otherwise C is updated
    in place and returned (with beta = 0 its old contents are never read). alpha
    and beta are real, or complex for complex arrays; op never conjugates.
    alpha = 0 still forms 0 * (op(A) @ op(B)): NaN and inf in A or B propagate,
    whatever the shape, and alpha = inf with an empty inner dimension gives NaN,
    as in NumPy.
    """
    cdef int t = common_type(A, "A", B, "B")
    if C is not None:
        common_type(A, "A", C, "C")
    cdef double complex a = scalar(alpha, "alpha", t), b = scalar(beta, "beta", t)
    check_ndim(A, 2, "A")
    check_ndim(B, 2, "B")
    cdef bint ta = bool(trans_a), tb = bool(trans_b)
    cdef intp m = cnp.PyArray_DIM(A, 1 if ta else 0), k = cnp.PyArray_DIM(A, 0 if ta else 1)
    cdef intp kb = cnp.PyArray_DIM(B, 1 if tb else 0), n = cnp.PyArray_DIM(B, 0 if tb else 1)
    if k != kb:
        raise ValueError(f"op(A) with shape {(m, k)} and op(B) with shape {(kb, n)} "
                         f"are not aligned (trans_a={ta}, trans_b={tb})")
    if C is not None:
        check_ndim(C, 2, "C")
        check_writeable(C, "C")
        if cnp.PyArray_DIM(C, 0) != m or cnp.PyArray_DIM(C, 1) != n:
            raise ValueError(f"C must have shape {(m, n)}, got {C.shape}")
    return gemm_into("gemm", t, a, A, ta, B, tb, b, C)


# ---------------------------------------------------------------------------
# Exact products (integers, bool, float16) and matmul
# ---------------------------------------------------------------------------

from libc.stdint cimport (int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t,
                          uint32_t, uint64_t)
from fastblas.cyblas cimport (ExactOptions, bool_matmul, exact_defaults, half_matmul,
                              int_matmul)
from fastblas._exact cimport fb_pairs_supported

cdef extern from "numpy/arrayobject.h":
    object PyArray_Scalar(void *data, cnp.PyArray_Descr *descr, object base)
    enum: NPY_HALF

# Tiles, the loop/BLAS crossover and the split switch of fastblas._exact. Private:
# the tests shrink the tiles and force the splitting path on small inputs.
cdef ExactOptions exact_options = exact_defaults()

_np_matmul = np.matmul

cdef enum Exact:
    NOT_EXACT, BOOL, INT8, UINT8, INT16, UINT16, INT32, UINT32, INT64, UINT64, HALF


def _set_exact_options(**settings):
    """Set tile_m, tile_n, tile_k, loop_flops, force_split, int16_pairs and/or
    max_workspace (bytes, 0 for no limit: a product needing more raises
    MemoryError) of the exact products (``reset=True``: the defaults); return the
    previous settings."""
    global exact_options
    previous = dict(exact_options)
    if settings.pop("reset", False):
        exact_options = exact_defaults()
    unknown = set(settings) - set(previous)
    if unknown:
        raise TypeError(f"unknown exact-product settings: {sorted(unknown)}")
    for name, value in settings.items():
        if name == "max_workspace" and value < 0:
            raise ValueError(f"max_workspace must be >= 0, got {value}")
        if (name not in ("force_split", "int16_pairs", "max_workspace")
                and not 1 <= value <= INT_MAX):
            raise ValueError(f"{name} must be in [1, {INT_MAX}], got {value}")
    updated = dict(exact_options)
    updated.update(settings)
    exact_options = updated
    return previous


def _int16_pairs_supported():
    """Whether integer products whose values fit in int16 can take the pair kernel
    here: a build with it (GCC >= 12, x86-64 Linux) on a CPU with AVX-512 VNNI."""
    return bool(fb_pairs_supported())


cdef Exact exact_type(cnp.ndarray a) noexcept:
    """Which exact product serves `a`'s dtype (native order assumed by the caller)."""
    cdef int t = cnp.PyArray_TYPE(a)
    cdef intp size = cnp.PyArray_ITEMSIZE(a)
    cdef bint signed = cnp.PyTypeNum_ISSIGNED(t)
    if cnp.PyTypeNum_ISBOOL(t):
        return BOOL
    if t == NPY_HALF:
        return HALF
    if not (signed or cnp.PyTypeNum_ISUNSIGNED(t)):
        return NOT_EXACT
    if size == 1:
        return INT8 if signed else UINT8
    if size == 2:
        return INT16 if signed else UINT16
    if size == 4:
        return INT32 if signed else UINT32
    return INT64 if signed else UINT64


cdef struct Operand:
    char *data
    intp rows, cols
    intp rs, cs        # element strides


cdef int exact_kernel(Exact t, Operand a, Operand b, Operand c) noexcept nogil:
    """c = a @ b through fastblas._exact for the element type t."""
    cdef intp m = a.rows, k = a.cols, n = b.cols
    cdef const ExactOptions *opts = &exact_options
    if t == BOOL:
        return bool_matmul(m, n, k, <uint8_t *>a.data, a.rs, a.cs, <uint8_t *>b.data,
                           b.rs, b.cs, <uint8_t *>c.data, c.rs, c.cs, opts)
    if t == HALF:
        return half_matmul(m, n, k, <uint16_t *>a.data, a.rs, a.cs, <uint16_t *>b.data,
                           b.rs, b.cs, <uint16_t *>c.data, c.rs, c.cs, opts)
    if t == INT8:
        return int_matmul(m, n, k, <int8_t *>a.data, a.rs, a.cs, <int8_t *>b.data,
                          b.rs, b.cs, <int8_t *>c.data, c.rs, c.cs, opts)
    if t == UINT8:
        return int_matmul(m, n, k, <uint8_t *>a.data, a.rs, a.cs, <uint8_t *>b.data,
                          b.rs, b.cs, <uint8_t *>c.data, c.rs, c.cs, opts)
    if t == INT16:
        return int_matmul(m, n, k, <int16_t *>a.data, a.rs, a.cs, <int16_t *>b.data,
                          b.rs, b.cs, <int16_t *>c.data, c.rs, c.cs, opts)
    if t == UINT16:
        return int_matmul(m, n, k, <uint16_t *>a.data, a.rs, a.cs, <uint16_t *>b.data,
                          b.rs, b.cs, <uint16_t *>c.data, c.rs, c.cs, opts)
    if t == INT32:
        return int_matmul(m, n, k, <int32_t *>a.data, a.rs, a.cs, <int32_t *>b.data,
                          b.rs, b.cs, <int32_t *>c.data, c.rs, c.cs, opts)
    if t == UINT32:
        return int_matmul(m, n, k, <uint32_t *>a.data, a.rs, a.cs, <uint32_t *>b.data,
                          b.rs, b.cs, <uint32_t *>c.data, c.rs, c.cs, opts)
    if t == INT64:
        return int_matmul(m, n, k, <int64_t *>a.data, a.rs, a.cs, <int64_t *>b.data,
                          b.rs, b.cs, <int64_t *>c.data, c.rs, c.cs, opts)
    return int_matmul(m, n, k, <uint64_t *>a.data, a.rs, a.cs, <uint64_t *>b.data,
                      b.rs, b.cs, <uint64_t *>c.data, c.rs, c.cs, opts)


cdef inline bint ready(cnp.ndarray x) noexcept:
    """Aligned, native order, and every stride a whole number of elements."""
    cdef int i
    cdef intp size = cnp.PyArray_ITEMSIZE(x)
    if not well_behaved(x):
        return False
    for i in range(cnp.PyArray_NDIM(x)):
        if cnp.PyArray_STRIDE(x, i) % size != 0:
            return False
    return True


cdef inline Operand operand(cnp.ndarray x, int rows_axis, int cols_axis) noexcept:
    """x (1-D or 2-D) as a matrix; axis -1 stands for a dimension of length 1."""
    cdef Operand op
    cdef intp size = cnp.PyArray_ITEMSIZE(x)
    op.data = <char *>fb_data(x)
    op.rows = cnp.PyArray_DIM(x, rows_axis) if rows_axis >= 0 else 1
    op.cols = cnp.PyArray_DIM(x, cols_axis) if cols_axis >= 0 else 1
    op.rs = cnp.PyArray_STRIDE(x, rows_axis) // size if rows_axis >= 0 else 0
    op.cs = cnp.PyArray_STRIDE(x, cols_axis) // size if cols_axis >= 0 else 0
    return op


cdef int run_exact(Exact t, Operand a, Operand b, Operand c) except -1:
    """c = a @ b, without the GIL when the product is long. float16 reports its
    floating-point errors (overflow to inf, inf * 0, ...) as np.dot does."""
    if t == HALF:
        clear_fp_errors()
    cdef PyThreadState *state = release_gil_if(a.rows * a.cols * b.cols >= NOGIL_MIN_FLOPS)
    cdef int status = exact_kernel(t, a, b, c)
    restore_gil(state)
    if t == HALF:
        report_fp_errors(b"dot", c.data)
    if status != 0:
        raise MemoryError("no memory for the workspace of an exact product")
    return 0


cdef object dot_exact(cnp.ndarray a, cnp.ndarray b):
    """np.dot of 1-D/2-D operands of one integer, bool or float16 type; None when
    NumPy must decide (other types, mismatched lengths)."""
    cdef Exact t = exact_type(a)
    cdef int nda = cnp.PyArray_NDIM(a), ndb = cnp.PyArray_NDIM(b)
    cdef intp k = cnp.PyArray_DIM(a, nda - 1)
    cdef uint64_t scalar = 0
    cdef Operand oc
    cdef cnp.ndarray c
    if k != cnp.PyArray_DIM(b, 0) or nda > 2 or ndb > 2:
        return None
    cdef Operand oa = operand(a, 0 if nda == 2 else -1, nda - 1)
    cdef Operand ob = operand(b, 0, 1 if ndb == 2 else -1)
    if nda == 1 and ndb == 1:
        oc.data = <char *>&scalar
        oc.rs = oc.cs = 0
        run_exact(t, oa, ob, oc)
        return PyArray_Scalar(&scalar, cnp.PyArray_DESCR(a), None)
    c = new_output(nda + ndb - 2, oa.rows if nda == 2 else ob.cols, ob.cols,
                   cnp.PyArray_TYPE(a))
    oc = operand(c, 0 if nda == 2 else -1, (1 if nda == 2 else 0) if ndb == 2 else -1)
    run_exact(t, oa, ob, oc)
    return c


cdef inline bint numeric(cnp.ndarray x) noexcept:
    """bool, integer or float16/32/64: a type with a fast product after promotion."""
    cdef int t = cnp.PyArray_TYPE(x)
    return (cnp.PyTypeNum_ISBOOL(t) or cnp.PyTypeNum_ISINTEGER(t)
            or t == NPY_HALF or real_float(t))


cdef object promoted_type(cnp.ndarray a, cnp.ndarray b):
    """np.result_type(a, b) when it has a fast product, else None."""
    if not (numeric(a) and numeric(b)):
        return None
    return np.result_type(a, b)


cdef cnp.ndarray as_ready(cnp.ndarray x, object dtype):
    """x itself when it already is a ready array of `dtype`, else a converted copy."""
    if ready(x) and x.dtype == dtype:
        return x
    return np.array(x, dtype=dtype)


cdef object dot_other(cnp.ndarray a, cnp.ndarray b):
    """np.dot for pairs the float fast path does not take: integer, bool and float16
    products, and mixed types promoted as NumPy does; None when NumPy must decide."""
    if (cnp.PyArray_NDIM(a) == 0 or cnp.PyArray_NDIM(b) == 0
            or cnp.PyArray_NDIM(a) > 2 or cnp.PyArray_NDIM(b) > 2):
        return None
    cdef Exact t = exact_type(a)
    if t != NOT_EXACT and exact_type(b) == t and ready(a) and ready(b):
        return dot_exact(a, b)
    dtype = promoted_type(a, b)
    if dtype is None:
        return None
    a = as_ready(a, dtype)
    b = as_ready(b, dtype)
    if exact_type(a) != NOT_EXACT:
        return dot_exact(a, b)
    return dot(a, b)


# Stacks of matrices ---------------------------------------------------------

cdef enum:
    MAX_BATCH_DIMS = 64     # NPY_MAXDIMS


cdef struct Stack:
    int nd
    intp shape[MAX_BATCH_DIMS]
    intp sa[MAX_BATCH_DIMS]     # byte strides of the batch dimensions
    intp sb[MAX_BATCH_DIMS]
    intp sc[MAX_BATCH_DIMS]


cdef bint next_matrix(Stack *s, int nd, intp *idx, Operand *a, Operand *b,
                     Operand *c) noexcept nogil:
    """Step a, b and c to the next matrix of the first nd batch dimensions (an
    odometer over idx); False after the last one."""
    cdef int d = nd - 1
    while d >= 0:
        idx[d] += 1
        a.data += s.sa[d]
        b.data += s.sb[d]
        c.data += s.sc[d]
        if idx[d] < s.shape[d]:
            return True
        a.data -= s.sa[d] * s.shape[d]
        b.data -= s.sb[d] * s.shape[d]
        c.data -= s.sc[d] * s.shape[d]
        idx[d] = 0
        d -= 1
    return False


cdef intp batch_count(Stack *s, int nd, intp *idx) noexcept nogil:
    """The number of matrices in the first nd batch dimensions; idx set to zero."""
    cdef intp count = 1
    cdef int d
    for d in range(nd):
        idx[d] = 0
        count *= s.shape[d]
    return count


cdef int exact_stack(Exact t, Stack *s, Operand a, Operand b, Operand c) noexcept nogil:
    """Every product of an integer, bool or float16 stack; -1 when out of memory."""
    cdef intp idx[MAX_BATCH_DIMS]
    if batch_count(s, s.nd, idx) == 0:
        return 0
    while True:
        if exact_kernel(t, a, b, c) != 0:
            return -1
        if not next_matrix(s, s.nd, idx, &a, &b, &c):
            return 0


cdef extern from "small_matmul.h" nogil:
    bint fb_small_width(intp n)
    int fb_square16_enabled
    bint fb_square16_active()
    int fb_small_matmul(bint floating, size_t size, intp count, intp m, intp n, intp k,
                        const void *a, intp a_step, intp ars, intp acs,
                        const void *b, intp b_step, intp brs,
                        void *c, intp c_step, intp crs)

# The largest m * n * k that small_matmul.h takes: above it np.matmul, which calls
# BLAS per matrix, is the one to use. Measured with one thread on stacks of 1000
# (ns per matrix, np.matmul / small_matmul.h), float32: 16x16 @ 16x16 189 / 66,
# 64x16 @ 16x16 969 / 256, 16x64 @ 64x16 502 / 217, 256x16 @ 16x16 4426 / 2618,
# 64x64 @ 64x16 2244 / 1702; float64: 16x16 @ 16x16 358 / 116, 64x16 @ 16x16 2316
# / 720, 16x64 @ 64x16 2153 / 955, 64x64 @ 64x16 8097 / 4061. The gain shrinks
# past 16384 (the products stream from memory), and a BLAS with AVX-512 kernels
# (this machine's OpenBLAS picks its AVX2 ones) would take over there.
cdef intp SMALL_MAX_FLOPS = 16384


cdef inline bint small_product(intp m, intp n, intp k) noexcept:
    """Does small_matmul.h beat a BLAS call per matrix for (m x k) @ (k x n)?"""
    return fb_small_width(n) and m * n * k <= SMALL_MAX_FLOPS


cdef void small_stack(bint floating, intp itemsize, Stack *s, Operand a, Operand b,
                      Operand c) noexcept nogil:
    """Every product of a float32/float64 (floating) or integer stack of itemsize-byte
    elements through small_matmul.h: one call per run of the last batch dimension.
    B and C rows are contiguous."""
    cdef intp idx[MAX_BATCH_DIMS]
    cdef int last = s.nd - 1
    cdef intp run = s.shape[last]
    cdef intp a_step = s.sa[last] // itemsize, b_step = s.sb[last] // itemsize
    cdef intp c_step = s.sc[last] // itemsize
    if run == 0 or batch_count(s, last, idx) == 0:
        return
    while True:
        fb_small_matmul(floating, itemsize, run, a.rows, b.cols, a.cols,
                        a.data, a_step, a.rs, a.cs, b.data, b_step, b.rs,
                        c.data, c_step, c.rs)
        if not next_matrix(s, last, idx, &a, &b, &c):
            return


# Integer and float16 stacks pay ~0.5 us a matrix in the exact product (bound,
# conversion, a BLAS call): below this m * n * k NumPy's loop is faster.
# Measured with one thread (us per stack of 1000, np.matmul / fastblas): int32
# 4x4 70 / 108, 10x10 773 / 943, 12x12 1357 / 749; int8 10x10 778 / 887, 12x12
# 1294 / 871; int64 10x10 768 / 785, 12x12 1220 / 807; float16 4x4 382 / 291.
cdef intp EXACT_MIN_MATRIX = 1728
# bool stacks pay less (bits packed, no BLAS call): dense and 10% true, 1000
# matrices, us, np.matmul / fastblas: 4x4 114 / 177 and 63 / 159, 6x6 482 / 248
# and 178 / 170, 8x8 948 / 283 and 462 / 275.
cdef intp BOOL_MIN_MATRIX = 216


def _set_stack_minimums(**minimums):
    """Set the m * n * k from which integer and float16 stacks (matrix:
    EXACT_MIN_MATRIX) and bool stacks (bool: BOOL_MIN_MATRIX) take the exact
    products; return the previous values. Private: the tests lower them to send
    small stacks through the stack kernels."""
    global EXACT_MIN_MATRIX, BOOL_MIN_MATRIX
    previous = dict(matrix=EXACT_MIN_MATRIX, bool=BOOL_MIN_MATRIX)
    unknown = set(minimums) - set(previous)
    if unknown:
        raise TypeError(f"unknown stack minimums: {sorted(unknown)}")
    BOOL_MIN_MATRIX = minimums.get("bool", BOOL_MIN_MATRIX)
    EXACT_MIN_MATRIX = minimums.get("matrix", EXACT_MIN_MATRIX)
    return previous


def _set_square16(bint enabled):
    """Let float32 (16 x 16) stacks take small_matmul.h's Intel kernel where the
    CPU has it (True, the default) or the general one; return the previous
    setting. Private: the tests cover both kernels on one machine."""
    global fb_square16_enabled
    previous = bool(fb_square16_enabled)
    fb_square16_enabled = enabled
    return previous


def _square16_active():
    """Do float32 (16 x 16) stacks take small_matmul.h's Intel kernel: does this
    CPU run it, and does the switch above let them?"""
    return fb_square16_active()


cdef inline int batch_dims(cnp.ndarray x) noexcept:
    """The number of stack dimensions of x, those before its matrix."""
    return max(cnp.PyArray_NDIM(x) - 2, 0)


cdef inline intp batch_dim(cnp.ndarray x, int d, int nd) noexcept:
    """The length of x along dimension d of an nd-dimensional stack batch, its
    dimensions aligned on the right: 1 where x has none."""
    cdef int i = d - nd + batch_dims(x)
    return cnp.PyArray_DIM(x, i) if i >= 0 else 1


cdef inline intp batch_stride(cnp.ndarray x, int d, int nd) noexcept:
    """The byte stride of x along dimension d of the batch: 0 where x broadcasts."""
    cdef int i = d - nd + batch_dims(x)
    return cnp.PyArray_STRIDE(x, i) if i >= 0 and cnp.PyArray_DIM(x, i) != 1 else 0


# Past this many bytes (A, B and C over the whole stack) the stack streams from
# memory, and np.matmul (BLAS per matrix) keeps up with small_matmul.h on
# matrices of m * n * k >= 2048 whose rows fill a 64-byte vector or more.
# Measured interleaved with one thread (ns per matrix, small_matmul.h /
# np.matmul): float32 16x16 @ 16x16 at 6 MiB 60 / 112, 18 MiB 72 / 91, 47 MiB
# 124 / 120; 64x16 @ 16x16 at 18 MiB 309 / 336, 53 MiB 368 / 349; float64 16x16
# @ 16x16 at 12 MiB 109 / 145, 35 MiB 207 / 201, 94 MiB 248 / 233; 16x8 @ 8x16
# at 8 MiB 74 / 111, 23 MiB 134 / 109. Narrower rows keep their lead at any
# size (float32 16x8 @ 8x16 at 31 MiB: 91 / 234), and so do smaller matrices.
cdef intp SMALL_MAX_STACK_BYTES = 16 << 20
cdef intp SMALL_STREAMED_MIN_FLOPS = 2048
cdef intp SMALL_STREAMED_MIN_ROW_BYTES = 64


cdef bint worth_a_stack(cnp.ndarray a, cnp.ndarray b, bint floating, bint integral,
                        bint logical, intp itemsize) noexcept:
    """Do the stack kernels take this matmul (1-D operands promoted; elements of
    itemsize bytes) and gain from it? Float32/float64 stacks of small_matmul.h's
    sizes gain from one matrix: the setup here is below np.matmul's own call (one
    thread, us: (1, 4, 4) float32 0.33 against 1.39, (1, 16, 16) 0.29 against
    1.43, (8, 4, 4) float64 0.35 against 2.13), up to SMALL_MAX_STACK_BYTES for
    the larger, wider ones. Integer (integral) stacks of those sizes gain at any
    count (NumPy multiplies integers in a plain loop, 43 ns a 4x4 int32 product
    against 5 for small_matmul.h); other integer and float16 stacks from
    EXACT_MIN_MATRIX, bool (logical) ones from BOOL_MIN_MATRIX. Reads the shapes
    only; False also for shapes NumPy rejects (it then raises its own error)."""
    cdef int nda = cnp.PyArray_NDIM(a), ndb = cnp.PyArray_NDIM(b)
    cdef intp m = cnp.PyArray_DIM(a, nda - 2) if nda > 1 else 1
    cdef intp k = cnp.PyArray_DIM(a, nda - 1)
    cdef intp n = cnp.PyArray_DIM(b, ndb - 1) if ndb > 1 else 1
    cdef int nd = max(batch_dims(a), batch_dims(b)), d
    cdef intp da, db, count = 1
    if k != cnp.PyArray_DIM(b, ndb - 2 if ndb > 1 else 0):
        return False
    for d in range(nd):
        da = batch_dim(a, d, nd)
        db = batch_dim(b, d, nd)
        if da != db and da != 1 and db != 1:
            return False
        count *= max(da, db)
    if integral and small_product(m, n, k):
        return True
    if not floating:
        return m * n * k >= (BOOL_MIN_MATRIX if logical else EXACT_MIN_MATRIX)
    if not small_product(m, n, k):
        return False
    return (m * n * k < SMALL_STREAMED_MIN_FLOPS
            or n * itemsize < SMALL_STREAMED_MIN_ROW_BYTES
            or count <= SMALL_MAX_STACK_BYTES // ((m * k + k * n + m * n) * itemsize))


cdef object matmul_stack(cnp.ndarray a, cnp.ndarray b, object out):
    """np.matmul of stacks and/or out=: float32/float64 and integer stacks of small
    matrices through small_matmul.h, other integer, bool and float16 ones through
    the exact products; None when NumPy must decide (larger float matrices: it
    calls BLAS per matrix, as fast as a call per matrix from here; integer
    matrices too small to gain). The shapes and type numbers decide first, so
    that what goes to NumPy pays little here; the broadcast is strides in a
    Stack, not views."""
    if not (numeric(a) and numeric(b)):
        return None
    cdef int ta = cnp.PyArray_TYPE(a), tb = cnp.PyArray_TYPE(b)
    # operands of one type need no promotion: the common case, decided cheaply
    cdef cnp.dtype dtype = (cnp.PyArray_DescrFromType(ta) if ta == tb
                            else np.result_type(a, b))
    cdef bint floating = real_float(dtype.type_num)
    cdef bint integral = cnp.PyTypeNum_ISINTEGER(dtype.type_num)
    if not worth_a_stack(a, b, floating, integral, cnp.PyTypeNum_ISBOOL(dtype.type_num),
                         dtype.itemsize):
        return None
    a = as_ready(a, dtype)
    b = as_ready(b, dtype)
    cdef int nda = cnp.PyArray_NDIM(a), ndb = cnp.PyArray_NDIM(b)
    cdef bint a_vector = nda == 1, b_vector = ndb == 1
    cdef Operand oa = operand(a, -1 if a_vector else nda - 2, nda - 1)
    cdef Operand ob = operand(b, 0 if b_vector else ndb - 2, -1 if b_vector else ndb - 1)

    cdef Stack s
    cdef int nd = max(batch_dims(a), batch_dims(b)), d
    cdef intp dims[MAX_BATCH_DIMS + 2]
    s.nd = max(nd, 1)       # a lone product is a stack of one
    s.shape[0] = 1
    s.sa[0] = s.sb[0] = s.sc[0] = 0
    for d in range(nd):
        s.shape[d] = dims[d] = (batch_dim(b, d, nd) if batch_dim(a, d, nd) == 1
                                else batch_dim(a, d, nd))
        s.sa[d] = batch_stride(a, d, nd)
        s.sb[d] = batch_stride(b, d, nd)
    cdef int ndc = nd
    if not a_vector:
        dims[ndc] = oa.rows
        ndc += 1
    if not b_vector:
        dims[ndc] = ob.cols
        ndc += 1
    cdef cnp.ndarray c
    if out is None:
        c = cnp.PyArray_EMPTY(ndc, dims, cnp.PyArray_TYPE(a), 0)
    elif not fits_out(out, ndc, dims, a, b):
        return None
    else:
        c = out
    cdef Operand oc = operand(c, -1 if a_vector else nd, -1 if b_vector else ndc - 1)
    for d in range(nd):
        s.sc[d] = cnp.PyArray_STRIDE(c, d)
    cdef bint small = floating or (integral and small_product(oa.rows, ob.cols, oa.cols))
    if small:
        if oc.cs != 1 and oc.cols > 1:
            return None
        if ob.cs != 1 and ob.cols > 1:
            b = np.ascontiguousarray(b)     # the kernel reads B by rows
            ob = operand(b, ndb - 2, ndb - 1)
            for d in range(nd):
                s.sb[d] = batch_stride(b, d, nd)

    cdef int status = 0
    cdef bint reports = floating or exact_type(a) == HALF    # integers raise no flags
    if reports:
        clear_fp_errors()
    cdef PyThreadState *state = release_gil_if(
        cnp.PyArray_SIZE(c) * oa.cols >= NOGIL_MIN_FLOPS)
    if small:
        small_stack(floating, dtype.itemsize, &s, oa, ob, oc)
    else:
        status = exact_stack(exact_type(a), &s, oa, ob, oc)
    restore_gil(state)
    if reports:
        report_fp_errors(b"matmul", oc.data)
    if status != 0:
        raise MemoryError("no memory for the workspace of an exact product")
    if out is not None:
        return out
    return c[()] if ndc == 0 else c


cdef bint fits_out(object out, int ndim, intp *dims, cnp.ndarray a, cnp.ndarray b):
    """Can the stack kernels write the result (ndim dimensions `dims`, a's dtype)
    straight into `out`? Else NumPy fills it."""
    cdef int d
    if (not cnp.PyArray_CheckExact(out) or cnp.PyArray_NDIM(<cnp.ndarray>out) != ndim
            or cnp.PyArray_TYPE(<cnp.ndarray>out) != cnp.PyArray_TYPE(a)
            or not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>out) or not ready(out)
            or overlap(out, a) or overlap(out, b)):
        return False
    for d in range(ndim):
        if cnp.PyArray_DIM(<cnp.ndarray>out, d) != dims[d]:
            return False
    return True


def matmul(a, b, out=None, **kwargs):
    """Matrix product of two arrays: a drop-in replacement for ``numpy.matmul``.

    NumPy's semantics: 1-D operands are promoted to matrices and the added
    dimension removed from the result, leading dimensions are stacks that
    broadcast, ``out=`` is filled and returned. Integer and bool products get
    NumPy's exact result (wraparound included) and float16 products its float32
    accumulation, computed through BLAS; 1-D and 2-D float32/float64 operands take
    ``fastblas.dot``'s path. Stacks of small float32/float64 matrices (rows of 2,
    4, 8 or 16 elements and m * n * k <= 16384; for rows of 64 bytes or more and
    m * n * k >= 2048, stacks of at most 16 MiB) are computed in one vectorised
    pass over the whole stack, each entry summed in order over k:
    equal to NumPy's result to rounding, not bit for bit; larger float matrices go
    to ``numpy.matmul`` (which calls BLAS per matrix). Mixed dtypes are promoted as
    NumPy does. Other keywords (``dtype=``, ``casting=``, ``axes=``, ...), other
    types (complex, object, ...) and every error go to ``numpy.matmul``.
    """
    cdef object result = None
    cdef int nda, ndb
    if not kwargs and cnp.PyArray_CheckExact(a) and cnp.PyArray_CheckExact(b):
        nda = cnp.PyArray_NDIM(<cnp.ndarray>a)
        ndb = cnp.PyArray_NDIM(<cnp.ndarray>b)
        if out is None and 0 < nda <= 2 and 0 < ndb <= 2:
            if (numeric(a) and numeric(b) and cnp.PyArray_DIM(<cnp.ndarray>a, nda - 1)
                    == cnp.PyArray_DIM(<cnp.ndarray>b, 0)):
                result = dot(a, b)      # np.dot and np.matmul agree here
        elif nda > 0 and ndb > 0:
            result = matmul_stack(a, b, out)
        if result is not None:
            return result
    if out is None:
        return _np_matmul(a, b, **kwargs)
    return _np_matmul(a, b, out=out, **kwargs)
