# cython: language_level=3
"""nogil BLAS kernels for other Cython code, fused over the four BLAS types.

    from fastblas.cyblas cimport dot, axpy, gemm

    with nogil:
        s = dot(n, &x[0], 1, &y[0], 1)      # float, double, float/double complex
        gemm(b'N', b'T', m, n, k, 1.0, A, lda, B, ldb, 0.0, C, ldc)

Every function is ``cdef inline ... noexcept nogil`` and calls
``scipy.linalg.cython_blas`` directly: compiled into the caller, no Python, no GIL.

Conventions
-----------
* Level 1 takes raw pointers and element increments as BLAS does: for a negative
  increment the pointer is the lowest address (element n-1), and an increment must
  never be 0. Lengths and increments are the 32-bit BLAS integer.
* Level 2 and 3 are **row-major** (C order), like CBLAS with ``CblasRowMajor``:
  ``lda`` is the distance in elements between consecutive rows. A Fortran-ordered
  matrix is the row-major transpose of itself: pass it with the opposite ``trans``.
  Row-major calls are mapped onto column-major BLAS by the identity (AB)' = B'A'.
* ``blas_t`` is float, double, ``float complex`` or ``double complex`` (BLAS's s, d,
  c, z); ``floating`` is its real half. Complex routines never conjugate: ``dot`` is
  cdotu/zdotu (``np.dot``'s sum of x[i] * y[i]), ``ger`` is cgeru/zgeru, and
  ``trans`` b'T' means the plain transpose. ``nrm2`` and ``asum`` return a double
  whatever the type (for float the widening is exact): ``nrm2`` is the Euclidean
  norm sqrt(sum |x[i]|**2), while ``asum`` and ``iamax`` measure a complex element
  by |Re| + |Im|, as BLAS defines them (scasum, icamax), not by its modulus.
* Nothing is checked here; validation is the caller's job (the Python facade in
  ``fastblas._blas`` does it once, before dispatching).
"""
from libc.math cimport sqrt, sqrtf
from scipy.linalg cimport cython_blas as blas

ctypedef float complex float_complex
ctypedef double complex double_complex

ctypedef fused floating:
    float
    double

ctypedef fused blas_t:
    float
    double
    float_complex
    double_complex


# ---------------------------------------------------------------------------
# Level 1
# ---------------------------------------------------------------------------

cdef inline blas_t dot(int n, blas_t *x, int incx, blas_t *y, int incy) noexcept nogil:
    """sum_i x[i] * y[i], unconjugated for complex (BLAS's dotu)"""
    if blas_t is float:
        return blas.sdot(&n, x, &incx, y, &incy)
    elif blas_t is double:
        return blas.ddot(&n, x, &incx, y, &incy)
    elif blas_t is float_complex:
        return blas.cdotu(&n, x, &incx, y, &incy)
    else:
        return blas.zdotu(&n, x, &incx, y, &incy)


cdef inline double dsdot(int n, float *x, int incx, float *y, int incy) noexcept nogil:
    """sum_i x[i] * y[i] for float32 vectors, products and sum in double.

    A plain loop rather than BLAS's dsdot: OpenBLAS's x86_64 dsdot kernel forms the
    products and partial sums in single precision (seen with SciPy's OpenBLAS 0.3.30:
    errors of float32 size where double accumulation gives ~1e-16). Four independent
    partial sums let the loop run at the adder's throughput rather than its latency.
    """
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t ix = 0 if incx > 0 else <Py_ssize_t>(1 - n) * incx
    cdef Py_ssize_t iy = 0 if incy > 0 else <Py_ssize_t>(1 - n) * incy
    while i + 4 <= n:
        s0 += <double>x[ix] * <double>y[iy]
        s1 += <double>x[ix + incx] * <double>y[iy + incy]
        s2 += <double>x[ix + 2 * incx] * <double>y[iy + 2 * incy]
        s3 += <double>x[ix + 3 * incx] * <double>y[iy + 3 * incy]
        ix += 4 * incx
        iy += 4 * incy
        i += 4
    while i < n:
        s0 += <double>x[ix] * <double>y[iy]
        ix += incx
        iy += incy
        i += 1
    return (s0 + s1) + (s2 + s3)


