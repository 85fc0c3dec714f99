# cython: language_level=3
"""Exact integer, bool and float16 matrix products, nogil: integers and float16
through BLAS, bool on bits.

Re-exported by ``fastblas.cyblas`` (``from fastblas.cyblas cimport int_matmul``).
Every function takes raw pointers and **element** strides (row stride, column
stride; any sign, zero included), so C-ordered, Fortran-ordered, transposed,
sliced and broadcast operands are all read in place. The results are NumPy's:

* ``int_matmul``  C = A @ B for one integer type (int8 ... uint64): bit for bit
  ``np.matmul``/``np.dot``, wraparound included (the sum modulo 2**bits).
* ``bool_matmul`` C = A @ B for bool (uint8 storage): ``any(a_ip and b_pj)``, on
  the operands' bits (no BLAS call; see "bool products on bits").
* ``half_matmul`` C = A @ B for float16 (uint16 storage): products summed in
  float32, rounded once to float16, as NumPy's own float16 loops do.
* ``int_dot`` / ``bool_dot`` / ``half_dot``: the vector products, in a plain loop
  (converting a vector for BLAS costs more than the product itself).

The matrix functions return 0, or -1 when their workspace (a few MB, see
``ExactOptions``) cannot be allocated or exceeds ``max_workspace``. ``half_matmul``
and ``half_dot`` convert float16 with the compiler's ``_Float16`` (GCC >= 12), else
with NumPy's ``npy_half_to_float``/``npy_float_to_half``: link NumPy's ``npymath``
library (``numpy/_core/lib``) into a module that calls them.

How an integer product reaches BLAS
-----------------------------------
Each operand is scanned once for its largest magnitude. A sum of k products
with |a| <= amax and |b| <= bmax is exact in floating point when
amax * bmax * k < 2**24 (float32: sgemm) or 2**53 (float64: dgemm); blocks of the
operands are then converted and multiplied by BLAS, the float tile is moved to
a 64-bit integer accumulator before the bound could be passed, and the result
is reduced modulo 2**bits. Beyond the bound each operand is split into slices
of s bits, a = sum_i a_i 2**(s i) (a_i in [0, 2**s)), taken from its bits
modulo 2**bits: every slice product A_i B_j is exact in float64, and

    A B = sum_{i, j} A_i B_j 2**(s (i + j))   (mod 2**bits)

needs only the pairs with s (i + j) < bits. This is the error-free splitting of
Ozaki, Ogita, Oishi and Rump, "Error-free transformations of matrix
multiplication by using fast routines of matrix multiplication and its
applications", Numer. Algorithms 59 (2012), 95-118, here with the slice
products combined in wrapping 64-bit integer arithmetic, which is exactly
NumPy's integer overflow.

Where the CPU has AVX-512 VNNI, products of integers of 32 bits and fewer, and
of 64-bit ones whose values all fit in int16, skip BLAS for a kernel of 16-bit
multiply-adds with 32-bit sums (see "Products of 16-bit integers" below), 1.6
to 5 times as fast as sgemm or dgemm on the converted blocks.
"""
from libc.stdint cimport (int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t,
                          uint32_t, uint64_t)
from cpython.mem cimport PyMem_RawFree, PyMem_RawMalloc
from scipy.linalg cimport cython_blas as _blas

ctypedef fused integer:
    int8_t
    uint8_t
    int16_t
    uint16_t
    int32_t
    uint32_t
    int64_t
    uint64_t

ctypedef fused _real:
    float
    double

cdef extern from "numpy/halffloat.h":
    pass    # npy_half_to_float and npy_float_to_half, for compilers without _Float16


# The contiguous conversion loops of the blocked product, in C so that each is
# built for several instruction sets and the widest the CPU runs is picked when
# the module loads (GCC >= 12 target_clones): with AVX-512 (x86-64-v4), 64-bit
# and unsigned integers convert to and from double 8 at a time (vcvtqq2pd,
# vcvttpd2qq, ...), where baseline x86-64 converts them one by one. On 65536
# elements, int64 to double took 73 us before and 20 us after; whole 256 x 256
# products, one thread: full-range int32/int64/uint64 (split into slices) 10-13%
# faster, small-valued uint64 7-10%, int8 and uint8 5-10%. Kept here rather than
# in a header, so that cimporting fastblas.cyblas needs no extra include path.
cdef extern from *:
    """
    #include <stddef.h>
    #include <stdint.h>
    #if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && \
        !defined(__clang__) && __GNUC__ >= 12
    #define FB_EXACT_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
    #else
    #define FB_EXACT_CLONES
    #endif

    enum { FB_INT8, FB_UINT8, FB_INT16, FB_UINT16, FB_INT32, FB_UINT32, FB_INT64, FB_UINT64 };

    #define FB_EXACT_SWITCH(LOOP, R) switch (type) {                               \
        case FB_INT8: LOOP(int8_t, R); break;   case FB_UINT8: LOOP(uint8_t, R); break;   \
        case FB_INT16: LOOP(int16_t, R); break; case FB_UINT16: LOOP(uint16_t, R); break; \
        case FB_INT32: LOOP(int32_t, R); break; case FB_UINT32: LOOP(uint32_t, R); break; \
        case FB_INT64: LOOP(int64_t, R); break; default: LOOP(uint64_t, R); }

    /* dst[i] = src[i] (shift < 0), else the slice ((src[i] mod 2**64) >> shift) & mask,
     * below 2**31 */
    #define FB_EXACT_LOAD(T, R) { const T *s = (const T *)src;                          \
        if (shift < 0) for (ptrdiff_t i = 0; i < n; i++) dst[i] = (R)s[i];             \
        else for (ptrdiff_t i = 0; i < n; i++)                                          \
            dst[i] = (R)(int32_t)(((uint64_t)s[i] >> shift) & mask); }
    /* c[i] = tile[i] modulo 2**bits (the tile holds exact integers) */
    #define FB_EXACT_STORE(T, R) { T *c = (T *)dst;                                     \
        for (ptrdiff_t i = 0; i < n; i++) c[i] = (T)(uint64_t)(int64_t)tile[i]; }
    #define FB_EXACT_NARROW(T, R) { T *c = (T *)dst;                                    \
        for (ptrdiff_t i = 0; i < n; i++) c[i] = (T)acc[i]; }

    #define FB_DEFINE_EXACT(R)                                                          \
    FB_EXACT_CLONES static void fb_exact_load_##R(int type, const void *src, ptrdiff_t n, \
                                                  int shift, uint64_t mask, R *dst)     \
    { FB_EXACT_SWITCH(FB_EXACT_LOAD, R) }                                               \
    FB_EXACT_CLONES static void fb_exact_store_##R(int type, const R *tile, ptrdiff_t n, \
                                                   void *dst)                           \
    { FB_EXACT_SWITCH(FB_EXACT_STORE, R) }                                              \
    /* acc[i] += tile[i] * 2**shift modulo 2**64 */                                     \
    FB_EXACT_CLONES static void fb_exact_flush_##R(const R *tile, ptrdiff_t n, int shift, \
                                                   uint64_t *acc)                       \
    { for (ptrdiff_t i = 0; i < n; i++) acc[i] += (uint64_t)(int64_t)tile[i] << shift; }

    FB_DEFINE_EXACT(float)
    FB_DEFINE_EXACT(double)

    FB_EXACT_CLONES static void fb_exact_store_acc(int type, const uint64_t *acc, ptrdiff_t n,
                                                   void *dst)
    { FB_EXACT_SWITCH(FB_EXACT_NARROW, uint64_t) }

    /* float16 <-> float32 for the blocked float16 product, n elements `stride`
     * apart on the float16 side. Both are IEEE conversions (round to nearest
     * even; infinities, NaNs and subnormals kept), the values of NumPy's
     * npy_half_to_float and npy_float_to_half, which convert one element a call;
     * with _Float16 (GCC >= 12) and F16C (x86-64-v3 and up) the compiler converts
     * 8 or 16 at a time (vcvtph2ps, vcvtps2ph). An overflow to inf or an
     * underflow sets its flag in MXCSR, which the caller's np.errstate check
     * reads. npy_float_to_half raises them with feraiseexcept instead, which on
     * x86-64 sets them in the x87 status word: without _Float16, fb_half_store
     * moves them to MXCSR after each tile (FB_HALF_FLAGS_TO_MXCSR). */
    #if defined(__FLT16_MANT_DIG__)
    typedef _Float16 __attribute__((may_alias)) fb_half;
    #define FB_HALF_TO_FLOAT(h) ((float)*(const fb_half *)&(h))
    #define FB_FLOAT_TO_HALF(f, h) (*(fb_half *)&(h) = (fb_half)(f))
    #if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && \
        !defined(__clang__) && __GNUC__ >= 12
    #define FB_HALF_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
    #endif
    #else
    #define FB_HALF_TO_FLOAT(h) npy_half_to_float(h)
    #define FB_FLOAT_TO_HALF(f, h) ((h) = npy_float_to_half(f))
    #if defined(__x86_64__)
    #include <fenv.h>
    #include <xmmintrin.h>
    static inline void fb_half_flags_to_mxcsr(void)
    {
        /* fetestexcept reads the x87 and MXCSR flags alike; feclearexcept clears both */
        const int raised = fetestexcept(FE_OVERFLOW | FE_UNDERFLOW);
        if (raised) {
            feclearexcept(raised);
            _mm_setcsr(_mm_getcsr() | ((raised & FE_OVERFLOW) ? _MM_EXCEPT_OVERFLOW : 0) |
                       ((raised & FE_UNDERFLOW) ? _MM_EXCEPT_UNDERFLOW : 0));
        }
    }
    #define FB_HALF_FLAGS_TO_MXCSR() fb_half_flags_to_mxcsr()
    #endif
    #endif
    #ifndef FB_HALF_CLONES
    #define FB_HALF_CLONES
    #endif
    #ifndef FB_HALF_FLAGS_TO_MXCSR
    #define FB_HALF_FLAGS_TO_MXCSR()
    #endif
    FB_HALF_CLONES static void fb_half_load(const uint16_t *src, ptrdiff_t n, ptrdiff_t stride,
                                            float *dst)
    {
        if (stride == 1) for (ptrdiff_t i = 0; i < n; i++) dst[i] = FB_HALF_TO_FLOAT(src[i]);
        else for (ptrdiff_t i = 0; i < n; i++) dst[i] = FB_HALF_TO_FLOAT(src[i * stride]);
    }
    FB_HALF_CLONES static void fb_half_store(const float *tile, ptrdiff_t n, uint16_t *dst,
                                             ptrdiff_t stride)
    {
        if (stride == 1) for (ptrdiff_t i = 0; i < n; i++) FB_FLOAT_TO_HALF(tile[i], dst[i]);
        else for (ptrdiff_t i = 0; i < n; i++) FB_FLOAT_TO_HALF(tile[i], dst[i * stride]);
        FB_HALF_FLAGS_TO_MXCSR();
    }
    """
    enum:
        FB_INT8, FB_UINT8, FB_INT16, FB_UINT16, FB_INT32, FB_UINT32, FB_INT64, FB_UINT64
    void fb_exact_load_float(int type, const void *src, Py_ssize_t n, int shift,
                             uint64_t mask, float *dst) noexcept nogil
    void fb_exact_load_double(int type, const void *src, Py_ssize_t n, int shift,
                              uint64_t mask, double *dst) noexcept nogil
    void fb_exact_store_float(int type, const float *tile, Py_ssize_t n,
                              void *dst) noexcept nogil
    void fb_exact_store_double(int type, const double *tile, Py_ssize_t n,
                               void *dst) noexcept nogil
    void fb_exact_store_acc(int type, const uint64_t *acc, Py_ssize_t n,
                            void *dst) noexcept nogil
    void fb_half_load(const uint16_t *src, Py_ssize_t n, Py_ssize_t stride,
                      float *dst) noexcept nogil
    void fb_half_store(const float *tile, Py_ssize_t n, uint16_t *dst,
                       Py_ssize_t stride) noexcept nogil
    void fb_exact_flush_float(const float *tile, Py_ssize_t n, int shift,
                              uint64_t *acc) noexcept nogil
    void fb_exact_flush_double(const double *tile, Py_ssize_t n, int shift,
                               uint64_t *acc) noexcept nogil


