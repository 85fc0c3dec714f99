/* small_matmul.h: a stack of small float, double or integer products
 * C_s = A_s B_s in one pass, with no call per matrix.
 *
 * A row of C is held in GCC vectors of at most 64 bytes (n = 2, 4, 8 or 16
 * elements: one vector, two for 16 doubles), built as C[i, :] = sum_p A[i, p] *
 * B[p, :] with R rows of C at a time so that R accumulator chains run side by
 * side: an FMA has a latency of 4 cycles and two issue per cycle, so 8 or more
 * independent chains keep both units busy. R is every row of a square matrix up
 * to 16 AVX-512 registers of accumulators (fb_rows_*: 16 rows of 16 floats, 8
 * rows of 16 doubles), which leaves the other 16 registers for rows of B and the
 * broadcasts of A. On a Zen 4 core a (1000, 16, 16) stack took 66 ns a matrix in
 * float32 (256 FMAs of 16 lanes: near the two-per-cycle peak) and 116 in
 * float64, against 189 and 358 for np.matmul (one thread, OpenBLAS's AVX2
 * kernels). On an Ice Lake Xeon, the float32 16x16 product has a kernel of its
 * own (fb_square16_float32, below).
 * C[i, j] sums its k products in order p = 0, ..., k-1, as a naive dot does; BLAS
 * may sum in another order, so the two agree to rounding.
 *
 * Layout: A any element strides (read one scalar at a time); B and C rows
 * contiguous (unit column stride), any row stride, rows moved with memcpy as they
 * need not be aligned; the matrices of the stack any stride apart (0 broadcasts
 * one matrix over the stack). Strides in elements. Square products of C-ordered
 * A matrices (k == n, A's rows k apart, the common stack) get a build of their
 * own in which k and A's strides are constants: every broadcast of A is a load at
 * a fixed offset, folded into its FMA.
 *
 * The stack functions are built three times (GCC target_clones: x86-64-v4
 * with AVX-512, v3 with AVX2 and FMA, the baseline x86-64) and the loader picks
 * the widest the CPU supports: the wheel stays portable (no -march=native), and
 * a vector wider than the target's registers is split by the compiler.
 * Elsewhere (Clang, older GCC), one plain build.
 */
#ifndef FASTBLAS_SMALL_MATMUL_H
#define FASTBLAS_SMALL_MATMUL_H

#include <stddef.h>
#include <stdint.h>

/* GCC 11 named the x86-64-v3/v4 levels. The plain "avx512f"/"avx2" clones would
 * lack FMA (a separate multiply and add per term). */
#if defined(__x86_64__) && defined(__linux__) && !defined(__clang__) && \
    defined(__GNUC__) && __GNUC__ >= 11
#define FB_SMALL_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define FB_SMALL_CLONES_BUILT 1
#else
#define FB_SMALL_CLONES
#endif

/* The bytes of C's rows in flight: 16 AVX-512 registers. */
#define FB_SMALL_ACC_BYTES 1024

#if defined(__GNUC__) && !defined(__clang__)
#define FB_UNROLL _Pragma("GCC unroll 16")
#else
#define FB_UNROLL
#endif

/* C[i:i+R, :] = A[i:i+R, :] B, R <= fb_rows_NAMExW, for rows of W elements of T
 * computed in U (T, or a wider unsigned type for bytes) and held as P vectors of
 * L elements (64 bytes at most: one AVX-512 register each; GCC spills a wider
 * vector to memory) */