cdef inline void axpy(int n, blas_t alpha, blas_t *x, int incx,
                      blas_t *y, int incy) noexcept nogil:
    """y <- alpha * x + y (BLAS returns at once when alpha == 0)"""
    if blas_t is float:
        blas.saxpy(&n, &alpha, x, &incx, y, &incy)
    elif blas_t is double:
        blas.daxpy(&n, &alpha, x, &incx, y, &incy)
    elif blas_t is float_complex:
        blas.caxpy(&n, &alpha, x, &incx, y, &incy)
    else:
        blas.zaxpy(&n, &alpha, x, &incx, y, &incy)


cdef inline void scal(int n, blas_t alpha, blas_t *x, int incx) noexcept nogil:
    """x <- alpha * x"""
    if blas_t is float:
        blas.sscal(&n, &alpha, x, &incx)
    elif blas_t is double:
        blas.dscal(&n, &alpha, x, &incx)
    elif blas_t is float_complex:
        blas.cscal(&n, &alpha, x, &incx)
    else:
        blas.zscal(&n, &alpha, x, &incx)


cdef inline void copy(int n, blas_t *x, int incx, blas_t *y, int incy) noexcept nogil:
    """y <- x"""
    if blas_t is float:
        blas.scopy(&n, x, &incx, y, &incy)
    elif blas_t is double:
        blas.dcopy(&n, x, &incx, y, &incy)
    elif blas_t is float_complex:
        blas.ccopy(&n, x, &incx, y, &incy)
    else:
        blas.zcopy(&n, x, &incx, y, &incy)


cdef inline void swap(int n, blas_t *x, int incx, blas_t *y, int incy) noexcept nogil:
    """x <-> y"""
    if blas_t is float:
        blas.sswap(&n, x, &incx, y, &incy)
    elif blas_t is double:
        blas.dswap(&n, x, &incx, y, &incy)
    elif blas_t is float_complex:
        blas.cswap(&n, x, &incx, y, &incy)
    else:
        blas.zswap(&n, x, &incx, y, &incy)


cdef inline double nrm2(int n, blas_t *x, int incx) noexcept nogil:
    """sqrt(sum_i |x[i]|**2), without overflow or underflow.

    BLAS's nrm2 rescales as it goes and runs 2-4x slower than a dot product, so for
    real x the sum of squares comes from dot(x, x) whenever it lands far inside the
    type's range (where no partial sum can have overflowed, nor lost its digits to
    underflow); otherwise the careful way: float32 squares summed in double (which
    cannot overflow or underflow), float64 through dnrm2. Complex x goes to
    scnrm2/dznrm2.
    """
    cdef float squares_f
    cdef double squares_d
    if blas_t is float:
        squares_f = dot(n, x, incx, x, incx)
        if 1e-30 < squares_f < 1e37:
            return sqrtf(squares_f)
        return <float>sqrt(dsdot(n, x, incx, x, incx))
    elif blas_t is double:
        squares_d = dot(n, x, incx, x, incx)
        if 1e-280 < squares_d < 1e300:
            return sqrt(squares_d)
        return blas.dnrm2(&n, x, &incx)
    elif blas_t is float_complex:
        return blas.scnrm2(&n, x, &incx)
    else:
        return blas.dznrm2(&n, x, &incx)


cdef inline double asum(int n, blas_t *x, int incx) noexcept nogil:
    """sum_i |x[i]|; for complex sum_i |Re x[i]| + |Im x[i]| (BLAS's scasum/dzasum)"""
    if blas_t is float:
        return blas.sasum(&n, x, &incx)
    elif blas_t is double:
        return blas.dasum(&n, x, &incx)
    elif blas_t is float_complex:
        return blas.scasum(&n, x, &incx)
    else:
        return blas.dzasum(&n, x, &incx)


cdef inline int iamax(int n, blas_t *x, int incx) noexcept nogil:
    """0-based index of the first largest |x[i]| (|Re| + |Im| for complex);
    -1 when n < 1 or incx < 1."""
    if blas_t is float:
        return blas.isamax(&n, x, &incx) - 1
    elif blas_t is double:
        return blas.idamax(&n, x, &incx) - 1
    elif blas_t is float_complex:
        return blas.icamax(&n, x, &incx) - 1
    else:
        return blas.izamax(&n, x, &incx) - 1