# Products of 16-bit integers on AVX-512 VNNI. VPDPWSSD multiplies 16 pairs of
# signed 16-bit integers by 16 others and adds each pair's two products to a
# 32-bit lane, wrapping: when every value fits in int16, C = A B modulo 2**32,
# which is NumPy's result for the types of 32 bits and fewer, and exact for the
# 64-bit ones while amax bmax k < 2**31. uint16 values need not fit: read as
# int16 they keep their residue modulo 2**16, all that a uint16 result needs.
# 32-bit values that do not fit go in two 16-bit digits, three products modulo
# 2**32 (_pair_product). One instruction does 32 multiply-adds, against 8 for a
# float64 FMA and 16 for a float32 one. Measured here (Xeon, Ice Lake, one
# thread), whole fastblas.dot calls of (256 x 256) @ (256 x 256): int16 over its
# full range (beyond float32's bound) 0.13-0.18 ms against dgemm's 0.63-0.68,
# int8 and uint8 (within it) 0.16-0.20 ms against sgemm's 0.33, full-range int32
# 0.63-0.67 ms against 1.43-1.45 for the float64 slices (below); (1024 x 1024)
# int16 11.7 ms against 38 ms, int64 values below 1000 15 ms against 43. The
# kernel computes 64 columns at a time: below 8 columns sgemm, which has no such
# waste, stays faster ((512 x 512) @ (512 x 2) int8: 88 us against 174), so
# products in sgemm's range take the kernel from 8 columns.
#
# Layout: A's block is int16 rows padded to an even length, read as int32 pairs
# (a[i, 2p], a[i, 2p+1]); B's block is packed in groups of 64 columns, pair p of
# column j as the int32 (b[2p, j], b[2p+1, j]), so that a group's row of pairs is
# 4 vectors. The micro-kernel keeps a 4 x 64 tile of C in 16 vectors.
cdef extern from *:
    """
    #if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && \
        !defined(__clang__) && __GNUC__ >= 12
    #include <immintrin.h>
    #define FB_PAIRS_BUILT 1
    #endif
    #define FB_PAIR_ROWS 4
    #define FB_PAIR_COLS 64

    static int fb_pairs_supported(void)
    {
    #ifdef FB_PAIRS_BUILT
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
    #else
        return 0;
    #endif
    }

    /* c[r * ldc + j] (+)= sum_p a[r * lda + p] . b[p * 64 + j], r < 4, j < 64, where
     * each . is the dot product of two int16 pairs (wrapping int32 arithmetic). */
    #ifdef FB_PAIRS_BUILT
    /* one row r of the 4 x 64 tile: 4 vectors, named so that all 16 stay in
     * registers (as an array, GCC moved and spilled them) */
    #define FB_PAIR_ROW(OP, r) OP(r, 0) OP(r, 1) OP(r, 2) OP(r, 3)
    #define FB_PAIR_TILE(OP) FB_PAIR_ROW(OP, 0) FB_PAIR_ROW(OP, 1) FB_PAIR_ROW(OP, 2) \
        FB_PAIR_ROW(OP, 3)
    #define FB_PAIR_DECLARE(r, q) __m512i c##r##q = accumulate ? \
        _mm512_loadu_si512(c + r * ldc + 16 * q) : _mm512_setzero_si512();
    #define FB_PAIR_STEP(r, q) c##r##q = _mm512_dpwssd_epi32(c##r##q, a##r, b##q);
    #define FB_PAIR_SAVE(r, q) _mm512_storeu_si512(c + r * ldc + 16 * q, c##r##q);
    __attribute__((target("avx512f,avx512bw,avx512vnni")))
    static void fb_pair_kernel(ptrdiff_t pairs, const int32_t *a, ptrdiff_t lda,
                               const int32_t *b, int32_t *c, ptrdiff_t ldc, int accumulate)
    {
        FB_PAIR_TILE(FB_PAIR_DECLARE)
        for (ptrdiff_t p = 0; p < pairs; p++) {
            const int32_t *row = b + p * FB_PAIR_COLS;
            __m512i b0 = _mm512_loadu_si512(row), b1 = _mm512_loadu_si512(row + 16);
            __m512i b2 = _mm512_loadu_si512(row + 32), b3 = _mm512_loadu_si512(row + 48);
            __m512i a0 = _mm512_set1_epi32(a[p]), a1 = _mm512_set1_epi32(a[lda + p]);
            __m512i a2 = _mm512_set1_epi32(a[2 * lda + p]);
            __m512i a3 = _mm512_set1_epi32(a[3 * lda + p]);
            FB_PAIR_TILE(FB_PAIR_STEP)
        }
        FB_PAIR_TILE(FB_PAIR_SAVE)
    }
    #else
    static void fb_pair_kernel(ptrdiff_t pairs, const int32_t *a, ptrdiff_t lda,
                               const int32_t *b, int32_t *c, ptrdiff_t ldc, int accumulate) {}
    #endif

    /* A value's 16-bit digit as int16: the low one (its residue modulo 2**16,
     * from -2**15) or, for 32-bit values, the high one, x = high 2**16 + low
     * modulo 2**32. */
    #define FB_PAIR_DIGIT(x) (high ? (int16_t)(((uint32_t)(x) -                          \
                                                (uint32_t)(int32_t)(int16_t)(x)) >> 16)   \
                                   : (int16_t)(x))

    /* dst (rows_pad x width int16, row-major) = the digits of the rows x cols
     * block of src (element strides rs, cs), zero beyond it. */
    #define FB_PAIR_LOAD_A(T, R) { const T *s = (const T *)src;                            \
        for (ptrdiff_t i = 0; i < rows; i++) {                                            \
            const T *line = s + i * rs; int16_t *out = dst + i * width;                   \
            if (cs == 1) for (ptrdiff_t j = 0; j < cols; j++) out[j] = FB_PAIR_DIGIT(line[j]); \
            else for (ptrdiff_t j = 0; j < cols; j++) out[j] = FB_PAIR_DIGIT(line[j * cs]); \
            for (ptrdiff_t j = cols; j < width; j++) out[j] = 0;                          \
        } }
    FB_EXACT_CLONES static void fb_pair_pack_a(int type, const void *src, ptrdiff_t rows,
                                               ptrdiff_t cols, ptrdiff_t rs, ptrdiff_t cs,
                                               int high, ptrdiff_t rows_pad, ptrdiff_t width,
                                               int16_t *dst)
    {
        FB_EXACT_SWITCH(FB_PAIR_LOAD_A, int16_t)
        for (ptrdiff_t i = rows * width; i < rows_pad * width; i++) dst[i] = 0;
    }

    /* dst = the digits of the rows x cols block of src (element strides rs, cs)
     * in groups of 64 columns: dst[(g * pairs + p) * 64 + j] = (b[2p, 64g + j],
     * b[2p+1, 64g + j]) as one int32 (low half first), zero beyond the block;
     * pairs = ceil(rows / 2), groups = ceil(cols / 64). */
    #define FB_PAIR_LOAD_B(T, R) { const T *s = (const T *)src;                            \
        for (ptrdiff_t g = 0; g < groups; g++) {                                          \
            ptrdiff_t width = cols - g * FB_PAIR_COLS < FB_PAIR_COLS ?                     \
                              cols - g * FB_PAIR_COLS : FB_PAIR_COLS;                      \
            for (ptrdiff_t p = 0; p < pairs; p++) {                                       \
                const T *lo = s + 2 * p * rs + g * FB_PAIR_COLS * cs;                     \
                const T *hi = 2 * p + 1 < rows ? lo + rs : NULL;                          \
                int32_t *out = dst + (g * pairs + p) * FB_PAIR_COLS;                      \
                if (cs == 1 && hi != NULL && width == FB_PAIR_COLS)                       \
                    for (ptrdiff_t j = 0; j < FB_PAIR_COLS; j++)                          \
                        out[j] = (int32_t)((uint32_t)(uint16_t)FB_PAIR_DIGIT(lo[j]) |     \
                                           (uint32_t)(uint16_t)FB_PAIR_DIGIT(hi[j]) << 16); \
                else {                                                                    \
                    for (ptrdiff_t j = 0; j < width; j++) {                               \
                        uint32_t l = (uint16_t)FB_PAIR_DIGIT(lo[j * cs]);                  \
                        uint32_t h = hi ? (uint16_t)FB_PAIR_DIGIT(hi[j * cs]) : 0u;        \
                        out[j] = (int32_t)(l | h << 16);                                   \
                    }                                                                     \
                    for (ptrdiff_t j = width; j < FB_PAIR_COLS; j++) out[j] = 0;          \
                }                                                                         \
            }                                                                             \
        } }
    FB_EXACT_CLONES static void fb_pair_pack_b(int type, const void *src, ptrdiff_t rows,
                                               ptrdiff_t cols, ptrdiff_t rs, ptrdiff_t cs,
                                               int high, int32_t *dst)
    {
        ptrdiff_t pairs = (rows + 1) / 2, groups = (cols + FB_PAIR_COLS - 1) / FB_PAIR_COLS;
        FB_EXACT_SWITCH(FB_PAIR_LOAD_B, int32_t)
    }

    /* c[i * stride] = (tile[i] + high[i] 2**16) modulo 2**bits of c's type
     * (sign-extended first), high NULL for none */
    #define FB_PAIR_SUM(i) ((int64_t)(int32_t)((uint32_t)tile[i] +                          \
                                               (high ? (uint32_t)high[i] << 16 : 0u)))
    #define FB_PAIR_STORE(T, R) { T *c = (T *)dst;                                          \
        if (stride == 1) for (ptrdiff_t i = 0; i < n; i++) c[i] = (T)FB_PAIR_SUM(i);      \
        else for (ptrdiff_t i = 0; i < n; i++) c[i * stride] = (T)FB_PAIR_SUM(i); }
    FB_EXACT_CLONES static void fb_pair_store(int type, const int32_t *tile,
                                              const int32_t *high, ptrdiff_t n, void *dst,
                                              ptrdiff_t stride)
    { FB_EXACT_SWITCH(FB_PAIR_STORE, int32_t) }
    """
    enum:
        FB_PAIR_ROWS, FB_PAIR_COLS
    bint fb_pairs_supported() noexcept nogil
    void fb_pair_kernel(Py_ssize_t pairs, const int32_t *a, Py_ssize_t lda, const int32_t *b,
                        int32_t *c, Py_ssize_t ldc, int accumulate) noexcept nogil
    void fb_pair_pack_a(int type, const void *src, Py_ssize_t rows, Py_ssize_t cols,
                        Py_ssize_t rs, Py_ssize_t cs, int high, Py_ssize_t rows_pad,
                        Py_ssize_t width, int16_t *dst) noexcept nogil
    void fb_pair_pack_b(int type, const void *src, Py_ssize_t rows, Py_ssize_t cols,
                        Py_ssize_t rs, Py_ssize_t cs, int high, int32_t *dst) noexcept nogil
    void fb_pair_store(int type, const int32_t *tile, const int32_t *high, Py_ssize_t n,
                       void *dst, Py_ssize_t stride) noexcept nogil


