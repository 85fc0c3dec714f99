# cython: language_level=3
"""The Python facade: NumPy arrays in, SciPy's BLAS (through fastblas.cyblas) out.

Every public function takes plain objects, validates them once with NumPy's C API
and borrows the data pointers (voidptr.h): a typed-memoryview signature would
cost ~80 ns per argument, more than the BLAS call itself at small n (DESIGN.md).

Operands BLAS cannot take as they are (unaligned, byte-swapped, zero or
non-itemsize strides, negative leading dimensions) are copied to an aligned
contiguous temporary; an output staged that way is written back afterwards.
An output that overlaps an input in memory gets a private copy of the input.
"""
cimport numpy as cnp
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_CheckExact
from cpython.pystate cimport PyThreadState
from libc.limits cimport INT_MAX
from libc.math cimport fabs, hypot, isnan

from fastblas cimport cyblas
from fastblas.cyblas cimport floating

import numpy as np

cnp.import_array()

cdef extern from "voidptr.h":
    void *fb_data(object arr)
    void *fb_blas_start(void *first, cnp.npy_intp n, cnp.npy_intp step) noexcept nogil
    object fb_float32_scalar(float value)
    object fb_float64_scalar(double value)

cdef extern from "Python.h":
    PyThreadState *PyEval_SaveThread()
    void PyEval_RestoreThread(PyThreadState *state)

ctypedef cnp.npy_intp intp

cdef int FLOAT32 = cnp.NPY_FLOAT
cdef int FLOAT64 = cnp.NPY_DOUBLE

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


cdef int float_type(object a, str name) except -1:
    """The type number of `a`, which must be a float32 or float64 ndarray."""
    if not cnp.PyArray_Check(a):
        raise TypeError(f"{name} must be a numpy.ndarray of float32 or float64, "
                        f"got {type(a).__name__}")
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>a)
    if t != FLOAT32 and t != FLOAT64:
        raise TypeError(f"{name} must have dtype float32 or float64, got {a.dtype}")
    return t


cdef int common_type(object a, str a_name, object b, str b_name) except -1:
    """The float type shared by `a` and `b`; TypeError naming them if they differ."""
    cdef int t = float_type(a, a_name)
    if float_type(b, b_name) != t:
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