# ---------------------------------------------------------------------------
# Level 2 and 3, row-major
# ---------------------------------------------------------------------------

cdef inline char _flip(char trans) noexcept nogil:
    return b'N' if trans == b'T' or trans == b't' else b'T'


cdef inline void gemv(char trans, int m, int n, blas_t alpha, blas_t *a, int lda,
                      blas_t *x, int incx, blas_t beta,
                      blas_t *y, int incy) noexcept nogil:
    """y <- alpha * op(A) x + beta * y, A an m x n row-major matrix, op(A) = A or A'.

    The buffer of a row-major m x n A is a column-major n x m A', hence the flip.
    BLAS returns at once when alpha == 0 and beta == 1, and with beta == 0 never
    reads y.
    """
    cdef char t = _flip(trans)
    if blas_t is float:
        blas.sgemv(&t, &n, &m, &alpha, a, &lda, x, &incx, &beta, y, &incy)
    elif blas_t is double:
        blas.dgemv(&t, &n, &m, &alpha, a, &lda, x, &incx, &beta, y, &incy)
    elif blas_t is float_complex:
        blas.cgemv(&t, &n, &m, &alpha, a, &lda, x, &incx, &beta, y, &incy)
    else:
        blas.zgemv(&t, &n, &m, &alpha, a, &lda, x, &incx, &beta, y, &incy)


cdef inline void ger(int m, int n, blas_t alpha, blas_t *x, int incx,
                     blas_t *y, int incy, blas_t *a, int lda) noexcept nogil:
    """A <- alpha * x y' + A, A an m x n row-major matrix (unconjugated: geru).

    Column-major view: A' <- alpha * y x' + A', so x and y trade places.
    """
    if blas_t is float:
        blas.sger(&n, &m, &alpha, y, &incy, x, &incx, a, &lda)
    elif blas_t is double:
        blas.dger(&n, &m, &alpha, y, &incy, x, &incx, a, &lda)
    elif blas_t is float_complex:
        blas.cgeru(&n, &m, &alpha, y, &incy, x, &incx, a, &lda)
    else:
        blas.zgeru(&n, &m, &alpha, y, &incy, x, &incx, a, &lda)