cdef struct ExactOptions:
    Py_ssize_t tile_m      # output rows per tile
    Py_ssize_t tile_n      # output columns per tile
    Py_ssize_t tile_k      # inner dimension per BLAS call (at most; bool: per block)
    Py_ssize_t loop_flops  # m*n*k up to which a plain integer loop beats BLAS
    bint force_split       # split into slices even when the bound holds
    bint int16_pairs       # the int16 pair kernel where the CPU has AVX-512 VNNI
    Py_ssize_t max_workspace  # bytes the workspace may take (0: no limit); a
                              # product needing more fails as out of memory


cdef inline ExactOptions exact_defaults() noexcept nogil:
    """512 x 512 tiles: the A and B blocks and the float tile take 2 MB each in
    float64, the integer accumulator (when needed) 2 MB more; split into three
    slices, the blocks are 170 deep and the whole workspace stays under 9 MB.
    Conversions then cost under 1/256 of the multiply-adds. The plain loop wins
    up to about 8 x 8 x 8 products, BLAS from 12 x 12 x 12 (one thread, int8,
    int64 and float16 alike); against products split into slices, longer
    (_split_loop_flops)."""
    cdef ExactOptions opts
    opts.tile_m = opts.tile_n = opts.tile_k = 512
    opts.loop_flops = 1024
    opts.force_split = False
    opts.int16_pairs = True
    opts.max_workspace = 0
    return opts