#define FB_DEFINE_ROWS(T, U, NAME, W)                                                \
enum {                                                                               \
    fb_lanes_##NAME##x##W = W * sizeof(U) <= 64 ? W : 64 / sizeof(U),               \
    fb_parts_##NAME##x##W = W / fb_lanes_##NAME##x##W,                               \
    fb_rows_##NAME##x##W = W * W * sizeof(U) <= FB_SMALL_ACC_BYTES                   \
                           ? W : FB_SMALL_ACC_BYTES / (W * sizeof(U))                \
};                                                                                   \
typedef U fb_##NAME##x##W                                                            \
    __attribute__((vector_size(fb_lanes_##NAME##x##W * sizeof(U))));                 \
typedef T fb_##NAME##x##W##_stored                                                   \
    __attribute__((vector_size(fb_lanes_##NAME##x##W * sizeof(T))));                 \
static inline __attribute__((always_inline)) void fb_small_rows_##NAME##x##W(       \
    const ptrdiff_t R, ptrdiff_t k, const T *restrict a, ptrdiff_t ars,              \
    ptrdiff_t acs, const T *restrict b, ptrdiff_t brs, T *restrict c, ptrdiff_t crs) \
{                                                                                    \
    enum { L = fb_lanes_##NAME##x##W, P = fb_parts_##NAME##x##W };                   \
    fb_##NAME##x##W acc[fb_rows_##NAME##x##W * P], row[P];                           \
    fb_##NAME##x##W##_stored stored;                                                 \
    FB_UNROLL for (ptrdiff_t r = 0; r < R; r++)                                      \
        FB_UNROLL for (ptrdiff_t q = 0; q < P; q++)                                  \
            acc[r * P + q] = (fb_##NAME##x##W){0};                                   \
    for (ptrdiff_t p = 0; p < k; p++) {                                              \
        FB_UNROLL for (ptrdiff_t q = 0; q < P; q++) {                                \
            __builtin_memcpy(&stored, b + p * brs + q * L, sizeof stored);           \
            row[q] = __builtin_convertvector(stored, fb_##NAME##x##W);               \
        }                                                                            \
        FB_UNROLL for (ptrdiff_t r = 0; r < R; r++)                                  \
            FB_UNROLL for (ptrdiff_t q = 0; q < P; q++)                              \
                acc[r * P + q] += (U)a[r * ars + p * acs] * row[q];                  \
    }                                                                                \
    FB_UNROLL for (ptrdiff_t r = 0; r < R; r++)                                      \
        FB_UNROLL for (ptrdiff_t q = 0; q < P; q++) {                                \
            stored = __builtin_convertvector(acc[r * P + q],                         \
                                             fb_##NAME##x##W##_stored);              \
            __builtin_memcpy(c + r * crs + q * L, &stored, sizeof stored);           \
        }                                                                            \
}                                                                                    \
                                                                                     \
static inline __attribute__((always_inline)) void fb_small_product_##NAME##x##W(    \
    ptrdiff_t m, ptrdiff_t k, const T *restrict a, ptrdiff_t ars, ptrdiff_t acs,     \
    const T *restrict b, ptrdiff_t brs, T *restrict c, ptrdiff_t crs)                \
{                                                                                    \
    const ptrdiff_t R = fb_rows_##NAME##x##W;                                        \
    ptrdiff_t i = 0;                                                                 \
    for (; i + R <= m; i += R)                                                       \
        fb_small_rows_##NAME##x##W(R, k, a + i * ars, ars, acs, b, brs,              \
                                   c + i * crs, crs);                                \
    for (; i < m; i++)                                                               \
        fb_small_rows_##NAME##x##W(1, k, a + i * ars, ars, acs, b, brs,              \
                                   c + i * crs, crs);                                \
}

/* The stack loop for rows of W elements; k == W and A C-ordered in a build of
 * its own, with constant strides. */
#define FB_SMALL_CASE(NAME, W)                                                       \
    case W:                                                                          \
        if (k == W && acs == 1 && ars == W)                                          \
            for (ptrdiff_t s = 0; s < count; s++)                                    \
                fb_small_product_##NAME##x##W(m, W, a + s * as, W, 1, b + s * bs,    \
                                              brs, c + s * cs, crs);                 \
        else                                                                         \
            for (ptrdiff_t s = 0; s < count; s++)                                    \
                fb_small_product_##NAME##x##W(m, k, a + s * as, ars, acs,            \
                                              b + s * bs, brs, c + s * cs, crs);     \
        return 0;

/* C_s = A_s B_s for s < count, A_s = a + s*as, B_s = b + s*bs, C_s = c + s*cs;
 * -1 (nothing done) when n is not one of the widths WIDTHS lists. */
#define FB_DEFINE_SMALL_MATMUL(T, U, NAME, WIDTHS)                                   \
WIDTHS(FB_DEFINE_ROWS, T, U, NAME)                                                   \
FB_SMALL_CLONES static int fb_small_matmul_##NAME(                                  \
    ptrdiff_t count, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,                          \
    const T *a, ptrdiff_t as, ptrdiff_t ars, ptrdiff_t acs,                          \
    const T *b, ptrdiff_t bs, ptrdiff_t brs,                                         \
    T *c, ptrdiff_t cs, ptrdiff_t crs)                                               \
{                                                                                    \
    switch (n) {                                                                     \
    WIDTHS(FB_SMALL_CASE_OF, T, U, NAME)                                             \
    }                                                                                \
    return -1;                                                                       \
}

#define FB_SMALL_CASE_OF(T, U, NAME, W) FB_SMALL_CASE(NAME, W)
#define FB_SMALL_WIDTHS(X, T, U, NAME) \
    X(T, U, NAME, 2) X(T, U, NAME, 4) X(T, U, NAME, 8) X(T, U, NAME, 16)

FB_DEFINE_SMALL_MATMUL(float, float, float32, FB_SMALL_WIDTHS)
FB_DEFINE_SMALL_MATMUL(double, double, float64, FB_SMALL_WIDTHS)

/* The (16 x 16) @ (16 x 16) float32 product of C-ordered A, the common stack, on
 * Intel cores with AVX-512. Each of its 256 FMAs takes A[i, p] broadcast over a
 * row of B; folded into the FMA as a memory operand, that broadcast issues about
 * once a cycle on an Ice Lake core, where FMAs alone issue twice. Here rows 8 to
 * 15 of A are held in registers instead, and their elements broadcast by a
 * permute, which issues on the shuffle port beside the FMAs. On that core (2.8
 * GHz, a shared virtual machine; one thread, three runs alternating the builds)
 * fastblas.matmul of stacks of 100, 340 and 1000 took 94-105, 83-91 and 115-117
 * ns a matrix, against 117-151, 115-145 and 134-172 with every broadcast from
 * memory and 195-284 for np.matmul. The sums are the same, in the same order.
 * Intel only: on a Zen 4 core the loads already kept the FMAs near their peak
 * (66 ns a matrix, above). */
#if defined(FB_SMALL_CLONES_BUILT)
typedef float fb_square16_row __attribute__((vector_size(64)));
typedef int fb_square16_lane __attribute__((vector_size(64)));
enum { FB_SQUARE16_LOADED = 8 };   /* rows of A whose broadcasts are loads */

__attribute__((target("arch=x86-64-v4")))
static void fb_square16_float32(ptrdiff_t count, const float *a, ptrdiff_t as,
                                const float *b, ptrdiff_t bs, ptrdiff_t brs,
                                float *c, ptrdiff_t cs, ptrdiff_t crs)
{
    enum { L = FB_SQUARE16_LOADED };
    for (ptrdiff_t s = 0; s < count; s++) {
        const float *A = a + s * as, *B = b + s * bs;
        float *C = c + s * cs;
        fb_square16_row acc[16], held[16 - L], row;
        FB_UNROLL for (int i = 0; i < 16; i++)
            acc[i] = (fb_square16_row){0};
        FB_UNROLL for (int i = L; i < 16; i++) {
            __builtin_memcpy(&held[i - L], A + i * 16, sizeof row);
            __asm__("" : "+v"(held[i - L]));   /* else GCC folds the permutes into loads */
        }
        FB_UNROLL for (int p = 0; p < 16; p++) {
            const fb_square16_lane lane = (fb_square16_lane){0} + p;
            __builtin_memcpy(&row, B, sizeof row);
            B += brs;
            FB_UNROLL for (int i = 0; i < L; i++)
                acc[i] += A[i * 16 + p] * row;
            FB_UNROLL for (int i = L; i < 16; i++)
                acc[i] += __builtin_shuffle(held[i - L], lane) * row;
        }
        FB_UNROLL for (int i = 0; i < 16; i++)
            __builtin_memcpy(C + i * crs, &acc[i], sizeof row);
    }
}

/* 0 sends those products to the kernel above too (a private switch for the tests) */
static int fb_square16_enabled = 1;

static inline int fb_square16_active(void)
{
    __builtin_cpu_init();
    return fb_square16_enabled && __builtin_cpu_is("intel") && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
#else
static int fb_square16_enabled = 0;
static inline int fb_square16_active(void) { return 0; }
#endif

/* Integer stacks in unsigned arithmetic: sums and products modulo 2^bits, in any
 * order, are exactly NumPy's results with its wraparound, for the signed types
 * too (two's complement has the same bits). Bytes are computed in 16 bits (x86
 * has no byte multiply, so 8-bit lanes cost a widening and a narrowing per
 * term) and only the low 8 bits stored: those of a sum of products depend on
 * the low 8 bits of the operands alone. */
FB_DEFINE_SMALL_MATMUL(uint8_t, uint16_t, uint8, FB_SMALL_WIDTHS)
FB_DEFINE_SMALL_MATMUL(uint16_t, uint16_t, uint16, FB_SMALL_WIDTHS)
FB_DEFINE_SMALL_MATMUL(uint32_t, uint32_t, uint32, FB_SMALL_WIDTHS)
FB_DEFINE_SMALL_MATMUL(uint64_t, uint64_t, uint64, FB_SMALL_WIDTHS)

/* The stack above for elements of `size` bytes, float and double (floating) or
 * integers of either signedness; -1 (nothing done) when there is no kernel. */
static inline int fb_small_matmul(int floating, size_t size, ptrdiff_t count, ptrdiff_t m,
                                  ptrdiff_t n, ptrdiff_t k, const void *a, ptrdiff_t as,
                                  ptrdiff_t ars, ptrdiff_t acs, const void *b, ptrdiff_t bs,
                                  ptrdiff_t brs, void *c, ptrdiff_t cs, ptrdiff_t crs)
{
#define FB_SMALL_CALL(NAME) \
    fb_small_matmul_##NAME(count, m, n, k, a, as, ars, acs, b, bs, brs, c, cs, crs)
#if defined(FB_SMALL_CLONES_BUILT)
    if (floating && size == 4 && m == 16 && n == 16 && k == 16 && ars == 16 && acs == 1 &&
        fb_square16_active()) {
        fb_square16_float32(count, a, as, b, bs, brs, c, cs, crs);
        return 0;
    }
#endif
    if (floating)
        return size == 4 ? FB_SMALL_CALL(float32) : size == 8 ? FB_SMALL_CALL(float64) : -1;
    switch (size) {
    case 1: return FB_SMALL_CALL(uint8);
    case 2: return FB_SMALL_CALL(uint16);
    case 4: return FB_SMALL_CALL(uint32);
    case 8: return FB_SMALL_CALL(uint64);
    }
    return -1;
#undef FB_SMALL_CALL
}

/* Does the kernel have rows of n elements? */
static inline int fb_small_width(ptrdiff_t n)
{
    return n == 2 || n == 4 || n == 8 || n == 16;
}

#undef FB_DEFINE_SMALL_MATMUL
#undef FB_SMALL_WIDTHS
#undef FB_SMALL_CASE_OF
#undef FB_SMALL_CASE
#undef FB_DEFINE_ROWS
#undef FB_UNROLL

#endif