# Products with few rows, C (m x n) = A (m x k) op(B) for up to 16 rows: OpenBLAS
# packs the whole of op(B) into its own layout on every call, and at such m that
# copy costs as much as the multiply-adds. These loops read B in place, once.
# Built for AVX-512F only and chosen at run time; elsewhere BLAS does the product.
# Kept here rather than in a header, so that cimporting fastblas.cyblas needs no
# include path.
#
# op(B) = B, float, B's rows contiguous, A any layout, 5 to 16 rows: each vector of
# 16 columns of C (one AVX-512 register per row) stays in registers while the rows
# of B stream past, C[i, :] += A[i, p] B[p, :] for p = 0, ..., k-1. (In double it
# gained nothing steady: 1.33x at 10 rows in one run, 0.69-0.84x at 6-8 in another.)
# op(B) = B', float and double, B's rows and A's rows contiguous, 2 to 16 rows,
# k >= 64: C[i, j] is the dot product of A's row i with B's row j, a vector of
# terms at a time in 4 x 6 blocks of (j, i) whose 24 partial sums stay in
# registers; each dot product's vector of sums is added up at its end, which below
# k = 64 costs more than the packing.
#
# One thread, float32, us per call, this loop / sgemm (OpenBLAS 0.3.30, SkylakeX
# kernels) / np.matmul (NumPy's OpenBLAS 0.3.31), on 2 vCPUs of an Intel Xeon:
# (10 x 784) @ (784 x 256) 45 / 131 / 103, (10 x 256) @ (256 x 784) 63 / 139 / 95,
# m = 5, 7 and 16 rows of the first: 44 / 148, 44 / 164, 68 / 127; 24 rows 141 /
# 141 and 32 rows 197 / 190 (no gain: BLAS's packing pays for itself); 1 to 4
# rows 24-47 / 10-20 (BLAS has a path of its own for them); (16 x 16) @ (16 x 16)
# 0.7 / 1.3 / 2.3. With B', (10 x 256) @ (784 x 256)' 42-72 / 141-163 / 194-244;
# 2, 5 and 16 rows 25-32 / 88-118, 31-33 / 138-156, 88-121 / 157-169; 24 and 32
# rows 139-186 / 152-187 and 233-247 / 189-233; one row 18-20 / 18-20; k = 64 and
# 32 (10 rows) 23-29 / 26-31 and 13-23 / 15-18 (16 rows: 19-27 / 16-20). Double,
# with B': (10 x 256) @ (784 x 256)' 124-149 / 223-275 (dgemm); 2, 5 and 16 rows
# 71-76 / 101-119, 88-104 / 242-261, 216-227 / 258-328; k = 64 and 128 (10 rows)
# 42-43 / 56-59 and 52-64 / 122-129; (10 x 784) @ (500 x 784)' 313-330 / 521-552.
cdef extern from *:
    """
    #include <stddef.h>
    #if defined(__x86_64__) && defined(__GNUC__) && (defined(__clang__) || __GNUC__ >= 7)
    #include <immintrin.h>
    #define FB_FEW_ROWS_MAX 16
    #if defined(__clang__)
    #define FB_FEW_UNROLL _Pragma("unroll")
    #else
    #define FB_FEW_UNROLL _Pragma("GCC unroll 16")
    #endif

    /* C[0:R, lanes] = alpha A[0:R, :] B[:, lanes] (+ beta C, unless beta == 0). The
     * arithmetic is masked too: the lanes past C's last column (zeros) must not raise
     * floating-point flags, as inf * 0 would, which np.errstate reports. */
    static inline __attribute__((always_inline, target("avx512f"))) void
    fb_few_rows_panel(const int R, ptrdiff_t k, float alpha, const float *a, ptrdiff_t ars,
                      ptrdiff_t acs, const float *b, ptrdiff_t brs, float beta, float *c,
                      ptrdiff_t crs, __mmask16 lanes)
    {
        __m512 acc[FB_FEW_ROWS_MAX];
        FB_FEW_UNROLL for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps();
        for (ptrdiff_t p = 0; p < k; p++) {
            __m512 row = _mm512_maskz_loadu_ps(lanes, b + p * brs);
            FB_FEW_UNROLL for (int r = 0; r < R; r++)
                acc[r] = _mm512_mask3_fmadd_ps(_mm512_set1_ps(a[r * ars + p * acs]), row,
                                               acc[r], lanes);
        }
        FB_FEW_UNROLL for (int r = 0; r < R; r++) {
            __m512 out = _mm512_maskz_mul_ps(lanes, _mm512_set1_ps(alpha), acc[r]);
            if (beta != 0)
                out = _mm512_mask3_fmadd_ps(_mm512_set1_ps(beta),
                                            _mm512_maskz_loadu_ps(lanes, c + r * crs), out,
                                            lanes);
            _mm512_mask_storeu_ps(c + r * crs, lanes, out);
        }
    }

    #define FB_FEW_CASE(R) case R: fb_few_rows_panel(R, k, alpha, a, ars, acs, b + j, brs, \
                                                     beta, c + j, crs, lanes); break;

    /* C = alpha A B (+ beta C) for 1 <= m <= 16, by vectors of 16 columns */
    static __attribute__((target("avx512f"))) void
    fb_few_rows_sgemm(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
                      ptrdiff_t ars, ptrdiff_t acs, const float *b, ptrdiff_t brs,
                      float beta, float *c, ptrdiff_t crs)
    {
        for (ptrdiff_t j = 0; j < n; j += 16) {
            __mmask16 lanes = n - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - j)) - 1);
            switch (m) {
            FB_FEW_CASE(1) FB_FEW_CASE(2) FB_FEW_CASE(3) FB_FEW_CASE(4) FB_FEW_CASE(5)
            FB_FEW_CASE(6) FB_FEW_CASE(7) FB_FEW_CASE(8) FB_FEW_CASE(9) FB_FEW_CASE(10)
            FB_FEW_CASE(11) FB_FEW_CASE(12) FB_FEW_CASE(13) FB_FEW_CASE(14) FB_FEW_CASE(15)
            default: FB_FEW_CASE(16)
            }
        }
    }

    /* The four sums of v0, ..., v3, in that order. float: pairs within each 128-bit
     * lane, then the four lanes; double: pairs within each lane, then the lanes. */
    static inline __attribute__((always_inline, target("avx512f"))) __m128
    fb_sum4_ps(__m512 v0, __m512 v1, __m512 v2, __m512 v3)
    {
        __m512d s01 = _mm512_castps_pd(_mm512_add_ps(_mm512_unpacklo_ps(v0, v1),
                                                     _mm512_unpackhi_ps(v0, v1)));
        __m512d s23 = _mm512_castps_pd(_mm512_add_ps(_mm512_unpacklo_ps(v2, v3),
                                                     _mm512_unpackhi_ps(v2, v3)));
        __m512 s = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(s01, s23)),
                                 _mm512_castpd_ps(_mm512_unpackhi_pd(s01, s23)));
        __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s),
                                 _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
        return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    }

    static inline __attribute__((always_inline, target("avx512f"))) __m256d
    fb_sum4_pd(__m512d v0, __m512d v1, __m512d v2, __m512d v3)
    {
        __m512d s01 = _mm512_add_pd(_mm512_unpacklo_pd(v0, v1), _mm512_unpackhi_pd(v0, v1));
        __m512d s23 = _mm512_add_pd(_mm512_unpacklo_pd(v2, v3), _mm512_unpackhi_pd(v2, v3));
        /* lanes [s01.0 + s01.1, s01.2 + s01.3, s23.0 + s23.1, s23.2 + s23.3] */
        __m512d s = _mm512_add_pd(_mm512_shuffle_f64x2(s01, s23, _MM_SHUFFLE(2, 0, 2, 0)),
                                  _mm512_shuffle_f64x2(s01, s23, _MM_SHUFFLE(3, 1, 3, 1)));
        s = _mm512_shuffle_f64x2(s, s, _MM_SHUFFLE(3, 1, 2, 0));
        return _mm256_add_pd(_mm512_castpd512_pd256(s), _mm512_extractf64x4_pd(s, 1));
    }

    #define FB_DOTS_CASE(PS, R) case R: fb_dots_panel_##PS(R, k, alpha, a + i * ars, ars, bj, \
                                                           J, beta, c + i * crs + j, crs); break;

    /* The op(B) = B' loop, written once for float (PS = ps: L = 16 lanes, the four
     * sums of a row in an __m128, OUT = _mm) and double (pd: 8 lanes, an __m256d,
     * _mm256). fb_dots_step: acc[r][q] += A[r, p:p+L] * B_q[p:p+L] over the given
     * lanes (zeros past k). fb_dots_panel: C[0:R, 0:J] = alpha A[0:R, :] [B_0 ...
     * B_{J-1}] (+ beta C, unless beta == 0), the dot products of R rows of A with 4
     * rows of B (J of them C's; the others repeat the last), 4 x R <= 24 sums in
     * registers. fb_few_rows_Xgemm_bt: C = alpha A B' (+ beta C), B n x k with
     * contiguous rows, for m >= 1: by 4 columns of C, and rows in as few blocks of at
     * most 6 as can be. */
    #define FB_DOTS_DEFINE(T, X, PS, V, MASK, L, O, OUT)\
    static inline __attribute__((always_inline, target("avx512f"))) void\
    fb_dots_step_##PS(const int R, V acc[][4], const T *a, ptrdiff_t ars,\
                      const T *const b[4], ptrdiff_t p, MASK lanes)\
    {\
        V bv[4];\
        FB_FEW_UNROLL for (int q = 0; q < 4; q++)\
            bv[q] = _mm512_maskz_loadu_##PS(lanes, b[q] + p);\
        FB_FEW_UNROLL for (int r = 0; r < R; r++) {\
            V av = _mm512_maskz_loadu_##PS(lanes, a + r * ars + p);\
            FB_FEW_UNROLL for (int q = 0; q < 4; q++)\
                acc[r][q] = _mm512_fmadd_##PS(av, bv[q], acc[r][q]);\
        }\
    }\
    \
    static inline __attribute__((always_inline, target("avx512f"))) void\
    fb_dots_panel_##PS(const int R, ptrdiff_t k, T alpha, const T *a, ptrdiff_t ars,\
                       const T *const b[4], int J, T beta, T *c, ptrdiff_t crs)\
    {\
        V acc[6][4];\
        T sums[4];\
        FB_FEW_UNROLL for (int r = 0; r < R; r++)\
            FB_FEW_UNROLL for (int q = 0; q < 4; q++) acc[r][q] = _mm512_setzero_##PS();\
        ptrdiff_t p = 0;\
        for (; p + L <= k; p += L) fb_dots_step_##PS(R, acc, a, ars, b, p, (MASK)~0u);\
        if (p < k) fb_dots_step_##PS(R, acc, a, ars, b, p, (MASK)((1u << (k - p)) - 1));\
        FB_FEW_UNROLL for (int r = 0; r < R; r++) {\
            O out = OUT##_mul_##PS(OUT##_set1_##PS(alpha),\
                                   fb_sum4_##PS(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));\
            if (J == 4) {\
                if (beta != 0)\
                    out = OUT##_add_##PS(out, OUT##_mul_##PS(OUT##_set1_##PS(beta),\
                                                             OUT##_loadu_##PS(c + r * crs)));\
                OUT##_storeu_##PS(c + r * crs, out);\
            } else {\
                OUT##_storeu_##PS(sums, out);\
                for (int q = 0; q < J; q++)\
                    c[r * crs + q] = beta == 0 ? sums[q] : sums[q] + beta * c[r * crs + q];\
            }\
        }\
    }\
    \
    static __attribute__((target("avx512f"))) void\
    fb_few_rows_##X##gemm_bt(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, T alpha, const T *a,\
                             ptrdiff_t ars, const T *b, ptrdiff_t brs, T beta, T *c,\
                             ptrdiff_t crs)\
    {\
        for (ptrdiff_t j = 0; j < n; j += 4) {\
            int J = n - j >= 4 ? 4 : (int)(n - j);\
            const T *bj[4];\
            for (int q = 0; q < 4; q++) bj[q] = b + (j + (q < J ? q : J - 1)) * brs;\
            ptrdiff_t i = 0;\
            for (ptrdiff_t blocks = (m + 5) / 6; blocks > 0; blocks--) {\
                int R = (int)((m - i + blocks - 1) / blocks);\
                switch (R) {\
                FB_DOTS_CASE(PS, 1) FB_DOTS_CASE(PS, 2) FB_DOTS_CASE(PS, 3)\
                FB_DOTS_CASE(PS, 4) FB_DOTS_CASE(PS, 5) default: FB_DOTS_CASE(PS, 6)\
                }\
                i += R;\
            }\
        }\
    }

    FB_DOTS_DEFINE(float, s, ps, __m512, __mmask16, 16, __m128, _mm)
    FB_DOTS_DEFINE(double, d, pd, __m512d, __mmask8, 8, __m256d, _mm256)
    #define FB_HAVE_FEW_ROWS __builtin_cpu_supports("avx512f")
    #else
    #define FB_HAVE_FEW_ROWS 0
    #define fb_few_rows_sgemm(...) ((void)0)
    #define fb_few_rows_sgemm_bt(...) ((void)0)
    #define fb_few_rows_dgemm_bt(...) ((void)0)
    #endif
    """
    bint FB_HAVE_FEW_ROWS
    void fb_few_rows_sgemm(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, float alpha,
                           const float *a, Py_ssize_t ars, Py_ssize_t acs,
                           const float *b, Py_ssize_t brs, float beta, float *c,
                           Py_ssize_t crs) noexcept nogil
    void fb_few_rows_dgemm_bt(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, double alpha,
                              const double *a, Py_ssize_t ars, const double *b,
                              Py_ssize_t brs, double beta, double *c,
                              Py_ssize_t crs) noexcept nogil
    void fb_few_rows_sgemm_bt(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, float alpha,
                              const float *a, Py_ssize_t ars, const float *b,
                              Py_ssize_t brs, float beta, float *c,
                              Py_ssize_t crs) noexcept nogil