cdef enum _Kind:
    _INTEGER, _LOGICAL, _HALF

cdef enum _Slice:
    _WHOLE = -1            # the value itself (signed), not a slice of its bits

cdef enum:
    _FLOAT32_DIGITS = 24   # integers below 2**24 are exact in float32
    _FLOAT64_DIGITS = 53   # and below 2**53 in float64
    PAIR_BLOCK_K = 256     # inner dimension per block of the int16 pair kernel
    PAIR_MIN_COLUMNS = 8   # narrower products of sgemm's range stay with sgemm


# ---------------------------------------------------------------------------
# Element conversions
# ---------------------------------------------------------------------------

ctypedef union _Bits32:
    float f
    uint32_t u


cdef inline float half_to_float(uint16_t h) noexcept nogil:
    """float16 bits -> float32, exactly: exponent and fraction moved into place and
    rescaled by 2**112 (normal and subnormal alike); inf/NaN get the top exponent."""
    cdef _Bits32 v
    v.u = (<uint32_t>(h & 0x7fff)) << 13
    if (h & 0x7c00) == 0x7c00:
        v.u |= 0x7f800000
    else:
        v.f *= 5.192296858534828e33    # 2**112
    v.u |= (<uint32_t>(h & 0x8000)) << 16
    return v.f


cdef inline uint64_t _bits(integer x) noexcept nogil:
    """x modulo 2**64 (two's complement for signed types)."""
    if integer is int8_t or integer is int16_t or integer is int32_t or integer is int64_t:
        return <uint64_t><int64_t>x
    else:
        return <uint64_t>x


cdef inline size_t _round64(size_t nbytes) noexcept nogil:
    return (nbytes + 63) & ~(<size_t>63)


cdef inline Py_ssize_t _span(Py_ssize_t stride) noexcept nogil:
    return stride if stride >= 0 else -stride


cdef inline integer _folded(integer x) noexcept nogil:
    """|x| for x >= 0 and |x| - 1 (= ~x) for x < 0: never negative, no overflow."""
    if integer is int8_t or integer is int16_t or integer is int32_t or integer is int64_t:
        return x ^ (x >> (8 * sizeof(integer) - 1))
    else:
        return x


cdef inline uint64_t max_magnitude(const integer *p, Py_ssize_t rows, Py_ssize_t cols,
                                   Py_ssize_t rs, Py_ssize_t cs) noexcept nogil:
    """An upper bound of max |p[i rs + j cs]| within a factor 2: all-ones up to the
    highest bit set in any |x| (plus one for signed types), from an OR over the
    elements (a loop the compiler vectorises, unlike a running maximum)."""
    cdef integer bits = 0
    cdef uint64_t ones
    cdef const integer *row
    cdef Py_ssize_t i, j
    if _span(rs) < _span(cs):
        rows, cols, rs, cs = cols, rows, cs, rs
    for i in range(rows):
        row = p + i * rs
        if cs == 1:
            for j in range(cols):
                bits |= _folded(row[j])
        else:
            for j in range(cols):
                bits |= _folded(row[j * cs])
    ones = <uint64_t>bits
    ones |= ones >> 1
    ones |= ones >> 2
    ones |= ones >> 4
    ones |= ones >> 8
    ones |= ones >> 16
    ones |= ones >> 32
    if integer is int8_t or integer is int16_t or integer is int32_t or integer is int64_t:
        return ones + 1
    else:
        return ones


cdef inline int _type_code(const integer *p) noexcept nogil:
    """The C loops' name for the integer type."""
    if integer is int8_t:
        return FB_INT8
    elif integer is uint8_t:
        return FB_UINT8
    elif integer is int16_t:
        return FB_INT16
    elif integer is uint16_t:
        return FB_UINT16
    elif integer is int32_t:
        return FB_INT32
    elif integer is uint32_t:
        return FB_UINT32
    elif integer is int64_t:
        return FB_INT64
    else:
        return FB_UINT64


cdef inline void _load(_real *dst, const integer *src, Py_ssize_t outer, Py_ssize_t inner,
                       Py_ssize_t so, Py_ssize_t si, _Kind kind, int piece,
                       int shift, uint64_t mask) noexcept nogil:
    """dst[o*inner + i] = the value (or slice `piece`) of src[o*so + i*si], as _real."""
    cdef Py_ssize_t o, i
    cdef const integer *row
    cdef _real *out
    for o in range(outer):
        row = src + o * so
        out = dst + o * inner
        if kind == _HALF:
            if integer is uint16_t and _real is float:   # float16 sums in float32 only
                fb_half_load(row, inner, si, out)
        elif si == 1:
            if _real is float:
                fb_exact_load_float(_type_code(row), row, inner,
                                    -1 if piece == _WHOLE else shift, mask, out)
            else:
                fb_exact_load_double(_type_code(row), row, inner,
                                     -1 if piece == _WHOLE else shift, mask, out)
        elif piece == _WHOLE:
            for i in range(inner):
                out[i] = <_real>row[i * si]
        else:
            for i in range(inner):
                out[i] = <_real>((_bits(row[i * si]) >> shift) & mask)


# ---------------------------------------------------------------------------
# Plain loops: vectors, and products too small for BLAS to pay
# ---------------------------------------------------------------------------

cdef inline uint64_t _int_sum(Py_ssize_t n, const integer *x, Py_ssize_t incx,
                              const integer *y, Py_ssize_t incy) noexcept nogil:
    """sum x_i y_i modulo 2**64, four partial sums (wrapping unsigned arithmetic)."""
    cdef uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef Py_ssize_t i = 0
    if incx == 1 and incy == 1:    # unit strides: a loop the compiler vectorises
        while i + 4 <= n:
            s0 += _bits(x[i]) * _bits(y[i])
            s1 += _bits(x[i + 1]) * _bits(y[i + 1])
            s2 += _bits(x[i + 2]) * _bits(y[i + 2])
            s3 += _bits(x[i + 3]) * _bits(y[i + 3])
            i += 4
    else:
        while i + 4 <= n:
            s0 += _bits(x[i * incx]) * _bits(y[i * incy])
            s1 += _bits(x[(i + 1) * incx]) * _bits(y[(i + 1) * incy])
            s2 += _bits(x[(i + 2) * incx]) * _bits(y[(i + 2) * incy])
            s3 += _bits(x[(i + 3) * incx]) * _bits(y[(i + 3) * incy])
            i += 4
    while i < n:
        s0 += _bits(x[i * incx]) * _bits(y[i * incy])
        i += 1
    return (s0 + s1) + (s2 + s3)


cdef inline integer int_dot(Py_ssize_t n, const integer *x, Py_ssize_t incx,
                            const integer *y, Py_ssize_t incy) noexcept nogil:
    """sum_i x[i*incx] * y[i*incy] with NumPy's wraparound (element strides; x and
    y point at element 0 whatever the sign of the stride)."""
    return <integer>_int_sum(n, x, incx, y, incy)


cdef inline uint8_t bool_dot(Py_ssize_t n, const uint8_t *x, Py_ssize_t incx,
                             const uint8_t *y, Py_ssize_t incy) noexcept nogil:
    """1 if some x[i] and y[i] are both nonzero, else 0."""
    cdef Py_ssize_t i
    for i in range(n):
        if x[i * incx] != 0 and y[i * incy] != 0:
            return 1
    return 0