cdef double real_scalar(object value, str name) except? -1.0:
    """`value` as a C double; TypeError for anything that is not a real number."""
    if PyFloat_CheckExact(value):
        return PyFloat_AS_DOUBLE(value)
    if isinstance(value, (int, np.integer, np.floating)):
        try:
            return float(value)
        except OverflowError:
            raise ValueError(f"{name} = {value} does not fit in a double") from None
    raise TypeError(f"{name} must be a real number, got {type(value).__name__}")


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
    """A C-contiguous, aligned, native-order copy of `a`, same float type."""
    return np.array(a, dtype=np.float32 if cnp.PyArray_TYPE(a) == FLOAT32 else np.float64,
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


cdef inline intp first_nan(intp n, floating *x, int incx) noexcept nogil:
    cdef intp i
    for i in range(n):
        if isnan(x[i * incx]):
            return i
    return -1


cdef double level1(Level1 op, floating alpha, Vector x, Vector y,
                   intp *argmax) noexcept nogil:
    """Run `op` over x (and y) in chunks of at most `chunk_limit` elements.

    Reductions are combined across chunks in double: dot and asum by summing
    (for float32 this is what NumPy's FLOAT_dot does), nrm2 by hypot (no overflow),
    iamax by keeping the first largest |x_i| (or the first NaN, as np.argmax does).
    """
    cdef intp start = 0, m, i
    cdef int incx = x.inc, incy = y.inc
    cdef floating *px
    cdef floating *py = NULL
    cdef double result = 0.0, largest = -1.0
    if y.first == NULL:
        # One-vector routines (scal, nrm2, asum, iamax) do nothing for incx <= 0 in
        # reference BLAS; walking a reversed vector forwards from its lowest address
        # gives the same result (iamax aside: its caller stages negative strides).
        incx = abs(incx)
    while start < x.n:
        m = min(x.n - start, chunk_limit)
        px = <floating *>fb_blas_start(x.first + start * x.stride, m, x.stride)
        if y.first != NULL:
            py = <floating *>fb_blas_start(y.first + start * y.stride, m, y.stride)
        if op == DOT:
            result += cyblas.dot(<int>m, px, incx, py, incy)
        elif op == DSDOT:
            if floating is float:
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
            result = hypot(result, cyblas.nrm2(<int>m, px, incx))
        elif op == ASUM:
            result += cyblas.asum(<int>m, px, incx)
        elif op == IAMAX:     # incx > 0 here: the caller stages negative strides
            if isnan(cyblas.asum(<int>m, px, incx)):
                # BLAS passes over NaN; np.argmax(np.abs(x)) stops at the first one.
                argmax[0] = start + first_nan(m, px, incx)
                break
            i = cyblas.iamax(<int>m, px, incx)
            if fabs(px[i * incx]) > largest:
                largest = fabs(px[i * incx])
                argmax[0] = start + i
        start += m
    return result


cdef inline double run_level1(Level1 op, int t, double alpha, cnp.ndarray x,
                              cnp.ndarray y=None, intp *argmax=NULL):
    """Dispatch `op` on the float type `t`, without the GIL when the work is long."""
    cdef Vector vx = as_vector(x)
    cdef Vector vy
    vy.first = NULL
    vy.inc = 0
    if y is not None:
        vy = as_vector(y)
    cdef double result
    cdef PyThreadState *state = release_gil_if(vx.n >= NOGIL_MIN_LENGTH)
    if t == FLOAT32:
        result = level1[float](op, <float>alpha, vx, vy, argmax)
    else:
        result = level1[double](op, alpha, vx, vy, argmax)
    restore_gil(state)
    return result


cdef cnp.ndarray vector_input(object x, str name):
    """`x` checked as a 1-D input vector, copied if BLAS cannot read it as it is."""
    check_ndim(x, 1, name)
    return x if blas_vector(x) else aligned_copy(x)


cdef int check_same_length(cnp.ndarray x, cnp.ndarray y, str names) except -1:
    if cnp.PyArray_DIM(x, 0) != cnp.PyArray_DIM(y, 0):
        raise ValueError(f"{names} must have the same length, got "
                         f"{cnp.PyArray_DIM(x, 0)} and {cnp.PyArray_DIM(y, 0)}")
    return 0


cdef inline object float_scalar(int t, double value):
    """np.float32 or np.float64, as NumPy returns reductions of that type."""
    return fb_float32_scalar(<float>value) if t == FLOAT32 else fb_float64_scalar(value)


cdef object dot_vectors(cnp.ndarray x, cnp.ndarray y, int t):
    """The fast path of dot for two well-behaved 1-D arrays of type t; None when NumPy
    must decide."""
    cdef intp n = cnp.PyArray_DIM(x, 0), size = cnp.PyArray_ITEMSIZE(x)
    if (n != cnp.PyArray_DIM(y, 0)
            or not blas_increment(cnp.PyArray_STRIDE(x, 0), n, size)
            or not blas_increment(cnp.PyArray_STRIDE(y, 0), n, size)):
        return None
    return float_scalar(t, run_level1(DOT, t, 0.0, x, y))


def dot(a, b, out=None):
    """Dot product of two arrays: a drop-in replacement for ``numpy.dot``.

    1-D.1-D, 2-D.1-D and 2-D.2-D float32/float64 arrays of one dtype go straight to
    BLAS (sdot/ddot, gemv, gemm) without copies. Every other input (other dtypes,
    lists, scalars, N-d, ``out=``, ...) is handed to ``numpy.dot``, so results,
    result types and errors are NumPy's.
    """
    cdef int t, nda, ndb
    cdef object result = None
    if out is None and cnp.PyArray_CheckExact(a) and cnp.PyArray_CheckExact(b):
        t = cnp.PyArray_TYPE(<cnp.ndarray>a)
        if ((t == FLOAT32 or t == FLOAT64) and cnp.PyArray_TYPE(<cnp.ndarray>b) == t
                and well_behaved(a) and well_behaved(b)):
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
        float_type(x, "x")
        float_type(y, "y")
        raise TypeError(f"x and y must both be float32 (dsdot accumulates float32 "
                        f"in float64), got {x.dtype} and {y.dtype}")
    x = vector_input(x, "x")
    y = vector_input(y, "y")
    check_same_length(x, y, "x and y")
    return fb_float64_scalar(run_level1(DSDOT, FLOAT32, 0.0, x, y))


cdef cnp.ndarray vector_output(object y, str name):
    """`y` checked as a writeable 1-D output."""
    check_ndim(y, 1, name)
    check_writeable(y, name)
    return y


cdef object update_vector(Level1 op, double alpha, object x, object y):
    """y <- op(x, y) in place for axpy and copy: validation, staging, write-back."""
    cdef int t = common_type(x, "x", y, "y")
    x = vector_input(x, "x")
    cdef cnp.ndarray target = vector_output(y, "y")
    check_same_length(x, target, "x and y")
    if overlap(x, target):
        x = aligned_copy(x)
    cdef cnp.ndarray work = target if blas_vector(target) else aligned_copy(target)
    run_level1(op, t, alpha, x, work)
    if work is not target:
        target[...] = work
    return target


def axpy(a, x, y):
    """y += a * x in place, without a temporary; returns y."""
    return update_vector(AXPY, real_scalar(a, "a"), x, y)


def copy(x, y):
    """y[:] = x; returns y."""
    return update_vector(COPY, 0.0, x, y)


def scal(a, x):
    """x *= a in place; returns x."""
    cdef double alpha = real_scalar(a, "a")
    cdef int t = float_type(x, "x")
    cdef cnp.ndarray target = vector_output(x, "x")
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


def nrm2(x):
    """Euclidean norm sqrt(sum(x**2)), without overflow; a scalar of x's dtype."""
    cdef int t = float_type(x, "x")
    return float_scalar(t, run_level1(NRM2, t, 0.0, vector_input(x, "x")))


def asum(x):
    """sum(abs(x)); a scalar of x's dtype."""
    cdef int t = float_type(x, "x")
    return float_scalar(t, run_level1(ASUM, t, 0.0, vector_input(x, "x")))


def iamax(x):
    """Index of the first largest abs(x[i]), as ``np.argmax(np.abs(x))``."""
    cdef int t = float_type(x, "x")
    cdef cnp.ndarray v = vector_input(x, "x")
    if cnp.PyArray_DIM(v, 0) == 0:
        raise ValueError("iamax of an empty x: there is no largest element")
    if cnp.PyArray_DIM(v, 0) > 1 and cnp.PyArray_STRIDE(v, 0) < 0:
        v = aligned_copy(v)     # BLAS scans from the lowest address: ties would go last
    cdef intp argmax = 0
    run_level1(IAMAX, t, 0.0, v, None, &argmax)
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


cdef void gemm_kernel(floating alpha, Matrix a, Matrix b, floating beta, Matrix c,
                      int m, int n, int k) noexcept nogil:
    """C = alpha op(A) op(B) + beta C with row-major buffers described by Matrix.

    When C's buffer is C' (F-ordered C), compute C' = op(B)' op(A)' instead.
    """
    if c.trans == b'N':
        cyblas.gemm(a.trans, b.trans, m, n, k, alpha, <floating *>a.data, a.ld,
                    <floating *>b.data, b.ld, beta, <floating *>c.data, c.ld)
    else:
        cyblas.gemm(toggle(b.trans, True), toggle(a.trans, True), n, m, k, alpha,
                    <floating *>b.data, b.ld, <floating *>a.data, a.ld,
                    beta, <floating *>c.data, c.ld)


cdef cnp.ndarray gemm_into(int t, double alpha, cnp.ndarray A, bint trans_a,
                           cnp.ndarray B, bint trans_b, double beta, cnp.ndarray C):
    """C = alpha op(A) op(B) + beta C for validated operands; C may be None (new)."""
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
    if k == 0:          # an empty sum: C = beta C, never C's old contents when beta = 0
        C[...] = 0.0 if beta == 0.0 else C * beta
        return target
    check_blas_dims((m, n, k))
    A = matrix_input(A, C, &ma)
    B = matrix_input(B, C, &mb)
    ma.trans = toggle(ma.trans, trans_a)
    mb.trans = toggle(mb.trans, trans_b)
    if not as_matrix(C, &mc):
        C = aligned_copy(C)
        as_matrix(C, &mc)
    cdef PyThreadState *state = release_gil_if(m * n * k >= NOGIL_MIN_FLOPS)
    if t == FLOAT32:
        gemm_kernel[float](<float>alpha, ma, mb, <float>beta, mc, m, n, k)
    else:
        gemm_kernel[double](alpha, ma, mb, beta, mc, m, n, k)
    restore_gil(state)
    if C is not target:
        target[...] = C
    return target


cdef void gemv_kernel(floating alpha, Matrix a, intp m, intp n, Vector x,
                      floating beta, Vector y) noexcept nogil:
    """y = alpha op(A) x + beta y, op(A) m x n; BLAS is given the buffer's own shape."""
    cdef int rows = <int>(m if a.trans == b'N' else n)
    cdef int cols = <int>(n if a.trans == b'N' else m)
    cyblas.gemv(a.trans, rows, cols, alpha, <floating *>a.data, a.ld,
                <floating *>blas_start(x), x.inc, beta, <floating *>blas_start(y), y.inc)


cdef cnp.ndarray gemv_into(int t, double alpha, cnp.ndarray A, bint trans,
                           cnp.ndarray x, double beta, cnp.ndarray y):
    """y = alpha op(A) x + beta y for validated operands; y may be None (new)."""
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
    if n == 0:
        y[...] = 0.0 if beta == 0.0 else y * beta
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
    cdef PyThreadState *state = release_gil_if(m * n >= NOGIL_MIN_FLOPS)
    if t == FLOAT32:
        gemv_kernel[float](<float>alpha, ma, m, n, vx, <float>beta, vy)
    else:
        gemv_kernel[double](alpha, ma, m, n, vx, beta, vy)
    restore_gil(state)
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
        return gemv_into(t, 1.0, a, False, b, 0.0, None) if blas_vector(b) else None
    if not as_matrix(b, &probe):
        return None
    return gemm_into(t, 1.0, a, False, b, False, 0.0, None)


def gemv(alpha, A, x, beta=0.0, y=None, trans=False):
    """y = alpha * op(A) @ x + beta * y, op(A) = A.T if trans else A.

    With y None a new array is returned; otherwise y is updated in place and returned.
    """
    cdef double a = real_scalar(alpha, "alpha"), b = real_scalar(beta, "beta")
    cdef int t = common_type(A, "A", x, "x")
    if y is not None:
        common_type(A, "A", y, "y")
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
    return gemv_into(t, a, A, tr, x, b, y)


cdef void ger_kernel(floating alpha, Vector x, Vector y, Matrix a) noexcept nogil:
    """A += alpha x y'; when the buffer holds A' (F order), A' += alpha y x'."""
    if a.trans == b'T':
        x, y = y, x
    cyblas.ger(<int>x.n, <int>y.n, alpha, <floating *>blas_start(x), x.inc,
               <floating *>blas_start(y), y.inc, <floating *>a.data, a.ld)


def ger(alpha, x, y, A):
    """A += alpha * outer(x, y) in place; returns A."""
    cdef double a = real_scalar(alpha, "alpha")
    cdef int t = common_type(x, "x", y, "y")
    common_type(x, "x", A, "A")
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
    cdef PyThreadState *state = release_gil_if(m * n >= NOGIL_MIN_FLOPS)
    if t == FLOAT32:
        ger_kernel[float](<float>a, as_vector(x), as_vector(y), ma)
    else:
        ger_kernel[double](a, as_vector(x), as_vector(y), ma)
    restore_gil(state)
    if work is not target:
        target[...] = work
    return target


def gemm(alpha, A, B, beta=0.0, C=None, trans_a=False, trans_b=False):
    """C = alpha * op(A) @ op(B) + beta * C, op(X) = X.T when trans_x.

    C-ordered, Fortran-ordered, transposed and sliced operands go to BLAS without
    a copy. With C None a new C-ordered array is returned; otherwise C is updated
    in place and returned (with beta = 0 its old contents are never read).
    """
    cdef double a = real_scalar(alpha, "alpha"), b = real_scalar(beta, "beta")
    cdef int t = common_type(A, "A", B, "B")
    if C is not None:
        common_type(A, "A", C, "C")
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
    return gemm_into(t, a, A, ta, B, tb, b, C)