cdef enum:
    FEW_ROWS_MAX = 16          # the rows of C the few-rows loops take (see above)
    FEW_ROWS_MIN = 5           # op(B) = B
    FEW_ROWS_MIN_N = 16        # columns of C: one vector
    FEW_ROWS_BT_MIN = 2        # op(B) = B'
    FEW_ROWS_BT_MIN_N = 4      # columns of C: one block
    FEW_ROWS_BT_MIN_K = 64     # terms per dot product (below, its final sum costs more)
    FEW_ROWS_A_BYTES = 65536   # A is read once per block of columns: kept in L2


cdef inline bint few_rows_wins(char transa, char transb, int m, int n, int k,
                               blas_t alpha) noexcept nogil:
    """Does a few-rows loop take C = alpha op(A) op(B) + beta C? float (or double
    with op(B) = B'), m, n and k in the loop's range, the rows it reads contiguous,
    and the CPU has AVX-512F; k > 0 and alpha != 0, for which BLAS answers without a
    product (and so must this)."""
    cdef bint shape_fits
    if transb == b'N':
        shape_fits = blas_t is float and m >= FEW_ROWS_MIN and n >= FEW_ROWS_MIN_N
    else:
        shape_fits = (transa == b'N' and m >= FEW_ROWS_BT_MIN and n >= FEW_ROWS_BT_MIN_N
                      and k >= FEW_ROWS_BT_MIN_K)
    return ((blas_t is float or blas_t is double) and shape_fits and m <= FEW_ROWS_MAX
            and k > 0 and alpha != 0
            and <size_t>m * k * sizeof(blas_t) <= FEW_ROWS_A_BYTES and FB_HAVE_FEW_ROWS)