cdef inline uint16_t half_dot(Py_ssize_t n, const uint16_t *x, Py_ssize_t incx,
                              const uint16_t *y, Py_ssize_t incy) noexcept nogil:
    """float16 dot product: the products summed in float32 in index order, then
    rounded to float16 (NumPy's own float16 dot, bit for bit)."""
    cdef float s = 0
    cdef uint16_t h
    cdef Py_ssize_t i
    for i in range(n):
        s = s + half_to_float(x[i * incx]) * half_to_float(y[i * incy])
    fb_half_store(&s, 1, &h, 1)
    return h


cdef inline void _loop_product(_Kind kind, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                               const integer *a, Py_ssize_t ars, Py_ssize_t acs,
                               const integer *b, Py_ssize_t brs, Py_ssize_t bcs,
                               integer *c, Py_ssize_t crs, Py_ssize_t ccs) noexcept nogil:
    cdef Py_ssize_t i, j
    for i in range(m):
        for j in range(n):
            if kind == _LOGICAL:
                if integer is uint8_t:
                    c[i * crs + j * ccs] = bool_dot(k, a + i * ars, acs, b + j * bcs, brs)
            elif kind == _HALF:
                if integer is uint16_t:
                    c[i * crs + j * ccs] = half_dot(k, a + i * ars, acs, b + j * bcs, brs)
            else:
                c[i * crs + j * ccs] = <integer>_int_sum(k, a + i * ars, acs,
                                                          b + j * bcs, brs)


# ---------------------------------------------------------------------------
# The blocked BLAS product
# ---------------------------------------------------------------------------

cdef struct _Plan:
    bint single         # float32 (sgemm) rather than float64 (dgemm)
    int pieces          # slices per operand; 0: the whole values, unsplit
    int shift           # bits per slice
    Py_ssize_t tile_k   # inner dimension per BLAS call
    Py_ssize_t flush    # BLAS calls summed in the float tile before it must be emptied


cdef inline _Plan _plan(_Kind kind, int bits, Py_ssize_t k, uint64_t amax,
                        uint64_t bmax, const ExactOptions *opts) noexcept nogil:
    """Precision, slices and blocking that keep every float sum exact."""
    cdef _Plan p
    # The 0.999 margins cover the rounding of amax * bmax to double.
    cdef double bound = <double>amax * <double>bmax
    cdef double exact32 = 0.999 * <double>(1 << _FLOAT32_DIGITS)
    cdef double exact64 = 0.999 * <double>(<uint64_t>1 << _FLOAT64_DIGITS)
    cdef double top
    cdef bint split = opts.force_split and kind == _INTEGER
    p.pieces = 0
    p.shift = 0
    p.tile_k = min(k, opts.tile_k)
    p.flush = k             # never: one tile sums the whole inner dimension
    p.single = True
    if kind == _HALF:
        return p
    # float32 when the sums of BLAS calls at least 128 long (or all of k) stay
    # exact, the tile emptied into the integer accumulator every `flush` calls;
    # else float64 likewise.
    cdef Py_ssize_t tile32 = <Py_ssize_t>min(<double>p.tile_k, exact32 / bound)
    if not split and tile32 >= min(p.tile_k, 128):
        p.tile_k = tile32
        p.flush = <Py_ssize_t>min(<double>k, exact32 / (bound * p.tile_k))
        return p
    p.single = False
    if not split and bound * p.tile_k < exact64:
        p.flush = <Py_ssize_t>min(<double>k, exact64 / (bound * p.tile_k))
        return p
    # Slices of s bits: 64-bit types in 3 slices of 22 bits (6 slice products),
    # 32-bit types in 2 of 16 (3 products); forced, 4 slices of bits/4.
    if split:
        p.shift = max(bits // 4, 1)
    else:
        p.shift = 22 if bits > 32 else 16
    p.pieces = (bits + p.shift - 1) // p.shift
    # The float tile sums up to `pieces` slice products (those of one shift) of
    # tile_k terms each below 2**(2s): keep that below 2**53.
    top = <double>((1 << p.shift) - 1)
    p.tile_k = max(1, min(p.tile_k, <Py_ssize_t>(exact64 / (p.pieces * top * top))))
    p.flush = 1
    return p


cdef inline Py_ssize_t _split_loop_flops(int bits, const ExactOptions *opts) noexcept nogil:
    """m*n*k up to which the plain loop beats a split product (3 slice products of
    32-bit types, 6 of 64-bit ones). Measured with one thread on full-range
    square products (us, split / loop): int32 16: 2.8 / 2.8, 24: 5.9 / 8.5;
    int64 32: 15.6 / 10.4, 48: 39.5 / 33.5, 64: 84 / 75 (np.dot 115)."""
    return opts.loop_flops * (4 if bits <= 32 else 64)


cdef inline void _gemm(bint single, bint beta_one, Py_ssize_t m, Py_ssize_t n,
                       Py_ssize_t k, void *a, bint a_trans, void *b, bint b_trans,
                       void *c) noexcept nogil:
    """C (m x n, row-major) (+)= op(A) op(B) on the workspace buffers.

    A buffer holds A (m x k, row-major) or, when a_trans, its transpose; likewise B.
    Column-major BLAS computes C' = op(B)' op(A)'.
    """
    cdef int mm = <int>m, nn = <int>n, kk = <int>k
    cdef int lda = <int>(m if a_trans else k), ldb = <int>(k if b_trans else n)
    cdef char ta = b'T' if a_trans else b'N', tb = b'T' if b_trans else b'N'
    cdef float one32 = 1, beta32 = 1 if beta_one else 0
    cdef double one64 = 1, beta64 = 1 if beta_one else 0
    if single:
        _blas.sgemm(&tb, &ta, &nn, &mm, &kk, &one32, <float *>b, &ldb, <float *>a, &lda,
                    &beta32, <float *>c, &nn)
    else:
        _blas.dgemm(&tb, &ta, &nn, &mm, &kk, &one64, <double *>b, &ldb, <double *>a, &lda,
                    &beta64, <double *>c, &nn)


cdef inline void _load_block(bint single, void *dst, const integer *src,
                             Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t rs,
                             Py_ssize_t cs, bint trans, _Kind kind, int piece,
                             int shift) noexcept nogil:
    """Convert a rows x cols block to the float workspace, row-major or transposed."""
    cdef uint64_t mask = ((<uint64_t>1) << shift) - 1 if shift > 0 else 0
    if trans:
        rows, cols, rs, cs = cols, rows, cs, rs
    if single:
        _load(<float *>dst, src, rows, cols, rs, cs, kind, piece, shift * piece, mask)
    else:
        _load(<double *>dst, src, rows, cols, rs, cs, kind, piece, shift * piece, mask)


cdef inline void _flush(bint single, const void *tile, uint64_t *acc, Py_ssize_t size,
                        int shift) noexcept nogil:
    """acc += tile * 2**shift modulo 2**64 (the tile holds exact integers)."""
    if single:
        fb_exact_flush_float(<const float *>tile, size, shift, acc)
    else:
        fb_exact_flush_double(<const double *>tile, size, shift, acc)


cdef inline void _store(_Kind kind, bint single, const void *tile, const uint64_t *acc,
                        integer *c, Py_ssize_t rows, Py_ssize_t cols, Py_ssize_t crs,
                        Py_ssize_t ccs) noexcept nogil:
    """C = the tile's sums, from the integer accumulator when there is one."""
    cdef Py_ssize_t i, j, t
    cdef uint64_t v
    if kind == _HALF:
        if integer is uint16_t:
            for i in range(rows):
                fb_half_store(<const float *>tile + i * cols, cols, c + i * crs, ccs)
        return
    if ccs == 1:
        for i in range(rows):
            if acc != NULL:
                fb_exact_store_acc(_type_code(c), acc + i * cols, cols, c + i * crs)
            elif single:
                fb_exact_store_float(_type_code(c), <const float *>tile + i * cols, cols,
                                     c + i * crs)
            else:
                fb_exact_store_double(_type_code(c), <const double *>tile + i * cols, cols,
                                      c + i * crs)
        return
    for i in range(rows):
        for j in range(cols):
            t = i * cols + j
            if acc != NULL:
                v = acc[t]
            elif single:
                v = <uint64_t><int64_t>(<const float *>tile)[t]
            else:
                v = <uint64_t><int64_t>(<const double *>tile)[t]
            c[i * crs + j * ccs] = <integer>v


cdef inline void _split_products(_Plan p, int bits, Py_ssize_t mb, Py_ssize_t nb,
                                 Py_ssize_t kb, char *abuf, size_t a_piece, bint a_trans,
                                 char *bbuf, size_t b_piece, bint b_trans, void *tile,
                                 uint64_t *acc) noexcept nogil:
    """acc += A B for one block of the inner dimension, from the slices of A and B:

        A B = sum_g (sum_{i+j=g} A_i B_j) 2**(s g)   (mod 2**bits, g with s g < bits)

    each inner sum formed exactly in the float tile, then added in wrapping integers."""
    cdef int group, first
    for group in range(p.pieces):
        if group * p.shift >= bits:
            break
        for first in range(group + 1):
            if first < p.pieces and group - first < p.pieces:
                _gemm(p.single, first > 0, mb, nb, kb, abuf + first * a_piece, a_trans,
                      bbuf + (group - first) * b_piece, b_trans, tile)
        _flush(p.single, tile, acc, mb * nb, group * p.shift)


cdef inline bint _pairs_apply(int bits, Py_ssize_t k, bint fit, uint64_t amax,
                              uint64_t bmax, const ExactOptions *opts) noexcept nogil:
    """Whether the int16 pair kernel gives NumPy's result: for the types of 32
    bits and fewer always (the 32-bit sums wrap modulo 2**32, a multiple of
    2**bits; values that do not fit in int16 go in digits, _pair_product); for
    the 64-bit ones when every value fits in int16 and the sums stay exact
    (amax bmax k < 2**31)."""
    return (opts.int16_pairs and not opts.force_split
            and (bits <= 32 or (fit and <double>amax * <double>bmax * <double>k < 2147483648.0))
            and fb_pairs_supported())


cdef inline int _pair_product(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                              const integer *a, Py_ssize_t ars, Py_ssize_t acs,
                              const integer *b, Py_ssize_t brs, Py_ssize_t bcs,
                              integer *c, Py_ssize_t crs, Py_ssize_t ccs, bint fit,
                              const ExactOptions *opts) noexcept nogil:
    """C = A B on the int16 pair kernel, by tiles of C and blocks of at most
    PAIR_BLOCK_K terms (B's group of 64 columns, 32 KB, stays in L1 while the
    rows of A pass).

    With ``fit``, the values go whole: they fit in int16, or their type has 16
    bits or fewer and they are read as int16 (their residues modulo 2**16).
    Else (32-bit values) they go in two 16-bit digits, a = a1 2**16 + a0 with
    a0 the residue, and modulo 2**32

        A B = A0 B0 + (A1 B0 + A0 B1) 2**16,

    the second sum in its own tile, added shifted when C is stored.
    """
    cdef bint digits = not fit
    cdef int parts = 2 if digits else 1
    cdef Py_ssize_t tm = min(m, opts.tile_m), tn = min(n, opts.tile_n)
    cdef Py_ssize_t tk = min(k, opts.tile_k, PAIR_BLOCK_K)
    cdef Py_ssize_t rows_pad = (tm + FB_PAIR_ROWS - 1) // FB_PAIR_ROWS * FB_PAIR_ROWS
    cdef Py_ssize_t cols_pad = (tn + FB_PAIR_COLS - 1) // FB_PAIR_COLS * FB_PAIR_COLS
    cdef Py_ssize_t width = tk + tk % 2
    cdef size_t a_size = _round64(rows_pad * width * sizeof(int16_t))
    cdef size_t b_size = _round64(width * cols_pad * sizeof(int16_t))
    cdef size_t tile_size = _round64(rows_pad * cols_pad * sizeof(int32_t))
    cdef size_t work_size = parts * (a_size + b_size + tile_size)
    if opts.max_workspace and work_size > <size_t>opts.max_workspace:
        return -1
    cdef char *work = <char *>PyMem_RawMalloc(work_size)
    if work == NULL:
        return -1
    # part 0: the whole values or the low digits; part 1: the high digits
    cdef int16_t *apack[2]
    cdef int32_t *bpack[2]
    cdef int32_t *tile[2]
    cdef int part
    for part in range(parts):
        apack[part] = <int16_t *>(work + part * (a_size + b_size + tile_size))
        bpack[part] = <int32_t *>(<char *>apack[part] + a_size)
        tile[part] = <int32_t *>(<char *>apack[part] + a_size + b_size)
    cdef int type = _type_code(c)
    cdef Py_ssize_t i0 = 0, j0, p0, mb, nb, kb, mp, np_, pairs, i, j
    while i0 < m:
        mb = min(tm, m - i0)
        mp = (mb + FB_PAIR_ROWS - 1) // FB_PAIR_ROWS * FB_PAIR_ROWS
        j0 = 0
        while j0 < n:
            nb = min(tn, n - j0)
            np_ = (nb + FB_PAIR_COLS - 1) // FB_PAIR_COLS * FB_PAIR_COLS
            p0 = 0
            while p0 < k:
                kb = min(tk, k - p0)
                pairs = (kb + 1) // 2
                for part in range(parts):
                    fb_pair_pack_a(type, a + i0 * ars + p0 * acs, mb, kb, ars, acs, part, mp,
                                   2 * pairs, apack[part])
                    fb_pair_pack_b(type, b + p0 * brs + j0 * bcs, kb, nb, brs, bcs, part,
                                   bpack[part])
                for j in range(np_ // FB_PAIR_COLS):
                    for i in range(mp // FB_PAIR_ROWS):
                        _pair_kernel(pairs, apack[0], bpack[0], tile[0], np_, i, j, p0 > 0)
                        if digits:
                            _pair_kernel(pairs, apack[1], bpack[0], tile[1], np_, i, j, p0 > 0)
                            _pair_kernel(pairs, apack[0], bpack[1], tile[1], np_, i, j, True)
                p0 += kb
            for i in range(mb):
                fb_pair_store(type, tile[0] + i * np_, tile[1] + i * np_ if digits else NULL,
                              nb, c + (i0 + i) * crs + j0 * ccs, ccs)
            j0 += nb
        i0 += mb
    PyMem_RawFree(work)
    return 0


cdef inline void _pair_kernel(Py_ssize_t pairs, const int16_t *apack, const int32_t *bpack,
                              int32_t *tile, Py_ssize_t ldc, Py_ssize_t i, Py_ssize_t j,
                              bint accumulate) noexcept nogil:
    """The micro-kernel on rows 4i.. of A's block and the group j of B's columns."""
    fb_pair_kernel(pairs, <const int32_t *>apack + i * FB_PAIR_ROWS * pairs, pairs,
                   bpack + j * FB_PAIR_COLS * pairs,
                   tile + i * FB_PAIR_ROWS * ldc + j * FB_PAIR_COLS, ldc, accumulate)


cdef inline int _product(_Kind kind, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                         const integer *a, Py_ssize_t ars, Py_ssize_t acs,
                         const integer *b, Py_ssize_t brs, Py_ssize_t bcs,
                         integer *c, Py_ssize_t crs, Py_ssize_t ccs,
                         const ExactOptions *opts) noexcept nogil:
    """C = A B by blocks: tiles of C, blocks of the inner dimension, slice pairs."""
    cdef ExactOptions defaults
    if opts == NULL:
        defaults = exact_defaults()
        opts = &defaults
    if m * n * k <= opts.loop_flops or m == 1 or n == 1:
        _loop_product(kind, m, n, k, a, ars, acs, b, brs, bcs, c, crs, ccs)
        return 0
    cdef uint64_t amax = 1, bmax = 1
    if kind == _INTEGER:
        amax = max_magnitude(a, m, k, ars, acs)
        bmax = max_magnitude(b, k, n, brs, bcs)
    cdef _Plan p = _plan(kind, 8 * sizeof(integer), k, amax, bmax, opts)
    cdef bint fit = amax <= 32768 and bmax <= 32768    # every value fits in int16
    if (kind == _INTEGER and (n >= PAIR_MIN_COLUMNS or not p.single)
            and _pairs_apply(8 * sizeof(integer), k, fit, amax, bmax, opts)):
        return _pair_product(m, n, k, a, ars, acs, b, brs, bcs, c, crs, ccs,
                             fit or sizeof(integer) <= 2, opts)
    if p.pieces and not opts.force_split and m * n * k <= _split_loop_flops(
            8 * sizeof(integer), opts):
        _loop_product(kind, m, n, k, a, ars, acs, b, brs, bcs, c, crs, ccs)
        return 0
    cdef int pieces = max(p.pieces, 1)
    cdef Py_ssize_t tm = min(m, opts.tile_m), tn = min(n, opts.tile_n), tk = p.tile_k
    cdef size_t real = sizeof(float) if p.single else sizeof(double)
    # Store a block transposed when its source runs down the columns, so that the
    # conversion reads memory in order.
    cdef bint a_trans = _span(ars) < _span(acs), b_trans = _span(brs) < _span(bcs)
    # The integer accumulator is needed when the float tile must be emptied more
    # than once; without it the tile goes straight to C.
    cdef bint accumulate = kind != _HALF and (p.pieces > 0 or p.flush < (k + tk - 1) // tk)
    # One allocation for all buffers: freed and taken again at the same size, the
    # allocator hands back memory that is already mapped. PyMem_RawMalloc needs no
    # GIL, and tracemalloc sees it.
    cdef size_t a_size = _round64(pieces * tm * tk * real)
    cdef size_t b_size = _round64(pieces * tk * tn * real)
    cdef size_t tile_size = _round64(tm * tn * real)
    cdef size_t work_size = (a_size + b_size + tile_size
                             + (tm * tn * sizeof(uint64_t) if accumulate else 0))
    if opts.max_workspace and work_size > <size_t>opts.max_workspace:
        return -1
    cdef char *work = <char *>PyMem_RawMalloc(work_size)
    if work == NULL:
        return -1
    cdef char *abuf = work
    cdef char *bbuf = work + a_size
    cdef void *tile = work + a_size + b_size
    cdef uint64_t *acc = <uint64_t *>(work + a_size + b_size + tile_size) if accumulate else NULL
    cdef Py_ssize_t i0, j0, p0, mb, nb, kb, blocks, idx
    cdef int piece
    cdef bint pending
    i0 = 0
    while i0 < m:
        mb = min(tm, m - i0)
        j0 = 0
        while j0 < n:
            nb = min(tn, n - j0)
            if accumulate:
                for idx in range(mb * nb):
                    acc[idx] = 0
            blocks = 0
            pending = False
            p0 = 0
            while p0 < k:
                kb = min(tk, k - p0)
                for piece in range(pieces):
                    _load_block(p.single, abuf + piece * tm * tk * real,
                                a + i0 * ars + p0 * acs, mb, kb, ars, acs, a_trans,
                                kind, piece if p.pieces else _WHOLE, p.shift)
                    _load_block(p.single, bbuf + piece * tk * tn * real,
                                b + p0 * brs + j0 * bcs, kb, nb, brs, bcs, b_trans,
                                kind, piece if p.pieces else _WHOLE, p.shift)
                p0 += kb
                if p.pieces == 0:
                    _gemm(p.single, pending, mb, nb, kb, abuf, a_trans, bbuf, b_trans, tile)
                    pending = True
                    blocks += 1
                    if blocks == p.flush and accumulate:
                        _flush(p.single, tile, acc, mb * nb, 0)
                        blocks = 0
                        pending = False
                else:
                    _split_products(p, 8 * <int>sizeof(integer), mb, nb, kb, abuf, tm * tk * real,
                                    a_trans, bbuf, tk * tn * real, b_trans, tile, acc)
            if pending and accumulate:
                _flush(p.single, tile, acc, mb * nb, 0)
            _store(kind, p.single, tile, acc, c + i0 * crs + j0 * ccs, mb, nb, crs, ccs)
            j0 += nb
        i0 += mb
    PyMem_RawFree(work)
    return 0


# ---------------------------------------------------------------------------
# bool products on bits
# ---------------------------------------------------------------------------
# C[i, j] = OR_p (A[i, p] AND B[p, j]). Packed 8 to a byte along the inner
# dimension, 8 terms take one AND: row i of C ORs A's byte q (broadcast) AND B's
# bytes q of every column, in rounds of 1, 2, 4, ... bytes, and stops as soon as
# every column has found a common true term. Dense operands stop after a round or
# two, as NumPy's loop stops at the first true term; sparse ones cost k/8 byte
# ANDs per element of C (vectorised over the columns), where NumPy's loop pays k
# steps. Bytes rather than wider words: the early stop comes sooner, and every
# loop over the columns works on bytes, which x86-64 SIMD handles 16 (SSE2), 32
# (AVX2) or 64 (AVX-512BW) at a time, the 0/1 stores of C included: the loops are
# built for each and the widest the CPU runs is picked when the module loads, as
# above; the bytes of A are packed 64 at a time. (1024 x 1024) @ (1024 x 1024),
# one thread, medians of four alternating runs: half true 1.12-1.19 ms with SSE2
# loops packing 8 bytes at a time, 0.54-0.56 ms with AVX-512 and 64 (1% true:
# 3.0-3.2 against 1.16-1.21 ms); packing 64 rather than 8 bytes gave 5-15%.
cdef extern from *:
    """
    #include <string.h>

    /* Bit r of the low byte set when byte r of x is nonzero, in each 64-bit word
     * of x, a uint64_t or a vector of them (SWAR: the top bit of each byte of
     * (x & 0x7f..) + 0x7f.. | x marks a nonzero byte; the multiply gathers the 8
     * marks into the top byte). */
    #define FB_NONZERO_BITS(x) \
        (((((((x) & 0x7f7f7f7f7f7f7f7fULL) + 0x7f7f7f7f7f7f7f7fULL) | (x)) \
           & 0x8080808080808080ULL) >> 7) * 0x0102040810204080ULL >> 56)

    static inline uint8_t fb_nonzero_bytes(const uint8_t *p)
    {
        uint64_t x;
        memcpy(&x, p, 8);
        return (uint8_t)FB_NONZERO_BITS(x);
    }

    /* dst[q * outer + o] bit r = (src[o*so + (8 q + r)*si] != 0), for the
     * ceil(inner / 8) bytes q: the bits run along `inner`, the bytes of one q are
     * contiguous over `outer`. Byte strides. */
    FB_EXACT_CLONES static void fb_pack_bits(const uint8_t *src, ptrdiff_t outer,
                                             ptrdiff_t inner, ptrdiff_t so, ptrdiff_t si,
                                             uint8_t *dst)
    {
        ptrdiff_t full = inner / 8;
        memset(dst, 0, (size_t)((inner + 7) / 8 * outer));
        if (si == 1) {      /* each line contiguous: 8 bytes at a time, 64 with vectors */
            for (ptrdiff_t o = 0; o < outer; o++) {
                const uint8_t *line = src + o * so;
                ptrdiff_t q = 0;
    #if defined(__GNUC__)
                typedef uint64_t fb_u64x8 __attribute__((vector_size(64)));
                for (; q + 8 <= full; q += 8) {
                    fb_u64x8 x;
                    memcpy(&x, line + 8 * q, sizeof x);
                    x = FB_NONZERO_BITS(x);
                    for (int u = 0; u < 8; u++) dst[(q + u) * outer + o] = (uint8_t)x[u];
                }
    #endif
                for (; q < full; q++) dst[q * outer + o] = fb_nonzero_bytes(line + 8 * q);
            }
        } else {            /* term p of every line at once: vectorised when so == 1 */
            for (ptrdiff_t p = 0; p < 8 * full; p++) {
                const uint8_t *line = src + p * si;
                uint8_t *out = dst + (p >> 3) * outer;
                uint8_t bit = (uint8_t)(1 << (p & 7));
                if (so == 1)
                    for (ptrdiff_t o = 0; o < outer; o++) out[o] |= line[o] ? bit : 0;
                else
                    for (ptrdiff_t o = 0; o < outer; o++) out[o] |= line[o * so] ? bit : 0;
            }
        }
        for (ptrdiff_t p = 8 * full; p < inner; p++) {
            const uint8_t *line = src + p * si;
            uint8_t *out = dst + full * outer;
            for (ptrdiff_t o = 0; o < outer; o++)
                out[o] |= (uint8_t)((line[o * so] != 0) << (p & 7));
        }
    }

    /* C[i, j] (|)= OR_q (apack[q, i] AND bpack[q, j]) != 0 over `depth` bytes q, for
     * m x n of C: set when `first`, else ORed into what C holds (from a previous
     * block of the inner dimension). acc: n bytes of workspace. */
    FB_EXACT_CLONES static void fb_bool_rows(ptrdiff_t m, ptrdiff_t n, ptrdiff_t depth,
                                             const uint8_t *apack, const uint8_t *bpack,
                                             uint8_t *acc, uint8_t *c, ptrdiff_t crs,
                                             ptrdiff_t ccs, int first)
    {
        for (ptrdiff_t i = 0; i < m; i++) {
            uint8_t *row = c + i * crs;
            uint8_t missing = 1;
            if (first)
                memset(acc, 0, (size_t)n);
            else
                for (ptrdiff_t j = 0; j < n; j++) acc[j] = row[j * ccs];
            for (ptrdiff_t q = 0, step = 1; missing && q < depth; step *= 2) {
                for (ptrdiff_t end = q + step < depth ? q + step : depth; q < end; q++) {
                    uint8_t aq = apack[q * m + i];
                    const uint8_t *bq = bpack + q * n;
                    if (aq)
                        for (ptrdiff_t j = 0; j < n; j++) acc[j] |= aq & bq[j];
                }
                missing = 0;
                for (ptrdiff_t j = 0; j < n; j++) missing |= acc[j] == 0;
            }
            if (ccs == 1)
                for (ptrdiff_t j = 0; j < n; j++) row[j] = acc[j] != 0;
            else
                for (ptrdiff_t j = 0; j < n; j++) row[j * ccs] = acc[j] != 0;
        }
    }
    """
    void fb_pack_bits(const uint8_t *src, Py_ssize_t outer, Py_ssize_t inner, Py_ssize_t so,
                      Py_ssize_t si, uint8_t *dst) noexcept nogil
    void fb_bool_rows(Py_ssize_t m, Py_ssize_t n, Py_ssize_t depth, const uint8_t *apack,
                      const uint8_t *bpack, uint8_t *acc, uint8_t *c, Py_ssize_t crs,
                      Py_ssize_t ccs, bint first) noexcept nogil


cdef inline int _bool_product(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                              const uint8_t *a, Py_ssize_t ars, Py_ssize_t acs,
                              const uint8_t *b, Py_ssize_t brs, Py_ssize_t bcs,
                              uint8_t *c, Py_ssize_t crs, Py_ssize_t ccs,
                              const ExactOptions *opts) noexcept nogil:
    """C = A B for bool by blocks: opts' tiles count rows of C (tile_m), columns
    (8 tile_n) and bits of the inner dimension (tile_k). A block of A is packed
    again for each block of columns; at a bit per term, 8 times the integers'
    columns still take little memory, and a (1024 x 1024) @ (1024 x 1024)
    product packs A once (0.48 ms against 0.59 with 512 columns, one thread)."""
    cdef Py_ssize_t tm = min(m, opts.tile_m), tn = min(n, 8 * opts.tile_n)
    cdef Py_ssize_t tk = min(k, opts.tile_k), depth = (tk + 7) // 8
    cdef size_t work_size = depth * (tm + tn) + tn
    if opts.max_workspace and work_size > <size_t>opts.max_workspace:
        return -1
    cdef uint8_t *apack = <uint8_t *>PyMem_RawMalloc(work_size)
    if apack == NULL:
        return -1
    cdef uint8_t *bpack = apack + depth * tm
    cdef uint8_t *acc = bpack + depth * tn
    cdef Py_ssize_t i0, j0, p0, mb, nb, kb
    j0 = 0
    while j0 < n:
        nb = min(tn, n - j0)
        p0 = 0
        while p0 < k:
            kb = min(tk, k - p0)
            fb_pack_bits(b + p0 * brs + j0 * bcs, nb, kb, bcs, brs, bpack)
            i0 = 0
            while i0 < m:
                mb = min(tm, m - i0)
                fb_pack_bits(a + i0 * ars + p0 * acs, mb, kb, ars, acs, apack)
                fb_bool_rows(mb, nb, (kb + 7) // 8, apack, bpack, acc,
                             c + i0 * crs + j0 * ccs, crs, ccs, p0 == 0)
                i0 += mb
            p0 += kb
        j0 += nb
    PyMem_RawFree(apack)
    return 0


# ---------------------------------------------------------------------------
# Public matrix products
# ---------------------------------------------------------------------------

cdef inline int int_matmul(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                           const integer *a, Py_ssize_t a_rs, Py_ssize_t a_cs,
                           const integer *b, Py_ssize_t b_rs, Py_ssize_t b_cs,
                           integer *c, Py_ssize_t c_rs, Py_ssize_t c_cs,
                           const ExactOptions *opts) noexcept nogil:
    """C (m x n) = A (m x k) @ B (k x n) for one integer type, NumPy's exact result.

    Strides are in elements: A[i, p] is a[i*a_rs + p*a_cs]. C must not overlap A
    or B. opts: NULL for the defaults. Returns 0, or -1 if out of memory.
    """
    if m <= 0 or n <= 0:
        return 0
    return _product(_INTEGER, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs, c_cs, opts)


cdef inline int bool_matmul(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                            const uint8_t *a, Py_ssize_t a_rs, Py_ssize_t a_cs,
                            const uint8_t *b, Py_ssize_t b_rs, Py_ssize_t b_cs,
                            uint8_t *c, Py_ssize_t c_rs, Py_ssize_t c_cs,
                            const ExactOptions *opts) noexcept nogil:
    """C = A @ B for bool matrices (one byte each, nonzero = True), as np.matmul:
    C[i, j] is 1 when some A[i, p] and B[p, j] are both nonzero. Strides, C and the
    return value as int_matmul; the workspace holds the operands' blocks as bits."""
    cdef ExactOptions defaults
    if m <= 0 or n <= 0:
        return 0
    if opts == NULL:
        defaults = exact_defaults()
        opts = &defaults
    # the bits beat the plain loop from about 6 x 6 x 6 and lose little below
    # (stacks of 1000, one thread: 4 x 4 177 us against 152, 8 x 8 283 against
    # 1011), so opts.loop_flops, the integers' crossover, does not apply
    if k == 0 or m == 1 or n == 1:
        _loop_product(_LOGICAL, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs, c_cs)
        return 0
    return _bool_product(m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs, c_cs, opts)


cdef inline int half_matmul(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                            const uint16_t *a, Py_ssize_t a_rs, Py_ssize_t a_cs,
                            const uint16_t *b, Py_ssize_t b_rs, Py_ssize_t b_cs,
                            uint16_t *c, Py_ssize_t c_rs, Py_ssize_t c_cs,
                            const ExactOptions *opts) noexcept nogil:
    """C = A @ B for float16 matrices (their bits as uint16): as int_matmul, with
    the products summed in float32 (sgemm) and each result rounded once."""
    if m <= 0 or n <= 0:
        return 0
    return _product(_HALF, m, n, k, a, a_rs, a_cs, b, b_rs, b_cs, c, c_rs, c_cs, opts)