cdef inline void gemm(char transa, char transb, int m, int n, int k,
                      blas_t alpha, blas_t *a, int lda, blas_t *b, int ldb,
                      blas_t beta, blas_t *c, int ldc) noexcept nogil:
    """C <- alpha * op(A) op(B) + beta * C, all row-major; C is m x n, op(A) m x k.

    Column-major view: C' <- alpha * op(B)' op(A)' + beta * C', so A and B trade
    places and keep their trans flags. With beta == 0, C is never read. Float and
    double products of up to 16 rows run the few-rows loops above instead (when
    few_rows_wins): with op(B) = B, each element's k terms are summed in order;
    with op(B) = B', in 16 (float) or 8 (double) partial sums added at the end.
    """
    if few_rows_wins(transa, transb, m, n, k, alpha):
        if blas_t is float:
            if transb == b'N':
                fb_few_rows_sgemm(m, n, k, alpha, a, lda if transa == b'N' else 1,
                                  1 if transa == b'N' else lda, b, ldb, beta, c, ldc)
            else:
                fb_few_rows_sgemm_bt(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        elif blas_t is double:
            fb_few_rows_dgemm_bt(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    if blas_t is float:
        blas.sgemm(&transb, &transa, &n, &m, &k, &alpha, b, &ldb, a, &lda,
                   &beta, c, &ldc)
    elif blas_t is double:
        blas.dgemm(&transb, &transa, &n, &m, &k, &alpha, b, &ldb, a, &lda,
                   &beta, c, &ldc)
    elif blas_t is float_complex:
        blas.cgemm(&transb, &transa, &n, &m, &k, &alpha, b, &ldb, a, &lda,
                   &beta, c, &ldc)
    else:
        blas.zgemm(&transb, &transa, &n, &m, &k, &alpha, b, &ldb, a, &lda,
                   &beta, c, &ldc)


# ---------------------------------------------------------------------------
# Exact products for integers, bool and float16 (defined in fastblas/_exact.pxd)
# ---------------------------------------------------------------------------
#
#     from fastblas.cyblas cimport int_matmul, int_dot
#
#     with nogil:
#         status = int_matmul(m, n, k, &A[0, 0], lda, 1, &B[0, 0], ldb, 1,
#                             &C[0, 0], ldc, 1, NULL)       # int8_t ... uint64_t
#
# int_matmul / bool_matmul / half_matmul compute C = A @ B with NumPy's exact
# result (integer wraparound included): integers within int16's range on a kernel
# of 16-bit multiply-adds where the CPU has AVX-512 VNNI, other integers and
# float16 through sgemm/dgemm on converted blocks, splitting large integers into
# slices when a float product would not be exact; bool on blocks packed 8 terms to a byte, with no BLAS call;
# int_dot / bool_dot / half_dot are the vector products. Strides are in elements,
# any sign; the matrix functions return -1 when out of memory. half_* convert with
# the compiler's _Float16 (GCC >= 12), else with NumPy's npy_half_to_float and
# npy_float_to_half: link NumPy's npymath library into the caller.
from fastblas._exact cimport (ExactOptions, bool_dot, bool_matmul, exact_defaults,
                              half_dot, half_matmul, half_to_float, int_dot,
                              int_matmul, integer)
